/*
 * The server: the listening socket, the connections, request dispatch for
 * every request of wire.proto, the job registry as clients see it (with
 * tenant visibility: another tenant's job is "not found"), Wait waiters
 * and Logs readers, counters, and config reload. Single-threaded, driven
 * by loop.c; the scheduler's hooks feed job output and ends back here.
 */
#ifndef SC_SRV_H
#define SC_SRV_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "conn.h"
#include "err.h"
#include "jobs.h"
#include "sched.h"
#include "tenant.h"

#define SRV_LIST_MAX	10000u		/* jobs in one List reply */
#define SRV_LIST_BYTES_MAX (4u << 20)	/* and its size, about */

struct event_base;
struct evconnlistener;

/* Counters since start (StatsReply). */
struct srv_stats {
	uint64_t submits_total;		/* accepted */
	uint64_t submits_refused;	/* refused */
	uint64_t requests_total;	/* handled */
	uint64_t frames_rejected;	/* bad, oversized, slow */
	uint64_t conns_total;		/* accepted connections */
	uint64_t conns_refused;		/* over limits.max_connections */
	uint64_t slices_total;		/* VM slices (loop.c adds) */
};

/* Values the command line forces over the config file's. */
struct srv_opts {
	const char *config;		/* --config FILE, or NULL */
	const char *socket;		/* --socket, or NULL */
	const char *db;			/* --db, or NULL */
};

struct srv {
	struct cfg *cfg;		/* configuration in use (owned) */
	struct srv_opts opts;		/* command line (strings not owned) */
	struct event_base *base;	/* the loop's */
	struct sched *sched;		/* the scheduler (not owned) */
	struct evconnlistener *lis;	/* accepting, or NULL once stopped */
	char sockpath[CFG_SOCKET_MAX];	/* the socket file we created */
	uint64_t sock_ino;		/* its inode, to unlink only ours */
	struct tenants tenants;		/* every tenant seen */
	struct jobs jobs;		/* every job kept */
	struct conn *conns;		/* open connections */
	uint32_t nconns;		/* ... */
	uint64_t inbytes;		/* request bytes buffered, all conns */
	uint64_t next_conn;		/* connection serial numbers */
	struct conn *dead;		/* closed, to free before sleeping */
	struct jobrec *dirty;		/* records with news for readers */
	struct event *tick;		/* once a second: retention */
	uint32_t ticks;			/* seconds since the last store_retain */
	struct store *store;		/* the durable store, or NULL */
	struct ffipool *ffi;		/* FFI workers (extern calls) */
	struct jobrec *swrites;		/* durable jobs with something to store */
	struct jobrec **inbatch;	/* written in the open batch */
	uint32_t ninbatch;		/* ... */
	uint32_t capinbatch;		/* room in inbatch */
	bool ended_since_trim;		/* a job ended: check retention */
	int64_t start_mono;		/* monotonic ms at start */
	int64_t start_epoch;		/* epoch ms at start */
	struct srv_stats st;		/* counters */
};

/* Set up the server (not listening yet); takes ownership of cfg (heap),
 * also on failure. */
int srv_new(struct event_base *base, struct sched *s, struct cfg *cfg,
    const struct srv_opts *opts, struct srv **sp, struct sc_error *err)
    SC_MUST_CHECK;
/* Create the socket (unlinking a stale one nobody listens on), chmod it to
 * daemon.socket_mode, listen, and log "listening on PATH". */
int srv_listen(struct srv *srv, struct sc_error *err) SC_MUST_CHECK;
/* Open the store at daemon.db (a refusal, e.g. a corrupt file, is the
 * error) and restore its jobs: live ones resume from their last snapshot,
 * ended ones are listed again with their output read on demand. */
int srv_open_store(struct srv *srv, struct sc_error *err) SC_MUST_CHECK;
/* Serve a connected socket fd of tenant uid (pid for the log), within the
 * connection limits (else refused with an Error); takes fd. The listener
 * calls it after SO_PEERCRED; fuzz_request calls it with a socketpair. */
void srv_adopt(struct srv *srv, int fd, uint32_t uid, pid_t pid);
/* Stop accepting and remove the socket file. */
void srv_stop_listening(struct srv *srv);
/* Flush what is queued, close every connection, free everything. */
void srv_free(struct srv *srv);
/* Before the loop sleeps: write the turn's snapshots, output and final
 * records of durable jobs and commit the batch (acknowledging its
 * submissions), stream news to log readers, free dead connections, apply
 * retention. */
void srv_before_sleep(struct srv *srv);
/* SIGHUP: read the config again; keep the old one on error. */
void srv_reload(struct srv *srv);
/* The vm_limits the configuration asks for. */
void srv_vm_limits(const struct cfg *c, struct vm_limits *lim);

/* For conn.c */
/* Handle one decoded request (owned by the caller). A connection fault
 * returns non-SC_OK with err set; per-request failures are replied here. */
int srv_dispatch(struct conn *c, const Wire__Request *req,
    struct sc_error *err) SC_MUST_CHECK;
/* c closed: drop its waiters and readers, count it, free it later. */
void srv_conn_closed(struct srv *srv, struct conn *c);
/* c's output drained below the mark: its readers may send more. */
void srv_conn_drained(struct srv *srv, struct conn *c);
/* Monotonic ms. */
int64_t srv_now(void);

#endif
