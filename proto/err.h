/*
 * Status codes and error messages shared by every part of scriptd.
 * The SC_E* values are stable: they travel on the wire in error replies.
 * A fallible function returns SC_OK or a negative code and, when a person
 * will read the failure, fills a struct sc_error with sc_errorf().
 */
#ifndef SC_ERR_H
#define SC_ERR_H

#include <stdbool.h>
#include <stddef.h>

#define SC_MUST_CHECK	__attribute__((warn_unused_result))
#define SC_NOINLINE	__attribute__((noinline))
#define SC_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#define SC_LIKELY(x)	__builtin_expect(!!(x), 1)
#define SC_UNLIKELY(x)	__builtin_expect(!!(x), 0)

enum sc_status {
	SC_OK = 0,
	SC_ENOMEM = -1,		/* an allocation failed */
	SC_ELIMIT = -2,		/* a configured limit was exceeded */
	SC_EBADMOD = -3,	/* bytecode module malformed or unverifiable */
	SC_EPROTO = -4,		/* wire protocol violation */
	SC_EIO = -5,		/* operating system I/O error */
	SC_EINVAL = -6,		/* bad argument or configuration value */
	SC_ENOTFOUND = -7,	/* no such job (or not the caller's) */
	SC_ERUNTIME = -8,	/* a task failed at run time */
	SC_ECOMPILE = -9,	/* source did not compile */
	SC_ESTORE = -10,	/* the durable store failed */
	SC_EDENIED = -11,	/* not permitted (FFI allowlist, tenant) */
	SC_ECANCELLED = -12,	/* a task was cancelled */
	SC_ETIMEOUT = -13,	/* a deadline passed */
};

#define SC_ERRMSG_MAX	256

struct sc_error {
	int code;			/* SC_E* */
	char msg[SC_ERRMSG_MAX];	/* human message, NUL-terminated */
};

/* Fill err (if not NULL) and return code: `return sc_errorf(err, ...)`. */
int sc_errorf(struct sc_error *err, int code, const char *fmt, ...)
    SC_PRINTF(3, 4);
/* Stable lower-case name of a code ("limit", "bad module", ...). */
const char *sc_strerror(int code);

/*
 * SC_ASSERT guards internal invariants only (a failure is a bug in scriptd)
 * and compiles away unless SCRIPTD_ASSERT is set. SC_ALWAYS/SC_NEVER wrap
 * defensive checks that must still recover in release builds.
 */
#if defined(SCRIPTD_ASSERT) && SCRIPTD_ASSERT
#include <assert.h>
#define SC_ASSERT(x)	assert(x)
#define SC_ALWAYS(x)	((x) ? 1 : (assert(0), 0))
#define SC_NEVER(x)	((x) ? (assert(0), 1) : 0)
#else
#define SC_ASSERT(x)	((void)0)
#define SC_ALWAYS(x)	(x)
#define SC_NEVER(x)	(x)
#endif

#endif
