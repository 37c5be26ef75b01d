/*
 * The charged allocator of the runtime. Budgets are plain counters owned by
 * whoever charges them (a task); mem_alloc() keeps them exact by crediting
 * frees. The fault countdown is for tests (SQLite's FaultSim, Lua's
 * Memcontrol): it lets a test fail every allocation point in turn.
 */
#include <stdlib.h>

#include "err.h"
#include "mem.h"

static long fault_countdown;

void
mem_fault_set(long n)
{
	fault_countdown = n > 0 ? n : 0;
}

int
mem_fail_code(const struct budget *b, size_t more)
{
	if (b != NULL && (more > b->limit || b->used > b->limit - more))
		return SC_ELIMIT;
	return SC_ENOMEM;
}

void *
mem_alloc(struct budget *b, void *ptr, size_t osize, size_t nsize)
{
	void *p;

	if (nsize == 0) {
		free(ptr);
		if (b != NULL)
			b->used -= osize < b->used ? osize : b->used;
		return NULL;
	}
	if (b != NULL && nsize > osize &&
	    mem_fail_code(b, nsize - osize) == SC_ELIMIT)
		return NULL;
	if (fault_countdown > 0 && --fault_countdown == 0)
		return NULL;
	p = realloc(ptr, nsize);
	if (p == NULL)
		return NULL;
	if (b != NULL)
		b->used = b->used - osize + nsize;
	return p;
}
