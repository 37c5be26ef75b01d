/*
 * The parser (parse.h): recursive descent over lex_next(), one token of
 * lookahead (two only to find an 'else' on the line after a '}'). Newlines
 * end statements except inside ( ) and [ ] of the current block, which
 * advance() skips, and after an operator, '=', ',', '->' or ':', where the
 * rule that consumed it skips them. A NULL return means the error is already
 * recorded; the statement loops then resynchronise (sync) and carry on.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "lex.h"
#include "parse.h"

struct parser {
	struct lexer *lx;		/* token source */
	struct arena *a;		/* the AST goes here */
	struct diags *d;		/* errors go here */
	struct token tok;		/* current token */
	struct token peek;		/* the token after tok, if has_peek */
	bool has_peek;
	unsigned nest;			/* open ( and [ in the current block */
	unsigned nblocks;		/* open { }: '}' may end a statement */
	unsigned depth;			/* nesting, against PARSE_DEPTH_MAX */
	struct pos last_err;		/* one error per spot */
};

static struct node *parse_expr(struct parser *p);
static struct node *parse_block(struct parser *p);
static struct texpr *parse_type(struct parser *p, bool in_expr);

/* Whether to give up: the arena failed or diags is full. */
static bool
stop(const struct parser *p)
{
	return p->a->failed || p->d->full;
}

/*
 * Move to the next token. Leaving a '(' or '[' opens a nesting level and
 * leaving a ')' or ']' closes one; inside one, newlines are not tokens.
 */
static void
advance(struct parser *p)
{
	switch (p->tok.kind) {
	case TOK_LPAREN:
	case TOK_LBRACKET:
		p->nest++;
		break;
	case TOK_RPAREN:
	case TOK_RBRACKET:
		if (p->nest > 0)
			p->nest--;
		break;
	}
	if (p->has_peek) {
		p->tok = p->peek;
		p->has_peek = false;
		return;
	}
	do
		lex_next(p->lx, &p->tok);
	while (p->tok.kind == TOK_NEWLINE && p->nest > 0);
}

static void
skip_newlines(struct parser *p)
{
	while (p->tok.kind == TOK_NEWLINE)
		advance(p);
}

static void SC_PRINTF(3, 4)
error_at(struct parser *p, struct pos pos, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (pos.line == p->last_err.line && pos.col == p->last_err.col)
		return;
	p->last_err = pos;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	diag_error(p->d, pos, "%s", buf);
}

/*
 * "expected WHAT [WHERE], found TOKEN" at the current token, unless the
 * lexer has already reported that token.
 */
static void
expected(struct parser *p, const char *what, const char *where)
{
	const struct token *t = &p->tok;

	if (t->kind == TOK_ERROR)
		return;
	if (t->kind == TOK_IDENT)
		error_at(p, t->pos, "expected %s%s%s, found identifier '%s'",
		    what, where != NULL ? " " : "", where != NULL ? where : "",
		    t->text);
	else
		error_at(p, t->pos, "expected %s%s%s, found %s", what,
		    where != NULL ? " " : "", where != NULL ? where : "",
		    lex_tok_name(t->kind));
}

/* Consume a token of the given kind, or report it missing. */
static bool
expect(struct parser *p, unsigned kind, const char *where)
{
	if (p->tok.kind == kind) {
		advance(p);
		return true;
	}
	expected(p, lex_tok_name(kind), where);
	return false;
}

/* Count one level of nesting; false (reported) past PARSE_DEPTH_MAX. */
static bool
enter(struct parser *p)
{
	if (p->depth >= PARSE_DEPTH_MAX) {
		error_at(p, p->tok.pos, "nesting deeper than %d levels",
		    PARSE_DEPTH_MAX);
		return false;
	}
	p->depth++;
	return true;
}

static void
leave(struct parser *p)
{
	p->depth--;
}

static struct node *
node_new(struct parser *p, unsigned kind, struct pos pos)
{
	struct node *n = arena_alloc(p->a, sizeof(*n));

	if (n != NULL) {
		n->kind = (uint8_t)kind;
		n->pos = pos;
	}
	return n;
}

static bool
push(struct parser *p, struct node_list *l, unsigned *cap, struct node *n)
{
	if (!arena_grow(p->a, (void **)&l->items, sizeof(*l->items), l->n,
	    cap))
		return false;
	l->items[l->n++] = n;
	return true;
}

/*
 * Skip what is left of a { } group, from its '{', as a whole. Newlines and
 * parentheses inside it do not matter, so the nesting count is put back.
 */
static void
skip_braces(struct parser *p)
{
	unsigned saved = p->nest;
	size_t open = 0;

	while (!stop(p) && p->tok.kind != TOK_EOF) {
		if (p->tok.kind == TOK_LBRACE)
			open++;
		else if (p->tok.kind == TOK_RBRACE && --open == 0) {
			p->nest = saved;
			advance(p);
			return;
		}
		advance(p);
	}
	p->nest = saved;
}

/*
 * After an error, skip to the end of the statement: a newline outside ( )
 * and [ ], a ';', or the '}' that closes the current block, which is left
 * for the block. Nested { } groups are skipped whole. At the top level a '}'
 * closes nothing and is skipped too.
 */
static void
sync(struct parser *p)
{
	while (!stop(p)) {
		switch (p->tok.kind) {
		case TOK_EOF:
		case TOK_NEWLINE:
			return;
		case TOK_SEMI:
			p->nest = 0;
			return;
		case TOK_RBRACE:
			if (p->nblocks > 0) {
				p->nest = 0;
				return;
			}
			break;
		case TOK_LBRACE:
			skip_braces(p);
			continue;
		}
		advance(p);
	}
}

/*
 * The end of a statement: a newline or ';' (consumed, *semi tells which), or
 * a '}' or end of file (left for the caller).
 */
static bool
end_statement(struct parser *p, bool *semi)
{
	*semi = false;
	switch (p->tok.kind) {
	case TOK_SEMI:
		*semi = true;
		advance(p);
		return true;
	case TOK_NEWLINE:
		advance(p);
		return true;
	case TOK_EOF:
		return true;
	case TOK_RBRACE:
		if (p->nblocks > 0)
			return true;
		break;
	}
	expected(p, "newline or ';'", "after statement");
	return false;
}

/* A block's value is its last statement, if that is an expression without
 * a ';' after it (the checker decides what a loop or if gives). */
static void
set_has_value(struct node *b)
{
	struct node *last = b->list.n > 0 ? b->list.items[b->list.n - 1] :
	    NULL;

	b->has_value = last != NULL && last->kind == N_EXPR_STMT &&
	    !last->has_semi;
}

/* type_rest: parse_type without the depth count. */
static struct texpr *
type_rest(struct parser *p, bool in_expr)
{
	struct texpr *t = arena_alloc(p->a, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->pos = p->tok.pos;
	switch (p->tok.kind) {
	case TOK_IDENT:
		t->kind = TX_NAME;
		t->name = p->tok.text;
		advance(p);
		if (p->tok.kind != TOK_LT)
			return t;
		if (strcmp(t->name, "Future") == 0)
			t->kind = TX_FUTURE;
		else if (strcmp(t->name, "Task") == 0)
			t->kind = TX_TASK;
		else if (in_expr)
			return t;
		else {
			error_at(p, t->pos, "unknown generic type '%s'",
			    t->name);
			return NULL;
		}
		advance(p);
		if ((t->elem = parse_type(p, false)) == NULL)
			return NULL;
		if (p->tok.kind == TOK_GE) {
			/* "Future<int>= f()": split the '>=' */
			p->tok.kind = TOK_EQ;
			p->tok.pos.col++;
			return t;
		}
		return expect(p, TOK_GT, "after type argument") ? t : NULL;
	case TOK_LPAREN:
		t->kind = TX_UNIT;
		advance(p);
		return expect(p, TOK_RPAREN, "in unit type '()'") ? t : NULL;
	case TOK_LBRACKET:
		t->kind = TX_ARRAY;
		advance(p);
		if ((t->elem = parse_type(p, false)) == NULL)
			return NULL;
		return expect(p, TOK_RBRACKET, "after array element type") ?
		    t : NULL;
	default:
		expected(p, "type", NULL);
		return NULL;
	}
}

/*
 * type -> IDENT | IDENT '<' type '>' | '(' ')' | '[' type ']'
 * Only Future and Task take an argument. After 'as' (in_expr) a '<' that
 * follows another name is a comparison: "x as int < y".
 */
static struct texpr *
parse_type(struct parser *p, bool in_expr)
{
	struct texpr *t;

	if (!enter(p))
		return NULL;
	t = type_rest(p, in_expr);
	leave(p);
	return t;
}

/*
 * Parse "[expr (',' expr)* [',']] CLOSE" into n->list; the opener is
 * already consumed.
 */
static bool
parse_list(struct parser *p, struct node *n, unsigned close,
    const char *where)
{
	unsigned cap = 0;

	while (p->tok.kind != close) {
		struct node *e = parse_expr(p);

		if (e == NULL || !push(p, &n->list, &cap, e))
			return false;
		if (p->tok.kind == TOK_COMMA)
			advance(p);
		else if (p->tok.kind != close) {
			expected(p, lex_tok_name(close), where);
			return false;
		}
	}
	advance(p);
	return true;
}

/* The '{' that starts a body, possibly on the next line. */
static struct node *
parse_body(struct parser *p, const char *where)
{
	skip_newlines(p);
	if (p->tok.kind != TOK_LBRACE) {
		expected(p, "'{'", where);
		return NULL;
	}
	return parse_block(p);
}

/* Whether 'else' follows, possibly on the next line: "}\nelse {" is one if. */
static bool
at_else(struct parser *p)
{
	if (p->tok.kind == TOK_NEWLINE) {
		/* tok is a newline, so nest is 0 and the lexer gives no
		 * second newline: peek is the next real token. */
		if (!p->has_peek) {
			lex_next(p->lx, &p->peek);
			p->has_peek = true;
		}
		if (p->peek.kind != TOK_ELSE)
			return false;
		advance(p);
	}
	return p->tok.kind == TOK_ELSE;
}

/*
 * if -> 'if' expr block ['else' (block | if)]
 * An else-if chain is built in a loop, so a long one costs no stack.
 */
static struct node *
parse_if(struct parser *p)
{
	struct node *first = NULL, **slot = &first;

	for (;;) {
		struct node *n = node_new(p, N_IF, p->tok.pos);

		if ((*slot = n) == NULL)
			return NULL;
		advance(p);
		skip_newlines(p);
		if ((n->a = parse_expr(p)) == NULL ||
		    (n->b = parse_body(p, "after if condition")) == NULL)
			return NULL;
		if (!at_else(p))
			return first;
		advance(p);
		skip_newlines(p);
		if (p->tok.kind != TOK_IF)
			return (n->c = parse_body(p, "after 'else'")) != NULL ?
			    first : NULL;
		slot = &n->c;
	}
}

/* while -> 'while' expr block */
static struct node *
parse_while(struct parser *p)
{
	struct node *n = node_new(p, N_WHILE, p->tok.pos);

	if (n == NULL)
		return NULL;
	advance(p);
	skip_newlines(p);
	if ((n->a = parse_expr(p)) == NULL)
		return NULL;
	return (n->b = parse_body(p, "after while condition")) != NULL ? n :
	    NULL;
}

/* loop -> 'loop' block */
static struct node *
parse_loop(struct parser *p)
{
	struct node *n = node_new(p, N_LOOP, p->tok.pos);

	if (n == NULL)
		return NULL;
	advance(p);
	return (n->b = parse_body(p, "after 'loop'")) != NULL ? n : NULL;
}

/* for -> 'for' IDENT 'in' expr ['..' expr] block */
static struct node *
parse_for(struct parser *p)
{
	struct node *n = node_new(p, N_FOR_EACH, p->tok.pos);

	if (n == NULL)
		return NULL;
	advance(p);
	if (p->tok.kind != TOK_IDENT) {
		expected(p, "loop variable name", "after 'for'");
		return NULL;
	}
	n->name = p->tok.text;
	advance(p);
	if (!expect(p, TOK_IN, "after loop variable") ||
	    (n->a = parse_expr(p)) == NULL)
		return NULL;
	if (p->tok.kind == TOK_DOTDOT) {
		n->kind = N_FOR_RANGE;
		advance(p);
		skip_newlines(p);
		if ((n->c = parse_expr(p)) == NULL)
			return NULL;
	}
	return (n->b = parse_body(p, "before loop body")) != NULL ? n : NULL;
}

/* Whether a token can start an expression (for 'return [expr]'). */
static bool
starts_expr(unsigned kind)
{
	switch (kind) {
	case TOK_INT: case TOK_FLOAT: case TOK_STRING: case TOK_TRUE:
	case TOK_FALSE: case TOK_LPAREN: case TOK_LBRACKET: case TOK_IDENT:
	case TOK_LBRACE: case TOK_IF: case TOK_WHILE: case TOK_LOOP:
	case TOK_FOR: case TOK_BREAK: case TOK_CONTINUE: case TOK_RETURN:
	case TOK_MINUS: case TOK_BANG: case TOK_AWAIT:
		return true;
	default:
		return false;
	}
}

/*
 * primary -> INT | FLOAT | STRING | 'true' | 'false' | '(' ')' | '(' expr ')'
 *	| '[' [expr (',' expr)* [',']] ']' | IDENT | block | if | while
 *	| loop | for | 'break' | 'continue' | 'return' [expr]
 */
static struct node *
parse_primary(struct parser *p)
{
	struct token t = p->tok;
	struct node *n, *e;

	switch (t.kind) {
	case TOK_LBRACE:
		return parse_block(p);
	case TOK_IF:
		return parse_if(p);
	case TOK_WHILE:
		return parse_while(p);
	case TOK_LOOP:
		return parse_loop(p);
	case TOK_FOR:
		return parse_for(p);
	case TOK_ERROR:
		return NULL;
	case TOK_INT:
		if (t.ival < 0) {
			error_at(p, t.pos, "integer literal too large (the "
			    "maximum is 9223372036854775807)");
			return NULL;
		}
		break;
	case TOK_LPAREN:
		advance(p);
		if (p->tok.kind == TOK_RPAREN) {
			advance(p);
			return node_new(p, N_UNIT, t.pos);
		}
		if ((e = parse_expr(p)) == NULL ||
		    !expect(p, TOK_RPAREN, "after expression"))
			return NULL;
		return e;
	case TOK_LBRACKET:
		if ((n = node_new(p, N_ARRAY, t.pos)) == NULL)
			return NULL;
		advance(p);
		if (!parse_list(p, n, TOK_RBRACKET, "after array elements"))
			return NULL;
		n->untyped = true;
		for (uint32_t i = 0; i < n->list.n && n->untyped; i++)
			n->untyped = n->list.items[i]->kind == N_ARRAY &&
			    n->list.items[i]->untyped;
		return n;
	case TOK_RETURN:
		if ((n = node_new(p, N_RETURN, t.pos)) == NULL)
			return NULL;
		advance(p);
		if (starts_expr(p->tok.kind) &&
		    (n->a = parse_expr(p)) == NULL)
			return NULL;
		return n;
	case TOK_FLOAT: case TOK_STRING: case TOK_TRUE: case TOK_FALSE:
	case TOK_IDENT: case TOK_BREAK: case TOK_CONTINUE:
		break;
	default:
		expected(p, "expression", NULL);
		return NULL;
	}
	/* A single-token expression. */
	if ((n = node_new(p, N_INT, t.pos)) == NULL)
		return NULL;
	switch (t.kind) {
	case TOK_INT:		n->ival = t.ival; break;
	case TOK_FLOAT:		n->kind = N_FLOAT; n->fval = t.fval; break;
	case TOK_STRING:
		n->kind = N_STRING;
		n->str = t.text;
		n->len = t.len;
		break;
	case TOK_TRUE:		n->kind = N_BOOL; n->ival = 1; break;
	case TOK_FALSE:		n->kind = N_BOOL; n->ival = 0; break;
	case TOK_IDENT:		n->kind = N_NAME; n->name = t.text; break;
	case TOK_BREAK:		n->kind = N_BREAK; break;
	case TOK_CONTINUE:	n->kind = N_CONTINUE; break;
	}
	advance(p);
	return n;
}

/*
 * postfix -> primary (call | '[' expr ']')*
 * call -> IDENT '(' [expr (',' expr)* [',']] ')'
 */
static struct node *
parse_postfix(struct parser *p)
{
	struct pos start = p->tok.pos;
	struct node *e = parse_primary(p), *n;

	while (e != NULL) {
		switch (p->tok.kind) {
		case TOK_LPAREN:
			if (e->kind != N_NAME) {
				error_at(p, p->tok.pos, "only named functions "
				    "can be called");
				return NULL;
			}
			e->kind = N_CALL;	/* same name and position */
			advance(p);
			if (!parse_list(p, e, TOK_RPAREN, "after arguments"))
				return NULL;
			break;
		case TOK_LBRACKET:
			if ((n = node_new(p, N_INDEX, start)) == NULL)
				return NULL;
			advance(p);
			n->a = e;
			if ((n->b = parse_expr(p)) == NULL ||
			    !expect(p, TOK_RBRACKET, "after index"))
				return NULL;
			e = n;
			break;
		case TOK_DOT:
			error_at(p, p->tok.pos, "unexpected '.': Script has no "
			    "fields or methods");
			return NULL;
		default:
			return e;
		}
	}
	return NULL;
}

/*
 * unary -> ('-' | '!' | 'await') unary | postfix
 * "-9223372036854775808" folds to one N_INT at the '-': its literal alone
 * is out of range (see TOK_INT in lex.h).
 */
static struct node *
parse_unary(struct parser *p)
{
	unsigned kind = p->tok.kind;
	struct node *n;

	if (kind != TOK_MINUS && kind != TOK_BANG && kind != TOK_AWAIT)
		return parse_postfix(p);
	n = node_new(p, kind == TOK_AWAIT ? N_AWAIT : N_UNARY, p->tok.pos);
	if (n == NULL)
		return NULL;
	if (kind != TOK_AWAIT)
		n->op = (uint8_t)kind;
	advance(p);
	skip_newlines(p);
	if (kind == TOK_MINUS && p->tok.kind == TOK_INT &&
	    p->tok.ival == INT64_MIN) {
		n->kind = N_INT;
		n->op = 0;
		n->ival = INT64_MIN;
		advance(p);
		return n;
	}
	if (!enter(p))
		return NULL;
	n->a = parse_unary(p);
	leave(p);
	return n->a != NULL ? n : NULL;
}

/* cast -> unary ('as' type)*: tighter than '*', looser than unary '-' */
static struct node *
parse_cast(struct parser *p)
{
	struct pos start = p->tok.pos;
	struct node *e = parse_unary(p), *n;

	while (e != NULL && p->tok.kind == TOK_AS) {
		if ((n = node_new(p, N_CAST, start)) == NULL)
			return NULL;
		advance(p);
		skip_newlines(p);
		n->a = e;
		if ((n->texpr = parse_type(p, true)) == NULL)
			return NULL;
		e = n;
	}
	return e;
}

/* Binding power of a binary operator, higher binds tighter; 0 if none. */
static int
binary_prec(unsigned kind)
{
	switch (kind) {
	case TOK_OROR:
		return 1;
	case TOK_ANDAND:
		return 2;
	case TOK_EQEQ: case TOK_NE:
		return 3;
	case TOK_LT: case TOK_GT: case TOK_LE: case TOK_GE:
		return 4;
	case TOK_PLUS: case TOK_MINUS:
		return 5;
	case TOK_STAR: case TOK_SLASH: case TOK_PERCENT:
		return 6;
	default:
		return 0;
	}
}

/*
 * binary -> cast (OP cast)*, by precedence climbing: operators of at least
 * min bind here. All associate to the left except comparisons (== != < > <=
 * >=), which do not associate. Recursion is bounded by the number of
 * precedence levels, so "1 + 1 + ..." of any length is flat.
 */
static struct node *
parse_binary(struct parser *p, int min)
{
	struct node *lhs = parse_cast(p), *n;
	int prec;

	while (lhs != NULL && (prec = binary_prec(p->tok.kind)) >= min &&
	    prec > 0) {
		if ((n = node_new(p, N_BINARY, p->tok.pos)) == NULL)
			return NULL;
		n->op = p->tok.kind;
		advance(p);
		skip_newlines(p);
		n->a = lhs;
		if ((n->b = parse_binary(p, prec + 1)) == NULL)
			return NULL;
		lhs = n;
		if ((prec == 3 || prec == 4) &&
		    binary_prec(p->tok.kind) == prec) {
			error_at(p, p->tok.pos, "comparison operators cannot "
			    "be chained");
			return NULL;
		}
	}
	return lhs;
}

/* expr -> binary ['=' expr], where the left side is a name or an index */
static struct node *
parse_expr(struct parser *p)
{
	struct pos start = p->tok.pos;
	struct node *lhs, *n = NULL;

	if (!enter(p))
		return NULL;
	if ((lhs = parse_binary(p, 1)) == NULL || p->tok.kind != TOK_EQ) {
		n = lhs;
		goto out;
	}
	if (lhs->kind != N_NAME && lhs->kind != N_INDEX) {
		error_at(p, start, "cannot assign to this expression");
		goto out;
	}
	if ((n = node_new(p, N_ASSIGN, p->tok.pos)) == NULL)
		goto out;
	advance(p);
	skip_newlines(p);
	n->a = lhs;
	if ((n->b = parse_expr(p)) == NULL)
		n = NULL;
out:
	leave(p);
	return n;
}

/* let -> 'let' ['mut'] IDENT [':' type] '=' expr */
static struct node *
parse_let(struct parser *p)
{
	struct node *n = node_new(p, N_LET, p->tok.pos);

	if (n == NULL)
		return NULL;
	advance(p);
	if (p->tok.kind == TOK_MUT) {
		n->is_mut = true;
		advance(p);
	}
	if (p->tok.kind != TOK_IDENT) {
		expected(p, "variable name", "after 'let'");
		return NULL;
	}
	n->name = p->tok.text;
	advance(p);
	if (p->tok.kind == TOK_COLON) {
		advance(p);
		skip_newlines(p);
		if ((n->texpr = parse_type(p, false)) == NULL)
			return NULL;
	}
	if (!expect(p, TOK_EQ, "in 'let'"))
		return NULL;
	skip_newlines(p);
	return (n->a = parse_expr(p)) != NULL ? n : NULL;
}

/* statement -> let | expr */
static struct node *
parse_statement(struct parser *p)
{
	struct pos start = p->tok.pos;
	struct node *e, *n;

	switch (p->tok.kind) {
	case TOK_LET:
		return parse_let(p);
	case TOK_FN:
	case TOK_ASYNC:
		error_at(p, start, "functions can only be declared at the "
		    "top level");
		return NULL;
	case TOK_EXTERN:
		error_at(p, start, "extern blocks can only be declared at the "
		    "top level");
		return NULL;
	}
	if ((e = parse_expr(p)) == NULL ||
	    (n = node_new(p, N_EXPR_STMT, start)) == NULL)
		return NULL;
	n->a = e;
	return n;
}

/*
 * Parse one statement and its end into b's list. After an error, skip the
 * rest of it: the caller's loop goes on with the next.
 */
static void
statement_into(struct parser *p, struct node *b, unsigned *cap)
{
	struct node *s = parse_statement(p);
	bool semi;

	if (s == NULL || !end_statement(p, &semi)) {
		sync(p);
		return;
	}
	s->has_semi = s->kind == N_EXPR_STMT && semi;
	push(p, &b->list, cap, s);
}

/*
 * block -> '{' statement* '}'
 * Newline handling starts afresh inside: "f({\n x\n })" has statements.
 */
static struct node *
parse_block(struct parser *p)
{
	struct node *b = node_new(p, N_BLOCK, p->tok.pos);
	unsigned saved = p->nest, cap = 0;

	if (b == NULL)
		return NULL;
	p->nest = 0;
	p->nblocks++;
	advance(p);
	for (;;) {
		while (p->tok.kind == TOK_NEWLINE || p->tok.kind == TOK_SEMI)
			advance(p);
		if (stop(p) || p->tok.kind == TOK_RBRACE ||
		    p->tok.kind == TOK_EOF)
			break;
		statement_into(p, b, &cap);
	}
	p->nblocks--;
	p->nest = saved;
	if (p->tok.kind != TOK_RBRACE) {
		if (!stop(p))
			error_at(p, p->tok.pos, "expected '}' to close the "
			    "block at %u:%u, found end of file", b->pos.line,
			    b->pos.col);
		return NULL;
	}
	advance(p);
	set_has_value(b);
	return b;
}

/* Parts shared by fn_decl and the functions of an extern block. */
struct sig {
	const char *name;		/* function name */
	struct pos pos;			/* of the name */
	struct param *params;		/* arena array */
	uint32_t nparams;
	struct texpr *ret;		/* NULL when '-> R' is left out */
};

/*
 * signature -> IDENT '(' [param (',' param)* [',']] ')' ['->' type]
 * param -> IDENT ':' type
 */
static bool
parse_signature(struct parser *p, struct sig *s)
{
	unsigned cap = 0;

	if (p->tok.kind != TOK_IDENT) {
		expected(p, "function name", "after 'fn'");
		return false;
	}
	s->name = p->tok.text;
	s->pos = p->tok.pos;
	advance(p);
	if (!expect(p, TOK_LPAREN, "after function name"))
		return false;
	while (p->tok.kind != TOK_RPAREN) {
		struct param *pm;

		if (p->tok.kind != TOK_IDENT) {
			expected(p, "parameter name", NULL);
			return false;
		}
		if (!arena_grow(p->a, (void **)&s->params, sizeof(*s->params),
		    s->nparams, &cap))
			return false;
		pm = &s->params[s->nparams++];
		pm->name = p->tok.text;
		pm->pos = p->tok.pos;
		advance(p);
		if (!expect(p, TOK_COLON, "after parameter name") ||
		    (pm->texpr = parse_type(p, false)) == NULL)
			return false;
		if (p->tok.kind == TOK_COMMA)
			advance(p);
		else if (p->tok.kind != TOK_RPAREN) {
			expected(p, "',' or ')'", "after parameter");
			return false;
		}
	}
	advance(p);
	if (p->tok.kind == TOK_ARROW) {
		advance(p);
		skip_newlines(p);
		if ((s->ret = parse_type(p, false)) == NULL)
			return false;
	}
	return true;
}

/* fn_decl -> 'fn' signature block, with tok at the 'fn' */
static struct fn_decl *
parse_fn(struct parser *p, bool is_async)
{
	struct fn_decl *f = arena_alloc(p->a, sizeof(*f));
	struct sig s = { 0 };

	if (f == NULL)
		return NULL;
	advance(p);
	if (!parse_signature(p, &s) ||
	    (f->body = parse_body(p, "before function body")) == NULL)
		return NULL;
	f->name = s.name;
	f->pos = s.pos;
	f->is_async = is_async;
	f->params = s.params;
	f->nparams = s.nparams;
	f->ret = s.ret;
	return f;
}

/*
 * extern_block -> 'extern' STRING '{' ('fn' signature sep)* '}'
 * A bad line inside is skipped like a bad statement.
 */
static bool
parse_extern(struct parser *p, struct program *prog, unsigned *cap)
{
	const char *lib;
	struct pos open;
	unsigned saved = p->nest;
	bool semi;

	advance(p);
	if (p->tok.kind != TOK_STRING) {
		expected(p, "library name string", "after 'extern'");
		return false;
	}
	lib = p->tok.text;
	advance(p);
	skip_newlines(p);
	if (p->tok.kind != TOK_LBRACE) {
		expected(p, "'{'", "after library name");
		return false;
	}
	open = p->tok.pos;
	p->nest = 0;
	p->nblocks++;
	advance(p);
	for (;;) {
		struct extern_fn *x;
		struct sig s = { 0 };

		while (p->tok.kind == TOK_NEWLINE || p->tok.kind == TOK_SEMI)
			advance(p);
		if (stop(p) || p->tok.kind == TOK_RBRACE ||
		    p->tok.kind == TOK_EOF)
			break;
		if (p->tok.kind != TOK_FN) {
			expected(p, "'fn'", "in extern block");
			sync(p);
			continue;
		}
		advance(p);
		if (!parse_signature(p, &s) || !end_statement(p, &semi)) {
			sync(p);
			continue;
		}
		if ((x = arena_alloc(p->a, sizeof(*x))) == NULL ||
		    !arena_grow(p->a, (void **)&prog->externs,
		    sizeof(*prog->externs), prog->nexterns, cap))
			break;
		x->library = lib;
		x->name = s.name;
		x->pos = s.pos;
		x->params = s.params;
		x->nparams = s.nparams;
		x->ret = s.ret;
		prog->externs[prog->nexterns++] = x;
	}
	p->nblocks--;
	p->nest = saved;
	if (p->tok.kind != TOK_RBRACE) {
		if (!stop(p))
			error_at(p, p->tok.pos, "expected '}' to close the "
			    "extern block at %u:%u, found end of file",
			    open.line, open.col);
		return false;
	}
	advance(p);
	return true;
}

/* Room for the program's growing arrays. */
struct caps {
	unsigned fns;
	unsigned externs;
	unsigned top;
};

/*
 * item -> fn_decl | 'async' fn_decl | extern_block | statement
 * Top-level statements go, in order, into one N_BLOCK: prog->top.
 */
static void
parse_item(struct parser *p, struct program *prog, struct caps *caps)
{
	struct fn_decl *f;
	bool is_async = false, semi;

	switch (p->tok.kind) {
	case TOK_EXTERN:
		if (!parse_extern(p, prog, &caps->externs) ||
		    !end_statement(p, &semi))
			sync(p);
		return;
	case TOK_ASYNC:
		advance(p);
		if (p->tok.kind != TOK_FN) {
			expected(p, "'fn'", "after 'async'");
			sync(p);
			return;
		}
		is_async = true;
		break;
	case TOK_FN:
		break;
	default:
		if (prog->top == NULL) {
			prog->top_pos = p->tok.pos;
			prog->top = node_new(p, N_BLOCK, p->tok.pos);
			if (prog->top == NULL)
				return;
		}
		statement_into(p, prog->top, &caps->top);
		return;
	}
	if ((f = parse_fn(p, is_async)) == NULL) {
		sync(p);
		return;
	}
	if (!arena_grow(p->a, (void **)&prog->fns, sizeof(*prog->fns),
	    prog->nfns, &caps->fns))
		return;
	prog->fns[prog->nfns++] = f;
	if (!end_statement(p, &semi))
		sync(p);
}

/* program -> item* */
struct program *
parse_program(struct lexer *lx, struct arena *a, struct diags *d)
{
	struct parser p = { .lx = lx, .a = a, .d = d };
	struct program *prog = arena_alloc(a, sizeof(*prog));
	struct caps caps = { 0 };

	if (prog == NULL)
		return NULL;
	p.tok.kind = TOK_NEWLINE;
	advance(&p);
	for (;;) {
		while (p.tok.kind == TOK_NEWLINE || p.tok.kind == TOK_SEMI)
			advance(&p);
		if (stop(&p) || p.tok.kind == TOK_EOF)
			break;
		parse_item(&p, prog, &caps);
	}
	if (prog->top != NULL)
		set_has_value(prog->top);
	return a->failed ? NULL : prog;
}
