/*
 * The parser: tokens to a struct program (ast.h), in the arena. It records
 * errors and resynchronises at statement boundaries, so one run reports
 * several. Nesting deeper than PARSE_DEPTH_MAX is an error, not a crash.
 */
#ifndef SC_PARSE_H
#define SC_PARSE_H

#include "ast.h"

struct lexer;
struct arena;
struct diags;

#define PARSE_DEPTH_MAX		200	/* nested expressions and blocks */

/*
 * Parse a whole file. Returns the program, possibly partial when errors were
 * recorded in diags; NULL only when the arena failed.
 */
struct program *parse_program(struct lexer *lx, struct arena *a,
    struct diags *d);

#endif
