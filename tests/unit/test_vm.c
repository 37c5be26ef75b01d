/*
 * Runtime tests on hand-assembled modules: arithmetic and its errors,
 * strings, arrays, calls, futures, tasks, timers, limits, and the
 * suspended representation. Run under ASan to check for leaks.
 */
#include "check.h"
#include "vm_asm.h"

#define ABC(op, x, y, z)	asm_op(a, f, ins_abc(OP_##op, x, y, z))
#define ABX(op, x, bx)		asm_op(a, f, ins_abx(OP_##op, x, bx))
#define ASBX(op, x, s)		asm_op(a, f, ins_asbx(OP_##op, x, s))
#define SCI(op, x, y, c)	asm_op(a, f, ins_sc(OP_##op, x, y, c))
#define JMP(sj)			asm_op(a, f, ins_sj(OP_JMP, sj))
/* print R[r] of kind k through string register s */
#define PRINTV(r, k, s)	do { ABC(TOSTR, s, r, k); ABC(PRINT, s, 1, 0); } \
	while (0)

static void
test_arith(void)
{
	struct asm_mod *a = asm_new();
	unsigned f = asm_fn(a, "main", true, VK_UNIT, 0, "iiiiis");
	struct outcome o;
	char want[128];

	ASBX(LOADI, 0, 7);
	ASBX(LOADI, 1, -3);
	ABC(ADD, 2, 0, 1); PRINTV(2, VK_INT, 5);
	ABC(SUB, 2, 0, 1); PRINTV(2, VK_INT, 5);
	ABC(MUL, 2, 0, 1); PRINTV(2, VK_INT, 5);
	ABC(DIV, 2, 0, 1); PRINTV(2, VK_INT, 5);
	ABC(MOD, 2, 0, 1); PRINTV(2, VK_INT, 5);
	ABC(NEG, 2, 1, 0); PRINTV(2, VK_INT, 5);
	SCI(ADDI, 2, 0, -8); PRINTV(2, VK_INT, 5);
	ABC(ABS, 2, 1, 0); PRINTV(2, VK_INT, 5);
	ABC(MIN, 2, 0, 1); PRINTV(2, VK_INT, 5);
	ABC(MAX, 2, 0, 1); PRINTV(2, VK_INT, 5);
	ABX(LOADK, 3, asm_kint(a, INT64_MAX));
	snprintf(want, sizeof(want), "integer overflow\n  at main (t.script:%u)",
	    a->fns[f].ncode + 1);
	SCI(ADDI, 2, 3, 1);
	ABC(RET0, 0, 0, 0);
	asm_run(a, NULL, &o);
	CHECK_STR_EQ(o.out, "4\n10\n-21\n-2\n1\n3\n-1\n3\n-3\n7\n");
	CHECK_INT_EQ(o.status, JOB_FAILED);
	CHECK_STR_EQ(o.error, want);
	free(a);
}

/* Run `op R2, R0, R1` on constants x, y; return the error (or result). */
static void
int_case(unsigned op, int64_t x, int64_t y, const char *want)
{
	struct asm_mod *a = asm_new();
	unsigned f = asm_fn(a, "main", true, VK_UNIT, 0, "iiis");
	struct outcome o;

	ABX(LOADK, 0, asm_kint(a, x));
	ABX(LOADK, 1, asm_kint(a, y));
	asm_op(a, f, ins_abc(op, 2, 0, op == OP_NEG || op == OP_ABS ? 0 : 1));
	PRINTV(2, VK_INT, 3);
	ABC(RET0, 0, 0, 0);
	asm_run(a, NULL, &o);
	if (o.status == JOB_COMPLETED)
		CHECK_STR_EQ(o.out, want);
	else
		CHECK_STR_EQ(o.error, want);
	free(a);
}

static void
test_int_errors(void)
{
	int_case(OP_ADD, INT64_MAX, 1, "integer overflow\n  at main (t.script:3)");
	int_case(OP_SUB, INT64_MIN, 1, "integer overflow\n  at main (t.script:3)");
	int_case(OP_MUL, INT64_MAX, 2, "integer overflow\n  at main (t.script:3)");
	int_case(OP_DIV, 5, 0, "division by zero\n  at main (t.script:3)");
	int_case(OP_MOD, 5, 0, "modulo by zero\n  at main (t.script:3)");
	int_case(OP_DIV, INT64_MIN, -1, "integer overflow\n  at main (t.script:3)");
	int_case(OP_MOD, INT64_MIN, -1, "0\n");
	int_case(OP_DIV, -7, 2, "-3\n");
	int_case(OP_MOD, -7, 2, "-1\n");
	int_case(OP_NEG, INT64_MIN, 0, "integer overflow\n  at main (t.script:3)");
	int_case(OP_ABS, INT64_MIN, 0, "integer overflow\n  at main (t.script:3)");
	int_case(OP_MUL, -4, 5, "-20\n");
}

static void
test_floats_and_conversions(void)
{
	struct asm_mod *a = asm_new();
	unsigned f = asm_fn(a, "main", true, VK_UNIT, 0, "fffisb");
	struct outcome o;

	ABX(LOADK, 0, asm_kflt(a, 0.1));
	ABX(LOADK, 1, asm_kflt(a, 0.2));
	ABC(FADD, 2, 0, 1); PRINTV(2, VK_FLOAT, 4);	/* 0.30000000000000004 */
	ABX(LOADK, 0, asm_kflt(a, 1.5e3)); PRINTV(0, VK_FLOAT, 4);
	ABC(FDIV, 2, 0, 1); PRINTV(2, VK_FLOAT, 4);	/* 7500 */
	ABC(FTOI, 3, 2, 0); PRINTV(3, VK_INT, 4);
	ABC(ITOF, 2, 3, 0); PRINTV(2, VK_FLOAT, 4);
	ABC(FLT, 5, 1, 0); PRINTV(5, VK_BOOL, 4);	/* 0.2 < 1500 */
	ABC(FEQ, 5, 1, 0); PRINTV(5, VK_BOOL, 4);
	ABX(LOADS, 4, asm_kstr(a, "-2.5e1"));
	ABC(STOF, 2, 4, 0); PRINTV(2, VK_FLOAT, 4);
	ABC(SQRT, 2, 0, 0);
	ABC(FNEG, 2, 2, 0); PRINTV(2, VK_FLOAT, 4);
	ABX(LOADK, 0, asm_kflt(a, 1e300));
	ABC(FTOI, 3, 0, 0);
	ABC(RET0, 0, 0, 0);
	asm_run(a, NULL, &o);
	CHECK_STR_EQ(o.out, "0.30000000000000004\n1500\n7500\n7500\n7500\n"
	    "true\nfalse\n-25\n-38.72983346207417\n");
	CHECK_STR_CONTAINS(o.error, "float 1");
	CHECK_STR_CONTAINS(o.error, " out of int range\n  at main");
	free(a);
}

static void
test_strings(void)
{
	struct asm_mod *a = asm_new();
	unsigned f = asm_fn(a, "main", true, VK_UNIT, 0, "sssbiu");
	struct outcome o;

	ABX(LOADS, 0, asm_kstr(a, "ab"));
	ABX(LOADS, 1, asm_kstr(a, "abc"));
	ABC(CONCAT, 2, 0, 1); ABC(PRINT, 2, 1, 0);	/* ababc */
	ABC(SLT, 3, 0, 1); PRINTV(3, VK_BOOL, 2);	/* true */
	ABC(SLE, 3, 1, 0); PRINTV(3, VK_BOOL, 2);	/* false */
	ABC(SEQ, 3, 0, 0); PRINTV(3, VK_BOOL, 2);
	ABC(SNE, 3, 0, 1); PRINTV(3, VK_BOOL, 2);
	ABC(SLEN, 4, 1, 0); PRINTV(4, VK_INT, 2);
	ABC(LOADU, 5, 0, 0); PRINTV(5, VK_UNIT, 2);
	ABC(PRINT, 0, 0, 0);
	ABC(PRINT, 1, 2, 0);				/* stderr */
	ABX(LOADS, 0, asm_kstr(a, "-42"));
	ABC(STOI, 4, 0, 0); SCI(ADDI, 4, 4, 1); PRINTV(4, VK_INT, 2);
	ABX(LOADS, 0, asm_kstr(a, "abc"));
	ABC(STOI, 4, 0, 0);
	ABC(RET0, 0, 0, 0);
	asm_run(a, NULL, &o);
	CHECK_STR_EQ(o.out, "ababc\ntrue\nfalse\ntrue\ntrue\n3\n()\nab-41\n");
	CHECK_STR_EQ(o.err, "abc\n");
	CHECK_INT_EQ(o.status, JOB_FAILED);
	CHECK_STR_CONTAINS(o.error, "cannot convert \"abc\" to int\n  at main");
	free(a);
}

static void
test_arrays(void)
{
	struct asm_mod *a = asm_new();
	unsigned f = asm_fn(a, "main", true, VK_UNIT, 0, "aiasias");
	struct outcome o;
	char want[128];

	ABC(NEWARR, 0, 0, VK_INT); PRINTV(0, VK_ARRAY, 3);	/* [] */
	ASBX(LOADI, 1, 1); ABC(PUSH, 0, 1, 0);
	ASBX(LOADI, 1, 2); ABC(PUSH, 0, 1, 0);
	ASBX(LOADI, 1, 3); ABC(PUSH, 0, 1, 0);
	PRINTV(0, VK_ARRAY, 3);				/* [1, 2, 3] */
	ABC(NEWARR, 2, 2, VK_ARRAY);
	ABC(PUSH, 2, 0, 0); ABC(PUSH, 2, 0, 0);
	PRINTV(2, VK_ARRAY, 3);			/* [[1, 2, 3], [1, 2, 3]] */
	ABC(POP, 1, 0, 0); PRINTV(1, VK_INT, 3);	/* 3 */
	ABC(LEN, 1, 2, 0); PRINTV(1, VK_INT, 3);	/* 2 */
	ASBX(LOADI, 4, 1); ASBX(LOADI, 1, 9);
	ABC(SETIDX, 0, 4, 1);
	ABC(GETIDX, 1, 0, 4); PRINTV(1, VK_INT, 3);	/* 9 */
	PRINTV(2, VK_ARRAY, 3);				/* [[1, 9], [1, 9]] */
	ABC(NEWARR, 5, 0, VK_STRING);
	ABX(LOADS, 6, asm_kstr(a, "x y"));
	ABC(PUSH, 5, 6, 0); ABC(PUSH, 5, 6, 0);
	PRINTV(5, VK_ARRAY, 3);				/* [x y, x y] */
	ASBX(LOADI, 4, 5);
	snprintf(want, sizeof(want), "index 5 out of bounds (length 2)\n"
	    "  at main (t.script:%u)", a->fns[f].ncode + 1);
	ABC(GETIDX, 1, 0, 4);
	ABC(RET0, 0, 0, 0);
	asm_run(a, NULL, &o);
	CHECK_STR_EQ(o.out, "[]\n[1, 2, 3]\n[[1, 2, 3], [1, 2, 3]]\n3\n2\n9\n"
	    "[[1, 9], [1, 9]]\n[x y, x y]\n");
	CHECK_STR_EQ(o.error, want);
	free(a);

	a = asm_new();
	f = asm_fn(a, "main", true, VK_UNIT, 0, "aib");
	ABC(NEWARR, 0, 0, VK_INT);
	ABC(POP, 1, 0, 0);
	ABC(RET0, 0, 0, 0);
	asm_run(a, NULL, &o);
	CHECK_STR_EQ(o.error, "pop from empty array\n  at main (t.script:2)");
	free(a);

	/* an int array read into a bool register: the verifier can't know */
	a = asm_new();
	f = asm_fn(a, "main", true, VK_UNIT, 0, "aib");
	ABC(NEWARR, 0, 0, VK_INT);
	ABC(PUSH, 0, 1, 0);
	ABC(GETIDX, 2, 0, 1);
	ABC(RET0, 0, 0, 0);
	asm_run(a, NULL, &o);
	CHECK_STR_CONTAINS(o.error, "kind mismatch: array element gives int, "
	    "register holds bool");
	free(a);
}

static unsigned
add_fib(struct asm_mod *a)
{
	unsigned f = asm_fn(a, "fib", false, VK_INT, 1, "ibiiiii");

	ASBX(LOADI, 6, 2);
	ABC(LT, 1, 0, 6);
	ASBX(JMPF, 1, 1);
	ABC(RET, 0, 0, 0);
	SCI(ADDI, 3, 0, -1);
	ABX(CALL, 2, f);
	SCI(ADDI, 5, 0, -2);
	ABX(CALL, 4, f);
	ABC(ADD, 2, 2, 4);
	ABC(RET, 2, 0, 0);
	return f;
}

static void
test_calls(void)
{
	struct asm_mod *a = asm_new();
	unsigned f = asm_fn(a, "main", true, VK_UNIT, 0, "iis");
	unsigned fib = add_fib(a);
	struct vm_limits lim;
	struct outcome o;

	ASBX(LOADI, 1, 20);
	ABX(CALL, 0, fib);
	PRINTV(0, VK_INT, 2);
	ABC(RET0, 0, 0, 0);
	asm_run(a, NULL, &o);
	CHECK_STR_EQ(o.out, "6765\n");
	CHECK_INT_EQ(o.status, JOB_COMPLETED);
	/* fib(25) needs depth 25: fails at 10 */
	vm_limits_default(&lim);
	lim.call_depth = 10;
	a->af[f].code[0] = ins_asbx(OP_LOADI, 1, 25);
	asm_run(a, &lim, &o);
	CHECK_STR_CONTAINS(o.error, "call depth limit (10) exceeded\n"
	    "  at fib (t.script:6)\n  at fib (t.script:6)\n");
	CHECK_STR_CONTAINS(o.error, "  at fib (t.script:6)\n  at main "
	    "(t.script:2)");
	free(a);
}

/* async inner(x) { yield_now(); x * 2 }  async outer(x) { await inner(x) + 1 } */
static void
add_inner_outer(struct asm_mod *a, unsigned *innerp, unsigned *outerp)
{
	unsigned f = asm_fn(a, "inner", true, VK_INT, 1, "iFuii");

	*innerp = f;
	ABC(MKYIELD, 1, 0, 0);
	ABC(AWAIT, 2, 1, 0);
	asm_state(a, f, 1, 0);
	ABC(ADD, 3, 0, 0);
	ABC(RET, 3, 0, 0);
	f = asm_fn(a, "outer", true, VK_INT, 1, "iFii");
	*outerp = f;
	ABC(MOVE, 2, 0, 0);
	ABX(MKFUT, 1, *innerp);		/* moves R[2] */
	ABC(AWAIT, 3, 1, 0);
	asm_state(a, f, 0);
	SCI(ADDI, 3, 3, 1);
	ABC(RET, 3, 0, 0);
}

static void
test_futures(void)
{
	struct asm_mod *a = asm_new();
	unsigned inner, outer, f;
	struct outcome o;

	add_inner_outer(a, &inner, &outer);
	f = asm_fn(a, "main", true, VK_UNIT, 0, "Fiis");
	a->m.entry = f;
	ASBX(LOADI, 1, 5);
	ABX(MKFUT, 0, outer);
	ABC(AWAIT, 2, 0, 0);
	asm_state(a, f, 1, 0);
	PRINTV(2, VK_INT, 3);		/* 11 */
	ABC(AWAIT, 2, 0, 0);		/* again: fails, line 6 */
	asm_state(a, f, 0);
	ABC(RET0, 0, 0, 0);
	asm_run(a, NULL, &o);
	CHECK_STR_EQ(o.out, "11\n");
	CHECK_STR_EQ(o.error, "future already awaited or spawned\n"
	    "  at main (t.script:6)");
	free(a);
}

/* A failure three awaits deep shows the whole async chain. */
static void
test_trace(void)
{
	struct asm_mod *a = asm_new();
	unsigned inner, outer, f;
	struct outcome o;

	add_inner_outer(a, &inner, &outer);
	a->af[inner].code[2] = ins_abc(OP_DIV, 3, 0, 4);	/* x / 0 */
	f = asm_fn(a, "<top-level>", true, VK_UNIT, 0, "Fi");
	a->m.entry = f;
	ASBX(LOADI, 1, 5);
	ABX(MKFUT, 0, outer);
	ABC(AWAIT, 1, 0, 0);
	asm_state(a, f, 0);
	ABC(RET0, 0, 0, 0);
	asm_run(a, NULL, &o);
	CHECK_STR_EQ(o.error, "division by zero\n  at inner (t.script:3)\n"
	    "  at outer (t.script:3)\n  at <top-level> (t.script:3)");
	free(a);
}

/* async sleeper(ms, msg) { sleep(ms); println(msg) } */
static unsigned
add_sleeper(struct asm_mod *a)
{
	unsigned f = asm_fn(a, "sleeper", true, VK_UNIT, 2, "isFu");

	ABC(MKSLEEP, 2, 0, 0);
	ABC(AWAIT, 3, 2, 0);
	asm_state(a, f, 1, 1);
	ABC(PRINT, 1, 1, 0);
	ABC(RET0, 0, 0, 0);
	return f;
}

static void
test_sleep_order(void)
{
	struct asm_mod *a = asm_new();
	unsigned sl = add_sleeper(a);
	unsigned f = asm_fn(a, "main", true, VK_UNIT, 0, "FisTTu");
	struct outcome o;

	a->m.entry = f;
	ASBX(LOADI, 1, 20);
	ABX(LOADS, 2, asm_kstr(a, "slow"));
	ABX(MKFUT, 0, sl);
	ABC(SPAWN, 3, 0, 0);
	ASBX(LOADI, 1, 10);
	ABX(LOADS, 2, asm_kstr(a, "fast"));
	ABX(MKFUT, 0, sl);
	ABC(SPAWN, 4, 0, 0);
	ABC(AWAITT, 5, 3, 0);
	asm_state(a, f, 1, 4);
	ABC(AWAITT, 5, 4, 0);
	asm_state(a, f, 0);
	ABC(RET0, 0, 0, 0);
	asm_run(a, NULL, &o);
	CHECK_STR_EQ(o.out, "fast\nslow\n");
	CHECK_INT_EQ(o.status, JOB_COMPLETED);
	/* a negative sleep fails */
	a->af[f].code[4] = ins_asbx(OP_LOADI, 1, -5);
	asm_run(a, NULL, &o);
	CHECK_STR_EQ(o.out, "slow\n");
	CHECK_INT_EQ(o.status, JOB_FAILED);
	CHECK_STR_EQ(o.error, "sleep of -5 ms: negative duration\n"
	    "  at sleeper (t.script:2)\n  at main (t.script:10)");
	free(a);
}

/* async sq(x, ms) { sleep(ms); x * x }   or panics when x == 7 */
static unsigned
add_sq(struct asm_mod *a)
{
	unsigned f = asm_fn(a, "sq", true, VK_INT, 2, "iiFuibs");

	ABC(MKSLEEP, 2, 1, 0);
	ABC(AWAIT, 3, 2, 0);
	asm_state(a, f, 1, 0);
	ASBX(LOADI, 4, 7);
	ABC(EQ, 5, 0, 4);
	ASBX(JMPF, 5, 2);
	ABX(LOADS, 6, asm_kstr(a, "seven"));
	ABC(PANIC, 6, 0, 0);
	ABC(MUL, 4, 0, 0);
	ABC(RET, 4, 0, 0);
	return f;
}

static struct asm_mod *
spawn_join_mod(void)
{
	struct asm_mod *a = asm_new();
	unsigned sq = add_sq(a);
	unsigned f = asm_fn(a, "main", true, VK_UNIT, 0, "FiiTaiFasb");

	a->m.entry = f;
	ABC(NEWARR, 4, 0, VK_TASK);
	ASBX(LOADI, 5, 0);
	/* loop: for i in 0..3: push(tasks, spawn(sq(i, 3 - i))) */
	ASBX(LOADI, 1, 3);			/* pc 2 */
	ABC(SUB, 2, 1, 5);
	ABC(MOVE, 1, 5, 0);
	ABX(MKFUT, 0, sq);
	ABC(SPAWN, 3, 0, 0);
	ABC(PUSH, 4, 3, 0);
	SCI(ADDI, 5, 5, 1);
	ASBX(LOADI, 1, 3);
	ABC(LT, 9, 5, 1);
	ASBX(JMPT, 9, -10);			/* back to pc 2 */
	ABC(MKJOIN, 6, 4, VK_INT);
	ABC(AWAIT, 7, 6, 0);
	asm_state(a, f, 1, 3);
	PRINTV(7, VK_ARRAY, 8);			/* [0, 1, 4] */
	ABC(AWAITT, 5, 3, 0);			/* last task again: 4 */
	asm_state(a, f, 0);
	PRINTV(5, VK_INT, 8);
	ABC(RET0, 0, 0, 0);
	return a;
}

static void
test_spawn_join(void)
{
	struct asm_mod *a = spawn_join_mod();
	unsigned f = a->m.entry;
	struct outcome o;

	asm_run(a, NULL, &o);
	CHECK_STR_EQ(o.out, "[0, 1, 4]\n4\n");
	CHECK_INT_EQ(o.status, JOB_COMPLETED);
	/* sq(7) panics: the join fails with the child's trace, then ours */
	a->af[f].code[1] = ins_asbx(OP_LOADI, 5, 6);
	a->af[f].code[9] = ins_asbx(OP_LOADI, 1, 8);
	a->af[f].code[2] = ins_asbx(OP_LOADI, 1, 9);
	asm_run(a, NULL, &o);
	CHECK_STR_EQ(o.error, "panic: seven\n  at sq (t.script:7)\n"
	    "  at main (t.script:14)");
	free(a);
}

static void
test_timeout_and_cancel(void)
{
	struct asm_mod *a = asm_new();
	unsigned sl = add_sleeper(a), sq = add_sq(a);
	unsigned f = asm_fn(a, "main", true, VK_UNIT, 0, "FFiiisTbuFis");
	struct outcome o;
	int64_t t0;

	a->m.entry = f;
	/* await_timeout(sq(3, 1000), 20, -1) -> -1 */
	ASBX(LOADI, 2, 3);
	ABX(LOADK, 3, asm_kint(a, 1000));
	ABX(MKFUT, 1, sq);
	ASBX(LOADI, 2, 20);
	ASBX(LOADI, 3, -1);
	ABC(MKTIMEOUT, 0, 0, VK_INT);
	ABC(AWAIT, 4, 0, 0);
	asm_state(a, f, 0);
	PRINTV(4, VK_INT, 5);
	/* await_timeout(sq(4, 1), 1000, -1) -> 16 */
	ASBX(LOADI, 2, 4);
	ASBX(LOADI, 3, 1);
	ABX(MKFUT, 1, sq);
	ABX(LOADK, 2, asm_kint(a, 1000));
	ASBX(LOADI, 3, -1);
	ABC(MKTIMEOUT, 0, 0, VK_INT);
	ABC(AWAIT, 4, 0, 0);
	asm_state(a, f, 0);
	PRINTV(4, VK_INT, 5);
	/* t = spawn(sleeper(1000, "never")); cancel twice; await t */
	ABX(LOADK, 10, asm_kint(a, 1000));
	ABX(LOADS, 11, asm_kstr(a, "never"));
	ABX(MKFUT, 9, sl);
	ABC(SPAWN, 6, 9, 0);
	ABC(CANCEL, 7, 6, 0); PRINTV(7, VK_BOOL, 5);
	ABC(CANCEL, 7, 6, 0); PRINTV(7, VK_BOOL, 5);
	ABC(AWAITT, 8, 6, 0);		/* pc 28 */
	asm_state(a, f, 0);
	ABC(RET0, 0, 0, 0);
	t0 = timers_now_ms();
	asm_run(a, NULL, &o);
	CHECK(timers_now_ms() - t0 < 500);
	CHECK_STR_EQ(o.out, "-1\n16\ntrue\nfalse\n");
	CHECK_STR_EQ(o.error, "task cancelled\n  at main (t.script:29)");
	CHECK_INT_EQ(o.status, JOB_FAILED);
	free(a);
}

/* A task spinning forever does not keep a sleeper from waking on time;
 * the root's end cancels the spinner. */
static void
test_no_starvation(void)
{
	struct asm_mod *a = asm_new();
	unsigned sl = add_sleeper(a);
	unsigned spin = asm_fn(a, "spin", true, VK_UNIT, 0, "i");
	unsigned f;
	struct outcome o;
	int64_t t0;

	asm_op(a, spin, ins_abc(OP_ADDI, 0, 0, 0));
	asm_op(a, spin, ins_sj(OP_JMP, -2));
	f = asm_fn(a, "main", true, VK_UNIT, 0, "FisTTu");
	a->m.entry = f;
	ABX(MKFUT, 0, spin);
	ABC(SPAWN, 3, 0, 0);
	ASBX(LOADI, 1, 30);
	ABX(LOADS, 2, asm_kstr(a, "woke"));
	ABX(MKFUT, 0, sl);
	ABC(SPAWN, 4, 0, 0);
	ABC(AWAITT, 5, 4, 0);
	asm_state(a, f, 0);
	ABC(RET0, 0, 0, 0);
	t0 = timers_now_ms();
	asm_run(a, NULL, &o);
	CHECK_STR_EQ(o.out, "woke\n");
	CHECK_INT_EQ(o.status, JOB_COMPLETED);
	CHECK(timers_now_ms() - t0 < 300);
	free(a);
}

/* The root returns at once: the sleeping child is cancelled, prints
 * nothing, and nothing leaks. */
static void
test_job_end_cancels(void)
{
	struct asm_mod *a = asm_new();
	unsigned sl = add_sleeper(a);
	unsigned f = asm_fn(a, "main", true, VK_UNIT, 0, "FisT");
	struct outcome o;

	a->m.entry = f;
	ASBX(LOADI, 1, 50);
	ABX(LOADS, 2, asm_kstr(a, "late"));
	ABX(MKFUT, 0, sl);
	ABC(SPAWN, 3, 0, 0);
	ABC(RET0, 0, 0, 0);
	asm_run(a, NULL, &o);
	CHECK_STR_EQ(o.out, "");
	CHECK_INT_EQ(o.status, JOB_COMPLETED);
	free(a);
}

/* s = "x"; loop { s = s + s }: fails at the memory limit, while another
 * job of the same scheduler completes. */
static void
test_memory_limit(void)
{
	struct asm_mod *a = asm_new(), *b = asm_new();
	unsigned f = asm_fn(a, "main", true, VK_UNIT, 0, "s");
	struct job_hooks ha, hb;
	struct outcome oa, ob;
	struct vm_limits lim;
	struct sched *s;
	struct prog *pa, *pb;
	struct sc_error err;

	ABX(LOADS, 0, asm_kstr(a, "x"));
	ABC(CONCAT, 0, 0, 0);
	JMP(-2);
	f = asm_fn(b, "main", true, VK_UNIT, 0, "s");
	asm_op(b, f, ins_abx(OP_LOADS, 0, asm_kstr(b, "ok")));
	asm_op(b, f, ins_abc(OP_PRINT, 0, 1, 0));
	asm_op(b, f, ins_abc(OP_RET0, 0, 0, 0));
	vm_limits_default(&lim);
	lim.task_mem = 65536;
	asm_outcome_init(&oa);
	asm_outcome_init(&ob);
	ha = (struct job_hooks){ asm_on_out, asm_on_done, &oa };
	hb = (struct job_hooks){ asm_on_out, asm_on_done, &ob };
	CHECK(verify_module(&a->m, &err) == SC_OK);
	CHECK(verify_module(&b->m, &err) == SC_OK);
	CHECK(prog_new(&a->m, NULL, &pa, &err) == SC_OK);
	CHECK(prog_new(&b->m, NULL, &pb, &err) == SC_OK);
	CHECK(sched_new(&lim, &s) == SC_OK);
	CHECK(sched_submit(s, pa, 1, &ha, NULL, &err) == SC_OK);
	CHECK(sched_submit(s, pb, 2, &hb, NULL, &err) == SC_OK);
	prog_unref(pa);
	prog_unref(pb);
	asm_drive(s);
	sched_free(s);
	CHECK_INT_EQ(oa.status, JOB_FAILED);
	CHECK_STR_EQ(oa.error, "task memory limit (65536 bytes) exceeded\n"
	    "  at main (t.script:2)");
	CHECK_INT_EQ(ob.status, JOB_COMPLETED);
	CHECK_STR_EQ(ob.out, "ok\n");
	free(a);
	free(b);

	/* an array growing by push hits the same limit */
	a = asm_new();
	f = asm_fn(a, "main", true, VK_UNIT, 0, "ai");
	ABC(NEWARR, 0, 0, VK_INT);
	ABC(PUSH, 0, 1, 0);
	JMP(-2);
	asm_run(a, &lim, &oa);
	CHECK_STR_EQ(oa.error, "task memory limit (65536 bytes) exceeded\n"
	    "  at main (t.script:2)");
	free(a);
}

static void
test_live_task_limit(void)
{
	struct asm_mod *a = asm_new();
	unsigned f = asm_fn(a, "main", true, VK_UNIT, 0, "FT");
	struct vm_limits lim;
	struct outcome o;

	ABC(MKYIELD, 0, 0, 0);
	ABC(SPAWN, 1, 0, 0);
	JMP(-3);
	vm_limits_default(&lim);
	lim.live_tasks = 3;
	asm_run(a, &lim, &o);
	CHECK_STR_EQ(o.error, "live task limit (3) reached\n"
	    "  at main (t.script:2)");
	free(a);
}

static void
test_timeout_limit(void)
{
	struct asm_mod *a = asm_new();
	unsigned f = asm_fn(a, "main", true, VK_UNIT, 0, "iFu");
	struct vm_limits lim;
	struct outcome o;

	ABX(LOADK, 0, asm_kint(a, 10000));
	ABC(MKSLEEP, 1, 0, 0);
	ABC(AWAIT, 2, 1, 0);
	asm_state(a, f, 0);
	ABC(RET0, 0, 0, 0);
	vm_limits_default(&lim);
	lim.task_timeout_ms = 50;
	asm_run(a, &lim, &o);
	CHECK_INT_EQ(o.status, JOB_TIMEDOUT);
	CHECK_STR_EQ(o.error, "task timed out (limit 50 ms)");
	/* a sleep above the maximum */
	lim.task_timeout_ms = 300000;
	lim.sleep_max_ms = 1000;
	asm_run(a, &lim, &o);
	CHECK_STR_EQ(o.error, "sleep of 10000 ms exceeds the maximum "
	    "(1000 ms)\n  at main (t.script:3)");
	/* a spinning root times out too */
	a->fns[f].ncode = 0;
	a->fns[f].nstates = 0;
	JMP(-1);
	lim.task_timeout_ms = 30;
	asm_run(a, &lim, &o);
	CHECK_INT_EQ(o.status, JOB_TIMEDOUT);
	CHECK_STR_EQ(o.error, "task timed out (limit 30 ms)");
	free(a);
}

/* A task asleep keeps the live registers of its state and nothing else. */
static void
test_suspended_live_only(void)
{
	struct asm_mod *a = asm_new();
	unsigned f = asm_fn(a, "main", true, VK_UNIT, 0, "iiiisFus");
	struct outcome o;
	struct job_hooks h = { asm_on_out, asm_on_done, &o };
	struct sched *s;
	struct prog *p;
	struct job *j;
	struct sc_error err;
	uint32_t fn, st, nlive;
	const union value *vals;

	ASBX(LOADI, 0, 20);
	ASBX(LOADI, 1, 22);
	ASBX(LOADI, 2, 33);
	ASBX(LOADI, 3, 44);
	ABX(LOADS, 4, asm_kstr(a, "dead"));
	ABC(MKSLEEP, 5, 0, 0);
	ABC(AWAIT, 6, 5, 0);
	asm_state(a, f, 2, 1, 3);
	PRINTV(1, VK_INT, 7);
	PRINTV(3, VK_INT, 7);
	PRINTV(2, VK_INT, 7);		/* not live: comes back as 0 */
	ABC(RET0, 0, 0, 0);
	asm_outcome_init(&o);
	CHECK(verify_module(&a->m, &err) == SC_OK);
	CHECK(prog_new(&a->m, NULL, &p, &err) == SC_OK);
	CHECK(sched_new(NULL, &s) == SC_OK);
	CHECK(sched_submit(s, p, 0, &h, &j, &err) == SC_OK);
	prog_unref(p);
	CHECK_INT_EQ(sched_run(s, 1), 1);
	CHECK_INT_EQ(j->root->state, TASK_WAITING);
	CHECK_INT_EQ(j->root->saved_kind, SAVED_SUSP);
	CHECK(vm_susp_frame(j->root, 0, &fn, &st, &nlive, &vals));
	CHECK_INT_EQ(fn, 0);
	CHECK_INT_EQ(st, 0);
	CHECK_INT_EQ(nlive, 2);
	CHECK_INT_EQ(vals[0].i, 22);
	CHECK_INT_EQ(vals[1].i, 44);
	CHECK(!vm_susp_frame(j->root, 1, &fn, &st, &nlive, &vals));
	/* header + one frame + two values */
	CHECK_INT_EQ(vm_saved_bytes(j->root), 8 + 8 + 16);
	/* the frame's registers are no longer charged */
	CHECK_INT_EQ(j->root->mem.used, 32);
	CHECK(sizeof(struct task) <= 128);
	asm_drive(s);
	sched_free(s);
	CHECK_STR_EQ(o.out, "22\n44\n0\n");
	free(a);
}

/* Cycles (an array holding a future that holds the array) and a deep
 * nest of arrays are freed without leaks or deep recursion. */
static void
test_cycles_and_deep_free(void)
{
	struct asm_mod *a = asm_new();
	unsigned g = asm_fn(a, "g", true, VK_UNIT, 1, "a");
	unsigned f;
	struct outcome o;

	asm_op(a, g, ins_abc(OP_RET0, 0, 0, 0));
	f = asm_fn(a, "main", true, VK_UNIT, 0, "aFaaibi");
	a->m.entry = f;
	ABC(NEWARR, 0, 0, VK_FUTURE);
	ABC(MOVER, 2, 0, 0);
	ABX(MKFUT, 1, g);		/* future(g, args: R2 = the array) */
	ABC(PUSH, 0, 1, 0);		/* the array holds the future */
	/* deep: for i in 0..100000 { b = [a]; a = b } */
	ABC(NEWARR, 2, 0, VK_INT);
	ABX(LOADK, 6, asm_kint(a, 100000));
	ABC(NEWARR, 3, 1, VK_ARRAY);	/* pc 6 */
	ABC(PUSH, 3, 2, 0);
	ABC(MOVER, 2, 3, 0);
	SCI(ADDI, 4, 4, 1);
	ABC(LT, 5, 4, 6);
	ASBX(JMPT, 5, -6);
	ABC(RET0, 0, 0, 0);
	asm_run(a, NULL, &o);
	CHECK_INT_EQ(o.status, JOB_COMPLETED);
	free(a);
}

/* Cancelling a task that waits in await_timeout cancels the hidden child
 * running the future; cancelling the job ends it as cancelled. */
static void
test_cancel_chain_and_job(void)
{
	struct asm_mod *a = asm_new();
	unsigned sq = add_sq(a);
	unsigned w = asm_fn(a, "waiter", true, VK_INT, 0, "FFiii");
	unsigned f;
	struct outcome o;
	struct job_hooks h = { asm_on_out, asm_on_done, &o };
	struct sched *s;
	struct prog *p;
	struct job *j;
	struct sc_error err;

	f = w;
	ASBX(LOADI, 2, 3);
	ABX(LOADK, 3, asm_kint(a, 1000));
	ABX(MKFUT, 1, sq);
	ABX(LOADK, 2, asm_kint(a, 5000));
	ASBX(LOADI, 3, -1);
	ABC(MKTIMEOUT, 0, 0, VK_INT);
	ABC(AWAIT, 4, 0, 0);
	asm_state(a, f, 0);
	ABC(RET, 4, 0, 0);
	f = asm_fn(a, "main", true, VK_UNIT, 0, "FTbuFiu");
	a->m.entry = f;
	ABX(MKFUT, 0, w);
	ABC(SPAWN, 1, 0, 0);
	ABC(MKYIELD, 4, 0, 0);
	ABC(AWAIT, 3, 4, 0);
	asm_state(a, f, 1, 1);
	ABC(CANCEL, 2, 1, 0);
	ABX(LOADK, 5, asm_kint(a, 2000));
	ABC(MKSLEEP, 4, 5, 0);
	ABC(AWAIT, 6, 4, 0);
	asm_state(a, f, 0);
	ABC(RET0, 0, 0, 0);
	asm_outcome_init(&o);
	CHECK(verify_module(&a->m, &err) == SC_OK);
	CHECK(prog_new(&a->m, NULL, &p, &err) == SC_OK);
	CHECK(sched_new(NULL, &s) == SC_OK);
	CHECK(sched_submit(s, p, 0, &h, &j, &err) == SC_OK);
	prog_unref(p);
	while (sched_has_ready(s))
		sched_run(s, 16);
	CHECK_INT_EQ(sched_live_tasks(s), 1);	/* the root, asleep */
	CHECK_INT_EQ(sched_njobs(s), 1);
	CHECK(sched_next_timer_ms(s) > 1000);
	sched_cancel_job(s, j);
	CHECK_INT_EQ(o.status, JOB_CANCELLED);
	CHECK_STR_EQ(o.error, "task cancelled");
	CHECK_INT_EQ(sched_live_tasks(s), 0);
	CHECK_INT_EQ(sched_njobs(s), 0);
	CHECK_INT_EQ(sched_next_timer_ms(s), -1);
	sched_free(s);
	free(a);
}

/* Round-robin over tenants first: a tenant with three spinning tasks gets
 * no more turns than a tenant with one task that yields. */
static void
test_tenant_fairness(void)
{
	struct asm_mod *a = asm_new(), *b = asm_new();
	unsigned spin = asm_fn(a, "spin", true, VK_UNIT, 0, "i");
	unsigned f;
	struct outcome oa, ob;
	struct job_hooks ha = { asm_on_out, asm_on_done, &oa };
	struct job_hooks hb = { asm_on_out, asm_on_done, &ob };
	struct sched *s;
	struct prog *pa, *pb;
	struct sc_error err;
	int slices = 0;

	asm_op(a, spin, ins_abc(OP_ADDI, 0, 0, 0));
	asm_op(a, spin, ins_sj(OP_JMP, -2));
	f = asm_fn(a, "main", true, VK_UNIT, 0, "FTiu");
	a->m.entry = f;
	for (int n = 0; n < 3; n++) {
		ABX(MKFUT, 0, spin);
		ABC(SPAWN, 1, 0, 0);
	}
	ASBX(LOADI, 2, 50);
	ABC(MKSLEEP, 0, 2, 0);
	ABC(AWAIT, 3, 0, 0);
	asm_state(a, f, 0);
	ABC(RET0, 0, 0, 0);
	f = asm_fn(b, "main", true, VK_UNIT, 0, "Fusiib");
	b->m.entry = f;
	asm_op(b, f, ins_abx(OP_LOADS, 2, asm_kstr(b, "b")));
	asm_op(b, f, ins_abc(OP_MKYIELD, 0, 0, 0));	/* pc 1 */
	asm_op(b, f, ins_abc(OP_AWAIT, 1, 0, 0));
	asm_state(b, f, 2, 2, 3);
	asm_op(b, f, ins_abc(OP_PRINT, 2, 0, 0));
	asm_op(b, f, ins_sc(OP_ADDI, 3, 3, 1));
	asm_op(b, f, ins_asbx(OP_LOADI, 4, 5));
	asm_op(b, f, ins_abc(OP_LT, 5, 3, 4));
	asm_op(b, f, ins_asbx(OP_JMPT, 5, -7));
	asm_op(b, f, ins_abc(OP_RET0, 0, 0, 0));
	asm_outcome_init(&oa);
	asm_outcome_init(&ob);
	CHECK(verify_module(&a->m, &err) == SC_OK);
	CHECK(verify_module(&b->m, &err) == SC_OK);
	CHECK(prog_new(&a->m, NULL, &pa, &err) == SC_OK);
	CHECK(prog_new(&b->m, NULL, &pb, &err) == SC_OK);
	CHECK(sched_new(NULL, &s) == SC_OK);
	CHECK(sched_submit(s, pa, 1, &ha, NULL, &err) == SC_OK);
	CHECK(sched_submit(s, pb, 2, &hb, NULL, &err) == SC_OK);
	prog_unref(pa);
	prog_unref(pb);
	while (ob.status < 0 && slices < 1000)
		slices += sched_run(s, 1);
	CHECK_STR_EQ(ob.out, "bbbbb");
	CHECK(slices <= 13);
	CHECK_INT_EQ(oa.status, -1);		/* still spinning */
	asm_drive(s);
	CHECK_INT_EQ(oa.status, JOB_COMPLETED);
	sched_free(s);
	free(a);
	free(b);
}

/* join_all fails as soon as any of its tasks fails, without waiting for
 * the slower ones before it (which the job's end then cancels). */
static void
test_join_fails_early(void)
{
	struct asm_mod *a = asm_new();
	unsigned sl = add_sleeper(a);
	unsigned boom = asm_fn(a, "boom", true, VK_UNIT, 0, "iFus");
	unsigned f = boom;
	struct outcome o;
	int64_t t0;

	ASBX(LOADI, 0, 1);
	ABC(MKSLEEP, 1, 0, 0);
	ABC(AWAIT, 2, 1, 0);
	asm_state(a, f, 0);
	ABX(LOADS, 3, asm_kstr(a, "boom"));
	ABC(PANIC, 3, 0, 0);
	f = asm_fn(a, "main", true, VK_UNIT, 0, "FisTTaFa");
	a->m.entry = f;
	ASBX(LOADI, 1, 300);
	ABX(LOADS, 2, asm_kstr(a, "slow"));
	ABX(MKFUT, 0, sl);
	ABC(SPAWN, 3, 0, 0);
	ABX(MKFUT, 0, boom);
	ABC(SPAWN, 4, 0, 0);
	ABC(NEWARR, 5, 2, VK_TASK);
	ABC(PUSH, 5, 3, 0);
	ABC(PUSH, 5, 4, 0);
	ABC(MKJOIN, 6, 5, VK_UNIT);
	ABC(AWAIT, 7, 6, 0);
	asm_state(a, f, 0);
	ABC(RET0, 0, 0, 0);
	t0 = timers_now_ms();
	asm_run(a, NULL, &o);
	CHECK(timers_now_ms() - t0 < 200);
	CHECK_STR_EQ(o.out, "");
	CHECK_STR_EQ(o.error, "panic: boom\n  at boom (t.script:5)\n"
	    "  at main (t.script:11)");
	free(a);
}

/* A task that cancels itself ends cancelled even if it then returns. */
static void
test_self_cancel(void)
{
	struct asm_mod *a = asm_new();
	unsigned c = asm_fn(a, "child", true, VK_INT, 1, "aiTbFu");
	unsigned f = c;
	struct outcome o;

	ABC(MKYIELD, 4, 0, 0);
	ABC(AWAIT, 5, 4, 0);
	asm_state(a, f, 1, 0);
	ASBX(LOADI, 1, 0);
	ABC(GETIDX, 2, 0, 1);
	ABC(CANCEL, 3, 2, 0);
	ASBX(LOADI, 1, 5);
	ABC(RET, 1, 0, 0);
	f = asm_fn(a, "main", true, VK_UNIT, 0, "aFaTi");
	a->m.entry = f;
	ABC(NEWARR, 0, 1, VK_TASK);
	ABC(MOVER, 2, 0, 0);
	ABX(MKFUT, 1, c);
	ABC(SPAWN, 3, 1, 0);
	ABC(PUSH, 0, 3, 0);
	ABC(AWAITT, 4, 3, 0);
	asm_state(a, f, 0);
	ABC(RET0, 0, 0, 0);
	asm_run(a, NULL, &o);
	CHECK_STR_EQ(o.error, "task cancelled\n  at main (t.script:6)");
	free(a);
}

static int64_t fake_ms;

static int64_t
fake_clock(void)
{
	return fake_ms;
}

/* With the scheduler's clock replaced, sleeps fire exactly when due. */
static void
test_fake_clock(void)
{
	struct asm_mod *a = asm_new();
	unsigned sl = add_sleeper(a);
	unsigned f = asm_fn(a, "main", true, VK_UNIT, 0, "FisTu");
	struct outcome o;
	struct job_hooks h = { asm_on_out, asm_on_done, &o };
	struct sched *s;
	struct prog *p;
	struct sc_error err;

	a->m.entry = f;
	ABX(LOADK, 1, asm_kint(a, 1000));
	ABX(LOADS, 2, asm_kstr(a, "tick"));
	ABX(MKFUT, 0, sl);
	ABC(SPAWN, 3, 0, 0);
	ABC(AWAITT, 4, 3, 0);
	asm_state(a, f, 0);
	ABC(RET0, 0, 0, 0);
	asm_outcome_init(&o);
	fake_ms = 5000;
	CHECK(prog_new(&a->m, NULL, &p, &err) == SC_OK);
	CHECK(sched_new(NULL, &s) == SC_OK);
	sched_set_clock(s, fake_clock);
	CHECK(sched_submit(s, p, 0, &h, NULL, &err) == SC_OK);
	prog_unref(p);
	CHECK_INT_EQ(sched_run(s, 10), 2);	/* root, then the child */
	CHECK_INT_EQ(sched_run(s, 10), 0);
	CHECK_INT_EQ(sched_next_timer_ms(s), 1000);
	fake_ms += 999;
	sched_fire_timers(s, fake_ms);
	CHECK(!sched_has_ready(s));
	CHECK_INT_EQ(sched_next_timer_ms(s), 1);
	fake_ms += 1;
	sched_fire_timers(s, fake_ms);
	CHECK(sched_has_ready(s));
	CHECK_INT_EQ(sched_run(s, 10), 2);	/* the child, then the root */
	CHECK_STR_EQ(o.out, "tick\n");
	CHECK_INT_EQ(o.status, JOB_COMPLETED);
	sched_free(s);
	free(a);
}

static uint32_t
rnd(uint64_t *st)
{
	*st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*st >> 33);
}

/*
 * Mutate instructions, register kinds and live sets at random (fixed
 * seed); every mutant the verifier accepts must run to an end without
 * undefined behaviour or leaks (checked under ASan/UBSan).
 */
static int
mutate(struct asm_mod *a, uint64_t st, int iters)
{
	struct vm_limits lim;
	struct sc_error err;
	struct outcome o;
	int ran = 0;

	vm_limits_default(&lim);
	lim.live_tasks = 20;
	lim.task_timeout_ms = 30;
	lim.task_mem = 1 << 20;
	lim.call_depth = 50;
	lim.sleep_max_ms = 5;
	lim.fuel = 1000;
	for (int n = 0; n < iters; n++) {
		unsigned fn = rnd(&st) % a->m.nfns;
		struct asm_fn *af = &a->af[fn];
		struct mod_fn *mf = &a->fns[fn];
		unsigned pc = rnd(&st) % mf->ncode, what = rnd(&st) % 4;
		uint32_t old = af->code[pc];
		uint8_t oldk = 0, *kp = NULL;

		if (what == 0)
			af->code[pc] = (old & ~0xffu) | rnd(&st) % OP__COUNT;
		else if (what == 1)
			af->code[pc] ^= 1u << (8 + rnd(&st) % 24);
		else if (what == 2) {
			kp = &af->kinds[rnd(&st) % mf->nregs];
			oldk = *kp;
			*kp = (uint8_t)(rnd(&st) % VK__COUNT);
		} else if (mf->nstates > 0) {
			unsigned si = rnd(&st) % mf->nstates;

			if (mf->states[si].nlive > 0) {
				kp = &af->live[si][0];
				oldk = *kp;
				*kp = (uint8_t)(rnd(&st) % mf->nregs);
			}
		}
		if (verify_module(&a->m, &err) == SC_OK) {
			asm_run(a, &lim, &o);
			CHECK(o.status >= JOB_COMPLETED && o.status <= JOB_TIMEDOUT);
			ran++;
		}
		af->code[pc] = old;
		if (kp != NULL)
			*kp = oldk;
	}
	return ran;
}

static void
test_mutants(void)
{
	struct asm_mod *a = spawn_join_mod();
	unsigned inner, outer, sl, f;

	CHECK(mutate(a, 42, 4000) > 100);
	free(a);
	a = asm_new();
	add_inner_outer(a, &inner, &outer);
	sl = add_sleeper(a);
	f = asm_fn(a, "main", true, VK_UNIT, 0, "FiiTsuTbaF");
	a->m.entry = f;
	ASBX(LOADI, 1, 5);
	ABX(MKFUT, 0, outer);
	ABC(SPAWN, 3, 0, 0);
	ASBX(LOADI, 1, 2);
	ABX(LOADS, 2 + 2, asm_kstr(a, "s"));
	ABC(MOVER, 4, 4, 0);
	ABC(NEWARR, 8, 2, VK_TASK);
	ABC(PUSH, 8, 3, 0);
	ABC(MKJOIN, 9, 8, VK_INT);
	ABC(AWAIT, 8, 9, 0);
	asm_state(a, f, 1, 3);
	ABC(AWAITT, 2, 3, 0);
	asm_state(a, f, 0);
	ABC(CANCEL, 7, 3, 0);
	ABC(RET0, 0, 0, 0);
	(void)sl;
	{
		struct sc_error e = { 0 };

		CHECK(verify_module(&a->m, &e) == SC_OK);
		CHECK_STR_EQ(e.msg, "");
	}
	CHECK(mutate(a, 7, 4000) > 100);
	free(a);
}

/* Fail every charged allocation in turn: each run ends cleanly (the task
 * fails with "out of memory", nothing leaks) until one runs through. */
static void
test_alloc_faults(void)
{
	struct asm_mod *a = spawn_join_mod();
	struct outcome o;
	int n;

	for (n = 1; n < 1000; n++) {
		mem_fault_set(n);
		asm_run(a, NULL, &o);
		mem_fault_set(0);
		if (o.status == JOB_COMPLETED)
			break;
		CHECK_INT_EQ(o.status, JOB_FAILED);
		CHECK_STR_CONTAINS(o.error, "out of memory");
	}
	CHECK_STR_EQ(o.out, "[0, 1, 4]\n4\n");
	CHECK(n > 10 && n < 1000);
	free(a);
}

int
main(void)
{
	RUN(test_arith);
	RUN(test_int_errors);
	RUN(test_floats_and_conversions);
	RUN(test_strings);
	RUN(test_arrays);
	RUN(test_calls);
	RUN(test_futures);
	RUN(test_trace);
	RUN(test_sleep_order);
	RUN(test_spawn_join);
	RUN(test_timeout_and_cancel);
	RUN(test_no_starvation);
	RUN(test_job_end_cancels);
	RUN(test_memory_limit);
	RUN(test_live_task_limit);
	RUN(test_timeout_limit);
	RUN(test_suspended_live_only);
	RUN(test_cycles_and_deep_free);
	RUN(test_cancel_chain_and_job);
	RUN(test_tenant_fairness);
	RUN(test_join_fails_early);
	RUN(test_self_cancel);
	RUN(test_fake_clock);
	RUN(test_alloc_faults);
	RUN(test_mutants);
	return check_done();
}
