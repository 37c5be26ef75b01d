/* Bump allocator for a compilation; see arena.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define BLOCK_MIN	(64u * 1024)

struct arena_block {
	struct arena_block *next;	/* older block */
	size_t size;			/* bytes in data */
	size_t off;			/* next free byte in data */
	_Alignas(16) unsigned char data[];
};

void
arena_init(struct arena *a, size_t cap)
{
	a->head = NULL;
	a->used = 0;
	a->cap = cap;
	a->failed = false;
}

void
arena_free(struct arena *a)
{
	struct arena_block *b, *next;

	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
	a->used = 0;
}

void *
arena_alloc(struct arena *a, size_t size)
{
	struct arena_block *b = a->head;
	void *p;

	size = (size + 15) & ~(size_t)15;
	if (size == 0)
		size = 16;
	if (a->failed || size > SIZE_MAX / 2 ||
	    (a->cap != 0 && a->used + size > a->cap)) {
		a->failed = true;
		return NULL;
	}
	if (b == NULL || b->size - b->off < size) {
		size_t bsize = size > BLOCK_MIN ? size : BLOCK_MIN;

		if ((b = malloc(sizeof(*b) + bsize)) == NULL) {
			a->failed = true;
			return NULL;
		}
		b->size = bsize;
		b->off = 0;
		b->next = a->head;
		a->head = b;
	}
	p = b->data + b->off;
	b->off += size;
	a->used += size;
	memset(p, 0, size);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = len < SIZE_MAX ? arena_alloc(a, len + 1) : NULL;

	if (p != NULL && len > 0)
		memcpy(p, s, len);
	return p;
}

bool
arena_grow(struct arena *a, void **items, size_t size, unsigned n,
    unsigned *cap)
{
	unsigned ncap;
	void *p;

	if (n < *cap)
		return true;
	if (*cap > UINT32_MAX / 4) {
		a->failed = true;
		return false;
	}
	ncap = *cap < 8 ? 8 : *cap * 2;
	if ((p = arena_alloc(a, (size_t)ncap * size)) == NULL)
		return false;
	if (n > 0)
		memcpy(p, *items, (size_t)n * size);
	*items = p;
	*cap = ncap;
	return true;
}
