/*
 * The async transform's live sets, pinned on hand-written cases: what a
 * suspended frame keeps across each await, by register debug name ("" is a
 * temporary, shown as "_").
 */
#include "check.h"
#include "compile_helper.h"
#include "op.h"

/* The live set of state s of function fn as "a b _", sorted by register. */
static const char *
live(const char *src, const char *fn, unsigned s, char *buf, size_t size)
{
	struct module *m = compile_snippet(src);
	const struct mod_fn *f = find_fn(m, fn);
	size_t off = 0;

	buf[0] = '\0';
	if (f == NULL || s >= f->nstates) {
		snprintf(buf, size, "<no state %u in %s>", s, fn);
		module_free(m);
		return buf;
	}
	for (uint32_t i = 0; i < f->states[s].nlive; i++) {
		const char *name = f->reg_names[f->states[s].live[i]];

		off += (size_t)snprintf(buf + off, size - off, "%s%s",
		    i ? " " : "", name[0] ? name : "_");
	}
	module_free(m);
	return buf;
}

static char buf[512];

static void
dead_local_not_kept(void)
{
	CHECK_STR_EQ(live(
	    "async fn f(n: int) {\n"
	    "    let dead = n * 2\n"
	    "    println(dead)\n"
	    "    await sleep(1)\n"
	    "    println(\"after\")\n"
	    "}\n"
	    "await f(1)\n", "f", 0, buf, sizeof(buf)), "");
}

static void
used_local_kept(void)
{
	CHECK_STR_EQ(live(
	    "async fn f(n: int, unused: int) {\n"
	    "    let keep = n * 2\n"
	    "    await sleep(1)\n"
	    "    println(keep)\n"
	    "}\n"
	    "await f(1, 2)\n", "f", 0, buf, sizeof(buf)), "keep");
}

static void
loop_carried_kept(void)
{
	/* acc and i live around the loop, and so do the loop's hidden
	 * counter and range end (temporaries) */
	CHECK_STR_EQ(live(
	    "async fn g(x: int) -> int { x }\n"
	    "async fn f(n: int) -> int {\n"
	    "    let mut acc = 0\n"
	    "    for i in 0..n {\n"
	    "        await sleep(1)\n"
	    "        acc = acc + i\n"
	    "    }\n"
	    "    acc\n"
	    "}\n"
	    "await f(3)\n", "f", 0, buf, sizeof(buf)), "acc _ _ i");
}

static void
param_dead_after_last_use(void)
{
	CHECK_STR_EQ(live(
	    "async fn f(a: int, b: int) -> int {\n"
	    "    let s = a + b\n"
	    "    await sleep(1)\n"
	    "    s\n"
	    "}\n"
	    "await f(1, 2)\n", "f", 0, buf, sizeof(buf)), "s");
}

static void
half_evaluated_temporary_kept(void)
{
	/* h(x) is computed into a temporary before the await; it is live */
	CHECK_STR_EQ(live(
	    "fn h(x: int) -> int { x + 1 }\n"
	    "async fn g() -> int { 5 }\n"
	    "async fn f(x: int) -> int {\n"
	    "    h(x) + await g()\n"
	    "}\n"
	    "await f(1)\n", "f", 0, buf, sizeof(buf)), "_");
}

static void
loaded_local_operand_kept(void)
{
	/* in acc + await g(), acc's own register is read after the await */
	CHECK_STR_EQ(live(
	    "async fn g() -> int { 5 }\n"
	    "async fn f(acc: int) -> int {\n"
	    "    acc + await g()\n"
	    "}\n"
	    "await f(1)\n", "f", 0, buf, sizeof(buf)), "acc");
}

static void
nested_awaits(void)
{
	/* await f(await g()): the inner state keeps nothing but what the
	 * outer call needs later (nothing here) */
	const char *src =
	    "async fn g() -> int { 5 }\n"
	    "async fn k(x: int) -> int { x }\n"
	    "async fn f(y: int) -> int {\n"
	    "    await k(await g()) + y\n"
	    "}\n"
	    "await f(1)\n";

	CHECK_STR_EQ(live(src, "f", 0, buf, sizeof(buf)), "y");
	CHECK_STR_EQ(live(src, "f", 1, buf, sizeof(buf)), "y");
}

static void
condition_and_branches(void)
{
	const char *src =
	    "async fn yes() -> bool { true }\n"
	    "async fn f(a: int, b: int) -> int {\n"
	    "    if await yes() { a } else { b }\n"
	    "}\n"
	    "await f(1, 2)\n";

	CHECK_STR_EQ(live(src, "f", 0, buf, sizeof(buf)), "a b");
}

static void
right_of_and(void)
{
	const char *src =
	    "async fn yes() -> bool { true }\n"
	    "async fn f(a: bool, n: int) -> int {\n"
	    "    if a && await yes() { n } else { 0 }\n"
	    "}\n"
	    "await f(true, 2)\n";

	CHECK_STR_EQ(live(src, "f", 0, buf, sizeof(buf)), "n");
}

static void
one_state_per_await(void)
{
	struct module *m = compile_snippet(
	    "async fn g(x: int) -> int { x }\n"
	    "fn pair(a: int, b: int) -> int { a + b }\n"
	    "async fn f() -> int {\n"
	    "    let x = await g(1)\n"
	    "    while x < await g(2) { return pair(await g(3), await g(4)) }\n"
	    "    x\n"
	    "}\n"
	    "await f()\n");
	const struct mod_fn *f = find_fn(m, "f");

	CHECK(f != NULL);
	if (f != NULL) {
		CHECK_INT_EQ(f->nstates, 4);
		for (uint32_t s = 0; s < f->nstates; s++)
			CHECK_INT_EQ(INS_OP(f->code[f->states[s].pc]),
			    OP_AWAIT);
	}
	module_free(m);
}

static void
sync_fn_has_no_states(void)
{
	struct module *m = compile_snippet(
	    "fn f(x: int) -> int { x * 2 }\n"
	    "println(f(2))\n");
	const struct mod_fn *f = find_fn(m, "f");

	CHECK(f != NULL && f->nstates == 0 && !f->is_async);
	module_free(m);
}

int
main(void)
{
	RUN(dead_local_not_kept);
	RUN(used_local_kept);
	RUN(loop_carried_kept);
	RUN(param_dead_after_last_use);
	RUN(half_evaluated_temporary_kept);
	RUN(loaded_local_operand_kept);
	RUN(nested_awaits);
	RUN(condition_and_branches);
	RUN(right_of_and);
	RUN(one_state_per_await);
	RUN(sync_fn_has_no_states);
	return check_done();
}
