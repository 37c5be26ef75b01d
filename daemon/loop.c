/*
 * The loop turn: before_sleep(); event_base_loop(EVLOOP_ONCE). libevent
 * 2.1 has no prepare hook, so the loop is turned by hand; EVLOOP_ONCE
 * waits only when no event is active, so an active "run" event makes the
 * poll non-blocking and the VM keeps going between network events.
 */
#include <signal.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"
#include "loop.h"
#include "srv.h"

#define TURN_VM_NS	2000000		/* VM time per turn, then the network */

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * At most SCHED_SLICES_PER_TURN slices, and no more once TURN_VM_NS has
 * passed: fuel bounds a slice's instructions, not its time (a large string
 * copy is one instruction), so without the clock 64 slow slices would keep
 * every other tenant's request waiting for their sum.
 */
static void
run_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;
	int64_t t0 = mono_ns();
	int n = 0, r;

	do {
		if ((r = sched_run(l->sched, 1)) == 0)
			break;
		n += r;
	} while (n < SCHED_SLICES_PER_TURN && mono_ns() - t0 < TURN_VM_NS);
	if (l->srv != NULL)
		l->srv->st.slices_total += (uint64_t)n;
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;

	sched_fire_timers(l->sched, sched_now(l->sched));
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct loop *l = arg;

	if (sig == SIGHUP) {
		if (l->srv != NULL)
			srv_reload(l->srv);
		return;
	}
	log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	l->stopping = true;
	event_base_loopbreak(l->base);
}

int
loop_init(struct loop *l, struct sched *s, struct sc_error *err)
{
	static const int sigs[3] = { SIGHUP, SIGTERM, SIGINT };

	memset(l, 0, sizeof(*l));
	l->sched = s;
	if ((l->base = event_base_new()) == NULL)
		return sc_errorf(err, SC_ENOMEM, "cannot create the event "
		    "loop");
	for (int i = 0; i < 3; i++)
		if ((l->sig[i] = evsignal_new(l->base, sigs[i], signal_cb,
		    l)) == NULL || evsignal_add(l->sig[i], NULL) != 0)
			goto fail;
	if ((l->run = event_new(l->base, -1, 0, run_cb, l)) == NULL ||
	    (l->timer = evtimer_new(l->base, timer_cb, l)) == NULL)
		goto fail;
	return SC_OK;
fail:
	loop_free(l);
	return sc_errorf(err, SC_ENOMEM, "cannot set up the event loop");
}

/* Before waiting: server work, then VM work or the scheduler's timer. */
static void
before_sleep(struct loop *l)
{
	int64_t ms;

	srv_before_sleep(l->srv);
	if (sched_has_ready(l->sched)) {
		event_active(l->run, EV_TIMEOUT, 0);	/* no-op if active */
		evtimer_del(l->timer);
	} else if ((ms = sched_next_timer_ms(l->sched)) >= 0) {
		struct timeval tv = { (time_t)(ms / 1000),
		    (suseconds_t)(ms % 1000) * 1000 };

		evtimer_add(l->timer, &tv);
	} else
		evtimer_del(l->timer);
}

int
loop_run(struct loop *l, struct srv *srv)
{
	l->srv = srv;
	while (!l->stopping) {
		before_sleep(l);
		if (event_base_loop(l->base, EVLOOP_ONCE) < 0) {
			log_error("event loop failed");
			return SC_EIO;
		}
	}
	/* stop accepting; what is queued is flushed by srv_free() */
	srv_stop_listening(srv);
	srv_before_sleep(srv);
	return SC_OK;
}

void
loop_free(struct loop *l)
{
	for (int i = 0; i < 3; i++)
		if (l->sig[i] != NULL)
			event_free(l->sig[i]);
	if (l->run != NULL)
		event_free(l->run);
	if (l->timer != NULL)
		event_free(l->timer);
	if (l->base != NULL)
		event_base_free(l->base);
	memset(l, 0, sizeof(*l));
}
