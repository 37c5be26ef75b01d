/*
 * The disassembler's text for the sample module (tests/lib/testmod.h),
 * byte for byte; scriptc_disasm() on good, malformed and unverifiable
 * bytes; and dis_module() on a broken module that must not be trusted.
 */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "dis.h"
#include "scriptc.h"
#include "testmod.h"
#include "verify.h"

/* The text dis_module() prints for the current test module (malloc'd). */
static char *
dis_text(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	dis_module(&tm.m, f);
	fclose(f);
	return text;
}

static const char golden[] =
	    "module \"prog.script\" format 1 sha256 01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3da\n"
	    "constants (3)\n"
	    "  K0  int 1000000\n"
	    "  K1  float 0.5\n"
	    "  K2  string \"tick \\n\"\n"
	    "functions (3), entry 1\n"
	    "fn add(2 params) -> int, 3 registers, line 1\n"
	    "  registers: r0 int, r1 int, r2 int\n"
	    "  0000  [  2]  ADD        r2 r0 r1\n"
	    "  0001  [  3]  RET        r2\n"
	    "async fn main(0 params) -> (), 14 registers, line 4\n"
	    "  registers: r0 int limit, r1 int, r2 int sum, r3 int, r4 int, r5 future, r6 int, r7 int, r8 bool, r9 string, r10 float, r11 future, r12 float, r13 float\n"
	    "  states (2)\n"
	    "    S0  pc 6, resume 7, live r0(limit)\n"
	    "    S1  pc 13, resume 14, live (none)\n"
	    "  0000  [  5]  LOADK      r0 K0          ; 1000000\n"
	    "  0001  [  6]  LOADI      r3 2\n"
	    "  0002  [  7]  LOADI      r4 3\n"
	    "  0003  [  8]  CALL       r2 add         ; args r3..r4\n"
	    "  0004  [  9]  MOVE       r6 r2\n"
	    "  0005  [ 10]  MKFUT      r5 work        ; args r6\n"
	    "  0006  [ 11]  AWAIT      r7 r5          ; S0\n"
	    "  0007  [ 12]  LT         r8 r7 r0\n"
	    "  0008  [ 13]  JMPF       r8 -> 0011\n"
	    "  0009  [ 14]  LOADS      r9 K2          ; \"tick \\n\"\n"
	    "  0010  [ 15]  PRINT      r9 1           ; println\n"
	    "  0011  [ 16]  LOADK      r12 K1         ; 0.5\n"
	    "  0012  [ 17]  MKEXT      r11 cos        ; args r12\n"
	    "  0013  [ 18]  AWAIT      r13 r11        ; S1\n"
	    "  0014  [ 19]  RET0\n"
	    "async fn work(1 param) -> int, 4 registers, line 20\n"
	    "  registers: r0 int, r1 future, r2 (), r3 int\n"
	    "  states (1)\n"
	    "    S0  pc 2, resume 3, live r0\n"
	    "  0000  [ 21]  LOADI      r3 10\n"
	    "  0001  [ 22]  MKSLEEP    r1 r3\n"
	    "  0002  [ 23]  AWAIT      r2 r1          ; S0\n"
	    "  0003  [ 24]  ADDI       r0 r0 1\n"
	    "  0004  [ 25]  RET        r0\n"
	    "externs (1)\n"
	    "  E0  \"libm.so.6\" cos(float) -> float\n";

static void
test_golden(void)
{
	char *t;

	testmod_reset();
	tm.m.nfns = 3;		/* zoo is checked line by line below */
	t = dis_text();
	CHECK_STR_EQ(t, golden);
	free(t);
}

static void
test_every_operand_mode(void)
{
	char *t;

	testmod_reset();
	t = dis_text();
	CHECK_STR_CONTAINS(t, "async fn zoo(0 params) -> int, 27 registers, "
	    "line 30\n");
	CHECK_STR_CONTAINS(t, "    S3  pc 63, resume 64, live r0 r7 r9\n");
	CHECK_STR_CONTAINS(t, "  0002  [ 33]  LOADI      r0 -5\n");
	CHECK_STR_CONTAINS(t, "  0006  [ 37]  LOADB      r6 1\n");
	CHECK_STR_CONTAINS(t, "  0007  [ 38]  LOADU      r14\n");
	CHECK_STR_CONTAINS(t, "  0008  [ 39]  NEWARR     r9 4 int\n");
	CHECK_STR_CONTAINS(t, "  0010  [ 41]  ADDI       r2 r0 -3\n");
	CHECK_STR_CONTAINS(t, "  0039  [ 70]  TOSTR      r7 r3 float\n");
	CHECK_STR_CONTAINS(t, "  0043  [ 74]  JMP        -> 0044\n");
	CHECK_STR_CONTAINS(t, "  0045  [ 76]  JMPF       r6 -> 0045\n");
	CHECK_STR_CONTAINS(t, "  0047  [ 78]  SETIDX     r9 r1 r0\n");
	CHECK_STR_CONTAINS(t, "  0052  [ 83]  CALL       r20 add        ; args "
	    "r21..r22\n");
	CHECK_STR_CONTAINS(t, "  0059  [ 90]  MKJOIN     r10 r9 int\n");
	CHECK_STR_CONTAINS(t, "  0061  [ 92]  MKTIMEOUT  r16 0 int      ; args "
	    "r17..r19\n");
	CHECK_STR_CONTAINS(t, "  0063  [ 94]  AWAITT     r18 r11        ; S3\n");
	CHECK_STR_CONTAINS(t, "  0065  [ 96]  PRINT      r7 2           ; "
	    "eprintln\n");
	CHECK_STR_CONTAINS(t, "  0077  [108]  PANIC      r7\nexterns (1)\n");
	free(t);
}

static void
test_constants(void)
{
	char *t;

	testmod_reset();
	tm.consts[0].u.i = INT64_MIN;
	tm.consts[1].u.f = 0.1;
	tm.consts[2].u.s.ptr = "\t\x01\"\\\0\xc3\xa9\x7f";
	tm.consts[2].u.s.len = 8;
	t = dis_text();
	CHECK_STR_CONTAINS(t, "  K0  int -9223372036854775808\n");
	CHECK_STR_CONTAINS(t, "  K1  float 0.1\n");
	CHECK_STR_CONTAINS(t, "  K2  string \"\\t\\x01\\\"\\\\\\0\xc3\xa9\\x7f\"\n");
	free(t);

	tm.consts[1].u.f = -1.0 / 3;
	tm.consts[2].u.s.ptr = "abcdefghijklmnopqrstuvwxyz";
	tm.consts[2].u.s.len = 26;
	t = dis_text();
	CHECK_STR_CONTAINS(t, "  K1  float -0.3333333333333333\n");
	/* The table shows it all; a comment only the first 24 bytes. */
	CHECK_STR_CONTAINS(t, "  K2  string \"abcdefghijklmnopqrstuvwxyz\"\n");
	CHECK_STR_CONTAINS(t, "LOADS      r9 K2          ; "
	    "\"abcdefghijklmnopqrstuvwx\"...\n");
	free(t);

	tm.consts[1].u.f = -INFINITY;
	t = dis_text();
	CHECK_STR_CONTAINS(t, "  K1  float -inf\n");
	free(t);
	tm.consts[1].u.f = NAN;
	t = dis_text();
	CHECK_STR_CONTAINS(t, "  K1  float nan\n");
	free(t);
	tm.consts[1].u.f = 1e300;
	t = dis_text();
	CHECK_STR_CONTAINS(t, "  K1  float 1e+300\n");
	free(t);
}

/* A module that would fail verification still prints, without reading
 * outside any table. */
static void
test_unverified(void)
{
	char *t;

	testmod_reset();
	tm.fns[TM_MAIN].lines = NULL;
	tm.f[TM_MAIN].code[0] = ins_abc(255, 1, 2, 3);
	tm.f[TM_MAIN].code[3] = ABX(CALL, 2, 9);
	tm.f[TM_MAIN].code[12] = ABX(MKEXT, 11, 7);
	tm.f[TM_MAIN].code[9] = ABX(LOADS, 9, 60000);
	tm.f[TM_MAIN].states[0].pc = 5;	/* pc 6's AWAIT loses it */
	tm.fns[TM_WORK].ret_kind = 77;
	tm.fns[TM_ADD].name = NULL;
	tm.params[0][0] = 40;
	t = dis_text();
	CHECK(verify_module(&tm.m, NULL) == SC_EBADMOD);
	CHECK_STR_CONTAINS(t, "  0000  [   ]  ?          0x030201ff\n");
	CHECK_STR_CONTAINS(t, "  0003  [   ]  CALL       r2 F9?\n");
	CHECK_STR_CONTAINS(t, "  0012  [   ]  MKEXT      r11 E7?\n");
	CHECK_STR_CONTAINS(t, "  0009  [   ]  LOADS      r9 K60000\n");
	CHECK_STR_CONTAINS(t, "  0006  [   ]  AWAIT      r7 r5          ; "
	    "no state\n");
	CHECK_STR_CONTAINS(t, "  0013  [   ]  AWAIT      r13 r11        ; "
	    "S1\n");
	CHECK_STR_CONTAINS(t, "async fn work(1 param) -> ?, 4 registers");
	CHECK_STR_CONTAINS(t, "\nfn ?(2 params) -> int");
	CHECK_STR_CONTAINS(t, "  E0  \"libm.so.6\" cos(?) -> float\n");
	free(t);

	testmod_reset();
	tm.fns[TM_ADD].nregs = 0;
	tm.fns[TM_ADD].nparams = 1;
	t = dis_text();
	CHECK_STR_CONTAINS(t, "fn add(1 param) -> int, 0 registers, line 1\n"
	    "  registers: (none)\n");
	free(t);
}

static void
test_scriptc_disasm(void)
{
	struct sc_error err;
	uint8_t *buf = NULL;
	char *text = NULL, *want;
	size_t len, tlen;
	FILE *f;

	testmod_reset();
	want = dis_text();
	CHECK_INT_EQ(modio_encode(&tm.m, &buf, &len, &err), SC_OK);
	f = open_memstream(&text, &tlen);
	CHECK_INT_EQ(scriptc_disasm(buf, len, f, &err), SC_OK);
	fclose(f);
	CHECK_STR_EQ(text, want);
	free(text);
	free(buf);
	free(want);

	/* Not a module: the decoder's message, nothing printed. */
	f = open_memstream(&text, &tlen);
	CHECK_INT_EQ(scriptc_disasm((const uint8_t *)"\xff\xff\xff", 3, f,
	    &err), SC_EBADMOD);
	fclose(f);
	CHECK_STR_EQ(err.msg, "module: 3 bytes are not a valid encoded "
	    "sbc.Module");
	CHECK_INT_EQ(tlen, 0);
	free(text);

	/* A module that does not verify: the verifier's message. */
	testmod_reset();
	tm.f[TM_WORK].code[4] = ABC(RET, 1, 0, 0);
	CHECK_INT_EQ(modio_encode(&tm.m, &buf, &len, &err), SC_OK);
	f = open_memstream(&text, &tlen);
	CHECK_INT_EQ(scriptc_disasm(buf, len, f, &err), SC_EBADMOD);
	fclose(f);
	CHECK_STR_EQ(err.msg, "function work, pc 4: RET: r1 is future, but "
	    "the function returns int");
	CHECK_INT_EQ(tlen, 0);
	free(text);
	free(buf);
}

int
main(void)
{
	RUN(test_golden);
	RUN(test_every_operand_mode);
	RUN(test_constants);
	RUN(test_unverified);
	RUN(test_scriptc_disasm);
	return check_done();
}
