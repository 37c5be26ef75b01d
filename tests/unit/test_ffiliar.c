/*
 * The FFI pool (daemon/ffipool.c) against a worker that lies: the
 * worker's frames are input to the daemon, as a library gone wrong could
 * make them anything. This binary is its own worker (`test_ffiliar
 * ffi-worker`, as the pool starts it); FFI_LIAR in the environment says
 * how it answers each Call. Every lie must fail the one call with a clear
 * error, cost only that worker, and leave the pool serving; a worker that
 * dies before its first call must not be restarted in a tight loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "check.h"
#include "cfg.h"
#include "ffi.pb-c.h"
#include "ffipool.h"
#include "ffiworker.h"
#include "frame.h"
#include "pooltest.h"

#define WAIT_MS		60000		/* for one reply (a loaded machine) */

static struct event_base *base;
static uint32_t nh;

static const uint8_t p_ii[] = { CT_INT64, CT_INT64 };
static struct mod_extern x_add = { "libliar.so", "add", 2, p_ii, CT_INT64 };

/* The liar */

static void
send_from(int fd, Ffi__FromWorker *m)
{
	struct sc_error err;

	if (frame_send_fd(fd, &m->base, FFI_FRAME_MAX, &err) != SC_OK)
		_exit(3);
}

static void
send_raw(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		_exit(3);
}

static void
ready(int fd)
{
	Ffi__FromWorker m = FFI__FROM_WORKER__INIT;
	Ffi__Ready r = FFI__READY__INIT;

	m.m_case = FFI__FROM_WORKER__M_READY;
	m.ready = &r;
	send_from(fd, &m);
}

/* Answer call id the way `how` says. */
static void
lie(int fd, const char *how, uint64_t id)
{
	Ffi__FromWorker m = FFI__FROM_WORKER__INIT;
	Ffi__Reply r = FFI__REPLY__INIT;
	Ffi__Value v = FFI__VALUE__INIT;
	uint8_t hdr[FRAME_HEADER_SIZE];

	m.m_case = FFI__FROM_WORKER__M_REPLY;
	m.reply = &r;
	r.id = id;
	r.result = &v;
	v.v_case = FFI__VALUE__V_I;
	v.i = 42;
	if (strcmp(how, "honest") == 0) {
		send_from(fd, &m);
	} else if (strcmp(how, "wrong_kind") == 0) {
		v.v_case = FFI__VALUE__V_S;
		v.s.data = (uint8_t *)"42";
		v.s.len = 2;
		send_from(fd, &m);
	} else if (strcmp(how, "no_value") == 0) {
		r.result = NULL;
		send_from(fd, &m);
	} else if (strcmp(how, "wrong_id") == 0) {
		r.id = id + 1;
		send_from(fd, &m);
	} else if (strcmp(how, "garbage") == 0) {
		static const uint8_t junk[] = { 0, 0, 0, 4, 0xff, 0xff, 0xff,
		    0xff };

		send_raw(fd, junk, sizeof(junk));
	} else if (strcmp(how, "oversize") == 0) {
		frame_header(FFI_FRAME_MAX + 1, hdr);
		send_raw(fd, hdr, sizeof(hdr));
	} else if (strcmp(how, "unknown") == 0) {
		static const uint8_t field15[] = { 0, 0, 0, 2, 15 << 3, 1 };

		send_raw(fd, field15, sizeof(field15));
	} else if (strcmp(how, "second_ready") == 0) {
		ready(fd);
	} else if (strcmp(how, "half_frame") == 0) {
		frame_header(100, hdr);
		send_raw(fd, hdr, sizeof(hdr));
		send_raw(fd, "abc", 3);
		_exit(0);
	}
}

/* Read Init, say Ready, then lie to each Call; FFI_LIAR_LOG (a file) gets
 * a line per start, the monotonic ms. "die_idle" exits right after Ready. */
static int
liar(int fd, const char *how)
{
	const char *log = getenv("FFI_LIAR_LOG");
	struct sc_error err;
	uint8_t *buf;
	size_t len;

	if (log != NULL) {
		FILE *f = fopen(log, "a");

		if (f != NULL) {
			fprintf(f, "%lld\n", (long long)ms_now());
			fclose(f);
		}
	}
	if (frame_read_fd(fd, FFI_FRAME_MAX, &buf, &len, -1, &err) != SC_OK)
		return 1;
	free(buf);				/* Init */
	ready(fd);
	if (strcmp(how, "die_idle") == 0)
		return 0;
	while (frame_read_fd(fd, FFI_FRAME_MAX, &buf, &len, -1, &err) ==
	    SC_OK) {
		Ffi__ToWorker *m = ffi__to_worker__unpack(NULL, len, buf);

		free(buf);
		if (m != NULL && m->m_case == FFI__TO_WORKER__M_CALL)
			lie(fd, how, m->call->id);
		ffi__to_worker__free_unpacked(m, NULL);
	}
	return 0;
}

/* The daemon side */

static struct cfg *
new_cfg(void)
{
	struct cfg *c = calloc(1, sizeof(*c));
	struct cfg_allow *a = &c->ffi.allow[0];

	cfg_defaults(c);
	c->ffi.workers = 1;
	c->ffi.nallow = 1;
	snprintf(a->library, sizeof(a->library), "%s", x_add.library);
	snprintf(a->symbol, sizeof(a->symbol), "%s", x_add.symbol);
	a->nparams = 2;
	memcpy(a->params, p_ii, 2);
	a->ret = CT_INT64;
	return c;
}

/* A pool whose worker answers as `how` says; one call to it. */
static void
call_liar(const char *how, struct reply *r)
{
	union value args[2] = { { .i = 40 }, { .i = 2 } };
	struct ffipool_req rq = { r, 1000, 1, &nh, &x_add, args };
	struct cfg *c = new_cfg();
	struct ffipool *pool;
	struct sc_error err;

	setenv("FFI_LIAR", how, 1);
	memset(r, 0, sizeof(*r));
	CHECK_INT_EQ(ffipool_new(base, c, on_done, NULL, &pool, &err), SC_OK);
	CHECK_INT_EQ(ffipool_call(pool, &rq, &err), SC_OK);
	pump(base, r, WAIT_MS);
	CHECK(r->done);
	ffipool_free(pool);
	free(c);
}

static void
test_honest(void)
{
	struct reply r;

	call_liar("honest", &r);
	CHECK_STR_EQ(r.err, "");
	CHECK_INT_EQ(r.v.i, 42);
}

static void
test_lies(void)
{
	static const struct {
		const char *how;
		const char *err;
	} lies[] = {
		{ "wrong_kind", "extern call add lost its FFI worker, which "
		    "broke the protocol (a reply that does not fit the result "
		    "type) and was killed" },
		{ "no_value", "(a reply that does not fit the result type)" },
		{ "wrong_id", "extern call add lost its FFI worker, which "
		    "broke the protocol (a reply to a call it was not given) "
		    "and was killed" },
		{ "garbage", "(a frame that does not decode)" },
		{ "oversize", "(an empty or oversized frame)" },
		{ "unknown", "(a message of no known kind)" },
		{ "second_ready", "(a second Ready)" },
		{ "half_frame", "extern call add ended the FFI worker (exit "
		    "status 0)" },
	};

	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		struct reply r;

		call_liar(lies[i].how, &r);
		if (strstr(r.err, lies[i].err) == NULL)
			fprintf(stderr, "lie %s:\n", lies[i].how);
		CHECK_STR_CONTAINS(r.err, lies[i].err);
	}
}

/* A call queued behind the one lied to goes to the replacement, not to
 * the worker being killed. */
static void
test_queued_call_survives_a_lie(void)
{
	union value args[2] = { { .i = 1 }, { .i = 2 } };
	struct reply a, b;
	struct ffipool_req ra = { &a, 1000, 1, &nh, &x_add, args };
	struct ffipool_req rb = { &b, 1000, 1, &nh, &x_add, args };
	struct cfg *c = new_cfg();
	struct ffipool *pool;
	struct sc_error err;

	setenv("FFI_LIAR", "wrong_kind", 1);
	CHECK_INT_EQ(ffipool_new(base, c, on_done, NULL, &pool, &err), SC_OK);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	CHECK_INT_EQ(ffipool_call(pool, &ra, &err), SC_OK);
	CHECK_INT_EQ(ffipool_call(pool, &rb, &err), SC_OK);
	setenv("FFI_LIAR", "honest", 1);	/* for the replacement */
	pump(base, &a, WAIT_MS);
	pump(base, &b, WAIT_MS);
	CHECK_STR_CONTAINS(a.err, "(a reply that does not fit the result "
	    "type)");
	CHECK_STR_EQ(b.err, "");
	CHECK_INT_EQ(b.v.i, 42);
	ffipool_free(pool);
	free(c);
}

/* The starts FFI_LIAR_LOG recorded (monotonic ms), at most max. */
static int
starts(const char *log, int64_t *t, int max)
{
	FILE *f = fopen(log, "r");
	long long v;
	int n = 0;

	while (f != NULL && n < max && fscanf(f, "%lld", &v) == 1)
		t[n++] = v;
	if (f != NULL)
		fclose(f);
	return n;
}

/* A worker that dies right after Ready, every time: each restart waits
 * the backoff (100 ms, then doubling) instead of spinning. A loaded
 * machine only makes the gaps longer. */
static void
test_idle_death_backs_off(void)
{
	char log[] = "/tmp/test_ffiliar.XXXXXX";
	struct cfg *c = new_cfg();
	struct ffipool *pool;
	struct sc_error err;
	int64_t t[4], end = ms_now() + WAIT_MS;
	int fd = mkstemp(log), n = 0;

	CHECK(fd >= 0);
	close(fd);
	setenv("FFI_LIAR", "die_idle", 1);
	setenv("FFI_LIAR_LOG", log, 1);
	CHECK_INT_EQ(ffipool_new(base, c, on_done, NULL, &pool, &err), SC_OK);
	while ((n = starts(log, t, 4)) < 4 && ms_now() < end)
		pump(base, NULL, 50);
	ffipool_free(pool);
	unlink(log);
	unsetenv("FFI_LIAR_LOG");
	free(c);
	CHECK_INT_EQ(n, 4);
	for (int i = 1; i < n; i++) {
		/* less a little: libevent's cached time, ms rounding */
		int64_t want = (100 << (i - 1)) * 9 / 10;

		if (t[i] - t[i - 1] < want)
			fprintf(stderr, "start %d came %lld ms after the one "
			    "before (backoff %d ms)\n", i + 1,
			    (long long)(t[i] - t[i - 1]), 100 << (i - 1));
		CHECK(t[i] - t[i - 1] >= want);
	}
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "ffi-worker") == 0) {
		const char *how = getenv("FFI_LIAR");

		return liar(FFIWORKER_FD, how != NULL ? how : "honest");
	}
	base = event_base_new();
	RUN(test_honest);
	RUN(test_lies);
	RUN(test_queued_call_survives_a_lie);
	RUN(test_idle_death_backs_off);
	event_base_free(base);
	return check_done();
}
