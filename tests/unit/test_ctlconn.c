/*
 * scriptctl's connection (client/conn.c) against a scripted fake daemon in
 * a child process: Hello, replies matched by id, the daemon's Error turned
 * into a refusal, connection faults with id 0, a version mismatch, a
 * daemon that closes or stays silent (deadline), no daemon at all.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "conn.h"

enum scenario {
	S_OK,			/* hello, stats, an error, a wrong id, close */
	S_REFUSE,		/* Error with id 0 instead of HelloReply */
	S_VERSION,		/* HelloReply with another protocol version */
	S_SILENT,		/* hello, then never answer */
	S_REFUSE_EARLY,		/* Error with id 0 and close, Hello unread */
};

static char dir[64], path[96];

static Wire__Request *
get(int fd)
{
	struct sc_error err;
	Wire__Request *req = NULL;
	uint8_t *body;
	size_t len;

	if (frame_read_fd(fd, 1 << 20, &body, &len, 5000, &err) != SC_OK)
		return NULL;
	if (frame_unpack_request(body, len, &req, &err) != SC_OK)
		req = NULL;
	free(body);
	return req;
}

static void
reply(int fd, Wire__Reply *rep)
{
	struct sc_error err;

	if (frame_send_fd(fd, &rep->base, 1 << 20, &err) != SC_OK)
		_exit(3);
}

static void
reply_error(int fd, uint64_t id, int code, const char *msg)
{
	Wire__Reply rep = WIRE__REPLY__INIT;
	Wire__Error e = WIRE__ERROR__INIT;

	e.code = code;
	e.message = (char *)msg;
	rep.id = id;
	rep.result_case = WIRE__REPLY__RESULT_ERROR;
	rep.error = &e;
	reply(fd, &rep);
}

static void
serve(int fd, enum scenario sc)
{
	Wire__Reply rep = WIRE__REPLY__INIT;
	Wire__HelloReply h = WIRE__HELLO_REPLY__INIT;
	Wire__StatsReply st = WIRE__STATS_REPLY__INIT;
	Wire__JobInfo j = WIRE__JOB_INFO__INIT;
	Wire__Request *req;

	if (sc == S_REFUSE_EARLY) {
		reply_error(fd, 0, SC_ELIMIT, "connection limit (4) reached");
		return;
	}
	req = get(fd);
	if (req == NULL || req->req_case != WIRE__REQUEST__REQ_HELLO ||
	    req->id != 1 || req->hello->protocol_version !=
	    WIRE_PROTOCOL_VERSION)
		_exit(4);
	if (sc == S_REFUSE) {
		reply_error(fd, 0, SC_ELIMIT, "too many connections (4)");
		return;
	}
	h.protocol_version = sc == S_VERSION ? 7 : WIRE_PROTOCOL_VERSION;
	h.server_version = (char *)"9.9.9";
	h.uid = 42;
	h.is_admin = true;
	rep.id = 1;
	rep.result_case = WIRE__REPLY__RESULT_HELLO;
	rep.hello = &h;
	reply(fd, &rep);
	if (sc != S_OK) {
		if (sc == S_SILENT) {
			frame_msg_free(get(fd));
			sleep(3);
		}
		return;
	}
	req = get(fd);				/* Stats, id 2 */
	rep.id = req->id;
	rep.result_case = WIRE__REPLY__RESULT_STATS;
	st.submits_total = 17;
	rep.stats = &st;
	reply(fd, &rep);
	req = get(fd);				/* Status, id 3 */
	reply_error(fd, req->id, SC_ENOTFOUND, "job 5 not found");
	req = get(fd);				/* Status, id 4 */
	rep.id = req->id + 5;
	rep.result_case = WIRE__REPLY__RESULT_JOB;
	rep.job = &j;
	reply(fd, &rep);
	frame_msg_free(get(fd));		/* then close */
}

/* Start the fake daemon on path for one connection; returns its pid. */
static pid_t
fake(enum scenario sc)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	unlink(path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (ls == -1 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(ls, 4) == -1) {
		perror("fake daemon");
		exit(1);
	}
	if ((pid = fork()) == 0) {
		int fd = accept(ls, NULL, NULL);

		serve(fd, sc);
		close(fd);
		_exit(0);
	}
	close(ls);
	return pid;
}

/* Wait for the fake daemon (killing it first when it may still sleep). */
static int
reaped(pid_t pid, bool stop)
{
	int st;

	if (stop)
		kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	return st;
}

static Wire__Request
stats_req(Wire__Stats *st)
{
	Wire__Request req = WIRE__REQUEST__INIT;

	req.req_case = WIRE__REQUEST__REQ_STATS;
	req.stats = st;
	return req;
}

static void
test_hello_and_replies(void)
{
	pid_t pid = fake(S_OK);
	struct sc_error err = { 0 };
	Wire__Stats st = WIRE__STATS__INIT;
	Wire__Status s = WIRE__STATUS__INIT;
	Wire__Request req;
	Wire__Reply *rep;
	struct conn c;

	CHECK_INT_EQ(conn_open(&c, path, &err), SC_OK);
	CHECK_INT_EQ(c.uid, 42);
	CHECK(c.is_admin);
	CHECK_STR_EQ(c.server_version, "9.9.9");
	req = stats_req(&st);
	CHECK_INT_EQ(conn_call(&c, &req, 1000, &rep, &err), SC_OK);
	CHECK_INT_EQ(req.id, 2);
	CHECK(rep != NULL && rep->result_case == WIRE__REPLY__RESULT_STATS &&
	    rep->stats->submits_total == 17);
	frame_msg_free(rep);
	CHECK(!c.refused);

	s.job = 5;
	req = (Wire__Request)WIRE__REQUEST__INIT;
	req.req_case = WIRE__REQUEST__REQ_STATUS;
	req.status = &s;
	CHECK_INT_EQ(conn_call(&c, &req, 1000, &rep, &err), SC_ENOTFOUND);
	CHECK(rep == NULL);
	CHECK(c.refused);
	CHECK_STR_EQ(err.msg, "job 5 not found");

	c.refused = false;
	CHECK_INT_EQ(conn_call(&c, &req, 1000, &rep, &err), SC_EPROTO);
	CHECK_STR_EQ(err.msg, "reply to request 9 while waiting for 4");
	CHECK(!c.refused);

	CHECK_INT_EQ(conn_call(&c, &req, 1000, &rep, &err), SC_EIO);
	CHECK_STR_EQ(err.msg, "the daemon closed the connection");
	conn_close(&c);
	conn_close(&c);				/* twice is fine */
	CHECK_INT_EQ(reaped(pid, false), 0);
}

static void
test_refused_hello(void)
{
	pid_t pid = fake(S_REFUSE);
	struct sc_error err = { 0 };
	struct conn c;

	CHECK_INT_EQ(conn_open(&c, path, &err), SC_ELIMIT);
	CHECK(c.refused);
	CHECK_INT_EQ(c.fd, -1);
	CHECK_STR_EQ(err.msg, "too many connections (4)");
	CHECK_INT_EQ(reaped(pid, false), 0);
}

/* Refused at accept: the reason is read even though our Hello was not. */
static void
test_refused_early(void)
{
	pid_t pid = fake(S_REFUSE_EARLY);
	struct sc_error err = { 0 };
	struct conn c;

	usleep(100000);			/* let the fake close first */
	CHECK_INT_EQ(conn_open(&c, path, &err), SC_ELIMIT);
	CHECK(c.refused);
	CHECK_STR_EQ(err.msg, "connection limit (4) reached");
	CHECK_INT_EQ(reaped(pid, false), 0);
}

static void
test_version_mismatch(void)
{
	pid_t pid = fake(S_VERSION);
	struct sc_error err = { 0 };
	struct conn c;

	CHECK_INT_EQ(conn_open(&c, path, &err), SC_EPROTO);
	CHECK_STR_EQ(err.msg, "the daemon speaks protocol 7, this scriptctl 1");
	CHECK_INT_EQ(c.fd, -1);
	reaped(pid, true);
}

static void
test_silent_daemon(void)
{
	pid_t pid = fake(S_SILENT);
	struct sc_error err = { 0 };
	Wire__Stats st = WIRE__STATS__INIT;
	Wire__Request req = stats_req(&st);
	Wire__Reply *rep;
	struct timespec t0, t1;
	struct conn c;
	long ms;

	CHECK_INT_EQ(conn_open(&c, path, &err), SC_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT_EQ(conn_call(&c, &req, 200, &rep, &err), SC_ETIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) /
	    1000000;
	CHECK(ms >= 190 && ms < 2000);
	CHECK_STR_EQ(err.msg, "no reply from the daemon within 0.2 s");
	conn_close(&c);
	reaped(pid, true);
}

static void
test_no_daemon(void)
{
	struct sc_error err = { 0 };
	char longp[200];
	struct conn c;

	unlink(path);
	CHECK_INT_EQ(conn_open(&c, path, &err), SC_EIO);
	CHECK_STR_CONTAINS(err.msg, "cannot connect to ");
	CHECK_STR_CONTAINS(err.msg, ": No such file or directory");
	CHECK(!c.refused);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	CHECK_INT_EQ(conn_open(&c, longp, &err), SC_EINVAL);
	CHECK_STR_CONTAINS(err.msg, "socket path too long (199 bytes, at "
	    "most 107)");
}

int
main(void)
{
	int r;

	snprintf(dir, sizeof(dir), "/tmp/ctlconn.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/sock", dir);
	RUN(test_hello_and_replies);
	RUN(test_refused_hello);
	RUN(test_refused_early);
	RUN(test_version_mismatch);
	RUN(test_silent_daemon);
	RUN(test_no_daemon);
	r = check_done();
	unlink(path);
	rmdir(dir);
	return r;
}
