/*
 * verify_module: the sample module (tests/lib/testmod.h) verifies, and each
 * check rejects a module broken in exactly that way with the exact message.
 */
#include <stdlib.h>

#include "check.h"
#include "testmod.h"
#include "verify.h"

#define BAD(want_) do { \
	struct sc_error e_; \
	memset(&e_, 0, sizeof(e_)); \
	CHECK_INT_EQ(verify_module(&tm.m, &e_), SC_EBADMOD); \
	CHECK_INT_EQ(e_.code, SC_EBADMOD); \
	CHECK_STR_EQ(e_.msg, want_); \
} while (0)

#define GOOD() do { \
	struct sc_error e_; \
	memset(&e_, 0, sizeof(e_)); \
	CHECK_INT_EQ(verify_module(&tm.m, &e_), SC_OK); \
	CHECK_STR_EQ(e_.msg, ""); \
} while (0)

#define MAIN	(tm.f[TM_MAIN].code)
#define ZOO	(tm.f[TM_ZOO].code)
#define KINDS(k)	(tm.f[k].kinds)

static void
test_valid(void)
{
	testmod_reset();
	GOOD();
	/* A plain function may be unreachable and still must verify. */
	tm.m.entry = TM_ZOO;
	GOOD();
	/* No line table and no register names are fine. */
	tm.fns[TM_MAIN].lines = NULL;
	tm.fns[TM_MAIN].reg_names = NULL;
	GOOD();
}

static void
test_module_header(void)
{
	testmod_reset();
	tm.m.format = 2;
	BAD("module: format 2 not supported (expected 1)");
	testmod_reset();
	tm.m.nfns = 0;
	BAD("module: no functions");
	testmod_reset();
	tm.m.entry = 4;
	BAD("module: entry 4 out of range (module has 4 functions)");
	testmod_reset();
	tm.m.entry = TM_ADD;
	BAD("module: entry function add is not async");
	testmod_reset();
	tm.m.entry = TM_WORK;
	BAD("module: entry function work takes 1 parameters, expected 0");
	testmod_reset();
	tm.m.source_name = NULL;
	BAD("module: no source name");
	testmod_reset();
	tm.m.nfns = MODULE_FUNCTIONS_MAX + 1;
	BAD("module: 65537 functions (MODULE_FUNCTIONS_MAX 65536)");
}

static void
test_constants(void)
{
	testmod_reset();
	tm.consts[1].kind = 3;
	BAD("module: constant 1 has unknown kind 3");
	testmod_reset();
	tm.consts[2].u.s.ptr = NULL;
	BAD("module: constant 2: string missing");
	testmod_reset();
	tm.m.nconsts = MODULE_CONSTANTS_MAX + 1;
	BAD("module: 65537 constants (MODULE_CONSTANTS_MAX 65536)");
}

static void
test_externs(void)
{
	testmod_reset();
	tm.externs[0].library = "";
	BAD("module: extern 0: empty library");
	testmod_reset();
	tm.externs[0].symbol = NULL;
	BAD("module: extern 0: empty symbol");
	testmod_reset();
	tm.externs[0].nparams = 17;
	BAD("module: extern cos: 17 parameters (VERIFY_EXTERN_PARAMS_MAX 16)");
	testmod_reset();
	tm.params[0][0] = CT__COUNT;
	BAD("module: extern cos: parameter 0 has unknown ctype 7");
	testmod_reset();
	tm.params[0][0] = CT_VOID;
	BAD("module: extern cos: parameter 0 is ()");
	testmod_reset();
	tm.externs[0].ret = 9;
	BAD("module: extern cos: unknown result ctype 9");
	/* Every non-void ctype is a valid parameter; void is a valid result. */
	testmod_reset();
	tm.externs[0].ret = CT_VOID;
	GOOD();
	tm.externs[0].nparams = 16;
	for (unsigned k = 0; k < 16; k++)
		tm.params[0][k] = (uint8_t)(1 + k % (CT__COUNT - 1));
	/* Now MKEXT's arguments no longer match the extern. */
	BAD("function main, pc 12: MKEXT: arguments r12..r27 out of range "
	    "(function has 14)");
}

static void
test_function_header(void)
{
	testmod_reset();
	tm.fns[TM_ADD].nregs = 300;
	BAD("function add: 300 registers (FUNCTION_REGS_MAX 256)");
	testmod_reset();
	tm.fns[TM_ADD].nparams = 4;
	BAD("function add: 4 parameters but only 3 registers");
	testmod_reset();
	KINDS(TM_WORK)[2] = VK__COUNT;
	BAD("function work: register 2 has unknown kind 9");
	testmod_reset();
	tm.fns[TM_WORK].ret_kind = 200;
	BAD("function work: unknown return kind 200");
	testmod_reset();
	tm.fns[TM_WORK].ncode = 0;
	BAD("function work: no code");
	testmod_reset();
	tm.fns[TM_WORK].ncode = FUNCTION_CODE_MAX + 1;
	BAD("function work: 4194305 instructions (FUNCTION_CODE_MAX "
	    "4194304)");
	testmod_reset();
	tm.fns[TM_MAIN].reg_names = tm.f[TM_MAIN].names;
	tm.f[TM_MAIN].names[3] = NULL;
	BAD("function main: register 3 name missing");
	testmod_reset();
	tm.fns[TM_ADD].name = NULL;
	BAD("function ?: no name");
}

static void
test_code_total_cap(void)
{
	/* Headers are checked before any code is read, so the count alone
	 * trips the cap: main's 15 + add's 2^22 - 16 + work's 5. */
	testmod_reset();
	tm.fns[TM_ADD].ncode = VERIFY_CODE_TOTAL_MAX - 16;
	BAD("function work: module has more than 4194304 instructions "
	    "(VERIFY_CODE_TOTAL_MAX)");
}

static void
test_states(void)
{
	testmod_reset();
	tm.f[TM_MAIN].states[1].pc = 15;
	BAD("function main: state 1: pc 15 outside code (0..14)");
	testmod_reset();
	tm.f[TM_MAIN].states[1].pc = 6;
	BAD("function main: state 1: pc 6 not after state 0 (pc 6)");
	testmod_reset();
	tm.f[TM_MAIN].live[0][0] = 14;
	BAD("function main: state 0: live register 14 out of range "
	    "(function has 14)");
	testmod_reset();
	tm.f[TM_ZOO].live[1][1] = 0;
	BAD("function zoo: state 1: live registers not ascending (0 after "
	    "0)");
	/* A state on an op that is not an AWAIT. */
	testmod_reset();
	tm.f[TM_MAIN].states[0].pc = 5;
	BAD("function main, pc 5: state 0 is on MKFUT, not an AWAIT");
	/* An AWAIT without its state. */
	testmod_reset();
	tm.fns[TM_MAIN].nstates = 1;
	BAD("function main, pc 13: AWAIT has no state");
	testmod_reset();
	tm.fns[TM_MAIN].nstates = 0;
	BAD("function main, pc 6: AWAIT has no state");
	/* The destination is written on resume: it cannot be live. */
	testmod_reset();
	tm.f[TM_MAIN].live[0][0] = 7;
	BAD("function main, pc 6: state 0: destination r7 is in the live "
	    "set");
	/* AWAIT in a plain function. */
	testmod_reset();
	tm.fns[TM_WORK].is_async = 0;
	BAD("function main, pc 5: MKFUT: function work is not async (use "
	    "CALL)");
}

static void
test_await_not_async(void)
{
	testmod_reset();
	/* work is not called by anyone once main's MKFUT is replaced. */
	tm.f[TM_MAIN].code[5] = ABC(MKYIELD, 5, 0, 0);
	tm.f[TM_ZOO].code[53] = ABC(MKYIELD, 23, 0, 0);
	tm.fns[TM_WORK].is_async = 0;
	BAD("function work, pc 2: AWAIT in a function that is not async");
}

static void
test_opcode_and_operands(void)
{
	testmod_reset();
	MAIN[4] = ins_abc(255, 0, 0, 0);
	BAD("function main, pc 4: unknown opcode 255");
	testmod_reset();
	MAIN[4] = ABC(MOVE, 6, 2, 1);
	BAD("function main, pc 4: MOVE: operand C must be 0 (is 1)");
	testmod_reset();
	MAIN[14] = ABC(RET0, 3, 0, 0);
	BAD("function main, pc 14: RET0: operand A must be 0 (is 3)");
	testmod_reset();
	MAIN[4] = ABC(MOVE, 40, 2, 0);
	BAD("function main, pc 4: register 40 out of range (function has "
	    "14)");
	testmod_reset();
	MAIN[4] = ABC(MOVE, 6, 14, 0);
	BAD("function main, pc 4: register 14 out of range (function has "
	    "14)");
	testmod_reset();
	MAIN[0] = ABX(LOADK, 0, 3);
	BAD("function main, pc 0: constant 3 out of range (module has 3)");
	testmod_reset();
	MAIN[3] = ABX(CALL, 2, 4);
	BAD("function main, pc 3: function 4 out of range (module has 4)");
	testmod_reset();
	MAIN[12] = ABX(MKEXT, 11, 1);
	BAD("function main, pc 12: extern 1 out of range (module has 1)");
	testmod_reset();
	ZOO[8] = ABC(NEWARR, 9, 4, VK__COUNT);
	BAD("function zoo, pc 8: kind 9 out of range (VK__COUNT 9)");
}

static void
test_jumps(void)
{
	testmod_reset();
	tm.fns[TM_ADD].ncode = 4;
	tm.f[TM_ADD].code[0] = ins_sj(OP_JMP, 6);
	BAD("function add, pc 0: jump target 7 outside code (0..3)");
	testmod_reset();
	MAIN[8] = ASBX(JMPF, 8, -10);
	BAD("function main, pc 8: jump target -1 outside code (0..14)");
	testmod_reset();
	MAIN[8] = ASBX(JMPT, 8, 6);
	BAD("function main, pc 8: jump target 15 outside code (0..14)");
	/* The extremes of sJ are decoded with their sign. */
	testmod_reset();
	MAIN[8] = ins_sj(OP_JMP, SJ_MIN);
	BAD("function main, pc 8: jump target -8388599 outside code (0..14)");
	testmod_reset();
	MAIN[8] = ins_sj(OP_JMP, -9);
	GOOD();
	MAIN[8] = ins_sj(OP_JMP, 5);
	GOOD();
}

static void
test_fall_through(void)
{
	testmod_reset();
	MAIN[14] = ABC(NOWMS, 0, 0, 0);
	BAD("function main, pc 14: last instruction NOWMS falls off the end "
	    "of the code");
	testmod_reset();
	tm.fns[TM_ADD].ncode = 1;
	BAD("function add, pc 0: last instruction ADD falls off the end of "
	    "the code");
	testmod_reset();
	tm.f[TM_ADD].code[1] = ins_sj(OP_JMP, -2);
	GOOD();
	tm.f[TM_ADD].code[1] = ABC(PANIC, 0, 0, 0);
	BAD("function add, pc 1: PANIC: r0 is int, expected string");
}

static void
test_kind_table(void)
{
	testmod_reset();
	KINDS(TM_ADD)[1] = VK_FLOAT;
	BAD("function add, pc 0: ADD: r1 is float, expected int");
	testmod_reset();
	KINDS(TM_ADD)[2] = VK_BOOL;
	BAD("function add, pc 0: ADD: r2 is bool, expected int");
	testmod_reset();
	ZOO[16] = ABC(FADD, 5, 3, 0);
	BAD("function zoo, pc 16: FADD: r0 is int, expected float");
	testmod_reset();
	MAIN[7] = ABC(LT, 7, 7, 0);
	BAD("function main, pc 7: LT: r7 is int, expected bool");
	testmod_reset();
	MAIN[8] = ASBX(JMPF, 7, 2);
	BAD("function main, pc 8: JMPF: r7 is int, expected bool");
	testmod_reset();
	ZOO[46] = ABC(GETIDX, 0, 7, 1);
	BAD("function zoo, pc 46: GETIDX: r7 is string, expected array");
	testmod_reset();
	ZOO[47] = ABC(SETIDX, 9, 3, 0);
	BAD("function zoo, pc 47: SETIDX: r3 is float, expected int");
	testmod_reset();
	ZOO[62] = ABC(SPAWN, 11, 9, 0);
	BAD("function zoo, pc 62: SPAWN: r9 is array, expected future");
	testmod_reset();
	ZOO[63] = ABC(AWAITT, 18, 10, 0);
	BAD("function zoo, pc 63: AWAITT: r10 is future, expected task");
	testmod_reset();
	ZOO[58] = ABC(AWAIT, 19, 11, 0);
	BAD("function zoo, pc 58: AWAIT: r11 is task, expected future");
	testmod_reset();
	ZOO[64] = ABC(CANCEL, 6, 10, 0);
	BAD("function zoo, pc 64: CANCEL: r10 is future, expected task");
	testmod_reset();
	MAIN[10] = ABC(PRINT, 8, 1, 0);
	BAD("function main, pc 10: PRINT: r8 is bool, expected string");
	testmod_reset();
	ZOO[75] = ABC(ASSERTM, 6, 6, 0);
	BAD("function zoo, pc 75: ASSERTM: r6 is bool, expected string");
}

static void
test_move_and_loads(void)
{
	testmod_reset();
	ZOO[0] = ABC(MOVE, 7, 8, 0);
	BAD("function zoo, pc 0: MOVE: r7 is string, expected a scalar kind");
	testmod_reset();
	ZOO[0] = ABC(MOVE, 0, 3, 0);
	BAD("function zoo, pc 0: MOVE: r0 is int but r3 is float");
	testmod_reset();
	ZOO[1] = ABC(MOVER, 0, 1, 0);
	BAD("function zoo, pc 1: MOVER: r0 is int, expected a reference kind");
	testmod_reset();
	ZOO[1] = ABC(MOVER, 8, 9, 0);
	BAD("function zoo, pc 1: MOVER: r8 is string but r9 is array");
	testmod_reset();
	ZOO[3] = ABX(LOADK, 0, 1);
	BAD("function zoo, pc 3: LOADK: r0 is int but K1 is a float constant");
	testmod_reset();
	ZOO[3] = ABX(LOADK, 7, 2);
	BAD("function zoo, pc 3: LOADK: r7 is string but K2 is a string "
	    "constant");
	testmod_reset();
	ZOO[5] = ABX(LOADS, 7, 0);
	BAD("function zoo, pc 5: LOADS: K0 is not a string constant");
	testmod_reset();
	ZOO[6] = ABC(LOADB, 6, 2, 0);
	BAD("function zoo, pc 6: LOADB: B must be 0 or 1 (is 2)");
	testmod_reset();
	ZOO[7] = ABC(LOADU, 0, 0, 0);
	BAD("function zoo, pc 7: LOADU: r0 is int, expected ()");
}

static void
test_compare_and_convert(void)
{
	testmod_reset();
	ZOO[24] = ABC(EQ, 6, 0, 15);
	BAD("function zoo, pc 24: EQ: r0 is int but r15 is bool");
	testmod_reset();
	ZOO[24] = ABC(EQ, 6, 7, 8);
	BAD("function zoo, pc 24: EQ: r7 is string, expected int, bool, () or "
	    "ptr");
	testmod_reset();
	ZOO[26] = ABC(NE, 6, 3, 4);
	BAD("function zoo, pc 26: NE: r3 is float, expected int, bool, () or "
	    "ptr");
	testmod_reset();
	ZOO[39] = ABC(TOSTR, 7, 3, VK_INT);
	BAD("function zoo, pc 39: TOSTR: r3 is float, but C names int");
	testmod_reset();
	ZOO[38] = ABC(FTOI, 3, 3, 0);
	BAD("function zoo, pc 38: FTOI: r3 is float, expected int");
	testmod_reset();
	ZOO[42] = ABC(CONCAT, 7, 7, 0);
	BAD("function zoo, pc 42: CONCAT: r0 is int, expected string");
}

static void
test_calls(void)
{
	testmod_reset();
	MAIN[3] = ABX(CALL, 2, TM_WORK);
	BAD("function main, pc 3: CALL: function work is async (use MKFUT)");
	testmod_reset();
	MAIN[5] = ABX(MKFUT, 5, TM_ADD);
	BAD("function main, pc 5: MKFUT: function add is not async (use "
	    "CALL)");
	testmod_reset();
	MAIN[3] = ABX(CALL, 5, TM_ADD);
	BAD("function main, pc 3: CALL: r5 is future, but add returns int");
	testmod_reset();
	MAIN[3] = ABX(CALL, 12, TM_ADD);
	KINDS(TM_MAIN)[12] = VK_INT;
	BAD("function main, pc 3: CALL: arguments r13..r14 out of range "
	    "(function has 14)");
	testmod_reset();
	KINDS(TM_MAIN)[4] = VK_FLOAT;
	BAD("function main, pc 2: LOADI: r4 is float, expected int");
	testmod_reset();
	MAIN[2] = ABX(LOADK, 4, 1);
	KINDS(TM_MAIN)[4] = VK_FLOAT;
	BAD("function main, pc 3: CALL: argument 1 (r4) is float, expected "
	    "int for add");
	testmod_reset();
	KINDS(TM_MAIN)[12] = VK_INT;
	BAD("function main, pc 11: LOADK: r12 is int but K1 is a float "
	    "constant");
	testmod_reset();
	MAIN[11] = ABX(LOADK, 12, 0);
	KINDS(TM_MAIN)[12] = VK_INT;
	BAD("function main, pc 12: MKEXT: argument 0 (r12) is int, expected "
	    "float for cos");
	testmod_reset();
	MAIN[12] = ABX(MKEXT, 13, 0);
	BAD("function main, pc 12: MKEXT: r13 is float, expected future");
	/* A callee with no parameters can sit in the last register. */
	testmod_reset();
	MAIN[5] = ABX(MKFUT, 13, TM_ZOO);
	KINDS(TM_MAIN)[13] = VK_FUTURE;
	GOOD();
}

static void
test_returns(void)
{
	testmod_reset();
	tm.f[TM_ADD].code[1] = ABC(RET, 0, 0, 0);
	KINDS(TM_ADD)[0] = VK_FLOAT;
	BAD("function add, pc 0: ADD: r0 is float, expected int");
	testmod_reset();
	tm.fns[TM_ADD].ret_kind = VK_FLOAT;
	BAD("function add, pc 1: RET: r2 is int, but the function returns "
	    "float");
	testmod_reset();
	tm.f[TM_ADD].code[1] = ABC(RET0, 0, 0, 0);
	BAD("function add, pc 1: RET0: the function returns int");
}

static void
test_futures(void)
{
	testmod_reset();
	ZOO[55] = ABC(MKSLEEP, 10, 3, 0);
	BAD("function zoo, pc 55: MKSLEEP: r3 is float, expected int");
	testmod_reset();
	ZOO[57] = ABC(MKYIELD, 9, 0, 0);
	BAD("function zoo, pc 57: MKYIELD: r9 is array, expected future");
	testmod_reset();
	ZOO[59] = ABC(MKJOIN, 10, 11, VK_INT);
	BAD("function zoo, pc 59: MKJOIN: r11 is task, expected array");
	testmod_reset();
	ZOO[61] = ABC(MKTIMEOUT, 16, 2, VK_INT);
	BAD("function zoo, pc 61: MKTIMEOUT: B must be 0 or 1 (is 2)");
	testmod_reset();
	ZOO[61] = ABC(MKTIMEOUT, 16, 1, VK_INT);
	BAD("function zoo, pc 61: MKTIMEOUT: r17 is future, expected task");
	testmod_reset();
	ZOO[61] = ABC(MKTIMEOUT, 25, 0, VK_INT);
	BAD("function zoo, pc 61: MKTIMEOUT: operands r26..r28 out of range "
	    "(function has 27)");
	testmod_reset();
	KINDS(TM_ZOO)[18] = VK_FLOAT;
	BAD("function zoo, pc 61: MKTIMEOUT: r18 is float, expected int");
	testmod_reset();
	ZOO[61] = ABC(MKTIMEOUT, 16, 0, VK_FLOAT);
	BAD("function zoo, pc 61: MKTIMEOUT: fallback r19 is int, but C names "
	    "float");
	testmod_reset();
	ZOO[65] = ABC(PRINT, 7, 3, 0);
	BAD("function zoo, pc 65: PRINT: B must be 0, 1 or 2 (is 3)");
}

static void
test_first_fault(void)
{
	/* Two faults: the one at the lower pc of the earlier function is
	 * reported, and module-level faults come before any code. */
	testmod_reset();
	ZOO[3] = ins_abc(OP__COUNT + 1, 0, 0, 0);
	MAIN[9] = ins_abc(255, 0, 0, 0);
	MAIN[10] = ins_abc(OP__COUNT + 2, 0, 0, 0);
	BAD("function main, pc 9: unknown opcode 255");
	tm.externs[0].symbol = "";
	BAD("module: extern 0: empty symbol");
}

/* Opcodes above the last one, in every op slot of every instruction of a
 * function: always rejected, never read past a table. */
static void
test_every_opcode_byte(void)
{
	struct sc_error err;
	unsigned rejected = 0;

	for (unsigned op = 0; op < 256; op++) {
		testmod_reset();
		MAIN[4] = (MAIN[4] & ~0xffu) | op;
		if (verify_module(&tm.m, &err) != SC_OK)
			rejected++;
		else
			CHECK(op < OP__COUNT);
	}
	CHECK(rejected >= 256 - OP__COUNT);
}

/* A small fixed-seed generator, so a failure reproduces. */
static uint32_t
rnd(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

/*
 * Random well-formed-looking instructions (valid opcodes, small operands,
 * so many are near misses) and register kinds in random functions: the
 * verifier answers OK or a named fault, never reads outside a table (ASan),
 * and accepts some of the mutants, so the checks are not vacuous.
 */
static void
test_random_mutations(void)
{
	uint32_t seed = 12345;
	unsigned nok = 0, nbad = 0;

	for (int iter = 0; iter < 50000; iter++) {
		struct sc_error err;
		int r;

		testmod_reset();
		for (unsigned n = 1 + rnd(&seed) % 3; n > 0; n--) {
			unsigned k = rnd(&seed) % 4;
			unsigned pc = rnd(&seed) % tm.fns[k].ncode;
			unsigned op = rnd(&seed) % OP__COUNT;
			unsigned a = rnd(&seed) % 30, b = rnd(&seed) % 30;
			unsigned c = rnd(&seed) % 30;

			if (rnd(&seed) % 4 == 0)
				tm.f[k].kinds[rnd(&seed) % tm.fns[k].nregs] =
				    (uint8_t)(rnd(&seed) % VK__COUNT);
			else if (op_info[op].format == FMT_ABC)
				tm.f[k].code[pc] = ins_abc(op, a, b, c);
			else if (op_info[op].format == FMT_sJ)
				tm.f[k].code[pc] = ins_sj(op, (int)b - 15);
			else if (op_info[op].format == FMT_AsBx)
				tm.f[k].code[pc] = ins_asbx(op, a, (int)b - 15);
			else
				tm.f[k].code[pc] = ins_abx(op, a, b % 5);
		}
		r = verify_module(&tm.m, &err);
		if (r == SC_OK) {
			nok++;
			continue;
		}
		nbad++;
		CHECK_INT_EQ(r, SC_EBADMOD);
		CHECK(strncmp(err.msg, "function ", 9) == 0 ||
		    strncmp(err.msg, "module: ", 8) == 0);
	}
	printf("random mutations: %u verified, %u rejected\n", nok, nbad);
	CHECK(nok > 100);
	CHECK(nbad > 10000);
}

int
main(void)
{
	RUN(test_valid);
	RUN(test_module_header);
	RUN(test_constants);
	RUN(test_externs);
	RUN(test_function_header);
	RUN(test_code_total_cap);
	RUN(test_states);
	RUN(test_await_not_async);
	RUN(test_opcode_and_operands);
	RUN(test_jumps);
	RUN(test_fall_through);
	RUN(test_kind_table);
	RUN(test_move_and_loads);
	RUN(test_compare_and_convert);
	RUN(test_calls);
	RUN(test_returns);
	RUN(test_futures);
	RUN(test_first_fault);
	RUN(test_every_opcode_byte);
	RUN(test_random_mutations);
	return check_done();
}
