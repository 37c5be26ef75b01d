/*
 * The disassembler (scriptc --disasm) and scriptc_disasm(). Output is one
 * item per line, ASCII apart from UTF-8 inside names and strings, with no
 * trailing blanks; tests compare it byte for byte. Operands are shown by
 * their mode in op.def: rN registers, KN constants (value in a comment),
 * functions and externs by name, jumps as "-> PC", kinds by name.
 * Nothing here trusts the module: indices are checked before use.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dis.h"
#include "err.h"
#include "modio.h"
#include "op.h"
#include "scriptc.h"
#include "verify.h"

#define DIS_LINE_MAX	512	/* one instruction line; longer is cut */
#define DIS_STR_SHORT	24	/* string bytes shown in a comment */

/* A line being built; appends past the end are dropped. */
struct line {
	char buf[DIS_LINE_MAX];		/* NUL-terminated text */
	size_t len;			/* bytes used */
};

SC_PRINTF(2, 3) static void
put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= sizeof(l->buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n;
	if (l->len >= sizeof(l->buf))
		l->len = sizeof(l->buf) - 1;
}

/* Pad with blanks to column col (no-op if already past it). */
static void
pad(struct line *l, size_t col)
{
	while (l->len < col && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = ' ';
	l->buf[l->len] = '\0';
}

/* Write the line without trailing blanks, then start a new one. */
static void
flush(struct line *l, FILE *out)
{
	while (l->len > 0 && l->buf[l->len - 1] == ' ')
		l->len--;
	l->buf[l->len] = '\0';
	fprintf(out, "%s\n", l->buf);
	l->len = 0;
	l->buf[0] = '\0';
}

/* s[0..len) as a quoted literal with Script's escapes; other control bytes
 * as \xHH; at most max bytes, then "...". UTF-8 passes through. */
static void
put_str(struct line *l, const char *s, size_t len, size_t max)
{
	put(l, "\"");
	for (size_t i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '\n': put(l, "\\n"); break;
		case '\r': put(l, "\\r"); break;
		case '\t': put(l, "\\t"); break;
		case '\\': put(l, "\\\\"); break;
		case '"': put(l, "\\\""); break;
		case '\0': put(l, "\\0"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				put(l, "\\x%02x", c);
			else
				put(l, "%c", c);
		}
	}
	put(l, len > max ? "\"..." : "\"");
}

/* The shortest %g form that reads back to the same double. */
static void
put_float(struct line *l, double f)
{
	char buf[40];

	if (isnan(f)) {
		put(l, "nan");
		return;
	}
	if (isinf(f)) {
		put(l, f < 0 ? "-inf" : "inf");
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, f);
		if (strtod(buf, NULL) == f)
			break;
	}
	put(l, "%s", buf);
}

static void
put_const(struct line *l, const struct mod_const *c, size_t max)
{
	switch (c->kind) {
	case CONST_INT:
		put(l, "int %" PRId64, c->u.i);
		break;
	case CONST_FLOAT:
		put(l, "float ");
		put_float(l, c->u.f);
		break;
	case CONST_STRING:
		put(l, "string ");
		if (c->u.s.ptr != NULL)
			put_str(l, c->u.s.ptr, c->u.s.len, max);
		break;
	default:
		put(l, "? (kind %u)", c->kind);
	}
}

static const char *
plural(uint32_t n)
{
	return n == 1 ? "" : "s";
}

/* Register r, with its debug name when it has one: "r0(limit)". */
static void
put_reg_named(struct line *l, const struct mod_fn *fn, unsigned r)
{
	put(l, "r%u", r);
	if (fn->reg_names != NULL && r < fn->nregs &&
	    fn->reg_names[r] != NULL && fn->reg_names[r][0] != '\0')
		put(l, "(%s)", fn->reg_names[r]);
}

static void
dis_header(const struct mod_fn *fn, FILE *out)
{
	struct line l = { "", 0 };

	put(&l, "%sfn %s(%u param%s) -> %s, %u register%s, line %u",
	    fn->is_async ? "async " : "", fn->name ? fn->name : "?",
	    fn->nparams, plural(fn->nparams), vkind_name(fn->ret_kind),
	    fn->nregs, plural(fn->nregs), fn->line);
	flush(&l, out);
	put(&l, "  registers:");
	if (fn->nregs == 0 || fn->reg_kinds == NULL)
		put(&l, " (none)");
	for (uint32_t r = 0; r < fn->nregs && fn->reg_kinds != NULL; r++) {
		put(&l, "%s r%u %s", r > 0 ? "," : "", r,
		    vkind_name(fn->reg_kinds[r]));
		if (fn->reg_names != NULL && fn->reg_names[r] != NULL &&
		    fn->reg_names[r][0] != '\0')
			put(&l, " %s", fn->reg_names[r]);
		if (l.len >= sizeof(l.buf) - 64) {
			/* A long list wraps rather than being cut. */
			flush(&l, out);
			put(&l, "            ");
		}
	}
	flush(&l, out);
	if (fn->nstates == 0 || fn->states == NULL)
		return;
	fprintf(out, "  states (%u)\n", fn->nstates);
	for (uint32_t s = 0; s < fn->nstates; s++) {
		const struct mod_state *st = &fn->states[s];

		put(&l, "    S%u  pc %u, resume %u, live", s, st->pc, st->pc + 1);
		if (st->nlive == 0 || st->live == NULL)
			put(&l, " (none)");
		for (uint32_t k = 0; k < st->nlive && st->live != NULL; k++) {
			put(&l, " ");
			put_reg_named(&l, fn, st->live[k]);
		}
		flush(&l, out);
	}
}

/* Operand field value by mode; comments for K go into *cmt. */
static void
put_operand(struct line *l, struct line *cmt, const struct module *m,
    uint32_t pc, unsigned mode, int32_t val)
{
	switch (mode) {
	case MODE_R:
	case MODE_W:
		put(l, " r%d", (int)val);
		break;
	case MODE_K:
		put(l, " K%d", (int)val);
		if ((uint32_t)val < m->nconsts && m->consts != NULL) {
			const struct mod_const *c = &m->consts[val];

			/* The kind is implied by the op; show the value. */
			if (c->kind == CONST_INT)
				put(cmt, " %" PRId64, c->u.i);
			else if (c->kind == CONST_FLOAT) {
				put(cmt, " ");
				put_float(cmt, c->u.f);
			} else if (c->kind == CONST_STRING &&
			    c->u.s.ptr != NULL) {
				put(cmt, " ");
				put_str(cmt, c->u.s.ptr, c->u.s.len,
				    DIS_STR_SHORT);
			}
		}
		break;
	case MODE_I:
		put(l, " %u", (unsigned)val);
		break;
	case MODE_S:
		put(l, " %d", (int)val);
		break;
	case MODE_J:
		put(l, " -> %04lld", (long long)pc + 1 + val);
		break;
	case MODE_F:
		if ((uint32_t)val < m->nfns && m->fns != NULL &&
		    m->fns[val].name != NULL)
			put(l, " %s", m->fns[val].name);
		else
			put(l, " F%d?", (int)val);
		break;
	case MODE_E:
		if ((uint32_t)val < m->nexterns && m->externs != NULL &&
		    m->externs[val].symbol != NULL)
			put(l, " %s", m->externs[val].symbol);
		else
			put(l, " E%d?", (int)val);
		break;
	case MODE_T:
		put(l, " %s", vkind_name((unsigned)val));
		break;
	default:
		break;		/* MODE_N: not shown */
	}
}

/* Argument registers of a call-like op, as a comment: " args r3..r4". */
static void
put_args(struct line *cmt, unsigned a, uint32_t n)
{
	if (n == 1)
		put(cmt, " args r%u", a + 1);
	else if (n > 1)
		put(cmt, " args r%u..r%u", a + 1, a + n);
}

static void
dis_ins(const struct module *m, const struct mod_fn *fn, uint32_t pc,
    uint32_t *cursor, FILE *out)
{
	static const char *const streams[] = { "print", "println", "eprintln" };
	struct line l = { "", 0 }, cmt = { "", 0 };
	uint32_t ins = fn->code[pc];
	unsigned op = INS_OP(ins);
	const uint8_t *mode;

	put(&l, "  %04u  ", pc);
	if (fn->lines != NULL)
		put(&l, "[%3u]  ", fn->lines[pc]);
	else
		put(&l, "[   ]  ");
	if (op >= OP__COUNT) {
		put(&l, "%-10s 0x%08" PRIx32, "?", ins);
		flush(&l, out);
		return;
	}
	put(&l, "%-10s", op_info[op].name);
	mode = op_info[op].mode;
	switch (op_info[op].format) {
	case FMT_ABC:
		put_operand(&l, &cmt, m, pc, mode[0], INS_A(ins));
		put_operand(&l, &cmt, m, pc, mode[1], INS_B(ins));
		put_operand(&l, &cmt, m, pc, mode[2], mode[2] == MODE_S ?
		    INS_SC(ins) : (int32_t)INS_C(ins));
		break;
	case FMT_ABx:
		put_operand(&l, &cmt, m, pc, mode[0], INS_A(ins));
		put_operand(&l, &cmt, m, pc, mode[1], INS_BX(ins));
		break;
	case FMT_AsBx:
		put_operand(&l, &cmt, m, pc, mode[0], INS_A(ins));
		put_operand(&l, &cmt, m, pc, mode[1], INS_SBX(ins));
		break;
	default:
		put_operand(&l, &cmt, m, pc, MODE_J, INS_SJ(ins));
		break;
	}
	switch (op) {
	case OP_CALL:
	case OP_MKFUT:
		if (INS_BX(ins) < m->nfns && m->fns != NULL)
			put_args(&cmt, INS_A(ins), m->fns[INS_BX(ins)].nparams);
		break;
	case OP_MKEXT:
		if (INS_BX(ins) < m->nexterns && m->externs != NULL)
			put_args(&cmt, INS_A(ins),
			    m->externs[INS_BX(ins)].nparams);
		break;
	case OP_MKTIMEOUT:
		put_args(&cmt, INS_A(ins), 3);
		break;
	case OP_PRINT:
		if (INS_B(ins) < 3)
			put(&cmt, " %s", streams[INS_B(ins)]);
		break;
	case OP_AWAIT:
	case OP_AWAITT:
		if (*cursor < fn->nstates && fn->states != NULL &&
		    fn->states[*cursor].pc == pc)
			put(&cmt, " S%u", (*cursor)++);
		else
			put(&cmt, " no state");
		break;
	}
	if (cmt.len > 0) {
		pad(&l, 40);
		put(&l, " ;%s", cmt.buf);
	}
	flush(&l, out);
}

static void
dis_fn(const struct module *m, const struct mod_fn *fn, FILE *out)
{
	uint32_t cursor = 0;

	dis_header(fn, out);
	for (uint32_t pc = 0; pc < fn->ncode && fn->code != NULL; pc++) {
		/* Skip states on non-AWAITs so later AWAITs still pair up. */
		while (cursor < fn->nstates && fn->states != NULL &&
		    fn->states[cursor].pc < pc)
			cursor++;
		dis_ins(m, fn, pc, &cursor, out);
	}
}

void
dis_module(const struct module *m, FILE *out)
{
	struct line l = { "", 0 };

	put(&l, "module ");
	put_str(&l, m->source_name ? m->source_name : "",
	    m->source_name ? strlen(m->source_name) : 0, NAME_MAX_BYTES);
	put(&l, " format %u sha256 ", m->format);
	for (int i = 0; i < 32; i++)
		put(&l, "%02x", m->source_hash[i]);
	flush(&l, out);

	fprintf(out, "constants (%u)\n", m->nconsts);
	for (uint32_t k = 0; k < m->nconsts && m->consts != NULL; k++) {
		put(&l, "  K%u  ", k);
		put_const(&l, &m->consts[k], 200);
		flush(&l, out);
	}
	fprintf(out, "functions (%u), entry %u\n", m->nfns, m->entry);
	for (uint32_t k = 0; k < m->nfns && m->fns != NULL; k++)
		dis_fn(m, &m->fns[k], out);
	fprintf(out, "externs (%u)\n", m->nexterns);
	for (uint32_t k = 0; k < m->nexterns && m->externs != NULL; k++) {
		const struct mod_extern *e = &m->externs[k];

		put(&l, "  E%u  ", k);
		put_str(&l, e->library ? e->library : "",
		    e->library ? strlen(e->library) : 0, NAME_MAX_BYTES);
		put(&l, " %s(", e->symbol ? e->symbol : "?");
		for (uint32_t p = 0; p < e->nparams && e->params != NULL; p++)
			put(&l, "%s%s", p > 0 ? ", " : "",
			    ctype_name(e->params[p]));
		put(&l, ") -> %s", ctype_name(e->ret));
		flush(&l, out);
	}
}

/*
 * Decode, verify, then print the module in buf[0..len). Nothing is printed
 * unless the module verifies. Returns SC_OK, or the modio_decode() or
 * verify_module() status with err filled (SC_EBADMOD, SC_ENOMEM).
 */
int
scriptc_disasm(const uint8_t *buf, size_t len, FILE *out,
    struct sc_error *err)
{
	struct module *m = NULL;
	int r;

	if ((r = modio_decode(buf, len, &m, err)) != SC_OK)
		return r;
	if ((r = verify_module(m, err)) == SC_OK)
		dis_module(m, out);
	module_free(m);
	return r;
}
