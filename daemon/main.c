/*
 * scriptd. Two modes. `scriptd [--socket PATH] [--db PATH] [--config FILE]`
 * is the daemon: it serves clients on a Unix socket in the foreground and
 * logs to stderr; exit 0 after SIGTERM/SIGINT, 1 if it cannot start.
 * The daemon opens its durable store (daemon.db) and restores its jobs
 * before it listens; a store it cannot use stops the start.
 * `scriptd run FILE.script|FILE.sbc` runs one program to completion
 * in-process with the daemon's own scheduler and writes its output exactly
 * (job stdout to stdout, job stderr to stderr). Exit 0 when the job
 * completes, 1 when it fails, is cancelled or times out, 2 on usage,
 * compile or verification errors. `scriptd ffi-worker` is how the daemon
 * starts its FFI worker processes (daemon/ffiworker.c), not a user command.
 * Under systemd (daemon/sd.c) the daemon takes its socket from socket
 * activation, says READY=1 once restored and listening, keeps STATUS= up
 * to date and pings the watchdog from the loop, so a hung loop is killed.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cfg.h"
#include "ffiworker.h"
#include "file.h"
#include "log.h"
#include "loop.h"
#include "modio.h"
#include "sched.h"
#include "scriptc.h"
#include "sd.h"
#include "srv.h"
#include "verify.h"

#define SOURCE_MAX	(64u << 20)	/* largest file `run` reads */
#define RUN_SLICES	64		/* slices between timer checks */
#define STATUS_EVERY_S	2		/* seconds between STATUS checks */
#define WATCHDOG_MIN_US	20000		/* pings at most every 10 ms */

/* The daemon's systemd timers. */
struct sdstate {
	struct srv *srv;		/* the server (not owned) */
	struct sched *sched;		/* the scheduler (not owned) */
	struct event *watchdog;		/* WATCHDOG=1 every half interval */
	struct event *status;		/* STATUS= when counts change */
	char last[256];			/* the STATUS= text sent last */
};

struct run_state {
	bool done;			/* the done hook ran */
	int status;			/* enum job_status */
	char *error;			/* error text, if failed */
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: scriptd [--socket PATH] [--db PATH] "
	    "[--config FILE]\n"
	    "       scriptd run FILE.script|FILE.sbc\n"
	    "       scriptd --help | --version\n");
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Turn FILE into a verified module (*mp, freed by module_free()). Prints
 * diagnostics and returns 2 on failure.
 */
static int
load(const char *path, struct module **mp)
{
	struct sc_error err = { 0 };
	scriptc_result *r = NULL;
	const uint8_t *bytes;
	char *src;
	size_t len;
	int rc = 2;

	*mp = NULL;
	if (file_read(path, SOURCE_MAX, &src, &len, &err) != SC_OK) {
		fprintf(stderr, "scriptd: %s\n", err.msg);
		return 2;
	}
	bytes = (const uint8_t *)src;
	if (ends_with(path, ".script")) {
		if (scriptc_compile(src, len, path, &r) == SC_ENOMEM) {
			fprintf(stderr, "scriptd: %s: out of memory\n", path);
			goto out;
		}
		scriptc_print_diags(r, stderr, isatty(2));
		if ((bytes = scriptc_module_bytes(r, &len)) == NULL)
			goto out;
	}
	if (modio_decode(bytes, len, mp, &err) != SC_OK ||
	    verify_module(*mp, &err) != SC_OK) {
		fprintf(stderr, "scriptd: %s: bad module: %s\n", path, err.msg);
		module_free(*mp);
		*mp = NULL;
		goto out;
	}
	rc = 0;
out:
	scriptc_free(r);
	free(src);
	return rc;
}

static void
on_output(void *arg, int stream, const char *buf, size_t len)
{
	fwrite(buf, 1, len, stream == OUT_STDERR ? stderr : stdout);
}

static void
on_done(void *arg, struct job *j, int status, const char *error)
{
	struct run_state *rs = arg;

	rs->done = true;
	rs->status = status;
	if (error != NULL)
		rs->error = strdup(error);
}

/* Sleep until the next timer (or a job deadline) falls due. */
static void
wait_timer(struct sched *s)
{
	int64_t ms = sched_next_timer_ms(s);
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
cmd_run(int argc, char **argv)
{
	struct run_state rs = { 0 };
	struct job_hooks hooks = { on_output, on_done, &rs };
	struct sc_error err = { 0 };
	struct module *m;
	struct sched *s = NULL;
	struct prog *p = NULL;
	int rc;

	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	if ((rc = load(argv[1], &m)) != 0)
		return rc;
	if (prog_new(m, module_free, &p, &err) != SC_OK) {
		module_free(m);
		fprintf(stderr, "scriptd: %s\n", err.msg);
		return 2;
	}
	if (sched_new(NULL, &s) != SC_OK ||
	    sched_submit(s, p, (uint32_t)getuid(), &hooks, NULL, &err) !=
	    SC_OK) {
		fprintf(stderr, "scriptd: %s\n", s ? err.msg : "out of memory");
		prog_unref(p);
		sched_free(s);
		return 2;
	}
	prog_unref(p);			/* the job holds it now */
	while (!rs.done) {
		if (sched_run(s, RUN_SLICES) == 0) {
			fflush(stdout);
			wait_timer(s);
			sched_fire_timers(s, timers_now_ms());
		}
	}
	sched_free(s);
	fflush(stdout);
	if (rs.status == JOB_COMPLETED)
		return 0;
	fprintf(stderr, "error: %s\n", rs.error ? rs.error : "out of memory");
	free(rs.error);
	return 1;
}

/* A start-up failure before the log is set up; under the journal it
 * needs its priority prefix like every other line. */
static void SC_PRINTF(1, 2)
fail(const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sd_is_journal(STDERR_FILENO, getenv("JOURNAL_STREAM")))
		log_error("%s", msg);
	else
		fprintf(stderr, "scriptd: %s\n", msg);
}

/* The database's directory must exist and be writable (SQLite's -wal
 * and -shm files go next to the database). */
static int
check_db_dir(const char *db)
{
	char dir[CFG_PATH_MAX];
	const char *slash = strrchr(db, '/');
	struct stat st;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == db)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - db), db);
	if (stat(dir, &st) != 0) {
		fail("database directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0) {
		fail("database directory %s: %s", dir, !S_ISDIR(st.st_mode) ?
		    "not a directory" : strerror(errno));
		return -1;
	}
	return 0;
}

static void
status_text(const struct sdstate *sd, char *buf, size_t cap)
{
	snprintf(buf, cap, "%u live jobs, %u tasks, %u connections; %llu "
	    "submissions since start", sd->srv->jobs.nlive,
	    sched_live_tasks(sd->sched), sd->srv->nconns,
	    (unsigned long long)sd->srv->st.submits_total);
}

static void
status_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sdstate *sd = arg;
	char text[sizeof(sd->last)];

	status_text(sd, text, sizeof(text));
	if (strcmp(text, sd->last) == 0)
		return;
	memcpy(sd->last, text, sizeof(text));
	sd_notifyf("STATUS=%s", text);
}

/* Runs from the loop, so it stops when the loop hangs: that is the point. */
static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notifyf("WATCHDOG=1");
}

/*
 * Tell systemd we are ready and start the timers. A timer that cannot be
 * made is logged and skipped: the daemon serves without it (a missing
 * watchdog ping ends in a restart, which is what a failure should cost).
 */
static void
announce(struct sdstate *sd, struct event_base *base)
{
	uint64_t wd = sd_watchdog_usec();
	struct timeval tv;

	if (!sd_notify_enabled())
		return;
	status_text(sd, sd->last, sizeof(sd->last));
	sd_notifyf("READY=1\nSTATUS=%s", sd->last);
	if (wd != 0) {
		if (wd < WATCHDOG_MIN_US)	/* a 0 s persistent timer spins */
			wd = WATCHDOG_MIN_US;
		tv.tv_sec = (time_t)(wd / 2 / 1000000);
		tv.tv_usec = (suseconds_t)(wd / 2 % 1000000);
		if ((sd->watchdog = event_new(base, -1, EV_PERSIST,
		    watchdog_cb, sd)) == NULL ||
		    event_add(sd->watchdog, &tv) != 0)
			log_warn("cannot arm the watchdog timer; systemd will "
			    "restart the daemon when WatchdogSec= passes");
		else
			log_info("watchdog: pinging systemd every %llu ms",
			    (unsigned long long)(wd / 2000));
	}
	tv.tv_sec = STATUS_EVERY_S;
	tv.tv_usec = 0;
	if ((sd->status = event_new(base, -1, EV_PERSIST, status_cb,
	    sd)) == NULL || event_add(sd->status, &tv) != 0)
		log_warn("cannot arm the status timer; STATUS= stays as at "
		    "start");
}

static void
stop_timers(struct sdstate *sd)
{
	if (sd->watchdog != NULL)
		event_free(sd->watchdog);
	if (sd->status != NULL)
		event_free(sd->status);
	sd->watchdog = sd->status = NULL;
}

/* The daemon: argv holds only options. */
static int
cmd_daemon(int argc, char **argv)
{
	struct srv_opts opts = { 0 };
	struct sc_error err = { 0 };
	struct vm_limits lim;
	struct sched *s = NULL;
	struct srv *srv = NULL;
	struct loop l = { 0 };
	struct sdstate sd = { 0 };
	struct cfg *cfg;
	int rc = 1;

	/* before the first line: under journald every line has a priority */
	log_set_journal(sd_is_journal(STDERR_FILENO, getenv("JOURNAL_STREAM")));

	for (int i = 1; i < argc; i++) {
		const char **dst = strcmp(argv[i], "--socket") == 0 ?
		    &opts.socket : strcmp(argv[i], "--db") == 0 ? &opts.db :
		    strcmp(argv[i], "--config") == 0 ? &opts.config : NULL;

		if (dst == NULL || i + 1 == argc) {
			fail("%s: %s", argv[i], dst == NULL ?
			    "unknown option" : "needs a value");
			usage(stderr);
			return 2;
		}
		*dst = argv[++i];
	}
	if ((cfg = malloc(sizeof(*cfg))) == NULL) {
		fail("out of memory");
		return 1;
	}
	cfg_defaults(cfg);
	if (opts.config != NULL && cfg_load(opts.config, cfg, &err) != SC_OK) {
		fail("%s", err.msg);
		free(cfg);
		return 1;
	}
	if ((opts.socket != NULL && strlen(opts.socket) >= CFG_SOCKET_MAX) ||
	    (opts.db != NULL && strlen(opts.db) >= CFG_PATH_MAX)) {
		fail("--socket (at most %u bytes) or --db (at most %u bytes) "
		    "too long", CFG_SOCKET_MAX - 1, CFG_PATH_MAX - 1);
		free(cfg);
		return 2;
	}
	if (opts.socket != NULL)
		snprintf(cfg->daemon.socket, sizeof(cfg->daemon.socket), "%s",
		    opts.socket);
	if (opts.db != NULL)
		snprintf(cfg->daemon.db, sizeof(cfg->daemon.db), "%s", opts.db);
	if (check_db_dir(cfg->daemon.db) != 0) {
		free(cfg);
		return 1;
	}
	log_setup(cfg->daemon.log_level, cfg->daemon.log_timestamps);
	/* before srv_new: the FFI workers it spawns must not inherit them */
	if (sd_init(&err) != SC_OK) {
		log_error("%s", err.msg);
		free(cfg);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);	/* a client gone is EPIPE, not death */
	srv_vm_limits(cfg, &lim);
	if (sched_new(&lim, &s) != SC_OK) {
		free(cfg);
		log_error("out of memory");
		return 1;
	}
	if (loop_init(&l, s, &err) != SC_OK) {
		free(cfg);
		log_error("%s", err.msg);
		goto out;
	}
	if (srv_new(l.base, s, cfg, &opts, &srv, &err) != SC_OK) {
		log_error("%s", err.msg);	/* srv_new freed cfg */
		goto out;
	}
	/* recover before listening: no client sees a half-restored daemon */
	if (srv_open_store(srv, &err) != SC_OK ||
	    srv_listen(srv, &err) != SC_OK) {
		log_error("%s", err.msg);
		goto out;
	}
	sd.srv = srv;
	sd.sched = s;
	announce(&sd, l.base);
	if (loop_run(&l, srv) == SC_OK)	/* its stop sends STOPPING=1 */
		rc = 0;
	log_info("stopped");
out:
	stop_timers(&sd);
	srv_free(srv);
	sched_free(s);
	loop_free(&l);
	return rc;
}

/* Not for people: the daemon starts its FFI workers this way (ffi.c). */
static int
cmd_ffi_worker(int argc, char **argv)
{
	return ffiworker_main(FFIWORKER_FD);
}

static const struct mode {
	const char *name;		/* argv[1] */
	int (*run)(int, char **);	/* gets argv + 1 */
} modes[] = {
	{ "run", cmd_run },
	{ "ffi-worker", cmd_ffi_worker },
};

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("scriptd " SCRIPTD_VERSION "\n");
		return 0;
	}
	for (size_t i = 0; argc >= 2 && i < sizeof(modes) / sizeof(*modes);
	    i++)
		if (strcmp(argv[1], modes[i].name) == 0)
			return modes[i].run(argc - 1, argv + 1);
	if (argc >= 2 && strncmp(argv[1], "--", 2) == 0)
		return cmd_daemon(argc, argv);
	usage(stderr);
	return 2;
}
