/*
 * Random well-typed, terminating Script programs for the property tests
 * (docs/testing.md). The same seed and size give the same text on every
 * machine: the generator has its own PRNG and reads no clock. Programs
 * print a lot, are deterministic when run (no racy output from spawned
 * tasks), and some end in a deliberate runtime error.
 */
#ifndef PROP_GEN_H
#define PROP_GEN_H

#include <stddef.h>
#include <stdint.h>

#define GEN_SIZE_DEFAULT	12	/* statements per block, roughly */

/*
 * The program for seed and size (0: GEN_SIZE_DEFAULT), malloc'd and
 * NUL-terminated, its length in *lenp; NULL when out of memory.
 */
char *gen_program(uint64_t seed, unsigned size, size_t *lenp);

#endif
