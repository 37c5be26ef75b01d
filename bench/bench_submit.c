/*
 * Submission throughput and latency against a real scriptd on a temporary
 * socket, next to the raw Unix socket on the same machine as the peer:
 *
 *	bench_submit SCRIPTD [JOBS]
 *
 * starts SCRIPTD with quotas raised out of the way, then measures
 * (1) ephemeral submissions of a trivial program pipelined on one
 * connection (window of WINDOW requests in flight), (2) one at a time,
 * each waiting for its acknowledgement, (3) latency from sending a Submit
 * to its acknowledgement and to the job's first output chunk (Logs with
 * follow, sent on the ack: an upper bound on submit -> first instruction
 * that includes one extra round trip), and the same frame sizes echoed by
 * a plain process over a Unix socket, pipelined and ping-pong.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include "frame.h"
#include "scriptc.h"

#define WINDOW		4096		/* pipelined requests in flight */
#define LAT_RUNS	2000		/* latency samples */

static char dir[64];

static const uint8_t *
compile(const char *src, scriptc_result **rp, size_t *lenp)
{
	const uint8_t *b = NULL;

	if (scriptc_compile(src, strlen(src), "bench.script", rp) != SC_OK ||
	    (b = scriptc_module_bytes(*rp, lenp)) == NULL)
		bench_die("cannot compile %s", src);
	return b;
}

static void
start_daemon(const char *scriptd)
{
	char conf[96], sock[96], db[96], log[96], line[4096];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/scriptd-bench.XXXXXX");
	if (mkdtemp(dir) == NULL)
		bench_die("mkdtemp: %s", strerror(errno));
	snprintf(conf, sizeof(conf), "%s/scriptd.conf", dir);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	if ((f = fopen(conf, "w")) == NULL)
		bench_die("%s: %s", conf, strerror(errno));
	fprintf(f, "[daemon]\nlog_level = warn\n[limits]\nmax_tasks = 1000000\n"
	    "[tenant]\nmax_jobs = 1000000\nmax_tasks = 1000000\n"
	    "submit_rate = 10000000\nsubmit_burst = 10000000\n"
	    "[store]\nsynchronous = off\n");
	fclose(f);
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
	/* "listening on" is logged at any level that shows info; with warn
	 * we wait for the socket to accept instead. */
	for (int i = 0; i < 400; i++) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return;
		}
		close(fd);
		if (waitpid(bench_daemon_pid, NULL, WNOHANG) ==
		    bench_daemon_pid) {
			bench_daemon_pid = -1;
			if ((f = fopen(log, "r")) != NULL) {
				while (fgets(line, sizeof(line), f))
					fputs(line, stderr);
				fclose(f);
			}
			bench_die("scriptd exited during start");
		}
		usleep(25000);
	}
	bench_die("scriptd did not listen within 10 s");
}

static void
stop_daemon(void)
{
	char cmd[128];

	if (bench_daemon_pid > 0) {
		kill(bench_daemon_pid, SIGTERM);
		waitpid(bench_daemon_pid, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_submit: could not remove %s\n", dir);
}

/* Submit n jobs with at most WINDOW in flight; submissions per second. */
static double
pipelined(struct bench_conn *r, uint64_t *id, const uint8_t *mod, size_t modlen,
    long n)
{
	uint8_t *out = malloc(256 * (modlen + 64));
	long sent = 0, got = 0;
	double t0 = bench_now_s();

	while (got < n) {
		size_t olen = 0;

		while (sent < n && sent - got < WINDOW && olen <
		    255 * (modlen + 64)) {
			olen += bench_pack_submit((*id)++, mod, modlen,
			    true, out + olen);
			sent++;
		}
		if (olen > 0)
			bench_put(r->fd, out, olen);
		do {
			frame_msg_free(bench_next_reply(r));
			got++;
		} while (got < sent && (bench_have_frame(r) ||
		    sent - got >= WINDOW));
	}
	free(out);
	return (double)n / (bench_now_s() - t0);
}

static double
one_at_a_time(struct bench_conn *r, uint64_t *id, const uint8_t *mod,
    size_t modlen, long n)
{
	uint8_t *out = malloc(modlen + 64);
	double t0 = bench_now_s();

	for (long i = 0; i < n; i++) {
		bench_put(r->fd, out, bench_pack_submit((*id)++, mod, modlen,
		    true, out));
		frame_msg_free(bench_next_reply(r));
	}
	free(out);
	return (double)n / (bench_now_s() - t0);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, double *v, int n, const char *goal)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("%-28s p50 %7.1f us  p99 %7.1f us  max %7.1f us%s%s\n", what,
	    v[n / 2] * 1e6, v[n * 99 / 100] * 1e6, v[n - 1] * 1e6,
	    goal ? "  " : "", goal ? goal : "");
}

/* Submit, then Logs with follow on the ack, until the first output. */
static void
latency(struct bench_conn *r, uint64_t *id, const uint8_t *mod, size_t modlen)
{
	static double ack[LAT_RUNS], first[LAT_RUNS];
	uint8_t out[4096];

	for (int i = 0; i < LAT_RUNS; i++) {
		Wire__Request req = WIRE__REQUEST__INIT;
		Wire__Logs lg = WIRE__LOGS__INIT;
		Wire__Reply *rep;
		double t0 = bench_now_s();
		bool done = false, seen = false;

		bench_put(r->fd, out, bench_pack_submit((*id)++, mod, modlen,
		    true, out));
		rep = bench_next_reply(r);
		ack[i] = bench_now_s() - t0;
		lg.job = rep->submit->job;
		lg.follow = true;
		frame_msg_free(rep);
		req.id = (*id)++;
		req.req_case = WIRE__REQUEST__REQ_LOGS;
		req.logs = &lg;
		bench_put(r->fd, out, bench_pack_req(&req, out));
		while (!done) {
			rep = bench_next_reply(r);
			if (!seen && rep->log->data.len > 0) {
				first[i] = bench_now_s() - t0;
				seen = true;
			}
			done = rep->log->done;
			frame_msg_free(rep);
		}
		if (!seen)
			bench_die("job printed nothing");
	}
	report("submit -> ack", ack, LAT_RUNS, NULL);
	report("submit -> first output", first, LAT_RUNS, "(goal p99 < 1 ms)");
}

/* The peer: a process echoing bytes on a Unix socket. */
static pid_t
echo_server(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (ls == -1 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(ls, 1) == -1)
		bench_die("echo socket: %s", strerror(errno));
	if ((pid = fork()) == 0) {
		static uint8_t buf[1 << 16];
		int fd = accept(ls, NULL, NULL);
		ssize_t n;

		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (write(fd, buf, (size_t)n) != n)
				break;
		_exit(0);
	}
	close(ls);
	return pid;
}

static void
raw_peer(size_t frame, long n)
{
	static double rtt[LAT_RUNS * 10];
	char path[96];
	uint8_t *buf = calloc(1, frame * WINDOW);
	pid_t pid;
	int fd;
	double t0;

	snprintf(path, sizeof(path), "%s/echo", dir);
	pid = echo_server(path);
	fd = bench_dial(path);
	for (int i = 0; i < LAT_RUNS * 10; i++) {
		size_t got = 0;

		t0 = bench_now_s();
		bench_put(fd, buf, frame);
		while (got < frame) {
			ssize_t k = read(fd, buf, frame - got);

			if (k <= 0)
				bench_die("echo read");
			got += (size_t)k;
		}
		rtt[i] = bench_now_s() - t0;
	}
	report("raw socket round trip", rtt, LAT_RUNS * 10, NULL);
	printf("%-28s %9.0f /s (one %zu-byte message at a time)\n",
	    "raw socket ping-pong", 1.0 / rtt[LAT_RUNS * 5], frame);
	/* Pipelined: WINDOW messages out, then back, n times over. */
	t0 = bench_now_s();
	for (long done = 0; done < n; done += WINDOW) {
		size_t want = frame * WINDOW, got = 0;

		bench_put(fd, buf, want);
		while (got < want) {
			ssize_t k = read(fd, buf, want - got);

			if (k <= 0)
				bench_die("echo read");
			got += (size_t)k;
		}
	}
	printf("%-28s %9.0f /s (%zu-byte messages, %d in flight)\n",
	    "raw socket pipelined", (double)n / (bench_now_s() - t0), frame,
	    WINDOW);
	close(fd);
	waitpid(pid, NULL, 0);
	free(buf);
}

int
main(int argc, char **argv)
{
	scriptc_result *triv = NULL, *printer = NULL;
	const uint8_t *tmod, *pmod;
	size_t tlen, plen;
	long jobs = argc > 2 ? atol(argv[2]) : 200000;
	uint64_t id = 2;
	uint8_t probe[4096];
	struct bench_conn r;
	char sock[96];

	if (argc < 2) {
		fprintf(stderr, "usage: bench_submit SCRIPTD [JOBS]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	tmod = compile("let x = 1\n", &triv, &tlen);
	pmod = compile("print(\"x\")\n", &printer, &plen);
	start_daemon(argv[1]);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	bench_connect(&r, sock, "bench_submit");

	/* Warm up, then measure. */
	(void)pipelined(&r, &id, tmod, tlen, 1000);
	printf("%-28s %9.0f /s (%ld ephemeral jobs, %d in flight; goal >= "
	    "100,000/s)\n", "submit pipelined",
	    pipelined(&r, &id, tmod, tlen, jobs), jobs, WINDOW);
	printf("%-28s %9.0f /s (%ld jobs, each acknowledged; goal >= "
	    "20,000/s)\n", "submit one at a time",
	    one_at_a_time(&r, &id, tmod, tlen, jobs / 10), jobs / 10);
	latency(&r, &id, pmod, plen);
	close(r.fd);
	raw_peer(bench_pack_submit(id, tmod, tlen, true, probe), jobs);
	stop_daemon();
	free(r.buf);
	scriptc_free(triv);
	scriptc_free(printer);
	return 0;
}
