/*
 * libscriptc: compile Script source (LANGUAGE.md) to a bytecode module
 * (proto/module.proto), and show a module as text.
 *
 *	scriptc_result *r;
 *	if (scriptc_compile(src, len, "prog.script", &r) != SC_OK) ...;
 *	scriptc_print_diags(r, stderr, isatty(2));
 *	bytes = scriptc_module_bytes(r, &n);	// NULL if there were errors
 *	scriptc_free(r);
 */
#ifndef SCRIPTC_H
#define SCRIPTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SCRIPTC_API	__attribute__((visibility("default")))

/* Opaque: the outcome of one compilation (diagnostics and module). */
typedef struct scriptc_result scriptc_result;

enum scriptc_severity { SCRIPTC_ERROR, SCRIPTC_WARNING };

struct scriptc_diag {
	int severity;			/* enum scriptc_severity */
	unsigned line;			/* 1-based; 0 when not tied to a place */
	unsigned col;			/* 1-based, in bytes */
	const char *msg;		/* "unknown name 'x'" */
};

/*
 * Compile len bytes of source named `name` (used in messages and the
 * module). On return *rp holds the result (free with scriptc_free) unless
 * the return is SC_ENOMEM, when it is NULL. Returns SC_OK when a module was
 * produced (warnings may exist), SC_ECOMPILE when errors were reported.
 */
SCRIPTC_API int scriptc_compile(const char *src, size_t len,
    const char *name, scriptc_result **rp);
/* Number of diagnostics, and the i-th, sorted by position. */
SCRIPTC_API unsigned scriptc_ndiags(const scriptc_result *r);
SCRIPTC_API const struct scriptc_diag *scriptc_diag(const scriptc_result *r,
    unsigned i);
/* Number of errors (not warnings). */
SCRIPTC_API unsigned scriptc_nerrors(const scriptc_result *r);
/* Print "FILE:LINE:COL: error: MSG" lines; with caret, the source line and
 * a caret under the column follow each. */
SCRIPTC_API void scriptc_print_diags(const scriptc_result *r, FILE *out,
    bool caret);
/* The encoded module, or NULL if compilation failed. Owned by r. */
SCRIPTC_API const uint8_t *scriptc_module_bytes(const scriptc_result *r,
    size_t *lenp);
SCRIPTC_API void scriptc_free(scriptc_result *r);

/*
 * Decode, verify and print the module in buf as text: functions, constants,
 * each state with its resume address and live set, and instructions with
 * source lines. Returns SC_OK, or a negative SC_E* with err filled.
 */
struct sc_error;
SCRIPTC_API int scriptc_disasm(const uint8_t *buf, size_t len, FILE *out,
    struct sc_error *err);

#endif
