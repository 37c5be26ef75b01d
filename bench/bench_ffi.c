/*
 * The FFI worker's costs (issue 6), all in one run so they compare: the
 * round trip of a call to st_add (libscripttest.so) through a real
 * `scriptd ffi-worker`, frames packed and decoded as the daemon would;
 * the raw round trip of the same bytes over a socketpair between two
 * processes (the floor); and the time from kill -9 of a worker to a fresh
 * one answering Ready (waitpid, spawn, exec, load, lockdown). Everything
 * runs pinned to one CPU: unpinned, a round trip costs 10 or 50 us by
 * whether the scheduler puts the two ends on one CPU or two, and the
 * figures would measure the scheduler's mood instead of our code.
 * Usage: bench_ffi [SCRIPTD LIBSCRIPTTEST] (default: this build's).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"
#include "ffi.pb-c.h"
/* By path: this benchmark links no daemon library. */
#include "../daemon/ffiworker.h"
#include "frame.h"
#include "modio.h"

#define WARMUP		20000	/* calls before timing */
#define CALLS		200000	/* timed calls, raw round trips */
#define RESPAWNS	50	/* timed replacements */

/* A running worker. */
struct worker {
	pid_t pid;
	int fd;				/* our end of the socketpair */
};

static const char *scriptd = SCRIPTD_PATH;
static const char *library = SCRIPTTEST_PATH;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Pin this process and its children to the CPU it is running on. */
static int
pin(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	if (cpu < 0)
		bench_die("sched_getcpu failed");
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) == -1)
		bench_die("sched_setaffinity failed");
	return cpu;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort t[0..n) and print "WHAT: p50 X us, p99 Y us (N)". */
static void
report(const char *what, uint64_t *t, size_t n, double unit, const char *u)
{
	qsort(t, n, sizeof(*t), cmp_u64);
	printf("%s: p50 %.2f %s, p99 %.2f %s (%zu)\n", what,
	    (double)t[n / 2] / unit, u, (double)t[n * 99 / 100] / unit, u, n);
}

/* fork + exec `scriptd ffi-worker` as the daemon does (fd 3). */
static void
spawn(struct worker *w)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		bench_die("socketpair failed");
	if ((w->pid = fork()) == -1)
		bench_die("fork failed");
	if (w->pid == 0) {
		char arg0[] = "scriptd", arg1[] = "ffi-worker";
		char *argv[] = { arg0, arg1, NULL };
		int null = open("/dev/null", O_RDWR);

		if (null == -1 || dup2(null, 0) == -1 || dup2(null, 1) == -1 ||
		    dup2(sv[1], FFIWORKER_FD) == -1)
			_exit(127);
		execv(scriptd, argv);
		_exit(127);
	}
	close(sv[1]);
	w->fd = sv[0];
}

/* Replies are decoded as the daemon's pool decodes them (ffipool.c). */
static _Alignas(16) uint8_t arena_mem[16384];
static struct frame_arena arena = { arena_mem, sizeof(arena_mem), 0, false,
    false };

static void
send_msg(struct worker *w, Ffi__ToWorker *m)
{
	struct sc_error err = { 0 };

	if (frame_send_fd(w->fd, &m->base, FFI_FRAME_MAX, &err) != SC_OK)
		bench_die("send: %s", err.msg);
}

static Ffi__FromWorker *
recv_msg(struct worker *w)
{
	struct sc_error err = { 0 };
	ProtobufCMessage *m = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (frame_read_fd(w->fd, FFI_FRAME_MAX, &buf, &len, 10000, &err) !=
	    SC_OK)
		bench_die("receive: %s", err.msg);
	if (frame_unpack(&ffi__from_worker__descriptor, buf, len,
	    FRAME_REPLY_MEM(len), &m, &err) != SC_OK)
		bench_die("decode: %s", err.msg);
	free(buf);
	return (Ffi__FromWorker *)m;
}

/* Spawn, send Init{st_add}, wait for an empty Ready. */
static void
start(struct worker *w)
{
	static uint32_t params[] = { CT_INT64, CT_INT64 };
	Ffi__ToWorker m = FFI__TO_WORKER__INIT;
	Ffi__Init in = FFI__INIT__INIT;
	Ffi__Func f = FFI__FUNC__INIT, *fp = &f;
	Ffi__FromWorker *r;

	spawn(w);
	f.library = (char *)library;
	f.symbol = (char *)"st_add";
	f.n_params = 2;
	f.params = params;
	f.ret = CT_INT64;
	in.n_funcs = 1;
	in.funcs = &fp;
	in.max_memory = 256u << 20;
	in.max_files = 16;
	in.max_handles = 16;
	m.m_case = FFI__TO_WORKER__M_INIT;
	m.init = &in;
	send_msg(w, &m);
	r = recv_msg(w);
	if (r->m_case != FFI__FROM_WORKER__M_READY || r->ready->error[0])
		bench_die("worker not ready: %s", r->m_case ==
		    FFI__FROM_WORKER__M_READY ? r->ready->error : "no Ready");
	frame_msg_free(r);
}

/*
 * One st_add(i, 1) round trip, packed and decoded in full as the daemon
 * would; the reply is taken with one read() and frame_parse(), as the
 * daemon's event loop does, not frame_read_fd()'s poll + two reads. The
 * request and reply frame sizes go to *req and *rep.
 */
static void
add(struct worker *w, int64_t i, size_t *req, size_t *rep)
{
	Ffi__ToWorker m = FFI__TO_WORKER__INIT;
	Ffi__Call c = FFI__CALL__INIT;
	Ffi__Value a = FFI__VALUE__INIT, b = FFI__VALUE__INIT;
	Ffi__Value *args[2] = { &a, &b };
	struct sc_error err = { 0 };
	ProtobufCMessage *pm = NULL;
	Ffi__FromWorker *r;
	uint8_t in[256];
	size_t nin = 0, off = 0, len = 0;
	int pr;

	a.v_case = b.v_case = FFI__VALUE__V_I;
	a.i = i;
	b.i = 1;
	c.id = (uint64_t)i + 1;
	c.n_args = 2;
	c.args = args;
	m.m_case = FFI__TO_WORKER__M_CALL;
	m.call = &c;
	*req = FRAME_HEADER_SIZE + protobuf_c_message_get_packed_size(&m.base);
	send_msg(w, &m);
	while ((pr = frame_parse(in, nin, sizeof(in) - FRAME_HEADER_SIZE,
	    &off, &len, &err)) == FRAME_PARTIAL) {
		ssize_t k = read(w->fd, in + nin, sizeof(in) - nin);

		if (k <= 0)
			bench_die("reply to call %lld: read failed",
			    (long long)i);
		nin += (size_t)k;
	}
	if (pr != SC_OK || frame_unpack_arena(&ffi__from_worker__descriptor,
	    in + off, len, FRAME_REPLY_MEM(len), &arena, &pm, &err) != SC_OK)
		bench_die("reply to call %lld: %s", (long long)i, err.msg);
	r = (Ffi__FromWorker *)pm;
	if (r->m_case != FFI__FROM_WORKER__M_REPLY || r->reply->result ==
	    NULL || r->reply->result->i != i + 1)
		bench_die("bad reply to call %lld", (long long)i);
	*rep = off + len;
	frame_arena_done(&arena, pm);
}

/* Read exactly n bytes (blocking). */
static void
readall(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(fd, buf + got, n - got);

		if (k <= 0)
			bench_die("raw read failed");
		got += (size_t)k;
	}
}

static void
writeall(int fd, const uint8_t *buf, size_t n)
{
	size_t put = 0;

	while (put < n) {
		ssize_t k = write(fd, buf + put, n - put);

		if (k <= 0)
			bench_die("raw write failed");
		put += (size_t)k;
	}
}

/* req bytes there, rep bytes back, between this process and an echo child. */
static void
raw(size_t req, size_t rep)
{
	uint8_t out[256], in[256];
	uint64_t *t = calloc(CALLS, sizeof(*t));
	int sv[2], st;
	pid_t pid;
	char what[96];

	if (t == NULL || req > sizeof(out) || rep > sizeof(in))
		bench_die("raw: sizes %zu/%zu", req, rep);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		bench_die("socketpair failed");
	if ((pid = fork()) == 0) {
		close(sv[0]);
		for (;;) {
			size_t got = 0;

			while (got < req) {
				ssize_t k = read(sv[1], in + got, req - got);

				if (k <= 0)
					_exit(0);
				got += (size_t)k;
			}
			writeall(sv[1], out, rep);
		}
	}
	close(sv[1]);
	memset(out, 1, sizeof(out));
	for (int i = 0; i < WARMUP; i++) {
		writeall(sv[0], out, req);
		readall(sv[0], in, rep);
	}
	for (int i = 0; i < CALLS; i++) {
		uint64_t t0 = now_ns();

		writeall(sv[0], out, req);
		readall(sv[0], in, rep);
		t[i] = now_ns() - t0;
	}
	close(sv[0]);
	waitpid(pid, &st, 0);
	snprintf(what, sizeof(what), "raw socketpair round trip (%zu + %zu "
	    "bytes)", req, rep);
	report(what, t, CALLS, 1e3, "us");
	free(t);
}

int
main(int argc, char **argv)
{
	uint64_t *t = calloc(CALLS, sizeof(*t));
	struct worker w;
	size_t req = 0, rep = 0;
	int st;

	if (argc == 3) {
		scriptd = argv[1];
		library = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: bench_ffi [SCRIPTD LIBSCRIPTTEST]\n");
		return 2;
	}
	if (t == NULL)
		bench_die("out of memory");
	signal(SIGPIPE, SIG_IGN);
	printf("pinned to CPU %d\n", pin());

	start(&w);
	for (int i = 0; i < WARMUP; i++)
		add(&w, i, &req, &rep);
	for (int i = 0; i < CALLS; i++) {
		uint64_t t0 = now_ns();

		add(&w, i, &req, &rep);
		t[i] = now_ns() - t0;
	}
	report("ffi call round trip (st_add through a worker)", t, CALLS, 1e3,
	    "us");
	raw(req, rep);

	/* Replacement: kill -9, reap, spawn, Init, Ready. */
	for (int i = 0; i < RESPAWNS; i++) {
		uint64_t t0 = now_ns();

		kill(w.pid, SIGKILL);
		waitpid(w.pid, &st, 0);
		close(w.fd);
		start(&w);
		t[i] = now_ns() - t0;
	}
	report("worker replacement (kill -9 to Ready)", t, RESPAWNS, 1e6,
	    "ms");
	close(w.fd);
	waitpid(w.pid, &st, 0);
	free(t);
	return 0;
}
