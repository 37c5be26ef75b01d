/*
 * Length-prefixed framing for the client protocol (wire.proto) and the
 * daemon <-> FFI worker channel: a 4-byte big-endian length, then that many
 * bytes of protobuf. Lengths are checked against the caller's maximum before
 * anything is allocated, zero-length frames are errors, and decoding runs on
 * an allocator capped in proportion to the frame, so a hostile peer cannot
 * make the reader allocate much more than it sent. No libevent in here: the
 * parsing functions work on plain byte buffers (and can be fuzzed).
 */
#ifndef SC_FRAME_H
#define SC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "err.h"
#include "wire.pb-c.h"

#define WIRE_PROTOCOL_VERSION	1u	/* Hello.protocol_version */
#define FRAME_HEADER_SIZE	4u	/* big-endian uint32 length */
#define FRAME_PARTIAL		1	/* frame_parse: need more bytes */
#define FRAME_EOF		2	/* frame_read_fd: peer closed cleanly */
#define FRAME_SMALL		4096u	/* frame_send_fd packs these on the stack */

/*
 * Decoding budgets (bytes of heap, counting 16 bytes of malloc overhead per
 * block). A Request has no repeated fields, so a legitimate one needs about
 * its own size; the hostile case is a body of tiny repeated fields, which
 * protobuf-c scans into 32-byte records, and the cap refuses it. Replies hold
 * lists (a 20-byte JobInfo is ~180 bytes decoded), so the client's cap is
 * wider: it chose its daemon.
 */
#define FRAME_REQUEST_MEM(len)	(2 * (size_t)(len) + (64u << 10))
#define FRAME_REPLY_MEM(len)	(32 * (size_t)(len) + (64u << 10))

/* Write the 4-byte big-endian header for a body of len bytes. */
void frame_header(uint32_t len, uint8_t out[FRAME_HEADER_SIZE]);
/* Judge a 4-byte header: *lenp gets the body length, or SC_EPROTO (zero)
 * / SC_ELIMIT (over max). */
int frame_header_len(const uint8_t *buf, size_t max, size_t *lenp,
    struct sc_error *err) SC_MUST_CHECK;
/* Find the first frame in buf: SC_OK (whole frame there), FRAME_PARTIAL,
 * SC_ELIMIT (longer than max) or SC_EPROTO (zero length). */
int frame_parse(const uint8_t *buf, size_t len, size_t max, size_t *body_off,
    size_t *body_len, struct sc_error *err) SC_MUST_CHECK;
/* Pack m into a new malloc'd frame (header + body); caller frees *bufp. */
int frame_pack(const ProtobufCMessage *m, size_t max, uint8_t **bufp,
    size_t *lenp, struct sc_error *err) SC_MUST_CHECK;
/* Decode a frame body as desc with at most mem_max bytes of heap. */
int frame_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *body,
    size_t len, size_t mem_max, ProtobufCMessage **mp,
    struct sc_error *err) SC_MUST_CHECK;
/*
 * Decoding without malloc, for the FFI channel's one-message-at-a-time
 * hot path: the message is built in the caller's arena (buf, size; 16-byte
 * aligned), lives until the next decode into it, and is released with
 * frame_arena_done(). One that does not fit is decoded on the heap with
 * frame_unpack(desc, ..., mem_max), which frame_arena_done() then frees.
 */
struct frame_arena {
	uint8_t *buf;			/* the caller's memory */
	size_t size;			/* its bytes */
	size_t used;			/* by the message being decoded */
	bool full;			/* the last decode did not fit */
	bool heap;			/* the last message is on the heap */
};
int frame_unpack_arena(const ProtobufCMessageDescriptor *desc,
    const uint8_t *body, size_t len, size_t mem_max, struct frame_arena *a,
    ProtobufCMessage **mp, struct sc_error *err) SC_MUST_CHECK;
void frame_arena_done(struct frame_arena *a, ProtobufCMessage *m);
/* frame_unpack() of a wire.Request with FRAME_REQUEST_MEM(len). */
int frame_unpack_request(const uint8_t *body, size_t len,
    Wire__Request **reqp, struct sc_error *err) SC_MUST_CHECK;
/* frame_unpack() of a wire.Reply with FRAME_REPLY_MEM(len). */
int frame_unpack_reply(const uint8_t *body, size_t len, Wire__Reply **repp,
    struct sc_error *err) SC_MUST_CHECK;
/* Free a message from frame_unpack*(); NULL is a no-op. */
void frame_msg_free(void *m);

/* Write all of buf to a blocking (or non-blocking) fd; EINTR-safe. */
int frame_write_fd(int fd, const uint8_t *buf, size_t len,
    struct sc_error *err) SC_MUST_CHECK;
/* frame_pack() then frame_write_fd(). */
int frame_send_fd(int fd, const ProtobufCMessage *m, size_t max,
    struct sc_error *err) SC_MUST_CHECK;
/* Read one frame's body into a malloc'd buffer within timeout_ms (-1: no
 * limit). FRAME_EOF if the peer closed before the first byte. */
int frame_read_fd(int fd, size_t max, uint8_t **bufp, size_t *lenp,
    int timeout_ms, struct sc_error *err) SC_MUST_CHECK;

#endif
