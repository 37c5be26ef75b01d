/*
 * Compile a Script snippet for a unit test and decode the module, or
 * collect its diagnostics as "L:C: error: MSG" lines. Every module the
 * compiler emits is also checked by the verifier inside scriptc_compile.
 */
#ifndef SC_COMPILE_HELPER_H
#define SC_COMPILE_HELPER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modio.h"
#include "scriptc.h"

/* The decoded module of src, or NULL (diagnostics printed to stderr). */
static inline struct module *
compile_snippet(const char *src)
{
	struct sc_error err;
	struct module *m = NULL;
	scriptc_result *r;
	const uint8_t *bytes;
	size_t len;

	if (scriptc_compile(src, strlen(src), "t.script", &r) != 0) {
		if (r != NULL)
			scriptc_print_diags(r, stderr, false);
		scriptc_free(r);
		return NULL;
	}
	bytes = scriptc_module_bytes(r, &len);
	if (modio_decode(bytes, len, &m, &err) != 0)
		fprintf(stderr, "decode: %s\n", err.msg);
	scriptc_free(r);
	return m;
}

/* All diagnostics of src, one "L:C: error|warning: MSG" per line, in buf. */
static inline const char *
diags_of(const char *src, char *buf, size_t size)
{
	scriptc_result *r;
	size_t off = 0;

	buf[0] = '\0';
	if (scriptc_compile(src, strlen(src), "t.script", &r) == SC_ENOMEM)
		return "out of memory";
	for (unsigned i = 0; i < scriptc_ndiags(r) && off < size; i++) {
		const struct scriptc_diag *d = scriptc_diag(r, i);

		off += (size_t)snprintf(buf + off, size - off, "%u:%u: %s: %s\n",
		    d->line, d->col, d->severity == SCRIPTC_ERROR ? "error" :
		    "warning", d->msg);
	}
	scriptc_free(r);
	return buf;
}

static inline const struct mod_fn *
find_fn(const struct module *m, const char *name)
{
	for (uint32_t i = 0; m != NULL && i < m->nfns; i++)
		if (strcmp(m->fns[i].name, name) == 0)
			return &m->fns[i];
	return NULL;
}

#endif
