/*
 * prop_mutate FIRST LAST [K [SIZE]]: the mutation property test. For each
 * seed the generated program (gen.h) is compiled in-process and must run
 * to the end its first line announces; then K mutations of its encoded
 * module (bit flips, byte sets, instruction-word edits inside the code
 * arrays, truncation, duplication, deletion) must each be rejected by
 * modio_decode or verify_module with a message, or run fuel-capped to a
 * clean end; and K/8 mutations of its source (token swaps, deleted or
 * repeated lines, inserted tokens) must give diagnostics or a module that
 * verifies and runs cleanly. Crashes, sanitizer reports and leaks are
 * the sanitizer build's to catch. `prop_mutate --dump SEED I [K [SIZE]]`
 * writes mutant I of SEED (I >= K: a source one) to stdout, to keep it.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "modio.h"
#include "sched.h"
#include "scriptc.h"
#include "verify.h"

#define RUN_STEPS	4000	/* slices or timer jumps: the program */
#define MUT_STEPS	1000	/* the same for a mutant */
#define OUT_MAX		(1u << 20)	/* output bytes before a run is cut off */
#define MUT_GROW	4096	/* bytes a duplication may add */
#define K_DEFAULT	200

/* A code array inside the encoded module. */
struct region {
	size_t off;			/* byte offset of instruction 0 */
	uint32_t n;			/* instructions */
};

/* What one run of a module did. */
struct outcome {
	bool done;			/* the done hook ran */
	int status;			/* enum job_status */
	bool msg;			/* a failure came with a message */
	size_t out;			/* bytes of output */
};

struct rng {
	uint64_t s;
};

static int64_t fake_now = 1000;	/* the scheduler's clock: jumps to timers */
static unsigned nfail;
static unsigned long nrejected, naccepted, ncompleted, nfailed, ncutoff;
static unsigned long nsrc_diag, nsrc_ok;
static unsigned long long nmut = K_DEFAULT, gsize;	/* K and SIZE */
static bool verbose;		/* PROP_VERBOSE set: name each mutant first */

static uint64_t
next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t
rnd(struct rng *r, size_t n)
{
	return n ? (size_t)(next(r) % n) : 0;
}

static int64_t
clock_ms(void)
{
	return fake_now;
}

static void
on_output(void *arg, int stream, const char *buf, size_t len)
{
	struct outcome *o = arg;

	(void)stream;
	(void)buf;
	o->out += len;
}

static void
on_done(void *arg, struct job *j, int status, const char *error)
{
	struct outcome *o = arg;

	(void)j;
	o->done = true;
	o->status = status;
	o->msg = error != NULL && error[0] != '\0';
}

static void SC_PRINTF(3, 4)
fail(uint64_t seed, long mut, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL seed %llu", (unsigned long long)seed);
	if (mut >= 0)
		fprintf(stderr, " mutation %ld (prop_mutate --dump %llu %ld "
		    "%llu %llu)", mut, (unsigned long long)seed, mut, nmut,
		    gsize);
	fprintf(stderr, ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	nfail++;
}

/*
 * Decode, verify and run buf as fuzz/fuzz_module.c does, but with a fake
 * clock that jumps to the next timer when nothing is ready, so sleeps end
 * and the run reaches its end within steps slices and jumps (or is cut
 * off there, or after OUT_MAX bytes of output). Returns 0 rejected (with
 * a message, else 2), 1 ran; o says how.
 */
static int
run(const uint8_t *buf, size_t len, int steps, struct outcome *o, char *why,
    size_t whylen)
{
	struct job_hooks hooks = { on_output, on_done, o };
	struct sc_error err = { 0 };
	struct vm_limits lim;
	struct module *m;
	struct sched *s;
	struct prog *p;

	memset(o, 0, sizeof(*o));
	if (modio_decode(buf, len, &m, &err) != SC_OK ||
	    verify_module(m, &err) != SC_OK) {
		module_free(m);
		snprintf(why, whylen, "%s", err.msg);
		return err.msg[0] != '\0' ? 0 : 2;
	}
	vm_limits_default(&lim);
	lim.fuel = 1000;
	lim.task_mem = 1u << 20;
	lim.live_tasks = 64;
	if (sched_new(&lim, &s) != SC_OK) {
		module_free(m);
		snprintf(why, whylen, "out of memory");
		return 2;
	}
	sched_set_clock(s, clock_ms);
	if (prog_new(m, module_free, &p, &err) != SC_OK) {
		module_free(m);
		sched_free(s);
		snprintf(why, whylen, "prog_new: %.200s", err.msg);
		return err.msg[0] != '\0' ? 0 : 2;
	}
	if (sched_submit(s, p, 1, &hooks, NULL, &err) == SC_OK) {
		for (int i = 0; i < steps && !o->done && o->out < OUT_MAX;
		    i++) {
			int64_t ms;

			if (sched_run(s, 1) > 0)
				continue;
			if ((ms = sched_next_timer_ms(s)) < 0)
				break;
			fake_now += ms;
			sched_fire_timers(s, fake_now);
		}
	} else {
		o->done = true;
		o->status = JOB_FAILED;
		o->msg = err.msg[0] != '\0';
	}
	prog_unref(p);
	sched_free(s);
	return 1;
}

/* The code arrays of the module in buf, found by their bytes (packed
 * fixed32 is the in-memory little-endian layout). */
static size_t
regions(const uint8_t *buf, size_t len, struct region *rg, size_t max)
{
	struct sc_error err;
	struct module *m;
	size_t n = 0;

	if (modio_decode(buf, len, &m, &err) != SC_OK)
		return 0;
	for (uint32_t i = 0; i < m->nfns && n < max; i++) {
		const struct mod_fn *f = &m->fns[i];
		size_t bytes = (size_t)f->ncode * 4;

		for (size_t off = 0; f->ncode > 0 && off + bytes <= len; off++)
			if (memcmp(buf + off, f->code, bytes) == 0) {
				rg[n].off = off;
				rg[n++].n = f->ncode;
				break;
			}
	}
	module_free(m);
	return n;
}

static uint32_t
word_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
word_put(uint8_t *p, uint32_t w)
{
	p[0] = (uint8_t)w;
	p[1] = (uint8_t)(w >> 8);
	p[2] = (uint8_t)(w >> 16);
	p[3] = (uint8_t)(w >> 24);
}

/* One instruction-word edit inside a code array. */
static void
edit_word(struct rng *r, uint8_t *b, const struct region *rg)
{
	uint8_t *ip = b + rg->off + 4 * rnd(r, rg->n);
	uint32_t w = word_get(ip);
	static const uint8_t odd[] = { 0, 1, 0x7f, 0x80, 0xfe, 0xff };

	switch (rnd(r, 8)) {
	case 0:			/* another opcode, maybe past the last */
		w = (w & ~0xffu) | (uint32_t)rnd(r, OP__COUNT + 4);
		break;
	case 1:			/* one operand byte */
		{
			/* One draw per statement: the order of operands is
			 * unspecified, the mutants must not depend on it. */
			uint32_t x = (uint32_t)(1 + rnd(r, 255));

			w ^= x << (8 * (1 + rnd(r, 3)));
		}
		break;
	case 2:			/* an operand byte to an edge value */
		{
			int sh = 8 * (1 + (int)rnd(r, 3));

			w = (w & ~(0xffu << sh)) |
			    (uint32_t)odd[rnd(r, sizeof(odd))] << sh;
		}
		break;
	case 3:			/* a jump or Bx nudged */
		w += (uint32_t)((int)rnd(r, 9) - 4) << 16;
		break;
	case 4:			/* a copy of another instruction */
		w = word_get(b + rg->off + 4 * rnd(r, rg->n));
		break;
	case 5: {		/* two instructions swapped */
		uint8_t *jp = b + rg->off + 4 * rnd(r, rg->n);

		word_put(ip, word_get(jp));
		word_put(jp, w);
		return;
	}
	case 6:			/* anything */
		w = (uint32_t)next(r);
		break;
	default:		/* one bit */
		w ^= 1u << rnd(r, 32);
		break;
	}
	word_put(ip, w);
}

/*
 * Mutation number `mut` of module bytes (len) into out (capacity len +
 * MUT_GROW): 1 to 3 edits, deterministic in seed and mut. Returns the new
 * length.
 */
static size_t
mutate(uint64_t seed, long mut, const uint8_t *in, size_t len,
    const struct region *rg, size_t nrg, uint8_t *b)
{
	struct rng r = { seed * 0x100000001b3ULL ^ (uint64_t)mut * 0x9e37ULL };
	int nedits = 1 + (int)rnd(&r, 3);
	size_t n = len, a, c, k;

	memcpy(b, in, len);
	for (int e = 0; e < nedits && n > 0; e++) {
		switch (rnd(&r, 10)) {
		case 0:
		case 1:
			a = rnd(&r, n);
			b[a] ^= (uint8_t)(1u << rnd(&r, 8));
			break;
		case 2:
			a = rnd(&r, n);
			b[a] = (uint8_t)next(&r);
			break;
		case 3:
		case 4:
		case 5:
		case 6:
			if (nrg > 0 && n == len)
				edit_word(&r, b, &rg[rnd(&r, nrg)]);
			else
				b[rnd(&r, n)] ^= 0xff;
			break;
		case 7:		/* truncation */
			n = rnd(&r, n);
			break;
		case 8:		/* duplication of a chunk, inserted anywhere */
			a = rnd(&r, n);
			k = 1 + rnd(&r, n - a < 64 ? n - a : 64);
			if (n + k > len + MUT_GROW)
				break;
			c = rnd(&r, n + 1);
			{
				uint8_t tmp[64];

				memcpy(tmp, b + a, k);
				memmove(b + c + k, b + c, n - c);
				memcpy(b + c, tmp, k);
			}
			n += k;
			break;
		default:	/* deletion of a chunk */
			a = rnd(&r, n);
			k = 1 + rnd(&r, n - a < 16 ? n - a : 16);
			memmove(b + a, b + a + k, n - a - k);
			n -= k;
			break;
		}
	}
	return n;
}

static const char *const tokens[] = { "await ", "}", "{", "(", ")", "[",
	"]", "let ", "mut ", "+", "-", "*", "/", "%", " as int", " as string",
	"if ", "else ", "while ", "for ", " in ", "..", "return ", "break",
	"continue", "spawn(", "fn ", "async ", ",", "=", "==", "!", "&&",
	"\"", "0", "9223372036854775807", "1.5", "true", "\n", ";", "//",
	"/*", "*/", "x", "p0", "main", "println", "->", ":", "[int]",
	"\\u{", "\xc3", "\xff", "loop " };
#define NTOKENS	(sizeof(tokens) / sizeof(tokens[0]))

/* A source mutation: into a malloc'd buffer; NULL when out of memory. */
static char *
mutate_src(uint64_t seed, long mut, const char *src, size_t len,
    size_t *lenp)
{
	struct rng r = { seed * 0x9e3779b1ULL ^ (uint64_t)mut * 0x85ebca6bULL };
	char *b = malloc(len + 4096);
	size_t n = len, a, c, e;

	if (b == NULL)
		return NULL;
	memcpy(b, src, len);
	for (int k = 0, nedits = 1 + (int)rnd(&r, 3); k < nedits; k++) {
		const char *t;

		if (n == 0)
			break;
		a = rnd(&r, n);
		switch (rnd(&r, 5)) {
		case 0:		/* delete the line holding a */
			while (a > 0 && b[a - 1] != '\n')
				a--;
			for (e = a; e < n && b[e] != '\n'; e++)
				;
			if (e < n)
				e++;
			memmove(b + a, b + e, n - e);
			n -= e - a;
			break;
		case 1:		/* repeat that line */
			while (a > 0 && b[a - 1] != '\n')
				a--;
			for (e = a; e < n && b[e] != '\n'; e++)
				;
			if (e < n)
				e++;
			if (n + (e - a) > len + 4096 || e - a > 2048)
				break;
			memmove(b + e + (e - a), b + e, n - e);
			memcpy(b + e, b + a, e - a);
			n += e - a;
			break;
		case 2:		/* insert a token */
			t = tokens[rnd(&r, NTOKENS)];
			c = strlen(t);
			if (n + c > len + 4096)
				break;
			memmove(b + a + c, b + a, n - a);
			memcpy(b + a, t, c);
			n += c;
			break;
		case 3: {	/* swap two words of the same length */
			size_t w1 = a, w2 = rnd(&r, n), l;

			for (l = 0; w1 + l < n && w2 + l < n && l < 12 &&
			    b[w1 + l] != ' ' && b[w2 + l] != ' '; l++)
				;
			if (l > 0 && (w1 + l <= w2 || w2 + l <= w1)) {
				char tmp[12];

				memcpy(tmp, b + w1, l);
				memcpy(b + w1, b + w2, l);
				memcpy(b + w2, tmp, l);
			}
			break;
		}
		default:	/* delete a few bytes */
			e = a + 1 + rnd(&r, 8);
			if (e > n)
				e = n;
			memmove(b + a, b + e, n - e);
			n -= e - a;
			break;
		}
	}
	*lenp = n;
	return b;
}

/* fuzz/fuzz_module.c, linked in: the fuzz target's own decode, verify
 * and bounded run (real clock, 64 slices), over each mutant too. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void
check_mutant(uint64_t seed, long mut, const uint8_t *b, size_t n)
{
	struct outcome o;
	char why[320];
	int r = run(b, n, MUT_STEPS, &o, why, sizeof(why));

	LLVMFuzzerTestOneInput(b, n);

	if (r == 2) {
		fail(seed, mut, "rejected without a message");
		return;
	}
	if (verbose)
		fprintf(stderr, "  %s\n", r == 0 ? why : !o.done ? "cut off" :
		    o.status == JOB_COMPLETED ? "completed" : "failed");
	if (r == 0) {
		nrejected++;
		return;
	}
	naccepted++;
	if (!o.done)
		ncutoff++;
	else if (o.status == JOB_COMPLETED)
		ncompleted++;
	else if (!o.msg)
		fail(seed, mut, "failed (status %d) without a message",
		    o.status);
	else
		nfailed++;
}

/* A source mutation must give diagnostics, or a module that verifies. */
static void
check_src(uint64_t seed, long mut, const char *src, size_t len)
{
	scriptc_result *res;
	const uint8_t *mb;
	size_t mlen;
	int rc = scriptc_compile(src, len, "m.script", &res);

	if (rc == SC_ENOMEM) {
		fail(seed, mut, "compiler out of memory");
		return;
	}
	mb = scriptc_module_bytes(res, &mlen);
	if (rc == SC_OK && mb != NULL) {
		struct outcome o;
		char why[320];

		nsrc_ok++;
		if (run(mb, mlen, MUT_STEPS, &o, why, sizeof(why)) != 1)
			fail(seed, mut, "compiled source does not verify: %s",
			    why);
		else if (o.done && o.status != JOB_COMPLETED && !o.msg)
			fail(seed, mut, "failed without a message");
	} else if (rc == SC_ECOMPILE && scriptc_nerrors(res) > 0) {
		nsrc_diag++;
		for (unsigned i = 0; i < scriptc_ndiags(res); i++) {
			const struct scriptc_diag *d = scriptc_diag(res, i);

			if (d->msg == NULL || d->msg[0] == '\0')
				fail(seed, mut, "empty diagnostic %u", i);
		}
	} else
		fail(seed, mut, "scriptc_compile returned %d with %u errors",
		    rc, scriptc_nerrors(res));
	scriptc_free(res);
}

/* One seed: the program itself, then k module and k/8 source mutants.
 * With dump >= 0, write that mutant to stdout instead. */
static int
one_seed(uint64_t seed, long k, unsigned size, long dump)
{
	struct region rg[64];
	scriptc_result *res;
	struct outcome o;
	const uint8_t *mb;
	uint8_t *b;
	size_t len, mlen, nrg;
	char *src, why[256];
	int rc = 0;

	if ((src = gen_program(seed, size, &len)) == NULL) {
		fail(seed, -1, "gen_program: out of memory");
		return -1;
	}
	if (dump >= k) {
		size_t n;
		char *m = mutate_src(seed, dump, src, len, &n);

		if (m != NULL)
			fwrite(m, 1, n, stdout);
		free(m);
		free(src);
		return m != NULL ? 0 : -1;
	}
	if (scriptc_compile(src, len, "p.script", &res) != SC_OK ||
	    (mb = scriptc_module_bytes(res, &mlen)) == NULL) {
		fail(seed, -1, "the generated program does not compile (%s)",
		    res != NULL && scriptc_ndiags(res) > 0 ?
		    scriptc_diag(res, 0)->msg : "?");
		scriptc_free(res);
		free(src);
		return -1;
	}
	if ((b = malloc(mlen + MUT_GROW)) == NULL) {
		scriptc_free(res);
		free(src);
		return -1;
	}
	nrg = regions(mb, mlen, rg, 64);
	if (dump >= 0) {
		size_t n = mutate(seed, dump, mb, mlen, rg, nrg, b);

		fwrite(b, 1, n, stdout);
		goto out;
	}
	if (run(mb, mlen, RUN_STEPS, &o, why, sizeof(why)) != 1)
		fail(seed, -1, "the compiled program does not verify: %s", why);
	else if (!o.done)
		fail(seed, -1, "the program did not end in %d steps",
		    RUN_STEPS);
	else if ((o.status == JOB_COMPLETED) !=
	    (strstr(src, ": completes\n") != NULL))
		fail(seed, -1, "ended with status %d, its first line says "
		    "%.*s", o.status, (int)strcspn(src, "\n"), src);
	if (nrg == 0)
		fail(seed, -1, "no code array found in the module");
	for (long i = 0; i < k; i++) {
		size_t n = mutate(seed, i, mb, mlen, rg, nrg, b);

		if (verbose)
			fprintf(stderr, "seed %llu mutant %ld\n",
			    (unsigned long long)seed, i);
		check_mutant(seed, i, b, n);
	}
	for (long i = k; i < k + k / 8; i++) {
		size_t n;
		char *m = mutate_src(seed, i, src, len, &n);

		if (m == NULL) {
			rc = -1;
			break;
		}
		if (verbose)
			fprintf(stderr, "seed %llu mutant %ld\n",
			    (unsigned long long)seed, i);
		check_src(seed, i, m, n);
		free(m);
	}
out:
	free(b);
	scriptc_free(res);
	free(src);
	return rc;
}

static bool
num(const char *s, unsigned long long *v)
{
	char *end;

	*v = strtoull(s, &end, 10);
	return end != s && *end == '\0';
}

int
main(int argc, char **argv)
{
	unsigned long long first, last, mut;
	unsigned long long *k = &nmut, *size = &gsize;

	verbose = getenv("PROP_VERBOSE") != NULL;
	if (argc >= 4 && argc <= 6 && strcmp(argv[1], "--dump") == 0) {
		if (!num(argv[2], &first) || !num(argv[3], &mut) ||
		    (argc > 4 && !num(argv[4], k)) ||
		    (argc > 5 && !num(argv[5], size)) || *size > 100)
			goto usage;
		return one_seed(first, (long)*k, (unsigned)*size, (long)mut) ==
		    0 ? 0 : 1;
	}
	if (argc < 3 || argc > 5 || !num(argv[1], &first) ||
	    !num(argv[2], &last) || (argc > 3 && !num(argv[3], k)) ||
	    (argc > 4 && !num(argv[4], size)) || *size > 100)
		goto usage;
	for (unsigned long long s = first; s <= last; s++)
		if (one_seed(s, (long)*k, (unsigned)*size, -1) != 0)
			break;
	printf("prop_mutate: seeds %llu..%llu, %llu module mutants (%lu "
	    "rejected, %lu ran: %lu completed, %lu failed, %lu cut off), "
	    "%llu source mutants (%lu with diagnostics, %lu compiled), "
	    "%u failures\n", first, last, (last - first + 1) * *k, nrejected,
	    naccepted, ncompleted, nfailed, ncutoff,
	    (last - first + 1) * (*k / 8), nsrc_diag, nsrc_ok, nfail);
	return nfail == 0 ? 0 : 1;
usage:
	fprintf(stderr, "usage: prop_mutate FIRST LAST [K [SIZE]]\n"
	    "       prop_mutate --dump SEED I [K [SIZE]]\n");
	return 2;
}
