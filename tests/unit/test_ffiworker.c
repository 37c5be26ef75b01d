/*
 * The FFI worker (daemon/ffiworker.c) as the daemon runs it: the real
 * `scriptd ffi-worker`, its socketpair end on fd 3, driven with ffi.proto
 * frames and loading the fixture tests/ffilib/libscripttest.so. Checks the
 * types, strings, handles, argument checks, the handle limit, load errors,
 * every fault the sandbox reports (signals, forbidden system calls, memory
 * and CPU limits) and, as root, the dropped uid, no_new_privs and seccomp.
 * SCRIPTD_PATH and SCRIPTTEST_PATH come from the build.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ffi.pb-c.h"
/* By path: this test links no daemon library (it runs the real scriptd). */
#include "../../daemon/ffiworker.h"
#include "frame.h"
#include "modio.h"

#define WAIT_MS	10000		/* wait for a frame or an exit */

/* Init.funcs, in this order (Call.func indexes it). */
enum {
	F_ADD, F_ADD32, F_SCALE, F_NOT, F_GREET, F_LEN, F_NEW, F_GET, F_FREE,
	F_CRASH, F_ABORT, F_HANG, F_HOG, F_OPEN, F_SPAWN, F_SOCKET, F_NULL_STR,
	NFUNCS
};

/* One function of the fixture and its signature. */
static const struct sig {
	const char *symbol;		/* in libscripttest.so */
	uint32_t ret;			/* enum ctype */
	size_t nparams;
	uint32_t params[2];		/* enum ctype */
} sigs[NFUNCS] = {
	[F_ADD] = { "st_add", CT_INT64, 2, { CT_INT64, CT_INT64 } },
	[F_ADD32] = { "st_add32", CT_INT32, 2, { CT_INT32, CT_INT32 } },
	[F_SCALE] = { "st_scale", CT_DOUBLE, 2, { CT_DOUBLE, CT_DOUBLE } },
	[F_NOT] = { "st_not", CT_BOOL, 1, { CT_BOOL } },
	[F_GREET] = { "st_greet", CT_STRING, 1, { CT_STRING } },
	[F_LEN] = { "st_len", CT_INT64, 1, { CT_STRING } },
	[F_NEW] = { "st_obj_new", CT_PTR, 1, { CT_INT64 } },
	[F_GET] = { "st_obj_get", CT_INT64, 1, { CT_PTR } },
	[F_FREE] = { "st_obj_free", CT_VOID, 1, { CT_PTR } },
	[F_CRASH] = { "st_crash", CT_INT64, 0, { 0 } },
	[F_ABORT] = { "st_abort", CT_INT64, 0, { 0 } },
	[F_HANG] = { "st_hang", CT_INT64, 0, { 0 } },
	[F_HOG] = { "st_hog", CT_INT64, 0, { 0 } },
	[F_OPEN] = { "st_open", CT_INT64, 1, { CT_STRING } },
	[F_SPAWN] = { "st_spawn", CT_INT64, 0, { 0 } },
	[F_SOCKET] = { "st_socket", CT_INT64, 0, { 0 } },
	[F_NULL_STR] = { "st_null_str", CT_STRING, 0, { 0 } },
};

/* What the Init of a test asks for; zero means the default below. */
struct opts {
	uint64_t max_memory;		/* 0: unlimited */
	uint32_t max_cpu_s;		/* 0: unlimited */
	uint32_t max_handles;		/* 0: 64 */
	bool drop;			/* drop_privileges to 65534 */
	const char *library;		/* NULL: the fixture */
	const char *extra_symbol;	/* appended as () -> int */
	const char *asan_options;	/* ASAN_OPTIONS for the worker */
};

/* A running worker. */
struct worker {
	pid_t pid;			/* -1 once reaped */
	int fd;				/* our end of the socketpair */
};

/* fork + exec `scriptd ffi-worker` with the socketpair end on fd 3. */
static bool
spawn(struct worker *w, const struct opts *o)
{
	int sv[2];

	w->pid = -1;
	w->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return false;
	if ((w->pid = fork()) == -1) {
		close(sv[0]);
		close(sv[1]);
		return false;
	}
	if (w->pid == 0) {
		char arg0[] = "scriptd", arg1[] = "ffi-worker";
		char *argv[] = { arg0, arg1, NULL };
		int null = open("/dev/null", O_RDWR);

		if (null == -1 || dup2(null, 0) == -1 || dup2(null, 1) == -1 ||
		    dup2(sv[1], FFIWORKER_FD) == -1)
			_exit(127);
		if (o->asan_options != NULL)
			setenv("ASAN_OPTIONS", o->asan_options, 1);
		execv(SCRIPTD_PATH, argv);
		_exit(127);
	}
	close(sv[1]);
	w->fd = sv[0];
	return true;
}

static bool
send_msg(struct worker *w, Ffi__ToWorker *m)
{
	struct sc_error err = { 0 };

	if (frame_send_fd(w->fd, &m->base, FFI_FRAME_MAX, &err) != SC_OK) {
		fprintf(stderr, "send: %s\n", err.msg);
		return false;
	}
	return true;
}

static bool
send_init(struct worker *w, const struct opts *o)
{
	Ffi__ToWorker m = FFI__TO_WORKER__INIT;
	Ffi__Init in = FFI__INIT__INIT;
	Ffi__Func funcs[NFUNCS + 1], *fp[NFUNCS + 1];

	for (size_t i = 0; i < NFUNCS + 1; i++) {
		ffi__func__init(&funcs[i]);
		fp[i] = &funcs[i];
		funcs[i].library = (char *)(o->library != NULL ? o->library :
		    SCRIPTTEST_PATH);
		if (i == NFUNCS) {
			funcs[i].symbol = (char *)o->extra_symbol;
			funcs[i].ret = CT_INT64;
			break;
		}
		funcs[i].symbol = (char *)sigs[i].symbol;
		funcs[i].ret = sigs[i].ret;
		funcs[i].n_params = sigs[i].nparams;
		funcs[i].params = (uint32_t *)sigs[i].params;
	}
	in.n_funcs = o->extra_symbol != NULL ? NFUNCS + 1 : NFUNCS;
	in.funcs = fp;
	in.max_memory = o->max_memory;
	in.max_cpu_s = o->max_cpu_s;
	in.max_files = 16;
	in.max_handles = o->max_handles != 0 ? o->max_handles : 64;
	in.drop_privileges = o->drop;
	in.uid = 65534;
	in.gid = 65534;
	m.m_case = FFI__TO_WORKER__M_INIT;
	m.init = &in;
	return send_msg(w, &m);
}

/* The next frame from the worker, or NULL (EOF, timeout: printed). */
static Ffi__FromWorker *
recv_msg(struct worker *w, int timeout_ms)
{
	struct sc_error err = { 0 };
	ProtobufCMessage *m = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	r = frame_read_fd(w->fd, FFI_FRAME_MAX, &buf, &len, timeout_ms, &err);
	if (r != SC_OK) {
		if (r != FRAME_EOF)
			fprintf(stderr, "recv: %s\n", err.msg);
		return NULL;
	}
	r = frame_unpack(&ffi__from_worker__descriptor, buf, len,
	    FRAME_REPLY_MEM(len), &m, &err);
	free(buf);
	if (r != SC_OK)
		fprintf(stderr, "recv: %s\n", err.msg);
	return (Ffi__FromWorker *)m;
}

/* Reap the worker within WAIT_MS (SIGKILL past that); its wait status. */
static int
reap(struct worker *w)
{
	int status = -1;

	for (int i = 0; i < WAIT_MS / 5; i++) {
		pid_t p = waitpid(w->pid, &status, WNOHANG);

		if (p == w->pid) {
			w->pid = -1;
			return status;
		}
		usleep(5000);
	}
	fprintf(stderr, "worker %d did not exit; killing it\n", (int)w->pid);
	kill(w->pid, SIGKILL);
	waitpid(w->pid, &status, 0);
	w->pid = -1;
	return -1;
}

/* Close our end and reap; the worker must exit 0 at EOF. */
static void
stop(struct worker *w)
{
	int st;

	close(w->fd);
	w->fd = -1;
	if (w->pid == -1)
		return;
	st = reap(w);
	CHECK(WIFEXITED(st));
	CHECK_INT_EQ(WEXITSTATUS(st), 0);
}

/* Start a worker and see it answer Ready with no error. */
static bool
start(struct worker *w, const struct opts *o)
{
	Ffi__FromWorker *m;
	bool ok;

	if (!spawn(w, o) || !send_init(w, o))
		return false;
	m = recv_msg(w, WAIT_MS);
	ok = m != NULL && m->m_case == FFI__FROM_WORKER__M_READY &&
	    m->ready->error[0] == '\0';
	if (m != NULL && m->m_case == FFI__FROM_WORKER__M_READY && !ok)
		fprintf(stderr, "Ready.error: %s\n", m->ready->error);
	frame_msg_free(m);
	return ok;
}

/* Values for arguments (static storage: one call's worth at a time). */
static Ffi__Value vals[4];

static Ffi__Value *
vint(int k, int64_t i)
{
	ffi__value__init(&vals[k]);
	vals[k].v_case = FFI__VALUE__V_I;
	vals[k].i = i;
	return &vals[k];
}

static Ffi__Value *
vfloat(int k, double f)
{
	ffi__value__init(&vals[k]);
	vals[k].v_case = FFI__VALUE__V_F;
	vals[k].f = f;
	return &vals[k];
}

static Ffi__Value *
vbool(int k, bool b)
{
	ffi__value__init(&vals[k]);
	vals[k].v_case = FFI__VALUE__V_B;
	vals[k].b = b;
	return &vals[k];
}

static Ffi__Value *
vstr(int k, const char *s, size_t n)
{
	ffi__value__init(&vals[k]);
	vals[k].v_case = FFI__VALUE__V_S;
	vals[k].s.data = (uint8_t *)s;
	vals[k].s.len = n;
	return &vals[k];
}

static Ffi__Value *
vhandle(int k, uint64_t h)
{
	ffi__value__init(&vals[k]);
	vals[k].v_case = FFI__VALUE__V_HANDLE;
	vals[k].handle = h;
	return &vals[k];
}

/* Send Call{id, func, args, release}; the answer (NULL if none came). */
static Ffi__FromWorker *
call(struct worker *w, uint64_t id, uint32_t func, size_t nargs,
    Ffi__Value *a0, Ffi__Value *a1, uint64_t release, int timeout_ms)
{
	Ffi__ToWorker m = FFI__TO_WORKER__INIT;
	Ffi__Call c = FFI__CALL__INIT;
	Ffi__Value *args[2] = { a0, a1 };

	c.id = id;
	c.func = func;
	c.n_args = nargs;
	c.args = args;
	c.release = release;
	m.m_case = FFI__TO_WORKER__M_CALL;
	m.call = &c;
	if (!send_msg(w, &m))
		return NULL;
	return recv_msg(w, timeout_ms);
}

/* A call that must succeed: its result, copied (reply freed). */
static bool
ok_call(struct worker *w, uint32_t func, size_t nargs, Ffi__Value *a0,
    Ffi__Value *a1, uint64_t release, Ffi__Value *out, char *str,
    size_t strcap)
{
	static uint64_t id = 100;
	Ffi__FromWorker *m = call(w, ++id, func, nargs, a0, a1, release,
	    WAIT_MS);
	bool ok = m != NULL && m->m_case == FFI__FROM_WORKER__M_REPLY &&
	    m->reply->id == id && m->reply->error[0] == '\0' &&
	    m->reply->result != NULL;

	if (m != NULL && m->m_case == FFI__FROM_WORKER__M_REPLY &&
	    m->reply->error[0] != '\0')
		fprintf(stderr, "Reply.error: %s\n", m->reply->error);
	if (ok) {
		*out = *m->reply->result;
		if (out->v_case == FFI__VALUE__V_S && str != NULL &&
		    out->s.len < strcap) {
			memcpy(str, out->s.data, out->s.len);
			str[out->s.len] = '\0';
		}
		out->s.data = NULL;
	}
	frame_msg_free(m);
	return ok;
}

/* A call that must fail: its Reply.error copied into msg. */
static bool
err_call(struct worker *w, uint32_t func, size_t nargs, Ffi__Value *a0,
    Ffi__Value *a1, uint64_t release, char *msg, size_t cap)
{
	Ffi__FromWorker *m = call(w, 7, func, nargs, a0, a1, release,
	    WAIT_MS);
	bool ok = m != NULL && m->m_case == FFI__FROM_WORKER__M_REPLY &&
	    m->reply->id == 7 && m->reply->error[0] != '\0' &&
	    m->reply->result == NULL;

	msg[0] = '\0';
	if (ok)
		snprintf(msg, cap, "%s", m->reply->error);
	frame_msg_free(m);
	return ok;
}

static void
test_types(void)
{
	struct opts o = { 0 };
	struct worker w;
	Ffi__Value v;

	if (!start(&w, &o)) {
		CHECK(!"worker started");
		return;
	}
	CHECK(ok_call(&w, F_ADD, 2, vint(0, (int64_t)1 << 40), vint(1, -5),
	    0, &v, NULL, 0));
	CHECK_INT_EQ(v.v_case, FFI__VALUE__V_I);
	CHECK_INT_EQ(v.i, ((int64_t)1 << 40) - 5);
	CHECK(ok_call(&w, F_ADD, 2, vint(0, INT64_MIN), vint(1, 0), 0, &v,
	    NULL, 0));
	CHECK(v.i == INT64_MIN);
	/* A negative i32 must come back sign-extended. */
	CHECK(ok_call(&w, F_ADD32, 2, vint(0, -7), vint(1, 3), 0, &v, NULL,
	    0));
	CHECK_INT_EQ(v.v_case, FFI__VALUE__V_I);
	CHECK_INT_EQ(v.i, -4);
	CHECK(ok_call(&w, F_ADD32, 2, vint(0, INT32_MAX), vint(1, 0), 0, &v,
	    NULL, 0));
	CHECK_INT_EQ(v.i, INT32_MAX);
	CHECK(ok_call(&w, F_SCALE, 2, vfloat(0, 1.5), vfloat(1, -2.25), 0, &v,
	    NULL, 0));
	CHECK_INT_EQ(v.v_case, FFI__VALUE__V_F);
	CHECK(v.f == -3.375);
	CHECK(ok_call(&w, F_NOT, 1, vbool(0, true), NULL, 0, &v, NULL, 0));
	CHECK_INT_EQ(v.v_case, FFI__VALUE__V_B);
	CHECK_INT_EQ(v.b, 0);
	CHECK(ok_call(&w, F_NOT, 1, vbool(0, false), NULL, 0, &v, NULL, 0));
	CHECK_INT_EQ(v.b, 1);
	stop(&w);
}

static void
test_strings(void)
{
	struct opts o = { 0 };
	struct worker w;
	char s[300], msg[SC_ERRMSG_MAX];
	Ffi__Value v;

	if (!start(&w, &o)) {
		CHECK(!"worker started");
		return;
	}
	CHECK(ok_call(&w, F_GREET, 1, vstr(0, "world", 5), NULL, 0, &v, s,
	    sizeof(s)));
	CHECK_INT_EQ(v.v_case, FFI__VALUE__V_S);
	CHECK_STR_EQ(s, "hello, world");
	/* No NUL arrives: the worker terminates its own copy. */
	CHECK(ok_call(&w, F_GREET, 1, vstr(0, "abcdef", 3), NULL, 0, &v, s,
	    sizeof(s)));
	CHECK_STR_EQ(s, "hello, abc");
	CHECK(ok_call(&w, F_LEN, 1, vstr(0, "h\xc3\xa9llo", 6), NULL, 0, &v,
	    NULL, 0));
	CHECK_INT_EQ(v.i, 6);
	CHECK(ok_call(&w, F_LEN, 1, vstr(0, "", 0), NULL, 0, &v, NULL, 0));
	CHECK_INT_EQ(v.i, 0);
	CHECK(err_call(&w, F_LEN, 1, vstr(0, "a\0b", 3), NULL, 0, msg,
	    sizeof(msg)));
	CHECK_STR_EQ(msg, "st_len argument 1: string contains a NUL byte");
	CHECK(err_call(&w, F_NULL_STR, 0, NULL, NULL, 0, msg, sizeof(msg)));
	CHECK_STR_EQ(msg, "st_null_str returned NULL for its string result");
	stop(&w);
}

static void
test_objects(void)
{
	struct opts o = { 0 };
	struct worker w;
	char msg[SC_ERRMSG_MAX], want[SC_ERRMSG_MAX];
	Ffi__Value v;
	uint64_t h1, h2;

	if (!start(&w, &o)) {
		CHECK(!"worker started");
		return;
	}
	CHECK(ok_call(&w, F_NEW, 1, vint(0, 7), NULL, 0, &v, NULL, 0));
	CHECK_INT_EQ(v.v_case, FFI__VALUE__V_HANDLE);
	h1 = v.handle;
	CHECK(ok_call(&w, F_NEW, 1, vint(0, 9), NULL, 0, &v, NULL, 0));
	h2 = v.handle;
	CHECK(h1 != 0 && h2 != 0 && h1 != h2);
	CHECK(ok_call(&w, F_GET, 1, vhandle(0, h1), NULL, 0, &v, NULL, 0));
	CHECK_INT_EQ(v.i, 7);
	CHECK(ok_call(&w, F_GET, 1, vhandle(0, h2), NULL, 0, &v, NULL, 0));
	CHECK_INT_EQ(v.i, 9);
	/* free with release: the result is unit and the slot is gone. */
	CHECK(ok_call(&w, F_FREE, 1, vhandle(0, h1), NULL, h1, &v, NULL, 0));
	CHECK_INT_EQ(v.v_case, FFI__VALUE__V__NOT_SET);
	CHECK(err_call(&w, F_GET, 1, vhandle(0, h1), NULL, 0, msg,
	    sizeof(msg)));
	snprintf(want, sizeof(want), "no pointer for handle slot %llu in "
	    "this worker", (unsigned long long)h1);
	CHECK_STR_EQ(msg, want);
	/* Release forgets without freeing; unknown slots are ignored. */
	{
		Ffi__ToWorker m = FFI__TO_WORKER__INIT;
		Ffi__Release rel = FFI__RELEASE__INIT;
		uint64_t hs[] = { h2, 9999 };

		rel.n_handles = 2;
		rel.handles = hs;
		m.m_case = FFI__TO_WORKER__M_RELEASE;
		m.release = &rel;
		CHECK(send_msg(&w, &m));
	}
	CHECK(err_call(&w, F_GET, 1, vhandle(0, h2), NULL, 0, msg,
	    sizeof(msg)));
	snprintf(want, sizeof(want), "no pointer for handle slot %llu in "
	    "this worker", (unsigned long long)h2);
	CHECK_STR_EQ(msg, want);
	CHECK(err_call(&w, F_GET, 1, vhandle(0, 12345), NULL, 0, msg,
	    sizeof(msg)));
	CHECK_STR_EQ(msg, "no pointer for handle slot 12345 in this worker");
	/* A release of an unknown slot fails the call before it is made. */
	CHECK(err_call(&w, F_FREE, 1, vhandle(0, 0), NULL, 4242, msg,
	    sizeof(msg)));
	CHECK_STR_EQ(msg, "no pointer for handle slot 4242 in this worker");
	stop(&w);
}

static void
test_bad_calls(void)
{
	struct opts o = { 0 };
	struct worker w;
	char msg[SC_ERRMSG_MAX];

	if (!start(&w, &o)) {
		CHECK(!"worker started");
		return;
	}
	CHECK(err_call(&w, F_ADD, 1, vint(0, 1), NULL, 0, msg, sizeof(msg)));
	CHECK_STR_EQ(msg, "st_add takes 2 arguments, got 1");
	CHECK(err_call(&w, F_NOT, 2, vbool(0, true), vbool(1, true), 0, msg,
	    sizeof(msg)));
	CHECK_STR_EQ(msg, "st_not takes 1 argument, got 2");
	CHECK(err_call(&w, F_ADD, 2, vint(0, 1), vstr(1, "x", 1), 0, msg,
	    sizeof(msg)));
	CHECK_STR_EQ(msg, "st_add argument 2: expected int, got string");
	CHECK(err_call(&w, F_GET, 1, vint(0, 1), NULL, 0, msg, sizeof(msg)));
	CHECK_STR_EQ(msg, "st_obj_get argument 1: expected ptr, got int");
	CHECK(err_call(&w, F_SCALE, 2, vfloat(0, 1), vbool(1, true), 0, msg,
	    sizeof(msg)));
	CHECK_STR_EQ(msg, "st_scale argument 2: expected float, got bool");
	CHECK(err_call(&w, F_ADD32, 2, vint(0, (int64_t)INT32_MAX + 1),
	    vint(1, 0), 0, msg, sizeof(msg)));
	CHECK_STR_EQ(msg, "st_add32 argument 1: 2147483648 does not fit in "
	    "i32");
	CHECK(err_call(&w, NFUNCS + 3, 0, NULL, NULL, 0, msg, sizeof(msg)));
	CHECK_STR_EQ(msg, "function 20 out of range (worker has 17)");
	/* The worker still serves after refusing. */
	{
		Ffi__Value v;

		CHECK(ok_call(&w, F_ADD, 2, vint(0, 2), vint(1, 40), 0, &v,
		    NULL, 0));
		CHECK_INT_EQ(v.i, 42);
	}
	stop(&w);
}

static void
test_handle_limit(void)
{
	struct opts o = { .max_handles = 2 };
	struct worker w;
	char msg[SC_ERRMSG_MAX];
	Ffi__Value v;
	uint64_t h1;

	if (!start(&w, &o)) {
		CHECK(!"worker started");
		return;
	}
	CHECK(ok_call(&w, F_NEW, 1, vint(0, 1), NULL, 0, &v, NULL, 0));
	h1 = v.handle;
	CHECK(ok_call(&w, F_NEW, 1, vint(0, 2), NULL, 0, &v, NULL, 0));
	CHECK(err_call(&w, F_NEW, 1, vint(0, 3), NULL, 0, msg, sizeof(msg)));
	CHECK_STR_EQ(msg, "handle limit (max_handles 2) reached: the pointer "
	    "st_obj_new returned is lost in this worker");
	/* Freeing one makes room again, and its slot is reused. */
	CHECK(ok_call(&w, F_FREE, 1, vhandle(0, h1), NULL, h1, &v, NULL, 0));
	CHECK(ok_call(&w, F_NEW, 1, vint(0, 4), NULL, 0, &v, NULL, 0));
	CHECK_INT_EQ(v.handle, h1);
	CHECK(ok_call(&w, F_GET, 1, vhandle(0, v.handle), NULL, 0, &v, NULL,
	    0));
	CHECK_INT_EQ(v.i, 4);
	stop(&w);
}

/* Init that must be refused: Ready.error, then exit status 1. */
static void
refused(const struct opts *o, const char *want)
{
	struct worker w;
	Ffi__FromWorker *m;
	int st;

	if (!spawn(&w, o) || !send_init(&w, o)) {
		CHECK(!"worker started");
		return;
	}
	m = recv_msg(&w, WAIT_MS);
	CHECK(m != NULL && m->m_case == FFI__FROM_WORKER__M_READY);
	if (m != NULL && m->m_case == FFI__FROM_WORKER__M_READY)
		CHECK_STR_CONTAINS(m->ready->error, want);
	frame_msg_free(m);
	st = reap(&w);
	CHECK(WIFEXITED(st));
	CHECK_INT_EQ(WEXITSTATUS(st), 1);
	close(w.fd);
}

static void
test_load_errors(void)
{
	struct opts nolib = { .library = "libscriptd-nope.so.9" };
	struct opts nosym = { .extra_symbol = "st_nope" };
	char want[512];

	refused(&nolib, "cannot load libscriptd-nope.so.9: ");
	snprintf(want, sizeof(want), "no symbol st_nope in %s",
	    SCRIPTTEST_PATH);
	refused(&nosym, want);
}

/*
 * Make a call that kills the worker: a Fault{id, sig, syscall, memory}
 * must come first, then death by sig.
 */
static void
dies(const struct opts *o, uint32_t func, Ffi__Value *a0, int sig,
    int sysno, bool memory)
{
	struct worker w;
	Ffi__FromWorker *m;
	int st;

	if (!start(&w, o)) {
		CHECK(!"worker started");
		return;
	}
	m = call(&w, 4711, func, a0 != NULL ? 1 : 0, a0, NULL, 0, WAIT_MS);
	CHECK(m != NULL && m->m_case == FFI__FROM_WORKER__M_FAULT);
	if (m != NULL && m->m_case == FFI__FROM_WORKER__M_FAULT) {
		CHECK_INT_EQ(m->fault->id, 4711);
		CHECK_INT_EQ(m->fault->signal, sig);
		CHECK_INT_EQ(m->fault->syscall, sysno);
		CHECK_INT_EQ(m->fault->memory, memory);
	}
	frame_msg_free(m);
	st = reap(&w);
	CHECK(WIFSIGNALED(st));
	if (WIFSIGNALED(st))
		CHECK_INT_EQ(WTERMSIG(st), sig);
	close(w.fd);
}

static void
test_crash(void)
{
	struct opts o = { 0 };

	dies(&o, F_CRASH, NULL, SIGSEGV, 0, false);
	dies(&o, F_ABORT, NULL, SIGABRT, 0, false);
}

static void
test_forbidden(void)
{
	struct opts o = { 0 };

	dies(&o, F_OPEN, vstr(0, "/etc/passwd", 11), SIGSYS, SYS_openat,
	    false);
	dies(&o, F_SPAWN, NULL, SIGSYS, SYS_clone, false);
	dies(&o, F_SOCKET, NULL, SIGSYS, SYS_socket, false);
}

static void
test_memory(void)
{
	/* ASan's malloc must return NULL, as libc's does, not abort. */
	struct opts o = { .max_memory = 256u << 20,
	    .asan_options = "allocator_may_return_null=1" };

	dies(&o, F_HOG, NULL, SIGSEGV, 0, true);
}

static void
test_cpu(void)
{
	struct opts o = { .max_cpu_s = 1 };

	dies(&o, F_HANG, NULL, SIGXCPU, 0, false);
}

/* A hang without limits: no answer; killing it is the daemon's job. */
static void
test_hang(void)
{
	struct opts o = { 0 };
	struct worker w;
	Ffi__FromWorker *m;
	struct pollfd p;
	int st;

	if (!start(&w, &o)) {
		CHECK(!"worker started");
		return;
	}
	{
		Ffi__ToWorker tw = FFI__TO_WORKER__INIT;
		Ffi__Call c = FFI__CALL__INIT;

		c.id = 1;
		c.func = F_HANG;
		tw.m_case = FFI__TO_WORKER__M_CALL;
		tw.call = &c;
		CHECK(send_msg(&w, &tw));
	}
	p.fd = w.fd;
	p.events = POLLIN;
	CHECK_INT_EQ(poll(&p, 1, 200), 0);
	CHECK_INT_EQ(kill(w.pid, SIGKILL), 0);
	st = reap(&w);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* Killed by us: no Fault, just the end of the stream. */
	m = recv_msg(&w, WAIT_MS);
	CHECK(m == NULL);
	frame_msg_free(m);
	close(w.fd);
}

/* Bytes that are not a ToWorker, and a second Init: exit status 2. */
static void
test_malformed(void)
{
	static const uint8_t junk[] = { 0, 0, 0, 3, 0xff, 0xff, 0xff };
	struct opts o = { 0 };
	struct worker w;
	int st;

	if (!start(&w, &o)) {
		CHECK(!"worker started");
		return;
	}
	CHECK(write(w.fd, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
	st = reap(&w);
	CHECK(WIFEXITED(st));
	CHECK_INT_EQ(WEXITSTATUS(st), 2);
	close(w.fd);

	if (!start(&w, &o) || !send_init(&w, &o)) {
		CHECK(!"worker started");
		return;
	}
	st = reap(&w);
	CHECK(WIFEXITED(st));
	CHECK_INT_EQ(WEXITSTATUS(st), 2);
	close(w.fd);

	/* Closed in the middle of a frame. */
	if (!start(&w, &o)) {
		CHECK(!"worker started");
		return;
	}
	CHECK(write(w.fd, junk, 5) == 5);
	close(w.fd);
	st = reap(&w);
	CHECK(WIFEXITED(st));
	CHECK_INT_EQ(WEXITSTATUS(st), 2);
}

/* Pack m as a frame into buf at *off (test frames are small). */
static void
put(uint8_t *buf, size_t cap, size_t *off, Ffi__ToWorker *m)
{
	struct sc_error err = { 0 };
	uint8_t *f = NULL;
	size_t n = 0;

	if (frame_pack(&m->base, FFI_FRAME_MAX, &f, &n, &err) != SC_OK ||
	    *off + n > cap) {
		CHECK(!"frame packed");
		free(f);
		return;
	}
	memcpy(buf + *off, f, n);
	*off += n;
	free(f);
}

/*
 * Frames as the stream delivers them: a Call, a Release and a Call in one
 * write, and a Call cut in two writes 50 ms apart.
 */
static void
test_stream(void)
{
	struct opts o = { 0 };
	struct worker w;
	Ffi__ToWorker m = FFI__TO_WORKER__INIT;
	Ffi__Release rel = FFI__RELEASE__INIT;
	Ffi__Call c = FFI__CALL__INIT;
	Ffi__Value *args[1];
	Ffi__FromWorker *r;
	uint8_t buf[512];
	size_t n = 0;
	uint64_t h;
	Ffi__Value v;

	if (!start(&w, &o)) {
		CHECK(!"worker started");
		return;
	}
	CHECK(ok_call(&w, F_NEW, 1, vint(0, 5), NULL, 0, &v, NULL, 0));
	h = v.handle;
	m.m_case = FFI__TO_WORKER__M_CALL;
	m.call = &c;
	c.func = F_GET;
	c.n_args = 1;
	c.args = args;
	c.id = 1;
	args[0] = vhandle(0, h);
	put(buf, sizeof(buf), &n, &m);
	rel.n_handles = 1;
	rel.handles = &h;
	m.m_case = FFI__TO_WORKER__M_RELEASE;
	m.release = &rel;
	put(buf, sizeof(buf), &n, &m);
	m.m_case = FFI__TO_WORKER__M_CALL;
	m.call = &c;
	c.id = 2;
	put(buf, sizeof(buf), &n, &m);
	CHECK(write(w.fd, buf, n) == (ssize_t)n);
	r = recv_msg(&w, WAIT_MS);
	CHECK(r != NULL && r->m_case == FFI__FROM_WORKER__M_REPLY &&
	    r->reply->id == 1 && r->reply->result != NULL &&
	    r->reply->result->i == 5);
	frame_msg_free(r);
	r = recv_msg(&w, WAIT_MS);
	CHECK(r != NULL && r->m_case == FFI__FROM_WORKER__M_REPLY &&
	    r->reply->id == 2);
	if (r != NULL && r->m_case == FFI__FROM_WORKER__M_REPLY)
		CHECK_STR_CONTAINS(r->reply->error, "no pointer for handle");
	frame_msg_free(r);

	n = 0;
	c.id = 3;
	c.func = F_ADD;
	c.n_args = 0;
	put(buf, sizeof(buf), &n, &m);
	CHECK(write(w.fd, buf, 3) == 3);
	usleep(50000);
	CHECK(write(w.fd, buf + 3, n - 3) == (ssize_t)(n - 3));
	r = recv_msg(&w, WAIT_MS);
	CHECK(r != NULL && r->m_case == FFI__FROM_WORKER__M_REPLY &&
	    r->reply->id == 3);
	if (r != NULL && r->m_case == FFI__FROM_WORKER__M_REPLY)
		CHECK_STR_EQ(r->reply->error,
		    "st_add takes 2 arguments, got 0");
	frame_msg_free(r);
	stop(&w);
}

/* "Name:\tVALUE" of /proc/PID/status, in out. */
static bool
status_field(pid_t pid, const char *name, char *out, size_t cap)
{
	char path[64], line[256];
	size_t n = strlen(name);
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			snprintf(out, cap, "%s", line + n + 1);
			out[strcspn(out, "\n")] = '\0';
			found = true;
		}
	fclose(f);
	return found;
}

static void
test_sandbox_status(void)
{
	struct opts o = { .drop = geteuid() == 0 };
	struct worker w;
	char v[128];
	Ffi__Value r;

	if (!start(&w, &o)) {
		CHECK(!"worker started");
		return;
	}
	CHECK(status_field(w.pid, "NoNewPrivs", v, sizeof(v)));
	CHECK_STR_EQ(v, "\t1");
	CHECK(status_field(w.pid, "Seccomp", v, sizeof(v)));
	CHECK_STR_EQ(v, "\t2");
	if (o.drop) {
		CHECK(status_field(w.pid, "Uid", v, sizeof(v)));
		CHECK_STR_EQ(v, "\t65534\t65534\t65534\t65534");
		CHECK(status_field(w.pid, "Gid", v, sizeof(v)));
		CHECK_STR_EQ(v, "\t65534\t65534\t65534\t65534");
		/* No supplementary groups: nothing but blanks. */
		CHECK(status_field(w.pid, "Groups", v, sizeof(v)));
		CHECK_INT_EQ(strspn(v, "\t "), strlen(v));
	} else
		printf("not root: privilege drop not tested\n");
	CHECK(ok_call(&w, F_ADD, 2, vint(0, 1), vint(1, 2), 0, &r, NULL, 0));
	CHECK_INT_EQ(r.i, 3);
	stop(&w);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_types);
	RUN(test_strings);
	RUN(test_objects);
	RUN(test_bad_calls);
	RUN(test_handle_limit);
	RUN(test_load_errors);
	RUN(test_crash);
	RUN(test_forbidden);
	RUN(test_memory);
	RUN(test_cpu);
	RUN(test_hang);
	RUN(test_malformed);
	RUN(test_stream);
	RUN(test_sandbox_status);
	return check_done();
}
