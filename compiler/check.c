/*
 * The checker: resolves names through nested block scopes, infers and checks
 * static types (no implicit int/float mixing), and decides the function
 * table. Functions without '-> R' get their return type from their body,
 * checked on demand at the first call; a call that reaches a function still
 * being checked is recursion, which must write its return type.
 * Errors are recorded and checking goes on with TY_ERROR, which matches
 * anything, so one mistake gives one message.
 */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "check.h"
#include "diag.h"
#include "lex.h"
#include "modio.h"

struct loop_ctx;

/* State of the function being checked (one per nesting of on-demand
 * checking, so the scopes of different functions never mix). */
struct fn_ctx {
	struct sym *scope;		/* innermost local first */
	struct sym *fn;			/* the function, or NULL for top-level */
	struct type *ret;		/* declared return type, or NULL */
	struct type *inferred;		/* from 'return e' when ret is NULL */
	bool is_async;			/* await allowed */
	unsigned loops;			/* enclosing loops */
	bool broke;			/* the innermost loop has a break */
};

struct checker {
	struct arena *a;
	struct diags *d;
	struct program *p;
	struct checked *out;
	struct type *types;		/* interned composite types */
	struct sym **gtab;		/* functions, externs, builtins: open
					   addressing by name hash */
	unsigned gcap;			/* slots in gtab, a power of two */
	unsigned nglobals;
	struct fn_ctx *fx;		/* function being checked */
	struct sym *entry;		/* the entry function, once known */
	unsigned depth;			/* expr() recursion, for the cap */
	bool too_deep;			/* the cap was hit and reported */
};

static const struct {
	const char *name;
	enum builtin b;
} builtins[] = {
	{ "print", B_PRINT }, { "println", B_PRINTLN },
	{ "eprintln", B_EPRINTLN }, { "len", B_LEN }, { "push", B_PUSH },
	{ "pop", B_POP }, { "abs", B_ABS }, { "min", B_MIN }, { "max", B_MAX },
	{ "sqrt", B_SQRT }, { "assert", B_ASSERT }, { "panic", B_PANIC },
	{ "now_ms", B_NOW_MS }, { "sleep", B_SLEEP },
	{ "yield_now", B_YIELD_NOW }, { "spawn", B_SPAWN },
	{ "cancel", B_CANCEL }, { "join_all", B_JOIN_ALL },
	{ "await_timeout", B_AWAIT_TIMEOUT },
};

static struct type *expr(struct checker *c, struct node *n,
    struct type *want);
static struct type *block(struct checker *c, struct node *n,
    struct type *want);
static bool check_fn(struct checker *c, struct sym *s);

/* Types */

static struct type *
basic(struct checker *c, int kind)
{
	struct type *t = arena_alloc(c->a, sizeof(*t));

	if (t != NULL)
		t->kind = (uint8_t)kind;
	return t;
}

static struct type *
compound(struct checker *c, int kind, struct type *elem)
{
	struct type *t;

	if (elem == NULL)
		return NULL;
	if (elem->kind == TY_ERROR)
		return elem;
	for (t = c->types; t != NULL; t = t->next)
		if (t->kind == kind && t->elem == elem)
			return t;
	if ((t = basic(c, kind)) == NULL)
		return NULL;
	t->elem = elem;
	t->next = c->types;
	c->types = t;
	return t;
}

const char *
type_name(const struct type *t, char *buf, size_t size)
{
	char inner[128];

	if (t == NULL) {
		snprintf(buf, size, "?");
		return buf;
	}
	switch (t->kind) {
	case TY_ERROR:	snprintf(buf, size, "<error>"); break;
	case TY_NEVER:	snprintf(buf, size, "!"); break;
	case TY_UNIT:	snprintf(buf, size, "()"); break;
	case TY_INT:	snprintf(buf, size, "int"); break;
	case TY_FLOAT:	snprintf(buf, size, "float"); break;
	case TY_BOOL:	snprintf(buf, size, "bool"); break;
	case TY_STRING:	snprintf(buf, size, "string"); break;
	case TY_PTR:	snprintf(buf, size, "ptr"); break;
	case TY_ARRAY:
		snprintf(buf, size, "[%s]",
		    type_name(t->elem, inner, sizeof(inner)));
		break;
	case TY_FUTURE:
		snprintf(buf, size, "Future<%s>",
		    type_name(t->elem, inner, sizeof(inner)));
		break;
	case TY_TASK:
		snprintf(buf, size, "Task<%s>",
		    type_name(t->elem, inner, sizeof(inner)));
		break;
	default:
		snprintf(buf, size, "?");
	}
	return buf;
}

/* Short-lived names for messages: four rotating buffers. */
static const char *
tn(const struct type *t)
{
	static char bufs[4][160];
	static unsigned i;

	i = (i + 1) % 4;
	return type_name(t, bufs[i], sizeof(bufs[i]));
}

static bool
is_err(const struct type *t)
{
	return t == NULL || t->kind == TY_ERROR;
}

/* Does a value of type `have` fit where `want` is expected? */
static bool
fits(const struct type *have, const struct type *want)
{
	return have == want || is_err(have) || is_err(want) ||
	    have->kind == TY_NEVER;
}

static bool
is_numeric(const struct type *t)
{
	return t->kind == TY_INT || t->kind == TY_FLOAT;
}

/* Resolve a written type; NULL texpr means (). Errors give TY_ERROR. */
static struct type *
resolve(struct checker *c, struct texpr *tx)
{
	struct checked *o = c->out;
	static const struct {
		const char *name;
		int kind;
	} names[] = {
		{ "int", TY_INT }, { "i32", TY_INT }, { "i64", TY_INT },
		{ "float", TY_FLOAT }, { "f32", TY_FLOAT }, { "f64", TY_FLOAT },
		{ "bool", TY_BOOL }, { "string", TY_STRING },
		{ "String", TY_STRING }, { "ptr", TY_PTR },
	};

	if (tx == NULL)
		return o->t_unit;
	switch (tx->kind) {
	case TX_UNIT:
		return o->t_unit;
	case TX_ARRAY:
		return compound(c, TY_ARRAY, resolve(c, tx->elem));
	case TX_FUTURE:
		return compound(c, TY_FUTURE, resolve(c, tx->elem));
	case TX_TASK:
		return compound(c, TY_TASK, resolve(c, tx->elem));
	case TX_NAME:
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (strcmp(tx->name, names[i].name) != 0)
				continue;
			switch (names[i].kind) {
			case TY_INT:	return o->t_int;
			case TY_FLOAT:	return o->t_float;
			case TY_BOOL:	return o->t_bool;
			case TY_STRING:	return o->t_string;
			default:	return o->t_ptr;
			}
		}
		diag_error(c->d, tx->pos, "unknown type '%s'", tx->name);
		return o->t_error;
	}
	return o->t_error;
}

/* Warn about a call statement whose future nothing runs. */
static void
unused_future(struct checker *c, const struct node *s, const struct type *t)
{
	if (s->kind == N_EXPR_STMT && t->kind == TY_FUTURE &&
	    s->a->kind == N_CALL)
		diag_warning(c->d, s->pos, "this future is never run: add "
		    "`await` (or pass it to spawn)");
}

/* The value of block b (type t) is thrown away: warn if it is a future. */
static void
discarded(struct checker *c, const struct node *b, const struct type *t)
{
	if (b != NULL && b->has_value && b->list.n > 0)
		unused_future(c, b->list.items[b->list.n - 1], t);
}

/* Symbols and scopes */

static struct sym *
sym_new(struct checker *c, int kind, const char *name, struct pos pos)
{
	struct sym *s = arena_alloc(c->a, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->kind = (uint8_t)kind;
	s->name = name;
	s->pos = pos;
	s->reg = -1;
	return s;
}

static uint32_t
name_hash(const char *name)
{
	uint32_t h = 2166136261u;

	while (*name != '\0')
		h = (h ^ (unsigned char)*name++) * 16777619u;
	return h;
}

static struct sym *
find_global(struct checker *c, const char *name)
{
	unsigned i;

	if (c->gcap == 0)
		return NULL;
	for (i = name_hash(name) & (c->gcap - 1); c->gtab[i] != NULL;
	    i = (i + 1) & (c->gcap - 1))
		if (strcmp(c->gtab[i]->name, name) == 0)
			return c->gtab[i];
	return NULL;
}

/* Add s (whose name is not yet global) to the table. */
static bool
add_global(struct checker *c, struct sym *s)
{
	unsigned i;

	if ((c->nglobals + 1) * 2 > c->gcap) {
		unsigned cap = c->gcap == 0 ? 64 : c->gcap * 2;
		struct sym **tab = arena_alloc(c->a, cap * sizeof(*tab));

		if (tab == NULL)
			return false;
		for (unsigned j = 0; j < c->gcap; j++) {
			if (c->gtab[j] == NULL)
				continue;
			for (i = name_hash(c->gtab[j]->name) & (cap - 1);
			    tab[i] != NULL; i = (i + 1) & (cap - 1))
				;
			tab[i] = c->gtab[j];
		}
		c->gtab = tab;
		c->gcap = cap;
	}
	for (i = name_hash(s->name) & (c->gcap - 1); c->gtab[i] != NULL;
	    i = (i + 1) & (c->gcap - 1))
		;
	c->gtab[i] = s;
	c->nglobals++;
	return true;
}

/* Locals are a chain, innermost first: O(locals in scope) per lookup,
 * which stays small in real functions. */
static struct sym *
find_local(struct checker *c, const char *name)
{
	for (struct sym *s = c->fx->scope; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static struct sym *
declare_local(struct checker *c, const char *name, struct pos pos,
    struct type *t, bool is_mut)
{
	struct sym *s;
	uint32_t depth = c->fx->scope != NULL ? c->fx->scope->index + 1 : 1;

	/* Each local in scope holds a register until its block ends, so a
	 * scope this deep could not be emitted anyway; the cap also keeps
	 * the lookups in find_local() short. */
	if (depth > SCOPE_LOCALS_MAX) {
		diag_error(c->d, pos, "more than %u variables in scope: split "
		    "the function (it may use at most %u registers)",
		    SCOPE_LOCALS_MAX, FUNCTION_REGS_MAX);
		return NULL;
	}
	if ((s = sym_new(c, SYM_LOCAL, name, pos)) == NULL)
		return NULL;
	s->type = t;
	s->is_mut = is_mut;
	s->index = depth;
	s->next = c->fx->scope;
	c->fx->scope = s;
	return s;
}

/* Expressions */

static struct type *
set(struct node *n, struct type *t)
{
	n->type = t;
	return t;
}

/* Check n against `want` and complain if it does not fit. */
static struct type *
expect_type(struct checker *c, struct node *n, struct type *want,
    const char *what)
{
	struct type *t = expr(c, n, want);

	if (!fits(t, want)) {
		if (t->kind == TY_FUTURE && fits(t->elem, want))
			diag_error(c->d, n->pos, "%s: expected %s, found %s: "
			    "add `await`", what, tn(want), tn(t));
		else
			diag_error(c->d, n->pos, "%s: expected %s, found %s",
			    what, tn(want), tn(t));
		return c->out->t_error;
	}
	return t;
}

static bool
contains_future(const struct type *t)
{
	return t != NULL && (t->kind == TY_FUTURE || t->kind == TY_TASK);
}

static struct type *
check_name(struct checker *c, struct node *n)
{
	struct sym *s = find_local(c, n->name);

	if (s != NULL) {
		n->sym = s;
		return set(n, s->type);
	}
	if ((s = find_global(c, n->name)) != NULL)
		diag_error(c->d, n->pos, "'%s' is a function: call it with "
		    "%s(...)", n->name, n->name);
	else
		diag_error(c->d, n->pos, "unknown name '%s'", n->name);
	return set(n, c->out->t_error);
}

/* An array literal with no element that has a type of its own ([] or
 * [[], []], found by the parser): it takes its type from where it goes. */
static bool
untyped_array(const struct node *x)
{
	return x->kind == N_ARRAY && x->untyped;
}

/* x, an untyped array inside one whose type cannot be inferred: the
 * outer one says so, once. */
static void
untyped_error(struct checker *c, struct node *x)
{
	set(x, c->out->t_error);
	for (uint32_t i = 0; i < x->list.n; i++)
		untyped_error(c, x->list.items[i]);
}

/* The element type comes from where the array goes, else from its first
 * element that has a type of its own, so [[], [1]] is [[int]] as [[1], []]
 * is; the other elements are checked against it. */
static struct type *
check_array(struct checker *c, struct node *n, struct type *want)
{
	struct type *elem = NULL;
	uint32_t seen = 0, i;		/* typed ones below seen: checked */

	if (want != NULL && want->kind == TY_ARRAY)
		elem = want->elem;
	for (i = 0; elem == NULL && i < n->list.n; i++) {
		if (untyped_array(n->list.items[i]))
			continue;
		elem = expr(c, n->list.items[i], NULL);
		seen = i + 1;
		if (elem->kind == TY_NEVER)	/* panic(): look further */
			elem = NULL;
	}
	for (i = 0; i < n->list.n; i++) {
		struct node *x = n->list.items[i];

		if (i < seen && !untyped_array(x))
			continue;		/* checked above */
		if (elem != NULL && !(is_err(elem) && untyped_array(x)))
			expect_type(c, x, elem, "array element");
		else
			untyped_error(c, x);	/* said once, or already */
	}
	if (elem == NULL) {
		if (n->list.n == 0)
			diag_error(c->d, n->pos, "cannot infer the element "
			    "type of an empty array: give it a type, as in "
			    "`let a: [int] = []`");
		else
			diag_error(c->d, n->pos, "cannot infer the element "
			    "type of an array with no typed element: give it "
			    "a type, as in `let a: [[int]] = [[]]`");
		return set(n, c->out->t_error);
	}
	return set(n, compound(c, TY_ARRAY, elem));
}

static struct type *
check_unary(struct checker *c, struct node *n)
{
	struct type *t = expr(c, n->a, NULL);

	if (is_err(t) || t->kind == TY_NEVER)
		return set(n, t);
	if (n->op == TOK_MINUS && is_numeric(t))
		return set(n, t);
	if (n->op == TOK_BANG && t->kind == TY_BOOL)
		return set(n, t);
	diag_error(c->d, n->pos, "operator '%s' cannot be applied to %s",
	    n->op == TOK_MINUS ? "-" : "!", tn(t));
	return set(n, c->out->t_error);
}

static const char *
op_text(int op)
{
	switch (op) {
	case TOK_PLUS:		return "+";
	case TOK_MINUS:		return "-";
	case TOK_STAR:		return "*";
	case TOK_SLASH:		return "/";
	case TOK_PERCENT:	return "%";
	case TOK_LT:		return "<";
	case TOK_GT:		return ">";
	case TOK_LE:		return "<=";
	case TOK_GE:		return ">=";
	case TOK_EQEQ:		return "==";
	case TOK_NE:		return "!=";
	case TOK_ANDAND:	return "&&";
	case TOK_OROR:		return "||";
	}
	return "?";
}

static struct type *
check_binary(struct checker *c, struct node *n)
{
	struct checked *o = c->out;
	struct type *l, *r;
	int op = n->op;

	if (op == TOK_ANDAND || op == TOK_OROR) {
		expect_type(c, n->a, o->t_bool, "left operand of logical "
		    "operator");
		expect_type(c, n->b, o->t_bool, "right operand of logical "
		    "operator");
		return set(n, o->t_bool);
	}
	l = expr(c, n->a, NULL);
	r = expr(c, n->b, NULL);
	if (is_err(l) || is_err(r))
		return set(n, o->t_error);
	/* an operand that never finishes fits the other side */
	if (l->kind == TY_NEVER && r->kind == TY_NEVER)
		return set(n, o->t_never);
	if (l->kind == TY_NEVER)
		l = r;
	else if (r->kind == TY_NEVER)
		r = l;
	if (op == TOK_PLUS && (l->kind == TY_STRING || r->kind == TY_STRING)) {
		struct type *other = l->kind == TY_STRING ? r : l;

		if (contains_future(other)) {
			diag_error(c->d, n->pos, "cannot concatenate string "
			    "and %s: add `await`", tn(other));
			return set(n, o->t_error);
		}
		return set(n, o->t_string);
	}
	if (l != r) {
		if (is_numeric(l) && is_numeric(r))
			diag_error(c->d, n->pos, "mismatched types %s and %s "
			    "for '%s': convert one side with `as`, as in "
			    "`x as float`", tn(l), tn(r), op_text(op));
		else if (l->kind == TY_FUTURE && l->elem == r)
			diag_error(c->d, n->pos, "mismatched types %s and %s "
			    "for '%s': add `await`", tn(l), tn(r), op_text(op));
		else if (r->kind == TY_FUTURE && r->elem == l)
			diag_error(c->d, n->pos, "mismatched types %s and %s "
			    "for '%s': add `await`", tn(l), tn(r), op_text(op));
		else
			diag_error(c->d, n->pos, "mismatched types %s and %s "
			    "for '%s'", tn(l), tn(r), op_text(op));
		return set(n, o->t_error);
	}
	switch (op) {
	case TOK_PLUS: case TOK_MINUS: case TOK_STAR: case TOK_SLASH:
	case TOK_PERCENT:
		if (is_numeric(l))
			return set(n, l);
		break;
	case TOK_LT: case TOK_GT: case TOK_LE: case TOK_GE:
		if (is_numeric(l) || l->kind == TY_STRING)
			return set(n, o->t_bool);
		break;
	case TOK_EQEQ: case TOK_NE:
		if (is_numeric(l) || l->kind == TY_STRING ||
		    l->kind == TY_BOOL || l->kind == TY_UNIT ||
		    l->kind == TY_PTR)
			return set(n, o->t_bool);
		break;
	}
	diag_error(c->d, n->pos, "operator '%s' cannot be applied to %s",
	    op_text(op), tn(l));
	return set(n, o->t_error);
}

static struct type *
check_assign(struct checker *c, struct node *n)
{
	struct node *t = n->a;
	struct type *want;

	if (t->kind == N_NAME) {
		struct sym *s = find_local(c, t->name);

		if (s == NULL) {
			check_name(c, t);
			expr(c, n->b, NULL);
			return set(n, c->out->t_unit);
		}
		t->sym = s;
		t->type = s->type;
		n->sym = s;
		if (!s->is_mut)
			diag_warning(c->d, t->pos, "assignment to immutable "
			    "variable '%s': declare it with `let mut`",
			    s->name);
		want = s->type;
	} else if (t->kind == N_INDEX) {
		want = expr(c, t, NULL);
	} else {
		diag_error(c->d, n->pos, "cannot assign to this expression");
		expr(c, n->b, NULL);
		return set(n, c->out->t_unit);
	}
	expect_type(c, n->b, want, "assignment");
	return set(n, c->out->t_unit);
}

static struct type *
check_index(struct checker *c, struct node *n)
{
	struct type *a = expr(c, n->a, NULL);

	expect_type(c, n->b, c->out->t_int, "array index");
	if (is_err(a))
		return set(n, a);
	if (a->kind != TY_ARRAY) {
		diag_error(c->d, n->a->pos, "cannot index a value of type %s",
		    tn(a));
		return set(n, c->out->t_error);
	}
	return set(n, a->elem);
}

static struct type *
check_await(struct checker *c, struct node *n)
{
	struct type *t;

	if (!c->fx->is_async)
		diag_error(c->d, n->pos, "'await' outside async fn");
	t = expr(c, n->a, NULL);
	if (is_err(t))
		return set(n, t);
	if (t->kind != TY_FUTURE && t->kind != TY_TASK) {
		diag_error(c->d, n->a->pos, "cannot await a value of type %s",
		    tn(t));
		return set(n, c->out->t_error);
	}
	return set(n, t->elem);
}

static struct type *
check_cast(struct checker *c, struct node *n)
{
	struct type *from = expr(c, n->a, NULL);
	struct type *to = resolve(c, n->texpr);

	if (is_err(from) || is_err(to))
		return set(n, c->out->t_error);
	if (to->kind == TY_STRING && !contains_future(from))
		return set(n, to);
	if ((to->kind == TY_INT || to->kind == TY_FLOAT) &&
	    (is_numeric(from) || from->kind == TY_STRING))
		return set(n, to);
	if (from == to)
		return set(n, to);
	diag_error(c->d, n->pos, "cannot convert %s to %s with `as`",
	    tn(from), tn(to));
	return set(n, c->out->t_error);
}

/* Return type of a user function, checking its body first if needed. */
static struct type *
fn_result(struct checker *c, struct sym *s, struct pos at)
{
	if (s->type != NULL)
		return s->type;
	if (s->state == 1) {
		diag_error(c->d, at, "recursive function '%s' must declare "
		    "its return type with '-> TYPE'", s->name);
		return c->out->t_error;
	}
	if (!check_fn(c, s) || s->type == NULL)
		return c->out->t_error;
	return s->type;
}

static bool
arity(struct checker *c, struct node *n, uint32_t lo, uint32_t hi)
{
	if (n->list.n >= lo && n->list.n <= hi)
		return true;
	if (lo == hi)
		diag_error(c->d, n->pos, "'%s' takes %u argument%s, %u given",
		    n->name, lo, lo == 1 ? "" : "s", n->list.n);
	else
		diag_error(c->d, n->pos, "'%s' takes %u to %u arguments, %u "
		    "given", n->name, lo, hi, n->list.n);
	for (uint32_t i = 0; i < n->list.n; i++)
		expr(c, n->list.items[i], NULL);
	return false;
}

static struct type *
arg(struct checker *c, struct node *n, uint32_t i, struct type *want)
{
	return expect_type(c, n->list.items[i], want, "argument");
}

static struct type *
check_builtin(struct checker *c, struct node *n, int b)
{
	struct checked *o = c->out;
	struct node **args = n->list.items;
	struct type *t, *u;

	switch (b) {
	case B_PRINT: case B_PRINTLN: case B_EPRINTLN:
		if (!arity(c, n, b == B_PRINT ? 1 : 0, 1))
			return o->t_error;
		if (n->list.n == 1) {
			t = expr(c, args[0], NULL);
			if (t->kind == TY_UNIT || t->kind == TY_NEVER ||
			    is_err(t))
				break;
			if (t->kind == TY_FUTURE)
				diag_warning(c->d, args[0]->pos, "printing "
				    "a future shows <future>: add `await` to "
				    "print its value");
		}
		return o->t_unit;
	case B_LEN:
		if (!arity(c, n, 1, 1))
			return o->t_error;
		t = expr(c, args[0], NULL);
		if (!is_err(t) && t->kind != TY_ARRAY &&
		    t->kind != TY_STRING)
			diag_error(c->d, args[0]->pos, "len() takes an array "
			    "or a string, not %s", tn(t));
		return o->t_int;
	case B_PUSH:
		if (!arity(c, n, 2, 2))
			return o->t_error;
		t = expr(c, args[0], NULL);
		if (is_err(t)) {
			expr(c, args[1], NULL);
			return o->t_unit;
		}
		if (t->kind != TY_ARRAY) {
			diag_error(c->d, args[0]->pos, "push() takes an "
			    "array, not %s", tn(t));
			expr(c, args[1], NULL);
			return o->t_unit;
		}
		arg(c, n, 1, t->elem);
		return o->t_unit;
	case B_POP:
		if (!arity(c, n, 1, 1))
			return o->t_error;
		t = expr(c, args[0], NULL);
		if (is_err(t))
			return t;
		if (t->kind != TY_ARRAY) {
			diag_error(c->d, args[0]->pos, "pop() takes an array, "
			    "not %s", tn(t));
			return o->t_error;
		}
		return t->elem;
	case B_ABS:
		if (!arity(c, n, 1, 1))
			return o->t_error;
		t = expr(c, args[0], NULL);
		if (!is_err(t) && !is_numeric(t)) {
			diag_error(c->d, args[0]->pos, "abs() takes int or "
			    "float, not %s", tn(t));
			return o->t_error;
		}
		return t;
	case B_MIN: case B_MAX:
		if (!arity(c, n, 2, 2))
			return o->t_error;
		t = expr(c, args[0], NULL);
		u = expr(c, args[1], NULL);
		if (is_err(t) || is_err(u))
			return o->t_error;
		if (!is_numeric(t) || t != u) {
			diag_error(c->d, n->pos, "%s() takes two ints or two "
			    "floats, not %s and %s", n->name, tn(t), tn(u));
			return o->t_error;
		}
		return t;
	case B_SQRT:
		if (!arity(c, n, 1, 1))
			return o->t_error;
		arg(c, n, 0, o->t_float);
		return o->t_float;
	case B_ASSERT:
		if (!arity(c, n, 1, 2))
			return o->t_error;
		arg(c, n, 0, o->t_bool);
		if (n->list.n == 2)
			arg(c, n, 1, o->t_string);
		return o->t_unit;
	case B_PANIC:
		if (!arity(c, n, 1, 1))
			return o->t_error;
		t = expr(c, args[0], NULL);
		if (contains_future(t))
			diag_error(c->d, args[0]->pos, "panic() message is "
			    "%s: add `await`", tn(t));
		return o->t_never;
	case B_NOW_MS:
		if (!arity(c, n, 0, 0))
			return o->t_error;
		return o->t_int;
	case B_SLEEP:
		if (!arity(c, n, 1, 1))
			return o->t_error;
		arg(c, n, 0, o->t_int);
		return compound(c, TY_FUTURE, o->t_unit);
	case B_YIELD_NOW:
		if (!arity(c, n, 0, 0))
			return o->t_error;
		return compound(c, TY_FUTURE, o->t_unit);
	case B_SPAWN:
		if (!arity(c, n, 1, 1))
			return o->t_error;
		t = expr(c, args[0], NULL);
		if (is_err(t))
			return t;
		if (t->kind != TY_FUTURE) {
			diag_error(c->d, args[0]->pos, "spawn() takes a "
			    "future (call an async fn), not %s", tn(t));
			return o->t_error;
		}
		return compound(c, TY_TASK, t->elem);
	case B_CANCEL:
		if (!arity(c, n, 1, 1))
			return o->t_error;
		t = expr(c, args[0], NULL);
		if (!is_err(t) && t->kind != TY_TASK)
			diag_error(c->d, args[0]->pos, "cancel() takes a "
			    "task (from spawn), not %s", tn(t));
		return o->t_bool;
	case B_JOIN_ALL:
		if (!arity(c, n, 1, 1))
			return o->t_error;
		t = expr(c, args[0], NULL);
		if (is_err(t))
			return t;
		if (t->kind != TY_ARRAY || t->elem->kind != TY_TASK) {
			diag_error(c->d, args[0]->pos, "join_all() takes an "
			    "array of tasks, not %s", tn(t));
			return o->t_error;
		}
		return compound(c, TY_FUTURE,
		    compound(c, TY_ARRAY, t->elem->elem));
	case B_AWAIT_TIMEOUT:
		if (!arity(c, n, 3, 3))
			return o->t_error;
		t = expr(c, args[0], NULL);
		arg(c, n, 1, o->t_int);
		if (is_err(t)) {
			expr(c, args[2], NULL);
			return t;
		}
		if (t->kind != TY_FUTURE && t->kind != TY_TASK) {
			diag_error(c->d, args[0]->pos, "await_timeout() takes "
			    "a future or a task, not %s", tn(t));
			expr(c, args[2], NULL);
			return o->t_error;
		}
		arg(c, n, 2, t->elem);
		return compound(c, TY_FUTURE, t->elem);
	}
	return o->t_unit;
}

static struct type *
check_call(struct checker *c, struct node *n)
{
	struct sym *s = find_global(c, n->name);
	struct type *r;

	if (s == NULL) {
		if (find_local(c, n->name) != NULL)
			diag_error(c->d, n->pos, "'%s' is a variable, not a "
			    "function", n->name);
		else
			diag_error(c->d, n->pos, "unknown function '%s'",
			    n->name);
		for (uint32_t i = 0; i < n->list.n; i++)
			expr(c, n->list.items[i], NULL);
		return set(n, c->out->t_error);
	}
	n->sym = s;
	if (s->kind == SYM_BUILTIN)
		return set(n, check_builtin(c, n, s->builtin));
	if (!arity(c, n, s->nparams, s->nparams))
		return set(n, c->out->t_error);
	for (uint32_t i = 0; i < n->list.n; i++)
		arg(c, n, i, s->params[i]);
	r = s->kind == SYM_FN ? fn_result(c, s, n->pos) : s->type;
	if (is_err(r))
		return set(n, r);
	if (s->is_async)
		r = compound(c, TY_FUTURE, r);
	return set(n, r);
}

/* Join the types of two branches; NULL when they differ. */
static struct type *
join(struct type *x, struct type *y)
{
	if (is_err(x))
		return x;
	if (is_err(y))
		return y;
	if (x->kind == TY_NEVER)
		return y;
	if (y->kind == TY_NEVER)
		return x;
	return x == y ? x : NULL;
}

static struct type *
check_if(struct checker *c, struct node *n, struct type *want)
{
	struct type *t, *e, *j;

	expect_type(c, n->a, c->out->t_bool, "if condition");
	t = block(c, n->b, want);
	if (n->c == NULL) {
		discarded(c, n->b, t);
		return set(n, c->out->t_unit);
	}
	e = n->c->kind == N_IF ? check_if(c, n->c, want) :
	    block(c, n->c, want);
	if ((j = join(t, e)) == NULL) {
		if (want != NULL && want->kind == TY_UNIT)
			return set(n, c->out->t_unit);
		diag_error(c->d, n->pos, "if and else have different types: "
		    "%s and %s", tn(t), tn(e));
		return set(n, c->out->t_error);
	}
	return set(n, j);
}

/* Check a loop body. `loop { }` without a break never finishes: never. */
static struct type *
loop_body(struct checker *c, struct node *n)
{
	bool outer = c->fx->broke, broke;

	c->fx->loops++;
	c->fx->broke = false;
	discarded(c, n->b, block(c, n->b, c->out->t_unit));
	broke = c->fx->broke;
	c->fx->broke = outer;
	c->fx->loops--;
	return n->kind == N_LOOP && !broke ? c->out->t_never : c->out->t_unit;
}

static struct type *
check_for(struct checker *c, struct node *n)
{
	struct sym *saved = c->fx->scope;
	struct type *t;

	if (n->kind == N_FOR_RANGE) {
		expect_type(c, n->a, c->out->t_int, "range start");
		expect_type(c, n->c, c->out->t_int, "range end");
		t = c->out->t_int;
	} else {
		t = expr(c, n->a, NULL);
		if (!is_err(t) && t->kind != TY_ARRAY) {
			diag_error(c->d, n->a->pos, "cannot iterate over %s: "
			    "use an array or a range a..b", tn(t));
			t = c->out->t_error;
		} else if (!is_err(t))
			t = t->elem;
	}
	n->sym = declare_local(c, n->name, n->pos, t, false);
	loop_body(c, n);
	c->fx->scope = saved;
	return set(n, c->out->t_unit);
}

static struct type *
check_return(struct checker *c, struct node *n)
{
	struct fn_ctx *fx = c->fx;
	struct type *t;

	if (fx->ret != NULL) {
		if (n->a == NULL) {
			if (!fits(c->out->t_unit, fx->ret))
				diag_error(c->d, n->pos, "'return' without a "
				    "value in a function that returns %s",
				    tn(fx->ret));
		} else
			expect_type(c, n->a, fx->ret, "return value");
		return set(n, c->out->t_never);
	}
	t = n->a != NULL ? expr(c, n->a, NULL) : c->out->t_unit;
	if (fx->inferred == NULL || fx->inferred->kind == TY_NEVER)
		fx->inferred = t;
	else if (join(fx->inferred, t) == NULL)
		diag_error(c->d, n->pos, "this returns %s, but an earlier "
		    "return gave %s", tn(t), tn(fx->inferred));
	return set(n, c->out->t_never);
}

static struct type *
check_let(struct checker *c, struct node *n)
{
	struct type *want = n->texpr != NULL ? resolve(c, n->texpr) : NULL;
	struct type *t;

	if (want != NULL)
		t = expect_type(c, n->a, want, "let initialiser");
	else {
		t = expr(c, n->a, NULL);
		if (t->kind == TY_NEVER)
			t = c->out->t_unit;
	}
	if (want != NULL && !is_err(want))
		t = want;
	n->sym = declare_local(c, n->name, n->pos, t, n->is_mut);
	return set(n, c->out->t_unit);
}

static struct type *
expr_kind(struct checker *c, struct node *n, struct type *want)
{
	struct checked *o = c->out;

	switch (n->kind) {
	case N_INT:	return set(n, o->t_int);
	case N_FLOAT:	return set(n, o->t_float);
	case N_STRING:	return set(n, o->t_string);
	case N_BOOL:	return set(n, o->t_bool);
	case N_UNIT:	return set(n, o->t_unit);
	case N_NAME:	return check_name(c, n);
	case N_ARRAY:	return check_array(c, n, want);
	case N_UNARY:	return check_unary(c, n);
	case N_BINARY:	return check_binary(c, n);
	case N_ASSIGN:	return check_assign(c, n);
	case N_CALL:	return check_call(c, n);
	case N_INDEX:	return check_index(c, n);
	case N_AWAIT:	return check_await(c, n);
	case N_CAST:	return check_cast(c, n);
	case N_BLOCK:	return block(c, n, want);
	case N_IF:	return check_if(c, n, want);
	case N_WHILE:
		expect_type(c, n->a, o->t_bool, "while condition");
		return set(n, loop_body(c, n));
	case N_LOOP:
		return set(n, loop_body(c, n));
	case N_FOR_RANGE:
	case N_FOR_EACH:
		return check_for(c, n);
	case N_BREAK:
	case N_CONTINUE:
		if (c->fx->loops == 0)
			diag_error(c->d, n->pos, "'%s' outside a loop",
			    n->kind == N_BREAK ? "break" : "continue");
		if (n->kind == N_BREAK)
			c->fx->broke = true;
		return set(n, o->t_never);
	case N_RETURN:	return check_return(c, n);
	case N_LET:	return check_let(c, n);
	case N_EXPR_STMT:
		return set(n, expr(c, n->a, want));
	}
	return set(n, o->t_error);
}

/*
 * Check the expression n (want: the type the context expects, or NULL).
 * The parser caps nesting, but `1 + 1 + ...` is a left-deep tree of any
 * depth; checking (and later emission) recurse over it, so depth is capped
 * here, before anything else walks the tree.
 */
static struct type *
expr(struct checker *c, struct node *n, struct type *want)
{
	struct type *t;

	if (n == NULL)
		return c->out->t_error;
	if (c->too_deep)
		return set(n, c->out->t_error);
	if (c->depth >= CHECK_DEPTH_MAX) {
		diag_error(c->d, n->pos, "expression too deep: more than %u "
		    "nested operations (split it with `let`)",
		    CHECK_DEPTH_MAX);
		c->too_deep = true;	/* report once; the rest is skipped */
		return set(n, c->out->t_error);
	}
	c->depth++;
	t = expr_kind(c, n, want);
	c->depth--;
	return t;
}

/*
 * A block's type is its last expression's (when it has no ';'), never if
 * any statement never finishes, else (). Locals end with the block.
 */
static struct type *
block(struct checker *c, struct node *n, struct type *want)
{
	struct sym *saved = c->fx->scope;
	struct type *t = c->out->t_unit;
	bool diverges = false;

	if (n == NULL)
		return c->out->t_error;
	for (uint32_t i = 0; i < n->list.n; i++) {
		struct node *s = n->list.items[i];
		bool last = i + 1 == n->list.n;
		struct type *st;

		if (s == NULL)
			continue;
		st = expr(c, s, last && n->has_value ? want : NULL);
		if (st->kind == TY_NEVER)
			diverges = true;
		if (last && n->has_value)
			t = st;
		else
			unused_future(c, s, st);
	}
	c->fx->scope = saved;
	if (diverges && (t->kind == TY_UNIT || !n->has_value))
		t = c->out->t_never;
	return set(n, t);
}

/* Functions */

/* Check the body of the function s (user fn or the top level). */
static bool
check_fn(struct checker *c, struct sym *s)
{
	struct fn_decl *f = s->fn;
	struct fn_ctx fx, *saved = c->fx;
	unsigned nerr = c->d->nerrors;
	struct type *body;

	memset(&fx, 0, sizeof(fx));
	fx.fn = s;
	fx.ret = f->ret != NULL ? s->type : NULL;
	fx.is_async = s->is_async;
	c->fx = &fx;
	s->state = 1;
	for (uint32_t i = 0; i < f->nparams; i++) {
		struct sym *ps = declare_local(c, f->params[i].name,
		    f->params[i].pos, s->params[i], false);

		if (ps != NULL)
			ps->reg = (int)i;	/* parameter i is R[i] */
	}
	body = block(c, f->body, fx.ret);
	/* nothing runs a future the entry ends with */
	if (s == c->entry && f->body->has_value)
		unused_future(c, f->body->list.items[f->body->list.n - 1],
		    body);
	if (fx.ret != NULL) {
		if (!fits(body, fx.ret) && f->body->has_value)
			diag_error(c->d, f->body->list.items[
			    f->body->list.n - 1]->pos, "'%s' returns %s, but "
			    "its body ends with a value of type %s", f->name,
			    tn(fx.ret), tn(body));
		else if (!fits(body, fx.ret) && fx.ret->kind != TY_UNIT)
			diag_error(c->d, f->pos, "'%s' must return %s, but "
			    "its body can end without a value", f->name,
			    tn(fx.ret));
	} else {
		struct type *r = body;

		if (r->kind == TY_NEVER)
			r = fx.inferred != NULL ? fx.inferred : c->out->t_unit;
		else if (fx.inferred != NULL && join(fx.inferred, r) == NULL)
			diag_error(c->d, f->pos, "'%s' returns %s in one "
			    "place and %s in another: declare '-> TYPE'",
			    f->name, tn(fx.inferred), tn(r));
		if (r->kind == TY_NEVER)
			r = c->out->t_unit;
		s->type = r;
	}
	s->state = 2;
	c->fx = saved;
	return c->d->nerrors == nerr;
}

static bool
declare_fn(struct checker *c, struct fn_decl *f, uint32_t index)
{
	struct sym *s = find_global(c, f->name);

	if (s != NULL) {
		if (s->kind == SYM_BUILTIN)
			diag_error(c->d, f->pos, "'%s' is a builtin function "
			    "and cannot be redefined", f->name);
		else
			diag_error(c->d, f->pos, "'%s' is already defined at "
			    "line %u", f->name, s->pos.line);
		return false;
	}
	if ((s = sym_new(c, SYM_FN, f->name, f->pos)) == NULL)
		return false;
	s->fn = f;
	s->index = index;
	s->is_async = f->is_async;
	s->nparams = f->nparams;
	if (f->nparams > 0 &&
	    (s->params = arena_alloc(c->a, f->nparams * sizeof(*s->params)))
	    == NULL)
		return false;
	for (uint32_t i = 0; i < f->nparams; i++) {
		s->params[i] = resolve(c, f->params[i].texpr);
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(f->params[j].name, f->params[i].name) == 0) {
				diag_error(c->d, f->params[i].pos, "parameter "
				    "'%s' is declared twice", f->params[i].name);
				break;
			}
	}
	if (f->ret != NULL)
		s->type = resolve(c, f->ret);
	f->sym = s;
	return add_global(c, s);
}

static bool
ffi_type_ok(const struct texpr *tx, bool is_ret)
{
	static const char *const ok[] = {
		"int", "i32", "i64", "float", "f64", "bool", "string",
		"String", "ptr",
	};

	if (tx == NULL)
		return is_ret;
	if (tx->kind == TX_UNIT)
		return is_ret;
	if (tx->kind != TX_NAME)
		return false;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(tx->name, ok[i]) == 0)
			return true;
	return false;
}

static void
declare_extern(struct checker *c, struct extern_fn *e, uint32_t index)
{
	struct sym *s = find_global(c, e->name);

	if (s != NULL) {
		diag_error(c->d, e->pos, "'%s' is already defined%s", e->name,
		    s->kind == SYM_BUILTIN ? " as a builtin" : "");
		return;
	}
	if ((s = sym_new(c, SYM_EXTERN, e->name, e->pos)) == NULL)
		return;
	s->ext = e;
	s->index = index;
	s->is_async = true;		/* runs in a worker: awaited */
	s->nparams = e->nparams;
	if (e->nparams > 0 &&
	    (s->params = arena_alloc(c->a, e->nparams * sizeof(*s->params)))
	    == NULL)
		return;
	for (uint32_t i = 0; i < e->nparams; i++) {
		struct texpr *tx = e->params[i].texpr;

		/* an unknown type is reported once, by resolve() */
		s->params[i] = resolve(c, tx);
		if (!is_err(s->params[i]) && !ffi_type_ok(tx, false))
			diag_error(c->d, tx != NULL ? tx->pos : e->pos,
			    "extern parameter '%s' must be int, i32, float, "
			    "bool, string or ptr", e->params[i].name);
	}
	s->type = resolve(c, e->ret);
	if (!is_err(s->type) && !ffi_type_ok(e->ret, true))
		diag_error(c->d, e->ret->pos, "extern '%s' must return int, "
		    "i32, float, bool, string, ptr or ()", e->name);
	e->sym = s;
	add_global(c, s);
}

static bool
init(struct checker *c)
{
	struct checked *o = c->out;

	if ((o->t_unit = basic(c, TY_UNIT)) == NULL ||
	    (o->t_int = basic(c, TY_INT)) == NULL ||
	    (o->t_float = basic(c, TY_FLOAT)) == NULL ||
	    (o->t_bool = basic(c, TY_BOOL)) == NULL ||
	    (o->t_string = basic(c, TY_STRING)) == NULL ||
	    (o->t_ptr = basic(c, TY_PTR)) == NULL ||
	    (o->t_never = basic(c, TY_NEVER)) == NULL ||
	    (o->t_error = basic(c, TY_ERROR)) == NULL)
		return false;
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		struct sym *s = sym_new(c, SYM_BUILTIN, builtins[i].name,
		    (struct pos){ 0, 0 });

		if (s == NULL)
			return false;
		s->builtin = (uint8_t)builtins[i].b;
		if (!add_global(c, s))
			return false;
	}
	return true;
}

/* Make the entry: the top-level statements, else main (always async). */
static bool
entry(struct checker *c)
{
	struct program *p = c->p;
	struct checked *o = c->out;
	struct sym *s;

	if (p->top != NULL) {
		struct fn_decl *f = arena_alloc(c->a, sizeof(*f));

		if (f == NULL || (s = sym_new(c, SYM_FN, TOP_LEVEL_NAME,
		    p->top_pos)) == NULL)
			return false;
		f->name = TOP_LEVEL_NAME;
		f->pos = p->top_pos;
		f->is_async = true;
		f->body = p->top;
		f->sym = s;
		s->fn = f;
		s->is_async = true;
		s->index = o->nfns;
		o->top = f;
		o->fns[o->nfns++] = s;
		o->entry = s->index;
		c->entry = s;
		return true;
	}
	s = find_global(c, "main");
	if (s == NULL || s->kind != SYM_FN) {
		diag_error(c->d, (struct pos){ 0, 0 }, "no entry point: write "
		    "top-level statements or a function 'main'");
		return true;
	}
	if (s->nparams != 0)
		diag_error(c->d, s->pos, "'main' must take no parameters");
	s->is_async = true;		/* the entry always runs as a task */
	s->fn->is_async = true;
	o->entry = s->index;
	c->entry = s;
	return true;
}

struct checked *
check_program(struct program *p, struct arena *a, struct diags *d)
{
	struct checker c = { .a = a, .d = d, .p = p };
	struct checked *o;

	if ((o = c.out = arena_alloc(a, sizeof(*o))) == NULL || !init(&c))
		return NULL;
	if ((o->fns = arena_alloc(a, (p->nfns + 1) * sizeof(*o->fns))) ==
	    NULL || (p->nexterns > 0 && (o->externs = arena_alloc(a,
	    p->nexterns * sizeof(*o->externs))) == NULL))
		return NULL;
	for (uint32_t i = 0; i < p->nexterns; i++)
		declare_extern(&c, p->externs[i], i);
	for (uint32_t i = 0; i < p->nexterns; i++)
		o->externs[o->nexterns++] = p->externs[i]->sym;
	if (p->nfns >= MODULE_FUNCTIONS_MAX || p->nexterns > MODULE_EXTERNS_MAX) {
		diag_error(d, (struct pos){ 0, 0 }, "%u functions and %u "
		    "externs: a program may have at most %u of each",
		    p->nfns, p->nexterns, MODULE_FUNCTIONS_MAX - 1);
		return NULL;
	}
	for (uint32_t i = 0; i < p->nfns; i++)
		if (declare_fn(&c, p->fns[i], o->nfns))
			o->fns[o->nfns++] = p->fns[i]->sym;
	if (!entry(&c))
		return NULL;
	for (uint32_t i = 0; i < o->nfns; i++)
		if (o->fns[i]->state == 0)
			check_fn(&c, o->fns[i]);
	if (a->failed || d->nerrors > 0)
		return NULL;
	return o;
}
