/*
 * Compiler diagnostics. Every phase records and continues (SQLite's nErr):
 * diag_error() appends, and a NULL/false return from a phase function means
 * the diagnostic is already recorded. After DIAG_MAX errors, more are
 * dropped and `full` is set so the parser can stop early.
 */
#ifndef SC_DIAG_H
#define SC_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ast.h"
#include "err.h"

#define DIAG_MAX	50u		/* errors kept per compilation */

enum diag_severity { DIAG_ERROR, DIAG_WARNING };

struct diag {
	uint8_t severity;		/* enum diag_severity */
	struct pos pos;			/* line 0 means no position */
	const char *msg;		/* arena string */
};

struct diags {
	struct arena *arena;		/* where messages live */
	const char *file;		/* source name, for messages */
	const char *src;		/* source text, for the caret line */
	size_t srclen;
	struct diag *items;		/* in the order recorded */
	unsigned n;
	unsigned cap;
	unsigned nerrors;		/* errors recorded, kept or not */
	bool full;			/* DIAG_MAX errors reached */
};

void diag_init(struct diags *d, struct arena *a, const char *file,
    const char *src, size_t srclen);
void diag_error(struct diags *d, struct pos pos, const char *fmt, ...)
    SC_PRINTF(3, 4);
void diag_warning(struct diags *d, struct pos pos, const char *fmt, ...)
    SC_PRINTF(3, 4);
/* Sort by position (stable), so output follows the source. */
void diag_sort(struct diags *d);
/* "FILE:LINE:COL: error: MSG", plus the source line and a caret if caret. */
void diag_print(const struct diags *d, FILE *out, bool caret);

#endif
