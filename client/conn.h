/*
 * scriptctl's connection to scriptd: connect to the Unix socket, exchange
 * Hello, then send requests numbered from 1 and read replies. Blocking fds
 * with deadlines (frame_read_fd), so a dead daemon never hangs the client.
 * Errors come back as struct sc_error; a reply carrying wire.Error is turned
 * into its code and message with CONN_REFUSED set in conn->refused.
 */
#ifndef CTL_CONN_H
#define CTL_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "frame.h"

#define CONN_REPLY_TIMEOUT_MS	30000	/* a reply that is not a wait */
#define CONN_REQUEST_MAX	(64u << 20)	/* largest frame we send */
#define CONN_REPLY_MAX		(256u << 20)	/* largest frame we accept */

struct conn {
	int fd;				/* connected socket, -1 when closed */
	uint64_t next_id;		/* id of the next request, from 1 */
	bool refused;			/* last error was the daemon's Error */
	uint32_t uid;			/* HelloReply.uid: our tenant */
	bool is_admin;			/* HelloReply.is_admin */
	char server_version[64];	/* HelloReply.server_version */
};

/* Connect to path and exchange Hello; on failure c->fd is -1. */
int conn_open(struct conn *c, const char *path, struct sc_error *err)
    SC_MUST_CHECK;
/* Send req with the next id (stored in req->id and *idp). */
int conn_send(struct conn *c, Wire__Request *req, uint64_t *idp,
    struct sc_error *err) SC_MUST_CHECK;
/* Read the next reply (any id) within timeout_ms (-1: no limit). A reply
 * with id 0 is a connection fault: its Error is returned as the error. */
int conn_read(struct conn *c, int timeout_ms, Wire__Reply **repp,
    struct sc_error *err) SC_MUST_CHECK;
/* conn_send() then read the reply to it, which must not be an Error. */
int conn_call(struct conn *c, Wire__Request *req, int timeout_ms,
    Wire__Reply **repp, struct sc_error *err) SC_MUST_CHECK;
/* Turn a reply that is an Error into err (sets c->refused); SC_OK if not. */
int conn_check(struct conn *c, const Wire__Reply *rep, struct sc_error *err)
    SC_MUST_CHECK;
/* Close the socket; safe to call twice. */
void conn_close(struct conn *c);

#endif
