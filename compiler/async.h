/*
 * The async transform's analysis: liveness over a function's bytecode.
 * For every suspension point (AWAIT/AWAITT) it computes the registers whose
 * values are read after the point on some path: locals and temporaries
 * alike (in `acc + await f(i)` the register holding acc is live). A
 * suspended frame keeps exactly these, so this set is what a suspended task
 * costs.
 */
#ifndef SC_ASYNC_H
#define SC_ASYNC_H

#include <stdbool.h>

struct arena;
struct module;
struct mod_fn;

/* Fill the live set of every state of fn (a function of m). False when the
 * arena failed. */
bool async_transform(struct mod_fn *fn, const struct module *m,
    struct arena *a);

#endif
