/*
 * The checker: name resolution, type inference and every type error it
 * reports, as exact "LINE:COL: error: MESSAGE" lines.
 */
#include "check.h"
#include "compile_helper.h"
#include "err.h"

static char buf[4096];

#define DIAGS(src)	diags_of(src, buf, sizeof(buf))

static void
accepts_well_typed(void)
{
	CHECK_STR_EQ(DIAGS(
	    "fn add(a: int, b: int) -> int { a + b }\n"
	    "fn infer(x: float) { x * 2.0 }\n"
	    "async fn later(x: int) -> [int] { await sleep(1); [x, x] }\n"
	    "let a: [string] = []\n"
	    "push(a, \"s\" + add(1, 2) + infer(1.5))\n"
	    "let t: Task<[int]> = spawn(later(3))\n"
	    "let all: [[int]] = await join_all([t])\n"
	    "let v = await await_timeout(later(1), 10, [0])\n"
	    "println(len(all) + len(v) + len(\"abc\"))\n"), "");
}

static void
inferred_return_types(void)
{
	CHECK_STR_EQ(DIAGS(
	    "fn a() { b() + 1 }\n"
	    "fn b() { 41 }\n"
	    "fn c(x: int) {\n"
	    "    if x > 0 { return \"pos\" }\n"
	    "    \"non-pos\"\n"
	    "}\n"
	    "let s: string = c(a())\n"), "");
	CHECK_STR_EQ(DIAGS(
	    "fn c(x: int) {\n"
	    "    if x > 0 { return 1 }\n"
	    "    \"s\"\n"
	    "}\n"
	    "c(1)\n"), "1:4: error: 'c' returns int in one place and string "
	    "in another: declare '-> TYPE'\n");
}

static void
scopes_and_shadowing(void)
{
	CHECK_STR_EQ(DIAGS(
	    "{ let inner = 1 }\n"
	    "println(inner)\n"), "2:9: error: unknown name 'inner'\n");
	CHECK_STR_EQ(DIAGS(
	    "let x = 1\n"
	    "let x = \"now a string\"\n"
	    "let y: string = x\n"), "");
	CHECK_STR_EQ(DIAGS(
	    "fn f(x: int) -> int { x }\n"
	    "println(f)\n"), "2:9: error: 'f' is a function: call it with "
	    "f(...)\n");
	CHECK_STR_EQ(DIAGS(
	    "let v = 1\n"
	    "v(2)\n"), "2:1: error: 'v' is a variable, not a function\n");
}

static void
redefinitions(void)
{
	CHECK_STR_EQ(DIAGS(
	    "fn f() {}\n"
	    "fn f() {}\n"
	    "f()\n"), "2:4: error: 'f' is already defined at line 1\n");
	CHECK_STR_EQ(DIAGS(
	    "fn len(x: int) -> int { x }\n"
	    "len([1])\n"), "1:4: error: 'len' is a builtin function and "
	    "cannot be redefined\n");
}

static void
operator_types(void)
{
	CHECK_STR_EQ(DIAGS("let x = true + 1\n"),
	    "1:14: error: mismatched types bool and int for '+'\n");
	CHECK_STR_EQ(DIAGS("let x = -true\n"),
	    "1:9: error: operator '-' cannot be applied to bool\n");
	CHECK_STR_EQ(DIAGS("let x = !1\n"),
	    "1:9: error: operator '!' cannot be applied to int\n");
	CHECK_STR_EQ(DIAGS("let x = [1] < [2]\n"),
	    "1:13: error: operator '<' cannot be applied to [int]\n");
	CHECK_STR_EQ(DIAGS("let x = 1 && true\n"),
	    "1:9: error: left operand of logical operator: expected bool, "
	    "found int\n");
	CHECK_STR_EQ(DIAGS(
	    "async fn f() -> int { 1 }\n"
	    "let x = f() + 1\n"),
	    "2:13: error: mismatched types Future<int> and int for '+': add "
	    "`await`\n");
}

static void
async_rules(void)
{
	CHECK_STR_EQ(DIAGS(
	    "fn f() -> int { await g() }\n"
	    "async fn g() -> int { 1 }\n"
	    "f()\n"), "1:17: error: 'await' outside async fn\n");
	CHECK_STR_EQ(DIAGS(
	    "async fn g() -> int { 1 }\n"
	    "let x: int = g()\n"),
	    "2:14: error: let initialiser: expected int, found Future<int>: "
	    "add `await`\n");
	CHECK_STR_EQ(DIAGS("spawn(5)\n"),
	    "1:7: error: spawn() takes a future (call an async fn), not int\n");
	CHECK_STR_EQ(DIAGS("cancel(5)\n"),
	    "1:8: error: cancel() takes a task (from spawn), not int\n");
	CHECK_STR_EQ(DIAGS("await join_all([1])\n"),
	    "1:16: error: join_all() takes an array of tasks, not [int]\n");
	/* main runs as a task even without 'async' */
	CHECK_STR_EQ(DIAGS("fn main() { await sleep(1) }\n"), "");
}

static void
builtin_arity_and_types(void)
{
	CHECK_STR_EQ(DIAGS("print()\n"),
	    "1:1: error: 'print' takes 1 argument, 0 given\n");
	CHECK_STR_EQ(DIAGS("assert(true, \"a\", 1)\n"),
	    "1:1: error: 'assert' takes 1 to 2 arguments, 3 given\n");
	CHECK_STR_EQ(DIAGS("len(5)\n"),
	    "1:5: error: len() takes an array or a string, not int\n");
	CHECK_STR_EQ(DIAGS("let a = [1]\npush(a, \"s\")\n"),
	    "2:9: error: argument: expected int, found string\n");
	CHECK_STR_EQ(DIAGS("min(1, 2.0)\n"),
	    "1:1: error: min() takes two ints or two floats, not int and "
	    "float\n");
	CHECK_STR_EQ(DIAGS("sqrt(4)\n"),
	    "1:6: error: argument: expected float, found int\n");
	CHECK_STR_EQ(DIAGS("let x = sleep(1.5)\n"),
	    "1:15: error: argument: expected int, found float\n");
}

static void
casts(void)
{
	CHECK_STR_EQ(DIAGS("let x = [1] as int\n"),
	    "1:9: error: cannot convert [int] to int with `as`\n");
	CHECK_STR_EQ(DIAGS("let x = 1 as bool\n"),
	    "1:9: error: cannot convert int to bool with `as`\n");
	CHECK_STR_EQ(DIAGS("let s = [1, 2] as string\nlet i = \"4\" as i64\n"),
	    "");
}

static void
control_flow_types(void)
{
	CHECK_STR_EQ(DIAGS("let x = if true { 1 } else { \"a\" }\n"),
	    "1:9: error: if and else have different types: int and string\n");
	CHECK_STR_EQ(DIAGS("let x: int = if true { 1 } else { panic(\"no\") }\n"),
	    "");
	CHECK_STR_EQ(DIAGS("continue\n"),
	    "1:1: error: 'continue' outside a loop\n");
	CHECK_STR_EQ(DIAGS("for x in 5 { }\n"),
	    "1:10: error: cannot iterate over int: use an array or a range "
	    "a..b\n");
	CHECK_STR_EQ(DIAGS(
	    "fn f(x: int) -> int {\n"
	    "    if x > 0 { return 1 }\n"
	    "}\n"
	    "f(1)\n"), "2:5: error: 'f' returns int, but its body ends with "
	    "a value of type ()\n");
	CHECK_STR_EQ(DIAGS(
	    "fn f(x: int) -> int {\n"
	    "    if x > 0 { return 1 };\n"
	    "}\n"
	    "f(1)\n"), "1:4: error: 'f' must return int, but its body can "
	    "end without a value\n");
	CHECK_STR_EQ(DIAGS(
	    "fn f() -> int { return }\n"
	    "f()\n"), "1:17: error: 'return' without a value in a function "
	    "that returns int\n");
}

static void
externs(void)
{
	CHECK_STR_EQ(DIAGS(
	    "extern \"libm.so.6\" {\n"
	    "    fn cos(x: float) -> float\n"
	    "}\n"
	    "println(await cos(0.0))\n"), "");
	CHECK_STR_EQ(DIAGS(
	    "extern \"libx.so\" {\n"
	    "    fn bad(x: [int]) -> Future<int>\n"
	    "}\n"
	    "await bad([1])\n"),
	    "2:15: error: extern parameter 'x' must be int, i32, float, bool, "
	    "string or ptr\n"
	    "2:25: error: extern 'bad' must return int, i32, float, bool, "
	    "string, ptr or ()\n");
}

static void
several_errors_reported(void)
{
	CHECK_STR_EQ(DIAGS(
	    "let a = nope1\n"
	    "let b = 1 + 1.0\n"
	    "let c = nope2\n"),
	    "1:9: error: unknown name 'nope1'\n"
	    "2:11: error: mismatched types int and float for '+': convert "
	    "one side with `as`, as in `x as float`\n"
	    "3:9: error: unknown name 'nope2'\n");
}

/* With a terminal, each diagnostic quotes its line with a caret. */
static void
caret_lines(void)
{
	const char *src = "let ok = 1\nlet x = ok +\t2.0\n";
	scriptc_result *r;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	CHECK_INT_EQ(scriptc_compile(src, strlen(src), "t.script", &r),
	    SC_ECOMPILE);
	scriptc_print_diags(r, f, true);
	fclose(f);
	CHECK_STR_EQ(out, "t.script:2:12: error: mismatched types int and "
	    "float for '+': convert one side with `as`, as in `x as float`\n"
	    "    let x = ok +\t2.0\n"
	    "               ^\n");
	free(out);
	scriptc_free(r);
}

/* A left-deep operator chain is as deep as it is long: capped, no crash. */
static void
deep_chains(void)
{
	size_t n = 100000, cap = n * 20 + 64, off;
	char *src = malloc(cap), *big = malloc(8192);

	if (src == NULL || big == NULL)
		return;
	off = (size_t)snprintf(src, cap, "let x = 1");
	for (size_t i = 1; i < n; i++)
		off += (size_t)snprintf(src + off, cap - off, " + 1");
	snprintf(src + off, cap - off, "\nprintln(x)\n");
	CHECK_STR_CONTAINS(diags_of(src, big, 8192), "error: expression too "
	    "deep: more than 1000 nested operations (split it with `let`)");
	off = (size_t)snprintf(src, cap, "let x = true");
	for (size_t i = 1; i < 900; i++)
		off += (size_t)snprintf(src + off, cap - off, " && true");
	snprintf(src + off, cap - off, "\nprintln(x)\n");
	CHECK_STR_EQ(diags_of(src, big, 8192), "");
	/* more functions than a call's 16-bit function index reaches */
	off = 0;
	for (size_t i = 0; i < 65536 && off + 32 < cap; i++)
		off += (size_t)snprintf(src + off, cap - off, "fn f%zu() {}\n",
		    i);
	snprintf(src + off, cap - off, "println(1)\n");
	CHECK_STR_CONTAINS(diags_of(src, big, 8192), "error: 65536 functions "
	    "and 0 externs: a program may have at most 65535 of each");
	/* 50,000 locals in one scope: capped early, not a quadratic crawl */
	off = (size_t)snprintf(src, cap, "let v0 = 1\n");
	for (size_t i = 1; i < 50000 && off + 32 < cap; i++)
		off += (size_t)snprintf(src + off, cap - off, "let v%zu = v0\n",
		    i);
	CHECK_STR_CONTAINS(diags_of(src, big, 8192), "1001:1: error: more "
	    "than 1000 variables in scope: split the function (it may use at "
	    "most 256 registers)");
	free(src);
	free(big);
}

int
main(void)
{
	RUN(accepts_well_typed);
	RUN(inferred_return_types);
	RUN(scopes_and_shadowing);
	RUN(redefinitions);
	RUN(operator_types);
	RUN(async_rules);
	RUN(builtin_arity_and_types);
	RUN(casts);
	RUN(control_flow_types);
	RUN(externs);
	RUN(several_errors_reported);
	RUN(deep_chains);
	RUN(caret_lines);
	return check_done();
}
