/*
 * The interpreter's slow paths: everything that allocates, fails, suspends
 * or calls out (Lua's lvm.c / ldo.c split). The dispatch loop in vm.c saves
 * the frame's pc before calling any of these, so a failure here is reported
 * at the right line. Ops return VM_CONT to continue, an enum vm_status when
 * the task stopped, or a negative SC_E* with vm->err set.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched.h"
#include "vm.h"

/* Results of polling a leaf future or a task (besides errors). */
enum { POLL_READY = 10, POLL_PENDING = 11, POLL_FAILED = 12 };

/* Tasks followed looking for an await cycle; a longer cycle is left to
 * the task timeout, so that one await costs a bounded walk. */
#define AWAIT_CHAIN_MAX	1024

/* A suspended task: per frame (outermost first) the function and state,
 * then the live values of every frame in order. */
struct sframe {
	uint32_t fn;			/* function index */
	uint32_t state;			/* index in fn->states */
};

struct susp {
	uint32_t nframes;		/* frames */
	uint32_t nvals;			/* live values in all frames */
	struct sframe f[];		/* then nvals union value */
};

/* A preempted task: its frames and whole register stack, as they were. */
struct park {
	uint32_t nframes;		/* frames */
	uint32_t nregs;			/* registers */
	struct frame f[];		/* then nregs union value */
};

static size_t
susp_size(uint32_t nframes, uint32_t nvals)
{
	return sizeof(struct susp) + (size_t)nframes * sizeof(struct sframe) +
	    (size_t)nvals * sizeof(union value);
}

static union value *
susp_vals(struct susp *s)
{
	return (union value *)(void *)(s->f + s->nframes);
}

static size_t
park_size(uint32_t nframes, uint32_t nregs)
{
	return sizeof(struct park) + (size_t)nframes * sizeof(struct frame) +
	    (size_t)nregs * sizeof(union value);
}

static union value *
park_regs(struct park *p)
{
	return (union value *)(void *)(p->f + p->nframes);
}

static const struct module *
mod_of(const struct task *t)
{
	return t->job->prog->m;
}

static struct frame *
top(struct vm *vm)
{
	return &vm->frames[vm->nframes - 1];
}

static union value *
top_regs(struct vm *vm)
{
	return vm->regs + top(vm)->base;
}

/* The state of fn at the AWAIT/AWAITT at pc (binary search), or -1. */
static int64_t
find_state(const struct mod_fn *fn, uint32_t pc)
{
	uint32_t lo = 0, hi = fn->nstates;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (fn->states[mid].pc < pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < fn->nstates && fn->states[lo].pc == pc)
		return lo;
	return -1;
}

int
vm_err_mem(struct vm *vm, struct task *t, int code)
{
	const struct budget *b = mem_tightest(&t->mem);

	if (code == SC_ELIMIT && b != &t->mem)
		return sc_errorf(&vm->err, SC_ELIMIT,
		    "tenant memory limit (%zu bytes) exceeded", b->limit);
	if (code == SC_ELIMIT)
		return sc_errorf(&vm->err, SC_ELIMIT,
		    "task memory limit (%zu bytes) exceeded", t->mem.limit);
	return sc_errorf(&vm->err, SC_ENOMEM, "out of memory");
}

/*
 * The trace, innermost frame first. A deep one shows its TRACE_INNER
 * innermost and TRACE_OUTER outermost frames and says how many it left
 * out between them, so it stays readable and inside ERROR_TEXT_MAX.
 */
#define TRACE_INNER	32
#define TRACE_OUTER	8

static void
add_trace(struct sbuf *b, struct vm *vm, struct task *t)
{
	const char *src = mod_of(t)->source_name;
	uint32_t skip_to = 0;		/* frames below this one are shown */

	if (vm->nframes > TRACE_INNER + TRACE_OUTER)
		skip_to = vm->nframes - TRACE_INNER;
	for (uint32_t n = vm->nframes; n-- > 0;) {
		const struct frame *f = &vm->frames[n];
		const struct mod_fn *fn = f->fn;
		uint32_t pc = f->pc > 0 ? f->pc - 1 : 0;
		uint32_t line = fn->lines != NULL && pc < fn->ncode ?
		    fn->lines[pc] : fn->line;

		sbuf_addf(b, "\n  at %s (%s:%u)", fn->name ? fn->name : "?",
		    src ? src : "?", line);
		if (n == skip_to && skip_to > 0) {
			sbuf_addf(b, "\n  ... %u more frames ...",
			    skip_to - TRACE_OUTER);
			n = TRACE_OUTER;
		}
	}
}

/* A join whose task is suspended is on its job's list, so that a failing
 * task of the job can wake it (sched.c finish()). */
static void
join_link(struct task *t, struct vfut *fu)
{
	struct job *j = t->job;

	if (fu->jpprev != NULL)
		return;
	fu->jnext = j->joins;
	if (j->joins != NULL)
		j->joins->jpprev = &fu->jnext;
	j->joins = fu;
	fu->jpprev = &j->joins;
	fu->joiner = t;
}

static void
join_unlink(struct vfut *fu)
{
	if (fu->h.o.sub != FUT_JOIN || fu->jpprev == NULL)
		return;
	*fu->jpprev = fu->jnext;
	if (fu->jnext != NULL)
		fu->jnext->jpprev = fu->jpprev;
	fu->jnext = NULL;
	fu->jpprev = NULL;
	fu->joiner = NULL;
}

/* Forget what t waits on: waiter list, timer, leaf future. */
static void
drop_wait(struct vm *vm, struct task *t)
{
	sched_unwait(vm->s, t);
	if (t->waiting_on != NULL) {
		struct task *w = t->waiting_on;

		t->waiting_on = NULL;
		obj_unref(&w->o);
	}
	if (t->fut != NULL) {
		struct vfut *f = t->fut;

		t->fut = NULL;
		join_unlink(f);
		obj_unref(&f->h.o);
	}
	t->wait = WAIT_NONE;
}

/*
 * Fail t: error text = msg + the trace of its frames (innermost first),
 * then unwind every frame. Always returns VM_ENDED.
 */
int
vm_fail(struct vm *vm, struct task *t, unsigned state, const char *msg,
    size_t len)
{
	struct sbuf b = { .max = ERROR_TEXT_MAX };

	sbuf_add(&b, msg, len);
	add_trace(&b, vm, t);
	while (vm->nframes > 0)
		vm_pop(vm, t);
	drop_wait(vm, t);
	free(t->error);
	t->error = b.p;			/* NULL if out of memory: reported so */
	t->state = (uint8_t)state;
	return VM_ENDED;
}

static int
fail_err(struct vm *vm, struct task *t)
{
	return vm_fail(vm, t, TASK_FAILED, vm->err.msg, strlen(vm->err.msg));
}

static int
kind_mismatch(struct vm *vm, const char *what, unsigned have, unsigned want)
{
	return sc_errorf(&vm->err, SC_ERUNTIME,
	    "kind mismatch: %s gives %s, register holds %s", what,
	    vkind_name(have), vkind_name(want));
}

/* Kind of the register the pending await/call result goes to. */
static unsigned
dst_kind(struct vm *vm, struct task *t)
{
	const struct frame *f;

	if (vm->nframes == 0)
		return t->o.ekind;
	f = top(vm);
	return f->fn->reg_kinds[INS_A(f->fn->code[f->pc - 1])];
}

int
vm_deliver(struct vm *vm, struct task *t, union value res)
{
	const struct frame *f;
	union value *r;
	unsigned a;

	if (vm->nframes == 0) {
		if (t->flags & TF_CANCEL) {	/* cancelled itself */
			val_release(t->o.ekind, res);
			return vm_fail(vm, t, TASK_CANCELLED, "task cancelled",
			    14);
		}
		t->result = res;
		t->state = TASK_DONE;
		return VM_ENDED;
	}
	f = top(vm);
	a = INS_A(f->fn->code[f->pc - 1]);
	r = vm->regs + f->base + a;
	val_release(f->fn->reg_kinds[a], *r);
	*r = res;
	return VM_CONT;
}

/* Assign a fresh object to R[A] of the top frame (releasing the old). */
static void
set_ref(struct vm *vm, unsigned a, struct obj *o)
{
	union value *r = top_regs(vm) + a;

	obj_unref(r->o);
	r->o = o;
}

/*
 * Suspend t at the await states of all its frames: keep each frame's live
 * registers only, release the rest. Returns VM_WAITING, or VM_YIELDED for
 * yield_now (the scheduler requeues it).
 */
static int
suspend(struct vm *vm, struct task *t)
{
	uint32_t nvals = 0;
	struct susp *s = NULL;
	size_t size;

	for (uint32_t n = 0; n < vm->nframes; n++) {
		const struct frame *f = &vm->frames[n];
		int64_t st = find_state(f->fn, f->pc - 1);

		if (SC_NEVER(st < 0))
			return sc_errorf(&vm->err, SC_EBADMOD,
			    "function %s, pc %u: no state for await",
			    f->fn->name, f->pc - 1);
		nvals += f->fn->states[st].nlive;
	}
	if (vm->nframes > 0) {
		size = susp_size(vm->nframes, nvals);
		if ((s = mem_alloc(&t->mem, NULL, 0, size)) == NULL)
			return vm_err_mem(vm, t, mem_fail_code(&t->mem, size));
		s->nframes = vm->nframes;
		s->nvals = nvals;
		nvals = 0;
		for (uint32_t n = 0; n < vm->nframes; n++) {
			const struct frame *f = &vm->frames[n];
			const struct mod_fn *fn = f->fn;
			uint32_t st = (uint32_t)find_state(fn, f->pc - 1);
			const struct mod_state *ms = &fn->states[st];
			union value *regs = vm->regs + f->base;
			uint32_t l = 0;

			s->f[n].fn = (uint32_t)(fn - mod_of(t)->fns);
			s->f[n].state = st;
			for (uint32_t r = 0; r < fn->nregs; r++) {
				if (l < ms->nlive && ms->live[l] == r) {
					susp_vals(s)[nvals++] = regs[r];
					regs[r].i = 0;
					l++;
				}
			}
		}
		/* what is left in the frames is dead: vm_pop releases it */
		while (vm->nframes > 0)
			vm_pop(vm, t);
	}
	t->saved = s;
	t->saved_kind = SAVED_SUSP;
	if (t->wait == WAIT_YIELD) {
		t->state = TASK_READY;
		return VM_YIELDED;
	}
	t->state = TASK_WAITING;
	return VM_WAITING;
}

static int
check_ms(struct vm *vm, const char *what, int64_t ms)
{
	int64_t max = vm->lim->sleep_max_ms;

	if (ms < 0)
		return sc_errorf(&vm->err, SC_ERUNTIME,
		    "%s of %lld ms: negative duration", what, (long long)ms);
	if (ms > max)
		return sc_errorf(&vm->err, SC_ELIMIT,
		    "%s of %lld ms exceeds the maximum (%lld ms)", what,
		    (long long)ms, (long long)max);
	return SC_OK;
}

/*
 * A finished child c of t (awaited task, join member, timeout child):
 * SC_OK if it completed with a value of kind dk; else fail t (propagating
 * the child's error and trace) and return POLL_FAILED, or an error code.
 */
static int
check_child(struct vm *vm, struct task *t, struct task *c, unsigned dk)
{
	switch (c->state) {
	case TASK_DONE:
		if (c->o.ekind != dk)
			return kind_mismatch(vm, "awaited task", c->o.ekind,
			    dk);
		return SC_OK;
	case TASK_CANCELLED:
		return sc_errorf(&vm->err, SC_ECANCELLED, "task cancelled");
	default:
		c->flags |= TF_SEEN;
		if (c->error == NULL)
			return sc_errorf(&vm->err, SC_ENOMEM, "out of memory");
		vm_fail(vm, t, TASK_FAILED, c->error, strlen(c->error));
		return POLL_FAILED;
	}
}

/*
 * The task a join_all queued to look again (woken, or restored) will wait
 * for, as poll_join() will see it: NULL if it will fail (a failed task in
 * its array, looked for from idx on when FUTF_FAILSEEN says one of the
 * job failed, else up to the first live one) or has nothing left to wait
 * for.
 */
static const struct task *
join_target(const struct vfut *f)
{
	const struct varr *a = (const struct varr *)f->child;
	const struct task *first = NULL;

	if (a == NULL || a->h.o.ekind != VK_TASK)
		return NULL;
	for (uint32_t n = f->idx; n < a->len; n++) {
		const struct task *x = (const struct task *)a->v[n].o;

		if (x == NULL) {		/* poll_join fails on reaching it */
			if (first == NULL)
				return NULL;
			continue;
		}
		if (!task_state_ended(x->state)) {
			if (first == NULL)
				first = x;
			if (!(f->flags & FUTF_FAILSEEN))
				break;
		} else if (x->state != TASK_DONE &&
		    (first == NULL || (f->flags & FUTF_FAILSEEN)))
			return NULL;
	}
	return first;
}

/*
 * The task c can only wait for, or NULL: c waits in an await or a
 * join_all (on waiting_on) for a task that has not ended, with no timer to
 * end the wait (await_timeout has one); or it is queued to look again at
 * such an await (restored from a snapshot) or join_all (woken, or
 * restored), and will wait for that task.
 */
static const struct task *
blocked_on(const struct task *c)
{
	const struct task *next = NULL;
	bool join = c->wait == WAIT_LEAF && c->fut != NULL &&
	    c->fut->h.o.sub == FUT_JOIN;

	if (c->timer != TIMER_NONE)
		return NULL;
	if (c->state == TASK_WAITING && (c->wait == WAIT_TASK || join))
		next = c->waiting_on;
	else if (c->state == TASK_READY && c->wait == WAIT_TASK)
		next = c->waiting_on;
	else if (c->state == TASK_READY && join)
		next = join_target(c->fut);
	return next != NULL && !task_state_ended(next->state) ? next : NULL;
}

/*
 * Whether t waiting for c would close a cycle of tasks that can only wait
 * for each other (blocked_on). Every cycle is refused as it would form, so
 * the chain from c holds none but t's. Sets vm->err and returns its code
 * when one would.
 */
static int
await_cycle(struct vm *vm, const struct task *t, const struct task *c)
{
	for (uint32_t n = 1; c != NULL && n <= AWAIT_CHAIN_MAX; n++) {
		if (c == t)
			return n == 1 ? sc_errorf(&vm->err, SC_ERUNTIME,
			    "task awaits itself") : sc_errorf(&vm->err,
			    SC_ERUNTIME, "deadlock: this task and %" PRIu32
			    " other%s await each other", n - 1,
			    n == 2 ? "" : "s");
		c = blocked_on(c);
	}
	return SC_OK;
}

static void
wait_task(struct task *t, struct task *c)
{
	if (t->waiting_on != c) {
		if (t->waiting_on != NULL)
			obj_unref(&t->waiting_on->o);
		c->o.refs++;
		t->waiting_on = c;
	}
	sched_wait_on(t, c);
}

static int
poll_task(struct vm *vm, struct task *t, struct task *c, unsigned dk,
    union value *res)
{
	int r;

	if (task_state_ended(c->state)) {
		if ((r = check_child(vm, t, c, dk)) != SC_OK)
			return r;
		*res = c->result;
		val_ref(dk, *res);
		return POLL_READY;
	}
	if ((r = await_cycle(vm, t, c)) != SC_OK)
		return r;
	wait_task(t, c);
	t->wait = WAIT_TASK;
	return POLL_PENDING;
}

static int
poll_join(struct vm *vm, struct task *t, struct vfut *fu, union value *res)
{
	struct varr *a = (struct varr *)fu->child, *out;
	int r;

	if (a->h.o.ekind != VK_TASK)
		return kind_mismatch(vm, "join_all element", a->h.o.ekind,
		    VK_TASK);
	if (fu->flags & FUTF_FAILSEEN) {	/* first poll, or a failure */
		fu->flags &= ~FUTF_FAILSEEN;
		for (uint32_t n = fu->idx; n < a->len; n++) {
			struct task *c = (struct task *)a->v[n].o;

			if (c != NULL && task_state_ended(c->state) &&
			    c->state != TASK_DONE)
				return check_child(vm, t, c, fu->jkind);
		}
	}
	for (; fu->idx < a->len; fu->idx++) {
		struct task *c = (struct task *)a->v[fu->idx].o;

		if (c == NULL)
			return sc_errorf(&vm->err, SC_ERUNTIME,
			    "join_all of an empty task");
		if (!task_state_ended(c->state)) {
			if ((r = await_cycle(vm, t, c)) != SC_OK)
				return r;
			wait_task(t, c);
			join_link(t, fu);
			return POLL_PENDING;
		}
		if ((r = check_child(vm, t, c, fu->jkind)) != SC_OK)
			return r;
	}
	if ((r = arr_new(t, fu->jkind, a->len, &out)) != SC_OK)
		return vm_err_mem(vm, t, r);
	for (uint32_t n = 0; n < a->len; n++) {
		struct task *c = (struct task *)a->v[n].o;

		val_ref(fu->jkind, c->result);
		out->v[out->len++] = c->result;
	}
	res->o = &out->h.o;
	return POLL_READY;
}

static int
start_timeout(struct vm *vm, struct task *t, struct vfut *fu)
{
	struct task *c;
	int r;

	if ((r = check_ms(vm, "timeout", fu->ms)) != SC_OK)
		return r;
	if (fu->child->kind == VK_FUTURE) {
		struct vfut *cf = (struct vfut *)fu->child;

		if (cf->state != FUT_FRESH)
			return sc_errorf(&vm->err, SC_ERUNTIME,
			    "future already awaited or spawned");
		if ((r = sched_spawn(vm->s, t, cf, TF_INTERNAL, &c)) != SC_OK)
			return r == SC_ELIMIT ? r : vm_err_mem(vm, t, r);
		cf->state = FUT_USED;
		fu->child = &c->o;
		obj_unref(&cf->h.o);
	}
	fu->ms = sched_now(vm->s) + fu->ms;
	return SC_OK;
}

static int
poll_timeout(struct vm *vm, struct task *t, struct vfut *fu, unsigned dk,
    union value *res)
{
	struct task *c = (struct task *)fu->child;
	int r;

	if (task_state_ended(c->state)) {
		if ((r = check_child(vm, t, c, dk)) != SC_OK)
			return r;
		*res = c->result;
		val_ref(dk, *res);
		return POLL_READY;
	}
	if (sched_now(vm->s) >= fu->ms) {
		*res = fu->fallback;
		val_ref(dk, *res);
		if (c != t)
			sched_kill(vm->s, c, TASK_CANCELLED, "task cancelled");
		return POLL_READY;
	}
	if (c == t)
		return sc_errorf(&vm->err, SC_ERUNTIME, "task awaits itself");
	if ((r = sched_sleep_until(vm->s, t, fu->ms)) != SC_OK)
		return r == SC_ELIMIT ? r : vm_err_mem(vm, t, r);	/* err set */
	wait_task(t, c);
	return POLL_PENDING;
}

/* Poll leaf future fu for t; `fresh` on its first await (or spawn run). */
/*
 * An extern call: start it (first await, or the first look after a
 * restart, whose snapshot kept the arguments but not the call), then
 * wait for sched_ext_done(), then take its result or error.
 */
static int
poll_ext(struct vm *vm, struct task *t, struct vfut *fu, union value *res)
{
	int r;

	if (fu->flags & FUTF_FAILED) {
		const struct vstr *msg = (const struct vstr *)fu->child;

		if (msg == NULL)
			return sc_errorf(&vm->err, SC_ERUNTIME, "extern call "
			    "failed (no memory left for its message)");
		return sc_errorf(&vm->err, SC_ERUNTIME, "%.*s",
		    (int)msg->len, msg->s);
	}
	if (fu->flags & FUTF_DONE) {
		fu->flags &= ~FUTF_DONE;	/* the result moves out */
		*res = fu->fallback;
		fu->fallback.i = 0;
		return POLL_READY;
	}
	if (fu->flags & FUTF_CALLING)
		return POLL_PENDING;
	if ((r = sched_ext_start(vm->s, t, fu, &vm->err)) != SC_OK)
		return r;
	fu->flags |= FUTF_CALLING;
	return POLL_PENDING;
}

static int
poll_leaf(struct vm *vm, struct task *t, struct vfut *fu, unsigned dk,
    bool fresh, union value *res)
{
	int r;

	switch (fu->h.o.sub) {
	case FUT_SLEEP:
		if ((r = check_ms(vm, "sleep", fu->ms)) != SC_OK)
			return r;
		if ((r = sched_sleep_until(vm->s, t,
		    sched_now(vm->s) + fu->ms)) != SC_OK)	/* ELIMIT: err set */
			return r == SC_ELIMIT ? r : vm_err_mem(vm, t, r);
		t->wait = WAIT_SLEEP;
		return POLL_PENDING;
	case FUT_YIELD:
		t->wait = WAIT_YIELD;
		return POLL_PENDING;
	case FUT_JOIN:
	case FUT_TIMEOUT:
		if (fresh) {
			if (fu->child == NULL)
				return sc_errorf(&vm->err, SC_ERUNTIME,
				    "await of an empty value");
			if (fu->h.o.sub == FUT_TIMEOUT &&
			    (r = start_timeout(vm, t, fu)) != SC_OK)
				return r;
			fu->h.o.refs++;
			fu->flags |= FUTF_FAILSEEN;	/* look once at all */
			t->fut = fu;
			t->wait = WAIT_LEAF;
		}
		return fu->h.o.sub == FUT_JOIN ? poll_join(vm, t, fu, res) :
		    poll_timeout(vm, t, fu, dk, res);
	case FUT_EXT:
		if (fresh) {
			fu->h.o.refs++;
			t->fut = fu;
			t->wait = WAIT_LEAF;
		}
		return poll_ext(vm, t, fu, res);
	default:
		return sc_errorf(&vm->err, SC_EINVAL, "await of a future of "
		    "unknown type %u", fu->h.o.sub);
	}
}

/* Act on a poll result: deliver, suspend, or report the failure. */
static int
settle(struct vm *vm, struct task *t, int r, union value res)
{
	switch (r) {
	case POLL_READY:
		drop_wait(vm, t);
		return vm_deliver(vm, t, res);
	case POLL_PENDING:
		if ((r = suspend(vm, t)) >= 0)
			return r;
		return fail_err(vm, t);
	case POLL_FAILED:
		return VM_ENDED;	/* vm_fail() done */
	default:
		return fail_err(vm, t);
	}
}

static int
cancelled(struct vm *vm, struct task *t)
{
	return vm_fail(vm, t, TASK_CANCELLED, "task cancelled", 14);
}

static int
await_leaf(struct vm *vm, struct task *t, struct vfut *fu, unsigned dk)
{
	union value res = { 0 };

	if (t->flags & TF_CANCEL)
		return cancelled(vm, t);
	return settle(vm, t, poll_leaf(vm, t, fu, dk, true, &res), res);
}

int
vm_op_await(struct vm *vm, struct task *t, uint32_t i)
{
	struct frame *f = top(vm);
	struct vfut *fu = (struct vfut *)top_regs(vm)[INS_B(i)].o;
	unsigned dk = f->fn->reg_kinds[INS_A(i)];
	union value *nr;

	if (fu == NULL)
		return sc_errorf(&vm->err, SC_ERUNTIME,
		    "await of an empty future");
	if (fu->state != FUT_FRESH)
		return sc_errorf(&vm->err, SC_ERUNTIME,
		    "future already awaited or spawned");
	if (fu->h.o.ekind != dk)
		return kind_mismatch(vm, "awaited future", fu->h.o.ekind, dk);
	fu->state = FUT_USED;
	if (fu->h.o.sub != FUT_FN)
		return await_leaf(vm, t, fu, dk);
	if ((nr = vm_push(vm, t, &mod_of(t)->fns[fu->idx])) == NULL)
		return vm->err.code;
	memcpy(nr, fu->args, (size_t)fu->nargs * sizeof(*nr));
	memset(fu->args, 0, (size_t)fu->nargs * sizeof(*nr));
	return VM_CONT;
}

int
vm_op_awaitt(struct vm *vm, struct task *t, uint32_t i)
{
	struct task *c = (struct task *)top_regs(vm)[INS_B(i)].o;
	union value res = { 0 };

	if (c == NULL)
		return sc_errorf(&vm->err, SC_ERUNTIME,
		    "await of an empty task");
	if (t->flags & TF_CANCEL)
		return cancelled(vm, t);
	return settle(vm, t, poll_task(vm, t, c, dst_kind(vm, t), &res), res);
}

/* Restore a suspended task's frames, then poll what it waited on. */
static int
unsuspend(struct vm *vm, struct task *t)
{
	struct susp *s = t->saved;
	union value res = { 0 };
	uint32_t v = 0, n = 0;
	int r = SC_OK;

	t->saved = NULL;
	t->saved_kind = SAVED_NONE;
	if (s != NULL) {
		const union value *vals = susp_vals(s);

		for (; n < s->nframes; n++) {
			const struct mod_fn *fn = &mod_of(t)->fns[s->f[n].fn];
			const struct mod_state *ms = &fn->states[s->f[n].state];
			union value *nr = vm_push(vm, t, fn);

			if (nr == NULL) {
				r = vm->err.code;
				break;
			}
			top(vm)->pc = ms->pc + 1;
			for (uint32_t l = 0; l < ms->nlive; l++)
				nr[ms->live[l]] = vals[v++];
		}
		/* on failure, release the values not restored */
		for (; n < s->nframes; n++) {
			const struct mod_fn *fn = &mod_of(t)->fns[s->f[n].fn];
			const struct mod_state *ms = &fn->states[s->f[n].state];

			for (uint32_t l = 0; l < ms->nlive; l++)
				val_release(fn->reg_kinds[ms->live[l]],
				    vals[v++]);
		}
		mem_alloc(&t->mem, s, susp_size(s->nframes, s->nvals), 0);
		if (r != SC_OK)
			return fail_err(vm, t);
	}
	switch (t->wait) {
	case WAIT_YIELD:
	case WAIT_SLEEP:
		return settle(vm, t, POLL_READY, res);
	case WAIT_TASK:
		return settle(vm, t, poll_task(vm, t, t->waiting_on,
		    dst_kind(vm, t), &res), res);
	default:
		if (SC_NEVER(t->fut == NULL))
			return vm_fail(vm, t, TASK_FAILED, "lost wait", 9);
		return settle(vm, t, poll_leaf(vm, t, t->fut,
		    dst_kind(vm, t), false, &res), res);
	}
}

static int
unpark(struct vm *vm, struct task *t)
{
	struct park *p = t->saved;
	size_t cost = 0;

	t->saved = NULL;
	t->saved_kind = SAVED_NONE;
	if (vm_reserve(vm, p->nregs) != SC_OK || vm->capframes < p->nframes) {
		t->saved = p;
		t->saved_kind = SAVED_PARK;
		vm_drop_saved(t);
		return vm_fail(vm, t, TASK_FAILED, "out of memory", 13);
	}
	memcpy(vm->frames, p->f, (size_t)p->nframes * sizeof(*p->f));
	memcpy(vm->regs, park_regs(p), (size_t)p->nregs * sizeof(union value));
	vm->nframes = p->nframes;
	vm->top = p->nregs;
	for (uint32_t n = 0; n < p->nframes; n++)
		cost += p->f[n].fn->nregs * sizeof(union value) +
		    sizeof(struct frame);
	mem_alloc(&t->mem, p, park_size(p->nframes, p->nregs), 0);
	t->mem.used += cost;		/* the frames are charged again */
	return VM_CONT;
}

/* Preempted (fuel out): keep the whole stack. */
int
vm_park(struct vm *vm, struct task *t)
{
	size_t size = park_size(vm->nframes, vm->top), cost = 0;
	struct park *p;

	if (t->flags & TF_CANCEL)
		return cancelled(vm, t);
	for (uint32_t n = 0; n < vm->nframes; n++)
		cost += vm->frames[n].fn->nregs * sizeof(union value) +
		    sizeof(struct frame);
	t->mem.used -= cost;		/* the block replaces the frames */
	if ((p = mem_alloc(&t->mem, NULL, 0, size)) == NULL) {
		vm_err_mem(vm, t, mem_fail_code(&t->mem, size));
		t->mem.used += cost;
		return fail_err(vm, t);
	}
	p->nframes = vm->nframes;
	p->nregs = vm->top;
	memcpy(p->f, vm->frames, (size_t)p->nframes * sizeof(*p->f));
	memcpy(park_regs(p), vm->regs, (size_t)p->nregs * sizeof(union value));
	vm->nframes = 0;
	vm->top = 0;
	t->saved = p;
	t->saved_kind = SAVED_PARK;
	t->state = TASK_READY;
	return VM_YIELDED;
}

/* Continue t from where it stopped; VM_CONT means run the loop. */
int
vm_resume(struct vm *vm, struct task *t)
{
	struct vfut *fu;
	union value *nr;
	int r;

	switch (t->saved_kind) {
	case SAVED_SUSP:
		return unsuspend(vm, t);
	case SAVED_PARK:
		return unpark(vm, t);
	case SAVED_START:
		break;
	default:
		return vm_fail(vm, t, TASK_FAILED, "task has no state", 17);
	}
	fu = t->fut;
	t->fut = NULL;
	t->saved_kind = SAVED_NONE;
	if (fu == NULL) {
		const struct module *m = mod_of(t);

		if (vm_push(vm, t, &m->fns[m->entry]) == NULL)
			return fail_err(vm, t);
		return VM_CONT;
	}
	if (fu->h.o.sub != FUT_FN) {
		r = await_leaf(vm, t, fu, t->o.ekind);
		obj_unref(&fu->h.o);
		return r;
	}
	if ((nr = vm_push(vm, t, &mod_of(t)->fns[fu->idx])) == NULL) {
		obj_unref(&fu->h.o);
		return fail_err(vm, t);
	}
	memcpy(nr, fu->args, (size_t)fu->nargs * sizeof(*nr));
	memset(fu->args, 0, (size_t)fu->nargs * sizeof(*nr));
	obj_unref(&fu->h.o);
	return VM_CONT;
}

void
vm_drop_saved(struct task *t)
{
	const struct module *m = mod_of(t);

	if (t->saved_kind == SAVED_SUSP && t->saved != NULL) {
		struct susp *s = t->saved;
		const union value *vals = susp_vals(s);
		uint32_t v = 0;

		for (uint32_t n = 0; n < s->nframes; n++) {
			const struct mod_fn *fn = &m->fns[s->f[n].fn];
			const struct mod_state *ms = &fn->states[s->f[n].state];

			for (uint32_t l = 0; l < ms->nlive; l++)
				val_release(fn->reg_kinds[ms->live[l]],
				    vals[v++]);
		}
		mem_alloc(&t->mem, s, susp_size(s->nframes, s->nvals), 0);
	} else if (t->saved_kind == SAVED_PARK) {
		struct park *p = t->saved;
		union value *regs = park_regs(p);

		for (uint32_t n = 0; n < p->nframes; n++) {
			const struct mod_fn *fn = p->f[n].fn;

			for (uint32_t r = 0; r < fn->nregs; r++)
				val_release(fn->reg_kinds[r],
				    regs[p->f[n].base + r]);
		}
		mem_alloc(&t->mem, p, park_size(p->nframes, p->nregs), 0);
	}
	t->saved = NULL;
	t->saved_kind = SAVED_NONE;
	if (t->fut != NULL) {
		struct vfut *f = t->fut;

		t->fut = NULL;
		join_unlink(f);
		obj_unref(&f->h.o);
	}
	if (t->waiting_on != NULL) {
		struct task *w = t->waiting_on;

		t->waiting_on = NULL;
		obj_unref(&w->o);
	}
	t->wait = WAIT_NONE;
}

size_t
vm_saved_bytes(const struct task *t)
{
	if (t->saved_kind == SAVED_SUSP && t->saved != NULL) {
		const struct susp *s = t->saved;

		return susp_size(s->nframes, s->nvals);
	}
	if (t->saved_kind == SAVED_PARK) {
		const struct park *p = t->saved;

		return park_size(p->nframes, p->nregs);
	}
	return 0;
}

bool
vm_susp_frame(const struct task *t, uint32_t i, uint32_t *fn,
    uint32_t *state, uint32_t *nlive, const union value **vals)
{
	struct susp *s = t->saved;
	const union value *v;
	uint32_t n;

	if (t->saved_kind != SAVED_SUSP || s == NULL || i >= s->nframes)
		return false;
	v = susp_vals(s);
	n = s->nframes - 1 - i;		/* innermost first */
	for (uint32_t k = 0; k < n; k++)
		v += mod_of(t)->fns[s->f[k].fn].states[s->f[k].state].nlive;
	*fn = s->f[n].fn;
	*state = s->f[n].state;
	*nlive = mod_of(t)->fns[*fn].states[*state].nlive;
	*vals = v;
	return true;
}

/* Futures, arrays: NEWARR MKFUT MKEXT MKSLEEP MKYIELD MKJOIN MKTIMEOUT */
int
vm_op_mk(struct vm *vm, struct task *t, uint32_t i)
{
	const struct module *m = mod_of(t);
	union value *regs = top_regs(vm);
	unsigned a = INS_A(i);
	struct vfut *fu = NULL;
	struct varr *arr;
	int r;

	switch (INS_OP(i)) {
	case OP_NEWARR:
		if ((r = arr_new(t, INS_C(i), INS_B(i), &arr)) != SC_OK)
			return vm_err_mem(vm, t, r);
		set_ref(vm, a, &arr->h.o);
		return VM_CONT;
	case OP_MKFUT: {
		const struct mod_fn *fn = &m->fns[INS_BX(i)];

		if ((r = fut_new(t, FUT_FN, fn->ret_kind, fn->nparams, &fu)))
			break;
		fu->idx = INS_BX(i);
		fu->akinds = fn->reg_kinds;
		goto move_args;
	}
	case OP_MKEXT: {
		const struct mod_extern *e = &m->externs[INS_BX(i)];

		if ((r = fut_new(t, FUT_EXT, ctype_vkind(e->ret), e->nparams,
		    &fu)))
			break;
		fu->idx = INS_BX(i);
		fu->akinds = e->params;
		fu->flags |= FUTF_CTYPES;
		goto move_args;
	}
	case OP_MKSLEEP:
		if ((r = fut_new(t, FUT_SLEEP, VK_UNIT, 0, &fu)) == SC_OK)
			fu->ms = regs[INS_B(i)].i;
		break;
	case OP_MKYIELD:
		r = fut_new(t, FUT_YIELD, VK_UNIT, 0, &fu);
		break;
	case OP_MKJOIN: {
		/* the tasks as they are now: a later change to the array does
		 * not change what the join waits for, before or after a
		 * restart (a restored join looks at its array again) */
		const struct varr *src = (const struct varr *)regs[INS_B(i)].o;
		struct varr *cp = NULL;

		if (src != NULL) {
			if ((r = arr_new(t, src->h.o.ekind, src->len, &cp)) !=
			    SC_OK)
				break;
			for (uint32_t n = 0; n < src->len; n++) {
				val_ref(src->h.o.ekind, src->v[n]);
				cp->v[cp->len++] = src->v[n];
			}
		}
		if ((r = fut_new(t, FUT_JOIN, VK_ARRAY, 0, &fu)) != SC_OK) {
			if (cp != NULL)
				obj_unref(&cp->h.o);
			break;
		}
		fu->jkind = (uint8_t)INS_C(i);
		fu->child = cp != NULL ? &cp->h.o : NULL;
		break;
	}
	case OP_MKTIMEOUT:
		if ((r = fut_new(t, FUT_TIMEOUT, INS_C(i), 0, &fu)) == SC_OK) {
			fu->child = regs[a + 1].o;
			fu->ms = regs[a + 2].i;
			fu->fallback = regs[a + 3];
			regs[a + 1].o = NULL;
			regs[a + 3].i = 0;
		}
		break;
	default:
		return sc_errorf(&vm->err, SC_EBADMOD, "bad op");
	}
	if (r != SC_OK)
		return vm_err_mem(vm, t, r);
	set_ref(vm, a, &fu->h.o);
	return VM_CONT;
move_args:
	memcpy(fu->args, regs + a + 1, (size_t)fu->nargs * sizeof(*regs));
	memset(regs + a + 1, 0, (size_t)fu->nargs * sizeof(*regs));
	set_ref(vm, a, &fu->h.o);
	return VM_CONT;
}

int
vm_op_spawn(struct vm *vm, struct task *t, uint32_t i)
{
	struct vfut *fu = (struct vfut *)top_regs(vm)[INS_B(i)].o;
	struct task *c;
	int r;

	if (fu == NULL || fu->state != FUT_FRESH)
		return sc_errorf(&vm->err, SC_ERUNTIME,
		    "future already awaited or spawned");
	if ((r = sched_spawn(vm->s, t, fu, 0, &c)) != SC_OK)	/* err set */
		return r == SC_ELIMIT ? r : vm_err_mem(vm, t, r);
	fu->state = FUT_USED;
	set_ref(vm, INS_A(i), &c->o);
	return VM_CONT;
}

int
vm_op_cancel(struct vm *vm, struct task *t, uint32_t i)
{
	union value *regs = top_regs(vm);
	struct task *c = (struct task *)regs[INS_B(i)].o;
	bool live = c != NULL && !task_state_ended(c->state);

	if (live && c == t)
		t->flags |= TF_CANCEL;	/* fails at its next stop */
	else if (live)
		sched_kill(vm->s, c, TASK_CANCELLED, "task cancelled");
	regs[INS_A(i)].i = live;
	return VM_CONT;
}

static const struct vstr *
str_at(union value *regs, unsigned r)
{
	static const struct vstr empty;

	return regs[r].o != NULL ? (const struct vstr *)regs[r].o : &empty;
}

static int
new_str(struct vm *vm, struct task *t, unsigned a, const char *s, size_t len)
{
	struct vstr *v;
	int r;

	if ((r = str_new(t, s, len, &v)) != SC_OK)
		return vm_err_mem(vm, t, r);
	set_ref(vm, a, &v->h.o);
	vm->work += (uint32_t)(len / VM_WORK_BYTES);
	return VM_CONT;
}

/* TOSTR STOI STOF CONCAT */
int
vm_op_str(struct vm *vm, struct task *t, uint32_t i)
{
	union value *regs = top_regs(vm);
	unsigned a = INS_A(i), b = INS_B(i);
	const struct vstr *s = str_at(regs, b);
	struct sbuf sb = { 0 };
	struct vstr *v;
	int r;

	switch (INS_OP(i)) {
	case OP_TOSTR:
		sb.max = t->mem.limit > t->mem.used ?
		    t->mem.limit - t->mem.used : 0;
		value_format(&sb, INS_C(i), regs[b]);
		if (sb.err != 0) {
			sbuf_free(&sb);
			return vm_err_mem(vm, t, sb.err);
		}
		r = new_str(vm, t, a, sb.p != NULL ? sb.p : "", sb.len);
		sbuf_free(&sb);
		return r;
	case OP_STOI:
		if (!value_parse_int(s->s, s->len, &regs[a].i))
			return sc_errorf(&vm->err, SC_ERUNTIME,
			    "cannot convert \"%.200s\" to int", s->s);
		return VM_CONT;
	case OP_STOF:
		if (!value_parse_float(s->s, s->len, &regs[a].f))
			return sc_errorf(&vm->err, SC_ERUNTIME,
			    "cannot convert \"%.200s\" to float", s->s);
		return VM_CONT;
	case OP_CONCAT:
		if ((r = str_concat(t, s, str_at(regs, INS_C(i)), &v)) != SC_OK)
			return vm_err_mem(vm, t, r);
		set_ref(vm, a, &v->h.o);
		vm->work += v->len / VM_WORK_BYTES;
		return VM_CONT;
	}
	return sc_errorf(&vm->err, SC_EBADMOD, "bad op");
}

static int
bounds(struct vm *vm, int64_t ix, uint32_t len)
{
	return sc_errorf(&vm->err, SC_ERUNTIME,
	    "index %lld out of bounds (length %u)", (long long)ix, len);
}

/* GETIDX SETIDX PUSH POP, and their failures */
int
vm_op_arr(struct vm *vm, struct task *t, uint32_t i)
{
	const struct mod_fn *fn = top(vm)->fn;
	union value *regs = top_regs(vm);
	unsigned a = INS_A(i), b = INS_B(i), c = INS_C(i);
	struct varr *arr;
	union value v;
	int r;

	switch (INS_OP(i)) {
	case OP_GETIDX:
		if ((arr = (struct varr *)regs[b].o) == NULL)
			break;
		if (arr->h.o.ekind != fn->reg_kinds[a])
			return kind_mismatch(vm, "array element",
			    arr->h.o.ekind, fn->reg_kinds[a]);
		if ((uint64_t)regs[c].i >= arr->len)
			return bounds(vm, regs[c].i, arr->len);
		v = arr->v[regs[c].i];
		val_ref(fn->reg_kinds[a], v);
		val_release(fn->reg_kinds[a], regs[a]);
		regs[a] = v;
		return VM_CONT;
	case OP_SETIDX:
		if ((arr = (struct varr *)regs[a].o) == NULL)
			break;
		if (arr->h.o.ekind != fn->reg_kinds[c])
			return kind_mismatch(vm, "stored value",
			    fn->reg_kinds[c], arr->h.o.ekind);
		if ((uint64_t)regs[b].i >= arr->len)
			return bounds(vm, regs[b].i, arr->len);
		v = regs[c];
		val_ref(arr->h.o.ekind, v);
		val_release(arr->h.o.ekind, arr->v[regs[b].i]);
		arr->v[regs[b].i] = v;
		return VM_CONT;
	case OP_PUSH:
		if ((arr = (struct varr *)regs[a].o) == NULL)
			break;
		if (arr->h.o.ekind != fn->reg_kinds[b])
			return kind_mismatch(vm, "pushed value",
			    fn->reg_kinds[b], arr->h.o.ekind);
		v = regs[b];
		val_ref(arr->h.o.ekind, v);
		if ((r = arr_push(t, arr, v)) != SC_OK) {
			val_release(arr->h.o.ekind, v);
			if (r == SC_ELIMIT && arr->h.owner != t)
				return sc_errorf(&vm->err, r, "task memory "
				    "limit (%zu bytes) exceeded",
				    arr->h.owner->mem.limit);
			return vm_err_mem(vm, t, r);
		}
		return VM_CONT;
	case OP_POP:
		if ((arr = (struct varr *)regs[b].o) == NULL)
			break;
		if (arr->h.o.ekind != fn->reg_kinds[a])
			return kind_mismatch(vm, "array element",
			    arr->h.o.ekind, fn->reg_kinds[a]);
		if (arr->len == 0)
			return sc_errorf(&vm->err, SC_ERUNTIME,
			    "pop from empty array");
		v = arr->v[--arr->len];
		val_release(fn->reg_kinds[a], regs[a]);
		regs[a] = v;
		return VM_CONT;
	case OP_LEN:
		break;
	}
	return sc_errorf(&vm->err, SC_ERUNTIME, "use of an empty array");
}

int
vm_op_print(struct vm *vm, struct task *t, uint32_t i)
{
	const struct vstr *s = str_at(top_regs(vm), INS_A(i));
	int stream = INS_B(i) == 2 ? OUT_STDERR : OUT_STDOUT;

	sched_output(t->job, stream, s->s, s->len);
	if (INS_B(i) != 0)
		sched_output(t->job, stream, "\n", 1);
	vm->work += s->len / VM_WORK_BYTES;
	return VM_CONT;
}

/* ASSERT ASSERTM PANIC: fail the task with the message. */
/*
 * A program's own text in a failure message (panic, assert). The message
 * is one line of a C string and the trace's lines follow it: a NUL,
 * newline or CR in the text (panic("a\nb")) is written escaped, so it
 * neither cuts the message nor passes for a trace line.
 */
static void
add_text(struct sbuf *b, const char *s, size_t len)
{
	size_t run;

	while (len > 0) {
		for (run = 0; run < len && s[run] != '\0' && s[run] != '\n' &&
		    s[run] != '\r'; run++)
			;
		sbuf_add(b, s, run);
		if (run == len)
			break;
		sbuf_add(b, s[run] == '\0' ? "\\0" : s[run] == '\n' ? "\\n" :
		    "\\r", 2);
		s += run + 1;
		len -= run + 1;
	}
}

int
vm_op_fail(struct vm *vm, struct task *t, uint32_t i)
{
	union value *regs = top_regs(vm);
	struct sbuf b = { .max = ERROR_TEXT_MAX };
	int r;

	switch (INS_OP(i)) {
	case OP_ASSERT:
		sbuf_add(&b, "assertion failed", 16);
		break;
	case OP_ASSERTM:
		sbuf_add(&b, "assertion failed: ", 18);
		add_text(&b, str_at(regs, INS_B(i))->s,
		    str_at(regs, INS_B(i))->len);
		break;
	default:
		sbuf_add(&b, "panic: ", 7);
		add_text(&b, str_at(regs, INS_A(i))->s,
		    str_at(regs, INS_A(i))->len);
		break;
	}
	r = vm_fail(vm, t, TASK_FAILED, b.p != NULL ? b.p : "out of memory",
	    b.p != NULL ? b.len : 13);
	sbuf_free(&b);
	return r;
}

int
vm_op_ftoi(struct vm *vm, struct task *t, uint32_t i)
{
	union value *regs = top_regs(vm);
	double d = regs[INS_B(i)].f;
	char buf[FLOAT_FMT_MAX];

	if (isnan(d))
		return sc_errorf(&vm->err, SC_ERUNTIME,
		    "float NaN cannot be converted to int");
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
		value_fmt_float(d, buf);
		return sc_errorf(&vm->err, SC_ERUNTIME,
		    "float %.60s%s out of int range", buf,
		    strlen(buf) > 60 ? "..." : "");
	}
	regs[INS_A(i)].i = (int64_t)d;
	return VM_CONT;
}

/*
 * Snapshot restore support (daemon/snapshot.c): give t (not running,
 * nothing saved) the suspended state of nframes frames, outermost first,
 * at function fns[i], state states[i] (both checked by the caller against
 * the module), with the live values vals[0 .. nvals) in frame order. The
 * values move in on success; on SC_ENOMEM/SC_ELIMIT (t's budget) nothing
 * changed and the caller still owns them.
 */
int
vm_susp_restore(struct task *t, uint32_t nframes, const uint32_t *fns,
    const uint32_t *states, const union value *vals, uint32_t nvals)
{
	struct susp *s = NULL;
	size_t size = susp_size(nframes, nvals);

	if (nframes > 0) {
		if ((s = mem_alloc(&t->mem, NULL, 0, size)) == NULL)
			return mem_fail_code(&t->mem, size);
		s->nframes = nframes;
		s->nvals = nvals;
		for (uint32_t n = 0; n < nframes; n++) {
			s->f[n].fn = fns[n];
			s->f[n].state = states[n];
		}
		memcpy(susp_vals(s), vals, (size_t)nvals * sizeof(*vals));
	}
	t->saved = s;
	t->saved_kind = SAVED_SUSP;
	return SC_OK;
}
