/*
 * Client connections. Frames are cut from the bufferevent's input with
 * frame_parse() on the 4-byte header first, so an oversized length is
 * refused before its body is read or any memory is set aside for it; the
 * input buffer's high watermark is the request cap (CONN_HELLO_MAX before
 * Hello), so libevent itself never buffers more than one maximal frame.
 * The bytes buffered over all connections are kept under
 * limits.max_buffered_input: a connection whose input would pass it is
 * failed, so many partial frames cannot add up. A per-connection timer
 * enforces, whichever applies: the partial-frame deadline (slowloris), the
 * idle deadline (no bytes and no request in flight), the stall deadline
 * (the client stopped reading replies) and the closing grace period.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "conn.h"
#include "log.h"
#include "srv.h"

static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);
static void timer_cb(evutil_socket_t fd, short what, void *arg);
static void resume_cb(evutil_socket_t fd, short what, void *arg);
static void linger(struct conn *c);

static size_t
outlen(const struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

bool
conn_writable(const struct conn *c)
{
	return (c->state == CONN_OPEN || c->state == CONN_HELLO) &&
	    outlen(c) < CONN_OUTBUF_HIGH;
}

int
conn_new(struct srv *srv, int fd, uint32_t uid, pid_t pid, struct conn **cp,
    struct sc_error *err)
{
	struct conn *c;
	int64_t now = srv_now();

	*cp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return sc_errorf(err, SC_ENOMEM, "out of memory");
	}
	c->srv = srv;
	c->uid = uid;
	c->pid = pid;
	c->last_active = now;
	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->timer = evtimer_new(srv->base, timer_cb, c);
	c->resume = evtimer_new(srv->base, resume_cb, c);
	if (c->bev == NULL || c->timer == NULL || c->resume == NULL) {
		if (c->bev == NULL)
			close(fd);
		conn_free(c);
		return sc_errorf(err, SC_ENOMEM, "out of memory");
	}
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	/* never buffer more than one maximal request; before Hello, a
	 * small one */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    CONN_HELLO_MAX + FRAME_HEADER_SIZE);
	bufferevent_setwatermark(c->bev, EV_WRITE, CONN_OUTBUF_HIGH / 2, 0);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0) {
		conn_free(c);
		return sc_errorf(err, SC_EIO, "cannot watch the connection");
	}
	conn_rearm(c);
	*cp = c;
	return SC_OK;
}

void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	c->srv->inbytes -= c->inbytes;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->resume != NULL)
		event_free(c->resume);
	free(c);
}

static void
arm_at(struct conn *c, int64_t due)
{
	int64_t ms = due - srv_now();
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

/* Arm the one deadline that applies now. */
void
conn_rearm(struct conn *c)
{
	const struct cfg *cfg = c->srv->cfg;

	if (c->state == CONN_CLOSED)
		return;
	if (c->state == CONN_CLOSING)
		arm_at(c, c->closing_since + CONN_CLOSE_GRACE_MS);
	else if (c->paused_since != 0)
		arm_at(c, c->paused_since + (int64_t)cfg->limits.idle_timeout_ms);
	else if (c->frame_start != 0)
		arm_at(c, c->frame_start +
		    (int64_t)cfg->limits.frame_timeout_ms);
	else if (c->npending == 0)
		arm_at(c, c->last_active +
		    (int64_t)cfg->limits.idle_timeout_ms);
	else
		evtimer_del(c->timer);
}

void
conn_close(struct conn *c, const char *why)
{
	if (c->state == CONN_CLOSED)
		return;
	log_debug("connection %llu (uid %u): closed: %s",
	    (unsigned long long)c->serial, c->uid, why);
	c->state = CONN_CLOSED;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	evtimer_del(c->timer);
	evtimer_del(c->resume);
	srv_conn_closed(c->srv, c);
}

int
conn_pack(const Wire__Reply *r, uint8_t **bufp, size_t *lenp)
{
	return frame_pack(&r->base, UINT32_MAX, bufp, lenp, NULL);
}

void
conn_send(struct conn *c, const Wire__Reply *r)
{
	struct evbuffer *out;
	struct evbuffer_iovec v;
	size_t n;

	if (c->state != CONN_OPEN && c->state != CONN_HELLO &&
	    !(c->state == CONN_CLOSING && r->id == 0))
		return;
	out = bufferevent_get_output(c->bev);
	n = protobuf_c_message_get_packed_size(&r->base);
	/* a reply is packed in place: no copy, no temporary buffer */
	if (n == 0 || n > UINT32_MAX ||
	    evbuffer_reserve_space(out, (ev_ssize_t)(n + FRAME_HEADER_SIZE),
	    &v, 1) < 1 || v.iov_len < n + FRAME_HEADER_SIZE) {
		conn_close(c, "cannot queue a reply (out of memory)");
		return;
	}
	frame_header((uint32_t)n, v.iov_base);
	protobuf_c_message_pack(&r->base, (uint8_t *)v.iov_base +
	    FRAME_HEADER_SIZE);
	v.iov_len = n + FRAME_HEADER_SIZE;
	if (evbuffer_commit_space(out, &v, 1) != 0) {
		conn_close(c, "cannot queue a reply");
		return;
	}
	c->last_active = srv_now();
	if (evbuffer_get_length(out) > CONN_OUTBUF_MAX) {
		log_warn("connection %llu (uid %u, pid %d): client does not "
		    "read its replies: %zu bytes queued, over the limit (%u "
		    "bytes); closing it", (unsigned long long)c->serial,
		    c->uid, (int)c->pid, evbuffer_get_length(out),
		    CONN_OUTBUF_MAX);
		conn_close(c, "output buffer limit");
	}
}

void
conn_send_error(struct conn *c, uint64_t id, const struct sc_error *err)
{
	Wire__Reply r = WIRE__REPLY__INIT;
	Wire__Error e = WIRE__ERROR__INIT;

	e.code = err->code;
	e.message = (char *)err->msg;
	r.id = id;
	r.result_case = WIRE__REPLY__RESULT_ERROR;
	r.error = &e;
	conn_send(c, &r);
}

void
conn_fail(struct conn *c, const struct sc_error *err)
{
	if (c->state != CONN_OPEN && c->state != CONN_HELLO)
		return;
	log_info("connection %llu (uid %u, pid %d): %s; closing it",
	    (unsigned long long)c->serial, c->uid, (int)c->pid, err->msg);
	c->state = CONN_CLOSING;
	conn_send_error(c, 0, err);
	if (c->state == CONN_CLOSING)	/* not closed while queueing */
		linger(c);
}

/*
 * Write queued replies now rather than after the next poll: one loop turn
 * less per request. One write(2) that may be partial; errors surface on
 * libevent's own next write.
 */
void
conn_write_now(struct conn *c)
{
	if ((c->state == CONN_OPEN || c->state == CONN_HELLO) && outlen(c) > 0)
		(void)evbuffer_write(bufferevent_get_output(c->bev),
		    bufferevent_getfd(c->bev));
}

void
conn_flush_now(struct conn *c)
{
	struct evbuffer *out;
	int fd;

	if (c->state == CONN_CLOSED)
		return;
	out = bufferevent_get_output(c->bev);
	fd = (int)bufferevent_getfd(c->bev);
	while (evbuffer_get_length(out) > 0)
		if (evbuffer_write(out, fd) <= 0)
			break;		/* would block or gone: give up */
}

/* Stop reading and close once the queued replies are written (or the
 * grace period is over). */
static void
linger(struct conn *c)
{
	c->state = CONN_CLOSING;
	c->closing_since = srv_now();
	bufferevent_disable(c->bev, EV_READ);
	evtimer_del(c->resume);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (outlen(c) == 0)
		conn_close(c, "client closed the connection");
	else
		conn_rearm(c);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The daemon-wide budget for buffered request bytes: never less than one
 * maximal request. */
static uint64_t
input_budget(const struct cfg *cfg)
{
	uint64_t min = cfg->limits.max_request_size + FRAME_HEADER_SIZE;

	return cfg->limits.max_buffered_input > min ?
	    cfg->limits.max_buffered_input : min;
}

/* Bring c's share of srv->inbytes up to date with its input buffer. */
static void
account(struct conn *c)
{
	size_t len = evbuffer_get_length(bufferevent_get_input(c->bev));

	c->srv->inbytes = c->srv->inbytes - c->inbytes + len;
	c->inbytes = len;
}

/* Handle up to CONN_FRAMES_PER_WAKEUP whole frames from the input. */
static void
process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	const struct cfg *cfg = c->srv->cfg;
	int budget = CONN_FRAMES_PER_WAKEUP;
	struct sc_error err = { 0 };

	account(c);
	if (c->srv->inbytes > input_budget(cfg) && c->inbytes > 0 &&
	    (c->state == CONN_OPEN || c->state == CONN_HELLO)) {
		sc_errorf(&err, SC_ELIMIT, "request bytes buffered by all "
		    "connections exceed limits.max_buffered_input (%llu "
		    "bytes): connection dropped",
		    (unsigned long long)input_budget(cfg));
		c->srv->st.frames_rejected++;
		evbuffer_drain(in, evbuffer_get_length(in));
		account(c);
		conn_fail(c, &err);
		return;
	}
	while (c->state == CONN_OPEN || c->state == CONN_HELLO) {
		size_t len = evbuffer_get_length(in), off, blen, flen;
		bool hello = c->state == CONN_HELLO;
		Wire__Request *req = NULL;
		const uint8_t *p;
		int r;

		if (len == 0) {
			c->frame_start = 0;
			break;
		}
		if (budget-- == 0) {		/* the rest on the next turn */
			struct timeval zero = { 0, 0 };

			evtimer_add(c->resume, &zero);
			break;
		}
		if (outlen(c) >= CONN_OUTBUF_HIGH) {
			/* replies pile up: read no more until they drain */
			if (c->paused_since == 0)
				c->paused_since = srv_now();
			bufferevent_disable(c->bev, EV_READ);
			break;
		}
		p = evbuffer_pullup(in, len < FRAME_HEADER_SIZE ? (ev_ssize_t)len :
		    FRAME_HEADER_SIZE);
		r = frame_parse(p, len < FRAME_HEADER_SIZE ? len :
		    FRAME_HEADER_SIZE, cfg->limits.max_request_size, &off,
		    &blen, &err);
		if (r >= 0 && hello && len >= FRAME_HEADER_SIZE &&
		    be32(p) > CONN_HELLO_MAX)
			r = sc_errorf(&err, SC_ELIMIT, "first frame (Hello) of "
			    "%u bytes exceeds the limit before Hello (%u "
			    "bytes)", be32(p), CONN_HELLO_MAX);
		if (r < 0) {
			c->srv->st.frames_rejected++;
			conn_fail(c, &err);
			return;
		}
		flen = len < FRAME_HEADER_SIZE ? SIZE_MAX :
		    FRAME_HEADER_SIZE + (size_t)be32(p);
		if (len < flen) {		/* partial: start the clock */
			if (c->frame_start == 0)
				c->frame_start = srv_now();
			break;
		}
		p = evbuffer_pullup(in, (ev_ssize_t)flen);
		if (p == NULL) {
			sc_errorf(&err, SC_ENOMEM, "out of memory reading a "
			    "frame of %zu bytes", flen);
			conn_fail(c, &err);
			return;
		}
		r = frame_unpack_request(p + FRAME_HEADER_SIZE,
		    flen - FRAME_HEADER_SIZE, &req, &err);
		evbuffer_drain(in, flen);
		c->frame_start = 0;
		if (r != SC_OK) {
			c->srv->st.frames_rejected++;
			conn_fail(c, &err);
			return;
		}
		c->srv->st.requests_total++;
		r = srv_dispatch(c, req, &err);
		frame_msg_free(req);
		if (r != SC_OK) {
			c->srv->st.frames_rejected++;
			account(c);
			conn_fail(c, &err);
			return;
		}
		if (hello && c->state == CONN_OPEN)
			bufferevent_setwatermark(c->bev, EV_READ, 0,
			    cfg->limits.max_request_size + FRAME_HEADER_SIZE);
	}
	account(c);
	/* the client is done sending: serve what came whole, then close */
	if (c->eof && (c->state == CONN_OPEN || c->state == CONN_HELLO) &&
	    !evtimer_pending(c->resume, NULL) && c->paused_since == 0) {
		linger(c);
		return;
	}
	/* a frame that began in this buffer keeps its start time */
	if (c->frame_start == 0 && evbuffer_get_length(in) > 0 &&
	    (c->state == CONN_OPEN || c->state == CONN_HELLO))
		c->frame_start = srv_now();
	conn_write_now(c);
	conn_rearm(c);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	c->last_active = srv_now();
	process(c);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	process(arg);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_CLOSING) {
		if (outlen(c) == 0)
			conn_close(c, "fault reported");
		return;
	}
	if (c->paused_since != 0 && outlen(c) < CONN_OUTBUF_HIGH / 2) {
		struct timeval zero = { 0, 0 };

		c->paused_since = 0;
		bufferevent_enable(c->bev, EV_READ);
		evtimer_add(c->resume, &zero);
	}
	srv_conn_drained(c->srv, c);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if ((what & BEV_EVENT_EOF) && (c->state == CONN_OPEN ||
	    c->state == CONN_HELLO)) {
		c->eof = true;		/* requests may still be buffered */
		process(c);
	} else if (what & BEV_EVENT_EOF)
		conn_close(c, "client closed the connection");
	else if (what & BEV_EVENT_ERROR)
		conn_close(c, "socket error");
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	const struct cfg *cfg = c->srv->cfg;
	struct sc_error err = { 0 };
	int64_t now = srv_now();

	switch (c->state) {
	case CONN_CLOSING:
		conn_close(c, "closing grace period over");
		return;
	case CONN_CLOSED:
		return;
	default:
		break;
	}
	if (c->paused_since != 0 && now - c->paused_since >=
	    (int64_t)cfg->limits.idle_timeout_ms) {
		log_warn("connection %llu (uid %u, pid %d): client read no "
		    "replies for %llu ms (limits.idle_timeout); closing it",
		    (unsigned long long)c->serial, c->uid, (int)c->pid,
		    (unsigned long long)cfg->limits.idle_timeout_ms);
		conn_close(c, "stalled");
		return;
	}
	if (c->paused_since == 0 && c->frame_start != 0 &&
	    now - c->frame_start >= (int64_t)cfg->limits.frame_timeout_ms) {
		sc_errorf(&err, SC_ETIMEOUT, "frame not completed within "
		    "limits.frame_timeout (%llu ms)",
		    (unsigned long long)cfg->limits.frame_timeout_ms);
		c->srv->st.frames_rejected++;
		conn_fail(c, &err);
		return;
	}
	if (c->paused_since == 0 && c->frame_start == 0 && c->npending == 0 &&
	    now - c->last_active >= (int64_t)cfg->limits.idle_timeout_ms) {
		sc_errorf(&err, SC_ETIMEOUT, "connection idle for longer than "
		    "limits.idle_timeout (%llu ms)",
		    (unsigned long long)cfg->limits.idle_timeout_ms);
		conn_fail(c, &err);
		return;
	}
	conn_rearm(c);
}
