/*
 * Charged allocation: every byte a task holds goes through mem_alloc() with
 * the task's budget (Lua's osize/nsize allocator hook). Over budget or out of
 * memory, mem_alloc() returns NULL and changes nothing; the caller fails the
 * one task. mem_fault_set() makes the N-th allocation fail, for tests.
 */
#ifndef SC_MEM_H
#define SC_MEM_H

#include <stddef.h>

struct budget {
	size_t used;			/* bytes charged now */
	size_t limit;			/* bytes allowed */
	struct budget *parent;		/* also charged (job, tenant), or NULL */
};

/*
 * ptr == NULL: allocate nsize bytes. nsize == 0: free ptr (osize bytes),
 * return NULL. Else resize ptr from osize to nsize. b may be NULL
 * (uncharged). On failure returns NULL and leaves ptr and b untouched.
 * Every change is applied to b's parents too (b->parent, its parent, ...),
 * and growth must fit every limit on the way.
 */
void *mem_alloc(struct budget *b, void *ptr, size_t osize, size_t nsize);
/* Would charging `more` bytes exceed b or its parent? (tells a limit from a
 * failed malloc) */
int mem_fail_code(const struct budget *b, size_t more);
/* Make the n-th allocation from now fail (1 = the next); n <= 0 disables. */
void mem_fault_set(long n);
/* Give back to b's parents all that b holds and zero it (what it held was
 * freed without mem_alloc). */
void mem_detach(struct budget *b);
/* Of b and its parents, the one with the least room left: the limit a
 * failed charge ran into (b itself, or a parent). */
const struct budget *mem_tightest(const struct budget *b);

#endif
