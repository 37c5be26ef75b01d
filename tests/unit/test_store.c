/*
 * Store tests on real SQLite files in a temporary directory: schema and
 * reopen, migrations and refusals, group commit and its callbacks,
 * recovery reads, output cap, final records, retention and file size, and
 * every bad storage condition (corrupt, locked, unopenable, newer schema,
 * disk full, a failure at every SQLite step).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cfg.h"
#include "check.h"
#include "sha256.h"
#include "store.h"

static char dir[256];
static int nfile;

/* A fresh database path in the test directory. */
static const char *
newpath(char *buf, size_t size)
{
	snprintf(buf, size, "%s/db%d.sqlite", dir, ++nfile);
	return buf;
}

static int64_t
raw_int(const char *path, const char *q)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

static int
raw_exec(const char *path, const char *q)
{
	sqlite3 *db;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, q, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* SHA-256 of a whole file ("" if unreadable), to prove nothing changed. */
static void
file_hash(const char *path, uint8_t out[32])
{
	FILE *f = fopen(path, "rb");
	struct sha256_ctx c;
	char buf[4096];
	size_t n;

	sha256_init(&c);
	while (f != NULL && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		sha256_update(&c, buf, n);
	if (f != NULL)
		fclose(f);
	sha256_final(&c, out);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

static struct store *
open_ok(const char *path, const struct store_opts *o)
{
	struct sc_error err = { 0 };
	struct store *s = NULL;
	int r = store_open(path, o, &s, &err);

	if (r != SC_OK)
		fprintf(stderr, "store_open: %s\n", err.msg);
	CHECK_INT_EQ(r, SC_OK);
	return s;
}

static const uint8_t modbytes[] = "not really a module, just bytes";

/* Allocate an id and queue a job of tenant; returns its id (0 on error). */
static uint64_t
submit(struct store *s, uint32_t tenant, const char *name,
    const void *mod, size_t modlen, struct sc_error *err)
{
	struct store_job j = { 0 };
	uint64_t id;

	if (store_alloc_job_id(s, &id, err) != SC_OK)
		return 0;
	j.id = id;
	j.tenant = tenant;
	j.name = name;
	j.created_ms = 1000;
	j.timeout_ms = 300000;
	j.durable = true;
	if (store_submit(s, &j, mod, modlen, err) != SC_OK)
		return 0;
	return id;
}

struct jobs_seen {
	int n;
	uint64_t ids[64];
	char names[64][32];
	size_t snaplen[64];
	char snap[64][32];
	int status[64];
	uint64_t kept[64][2];
	uint64_t dropped[64][2];
};

static int
see_job(void *arg, const struct store_job *j, const uint8_t *snap,
    size_t len)
{
	struct jobs_seen *js = arg;

	if (js->n < 64) {
		js->ids[js->n] = j->id;
		snprintf(js->names[js->n], 32, "%s", j->name);
		js->snaplen[js->n] = len;
		snprintf(js->snap[js->n], 32, "%.*s", (int)(len < 31 ? len : 31),
		    snap != NULL ? (const char *)snap : "");
		js->status[js->n] = j->status;
		memcpy(js->kept[js->n], j->out_kept, sizeof(j->out_kept));
		memcpy(js->dropped[js->n], j->out_dropped,
		    sizeof(j->out_dropped));
	}
	js->n++;
	return SC_OK;
}

static void
test_create_reopen(void)
{
	char path[300];
	struct sc_error err;
	struct jobs_seen js = { 0 };
	struct store *s = open_ok(newpath(path, sizeof(path)), NULL);
	uint64_t a, b;

	CHECK_INT_EQ(raw_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	CHECK_INT_EQ(raw_int(path, "PRAGMA application_id"), STORE_APP_ID);
	CHECK_INT_EQ(raw_int(path, "PRAGMA auto_vacuum"), 2);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE "
	    "name IN ('meta', 'modules', 'jobs', 'snapshots', 'output', "
	    "'jobs_final')"), 6);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE "
	    "name IN ('tasks', 'timers', 'jobs_state')"), 0);
	a = submit(s, 7, "first", modbytes, sizeof(modbytes), &err);
	CHECK_INT_EQ(a, 1);
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	store_close(s);
	CHECK_INT_EQ(raw_int(path, "PRAGMA journal_mode = WAL") >= 0, 1);

	s = open_ok(path, NULL);
	CHECK_INT_EQ(store_recover_jobs(s, see_job, &js, &err), SC_OK);
	CHECK_INT_EQ(js.n, 1);
	CHECK_INT_EQ(js.ids[0], a);
	CHECK_STR_EQ(js.names[0], "first");
	CHECK_INT_EQ(js.snaplen[0], 0);
	CHECK_INT_EQ(js.status[0], -1);
	b = submit(s, 7, "second", modbytes, sizeof(modbytes), &err);
	CHECK_INT_EQ(b, 2);
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	/* one module row for two jobs: stored once by content hash */
	store_close(s);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM modules"), 1);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs"), 2);

	/* every synchronous level opens; a bad one is refused */
	for (int sync = CFG_SYNC_OFF; sync <= CFG_SYNC_EXTRA; sync++) {
		struct store_opts o;

		store_opts_default(&o);
		o.synchronous = sync;
		s = open_ok(path, &o);
		store_close(s);
	}
	{
		struct store_opts o;

		store_opts_default(&o);
		o.synchronous = 5;
		CHECK_INT_EQ(store_open(path, &o, &s, &err), SC_EINVAL);
		CHECK_STR_EQ(err.msg, "store.synchronous 5 (want 0..3)");
	}
}

static void
test_migrate_refuse(void)
{
	char path[300];
	struct sc_error err = { 0 };
	struct store *s;
	uint8_t h1[32], h2[32];

	/* a newer schema: refused, file untouched */
	s = open_ok(newpath(path, sizeof(path)), NULL);
	store_close(s);
	CHECK_INT_EQ(raw_exec(path, "PRAGMA user_version = 7"), SQLITE_OK);
	file_hash(path, h1);
	CHECK_INT_EQ(store_open(path, NULL, &s, &err), SC_ESTORE);
	CHECK(s == NULL);
	CHECK_STR_CONTAINS(err.msg, "database schema version 7 is newer than "
	    "this scriptd (version 3)");
	file_hash(path, h2);
	CHECK(memcmp(h1, h2, 32) == 0);

	/* someone else's database: refused, untouched */
	CHECK_INT_EQ(raw_exec(newpath(path, sizeof(path)),
	    "CREATE TABLE mine(x)"), SQLITE_OK);
	file_hash(path, h1);
	CHECK_INT_EQ(store_open(path, NULL, &s, &err), SC_ESTORE);
	CHECK_STR_CONTAINS(err.msg, "is not a scriptd database "
	    "(application_id 0, 1 tables)");
	file_hash(path, h2);
	CHECK(memcmp(h1, h2, 32) == 0);

	/* an empty SQLite file (version 0) migrates to ours */
	CHECK_INT_EQ(raw_exec(newpath(path, sizeof(path)),
	    "PRAGMA user_version = 0"), SQLITE_OK);
	s = open_ok(path, NULL);
	store_close(s);
	CHECK_INT_EQ(raw_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	/* reopening a current schema writes nothing */
	file_hash(path, h1);
	s = open_ok(path, NULL);
	store_close(s);
	file_hash(path, h2);
	CHECK(memcmp(h1, h2, 32) == 0);
}

/* A schema 1 database with an ended and a live job migrates to the
 * current schema keeping both, the final status moved into the job row. */
static void
test_migrate_v1(void)
{
	char path[300];
	struct sc_error err;
	struct store *s;
	struct jobs_seen js = { 0 };

	CHECK_INT_EQ(raw_exec(newpath(path, sizeof(path)),
	    "PRAGMA application_id = 1396920900;"
	    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	    "CREATE TABLE modules(id INTEGER PRIMARY KEY,"
	    " hash BLOB NOT NULL UNIQUE, bytes BLOB NOT NULL);"
	    "CREATE TABLE jobs(id INTEGER PRIMARY KEY, tenant INTEGER NOT NULL,"
	    " name TEXT NOT NULL, module BLOB NOT NULL, state INTEGER NOT NULL,"
	    " created_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL DEFAULT 0,"
	    " ended_ms INTEGER NOT NULL DEFAULT 0, timeout_ms INTEGER NOT NULL,"
	    " durable INTEGER NOT NULL, error TEXT,"
	    " out1 INTEGER NOT NULL DEFAULT 0, out2 INTEGER NOT NULL DEFAULT 0,"
	    " drop1 INTEGER NOT NULL DEFAULT 0, drop2 INTEGER NOT NULL DEFAULT 0);"
	    "CREATE TABLE snapshots(job INTEGER PRIMARY KEY,"
	    " taken_ms INTEGER NOT NULL, bytes BLOB NOT NULL);"
	    "CREATE TABLE tasks(job INTEGER NOT NULL, tid INTEGER NOT NULL,"
	    " state INTEGER NOT NULL, PRIMARY KEY(job, tid)) WITHOUT ROWID;"
	    "CREATE TABLE timers(job INTEGER NOT NULL, tid INTEGER NOT NULL,"
	    " due_ms INTEGER NOT NULL, PRIMARY KEY(job, tid)) WITHOUT ROWID;"
	    "CREATE TABLE output(seq INTEGER PRIMARY KEY, job INTEGER NOT NULL,"
	    " stream INTEGER NOT NULL, bytes BLOB NOT NULL);"
	    "CREATE TABLE finals(job INTEGER PRIMARY KEY, status INTEGER NOT NULL,"
	    " ended_ms INTEGER NOT NULL, error TEXT);"
	    "INSERT INTO meta VALUES('next_job_id', 3);"
	    "INSERT INTO jobs(id, tenant, name, module, state, created_ms,"
	    " ended_ms, timeout_ms, durable, error) VALUES"
	    " (1, 7, 'ended', x'00', 1, 10, 20, 0, 1, 'boom'),"
	    " (2, 7, 'live', x'00', 0, 11, 0, 0, 1, NULL);"
	    "INSERT INTO finals VALUES(1, 1, 20, 'boom');"
	    "PRAGMA user_version = 1;"), SQLITE_OK);
	s = open_ok(path, NULL);
	CHECK_INT_EQ(raw_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	CHECK_INT_EQ(store_list_jobs(s, see_job, &js, &err), SC_OK);
	CHECK_INT_EQ(js.n, 2);
	CHECK_INT_EQ(js.status[0], 1);
	CHECK_INT_EQ(js.status[1], -1);
	CHECK_INT_EQ(store_put_final(s, 2, 0, NULL, "[1, 2]", 30, &err), SC_OK);
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	store_close(s);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE "
	    "name = 'finals'"), 0);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs WHERE id = 2 AND "
	    "status = 0 AND result = '[1, 2]'"), 1);
}

struct acks {
	int ok;
	int failed;
	char msg[256];
};

struct timers_seen {
	int n;
	uint64_t job[16];
	uint32_t tid[16];
	int64_t due[16];
};

static int see_timer(void *arg, uint64_t job, uint32_t tid, int64_t due);
static int see_task(void *arg, uint64_t job, const struct store_task *t);

/* A schema 2 database with a sleeping job (tasks and timer rows), a job
 * without a snapshot and an ended one migrates to schema 3: the task rows
 * become the snapshot's task list, the tables and jobs_state go, and the
 * final record then drops the snapshot in its one statement. */
static void
test_migrate_v2(void)
{
	char path[300], tasks[256] = "";
	struct sc_error err;
	struct store *s;
	struct jobs_seen js = { 0 };
	struct timers_seen ts = { 0 };

	CHECK_INT_EQ(raw_exec(newpath(path, sizeof(path)),
	    "PRAGMA application_id = 1396920900;"
	    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	    "CREATE TABLE modules(id INTEGER PRIMARY KEY,"
	    " hash BLOB NOT NULL UNIQUE, bytes BLOB NOT NULL);"
	    "CREATE TABLE jobs(id INTEGER PRIMARY KEY, tenant INTEGER NOT NULL,"
	    " name TEXT NOT NULL, module BLOB NOT NULL, state INTEGER NOT NULL,"
	    " created_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL DEFAULT 0,"
	    " ended_ms INTEGER NOT NULL DEFAULT 0, timeout_ms INTEGER NOT NULL,"
	    " durable INTEGER NOT NULL, error TEXT,"
	    " out1 INTEGER NOT NULL DEFAULT 0, out2 INTEGER NOT NULL DEFAULT 0,"
	    " drop1 INTEGER NOT NULL DEFAULT 0, drop2 INTEGER NOT NULL DEFAULT 0,"
	    " status INTEGER, result TEXT);"
	    "CREATE INDEX jobs_state ON jobs(state, id);"
	    "CREATE INDEX jobs_ended ON jobs(tenant, ended_ms) WHERE state = 1;"
	    "CREATE INDEX jobs_module ON jobs(module);"
	    "CREATE TABLE snapshots(job INTEGER PRIMARY KEY,"
	    " taken_ms INTEGER NOT NULL, bytes BLOB NOT NULL);"
	    "CREATE TABLE tasks(job INTEGER NOT NULL, tid INTEGER NOT NULL,"
	    " state INTEGER NOT NULL, PRIMARY KEY(job, tid)) WITHOUT ROWID;"
	    "CREATE TABLE timers(job INTEGER NOT NULL, tid INTEGER NOT NULL,"
	    " due_ms INTEGER NOT NULL, PRIMARY KEY(job, tid)) WITHOUT ROWID;"
	    "CREATE INDEX timers_due ON timers(due_ms, job, tid);"
	    "CREATE TABLE output(seq INTEGER PRIMARY KEY, job INTEGER NOT NULL,"
	    " stream INTEGER NOT NULL, bytes BLOB NOT NULL);"
	    "CREATE INDEX output_job ON output(job, seq);"
	    "INSERT INTO meta VALUES('next_job_id', 4);"
	    "INSERT INTO jobs(id, tenant, name, module, state, created_ms,"
	    " ended_ms, timeout_ms, durable, error, status) VALUES"
	    " (1, 7, 'ended', x'00', 1, 10, 20, 0, 1, 'boom', 1),"
	    " (2, 7, 'sleeper', x'00', 0, 11, 0, 0, 1, NULL, NULL),"
	    " (3, 7, 'fresh', x'00', 0, 12, 0, 0, 1, NULL, NULL);"
	    "INSERT INTO snapshots VALUES(2, 15, x'534e4150');"
	    "INSERT INTO tasks VALUES(2, 1, 2), (2, 2, 0), (2, 4, 2);"
	    "INSERT INTO timers VALUES(2, 4, 9000), (2, 1, 7000);"
	    "PRAGMA user_version = 2;"), SQLITE_OK);
	s = open_ok(path, NULL);
	CHECK_INT_EQ(raw_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE "
	    "name IN ('tasks', 'timers', 'timers_due', 'jobs_state')"), 0);
	CHECK_INT_EQ(raw_int(path, "SELECT due_ms FROM snapshots WHERE job = 2"),
	    7000);
	CHECK_INT_EQ(store_list_jobs(s, see_job, &js, &err), SC_OK);
	CHECK_INT_EQ(js.n, 3);
	CHECK_INT_EQ(js.status[0], 1);
	CHECK_STR_EQ(js.snap[1], "SNAP");
	CHECK_INT_EQ(js.snaplen[2], 0);
	CHECK_INT_EQ(store_recover_tasks(s, see_task, tasks, &err), SC_OK);
	CHECK_STR_EQ(tasks, "2/1:2:7000 2/2:0:-1 2/4:2:9000 ");
	CHECK_INT_EQ(store_recover_timers(s, see_timer, &ts, &err), SC_OK);
	CHECK_INT_EQ(ts.n, 2);
	CHECK_INT_EQ(ts.tid[0], 1);
	CHECK_INT_EQ(ts.due[0], 7000);
	CHECK_INT_EQ(ts.tid[1], 4);
	CHECK_INT_EQ(ts.due[1], 9000);
	CHECK_INT_EQ(store_put_final(s, 2, 0, NULL, "3", 30, &err), SC_OK);
	CHECK_INT_EQ(store_put_final(s, 1, 0, NULL, NULL, 30, &err),
	    SC_ENOTFOUND);
	CHECK_STR_EQ(err.msg, "no live job 1 in the store (a job has exactly "
	    "one final record)");
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	store_close(s);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM snapshots"), 0);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs WHERE id = 2 AND "
	    "state = 1 AND status = 0 AND result = '3'"), 1);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs WHERE id = 1 AND "
	    "status = 1 AND error = 'boom'"), 1);
}

static void
ack(void *arg, int status, const struct sc_error *err)
{
	struct acks *a = arg;

	if (status == SC_OK)
		a->ok++;
	else {
		a->failed++;
		snprintf(a->msg, sizeof(a->msg), "%s", err->msg);
	}
}

static void
test_group_commit(void)
{
	char path[300];
	struct sc_error err;
	struct acks a = { 0 };
	struct store *s = open_ok(newpath(path, sizeof(path)), NULL);
	uint64_t seq = store_batch_seq(s);

	CHECK_INT_EQ(store_durable_seq(s), 0);
	for (int i = 0; i < 1000; i++) {
		CHECK(submit(s, 1, "j", modbytes, sizeof(modbytes), &err) != 0);
		CHECK_INT_EQ(store_on_commit(s, ack, &a, &err), SC_OK);
	}
	CHECK_INT_EQ(store_batch_seq(s), seq);
	CHECK(store_in_batch(s));
	/* nothing is visible (or acknowledged) before the commit */
	CHECK_INT_EQ(a.ok, 0);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs"), 0);
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	CHECK_INT_EQ(a.ok, 1000);
	CHECK_INT_EQ(a.failed, 0);
	CHECK_INT_EQ(store_durable_seq(s), seq);	/* one transaction */
	CHECK_INT_EQ(store_batch_seq(s), seq + 1);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs"), 1000);
	CHECK_INT_EQ(raw_int(path, "SELECT value FROM meta WHERE key = "
	    "'next_job_id'"), 1001);
	CHECK(!store_in_batch(s));
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);	/* empty: no-op */
	CHECK_INT_EQ(store_durable_seq(s), seq);

	/* closing with a batch open loses it and says so */
	CHECK(submit(s, 1, "lost", modbytes, sizeof(modbytes), &err) != 0);
	CHECK_INT_EQ(store_on_commit(s, ack, &a, &err), SC_OK);
	store_close(s);
	CHECK_INT_EQ(a.failed, 1);
	CHECK_STR_CONTAINS(a.msg, "closed before the batch committed");
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs"), 1000);
	/* the lost id is not reused */
	s = open_ok(path, NULL);
	CHECK_INT_EQ(submit(s, 1, "next", modbytes, sizeof(modbytes), &err),
	    1001);
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	store_close(s);
}

static int
see_timer(void *arg, uint64_t job, uint32_t tid, int64_t due)
{
	struct timers_seen *ts = arg;

	if (ts->n < 16) {
		ts->job[ts->n] = job;
		ts->tid[ts->n] = tid;
		ts->due[ts->n] = due;
	}
	ts->n++;
	return SC_OK;
}

static int
see_task(void *arg, uint64_t job, const struct store_task *t)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 256 - n, "%llu/%u:%d:%lld ", (unsigned long long)job,
	    t->tid, t->state, (long long)t->due_ms);
	return SC_OK;
}

static void
test_recovery(void)
{
	char path[300], tasks[256] = "";
	struct sc_error err;
	struct jobs_seen js = { 0 };
	struct timers_seen ts = { 0 };
	struct store *s = open_ok(newpath(path, sizeof(path)), NULL);
	struct store_task t1[] = { { 0, 2, 5000 }, { 1, 2, 3000 } };
	struct store_task t2[] = { { 0, 2, 4000 }, { 3, 0, -1 } };
	struct store_task t3[] = { { 0, 2, 1000 } };
	uint64_t a, b, c;

	a = submit(s, 1, "a", modbytes, sizeof(modbytes), &err);
	b = submit(s, 2, "b", "other", 5, &err);
	c = submit(s, 1, "c", modbytes, sizeof(modbytes), &err);
	CHECK_INT_EQ(store_put_snapshot(s, a, (const uint8_t *)"snapA", 5, t1,
	    2, 10, &err), SC_OK);
	CHECK_INT_EQ(store_put_snapshot(s, b, (const uint8_t *)"old", 3, t3, 1,
	    10, &err), SC_OK);
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	/* a later snapshot replaces the job's rows */
	CHECK_INT_EQ(store_put_snapshot(s, b, (const uint8_t *)"snapB", 5, t2,
	    2, 20, &err), SC_OK);
	CHECK_INT_EQ(store_put_snapshot(s, c, (const uint8_t *)"snapC", 5, t3,
	    1, 20, &err), SC_OK);
	CHECK_INT_EQ(store_put_final(s, c, 0, NULL, "30", 30, &err), SC_OK);
	CHECK_INT_EQ(store_start_job(s, a, 12, &err), SC_OK);
	CHECK_INT_EQ(store_start_job(s, 99, 12, &err), SC_ENOTFOUND);
	CHECK_STR_EQ(err.msg, "no live job 99 in the store");
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	store_close(s);

	s = open_ok(path, NULL);
	CHECK_INT_EQ(store_recover_jobs(s, see_job, &js, &err), SC_OK);
	CHECK_INT_EQ(js.n, 2);
	CHECK_INT_EQ(js.ids[0], a);
	CHECK_STR_EQ(js.snap[0], "snapA");
	CHECK_INT_EQ(js.ids[1], b);
	CHECK_STR_EQ(js.snap[1], "snapB");
	CHECK_INT_EQ(store_recover_timers(s, see_timer, &ts, &err), SC_OK);
	CHECK_INT_EQ(ts.n, 3);
	CHECK_INT_EQ(ts.due[0], 3000);
	CHECK_INT_EQ(ts.tid[0], 1);
	CHECK_INT_EQ(ts.due[1], 4000);
	CHECK_INT_EQ(ts.job[1], b);
	CHECK_INT_EQ(ts.due[2], 5000);
	CHECK_INT_EQ(store_recover_tasks(s, see_task, tasks, &err), SC_OK);
	CHECK_STR_EQ(tasks, "1/0:2:5000 1/1:2:3000 2/0:2:4000 2/3:0:-1 ");
	memset(&js, 0, sizeof(js));
	CHECK_INT_EQ(store_get_job(s, c, see_job, &js, &err), SC_OK);
	CHECK_INT_EQ(js.status[0], 0);
	CHECK_INT_EQ(store_get_job(s, 42, see_job, &js, &err), SC_ENOTFOUND);
	CHECK_STR_EQ(err.msg, "no job 42 in the store");
	/* exactly one final record */
	CHECK_INT_EQ(store_put_final(s, c, 1, "again", NULL, 40, &err), SC_ENOTFOUND);
	CHECK_STR_CONTAINS(err.msg, "no live job 3 in the store (a job has "
	    "exactly one final record)");
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	{
		uint8_t *buf;
		size_t len;
		uint8_t h[32];

		sha256("other", 5, h);
		CHECK_INT_EQ(store_get_module(s, h, &buf, &len, &err), SC_OK);
		CHECK_INT_EQ(len, 5);
		CHECK(buf != NULL && memcmp(buf, "other", 5) == 0);
		free(buf);
		h[0] ^= 1;
		CHECK_INT_EQ(store_get_module(s, h, &buf, &len, &err),
		    SC_ENOTFOUND);
		CHECK_STR_CONTAINS(err.msg, "is not in the store");
	}
	store_close(s);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs WHERE state = 1 "
	    "AND status = 0 AND result = '30'"), 1);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM snapshots"), 2);
}

/* Groups: a start time rides along with the final record or comes before
 * the snapshot; a held start of a missing job is reported by the next
 * write; an undone group leaves nothing; a group failing after a write
 * kept without a savepoint loses its whole batch; a corrupt task list is
 * refused with the job's id. */
static void
test_groups(void)
{
	char path[300];
	struct sc_error err;
	struct acks a = { 0 };
	struct store *s = open_ok(newpath(path, sizeof(path)), NULL);
	struct store_task t = { 1, 2, 5000 };
	uint64_t j1, j2, j3, j4;
	int r;

	j1 = submit(s, 1, "one", modbytes, sizeof(modbytes), &err);
	j2 = submit(s, 1, "two", modbytes, sizeof(modbytes), &err);
	j3 = submit(s, 1, "three", modbytes, sizeof(modbytes), &err);
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	CHECK_INT_EQ(store_group_begin(s, &err), SC_OK);
	CHECK_INT_EQ(store_start_job(s, j1, 1500, &err), SC_OK);
	CHECK_INT_EQ(store_put_final(s, j1, 0, NULL, NULL, 1600, &err), SC_OK);
	CHECK_INT_EQ(store_group_end(s, SC_OK, &err), SC_OK);
	CHECK_INT_EQ(store_group_begin(s, &err), SC_OK);
	CHECK_INT_EQ(store_start_job(s, j2, 1700, &err), SC_OK);
	CHECK_INT_EQ(store_put_output(s, j2, 1, "hi", 2, &err), SC_OK);
	CHECK_INT_EQ(store_put_snapshot(s, j2, (const uint8_t *)"S", 1, &t, 1,
	    1800, &err), SC_OK);
	CHECK_INT_EQ(store_group_end(s, SC_OK, &err), SC_OK);
	CHECK_INT_EQ(store_group_begin(s, &err), SC_OK);
	CHECK_INT_EQ(store_start_job(s, 99, 1, &err), SC_OK);
	r = store_put_snapshot(s, 99, (const uint8_t *)"S", 1, &t, 1, 1, &err);
	CHECK_INT_EQ(r, SC_ENOTFOUND);
	CHECK_STR_EQ(err.msg, "no live job 99 in the store");
	CHECK_INT_EQ(store_group_end(s, r, &err), SC_ENOTFOUND);
	CHECK_INT_EQ(store_group_begin(s, &err), SC_OK);
	CHECK_INT_EQ(store_put_output(s, j3, 1, "x", 1, &err), SC_OK);
	r = store_put_final(s, j3, 9, NULL, NULL, 1900, &err);
	CHECK_INT_EQ(r, SC_EINVAL);
	CHECK_STR_EQ(err.msg, "final status 9 (want 0..3)");
	CHECK_INT_EQ(store_group_end(s, r, &err), SC_EINVAL);
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs WHERE id = 1 AND "
	    "state = 1 AND started_ms = 1500 AND ended_ms = 1600"), 1);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs WHERE id = 2 AND "
	    "state = 0 AND started_ms = 1700 AND out1 = 2"), 1);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM snapshots WHERE job = 2"
	    " AND tasks = '1 2 5000' AND due_ms = 5000 AND taken_ms = 1800"), 1);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM output WHERE job = 3"),
	    0);

	/* a held start written before a snapshot that fails: the group
	 * goes, the rest of the batch stays */
	j4 = submit(s, 1, "four", modbytes, sizeof(modbytes), &err);
	CHECK_INT_EQ(store_on_commit(s, ack, &a, &err), SC_OK);
	CHECK_INT_EQ(store_group_begin(s, &err), SC_OK);
	CHECK_INT_EQ(store_start_job(s, j3, 2100, &err), SC_OK);
	store_fault_set(3);		/* savepoint, start, snapshot */
	r = store_put_snapshot(s, j3, (const uint8_t *)"S", 1, &t, 1, 2200,
	    &err);
	store_fault_set(0);
	CHECK_INT_EQ(r, SC_ESTORE);
	CHECK_STR_CONTAINS(err.msg, "storing a snapshot failed: disk I/O error");
	CHECK_INT_EQ(store_group_end(s, r, &err), SC_ESTORE);
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	CHECK_INT_EQ(a.ok, 1);
	a.ok = 0;
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs WHERE id = 3 AND "
	    "started_ms = 0"), 1);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM snapshots WHERE "
	    "job = 3"), 0);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs WHERE id = 4"), 1);

	/* the final record kept bare, then a failing write: all goes */
	j4 = submit(s, 1, "five", modbytes, sizeof(modbytes), &err);
	CHECK_INT_EQ(j4, 5);
	CHECK_INT_EQ(store_on_commit(s, ack, &a, &err), SC_OK);
	CHECK_INT_EQ(store_group_begin(s, &err), SC_OK);
	CHECK_INT_EQ(store_put_final(s, j3, 0, NULL, NULL, 2000, &err), SC_OK);
	r = store_put_output(s, 99, 1, "y", 1, &err);
	CHECK_INT_EQ(r, SC_ENOTFOUND);
	CHECK_INT_EQ(store_group_end(s, r, &err), SC_ENOTFOUND);
	CHECK(store_commit(s, &err) != SC_OK);
	CHECK_INT_EQ(a.failed, 1);
	CHECK_STR_EQ(a.msg, "no job 99 in the store");
	store_close(s);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs WHERE id = 3 AND "
	    "state = 0"), 1);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs WHERE id = 5"), 0);

	/* a task list that is not numbers is named, not trusted */
	CHECK_INT_EQ(raw_exec(path, "UPDATE snapshots SET tasks = '1 2 x' "
	    "WHERE job = 2"), SQLITE_OK);
	s = open_ok(path, NULL);
	{
		struct timers_seen ts = { 0 };

		CHECK_INT_EQ(store_recover_timers(s, see_timer, &ts, &err),
		    SC_ESTORE);
		CHECK_STR_CONTAINS(err.msg, "is corrupt (the task list of job 2 "
		    "is not \"tid state due\" numbers at byte 4)");
		CHECK_INT_EQ(ts.n, 0);
	}
	store_close(s);
}

static int
cat_output(void *arg, uint64_t seq, int stream, const uint8_t *buf,
    size_t len)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 256 - n, "%d:%.*s|", stream, (int)len,
	    (const char *)buf);
	return SC_OK;
}

static void
test_output_cap(void)
{
	char path[300], out[256] = "";
	struct sc_error err;
	struct jobs_seen js = { 0 };
	struct store_opts o;
	struct store *s;
	uint64_t a;

	store_opts_default(&o);
	o.output_max = 12;
	s = open_ok(newpath(path, sizeof(path)), &o);
	a = submit(s, 1, "a", modbytes, sizeof(modbytes), &err);
	CHECK_INT_EQ(store_put_output(s, a, 1, "hello", 5, &err), SC_OK);
	CHECK_INT_EQ(store_put_output(s, a, 2, "oops", 4, &err), SC_OK);
	CHECK_INT_EQ(store_put_output(s, a, 1, "world", 5, &err), SC_OK);
	CHECK_INT_EQ(store_put_output(s, a, 1, "again", 5, &err), SC_OK);
	CHECK_INT_EQ(store_put_output(s, a, 1, "more", 4, &err), SC_OK);
	CHECK_INT_EQ(store_put_output(s, a, 3, "x", 1, &err), SC_EINVAL);
	CHECK_STR_EQ(err.msg, "output stream 3 (want 1 or 2)");
	CHECK_INT_EQ(store_put_output(s, 77, 1, "x", 1, &err), SC_ENOTFOUND);
	CHECK_STR_EQ(err.msg, "no job 77 in the store");
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	CHECK_INT_EQ(store_read_output(s, a, 0, cat_output, out, &err), SC_OK);
	CHECK_STR_EQ(out, "1:hello|2:oops|1:world|1:ag|");
	CHECK_INT_EQ(store_get_job(s, a, see_job, &js, &err), SC_OK);
	CHECK_INT_EQ(js.kept[0][0], 12);
	CHECK_INT_EQ(js.dropped[0][0], 7);
	CHECK_INT_EQ(js.kept[0][1], 4);
	CHECK_INT_EQ(js.dropped[0][1], 0);
	/* reading after a sequence number (logs --follow) */
	out[0] = '\0';
	CHECK_INT_EQ(store_read_output(s, a, 2, cat_output, out, &err), SC_OK);
	CHECK_STR_EQ(out, "1:world|1:ag|");
	store_close(s);
}

/* End `n` jobs of tenant at ended_ms each (output and a module each). */
static void
ended_jobs(struct store *s, uint32_t tenant, int n, int64_t ended,
    size_t outlen)
{
	struct sc_error err;
	static char big[64 << 10];
	static int serial;

	memset(big, 'x', sizeof(big));
	for (int i = 0; i < n; i++) {
		char mod[64];
		uint64_t id;

		snprintf(mod, sizeof(mod), "module %d", serial++);
		id = submit(s, tenant, "r", mod, strlen(mod), &err);
		CHECK(id != 0);
		CHECK_INT_EQ(store_put_output(s, id, 1, big, outlen, &err),
		    SC_OK);
		CHECK_INT_EQ(store_put_final(s, id, 0, NULL, NULL, ended, &err),
		    SC_OK);
	}
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
}

static void
test_retention(void)
{
	char path[300];
	struct sc_error err;
	struct store_opts o;
	struct store *s;
	uint32_t n;

	store_opts_default(&o);
	o.retention_count = 3;
	o.retention_ms = 1000;
	s = open_ok(newpath(path, sizeof(path)), &o);
	ended_jobs(s, 1, 5, 10000, 100);	/* tenant 1: 5 */
	ended_jobs(s, 2, 2, 10000, 100);	/* tenant 2: 2 */
	CHECK(submit(s, 1, "live", modbytes, sizeof(modbytes), &err) != 0);
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	/* by count: tenant 1 keeps its 3 newest, tenant 2 keeps both */
	CHECK_INT_EQ(store_retain(s, 10500, 100, &n, &err), SC_OK);
	CHECK_INT_EQ(n, 2);
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs"), 6);
	CHECK_INT_EQ(raw_int(path, "SELECT min(id) FROM jobs"), 3);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM output"), 5);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs WHERE state = 1"),
	    5);
	/* the live job's module stays; 5 ended ones kept theirs */
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM modules"), 6);
	/* by time: everything ended is past 1 s at 11001; live job stays */
	CHECK_INT_EQ(store_retain(s, 11001, 2, &n, &err), SC_OK);
	CHECK_INT_EQ(n, 2);			/* bounded per call */
	CHECK_INT_EQ(store_retain(s, 11001, 100, &n, &err), SC_OK);
	CHECK_INT_EQ(n, 3);
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs"), 1);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM modules"), 1);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM output"), 0);
	store_close(s);
}

static void
test_file_bounded(void)
{
	char path[300], wal[320];
	struct sc_error err;
	struct store_opts o;
	struct store *s;
	off_t early = 0, late;
	uint32_t n;

	store_opts_default(&o);
	o.retention_count = 10;
	s = open_ok(newpath(path, sizeof(path)), &o);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	for (int cycle = 0; cycle < 40; cycle++) {
		ended_jobs(s, 1, 20, 1000 + cycle, 32 << 10);
		CHECK_INT_EQ(store_retain(s, 2000, 1000, &n, &err), SC_OK);
		CHECK_INT_EQ(n, cycle == 0 ? 10 : 20);
		CHECK_INT_EQ(store_commit(s, &err), SC_OK);
		if (cycle == 9)
			early = file_size(path) + file_size(wal);
	}
	late = file_size(path) + file_size(wal);
	/* 30 more cycles wrote 19 MiB of output; the files did not grow
	 * beyond noise: freed pages were reused and returned */
	CHECK(early > 0);
	if (late > early + (early / 4))
		fprintf(stderr, "file grew: %lld -> %lld\n", (long long)early,
		    (long long)late);
	CHECK(late <= early + early / 4);
	store_close(s);
	CHECK(file_size(path) < (4 << 20));
}

static void
test_corrupt(void)
{
	char path[300];
	struct sc_error err = { 0 };
	struct jobs_seen js = { 0 };
	struct store *s;
	uint8_t h1[32], h2[32], junk[8192];
	FILE *f;

	/* garbage from the first byte */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 7919 + 13);
	f = fopen(newpath(path, sizeof(path)), "wb");
	fwrite(junk, 1, sizeof(junk), f);
	fclose(f);
	file_hash(path, h1);
	CHECK_INT_EQ(store_open(path, NULL, &s, &err), SC_ESTORE);
	CHECK(s == NULL);
	CHECK_STR_CONTAINS(err.msg, "is corrupt (file is not a database)");
	CHECK_STR_CONTAINS(err.msg, "it was not modified, restore it from a "
	    "backup");
	file_hash(path, h2);
	CHECK(memcmp(h1, h2, 32) == 0);

	/* a real database whose pages after the first are garbage */
	s = open_ok(newpath(path, sizeof(path)), NULL);
	for (int i = 0; i < 50; i++)
		CHECK(submit(s, 1, "x", modbytes, sizeof(modbytes), &err));
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	store_close(s);
	f = fopen(path, "r+b");
	fseek(f, 4096, SEEK_SET);
	for (int i = 0; i < 4; i++)
		fwrite(junk, 1, sizeof(junk), f);
	fclose(f);
	file_hash(path, h1);
	if (store_open(path, NULL, &s, &err) == SC_OK) {
		CHECK_INT_EQ(store_recover_jobs(s, see_job, &js, &err),
		    SC_ESTORE);
		store_close(s);
	}
	CHECK_STR_CONTAINS(err.msg, "is corrupt");
	file_hash(path, h2);
	CHECK(memcmp(h1, h2, 32) == 0);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_locked(void)
{
	char path[300];
	struct sc_error err = { 0 };
	struct store_opts o;
	struct store *s;
	sqlite3 *other;
	int64_t t0;

	store_opts_default(&o);
	o.busy_ms = 50;
	s = open_ok(newpath(path, sizeof(path)), &o);
	store_close(s);
	/* another process holds an exclusive lock: fail fast at open */
	CHECK_INT_EQ(sqlite3_open(path, &other), SQLITE_OK);
	CHECK_INT_EQ(sqlite3_exec(other, "PRAGMA locking_mode = EXCLUSIVE; "
	    "BEGIN EXCLUSIVE; INSERT INTO meta VALUES('x', 1)", NULL, NULL,
	    NULL), SQLITE_OK);
	t0 = mono_ms();
	CHECK_INT_EQ(store_open(path, &o, &s, &err), SC_ESTORE);
	CHECK(mono_ms() - t0 < 2000);
	CHECK_STR_CONTAINS(err.msg, "is locked by another process holding a "
	    "write lock (a sqlite3 shell? a backup?)");
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);

	/* a writer appears while we run: the batch fails, not hangs */
	s = open_ok(path, &o);
	CHECK_INT_EQ(sqlite3_open(path, &other), SQLITE_OK);
	CHECK_INT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	t0 = mono_ms();
	CHECK_INT_EQ(submit(s, 1, "x", modbytes, sizeof(modbytes), &err), 0);
	CHECK(mono_ms() - t0 < 2000);
	CHECK_STR_CONTAINS(err.msg, "is locked by another process");
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	CHECK(submit(s, 1, "x", modbytes, sizeof(modbytes), &err) != 0);
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	store_close(s);
}

static void
test_unopenable(void)
{
	char path[400], file[300];
	struct sc_error err = { 0 };
	struct store *s;
	FILE *f;

	/* the parent is a regular file: fails for root too */
	snprintf(file, sizeof(file), "%s/plainfile", dir);
	f = fopen(file, "w");
	fputs("x", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/db.sqlite", file);
	CHECK_INT_EQ(store_open(path, NULL, &s, &err), SC_ESTORE);
	CHECK(s == NULL);
	CHECK_STR_CONTAINS(err.msg, "cannot open database ");
	CHECK_STR_CONTAINS(err.msg, "plainfile/db.sqlite: unable to open "
	    "database file");
	/* the path is a directory */
	CHECK_INT_EQ(store_open(dir, NULL, &s, &err), SC_ESTORE);
	CHECK_STR_CONTAINS(err.msg, "cannot open database");
	CHECK_INT_EQ(file_size(file), 1);
}

static void
test_disk_full(void)
{
	char path[300], mod[2000];
	struct sc_error err = { 0 };
	struct jobs_seen js = { 0 };
	struct store_opts o;
	struct store *s;
	int n = 0, r = SC_OK;
	uint64_t first = 0, id;

	store_opts_default(&o);
	o.max_pages = 64;
	s = open_ok(newpath(path, sizeof(path)), &o);
	first = submit(s, 1, "running", modbytes, sizeof(modbytes), &err);
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	memset(mod, 'm', sizeof(mod));
	while (n < 1000) {
		struct store_job j = { .tenant = 1, .name = "fill" };

		snprintf(mod, 20, "%d", n);
		if ((r = store_alloc_job_id(s, &id, &err)) != SC_OK)
			break;
		j.id = id;
		if ((r = store_submit(s, &j, (uint8_t *)mod, sizeof(mod),
		    &err)) != SC_OK)
			break;
		n++;
		if ((r = store_commit(s, &err)) != SC_OK)
			break;
	}
	CHECK_INT_EQ(r, SC_ESTORE);
	CHECK(n > 10 && n < 1000);
	CHECK_STR_CONTAINS(err.msg, "disk full: submission refused, the "
	    "database ");
	CHECK_STR_CONTAINS(err.msg, "is at its size limit (");
	CHECK_STR_CONTAINS(err.msg, "of 64 pages in use; running jobs go on)");
	/* the batch lives on: what was stored is readable, the running job
	 * still writes small things, and the refused item left nothing */
	r = store_put_output(s, first, 1, "still here", 10, &err);
	if (r != SC_OK)
		fprintf(stderr, "%s\n", err.msg);
	CHECK_INT_EQ(r, SC_OK);
	CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	CHECK_INT_EQ(store_recover_jobs(s, see_job, &js, &err), SC_OK);
	CHECK_INT_EQ(js.n, n + 1);
	CHECK_INT_EQ(js.kept[0][0], 10);
	/* a write that does hit the limit loses its whole batch, and the
	 * batch's callbacks say why; the next batch works */
	{
		static char big[256 << 10];
		struct acks a = { 0 };

		CHECK_INT_EQ(store_on_commit(s, ack, &a, &err), SC_OK);
		CHECK_INT_EQ(store_put_output(s, first, 2, big, sizeof(big),
		    &err), SC_ESTORE);
		CHECK_STR_CONTAINS(err.msg, "disk full: storing output failed, "
		    "the database ");
		CHECK_STR_CONTAINS(err.msg, "cannot grow (database or disk is "
		    "full)");
		CHECK_INT_EQ(store_commit(s, &err), SC_ESTORE);
		CHECK_INT_EQ(a.failed, 1);
		CHECK_STR_CONTAINS(a.msg, "disk full: storing output failed");
		CHECK_INT_EQ(store_put_output(s, first, 1, "!", 1, &err), SC_OK);
		CHECK_INT_EQ(store_commit(s, &err), SC_OK);
	}
	store_close(s);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM modules"), n + 1);
}

/* A submission, snapshot, output and final with a failure at SQLite step n:
 * every outcome is a clean error, and the file holds whole items only. */
static void
test_faults(void)
{
	char path[300];
	struct store_task t = { 0, 2, 100 };
	int n, done = 0;

	for (n = 1; n < 200 && !done; n++) {
		struct sc_error err = { 0 };
		struct acks a = { 0 };
		struct store *s = NULL;
		uint64_t id = 0;
		int r;

		newpath(path, sizeof(path));
		store_fault_set(n);
		r = store_open(path, NULL, &s, &err);
		if (r == SC_OK) {
			id = submit(s, 1, "f", modbytes, sizeof(modbytes), &err);
			r = id != 0 ? SC_OK : SC_ESTORE;
		}
		if (r == SC_OK)
			r = store_on_commit(s, ack, &a, &err);
		if (r == SC_OK)
			r = store_put_snapshot(s, id, (uint8_t *)"s", 1, &t, 1,
			    5, &err);
		if (r == SC_OK)
			r = store_put_output(s, id, 1, "out", 3, &err);
		if (r == SC_OK)
			r = store_put_final(s, id, 0, NULL, NULL, 9, &err);
		if (r == SC_OK)
			r = store_commit(s, &err);
		if (r != SC_OK) {
			CHECK_INT_EQ(r, SC_ESTORE);
			CHECK_STR_CONTAINS(err.msg, "disk I/O error");
		} else
			done = 1;
		store_close(s);
		store_fault_set(0);
		CHECK_INT_EQ(a.ok + a.failed, s != NULL && id != 0 ? 1 : 0);
		CHECK_INT_EQ(a.ok, done);
		/* whole items only: no job without its final, no orphans */
		if (raw_int(path, "PRAGMA user_version") ==
		    STORE_SCHEMA_VERSION) {
			int64_t jobs = raw_int(path, "SELECT count(*) FROM jobs");

			CHECK_INT_EQ(jobs, done);
			CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM jobs "
			    "WHERE state = 1 AND status = 0"), done);
			CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM output"),
			    done);
			CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM "
			    "snapshots"), 0);
		} else
			CHECK_INT_EQ(raw_int(path, "PRAGMA user_version"), 0);
	}
	CHECK(done);
	CHECK(n > 10);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_store.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_create_reopen);
	RUN(test_migrate_refuse);
	RUN(test_migrate_v1);
	RUN(test_migrate_v2);
	RUN(test_groups);
	RUN(test_group_commit);
	RUN(test_recovery);
	RUN(test_output_cap);
	RUN(test_retention);
	RUN(test_file_bounded);
	RUN(test_corrupt);
	RUN(test_locked);
	RUN(test_unopenable);
	RUN(test_disk_full);
	RUN(test_faults);
	if (getenv("SC_KEEP_TMP") == NULL) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return check_done();
}
