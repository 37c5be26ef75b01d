/*
 * A tiny unit-test harness. Each test file defines static test functions and
 * lists them in main() with RUN(name). A failed CHECK prints file:line and
 * the values and marks the test failed; the test carries on. main() returns
 * check_done(), which prints "N passed, N failed".
 */
#ifndef SC_CHECK_H
#define SC_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_failed_here;
static int check_npassed, check_nfailed;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
		    __LINE__, #cond); \
		check_failed_here = 1; \
	} \
} while (0)

#define CHECK_INT_EQ(a, b) do { \
	long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
	if (check_a_ != check_b_) { \
		fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", \
		    __FILE__, __LINE__, #a, check_a_, #b, check_b_); \
		check_failed_here = 1; \
	} \
} while (0)

#define CHECK_STR_EQ(a, b) do { \
	const char *check_a_ = (a), *check_b_ = (b); \
	if (check_a_ == NULL || check_b_ == NULL || \
	    strcmp(check_a_, check_b_) != 0) { \
		fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", \
		    __FILE__, __LINE__, #a, check_a_ ? check_a_ : "(null)", \
		    check_b_ ? check_b_ : "(null)"); \
		check_failed_here = 1; \
	} \
} while (0)

#define CHECK_STR_CONTAINS(a, b) do { \
	const char *check_a_ = (a), *check_b_ = (b); \
	if (check_a_ == NULL || strstr(check_a_, check_b_) == NULL) { \
		fprintf(stderr, "%s:%d: %s is \"%s\", expected it to " \
		    "contain \"%s\"\n", __FILE__, __LINE__, #a, \
		    check_a_ ? check_a_ : "(null)", check_b_); \
		check_failed_here = 1; \
	} \
} while (0)

#define RUN(fn) do { \
	check_failed_here = 0; \
	fn(); \
	if (check_failed_here) { \
		fprintf(stderr, "FAIL %s\n", #fn); \
		check_nfailed++; \
	} else \
		check_npassed++; \
} while (0)

static inline int
check_done(void)
{
	printf("%d passed, %d failed\n", check_npassed, check_nfailed);
	return check_nfailed != 0;
}

#endif
