/*
 * Allocation failures through the paths untrusted input takes: decoding a
 * module, verifying it, preparing it, running it as a job (tasks, frames,
 * strings, arrays, futures, spawns, timers, joins), and the snapshot of a
 * suspended job with its restore into a second scheduler, which runs the
 * copy to its end too. For N = 1, 2, ... the N-th malloc,
 * calloc or realloc fails: each run must end cleanly (an error naming the
 * failure, or a failed job saying "out of memory"), and every block
 * allocated during it must be freed again. The last N is the first run in
 * which no allocation failed; its output must be the normal output. The
 * same for a client connection to the real server (requests, the module
 * it submits, the job, the replies), where LeakSanitizer (the ASan build)
 * does the counting, since libevent allocates on both sides of ours.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "cfg.h"
#include "check.h"
#include "frame.h"
#include "log.h"
#include "modio.h"
#include "sched.h"
#include "scriptc.h"
#include "snapshot.h"
#include "srv.h"
#include "verify.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);

static unsigned long nallocs, fail_at, nfailed;
static long live;			/* blocks from our wrappers */

static bool
fail_now(void)
{
	if (fail_at != 0 && ++nallocs == fail_at) {
		nfailed++;
		return true;
	}
	return false;
}

void *
__wrap_malloc(size_t n)
{
	void *p = fail_now() ? NULL : __real_malloc(n);

	live += p != NULL;
	return p;
}

void *
__wrap_calloc(size_t n, size_t size)
{
	void *p = fail_now() ? NULL : __real_calloc(n, size);

	live += p != NULL;
	return p;
}

void *
__wrap_realloc(void *p, size_t n)
{
	void *q;

	if (fail_now())
		return NULL;
	q = __real_realloc(p, n);
	live += p == NULL && q != NULL;
	return q;
}

void
__wrap_free(void *p)
{
	live -= p != NULL;
	__real_free(p);
}

/* libc's strdup would allocate behind our back */
char *
__wrap_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = __wrap_malloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

/* Uses every kind of heap object and suspension point. */
static const char program[] =
    "async fn work(n: int, ms: int) -> string {\n"
    "    let mut xs = [n]\n"
    "    for i in 0..n {\n"
    "        push(xs, i * i)\n"
    "        if i % 3 == 0 { yield_now() }\n"
    "    }\n"
    "    await sleep(ms)\n"
    "    \"w\" + n + \":\" + len(xs) + \"/\" + xs[n]\n"
    "}\n"
    "async fn slow() -> int {\n"
    "    await sleep(50)\n"
    "    1\n"
    "}\n"
    "let ts = [spawn(work(5, 3)), spawn(work(9, 1)), spawn(work(2, 2))]\n"
    "let rs = await join_all(ts)\n"
    "println(rs)\n"
    "println(await await_timeout(slow(), 5, 7))\n"
    "let mut s = \"\"\n"
    "for i in 0..20 { s = s + (i as string) }\n"
    "println(s + \" \" + (len(s) as float))\n";

static int64_t fake_ms;

static int64_t
fake_clock(void)
{
	return fake_ms;
}

struct outcome {
	bool done;
	int status;
	char out[512];
	size_t nout;
	char err[256];
};

static void
on_out(void *arg, int stream, const char *buf, size_t len)
{
	struct outcome *o = arg;

	if (stream == OUT_STDOUT && o->nout + len < sizeof(o->out)) {
		memcpy(o->out + o->nout, buf, len);
		o->nout += len;
	}
}

static void
on_done(void *arg, struct job *j, int status, const char *error)
{
	struct outcome *o = arg;

	o->done = true;
	o->status = status;
	snprintf(o->err, sizeof(o->err), "%s", error != NULL ? error : "");
}

static void drive(struct sched *s, struct prog *p, struct job *j,
    struct outcome *o, bool snap);

/* Snapshot j (all its tasks asleep) and restore it into a scheduler of
 * its own, which runs the copy to its end: both must work or fail
 * cleanly. */
static void
snap_restore(struct prog *p, struct job *j)
{
	struct vm_limits lim;
	struct snapshot sn;
	struct sc_error err;
	struct outcome o2;
	struct job_hooks h2 = { on_out, on_done, &o2 };
	struct sched *s2;
	struct job *j2;
	int64_t deadline;

	if (snapshot_encode(j, 0, &sn, &err) != SC_OK) {
		CHECK(err.msg[0] != '\0');
		return;
	}
	vm_limits_default(&lim);
	if (sched_new(&lim, &s2) == SC_OK) {
		sched_set_clock(s2, fake_clock);
		memset(&o2, 0, sizeof(o2));
		if (snapshot_decode(s2, p, 1, &h2, sn.buf, sn.len, 0, &j2,
		    &deadline, &err) == SC_OK)
			drive(s2, p, j2, &o2, false);
		else
			CHECK(err.msg[0] != '\0');
		sched_free(s2);
	}
	snapshot_free(&sn);
}

/* Run until o's job ends, on the fake clock; the first time every task
 * sleeps, snapshot and restore it if snap. */
static void
drive(struct sched *s, struct prog *p, struct job *j, struct outcome *o,
    bool snap)
{
	for (int turns = 0; !o->done && turns < 100000; turns++) {
		int64_t ms;

		if (sched_run(s, 64) > 0)
			continue;
		if (snap) {
			snap = false;
			snap_restore(p, j);
		}
		if ((ms = sched_next_timer_ms(s)) < 0)
			break;
		fake_ms += ms;
		sched_fire_timers(s, fake_ms);
	}
	CHECK(o->done);
}

/* Decode, verify, prepare and run the module as a job. Returns the error
 * code of the first setup step that failed, or SC_OK with *o filled. */
static int
run(const uint8_t *bytes, size_t len, struct outcome *o)
{
	struct job_hooks h = { on_out, on_done, o };
	struct vm_limits lim;
	struct sc_error err;
	struct module *m = NULL;
	struct sched *s = NULL;
	struct prog *p = NULL;
	struct job *j;
	int r;

	memset(o, 0, sizeof(*o));
	fake_ms = 1000;
	if ((r = modio_decode(bytes, len, &m, &err)) != SC_OK)
		return r;
	if ((r = verify_module(m, &err)) != SC_OK) {
		module_free(m);
		return r;
	}
	vm_limits_default(&lim);
	if ((r = sched_new(&lim, &s)) != SC_OK) {
		module_free(m);
		return r;
	}
	sched_set_clock(s, fake_clock);
	if ((r = prog_new(m, module_free, &p, &err)) != SC_OK) {
		module_free(m);
		sched_free(s);
		return r;
	}
	if ((r = sched_submit(s, p, 1, &h, &j, &err)) == SC_OK)
		drive(s, p, j, o, true);
	else
		CHECK(err.msg[0] != '\0');
	prog_unref(p);
	sched_free(s);
	return r;
}

static void
test_every_failure(void)
{
	scriptc_result *cr = NULL;
	const uint8_t *mb;
	uint8_t *bytes;
	size_t len;
	struct outcome o;
	unsigned long n;
	long base;

	CHECK_INT_EQ(scriptc_compile(program, sizeof(program) - 1, "af.script",
	    &cr), 0);
	if (cr == NULL || scriptc_nerrors(cr) != 0) {
		if (cr != NULL)
			scriptc_print_diags(cr, stderr, false);
		CHECK(false);
		return;
	}
	mb = scriptc_module_bytes(cr, &len);
	bytes = malloc(len);
	memcpy(bytes, mb, len);
	scriptc_free(cr);

	for (n = 1;; n++) {
		int r;

		base = live;
		nallocs = nfailed = 0;
		fail_at = n;
		r = run(bytes, len, &o);
		fail_at = 0;
		if (live != base) {
			fprintf(stderr, "allocation %lu failed: %ld blocks "
			    "leaked\n", n, live - base);
			CHECK_INT_EQ(live, base);
		}
		if (nfailed == 0)
			break;		/* every allocation ran: done */
		/* the failure showed as a setup error or in the job */
		if (r == SC_OK && o.done && o.status != JOB_COMPLETED)
			CHECK_STR_CONTAINS(o.err, "memory");
		else if (r != SC_OK)
			CHECK(r == SC_ENOMEM || r == SC_ELIMIT);
	}
	fprintf(stderr, "%lu allocations, each failed once\n", n - 1);
	CHECK(n > 50);
	CHECK_INT_EQ(o.status, JOB_COMPLETED);
	CHECK_STR_EQ(o.out, "[w5:6/16, w9:10/64, w2:3/1]\n7\n"
	    "012345678910111213141516171819 30\n");
	free(bytes);
}

/* Append the frame of request r to buf (capacity cap) at *len. */
static void
add_frame(uint8_t *buf, size_t cap, size_t *len, Wire__Request *r)
{
	struct sc_error err;
	uint8_t *f;
	size_t n;

	CHECK_INT_EQ(frame_pack(&r->base, 1u << 20, &f, &n, &err), SC_OK);
	if (f != NULL && *len + n <= cap) {
		memcpy(buf + *len, f, n);
		*len += n;
	}
	free(f);
}

/* Hello, Submit of the module, Status, Wait and Stats, as one stream. */
static size_t
client_stream(const uint8_t *mod, size_t modlen, uint8_t *buf, size_t cap)
{
	Wire__Request r = WIRE__REQUEST__INIT;
	Wire__Hello h = WIRE__HELLO__INIT;
	Wire__Submit sub = WIRE__SUBMIT__INIT;
	Wire__Status st = WIRE__STATUS__INIT;
	Wire__Wait wt = WIRE__WAIT__INIT;
	Wire__Stats sts = WIRE__STATS__INIT;
	char client[] = "test_allocfail";
	size_t len = 0;

	h.protocol_version = WIRE_PROTOCOL_VERSION;
	h.client = client;
	r.id = 1;
	r.req_case = WIRE__REQUEST__REQ_HELLO;
	r.hello = &h;
	add_frame(buf, cap, &len, &r);
	sub.module.data = (uint8_t *)mod;
	sub.module.len = modlen;
	sub.ephemeral = true;
	r.id = 2;
	r.req_case = WIRE__REQUEST__REQ_SUBMIT;
	r.submit = &sub;
	add_frame(buf, cap, &len, &r);
	st.job = 1;
	r.id = 3;
	r.req_case = WIRE__REQUEST__REQ_STATUS;
	r.status = &st;
	add_frame(buf, cap, &len, &r);
	wt.job = 1;
	r.id = 4;
	r.req_case = WIRE__REQUEST__REQ_WAIT;
	r.wait = &wt;
	add_frame(buf, cap, &len, &r);
	r.id = 5;
	r.req_case = WIRE__REQUEST__REQ_STATS;
	r.stats = &sts;
	add_frame(buf, cap, &len, &r);
	return len;
}

/*
 * One connection's life with allocation fail_at failing: a fresh server
 * (no store: jobs are ephemeral), the stream written and the loop, the
 * scheduler (on the fake clock) and the server's turn run until the
 * server has replied to everything or gave up on the connection. Returns
 * the number of whole replies.
 */
static size_t
serve_once(const uint8_t *stream, size_t len)
{
	static const struct srv_opts opts = { NULL, NULL, NULL };
	struct event_base *base = event_base_new();
	struct vm_limits lim;
	struct sc_error err;
	struct sched *s;
	struct srv *srv;
	unsigned long saved = fail_at;
	struct cfg *cfg;
	static uint8_t in[1 << 16];	/* the replies */
	size_t replied = 0, nin = 0, off, blen;
	ssize_t n;
	int sv[2];

	fail_at = 0;			/* the setup is not under test */
	CHECK((cfg = malloc(sizeof(*cfg))) != NULL);
	cfg_defaults(cfg);
	srv_vm_limits(cfg, &lim);
	CHECK(base != NULL);
	CHECK_INT_EQ(sched_new(&lim, &s), SC_OK);
	sched_set_clock(s, fake_clock);
	CHECK_INT_EQ(srv_new(base, s, cfg, &opts, &srv, &err), SC_OK);
	CHECK_INT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
	    0);
	fail_at = saved;
	srv_adopt(srv, sv[0], 1000, 1);
	/* refused for want of memory: the socket is closed already */
	if (write(sv[1], stream, len) != (ssize_t)len)
		goto out;
	for (int i = 0; i < 400; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		while (sched_run(s, 64) > 0)
			;
		if (sched_next_timer_ms(s) >= 0) {
			fake_ms += sched_next_timer_ms(s);
			sched_fire_timers(s, fake_ms);
		}
		srv_before_sleep(srv);
		while ((n = read(sv[1], in + nin, sizeof(in) - nin)) > 0)
			nin += (size_t)n;
		if (n == 0)
			break;		/* the server closed it */
	}
	/* count whole reply frames */
	for (size_t at = 0; frame_parse(in + at, nin - at, sizeof(in), &off,
	    &blen, &err) == SC_OK; at += off + blen)
		replied++;
out:
	saved = fail_at;
	fail_at = 0;
	close(sv[1]);
	srv_free(srv);
	sched_free(s);
	event_base_free(base);
	fail_at = saved;
	return replied;
}

static void
test_request_failures(void)
{
	scriptc_result *cr = NULL;
	const uint8_t *mb;
	uint8_t stream[65536];
	size_t len, mlen, replied, normal;
	unsigned long n;

	log_setup(-1, false);		/* the refusals would flood stderr */
	CHECK_INT_EQ(scriptc_compile(program, sizeof(program) - 1, "af.script",
	    &cr), 0);
	mb = scriptc_module_bytes(cr, &mlen);
	len = client_stream(mb, mlen, stream, sizeof(stream));
	scriptc_free(cr);
	fake_ms = 1000;
	normal = serve_once(stream, len);
	CHECK_INT_EQ(normal, 5);	/* Hello, Submit, Status, Wait, Stats */
	/* leaks are LeakSanitizer's to find (the ASan build): libevent
	 * allocates and frees around our counter */
	for (n = 1;; n++) {
		nallocs = nfailed = 0;
		fail_at = n;
		replied = serve_once(stream, len);
		fail_at = 0;
		if (nfailed == 0)
			break;
	}
	fprintf(stderr, "request path: %lu allocations, each failed once\n",
	    n - 1);
	CHECK(n > 50);
	CHECK_INT_EQ(replied, normal);	/* no failure: every reply */
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);	/* as the daemon does */
	RUN(test_every_failure);
	RUN(test_request_failures);
	return check_done();
}
