/*
 * The program generator behind the property tests (gen.h). Types are
 * decided before text is written, and every integer and float expression
 * is built under a bound on its magnitude passed top-down, so no overflow,
 * division by zero or out-of-range index happens unless a deliberate error
 * is asked for. Work is bounded the same way: each function carries a cost
 * and a sleep total, and a call or loop that would exceed the budget is
 * not generated.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

#define VB		1000000		/* |int| and |float| of any variable */
#define SB		500		/* bytes of a string variable */
#define EB		60		/* bytes of a string array element */
#define ALEN		64		/* elements of any array */
#define NV		400		/* variables in scope */
#define NF		24		/* functions */
#define COST_MAX	4000L		/* statements run per body (weighted) */
#define SLEEP_MAX	120L		/* ms slept per body (weighted) */
#define MULT_MAX	200L		/* product of enclosing trip counts */
#define FLOAT_STR	350		/* bytes of a float shown as text */
#define SD_MAX		120		/* frames below a call (limit: 200) */

enum ty { T_UNIT, T_INT, T_FLOAT, T_BOOL, T_STR, T_AINT, T_AFLOAT, T_ABOOL,
	T_ASTR, NTY };	/* T_A<x> - T_AINT == T_<x> - T_INT */

static const char *const tyname[NTY] = { "()", "int", "float", "bool",
	"string", "[int]", "[float]", "[bool]", "[string]" };

/* A variable in scope. */
struct var {
	char name[16];			/* v12, p0, i3 */
	int ty;				/* enum ty */
	bool mut;			/* the generator may assign it */
};

/* A function already generated (callable by later ones). */
struct fn {
	char name[16];			/* f3, a4, r2 */
	int np;				/* parameters */
	int pty[4];			/* their types */
	int ret;			/* enum ty */
	bool async;			/* async fn: a call gives a future */
	bool loud;			/* prints (never spawned) */
	bool arrp;			/* takes an array (may push to it) */
	bool slow;			/* sleeps 60 s: for timeouts, cancel */
	int recn;			/* recursive: callers pass n < recn */
	int sd;				/* frames it may stack, itself included */
	long cost;			/* statements run per call, weighted */
	long sleep;			/* ms slept per call */
};

struct gen {
	uint64_t s;			/* PRNG state */
	char *buf;			/* the program */
	size_t len;			/* bytes in buf */
	size_t cap;			/* allocated */
	bool oom;			/* an append failed */
	int ind;			/* indentation level */
	struct var v[NV];		/* variables, innermost last */
	int nv;
	struct fn f[NF];		/* functions */
	int nf;
	int ncallable;			/* f[0..ncallable) may be called */
	bool actx;			/* await allowed here */
	bool quiet;			/* no output allowed here */
	int loops;			/* enclosing loops (break, continue) */
	int nopush;			/* inside `for x in arr`: no pushes */
	int ret;			/* return type of the function, or -1 */
	long mult;			/* product of enclosing trip counts */
	long cost;			/* of the body being generated */
	long sleep;			/* of the body being generated */
	unsigned size;			/* statements per block, roughly */
	int depth;			/* block nesting */
	int uid;			/* fresh-name counter */
	int maxsd;			/* deepest callee of the body (frames) */
};

static uint64_t
next(struct gen *g)
{
	uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n >= 1. */
static int
rnd(struct gen *g, int n)
{
	return (int)(next(g) % (uint64_t)n);
}

static bool
chance(struct gen *g, int pct)
{
	return rnd(g, 100) < pct;
}

static void out(struct gen *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
out(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (g->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(g->buf + g->len, g->cap - g->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			g->oom = true;
			return;
		}
		if ((size_t)n < g->cap - g->len)
			break;
		char *nb = realloc(g->buf, g->cap * 2 + (size_t)n);
		if (nb == NULL) {
			g->oom = true;
			return;
		}
		g->buf = nb;
		g->cap = g->cap * 2 + (size_t)n;
	}
	g->len += (size_t)n;
}

/* Start a new line at the current indentation. */
static void
line(struct gen *g)
{
	out(g, "\n");
	for (int i = 0; i < g->ind; i++)
		out(g, "    ");
}

/* The name of ty as written, with the synonyms LANGUAGE.md allows. */
static const char *
tyword(struct gen *g, int ty)
{
	static const char *const ints[] = { "int", "i32", "i64" };
	static const char *const floats[] = { "float", "f32", "f64" };

	if (ty == T_INT)
		return ints[rnd(g, 3)];
	if (ty == T_FLOAT)
		return floats[rnd(g, 3)];
	if (ty == T_STR && chance(g, 30))
		return "String";
	return tyname[ty];
}

static bool
is_arr(int ty)
{
	return ty >= T_AINT;
}

static int
elem(int ty)
{
	return ty - T_AINT + T_INT;
}

/* A value type other than unit, arrays a quarter of the time. */
static int
anyty(struct gen *g)
{
	return chance(g, 25) ? T_AINT + rnd(g, 4) : T_INT + rnd(g, 4);
}

static void
fresh(struct gen *g, char *name, char prefix)
{
	snprintf(name, 16, "%c%d", prefix, g->uid++);
}

/* Declare a variable (its text is written by the caller). */
static struct var *
declare(struct gen *g, const char *name, int ty, bool mut)
{
	struct var *v;

	if (g->nv == NV)
		g->nv--;		/* overwrite the newest: stays typed */
	v = &g->v[g->nv++];
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->ty = ty;
	v->mut = mut;
	return v;
}

/* A visible (not shadowed) variable of type ty, assignable if mut; NULL
 * when there is none. */
static struct var *
pickvar(struct gen *g, int ty, bool mut)
{
	int cand[NV], n = 0;

	for (int i = 0; i < g->nv; i++) {
		bool shadowed = false;

		if (g->v[i].ty != ty || (mut && !g->v[i].mut))
			continue;
		for (int j = i + 1; j < g->nv && !shadowed; j++)
			shadowed = strcmp(g->v[i].name, g->v[j].name) == 0;
		if (!shadowed)
			cand[n++] = i;
	}
	return n ? &g->v[cand[rnd(g, n)]] : NULL;
}

/* Charge a call of f (or a loop body) to the body being generated. */
static bool
afford(struct gen *g, long cost, long sleep)
{
	if (g->cost + g->mult * cost > COST_MAX ||
	    g->sleep + g->mult * sleep > SLEEP_MAX)
		return false;
	g->cost += g->mult * cost;
	g->sleep += g->mult * sleep;
	return true;
}

/* A callable function returning ret (async ones only where await is
 * allowed); NULL when none fits. */
static struct fn *
pickfn(struct gen *g, int ret, bool async)
{
	int cand[NF], n = 0;

	for (int i = 0; i < g->ncallable; i++) {
		struct fn *f = &g->f[i];

		if (f->ret != ret || f->async != async || f->slow ||
		    (g->quiet && f->loud) || (g->nopush && f->arrp))
			continue;
		if (g->cost + g->mult * f->cost > COST_MAX ||
		    g->sleep + g->mult * f->sleep > SLEEP_MAX ||
		    f->sd > SD_MAX)
			continue;
		cand[n++] = i;
	}
	return n ? &g->f[cand[rnd(g, n)]] : NULL;
}

static void gint(struct gen *g, int d, long long b);
static void gfloat(struct gen *g, int d, long long b);

/* "(A + B)" or "(A - B)" (sum), else "(A * B)", of two operands of sub
 * at depth d - 1 bounded by b; the sign is drawn after A, as it always
 * was, so every seed still gives the program it gave. */
static void
binop(struct gen *g, void (*subexpr)(struct gen *, int, long long), int d,
    long long b, bool sum)
{
	out(g, "(");
	subexpr(g, d - 1, b);
	out(g, "%s", sum ? (chance(g, 50) ? " + " : " - ") : " * ");
	subexpr(g, d - 1, b);
	out(g, ")");
}
static void gbool(struct gen *g, int d);
static void gstr(struct gen *g, int d, int b);
static void garr(struct gen *g, int d, int ty);
static void block(struct gen *g, int n);
static void dumpvars(struct gen *g, int max);
static void stmt(struct gen *g);

/* A value of type ty under the variable bounds. */
static void
gexpr(struct gen *g, int d, int ty)
{
	switch (ty) {
	case T_INT: gint(g, d, VB); break;
	case T_FLOAT: gfloat(g, d, VB); break;
	case T_BOOL: gbool(g, d); break;
	case T_STR: gstr(g, d, SB); break;
	case T_UNIT: out(g, "()"); break;
	default: garr(g, d, ty); break;
	}
}

/* An array element under the element bounds. */
static void
gelem(struct gen *g, int d, int ty)
{
	if (ty == T_STR)
		gstr(g, d, EB);
	else
		gexpr(g, d, ty);
}

/* name(args), charged; for an async fn, awaited unless fut. */
static void
callx(struct gen *g, struct fn *f, int d, bool fut)
{
	bool aw = f->async && !fut;

	g->cost += g->mult * f->cost;
	g->sleep += g->mult * f->sleep;
	if (f->sd > g->maxsd)
		g->maxsd = f->sd;
	out(g, aw ? "(await %s(" : "%s(", f->name);
	for (int i = 0; i < f->np; i++) {
		if (i)
			out(g, ", ");
		if (i == 0 && f->recn) {
			out(g, "(abs(");
			gint(g, d - 1, VB);
			out(g, ") %% %d)", f->recn);
		} else
			gexpr(g, d - 1, f->pty[i]);
	}
	out(g, aw ? "))" : ")");
}

static void
call(struct gen *g, struct fn *f, int d)
{
	callx(g, f, d, false);
}

/* Try a call returning ty; false (nothing written) if none fits. */
static bool
trycall(struct gen *g, int ty, int d)
{
	struct fn *f = pickfn(g, ty, g->actx && chance(g, 40));

	if (f == NULL)
		return false;
	call(g, f, d);
	return true;
}

static void
intlit(struct gen *g, long long b)
{
	long long r = b < 1000 ? b : (chance(g, 10) ? b : 1000);
	long long x = (long long)(next(g) % (uint64_t)(r + 1));

	if (chance(g, 30))
		x = -x;
	if (x < 0)
		out(g, "(%lld)", x);
	else if (x > 9 && chance(g, 8))
		out(g, "0x%llX", x);
	else if (x > 1 && chance(g, 5)) {
		char bits[72];
		int n = 0;

		for (long long v = x; v; v >>= 1)
			bits[n++] = (char)('0' + (v & 1));
		out(g, "0b");
		while (n > 0)
			out(g, "%c", bits[--n]);
	} else if (x >= 1000 && chance(g, 30))
		out(g, "%lld_%03lld", x / 1000, x % 1000);
	else if (x > 7 && chance(g, 5))
		out(g, "0o%llo", x);
	else
		out(g, "%lld", x);
}

static long long
isqrt(long long b)
{
	long long r = 1;

	while ((r + 1) * (r + 1) <= b)
		r++;
	return r;
}

/* (X % K) for a value bounded by big, so the result is within b. */
static void
shrink_open(struct gen *g, long long big, long long b)
{
	if (big > b)
		out(g, "(");
}

static void
shrink_close(struct gen *g, long long big, long long b)
{
	if (big > b)
		out(g, " %% %lld)", b < 1000 ? b + 1 :
		    1000 + rnd(g, 9000) % (b - 999));
}

/* An index expression valid for array a (known non-empty): abs(i) % len. */
static void
index_of(struct gen *g, int d, const char *a)
{
	out(g, "abs(");
	gint(g, d - 1, VB);
	out(g, ") %% len(%s)", a);
}

/* (if len(A) > 0 { A[i] } else { fallback }) for an array variable or a
 * fresh array of element type et; the element may exceed the bound, so
 * the caller shrinks. Returns false if there is no such array. */
static bool
elemread(struct gen *g, int d, int et)
{
	struct var *a = pickvar(g, et - T_INT + T_AINT, false);

	if (a == NULL)
		return false;
	out(g, "(if len(%s) > 0 { %s[", a->name, a->name);
	index_of(g, d, a->name);
	out(g, "] } else { ");
	gelem(g, 0, et);
	out(g, " })");
	return true;
}

static void
gint(struct gen *g, int d, long long b)
{
	struct var *v;

	if (b < 1)
		b = 1;
	switch (d <= 0 ? rnd(g, 3) : rnd(g, 19)) {
	case 0:
		intlit(g, b);
		return;
	case 1:
	case 2:
		if ((v = pickvar(g, T_INT, false)) == NULL)
			break;
		shrink_open(g, VB, b);
		out(g, "%s", v->name);
		shrink_close(g, VB, b);
		return;
	case 3:
	case 4:
		if (b < 2)
			break;
		binop(g, gint, d, b / 2, true);
		return;
	case 5:
		if (b < 4)
			break;
		binop(g, gint, d, isqrt(b), false);
		return;
	case 6:
		out(g, "(");
		gint(g, d - 1, b);
		out(g, chance(g, 50) ? " / " : " %% ");
		if (chance(g, 50))
			out(g, "%d", 1 + rnd(g, 9));
		else {
			out(g, "(");
			gint(g, d - 1, 4);
			out(g, " + 6)");
		}
		out(g, ")");
		return;
	case 7:
		out(g, chance(g, 50) ? "-(" : "abs(");
		gint(g, d - 1, b);
		out(g, ")");
		return;
	case 8:
		out(g, chance(g, 50) ? "min(" : "max(");
		gint(g, d - 1, b);
		out(g, ", ");
		gint(g, d - 1, b);
		out(g, ")");
		return;
	case 9: {
		size_t mark = g->len;

		shrink_open(g, VB, b);
		if (!elemread(g, d, T_INT)) {
			g->len = mark;
			break;
		}
		shrink_close(g, VB, b);
		return;
	}
	case 10:
		out(g, "(");
		gfloat(g, d - 1, b < VB ? b : VB);
		out(g, " as %s)", tyword(g, T_INT));
		return;
	case 11: {
		size_t mark = g->len;

		shrink_open(g, VB, b);
		if (!trycall(g, T_INT, d)) {
			g->len = mark;
			break;
		}
		shrink_close(g, VB, b);
		return;
	}
	case 12:
		out(g, "(if ");
		gbool(g, d - 1);
		out(g, " { ");
		gint(g, d - 1, b);
		out(g, " } else { ");
		gint(g, d - 1, b);
		out(g, " })");
		return;
	case 13:
		out(g, "((");
		gint(g, d - 1, b);
		out(g, " as string) as int)");
		return;
	case 14: {
		char t[16];

		if (b < 2)
			break;
		fresh(g, t, 't');
		out(g, "({ let %s = ", t);
		gint(g, d - 1, b / 2);
		out(g, "; %s + %s })", t, t);
		return;
	}
	case 15: {
		int ty = T_AINT + rnd(g, 4);

		if ((v = pickvar(g, rnd(g, 2) ? ty : T_STR, false)) == NULL)
			break;
		shrink_open(g, SB, b);
		out(g, "len(%s)", v->name);
		shrink_close(g, SB, b);
		return;
	}
	case 16:
		out(g, "(\"");
		out(g, "%d", rnd(g, b < 1000 ? (int)b + 1 : 1000));
		out(g, "\" as int)");
		return;
	case 17:
		out(g, "(");
		gint(g, d - 1, b);
		out(g, ")");
		return;
	default:
		break;
	}
	intlit(g, b);
}

static void
floatlit(struct gen *g, long long b)
{
	long long r = b < 1000 ? b : 1000;
	long long ip = (long long)(next(g) % (uint64_t)r);
	bool neg = chance(g, 30);

	switch (rnd(g, 5)) {
	case 0:
		out(g, neg ? "(-%lld.%d)" : "%lld.%d", ip, rnd(g, 10));
		break;
	case 1:
		out(g, neg ? "(-%lld.%02d)" : "%lld.%02d", ip, rnd(g, 100));
		break;
	case 2:
		out(g, "%lld.0", ip);
		break;
	case 3:
		if (b >= 150)
			out(g, "1.5e2");
		else
			out(g, "0.1");
		break;
	default: {
		/* One draw per declarator: argument order is unspecified,
		 * and the text must not depend on the compiler. */
		int m = rnd(g, 10), f = rnd(g, 10), e = 1 + rnd(g, 6);

		out(g, "%d.%de-%d", m, f, e);
		break;
	}
	}
}

static void
gfloat(struct gen *g, int d, long long b)
{
	struct var *v;

	if (b < 1)
		b = 1;
	switch (d <= 0 ? rnd(g, 3) : rnd(g, 16)) {
	case 0:
		floatlit(g, b);
		return;
	case 1:
	case 2:
		if ((v = pickvar(g, T_FLOAT, false)) == NULL)
			break;
		if (b < VB)
			out(g, "max(min(%s, %lld.0), -%lld.0)", v->name, b, b);
		else
			out(g, "%s", v->name);
		return;
	case 3:
	case 4:
		if (b < 2)
			break;
		binop(g, gfloat, d, b / 2, true);
		return;
	case 5:
		if (b < 4)
			break;
		binop(g, gfloat, d, isqrt(b), false);
		return;
	case 6:
		out(g, "(");
		gfloat(g, d - 1, b);
		out(g, " / (abs(");
		gfloat(g, d - 1, VB);
		out(g, ") + 1.0))");
		return;
	case 7:
		out(g, "sqrt(abs(");
		gfloat(g, d - 1, b < 1000 ? b * b : VB);
		out(g, "))");
		return;
	case 8:
		out(g, "(");
		gint(g, d - 1, b);
		out(g, " as %s)", tyword(g, T_FLOAT));
		return;
	case 9:
		out(g, chance(g, 50) ? "-(" : "abs(");
		gfloat(g, d - 1, b);
		out(g, ")");
		return;
	case 10:
		out(g, chance(g, 50) ? "min(" : "max(");
		gfloat(g, d - 1, b);
		out(g, ", ");
		gfloat(g, d - 1, b);
		out(g, ")");
		return;
	case 11: {
		size_t mark = g->len;

		if (b < VB)
			out(g, "max(min(");
		if (!elemread(g, d, T_FLOAT) && !trycall(g, T_FLOAT, d)) {
			g->len = mark;
			break;
		}
		if (b < VB)
			out(g, ", %lld.0), -%lld.0)", b, b);
		return;
	}
	case 12:
		out(g, "(if ");
		gbool(g, d - 1);
		out(g, " { ");
		gfloat(g, d - 1, b);
		out(g, " } else { ");
		gfloat(g, d - 1, b);
		out(g, " })");
		return;
	case 13: {
		int ip = rnd(g, b < 100 ? (int)b : 100), f = rnd(g, 10);

		out(g, "(\"%d.%d\" as float)", ip, f);
		return;
	}
	case 14:
		out(g, "((");
		gfloat(g, d - 1, b);
		out(g, " as string) as float)");
		return;
	default:
		break;
	}
	floatlit(g, b);
}

static void
gbool(struct gen *g, int d)
{
	struct var *v;
	static const char *const cmp[] = { " < ", " > ", " <= ", " >= ",
		" == ", " != " };

	switch (d <= 0 ? rnd(g, 3) : rnd(g, 14)) {
	case 0:
		out(g, chance(g, 50) ? "true" : "false");
		return;
	case 1:
	case 2:
		if ((v = pickvar(g, T_BOOL, false)) == NULL)
			break;
		out(g, "%s", v->name);
		return;
	case 3:
	case 4:
		out(g, "(");
		gint(g, d - 1, VB);
		out(g, "%s", cmp[rnd(g, 6)]);
		gint(g, d - 1, VB);
		out(g, ")");
		return;
	case 5:
		out(g, "(");
		gfloat(g, d - 1, VB);
		out(g, "%s", cmp[rnd(g, 6)]);
		gfloat(g, d - 1, VB);
		out(g, ")");
		return;
	case 6:
		out(g, "(");
		gstr(g, d - 1, 40);
		out(g, "%s", cmp[rnd(g, 6)]);
		gstr(g, d - 1, 40);
		out(g, ")");
		return;
	case 7:
		out(g, "(");
		gbool(g, d - 1);
		out(g, chance(g, 50) ? " == " : " != ");
		gbool(g, d - 1);
		out(g, ")");
		return;
	case 8:
		out(g, "(");
		gbool(g, d - 1);
		out(g, chance(g, 50) ? " && " : " || ");
		gbool(g, d - 1);
		out(g, ")");
		return;
	case 9:
		out(g, "!");
		gbool(g, d - 1);
		return;
	case 10: {
		size_t mark = g->len;

		if (!trycall(g, T_BOOL, d) && !elemread(g, d, T_BOOL)) {
			g->len = mark;
			break;
		}
		return;
	}
	case 11:
		out(g, "(");
		gint(g, d - 1, VB);
		out(g, " as string == \"%d\")", rnd(g, 10));
		return;
	case 12:
		out(g, "(if ");
		gbool(g, d - 1);
		out(g, " { ");
		gbool(g, d - 1);
		out(g, " } else { ");
		gbool(g, d - 1);
		out(g, " })");
		return;
	case 13:
		if ((v = pickvar(g, T_AINT + rnd(g, 4), false)) == NULL)
			break;
		out(g, "(len(%s) > %d)", v->name, rnd(g, 5));
		return;
	default:
		break;
	}
	out(g, chance(g, 50) ? "true" : "false");
}

/* String literals with their length in bytes as shown. */
static const struct { const char *text; int len; } words[] = {
	{ "", 0 }, { "a", 1 }, { "hello", 5 }, { "x y", 3 },
	{ "tab\\there", 8 }, { "q\\\"uote", 6 }, { "\\u{e9}t\\u{e9}", 5 },
	{ "na\xc3\xafve", 6 }, { "back\\\\slash", 10 }, { "=", 1 },
	{ ", ", 2 }, { "line\\nbreak", 10 }, { "cr\\r", 3 },
	{ "\xe2\x82\xac", 3 }, { "k=", 2 }, { "[", 1 }, { "]", 1 },
	{ "0", 1 }, { "-1", 2 }, { "// not a comment", 16 },
	{ "/* nor this */", 14 }, { "\\u{1F600}", 4 },
};
#define NWORDS	(int)(sizeof(words) / sizeof(words[0]))

static void
strlit(struct gen *g, int b)
{
	int i;

	do
		i = rnd(g, NWORDS);
	while (words[i].len > b);
	out(g, "\"%s\"", words[i].text);
}

static void
gstr(struct gen *g, int d, int b)
{
	struct var *v;

	switch (d <= 0 || b < 8 ? rnd(g, 3) : rnd(g, 12)) {
	case 0:
		strlit(g, b);
		return;
	case 1:
	case 2:
		if ((v = pickvar(g, T_STR, false)) == NULL)
			break;
		if (b < SB) {
			out(g, "(if len(%s) <= %d { %s } else { ", v->name, b,
			    v->name);
			strlit(g, b);
			out(g, " })");
		} else
			out(g, "%s", v->name);
		return;
	case 3:
	case 4:
		out(g, "(");
		gstr(g, d - 1, b / 2);
		out(g, " + ");
		gstr(g, d - 1, b / 2);
		out(g, ")");
		return;
	case 5:
		if (b < 30)
			break;
		out(g, "(");
		strlit(g, 8);
		out(g, " + ");
		if (chance(g, 70))
			gint(g, d - 1, VB);
		else
			gbool(g, d - 1);
		out(g, ")");
		return;
	case 6:
		if (b < 30)
			break;
		out(g, "(");
		gint(g, d - 1, VB);
		out(g, " as string)");
		return;
	case 7:
		if (b < FLOAT_STR)
			break;
		out(g, "(");
		gfloat(g, d - 1, VB);
		out(g, " as string)");
		return;
	case 8: {
		size_t mark = g->len;

		if (b >= SB && trycall(g, T_STR, d))
			return;
		if (b >= EB && elemread(g, d, T_STR))
			return;
		g->len = mark;
		break;
	}
	case 9:
		out(g, "(if ");
		gbool(g, d - 1);
		out(g, " { ");
		gstr(g, d - 1, b);
		out(g, " } else { ");
		gstr(g, d - 1, b);
		out(g, " })");
		return;
	case 10:
		out(g, "(");
		gbool(g, d - 1);
		out(g, " as string)");
		return;
	default:
		break;
	}
	strlit(g, b);
}

static void
garr(struct gen *g, int d, int ty)
{
	struct var *v;
	int n;

	if (d > 0 && chance(g, 40) && (v = pickvar(g, ty, false)) != NULL) {
		out(g, "%s", v->name);
		return;
	}
	if (d > 0 && chance(g, 20) && trycall(g, ty, d))
		return;
	n = 1 + rnd(g, 5);
	out(g, "[");
	for (int i = 0; i < n; i++) {
		if (i)
			out(g, ", ");
		gelem(g, d - 1, elem(ty));
	}
	out(g, "]");
}

/* print/println/eprintln of any kind of value. */
static void
printstmt(struct gen *g)
{
	int ty = chance(g, 10) ? T_UNIT : anyty(g);
	int how = rnd(g, 10);

	line(g);
	if (how == 0) {
		out(g, "println()");
		return;
	}
	if (ty == T_UNIT) {
		struct fn *f = pickfn(g, T_UNIT, false);

		out(g, "println(");
		if (f != NULL)
			call(g, f, 2);
		else
			out(g, "()");
		out(g, ")");
		return;
	}
	out(g, how < 3 ? "print(" : how == 3 ? "eprintln(" : "println(");
	if (ty == T_STR && chance(g, 50)) {
		out(g, "\"%s \" + ", tyname[rnd(g, NTY)]);
		gexpr(g, 3, anyty(g) < T_AINT ? T_INT + rnd(g, 4) : T_INT);
	} else
		gexpr(g, 3, ty);
	out(g, ")");
	if (how < 3 && chance(g, 50)) {
		line(g);
		out(g, "println(\" |\")");
	}
}

static void
letstmt(struct gen *g)
{
	int ty = anyty(g);
	bool mut = chance(g, 60);
	char name[16];
	struct var *old;

	/* Shadow a visible variable now and then, maybe with another type. */
	if (chance(g, 15) && (old = pickvar(g, T_INT + rnd(g, 4), false)) !=
	    NULL && old->name[0] == 'v')
		snprintf(name, sizeof(name), "%s", old->name);
	else
		fresh(g, name, 'v');
	line(g);
	out(g, "let %s%s", mut ? "mut " : "", name);
	if (is_arr(ty) && chance(g, 30)) {
		out(g, ": %s = []", tyname[ty]);
	} else {
		if (chance(g, 25))
			out(g, ": %s", tyword(g, ty));
		out(g, " = ");
		gexpr(g, 3, ty);
	}
	declare(g, name, ty, mut);
}

static void
assignstmt(struct gen *g)
{
	struct var *v = pickvar(g, anyty(g), true);

	if (v == NULL) {
		letstmt(g);
		return;
	}
	line(g);
	switch (v->ty) {
	case T_INT:
		if (chance(g, 40)) {
			out(g, "%s = (%s + ", v->name, v->name);
			gint(g, 3, 1000);
			out(g, ") %% 1000000");
		} else {
			out(g, "%s = ", v->name);
			gint(g, 3, VB);
		}
		break;
	case T_FLOAT:
		if (chance(g, 40)) {
			out(g, "%s = (%s + ", v->name, v->name);
			gfloat(g, 3, VB);
			out(g, ") / 2.0");
		} else {
			out(g, "%s = ", v->name);
			gfloat(g, 3, VB);
		}
		break;
	case T_STR:
		if (chance(g, 50)) {
			out(g, "%s = if len(%s) < 200 { %s + ", v->name,
			    v->name, v->name);
			gstr(g, 3, 300);
			out(g, " } else { ");
			gstr(g, 3, 300);
			out(g, " }");
		} else {
			out(g, "%s = ", v->name);
			gstr(g, 3, SB);
		}
		break;
	case T_BOOL:
		if (chance(g, 30))
			out(g, "%s = !%s", v->name, v->name);
		else {
			out(g, "%s = ", v->name);
			gbool(g, 3);
		}
		break;
	default:
		out(g, "%s = ", v->name);
		garr(g, 3, v->ty);
		break;
	}
}

/* push, pop, a[i] = e on an array variable. */
static void
arrstmt(struct gen *g)
{
	struct var *a = pickvar(g, T_AINT + rnd(g, 4), false);

	if (a == NULL) {
		letstmt(g);
		return;
	}
	line(g);
	switch (g->nopush ? 1 + rnd(g, 2) : rnd(g, 3)) {
	case 0:
		out(g, "if len(%s) < %d { push(%s, ", a->name, ALEN, a->name);
		gelem(g, 3, elem(a->ty));
		out(g, ") }");
		break;
	case 1:
		out(g, "if len(%s) > 0 { ", a->name);
		if (!g->quiet && chance(g, 60))
			out(g, "println(\"pop \" + pop(%s))", a->name);
		else
			out(g, "pop(%s)", a->name);
		out(g, " }");
		break;
	default:
		out(g, "if len(%s) > 0 { %s[", a->name, a->name);
		index_of(g, 3, a->name);
		out(g, "] = ");
		gelem(g, 3, elem(a->ty));
		out(g, " }");
		break;
	}
}

/* A nested block { ... } with its own scope. */
static void
body(struct gen *g, int n)
{
	int nv = g->nv;

	out(g, "{");
	g->ind++;
	g->depth++;
	block(g, n);
	g->depth--;
	g->ind--;
	line(g);
	out(g, "}");
	g->nv = nv;
}

static void
ifstmt(struct gen *g)
{
	line(g);
	out(g, "if ");
	gbool(g, 3);
	out(g, " ");
	body(g, 1 + rnd(g, 3));
	if (chance(g, 30)) {
		out(g, " else if ");
		gbool(g, 2);
		out(g, " ");
		body(g, 1 + rnd(g, 2));
	}
	if (chance(g, 60)) {
		out(g, " else ");
		body(g, 1 + rnd(g, 3));
	}
}

/* A loop of trip count at most k, its body charged k times. */
static void
loopstmt(struct gen *g)
{
	int k = 1 + rnd(g, 6), kind = rnd(g, 4), nv = g->nv;
	long mult = g->mult;
	char i[16];
	struct var *a = NULL;

	if (kind == 3) {
		a = pickvar(g, T_AINT + rnd(g, 4), false);
		if (a == NULL)
			kind = 0;
	}
	if (g->mult * (kind == 3 ? ALEN : k + 3) > MULT_MAX || g->depth > 5) {
		if (g->quiet)
			letstmt(g);
		else
			printstmt(g);
		return;
	}
	fresh(g, i, 'i');
	line(g);
	switch (kind) {
	case 0:
		g->mult *= k + 3;
		out(g, "for %s in ", i);
		gint(g, 1, 3);
		out(g, "..%d {", k);
		declare(g, i, T_INT, false);
		break;
	case 1:
		out(g, "let mut %s = 0", i);
		declare(g, i, T_INT, false);
		line(g);
		g->mult *= k + 1;	/* the condition runs once more */
		out(g, "while %s < %d", i, k);
		if (chance(g, 40)) {
			out(g, " && ");
			gbool(g, 2);
		}
		out(g, " {");
		line(g);
		out(g, "    %s = %s + 1", i, i);
		break;
	case 2:
		out(g, "let mut %s = 0", i);
		declare(g, i, T_INT, false);
		line(g);
		g->mult *= k + 1;
		out(g, "loop {");
		line(g);
		out(g, "    %s = %s + 1", i, i);
		line(g);
		out(g, "    if %s > %d { break }", i, k);
		break;
	default:
		g->mult *= ALEN;
		out(g, "for %s in %s {", i, a->name);
		declare(g, i, elem(a->ty), false);
		g->nopush++;
		break;
	}
	g->loops++;
	g->ind++;
	g->depth++;
	block(g, 1 + rnd(g, 4));
	g->depth--;
	g->ind--;
	line(g);
	out(g, "}");
	g->loops--;
	if (kind == 3)
		g->nopush--;
	g->mult = mult;
	g->nv = nv;
}

/* spawn, join_all, await_timeout, cancel, sleep, yield_now. */
static void
asyncstmt(struct gen *g)
{
	struct fn *q = NULL, *slow = NULL;
	int cand[NF], n = 0;
	char t[16];

	for (int i = 0; i < g->ncallable; i++) {
		struct fn *f = &g->f[i];

		if (f->slow)
			slow = f;
		else if (f->async && !f->loud && !f->arrp &&
		    g->cost + g->mult * f->cost * 3 <= COST_MAX &&
		    g->sleep + g->mult * f->sleep * 3 <= SLEEP_MAX)
			cand[n++] = i;
	}
	if (n)
		q = &g->f[cand[rnd(g, n)]];
	line(g);
	switch (rnd(g, 8)) {
	case 0:
		if (afford(g, 1, 5)) {
			out(g, "await sleep(%d)", rnd(g, 6));
			return;
		}
		break;
	case 1:
		out(g, "await yield_now()");
		return;
	case 2:
		if (q == NULL || g->quiet)
			break;
		fresh(g, t, 't');
		out(g, "let %s = spawn(", t);
		callx(g, q, 3, true);
		out(g, ")");
		stmt(g);
		line(g);
		out(g, "println(\"task \" + await %s)", t);
		return;
	case 3: {
		int k = 2 + rnd(g, 3);

		if (q == NULL || g->quiet)
			break;
		fresh(g, t, 'j');
		out(g, "let %s = await join_all([", t);
		for (int i = 0; i < k; i++) {
			out(g, i ? ", spawn(" : "spawn(");
			callx(g, q, 3, true);
			out(g, ")");
		}
		out(g, "])");
		line(g);
		out(g, "println(%s)", t);
		if (q->ret != T_STR && q->ret != T_UNIT)
			declare(g, t, q->ret - T_INT + T_AINT, false);
		return;
	}
	case 4:
		if (q == NULL || g->quiet || q->ret == T_UNIT)
			break;
		out(g, "println(await await_timeout(%s", chance(g, 50) ?
		    "spawn(" : "(");
		callx(g, q, 3, true);
		out(g, "), 20000, ");
		gexpr(g, 1, q->ret);
		out(g, "))");
		return;
	case 5:
		if (slow == NULL || g->quiet)
			break;
		out(g, "println(await await_timeout(%s(", slow->name);
		gint(g, 1, VB);
		out(g, "), %d, ", 1 + rnd(g, 4));
		gint(g, 1, VB);
		out(g, "))");
		g->sleep += g->mult * 5;
		return;
	case 6:
		if (slow == NULL || g->quiet)
			break;
		fresh(g, t, 't');
		out(g, "let %s = spawn(%s(", t, slow->name);
		gint(g, 1, VB);
		out(g, "))");
		line(g);
		out(g, "println(cancel(%s))", t);
		if (chance(g, 50)) {
			line(g);
			out(g, "println(cancel(%s))", t);
		}
		return;
	default: {
		struct fn *f = pickfn(g, T_INT + rnd(g, 4), true);

		if (f == NULL)
			break;
		fresh(g, t, 'v');
		out(g, "let %s = ", t);
		call(g, f, 3);
		declare(g, t, f->ret, false);
		return;
	}
	}
	out(g, "await yield_now()");
}

static void
stmt(struct gen *g)
{
	int k = rnd(g, g->actx ? 24 : 20);

	if (g->cost + g->mult > COST_MAX) {
		line(g);
		out(g, "// budget spent");
		return;
	}
	g->cost += g->mult;
	if (g->quiet && k >= 4 && k < 8)
		k = 0;
	switch (k) {
	case 0: case 1: case 2: case 3:
		letstmt(g);
		break;
	case 4: case 5: case 6: case 7:
		printstmt(g);
		break;
	case 8: case 9:
		assignstmt(g);
		break;
	case 10: case 11:
		arrstmt(g);
		break;
	case 12: case 13:
		ifstmt(g);
		break;
	case 14: case 15:
		loopstmt(g);
		break;
	case 16:
		if (g->depth < 5) {
			line(g);
			body(g, 1 + rnd(g, 3));
		} else
			letstmt(g);
		break;
	case 17: {
		struct fn *f = pickfn(g, chance(g, 50) ? T_UNIT : anyty(g),
		    g->actx && chance(g, 50));

		if (f == NULL) {
			letstmt(g);
			break;
		}
		line(g);
		call(g, f, 2);
		out(g, ";");	/* a statement: the block's value stays () */
		break;
	}
	case 18:
		line(g);
		if (g->loops > 0) {
			out(g, "if ");
			gbool(g, 2);
			out(g, chance(g, 50) ? " { break }" : " { continue }");
		} else if (g->ret >= 0 && g->ret != T_UNIT) {
			out(g, "if ");
			gbool(g, 2);
			out(g, " { return ");
			gexpr(g, 2, g->ret);
			out(g, " }");
		} else if (!g->quiet)
			dumpvars(g, 3);
		break;
	case 19:
		line(g);
		out(g, chance(g, 50) ? "/* a /* nested */ comment */" :
		    "// comment");
		if (!g->quiet) {
			line(g);
			out(g, "println(\"depth %d\")", g->depth);
		}
		break;
	default:
		asyncstmt(g);
		break;
	}
}

/* println("v3=" + v3) for up to max visible variables (all if max < 0),
 * so the state reached shows in the output. */
static void
dumpvars(struct gen *g, int max)
{
	for (int i = g->nv - 1; i >= 0 && max != 0; i--) {
		bool shadowed = false;

		for (int j = i + 1; j < g->nv && !shadowed; j++)
			shadowed = strcmp(g->v[i].name, g->v[j].name) == 0;
		if (shadowed || (max > 0 && chance(g, 40)))
			continue;
		line(g);
		out(g, "println(\"%s=\" + %s)", g->v[i].name, g->v[i].name);
		max--;
	}
}

static void
block(struct gen *g, int n)
{
	for (int i = 0; i < n; i++)
		stmt(g);
	if (!g->quiet && chance(g, 50))
		dumpvars(g, 4);
}

/* Begin a function body: its parameters in scope, budget reset. */
static void
fnbegin(struct gen *g, struct fn *f, bool actx, bool quiet)
{
	g->nv = 0;
	g->actx = actx;
	g->quiet = quiet;
	g->loops = 0;
	g->nopush = 0;
	g->mult = 1;
	g->cost = 0;
	g->sleep = 0;
	g->depth = 0;
	g->maxsd = 0;
	g->ret = f != NULL ? f->ret : -1;
	if (f == NULL)
		return;
	for (int i = 0; i < f->np; i++) {
		char p[16];

		snprintf(p, sizeof(p), "p%d", i);
		declare(g, p, f->pty[i], false);
	}
}

static void
fnhead(struct gen *g, struct fn *f)
{
	line(g);
	out(g, "%sfn %s(", f->async ? "async " : "", f->name);
	for (int i = 0; i < f->np; i++)
		out(g, "%sp%d: %s", i ? ", " : "", i, tyword(g, f->pty[i]));
	out(g, ")");
	if (f->ret != T_UNIT)
		out(g, " -> %s", tyword(g, f->ret));
	out(g, " {");
	g->ind = 1;
}

/* Close the body; its cost, sleep and stack depth become f's. */
static void
fnend(struct gen *g, struct fn *f, bool value)
{
	if (value && f->ret != T_UNIT) {
		line(g);
		gexpr(g, 3, f->ret);
	}
	g->ind = 0;
	line(g);
	out(g, "}");
	line(g);
	f->cost = g->cost + 1;
	f->sleep = g->sleep;
	f->sd = g->maxsd + (f->recn ? f->recn + 1 : 1);
}

/* An ordinary function, sync or async; a spawnable one is async, quiet
 * and takes no arrays, so its task shares nothing with the root. */
static void
genfn(struct gen *g, bool async, bool spawnable)
{
	struct fn *f = &g->f[g->nf];

	memset(f, 0, sizeof(*f));
	fresh(g, f->name, async ? 'a' : 'f');
	f->async = async;
	f->np = rnd(g, 4);
	for (int i = 0; i < f->np; i++) {
		f->pty[i] = spawnable ? T_INT + rnd(g, 4) : anyty(g);
		f->arrp |= is_arr(f->pty[i]);
	}
	f->ret = chance(g, 20) ? T_UNIT : anyty(g);
	f->loud = !spawnable && chance(g, 50);
	fnhead(g, f);
	fnbegin(g, f, async, !f->loud);
	if (async && afford(g, 1, 5)) {
		line(g);
		out(g, "await sleep(%d)", rnd(g, 6));
	}
	block(g, 1 + rnd(g, (int)g->size));
	fnend(g, f, true);
	g->ncallable = ++g->nf;
}

/* Linear or tree recursion on n; callers pass n < recn. */
static void
genrec(struct gen *g, bool async)
{
	struct fn *f = &g->f[g->nf];
	bool tree = !async && chance(g, 40);

	memset(f, 0, sizeof(*f));
	fresh(g, f->name, 'r');
	f->async = async;
	f->np = 2;
	f->pty[0] = f->pty[1] = T_INT;
	f->ret = T_INT;
	f->loud = chance(g, 30);
	f->recn = tree ? 9 : 7;
	fnhead(g, f);
	fnbegin(g, f, async, !f->loud);
	/* The body runs once per call: 8 calls (linear), 89 (tree, n < 9). */
	g->mult = tree ? 89 : 8;
	line(g);
	out(g, "if p0 <= 0 { return p1 %% 1000 }");
	if (async) {
		line(g);
		out(g, "await yield_now()");
	}
	block(g, 1 + rnd(g, 3));
	line(g);
	out(g, "let r = %s%s(p0 - 1, (p1 + ", async ? "await " : "", f->name);
	gint(g, 2, 1000);
	out(g, ") %% 100000)");
	if (tree)
		out(g, " + %s(p0 - 2, p1 %% 7)", f->name);
	line(g);
	out(g, "r %% 1000 + ");
	gint(g, 2, VB - 2000);
	fnend(g, f, false);
	g->ncallable = ++g->nf;
}

/* `async fn NAME(p0: int) -> int`: sleeps 60 s, for timeouts and cancel
 * (never awaited to the end). */
static void
genslow(struct gen *g)
{
	struct fn *f = &g->f[g->nf++];

	memset(f, 0, sizeof(*f));
	fresh(g, f->name, 's');
	f->async = true;
	f->np = 1;
	f->pty[0] = T_INT;
	f->ret = T_INT;
	f->slow = true;
	line(g);
	out(g, "async fn %s(p0: int) -> int {", f->name);
	out(g, "\n    await sleep(60000)\n    p0\n}\n");
	g->ncallable = g->nf;
}

/* How the program fails on purpose (after its normal output). */
enum { E_NONE, E_INDEX, E_OVERFLOW, E_PANIC, E_ASSERT, E_DIV, E_POP,
	E_CAST, E_TWICE, E_FCAST, NERR };

static void
failstmt(struct gen *g, int kind, struct fn *af)
{
	line(g);
	switch (kind) {
	case E_INDEX:
		out(g, "let bad = [");
		gint(g, 1, 100);
		out(g, ", 2]");
		line(g);
		out(g, "println(bad[%d + len(bad)])", rnd(g, 3));
		break;
	case E_OVERFLOW:
		out(g, "let big = 9223372036854775000");
		line(g);
		switch (rnd(g, 3)) {
		case 0: out(g, "println(big + 1000)"); break;
		case 1: out(g, "println(big * 2)"); break;
		default: out(g, "println(-big - 1000)"); break;
		}
		break;
	case E_PANIC:
		out(g, "panic(");
		gexpr(g, 2, anyty(g));
		out(g, ")");
		break;
	case E_ASSERT:
		out(g, "assert(len(");
		gstr(g, 2, 40);
		out(g, ") < 0%s)", chance(g, 50) ? ", \"never negative\"" : "");
		break;
	case E_DIV:
		out(g, "let z = ");
		gint(g, 2, VB);
		line(g);
		out(g, "println(");
		gint(g, 1, VB);
		out(g, chance(g, 50) ? " / (z - z))" : " %% (z - z))");
		break;
	case E_POP:
		out(g, "let e: [string] = []");
		line(g);
		out(g, "println(pop(e))");
		break;
	case E_CAST:
		out(g, "println((\"n\" + ");
		gint(g, 1, VB);
		out(g, ") as int)");
		break;
	case E_TWICE:
		if (af == NULL) {
			out(g, "panic(\"no async fn\")");
			break;
		}
		out(g, "let fut = %s(", af->name);
		for (int i = 0; i < af->np; i++) {
			if (i)
				out(g, ", ");
			gexpr(g, 1, af->pty[i]);
		}
		out(g, ")");
		line(g);
		out(g, "println(await fut)");
		line(g);
		out(g, "println(await fut)");
		break;
	default:
		out(g, "println((1.0 / 0.0) as int)");
		break;
	}
}

/* A function that prints, then fails with kind; called at the entry's
 * end, so the error carries a trace through it. */
static void
genfail(struct gen *g, int kind, bool async)
{
	struct fn *f = &g->f[g->nf];
	struct fn *af = NULL;

	for (int i = 0; i < g->ncallable; i++)
		if (g->f[i].async && !g->f[i].slow && g->f[i].cost < 500 &&
		    g->f[i].sleep < 20 && !g->f[i].arrp)
			af = &g->f[i];
	if (kind == E_TWICE && (af == NULL || !async))
		kind = E_PANIC;
	memset(f, 0, sizeof(*f));
	fresh(g, f->name, 'e');
	f->async = async;
	f->np = 1;
	f->pty[0] = T_INT;
	f->ret = T_INT;
	f->loud = true;
	fnhead(g, f);
	fnbegin(g, f, async, false);
	if (async) {
		line(g);
		out(g, "await sleep(1)");
	}
	line(g);
	out(g, "println(\"failing with \" + p0)");
	failstmt(g, kind, af);
	line(g);
	out(g, "p0");
	fnend(g, f, false);
	g->nf++;
}

static void
entry(struct gen *g, int form, int err, struct fn *ef)
{
	struct fn *af = NULL;

	if (form > 0) {
		line(g);
		out(g, "%sfn main() {", form == 2 ? "async " : "");
		g->ind = 1;
	}
	fnbegin(g, NULL, true, false);
	line(g);
	out(g, "println(\"start\")");
	block(g, 2 * (int)g->size + rnd(g, 2 * (int)g->size));
	dumpvars(g, -1);
	for (int i = 0; i < g->ncallable; i++)
		if (g->f[i].async && !g->f[i].slow && !g->f[i].arrp &&
		    g->f[i].cost < 500 && g->f[i].sleep < 20)
			af = &g->f[i];
	if (ef != NULL) {
		line(g);
		if (ef->async && chance(g, 50)) {
			/* Printed before the spawn: the child prints too. */
			out(g, "println(\"spawning\")");
			line(g);
			out(g, "let ft = spawn(%s(%d))", ef->name, rnd(g, 100));
			line(g);
			out(g, "println(await ft)");
		} else {
			out(g, "println(%s%s(%d))", ef->async ? "await " : "",
			    ef->name, rnd(g, 100));
		}
	} else if (err != E_NONE) {
		if (err == E_TWICE && af == NULL)
			err = E_PANIC;
		failstmt(g, err, af);
	}
	line(g);
	out(g, "println(\"end\")");
	if (form > 0) {
		g->ind = 0;
		line(g);
		out(g, "}");
	}
	line(g);
}

char *
gen_program(uint64_t seed, unsigned size, size_t *lenp)
{
	struct gen *g = calloc(1, sizeof(*g));
	int nfn, form, err;
	struct fn *ef = NULL;
	char *buf;

	if (g == NULL)
		return NULL;
	g->s = seed * 0x2545f4914f6cdd1dULL + 1;
	g->size = size ? size : GEN_SIZE_DEFAULT;
	g->cap = 4096;
	if ((g->buf = malloc(g->cap)) == NULL) {
		free(g);
		return NULL;
	}
	g->buf[0] = '\0';
	nfn = 2 + rnd(g, 8);
	form = rnd(g, 3);
	err = chance(g, 20) ? 1 + rnd(g, NERR - 1) : E_NONE;
	/* The first line says how the run must end (diff.sh checks it). */
	out(g, "// gen_prog %llu %u: %s", (unsigned long long)seed, g->size,
	    err == E_NONE ? "completes" : "fails");
	line(g);
	genslow(g);
	/* Two quiet async fns first, so spawn and join_all have work. */
	for (int i = 0; i < nfn && g->nf < NF - 3; i++) {
		int kind = rnd(g, 8);

		if (i < 2 || kind < 3)
			genfn(g, true, i < 2 || chance(g, 50));
		else if (kind == 3)
			genrec(g, chance(g, 30));
		else
			genfn(g, false, false);
	}
	if (err != E_NONE && chance(g, 50)) {
		genfail(g, err, chance(g, 50));
		ef = &g->f[g->nf - 1];
	}
	entry(g, form, err, ef);
	buf = g->buf;
	if (g->oom) {
		free(buf);
		buf = NULL;
	} else if (lenp != NULL)
		*lenp = g->len;
	free(g);
	return buf;
}
