/*
 * Unit tests for proto/frame.c: parsing at every byte boundary, frames back
 * to back, the length checks (before allocation, exact messages), packing,
 * request/reply round trips, garbage and memory-hungry bodies, and the fd
 * helpers over a socketpair (EOF mid-header and mid-body, timeouts).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "frame.h"

#define MAX	(1u << 20)

/*
 * Allocation faults: the test links with -Wl,--wrap=malloc, so every malloc
 * in frame.c (including protobuf-c's, which go through the capped
 * allocator) passes here; allocation number fail_at fails.
 */
void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
static unsigned long nallocs, fail_at;

void *
__wrap_malloc(size_t n)
{
	if (fail_at != 0 && ++nallocs == fail_at)
		return NULL;
	return __real_malloc(n);
}

/* A packed Submit request with a module of nmod bytes (pattern-filled). */
static uint8_t *
submit_frame(uint64_t id, size_t nmod, size_t *lenp)
{
	Wire__Request req = WIRE__REQUEST__INIT;
	Wire__Submit sub = WIRE__SUBMIT__INIT;
	struct sc_error err;
	uint8_t *mod = malloc(nmod > 0 ? nmod : 1), *buf = NULL;
	char name[] = "job-name";

	for (size_t i = 0; i < nmod; i++)
		mod[i] = (uint8_t)(i * 7 + 1);
	sub.module.data = mod;
	sub.module.len = nmod;
	sub.ephemeral = true;
	sub.timeout_s = 30;
	sub.name = name;
	req.id = id;
	req.req_case = WIRE__REQUEST__REQ_SUBMIT;
	req.submit = &sub;
	CHECK_INT_EQ(frame_pack(&req.base, 64u << 20, &buf, lenp, &err),
	    SC_OK);
	free(mod);
	return buf;
}

static void
test_header(void)
{
	uint8_t h[4];
	size_t off = 99, len = 99;
	struct sc_error err;

	frame_header(0x01020304u, h);
	CHECK(h[0] == 1 && h[1] == 2 && h[2] == 3 && h[3] == 4);
	frame_header(5, h);
	/* a whole header, no body yet */
	CHECK_INT_EQ(frame_parse(h, 4, MAX, &off, &len, &err), FRAME_PARTIAL);
	CHECK_INT_EQ(off, 99);
	CHECK_INT_EQ(frame_parse(h, 0, MAX, &off, &len, &err), FRAME_PARTIAL);
	/* the limit is inclusive */
	frame_header(MAX, h);
	CHECK_INT_EQ(frame_parse(h, 4, MAX, &off, &len, &err), FRAME_PARTIAL);
	frame_header(MAX + 1, h);
	CHECK_INT_EQ(frame_parse(h, 4, MAX, &off, &len, &err), SC_ELIMIT);
	CHECK_STR_EQ(err.msg,
	    "frame of 1048577 bytes exceeds the limit (1048576 bytes)");
}

/* Every prefix of a frame is partial; the whole is found, extra ignored. */
static void
test_every_boundary(void)
{
	size_t flen, off, len;
	uint8_t *f = submit_frame(7, 300, &flen), *big;
	struct sc_error err;

	for (size_t i = 0; i < flen; i++) {
		off = len = 0;
		if (frame_parse(f, i, MAX, &off, &len, &err) != FRAME_PARTIAL) {
			CHECK_INT_EQ(i, -1);	/* report the cut */
			break;
		}
		CHECK(off == 0 && len == 0);
	}
	CHECK_INT_EQ(frame_parse(f, flen, MAX, &off, &len, &err), SC_OK);
	CHECK_INT_EQ(off, 4);
	CHECK_INT_EQ(len, flen - 4);
	big = malloc(flen + 10);
	memcpy(big, f, flen);
	memset(big + flen, 0xab, 10);
	CHECK_INT_EQ(frame_parse(big, flen + 10, MAX, &off, &len, &err),
	    SC_OK);
	CHECK_INT_EQ(len, flen - 4);
	free(big);
	free(f);
}

/* Three frames in one buffer, taken one after the other. */
static void
test_back_to_back(void)
{
	size_t l[3], total = 0, pos = 0, off, len;
	uint8_t *f[3], *buf;
	struct sc_error err;
	int n = 0;

	for (int i = 0; i < 3; i++) {
		f[i] = submit_frame(100 + i, (size_t)i * 50, &l[i]);
		total += l[i];
	}
	buf = malloc(total);
	for (int i = 0; i < 3; i++) {
		memcpy(buf + pos, f[i], l[i]);
		pos += l[i];
	}
	pos = 0;
	while (frame_parse(buf + pos, total - pos, MAX, &off, &len, &err) ==
	    SC_OK) {
		Wire__Request *req;

		CHECK_INT_EQ(len, l[n] - 4);
		CHECK_INT_EQ(frame_unpack_request(buf + pos + off, len, &req,
		    &err), SC_OK);
		if (req != NULL) {
			CHECK_INT_EQ(req->id, 100 + n);
			CHECK_INT_EQ(req->submit->module.len, n * 50);
		}
		frame_msg_free(req);
		pos += off + len;
		n++;
	}
	CHECK_INT_EQ(n, 3);
	CHECK_INT_EQ(pos, total);
	free(buf);
	for (int i = 0; i < 3; i++)
		free(f[i]);
}

/* Oversized and zero lengths: refused from the header alone. */
static void
test_bad_lengths(void)
{
	uint8_t h[4];
	size_t off = 0, len = 0;
	struct sc_error err;

	frame_header(20000000, h);
	CHECK_INT_EQ(frame_parse(h, 4, 1048576, &off, &len, &err),
	    SC_ELIMIT);
	CHECK_INT_EQ(err.code, SC_ELIMIT);
	CHECK_STR_EQ(err.msg,
	    "frame of 20000000 bytes exceeds the limit (1048576 bytes)");
	frame_header(0xffffffffu, h);
	CHECK_INT_EQ(frame_parse(h, 4, 1048576, &off, &len, &err),
	    SC_ELIMIT);
	CHECK_STR_EQ(err.msg,
	    "frame of 4294967295 bytes exceeds the limit (1048576 bytes)");
	frame_header(0, h);
	CHECK_INT_EQ(frame_parse(h, 4, 1048576, &off, &len, &err),
	    SC_EPROTO);
	CHECK_STR_EQ(err.msg, "empty frame (length 0)");
	CHECK(off == 0 && len == 0);
}

static void
test_pack_limits(void)
{
	Wire__Stats st = WIRE__STATS__INIT;
	uint8_t *buf = (uint8_t *)&st;
	size_t len = 1, flen;
	struct sc_error err;
	uint8_t *f = submit_frame(1, 200, &flen);

	CHECK_INT_EQ(frame_pack(&st.base, MAX, &buf, &len, &err), SC_EINVAL);
	CHECK_STR_EQ(err.msg,
	    "wire.Stats packs to 0 bytes (empty frames are not allowed)");
	CHECK(buf == NULL && len == 0);
	{
		Wire__Request req = WIRE__REQUEST__INIT;
		Wire__Submit sub = WIRE__SUBMIT__INIT;
		uint8_t mod[200] = { 0 };

		sub.module.data = mod;
		sub.module.len = sizeof(mod);
		req.req_case = WIRE__REQUEST__REQ_SUBMIT;
		req.submit = &sub;
		CHECK_INT_EQ(frame_pack(&req.base, 100, &buf, &len, &err),
		    SC_ELIMIT);
		CHECK_STR_EQ(err.msg, "wire.Request of 206 bytes exceeds "
		    "the limit (100 bytes)");
		CHECK(buf == NULL);
	}
	free(f);
}

/* Request and reply survive encode -> frame -> parse -> unpack. */
static void
test_round_trip(void)
{
	size_t flen, off, len;
	uint8_t *f = submit_frame(0xfedcba9876543210ull, 100000, &flen);
	Wire__Request *req = NULL;
	struct sc_error err;

	CHECK_INT_EQ(frame_parse(f, flen, MAX, &off, &len, &err), SC_OK);
	CHECK_INT_EQ(frame_unpack_request(f + off, len, &req, &err), SC_OK);
	if (req != NULL) {
		CHECK(req->id == 0xfedcba9876543210ull);
		CHECK_INT_EQ(req->req_case, WIRE__REQUEST__REQ_SUBMIT);
		CHECK_INT_EQ(req->submit->module.len, 100000);
		CHECK_INT_EQ(req->submit->module.data[99999],
		    (uint8_t)(99999 * 7 + 1));
		CHECK(req->submit->ephemeral);
		CHECK_INT_EQ(req->submit->timeout_s, 30);
		CHECK_STR_EQ(req->submit->name, "job-name");
	}
	frame_msg_free(req);
	free(f);

	{
		Wire__Reply rep = WIRE__REPLY__INIT, *back = NULL;
		Wire__ListReply lr = WIRE__LIST_REPLY__INIT;
		Wire__JobInfo j[2] = { WIRE__JOB_INFO__INIT,
		    WIRE__JOB_INFO__INIT };
		Wire__JobInfo *jp[2] = { &j[0], &j[1] };
		char msg[] = "division by zero", trace[] = "at main (a:3)\n";

		j[0].id = 5;
		j[0].state = WIRE__JOB_STATE__FAILED;
		j[0].error = msg;
		j[0].trace = trace;
		j[0].stdout_truncated = true;
		j[1].id = 6;
		j[1].state = WIRE__JOB_STATE__SUSPENDED;
		lr.n_jobs = 2;
		lr.jobs = jp;
		rep.id = 9;
		rep.result_case = WIRE__REPLY__RESULT_LIST;
		rep.list = &lr;
		CHECK_INT_EQ(frame_pack(&rep.base, MAX, &f, &flen, &err),
		    SC_OK);
		CHECK_INT_EQ(frame_parse(f, flen, MAX, &off, &len, &err),
		    SC_OK);
		CHECK_INT_EQ(frame_unpack_reply(f + off, len, &back, &err),
		    SC_OK);
		if (back != NULL) {
			CHECK_INT_EQ(back->id, 9);
			CHECK_INT_EQ(back->result_case,
			    WIRE__REPLY__RESULT_LIST);
			CHECK_INT_EQ(back->list->n_jobs, 2);
			CHECK_STR_EQ(back->list->jobs[0]->error,
			    "division by zero");
			CHECK(back->list->jobs[0]->stdout_truncated);
			CHECK_INT_EQ(back->list->jobs[1]->state,
			    WIRE__JOB_STATE__SUSPENDED);
		}
		frame_msg_free(back);
		free(f);
	}
	{
		Wire__Reply rep = WIRE__REPLY__INIT, *back = NULL;
		Wire__Error e = WIRE__ERROR__INIT;
		char msg[] = "no job 12";

		e.code = SC_ENOTFOUND;
		e.message = msg;
		rep.id = 3;
		rep.result_case = WIRE__REPLY__RESULT_ERROR;
		rep.error = &e;
		CHECK_INT_EQ(frame_pack(&rep.base, MAX, &f, &flen, &err),
		    SC_OK);
		CHECK_INT_EQ(frame_unpack_reply(f + 4, flen - 4, &back, &err),
		    SC_OK);
		if (back != NULL) {
			CHECK_INT_EQ(back->error->code, -7);
			CHECK_STR_EQ(back->error->message, "no job 12");
		}
		frame_msg_free(back);
		free(f);
	}
	frame_msg_free(NULL);
}

static void
test_garbage(void)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff };
	/* field 3 (submit), length 100, but only 2 bytes follow */
	static const uint8_t cut[] = { 0x1a, 0x64, 0x0a, 0x00 };
	Wire__Request *req = (Wire__Request *)junk;
	Wire__Reply *rep = (Wire__Reply *)junk;
	struct sc_error err;

	CHECK_INT_EQ(frame_unpack_request(junk, sizeof(junk), &req, &err),
	    SC_EPROTO);
	CHECK_STR_EQ(err.msg, "5 bytes are not a valid wire.Request");
	CHECK(req == NULL);
	CHECK_INT_EQ(frame_unpack_request(cut, sizeof(cut), &req, &err),
	    SC_EPROTO);
	CHECK_STR_EQ(err.msg, "4 bytes are not a valid wire.Request");
	CHECK_INT_EQ(frame_unpack_reply(junk, sizeof(junk), &rep, &err),
	    SC_EPROTO);
	CHECK_STR_EQ(err.msg, "5 bytes are not a valid wire.Reply");
	CHECK(rep == NULL);
}

/* A valid request of tiny repeated fields costs 16x its size to decode:
 * the request cap refuses it; an explicit cap refuses a legitimate one. */
static void
test_memory_cap(void)
{
	size_t n = 200000, flen, need;
	uint8_t *body = malloc(n), *f;
	Wire__Request *req = NULL;
	ProtobufCMessage *m = NULL;
	struct sc_error err;
	char want[128];

	for (size_t i = 0; i < n; i += 2) {
		body[i] = 0x08;		/* field 1 (id), varint */
		body[i + 1] = 0x01;
	}
	CHECK_INT_EQ(frame_unpack_request(body, n, &req, &err), SC_ELIMIT);
	snprintf(want, sizeof(want), "decoding a 200000-byte wire.Request "
	    "needs more than %zu bytes of memory", FRAME_REQUEST_MEM(n));
	CHECK_STR_EQ(err.msg, want);
	CHECK(req == NULL);
	/* A wide enough cap takes it: the bytes are valid. */
	CHECK_INT_EQ(frame_unpack(&wire__request__descriptor, body, n,
	    64u << 20, &m, &err), SC_OK);
	if (m != NULL)
		CHECK_INT_EQ(((Wire__Request *)m)->id, 1);
	frame_msg_free(m);
	free(body);

	f = submit_frame(1, 10000, &flen);
	CHECK_INT_EQ(frame_unpack(&wire__request__descriptor, f + 4, flen - 4,
	    5000, &m, &err), SC_ELIMIT);
	CHECK_STR_CONTAINS(err.msg, "needs more than 5000 bytes of memory");
	CHECK(m == NULL);
	/* Find the least cap that works; the default leaves plenty over it. */
	for (need = 10000; need < 20000; need += 16) {
		if (frame_unpack(&wire__request__descriptor, f + 4, flen - 4,
		    need, &m, &err) == SC_OK)
			break;
	}
	CHECK(m != NULL);
	CHECK(need < flen + 512);
	CHECK(FRAME_REQUEST_MEM(flen - 4) > need);
	frame_msg_free(m);
	free(f);
}

/* Writes buf from a child process (for frames bigger than the socket
 * buffer), then closes. Returns the pid. */
static pid_t
writer(int fd, const uint8_t *buf, size_t len)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct sc_error err;

		_exit(frame_write_fd(fd, buf, len, &err) == SC_OK ? 0 : 1);
	}
	return pid;
}

static void
test_fd_round_trip(void)
{
	int sv[2], status = -1;
	size_t flen, len;
	uint8_t *f = submit_frame(77, 600000, &flen), *body = NULL;
	Wire__Request *req = NULL;
	struct sc_error err;
	pid_t pid;

	CHECK_INT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = writer(sv[0], f, flen);
	close(sv[0]);
	CHECK_INT_EQ(frame_read_fd(sv[1], MAX, &body, &len, 10000, &err),
	    SC_OK);
	CHECK_INT_EQ(len, flen - 4);
	if (body != NULL) {
		CHECK(memcmp(body, f + 4, len) == 0);
		CHECK_INT_EQ(frame_unpack_request(body, len, &req, &err),
		    SC_OK);
		if (req != NULL)
			CHECK_INT_EQ(req->id, 77);
	}
	frame_msg_free(req);
	free(body);
	/* then the writer closed: a clean end of stream */
	CHECK_INT_EQ(frame_read_fd(sv[1], MAX, &body, &len, 10000, &err),
	    FRAME_EOF);
	CHECK_STR_EQ(err.msg, "connection closed");
	CHECK(body == NULL);
	waitpid(pid, &status, 0);
	CHECK_INT_EQ(status, 0);
	close(sv[1]);
	free(f);

	/* frame_send_fd on a pipe (not a socket) */
	{
		Wire__Request r = WIRE__REQUEST__INIT;
		Wire__Stats st = WIRE__STATS__INIT;
		int p[2];

		r.id = 4;
		r.req_case = WIRE__REQUEST__REQ_STATS;
		r.stats = &st;
		CHECK_INT_EQ(pipe(p), 0);
		CHECK_INT_EQ(frame_send_fd(p[1], &r.base, MAX, &err), SC_OK);
		CHECK_INT_EQ(frame_read_fd(p[0], MAX, &body, &len, 1000,
		    &err), SC_OK);
		CHECK_INT_EQ(len, 4);	/* id 4, then stats of length 0 */
		CHECK_INT_EQ(frame_unpack_request(body, len, &req, &err),
		    SC_OK);
		if (req != NULL)
			CHECK_INT_EQ(req->req_case, WIRE__REQUEST__REQ_STATS);
		frame_msg_free(req);
		free(body);
		close(p[0]);
		close(p[1]);
	}
}

/* Sends n bytes of src, closes the sender, reads with frame_read_fd. */
static int
read_after(const uint8_t *src, size_t n, int close_first, int timeout,
    struct sc_error *err)
{
	uint8_t *body = (uint8_t *)err;
	size_t len = 1;
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 999;
	if (n > 0 && write(sv[0], src, n) != (ssize_t)n)
		return 998;
	if (close_first)
		close(sv[0]);
	r = frame_read_fd(sv[1], MAX, &body, &len, timeout, err);
	if (r != SC_OK && (body != NULL || len != 0))
		r = 997;
	if (r == SC_OK)
		free(body);
	if (!close_first)
		close(sv[0]);
	close(sv[1]);
	return r;
}

static void
test_fd_errors(void)
{
	uint8_t f[14] = { 0, 0, 0, 10 }, big[4];
	struct sc_error err;

	CHECK_INT_EQ(read_after(f, 3, 1, 1000, &err), SC_EPROTO);
	CHECK_STR_EQ(err.msg, "connection closed in the middle of a frame "
	    "(got 3 of 4 header bytes)");
	CHECK_INT_EQ(read_after(f, 1, 1, -1, &err), SC_EPROTO);
	CHECK_STR_EQ(err.msg, "connection closed in the middle of a frame "
	    "(got 1 of 4 header bytes)");
	CHECK_INT_EQ(read_after(f, 7, 1, 1000, &err), SC_EPROTO);
	CHECK_STR_EQ(err.msg, "connection closed in the middle of a frame "
	    "(got 3 of 10 body bytes)");
	CHECK_INT_EQ(read_after(f, 4, 1, 1000, &err), SC_EPROTO);
	CHECK_STR_EQ(err.msg, "connection closed in the middle of a frame "
	    "(got 0 of 10 body bytes)");
	CHECK_INT_EQ(read_after(f, 0, 1, 1000, &err), FRAME_EOF);
	CHECK_INT_EQ(read_after(f, 0, 0, 50, &err), SC_ETIMEOUT);
	CHECK_STR_EQ(err.msg, "no frame within 50 ms");
	CHECK_INT_EQ(read_after(f, 2, 0, 50, &err), SC_ETIMEOUT);
	CHECK_STR_EQ(err.msg,
	    "frame incomplete after 50 ms (got 2 of 4 header bytes)");
	CHECK_INT_EQ(read_after(f, 9, 0, 50, &err), SC_ETIMEOUT);
	CHECK_STR_EQ(err.msg,
	    "frame incomplete after 50 ms (got 5 of 10 body bytes)");
	/* timeout 0 still takes what is already there */
	CHECK_INT_EQ(read_after(f, 14, 1, 0, &err), SC_OK);
	/* oversized: refused from the header, the body is never awaited */
	frame_header(20000000, big);
	CHECK_INT_EQ(read_after(big, 4, 0, -1, &err), SC_ELIMIT);
	CHECK_STR_EQ(err.msg,
	    "frame of 20000000 bytes exceeds the limit (1048576 bytes)");
	frame_header(0, big);
	CHECK_INT_EQ(read_after(big, 4, 0, -1, &err), SC_EPROTO);
	CHECK_STR_EQ(err.msg, "empty frame (length 0)");
}

static void
test_write_closed(void)
{
	uint8_t buf[4096] = { 0 };
	struct sc_error err;
	int sv[2];

	CHECK_INT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	/* MSG_NOSIGNAL: an error, not SIGPIPE */
	CHECK_INT_EQ(frame_write_fd(sv[0], buf, sizeof(buf), &err), SC_EIO);
	CHECK_STR_CONTAINS(err.msg, "connection closed by the peer");
	close(sv[0]);
	CHECK_INT_EQ(frame_write_fd(-1, buf, 1, &err), SC_EIO);
	CHECK_STR_CONTAINS(err.msg, "write: Bad file descriptor");
}

/* Fail each allocation in turn: a clean SC_ENOMEM, nothing leaked. */
static void
test_alloc_faults(void)
{
	Wire__Reply rep = WIRE__REPLY__INIT, *back;
	Wire__ListReply lr = WIRE__LIST_REPLY__INIT;
	Wire__JobInfo j[20], *jp[20];
	char name[] = "a-job";
	uint8_t *f = NULL, *body;
	size_t flen = 0, len;
	struct sc_error err;
	unsigned long n;
	char want[96];
	int r, sv[2];

	for (int i = 0; i < 20; i++) {
		wire__job_info__init(&j[i]);
		j[i].id = (uint64_t)i + 1;
		j[i].name = name;
		jp[i] = &j[i];
	}
	lr.n_jobs = 20;
	lr.jobs = jp;
	rep.result_case = WIRE__REPLY__RESULT_LIST;
	rep.list = &lr;
	nallocs = 0;
	fail_at = 1;
	r = frame_pack(&rep.base, MAX, &f, &flen, &err);
	fail_at = 0;
	CHECK_INT_EQ(r, SC_ENOMEM);
	CHECK(f == NULL);
	CHECK_STR_CONTAINS(err.msg, "out of memory packing a ");
	if (frame_pack(&rep.base, MAX, &f, &flen, &err) != SC_OK)
		return;
	snprintf(want, sizeof(want), "out of memory decoding a %zu-byte "
	    "wire.Reply", flen - 4);
	for (n = 1; n < 1000; n++) {
		nallocs = 0;
		fail_at = n;
		back = (Wire__Reply *)f;
		r = frame_unpack_reply(f + 4, flen - 4, &back, &err);
		fail_at = 0;
		if (r == SC_OK)
			break;
		CHECK_INT_EQ(r, SC_ENOMEM);
		CHECK(back == NULL);
		CHECK_STR_EQ(err.msg, want);
	}
	/* a message, 20 JobInfos, 20 names, the array: each failed once */
	CHECK(n > 40 && n < 1000);
	if (r == SC_OK)
		CHECK_INT_EQ(back->list->n_jobs, 20);
	frame_msg_free(back);

	CHECK_INT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_INT_EQ(frame_write_fd(sv[0], f, flen, &err), SC_OK);
	nallocs = 0;
	fail_at = 1;
	body = f;
	r = frame_read_fd(sv[1], MAX, &body, &len, 1000, &err);
	fail_at = 0;
	CHECK_INT_EQ(r, SC_ENOMEM);
	CHECK(body == NULL);
	snprintf(want, sizeof(want), "out of memory reading a frame of %zu "
	    "bytes", flen - 4);
	CHECK_STR_EQ(err.msg, want);
	close(sv[0]);
	close(sv[1]);
	free(f);
}

/* frame_unpack_arena: small messages in the arena, with no malloc; a
 * bigger one on the heap, freed by frame_arena_done; garbage refused. */
static void
test_arena(void)
{
	static _Alignas(16) uint8_t mem[4096];
	struct frame_arena a = { mem, sizeof(mem), 0, false, false };
	struct sc_error err;
	ProtobufCMessage *m;
	Wire__Request *r;
	uint8_t *buf;
	size_t len;
	unsigned long before;

	buf = submit_frame(7, 100, &len);
	nallocs = 0;
	fail_at = ~0UL;			/* count, do not fail */
	before = nallocs;
	CHECK_INT_EQ(frame_unpack_arena(&wire__request__descriptor,
	    buf + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE, 1u << 20, &a, &m,
	    &err), SC_OK);
	CHECK_INT_EQ(nallocs - before, 0);
	CHECK(!a.heap && a.used > 0);
	r = (Wire__Request *)m;
	CHECK_INT_EQ(r->id, 7);
	CHECK_INT_EQ(r->submit->module.len, 100);
	CHECK_INT_EQ(r->submit->module.data[99], (uint8_t)(99 * 7 + 1));
	frame_arena_done(&a, m);
	free(buf);

	/* 8 KiB of module does not fit 4 KiB: the heap, freed by done */
	buf = submit_frame(8, 8192, &len);
	before = nallocs;
	CHECK_INT_EQ(frame_unpack_arena(&wire__request__descriptor,
	    buf + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE, 1u << 20, &a, &m,
	    &err), SC_OK);
	CHECK(a.heap);
	CHECK(nallocs > before);
	CHECK_INT_EQ(((Wire__Request *)m)->submit->module.len, 8192);
	frame_arena_done(&a, m);	/* ASan: nothing leaks */
	CHECK(!a.heap);

	/* the heap path keeps its cap */
	CHECK_INT_EQ(frame_unpack_arena(&wire__request__descriptor,
	    buf + FRAME_HEADER_SIZE, len - FRAME_HEADER_SIZE, 1024, &a, &m,
	    &err), SC_ELIMIT);
	CHECK(m == NULL);
	fail_at = 0;

	/* garbage */
	memset(buf, 0xff, 16);
	CHECK_INT_EQ(frame_unpack_arena(&wire__request__descriptor, buf, 16,
	    1u << 20, &a, &m, &err), SC_EPROTO);
	CHECK_STR_CONTAINS(err.msg, "are not a valid");
	free(buf);
}

int
main(void)
{
	RUN(test_header);
	RUN(test_every_boundary);
	RUN(test_back_to_back);
	RUN(test_bad_lengths);
	RUN(test_pack_limits);
	RUN(test_round_trip);
	RUN(test_garbage);
	RUN(test_memory_cap);
	RUN(test_fd_round_trip);
	RUN(test_fd_errors);
	RUN(test_write_closed);
	RUN(test_alloc_faults);
	RUN(test_arena);
	return check_done();
}
