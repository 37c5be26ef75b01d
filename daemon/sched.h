/*
 * The scheduler: jobs, tenants, run queues, timers and task lifecycles.
 * Single-threaded; the daemon's event loop (or `scriptd run`) drives it:
 *
 *	sched_new(&lim, &s);
 *	sched_submit(s, prog, tenant, &hooks, &job, &err);
 *	for (;;) {
 *		sched_run(s, 64);		// fires due timers too
 *		if (nothing ready) sleep(sched_next_timer_ms(s));
 *	}
 *	sched_free(s);
 *
 * Fairness: round-robin over tenants with ready tasks, then over that
 * tenant's tasks; one slice is at most lim.fuel back-edges and calls.
 * A job ends when its root task ends: its other live tasks are cancelled,
 * the done hook runs, then every object of the job is freed (cycles too).
 * The wall-clock timeout applies to the root task (= the job): spawned
 * tasks start later, so their deadline can never come before the root's,
 * and the root's end cancels them.
 * Hooks run inside sched_run, sched_fire_timers and sched_cancel_job; they
 * may submit jobs but must not free or re-enter the scheduler.
 */
#ifndef SC_SCHED_H
#define SC_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "timers.h"
#include "vm.h"

/* Slices the daemon's loop runs per turn before serving the network again. */
#define SCHED_SLICES_PER_TURN	64

enum job_status {
	JOB_COMPLETED,
	JOB_FAILED,
	JOB_CANCELLED,
	JOB_TIMEDOUT,
};

enum { OUT_STDOUT = 1, OUT_STDERR = 2 };	/* output streams */

/* Output of the job's tasks, in print order, per stream. */
typedef void (*job_output_fn)(void *arg, int stream, const char *buf,
    size_t len);
/* The job ended: status (enum job_status) and, unless completed, the error
 * text "MSG\n  at F (FILE:LINE)..." (valid during the call only). The job
 * is freed right after this returns. */
typedef void (*job_done_fn)(void *arg, struct job *j, int status,
    const char *error);

struct job_hooks {
	job_output_fn out;		/* may be NULL: output dropped */
	job_done_fn done;		/* may be NULL */
	void *arg;			/* passed to both */
};

struct tenant;

/* One submission: the root task and every task spawned from it. */
struct job {
	struct sched *s;		/* owner */
	struct prog *prog;		/* the program (a reference) */
	struct tenant *tn;		/* tenant */
	uint64_t id;			/* 1, 2, ... per scheduler */
	struct task *root;		/* root task (entry function) */
	struct task *tasks;		/* every task struct of the job */
	struct hobj *objs;		/* every heap object of the job */
	struct budget mem;		/* its tasks' heap; parent: tenant's */
	struct vfut *joins;		/* join_all futures with a task asleep */
	struct job_hooks hooks;		/* output and done */
	int64_t deadline;		/* monotonic ms the root times out */
	int64_t timeout_ms;		/* the job's wall-clock limit */
	int64_t started;		/* monotonic ms of its first slice, or 0 */
	struct job *next;		/* scheduler's jobs, by deadline */
	struct job *prev;		/* scheduler's jobs */
	uint32_t nlive;			/* live tasks */
	bool ending;			/* root ended; cancelling the rest */
};

struct sched;

/* A task is about to be spawned for tenant (await_timeout's internal child
 * excluded): SC_OK, or SC_ELIMIT with err filled to refuse (rate quotas). */
typedef int (*sched_spawn_fn)(void *arg, uint32_t tenant,
    struct sc_error *err);

/*
 * Extern calls go to whoever runs native code (the daemon's FFI pool):
 * start() sends the call of future f (FUT_EXT, arguments inside) for task
 * t, which then waits; SC_OK means sched_ext_done() follows later, never
 * from inside start(); anything else fails t with err. abandon() says t
 * stopped waiting (cancelled, timed out, its job ended): forget it.
 */
struct sched_ext {
	int (*start)(void *arg, struct task *t, struct vfut *f,
	    struct sc_error *err);
	void (*abandon)(void *arg, struct task *t);
	void *arg;
};

/* Create a scheduler with a copy of lim (NULL: defaults). */
int sched_new(const struct vm_limits *lim, struct sched **sp) SC_MUST_CHECK;
/* Free s and every job still in it (no done hooks run). NULL is a no-op. */
void sched_free(struct sched *s);
/*
 * Start a job running p's entry for `tenant`. Takes a reference to p.
 * *jp (may be NULL) is valid until the done hook returns. Fails with
 * SC_ELIMIT at the live-task limit, SC_ENOMEM.
 */
int sched_submit(struct sched *s, struct prog *p, uint32_t tenant,
    const struct job_hooks *hooks, struct job **jp, struct sc_error *err)
    SC_MUST_CHECK;
/* Change j's timeout to ms from its submission (the deadline list stays
 * sorted; O(jobs) worst case, O(1) when timeouts are equal). */
void sched_set_timeout(struct sched *s, struct job *j, int64_t ms);
/* Set j's timeout to ms and its deadline to monotonic ms deadline (a
 * restored job: the deadline comes from before the restart). */
void sched_set_deadline(struct sched *s, struct job *j, int64_t deadline,
    int64_t ms);
/* Replace the limits; they apply to new tasks, slices and timers. */
int sched_set_limits(struct sched *s, const struct vm_limits *lim)
    SC_MUST_CHECK;
/* A task of job j ran a slice (its state may have changed): called after
 * each slice, before the job's done hook if the slice ended it. */
typedef void (*sched_ran_fn)(struct job *j);
/* Call fn after each slice (NULL: no hook). */
void sched_set_ran_hook(struct sched *s, sched_ran_fn fn);
/* Call fn before each spawn (NULL: no hook). */
void sched_set_spawn_hook(struct sched *s, sched_spawn_fn fn, void *arg);
/* Where extern calls go (NULL: nowhere; they fail with a message). */
void sched_set_ext(struct sched *s, const struct sched_ext *ext);
/* The extern call task t awaits ended: with error text err (not NULL:
 * failed), or with its result v, or for a string result the bytes str,
 * slen (copied). t becomes ready. */
void sched_ext_done(struct sched *s, struct task *t, const char *err,
    union value v, const char *str, size_t slen);
/* Live tasks of one tenant. */
uint32_t sched_tenant_tasks(const struct sched *s, uint32_t tenant);
/* Run up to max_slices slices (firing due timers as it goes); returns the
 * number run (0: nothing ready). */
int sched_run(struct sched *s, int max_slices);
/* Whether a task is ready to run. */
bool sched_has_ready(const struct sched *s);
/* Ms until the earliest timer or job deadline (0: due), -1 when none. */
int64_t sched_next_timer_ms(struct sched *s);
/* Fire the timers and deadlines due at monotonic time now. */
void sched_fire_timers(struct sched *s, int64_t now);
/* Cancel a job (its root, then the rest); the done hook runs. */
void sched_cancel_job(struct sched *s, struct job *j);
/* Live tasks in the scheduler, and jobs. */
uint32_t sched_live_tasks(const struct sched *s);
uint32_t sched_njobs(const struct sched *s);
/* Armed timers (sleeps, await_timeout deadlines). */
uint32_t sched_ntimers(const struct sched *s);
/* The clock used for timers (tests may replace it). */
void sched_set_clock(struct sched *s, int64_t (*now_ms)(void));

/* For vm.c: task lifecycle. */
void sched_ready(struct sched *s, struct task *t);
int sched_spawn(struct sched *s, struct task *parent, struct vfut *f,
    unsigned flags, struct task **tp) SC_MUST_CHECK;
/* Send t's extern call f (sched_set_ext); err names why not. */
int sched_ext_start(struct sched *s, struct task *t, struct vfut *f,
    struct sc_error *err) SC_MUST_CHECK;
int sched_sleep_until(struct sched *s, struct task *t, int64_t due)
    SC_MUST_CHECK;
void sched_wait_on(struct task *t, struct task *target);
void sched_unwait(struct sched *s, struct task *t);
/* End a task that is not running (cancel, time out); wakes its waiters. */
void sched_kill(struct sched *s, struct task *t, unsigned state,
    const char *msg);
/* Write job output. */
void sched_output(struct job *j, int stream, const char *buf, size_t len);
int64_t sched_now(const struct sched *s);
const struct vm_limits *sched_limits(const struct sched *s);

/* Snapshot restore (snapshot.c): a live task of j on no queue (state
 * TASK_WAITING); take a READY task off its run queue; t's timer. */
struct task *sched_task_new(struct sched *s, struct job *j, unsigned rkind);
void sched_unready(struct sched *s, struct task *t);
bool sched_task_timer(const struct sched *s, const struct task *t,
    int64_t *due, uint64_t *seq);

#endif
