/*
 * Value printing and parsing: the float table of LANGUAGE.md (shortest
 * round-trip digits, never an exponent), strict int/float parses, and the
 * timer heap's order.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "timers.h"
#include "value.h"

static void
fl(double d, const char *want)
{
	char buf[FLOAT_FMT_MAX];
	size_t n = value_fmt_float(d, buf);

	CHECK_STR_EQ(buf, want);
	CHECK_INT_EQ(n, strlen(want));
}

static void
test_float_format(void)
{
	char big[400];

	fl(15.0, "15");
	fl(0.1 + 0.2, "0.30000000000000004");
	fl(1.5e3, "1500");
	fl(1e-7, "0.0000001");
	fl(1e21, "1000000000000000000000");
	fl(-0.0, "-0");
	fl(0.0, "0");
	fl(NAN, "NaN");
	fl(INFINITY, "inf");
	fl(-INFINITY, "-inf");
	fl(3.14, "3.14");
	fl(-2.5, "-2.5");
	fl(0.5, "0.5");
	fl(100.0, "100");
	fl(123456789.125, "123456789.125");
	fl(1.0 / 3.0, "0.3333333333333333");
	fl(2.0 / 3.0, "0.6666666666666666");
	fl(1e15, "1000000000000000");
	fl(1e16, "10000000000000000");
	fl(1.23e-4, "0.000123");
	fl(9007199254740993.0, "9007199254740992");
	memset(big, '0', sizeof(big));
	memcpy(big, "0.", 2);
	big[325] = '5';
	big[326] = '\0';
	fl(5e-324, big);
	memset(big, '0', sizeof(big));
	memcpy(big, "17976931348623157", 17);
	big[309] = '\0';
	fl(1.7976931348623157e308, big);
	fl(-1e-10, "-0.0000000001");
	fl(0.1, "0.1");
	fl(1.1, "1.1");
	fl(100.5, "100.5");
}

static void
test_parse(void)
{
	int64_t i = 0;
	double d = 0;

	CHECK(value_parse_int("42", 2, &i) && i == 42);
	CHECK(value_parse_int("-42", 3, &i) && i == -42);
	CHECK(value_parse_int("+7", 2, &i) && i == 7);
	CHECK(value_parse_int("9223372036854775807", 19, &i) &&
	    i == INT64_MAX);
	CHECK(value_parse_int("-9223372036854775808", 20, &i) &&
	    i == INT64_MIN);
	CHECK(!value_parse_int("9223372036854775808", 19, &i));
	CHECK(!value_parse_int("abc", 3, &i));
	CHECK(!value_parse_int("", 0, &i));
	CHECK(!value_parse_int("-", 1, &i));
	CHECK(!value_parse_int(" 1", 2, &i));
	CHECK(!value_parse_int("1 ", 2, &i));
	CHECK(!value_parse_int("0x10", 4, &i));
	CHECK(value_parse_float("1.5", 3, &d) && d == 1.5);
	CHECK(value_parse_float("-2e3", 4, &d) && d == -2000);
	CHECK(value_parse_float("7", 1, &d) && d == 7);
	CHECK(value_parse_float("inf", 3, &d) && isinf(d));
	CHECK(value_parse_float("NaN", 3, &d) && isnan(d));
	CHECK(!value_parse_float("1.", 2, &d));
	CHECK(!value_parse_float(".5", 2, &d));
	CHECK(!value_parse_float("1e", 2, &d));
	CHECK(!value_parse_float("abc", 3, &d));
	CHECK(!value_parse_float("0x1p3", 5, &d));
	CHECK(!value_parse_float("", 0, &d));
}

struct owner {
	uint32_t slot;
	int id;
};

static void
test_timers(void)
{
	struct timers tm = { 0 };
	struct owner o[200];
	int64_t last = -1;
	int n = 0;
	uint32_t *slot;

	for (int i = 0; i < 200; i++) {
		o[i].slot = TIMER_NONE;
		o[i].id = i;
		CHECK(timer_arm(&tm, &o[i].slot, (i * 37) % 101) == SC_OK);
	}
	for (int i = 0; i < 200; i += 3)
		timer_disarm(&tm, &o[i].slot);
	CHECK(timer_next_due(&tm) == 0 || timer_next_due(&tm) >= 0);
	CHECK(timer_pop_due(&tm, -1) == NULL);
	while ((slot = timer_pop_due(&tm, 1000)) != NULL) {
		struct owner *ow = (struct owner *)(void *)slot;
		int64_t due = (ow->id * 37) % 101;

		CHECK(ow->id % 3 != 0);
		CHECK(due >= last);
		CHECK_INT_EQ(ow->slot, TIMER_NONE);
		last = due;
		n++;
	}
	CHECK_INT_EQ(n, 200 - 67);
	/* equal due times fire in arming order */
	for (int i = 0; i < 5; i++)
		CHECK(timer_arm(&tm, &o[i].slot, 5) == SC_OK);
	for (int i = 0; i < 5; i++)
		CHECK_INT_EQ(((struct owner *)(void *)timer_pop_due(&tm, 5))->id,
		    i);
	CHECK_INT_EQ(timer_next_due(&tm), INT64_MAX);
	timers_free(&tm);
}

int
main(void)
{
	RUN(test_float_format);
	RUN(test_parse);
	RUN(test_timers);
	return check_done();
}
