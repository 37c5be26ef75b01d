/*
 * gen_prog SEED [SIZE]: print the generated program for SEED (gen.h) on
 * stdout. Exit 0, or 2 on a usage error or when out of memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "gen.h"

int
main(int argc, char **argv)
{
	unsigned long long seed;
	unsigned long size = 0;
	char *end, *prog;
	size_t len;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: gen_prog SEED [SIZE]\n");
		return 2;
	}
	errno = 0;
	seed = strtoull(argv[1], &end, 10);
	if (errno || *end != '\0' || end == argv[1]) {
		fprintf(stderr, "gen_prog: bad seed '%s'\n", argv[1]);
		return 2;
	}
	if (argc == 3) {
		size = strtoul(argv[2], &end, 10);
		if (errno || *end != '\0' || size < 1 || size > 100) {
			fprintf(stderr, "gen_prog: size must be 1..100\n");
			return 2;
		}
	}
	if ((prog = gen_program(seed, (unsigned)size, &len)) == NULL) {
		fprintf(stderr, "gen_prog: out of memory\n");
		return 2;
	}
	fwrite(prog, 1, len, stdout);
	free(prog);
	return fflush(stdout) == 0 ? 0 : 2;
}
