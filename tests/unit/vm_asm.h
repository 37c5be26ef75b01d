/*
 * A tiny in-memory assembler for runtime tests: build a struct module from
 * functions, instructions and states, then run it through the scheduler
 * and collect its output and outcome. Line of instruction pc is pc + 1.
 */
#ifndef SC_VM_ASM_H
#define SC_VM_ASM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "modio.h"
#include "op.h"
#include "sched.h"
#include "verify.h"
#include "vm.h"

#define ASM_FNS		16
#define ASM_CODE	256
#define ASM_STATES	16

struct asm_fn {
	uint8_t kinds[256];
	uint32_t code[ASM_CODE];
	uint32_t lines[ASM_CODE];
	struct mod_state states[ASM_STATES];
	uint8_t live[ASM_STATES][32];
};

struct asm_mod {
	struct module m;
	struct mod_fn fns[ASM_FNS];
	struct asm_fn af[ASM_FNS];
	struct mod_const consts[64];
	char strs[64][64];
};

static struct asm_mod *
asm_new(void)
{
	struct asm_mod *a = calloc(1, sizeof(*a));

	a->m.format = MODULE_FORMAT;
	a->m.source_name = "t.script";
	a->m.fns = a->fns;
	a->m.consts = a->consts;
	return a;
}

/* kinds: one char per register: u i f b s a F T p */
static unsigned
asm_fn(struct asm_mod *a, const char *name, bool async, unsigned ret,
    unsigned nparams, const char *kinds)
{
	unsigned n = a->m.nfns++;
	struct mod_fn *fn = &a->fns[n];
	struct asm_fn *af = &a->af[n];

	fn->name = name;
	fn->is_async = async;
	fn->ret_kind = (uint8_t)ret;
	fn->nparams = nparams;
	fn->nregs = (uint32_t)strlen(kinds);
	for (uint32_t r = 0; r < fn->nregs; r++)
		af->kinds[r] = (uint8_t)(strchr("uifbsaFTp", kinds[r]) - "uifbsaFTp");
	fn->reg_kinds = af->kinds;
	fn->code = af->code;
	fn->lines = af->lines;
	fn->states = af->states;
	fn->line = 1;
	return n;
}

static void
asm_op(struct asm_mod *a, unsigned fn, uint32_t ins)
{
	struct mod_fn *f = &a->fns[fn];

	a->af[fn].code[f->ncode] = ins;
	a->af[fn].lines[f->ncode] = f->ncode + 1;
	f->ncode++;
}

/* A state at the last instruction (an AWAIT), with n live registers. */
static void
asm_state(struct asm_mod *a, unsigned fn, unsigned n, ...)
{
	struct mod_fn *f = &a->fns[fn];
	struct asm_fn *af = &a->af[fn];
	struct mod_state *st = &af->states[f->nstates];
	va_list ap;

	st->pc = f->ncode - 1;
	st->nlive = n;
	va_start(ap, n);
	for (unsigned i = 0; i < n; i++)
		af->live[f->nstates][i] = (uint8_t)va_arg(ap, unsigned);
	va_end(ap);
	st->live = af->live[f->nstates];
	f->nstates++;
}

static unsigned
asm_kint(struct asm_mod *a, int64_t v)
{
	unsigned n = a->m.nconsts++;

	a->consts[n].kind = CONST_INT;
	a->consts[n].u.i = v;
	return n;
}

static unsigned
asm_kflt(struct asm_mod *a, double v)
{
	unsigned n = a->m.nconsts++;

	a->consts[n].kind = CONST_FLOAT;
	a->consts[n].u.f = v;
	return n;
}

static unsigned
asm_kstr(struct asm_mod *a, const char *s)
{
	unsigned n = a->m.nconsts++;

	snprintf(a->strs[n], sizeof(a->strs[n]), "%s", s);
	a->consts[n].kind = CONST_STRING;
	a->consts[n].u.s.ptr = a->strs[n];
	a->consts[n].u.s.len = (uint32_t)strlen(s);
	return n;
}

/* What a job did. */
struct outcome {
	char out[16384];
	size_t nout;
	char err[4096];
	size_t nerr;
	int status;			/* enum job_status, -1 while running */
	char error[8192];		/* error text */
};

static void
asm_on_out(void *arg, int stream, const char *buf, size_t len)
{
	struct outcome *o = arg;
	char *p = stream == OUT_STDOUT ? o->out : o->err;
	size_t *n = stream == OUT_STDOUT ? &o->nout : &o->nerr;
	size_t cap = stream == OUT_STDOUT ? sizeof(o->out) : sizeof(o->err);

	if (*n + len < cap) {
		memcpy(p + *n, buf, len);
		*n += len;
		p[*n] = '\0';
	}
}

static void
asm_on_done(void *arg, struct job *j, int status, const char *error)
{
	struct outcome *o = arg;

	(void)j;
	o->status = status;
	snprintf(o->error, sizeof(o->error), "%s", error ? error : "");
}

static void
asm_outcome_init(struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->status = -1;
}

/* Drive s until nothing is left to do (all jobs ended). */
static void
asm_drive(struct sched *s)
{
	while (sched_njobs(s) > 0) {
		if (sched_run(s, 64) == 0) {
			int64_t ms = sched_next_timer_ms(s);
			struct timespec ts;

			if (ms > 0) {
				ts.tv_sec = ms / 1000;
				ts.tv_nsec = (ms % 1000) * 1000000;
				nanosleep(&ts, NULL);
			}
			sched_fire_timers(s, timers_now_ms());
		}
	}
}

/* Run module a's entry to its end with limits lim (NULL: defaults). */
static void
asm_run(struct asm_mod *a, const struct vm_limits *lim, struct outcome *o)
{
	struct job_hooks h = { asm_on_out, asm_on_done, o };
	struct sched *s = NULL;
	struct prog *p = NULL;
	struct sc_error err;

	asm_outcome_init(o);
	if (verify_module(&a->m, &err) != SC_OK) {
		snprintf(o->error, sizeof(o->error), "verify: %s", err.msg);
		return;
	}
	if (prog_new(&a->m, NULL, &p, &err) != SC_OK ||
	    sched_new(lim, &s) != SC_OK ||
	    sched_submit(s, p, 0, &h, NULL, &err) != SC_OK) {
		snprintf(o->error, sizeof(o->error), "setup failed");
		sched_free(s);
		prog_unref(p);
		return;
	}
	prog_unref(p);
	asm_drive(s);
	sched_free(s);
}

#endif
