/*
 * For the tests that drive the FFI pool (test_ffipool, test_ffiliar): the
 * reply a call gets, the pool's done callback that fills it, and turning
 * the event loop until it comes.
 */
#ifndef SC_POOLTEST_H
#define SC_POOLTEST_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <event2/event.h>

#include "value.h"

struct reply {
	bool done;
	char err[512];
	union value v;
	char str[64];
};

/* ffipool_done_fn: the call's key is its struct reply. */
static void
on_done(void *arg, void *key, const char *err, union value v,
    const char *str, size_t slen)
{
	struct reply *r = key;

	r->done = true;
	snprintf(r->err, sizeof(r->err), "%s", err != NULL ? err : "");
	r->v = v;
	snprintf(r->str, sizeof(r->str), "%.*s", (int)slen, str ? str : "");
}

static int64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run base's loop until r is answered (or ms pass; r NULL: ms). */
static void
pump(struct event_base *base, struct reply *r, int64_t ms)
{
	int64_t end = ms_now() + ms;

	while ((r == NULL || !r->done) && ms_now() < end) {
		struct timeval tv = { 0, 10000 };

		event_base_loopexit(base, &tv);
		event_base_loop(base, EVLOOP_ONCE);
	}
}

#endif
