/*
 * Writes the compile-throughput benchmark's program twice: in Script and,
 * for the peer (luac5.4), the same program in Lua. Prints the line count.
 * Usage: gen_compile OUT.script OUT.lua [FUNCTIONS]
 */
#include <stdio.h>
#include <stdlib.h>

/* One unit of the program, in both languages: a sync function with a
 * loop and arithmetic, and an async one with awaits. 14 lines each. */
static unsigned
gen(FILE *s, FILE *l, unsigned nfns)
{
	unsigned lines = 0;

	for (unsigned i = 0; i < nfns; i++) {
		fprintf(s,
		    "fn work%u(n: int) -> int {\n"
		    "    let mut acc = 0\n"
		    "    for i in 0..n {\n"
		    "        if i %% 3 == 0 { acc = acc + i * %u } else { acc = acc - 1 }\n"
		    "    }\n"
		    "    acc\n"
		    "}\n"
		    "async fn step%u(x: int) -> int {\n"
		    "    let a = work%u(x) + %u\n"
		    "    await sleep(1)\n"
		    "    let name = \"step \" + a\n"
		    "    println(name)\n"
		    "    a * 2\n"
		    "}\n", i, i + 1, i, i, i);
		fprintf(l,
		    "function work%u(n)\n"
		    "    local acc = 0\n"
		    "    for i = 0, n - 1 do\n"
		    "        if i %% 3 == 0 then acc = acc + i * %u else acc = acc - 1 end\n"
		    "    end\n"
		    "    return acc\n"
		    "end\n"
		    "function step%u(x)\n"
		    "    local a = work%u(x) + %u\n"
		    "    coroutine.yield(1)\n"
		    "    local name = \"step \" .. a\n"
		    "    print(name)\n"
		    "    return a * 2\n"
		    "end\n", i, i + 1, i, i, i);
		lines += 14;
	}
	fprintf(s, "println(await step0(3))\n");
	fprintf(l, "print(coroutine.wrap(step0)(3))\n");
	return lines + 1;
}

int
main(int argc, char **argv)
{
	unsigned nfns = argc > 3 ? (unsigned)atoi(argv[3]) : 7000;
	FILE *s, *l;

	if (argc < 3) {
		fprintf(stderr, "usage: gen_compile OUT.script OUT.lua "
		    "[FUNCTIONS]\n");
		return 2;
	}
	if ((s = fopen(argv[1], "w")) == NULL ||
	    (l = fopen(argv[2], "w")) == NULL) {
		perror("gen_compile");
		return 1;
	}
	printf("%u\n", gen(s, l, nfns));
	return fclose(s) != 0 || fclose(l) != 0;
}
