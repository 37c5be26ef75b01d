/*
 * A hand-built bytecode module for the modio, verify and dis unit tests.
 * testmod_reset() fills the global `tm` with a small valid module whose
 * arrays are writable, so a test breaks exactly one thing and checks the
 * message. Every op in op.def appears well-typed in function "zoo".
 */
#ifndef SC_TESTMOD_H
#define SC_TESTMOD_H

#include <string.h>

#include "modio.h"
#include "op.h"

#define TM_CODE_MAX	128
#define TM_REGS_MAX	300
#define TM_STATES_MAX	8

struct tm_fn {
	uint8_t kinds[TM_REGS_MAX];		/* reg_kinds */
	uint32_t code[TM_CODE_MAX];		/* code */
	uint32_t lines[TM_CODE_MAX];		/* lines */
	struct mod_state states[TM_STATES_MAX];	/* states */
	uint8_t live[TM_STATES_MAX][16];	/* live sets */
	const char *names[TM_REGS_MAX];		/* reg_names */
};

struct tm {
	struct module m;			/* points into the arrays below */
	struct mod_const consts[4];
	struct mod_fn fns[4];
	struct tm_fn f[4];
	struct mod_extern externs[2];
	uint8_t params[2][20];
};

static struct tm tm;

/* Function indices in the sample module. */
enum { TM_ADD, TM_MAIN, TM_WORK, TM_ZOO };

static inline uint32_t
tm_op(unsigned op, unsigned a, unsigned b, unsigned c)
{
	return ins_abc(op, a, b, c);
}

/* Set function k's code (n instructions) and kinds (nregs). */
static inline void
tm_fn(unsigned k, const char *name, int is_async, unsigned nparams,
    unsigned ret, const uint8_t *kinds, unsigned nregs, const uint32_t *code,
    unsigned ncode, unsigned line)
{
	struct mod_fn *fn = &tm.fns[k];
	struct tm_fn *f = &tm.f[k];

	memcpy(f->kinds, kinds, nregs);
	memcpy(f->code, code, ncode * sizeof(*code));
	for (unsigned i = 0; i < ncode; i++)
		f->lines[i] = line + 1 + i;
	fn->name = name;
	fn->is_async = (uint8_t)is_async;
	fn->nparams = nparams;
	fn->ret_kind = (uint8_t)ret;
	fn->nregs = nregs;
	fn->reg_kinds = f->kinds;
	fn->ncode = ncode;
	fn->code = f->code;
	fn->lines = f->lines;
	fn->nstates = 0;
	fn->states = f->states;
	fn->line = line;
	fn->reg_names = NULL;
}

/* Add a state at pc with live registers live[0..nlive) to function k. */
static inline void
tm_state(unsigned k, uint32_t pc, const uint8_t *live, unsigned nlive)
{
	struct mod_fn *fn = &tm.fns[k];
	struct tm_fn *f = &tm.f[k];
	unsigned s = fn->nstates++;

	if (nlive > 0)
		memcpy(f->live[s], live, nlive);
	f->states[s].pc = pc;
	f->states[s].nlive = nlive;
	f->states[s].live = nlive > 0 ? f->live[s] : NULL;
}

#define U VK_UNIT
#define I VK_INT
#define FL VK_FLOAT
#define B VK_BOOL
#define S VK_STRING
#define A VK_ARRAY
#define FU VK_FUTURE
#define T VK_TASK
#define P VK_PTR
#define ABC(op, a, b, c)	ins_abc(OP_##op, a, b, c)
#define ABX(op, a, bx)		ins_abx(OP_##op, a, bx)
#define ASBX(op, a, sbx)	ins_asbx(OP_##op, a, sbx)

static inline void
testmod_reset(void)
{
	/* fn add(a: int, b: int) -> int { a + b } */
	static const uint8_t add_k[] = { I, I, I };
	const uint32_t add_c[] = {
		ABC(ADD, 2, 0, 1),
		ABC(RET, 2, 0, 0),
	};
	/* async fn main(): calls, futures, awaits, a branch, an extern */
	static const uint8_t main_k[] = {
		I, I, I, I, I, FU, I, I, B, S, FL, FU, FL, FL,
	};
	const uint32_t main_c[] = {
		ABX(LOADK, 0, 0),		/* 0 */
		ASBX(LOADI, 3, 2),		/* 1 */
		ASBX(LOADI, 4, 3),		/* 2 */
		ABX(CALL, 2, TM_ADD),		/* 3: r2 := add(r3, r4) */
		ABC(MOVE, 6, 2, 0),		/* 4 */
		ABX(MKFUT, 5, TM_WORK),		/* 5: r5 := work(r6) */
		ABC(AWAIT, 7, 5, 0),		/* 6: S0 */
		ABC(LT, 8, 7, 0),		/* 7 */
		ASBX(JMPF, 8, 2),		/* 8: -> 11 */
		ABX(LOADS, 9, 2),		/* 9 */
		ABC(PRINT, 9, 1, 0),		/* 10 */
		ABX(LOADK, 12, 1),		/* 11 */
		ABX(MKEXT, 11, 0),		/* 12: r11 := cos(r12) */
		ABC(AWAIT, 13, 11, 0),		/* 13: S1 */
		ABC(RET0, 0, 0, 0),		/* 14 */
	};
	static const uint8_t main_l0[] = { 0 };
	/* async fn work(x: int) -> int { await sleep(10); x + 1 } */
	static const uint8_t work_k[] = { I, FU, U, I };
	const uint32_t work_c[] = {
		ASBX(LOADI, 3, 10),
		ABC(MKSLEEP, 1, 3, 0),
		ABC(AWAIT, 2, 1, 0),		/* S0, keeps x */
		ins_sc(OP_ADDI, 0, 0, 1),
		ABC(RET, 0, 0, 0),
	};
	/* Every op, well-typed. */
	static const uint8_t zoo_k[] = {
		I, I, I, FL, FL, FL, B, S, S, A,	/* r0-r9 */
		FU, T, P, P, U, B, FU, FU, I, I,	/* r10-r19 */
		I, I, I, FU, I, FU, FL,			/* r20-r26 */
	};
	const uint32_t zoo_c[] = {
		ABC(MOVE, 1, 0, 0), ABC(MOVER, 8, 7, 0),
		ASBX(LOADI, 0, -5), ABX(LOADK, 0, 0), ABX(LOADK, 3, 1),
		ABX(LOADS, 7, 2), ABC(LOADB, 6, 1, 0), ABC(LOADU, 14, 0, 0),
		ABC(NEWARR, 9, 4, VK_INT),
		ABC(ADD, 2, 0, 1), ins_sc(OP_ADDI, 2, 0, -3),
		ABC(SUB, 2, 0, 1), ABC(MUL, 2, 0, 1), ABC(DIV, 2, 0, 1),
		ABC(MOD, 2, 0, 1), ABC(NEG, 2, 0, 0),
		ABC(FADD, 5, 3, 4), ABC(FSUB, 5, 3, 4), ABC(FMUL, 5, 3, 4),
		ABC(FDIV, 5, 3, 4), ABC(FMOD, 5, 3, 4), ABC(FNEG, 5, 3, 0),
		ABC(LT, 6, 0, 1), ABC(LE, 6, 0, 1), ABC(EQ, 6, 0, 1),
		ABC(EQ, 6, 15, 6), ABC(NE, 6, 14, 14), ABC(EQ, 6, 12, 13),
		ABC(FLT, 6, 3, 4), ABC(FLE, 6, 3, 4), ABC(FEQ, 6, 3, 4),
		ABC(FNE, 6, 3, 4), ABC(SLT, 6, 7, 8), ABC(SLE, 6, 7, 8),
		ABC(SEQ, 6, 7, 8), ABC(SNE, 6, 7, 8), ABC(NOT, 6, 15, 0),
		ABC(ITOF, 3, 0, 0), ABC(FTOI, 0, 3, 0),
		ABC(TOSTR, 7, 3, VK_FLOAT), ABC(STOI, 0, 7, 0),
		ABC(STOF, 3, 7, 0), ABC(CONCAT, 7, 7, 8),
		ins_sj(OP_JMP, 0), ASBX(JMPT, 6, 0), ASBX(JMPF, 6, -1),
		ABC(GETIDX, 0, 9, 1), ABC(SETIDX, 9, 1, 0), ABC(LEN, 0, 9, 0),
		ABC(SLEN, 0, 7, 0), ABC(PUSH, 9, 0, 0), ABC(POP, 0, 9, 0),
		ABX(CALL, 20, TM_ADD), ABX(MKFUT, 23, TM_WORK),
		ABX(MKEXT, 25, 0),
		ABC(MKSLEEP, 10, 0, 0), ABC(AWAIT, 14, 10, 0),	/* S0 */
		ABC(MKYIELD, 10, 0, 0), ABC(AWAIT, 14, 10, 0),	/* S1 */
		ABC(MKJOIN, 10, 9, VK_INT), ABC(AWAIT, 19, 10, 0), /* S2 */
		ABC(MKTIMEOUT, 16, 0, VK_INT), ABC(SPAWN, 11, 16, 0),
		ABC(AWAITT, 18, 11, 0),				/* S3 */
		ABC(CANCEL, 6, 11, 0),
		ABC(PRINT, 7, 2, 0), ABC(ABS, 0, 1, 0), ABC(FABS, 3, 4, 0),
		ABC(MIN, 0, 1, 2), ABC(MAX, 0, 1, 2), ABC(FMIN, 3, 4, 5),
		ABC(FMAX, 3, 4, 5), ABC(SQRT, 3, 4, 0), ABC(NOWMS, 0, 0, 0),
		ABC(ASSERT, 6, 0, 0), ABC(ASSERTM, 6, 7, 0),
		ABC(RET, 0, 0, 0), ABC(PANIC, 7, 0, 0),
	};
	static const uint8_t zoo_l[] = { 0, 7, 9 };

	memset(&tm, 0, sizeof(tm));
	tm.consts[0].kind = CONST_INT;
	tm.consts[0].u.i = 1000000;
	tm.consts[1].kind = CONST_FLOAT;
	tm.consts[1].u.f = 0.5;
	tm.consts[2].kind = CONST_STRING;
	tm.consts[2].u.s.ptr = "tick \n";
	tm.consts[2].u.s.len = 6;

	tm.params[0][0] = CT_DOUBLE;
	tm.externs[0].library = "libm.so.6";
	tm.externs[0].symbol = "cos";
	tm.externs[0].nparams = 1;
	tm.externs[0].params = tm.params[0];
	tm.externs[0].ret = CT_DOUBLE;

	tm_fn(TM_ADD, "add", 0, 2, I, add_k, 3, add_c, 2, 1);
	tm_fn(TM_MAIN, "main", 1, 0, U, main_k, sizeof(main_k), main_c,
	    sizeof(main_c) / 4, 4);
	tm_state(TM_MAIN, 6, main_l0, 1);
	tm_state(TM_MAIN, 13, NULL, 0);
	tm_fn(TM_WORK, "work", 1, 1, I, work_k, sizeof(work_k), work_c,
	    sizeof(work_c) / 4, 20);
	tm_state(TM_WORK, 2, main_l0, 1);
	tm_fn(TM_ZOO, "zoo", 1, 0, I, zoo_k, sizeof(zoo_k), zoo_c,
	    sizeof(zoo_c) / 4, 30);
	for (unsigned pc = 0; pc < sizeof(zoo_c) / 4; pc++) {
		unsigned op = INS_OP(zoo_c[pc]);

		if (op == OP_AWAIT || op == OP_AWAITT)
			tm_state(TM_ZOO, pc, zoo_l, 3);
	}
	tm.f[TM_MAIN].names[0] = "limit";
	tm.f[TM_MAIN].names[2] = "sum";
	for (unsigned r = 0; r < sizeof(main_k); r++)
		if (tm.f[TM_MAIN].names[r] == NULL)
			tm.f[TM_MAIN].names[r] = "";
	tm.fns[TM_MAIN].reg_names = tm.f[TM_MAIN].names;

	tm.m.format = MODULE_FORMAT;
	tm.m.source_name = "prog.script";
	for (unsigned k = 0; k < 32; k++)
		tm.m.source_hash[k] = (uint8_t)(k * 7 + 1);
	tm.m.nconsts = 3;
	tm.m.consts = tm.consts;
	tm.m.nfns = 4;
	tm.m.fns = tm.fns;
	tm.m.nexterns = 1;
	tm.m.externs = tm.externs;
	tm.m.entry = TM_MAIN;
}

#undef U
#undef I
#undef FL
#undef B
#undef S
#undef A
#undef FU
#undef T
#undef P

#endif
