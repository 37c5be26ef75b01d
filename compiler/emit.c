/*
 * The emitter: walks the checked AST and writes register bytecode.
 *
 * Registers are typed (op.def), so the allocator keeps one kind per register
 * for the whole function and reuses a free register of the same kind before
 * adding one. Locals own their register for their scope; temporaries are
 * released as soon as their value is consumed. A subexpression is always
 * evaluated into a temporary or read from a local, and only the outermost
 * instruction writes the destination, so `x = x + 1` may target x directly;
 * forms that write their destination early (&&, ||, if, blocks, arrays) are
 * evaluated into a temporary first when assigned to an existing variable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "async.h"
#include "check.h"
#include "diag.h"
#include "emit.h"
#include "lex.h"
#include "modio.h"
#include "op.h"
#include "sha256.h"

#define ANY	(-1)		/* result in any register (maybe a local's) */
#define NONE	(-2)		/* no result wanted */

enum reg_state { REG_FREE, REG_TEMP, REG_LOCAL };

struct loop {
	struct loop *outer;
	uint32_t *breaks;		/* JMPs to patch to the exit */
	unsigned nbreaks, capbreaks;
	uint32_t *conts;		/* JMPs to patch to the continue target */
	unsigned nconts, capconts;
};

struct emitter {
	struct arena *a;
	struct diags *d;
	struct checked *ck;
	struct module *m;		/* being built */
	struct fnb *fnb;		/* reused for every function */
	struct mod_const *consts;	/* constant pool */
	unsigned nconsts, capconsts;
	uint32_t *ktab;			/* hash table of constant index + 1 */
	unsigned kcap;			/* slots in ktab, a power of two */
};

/* The function being built. */
struct fnb {
	struct emitter *e;
	struct sym *sym;		/* the function */
	uint8_t kinds[FUNCTION_REGS_MAX];	/* enum vkind per register */
	uint8_t state[FUNCTION_REGS_MAX];	/* enum reg_state */
	const char *names[FUNCTION_REGS_MAX];	/* debug names */
	unsigned nregs;
	uint32_t *code;			/* instructions */
	uint32_t *lines;		/* source line per instruction */
	unsigned ncode, capcode, caplines;
	struct mod_state *states;	/* one per AWAIT, in pc order */
	unsigned nstates, capstates;
	uint32_t line;			/* line for the next instruction */
	struct loop *loop;		/* innermost loop */
	bool failed;			/* a limit error was recorded */
};

static int expr(struct fnb *b, struct node *n, int dst);

/* Registers */

static int
vk(const struct type *t)
{
	if (t == NULL)
		return VK_UNIT;
	switch (t->kind) {
	case TY_INT:	return VK_INT;
	case TY_FLOAT:	return VK_FLOAT;
	case TY_BOOL:	return VK_BOOL;
	case TY_STRING:	return VK_STRING;
	case TY_PTR:	return VK_PTR;
	case TY_ARRAY:	return VK_ARRAY;
	case TY_FUTURE:	return VK_FUTURE;
	case TY_TASK:	return VK_TASK;
	}
	return VK_UNIT;
}

static bool
too_many(struct fnb *b)
{
	if (!b->failed)
		diag_error(b->e->d, b->sym->pos, "function '%s' needs more "
		    "than %u registers: split it into smaller functions",
		    b->sym->name, FUNCTION_REGS_MAX);
	b->failed = true;
	return false;
}

/* A free register of kind k, marked as a temporary. Register 0 on failure
 * (the error is recorded and the module is discarded). */
static int
temp(struct fnb *b, int k)
{
	for (unsigned r = 0; r < b->nregs; r++)
		if (b->state[r] == REG_FREE && b->kinds[r] == k) {
			b->state[r] = REG_TEMP;
			return (int)r;
		}
	if (b->nregs >= FUNCTION_REGS_MAX)
		return too_many(b), 0;
	b->kinds[b->nregs] = (uint8_t)k;
	b->state[b->nregs] = REG_TEMP;
	return (int)b->nregs++;
}

/* n + 1 consecutive temporaries with kinds ks[0..n]: a call window. */
static int
window(struct fnb *b, const uint8_t *ks, unsigned n)
{
	unsigned r, j;

	for (r = 0; r <= b->nregs; r++) {
		for (j = 0; j <= n && r + j < b->nregs; j++)
			if (b->state[r + j] != REG_FREE ||
			    b->kinds[r + j] != ks[j])
				break;
		if (j > n || r + j == b->nregs)
			break;
	}
	if (r + n >= FUNCTION_REGS_MAX)
		return too_many(b), 0;
	for (j = 0; j <= n; j++) {
		b->kinds[r + j] = ks[j];
		b->state[r + j] = REG_TEMP;
	}
	if (r + n + 1 > b->nregs)
		b->nregs = r + n + 1;
	return (int)r;
}

static void
release(struct fnb *b, int r)
{
	if (r >= 0 && b->state[r] == REG_TEMP)
		b->state[r] = REG_FREE;
}

/* Code */

static uint32_t
emit(struct fnb *b, uint32_t ins)
{
	if (b->ncode >= FUNCTION_CODE_MAX) {
		if (!b->failed)
			diag_error(b->e->d, b->sym->pos, "function '%s' is "
			    "too long (more than %u instructions)",
			    b->sym->name, FUNCTION_CODE_MAX);
		b->failed = true;
		return 0;
	}
	if (!arena_grow(b->e->a, (void **)&b->code, sizeof(*b->code),
	    b->ncode, &b->capcode) ||
	    !arena_grow(b->e->a, (void **)&b->lines, sizeof(*b->lines),
	    b->ncode, &b->caplines)) {
		b->failed = true;
		return 0;
	}
	b->code[b->ncode] = ins;
	b->lines[b->ncode] = b->line;
	return b->ncode++;
}

static uint32_t
abc(struct fnb *b, int op, int a, int bb, int c)
{
	return emit(b, ins_abc((unsigned)op, (unsigned)a, (unsigned)bb,
	    (unsigned)c));
}

/* Point the jump at pc to target. */
static void
patch(struct fnb *b, uint32_t pc, uint32_t target)
{
	int64_t off = (int64_t)target - ((int64_t)pc + 1);
	uint32_t ins;

	if (b->failed || pc >= b->ncode)
		return;
	ins = b->code[pc];
	if (INS_OP(ins) == OP_JMP) {
		b->code[pc] = ins_sj(OP_JMP, (int)off);
		return;
	}
	if (off < SBX_MIN || off > SBX_MAX) {
		diag_error(b->e->d, b->sym->pos, "function '%s': a branch "
		    "spans more than %d instructions: split the function",
		    b->sym->name, SBX_MAX);
		b->failed = true;
		return;
	}
	b->code[pc] = ins_asbx(INS_OP(ins), INS_A(ins), (int)off);
}

static uint32_t
jump(struct fnb *b)
{
	return emit(b, ins_sj(OP_JMP, 0));
}

static uint32_t
branch(struct fnb *b, int op, int reg)
{
	return emit(b, ins_asbx((unsigned)op, (unsigned)reg, 0));
}

static void
jump_to(struct fnb *b, uint32_t target)
{
	patch(b, jump(b), target);
}

static bool
push_pc(struct fnb *b, uint32_t **v, unsigned *n, unsigned *cap,
    uint32_t pc)
{
	if (!arena_grow(b->e->a, (void **)v, sizeof(**v), *n, cap)) {
		b->failed = true;
		return false;
	}
	(*v)[(*n)++] = pc;
	return true;
}

/* Constants */

static uint32_t
khash(const struct mod_const *k)
{
	uint32_t h = 2166136261u ^ k->kind;
	const unsigned char *p;
	size_t n;

	if (k->kind == CONST_STRING) {
		p = (const unsigned char *)k->u.s.ptr;
		n = k->u.s.len;
	} else {
		p = (const unsigned char *)&k->u.i;
		n = sizeof(k->u.i);
	}
	while (n-- > 0)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static bool
ksame(const struct mod_const *x, const struct mod_const *y)
{
	if (x->kind != y->kind)
		return false;
	if (x->kind == CONST_STRING)
		return x->u.s.len == y->u.s.len &&
		    memcmp(x->u.s.ptr, y->u.s.ptr, x->u.s.len) == 0;
	return x->u.i == y->u.i;	/* floats by bits: -0.0 is not 0.0 */
}

static bool
krehash(struct emitter *e)
{
	unsigned cap = e->kcap == 0 ? 64 : e->kcap * 2;
	uint32_t *tab = arena_alloc(e->a, cap * sizeof(*tab));

	if (tab == NULL)
		return false;
	for (unsigned i = 0; i < e->nconsts; i++) {
		unsigned s = khash(&e->consts[i]) & (cap - 1);

		while (tab[s] != 0)
			s = (s + 1) & (cap - 1);
		tab[s] = i + 1;
	}
	e->ktab = tab;
	e->kcap = cap;
	return true;
}

/* Index of constant k in the pool, adding it if new. */
static int
konst(struct fnb *b, const struct mod_const *k)
{
	struct emitter *e = b->e;
	unsigned s;

	if ((e->nconsts + 1) * 2 > e->kcap && !krehash(e))
		goto fail;
	s = khash(k) & (e->kcap - 1);
	for (; e->ktab[s] != 0; s = (s + 1) & (e->kcap - 1))
		if (ksame(&e->consts[e->ktab[s] - 1], k))
			return (int)e->ktab[s] - 1;
	if (e->nconsts >= MODULE_CONSTANTS_MAX) {
		if (!b->failed)
			diag_error(e->d, (struct pos){ b->line, 1 }, "more "
			    "than %u constants in one program",
			    MODULE_CONSTANTS_MAX);
		b->failed = true;
		return 0;
	}
	if (!arena_grow(e->a, (void **)&e->consts, sizeof(*e->consts),
	    e->nconsts, &e->capconsts))
		goto fail;
	e->consts[e->nconsts] = *k;
	e->ktab[s] = e->nconsts + 1;
	return (int)e->nconsts++;
fail:
	b->failed = true;
	return 0;
}

static int
kstring(struct fnb *b, const char *s, uint32_t len)
{
	struct mod_const k = { .kind = CONST_STRING };

	k.u.s.ptr = s;
	k.u.s.len = len;
	return konst(b, &k);
}

/* Results */

static int
target(struct fnb *b, struct node *n, int dst)
{
	return dst >= 0 ? dst : temp(b, vk(n->type));
}

static void
move(struct fnb *b, int dst, int src)
{
	if (dst != src)
		abc(b, vkind_is_ref(b->kinds[src]) ? OP_MOVER : OP_MOVE, dst,
		    src, 0);
}

/* Deliver the value in r as the caller asked (see ANY, NONE). */
static int
deliver(struct fnb *b, int r, int dst)
{
	if (dst == NONE) {
		release(b, r);
		return -1;
	}
	if (dst >= 0 && r != dst) {
		move(b, dst, r);
		release(b, r);
		return dst;
	}
	return r;
}

/* A () result for an expression that computes none. */
static int
unit(struct fnb *b, int dst)
{
	int r;

	if (dst == NONE)
		return -1;
	if (dst >= 0 && b->kinds[dst] != VK_UNIT)
		return dst;	/* the expression never finishes (panic) */
	r = dst >= 0 ? dst : temp(b, VK_UNIT);
	abc(b, OP_LOADU, r, 0, 0);
	return r;
}

/* Does evaluating n assign to a local? Then an operand already read from
 * that local must be copied first. */
static bool
has_assign(const struct node *n)
{
	if (n == NULL)
		return false;
	if (n->kind == N_ASSIGN)
		return true;
	if (has_assign(n->a) || has_assign(n->b) || has_assign(n->c))
		return true;
	for (uint32_t i = 0; i < n->list.n; i++)
		if (has_assign(n->list.items[i]))
			return true;
	return false;
}

/* Evaluate n into some register that stays valid while `later` runs. */
static int
operand(struct fnb *b, struct node *n, const struct node *later)
{
	int r = expr(b, n, ANY);

	if (r >= 0 && b->state[r] == REG_LOCAL && has_assign(later)) {
		int t = temp(b, b->kinds[r]);

		move(b, t, r);
		return t;
	}
	return r;
}

/* Does n write its destination before reading all of its inputs? */
static bool
writes_early(const struct node *n)
{
	switch (n->kind) {
	case N_BINARY:
		return n->op == TOK_ANDAND || n->op == TOK_OROR;
	case N_ARRAY: case N_IF: case N_BLOCK: case N_WHILE: case N_LOOP:
	case N_FOR_RANGE: case N_FOR_EACH: case N_EXPR_STMT:
		return true;
	case N_CAST:		/* a cast to the same type is its operand */
		return writes_early(n->a);
	}
	return false;
}

/* Expressions */

static int
load_int(struct fnb *b, int64_t v, int r)
{
	if (v >= SBX_MIN && v <= SBX_MAX)
		emit(b, ins_asbx(OP_LOADI, (unsigned)r, (int)v));
	else {
		struct mod_const k = { .kind = CONST_INT };

		k.u.i = v;
		emit(b, ins_abx(OP_LOADK, (unsigned)r,
		    (unsigned)konst(b, &k)));
	}
	return r;
}

static int
literal(struct fnb *b, struct node *n, int dst)
{
	struct mod_const k;
	int r;

	if (dst == NONE)
		return -1;
	r = target(b, n, dst);
	switch (n->kind) {
	case N_INT:
		return load_int(b, n->ival, r);
	case N_FLOAT:
		k.kind = CONST_FLOAT;
		k.u.f = n->fval;
		emit(b, ins_abx(OP_LOADK, (unsigned)r, (unsigned)konst(b, &k)));
		return r;
	case N_STRING:
		emit(b, ins_abx(OP_LOADS, (unsigned)r,
		    (unsigned)kstring(b, n->str, n->len)));
		return r;
	case N_BOOL:
		abc(b, OP_LOADB, r, n->ival != 0, 0);
		return r;
	}
	abc(b, OP_LOADU, r, 0, 0);
	return r;
}

/* R[r] shown as a string: r itself if it is one, else a TOSTR temp. */
static int
to_string(struct fnb *b, int r)
{
	int s;

	if (b->kinds[r] == VK_STRING)
		return r;
	s = temp(b, VK_STRING);
	abc(b, OP_TOSTR, s, r, b->kinds[r]);
	release(b, r);
	return s;
}

static int
array(struct fnb *b, struct node *n, int dst)
{
	int r = target(b, n, dst < 0 ? ANY : dst);
	uint32_t cap = n->list.n > 255 ? 255 : n->list.n;

	abc(b, OP_NEWARR, r, (int)cap, vk(n->type->elem));
	for (uint32_t i = 0; i < n->list.n; i++) {
		int x = expr(b, n->list.items[i], ANY);

		b->line = n->pos.line;
		abc(b, OP_PUSH, r, x, 0);
		release(b, x);
	}
	return deliver(b, r, dst);
}

static int
unary(struct fnb *b, struct node *n, int dst)
{
	int x = expr(b, n->a, ANY), r, op;

	if (n->op == TOK_BANG)
		op = OP_NOT;
	else
		op = n->type->kind == TY_FLOAT ? OP_FNEG : OP_NEG;
	release(b, x);
	r = target(b, n, dst < 0 ? ANY : dst);
	b->line = n->pos.line;
	abc(b, op, r, x, 0);
	return deliver(b, r, dst);
}

static int
logical(struct fnb *b, struct node *n, int dst)
{
	int r = target(b, n, dst < 0 ? ANY : dst);
	uint32_t j;

	expr(b, n->a, r);
	b->line = n->pos.line;
	j = branch(b, n->op == TOK_ANDAND ? OP_JMPF : OP_JMPT, r);
	expr(b, n->b, r);
	patch(b, j, b->ncode);
	return deliver(b, r, dst);
}

static int
concat(struct fnb *b, struct node *n, int dst)
{
	int l = to_string(b, operand(b, n->a, n->b));
	int rr = to_string(b, expr(b, n->b, ANY));
	int r;

	release(b, l);
	release(b, rr);
	r = target(b, n, dst < 0 ? ANY : dst);
	b->line = n->pos.line;
	abc(b, OP_CONCAT, r, l, rr);
	return deliver(b, r, dst);
}

/* The opcode for operator op on operands of kind k; *swap when the
 * operands go in the other order (a > b is b < a). */
static int
binop(int op, int k, bool *swap)
{
	bool f = k == VK_FLOAT, s = k == VK_STRING;

	*swap = false;
	switch (op) {
	case TOK_PLUS:		return f ? OP_FADD : OP_ADD;
	case TOK_MINUS:		return f ? OP_FSUB : OP_SUB;
	case TOK_STAR:		return f ? OP_FMUL : OP_MUL;
	case TOK_SLASH:		return f ? OP_FDIV : OP_DIV;
	case TOK_PERCENT:	return f ? OP_FMOD : OP_MOD;
	case TOK_LT:
	case TOK_GT:
		*swap = op == TOK_GT;
		return f ? OP_FLT : s ? OP_SLT : OP_LT;
	case TOK_LE:
	case TOK_GE:
		*swap = op == TOK_GE;
		return f ? OP_FLE : s ? OP_SLE : OP_LE;
	case TOK_EQEQ:		return f ? OP_FEQ : s ? OP_SEQ : OP_EQ;
	case TOK_NE:		return f ? OP_FNE : s ? OP_SNE : OP_NE;
	}
	return OP_EQ;
}

static int
binary(struct fnb *b, struct node *n, int dst)
{
	int l, rr, r, op;
	bool swap;

	if (n->op == TOK_ANDAND || n->op == TOK_OROR)
		return logical(b, n, dst);
	if (n->type->kind == TY_STRING && n->op == TOK_PLUS)
		return concat(b, n, dst);
	l = operand(b, n->a, n->b);
	/* x + 1, x - 1: one instruction with an immediate */
	if ((n->op == TOK_PLUS || n->op == TOK_MINUS) &&
	    n->type->kind == TY_INT && n->b->kind == N_INT &&
	    n->b->ival >= -127 && n->b->ival <= 127) {
		int imm = (int)(n->op == TOK_PLUS ? n->b->ival : -n->b->ival);

		release(b, l);
		r = target(b, n, dst < 0 ? ANY : dst);
		b->line = n->pos.line;
		emit(b, ins_sc(OP_ADDI, (unsigned)r, (unsigned)l, imm));
		return deliver(b, r, dst);
	}
	rr = expr(b, n->b, ANY);
	op = binop(n->op, b->kinds[l], &swap);
	release(b, l);
	release(b, rr);
	r = target(b, n, dst < 0 ? ANY : dst);
	b->line = n->pos.line;
	abc(b, op, r, swap ? rr : l, swap ? l : rr);
	return deliver(b, r, dst);
}

static int
assign(struct fnb *b, struct node *n, int dst)
{
	struct node *t = n->a;

	if (t->kind == N_NAME) {
		int reg = t->sym->reg;

		if (writes_early(n->b)) {
			int v = expr(b, n->b, ANY);

			b->line = n->pos.line;
			move(b, reg, v);
			release(b, v);
		} else
			expr(b, n->b, reg);
	} else {
		/* a, i, v in order: an assignment in i or v must not redirect
		 * the store */
		int arr = operand(b, t->a, has_assign(t->b) ? t->b : n->b);
		int idx = operand(b, t->b, n->b);
		int v = expr(b, n->b, ANY);

		b->line = n->pos.line;
		abc(b, OP_SETIDX, arr, idx, v);
		release(b, arr);
		release(b, idx);
		release(b, v);
	}
	return unit(b, dst);
}

static int
index_expr(struct fnb *b, struct node *n, int dst)
{
	int arr = operand(b, n->a, n->b);
	int idx = expr(b, n->b, ANY);
	int r;

	release(b, arr);
	release(b, idx);
	r = target(b, n, dst < 0 ? ANY : dst);
	b->line = n->pos.line;
	abc(b, OP_GETIDX, r, arr, idx);
	return deliver(b, r, dst);
}

/* A call through a window: R[A] result, R[A+1..] the arguments. */
static int
call_window(struct fnb *b, struct node *n, int rkind, struct type **params,
    unsigned nparams, uint32_t ins_without_a, int dst)
{
	uint8_t ks[FUNCTION_REGS_MAX];
	int a;

	if (nparams + 1 >= FUNCTION_REGS_MAX)
		return too_many(b), 0;
	ks[0] = (uint8_t)rkind;
	for (unsigned i = 0; i < nparams; i++)
		ks[i + 1] = (uint8_t)vk(params[i]);
	a = window(b, ks, nparams);
	for (unsigned i = 0; i < nparams; i++)
		expr(b, n->list.items[i], a + 1 + (int)i);
	b->line = n->pos.line;
	emit(b, ins_without_a | (uint32_t)a << 8);
	for (unsigned i = 0; i < nparams; i++)
		release(b, a + 1 + (int)i);
	return deliver(b, a, dst);
}

/* Evaluate argument i into a register, as a string if `str`. */
static int
argv(struct fnb *b, struct node *n, uint32_t i, bool str)
{
	int r = expr(b, n->list.items[i], ANY);

	return str ? to_string(b, r) : r;
}

/* Emit op A B C where A is the result and B, C are arguments 0 and 1. */
static int
simple(struct fnb *b, struct node *n, int op, int nargs, int c, int dst)
{
	int x = nargs > 1 ? operand(b, n->list.items[0], n->list.items[1]) :
	    nargs > 0 ? argv(b, n, 0, false) : 0;
	int y = nargs > 1 ? argv(b, n, 1, false) : c;
	int r;

	if (nargs > 0)
		release(b, x);
	if (nargs > 1)
		release(b, y);
	r = target(b, n, dst < 0 ? ANY : dst);
	b->line = n->pos.line;
	abc(b, op, r, x, y);
	return deliver(b, r, dst);
}

static int
builtin(struct fnb *b, struct node *n, int dst)
{
	struct node **args = n->list.items;
	bool f = n->type->kind == TY_FLOAT;
	int x, y;

	switch (n->sym->builtin) {
	case B_PRINT: case B_PRINTLN: case B_EPRINTLN:
		if (n->list.n == 0) {
			x = temp(b, VK_STRING);
			emit(b, ins_abx(OP_LOADS, (unsigned)x,
			    (unsigned)kstring(b, "", 0)));
		} else
			x = argv(b, n, 0, true);
		b->line = n->pos.line;
		abc(b, OP_PRINT, x, n->sym->builtin - B_PRINT, 0);
		release(b, x);
		return unit(b, dst);
	case B_LEN:
		return simple(b, n, args[0]->type->kind == TY_STRING ?
		    OP_SLEN : OP_LEN, 1, 0, dst);
	case B_PUSH:
		x = operand(b, args[0], args[1]);
		y = expr(b, args[1], ANY);
		b->line = n->pos.line;
		abc(b, OP_PUSH, x, y, 0);
		release(b, x);
		release(b, y);
		return unit(b, dst);
	case B_POP:
		return simple(b, n, OP_POP, 1, 0, dst);
	case B_ABS:
		return simple(b, n, f ? OP_FABS : OP_ABS, 1, 0, dst);
	case B_MIN:
		return simple(b, n, f ? OP_FMIN : OP_MIN, 2, 0, dst);
	case B_MAX:
		return simple(b, n, f ? OP_FMAX : OP_MAX, 2, 0, dst);
	case B_SQRT:
		return simple(b, n, OP_SQRT, 1, 0, dst);
	case B_ASSERT:
		x = n->list.n > 1 ? operand(b, args[0], args[1]) :
		    argv(b, n, 0, false);
		y = n->list.n > 1 ? argv(b, n, 1, false) : -1;
		b->line = n->pos.line;
		if (y >= 0)
			abc(b, OP_ASSERTM, x, y, 0);
		else
			abc(b, OP_ASSERT, x, 0, 0);
		release(b, x);
		release(b, y);
		return unit(b, dst);
	case B_PANIC:
		x = argv(b, n, 0, true);
		b->line = n->pos.line;
		abc(b, OP_PANIC, x, 0, 0);
		release(b, x);
		return unit(b, dst);
	case B_NOW_MS:
		return simple(b, n, OP_NOWMS, 0, 0, dst);
	case B_SLEEP:
		return simple(b, n, OP_MKSLEEP, 1, 0, dst);
	case B_YIELD_NOW:
		return simple(b, n, OP_MKYIELD, 0, 0, dst);
	case B_SPAWN:
		return simple(b, n, OP_SPAWN, 1, 0, dst);
	case B_CANCEL:
		return simple(b, n, OP_CANCEL, 1, 0, dst);
	case B_JOIN_ALL:
		return simple(b, n, OP_MKJOIN, 1,
		    vk(n->type->elem->elem), dst);
	case B_AWAIT_TIMEOUT: {
		struct type *ps[3] = {
			args[0]->type, b->e->ck->t_int, args[2]->type,
		};
		bool task = args[0]->type->kind == TY_TASK;

		return call_window(b, n, VK_FUTURE, ps, 3,
		    ins_abc(OP_MKTIMEOUT, 0, task, (unsigned)vk(ps[2])), dst);
	}
	}
	return unit(b, dst);
}

static int
call(struct fnb *b, struct node *n, int dst)
{
	struct sym *s = n->sym;

	switch (s->kind) {
	case SYM_BUILTIN:
		return builtin(b, n, dst);
	case SYM_EXTERN:
		return call_window(b, n, VK_FUTURE, s->params, s->nparams,
		    ins_abx(OP_MKEXT, 0, s->index), dst);
	}
	if (s->is_async)
		return call_window(b, n, VK_FUTURE, s->params, s->nparams,
		    ins_abx(OP_MKFUT, 0, s->index), dst);
	return call_window(b, n, vk(s->type), s->params, s->nparams,
	    ins_abx(OP_CALL, 0, s->index), dst);
}

static int
await_expr(struct fnb *b, struct node *n, int dst)
{
	bool task = n->a->type->kind == TY_TASK;
	int f = expr(b, n->a, ANY), r;
	uint32_t pc;

	release(b, f);
	r = dst >= 0 ? dst : temp(b, vk(n->type));
	b->line = n->pos.line;
	pc = abc(b, task ? OP_AWAITT : OP_AWAIT, r, f, 0);
	if (!b->failed && arena_grow(b->e->a, (void **)&b->states,
	    sizeof(*b->states), b->nstates, &b->capstates))
		b->states[b->nstates++] = (struct mod_state){ .pc = pc };
	else
		b->failed = true;
	if (dst == NONE)
		release(b, r);
	return dst == NONE ? -1 : r;
}

static int
cast(struct fnb *b, struct node *n, int dst)
{
	int from = vk(n->a->type), to = vk(n->type), x, r, op;

	if (from == to)
		return expr(b, n->a, dst);
	x = expr(b, n->a, ANY);
	if (to == VK_STRING) {
		release(b, x);
		r = target(b, n, dst < 0 ? ANY : dst);
		b->line = n->pos.line;
		abc(b, OP_TOSTR, r, x, from);
		return deliver(b, r, dst);
	}
	if (to == VK_FLOAT)
		op = from == VK_INT ? OP_ITOF : OP_STOF;
	else
		op = from == VK_FLOAT ? OP_FTOI : OP_STOI;
	release(b, x);
	r = target(b, n, dst < 0 ? ANY : dst);
	b->line = n->pos.line;
	abc(b, op, r, x, 0);
	return deliver(b, r, dst);
}

/* Statements and blocks */

static int
let(struct fnb *b, struct node *n)
{
	int k = vk(n->sym->type), r = temp(b, k);

	expr(b, n->a, r);
	b->state[r] = REG_LOCAL;
	if (b->names[r] == NULL)
		b->names[r] = n->name;
	n->sym->reg = r;
	return -1;
}

static int
block(struct fnb *b, struct node *n, int dst)
{
	int r = -1;
	bool valued = n->has_value && n->list.n > 0;

	for (uint32_t i = 0; i < n->list.n; i++) {
		struct node *s = n->list.items[i];
		bool last = i + 1 == n->list.n;

		if (last && valued)
			r = expr(b, s, dst);
		else
			expr(b, s, NONE);
	}
	/* The block's locals end here: their registers become free, but
	 * one holding the block's value lives on as a temporary. */
	for (uint32_t i = 0; i < n->list.n; i++) {
		struct node *s = n->list.items[i];

		if (s->kind != N_LET || s->sym->reg < 0)
			continue;
		b->state[s->sym->reg] = s->sym->reg == r ? REG_TEMP :
		    REG_FREE;
	}
	if (!valued)
		return unit(b, dst);
	return r;
}

static int
if_expr(struct fnb *b, struct node *n, int dst)
{
	bool valued = dst != NONE && n->type->kind != TY_UNIT &&
	    n->type->kind != TY_NEVER && n->c != NULL;
	int r = valued ? target(b, n, dst < 0 ? ANY : dst) : NONE;
	int c = expr(b, n->a, ANY);
	uint32_t jf, jend;

	release(b, c);
	b->line = n->pos.line;
	jf = branch(b, OP_JMPF, c);
	expr(b, n->b, r);
	if (n->c == NULL) {
		patch(b, jf, b->ncode);
		return unit(b, dst);
	}
	jend = jump(b);
	patch(b, jf, b->ncode);
	expr(b, n->c, r);
	patch(b, jend, b->ncode);
	if (!valued)
		return unit(b, dst);
	return deliver(b, r, dst);
}

static void
loop_end(struct fnb *b, struct loop *l, uint32_t cont, uint32_t exit)
{
	for (unsigned i = 0; i < l->nbreaks; i++)
		patch(b, l->breaks[i], exit);
	for (unsigned i = 0; i < l->nconts; i++)
		patch(b, l->conts[i], cont);
	b->loop = l->outer;
}

static int
while_expr(struct fnb *b, struct node *n, int dst)
{
	struct loop l = { .outer = b->loop };
	uint32_t top = b->ncode, jf = 0;
	bool forever = n->kind == N_LOOP;

	if (!forever) {
		int c = expr(b, n->a, ANY);

		release(b, c);
		b->line = n->pos.line;
		jf = branch(b, OP_JMPF, c);
	}
	b->loop = &l;
	expr(b, n->b, NONE);
	b->line = n->pos.line;
	jump_to(b, top);
	if (!forever)
		patch(b, jf, b->ncode);
	loop_end(b, &l, top, b->ncode);
	return unit(b, dst);
}

/* for i in a..c { b }: a hidden counter counts up and i is a copy of it
 * each round, so the body may assign to i; c is evaluated once. */
static int
for_range(struct fnb *b, struct node *n, int dst)
{
	struct loop l = { .outer = b->loop };
	int k = temp(b, VK_INT), end, cond, i;
	uint32_t top, jf, cont;

	expr(b, n->a, k);
	end = temp(b, VK_INT);
	expr(b, n->c, end);
	i = temp(b, VK_INT);
	b->state[i] = REG_LOCAL;
	if (b->names[i] == NULL)
		b->names[i] = n->name;
	n->sym->reg = i;
	cond = temp(b, VK_BOOL);
	top = b->ncode;
	b->line = n->pos.line;
	abc(b, OP_LT, cond, k, end);
	jf = branch(b, OP_JMPF, cond);
	release(b, cond);
	abc(b, OP_MOVE, i, k, 0);
	b->loop = &l;
	expr(b, n->b, NONE);
	b->line = n->pos.line;
	cont = emit(b, ins_sc(OP_ADDI, (unsigned)k, (unsigned)k, 1));
	jump_to(b, top);
	patch(b, jf, b->ncode);
	loop_end(b, &l, cont, b->ncode);
	b->state[i] = REG_FREE;
	release(b, k);
	release(b, end);
	return unit(b, dst);
}

/* for x in arr { b }: the array is held in a temporary, its length read
 * on every round (the body may push or pop). */
static int
for_each(struct fnb *b, struct node *n, int dst)
{
	struct loop l = { .outer = b->loop };
	int arr = temp(b, VK_ARRAY), idx, len, cond, x;
	uint32_t top, jf, cont;

	expr(b, n->a, arr);
	idx = temp(b, VK_INT);
	b->line = n->pos.line;
	load_int(b, 0, idx);
	x = temp(b, vk(n->sym->type));
	b->state[x] = REG_LOCAL;
	if (b->names[x] == NULL)
		b->names[x] = n->name;
	n->sym->reg = x;
	len = temp(b, VK_INT);
	cond = temp(b, VK_BOOL);
	top = b->ncode;
	abc(b, OP_LEN, len, arr, 0);
	abc(b, OP_LT, cond, idx, len);
	jf = branch(b, OP_JMPF, cond);
	release(b, cond);
	release(b, len);
	abc(b, OP_GETIDX, x, arr, idx);
	b->loop = &l;
	expr(b, n->b, NONE);
	b->line = n->pos.line;
	cont = emit(b, ins_sc(OP_ADDI, (unsigned)idx, (unsigned)idx, 1));
	jump_to(b, top);
	patch(b, jf, b->ncode);
	loop_end(b, &l, cont, b->ncode);
	b->state[x] = REG_FREE;
	release(b, idx);
	release(b, arr);
	return unit(b, dst);
}

static int
ret(struct fnb *b, struct node *n)
{
	int k = vk(b->sym->type);

	if (n->a == NULL || k == VK_UNIT) {
		if (n->a != NULL)
			expr(b, n->a, NONE);
		b->line = n->pos.line;
		abc(b, OP_RET0, 0, 0, 0);
	} else {
		int r = expr(b, n->a, ANY);

		b->line = n->pos.line;
		abc(b, OP_RET, r, 0, 0);
		release(b, r);
	}
	return -1;
}

static int
jump_out(struct fnb *b, struct node *n)
{
	struct loop *l = b->loop;
	uint32_t pc;

	b->line = n->pos.line;
	pc = jump(b);
	if (l == NULL)
		return -1;
	if (n->kind == N_BREAK)
		push_pc(b, &l->breaks, &l->nbreaks, &l->capbreaks, pc);
	else
		push_pc(b, &l->conts, &l->nconts, &l->capconts, pc);
	return -1;
}

/*
 * Evaluate n. dst >= 0: into that register; ANY: into any register, which
 * may be a local's (read only) or a temporary the caller must release;
 * NONE: for its effects. Returns the register, or -1 for NONE.
 */
static int
expr(struct fnb *b, struct node *n, int dst)
{
	if (n == NULL || b->failed)
		return dst >= 0 ? dst : (dst == NONE ? -1 : temp(b, VK_UNIT));
	b->line = n->pos.line;
	switch (n->kind) {
	case N_INT: case N_FLOAT: case N_STRING: case N_BOOL: case N_UNIT:
		return literal(b, n, dst);
	case N_NAME:
		return dst == NONE ? -1 : deliver(b, n->sym->reg, dst);
	case N_ARRAY:	return array(b, n, dst);
	case N_UNARY:	return unary(b, n, dst);
	case N_BINARY:	return binary(b, n, dst);
	case N_ASSIGN:	return assign(b, n, dst);
	case N_CALL:	return call(b, n, dst);
	case N_INDEX:	return index_expr(b, n, dst);
	case N_AWAIT:	return await_expr(b, n, dst);
	case N_CAST:	return cast(b, n, dst);
	case N_BLOCK:	return block(b, n, dst);
	case N_IF:	return if_expr(b, n, dst);
	case N_WHILE:
	case N_LOOP:	return while_expr(b, n, dst);
	case N_FOR_RANGE: return for_range(b, n, dst);
	case N_FOR_EACH: return for_each(b, n, dst);
	case N_BREAK:
	case N_CONTINUE:
		jump_out(b, n);
		return dst >= 0 ? dst : (dst == NONE ? -1 : temp(b, vk(n->type)));
	case N_RETURN:
		ret(b, n);
		return dst >= 0 ? dst : (dst == NONE ? -1 : temp(b, vk(n->type)));
	case N_LET:
		let(b, n);
		return unit(b, dst);
	case N_EXPR_STMT:
		return expr(b, n->a, dst);
	}
	return -1;
}

/* Functions */

/*
 * Drop the instructions no path from the entry reaches, and re-aim the
 * jumps. What follows an expression that never finishes (`return`,
 * `panic`, `break`, a `loop` without `break`) is unreachable and may use
 * registers of the wrong kind, as in `1 + panic("x")`; the verifier checks
 * all code, so it must go. Offsets only shrink, so every jump still fits.
 */
static bool
prune(struct fnb *b)
{
	uint32_t n = b->ncode, *map, *stack, nstack = 0, next = 0, s = 0;

	if ((map = malloc(n * sizeof(*map))) == NULL ||
	    (stack = malloc(n * sizeof(*stack))) == NULL) {
		free(map);
		return false;
	}
	for (uint32_t pc = 0; pc < n; pc++)
		map[pc] = UINT32_MAX;		/* not reached (yet) */
	map[0] = 0;
	stack[nstack++] = 0;
	while (nstack > 0) {
		uint32_t pc = stack[--nstack], ins = b->code[pc];
		unsigned op = INS_OP(ins);
		int64_t succ[2] = { -1, -1 };

		if (op_falls_through(op))
			succ[0] = (int64_t)pc + 1;
		if (op == OP_JMP || op == OP_JMPT || op == OP_JMPF)
			succ[1] = (int64_t)pc + 1 + op_jump_offset(ins);
		for (int i = 0; i < 2; i++)
			if (succ[i] >= 0 && succ[i] < n &&
			    map[succ[i]] == UINT32_MAX) {
				map[succ[i]] = 0;
				stack[nstack++] = (uint32_t)succ[i];
			}
	}
	for (uint32_t pc = 0; pc < n; pc++)
		if (map[pc] != UINT32_MAX)
			map[pc] = next++;
	for (uint32_t pc = 0; pc < n; pc++) {
		uint32_t ins = b->code[pc];
		unsigned op = INS_OP(ins);

		if (map[pc] == UINT32_MAX)
			continue;
		if (op == OP_JMP || op == OP_JMPT || op == OP_JMPF) {
			uint32_t t = pc + 1 + (uint32_t)op_jump_offset(ins);
			int off = (int)map[t] - (int)(map[pc] + 1);

			ins = op == OP_JMP ? ins_sj(op, off) :
			    ins_asbx(op, INS_A(ins), off);
		}
		b->code[map[pc]] = ins;		/* map[pc] <= pc: in place */
		b->lines[map[pc]] = b->lines[pc];
	}
	for (uint32_t i = 0; i < b->nstates; i++)
		if (map[b->states[i].pc] != UINT32_MAX) {
			b->states[s] = b->states[i];
			b->states[s++].pc = map[b->states[i].pc];
		}
	b->nstates = s;
	b->ncode = next;
	free(map);
	free(stack);
	return true;
}

static bool
function(struct emitter *e, struct sym *s, struct mod_fn *out)
{
	struct fnb *b = e->fnb;
	struct fn_decl *f = s->fn;
	int k = vk(s->type), r;
	char **names;
	uint8_t *kinds;

	memset(b, 0, sizeof(*b));
	b->e = e;
	b->sym = s;
	b->line = f->pos.line;
	if (f->nparams >= FUNCTION_REGS_MAX)
		return too_many(b);
	for (uint32_t i = 0; i < f->nparams; i++) {
		b->kinds[i] = (uint8_t)vk(s->params[i]);
		b->state[i] = REG_LOCAL;
		b->names[i] = f->params[i].name;
	}
	b->nregs = f->nparams;		/* check.c gave parameter i register i */
	r = expr(b, f->body, k == VK_UNIT ? NONE : ANY);
	/* Always end with a return: jumps may target the end of the code. */
	b->line = f->body->list.n > 0 ?
	    f->body->list.items[f->body->list.n - 1]->pos.line : f->pos.line;
	if (k == VK_UNIT)
		abc(b, OP_RET0, 0, 0, 0);
	else
		abc(b, OP_RET, r >= 0 && b->kinds[r] == k ? r : temp(b, k),
		    0, 0);
	if (b->failed || !prune(b))
		return false;
	kinds = arena_alloc(e->a, b->nregs + 1);
	names = arena_alloc(e->a, (b->nregs + 1) * sizeof(*names));
	if (kinds == NULL || names == NULL)
		return false;
	memcpy(kinds, b->kinds, b->nregs);
	for (unsigned i = 0; i < b->nregs; i++)
		names[i] = (char *)(b->names[i] != NULL ? b->names[i] : "");
	out->name = s->name;
	out->is_async = s->is_async;
	out->ret_kind = (uint8_t)k;
	out->nparams = f->nparams;
	out->nregs = b->nregs;
	out->reg_kinds = kinds;
	out->ncode = b->ncode;
	out->code = b->code;
	out->lines = b->lines;
	out->nstates = b->nstates;
	out->states = b->states;
	out->line = f->pos.line;
	out->reg_names = (const char *const *)names;
	return true;
}

static unsigned
ctype_of(const struct texpr *tx)
{
	if (tx == NULL || tx->kind == TX_UNIT)
		return CT_VOID;
	if (strcmp(tx->name, "i32") == 0)
		return CT_INT32;
	if (strcmp(tx->name, "int") == 0 || strcmp(tx->name, "i64") == 0)
		return CT_INT64;
	if (strcmp(tx->name, "float") == 0 || strcmp(tx->name, "f64") == 0)
		return CT_DOUBLE;
	if (strcmp(tx->name, "bool") == 0)
		return CT_BOOL;
	if (strcmp(tx->name, "ptr") == 0)
		return CT_PTR;
	return CT_STRING;
}

static bool
externs(struct emitter *e)
{
	struct checked *ck = e->ck;
	struct mod_extern *xs;

	if (ck->nexterns == 0)
		return true;
	if ((xs = arena_alloc(e->a, ck->nexterns * sizeof(*xs))) == NULL)
		return false;
	for (uint32_t i = 0; i < ck->nexterns; i++) {
		struct extern_fn *x = ck->externs[i]->ext;
		uint8_t *ps = arena_alloc(e->a, x->nparams + 1);

		if (ps == NULL)
			return false;
		for (uint32_t j = 0; j < x->nparams; j++)
			ps[j] = (uint8_t)ctype_of(x->params[j].texpr);
		xs[i].library = x->library;
		xs[i].symbol = x->name;
		xs[i].nparams = x->nparams;
		xs[i].params = ps;
		xs[i].ret = (uint8_t)ctype_of(x->ret);
	}
	e->m->externs = xs;
	e->m->nexterns = ck->nexterns;
	return true;
}

struct module *
emit_module(struct checked *ck, const char *source_name, const char *src,
    size_t len, struct arena *a, struct diags *d)
{
	struct emitter e = { .a = a, .d = d, .ck = ck };
	struct mod_fn *fns;
	bool ok = true;

	if ((e.m = arena_alloc(a, sizeof(*e.m))) == NULL ||
	    (e.fnb = arena_alloc(a, sizeof(*e.fnb))) == NULL ||
	    (fns = arena_alloc(a, ck->nfns * sizeof(*fns))) == NULL)
		return NULL;
	e.m->format = MODULE_FORMAT;
	e.m->source_name = source_name;
	sha256(src, len, e.m->source_hash);
	for (uint32_t i = 0; i < ck->nfns; i++)
		ok = function(&e, ck->fns[i], &fns[i]) && ok;
	if (!ok || !externs(&e))
		return NULL;
	e.m->fns = fns;
	e.m->nfns = ck->nfns;
	e.m->consts = e.consts;
	e.m->nconsts = e.nconsts;
	e.m->entry = ck->entry;
	for (uint32_t i = 0; i < ck->nfns; i++)
		if (!async_transform(&fns[i], e.m, a))
			return NULL;
	return e.m;
}
