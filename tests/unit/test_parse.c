/*
 * Parser tests: every grammar form, checked by printing the AST as an
 * s-expression; precedence and associativity; the newline rules; error
 * messages with exact positions; recovery (several errors per run, no
 * cascades); the nesting limit; and no crash on random input.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "check.h"
#include "diag.h"
#include "lex.h"
#include "parse.h"

/* A bounded text buffer that remembers its length. */
struct buf {
	char s[1 << 15];
	size_t n;
};

static struct buf out;			/* the last parse, printed */
static struct buf errs;			/* its errors, "L:C: MSG\n" each */
static unsigned nerrs;			/* how many errors it had */
static struct program *prog;		/* valid until the next parse */
static struct arena arena;
static struct diags diags;

static void
put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (b->n + 1 >= sizeof(b->s))
		return;
	va_start(ap, fmt);
	r = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		b->n += (size_t)r < sizeof(b->s) - b->n ? (size_t)r :
		    sizeof(b->s) - b->n - 1;
}

static void
put_type(struct buf *b, const struct texpr *t)
{
	if (t == NULL) {
		put(b, "NULL");
		return;
	}
	switch (t->kind) {
	case TX_NAME:
		put(b, "%s", t->name);
		break;
	case TX_UNIT:
		put(b, "()");
		break;
	case TX_ARRAY:
		put(b, "[");
		put_type(b, t->elem);
		put(b, "]");
		break;
	case TX_FUTURE:
	case TX_TASK:
		put(b, "%s<", t->kind == TX_FUTURE ? "Future" : "Task");
		put_type(b, t->elem);
		put(b, ">");
		break;
	}
}

/* The operator's spelling, without lex_tok_name's quotes. */
static void
put_op(struct buf *b, unsigned op)
{
	const char *name = lex_tok_name(op);

	put(b, "%.*s", (int)strlen(name) - 2, name + 1);
}

static void put_node(struct buf *b, const struct node *n);

static void
put_list(struct buf *b, const struct node_list *l)
{
	for (uint32_t i = 0; i < l->n; i++) {
		put(b, i > 0 ? " " : "");
		put_node(b, l->items[i]);
	}
}

/*
 * Blocks print as {a b}, with a trailing "v" when they have a value; an
 * expression statement with ';' prints as "a;".
 */
static void
put_node(struct buf *b, const struct node *n)
{
	if (n == NULL) {
		put(b, "NULL");
		return;
	}
	switch (n->kind) {
	case N_INT:
		put(b, "%lld", (long long)n->ival);
		break;
	case N_FLOAT:
		put(b, "%g", n->fval);
		break;
	case N_STRING:
		put(b, "\"%s\"", n->str);
		break;
	case N_BOOL:
		put(b, n->ival ? "true" : "false");
		break;
	case N_UNIT:
		put(b, "()");
		break;
	case N_NAME:
		put(b, "%s", n->name);
		break;
	case N_ARRAY:
		put(b, "[");
		put_list(b, &n->list);
		put(b, "]");
		break;
	case N_UNARY:
		put(b, "(");
		put_op(b, n->op);
		put(b, " ");
		put_node(b, n->a);
		put(b, ")");
		break;
	case N_BINARY:
	case N_ASSIGN:
		put(b, "(");
		put_op(b, n->kind == N_ASSIGN ? TOK_EQ : n->op);
		put(b, " ");
		put_node(b, n->a);
		put(b, " ");
		put_node(b, n->b);
		put(b, ")");
		break;
	case N_CALL:
		put(b, "(call %s%s", n->name, n->list.n > 0 ? " " : "");
		put_list(b, &n->list);
		put(b, ")");
		break;
	case N_INDEX:
		put(b, "(index ");
		put_node(b, n->a);
		put(b, " ");
		put_node(b, n->b);
		put(b, ")");
		break;
	case N_AWAIT:
		put(b, "(await ");
		put_node(b, n->a);
		put(b, ")");
		break;
	case N_CAST:
		put(b, "(as ");
		put_node(b, n->a);
		put(b, " ");
		put_type(b, n->texpr);
		put(b, ")");
		break;
	case N_BLOCK:
		put(b, "{");
		put_list(b, &n->list);
		put(b, n->has_value ? "}v" : "}");
		break;
	case N_IF:
		put(b, "(if ");
		put_node(b, n->a);
		put(b, " ");
		put_node(b, n->b);
		if (n->c != NULL) {
			put(b, " ");
			put_node(b, n->c);
		}
		put(b, ")");
		break;
	case N_WHILE:
		put(b, "(while ");
		put_node(b, n->a);
		put(b, " ");
		put_node(b, n->b);
		put(b, ")");
		break;
	case N_LOOP:
		put(b, "(loop ");
		put_node(b, n->b);
		put(b, ")");
		break;
	case N_FOR_RANGE:
		put(b, "(for %s (range ", n->name);
		put_node(b, n->a);
		put(b, " ");
		put_node(b, n->c);
		put(b, ") ");
		put_node(b, n->b);
		put(b, ")");
		break;
	case N_FOR_EACH:
		put(b, "(for %s ", n->name);
		put_node(b, n->a);
		put(b, " ");
		put_node(b, n->b);
		put(b, ")");
		break;
	case N_BREAK:
		put(b, "break");
		break;
	case N_CONTINUE:
		put(b, "continue");
		break;
	case N_RETURN:
		put(b, "(return");
		if (n->a != NULL) {
			put(b, " ");
			put_node(b, n->a);
		}
		put(b, ")");
		break;
	case N_LET:
		put(b, "(let %s%s", n->is_mut ? "mut " : "", n->name);
		if (n->texpr != NULL) {
			put(b, ":");
			put_type(b, n->texpr);
		}
		put(b, " ");
		put_node(b, n->a);
		put(b, ")");
		break;
	case N_EXPR_STMT:
		put_node(b, n->a);
		put(b, n->has_semi ? ";" : "");
		break;
	default:
		put(b, "?%u", n->kind);
		break;
	}
}

static void
put_params(struct buf *b, const struct param *ps, uint32_t n,
    const struct texpr *ret)
{
	put(b, "(");
	for (uint32_t i = 0; i < n; i++) {
		put(b, "%s%s:", i > 0 ? " " : "", ps[i].name);
		put_type(b, ps[i].texpr);
	}
	put(b, ")");
	if (ret != NULL) {
		put(b, " -> ");
		put_type(b, ret);
	}
}

static void
put_program(struct buf *b, const struct program *p)
{
	const char *sep = "";

	for (uint32_t i = 0; i < p->nfns; i++) {
		const struct fn_decl *f = p->fns[i];

		put(b, "%s(%sfn %s ", sep, f->is_async ? "async " : "",
		    f->name);
		put_params(b, f->params, f->nparams, f->ret);
		put(b, " ");
		put_node(b, f->body);
		put(b, ")");
		sep = " ";
	}
	for (uint32_t i = 0; i < p->nexterns; i++) {
		const struct extern_fn *x = p->externs[i];

		put(b, "%s(extern \"%s\" %s ", sep, x->library, x->name);
		put_params(b, x->params, x->nparams, x->ret);
		put(b, ")");
		sep = " ";
	}
	if (p->top != NULL) {
		put(b, "%s", sep);
		put_node(b, p->top);
	}
}

/* Parse len bytes of src; returns the program printed, errors in errs. */
static const char *
parsen(const char *src, size_t len)
{
	struct lexer lx;

	arena_free(&arena);
	arena_init(&arena, 0);
	diag_init(&diags, &arena, "t.script", src, len);
	lex_init(&lx, src, len, &arena, &diags);
	out.n = errs.n = 0;
	out.s[0] = errs.s[0] = '\0';
	prog = parse_program(&lx, &arena, &diags);
	CHECK(prog != NULL);
	if (prog != NULL)
		put_program(&out, prog);
	nerrs = diags.nerrors;
	for (unsigned i = 0; i < diags.n; i++)
		put(&errs, "%u:%u: %s\n", diags.items[i].pos.line,
		    diags.items[i].pos.col, diags.items[i].msg);
	return out.s;
}

static const char *
parse(const char *src)
{
	return parsen(src, strlen(src));
}

/* Parse src as top-level statements and print just them, or the errors. */
static const char *
top(const char *src)
{
	parse(src);
	if (nerrs > 0)
		return errs.s;
	out.n = 0;
	out.s[0] = '\0';
	if (prog != NULL && prog->top != NULL)
		put_list(&out, &prog->top->list);
	return out.s;
}

/* The first node of the first top-level statement. */
static const struct node *
first(void)
{
	if (prog == NULL || prog->top == NULL || prog->top->list.n == 0)
		return NULL;
	return prog->top->list.items[0];
}

static void
test_literals(void)
{
	CHECK_STR_EQ(top("42"), "42");
	CHECK_STR_EQ(top("1.5"), "1.5");
	CHECK_STR_EQ(top("\"hi\""), "\"hi\"");
	CHECK_STR_EQ(top("true; false"), "true; false");
	CHECK_STR_EQ(top("()"), "()");
	CHECK_STR_EQ(top("x"), "x");
	CHECK_STR_EQ(top("(x)"), "x");
	CHECK_STR_EQ(top("[]"), "[]");
	CHECK_STR_EQ(top("[1, 2, 3]"), "[1 2 3]");
	CHECK_STR_EQ(top("[1, [2], [],]"), "[1 [2] []]");
	CHECK_STR_EQ(top("[\n1,\n2\n]"), "[1 2]");
	CHECK_STR_EQ(top("break\ncontinue"), "break continue");
	CHECK_STR_EQ(top("-9223372036854775808"), "-9223372036854775808");
	CHECK_INT_EQ(first()->a->kind, N_INT);
	CHECK_INT_EQ(first()->a->pos.col, 1);
	CHECK_STR_EQ(top("- 9223372036854775808"), "-9223372036854775808");
	CHECK_STR_EQ(top("-9223372036854775807"), "(- 9223372036854775807)");
	CHECK_STR_EQ(top("x - 9223372036854775808"), "1:5: integer literal "
	    "too large (the maximum is 9223372036854775807)\n");
	CHECK_STR_EQ(top("-(9223372036854775808)"), "1:3: integer literal "
	    "too large (the maximum is 9223372036854775807)\n");
	CHECK_STR_EQ(top("9223372036854775808"), "1:1: integer literal too "
	    "large (the maximum is 9223372036854775807)\n");
}

static void
test_precedence(void)
{
	CHECK_STR_EQ(top("1 + 2 * 3"), "(+ 1 (* 2 3))");
	CHECK_STR_EQ(top("(1 + 2) * 3"), "(* (+ 1 2) 3)");
	CHECK_STR_EQ(top("1 - 2 - 3"), "(- (- 1 2) 3)");
	CHECK_STR_EQ(top("a / b % c * d"), "(* (% (/ a b) c) d)");
	CHECK_STR_EQ(top("a + b < c * d"), "(< (+ a b) (* c d))");
	CHECK_STR_EQ(top("a == b < c"), "(== a (< b c))");
	CHECK_STR_EQ(top("a < b == c >= d"), "(== (< a b) (>= c d))");
	CHECK_STR_EQ(top("a || b && c || d"), "(|| (|| a (&& b c)) d)");
	CHECK_STR_EQ(top("a != b && c <= d"), "(&& (!= a b) (<= c d))");
	CHECK_STR_EQ(top("!a && -b > c"), "(&& (! a) (> (- b) c))");
	CHECK_STR_EQ(top("- - x"), "(- (- x))");
	CHECK_STR_EQ(top("-x as float"), "(as (- x) float)");
	CHECK_STR_EQ(top("a * b as float"), "(* a (as b float))");
	CHECK_STR_EQ(top("x as int as string"), "(as (as x int) string)");
	CHECK_STR_EQ(top("x as int < y"), "(< (as x int) y)");
	CHECK_STR_EQ(top("-a[i]"), "(- (index a i))");
	CHECK_STR_EQ(top("a[i][j]"), "(index (index a i) j)");
	CHECK_STR_EQ(top("f(x)[0]"), "(index (call f x) 0)");
	CHECK_STR_EQ(top("f()"), "(call f)");
	CHECK_STR_EQ(top("f(1, g(2), h(),)"), "(call f 1 (call g 2) (call h))");
	CHECK_STR_EQ(top("await f(await g())"),
	    "(await (call f (await (call g))))");
	CHECK_STR_EQ(top("await x + 1"), "(+ (await x) 1)");
	CHECK_STR_EQ(top("!await f()"), "(! (await (call f)))");
	CHECK_STR_EQ(top("a = b = c + 1"), "(= a (= b (+ c 1)))");
	CHECK_STR_EQ(top("a[i + 1] = x || y"),
	    "(= (index a (+ i 1)) (|| x y))");
	CHECK_STR_EQ(top("(a) = 1"), "(= a 1)");
}

static void
test_positions(void)
{
	const struct node *s, *e;

	parse("  a + b * c");
	s = first();
	CHECK_INT_EQ(s->pos.col, 3);		/* statement: first token */
	e = s->a;
	CHECK_INT_EQ(e->pos.col, 5);		/* binary: the operator */
	CHECK_INT_EQ(e->b->pos.col, 9);
	CHECK_INT_EQ(e->a->pos.col, 3);
	parse("x[1] = f(2)");
	e = first()->a;
	CHECK_INT_EQ(e->kind, N_ASSIGN);
	CHECK_INT_EQ(e->pos.col, 6);		/* assignment: the '=' */
	CHECK_INT_EQ(e->a->pos.col, 1);		/* index: its first token */
	CHECK_INT_EQ(e->b->pos.col, 8);		/* call: the name */
	parse("\n\n  (y) as float");
	CHECK_INT_EQ(prog->top_pos.line, 3);
	CHECK_INT_EQ(prog->top_pos.col, 3);
	CHECK_INT_EQ(first()->a->kind, N_CAST);
	CHECK_INT_EQ(first()->a->pos.col, 3);
	CHECK_INT_EQ(first()->a->texpr->pos.col, 10);
	parse("fn f(a: int) {}\n  let x = 1");
	CHECK_INT_EQ(prog->fns[0]->pos.col, 4);
	CHECK_INT_EQ(prog->fns[0]->params[0].pos.col, 6);
	CHECK_INT_EQ(prog->fns[0]->params[0].texpr->pos.col, 9);
	CHECK_INT_EQ(prog->top_pos.line, 2);
	CHECK_INT_EQ(prog->top_pos.col, 3);
	parse("");
	CHECK(prog->top == NULL);
	CHECK_INT_EQ(prog->nfns, 0);
}

static void
test_comparison_chain(void)
{
	CHECK_STR_EQ(top("a < b < c"),
	    "1:7: comparison operators cannot be chained\n");
	CHECK_STR_EQ(top("a == b != c"),
	    "1:8: comparison operators cannot be chained\n");
	CHECK_STR_EQ(top("a <= b + 1 > c"),
	    "1:12: comparison operators cannot be chained\n");
	CHECK_STR_EQ(top("(a < b) < c"), "(< (< a b) c)");
}

static void
test_statements(void)
{
	CHECK_STR_EQ(top("let x = 1"), "(let x 1)");
	CHECK_STR_EQ(top("let mut x: int = 1"), "(let mut x:int 1)");
	CHECK_STR_EQ(top("let a: [[string]] = []"), "(let a:[[string]] [])");
	CHECK_STR_EQ(top("let f: Future<Task<()>> = g()"),
	    "(let f:Future<Task<()>> (call g))");
	CHECK_STR_EQ(top("let f: Future<int>= g()"),
	    "(let f:Future<int> (call g))");
	CHECK_STR_EQ(top("x = 1; y = 2;"), "(= x 1); (= y 2);");
	CHECK_INT_EQ(prog->top->list.items[1]->has_semi, true);
	CHECK_INT_EQ(prog->top->has_value, false);
	CHECK_STR_EQ(top("x;;; y"), "x; y");
	CHECK_INT_EQ(prog->top->has_value, true);
	CHECK_STR_EQ(top("let x = 1\nlet y = x"), "(let x 1) (let y x)");
	CHECK_INT_EQ(prog->top->has_value, false);
}

static void
test_newline_rules(void)
{
	CHECK_STR_EQ(top("1 +\n2"), "(+ 1 2)");
	CHECK_STR_EQ(top("a &&\n\n  // c\n  b"), "(&& a b)");
	CHECK_STR_EQ(top("1\n-2"), "1 (- 2)");
	CHECK_STR_EQ(top("x =\n 5"), "(= x 5)");
	CHECK_STR_EQ(top("let x =\n 5"), "(let x 5)");
	CHECK_STR_EQ(top("let x:\n int = 5"), "(let x:int 5)");
	CHECK_STR_EQ(top("f(1,\n2\n)"), "(call f 1 2)");
	CHECK_STR_EQ(top("f(\n(1\n+ 2)\n)"), "(call f (+ 1 2))");
	CHECK_STR_EQ(top("a[\ni\n]"), "(index a i)");
	CHECK_STR_EQ(top("x\n[1]"), "x [1]");
	CHECK_STR_EQ(top("f\n(1)"), "f 1");
	CHECK_STR_EQ(top("x as\nint"), "(as x int)");
	/* A block inside parentheses has statements again. */
	CHECK_STR_EQ(top("f({\n let a = 1\n a\n}, 2)"),
	    "(call f {(let a 1) a}v 2)");
	CHECK_STR_EQ(top("if a\n{ 1 }\nelse\n{ 2 }"), "(if a {1}v {2}v)");
	CHECK_STR_EQ(top("if a { 1 }\n\n// c\nelse if b { 2 }\nelse { 3 }"),
	    "(if a {1}v (if b {2}v {3}v))");
	CHECK_STR_EQ(top("if a { 1 }\nelsewhere"), "(if a {1}v) elsewhere");
	CHECK_STR_EQ(top("let x = if a { 1 }\nelse { 2 }"),
	    "(let x (if a {1}v {2}v))");
	CHECK_STR_EQ(top("x /* a\n b */ y"), "x y");
	CHECK_STR_EQ(top("x + /* a\n b */ y"), "(+ x y)");
}

static void
test_control_flow(void)
{
	CHECK_STR_EQ(top("if a { b }"), "(if a {b}v)");
	CHECK_STR_EQ(top("if a { b } else { c; }"), "(if a {b}v {c;})");
	CHECK_STR_EQ(top("if a {} else if b {} else if c {} else {}"),
	    "(if a {} (if b {} (if c {} {})))");
	CHECK_STR_EQ(top("if x == 1 { 2 } else { 3 } + 1"),
	    "(+ (if (== x 1) {2}v {3}v) 1)");
	CHECK_STR_EQ(top("while i < n { i = i + 1 }"),
	    "(while (< i n) {(= i (+ i 1))}v)");
	CHECK_STR_EQ(top("loop { break }"), "(loop {break}v)");
	CHECK_STR_EQ(top("for i in 0..n { f(i) }"),
	    "(for i (range 0 n) {(call f i)}v)");
	CHECK_STR_EQ(top("for i in a + 1..len(b) * 2 {}"),
	    "(for i (range (+ a 1) (* (call len b) 2)) {})");
	CHECK_STR_EQ(top("for x in xs { continue }"),
	    "(for x xs {continue}v)");
	CHECK_STR_EQ(top("for x in [1, 2] {}"), "(for x [1 2] {})");
	CHECK_STR_EQ(top("{ let x = 1; x }"), "{(let x 1) x}v");
	CHECK_STR_EQ(top("{ 1; }"), "{1;}");
	CHECK_STR_EQ(top("{}"), "{}");
	CHECK_STR_EQ(top("{ {} }"), "{{}}v");
	CHECK_STR_EQ(top("{ while a {} }"), "{(while a {})}v");
	CHECK_STR_EQ(top("{ let a = 1 }"), "{(let a 1)}");
	CHECK_STR_EQ(top("return"), "(return)");
	CHECK_STR_EQ(top("return 1 + 2"), "(return (+ 1 2))");
	CHECK_STR_EQ(top("return\n1"), "(return) 1");
	CHECK_STR_EQ(top("return;"), "(return);");
	CHECK_STR_EQ(top("{ return }"), "{(return)}v");
	CHECK_STR_EQ(top("f(return)"), "(call f (return))");
	CHECK_STR_EQ(top("let x = loop { break }"), "(let x (loop {break}v))");
	CHECK_STR_EQ(top("if { a } { b }"), "(if {a}v {b}v)");
}

static void
test_functions(void)
{
	CHECK_STR_EQ(parse("fn main() {}"), "(fn main () {})");
	CHECK_STR_EQ(parse("fn add(a: int, b: int) -> int { a + b }"),
	    "(fn add (a:int b:int) -> int {(+ a b)}v)");
	CHECK_STR_EQ(parse("async fn f(\n xs: [float],\n t: Task<[int]>,\n) -> "
	    "Future<()> {\n  await g()\n}"),
	    "(async fn f (xs:[float] t:Task<[int]>) -> Future<()> "
	    "{(await (call g))}v)");
	CHECK_INT_EQ(prog->fns[0]->is_async, true);
	CHECK_STR_EQ(parse("fn f() -> () { return; }\nfn g()\n{\n}"),
	    "(fn f () -> () {(return);}) (fn g () {})");
	CHECK_STR_EQ(parse("fn f() -> int {\n  let x = 1\n  x\n}\nf()"),
	    "(fn f () -> int {(let x 1) x}v) {(call f)}v");
	CHECK_STR_EQ(errs.s, "");
	CHECK_STR_EQ(parse("extern \"libm.so.6\" {\n  fn cos(x: float) -> float"
	    "\n  fn sin(x: float) -> float; fn abort()\n}\nfn main() {}"),
	    "(fn main () {}) (extern \"libm.so.6\" cos (x:float) -> float) "
	    "(extern \"libm.so.6\" sin (x:float) -> float) "
	    "(extern \"libm.so.6\" abort ())");
	CHECK_INT_EQ(prog->externs[0]->pos.line, 2);
	CHECK_INT_EQ(prog->externs[0]->pos.col, 6);
	CHECK_STR_EQ(parse("extern \"a\" {}\nextern \"b\"\n{ fn f() }"),
	    "(extern \"b\" f ())");
	CHECK_STR_EQ(errs.s, "");
}

static void
test_errors(void)
{
	static const struct {
		const char *src;
		const char *err;
	} cases[] = {
		{ "f(1 x)", "1:5: expected ')' after arguments, found "
		    "identifier 'x'\n" },
		{ "f(1,", "1:5: expected expression, found end of file\n" },
		{ "[1 2]", "1:4: expected ']' after array elements, found "
		    "integer literal\n" },
		{ "(1, 2)", "1:3: expected ')' after expression, found ','\n" },
		{ "a[1", "1:4: expected ']' after index, found end of file\n" },
		{ "1 2", "1:3: expected newline or ';' after statement, found "
		    "integer literal\n" },
		{ "let = 5", "1:5: expected variable name after 'let', found "
		    "'='\n" },
		{ "let x 5", "1:7: expected '=' in 'let', found integer "
		    "literal\n" },
		{ "let x\n= 5", "1:6: expected '=' in 'let', found newline\n"
		    "2:1: expected expression, found '='\n" },
		{ "let v: Vec<int> = 1", "1:8: unknown generic type 'Vec'\n" },
		{ "let v: = 1", "1:8: expected type, found '='\n" },
		{ "let v: Future<int = 1", "1:19: expected '>' after type "
		    "argument, found '='\n" },
		{ "let v: [int = 1", "1:13: expected ']' after array element "
		    "type, found '='\n" },
		{ "1 = 2", "1:1: cannot assign to this expression\n" },
		{ "f() = 2", "1:1: cannot assign to this expression\n" },
		{ "a + b = 2", "1:1: cannot assign to this expression\n" },
		{ "f(1)(2)", "1:5: only named functions can be called\n" },
		{ "[f](1)", "1:4: only named functions can be called\n" },
		{ "x.len()", "1:2: unexpected '.': Script has no fields or "
		    "methods\n" },
		{ "if x 1", "1:6: expected '{' after if condition, found "
		    "integer literal\n" },
		{ "if x {} else 1", "1:14: expected '{' after 'else', found "
		    "integer literal\n" },
		{ "while x", "1:8: expected '{' after while condition, found "
		    "end of file\n" },
		{ "loop 1", "1:6: expected '{' after 'loop', found integer "
		    "literal\n" },
		{ "for 1 in x {}", "1:5: expected loop variable name after "
		    "'for', found integer literal\n" },
		{ "for i x {}", "1:7: expected 'in' after loop variable, found "
		    "identifier 'x'\n" },
		/* A block is an expression: it is the end of the range. */
		{ "for i in 0.. {}", "1:16: expected '{' before loop body, "
		    "found end of file\n" },
		{ "{ 1", "1:4: expected '}' to close the block at 1:1, found "
		    "end of file\n" },
		{ "fn main() {\n  let x = 1\n", "3:1: expected '}' to close "
		    "the block at 1:11, found end of file\n" },
		{ "}", "1:1: expected expression, found '}'\n" },
		{ "else {}", "1:1: expected expression, found 'else'\n" },
		{ "+ 1", "1:1: expected expression, found '+'\n" },
		{ "fn (", "1:4: expected function name after 'fn', found "
		    "'('\n" },
		{ "fn f", "1:5: expected '(' after function name, found end of "
		    "file\n" },
		{ "fn f(a int) {}", "1:8: expected ':' after parameter name, "
		    "found identifier 'int'\n" },
		{ "fn f(a: int b: int) {}", "1:13: expected ',' or ')' after "
		    "parameter, found identifier 'b'\n" },
		{ "fn f(1) {}", "1:6: expected parameter name, found integer "
		    "literal\n" },
		{ "fn f() -> {}", "1:11: expected type, found '{'\n" },
		{ "fn f() int {}", "1:8: expected '{' before function body, "
		    "found identifier 'int'\n" },
		{ "fn f() {} g()", "1:11: expected newline or ';' after "
		    "statement, found identifier 'g'\n" },
		{ "async let", "1:7: expected 'fn' after 'async', found "
		    "'let'\n" },
		{ "fn main() { fn g() {} }", "1:13: functions can only be "
		    "declared at the top level\n" },
		{ "{ extern \"c\" {} }", "1:3: extern blocks can only be "
		    "declared at the top level\n" },
		{ "extern c {}", "1:8: expected library name string after "
		    "'extern', found identifier 'c'\n" },
		{ "extern \"c\" fn", "1:12: expected '{' after library name, "
		    "found 'fn'\n" },
		{ "extern \"c\" { let x = 1 }", "1:14: expected 'fn' in extern "
		    "block, found 'let'\n" },
		{ "extern \"c\" { fn f() fn g() }", "1:21: expected newline or "
		    "';' after statement, found 'fn'\n" },
		{ "extern \"c\" {\n fn f()\n", "3:1: expected '}' to close the "
		    "extern block at 1:12, found end of file\n" },
		{ "let x = 1 + @", "1:13: unexpected character '@'\n" },
		{ "let s = \"\\q\" + 1", "1:10: invalid escape '\\q' in "
		    "string\n" },
		{ "f(\"abc)\ng()", "1:3: unterminated string (a string must "
		    "end on the line it starts)\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse(cases[i].src);
		if (strcmp(errs.s, cases[i].err) != 0)
			fprintf(stderr, "source: %s\n", cases[i].src);
		CHECK_STR_EQ(errs.s, cases[i].err);
	}
}

static void
test_recovery(void)
{
	/* Several errors in one run, one per bad statement, and the good
	 * statements around them kept. */
	parse("let = 1\nlet y = )\nf(1 2)\nlet ok = 3\n1 +* 2; ok2");
	CHECK_STR_EQ(errs.s,
	    "1:5: expected variable name after 'let', found '='\n"
	    "2:9: expected expression, found ')'\n"
	    "3:5: expected ')' after arguments, found integer literal\n"
	    "5:4: expected expression, found '*'\n");
	CHECK_STR_EQ(out.s, "{(let ok 3) ok2}v");

	/* Inside a block: skip to the end of the statement, not the block. */
	parse("fn main() {\n  let x = )\n  let y = [1, 2 3]\n  y\n}\n"
	    "fn g(a int) { bad stuff }\nfn h() { 1 }");
	CHECK_STR_EQ(errs.s, "2:11: expected expression, found ')'\n"
	    "3:17: expected ']' after array elements, found integer literal\n"
	    "6:8: expected ':' after parameter name, found identifier 'int'\n");
	CHECK_STR_EQ(out.s, "(fn main () {y}v) (fn h () {1}v)");

	/* An error inside parentheses skips to the ')' first. */
	parse("f(a, (b c), d)\ng()");
	CHECK_STR_EQ(errs.s, "1:9: expected ')' after expression, found "
	    "identifier 'c'\n");
	CHECK_STR_EQ(out.s, "{(call g)}v");

	/* A bad statement that ends at '}' leaves the '}' to its block. */
	parse("fn f() { if x { 1 + } }\nfn g() {}");
	CHECK_STR_EQ(errs.s, "1:21: expected expression, found '}'\n");
	CHECK_STR_EQ(out.s, "(fn f () {(if x {})}v) (fn g () {})");

	/* Nested braces in a bad statement are skipped whole; so is the
	 * statement before the error. */
	parse("fn f() {\n  x y { a\n b }\n  z\n}");
	CHECK_STR_EQ(errs.s, "2:5: expected newline or ';' after statement, "
	    "found identifier 'y'\n");
	CHECK_STR_EQ(out.s, "(fn f () {z}v)");

	/* '}' at the top level is one error, then parsing goes on. */
	parse("}\n} }\nx");
	CHECK_STR_EQ(errs.s, "1:1: expected expression, found '}'\n"
	    "2:1: expected expression, found '}'\n");
	CHECK_STR_EQ(out.s, "{x}v");

	/* The lexer's errors are not repeated by the parser. */
	parse("let a = 1 + @\nlet b = \"\\q\"\nlet c = 0b2\nlet d = 4");
	CHECK_STR_EQ(errs.s, "1:13: unexpected character '@'\n"
	    "2:10: invalid escape '\\q' in string\n"
	    "3:11: invalid digit '2' in binary literal\n");
	CHECK_STR_EQ(out.s, "{(let d 4)}");

	/* Bad lines of an extern block are skipped one by one. */
	parse("extern \"c\" {\n fn f(a) -> int\n fn g() -> int\n 5\n}");
	CHECK_STR_EQ(errs.s, "2:8: expected ':' after parameter name, found "
	    "')'\n4:2: expected 'fn' in extern block, found integer "
	    "literal\n");
	CHECK_STR_EQ(out.s, "(extern \"c\" g () -> int)");
}

static void
test_too_many_errors(void)
{
	struct buf *src = malloc(sizeof(*src));

	CHECK(src != NULL);
	if (src == NULL)
		return;
	src->n = 0;
	for (int i = 0; i < 200; i++)
		put(src, "let = %d\n", i);
	parse(src->s);
	CHECK_INT_EQ(diags.full, true);
	CHECK_INT_EQ(diags.n, DIAG_MAX);
	CHECK_INT_EQ(diags.nerrors, DIAG_MAX + 1);	/* stopped at once */
	free(src);
}

/* open * n, then mid, then close * n */
static const char *
nested(const char *open, const char *mid, const char *close, int n)
{
	size_t lo = strlen(open), lm = strlen(mid), lc = strlen(close);
	char *s = malloc(lo * (size_t)n + lm + lc * (size_t)n + 1), *q = s;

	if (s == NULL)
		return "";
	for (int i = 0; i < n; i++, q += lo)
		memcpy(q, open, lo);
	memcpy(q, mid, lm);
	q += lm;
	for (int i = 0; i < n; i++, q += lc)
		memcpy(q, close, lc);
	*q = '\0';
	return s;
}

static void
check_nested(const char *open, const char *mid, const char *close, int n,
    const char *err)
{
	const char *s = nested(open, mid, close, n);
	char *src = malloc(strlen(s) + 32);

	if (src == NULL)
		return;
	/* The statement after the deep one still parses. */
	sprintf(src, "%s\nlet after = 1", s);
	parse(src);
	if (strcmp(errs.s, err) != 0)
		fprintf(stderr, "nesting %s %d\n", open, n);
	CHECK_STR_EQ(errs.s, err);
	CHECK(prog != NULL && prog->top != NULL &&
	    prog->top->list.n > 0 && prog->top->list.items[
	    prog->top->list.n - 1]->kind == N_LET);
	free(src);
	free((void *)s);
}

static void
test_depth(void)
{
	/* The statement is level 1; the 200th '(' opens level 201. */
	const char *deep = "1:201: nesting deeper than 200 levels\n";

	check_nested("(", "1", ")", 10000, deep);
	check_nested("[", "1", "]", 10000, deep);
	check_nested("-", "1", "", 10000, deep);
	check_nested("!", "x", "", 10000, deep);
	check_nested("await ", "x", "", 10000,
	    "1:1201: nesting deeper than 200 levels\n");
	check_nested("{", "1", "}", 10000, deep);
	check_nested("f(", "1", ")", 10000,
	    "1:401: nesting deeper than 200 levels\n");
	check_nested("if x {", "1", "}", 10000,
	    "1:1198: nesting deeper than 200 levels\n");
	check_nested("a = ", "1", "", 10000,
	    "1:801: nesting deeper than 200 levels\n");
	check_nested("let x: [", "int] = 1", "", 1,  "");
	check_nested("(", "1", ")", 199, "");
	check_nested("{", "1", "}", 199, "");
	check_nested("-", "1", "", 199, "");
	/* Types nest too. */
	{
		const char *s = nested("[", "int", "]", 10000);
		char *src = malloc(strlen(s) + 32);

		if (src != NULL) {
			sprintf(src, "let x: %s = 1", s);
			parse(src);
			CHECK_STR_EQ(errs.s,
			    "1:208: nesting deeper than 200 levels\n");
			free(src);
		}
		free((void *)s);
	}
	/* A long else-if chain is flat, not deep. */
	{
		const char *s = nested("if a {} else ", "{}", "", 20000);

		parse(s);
		CHECK_STR_EQ(errs.s, "");
		free((void *)s);
	}
	/* So is a long sum. */
	{
		const char *s = nested("1 + ", "1", "", 100000);

		parse(s);
		CHECK_STR_EQ(errs.s, "");
		free((void *)s);
	}
}

static void
test_out_of_memory(void)
{
	static const char src[] = "fn main() {\n  let x = [1, 2, 3]\n"
	    "  for i in 0..10 { x[0] = f(i) + 1 }\n}\nmain()\n";
	bool failed = false, succeeded = false;

	/* Every arena cap from tiny up: NULL on failure, never a crash. */
	for (size_t cap = 16; cap < 200000 && !succeeded; cap += 16) {
		struct arena a;
		struct diags d;
		struct lexer lx;
		struct program *p;

		arena_init(&a, cap);
		diag_init(&d, &a, "t", src, sizeof(src) - 1);
		lex_init(&lx, src, sizeof(src) - 1, &a, &d);
		p = parse_program(&lx, &a, &d);
		if (p == NULL) {
			CHECK(a.failed);
			failed = true;
		} else {
			CHECK(!a.failed);
			CHECK_INT_EQ(d.nerrors, 0);
			succeeded = true;
		}
		arena_free(&a);
	}
	CHECK(failed);
	CHECK(succeeded);
}

/* Random bytes and random token soup: parse returns, no crash. */
static void
test_random(void)
{
	static const char *const pieces[] = {
		"fn", "async", "await", "let", "mut", "if", "else", "while",
		"loop", "for", "in", "break", "continue", "return", "true",
		"as", "extern", "(", ")", "{", "}", "[", "]", ",", ";", ":",
		"->", "..", ".", "+", "-", "*", "<", ">", "==", "&&", "=",
		"x", "f", "int", "Future", "1", "2.5", "\"s\"", "\n", " ",
		"\n", "@", "9223372036854775808", "\"\\q\"",
	};
	uint32_t seed = 42;
	char buf[120 * 24];

	for (int iter = 0; iter < 6000; iter++) {
		size_t len, n = 0;

		seed = seed * 1103515245 + 12345;
		len = (seed >> 16) % 120;
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			if (iter % 3 == 0) {
				buf[n++] = (char)(seed >> 16);
			} else {
				const char *pc = pieces[(seed >> 16) %
				    (sizeof(pieces) / sizeof(pieces[0]))];
				size_t pl = strlen(pc);

				memcpy(buf + n, pc, pl);
				n += pl;
				if (iter % 3 == 1)
					buf[n++] = ' ';
			}
		}
		parsen(buf, n);
	}
}

int
main(void)
{
	arena_init(&arena, 0);
	RUN(test_literals);
	RUN(test_precedence);
	RUN(test_positions);
	RUN(test_comparison_chain);
	RUN(test_statements);
	RUN(test_newline_rules);
	RUN(test_control_flow);
	RUN(test_functions);
	RUN(test_errors);
	RUN(test_recovery);
	RUN(test_too_many_errors);
	RUN(test_depth);
	RUN(test_out_of_memory);
	RUN(test_random);
	arena_free(&arena);
	return check_done();
}
