/*
 * The dispatch loop. Written once with VM_CASE/VM_NEXT: computed goto when
 * SCRIPTD_COMPUTED_GOTO, else a switch. pc, regs and the constants stay in
 * locals; the frame's pc is saved (SAVEPC) before anything that can fail,
 * suspend or call out. Facts the verifier proved (operand ranges, register
 * kinds, jump targets, call arity) are not checked again. Fuel is charged on
 * back-edges and calls only. Slow paths live in vm_ops.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched.h"
#include "vm.h"

void
vm_limits_default(struct vm_limits *lim)
{
	lim->live_tasks = 10000;
	lim->task_timeout_ms = 300 * 1000;
	lim->task_mem = 10u << 20;
	lim->call_depth = 200;
	lim->fuel = 10000;
	lim->sleep_max_ms = 30LL * 24 * 3600 * 1000;
	lim->tenant_tasks = 0;
	lim->tenant_timers = 0;
	lim->tenant_mem = 0;
}

int
vm_init(struct vm *vm, const struct vm_limits *lim, struct sched *s)
{
	memset(vm, 0, sizeof(*vm));
	vm->lim = lim;
	vm->s = s;
	vm->capframes = lim->call_depth + 1;
	if ((vm->frames = calloc(vm->capframes, sizeof(*vm->frames))) == NULL)
		return SC_ENOMEM;
	return vm_reserve(vm, 256);
}

void
vm_free(struct vm *vm)
{
	free(vm->regs);
	free(vm->frames);
	vm->regs = NULL;
	vm->frames = NULL;
	vm->capregs = vm->capframes = 0;
}

/* Grow the shared register stack to hold nregs (uncharged: the frames in
 * it are charged to the running task by vm_push). */
int
vm_reserve(struct vm *vm, uint32_t nregs)
{
	uint32_t ncap = vm->capregs ? vm->capregs : 256;
	union value *r;

	if (nregs <= vm->capregs)
		return SC_OK;
	while (ncap < nregs)
		ncap *= 2;
	if ((r = realloc(vm->regs, (size_t)ncap * sizeof(*r))) == NULL)
		return SC_ENOMEM;
	vm->regs = r;
	vm->capregs = ncap;
	return SC_OK;
}

static size_t
frame_cost(const struct mod_fn *fn)
{
	return fn->nregs * sizeof(union value) + sizeof(struct frame);
}

/* Push a frame of fn with zeroed registers; NULL with vm->err set. */
static inline union value *
push(struct vm *vm, struct task *t, const struct mod_fn *fn)
{
	uint32_t base = vm->top, n = fn->nregs;
	size_t cost = frame_cost(fn);
	struct frame *fr;
	union value *nr;

	if (SC_UNLIKELY(vm->nframes >= vm->lim->call_depth)) {
		sc_errorf(&vm->err, SC_ELIMIT, "call depth limit (%u) exceeded",
		    vm->lim->call_depth);
		return NULL;
	}
	if (SC_UNLIKELY(base + n > vm->capregs) &&
	    vm_reserve(vm, base + n) != SC_OK) {
		vm_err_mem(vm, t, SC_ENOMEM);
		return NULL;
	}
	if (SC_UNLIKELY(cost > t->mem.limit - t->mem.used ||
	    t->mem.used > t->mem.limit)) {
		vm_err_mem(vm, t, SC_ELIMIT);
		return NULL;
	}
	t->mem.used += cost;
	nr = vm->regs + base;
	for (uint32_t r = 0; r < n; r++)
		nr[r].i = 0;
	fr = &vm->frames[vm->nframes++];
	fr->fn = fn;
	fr->pc = 0;
	fr->base = base;
	vm->top = base + n;
	return nr;
}

union value *
vm_push(struct vm *vm, struct task *t, const struct mod_fn *fn)
{
	return push(vm, t, fn);
}

/* Pop the top frame, releasing its references. */
static inline void
pop(struct vm *vm, struct task *t)
{
	const struct frame *fr = &vm->frames[--vm->nframes];
	const struct mod_fn *fn = fr->fn;
	const struct prog *p = t->job->prog;

	if (p->has_refs[fn - p->m->fns]) {
		union value *r = vm->regs + fr->base;

		for (uint32_t n = 0; n < fn->nregs; n++)
			val_release(fn->reg_kinds[n], r[n]);
	}
	t->mem.used -= frame_cost(fn);
	vm->top = fr->base;
}

void
vm_pop(struct vm *vm, struct task *t)
{
	pop(vm, t);
}

/* Compare two strings, owing fuel for the bytes compared (vm->work). */
static int
scmp(struct vm *vm, const struct obj *x, const struct obj *y)
{
	const struct vstr *a = (const struct vstr *)x;
	const struct vstr *b = (const struct vstr *)y;
	uint32_t la = a ? a->len : 0, lb = b ? b->len : 0;
	uint32_t n = la < lb ? la : lb;
	int c = n != 0 ? memcmp(a->s, b->s, n) : 0;

	vm->work += n / VM_WORK_BYTES;
	return c != 0 ? c : (la > lb) - (la < lb);
}

static bool
seq(struct vm *vm, const struct obj *x, const struct obj *y)
{
	const struct vstr *a = (const struct vstr *)x;
	const struct vstr *b = (const struct vstr *)y;
	uint32_t la = a ? a->len : 0, lb = b ? b->len : 0;

	if (la != lb)
		return false;
	vm->work += la / VM_WORK_BYTES;
	return la == 0 || memcmp(a->s, b->s, la) == 0;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#if SCRIPTD_COMPUTED_GOTO
#define VM_SWITCH(o)	goto *labels[o];
#define VM_CASE(n)	L_##n
#define VM_NEXT		do { i = *pc++; goto *labels[INS_OP(i)]; } while (0)
#else
#define VM_SWITCH(o)	switch (o)
#define VM_CASE(n)	case OP_##n
#define VM_NEXT		continue
#endif

#define RA		regs[INS_A(i)]
#define RB		regs[INS_B(i)]
#define RC		regs[INS_C(i)]
#define SAVEPC()	(f->pc = (uint32_t)(pc - code))
#define RELOAD()	do { \
	f = &vm->frames[vm->nframes - 1]; \
	code = f->fn->code; \
	pc = code + f->pc; \
	regs = vm->regs + f->base; \
} while (0)
/* Run a slow path; stop if the task stopped or failed. */
#define SLOW(call)	do { \
	SAVEPC(); \
	if ((r = (call)) != VM_CONT) \
		goto stop; \
	RELOAD(); \
	if (vm->work != 0 && (fuel -= (int32_t)vm->work, vm->work = 0, \
	    fuel <= 0)) \
		goto preempt;	/* it copied a lot: the slice is over */ \
} while (0)
#define FAIL(m)		do { msg = (m); goto fail; } while (0)
/* Charge the work of an inline op; the next back-edge or call checks. */
#define PAY_WORK()	do { fuel -= (int32_t)vm->work; vm->work = 0; } while (0)
#define BACK(off)	do { \
	pc += (off); \
	if ((off) < 0 && --fuel <= 0) \
		goto preempt; \
} while (0)

static int
exec(struct vm *vm, struct task *t, int32_t fuel)
{
	const struct mod_fn *fns = t->job->prog->m->fns;
	const union value *k = t->job->prog->k;
	const uint8_t *has_refs = t->job->prog->has_refs;
	struct frame *f;
	const uint32_t *code, *pc;
	union value *regs, res;
	const char *msg;
	uint32_t i;
	int r;
#if SCRIPTD_COMPUTED_GOTO
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
#pragma GCC diagnostic ignored "-Wpedantic"
	static const void *const labels[256] = {
		[0 ... 255] = &&L__bad,
#define OP(name, fmt, a, b, c, sem)	[OP_##name] = &&L_##name,
#include "op.def"
#undef OP
	};
#pragma GCC diagnostic pop
#endif

	vm->work = 0;		/* a failed op may have left a debt */
	RELOAD();
	for (;;) {
		i = *pc++;
		VM_SWITCH(INS_OP(i)) {
		VM_CASE(MOVE):
			RA = RB;
			VM_NEXT;
		VM_CASE(MOVER): {
			struct obj *o = RB.o;

			if (o != NULL)
				o->refs++;
			obj_unref(RA.o);
			RA.o = o;
			VM_NEXT;
		}
		VM_CASE(LOADI):
			RA.i = INS_SBX(i);
			VM_NEXT;
		VM_CASE(LOADK):
			RA = k[INS_BX(i)];
			VM_NEXT;
		VM_CASE(LOADS): {
			struct obj *o = k[INS_BX(i)].o;

			o->refs++;
			obj_unref(RA.o);
			RA.o = o;
			VM_NEXT;
		}
		VM_CASE(LOADB):
			RA.i = INS_B(i) != 0;
			VM_NEXT;
		VM_CASE(LOADU):
			RA.i = 0;
			VM_NEXT;
		VM_CASE(NEWARR):
			SLOW(vm_op_mk(vm, t, i));
			VM_NEXT;
		VM_CASE(ADD):
			if (SC_UNLIKELY(__builtin_add_overflow(RB.i, RC.i, &RA.i)))
				FAIL("integer overflow");
			VM_NEXT;
		VM_CASE(ADDI):
			if (SC_UNLIKELY(__builtin_add_overflow(RB.i,
			    (int64_t)INS_SC(i), &RA.i)))
				FAIL("integer overflow");
			VM_NEXT;
		VM_CASE(SUB):
			if (SC_UNLIKELY(__builtin_sub_overflow(RB.i, RC.i, &RA.i)))
				FAIL("integer overflow");
			VM_NEXT;
		VM_CASE(MUL):
			if (SC_UNLIKELY(__builtin_mul_overflow(RB.i, RC.i, &RA.i)))
				FAIL("integer overflow");
			VM_NEXT;
		VM_CASE(DIV):
			if (SC_UNLIKELY(RC.i == 0))
				FAIL("division by zero");
			if (SC_UNLIKELY(RC.i == -1 && RB.i == INT64_MIN))
				FAIL("integer overflow");
			RA.i = RB.i / RC.i;
			VM_NEXT;
		VM_CASE(MOD):
			if (SC_UNLIKELY(RC.i == 0))
				FAIL("modulo by zero");
			RA.i = RC.i == -1 ? 0 : RB.i % RC.i;
			VM_NEXT;
		VM_CASE(NEG):
			if (SC_UNLIKELY(__builtin_sub_overflow((int64_t)0, RB.i,
			    &RA.i)))
				FAIL("integer overflow");
			VM_NEXT;
		VM_CASE(FADD):
			RA.f = RB.f + RC.f;
			VM_NEXT;
		VM_CASE(FSUB):
			RA.f = RB.f - RC.f;
			VM_NEXT;
		VM_CASE(FMUL):
			RA.f = RB.f * RC.f;
			VM_NEXT;
		VM_CASE(FDIV):
			RA.f = RB.f / RC.f;
			VM_NEXT;
		VM_CASE(FMOD):
			RA.f = fmod(RB.f, RC.f);
			VM_NEXT;
		VM_CASE(FNEG):
			RA.f = -RB.f;
			VM_NEXT;
		VM_CASE(LT):
			RA.i = RB.i < RC.i;
			VM_NEXT;
		VM_CASE(LE):
			RA.i = RB.i <= RC.i;
			VM_NEXT;
		VM_CASE(EQ):
			RA.i = RB.i == RC.i;
			VM_NEXT;
		VM_CASE(NE):
			RA.i = RB.i != RC.i;
			VM_NEXT;
		VM_CASE(FLT):
			RA.i = RB.f < RC.f;
			VM_NEXT;
		VM_CASE(FLE):
			RA.i = RB.f <= RC.f;
			VM_NEXT;
		VM_CASE(FEQ):
			RA.i = RB.f == RC.f;
			VM_NEXT;
		VM_CASE(FNE):
			RA.i = RB.f != RC.f;
			VM_NEXT;
		VM_CASE(SLT):
			RA.i = scmp(vm, RB.o, RC.o) < 0;
			PAY_WORK();
			VM_NEXT;
		VM_CASE(SLE):
			RA.i = scmp(vm, RB.o, RC.o) <= 0;
			PAY_WORK();
			VM_NEXT;
		VM_CASE(SEQ):
			RA.i = seq(vm, RB.o, RC.o);
			PAY_WORK();
			VM_NEXT;
		VM_CASE(SNE):
			RA.i = !seq(vm, RB.o, RC.o);
			PAY_WORK();
			VM_NEXT;
		VM_CASE(NOT):
			RA.i = !RB.i;
			VM_NEXT;
		VM_CASE(ITOF):
			RA.f = (double)RB.i;
			VM_NEXT;
		VM_CASE(FTOI):
			if (SC_LIKELY(RB.f >= -9223372036854775808.0 &&
			    RB.f < 9223372036854775808.0))
				RA.i = (int64_t)RB.f;
			else
				SLOW(vm_op_ftoi(vm, t, i));
			VM_NEXT;
		VM_CASE(TOSTR):
		VM_CASE(STOI):
		VM_CASE(STOF):
		VM_CASE(CONCAT):
			SLOW(vm_op_str(vm, t, i));
			VM_NEXT;
		VM_CASE(JMP):
			BACK(INS_SJ(i));
			VM_NEXT;
		VM_CASE(JMPT):
			if (RA.i)
				BACK(INS_SBX(i));
			VM_NEXT;
		VM_CASE(JMPF):
			if (!RA.i)
				BACK(INS_SBX(i));
			VM_NEXT;
		VM_CASE(GETIDX): {
			const struct varr *a = (const struct varr *)RB.o;

			if (SC_LIKELY(a != NULL && (uint64_t)RC.i < a->len &&
			    !vkind_is_ref(a->h.o.ekind) &&
			    a->h.o.ekind == f->fn->reg_kinds[INS_A(i)]))
				RA = a->v[RC.i];
			else
				SLOW(vm_op_arr(vm, t, i));
			VM_NEXT;
		}
		VM_CASE(SETIDX): {
			struct varr *a = (struct varr *)RA.o;

			if (SC_LIKELY(a != NULL && (uint64_t)RB.i < a->len &&
			    !vkind_is_ref(a->h.o.ekind) &&
			    a->h.o.ekind == f->fn->reg_kinds[INS_C(i)]))
				a->v[RB.i] = RC;
			else
				SLOW(vm_op_arr(vm, t, i));
			VM_NEXT;
		}
		VM_CASE(LEN):
			if (SC_UNLIKELY(RB.o == NULL))
				SLOW(vm_op_arr(vm, t, i));
			RA.i = ((const struct varr *)RB.o)->len;
			VM_NEXT;
		VM_CASE(SLEN):
			RA.i = RB.o ? ((const struct vstr *)RB.o)->len : 0;
			VM_NEXT;
		VM_CASE(PUSH):
		VM_CASE(POP):
			SLOW(vm_op_arr(vm, t, i));
			VM_NEXT;
		VM_CASE(CALL): {
			const struct mod_fn *cf = &fns[INS_BX(i)];
			uint32_t src = f->base + INS_A(i) + 1;
			union value *nr, *ar;

			SAVEPC();
			if (SC_UNLIKELY((nr = push(vm, t, cf)) == NULL))
				goto fail_err;
			ar = vm->regs + src;
			for (uint32_t n = 0; n < cf->nparams; n++) {
				nr[n] = ar[n];
				ar[n].i = 0;
			}
			RELOAD();
			if (--fuel <= 0)
				goto preempt;
			VM_NEXT;
		}
		VM_CASE(RET):
			res = RA;
			if (vkind_is_ref(f->fn->reg_kinds[INS_A(i)]))
				RA.o = NULL;	/* moved out */
			goto ret;
		VM_CASE(RET0):
			res.i = 0;
ret:
			/* pop(), with the program's tables in locals */
			if (has_refs[f->fn - fns])
				for (uint32_t n = 0; n < f->fn->nregs; n++)
					val_release(f->fn->reg_kinds[n], regs[n]);
			t->mem.used -= frame_cost(f->fn);
			vm->top = f->base;
			if (--vm->nframes == 0) {
				if (SC_UNLIKELY(t->flags & TF_CANCEL)) {
					val_release(t->o.ekind, res);
					return vm_fail(vm, t, TASK_CANCELLED,
					    "task cancelled", 14);
				}
				t->result = res;
				t->state = TASK_DONE;
				return VM_ENDED;
			}
			RELOAD();
			r = INS_A(pc[-1]);
			val_release(f->fn->reg_kinds[r], regs[r]);
			regs[r] = res;
			VM_NEXT;
		VM_CASE(MKFUT):
		VM_CASE(MKEXT):
		VM_CASE(MKSLEEP):
		VM_CASE(MKYIELD):
		VM_CASE(MKJOIN):
		VM_CASE(MKTIMEOUT):
			SLOW(vm_op_mk(vm, t, i));
			VM_NEXT;
		VM_CASE(AWAIT):
			SLOW(vm_op_await(vm, t, i));
			VM_NEXT;
		VM_CASE(AWAITT):
			SLOW(vm_op_awaitt(vm, t, i));
			VM_NEXT;
		VM_CASE(SPAWN):
			SLOW(vm_op_spawn(vm, t, i));
			VM_NEXT;
		VM_CASE(CANCEL):
			SLOW(vm_op_cancel(vm, t, i));
			VM_NEXT;
		VM_CASE(PRINT):
			SLOW(vm_op_print(vm, t, i));
			VM_NEXT;
		VM_CASE(ABS):
			if (SC_UNLIKELY(RB.i == INT64_MIN))
				FAIL("integer overflow");
			RA.i = RB.i < 0 ? -RB.i : RB.i;
			VM_NEXT;
		VM_CASE(FABS):
			RA.f = fabs(RB.f);
			VM_NEXT;
		VM_CASE(MIN):
			RA.i = RB.i < RC.i ? RB.i : RC.i;
			VM_NEXT;
		VM_CASE(MAX):
			RA.i = RB.i > RC.i ? RB.i : RC.i;
			VM_NEXT;
		VM_CASE(FMIN):
			RA.f = fmin(RB.f, RC.f);
			VM_NEXT;
		VM_CASE(FMAX):
			RA.f = fmax(RB.f, RC.f);
			VM_NEXT;
		VM_CASE(SQRT):
			RA.f = sqrt(RB.f);
			VM_NEXT;
		VM_CASE(NOWMS):
			RA.i = wall_ms();
			VM_NEXT;
		VM_CASE(ASSERT):
			if (SC_UNLIKELY(!RA.i))
				SLOW(vm_op_fail(vm, t, i));
			VM_NEXT;
		VM_CASE(ASSERTM):
			if (SC_UNLIKELY(!RA.i))
				SLOW(vm_op_fail(vm, t, i));
			VM_NEXT;
		VM_CASE(PANIC):
			SLOW(vm_op_fail(vm, t, i));
			VM_NEXT;
#if SCRIPTD_COMPUTED_GOTO
		L__bad:
#else
		default:
#endif
			FAIL("invalid instruction");
		}
	}

preempt:
	SAVEPC();
	return vm_park(vm, t);
fail:
	SAVEPC();
	return vm_fail(vm, t, TASK_FAILED, msg, strlen(msg));
fail_err:
	return vm_fail(vm, t, TASK_FAILED, vm->err.msg, strlen(vm->err.msg));
stop:
	if (r < 0)
		return vm_fail(vm, t, TASK_FAILED, vm->err.msg,
		    strlen(vm->err.msg));
	return r;
}

int
vm_run(struct vm *vm, struct task *t, int32_t fuel)
{
	int r;

	vm->cur = t;
	t->state = TASK_RUNNING;
	r = vm_resume(vm, t);
	if (r == VM_CONT)
		r = exec(vm, t, fuel);
	vm->cur = NULL;
	return r;
}

/* Prepare a verified module: constants as values, per-function facts. */
int
prog_new(const struct module *m, void (*mfree)(struct module *),
    struct prog **pp, struct sc_error *err)
{
	struct prog *p;

	*pp = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->k = calloc(m->nconsts + 1, sizeof(*p->k))) == NULL ||
	    (p->has_refs = calloc(m->nfns + 1, 1)) == NULL)
		goto nomem;
	p->m = m;
	p->refs = 1;
	for (uint32_t n = 0; n < m->nconsts; n++) {
		const struct mod_const *c = &m->consts[n];

		if (c->kind == CONST_INT)
			p->k[n].i = c->u.i;
		else if (c->kind == CONST_FLOAT)
			p->k[n].f = c->u.f;
		else {
			struct vstr *v = str_const(c->u.s.ptr, c->u.s.len);

			if (v == NULL)
				goto nomem;
			p->k[n].o = &v->h.o;
		}
	}
	for (uint32_t n = 0; n < m->nfns; n++)
		for (uint32_t r = 0; r < m->fns[n].nregs; r++)
			if (vkind_is_ref(m->fns[n].reg_kinds[r]))
				p->has_refs[n] = 1;
	p->mfree = mfree;
	*pp = p;
	return SC_OK;
nomem:
	if (p != NULL) {
		p->m = m;
		p->refs = 1;		/* so prog_unref frees what there is */
	}
	prog_unref(p);
	return sc_errorf(err, SC_ENOMEM, "out of memory preparing module");
}

void
prog_ref(struct prog *p)
{
	p->refs++;
}

void
prog_unref(struct prog *p)
{
	if (p == NULL || --p->refs > 0)
		return;
	if (p->k != NULL)
		for (uint32_t n = 0; n < p->m->nconsts; n++)
			if (p->m->consts[n].kind == CONST_STRING)
				str_const_free((struct vstr *)p->k[n].o);
	free(p->k);
	free(p->has_refs);
	if (p->mfree != NULL)
		p->mfree((struct module *)p->m);
	free(p);
}
