/*
 * One client connection: a state machine over a libevent bufferevent.
 * CONN_HELLO until a valid Hello, then CONN_OPEN; a fault of the connection
 * (bad, oversized or slow frame, bad Hello) sends an Error with id 0 and
 * moves to CONN_CLOSING, which stops reading, lets the replies drain and
 * then frees it; CONN_CLOSED means gone (freed before the loop sleeps).
 * Bounded work per wakeup (CONN_FRAMES_PER_WAKEUP frames) and bounded
 * memory: a request frame is at most limits.max_request_size (checked from
 * its header before the body is read), and replies queued for a client
 * that does not read stop the reading of its requests at CONN_OUTBUF_HIGH
 * and close it past CONN_OUTBUF_MAX.
 */
#ifndef SC_CONN_H
#define SC_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "frame.h"

#define CONN_FRAMES_PER_WAKEUP	64		/* requests per callback */
#define CONN_OUTBUF_HIGH	(1u << 20)	/* stop reading requests */
#define CONN_OUTBUF_MAX		(16u << 20)	/* close the connection */
#define CONN_CLOSE_GRACE_MS	2000		/* to drain the last replies */
#define CONN_HELLO_MAX		(64u << 10)	/* first frame (Hello) bytes */

enum conn_state {
	CONN_HELLO,			/* waiting for Hello */
	CONN_OPEN,			/* serving requests */
	CONN_CLOSING,			/* error sent; draining, then closed */
	CONN_CLOSED,			/* gone; freed before the loop sleeps */
};

struct srv;
struct tenant_acct;
struct watch;

struct conn {
	enum conn_state state;		/* see above */
	struct srv *srv;		/* owner */
	struct bufferevent *bev;	/* socket and its buffers */
	uint64_t serial;		/* connection number, for the log */
	uint32_t uid;			/* peer uid: the tenant */
	pid_t pid;			/* peer pid, for the log */
	struct tenant_acct *tn;		/* tenant record */
	struct event *timer;		/* frame, idle, stall, close deadline */
	struct event *resume;		/* more frames buffered: next turn */
	int64_t frame_start;		/* ms a partial frame began, or 0 */
	int64_t last_active;		/* ms of last bytes or last reply */
	int64_t paused_since;		/* ms reading stopped, or 0 */
	int64_t closing_since;		/* ms CONN_CLOSING began */
	uint32_t npending;		/* waits and log reads in flight */
	uint32_t nwatches;		/* of which Waits and Logs (capped) */
	size_t inbytes;			/* counted in srv->inbytes */
	bool eof;			/* the client sent all it will send */
	struct watch *watches;		/* the server's, for this conn */
	struct conn *next;		/* server's list of connections */
	struct conn *prev;		/* ... */
	struct conn *dnext;		/* server's list of dead ones */
};

/* Set up a connection on accepted fd (takes ownership of fd, also on
 * failure). */
int conn_new(struct srv *srv, int fd, uint32_t uid, pid_t pid,
    struct conn **cp, struct sc_error *err) SC_MUST_CHECK;
/* Free a closed connection (deferred: called before the loop sleeps). */
void conn_free(struct conn *c);
/* Queue a reply; closes c if its unread output passes CONN_OUTBUF_MAX.
 * Nothing happens on a connection that is closing or closed. */
void conn_send(struct conn *c, const Wire__Reply *r);
/* Queue an Error reply with id and err's code and message. */
void conn_send_error(struct conn *c, uint64_t id, const struct sc_error *err);
/* A connection fault: Error with id 0 (err), then CONN_CLOSING. */
void conn_fail(struct conn *c, const struct sc_error *err);
/* Close now (peer gone, or shutting down); why goes to the log. */
void conn_close(struct conn *c, const char *why);
/* Whether more streamed output may be queued (below CONN_OUTBUF_HIGH). */
bool conn_writable(const struct conn *c);
/* Recompute the deadline after npending changed. */
void conn_rearm(struct conn *c);
/* One write of what is queued, now (no waiting for the next poll). */
void conn_write_now(struct conn *c);
/* Write what is queued without waiting (shutdown). */
void conn_flush_now(struct conn *c);
/* Pack r as one frame into a malloc'd buffer (for refusals at accept). */
int conn_pack(const Wire__Reply *r, uint8_t **bufp, size_t *lenp)
    SC_MUST_CHECK;

#endif
