/*
 * Durable jobs and timers (issue 5), measured against their goals:
 *
 *	bench_durable SCRIPTD [TIMERS] [RECOVER] [PHASES]
 *
 * PHASES picks some of timers,lateness,submit,recovery (default: all),
 * e.g. to profile one or to repeat one several times.
 * In-process (the daemon's scheduler, snapshots and store, no socket):
 * durable timers armed per second (sleeping jobs snapshot and stored,
 * one commit per 1,000 like a busy loop turn), fired per second (each
 * job's final record stored), timer lateness p99 with TIMERS pending
 * (probes sleeping 1-2000 ms, driven by a loop like the daemon's, the
 * turn's batch committed each turn), and snapshot bytes per suspended
 * task. Then the real SCRIPTD: durable submissions acknowledged per second
 * pipelined (group commit) and one at a time (one commit each), with
 * store.synchronous = full; and its recovery time with RECOVER pending
 * timers (a database written here, as many as fit in about a minute).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"
#include "cfg.h"
#include "frame.h"
#include "modio.h"
#include "sched.h"
#include "scriptc.h"
#include "snapshot.h"
#include "store.h"

#define BATCH		1000		/* items per commit (one busy turn) */
#define WINDOW		4096		/* pipelined submissions in flight */
#define NPROBES		2000		/* lateness samples */
#define SETUP_S		60.0		/* recovery database: at most this */

static char dir[64];
static int64_t fake_now;		/* the in-process clock when faked */

static int64_t
fake_clock(void)
{
	return fake_now;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct prog *
compile_prog(const char *src, uint8_t **bytesp, size_t *lenp)
{
	struct sc_error err = { 0 };
	scriptc_result *r = NULL;
	struct module *m = NULL;
	struct prog *p = NULL;
	const uint8_t *b;
	size_t len;

	if (scriptc_compile(src, strlen(src), "bench.script", &r) != SC_OK ||
	    (b = scriptc_module_bytes(r, &len)) == NULL ||
	    modio_decode(b, len, &m, &err) != SC_OK ||
	    prog_new(m, module_free, &p, &err) != SC_OK)
		bench_die("cannot compile %s: %s", src, err.msg);
	if (bytesp != NULL) {
		if ((*bytesp = malloc(len)) == NULL)
			bench_die("out of memory");
		memcpy(*bytesp, b, len);
		*lenp = len;
	}
	scriptc_free(r);
	return p;
}

static struct store *
open_store(const char *path, int sync)
{
	struct sc_error err = { 0 };
	struct store_opts o;
	struct store *st;

	store_opts_default(&o);
	o.synchronous = sync;
	if (store_open(path, &o, &st, &err) != SC_OK)
		bench_die("%s", err.msg);
	return st;
}

static void
must(int r, const struct sc_error *err)
{
	if (r != SC_OK)
		bench_die("%s", err->msg);
}

static void
commit(struct store *st)
{
	struct sc_error err = { 0 };

	must(store_commit(st, &err), &err);
}

/* Submit one job row of module mod; returns its id. */
static uint64_t
store_job(struct store *st, const uint8_t *mod, size_t len)
{
	struct sc_error err = { 0 };
	struct store_job j = { 0 };

	must(store_alloc_job_id(st, &j.id, &err), &err);
	j.tenant = 0;
	j.name = "bench";
	j.created_ms = wall_ms();
	j.timeout_ms = 86400000;
	j.durable = true;
	must(store_submit(st, &j, mod, len, &err), &err);
	return j.id;
}

struct tjob {
	uint64_t id;			/* store id */
	struct job *j;			/* scheduler job */
	struct store *st;		/* for the final record */
	int64_t due;			/* probes: monotonic due, ms */
	double *late;			/* probes: lateness out, ms */
	int *ndone;			/* jobs ended */
};

static void
tjob_done(void *arg, struct job *j, int status, const char *error)
{
	struct tjob *t = arg;
	struct sc_error err = { 0 };

	must(store_put_final(t->st, t->id, status, error, NULL, wall_ms(),
	    &err), &err);
	if (t->late != NULL) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		*t->late = ((double)ts.tv_sec * 1000 +
		    (double)ts.tv_nsec / 1e6) - (double)t->due;
	}
	(*t->ndone)++;
	t->j = NULL;
}

static struct vm_limits
big_limits(long n)
{
	struct vm_limits lim;

	vm_limits_default(&lim);
	lim.live_tasks = (uint32_t)(n * 2 + 100000);
	lim.tenant_tasks = 0;
	lim.tenant_timers = 0;
	lim.task_timeout_ms = 86400000;
	return lim;
}

/* Timers armed and fired per second, durably, and snapshot bytes. */
static void
timers(long n)
{
	char path[128];
	struct sc_error err = { 0 };
	struct vm_limits lim = big_limits(n);
	struct snapshot sn;
	struct sched *s;
	struct prog *p;
	struct store *st;
	struct tjob *tj;
	uint8_t *mod;
	size_t modlen;
	int ndone = 0;
	double t0;
	long i;

	snprintf(path, sizeof(path), "%s/timers.db", dir);
	st = open_store(path, CFG_SYNC_FULL);
	p = compile_prog("let a = 1\nlet b = 2\nawait sleep(1000)\n"
	    "println(a + b)\n", &mod, &modlen);
	if (sched_new(&lim, &s) != SC_OK ||
	    (tj = calloc((size_t)n, sizeof(*tj))) == NULL)
		bench_die("out of memory");
	sched_set_clock(s, fake_clock);
	fake_now = 1000000;
	for (i = 0; i < n; i++) {
		struct job_hooks h = { NULL, tjob_done, &tj[i] };

		tj[i].st = st;
		tj[i].ndone = &ndone;
		tj[i].id = store_job(st, mod, modlen);
		if (i % BATCH == BATCH - 1)
			commit(st);
		must(sched_submit(s, p, 0, &h, &tj[i].j, &err), &err);
	}
	commit(st);
	while (sched_run(s, 1 << 20) > 0)
		;
	/* armed: every job asleep, its snapshot stored and committed */
	t0 = bench_now_s();
	for (i = 0; i < n; i++) {
		must(snapshot_encode(tj[i].j, 0, &sn, &err), &err);
		must(store_put_snapshot(st, tj[i].id, sn.buf, sn.len, sn.tasks,
		    sn.ntasks, wall_ms(), &err), &err);
		if (i == 0)
			printf("%-32s %9zu bytes (one task, two live ints)\n",
			    "snapshot of a sleeping job", sn.len);
		snapshot_free(&sn);
		if (i % BATCH == BATCH - 1)
			commit(st);
	}
	commit(st);
	printf("%-32s %9.0f /s (%ld jobs, snapshot + store, commit per "
	    "%d; goal >= 100,000/s)\n", "durable timers armed",
	    (double)n / (bench_now_s() - t0), n, BATCH);
	/* fired: all due; each job runs on and its final record commits */
	fake_now += 2000;
	t0 = bench_now_s();
	sched_fire_timers(s, fake_now);
	while (ndone < n) {
		if (sched_run(s, BATCH) == 0)
			bench_die("jobs stopped with %d of %ld done", ndone, n);
		if (store_in_batch(st))
			commit(st);
	}
	commit(st);
	printf("%-32s %9.0f /s (%ld jobs, run to the end + final record; "
	    "goal >= 100,000/s)\n", "durable timers fired",
	    (double)n / (bench_now_s() - t0), n);
	sched_free(s);
	prog_unref(p);
	store_close(st);
	free(tj);
	free(mod);

	/* bytes per task: 1,000 sleepers with two live ints and the root */
	p = compile_prog("async fn sleeper(a: int, b: int) -> int {\n"
	    "    await sleep(3600000)\n    a + b\n}\nlet mut i = 0\n"
	    "while i < 1000 {\n    spawn(sleeper(i, i + 1))\n    i = i + 1\n"
	    "}\nawait sleep(3600000)\n", NULL, NULL);
	{
		struct job *j;

		if (sched_new(&lim, &s) != SC_OK)
			bench_die("out of memory");
		must(sched_submit(s, p, 0, NULL, &j, &err), &err);
		while (sched_run(s, 1 << 20) > 0)
			;
		must(snapshot_encode(j, 0, &sn, &err), &err);
		printf("%-32s %9.1f bytes (1,000 sleepers + root: %zu "
		    "bytes)\n", "snapshot per suspended task",
		    (double)sn.len / 1001, sn.len);
		snapshot_free(&sn);
		sched_free(s);
	}
	prog_unref(p);
}

/* A probe's first slice armed its timer: remember the exact due time. */
static void
probe_ran(struct job *j)
{
	struct tjob *t = j->hooks.arg;
	uint64_t seq;

	if (t != NULL && t->late != NULL && t->due == 0)
		(void)sched_task_timer(j->s, j->root, &t->due, &seq);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Lateness of probe timers with n other timers pending. */
static void
lateness(long n)
{
	char path[128];
	struct sc_error err = { 0 };
	struct vm_limits lim = big_limits(n);
	struct sched *s;
	struct prog *bg, *probe[NPROBES];
	struct store *st;
	struct tjob *tj;
	double late[NPROBES];
	uint8_t *mod;
	size_t modlen;
	int ndone = 0, nbg = 0;
	long i;

	snprintf(path, sizeof(path), "%s/late.db", dir);
	st = open_store(path, CFG_SYNC_FULL);
	bg = compile_prog("await sleep(3600000)\n", &mod, &modlen);
	if (sched_new(&lim, &s) != SC_OK ||
	    (tj = calloc((size_t)n + NPROBES, sizeof(*tj))) == NULL)
		bench_die("out of memory");
	for (i = 0; i < n; i++) {
		struct job_hooks h = { NULL, tjob_done, &tj[i] };

		tj[i].st = st;
		tj[i].ndone = &nbg;
		must(sched_submit(s, bg, 0, &h, NULL, &err), &err);
	}
	while (sched_run(s, 1 << 20) > 0)
		;
	free(mod);
	for (i = 0; i < NPROBES; i++) {
		char src[64];
		struct tjob *t = &tj[n + i];
		struct job_hooks h = { NULL, tjob_done, t };
		int64_t d = 1 + (i * 7919) % 2000;

		snprintf(src, sizeof(src), "await sleep(%lld)\n",
		    (long long)d);
		probe[i] = compile_prog(src, &mod, &modlen);
		t->st = st;
		t->ndone = &ndone;
		t->late = &late[i];
		t->id = store_job(st, mod, modlen);
		free(mod);
		must(sched_submit(s, probe[i], 0, &h, NULL, &err), &err);
	}
	commit(st);
	sched_set_ran_hook(s, probe_ran);
	/* the daemon's loop: run, commit the turn, sleep to the next timer */
	while (ndone < NPROBES) {
		int64_t ms;

		sched_run(s, SCHED_SLICES_PER_TURN);
		if (store_in_batch(st))
			commit(st);
		if (ndone < NPROBES && !sched_has_ready(s) &&
		    (ms = sched_next_timer_ms(s)) > 0) {
			struct timespec ts = { ms / 1000,
			    (ms % 1000) * 1000000 };

			nanosleep(&ts, NULL);
		}
		sched_fire_timers(s, sched_now(s));
	}
	qsort(late, NPROBES, sizeof(*late), cmp_double);
	printf("%-32s %9.2f ms (p50 %.2f ms, max %.2f ms; %d probes, %ld "
	    "timers pending; goal < 10 ms)\n", "timer lateness p99",
	    late[NPROBES * 99 / 100], late[NPROBES / 2], late[NPROBES - 1],
	    NPROBES, n);
	sched_free(s);
	prog_unref(bg);
	for (i = 0; i < NPROBES; i++)
		prog_unref(probe[i]);
	store_close(st);
	free(tj);
}

/* The daemon */

/* Start scriptd on db; returns seconds until it accepted a connection. */
static double
start_daemon(const char *scriptd, const char *db, long maxtasks)
{
	char conf[96], sock[96], log[96];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	double t0;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/scriptd.conf", dir);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	if ((f = fopen(conf, "w")) == NULL)
		bench_die("%s: %s", conf, strerror(errno));
	fprintf(f, "[daemon]\nlog_level = info\n[limits]\nmax_tasks = %ld\n"
	    "[tenant]\nmax_jobs = %ld\nmax_tasks = %ld\n"
	    "submit_rate = 10000000\nsubmit_burst = 10000000\n"
	    "[store]\nsynchronous = full\n", maxtasks, maxtasks, maxtasks);
	fclose(f);
	t0 = bench_now_s();
	if ((bench_daemon_pid = fork()) == -1)
		bench_die("fork: %s", strerror(errno));
	if (bench_daemon_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 2);
		dup2(open("/dev/null", O_RDWR), 0);
		dup2(open("/dev/null", O_RDWR), 1);
		execl(scriptd, scriptd, "--socket", sock, "--db", db,
		    "--config", conf, (char *)NULL);
		_exit(127);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	for (int i = 0; i < 12000; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return bench_now_s() - t0;
		}
		close(fd);
		if (waitpid(bench_daemon_pid, NULL, WNOHANG) ==
		    bench_daemon_pid) {
			bench_daemon_pid = -1;
			bench_die("scriptd exited during start (see %s)", log);
		}
		usleep(5000);
	}
	bench_die("scriptd did not listen within 60 s");
}

static void
stop_daemon(void)
{
	if (bench_daemon_pid > 0) {
		kill(bench_daemon_pid, SIGTERM);
		waitpid(bench_daemon_pid, NULL, 0);
		bench_daemon_pid = -1;
	}
}

static void
submissions(const char *scriptd, long n)
{
	char db[96], sock[96];
	struct bench_conn r;
	uint8_t *mod, *out;
	size_t modlen;
	uint64_t id = 2;
	long sent = 0, got = 0;
	struct prog *p;
	double t0;

	p = compile_prog("let x = 1\n", &mod, &modlen);
	prog_unref(p);
	snprintf(db, sizeof(db), "%s/submit.db", dir);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	start_daemon(scriptd, db, 1000000);
	bench_connect(&r, sock, "bench_durable");
	if ((out = malloc(256 * (modlen + 64))) == NULL)
		bench_die("out of memory");
	t0 = bench_now_s();
	while (got < n) {
		size_t olen = 0;

		while (sent < n && sent - got < WINDOW && olen <
		    255 * (modlen + 64)) {
			olen += bench_pack_submit(id++, mod, modlen, false,
			    out + olen);
			sent++;
		}
		if (olen > 0)
			bench_put(r.fd, out, olen);
		/* take every reply already here before writing again, as
		 * bench_submit does (one write per reply would make the
		 * client, not the daemon, the limit) */
		do {
			frame_msg_free(bench_next_reply(&r));
			got++;
		} while (got < sent && (bench_have_frame(&r) ||
		    sent - got >= WINDOW));
	}
	printf("%-32s %9.0f /s (%ld durable jobs, %d in flight, "
	    "synchronous = full; goal >= 50,000/s)\n",
	    "submit durable, group commit", (double)n / (bench_now_s() - t0), n,
	    WINDOW);
	t0 = bench_now_s();
	for (long i = 0; i < n / 50; i++) {
		bench_put(r.fd, out, bench_pack_submit(id++, mod, modlen,
		    false, out));
		frame_msg_free(bench_next_reply(&r));
	}
	printf("%-32s %9.0f /s (%ld durable jobs, each acknowledged before "
	    "the next: one commit each)\n", "submit durable, one at a time",
	    (double)(n / 50) / (bench_now_s() - t0), n / 50);
	close(r.fd);
	stop_daemon();
	free(r.buf);
	free(out);
	free(mod);
}

/* A database with as many sleeping jobs as fit in SETUP_S (at most n),
 * then the daemon's start on it. */
static void
recovery(const char *scriptd, long n)
{
	char db[96], log[96], line[4096];
	struct sc_error err = { 0 };
	struct vm_limits lim = big_limits(1);
	struct snapshot sn;
	struct store *st;
	struct sched *s;
	struct prog *p;
	struct job *j;
	uint8_t *mod;
	size_t modlen;
	double t0 = bench_now_s(), ts;
	long i;
	FILE *f;

	snprintf(db, sizeof(db), "%s/recover.db", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	p = compile_prog("let a = 1\nlet b = 2\nawait sleep(3600000)\n"
	    "println(a + b)\n", &mod, &modlen);
	if (sched_new(&lim, &s) != SC_OK)
		bench_die("out of memory");
	must(sched_submit(s, p, (uint32_t)getuid(), NULL, &j, &err), &err);
	while (sched_run(s, 1 << 20) > 0)
		;
	must(snapshot_encode(j, wall_ms() - sched_now(s), &sn, &err), &err);
	st = open_store(db, CFG_SYNC_OFF);
	for (i = 0; i < n; i++) {
		struct store_job sj = { 0 };

		must(store_alloc_job_id(st, &sj.id, &err), &err);
		sj.tenant = (uint32_t)getuid();
		sj.name = "sleeper";
		sj.created_ms = wall_ms();
		sj.started_ms = sj.created_ms;
		sj.timeout_ms = 86400000;
		sj.durable = true;
		must(store_submit(st, &sj, mod, modlen, &err), &err);
		must(store_put_snapshot(st, sj.id, sn.buf, sn.len, sn.tasks,
		    sn.ntasks, wall_ms(), &err), &err);
		if (i % 10000 == 9999) {
			commit(st);
			if (bench_now_s() - t0 > SETUP_S) {
				i++;
				break;
			}
		}
	}
	commit(st);
	store_close(st);
	snapshot_free(&sn);
	sched_free(s);
	prog_unref(p);
	free(mod);
	printf("(recovery database: %ld sleeping jobs written in %.1f s)\n",
	    i, bench_now_s() - t0);
	/* limits.max_tasks is at most 1,000,000: one task per job fits */
	ts = start_daemon(scriptd, db, i + 1000 < 1000000 ? i + 1000 : 1000000);
	printf("%-32s %9.2f s (%ld pending timers, exec to accepting; goal "
	    "<= 3 s for 1,000,000)\n", "recovery", ts, i);
	if ((f = fopen(log, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, "restored") != NULL)
				printf("  daemon: %s", strchr(line, ' ') + 1);
		fclose(f);
	}
	stop_daemon();
}

int
main(int argc, char **argv)
{
	long ntimers = argc > 2 ? atol(argv[2]) : 100000;
	long nrecover = argc > 3 ? atol(argv[3]) : 1000000;
	const char *phases = argc > 4 ? argv[4] : "timers,lateness,submit,"
	    "recovery";
	char cmd[128];

	if (argc < 2) {
		fprintf(stderr, "usage: bench_durable SCRIPTD [TIMERS] "
		    "[RECOVER] [timers,lateness,submit,recovery]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(dir, sizeof(dir), "/tmp/scriptd-bench.XXXXXX");
	if (mkdtemp(dir) == NULL)
		bench_die("mkdtemp: %s", strerror(errno));
	if (strstr(phases, "timers") != NULL)
		timers(ntimers);
	if (strstr(phases, "lateness") != NULL)
		lateness(ntimers);
	if (strstr(phases, "submit") != NULL)
		submissions(argv[1], 50000);
	if (strstr(phases, "recovery") != NULL)
		recovery(argv[1], nrecover);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_durable: could not remove %s\n", dir);
	return 0;
}
