/*
 * The interpreter: tasks, jobs, verified programs and vm_run(), which runs
 * one slice of one task. Every module run here has passed verify_module();
 * what the verifier cannot know (array element kinds, future/task result
 * kinds, bounds, overflow, limits) is checked at run time and fails the one
 * task. Only one task runs at a time per struct vm: its frames live on the
 * vm's shared register stack while it runs, and a task that stops keeps
 * either its live registers only (suspended at await states) or a copy of
 * its whole stack (preempted by fuel). Measured: 209 bytes of RSS per task
 * asleep with two live ints (100,000 tasks; struct task, its 32-byte
 * suspended block, its timer entry and its handle in an array).
 */
#ifndef SC_VM_H
#define SC_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mem.h"
#include "modio.h"
#include "value.h"

/* Limits (defaults from vm_limits_default(); later filled from config). */
struct vm_limits {
	uint32_t live_tasks;		/* live tasks in the runtime: 10000 */
	int64_t task_timeout_ms;	/* root task wall clock: 300 s */
	size_t task_mem;		/* bytes a task may hold: 10 MiB */
	uint32_t call_depth;		/* frames per task: 200 */
	int32_t fuel;			/* back-edges + calls per slice: 10000 */
	int64_t sleep_max_ms;		/* longest sleep/timeout: 30 days */
	uint32_t tenant_tasks;		/* live tasks per tenant: 0, no limit */
	uint32_t tenant_timers;		/* armed timers per tenant: 0, no limit */
	size_t tenant_mem;		/* heap bytes per tenant: 0, no limit */
};

void vm_limits_default(struct vm_limits *lim);

/*
 * A verified module prepared to run: constants as values (strings as
 * uncharged constant objects), per-function facts. Counted: every job
 * holds a reference.
 */
struct prog {
	const struct module *m;		/* the verified module */
	void (*mfree)(struct module *);	/* frees m with the prog, or NULL */
	uint32_t refs;			/* references */
	union value *k;			/* m->nconsts constant values */
	uint8_t *has_refs;		/* per function: any ref register */
};

/* Prepare m (verified) to run. On success *pp holds one reference and, if
 * mfree is not NULL, owns m. */
int prog_new(const struct module *m, void (*mfree)(struct module *),
    struct prog **pp, struct sc_error *err) SC_MUST_CHECK;
void prog_ref(struct prog *p);
void prog_unref(struct prog *p);

enum task_state {
	TASK_READY,			/* in its tenant's run queue */
	TASK_RUNNING,			/* in vm_run */
	TASK_WAITING,			/* on a timer and/or another task */
	TASK_DONE,			/* completed; result set */
	TASK_FAILED,			/* error set */
	TASK_CANCELLED,			/* error "task cancelled" */
	TASK_TIMEDOUT,			/* error "task timed out ..." */
};

static inline bool
task_state_ended(unsigned st)
{
	return st >= TASK_DONE;
}

enum task_saved {
	SAVED_NONE,			/* running or ended */
	SAVED_START,			/* not started: runs fut (root: entry) */
	SAVED_SUSP,			/* live registers of await states */
	SAVED_PARK,			/* preempted: the whole stack */
};

enum task_wait {
	WAIT_NONE,
	WAIT_YIELD,			/* in the run queue; resumes with () */
	WAIT_SLEEP,			/* on its timer; resumes with () */
	WAIT_TASK,			/* on waiting_on's end */
	WAIT_LEAF,			/* join/timeout: fut says what */
};

/* struct task flags */
enum {
	TF_CANCEL = 1,			/* cancel requested while running */
	TF_INTERNAL = 2,		/* await_timeout's child */
	TF_INLIST = 4,			/* on waiting_on's waiter list */
	TF_SEEN = 8,			/* its failure reached an awaiter, or
					 * was reported as unawaited */
};
/* The flags a snapshot keeps. */
#define TF_SAVED	(TF_CANCEL | TF_INTERNAL | TF_SEEN)

struct job;

/*
 * A task. Its handle (VK_TASK register value) is the task itself.
 * References: every handle, every object it owns (charged to it), and the
 * scheduler while the task is live. 120 bytes on LP64.
 */
struct task {
	struct obj o;			/* refs; kind VK_TASK; ekind result kind */
	uint8_t state;			/* enum task_state */
	uint8_t saved_kind;		/* enum task_saved */
	uint8_t wait;			/* enum task_wait */
	uint8_t flags;			/* TF_* */
	uint32_t timer;			/* timer heap slot, TIMER_NONE */
	struct job *job;		/* its job */
	struct task *jnext;		/* job's task list */
	struct task *jprev;		/* job's task list */
	struct task *qnext;		/* run queue, waiter list, free list */
	struct task *qprev;		/* run queue, waiter list */
	struct task *waiters;		/* tasks waiting for this one to end */
	struct task *waiting_on;	/* the task whose waiters we are on (ref) */
	void *saved;			/* struct susp / struct park, or NULL */
	struct vfut *fut;		/* start future, or join/timeout leaf */
	struct budget mem;		/* bytes it holds */
	union value result;		/* of kind o.ekind once TASK_DONE */
	char *error;			/* "MSG\n  at F (FILE:LINE)..." if failed */
};

/* A frame on the vm's register stack. */
struct frame {
	const struct mod_fn *fn;	/* function */
	uint32_t pc;			/* next instruction */
	uint32_t base;			/* first register in vm->regs */
};

/* The running context of a scheduler: one register stack, reused. */
struct vm {
	union value *regs;		/* register stack */
	uint32_t capregs;		/* room in regs */
	uint32_t top;			/* registers in use */
	struct frame *frames;		/* frames of the running task */
	uint32_t nframes;		/* frames in use */
	uint32_t capframes;		/* room in frames */
	const struct vm_limits *lim;	/* limits */
	struct sched *s;		/* owner */
	struct task *cur;		/* running task, or NULL */
	struct sc_error err;		/* message of the failing operation */
	uint32_t work;			/* fuel owed by the last slow op */
};

/*
 * Fuel counts back-edges and calls, but a single string operation can copy
 * megabytes. Operations whose cost grows with their data (building a
 * string, printing, comparing strings) also pay one unit of fuel per
 * VM_WORK_BYTES bytes, so a slice stays short whatever the loop body does.
 */
#define VM_WORK_BYTES	64

/* What vm_run() did with the task. */
enum vm_status {
	VM_ENDED,			/* completed or failed (t->state) */
	VM_WAITING,			/* suspended on a timer or a task */
	VM_YIELDED,			/* ready again (fuel out, yield_now) */
};

/* Run t (TASK_RUNNING) for one slice of `fuel`; returns enum vm_status. */
int vm_run(struct vm *vm, struct task *t, int32_t fuel);
/* Set up the register stack of a scheduler. */
int vm_init(struct vm *vm, const struct vm_limits *lim, struct sched *s)
    SC_MUST_CHECK;
/* Free the register stack. */
void vm_free(struct vm *vm);
/* Release a stopped task's saved state (cancel, job end). */
void vm_drop_saved(struct task *t);
/* Bytes held by t's saved state (for tests and stats). */
size_t vm_saved_bytes(const struct task *t);
/* Inspect a suspended task: frames, and the live values of frame i
 * (innermost first); returns false if t is not SAVED_SUSP or i too big. */
bool vm_susp_frame(const struct task *t, uint32_t i, uint32_t *fn,
    uint32_t *state, uint32_t *nlive, const union value **vals);
/* Free a task struct whose last reference went (called by obj_free);
 * pushes the objects it referenced on *work. */
void task_destroy(struct task *t, struct obj **work);


/*
 * Between vm.c (the dispatch loop) and vm_ops.c (its slow paths). An op
 * that fails sets vm->err and returns a negative SC_E*; the loop then calls
 * vm_fail(), which adds the trace and unwinds the task.
 */
#define VM_CONT		(-100)		/* slow path done; keep running */
#define ERROR_TEXT_MAX	8192		/* error text incl. traces */

/* Fail t with msg + its trace, unwind its frames; returns VM_ENDED. */
int vm_fail(struct vm *vm, struct task *t, unsigned state, const char *msg,
    size_t len);
/* Fill vm->err for SC_ELIMIT (the task's memory limit) or SC_ENOMEM. */
int vm_err_mem(struct vm *vm, struct task *t, int code);
/* Push a frame of fn with zeroed registers (charged); NULL + vm->err. */
union value *vm_push(struct vm *vm, struct task *t,
    const struct mod_fn *fn);
/* Pop the top frame, releasing its references and its charge. */
void vm_pop(struct vm *vm, struct task *t);
/* Make room for nregs registers on the shared stack. */
int vm_reserve(struct vm *vm, uint32_t nregs) SC_MUST_CHECK;
/* Give an await's result to the top frame (or end t with it). */
int vm_deliver(struct vm *vm, struct task *t, union value res);
/* Slow paths of the ops their names say. */
int vm_op_await(struct vm *vm, struct task *t, uint32_t i);
int vm_op_awaitt(struct vm *vm, struct task *t, uint32_t i);
int vm_op_mk(struct vm *vm, struct task *t, uint32_t i);
int vm_op_spawn(struct vm *vm, struct task *t, uint32_t i);
int vm_op_cancel(struct vm *vm, struct task *t, uint32_t i);
int vm_op_str(struct vm *vm, struct task *t, uint32_t i);
int vm_op_arr(struct vm *vm, struct task *t, uint32_t i);
int vm_op_print(struct vm *vm, struct task *t, uint32_t i);
int vm_op_fail(struct vm *vm, struct task *t, uint32_t i);
int vm_op_ftoi(struct vm *vm, struct task *t, uint32_t i);
/* Fuel ran out: save t's whole stack; VM_YIELDED (or VM_ENDED). */
int vm_park(struct vm *vm, struct task *t);
/* Restore t (start, suspended or parked); VM_CONT means run the loop. */
int vm_resume(struct vm *vm, struct task *t);

/* Snapshot restore (snapshot.c): give t a suspended state (frames
 * outermost first, live values in frame order, moved in on success). */
int vm_susp_restore(struct task *t, uint32_t nframes, const uint32_t *fns,
    const uint32_t *states, const union value *vals, uint32_t nvals)
    SC_MUST_CHECK;

#endif
