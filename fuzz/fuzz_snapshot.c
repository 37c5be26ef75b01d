/*
 * Fuzz target: a suspended job's snapshot as the store gives it back. The
 * database is input too (a bad disk, a bad hand): every snapshot of the
 * program below is refused by snapshot_decode() with the reason, or
 * restores a job that then runs (a bounded number of steps on a clock of
 * our own, timers firing as they fall due) and is freed: no crash, no
 * leak, no hang. FUZZ_LOG=1 in the environment says what became of each
 * input.
 *
 * The seeds are snapshots of that program taken at every point a job can
 * be saved, written by the target itself:
 *	FUZZ_SNAPSHOT_SEEDS=fuzz/corpus/snapshot build/fuzz/fuzz/fuzz_snapshot
 * With FUZZ_SNAPSHOT_STRICT set every input must restore and run to its
 * end: CTest replays the seeds so, to notice when they go stale.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modio.h"
#include "sched.h"
#include "scriptc.h"
#include "snapshot.h"
#include "verify.h"

#define RUN_STEPS	256	/* slices or clock jumps per input */
#define SEEDS_MAX	64	/* snapshots written by FUZZ_SNAPSHOT_SEEDS */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* Strings, floats, bools, arrays, nested frames, spawned tasks, join_all,
 * await_timeout, sleeps, yields and failures nothing awaits. */
static const char program[] =
    "async fn leaf(s: string, n: int) -> string {\n"
    "    await sleep(n)\n"
    "    s + n\n"
    "}\n"
    "async fn mid(xs: [int], f: float, b: bool) -> int {\n"
    "    let mut total = 0\n"
    "    for x in xs {\n"
    "        await yield_now()\n"
    "        total = total + x\n"
    "    }\n"
    "    let s = await spawn(leaf(\"m\", 3))\n"
    "    if b { total = total + len(s) }\n"
    "    total + (f as int)\n"
    "}\n"
    "async fn bad(n: int) -> int {\n"
    "    await sleep(n)\n"
    "    panic(\"bad \" + n)\n"
    "}\n"
    "let j = join_all([spawn(mid([1, 2, 3], 2.5, true)),\n"
    "    spawn(mid([4], 0.5, false))])\n"
    "let slow = await_timeout(leaf(\"slow\", 50), 20, \"fallback\")\n"
    "spawn(bad(7))\n"
    "let kept = spawn(bad(9))\n"
    "println(await leaf(\"a\", 2))\n"
    "println(await j)\n"
    "println(await slow)\n"
    "let words = [\"x\", \"y\"]\n"
    "push(words, await leaf(\"z\", 1))\n"
    "println(words)\n"
    "println(cancel(kept))\n";

static struct prog *prog;		/* the program, for every input */
static int64_t fake_ms;			/* the schedulers' clock */
static bool done;			/* the job ended */

static int64_t
fake_clock(void)
{
	return fake_ms;
}

static void
on_out(void *arg, int stream, const char *buf, size_t len)
{
}

static void
on_done(void *arg, struct job *j, int status, const char *error)
{
	done = true;
}

static const struct job_hooks hooks = { on_out, on_done, NULL };

static void __attribute__((noreturn))
die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_snapshot: %s: %s\n", what, why);
	exit(1);
}

static struct sched *
new_sched(void)
{
	struct vm_limits lim;
	struct sched *s;

	vm_limits_default(&lim);
	lim.fuel = 1000;
	lim.task_mem = 1u << 20;
	lim.live_tasks = 64;
	if (sched_new(&lim, &s) != SC_OK)
		return NULL;
	sched_set_clock(s, fake_clock);
	return s;
}

/* A slice, or (nothing ready) the clock to the next timer; false when
 * nothing is left to do. */
static bool
step(struct sched *s)
{
	int64_t w;

	if (done)
		return false;
	if (sched_run(s, 1) > 0)
		return true;
	if ((w = sched_next_timer_ms(s)) < 0)
		return false;
	fake_ms += w;
	sched_fire_timers(s, fake_ms);
	return true;
}

static void
compile_program(void)
{
	scriptc_result *r = NULL;
	struct sc_error err;
	struct module *m;
	const uint8_t *bytes;
	size_t n;

	if (scriptc_compile(program, sizeof(program) - 1, "snap.script", &r) !=
	    SC_OK || (bytes = scriptc_module_bytes(r, &n)) == NULL)
		die("the program", "does not compile");
	if (modio_decode(bytes, n, &m, &err) != SC_OK ||
	    verify_module(m, &err) != SC_OK)
		die("the program", err.msg);
	scriptc_free(r);
	if (prog_new(m, module_free, &prog, &err) != SC_OK)
		die("the program", err.msg);
}

/* Run the program, writing a snapshot into dir after every slice the job
 * could be saved after (at most SEEDS_MAX). */
static void
write_seeds(const char *dir)
{
	struct sched *s = new_sched();
	struct sc_error err;
	struct job *j;
	int n = 0;

	fake_ms = 1000;
	done = false;
	if (s == NULL || sched_submit(s, prog, 1, &hooks, &j, &err) != SC_OK)
		die("submit", "failed");
	while (n < SEEDS_MAX && !done) {
		struct snapshot sn;
		char path[4096];
		FILE *f;

		if (snapshot_ready(j)) {
			if (snapshot_encode(j, 0, &sn, &err) != SC_OK)
				die("encode", err.msg);
			snprintf(path, sizeof(path), "%s/seed%02d", dir, n++);
			if ((f = fopen(path, "wb")) == NULL ||
			    fwrite(sn.buf, 1, sn.len, f) != sn.len ||
			    fclose(f) != 0)
				die(path, "cannot write");
			snapshot_free(&sn);
		}
		if (!step(s))
			break;
	}
	sched_free(s);
	printf("%d snapshots written to %s\n", n, dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_SNAPSHOT_SEEDS");

	compile_program();
	if (dir != NULL) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct sched *s;
	struct sc_error err;
	struct job *j;
	int64_t deadline;
	int r;

	if ((s = new_sched()) == NULL)
		return 0;
	fake_ms = 1000;
	done = false;
	if ((r = snapshot_decode(s, prog, 1, &hooks, data, len, 0, &j,
	    &deadline, &err)) == SC_OK)
		for (int i = 0; i < RUN_STEPS && step(s); i++)
			;
	if (getenv("FUZZ_LOG") != NULL)
		fprintf(stderr, "%s\n", r != SC_OK ? err.msg : done ?
		    "restored; the job ran to its end" : "restored");
	if (getenv("FUZZ_SNAPSHOT_STRICT") != NULL && (r != SC_OK || !done))
		die("a seed no longer restores and runs to its end (after a "
		    "change to the compiler, write them again)", r != SC_OK ?
		    err.msg : "it did not end");
	sched_free(s);
	return 0;
}
