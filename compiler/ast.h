/*
 * The syntax tree. parse.c builds it in the compilation's arena; check.c
 * resolves names and fills the types (the fields marked "check"); emit.c
 * walks it to produce bytecode. Nodes are never freed one by one.
 */
#ifndef SC_AST_H
#define SC_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct type;
struct sym;

struct pos {
	uint32_t line;			/* 1-based */
	uint32_t col;			/* 1-based, in bytes */
};

/* A type as written in the source. */
enum texpr_kind {
	TX_NAME,			/* int i32 i64 float f32 f64 bool string String ptr */
	TX_UNIT,			/* () */
	TX_ARRAY,			/* [T] */
	TX_FUTURE,			/* Future<T> */
	TX_TASK,			/* Task<T> */
};

struct texpr {
	uint8_t kind;			/* enum texpr_kind */
	struct pos pos;			/* where it was written */
	const char *name;		/* TX_NAME: the name as written */
	struct texpr *elem;		/* TX_ARRAY, TX_FUTURE, TX_TASK */
};

enum node_kind {
	/* expressions */
	N_INT,		/* integer literal: ival */
	N_FLOAT,	/* float literal: fval */
	N_STRING,	/* string literal: str, len (escapes decoded) */
	N_BOOL,		/* true/false: ival 0/1 */
	N_UNIT,		/* () */
	N_NAME,		/* identifier: name */
	N_ARRAY,	/* [a, b, c]: list */
	N_UNARY,	/* op a: op is TOK_MINUS, TOK_BANG */
	N_BINARY,	/* a op b: op is a TOK_* operator, incl. && || */
	N_ASSIGN,	/* a = b: a is N_NAME or N_INDEX */
	N_CALL,		/* name(list): name, list */
	N_INDEX,	/* a[b] */
	N_AWAIT,	/* await a */
	N_CAST,		/* a as texpr */
	N_BLOCK,	/* { list }: value is the last stmt if it is an
			   expression with no ';' after it (has_value) */
	N_IF,		/* if a { b } else c: c is NULL, N_BLOCK or N_IF */
	N_WHILE,	/* while a { b } */
	N_LOOP,		/* loop { b } */
	N_FOR_RANGE,	/* for name in a..c { b } */
	N_FOR_EACH,	/* for name in a { b } */
	N_BREAK,	/* break */
	N_CONTINUE,	/* continue */
	N_RETURN,	/* return [a] */
	/* statements */
	N_LET,		/* let [mut] name [: texpr] = a */
	N_EXPR_STMT,	/* a, followed by ';' if has_semi */
};

struct node_list {
	struct node **items;		/* arena array */
	uint32_t n;			/* number of items */
};

struct node {
	uint8_t kind;			/* enum node_kind */
	uint8_t op;			/* N_UNARY, N_BINARY: enum tok_kind */
	bool is_mut;			/* N_LET: 'let mut' */
	bool has_semi;			/* N_EXPR_STMT: explicit ';' followed */
	bool has_value;			/* N_BLOCK: last item is its value */
	bool untyped;			/* N_ARRAY: no element has a type of
					   its own ([], [[], []]) */
	struct pos pos;			/* first token; the operator for
					   N_BINARY, the '=' for N_ASSIGN */
	const char *name;		/* N_NAME N_CALL N_LET N_FOR_*: arena */
	struct node *a;			/* first child (see node_kind) */
	struct node *b;			/* second child */
	struct node *c;			/* third child */
	struct texpr *texpr;		/* N_CAST target, N_LET annotation */
	struct node_list list;		/* N_ARRAY, N_CALL args, N_BLOCK items */
	int64_t ival;			/* N_INT, N_BOOL */
	double fval;			/* N_FLOAT */
	const char *str;		/* N_STRING: decoded bytes, NUL-terminated */
	uint32_t len;			/* N_STRING: bytes without the NUL */
	/* filled by check.c */
	struct type *type;		/* check: type of the expression */
	struct sym *sym;		/* check: N_NAME, N_CALL, N_LET, N_FOR_*,
					   N_ASSIGN target: what it names */
};

struct param {
	const char *name;		/* arena copy */
	struct pos pos;			/* of the name */
	struct texpr *texpr;		/* declared type (required) */
};

struct fn_decl {
	const char *name;		/* arena copy */
	struct pos pos;			/* of the name */
	bool is_async;			/* 'async fn' */
	struct param *params;		/* arena array */
	uint32_t nparams;
	struct texpr *ret;		/* NULL when '-> R' is left out */
	struct node *body;		/* N_BLOCK */
	struct sym *sym;		/* check: the function's symbol */
};

struct extern_fn {
	const char *library;		/* extern "LIBRARY" */
	const char *name;		/* arena copy */
	struct pos pos;			/* of the name */
	struct param *params;
	uint32_t nparams;
	struct texpr *ret;		/* NULL means () */
	struct sym *sym;		/* check */
};

/* A whole source file. */
struct program {
	struct fn_decl **fns;		/* in source order */
	uint32_t nfns;
	struct extern_fn **externs;	/* in source order */
	uint32_t nexterns;
	struct node *top;		/* N_BLOCK of top-level statements, or NULL */
	struct pos top_pos;		/* first top-level statement */
};

#endif
