/*
 * Name resolution and static types. check_program() resolves every name,
 * infers and checks every type, fills node->type and node->sym, and decides
 * the function table (user functions in source order, then the synthesised
 * top-level entry) that emit.c turns into bytecode.
 */
#ifndef SC_CHECK_H
#define SC_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "ast.h"

struct arena;
struct diags;

enum type_kind {
	TY_ERROR,		/* already diagnosed; matches anything */
	TY_NEVER,		/* return, break, continue, panic: no value */
	TY_UNIT,
	TY_INT,
	TY_FLOAT,
	TY_BOOL,
	TY_STRING,
	TY_PTR,
	TY_ARRAY,		/* [elem] */
	TY_FUTURE,		/* Future<elem> */
	TY_TASK,		/* Task<elem> */
};

/* Types are interned: equal types are the same pointer. */
struct type {
	uint8_t kind;			/* enum type_kind */
	struct type *elem;		/* TY_ARRAY, TY_FUTURE, TY_TASK */
	struct type *next;		/* intern list */
};

enum builtin {
	B_PRINT, B_PRINTLN, B_EPRINTLN, B_LEN, B_PUSH, B_POP, B_ABS, B_MIN,
	B_MAX, B_SQRT, B_ASSERT, B_PANIC, B_NOW_MS, B_SLEEP, B_YIELD_NOW,
	B_SPAWN, B_CANCEL, B_JOIN_ALL, B_AWAIT_TIMEOUT,
	B__COUNT
};

enum sym_kind { SYM_LOCAL, SYM_FN, SYM_EXTERN, SYM_BUILTIN };

struct sym {
	uint8_t kind;			/* enum sym_kind */
	bool is_mut;			/* SYM_LOCAL: declared 'let mut' */
	bool is_async;			/* SYM_FN: gives a future when called */
	uint8_t builtin;		/* SYM_BUILTIN: enum builtin */
	const char *name;
	struct pos pos;			/* declaration */
	struct type *type;		/* SYM_LOCAL: its type; SYM_FN/EXTERN:
					   the return type (NULL until known) */
	struct type **params;		/* SYM_FN/EXTERN: parameter types */
	uint32_t nparams;
	uint32_t index;			/* SYM_FN: function index; SYM_EXTERN:
					   extern index; SYM_LOCAL: locals in
					   scope up to this one */
	struct fn_decl *fn;		/* SYM_FN */
	struct extern_fn *ext;		/* SYM_EXTERN */
	int reg;			/* SYM_LOCAL: register (emit.c) */
	uint8_t state;			/* SYM_FN: 0 unchecked, 1 checking, 2 done */
	struct sym *next;		/* scope chain / hash chain */
};

/* The checked program, ready for emission. */
struct checked {
	struct sym **fns;		/* function table, by index */
	uint32_t nfns;
	struct sym **externs;		/* extern table, by index */
	uint32_t nexterns;
	uint32_t entry;			/* index of the entry function */
	struct fn_decl *top;		/* synthesised entry, or NULL */
	struct type *t_unit, *t_int, *t_float, *t_bool, *t_string, *t_ptr,
	    *t_never, *t_error;		/* the basic types */
};

#define TOP_LEVEL_NAME		"<top-level>"
/* Depth of the expression tree (nesting plus operator chains like
 * 1 + 1 + ...), which bounds the recursion of checking and emission. */
#define CHECK_DEPTH_MAX		1000
/* Locals in scope at once (each holds one of a function's registers). */
#define SCOPE_LOCALS_MAX	1000

/* Check p. Returns NULL when errors were recorded (or the arena failed). */
struct checked *check_program(struct program *p, struct arena *a,
    struct diags *d);
/* "int", "[string]", "Future<int>": into buf, returned. */
const char *type_name(const struct type *t, char *buf, size_t size);

#endif
