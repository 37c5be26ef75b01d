/* Diagnostics: record, sort, print. See diag.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"

void
diag_init(struct diags *d, struct arena *a, const char *file,
    const char *src, size_t srclen)
{
	memset(d, 0, sizeof(*d));
	d->arena = a;
	d->file = file;
	d->src = src;
	d->srclen = srclen;
}

static void SC_PRINTF(4, 0)
add(struct diags *d, int severity, struct pos pos, const char *fmt,
    va_list ap)
{
	char buf[512];
	struct diag *g;

	if (severity == DIAG_ERROR && d->nerrors++ >= DIAG_MAX) {
		d->full = true;
		return;
	}
	if (d->n >= DIAG_MAX * 2)
		return;			/* warnings are capped as well */
	if (!arena_grow(d->arena, (void **)&d->items, sizeof(*d->items),
	    d->n, &d->cap))
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	g = &d->items[d->n];
	if ((g->msg = arena_strndup(d->arena, buf, strlen(buf))) == NULL)
		return;
	g->severity = (uint8_t)severity;
	g->pos = pos;
	d->n++;
}

void
diag_error(struct diags *d, struct pos pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(d, DIAG_ERROR, pos, fmt, ap);
	va_end(ap);
}

void
diag_warning(struct diags *d, struct pos pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(d, DIAG_WARNING, pos, fmt, ap);
	va_end(ap);
}

void
diag_sort(struct diags *d)
{
	/* Insertion sort: stable, and n is at most 2 * DIAG_MAX. */
	for (unsigned i = 1; i < d->n; i++) {
		struct diag x = d->items[i];
		unsigned j = i;

		while (j > 0 && (d->items[j - 1].pos.line > x.pos.line ||
		    (d->items[j - 1].pos.line == x.pos.line &&
		    d->items[j - 1].pos.col > x.pos.col))) {
			d->items[j] = d->items[j - 1];
			j--;
		}
		d->items[j] = x;
	}
}

/* Print source line `line` and a caret under byte column `col`. */
static void
print_caret(const struct diags *d, FILE *out, struct pos pos)
{
	const char *p = d->src, *end, *eol;
	uint32_t line = 1;

	if (p == NULL || pos.line == 0)
		return;
	end = p + d->srclen;
	while (line < pos.line && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			return;
		p = nl + 1;
		line++;
	}
	if (line != pos.line)
		return;
	eol = memchr(p, '\n', (size_t)(end - p));
	if (eol == NULL)
		eol = end;
	if (eol - p > 400)
		return;			/* no caret for huge lines */
	fprintf(out, "    %.*s\n    ", (int)(eol - p), p);
	for (uint32_t c = 1; c < pos.col && p + c - 1 < eol; c++)
		fputc(p[c - 1] == '\t' ? '\t' : ' ', out);
	fputs("^\n", out);
}

void
diag_print(const struct diags *d, FILE *out, bool caret)
{
	for (unsigned i = 0; i < d->n; i++) {
		const struct diag *g = &d->items[i];
		const char *what = g->severity == DIAG_ERROR ? "error" :
		    "warning";

		if (g->pos.line > 0)
			fprintf(out, "%s:%u:%u: %s: %s\n", d->file,
			    g->pos.line, g->pos.col, what, g->msg);
		else
			fprintf(out, "%s: %s: %s\n", d->file, what, g->msg);
		if (caret)
			print_caret(d, out, g->pos);
	}
	if (d->nerrors > DIAG_MAX)
		fprintf(out, "%s: error: too many errors (%u), stopped after "
		    "%u\n", d->file, d->nerrors, DIAG_MAX);
}
