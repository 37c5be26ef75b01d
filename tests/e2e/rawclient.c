/*
 * rawclient: talk to scriptd byte by byte, to check how it treats bad and
 * slow clients. Usage: rawclient SOCKET SCENARIO [ARG]. Each scenario does
 * one misbehaviour on one connection and checks the daemon's answer (an
 * Error with id 0, then the close) while a second, well-behaved connection
 * opened before it must still be served afterwards. Prints what it saw on
 * stdout ("error CODE-NAME: MESSAGE", "closed") and exits 0 when the daemon
 * behaved as wire.proto says, 1 otherwise (the reason on stderr), 2 on
 * usage. Every read has a deadline, so it never hangs.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"

#define READ_MS		10000		/* deadline for an expected reply */
#define REPLY_MAX	(64u << 20)

static const char *sock_path;

static void die(const char *fmt, ...) SC_PRINTF(1, 2)
    __attribute__((noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rawclient: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
dial(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		die("connect %s: %s", sock_path, strerror(errno));
	return fd;
}

static void
send_bytes(int fd, const void *buf, size_t len)
{
	struct sc_error err;

	if (frame_write_fd(fd, buf, len, &err) != SC_OK)
		die("write: %s", err.msg);
}

static void
send_req(int fd, Wire__Request *req)
{
	struct sc_error err;

	if (frame_send_fd(fd, &req->base, REPLY_MAX, &err) != SC_OK)
		die("send: %s", err.msg);
}

/* The next reply, or NULL when the daemon closed the connection. */
static Wire__Reply *
read_reply(int fd, int ms)
{
	struct sc_error err;
	Wire__Reply *rep;
	uint8_t *body;
	size_t len;
	int r = frame_read_fd(fd, REPLY_MAX, &body, &len, ms, &err);

	if (r == FRAME_EOF)
		return NULL;
	if (r != SC_OK)
		die("reading a reply: %s", err.msg);
	r = frame_unpack_reply(body, len, &rep, &err);
	free(body);
	if (r != SC_OK)
		die("decoding a reply: %s", err.msg);
	return rep;
}

static void
hello_version(int fd, uint32_t version)
{
	Wire__Request req = WIRE__REQUEST__INIT;
	Wire__Hello h = WIRE__HELLO__INIT;

	h.protocol_version = version;
	h.client = (char *)"rawclient";
	req.id = 1;
	req.req_case = WIRE__REQUEST__REQ_HELLO;
	req.hello = &h;
	send_req(fd, &req);
}

/* Connect and complete Hello; exits on anything but a HelloReply. */
static int
open_hello(void)
{
	int fd = dial();
	Wire__Reply *rep;

	hello_version(fd, WIRE_PROTOCOL_VERSION);
	if ((rep = read_reply(fd, READ_MS)) == NULL)
		die("the daemon closed the connection after Hello");
	if (rep->result_case != WIRE__REPLY__RESULT_HELLO)
		die("Hello answered with reply kind %d%s%s",
		    (int)rep->result_case, rep->error ? ": " : "",
		    rep->error ? rep->error->message : "");
	frame_msg_free(rep);
	return fd;
}

/* Send Stats with id and check the StatsReply: the connection works. */
static void
check_served(int fd, uint64_t id, const char *what)
{
	Wire__Request req = WIRE__REQUEST__INIT;
	Wire__Stats st = WIRE__STATS__INIT;
	Wire__Reply *rep;

	req.id = id;
	req.req_case = WIRE__REQUEST__REQ_STATS;
	req.stats = &st;
	send_req(fd, &req);
	if ((rep = read_reply(fd, READ_MS)) == NULL)
		die("%s: closed instead of answering Stats", what);
	if (rep->id != id || rep->result_case != WIRE__REPLY__RESULT_STATS)
		die("%s: Stats answered with id %llu kind %d", what,
		    (unsigned long long)rep->id, (int)rep->result_case);
	printf("%s: served\n", what);
	frame_msg_free(rep);
}

/*
 * Expect an Error (with id want_id, or any id when want_id < 0) and then
 * the close, within ms; error_optional accepts a bare close (when the
 * client made a reply impossible or pointless, e.g. half-closed).
 */
static void
expect_error_close(int fd, long long want_id, int ms, bool error_optional)
{
	Wire__Reply *rep = read_reply(fd, ms);

	if (rep == NULL && !error_optional)
		die("closed without an Error reply");
	if (rep != NULL) {
		if (rep->result_case != WIRE__REPLY__RESULT_ERROR)
			die("expected an Error, got reply kind %d",
			    (int)rep->result_case);
		if (want_id >= 0 && rep->id != (uint64_t)want_id)
			die("Error has id %llu, expected %lld",
			    (unsigned long long)rep->id, want_id);
		printf("error %s: %s\n", sc_strerror(rep->error->code),
		    rep->error->message);
		frame_msg_free(rep);
		if ((rep = read_reply(fd, ms)) != NULL)
			die("connection still open after the Error (reply "
			    "kind %d)", (int)rep->result_case);
	}
	printf("closed\n");
}

int
main(int argc, char **argv)
{
	const char *sc;
	uint8_t hdr[FRAME_HEADER_SIZE], junk[64];
	int arg, good, bad;

	if (argc < 3) {
		fprintf(stderr, "usage: rawclient SOCKET SCENARIO [ARG]\n"
		    "scenarios: hello garbage nohello badversion oversized "
		    "zero truncated\n  slow MS  idle MS  unknown  hold N "
		    "SECONDS  submit-close FILE.sbc\n");
		return 2;
	}
	sock_path = argv[1];
	sc = argv[2];
	arg = argc > 3 ? atoi(argv[3]) : 0;
	memset(junk, 0xff, sizeof(junk));
	if (strcmp(sc, "hold") == 0) {
		/* Hold N connections (with Hello) open for ARG2 seconds. */
		int n = arg, secs = argc > 4 ? atoi(argv[4]) : 10;

		for (int i = 0; i < n; i++)
			(void)open_hello();
		printf("held %d\n", n);
		fflush(stdout);
		sleep_ms(secs * 1000);
		return 0;
	}
	good = open_hello();
	if (strcmp(sc, "hello") == 0) {
		check_served(good, 2, "connection");
		return 0;
	}
	bad = dial();
	if (strcmp(sc, "garbage") == 0) {
		/* A whole frame whose body is not a Request. */
		hello_version(bad, WIRE_PROTOCOL_VERSION);
		frame_msg_free(read_reply(bad, READ_MS));
		frame_header(sizeof(junk), hdr);
		send_bytes(bad, hdr, sizeof(hdr));
		send_bytes(bad, junk, sizeof(junk));
		expect_error_close(bad, 0, READ_MS, false);
	} else if (strcmp(sc, "nohello") == 0) {
		/* Any request before Hello is a protocol error. */
		Wire__Request req = WIRE__REQUEST__INIT;
		Wire__Stats st = WIRE__STATS__INIT;

		req.id = 1;
		req.req_case = WIRE__REQUEST__REQ_STATS;
		req.stats = &st;
		send_req(bad, &req);
		expect_error_close(bad, -1, READ_MS, false);
	} else if (strcmp(sc, "badversion") == 0) {
		hello_version(bad, WIRE_PROTOCOL_VERSION + 1000);
		expect_error_close(bad, -1, READ_MS, false);
	} else if (strcmp(sc, "oversized") == 0) {
		/* Only the header: the daemon must refuse before reading. */
		frame_header(0x7fffffffu, hdr);
		send_bytes(bad, hdr, sizeof(hdr));
		expect_error_close(bad, 0, READ_MS, false);
	} else if (strcmp(sc, "zero") == 0) {
		frame_header(0, hdr);
		send_bytes(bad, hdr, sizeof(hdr));
		expect_error_close(bad, 0, READ_MS, false);
	} else if (strcmp(sc, "truncated") == 0) {
		/* Promise 100 bytes, send 10, half-close. */
		frame_header(100, hdr);
		send_bytes(bad, hdr, sizeof(hdr));
		send_bytes(bad, junk, 10);
		shutdown(bad, SHUT_WR);
		expect_error_close(bad, 0, READ_MS, true);
	} else if (strcmp(sc, "slow") == 0) {
		/* Start a frame and stall: the daemon's frame_timeout (ARG
		 * ms) must close us, and serve others meanwhile. */
		hello_version(bad, WIRE_PROTOCOL_VERSION);
		frame_msg_free(read_reply(bad, READ_MS));
		frame_header(100, hdr);
		send_bytes(bad, hdr, sizeof(hdr));
		send_bytes(bad, junk, 10);
		check_served(good, 2, "during the stall");
		expect_error_close(bad, 0, arg + READ_MS, false);
	} else if (strcmp(sc, "idle") == 0) {
		/* Say Hello and nothing else: closed after ARG ms. */
		struct timespec t0, t1;
		long ms;

		hello_version(bad, WIRE_PROTOCOL_VERSION);
		frame_msg_free(read_reply(bad, READ_MS));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		expect_error_close(bad, 0, arg + READ_MS, true);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms < arg - 50)
			die("closed after %ld ms, before the idle timeout "
			    "(%d ms)", ms, arg);
		/* The other connection was idle as long: use a new one. */
		close(good);
		good = open_hello();
	} else if (strcmp(sc, "unknown") == 0) {
		/* A request kind the daemon does not know: an Error with
		 * the request's id, and the connection stays usable. */
		Wire__Request req = WIRE__REQUEST__INIT;
		Wire__Reply *rep;

		hello_version(bad, WIRE_PROTOCOL_VERSION);
		frame_msg_free(read_reply(bad, READ_MS));
		req.id = 7;
		send_req(bad, &req);
		if ((rep = read_reply(bad, READ_MS)) == NULL)
			die("closed after an unknown request kind");
		if (rep->id != 7 || rep->result_case !=
		    WIRE__REPLY__RESULT_ERROR)
			die("unknown request answered with id %llu kind %d",
			    (unsigned long long)rep->id,
			    (int)rep->result_case);
		printf("error %s: %s\n", sc_strerror(rep->error->code),
		    rep->error->message);
		frame_msg_free(rep);
		check_served(bad, 8, "after the unknown request");
	} else if (strcmp(sc, "submit-close") == 0 && argc > 3) {
		/* Send a Submit and close at once without reading. */
		Wire__Request req = WIRE__REQUEST__INIT;
		Wire__Submit sub = WIRE__SUBMIT__INIT;
		FILE *f = fopen(argv[3], "rb");
		static uint8_t mod[1 << 20];
		size_t n;

		if (f == NULL)
			die("%s: %s", argv[3], strerror(errno));
		n = fread(mod, 1, sizeof(mod), f);
		fclose(f);
		hello_version(bad, WIRE_PROTOCOL_VERSION);
		frame_msg_free(read_reply(bad, READ_MS));
		sub.module.data = mod;
		sub.module.len = n;
		sub.ephemeral = true;
		req.id = 2;
		req.req_case = WIRE__REQUEST__REQ_SUBMIT;
		req.submit = &sub;
		send_req(bad, &req);
		close(bad);
		bad = -1;
		printf("closed\n");
	} else {
		fprintf(stderr, "rawclient: unknown scenario %s\n", sc);
		return 2;
	}
	if (bad != -1)
		close(bad);
	check_served(good, 3, "other connection");
	return 0;
}
