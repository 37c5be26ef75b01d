/*
 * Length-prefixed frames (see frame.h): parsing from byte buffers, packing
 * protobuf-c messages, decoding with a capped allocator, and blocking fd
 * helpers for the client and the FFI worker. The daemon's event loop uses
 * frame_parse() and frame_unpack_request() on its input buffers.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"

#define ALLOC_OVERHEAD	16u		/* malloc bookkeeping per block */

/* The unpack allocator's state: refuses past max, remembers why. */
struct cap {
	size_t used;			/* bytes handed out, with overhead */
	size_t max;			/* budget for this decode */
	bool exceeded;			/* an allocation was refused */
	bool oom;			/* malloc itself failed */
};

void
frame_header(uint32_t len, uint8_t out[FRAME_HEADER_SIZE])
{
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}

int
frame_header_len(const uint8_t *buf, size_t max, size_t *lenp,
    struct sc_error *err)
{
	uint32_t n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | (uint32_t)buf[3];

	if (n == 0)
		return sc_errorf(err, SC_EPROTO, "empty frame (length 0)");
	if (n > max)
		return sc_errorf(err, SC_ELIMIT, "frame of %u bytes exceeds "
		    "the limit (%zu bytes)", n, max);
	*lenp = n;
	return SC_OK;
}

/*
 * Look for one frame at the start of buf (len bytes buffered). SC_OK sets
 * *body_off and *body_len to the body's place in buf; FRAME_PARTIAL means
 * more bytes are needed (nothing is set). The length is judged from the
 * header alone, so an oversized frame is refused before its body arrives or
 * anything is allocated: SC_ELIMIT ("frame of N bytes exceeds the limit (M
 * bytes)"). A zero length is SC_EPROTO.
 */
int
frame_parse(const uint8_t *buf, size_t len, size_t max, size_t *body_off,
    size_t *body_len, struct sc_error *err)
{
	size_t n = 0;
	int r;

	if (len < FRAME_HEADER_SIZE)
		return FRAME_PARTIAL;
	if ((r = frame_header_len(buf, max, &n, err)) != SC_OK)
		return r;
	if (len - FRAME_HEADER_SIZE < n)
		return FRAME_PARTIAL;
	*body_off = FRAME_HEADER_SIZE;
	*body_len = n;
	return SC_OK;
}

/*
 * Pack m into a malloc'd buffer holding header and body (*bufp, *lenp; the
 * caller frees *bufp). A body over max is SC_ELIMIT, naming the message type;
 * a message that packs to nothing is SC_EINVAL, since empty frames are
 * protocol errors. On failure *bufp is NULL.
 */
int
frame_pack(const ProtobufCMessage *m, size_t max, uint8_t **bufp,
    size_t *lenp, struct sc_error *err)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf;

	*bufp = NULL;
	*lenp = 0;
	if (n == 0)
		return sc_errorf(err, SC_EINVAL, "%s packs to 0 bytes (empty "
		    "frames are not allowed)", m->descriptor->name);
	if (n > max || n > UINT32_MAX)
		return sc_errorf(err, SC_ELIMIT, "%s of %zu bytes exceeds the "
		    "limit (%zu bytes)", m->descriptor->name, n,
		    max < UINT32_MAX ? max : (size_t)UINT32_MAX);
	if ((buf = malloc(FRAME_HEADER_SIZE + n)) == NULL)
		return sc_errorf(err, SC_ENOMEM, "out of memory packing a "
		    "%zu-byte %s", n, m->descriptor->name);
	frame_header((uint32_t)n, buf);
	if (SC_NEVER(protobuf_c_message_pack(m, buf + FRAME_HEADER_SIZE) !=
	    n)) {
		free(buf);
		return sc_errorf(err, SC_EINVAL, "%s packed to a size other "
		    "than the %zu bytes computed", m->descriptor->name, n);
	}
	*bufp = buf;
	*lenp = FRAME_HEADER_SIZE + n;
	return SC_OK;
}

static void *
cap_alloc(void *data, size_t size)
{
	struct cap *c = data;
	void *p;

	/* Written to avoid overflow: size can be anything the input says. */
	if (size > c->max || c->max - size < ALLOC_OVERHEAD ||
	    c->used > c->max - size - ALLOC_OVERHEAD) {
		c->exceeded = true;
		return NULL;
	}
	c->used += size + ALLOC_OVERHEAD;
	if ((p = malloc(size > 0 ? size : 1)) == NULL)
		c->oom = true;
	return p;
}

static void
cap_free(void *data, void *p)
{
	free(p);
}

/*
 * Decode len bytes of body as a message of type desc, allocating at most
 * mem_max bytes (counting malloc overhead). On success *mp owns the message
 * (frame_msg_free()). Errors: SC_ELIMIT when decoding needs more memory than
 * mem_max, SC_EPROTO when the bytes are not a valid message, SC_ENOMEM. On
 * failure *mp is NULL and nothing is left allocated.
 */
int
frame_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *body,
    size_t len, size_t mem_max, ProtobufCMessage **mp, struct sc_error *err)
{
	struct cap c = { 0, mem_max, false, false };
	ProtobufCAllocator pa = { cap_alloc, cap_free, &c };
	ProtobufCMessage *m;

	*mp = NULL;
	m = protobuf_c_message_unpack(desc, &pa, len, len > 0 ? body : NULL);
	if (m == NULL) {
		if (c.oom)
			return sc_errorf(err, SC_ENOMEM, "out of memory "
			    "decoding a %zu-byte %s", len, desc->name);
		if (c.exceeded)
			return sc_errorf(err, SC_ELIMIT, "decoding a %zu-byte "
			    "%s needs more than %zu bytes of memory", len,
			    desc->name, mem_max);
		return sc_errorf(err, SC_EPROTO, "%zu bytes are not a valid "
		    "%s", len, desc->name);
	}
	*mp = m;
	return SC_OK;
}

static void *
arena_alloc(void *data, size_t size)
{
	struct frame_arena *a = data;
	size_t n = size > 0 ? (size + 15) & ~(size_t)15 : 16;
	void *p;

	if (n < size || a->size - a->used < n) {
		a->full = true;
		return NULL;
	}
	p = a->buf + a->used;
	a->used += n;
	return p;
}

static void
arena_free(void *data, void *p)
{
	/* the whole arena is reused by the next decode */
}

int
frame_unpack_arena(const ProtobufCMessageDescriptor *desc,
    const uint8_t *body, size_t len, size_t mem_max, struct frame_arena *a,
    ProtobufCMessage **mp, struct sc_error *err)
{
	ProtobufCAllocator pa = { arena_alloc, arena_free, a };

	*mp = NULL;
	a->used = 0;
	a->full = false;
	a->heap = false;
	if ((*mp = protobuf_c_message_unpack(desc, &pa, len, len > 0 ? body :
	    NULL)) != NULL)
		return SC_OK;
	if (!a->full)
		return sc_errorf(err, SC_EPROTO, "%zu bytes are not a valid "
		    "%s", len, desc->name);
	a->heap = true;			/* too big for the arena */
	return frame_unpack(desc, body, len, mem_max, mp, err);
}

void
frame_arena_done(struct frame_arena *a, ProtobufCMessage *m)
{
	if (a->heap)
		frame_msg_free(m);
	a->heap = false;
}

/*
 * Decode a client request. Only the encoding is checked: a request with no
 * operation set (or one this daemon does not know) decodes, so that the
 * error reply can carry its id.
 */
int
frame_unpack_request(const uint8_t *body, size_t len, Wire__Request **reqp,
    struct sc_error *err)
{
	ProtobufCMessage *m;
	int r;

	*reqp = NULL;
	r = frame_unpack(&wire__request__descriptor, body, len,
	    FRAME_REQUEST_MEM(len), &m, err);
	if (r == SC_OK)
		*reqp = (Wire__Request *)m;
	return r;
}

/* Decode a daemon reply (the client side); see frame_unpack(). */
int
frame_unpack_reply(const uint8_t *body, size_t len, Wire__Reply **repp,
    struct sc_error *err)
{
	ProtobufCMessage *m;
	int r;

	*repp = NULL;
	r = frame_unpack(&wire__reply__descriptor, body, len,
	    FRAME_REPLY_MEM(len), &m, err);
	if (r == SC_OK)
		*repp = (Wire__Reply *)m;
	return r;
}

/* The unpack allocator frees with free(), as the default one does. */
void
frame_msg_free(void *m)
{
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Write all of buf. send(MSG_NOSIGNAL) keeps a closed peer from raising
 * SIGPIPE; a non-socket fd falls back to write(). A non-blocking fd waits
 * in poll() when full.
 */
int
frame_write_fd(int fd, const uint8_t *buf, size_t len, struct sc_error *err)
{
	bool sock = true;
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		if (sock)
			n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		else
			n = write(fd, buf + off, len - off);
		if (n == -1 && sock && errno == ENOTSOCK) {
			sock = false;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, -1) == -1 && errno != EINTR)
				return sc_errorf(err, SC_EIO, "poll: %s",
				    strerror(errno));
			continue;
		}
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			return sc_errorf(err, SC_EIO, "connection closed by "
			    "the peer (%s)", strerror(errno));
		if (n == -1)
			return sc_errorf(err, SC_EIO, "write: %s",
			    strerror(errno));
		off += (size_t)n;
	}
	return SC_OK;
}

/* Pack m (body at most max bytes) and write the frame to fd. */
int
frame_send_fd(int fd, const ProtobufCMessage *m, size_t max,
    struct sc_error *err)
{
	uint8_t small[FRAME_SMALL], *buf;
	size_t n = protobuf_c_message_get_packed_size(m), len;
	int r;

	/* a small frame is packed on the stack: no malloc per reply */
	if (n > 0 && n <= max && FRAME_HEADER_SIZE + n <= sizeof(small)) {
		frame_header((uint32_t)n, small);
		if (SC_NEVER(protobuf_c_message_pack(m, small +
		    FRAME_HEADER_SIZE) != n))
			return sc_errorf(err, SC_EINVAL, "%s packed to a size "
			    "other than the %zu bytes computed",
			    m->descriptor->name, n);
		return frame_write_fd(fd, small, FRAME_HEADER_SIZE + n, err);
	}
	if ((r = frame_pack(m, max, &buf, &len, err)) != SC_OK)
		return r;
	r = frame_write_fd(fd, buf, len, err);
	free(buf);
	return r;
}

/*
 * Read up to len bytes into buf, adding to *got, until full, end of file,
 * the deadline (ms on the monotonic clock, -1 for none) or an error.
 * Returns SC_OK when full, FRAME_EOF at end of file, SC_ETIMEOUT, or SC_EIO
 * with err filled. The caller words EOF and timeout, which need context.
 */
static int
readn(int fd, uint8_t *buf, size_t len, size_t *got, int64_t deadline,
    struct sc_error *err)
{
	while (*got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int wait = -1, pr;
		ssize_t n;

		/* A passed deadline still takes bytes already there. */
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			wait = left <= 0 ? 0 : left > 1000000000 ?
			    1000000000 : (int)left;
		}
		pr = poll(&p, 1, wait);
		if (pr == -1 && errno == EINTR)
			continue;
		if (pr == -1)
			return sc_errorf(err, SC_EIO, "poll: %s",
			    strerror(errno));
		if (pr == 0 && deadline >= 0 && now_ms() >= deadline)
			return SC_ETIMEOUT;
		if (pr == 0)
			continue;	/* woke early */
		n = read(fd, buf + *got, len - *got);
		if (n == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (n == -1 && errno == ECONNRESET)
			return FRAME_EOF;
		if (n == -1)
			return sc_errorf(err, SC_EIO, "read: %s",
			    strerror(errno));
		if (n == 0)
			return FRAME_EOF;
		*got += (size_t)n;
	}
	return SC_OK;
}

/*
 * Read one frame from fd and return its body in a new malloc'd buffer
 * (*bufp, *lenp; the caller frees it). The whole frame must arrive within
 * timeout_ms (-1: wait forever). The header is checked against max before
 * the body is allocated. Returns SC_OK; FRAME_EOF if the peer closed before
 * sending a byte (err says "connection closed"); SC_EPROTO if it closed
 * mid-frame ("connection closed in the middle of a frame (got 3 of 4 header
 * bytes)") or sent a zero length; SC_ELIMIT; SC_ETIMEOUT; SC_EIO; SC_ENOMEM.
 * On anything but SC_OK, *bufp is NULL.
 */
int
frame_read_fd(int fd, size_t max, uint8_t **bufp, size_t *lenp,
    int timeout_ms, struct sc_error *err)
{
	uint8_t hdr[FRAME_HEADER_SIZE], *body = NULL;
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	size_t got = 0, blen = 0;
	int r;

	*bufp = NULL;
	*lenp = 0;
	r = readn(fd, hdr, sizeof(hdr), &got, deadline, err);
	if (r == FRAME_EOF && got == 0) {
		sc_errorf(err, SC_EIO, "connection closed");
		return FRAME_EOF;
	}
	if (r == FRAME_EOF)
		return sc_errorf(err, SC_EPROTO, "connection closed in the "
		    "middle of a frame (got %zu of %u header bytes)", got,
		    FRAME_HEADER_SIZE);
	if (r == SC_ETIMEOUT && got == 0)
		return sc_errorf(err, SC_ETIMEOUT, "no frame within %d ms",
		    timeout_ms);
	if (r == SC_ETIMEOUT)
		return sc_errorf(err, SC_ETIMEOUT, "frame incomplete after "
		    "%d ms (got %zu of %u header bytes)", timeout_ms, got,
		    FRAME_HEADER_SIZE);
	if (r != SC_OK)
		return r;
	if ((r = frame_header_len(hdr, max, &blen, err)) != SC_OK)
		return r;
	if ((body = malloc(blen)) == NULL)
		return sc_errorf(err, SC_ENOMEM, "out of memory reading a "
		    "frame of %zu bytes", blen);
	got = 0;
	r = readn(fd, body, blen, &got, deadline, err);
	if (r == FRAME_EOF)
		r = sc_errorf(err, SC_EPROTO, "connection closed in the middle "
		    "of a frame (got %zu of %zu body bytes)", got, blen);
	else if (r == SC_ETIMEOUT)
		r = sc_errorf(err, SC_ETIMEOUT, "frame incomplete after %d ms "
		    "(got %zu of %zu body bytes)", timeout_ms, got, blen);
	if (r != SC_OK) {
		free(body);
		return r;
	}
	*bufp = body;
	*lenp = blen;
	return SC_OK;
}
