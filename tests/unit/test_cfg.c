/*
 * Unit tests for daemon/cfg.c: the defaults, every key, every kind of error
 * with its exact message and line, FFI allow lines, *out left alone on
 * error, and the shipped systemd/scriptd.conf (as shipped and with every
 * key uncommented) matching the defaults and docs/configuration.md.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "check.h"
#include "file.h"

static char dir[64];
static char path[128];

/* Replace DIR/scriptd.conf with len bytes of text. */
static int
put(const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(text, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Write text to DIR/scriptd.conf and load it into *c. */
static int
load(const char *text, struct cfg *c, struct sc_error *err)
{
	if (put(text, strlen(text)) != 0) {
		perror(path);
		return 999;
	}
	return cfg_load(path, c, err);
}

/* Load text, expect SC_EINVAL and the message PATH:<msg>, and that *c was
 * not touched. */
#define CHECK_BAD(text, expect) do { \
	struct cfg *c_ = malloc(sizeof(*c_)), *d_ = malloc(sizeof(*d_)); \
	struct sc_error e_; \
	char want_[2 * SC_ERRMSG_MAX]; \
	cfg_defaults(c_); \
	c_->limits.fuel = 12345; \
	memcpy(d_, c_, sizeof(*c_)); \
	snprintf(want_, sizeof(want_), "%s:%s", path, expect); \
	CHECK_INT_EQ(load(text, c_, &e_), SC_EINVAL); \
	CHECK_STR_EQ(e_.msg, want_); \
	CHECK(memcmp(c_, d_, sizeof(*c_)) == 0); \
	free(c_); \
	free(d_); \
} while (0)

static void
test_defaults(void)
{
	struct cfg *c = malloc(sizeof(*c));

	cfg_defaults(c);
	CHECK_STR_EQ(c->daemon.socket, "/run/scriptd/scriptd.sock");
	CHECK_STR_EQ(c->daemon.db, "/var/lib/scriptd/scriptd.db");
	CHECK_INT_EQ(c->daemon.nadmins, 0);
	CHECK_INT_EQ(c->daemon.socket_mode, 0660);
	CHECK_INT_EQ(c->daemon.log_level, CFG_LOG_INFO);
	CHECK(c->daemon.log_timestamps);
	CHECK_INT_EQ(c->limits.max_tasks, 10000);
	CHECK_INT_EQ(c->limits.task_timeout_ms, 300000);
	CHECK_INT_EQ(c->limits.task_memory, 10 << 20);
	CHECK_INT_EQ(c->limits.handle_lifetime_ms, 3600000);
	CHECK_INT_EQ(c->limits.fuel, 10000);
	CHECK_INT_EQ(c->limits.call_depth, 200);
	CHECK_INT_EQ(c->limits.max_module_size, 4 << 20);
	CHECK_INT_EQ(c->limits.max_request_size, 8 << 20);
	CHECK_INT_EQ(c->limits.max_connections, 1024);
	CHECK_INT_EQ(c->limits.max_buffered_input, 64 << 20);
	CHECK_INT_EQ(c->limits.idle_timeout_ms, 300000);
	CHECK_INT_EQ(c->limits.frame_timeout_ms, 10000);
	CHECK_INT_EQ(c->limits.sleep_max_ms, 30LL * 86400 * 1000);
	CHECK_INT_EQ(c->limits.output_per_job, 1 << 20);
	CHECK_INT_EQ(c->tenant.max_jobs, 100);
	CHECK_INT_EQ(c->tenant.max_tasks, 1000);
	CHECK_INT_EQ(c->tenant.max_timers, 1000);
	CHECK_INT_EQ(c->tenant.max_connections, 64);
	CHECK_INT_EQ(c->tenant.max_memory, 512 << 20);
	CHECK_INT_EQ(c->tenant.spawn_rate, 1000);
	CHECK_INT_EQ(c->tenant.spawn_burst, 1000);
	CHECK_INT_EQ(c->tenant.submit_rate, 1000);
	CHECK_INT_EQ(c->tenant.submit_burst, 1000);
	CHECK_INT_EQ(c->tenant.extern_rate, 1000);
	CHECK_INT_EQ(c->tenant.extern_burst, 1000);
	CHECK_INT_EQ(c->tenant.max_handles, 256);
	CHECK_INT_EQ(c->store.synchronous, CFG_SYNC_FULL);
	CHECK_INT_EQ(c->store.retention_ms, 7LL * 86400 * 1000);
	CHECK_INT_EQ(c->store.retention_count, 10000);
	CHECK_INT_EQ(c->ffi.nallow, 0);
	CHECK_INT_EQ(c->ffi.call_timeout_ms, 2000);
	CHECK_INT_EQ(c->ffi.workers, 4);
	CHECK_INT_EQ(c->ffi.worker_memory, 256 << 20);
	CHECK_INT_EQ(c->ffi.worker_cpu_ms, 10000);
	CHECK_STR_EQ(c->ffi.user, "nobody");
	free(c);
}

/* An empty file and a file of comments give the defaults. */
static void
test_empty(void)
{
	struct cfg *c = malloc(sizeof(*c)), *d = malloc(sizeof(*d));
	struct sc_error err;

	memset(c, 0xa5, sizeof(*c));
	cfg_defaults(d);
	CHECK_INT_EQ(load("", c, &err), SC_OK);
	CHECK(cfg_equal(c, d));
	memset(c, 0xa5, sizeof(*c));
	CHECK_INT_EQ(load("# only\n; comments\n\n   \t\n[limits]\n", c,
	    &err), SC_OK);
	CHECK(cfg_equal(c, d));
	c->limits.fuel++;
	CHECK(!cfg_equal(c, d));
	free(c);
	free(d);
}

static const char every_key[] =
    "  # every key, set to something other than its default\r\n"
    "[daemon]\r\n"
    "socket = /tmp/s.sock\n"
    "db=/tmp/x.db\n"
    "admin_uids = 0, 1000 ,2000\t65534\n"
    "socket_mode = 0600\n"
    "log_level = debug\n"
    "log_timestamps = no\n"
    "[ limits ]   ; blanks inside the brackets\n"
    "max_tasks = 50\n"
    "task_timeout = 2m\n"
    "task_memory = 512k\n"
    "handle_lifetime = 1h\n"
    "fuel = 100\n"
    "call_depth = 64\n"
    "max_module_size = 1024\n"
    "max_request_size = 66K   # module + 64K at least\n"
    "max_connections = 3\n"
    "max_buffered_input = 1G\n"
    "idle_timeout = 1500s\n"
    "frame_timeout = 250ms\n"
    "sleep_max = 2d\n"
    "output_per_job = 512M\n"
    "[tenant]\n"
    "max_jobs = 1\n"
    "max_tasks = 2\n"
    "max_timers = 3\n"
    "max_connections = 2\n"
    "max_memory = 2G\n"
    "spawn_rate = 4\n"
    "spawn_burst = 5\n"
    "submit_rate = 6\n"
    "submit_burst = 7\n"
    "extern_rate = 8\n"
    "extern_burst = 9\n"
    "max_handles = 10\n"
    "[store]\n"
    "synchronous = normal\n"
    "retention_time = 90m\n"
    "retention_count = 1\n"
    "[ffi]\n"
    "allow = libm.so.6 cos (float) -> float\n"
    "call_timeout = 10ms\n"
    "workers = 256\n"
    "worker_memory = 1G\n"
    "worker_cpu = 1d\n"
    "user = _scriptd-ffi\n"
    "allow = /usr/lib/libx.so  x_open  ( string , i32,int,bool,ptr )  "
    "->  ptr\n"
    "allow = libc.so.6 abort()\n"
    "allow = libc.so.6 getpid () -> i32\n"
    "allow=libz.so.1 zlibCompileFlags() -> ()\n"
    "allow = /usr/lib/libx.so x_close (ptr) frees\n"
    "allow = /usr/lib/libx.so x_take (int, ptr) -> int frees";

static void
test_every_key(void)
{
	struct cfg *c = malloc(sizeof(*c)), *d = malloc(sizeof(*d));
	struct sc_error err;
	const struct cfg_allow *a;

	cfg_defaults(c);
	CHECK_INT_EQ(load(every_key, c, &err), SC_OK);
	if (check_failed_here)
		fprintf(stderr, "%s\n", err.msg);
	CHECK_STR_EQ(c->daemon.socket, "/tmp/s.sock");
	CHECK_STR_EQ(c->daemon.db, "/tmp/x.db");
	CHECK_INT_EQ(c->daemon.nadmins, 4);
	CHECK(c->daemon.admin_uids[0] == 0 && c->daemon.admin_uids[1] == 1000 &&
	    c->daemon.admin_uids[2] == 2000 &&
	    c->daemon.admin_uids[3] == 65534);
	CHECK_INT_EQ(c->daemon.socket_mode, 0600);
	CHECK_INT_EQ(c->daemon.log_level, CFG_LOG_DEBUG);
	CHECK(!c->daemon.log_timestamps);
	CHECK_INT_EQ(c->limits.max_tasks, 50);
	CHECK_INT_EQ(c->limits.task_timeout_ms, 120000);
	CHECK_INT_EQ(c->limits.task_memory, 512 * 1024);
	CHECK_INT_EQ(c->limits.handle_lifetime_ms, 3600000);
	CHECK_INT_EQ(c->limits.fuel, 100);
	CHECK_INT_EQ(c->limits.call_depth, 64);
	CHECK_INT_EQ(c->limits.max_module_size, 1024);
	CHECK_INT_EQ(c->limits.max_request_size, 66 * 1024);
	CHECK_INT_EQ(c->limits.max_connections, 3);
	CHECK_INT_EQ(c->limits.max_buffered_input, 1 << 30);
	CHECK_INT_EQ(c->limits.idle_timeout_ms, 1500000);
	CHECK_INT_EQ(c->limits.frame_timeout_ms, 250);
	CHECK_INT_EQ(c->limits.sleep_max_ms, 2 * 86400000LL);
	CHECK_INT_EQ(c->limits.output_per_job, 512 << 20);
	CHECK_INT_EQ(c->tenant.max_jobs, 1);
	CHECK_INT_EQ(c->tenant.max_tasks, 2);
	CHECK_INT_EQ(c->tenant.max_timers, 3);
	CHECK_INT_EQ(c->tenant.max_connections, 2);
	CHECK_INT_EQ(c->tenant.max_memory, 2LL << 30);
	CHECK_INT_EQ(c->tenant.spawn_rate, 4);
	CHECK_INT_EQ(c->tenant.spawn_burst, 5);
	CHECK_INT_EQ(c->tenant.submit_rate, 6);
	CHECK_INT_EQ(c->tenant.submit_burst, 7);
	CHECK_INT_EQ(c->tenant.extern_rate, 8);
	CHECK_INT_EQ(c->tenant.extern_burst, 9);
	CHECK_INT_EQ(c->tenant.max_handles, 10);
	CHECK_INT_EQ(c->store.synchronous, CFG_SYNC_NORMAL);
	CHECK_INT_EQ(c->store.retention_ms, 90 * 60000);
	CHECK_INT_EQ(c->store.retention_count, 1);
	CHECK_INT_EQ(c->ffi.call_timeout_ms, 10);
	CHECK_INT_EQ(c->ffi.workers, 256);
	CHECK_INT_EQ(c->ffi.worker_memory, 1LL << 30);
	CHECK_INT_EQ(c->ffi.worker_cpu_ms, 86400000);
	CHECK_STR_EQ(c->ffi.user, "_scriptd-ffi");
	CHECK_INT_EQ(c->ffi.nallow, 7);
	a = &c->ffi.allow[0];
	CHECK_STR_EQ(a->library, "libm.so.6");
	CHECK_STR_EQ(a->symbol, "cos");
	CHECK(a->nparams == 1 && a->params[0] == CT_DOUBLE);
	CHECK_INT_EQ(a->ret, CT_DOUBLE);
	CHECK_INT_EQ(a->line, 42);
	a = &c->ffi.allow[1];
	CHECK_STR_EQ(a->library, "/usr/lib/libx.so");
	CHECK_STR_EQ(a->symbol, "x_open");
	CHECK_INT_EQ(a->nparams, 5);
	CHECK(a->params[0] == CT_STRING && a->params[1] == CT_INT32 &&
	    a->params[2] == CT_INT64 && a->params[3] == CT_BOOL &&
	    a->params[4] == CT_PTR);
	CHECK_INT_EQ(a->ret, CT_PTR);
	a = &c->ffi.allow[2];
	CHECK(strcmp(a->symbol, "abort") == 0 && a->nparams == 0 &&
	    a->ret == CT_VOID);
	a = &c->ffi.allow[3];
	CHECK(strcmp(a->symbol, "getpid") == 0 && a->ret == CT_INT32);
	a = &c->ffi.allow[4];
	CHECK(strcmp(a->library, "libz.so.1") == 0 && a->ret == CT_VOID);
	CHECK(!a->frees && !c->ffi.allow[1].frees);
	a = &c->ffi.allow[5];
	CHECK(a->frees && a->ret == CT_VOID && a->nparams == 1);
	a = &c->ffi.allow[6];
	CHECK(a->frees && a->ret == CT_INT64 && a->nparams == 2);
	cfg_defaults(d);
	CHECK(!cfg_equal(c, d));
	free(c);
	free(d);
}

/* The example of the brief, at line 12, and the rest of the number and
 * string kinds. */
static void
test_value_errors(void)
{
	CHECK_BAD("[limits]\n\n\n\n\n\n\n\n\n\n\ntask_memory = 5x\n",
	    "12: limits.task_memory = 5x: not a size (use bytes or K/M/G "
	    "suffix)");
	CHECK_BAD("[limits]\ntask_memory = 5MB\n",
	    "2: limits.task_memory = 5MB: not a size (use bytes or K/M/G "
	    "suffix)");
	CHECK_BAD("[limits]\ntask_memory = 1K\n",
	    "2: limits.task_memory = 1K: out of range (64K to 4G)");
	CHECK_BAD("[limits]\ntask_memory = 99999999999999999999\n",
	    "2: limits.task_memory = 99999999999999999999: out of range "
	    "(64K to 4G)");
	CHECK_BAD("[limits]\ntask_memory = 17179869184G\n",
	    "2: limits.task_memory = 17179869184G: out of range (64K to 4G)");
	CHECK_BAD("[limits]\nfuel = lots\n",
	    "2: limits.fuel = lots: not an integer");
	CHECK_BAD("[limits]\nfuel = 10k\n",
	    "2: limits.fuel = 10k: not an integer");
	CHECK_BAD("[limits]\nfuel = 99\n",
	    "2: limits.fuel = 99: out of range (100 to 10000000)");
	CHECK_BAD("[limits]\nfuel = -5\n",
	    "2: limits.fuel = -5: out of range (100 to 10000000)");
	CHECK_BAD("[limits]\nfuel = 10000001\n",
	    "2: limits.fuel = 10000001: out of range (100 to 10000000)");
	CHECK_BAD("[limits]\ntask_timeout = 300\n",
	    "2: limits.task_timeout = 300: not a duration (use a ms, s, m, h "
	    "or d suffix)");
	CHECK_BAD("[limits]\ntask_timeout = 1.5s\n",
	    "2: limits.task_timeout = 1.5s: not a duration (use a ms, s, m, "
	    "h or d suffix)");
	CHECK_BAD("[limits]\ntask_timeout = 5 s\n",
	    "2: limits.task_timeout = 5 s: not a duration (use a ms, s, m, h "
	    "or d suffix)");
	CHECK_BAD("[limits]\ntask_timeout = 31d\n",
	    "2: limits.task_timeout = 31d: out of range (1s to 30d)");
	CHECK_BAD("[limits]\nframe_timeout = 99ms\n",
	    "2: limits.frame_timeout = 99ms: out of range (100ms to 1h)");
	CHECK_BAD("[store]\nretention_time = 59s\n",
	    "2: store.retention_time = 59s: out of range (1m to 3650d)");
	CHECK_BAD("[ffi]\nworker_cpu = 1500ms\n",
	    "2: ffi.worker_cpu = 1500ms: not a whole number of seconds");
	CHECK_BAD("[daemon]\nlog_timestamps = maybe\n",
	    "2: daemon.log_timestamps = maybe: not a boolean (use true or "
	    "false)");
	CHECK_BAD("[daemon]\nsocket_mode = 999\n",
	    "2: daemon.socket_mode = 999: not an octal mode (0000 to 0777)");
	CHECK_BAD("[daemon]\nsocket_mode = 1777\n",
	    "2: daemon.socket_mode = 1777: not an octal mode (0000 to 0777)");
	CHECK_BAD("[daemon]\nlog_level = loud\n",
	    "2: daemon.log_level = loud: not one of error, warn, info, "
	    "debug");
	CHECK_BAD("[store]\nsynchronous = FULL\n",
	    "2: store.synchronous = FULL: not one of off, normal, full, "
	    "extra");
	CHECK_BAD("[daemon]\nsocket = /tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaa\n",
	    "2: daemon.socket = /tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaa...: longer than 107 bytes (the size of a Unix "
	    "socket address)");
	CHECK_BAD("[ffi]\nuser = bad user\n",
	    "2: ffi.user = bad user: not a user name or uid");
	CHECK_BAD("[ffi]\nuser = -x\n",
	    "2: ffi.user = -x: not a user name or uid");
	CHECK_BAD("[daemon]\nadmin_uids = 0, bob, 3\n",
	    "2: daemon.admin_uids = 0, bob, 3: \"bob\" is not a uid (0 to "
	    "4294967294)");
	CHECK_BAD("[daemon]\nadmin_uids = 4294967295\n",
	    "2: daemon.admin_uids = 4294967295: \"4294967295\" is not a uid "
	    "(0 to 4294967294)");
	CHECK_BAD("[daemon]\nadmin_uids = 12x\n",
	    "2: daemon.admin_uids = 12x: \"12x\" is not a uid (0 to "
	    "4294967294)");
}

static void
test_uid_list(void)
{
	struct cfg *c = malloc(sizeof(*c));
	struct sc_error err;
	char text[1024] = "[daemon]\nadmin_uids =";

	cfg_defaults(c);
	CHECK_INT_EQ(load("[daemon]\nadmin_uids =\n", c, &err), SC_OK);
	CHECK_INT_EQ(c->daemon.nadmins, 0);
	for (int i = 0; i < 64; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    " %d", i);
	CHECK_INT_EQ(load(text, c, &err), SC_OK);
	CHECK_INT_EQ(c->daemon.nadmins, 64);
	CHECK_INT_EQ(c->daemon.admin_uids[63], 63);
	strcat(text, ",64");
	CHECK_INT_EQ(load(text, c, &err), SC_EINVAL);
	CHECK_STR_CONTAINS(err.msg, ":2: daemon.admin_uids = 0 1 2 3");
	CHECK_STR_CONTAINS(err.msg, "...: more than 64 uids");
	free(c);
}

/* Faults in the shape of a line, and in its place in the file. */
static void
test_line_errors(void)
{
	CHECK_BAD("[limits]\nfuel = 200\n# again:\nfuel = 300\n",
	    "4: limits.fuel set twice (first at line 2)");
	CHECK_BAD("[limits]\nfuel = 200\n[tenant]\nmax_tasks = 5\n[limits]\n"
	    "fuel = 300\n",
	    "6: limits.fuel set twice (first at line 2)");
	CHECK_BAD("[limits]\nfule = 200\n",
	    "2: unknown key limits.fule");
	CHECK_BAD("[limits]\nsocket = /x\n",
	    "2: unknown key limits.socket");
	CHECK_BAD("\n[limit]\n",
	    "2: unknown section [limit] (sections: daemon, limits, tenant, "
	    "store, ffi)");
	CHECK_BAD("[limits\n",
	    "1: expected ']' after the section name");
	CHECK_BAD("[limits] x\n",
	    "1: unexpected \" x\" after the section name");
	CHECK_BAD("fuel = 200\n",
	    "1: key \"fuel\" before any [section]");
	CHECK_BAD("[limits]\nfuel 200\n",
	    "2: expected `key = value` or `[section]`, got \"fuel 200\"");
	CHECK_BAD("[limits]\n = 200\n",
	    "2: missing key before '='");
	CHECK_BAD("[limits]\nfuel =   # nothing\n",
	    "2: limits.fuel: missing value");
	CHECK_BAD("[limits]\nmax_module_size = 16M\n",
	    "2: limits.max_request_size (8M) must be at least "
	    "limits.max_module_size (16M) + 64K");
	CHECK_BAD("[limits]\nmax_request_size = 4M\n\nmax_module_size = 4M\n",
	    "4: limits.max_request_size (4M) must be at least "
	    "limits.max_module_size (4M) + 64K");
	{
		static const char nul[] = "[limits]\nfuel = 1\0" "00\n";
		struct cfg *c = malloc(sizeof(*c));
		struct sc_error err;
		char want[SC_ERRMSG_MAX];

		CHECK_INT_EQ(put(nul, sizeof(nul) - 1), 0);
		CHECK_INT_EQ(cfg_load(path, c, &err), SC_EINVAL);
		snprintf(want, sizeof(want), "%s:2: NUL byte in the file",
		    path);
		CHECK_STR_EQ(err.msg, want);
		free(c);
	}
}

static void
test_missing_file(void)
{
	struct cfg *c = malloc(sizeof(*c)), *d = malloc(sizeof(*d));
	struct sc_error err;
	char p[160], want[200];

	cfg_defaults(c);
	c->ffi.workers = 7;
	memcpy(d, c, sizeof(*c));
	snprintf(p, sizeof(p), "%s/nope.conf", dir);
	CHECK_INT_EQ(cfg_load(p, c, &err), SC_EIO);
	snprintf(want, sizeof(want), "%s: No such file or directory", p);
	CHECK_STR_EQ(err.msg, want);
	CHECK(memcmp(c, d, sizeof(*c)) == 0);
	free(c);
	free(d);
}

/* A reload that fails keeps the old configuration; one that works
 * replaces all of it, so a key removed from the file is back to its
 * default. */
static void
test_reload(void)
{
	struct cfg *c = malloc(sizeof(*c)), *d = malloc(sizeof(*d));
	struct sc_error err;

	cfg_defaults(c);
	CHECK_INT_EQ(load("[limits]\nfuel = 500\n[ffi]\n"
	    "allow = libm.so.6 sin (float) -> float\n", c, &err), SC_OK);
	memcpy(d, c, sizeof(*c));
	CHECK_INT_EQ(load("[limits]\nfuel = 600\n[ffi]\nworkers = 0\n", c,
	    &err), SC_EINVAL);
	CHECK_STR_CONTAINS(err.msg, ":4: ffi.workers = 0: out of range (1 to "
	    "256)");
	CHECK(memcmp(c, d, sizeof(*c)) == 0);
	CHECK_INT_EQ(c->limits.fuel, 500);
	CHECK_INT_EQ(load("[tenant]\nmax_jobs = 5\n", c, &err), SC_OK);
	CHECK_INT_EQ(c->limits.fuel, 10000);
	CHECK_INT_EQ(c->ffi.nallow, 0);
	CHECK_INT_EQ(c->tenant.max_jobs, 5);
	free(c);
	free(d);
}

static void
test_allow_errors(void)
{
	CHECK_BAD("[ffi]\nallow = libm.so.6\n",
	    "2: ffi.allow = libm.so.6: expected LIBRARY SYMBOL (TYPES) -> "
	    "TYPE");
	CHECK_BAD("[ffi]\nallow = libm.so.6 cos\n",
	    "2: ffi.allow = libm.so.6 cos: expected '(' after the symbol");
	CHECK_BAD("[ffi]\nallow = libm.so.6 2cos (float) -> float\n",
	    "2: ffi.allow = libm.so.6 2cos (float) -> float: symbol \"2cos\" "
	    "is not a C identifier");
	CHECK_BAD("[ffi]\nallow = libm.so.6 co-s (float)\n",
	    "2: ffi.allow = libm.so.6 co-s (float): symbol \"co-s\" is not a "
	    "C identifier");
	CHECK_BAD("[ffi]\nallow = libm.so.6 cos (double) -> float\n",
	    "2: ffi.allow = libm.so.6 cos (double) -> float: unknown type "
	    "\"double\" (use int, i32, float, bool, string, ptr or ())");
	CHECK_BAD("[ffi]\nallow = libm.so.6 cos (float) -> real\n",
	    "2: ffi.allow = libm.so.6 cos (float) -> real: unknown type "
	    "\"real\" (use int, i32, float, bool, string, ptr or ())");
	CHECK_BAD("[ffi]\nallow = libm.so.6 cos (float, ) -> float\n",
	    "2: ffi.allow = libm.so.6 cos (float, ) -> float: expected a "
	    "parameter type (int, i32, float, bool, string, ptr or ())");
	CHECK_BAD("[ffi]\nallow = libm.so.6 cos (float) ->\n",
	    "2: ffi.allow = libm.so.6 cos (float) ->: expected a result type "
	    "after '->' (int, i32, float, bool, string, ptr or ())");
	CHECK_BAD("[ffi]\nallow = libc.so.6 f (()) -> int\n",
	    "2: ffi.allow = libc.so.6 f (()) -> int: () is not a parameter "
	    "type");
	CHECK_BAD("[ffi]\nallow = libm.so.6 cos (float float) -> float\n",
	    "2: ffi.allow = libm.so.6 cos (float float) -> float: expected "
	    "',' or ')' after a parameter type");
	CHECK_BAD("[ffi]\nallow = libm.so.6 cos (float -> float\n",
	    "2: ffi.allow = libm.so.6 cos (float -> float: expected ',' or "
	    "')' after a parameter type");
	CHECK_BAD("[ffi]\nallow = libm.so.6 cos (float) float\n",
	    "2: ffi.allow = libm.so.6 cos (float) float: unexpected \"float\" "
	    "after the signature (want '-> TYPE', 'frees' or the end of the "
	    "line)");
	CHECK_BAD("[ffi]\nallow = libm.so.6 cos (float) -> float float\n",
	    "2: ffi.allow = libm.so.6 cos (float) -> float float: unexpected "
	    "\"float\" after the signature (want '-> TYPE', 'frees' or the "
	    "end of the line)");
	CHECK_BAD("[ffi]\nallow = libx.so x_free (int) frees\n",
	    "2: ffi.allow = libx.so x_free (int) frees: 'frees' needs a ptr "
	    "parameter (the handle it frees)");
	CHECK_BAD("[ffi]\nallow = libx.so x_free (ptr) frees now\n",
	    "2: ffi.allow = libx.so x_free (ptr) frees now: unexpected "
	    "\"now\" after the signature (want '-> TYPE', 'frees' or the end "
	    "of the line)");
	CHECK_BAD("[ffi]\nallow = libc.so.6 f (int,int,int,int,int,int,int,"
	    "int,int,int,int,int,int,int,int,int,int)\n",
	    "2: ffi.allow = libc.so.6 f (int,int,int,int,int,int,int,int,int,"
	    "int,int,...: "
	    "more than 16 parameters");
	CHECK_BAD("[ffi]\nallow = libm.so.6 cos (float) -> float\n\n"
	    "allow = libm.so.6 cos (int) -> float\n",
	    "4: ffi.allow = libm.so.6 cos (int) -> float: libm.so.6 cos is "
	    "already allowed (line 2)");
}

static void
test_allow_cap(void)
{
	size_t cap = 300 * 40, n;
	char *text = malloc(cap);
	struct cfg *c = malloc(sizeof(*c));
	struct sc_error err;

	n = (size_t)snprintf(text, cap, "[ffi]\n");
	for (int i = 0; i < 256; i++)
		n += (size_t)snprintf(text + n, cap - n,
		    "allow = libf.so f%d (int) -> int\n", i);
	CHECK_INT_EQ(load(text, c, &err), SC_OK);
	CHECK_INT_EQ(c->ffi.nallow, 256);
	CHECK_STR_EQ(c->ffi.allow[255].symbol, "f255");
	CHECK_INT_EQ(c->ffi.allow[255].line, 257);
	snprintf(text + n, cap - n, "allow = libf.so g (int) -> int\n");
	CHECK_INT_EQ(load(text, c, &err), SC_EINVAL);
	CHECK_STR_CONTAINS(err.msg, ":258: ffi.allow = libf.so g (int) -> "
	    "int: more than 256 allow lines");
	free(text);
	free(c);
}

/* The submit-time check against the allow list. */
static void
test_allow_extern(void)
{
	struct cfg *c = malloc(sizeof(*c));
	struct sc_error err;
	uint8_t cosp[] = { CT_DOUBLE }, intp[] = { CT_INT64 };
	struct mod_extern e = { "libm.so.6", "cos", 1, cosp, CT_DOUBLE };
	char sig[64];

	cfg_defaults(c);
	CHECK_INT_EQ(load("[ffi]\nallow = libm.so.6 cos (float) -> float\n"
	    "allow = libc.so.6 abort ()\n", c, &err), SC_OK);
	CHECK(cfg_allow_find(c, "libm.so.6", "cos") == &c->ffi.allow[0]);
	CHECK(cfg_allow_find(c, "libm.so.6", "sin") == NULL);
	CHECK(cfg_allow_find(c, "libm.so", "cos") == NULL);
	CHECK_INT_EQ(cfg_allow_extern(c, &e, &err), SC_OK);
	e.params = intp;
	CHECK_INT_EQ(cfg_allow_extern(c, &e, &err), SC_EDENIED);
	CHECK_STR_EQ(err.msg, "extern \"libm.so.6\" cos (int) -> float does "
	    "not match the allowed signature (float) -> float");
	e.params = cosp;
	e.ret = CT_VOID;
	CHECK_INT_EQ(cfg_allow_extern(c, &e, &err), SC_EDENIED);
	CHECK_STR_EQ(err.msg, "extern \"libm.so.6\" cos (float) -> () does "
	    "not match the allowed signature (float) -> float");
	e.symbol = "tan";
	CHECK_INT_EQ(cfg_allow_extern(c, &e, &err), SC_EDENIED);
	CHECK_STR_EQ(err.msg, "extern \"libm.so.6\" tan (float) -> () is not "
	    "allowed by the daemon's configuration (no ffi.allow line)");
	e.library = "libc.so.6";
	e.symbol = "abort";
	e.nparams = 0;
	CHECK_INT_EQ(cfg_allow_extern(c, &e, &err), SC_OK);
	cfg_signature(intp, 1, CT_PTR, sig, sizeof(sig));
	CHECK_STR_EQ(sig, "(int) -> ptr");
	cfg_signature(NULL, 0, CT_VOID, sig, sizeof(sig));
	CHECK_STR_EQ(sig, "() -> ()");
	free(c);
}

/*
 * Every prefix of a good file, and every byte of it replaced by each of a
 * few troublesome characters: each load ends in SC_OK or SC_EINVAL with a
 * "FILE:LINE: " message, never a crash (run under ASan/UBSan in CI).
 */
static void
test_mutations(void)
{
	static const char subst[] = "=[]#;(), \n\0";
	size_t n = sizeof(every_key) - 1;
	char *text = malloc(n + 1), prefix[160];
	struct cfg *c = malloc(sizeof(*c));
	struct sc_error err;
	int bad = 0;

	snprintf(prefix, sizeof(prefix), "%s:", path);
	for (size_t i = 0; i <= n && bad < 5; i++) {
		for (size_t j = 0; j <= sizeof(subst) - 1 && bad < 5; j++) {
			size_t len = n;
			int r;

			memcpy(text, every_key, n + 1);
			if (j == sizeof(subst) - 1)
				len = i;		/* the prefix case */
			else if (i < n)
				text[i] = subst[j];
			else
				continue;
			if (put(text, len) != 0)
				break;
			cfg_defaults(c);
			r = cfg_load(path, c, &err);
			if (r != SC_OK && (r != SC_EINVAL ||
			    strncmp(err.msg, prefix, strlen(prefix)) != 0)) {
				fprintf(stderr, "byte %zu, subst %zu: %d %s\n",
				    i, j, r, err.msg);
				bad++;
			}
		}
	}
	CHECK_INT_EQ(bad, 0);
	free(text);
	free(c);
}

/*
 * The shipped file parses to the defaults, both as shipped and with every
 * "#key = value" line uncommented (so each default it shows is right), it
 * shows every key but allow, and the docs name every key.
 */
static void
test_shipped(void)
{
	struct cfg *c = malloc(sizeof(*c)), *d = malloc(sizeof(*d));
	char *text = NULL, *docs = NULL, *out, *o, name[64];
	size_t len, dlen;
	struct sc_error err;

	cfg_defaults(d);
	memset(c, 0x5a, sizeof(*c));
	CHECK_INT_EQ(cfg_load(SC_SOURCE_DIR "/systemd/scriptd.conf", c, &err),
	    SC_OK);
	CHECK(cfg_equal(c, d));
	CHECK_INT_EQ(file_read(SC_SOURCE_DIR "/systemd/scriptd.conf",
	    1 << 20, &text, &len, &err), SC_OK);
	CHECK_INT_EQ(file_read(SC_SOURCE_DIR "/docs/configuration.md",
	    1 << 20, &docs, &dlen, &err), SC_OK);
	if (text == NULL || docs == NULL)
		goto out;
	out = o = malloc(len + 1);
	for (char *l = text; *l != '\0';) {
		size_t n = strcspn(l, "\n");

		/* "#fuel = 10000" is a key; "# Instructions ..." is prose */
		if (l[0] == '#' && l[1] >= 'a' && l[1] <= 'z')
			l++, n--;
		memcpy(o, l, n);
		o += n;
		l += n;
		if (*l == '\n')
			*o++ = *l++;
	}
	*o = '\0';
	memset(c, 0x5a, sizeof(*c));
	CHECK_INT_EQ(load(out, c, &err), SC_OK);
	if (check_failed_here)
		fprintf(stderr, "%s\n", err.msg);
	CHECK(cfg_equal(c, d));
	for (size_t i = 0; cfg_key_name(i, name, sizeof(name)) != NULL; i++) {
		char line[80], quoted[80];
		const char *k = strchr(name, '.') + 1;

		snprintf(line, sizeof(line), "\n%s =", k);
		snprintf(quoted, sizeof(quoted), "`%s`", name);
		if (strcmp(name, "ffi.allow") != 0 && strstr(out, line) == NULL)
			CHECK_STR_EQ(name, "a key shown in scriptd.conf");
		if (strstr(docs, quoted) == NULL)
			CHECK_STR_EQ(quoted, "a key in configuration.md");
	}
	free(out);
out:
	free(text);
	free(docs);
	free(c);
	free(d);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_cfg.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/scriptd.conf", dir);
	RUN(test_defaults);
	RUN(test_empty);
	RUN(test_every_key);
	RUN(test_value_errors);
	RUN(test_uid_list);
	RUN(test_line_errors);
	RUN(test_missing_file);
	RUN(test_reload);
	RUN(test_allow_errors);
	RUN(test_allow_cap);
	RUN(test_allow_extern);
	RUN(test_mutations);
	RUN(test_shipped);
	unlink(path);
	rmdir(dir);
	return check_done();
}
