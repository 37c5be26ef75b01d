/*
 * The FFI pool (daemon/ffipool.c) with real worker processes and the test
 * library: results, the handle checks (generation, tenant, age, job end,
 * worker death, restart), abandon, the handle limit and reloads. This
 * binary is also its own worker: `test_ffipool ffi-worker` runs
 * ffiworker_main, as `scriptd ffi-worker` does for the daemon.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "check.h"
#include "cfg.h"
#include "ffipool.h"
#include "ffiworker.h"
#include "snapshot.h"
#include "pooltest.h"

#define WAIT_MS		60000		/* for one reply (a loaded machine) */

static struct event_base *base;
static struct cfg *cfg;
static struct ffipool *pool;
static uint32_t nh[2];			/* handles of tenants 1000, 1001 */

static const uint8_t p_ii[] = { CT_INT64, CT_INT64 }, p_i[] = { CT_INT64 },
    p_p[] = { CT_PTR };
static struct mod_extern x_add = { SC_FFILIB, "st_add", 2, p_ii, CT_INT64 };
static struct mod_extern x_new = { SC_FFILIB, "st_obj_new", 1, p_i, CT_PTR };
static struct mod_extern x_get = { SC_FFILIB, "st_obj_get", 1, p_p,
    CT_INT64 };
static struct mod_extern x_free = { SC_FFILIB, "st_obj_free", 1, p_p,
    CT_VOID };
static struct mod_extern x_crash = { SC_FFILIB, "st_crash", 0, NULL,
    CT_INT64 };
static struct mod_extern x_greet = { SC_FFILIB, "st_greet", 1,
    (const uint8_t[]){ CT_STRING }, CT_STRING };
static struct mod_extern x_bad = { SC_FFILIB, "st_bad_utf8", 0, NULL,
    CT_STRING };
static struct mod_extern x_spin = { SC_FFILIB, "st_spin_ms", 1, p_i,
    CT_INT64 };

/*
 * Call x for tenant 1000 + t of job `job` with args; returns the refusal
 * (SC_OK: queued, then waits for the reply in *r).
 */
static int
call(struct reply *r, uint32_t t, uint64_t job, const struct mod_extern *x,
    union value a0, union value a1, struct sc_error *err)
{
	union value args[2] = { a0, a1 };
	struct ffipool_req rq = { r, 1000 + t, job, &nh[t], x, args };
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = ffipool_call(pool, &rq, err)) == SC_OK)
		pump(base, r, WAIT_MS);
	return rc;
}

static union value
I(int64_t i)
{
	union value v = { .i = i };

	return v;
}

static void
allow(struct cfg *c, const struct mod_extern *x, bool frees)
{
	struct cfg_allow *a = &c->ffi.allow[c->ffi.nallow++];

	snprintf(a->library, sizeof(a->library), "%s", x->library);
	snprintf(a->symbol, sizeof(a->symbol), "%s", x->symbol);
	a->nparams = x->nparams;
	if (x->nparams > 0)
		memcpy(a->params, x->params, x->nparams);
	a->ret = x->ret;
	a->frees = frees;
}

static void
setup(void)
{
	struct sc_error err;

	cfg = calloc(1, sizeof(*cfg));
	cfg_defaults(cfg);
	cfg->ffi.workers = 1;
	cfg->limits.handle_lifetime_ms = 400;
	cfg->tenant.max_handles = 2;
	allow(cfg, &x_add, false);
	allow(cfg, &x_new, false);
	allow(cfg, &x_get, false);
	allow(cfg, &x_free, true);
	allow(cfg, &x_crash, false);
	allow(cfg, &x_greet, false);
	allow(cfg, &x_bad, false);
	base = event_base_new();
	CHECK_INT_EQ(ffipool_new(base, cfg, on_done, NULL, &pool, &err), SC_OK);
}

static void
test_values(void)
{
	struct sc_error err;
	struct reply r;
	struct ffipool_stats st;
	struct vstr *bob = str_const("bob", 3);
	union value name;

	CHECK_INT_EQ(call(&r, 0, 1, &x_add, I(40), I(2), &err), SC_OK);
	CHECK(r.done);
	CHECK_STR_EQ(r.err, "");
	CHECK_INT_EQ(r.v.i, 42);
	name.o = &bob->h.o;
	CHECK_INT_EQ(call(&r, 0, 1, &x_greet, name, I(0), &err), SC_OK);
	CHECK_STR_EQ(r.str, "hello, bob");
	str_const_free(bob);
	CHECK_INT_EQ(call(&r, 0, 1, &x_bad, I(0), I(0), &err), SC_OK);
	CHECK_STR_EQ(r.err, "extern call st_bad_utf8 returned a string that "
	    "is not valid UTF-8 (4 bytes)");
	ffipool_stats(pool, &st);
	CHECK_INT_EQ(st.workers, 1);
	CHECK(st.calls >= 1);
}

static void
test_handles(void)
{
	struct sc_error err;
	struct reply r;
	int64_t h;

	CHECK_INT_EQ(call(&r, 0, 1, &x_new, I(7), I(0), &err), SC_OK);
	CHECK_STR_EQ(r.err, "");
	h = r.v.i;
	CHECK(h != 0);
	CHECK_INT_EQ(nh[0], 1);
	CHECK_INT_EQ(call(&r, 0, 1, &x_get, I(h), I(0), &err), SC_OK);
	CHECK_INT_EQ(r.v.i, 7);

	/* another tenant: refused before any native code runs */
	CHECK_INT_EQ(call(&r, 1, 2, &x_get, I(h), I(0), &err), SC_EDENIED);
	CHECK_STR_CONTAINS(err.msg, "st_obj_get: argument 1: FFI handle");
	CHECK_STR_CONTAINS(err.msg, "belongs to another tenant");
	CHECK(!r.done);

	/* a forged generation, a slot never used, a stale (restored) one */
	CHECK_INT_EQ(call(&r, 0, 1, &x_get, I(h + (1 << 24)), I(0), &err),
	    SC_EDENIED);
	CHECK_STR_CONTAINS(err.msg, "is not live");
	CHECK_INT_EQ(call(&r, 0, 1, &x_get, I(999), I(0), &err), SC_EDENIED);
	CHECK_STR_CONTAINS(err.msg, "is not live");
	CHECK_INT_EQ(call(&r, 0, 1, &x_get, I(h | SNAPSHOT_PTR_STALE), I(0),
	    &err), SC_EDENIED);
	CHECK_STR_CONTAINS(err.msg, SNAPSHOT_PTR_STALE_MSG);

	/* free: the handle is gone, a second free never reaches the worker */
	CHECK_INT_EQ(call(&r, 0, 1, &x_free, I(h), I(0), &err), SC_OK);
	CHECK_STR_EQ(r.err, "");
	CHECK_INT_EQ(nh[0], 0);
	CHECK_INT_EQ(call(&r, 0, 1, &x_get, I(h), I(0), &err), SC_EDENIED);
	CHECK_STR_CONTAINS(err.msg, "is not live");
	CHECK_INT_EQ(call(&r, 0, 1, &x_free, I(h), I(0), &err), SC_EDENIED);

	/* handle 0 passes as NULL, which st_obj_get reads through */
	CHECK_INT_EQ(call(&r, 0, 1, &x_get, I(0), I(0), &err), SC_OK);
	CHECK_STR_CONTAINS(r.err, "crashed the FFI worker with SIGSEGV");
}

static void
test_limit_lifetime_job_end(void)
{
	struct sc_error err;
	struct reply r;
	int64_t a, b, c;

	CHECK_INT_EQ(call(&r, 0, 3, &x_new, I(1), I(0), &err), SC_OK);
	a = r.v.i;
	CHECK_INT_EQ(call(&r, 0, 3, &x_new, I(2), I(0), &err), SC_OK);
	b = r.v.i;
	CHECK_INT_EQ(nh[0], 2);
	CHECK_INT_EQ(call(&r, 0, 3, &x_new, I(3), I(0), &err), SC_ELIMIT);
	CHECK_STR_CONTAINS(err.msg, "tenant 1000: FFI handle limit (2) "
	    "reached (tenant.max_handles)");
	/* the other tenant has its own count */
	CHECK_INT_EQ(call(&r, 1, 4, &x_new, I(3), I(0), &err), SC_OK);
	CHECK_STR_EQ(r.err, "");
	c = r.v.i;
	CHECK_INT_EQ(nh[1], 1);

	/* job 3 ends: its two handles go, tenant 1001's stays */
	ffipool_job_ended(pool, 3);
	CHECK_INT_EQ(nh[0], 0);
	CHECK_INT_EQ(nh[1], 1);
	CHECK_INT_EQ(call(&r, 0, 3, &x_get, I(a), I(0), &err), SC_EDENIED);
	CHECK_INT_EQ(call(&r, 0, 3, &x_get, I(b), I(0), &err), SC_EDENIED);

	/* age: past limits.handle_lifetime the handle fails and goes */
	pump(base, NULL, 450);
	CHECK_INT_EQ(call(&r, 1, 4, &x_get, I(c), I(0), &err), SC_EDENIED);
	ffipool_job_ended(pool, 4);
	CHECK_INT_EQ(nh[1], 0);
}

static void
test_lifetime_message(void)
{
	struct sc_error err;
	struct reply r;
	int64_t h;

	CHECK_INT_EQ(call(&r, 0, 5, &x_new, I(1), I(0), &err), SC_OK);
	h = r.v.i;
	pump(base, NULL, 450);
	CHECK_INT_EQ(call(&r, 0, 5, &x_get, I(h), I(0), &err), SC_EDENIED);
	CHECK_STR_CONTAINS(err.msg, "expired after 400 ms "
	    "(limits.handle_lifetime)");
	CHECK_INT_EQ(nh[0], 0);
}

static void
test_worker_death(void)
{
	struct sc_error err;
	struct reply r;
	struct ffipool_stats st;
	int64_t h;

	CHECK_INT_EQ(call(&r, 0, 6, &x_new, I(5), I(0), &err), SC_OK);
	h = r.v.i;
	CHECK_INT_EQ(call(&r, 0, 6, &x_crash, I(0), I(0), &err), SC_OK);
	CHECK(r.done);
	CHECK_STR_CONTAINS(r.err, "extern call st_crash crashed the FFI "
	    "worker with SIGSEGV");
	CHECK_INT_EQ(nh[0], 0);		/* died with its worker */
	CHECK_INT_EQ(call(&r, 0, 6, &x_get, I(h), I(0), &err), SC_EDENIED);
	CHECK_STR_CONTAINS(err.msg, "died with its worker");
	/* the replacement serves */
	CHECK_INT_EQ(call(&r, 0, 6, &x_add, I(1), I(2), &err), SC_OK);
	CHECK_STR_EQ(r.err, "");
	CHECK_INT_EQ(r.v.i, 3);
	ffipool_stats(pool, &st);
	CHECK_INT_EQ(st.faults, 2);	/* with the NULL read above */
}

static void
test_abandon(void)
{
	struct sc_error err;
	union value args[2] = { I(1), I(1) };
	struct reply a, b, c;
	struct ffipool_req rq = { &a, 1000, 7, &nh[0], &x_add, args };

	/* one in flight (a), one queued behind it (b): both abandoned */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CHECK_INT_EQ(ffipool_call(pool, &rq, &err), SC_OK);
	rq.key = &b;
	CHECK_INT_EQ(ffipool_call(pool, &rq, &err), SC_OK);
	ffipool_abandon(pool, &a);
	ffipool_abandon(pool, &b);
	CHECK_INT_EQ(call(&c, 0, 7, &x_add, I(2), I(2), &err), SC_OK);
	CHECK(c.done);
	CHECK_STR_EQ(c.err, "");
	CHECK_INT_EQ(c.v.i, 4);
	CHECK(!a.done && !b.done);
}

/* A call queued behind the call that frees its handle must not go out
 * with the freed slot (which the worker may give to the next pointer). */
static void
test_freed_while_queued(void)
{
	struct sc_error err;
	struct reply r, fr, gr;
	union value args[1];
	struct ffipool_req rq = { &fr, 1000, 10, &nh[0], &x_free, args };

	CHECK_INT_EQ(call(&r, 0, 10, &x_new, I(3), I(0), &err), SC_OK);
	args[0] = r.v;
	memset(&fr, 0, sizeof(fr));
	memset(&gr, 0, sizeof(gr));
	CHECK_INT_EQ(ffipool_call(pool, &rq, &err), SC_OK);	/* frees */
	rq.key = &gr;
	rq.ext = &x_get;
	CHECK_INT_EQ(ffipool_call(pool, &rq, &err), SC_OK);	/* queued */
	pump(base, &gr, WAIT_MS);
	CHECK(fr.done && gr.done);
	CHECK_STR_EQ(fr.err, "");
	CHECK_STR_CONTAINS(gr.err, "st_obj_get: FFI handle");
	CHECK_STR_CONTAINS(gr.err, "was freed or expired while the call "
	    "waited for its worker");
	CHECK_INT_EQ(nh[0], 0);
}

static void
test_reload(void)
{
	struct sc_error err;
	struct reply r;
	struct cfg *nc = calloc(1, sizeof(*nc));

	*nc = *cfg;
	nc->ffi.nallow = 1;		/* only st_add now */
	ffipool_reload(pool, nc);
	free(cfg);
	cfg = nc;
	CHECK_INT_EQ(call(&r, 0, 8, &x_new, I(1), I(0), &err), SC_EDENIED);
	CHECK_STR_CONTAINS(err.msg, "is not allowed by the daemon's "
	    "configuration");
	CHECK_INT_EQ(call(&r, 0, 8, &x_add, I(5), I(5), &err), SC_OK);
	CHECK_INT_EQ(r.v.i, 10);
}

/* A worker past half of ffi.worker_cpu is retired between calls; one call
 * that burns through the limit fails with SIGXCPU's message. */
static void
test_cpu(void)
{
	struct sc_error err;
	struct reply r;
	struct cfg *nc = calloc(1, sizeof(*nc));
	int64_t h;

	*nc = *cfg;
	nc->ffi.nallow = 0;
	nc->ffi.worker_cpu_ms = 2000;
	nc->ffi.call_timeout_ms = 60000;	/* the CPU limit comes first */
	nc->limits.handle_lifetime_ms = 60000;
	allow(nc, &x_new, false);
	allow(nc, &x_get, false);
	allow(nc, &x_spin, false);
	ffipool_reload(pool, nc);
	free(cfg);
	cfg = nc;
	CHECK_INT_EQ(call(&r, 0, 9, &x_new, I(1), I(0), &err), SC_OK);
	h = r.v.i;
	CHECK_INT_EQ(call(&r, 0, 9, &x_spin, I(1100), I(0), &err), SC_OK);
	CHECK_STR_EQ(r.err, "");
	/* the retired worker's EOF takes its handle */
	for (int i = 0; i < 1000 && nh[0] != 0; i++)
		pump(base, NULL, 10);
	CHECK_INT_EQ(nh[0], 0);
	/* the next call finds a fresh worker: the old one's handle is gone */
	CHECK_INT_EQ(call(&r, 0, 9, &x_get, I(h), I(0), &err), SC_EDENIED);
	CHECK_STR_CONTAINS(err.msg, "is not live");
	CHECK_INT_EQ(call(&r, 0, 9, &x_spin, I(2500), I(0), &err), SC_OK);
	CHECK(r.done);
	CHECK_STR_EQ(r.err, "extern call st_spin_ms used up the FFI worker's "
	    "CPU time (ffi.worker_cpu 2 s)");
	ffipool_job_ended(pool, 9);
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "ffi-worker") == 0)
		return ffiworker_main(FFIWORKER_FD);
	setup();
	RUN(test_values);
	RUN(test_handles);
	RUN(test_limit_lifetime_job_end);
	RUN(test_lifetime_message);
	RUN(test_worker_death);
	RUN(test_abandon);
	RUN(test_freed_while_queued);
	RUN(test_reload);
	RUN(test_cpu);
	ffipool_free(pool);
	event_base_free(base);
	free(cfg);
	return check_done();
}
