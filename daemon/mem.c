/*
 * The charged allocator of the runtime. Budgets are plain counters owned by
 * whoever charges them (a task); mem_alloc() keeps them exact by crediting
 * frees. A budget may have a parent charged alongside (a task's is its
 * job's, whose is its tenant's), so that the tasks of one tenant together
 * stay under one limit. The fault countdown is for tests (SQLite's FaultSim, Lua's
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

static bool
over(const struct budget *b, size_t more)
{
	return more > b->limit || b->used > b->limit - more;
}

int
mem_fail_code(const struct budget *b, size_t more)
{
	for (; b != NULL; b = b->parent)
		if (over(b, more))
			return SC_ELIMIT;
	return SC_ENOMEM;
}

/* Take n bytes off b and its parents (never below zero). */
static void
credit(struct budget *b, size_t n)
{
	for (; b != NULL; b = b->parent)
		b->used -= n < b->used ? n : b->used;
}

void
mem_detach(struct budget *b)
{
	credit(b->parent, b->used);
	b->used = 0;
}

const struct budget *
mem_tightest(const struct budget *b)
{
	const struct budget *t = b;

	for (; b != NULL; b = b->parent)
		if (b->limit - (b->used < b->limit ? b->used : b->limit) <
		    t->limit - (t->used < t->limit ? t->used : t->limit))
			t = b;
	return t;
}

void *
mem_alloc(struct budget *b, void *ptr, size_t osize, size_t nsize)
{
	void *p;

	if (nsize == 0) {
		free(ptr);
		credit(b, osize);
		return NULL;
	}
	if (nsize > osize && mem_fail_code(b, nsize - osize) == SC_ELIMIT)
		return NULL;
	if (fault_countdown > 0 && --fault_countdown == 0)
		return NULL;
	p = realloc(ptr, nsize);
	if (p == NULL)
		return NULL;
	if (nsize < osize)
		credit(b, osize - nsize);
	else
		for (; b != NULL; b = b->parent)
			b->used += nsize - osize;
	return p;
}
