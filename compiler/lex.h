/*
 * The lexer: source bytes to tokens, one at a time. It never fails hard:
 * a bad character, escape or number is recorded as a diagnostic and comes
 * back as TOK_ERROR, and the parser carries on. Newlines come back as
 * TOK_NEWLINE; the parser decides where they end a statement.
 */
#ifndef SC_LEX_H
#define SC_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ast.h"

struct arena;
struct diags;

/* Limits on source text, documented in docs/language.md. */
#define SOURCE_BYTES_MAX	(16u << 20)	/* whole file */
#define IDENT_BYTES_MAX		255u		/* one identifier */
#define STRING_BYTES_MAX	(1u << 20)	/* one string literal */

enum tok_kind {
	TOK_EOF,
	TOK_ERROR,		/* already diagnosed */
	TOK_NEWLINE,
	TOK_IDENT,		/* text */
	TOK_INT,		/* ival; 9223372036854775808 (2^63) comes
				   back as INT64_MIN, which the parser
				   accepts only right after a unary '-' */
	TOK_FLOAT,		/* fval */
	TOK_STRING,		/* text, len: escapes decoded */
	/* keywords */
	TOK_FN, TOK_ASYNC, TOK_AWAIT, TOK_LET, TOK_MUT, TOK_IF, TOK_ELSE,
	TOK_WHILE, TOK_LOOP, TOK_FOR, TOK_IN, TOK_BREAK, TOK_CONTINUE,
	TOK_RETURN, TOK_TRUE, TOK_FALSE, TOK_AS, TOK_EXTERN,
	/* punctuation */
	TOK_LPAREN, TOK_RPAREN, TOK_LBRACE, TOK_RBRACE, TOK_LBRACKET,
	TOK_RBRACKET, TOK_COMMA, TOK_SEMI, TOK_COLON, TOK_ARROW, TOK_DOTDOT,
	TOK_DOT,
	/* operators */
	TOK_PLUS, TOK_MINUS, TOK_STAR, TOK_SLASH, TOK_PERCENT, TOK_BANG,
	TOK_LT, TOK_GT, TOK_LE, TOK_GE, TOK_EQEQ, TOK_NE, TOK_ANDAND,
	TOK_OROR, TOK_EQ,
	TOK__COUNT
};

struct token {
	uint8_t kind;			/* enum tok_kind */
	struct pos pos;			/* first byte */
	const char *text;		/* TOK_IDENT: arena copy; TOK_STRING:
					   bytes, escapes decoded */
	uint32_t len;			/* TOK_IDENT, TOK_STRING: bytes without
					   the NUL */
	int64_t ival;			/* TOK_INT */
	double fval;			/* TOK_FLOAT */
};

struct lexer {
	const char *src;		/* source bytes (may hold NULs) */
	size_t len;
	size_t off;			/* next byte */
	struct pos pos;			/* of src[off] */
	struct arena *arena;		/* strings go here */
	struct diags *diags;		/* errors go here */
};

void lex_init(struct lexer *lx, const char *src, size_t len,
    struct arena *arena, struct diags *diags);
/* Scan the next token into *t. Always succeeds; errors are TOK_ERROR. */
void lex_next(struct lexer *lx, struct token *t);
/* "'+'", "identifier", "end of file": for messages. */
const char *lex_tok_name(unsigned kind);

#endif
