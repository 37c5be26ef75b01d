/* See benchlib.h. */
#define _GNU_SOURCE		/* program_invocation_short_name */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

pid_t bench_daemon_pid = -1;

void
bench_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (bench_daemon_pid > 0)
		kill(bench_daemon_pid, SIGKILL);
	exit(1);
}

double
bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
bench_dial(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		bench_die("connect %s: %s", path, strerror(errno));
	return fd;
}

void
bench_connect(struct bench_conn *r, const char *path, const char *client)
{
	Wire__Request req = WIRE__REQUEST__INIT;
	Wire__Hello h = WIRE__HELLO__INIT;
	uint8_t buf[256];

	memset(r, 0, sizeof(*r));
	r->fd = bench_dial(path);
	if ((r->buf = malloc(BENCH_RBUF_SIZE)) == NULL)
		bench_die("out of memory");
	h.protocol_version = WIRE_PROTOCOL_VERSION;
	h.client = (char *)client;
	req.id = 1;
	req.req_case = WIRE__REQUEST__REQ_HELLO;
	req.hello = &h;
	bench_put(r->fd, buf, bench_pack_req(&req, buf));
	frame_msg_free(bench_next_reply(r));
}

void
bench_put(int fd, const void *buf, size_t len)
{
	struct sc_error err;

	if (frame_write_fd(fd, buf, len, &err) != SC_OK)
		bench_die("write: %s", err.msg);
}

bool
bench_have_frame(const struct bench_conn *r)
{
	struct sc_error err;
	size_t boff, blen;

	return frame_parse(r->buf + r->off, r->len - r->off, BENCH_RBUF_SIZE,
	    &boff, &blen, &err) == SC_OK;
}

void
bench_next_frame(struct bench_conn *r, const uint8_t **bodyp, size_t *lenp)
{
	struct sc_error err;
	size_t boff, blen;
	ssize_t n;
	int pr;

	for (;;) {
		pr = frame_parse(r->buf + r->off, r->len - r->off,
		    BENCH_RBUF_SIZE, &boff, &blen, &err);
		if (pr == SC_OK) {
			*bodyp = r->buf + r->off + boff;
			*lenp = blen;
			r->off += boff + blen;
			return;
		}
		if (pr != FRAME_PARTIAL)
			bench_die("bad reply frame: %s", err.msg);
		if (r->off > 0) {
			memmove(r->buf, r->buf + r->off, r->len - r->off);
			r->len -= r->off;
			r->off = 0;
		}
		n = read(r->fd, r->buf + r->len, BENCH_RBUF_SIZE - r->len);
		if (n == 0)
			bench_die("the daemon closed the connection");
		if (n < 0 && errno != EINTR)
			bench_die("read: %s", strerror(errno));
		if (n > 0)
			r->len += (size_t)n;
	}
}

Wire__Reply *
bench_next_reply(struct bench_conn *r)
{
	struct sc_error err;
	Wire__Reply *rep;
	const uint8_t *body;
	size_t len;

	bench_next_frame(r, &body, &len);
	if (frame_unpack_reply(body, len, &rep, &err) != SC_OK)
		bench_die("bad reply: %s", err.msg);
	if (rep->result_case == WIRE__REPLY__RESULT_ERROR)
		bench_die("request %llu refused: %s",
		    (unsigned long long)rep->id, rep->error->message);
	return rep;
}

size_t
bench_pack_req(Wire__Request *req, uint8_t *buf)
{
	size_t n = wire__request__pack(req, buf + FRAME_HEADER_SIZE);

	frame_header((uint32_t)n, buf);
	return n + FRAME_HEADER_SIZE;
}

size_t
bench_pack_submit(uint64_t id, const uint8_t *mod, size_t modlen,
    bool ephemeral, uint8_t *buf)
{
	Wire__Request req = WIRE__REQUEST__INIT;
	Wire__Submit sub = WIRE__SUBMIT__INIT;

	sub.module.data = (uint8_t *)mod;
	sub.module.len = modlen;
	sub.ephemeral = ephemeral;
	req.id = id;
	req.req_case = WIRE__REQUEST__REQ_SUBMIT;
	req.submit = &sub;
	return bench_pack_req(&req, buf);
}
