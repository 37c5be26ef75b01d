/*
 * scriptctl's connection: connect, Hello, numbered requests, replies read
 * with deadlines. Writes have a deadline too (CONN_REPLY_TIMEOUT_MS), so a
 * daemon that stops reading cannot block the client forever. Only one
 * module prints (main.c); this one reports through struct sc_error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"

#define CTL_CLIENT_NAME	"scriptctl " SCRIPTD_VERSION

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Write all of buf to the non-blocking socket within timeout_ms. EPIPE is
 * not a signal (MSG_NOSIGNAL): a daemon that went away is an error.
 */
static int
send_all(int fd, const uint8_t *buf, size_t len, int timeout_ms,
    struct sc_error *err)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int64_t left;

		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET)
			return sc_errorf(err, SC_EIO, "connection closed by "
			    "the daemon");
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return sc_errorf(err, SC_EIO, "send: %s",
			    strerror(errno));
		if ((left = deadline - now_ms()) <= 0)
			return sc_errorf(err, SC_ETIMEOUT, "the daemon did not "
			    "read our request within %d ms", timeout_ms);
		if (poll(&p, 1, (int)left) == -1 && errno != EINTR)
			return sc_errorf(err, SC_EIO, "poll: %s",
			    strerror(errno));
	}
	return SC_OK;
}

/*
 * Connect to the daemon's socket at path and exchange Hello. Connecting
 * never waits: a missing socket or a daemon that is not listening fails at
 * once (SC_EIO, "cannot connect to PATH: REASON"). The daemon's Error for a
 * refused Hello (e.g. too many connections) comes back with c->refused set.
 */
int
conn_open(struct conn *c, const char *path, struct sc_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	Wire__Request req = WIRE__REQUEST__INIT;
	Wire__Hello hello = WIRE__HELLO__INIT;
	Wire__Reply *rep = NULL;
	int r;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->next_id = 1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return sc_errorf(err, SC_EINVAL, "socket path too long (%zu "
		    "bytes, at most %zu): %s", strlen(path),
		    sizeof(sa.sun_path) - 1, path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return sc_errorf(err, SC_EIO, "socket: %s", strerror(errno));
	/*
	 * A Unix stream connect completes or fails at once unless the
	 * listen backlog is full (EAGAIN): that is a daemon too busy to
	 * accept, reported rather than waited on.
	 */
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		r = sc_errorf(err, SC_EIO, "cannot connect to %s: %s", path,
		    errno == EAGAIN ? "the daemon's listen queue is full" :
		    strerror(errno));
		conn_close(c);
		return r;
	}
	hello.protocol_version = WIRE_PROTOCOL_VERSION;
	hello.client = (char *)CTL_CLIENT_NAME;
	req.req_case = WIRE__REQUEST__REQ_HELLO;
	req.hello = &hello;
	if ((r = conn_call(c, &req, CONN_REPLY_TIMEOUT_MS, &rep, err)) !=
	    SC_OK)
		goto fail;
	if (rep->result_case != WIRE__REPLY__RESULT_HELLO) {
		r = sc_errorf(err, SC_EPROTO, "the daemon answered Hello with "
		    "reply kind %d", (int)rep->result_case);
		goto fail;
	}
	if (rep->hello->protocol_version != WIRE_PROTOCOL_VERSION) {
		r = sc_errorf(err, SC_EPROTO, "the daemon speaks protocol %u, "
		    "this scriptctl %u", rep->hello->protocol_version,
		    WIRE_PROTOCOL_VERSION);
		goto fail;
	}
	c->uid = rep->hello->uid;
	c->is_admin = rep->hello->is_admin;
	snprintf(c->server_version, sizeof(c->server_version), "%s",
	    rep->hello->server_version ? rep->hello->server_version : "");
	frame_msg_free(rep);
	return SC_OK;
fail:
	frame_msg_free(rep);
	conn_close(c);
	return r;
}

/* Number req with the next id and send it. */
int
conn_send(struct conn *c, Wire__Request *req, uint64_t *idp,
    struct sc_error *err)
{
	uint8_t *buf;
	size_t len;
	int r;

	if (c->fd == -1)
		return sc_errorf(err, SC_EIO, "not connected");
	req->id = c->next_id++;
	if (idp != NULL)
		*idp = req->id;
	if ((r = frame_pack(&req->base, CONN_REQUEST_MAX, &buf, &len, err)) !=
	    SC_OK)
		return r;
	r = send_all(c->fd, buf, len, CONN_REPLY_TIMEOUT_MS, err);
	free(buf);
	return r;
}

/* The reply's Error as err, with c->refused set; SC_OK for a result. */
int
conn_check(struct conn *c, const Wire__Reply *rep, struct sc_error *err)
{
	const Wire__Error *e = rep->error;

	if (rep->result_case != WIRE__REPLY__RESULT_ERROR)
		return SC_OK;
	c->refused = true;
	return sc_errorf(err, e->code < 0 ? e->code : SC_EPROTO, "%s",
	    e->message != NULL && e->message[0] != '\0' ? e->message :
	    sc_strerror(e->code));
}

/*
 * Read one reply. A closed connection is an error ("the daemon closed the
 * connection"), as is a timeout. An Error with id 0 (a fault of the whole
 * connection) is returned as err with c->refused set, and the connection
 * is closed; a reply with no result is a protocol error.
 */
int
conn_read(struct conn *c, int timeout_ms, Wire__Reply **repp,
    struct sc_error *err)
{
	Wire__Reply *rep = NULL;
	uint8_t *body;
	size_t len;
	int r;

	*repp = NULL;
	if (c->fd == -1)
		return sc_errorf(err, SC_EIO, "not connected");
	r = frame_read_fd(c->fd, CONN_REPLY_MAX, &body, &len, timeout_ms, err);
	if (r == FRAME_EOF)
		return sc_errorf(err, SC_EIO, "the daemon closed the "
		    "connection");
	if (r == SC_ETIMEOUT && timeout_ms >= 0)
		return sc_errorf(err, SC_ETIMEOUT, "no reply from the daemon "
		    "within %.1f s", timeout_ms / 1000.0);
	if (r != SC_OK)
		return r;
	r = frame_unpack_reply(body, len, &rep, err);
	free(body);
	if (r != SC_OK)
		return r;
	if (rep->result_case == WIRE__REPLY__RESULT__NOT_SET) {
		unsigned long long id = (unsigned long long)rep->id;

		frame_msg_free(rep);
		return sc_errorf(err, SC_EPROTO, "reply %llu carries no "
		    "result", id);
	}
	if (rep->id == 0) {
		r = rep->result_case == WIRE__REPLY__RESULT_ERROR ?
		    conn_check(c, rep, err) : sc_errorf(err, SC_EPROTO,
		    "reply with id 0 that is not an error");
		frame_msg_free(rep);
		conn_close(c);
		return r;
	}
	*repp = rep;
	return SC_OK;
}

/*
 * Send req and wait for its reply (replies to other requests are a
 * protocol error here: conn_call is for one request in flight). On SC_OK
 * *repp is a result the caller frees with frame_msg_free(); an Error reply
 * becomes err with c->refused set.
 */
int
conn_call(struct conn *c, Wire__Request *req, int timeout_ms,
    Wire__Reply **repp, struct sc_error *err)
{
	Wire__Reply *rep;
	uint64_t id;
	int r;

	*repp = NULL;
	if ((r = conn_send(c, req, &id, err)) == SC_EIO && c->fd != -1) {
		/*
		 * The daemon may have said why before closing (a refused
		 * connection gets an Error with id 0 at once, without its
		 * Hello being read): prefer that reason to "closed".
		 */
		struct sc_error e2 = { 0 };

		if (conn_read(c, 100, &rep, &e2) == SC_OK)
			frame_msg_free(rep);
		else if (c->refused)
			*err = e2;
		return c->refused ? err->code : r;
	}
	if (r != SC_OK || (r = conn_read(c, timeout_ms, &rep, err)) != SC_OK)
		return r;
	if (rep->id != id) {
		r = sc_errorf(err, SC_EPROTO, "reply to request %llu while "
		    "waiting for %llu", (unsigned long long)rep->id,
		    (unsigned long long)id);
		frame_msg_free(rep);
		return r;
	}
	if ((r = conn_check(c, rep, err)) != SC_OK) {
		frame_msg_free(rep);
		return r;
	}
	*repp = rep;
	return SC_OK;
}

void
conn_close(struct conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}
