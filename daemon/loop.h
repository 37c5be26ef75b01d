/*
 * The event loop: one libevent base, driven one turn at a time so that a
 * before-sleep step runs before every wait for events (the server streams
 * log news and frees closed connections; the loop then arms its one timer
 * for the scheduler's earliest timer or job deadline). VM work runs as the
 * "run" event, at most SCHED_SLICES_PER_TURN slices and about 2 ms per
 * turn, so network I/O and the VM interleave. SIGHUP reloads the config; SIGTERM and SIGINT
 * stop the loop after the current callback (a slice is never cut).
 */
#ifndef SC_LOOP_H
#define SC_LOOP_H

#include <stdbool.h>

#include "err.h"
#include "sched.h"

struct event_base;
struct event;
struct srv;

struct loop {
	struct event_base *base;	/* the libevent base */
	struct sched *sched;		/* the scheduler (not owned) */
	struct srv *srv;		/* the server (not owned), or NULL */
	struct event *sig[3];		/* SIGHUP, SIGTERM, SIGINT */
	struct event *run;		/* run scheduler slices */
	struct event *timer;		/* the scheduler's earliest timer */
	bool stopping;			/* SIGTERM/SIGINT seen */
};

/* Create the base and the loop's events. */
int loop_init(struct loop *l, struct sched *s, struct sc_error *err)
    SC_MUST_CHECK;
/* Serve until SIGTERM/SIGINT; then stop accepting and return. */
int loop_run(struct loop *l, struct srv *srv) SC_MUST_CHECK;
/* Free the events and the base (after the server is freed). */
void loop_free(struct loop *l);

#endif
