/*
 * One arena per compilation: the tokens' strings, the AST, types, symbols and
 * the module being built all come from it and go with arena_free(). An
 * allocation past the cap sets the sticky `failed` flag (SQLite's
 * mallocFailed) and returns NULL; the compiler then reports "out of memory"
 * once.
 */
#ifndef SC_ARENA_H
#define SC_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *head;	/* newest block */
	size_t used;			/* bytes handed out, all blocks */
	size_t cap;			/* limit on used; 0 means no limit */
	bool failed;			/* an allocation failed (sticky) */
};

void arena_init(struct arena *a, size_t cap);
void arena_free(struct arena *a);
/* Zeroed, 16-byte aligned memory, or NULL (and a->failed) past the cap. */
void *arena_alloc(struct arena *a, size_t size);
/* Copy of s[0..len) with a NUL after it, or NULL. */
char *arena_strndup(struct arena *a, const char *s, size_t len);
/* Grow the arena array *items (n used, *cap room) to hold one more; false on
 * failure. Old storage stays in the arena until arena_free. */
bool arena_grow(struct arena *a, void **items, size_t size, unsigned n,
    unsigned *cap);

#endif
