/*
 * Snapshot tests on real programs: compile, run in a scheduler on a fake
 * clock, snapshot the job at every point where it can be, free the
 * scheduler, restore into a fresh one, go on, and compare the output with
 * an uninterrupted run. Then every truncation and every bit flip of a
 * valid snapshot must be rejected with a message or decode to a job that
 * runs cleanly (ASan checks for leaks and bad accesses).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "compile_helper.h"
#include "snapshot.h"
#include "snapshot.pb-c.h"

static int64_t fake_ms;

static int64_t
fake_clock(void)
{
	return fake_ms;
}

struct outcome {
	char out[16384];		/* stdout, then "E:" lines for stderr */
	size_t len;
	bool done;
	int status;
	char error[1024];
};

static void
on_out(void *arg, int stream, const char *buf, size_t len)
{
	struct outcome *o = arg;

	if (stream == OUT_STDERR && o->len + 2 < sizeof(o->out)) {
		memcpy(o->out + o->len, "E:", 2);
		o->len += 2;
	}
	if (len > sizeof(o->out) - 1 - o->len)
		len = sizeof(o->out) - 1 - o->len;
	memcpy(o->out + o->len, buf, len);
	o->len += len;
	o->out[o->len] = '\0';
}

static void
on_done(void *arg, struct job *j, int status, const char *error)
{
	struct outcome *o = arg;

	o->done = true;
	o->status = status;
	snprintf(o->error, sizeof(o->error), "%s", error ? error : "");
}

/* The module of src, or NULL without a word (error tests do not compile). */
static struct module *
compile_quiet(const char *src)
{
	struct sc_error err;
	struct module *m = NULL;
	scriptc_result *r;
	const uint8_t *bytes;
	size_t len;

	if (scriptc_compile(src, strlen(src), "t.script", &r) != 0) {
		scriptc_free(r);
		return NULL;
	}
	bytes = scriptc_module_bytes(r, &len);
	if (modio_decode(bytes, len, &m, &err) != 0)
		m = NULL;
	scriptc_free(r);
	return m;
}

static struct prog *
prog_of(const char *src)
{
	struct module *m = compile_snippet(src);
	struct sc_error err;
	struct prog *p = NULL;

	if (m == NULL)
		return NULL;
	if (prog_new(m, module_free, &p, &err) != SC_OK) {
		fprintf(stderr, "prog_new: %s\n", err.msg);
		module_free(m);
	}
	return p;
}

static struct sched *
new_sched(const struct vm_limits *lim)
{
	struct sched *s = NULL;

	if (sched_new(lim, &s) != SC_OK)
		return NULL;
	sched_set_clock(s, fake_clock);
	return s;
}

/* One step: a slice, or (nothing ready) the clock to the next timer.
 * Returns false when stuck (nothing ready, no timer). */
static bool
step(struct sched *s)
{
	int64_t w;

	if (sched_run(s, 1) > 0)
		return true;
	if ((w = sched_next_timer_ms(s)) < 0)
		return false;
	fake_ms += w;
	sched_fire_timers(s, fake_ms);
	return true;
}

static void
run_plain(struct prog *p, struct outcome *o)
{
	struct job_hooks h = { on_out, on_done, o };
	struct sc_error err;
	struct sched *s = new_sched(NULL);
	int n = 0;

	memset(o, 0, sizeof(*o));
	fake_ms = 1000;
	CHECK_INT_EQ(sched_submit(s, p, 1, &h, NULL, &err), SC_OK);
	while (!o->done && n++ < 100000 && step(s))
		;
	sched_free(s);
}

/*
 * Run p, and at every idle point (every = 0: nothing ready, all tasks
 * waiting) or every `every`-th step where the job can be snapshot,
 * snapshot it, drop the whole scheduler, restore into a new one (its
 * monotonic clock elsewhere, the wall clock continuing) and go on.
 * Returns the number of restores.
 */
static int
run_restoring(struct prog *p, struct outcome *o, int every,
    size_t *maxbytes)
{
	struct job_hooks h = { on_out, on_done, o };
	struct sc_error err;
	struct sched *s = new_sched(NULL);
	struct job *j = NULL;
	int64_t delta = 1700000000000LL;	/* wall - mono */
	int n = 0, restores = 0;
	int64_t last_ms = -1;
	size_t last_len = 0;

	memset(o, 0, sizeof(*o));
	fake_ms = 1000;
	CHECK_INT_EQ(sched_submit(s, p, 1, &h, &j, &err), SC_OK);
	while (!o->done && n++ < 100000) {
		struct snapshot sn;
		int64_t deadline;
		int r;

		/* restored tasks look again at what they wait on: restore
		 * again only after the clock or the output moved */
		if ((every == 0 ? !sched_has_ready(s) : n % every == 0) &&
		    (fake_ms != last_ms || o->len != last_len) &&
		    snapshot_ready(j)) {
			r = snapshot_encode(j, delta, &sn, &err);
			CHECK_INT_EQ(r, SC_OK);
			if (r != SC_OK) {
				fprintf(stderr, "encode: %s\n", err.msg);
				break;
			}
			if (maxbytes != NULL && sn.len > *maxbytes)
				*maxbytes = sn.len;
			sched_free(s);
			s = new_sched(NULL);
			fake_ms += 777777;		/* a new boot */
			delta -= 777777;
			r = snapshot_decode(s, p, 1, &h, sn.buf, sn.len, delta,
			    &j, &deadline, &err);
			if (r != SC_OK)
				fprintf(stderr, "decode: %s\n", err.msg);
			CHECK_INT_EQ(r, SC_OK);
			snapshot_free(&sn);
			if (r != SC_OK)
				break;
			restores++;
			last_ms = fake_ms;
			last_len = o->len;
		}
		if (!step(s)) {
			fprintf(stderr, "stuck after %d steps, %d restores "
			    "(every %d)\n", n, restores, every);
			break;
		}
	}
	sched_free(s);
	return restores;
}

/* Same output and outcome with restores at every idle point, and every
 * 7th step (tasks restored ready look again at what they waited on, so a
 * restore at every step would never let the clock move). */
static void
same_as_plain(const char *src, const char *want, int min_restores)
{
	struct prog *p = prog_of(src);
	static struct outcome plain, restored;

	CHECK(p != NULL);
	if (p == NULL)
		return;
	run_plain(p, &plain);
	CHECK(plain.done);
	if (want != NULL)
		CHECK_STR_EQ(plain.out, want);
	for (int every = 0; every <= 7; every += 7) {
		int n = run_restoring(p, &restored, every, NULL);

		CHECK(restored.done);
		CHECK_STR_EQ(restored.out, plain.out);
		CHECK_INT_EQ(restored.status, plain.status);
		CHECK_STR_EQ(restored.error, plain.error);
		if (every == 0 && n < min_restores)
			fprintf(stderr, "only %d restores\n", n);
		if (every == 0)
			CHECK(n >= min_restores);
	}
	prog_unref(p);
}

static void
test_loop_locals(void)
{
	same_as_plain(
	    "let name = \"tick\"\n"
	    "let mut total = 0\n"
	    "let f = 1.5\n"
	    "let yes = true\n"
	    "for i in 0..5 {\n"
	    "    await sleep(10)\n"
	    "    total = total + i\n"
	    "    println(name + \" \" + i + \" \" + total)\n"
	    "}\n"
	    "await sleep(1)\n"
	    "println(f * 2.0)\n"
	    "println(yes)\n",
	    "tick 0 0\ntick 1 1\ntick 2 3\ntick 3 6\ntick 4 10\n3\ntrue\n", 6);
}

static void
test_nested_awaits(void)
{
	same_as_plain(
	    "async fn inner(x: int) -> int {\n"
	    "    await sleep(x)\n"
	    "    x * 2\n"
	    "}\n"
	    "async fn middle(x: int, tag: string) -> string {\n"
	    "    let a = await inner(x)\n"
	    "    let b = await inner(a)\n"
	    "    tag + (a + b)\n"
	    "}\n"
	    "println(await middle(3, \"r=\"))\n"
	    "println(await middle(await inner(1), \"s=\"))\n"
	    "let fu = middle(2, \"later=\")\n"
	    "await sleep(5)\n"
	    "println(await fu)\n",
	    "r=18\ns=12\nlater=12\n", 6);
}

static void
test_shared_objects(void)
{
	same_as_plain(
	    "async fn worker(log: [string], id: int, ms: int) -> int {\n"
	    "    await sleep(ms)\n"
	    "    push(log, \"w\" + id)\n"
	    "    await sleep(ms)\n"
	    "    push(log, \"w\" + id + \" again\")\n"
	    "    len(log)\n"
	    "}\n"
	    "let log: [string] = []\n"
	    "let alias = log\n"
	    "let grid = [[1, 2], [3]]\n"
	    "let row = grid[0]\n"
	    "let t1 = spawn(worker(log, 1, 10))\n"
	    "let t2 = spawn(worker(alias, 2, 15))\n"
	    "push(row, 9)\n"
	    "let a = await t1\n"
	    "let b = await t2\n"
	    "println(log)\n"
	    "println(a + b)\n"
	    "println(grid)\n"
	    "push(alias, \"end\")\n"
	    "println(len(log))\n",
	    "[w1, w2, w1 again, w2 again]\n7\n[[1, 2, 9], [3]]\n5\n", 4);
}

static void
test_join_and_timeout(void)
{
	same_as_plain(
	    "async fn work(id: int, ms: int) -> int {\n"
	    "    await sleep(ms)\n"
	    "    println(\"done \" + id)\n"
	    "    id * 100\n"
	    "}\n"
	    "async fn slow() -> int {\n"
	    "    await sleep(10000)\n"
	    "    1\n"
	    "}\n"
	    "let ts = [spawn(work(3, 5)), spawn(work(4, 1)), spawn(work(5, 9))]\n"
	    "let rs = await join_all(ts)\n"
	    "println(rs)\n"
	    "println(await await_timeout(slow(), 20, -1))\n"
	    "let t = spawn(work(6, 3))\n"
	    "println(await await_timeout(t, 5000, 0))\n"
	    "println(await t)\n"
	    "let s = spawn(slow())\n"
	    "await sleep(2)\n"
	    "println(cancel(s))\n",
	    "done 4\ndone 3\ndone 5\n[300, 400, 500]\n-1\ndone 6\n600\n600\n"
	    "true\n", 6);
}

static void
test_yield_and_failure(void)
{
	/* yielding tasks are snapshot while ready; a failing child's error
	 * and trace cross the restore */
	same_as_plain(
	    "async fn ticker(name: string, n: int) {\n"
	    "    for i in 0..n {\n"
	    "        println(name + i)\n"
	    "        await yield_now()\n"
	    "    }\n"
	    "}\n"
	    "async fn bad(ms: int) -> int {\n"
	    "    await sleep(ms)\n"
	    "    eprintln(\"about to fail\")\n"
	    "    ms / 0\n"
	    "}\n"
	    "let a = spawn(ticker(\"a\", 3))\n"
	    "await a\n"
	    "let d = spawn(bad(4))\n"
	    "await sleep(10)\n"
	    "println(\"after\")\n"
	    "await d\n",
	    NULL, 2);
}

/* Timers due at the same ms fire in arming order, also after a restore
 * (here the reverse of the tasks' spawn order). */
static void
test_equal_dues(void)
{
	same_as_plain(
	    "async fn nap(id: int, first: int) {\n"
	    "    await sleep(first)\n"
	    "    await sleep(100 - first)\n"
	    "    println(\"n\" + id)\n"
	    "}\n"
	    "let a = spawn(nap(1, 30))\n"
	    "let b = spawn(nap(2, 20))\n"
	    "let c = spawn(nap(3, 10))\n"
	    "await a\n"
	    "await b\n"
	    "await c\n",
	    "n3\nn2\nn1\n", 3);
}

/* A restored sleeper whose timer fell due while the daemon was down fires
 * at once, and sleepers fire in due order. */
static void
test_overdue_timers(void)
{
	struct prog *p = prog_of(
	    "async fn nap(id: int, ms: int) {\n"
	    "    await sleep(ms)\n"
	    "    println(\"woke \" + id)\n"
	    "}\n"
	    "let a = spawn(nap(1, 3000))\n"
	    "let b = spawn(nap(2, 1000))\n"
	    "let c = spawn(nap(3, 2000))\n"
	    "await a\n"
	    "println(\"root\")\n");
	static struct outcome o;
	struct job_hooks h = { on_out, on_done, &o };
	struct sc_error err;
	struct sched *s = new_sched(NULL);
	struct snapshot sn;
	struct job *j;
	int64_t deadline, delta = 5000000;

	memset(&o, 0, sizeof(o));
	fake_ms = 100;
	CHECK_INT_EQ(sched_submit(s, p, 7, &h, &j, &err), SC_OK);
	while (sched_run(s, 10) > 0)
		;
	CHECK(snapshot_ready(j));
	CHECK_INT_EQ(snapshot_encode(j, delta, &sn, &err), SC_OK);
	CHECK_INT_EQ(sn.ntasks, 4);
	/* task rows for the store: the root awaits a task, three sleep */
	CHECK_INT_EQ(sn.tasks[0].due_ms, -1);
	CHECK_INT_EQ(sn.tasks[1].due_ms, 100 + 3000 + delta);
	CHECK_INT_EQ(sn.tasks[2].due_ms, 100 + 1000 + delta);
	CHECK_INT_EQ(sn.tasks[3].due_ms, 100 + 2000 + delta);
	CHECK_INT_EQ(sn.tasks[2].state, TASK_WAITING);
	sched_free(s);
	/* down for an hour, new monotonic base */
	s = new_sched(NULL);
	fake_ms = 50;
	delta = delta + 3600000 + 100 - 50;
	CHECK_INT_EQ(snapshot_decode(s, p, 7, &h, sn.buf, sn.len, delta, &j,
	    &deadline, &err), SC_OK);
	CHECK_INT_EQ(deadline, 100 + 300000 + 5000000);
	CHECK_INT_EQ(sched_next_timer_ms(s), 0);	/* overdue: at once */
	sched_fire_timers(s, fake_ms);
	while (!o.done && sched_run(s, 10) > 0)
		;
	CHECK(o.done);
	CHECK_STR_EQ(o.out, "woke 2\nwoke 3\nwoke 1\nroot\n");
	snapshot_free(&sn);
	sched_free(s);
	prog_unref(p);
}

static void
test_not_ready_and_limits(void)
{
	struct prog *p = prog_of(
	    "let mut s = \"x\"\n"
	    "for i in 0..25 {\n"
	    "    s = s + s\n"
	    "}\n"
	    "await sleep(1)\n"
	    "println(len(s))\n"
	    "let mut n = 0\n"
	    "while n < 100000000 { n = n + 1 }\n");
	static struct outcome o;
	struct job_hooks h = { on_out, on_done, &o };
	struct vm_limits lim;
	struct sc_error err;
	struct sched *s;
	struct snapshot sn;
	struct job *j;
	int r;

	vm_limits_default(&lim);
	lim.task_mem = 256u << 20;
	lim.fuel = 1000;
	s = new_sched(&lim);
	memset(&o, 0, sizeof(o));
	CHECK_INT_EQ(sched_submit(s, p, 1, &h, &j, &err), SC_OK);
	while (sched_run(s, 1) > 0 && sched_has_ready(s))
		;
	/* asleep holding a 32 MiB string: over SNAPSHOT_BYTES_MAX */
	CHECK(snapshot_ready(j));
	r = snapshot_encode(j, 0, &sn, &err);
	CHECK_INT_EQ(r, SC_ELIMIT);
	CHECK_STR_CONTAINS(err.msg, "bytes, over the limit (16777216 bytes)");
	CHECK(sn.buf == NULL);
	/* preempted in the loop (fuel): not snapshot-ready */
	fake_ms += 5;
	sched_fire_timers(s, fake_ms);
	CHECK_INT_EQ(sched_run(s, 2), 2);
	CHECK(!snapshot_ready(j));
	CHECK_INT_EQ(snapshot_encode(j, 0, &sn, &err), SC_EINVAL);
	CHECK_STR_CONTAINS(err.msg, "has a task that is running or preempted");
	sched_free(s);
	prog_unref(p);
}

static const char *corrupt_src =
    "async fn worker(log: [string], id: int, ms: int) -> int {\n"
    "    await sleep(ms)\n"
    "    push(log, \"w\" + id)\n"
    "    len(log)\n"
    "}\n"
    "async fn slow() -> int {\n"
    "    await sleep(50)\n"
    "    7\n"
    "}\n"
    "let log: [string] = [\"start\"]\n"
    "let f = 2.5\n"
    "let t1 = spawn(worker(log, 1, 10))\n"
    "let t2 = spawn(worker(log, 2, 20))\n"
    "let t3 = spawn(slow())\n"
    "let j = join_all([t1, t2])\n"
    "let r = await j\n"
    "println(r)\n"
    "println(await await_timeout(t3, 5, 0))\n"
    "println(log)\n"
    "println(f)\n";

static struct outcome tried;		/* of the last try_decode() */

/* Decode buf; if it is accepted, run the job to its end (bounded). */
static int64_t try_delta;		/* clock_delta of try_decode() */

static int
try_decode(struct prog *p, const uint8_t *buf, size_t len,
    struct sc_error *err)
{
	struct outcome *op = &tried;
	struct job_hooks h = { on_out, on_done, op };
	struct sched *s = new_sched(NULL);
	struct job *j;
	int64_t deadline;
	int r, n = 0;

	memset(op, 0, sizeof(*op));
	r = snapshot_decode(s, p, 1, &h, buf, len, try_delta, &j, &deadline,
	    err);
	if (r == SC_OK) {
		CHECK_INT_EQ(sched_njobs(s), 1);
		while (!op->done && n++ < 2000 && step(s))
			;
	} else
		CHECK_INT_EQ(sched_njobs(s), 0);	/* nothing left behind */
	sched_free(s);
	return r;
}

/* Every truncation and every bit flip of sn: rejected with a message, or
 * decoded into a job that then runs (bounded) and is freed cleanly. */
static void
flip_all(struct prog *p, const struct snapshot *sn)
{
	struct sc_error err;
	uint8_t *buf = malloc(sn->len);
	int ok = 0, bad = 0;

	/* a huge clock difference: flipped due times must saturate */
	try_delta = -((int64_t)1 << 62);
	for (size_t n = 0; n < sn->len; n++) {
		memcpy(buf, sn->buf, n);
		if (try_decode(p, buf, n, &err) == SC_OK)
			ok++;
		else {
			bad++;
			CHECK(err.msg[0] != '\0');
		}
	}
	for (size_t bit = 0; bit < sn->len * 8; bit++) {
		memcpy(buf, sn->buf, sn->len);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (try_decode(p, buf, sn->len, &err) == SC_OK)
			ok++;
		else {
			bad++;
			CHECK(strncmp(err.msg, "snapshot", 8) == 0 ||
			    strstr(err.msg, "limit") != NULL);
		}
	}
	printf("corrupt: %zu-byte snapshot, %d variants rejected, %d decoded "
	    "and ran\n", sn->len, bad, ok);
	CHECK(bad > (int)sn->len);
	try_delta = 0;
	free(buf);
}

static void
test_corrupt(void)
{
	struct prog *p = prog_of(corrupt_src);
	static struct outcome o;
	struct job_hooks h = { on_out, on_done, &o };
	struct sc_error err;
	struct sched *s = new_sched(NULL);
	struct snapshot sn;
	struct job *j;
	int r;

	memset(&o, 0, sizeof(o));
	fake_ms = 0;
	CHECK_INT_EQ(sched_submit(s, p, 1, &h, &j, &err), SC_OK);
	while (sched_run(s, 10) > 0)
		;
	fake_ms = 10;
	sched_fire_timers(s, fake_ms);
	while (sched_run(s, 10) > 0)
		;
	/* the root in join_all, one worker done, one and slow() asleep */
	CHECK(snapshot_ready(j));
	CHECK_INT_EQ(snapshot_encode(j, 0, &sn, &err), SC_OK);
	CHECK(sn.len > 50);
	r = try_decode(p, sn.buf, sn.len, &err);
	if (r != SC_OK)
		fprintf(stderr, "decode: %s\n", err.msg);
	CHECK_INT_EQ(r, SC_OK);
	CHECK_STR_EQ(tried.out, "[2, 3]\n0\n[start, w1, w2]\n2.5\n");
	flip_all(p, &sn);
	snapshot_free(&sn);
	/* the root in await_timeout, its child asleep */
	fake_ms = 20;
	sched_fire_timers(s, fake_ms);
	while (sched_run(s, 10) > 0)
		;
	CHECK_STR_EQ(o.out, "[2, 3]\n");
	CHECK(snapshot_ready(j));
	CHECK_INT_EQ(snapshot_encode(j, 0, &sn, &err), SC_OK);
	CHECK_INT_EQ(try_decode(p, sn.buf, sn.len, &err), SC_OK);
	CHECK_STR_EQ(tried.out, "0\n[start, w1, w2]\n2.5\n");
	flip_all(p, &sn);
	snapshot_free(&sn);
	sched_free(s);
	prog_unref(p);
}

/* A runtime allocation failing at each point of a restore in turn: the
 * half-built job is cancelled and swept, nothing is left behind. */
static void
test_restore_faults(void)
{
	struct prog *p = prog_of(corrupt_src);
	static struct outcome o;
	struct job_hooks h = { on_out, on_done, &o };
	struct sc_error err;
	struct sched *s = new_sched(NULL);
	struct snapshot sn;
	struct job *j;
	int n, r = SC_ENOMEM;

	memset(&o, 0, sizeof(o));
	fake_ms = 0;
	CHECK_INT_EQ(sched_submit(s, p, 1, &h, &j, &err), SC_OK);
	while (sched_run(s, 10) > 0)
		;
	CHECK_INT_EQ(snapshot_encode(j, 0, &sn, &err), SC_OK);
	sched_free(s);
	for (n = 1; n < 100 && r != SC_OK; n++) {
		s = new_sched(NULL);
		mem_fault_set(n);
		r = snapshot_decode(s, p, 1, &h, sn.buf, sn.len, 0, &j,
		    &(int64_t){ 0 }, &err);
		mem_fault_set(0);
		if (r != SC_OK) {
			CHECK_INT_EQ(r, SC_ENOMEM);
			CHECK_STR_EQ(err.msg, "out of memory restoring a "
			    "snapshot");
			CHECK_INT_EQ(sched_njobs(s), 0);
			CHECK_INT_EQ(sched_live_tasks(s), 0);
			CHECK(!sched_has_ready(s));
			CHECK_INT_EQ(sched_next_timer_ms(s), -1);
		}
		sched_free(s);
	}
	CHECK_INT_EQ(r, SC_OK);
	CHECK(n > 5);
	snapshot_free(&sn);
	prog_unref(p);
}

/* Hand-made snapshots: each names its fault. */
static void
bad_snapshot(struct prog *p, Snap__Job *sj, const char *want)
{
	struct sc_error err = { 0 };
	size_t len = snap__job__get_packed_size(sj);
	uint8_t *buf = malloc(len + 1);

	snap__job__pack(sj, buf);
	CHECK_INT_EQ(try_decode(p, buf, len, &err), SC_ESTORE);
	CHECK_STR_CONTAINS(err.msg, want);
	free(buf);
}

/* Two tasks naming one future (a start future here) are refused: one
 * would run it twice, or wait forever for the other's extern call. */
static void
test_shared_future(void)
{
	struct prog *p = prog_of(
	    "async fn f(n: int) -> int { n }\n"
	    "let a = spawn(f(1))\n"
	    "let b = spawn(f(2))\n"
	    "await sleep(5)\n"
	    "println(await a + await b)\n");
	struct sc_error err;
	struct sched *s = new_sched(NULL);
	struct snapshot sn;
	struct job *j;
	Snap__Job *sj;
	Snap__Task *ta = NULL, *tb = NULL;

	fake_ms = 0;
	CHECK_INT_EQ(sched_submit(s, p, 1, NULL, &j, &err), SC_OK);
	CHECK_INT_EQ(sched_run(s, 1), 1);	/* the root, to its sleep */
	CHECK(snapshot_ready(j));
	CHECK_INT_EQ(snapshot_encode(j, 0, &sn, &err), SC_OK);
	sj = snap__job__unpack(NULL, sn.len, sn.buf);
	CHECK(sj != NULL);
	for (size_t i = 0; sj != NULL && i < sj->n_tasks; i++)
		if (sj->tasks[i]->saved == SAVED_START && sj->tasks[i]->fut) {
			if (ta == NULL)
				ta = sj->tasks[i];
			else
				tb = sj->tasks[i];
		}
	CHECK(ta != NULL && tb != NULL);
	if (ta != NULL && tb != NULL) {
		tb->fut = ta->fut;
		bad_snapshot(p, sj, "is task");
	}
	snap__job__free_unpacked(sj, NULL);
	snapshot_free(&sn);
	sched_free(s);
	prog_unref(p);
}

static void
test_validation(void)
{
	struct prog *p = prog_of(
	    "async fn hold(s: string, n: int) -> int {\n"
	    "    await sleep(5)\n"
	    "    println(s + n)\n"
	    "    n\n"
	    "}\n"
	    "println(await hold(\"a\", 1))\n");
	const struct mod_fn *hold = find_fn(p->m, "hold");
	uint32_t fh = (uint32_t)(hold - p->m->fns);
	const struct mod_fn *entry = &p->m->fns[p->m->entry];
	Snap__Job sj = SNAP__JOB__INIT;
	Snap__Task root = SNAP__TASK__INIT, *tasks[] = { &root };
	Snap__Frame f0 = SNAP__FRAME__INIT, f1 = SNAP__FRAME__INIT;
	Snap__Frame *frames[] = { &f0, &f1 };
	Snap__Object str = SNAP__OBJECT__INIT, *objs[] = { &str };
	int64_t live1[8] = { 1, 42, 0, 0, 0, 0, 0, 0 }, live0[8] = { 0 };
	struct sc_error err;

	CHECK(hold != NULL && hold->nstates == 1 && entry->nstates >= 1);
	sj.format = SNAPSHOT_FORMAT;
	sj.root = 1;
	sj.n_tasks = 1;
	sj.tasks = tasks;
	sj.n_objects = 1;
	sj.objects = objs;
	sj.nfns = p->m->nfns;
	str.kind = VK_STRING;
	str.owner = 1;
	str.str.data = (uint8_t *)"restored ";
	str.str.len = 9;
	root.state = TASK_WAITING;
	root.rkind = entry->ret_kind;
	root.saved = SAVED_SUSP;
	root.wait = WAIT_SLEEP;
	root.due_ms = 3;
	root.n_frames = 2;
	root.frames = frames;
	f0.fn = p->m->entry;
	f0.state = 0;
	f0.n_live = entry->states[0].nlive;
	f0.live = live0;
	f1.fn = fh;
	f1.state = 0;
	f1.n_live = hold->states[0].nlive;
	f1.live = live1;
	CHECK_INT_EQ(f1.n_live, 2);		/* s and n live across */
	/* a good one first, in every format read: it runs on from inside
	 * hold() */
	for (uint32_t fmt = SNAPSHOT_FORMAT_OLDEST; fmt <= SNAPSHOT_FORMAT;
	    fmt++) {
		size_t len;
		uint8_t *buf;
		static struct outcome o;
		struct job_hooks h = { on_out, on_done, &o };
		struct sched *s = new_sched(NULL);
		struct job *j;
		int64_t dl;

		sj.format = fmt;
		len = snap__job__get_packed_size(&sj);
		buf = malloc(len);
		snap__job__pack(&sj, buf);
		memset(&o, 0, sizeof(o));
		CHECK_INT_EQ(snapshot_decode(s, p, 1, &h, buf, len, 0, &j, &dl,
		    &err), SC_OK);
		while (!o.done && step(s))
			;
		CHECK_STR_EQ(o.out, "restored 42\n42\n");
		sched_free(s);
		free(buf);
	}
	sj.format = 3;
	bad_snapshot(p, &sj, "snapshot: format 3 (this scriptd reads 1 to 2)");
	sj.format = 0;
	bad_snapshot(p, &sj, "snapshot: format 0 (this scriptd reads 1 to 2)");
	sj.format = 1;
	root.flags = TF_SEEN;		/* format 2 on */
	bad_snapshot(p, &sj, "or flags 8");
	root.flags = 0;
	sj.format = SNAPSHOT_FORMAT;
	sj.nfns++;
	bad_snapshot(p, &sj, "made for a module of");
	sj.nfns--;
	sj.root = 2;
	bad_snapshot(p, &sj, "snapshot: root task 2 of 1 tasks");
	sj.root = 1;
	f1.fn = 999;
	bad_snapshot(p, &sj, "task 1, frame 1: function 999 is not an async "
	    "function of the module");
	f1.fn = fh;
	f1.state = 7;
	bad_snapshot(p, &sj, "task 1, frame 1: hold has no state 7");
	f1.state = 0;
	f1.n_live = 1;
	bad_snapshot(p, &sj, "task 1, frame 1: hold state 0 has 2 live "
	    "registers, not 1");
	f1.n_live = 2;
	live1[0] = 2;
	bad_snapshot(p, &sj, "task 1, frame 1: register 0 of hold is not a "
	    "string");
	live1[0] = 1;
	str.kind = VK_ARRAY;
	bad_snapshot(p, &sj, "is not a string");
	str.kind = 99;
	bad_snapshot(p, &sj, "object 1: kind 99 is not string, array or future");
	str.kind = VK_STRING;
	str.owner = 5;
	bad_snapshot(p, &sj, "object 1: owner task 5 out of range (1 tasks)");
	str.owner = 1;
	/* hold() called where main awaits something else: frames swapped */
	frames[0] = &f1;
	frames[1] = &f0;
	bad_snapshot(p, &sj, "is not awaited by the frame above it");
	frames[0] = &f0;
	frames[1] = &f1;
	root.wait = WAIT_TASK;
	bad_snapshot(p, &sj, "task 1: waits on 3 at an await of the other kind");
	root.wait = WAIT_SLEEP;
	root.state = TASK_DONE;
	bad_snapshot(p, &sj, "task 1: ended but the root");
	root.state = TASK_WAITING;
	root.saved = SAVED_PARK;
	bad_snapshot(p, &sj, "task 1: live, but saved as 3");
	root.saved = SAVED_SUSP;
	root.rkind = VK_STRING;
	bad_snapshot(p, &sj, "the root's result kind is 4");
	root.rkind = entry->ret_kind;
	/* 3 million 4-byte objects: refused before they cost gigabytes */
	{
		size_t n = 3000000, len = n * 4;
		uint8_t *buf = malloc(len);

		for (size_t i = 0; i < n; i++)
			memcpy(buf + i * 4, "\x22\x02\x08\x04", 4);
		CHECK_INT_EQ(try_decode(p, buf, len, &err), SC_ELIMIT);
		CHECK_STR_CONTAINS(err.msg, "snapshot: decoding its 12000000 "
		    "bytes needs more than 134217728 bytes of memory");
		free(buf);
	}
	CHECK_INT_EQ(try_decode(p, (const uint8_t *)"\xff\xff\xff", 3, &err),
	    SC_ESTORE);
	CHECK_STR_CONTAINS(err.msg, "snapshot: not a valid snapshot message "
	    "(3 bytes)");
	prog_unref(p);
}

/* An FFI handle (ptr) in a snapshot comes back marked stale. */
static void
test_ptr_stale(void)
{
	struct prog *p = prog_of(
	    "extern \"libfoo.so\" {\n"
	    "    fn use(h: ptr) -> int\n"
	    "}\n"
	    "async fn hold(h: ptr) -> int {\n"
	    "    await sleep(5)\n"
	    "    await use(h)\n"
	    "}\n"
	    "println(await sleep(1))\n");
	const struct mod_fn *hold = find_fn(p ? p->m : NULL, "hold");
	Snap__Job sj = SNAP__JOB__INIT;
	Snap__Task t1 = SNAP__TASK__INIT, t2 = SNAP__TASK__INIT;
	Snap__Task *tasks[] = { &t1, &t2 };
	Snap__Object fut = SNAP__OBJECT__INIT, *objs[] = { &fut };
	Snap__Frame f = SNAP__FRAME__INIT, *frames[] = { &f };
	int64_t live[4] = { 12345 };
	struct sched *s = new_sched(NULL);
	struct sc_error err;
	struct job *j;
	struct task *t;
	uint32_t fn, st, nlive;
	const union value *vals;
	uint8_t buf[512];
	size_t len;
	int64_t dl;

	CHECK(hold != NULL && hold->nstates >= 1);
	if (hold == NULL)
		return;
	sj.format = SNAPSHOT_FORMAT;
	sj.root = 1;
	sj.n_tasks = 2;
	sj.tasks = tasks;
	sj.nfns = p->m->nfns;
	sj.n_objects = 1;
	sj.objects = objs;
	/* the root has not started; task 2 sleeps inside hold(h) */
	t1.state = TASK_READY;
	t1.rkind = p->m->fns[p->m->entry].ret_kind;
	t1.saved = SAVED_START;
	t2.state = TASK_WAITING;
	t2.rkind = VK_INT;
	t2.saved = SAVED_SUSP;
	t2.wait = WAIT_SLEEP;
	t2.due_ms = 1000;
	t2.n_frames = 1;
	t2.frames = frames;
	f.fn = (uint32_t)(hold - p->m->fns);
	f.state = 0;
	f.n_live = hold->states[0].nlive;
	f.live = live;
	CHECK_INT_EQ(f.n_live, 1);
	/* an unrelated future object holding a ptr argument */
	fut.kind = VK_FUTURE;
	fut.owner = 2;
	fut.fut_type = FUT_FN;
	fut.idx = f.fn;
	fut.ekind = VK_INT;
	fut.n_vals = 1;
	fut.vals = live;
	len = snap__job__pack(&sj, buf);
	CHECK_INT_EQ(snapshot_decode(s, p, 1, NULL, buf, len, 0, &j, &dl, &err),
	    SC_OK);
	t = j->tasks;
	while (t != NULL && t == j->root)
		t = t->jnext;
	CHECK(t != NULL && vm_susp_frame(t, 0, &fn, &st, &nlive, &vals));
	if (t != NULL && vals != NULL) {
		CHECK(snapshot_ptr_is_stale(vals[0].i));
		CHECK_INT_EQ(vals[0].i & ~SNAPSHOT_PTR_STALE, 12345);
	}
	CHECK_STR_EQ(SNAPSHOT_PTR_STALE_MSG, "FFI handle from before the "
	    "restart is no longer valid");
	sched_free(s);
	prog_unref(p);
}

static void
test_snapshot_size(void)
{
	/* bytes per suspended task: a sleeper with two live ints */
	struct prog *p = prog_of(
	    "async fn nap(a: int, b: int) -> int {\n"
	    "    await sleep(1000)\n"
	    "    a + b\n"
	    "}\n"
	    "let mut ts: [Task<int>] = []\n"
	    "for i in 0..1000 {\n"
	    "    push(ts, spawn(nap(i, i * 7)))\n"
	    "}\n"
	    "let rs = await join_all(ts)\n"
	    "println(len(rs))\n");
	static struct outcome o;
	struct job_hooks h = { on_out, on_done, &o };
	struct sc_error err;
	struct sched *s = new_sched(NULL);
	struct snapshot sn;
	struct job *j;

	memset(&o, 0, sizeof(o));
	CHECK_INT_EQ(sched_submit(s, p, 1, &h, &j, &err), SC_OK);
	while (sched_run(s, 100) > 0)
		;
	CHECK_INT_EQ(snapshot_encode(j, 0, &sn, &err), SC_OK);
	printf("snapshot: 1000 sleeping tasks + root: %zu bytes (%.1f per "
	    "task)\n", sn.len, sn.len / 1001.0);
	CHECK(sn.len / 1001 < 40);
	CHECK_INT_EQ(sn.ntasks, 1001);
	snapshot_free(&sn);
	sched_free(s);
	prog_unref(p);
}

static bool
lang_file(const char *path, char **src)
{
	FILE *f = fopen(path, "rb");
	long n;

	*src = NULL;
	if (f == NULL)
		return false;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (*src = malloc((size_t)n + 1)))
		(*src)[fread(*src, 1, (size_t)n, f)] = '\0';
	fclose(f);
	return *src != NULL;
}

/* Every language test program that compiles and does not read the clock:
 * restored at every idle point, or after every slice that printed, it
 * prints exactly what an uninterrupted run prints. */
static void
test_lang_programs(void)
{
	static struct outcome plain, restored;
	char cmd[600], path[512];
	int nprog = 0, nrestores = 0;
	FILE *ls;

	snprintf(cmd, sizeof(cmd), "find '%s/tests/lang' -name '*.script' | "
	    "sort", SC_SOURCE_DIR);
	if ((ls = popen(cmd, "r")) == NULL) {
		CHECK(ls != NULL);
		return;
	}
	while (fgets(path, sizeof(path), ls) != NULL) {
		struct module *m;
		struct prog *p = NULL;
		struct sc_error err;
		char *src;

		path[strcspn(path, "\n")] = '\0';
		if (!lang_file(path, &src))
			continue;
		if (strstr(src, "now_ms") != NULL || strstr(src, "extern") ||
		    (m = compile_quiet(src)) == NULL) {
			free(src);
			continue;
		}
		free(src);
		if (prog_new(m, module_free, &p, &err) != SC_OK) {
			module_free(m);
			continue;
		}
		run_plain(p, &plain);
		for (int every = 0; every <= 1; every++) {
			nrestores += run_restoring(p, &restored, every, NULL);
			if (strcmp(restored.out, plain.out) != 0 ||
			    restored.status != plain.status ||
			    strcmp(restored.error, plain.error) != 0) {
				fprintf(stderr, "%s (every %d):\n", path, every);
				CHECK_STR_EQ(restored.out, plain.out);
				CHECK_STR_EQ(restored.error, plain.error);
			}
		}
		nprog++;
		prog_unref(p);
	}
	pclose(ls);
	printf("lang: %d programs, %d restores, same output\n", nprog,
	    nrestores);
	CHECK(nprog > 20);
	CHECK(nrestores > 40);
}

int
main(void)
{
	RUN(test_loop_locals);
	RUN(test_nested_awaits);
	RUN(test_shared_objects);
	RUN(test_join_and_timeout);
	RUN(test_yield_and_failure);
	RUN(test_equal_dues);
	RUN(test_overdue_timers);
	RUN(test_not_ready_and_limits);
	RUN(test_corrupt);
	RUN(test_restore_faults);
	RUN(test_validation);
	RUN(test_shared_future);
	RUN(test_ptr_stale);
	RUN(test_snapshot_size);
	RUN(test_lang_programs);
	return check_done();
}
