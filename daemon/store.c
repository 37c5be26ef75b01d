/*
 * The durable store on SQLite. One connection, WAL mode, statements
 * prepared once (on first use) and reused. A batch is one transaction: the
 * first write of a loop turn begins it (BEGIN IMMEDIATE, so a foreign
 * writer is noticed at once), store_commit() ends it and runs the
 * callbacks of the items queued in it. Multi-statement writes run inside a
 * SAVEPOINT, so a failing item leaves nothing half-written in the batch;
 * the hot writes (a snapshot, a final record) are one statement each.
 * The file is never written before it is known to be ours and not newer.
 *
 * Schema (version 3; docs/durability.md explains each table):
 *	meta(key, value)		next_job_id
 *	modules(id, hash UNIQUE, bytes)	each module once, by SHA-256
 *	jobs(id, tenant, name, module, state, created_ms, started_ms,
 *	     ended_ms, timeout_ms, durable, error, out1, out2, drop1, drop2,
 *	     status, result)		the final record is the row ending
 *	snapshots(job, taken_ms, bytes, tasks, due_ms)	the job's last
 *					suspended state, its task list as
 *					text and its earliest timer
 *	output(seq, job, stream, bytes)	print order = seq
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cfg.h"
#include "sha256.h"
#include "store.h"

#define JOURNAL_LIMIT	(16 << 20)	/* WAL bytes kept after a checkpoint */
#define VACUUM_PAGES	256		/* free pages returned per retain */
#define RESERVE_PAGES	8		/* kept for running jobs' writes */
#define MOD_CACHE	8		/* module hashes known to be stored */
#define TASK_TEXT_MAX	48		/* "tid state due " of one task */

/* Ordered migrations: migrations[v] takes the schema from v to v + 1. */
static const char *const migrations[] = {
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
	"CREATE TABLE finals(job INTEGER PRIMARY KEY, status INTEGER NOT NULL,"
	" ended_ms INTEGER NOT NULL, error TEXT);",
	/* 2: the final record is the job row itself (one UPDATE, not an
	 * UPDATE and an INSERT), and it keeps the entry's result */
	"ALTER TABLE jobs ADD COLUMN status INTEGER;"
	"ALTER TABLE jobs ADD COLUMN result TEXT;"
	"UPDATE jobs SET status = (SELECT status FROM finals"
	" WHERE job = jobs.id) WHERE state = 1;"
	"DROP TABLE finals;",
	/* 3: one statement per snapshot and per final record. A job's
	 * tasks and timers are a text column of its snapshot row ("tid
	 * state due" triples, due -1: none) instead of rows in two tables
	 * deleted and inserted with every snapshot; the snapshot row goes
	 * with the final record by a trigger; jobs_state (used only by
	 * retention, which jobs_ended serves) is no longer kept up to date
	 * on every submission and final record */
	"ALTER TABLE snapshots ADD COLUMN tasks TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE snapshots ADD COLUMN due_ms INTEGER;"
	"UPDATE snapshots SET tasks = coalesce((SELECT group_concat(t.tid"
	" || ' ' || t.state || ' ' || coalesce(m.due_ms, -1), ' ')"
	" FROM tasks t LEFT JOIN timers m ON m.job = t.job AND m.tid = t.tid"
	" WHERE t.job = snapshots.job), ''),"
	" due_ms = (SELECT min(due_ms) FROM timers WHERE job = snapshots.job);"
	"DROP TABLE tasks;"
	"DROP TABLE timers;"
	"DROP INDEX IF EXISTS jobs_state;"
	"CREATE TRIGGER jobs_final AFTER UPDATE OF state ON jobs"
	" WHEN old.state = 0 AND new.state = 1 BEGIN"
	" DELETE FROM snapshots WHERE job = new.id; END;",
};
static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
    STORE_SCHEMA_VERSION, "one migration per schema version");

#define JOB_COLS "id, tenant, name, module, state, created_ms, started_ms," \
	" ended_ms, timeout_ms, durable, error, out1, out2, drop1, drop2," \
	" status, result"

enum stmt {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVE, ST_RELEASE, ST_UNDO,
	ST_META_PUT, ST_MOD_PUT, ST_MOD_GET, ST_JOB_PUT, ST_JOB_START,
	ST_JOB_GET, ST_JOB_LIVE, ST_JOB_ALL, ST_JOB_END, ST_SNAP_PUT, ST_SNAPS,
	ST_TASKS, ST_OUT_KEPT, ST_OUT_PUT, ST_OUT_COUNT, ST_OUT_GET,
	ST_DOOM_TIME, ST_DOOM_COUNT, ST_DEL_OUT,
	ST_DEL_JOB, ST_DEL_MOD, ST_DOOM_N, ST_DOOM_CLEAR, ST_VACUUM,
	ST_PAGES, ST__COUNT
};

static const char *const sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVE] = "SAVEPOINT item",
	[ST_RELEASE] = "RELEASE item",
	[ST_UNDO] = "ROLLBACK TO item",
	[ST_META_PUT] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)",
	[ST_MOD_PUT] = "INSERT OR IGNORE INTO modules(hash, bytes)"
	    " VALUES(?1, ?2)",
	[ST_MOD_GET] = "SELECT bytes FROM modules WHERE hash = ?1",
	[ST_JOB_PUT] = "INSERT INTO jobs(id, tenant, name, module, state,"
	    " created_ms, timeout_ms, durable) VALUES(?1, ?2, ?3, ?4, 0, ?5,"
	    " ?6, ?7)",
	[ST_JOB_START] = "UPDATE jobs SET started_ms = ?2 WHERE id = ?1",
	[ST_JOB_GET] = "SELECT " JOB_COLS ", NULL FROM jobs WHERE id = ?1",
	/* merged with ST_SNAPS in id order (walk_jobs): two sequential
	 * scans instead of a lookup of each job's snapshot */
	[ST_JOB_LIVE] = "SELECT " JOB_COLS " FROM jobs WHERE state = 0"
	    " ORDER BY id",
	[ST_JOB_ALL] = "SELECT " JOB_COLS " FROM jobs ORDER BY id",
	[ST_SNAPS] = "SELECT job, bytes FROM snapshots ORDER BY job",
	/* the trigger jobs_final drops the snapshot; a start time deferred
	 * by store_start_job() rides along (?6, NULL: none) */
	[ST_JOB_END] = "UPDATE jobs SET state = 1, ended_ms = ?2, error = ?3,"
	    " status = ?4, result = ?5, started_ms = coalesce(?6, started_ms)"
	    " WHERE id = ?1 AND state = 0",
	[ST_SNAP_PUT] = "INSERT OR REPLACE INTO snapshots(job, taken_ms, bytes,"
	    " tasks, due_ms) VALUES(?1, ?2, ?3, ?4, ?5)",
	[ST_TASKS] = "SELECT job, tasks FROM snapshots ORDER BY job",
	[ST_OUT_KEPT] = "SELECT CASE ?2 WHEN 1 THEN out1 ELSE out2 END"
	    " FROM jobs WHERE id = ?1",
	[ST_OUT_PUT] = "INSERT INTO output(job, stream, bytes) VALUES(?1, ?2, ?3)",
	[ST_OUT_COUNT] = "UPDATE jobs SET out1 = out1 + (?2 = 1) * ?3,"
	    " out2 = out2 + (?2 = 2) * ?3, drop1 = drop1 + (?2 = 1) * ?4,"
	    " drop2 = drop2 + (?2 = 2) * ?4 WHERE id = ?1",
	[ST_OUT_GET] = "SELECT seq, stream, bytes FROM output"
	    " WHERE job = ?1 AND seq > ?2 ORDER BY seq",
	[ST_DOOM_TIME] = "INSERT OR IGNORE INTO temp.doomed(id) SELECT id"
	    " FROM jobs WHERE state = 1 AND ended_ms <= ?1 LIMIT ?2",
	[ST_DOOM_COUNT] = "INSERT OR IGNORE INTO temp.doomed(id) SELECT id FROM"
	    " (SELECT id, row_number() OVER (PARTITION BY tenant"
	    " ORDER BY ended_ms DESC, id DESC) AS rn FROM jobs WHERE state = 1)"
	    " WHERE rn > ?1 LIMIT ?2",
	[ST_DEL_OUT] = "DELETE FROM output WHERE job IN"
	    " (SELECT id FROM temp.doomed)",
	[ST_DEL_JOB] = "DELETE FROM jobs WHERE id IN (SELECT id FROM temp.doomed)",
	[ST_DEL_MOD] = "DELETE FROM modules WHERE NOT EXISTS"
	    " (SELECT 1 FROM jobs WHERE jobs.module = modules.hash)",
	[ST_DOOM_N] = "SELECT count(*) FROM temp.doomed",
	[ST_DOOM_CLEAR] = "DELETE FROM temp.doomed",
	[ST_VACUUM] = "PRAGMA incremental_vacuum(256)",
	[ST_PAGES] = "SELECT (SELECT page_count FROM pragma_page_count),"
	    " (SELECT freelist_count FROM pragma_freelist_count),"
	    " (SELECT max_page_count FROM pragma_max_page_count),"
	    " (SELECT page_size FROM pragma_page_size)",
};

struct pending {
	store_commit_fn fn;		/* callback */
	void *arg;			/* its argument */
};

/* A module row known to exist, so a submission need not write it again. */
struct modseen {
	uint8_t hash[STORE_HASH_BYTES];	/* its key */
	uint64_t seq;			/* batch that wrote it */
	bool durable;			/* that batch committed */
	bool used;			/* the slot holds a hash */
};

struct store {
	sqlite3 *db;			/* the connection */
	char *path;			/* for messages */
	struct store_opts opts;		/* a copy */
	sqlite3_stmt *st[ST__COUNT];	/* prepared on first use */
	bool in_batch;			/* a transaction is open */
	bool lost;			/* SQLite rolled the batch back */
	struct sc_error lost_err;	/* why */
	uint64_t seq;			/* batch number of the open/next batch */
	uint64_t durable;		/* last committed batch */
	uint64_t next_id;		/* next job id */
	uint64_t saved_id;		/* next_job_id as stored */
	struct pending *pend;		/* callbacks of the open batch */
	uint32_t npend;			/* in pend */
	uint32_t cappend;		/* room in pend */
	int bind_rc;			/* first failed bind since the last step */
	int sync_now;			/* PRAGMA synchronous in force */
	int64_t room;			/* pages left this batch; -1 unknown */
	int64_t used_pages;		/* in use when room was measured */
	int64_t max_pages;		/* max_page_count then */
	int64_t page_size;		/* bytes per page */
	int lockfd;			/* holds the daemon lock (flock), or -1 */
	uint32_t group;			/* inside store_group_begin/end */
	bool gsp;			/* the group's savepoint is open */
	uint32_t gbare;			/* group writes kept before it */
	bool start_held;		/* a store_start_job() not yet run */
	uint64_t start_id;		/* its job */
	int64_t start_ms;		/* its time */
	struct modseen mods[MOD_CACHE];	/* recently stored modules */
	uint32_t nextmod;		/* slot replaced next */
	char *tbuf;			/* a snapshot's task list text */
	size_t tcap;			/* room in tbuf */
};

static long fault_countdown;

static int apply_sync(struct store *s, struct sc_error *err);

/* A failed bind (SQLITE_TOOBIG, SQLITE_NOMEM) is kept and reported by the
 * step that follows, which then does not run. */
#define BIND(call)	bind_note(s, (call))

static void
bind_note(struct store *s, int rc)
{
	if (rc != SQLITE_OK && s->bind_rc == SQLITE_OK)
		s->bind_rc = rc;
}

void
store_fault_set(long n)
{
	fault_countdown = n > 0 ? n : 0;
}

void
store_opts_default(struct store_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->synchronous = CFG_SYNC_FULL;
	o->retention_ms = 7ULL * 24 * 3600 * 1000;
	o->retention_count = 10000;
	o->output_max = 1 << 20;
	o->busy_ms = 200;
}

/* The test fault point: pretend the next SQLite call failed. */
static bool
faulted(void)
{
	return fault_countdown > 0 && --fault_countdown == 0;
}

/*
 * Fill err for SQLite result rc while doing `what` on database path
 * (connection db, may be NULL): SC_ESTORE, with the cause in words a
 * person can act on.
 */
static int
fail_db(const char *p, sqlite3 *db, int rc, const char *what,
    struct sc_error *err)
{
	/* the connection's message only if it is about this failure (not
	 * one made up by the fault point) */
	const char *m = db != NULL && sqlite3_extended_errcode(db) == rc ?
	    sqlite3_errmsg(db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_FULL:
		return sc_errorf(err, SC_ESTORE, "disk full: %s failed, the "
		    "database %s cannot grow (%s)", what, p, m);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		/* not a scriptd: the flock keeps those out */
		return sc_errorf(err, SC_ESTORE, "database %s is locked by "
		    "another process holding a write lock (a sqlite3 shell? "
		    "a backup?): %s failed", p, what);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return sc_errorf(err, SC_ESTORE, "database %s is corrupt (%s): "
		    "%s failed; it was not modified, restore it from a backup",
		    p, m, what);
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_READONLY:
		return sc_errorf(err, SC_ESTORE, "cannot open database %s for "
		    "writing (%s)", p, m);
	default:
		return sc_errorf(err, SC_ESTORE, "database %s: %s failed: %s",
		    p, what, m);
	}
}

static int
fail(struct store *s, const char *path, int rc, const char *what,
    struct sc_error *err)
{
	return s != NULL ? fail_db(s->path, s->db, rc, what, err) :
	    fail_db(path, NULL, rc, what, err);
}

static sqlite3_stmt *
stmt(struct store *s, enum stmt i, struct sc_error *err)
{
	int rc;

	if (s->st[i] != NULL)
		return s->st[i];
	rc = sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
	    &s->st[i], NULL);
	if (rc != SQLITE_OK) {
		fail(s, NULL, rc, "preparing a statement", err);
		sqlite3_finalize(s->st[i]);
		s->st[i] = NULL;
	}
	return s->st[i];
}

/* Step st once: SQLITE_ROW, SQLITE_DONE, or a negative SC_ESTORE. */
static int
step(struct store *s, sqlite3_stmt *st, const char *what,
    struct sc_error *err)
{
	int rc = s->bind_rc;

	s->bind_rc = SQLITE_OK;
	if (rc == SQLITE_OK)
		rc = faulted() ? SQLITE_IOERR_WRITE : sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	sqlite3_clear_bindings(st);
	fail(s, NULL, rc, what, err);
	sqlite3_reset(st);
	return SC_ESTORE;
}

/* Run a statement that returns no rows, then reset it. */
static int
run(struct store *s, sqlite3_stmt *st, const char *what,
    struct sc_error *err)
{
	int rc = step(s, st, what, err);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc < 0 ? rc : SC_OK;
}

/* Run one of the fixed statements (no parameters). */
static int
run_fixed(struct store *s, enum stmt i, const char *what,
    struct sc_error *err)
{
	sqlite3_stmt *st = stmt(s, i, err);

	return st == NULL ? SC_ESTORE : run(s, st, what, err);
}

static int
exec(struct store *s, const char *path, sqlite3 *db, const char *q,
    const char *what, struct sc_error *err)
{
	int rc = faulted() ? SQLITE_IOERR_WRITE :
	    sqlite3_exec(db, q, NULL, NULL, NULL);

	return rc == SQLITE_OK ? SC_OK :
	    fail_db(s != NULL ? s->path : path, db, rc, what, err);
}

/* The integer result of a one-row query (a PRAGMA). */
static int
query_int(struct store *s, const char *path, sqlite3 *db, const char *q,
    int64_t *out, struct sc_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = 0;
	rc = sqlite3_prepare_v2(db, q, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = faulted() ? SQLITE_IOERR_READ : sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	if (rc != SQLITE_OK)
		fail_db(s != NULL ? s->path : path, db, rc, q, err);
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? SC_OK : SC_ESTORE;
}

/* The batch was rolled back by SQLite (or by us): fail what was queued. */
static void
lose(struct store *s, const struct sc_error *why)
{
	struct pending *p = s->pend;
	uint32_t n = s->npend;

	s->pend = NULL;
	s->npend = s->cappend = 0;
	s->in_batch = false;
	s->lost = false;
	s->group = 0;
	s->gsp = false;
	s->gbare = 0;
	s->start_held = false;
	s->seq++;
	for (uint32_t i = 0; i < n; i++)
		p[i].fn(p[i].arg, why->code, why);
	free(p);
}

/* Make sure a batch is open for a write. */
static int
batch(struct store *s, struct sc_error *err)
{
	if (s->lost) {
		*err = s->lost_err;
		return err->code;
	}
	if (s->in_batch)
		return SC_OK;
	if (run_fixed(s, ST_BEGIN, "beginning a transaction", err) != SC_OK)
		return SC_ESTORE;
	s->in_batch = true;
	s->room = -1;
	return SC_OK;
}

/* After a failed write: if SQLite ended the whole transaction, every item
 * queued so far in this batch is gone; remember why for store_commit(). */
static void
check_lost(struct store *s, const struct sc_error *err)
{
	if (s->in_batch && sqlite3_get_autocommit(s->db)) {
		s->lost = true;
		s->lost_err = *err;
	}
}

/*
 * An item is one call's writes. One statement is atomic by itself and
 * needs no savepoint (two statements per item saved on the hot path).
 * Items of several statements run in a savepoint, or in their group's:
 * a group opens it before its first write, unless that write is a whole
 * one-statement item (the usual group: a final record or a snapshot with
 * no output before it), and then only if a second write follows. A write
 * kept before the savepoint opened cannot be undone alone: if the group
 * fails after it, the whole batch is rolled back (store_group_end).
 */
static int
item_begin(struct store *s, bool single, struct sc_error *err)
{
	int r;

	if ((r = batch(s, err)) != SC_OK)
		return r;
	if (s->group > 0 ? s->gsp || (single && s->gbare == 0) : single)
		return SC_OK;
	if ((r = run_fixed(s, ST_SAVE, "starting a write", err)) != SC_OK) {
		check_lost(s, err);
		return r;
	}
	if (s->group > 0)
		s->gsp = true;
	return SC_OK;
}

/* Undo the open savepoint; if that fails, roll the batch back. */
static void
undo(struct store *s)
{
	struct sc_error e2;

	if (!sqlite3_get_autocommit(s->db) &&
	    (run_fixed(s, ST_UNDO, "undoing a write", &e2) != SC_OK ||
	    run_fixed(s, ST_RELEASE, "undoing a write", &e2) != SC_OK))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* End an item: keep it (r == SC_OK) or undo it; returns r. */
static int
item_end(struct store *s, bool single, int r, struct sc_error *err)
{
	if (s->group > 0) {
		if (r == SC_OK && !s->gsp)
			s->gbare++;
		if (r != SC_OK)
			check_lost(s, err);
		return r;
	}
	if (single) {
		if (r != SC_OK)
			check_lost(s, err);
		return r;
	}
	if (r == SC_OK) {
		if ((r = run_fixed(s, ST_RELEASE, "finishing a write", err)) ==
		    SC_OK)
			return SC_OK;
	}
	/* an item that cannot be undone must not be committed: then the
	 * whole batch goes */
	undo(s);
	check_lost(s, err);
	return r;
}

/*
 * Run a start time held back by store_start_job() inside a group (it
 * usually rides along with the job's final record instead).
 */
static int
run_start(struct store *s, bool last, struct sc_error *err)
{
	sqlite3_stmt *st;
	int r;

	if (!s->start_held)
		return SC_OK;
	s->start_held = false;
	if ((r = item_begin(s, last, err)) != SC_OK)
		return r;
	if ((st = stmt(s, ST_JOB_START, err)) == NULL) {
		r = SC_ESTORE;
		goto out;
	}
	BIND(sqlite3_bind_int64(st, 1, (int64_t)s->start_id));
	BIND(sqlite3_bind_int64(st, 2, s->start_ms));
	if ((r = run(s, st, "recording the job's start", err)) == SC_OK &&
	    sqlite3_changes(s->db) == 0)
		r = sc_errorf(err, SC_ENOTFOUND, "no live job %" PRIu64
		    " in the store", s->start_id);
out:
	return item_end(s, true, r, err);
}

int
store_begin(struct store *s, struct sc_error *err)
{
	return batch(s, err);
}

bool
store_in_batch(const struct store *s)
{
	return s->in_batch;
}

uint64_t
store_batch_seq(const struct store *s)
{
	return s->seq;
}

uint64_t
store_durable_seq(const struct store *s)
{
	return s->durable;
}

int
store_on_commit(struct store *s, store_commit_fn fn, void *arg,
    struct sc_error *err)
{
	int r;

	if ((r = batch(s, err)) != SC_OK)
		return r;
	if (s->npend == s->cappend) {
		uint32_t ncap = s->cappend ? s->cappend * 2 : 64;
		struct pending *p = realloc(s->pend, ncap * sizeof(*p));

		if (p == NULL)
			return sc_errorf(err, SC_ENOMEM, "out of memory");
		s->pend = p;
		s->cappend = ncap;
	}
	s->pend[s->npend].fn = fn;
	s->pend[s->npend].arg = arg;
	s->npend++;
	return SC_OK;
}

static int
save_next_id(struct store *s, struct sc_error *err)
{
	sqlite3_stmt *st;

	if (s->next_id == s->saved_id)
		return SC_OK;
	if ((st = stmt(s, ST_META_PUT, err)) == NULL)
		return SC_ESTORE;
	BIND(sqlite3_bind_text(st, 1, "next_job_id", -1, SQLITE_STATIC));
	BIND(sqlite3_bind_int64(st, 2, (int64_t)s->next_id));
	return run(s, st, "saving the job id counter", err);
}

/*
 * Commit the batch, then run its callbacks: with SC_OK when it is durable
 * (as durable as store.synchronous makes it), else with the error. A batch
 * that fails to commit is rolled back whole; nothing of it remains.
 */
int
store_commit(struct store *s, struct sc_error *err)
{
	struct pending *p;
	uint32_t n;
	int r;

	if (!s->in_batch)
		return SC_OK;
	if (s->lost) {
		*err = s->lost_err;
		lose(s, err);
		return err->code;
	}
	/* a start held by a group that was never ended: its job is gone
	 * if it is not found, which loses nothing */
	if ((r = run_start(s, true, err)) == SC_ENOTFOUND && !s->lost)
		r = SC_OK;
	if (r != SC_OK || (r = save_next_id(s, err)) != SC_OK ||
	    (r = run_fixed(s, ST_COMMIT, "committing", err)) != SC_OK) {
		struct sc_error e2;

		if (!sqlite3_get_autocommit(s->db))
			(void)run_fixed(s, ST_ROLLBACK, "rolling back", &e2);
		lose(s, err);
		return r;
	}
	s->saved_id = s->next_id;
	/* a reload's level; a failure is tried again after the next batch */
	if (s->sync_now != s->opts.synchronous) {
		struct sc_error e2;

		(void)apply_sync(s, &e2);
	}
	p = s->pend;
	n = s->npend;
	s->pend = NULL;
	s->npend = s->cappend = 0;
	s->in_batch = false;
	for (uint32_t i = 0; i < MOD_CACHE; i++)
		if (s->mods[i].used && s->mods[i].seq == s->seq)
			s->mods[i].durable = true;
	s->durable = s->seq++;
	for (uint32_t i = 0; i < n; i++)
		p[i].fn(p[i].arg, SC_OK, NULL);
	free(p);
	return SC_OK;
}

uint64_t
store_take_id(struct store *s)
{
	return s->next_id++;
}

/* The savepoint is opened by the group's second write (item_begin). */
int
store_group_begin(struct store *s, struct sc_error *err)
{
	int r;

	if (s->group > 0)
		return sc_errorf(err, SC_EINVAL, "store groups do not nest");
	if ((r = batch(s, err)) != SC_OK)
		return r;
	s->group = 1;
	s->gsp = false;
	s->gbare = 0;
	return SC_OK;
}

int
store_group_end(struct store *s, int r, struct sc_error *err)
{
	bool sp, bare;

	if (s->group == 0)
		return r;
	if (r == SC_OK)
		r = run_start(s, true, err);
	s->start_held = false;
	sp = s->gsp;
	bare = s->gbare > 0;
	s->group = 0;
	s->gsp = false;
	s->gbare = 0;
	if (r == SC_OK) {
		if (!sp || (r = run_fixed(s, ST_RELEASE, "finishing a write",
		    err)) == SC_OK)
			return SC_OK;
	}
	if (sp)
		undo(s);
	/* a write kept before the savepoint cannot be undone alone */
	if (bare && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	check_lost(s, err);
	return r;
}

/* Is the module row `hash` known to be in the store (or in this batch)? */
static bool
mod_known(const struct store *s, const uint8_t *hash)
{
	for (uint32_t i = 0; i < MOD_CACHE; i++) {
		const struct modseen *m = &s->mods[i];

		if (m->used && (m->durable || m->seq == s->seq) &&
		    memcmp(m->hash, hash, STORE_HASH_BYTES) == 0)
			return true;
	}
	return false;
}

/* Remember a module row written by a kept item of the open batch; a lost
 * batch bumps s->seq, which forgets it unless the batch committed. */
static void
mod_seen(struct store *s, const uint8_t *hash)
{
	struct modseen *m = &s->mods[s->nextmod];

	s->nextmod = (s->nextmod + 1) % MOD_CACHE;
	memcpy(m->hash, hash, STORE_HASH_BYTES);
	m->seq = s->seq;
	m->durable = false;
	m->used = true;
}

int
store_alloc_job_id(struct store *s, uint64_t *idp, struct sc_error *err)
{
	int r;

	*idp = 0;
	if ((r = batch(s, err)) != SC_OK)
		return r;
	*idp = s->next_id++;
	return SC_OK;
}

static int
bad_text(const char *what, const char *t, size_t max, struct sc_error *err)
{
	size_t n = t != NULL ? strlen(t) : 0;

	if (n > max)
		return sc_errorf(err, SC_EINVAL, "%s of %zu bytes is longer than "
		    "%zu bytes", what, n, max);
	return SC_OK;
}

/*
 * Refuse a submission that would leave fewer than RESERVE_PAGES pages
 * below max_page_count: SQLite rolls back the whole transaction on
 * SQLITE_FULL, which would lose the batch's other items, and the jobs
 * already running still need room for their snapshots and output.
 */
static int
room_for(struct store *s, size_t bytes, struct sc_error *err)
{
	sqlite3_stmt *st;
	int64_t need;
	int r;

	/* asked once per batch, then counted down: the query costs as much
	 * as the submission */
	if (s->room < 0) {
		if ((st = stmt(s, ST_PAGES, err)) == NULL)
			return SC_ESTORE;
		if ((r = step(s, st, "checking free space", err)) < 0)
			return r;
		s->used_pages = sqlite3_column_int64(st, 0) -
		    sqlite3_column_int64(st, 1);
		s->max_pages = sqlite3_column_int64(st, 2);
		s->page_size = sqlite3_column_int64(st, 3);
		sqlite3_reset(st);
		if (s->page_size <= 0)
			s->page_size = 4096;
		s->room = s->max_pages - s->used_pages;
	}
	need = (int64_t)(bytes / (uint64_t)s->page_size) + 4;
	if (s->room - need >= RESERVE_PAGES) {
		s->room -= need;
		return SC_OK;
	}
	return sc_errorf(err, SC_ESTORE, "disk full: submission refused, the "
	    "database %s is at its size limit (%lld of %lld pages in use; "
	    "running jobs go on)", s->path, (long long)s->used_pages,
	    (long long)s->max_pages);
}

int
store_submit(struct store *s, struct store_job *j, const uint8_t *mod,
    size_t modlen, struct sc_error *err)
{
	sqlite3_stmt *st;
	bool known;
	int r;

	if ((r = bad_text("job name", j->name, STORE_NAME_MAX, err)) != SC_OK)
		return r;
	if (j->id == 0 || j->id >= s->next_id || j->id > INT64_MAX)
		return sc_errorf(err, SC_EINVAL, "job id %" PRIu64 " was not "
		    "allocated by this store", j->id);
	sha256(mod, modlen, j->module);
	if ((r = batch(s, err)) != SC_OK)
		return r;
	if ((r = run_start(s, false, err)) != SC_OK)
		return r;
	/* a known module leaves one statement */
	known = mod_known(s, j->module);
	if ((r = item_begin(s, known, err)) != SC_OK)
		return r;
	if ((r = room_for(s, known ? 0 : modlen, err)) != SC_OK)
		goto out;
	if (!known) {
		if ((st = stmt(s, ST_MOD_PUT, err)) == NULL) {
			r = SC_ESTORE;
			goto out;
		}
		BIND(sqlite3_bind_blob(st, 1, j->module, STORE_HASH_BYTES,
		    SQLITE_STATIC));
		BIND(sqlite3_bind_blob64(st, 2, mod, modlen, SQLITE_STATIC));
		if ((r = run(s, st, "storing the module", err)) != SC_OK)
			goto out;
	}
	if ((st = stmt(s, ST_JOB_PUT, err)) == NULL) {
		r = SC_ESTORE;
		goto out;
	}
	BIND(sqlite3_bind_int64(st, 1, (int64_t)j->id));
	BIND(sqlite3_bind_int64(st, 2, j->tenant));
	BIND(sqlite3_bind_text(st, 3, j->name != NULL ? j->name : "", -1,
	    SQLITE_STATIC));
	BIND(sqlite3_bind_blob(st, 4, j->module, STORE_HASH_BYTES,
	    SQLITE_STATIC));
	BIND(sqlite3_bind_int64(st, 5, j->created_ms));
	BIND(sqlite3_bind_int64(st, 6, j->timeout_ms));
	BIND(sqlite3_bind_int(st, 7, j->durable));
	r = run(s, st, "storing the job", err);
out:
	if ((r = item_end(s, known, r, err)) == SC_OK && !known &&
	    s->group == 0)
		mod_seen(s, j->module);
	return r;
}

/*
 * Inside a group the start time is held back: the daemon writes it just
 * before the job's final record (one statement then, not two and a
 * savepoint) or its first snapshot, and any other write, a read or the
 * group's end runs it first.
 */
int
store_start_job(struct store *s, uint64_t id, int64_t started_ms,
    struct sc_error *err)
{
	int r;

	if ((r = run_start(s, false, err)) != SC_OK)
		return r;
	s->start_id = id;
	s->start_ms = started_ms;
	s->start_held = true;
	if (s->group > 0)
		return batch(s, err);
	return run_start(s, true, err);
}

/* Write n in decimal at p (room for 20 bytes); returns its length. */
static size_t
put_num(char *p, int64_t n)
{
	char tmp[24];
	uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
	size_t k = 0, len = 0;

	do {
		tmp[k++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (n < 0)
		p[len++] = '-';
	while (k > 0)
		p[len++] = tmp[--k];
	return len;
}

/* The task list as text, "tid state due" triples (due -1: no timer), in
 * s->tbuf; *duep is the earliest timer or -1. */
static int
task_text(struct store *s, const struct store_task *tasks, uint32_t ntasks,
    size_t *lenp, int64_t *duep, struct sc_error *err)
{
	size_t need = (size_t)ntasks * TASK_TEXT_MAX + 1, len = 0;

	*duep = -1;
	if (need > s->tcap) {
		char *b = realloc(s->tbuf, need);

		if (b == NULL)
			return sc_errorf(err, SC_ENOMEM, "out of memory");
		s->tbuf = b;
		s->tcap = need;
	}
	for (uint32_t i = 0; i < ntasks; i++) {
		int64_t due = tasks[i].due_ms < 0 ? -1 : tasks[i].due_ms;

		if (i > 0)
			s->tbuf[len++] = ' ';
		len += put_num(s->tbuf + len, tasks[i].tid);
		s->tbuf[len++] = ' ';
		len += put_num(s->tbuf + len, tasks[i].state);
		s->tbuf[len++] = ' ';
		len += put_num(s->tbuf + len, due);
		if (due >= 0 && (*duep < 0 || due < *duep))
			*duep = due;
	}
	s->tbuf[len] = '\0';
	*lenp = len;
	return SC_OK;
}

int
store_put_snapshot(struct store *s, uint64_t job, const uint8_t *snap,
    size_t len, const struct store_task *tasks, uint32_t ntasks,
    int64_t taken_ms, struct sc_error *err)
{
	sqlite3_stmt *st;
	int64_t due = -1;
	size_t tlen = 0;
	int r;

	if ((r = run_start(s, false, err)) != SC_OK)
		return r;
	if ((r = task_text(s, tasks, ntasks, &tlen, &due, err)) != SC_OK)
		return r;
	if ((r = item_begin(s, true, err)) != SC_OK)
		return r;
	if ((st = stmt(s, ST_SNAP_PUT, err)) == NULL) {
		r = SC_ESTORE;
		goto out;
	}
	BIND(sqlite3_bind_int64(st, 1, (int64_t)job));
	BIND(sqlite3_bind_int64(st, 2, taken_ms));
	BIND(sqlite3_bind_blob64(st, 3, snap, len, SQLITE_STATIC));
	BIND(sqlite3_bind_text64(st, 4, s->tbuf, tlen, SQLITE_STATIC,
	    SQLITE_UTF8));
	if (due >= 0)
		BIND(sqlite3_bind_int64(st, 5, due));
	r = run(s, st, "storing a snapshot", err);
out:
	return item_end(s, true, r, err);
}

int
store_put_output(struct store *s, uint64_t job, int stream, const void *buf,
    size_t len, struct sc_error *err)
{
	sqlite3_stmt *st;
	uint64_t kept, keep;
	int r;

	if (stream != 1 && stream != 2)
		return sc_errorf(err, SC_EINVAL, "output stream %d (want 1 or "
		    "2)", stream);
	if ((r = run_start(s, false, err)) != SC_OK ||
	    (r = item_begin(s, false, err)) != SC_OK)
		return r;
	if ((st = stmt(s, ST_OUT_KEPT, err)) == NULL) {
		r = SC_ESTORE;
		goto out;
	}
	BIND(sqlite3_bind_int64(st, 1, (int64_t)job));
	BIND(sqlite3_bind_int(st, 2, stream));
	if ((r = step(s, st, "reading the output count", err)) < 0)
		goto out;
	if (r != SQLITE_ROW) {
		sqlite3_reset(st);
		r = sc_errorf(err, SC_ENOTFOUND, "no job %" PRIu64 " in the "
		    "store", job);
		goto out;
	}
	kept = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	keep = kept >= s->opts.output_max ? 0 : s->opts.output_max - kept;
	if (keep > len)
		keep = len;
	r = SC_OK;
	if (keep > 0) {
		if ((st = stmt(s, ST_OUT_PUT, err)) == NULL) {
			r = SC_ESTORE;
			goto out;
		}
		BIND(sqlite3_bind_int64(st, 1, (int64_t)job));
		BIND(sqlite3_bind_int(st, 2, stream));
		BIND(sqlite3_bind_blob64(st, 3, buf, keep, SQLITE_STATIC));
		if ((r = run(s, st, "storing output", err)) != SC_OK)
			goto out;
	}
	if ((st = stmt(s, ST_OUT_COUNT, err)) == NULL) {
		r = SC_ESTORE;
		goto out;
	}
	BIND(sqlite3_bind_int64(st, 1, (int64_t)job));
	BIND(sqlite3_bind_int(st, 2, stream));
	BIND(sqlite3_bind_int64(st, 3, (int64_t)keep));
	BIND(sqlite3_bind_int64(st, 4, (int64_t)(len - keep)));
	r = run(s, st, "counting output", err);
out:
	return item_end(s, false, r, err);
}

int
store_put_final(struct store *s, uint64_t job, int status, const char *error,
    const char *result, int64_t ended_ms, struct sc_error *err)
{
	sqlite3_stmt *st;
	size_t elen = error != NULL ? strlen(error) : 0;
	size_t rlen = result != NULL ? strlen(result) : 0;
	bool held;
	int r;

	if (status < 0 || status > 3)
		return sc_errorf(err, SC_EINVAL, "final status %d (want 0..3)",
		    status);
	if (elen > STORE_ERROR_MAX)
		elen = STORE_ERROR_MAX;
	if (rlen > STORE_RESULT_MAX)
		return sc_errorf(err, SC_EINVAL, "result of %zu bytes is longer "
		    "than %u bytes", rlen, STORE_RESULT_MAX);
	/* a start held for this job rides along; another job's runs now */
	if (s->start_held && s->start_id != job &&
	    (r = run_start(s, false, err)) != SC_OK)
		return r;
	held = s->start_held;
	s->start_held = false;
	if ((r = item_begin(s, true, err)) != SC_OK)
		return r;
	if ((st = stmt(s, ST_JOB_END, err)) == NULL) {
		r = SC_ESTORE;
		goto out;
	}
	BIND(sqlite3_bind_int64(st, 1, (int64_t)job));
	BIND(sqlite3_bind_int64(st, 2, ended_ms));
	if (error != NULL)
		BIND(sqlite3_bind_text(st, 3, error, (int)elen, SQLITE_STATIC));
	BIND(sqlite3_bind_int(st, 4, status));
	if (result != NULL)
		BIND(sqlite3_bind_text(st, 5, result, (int)rlen,
		    SQLITE_STATIC));
	if (held)
		BIND(sqlite3_bind_int64(st, 6, s->start_ms));
	if ((r = run(s, st, "storing the final record", err)) != SC_OK)
		goto out;
	if (sqlite3_changes(s->db) == 0)
		r = sc_errorf(err, SC_ENOTFOUND, "no live job %" PRIu64 " in the "
		    "store (a job has exactly one final record)", job);
out:
	return item_end(s, true, r, err);
}

/*
 * Retention, bounded by max jobs per call so a loop turn stays short:
 * ended jobs older than retention_ms, then each tenant's ended jobs beyond
 * retention_count (oldest first), with their output and final records;
 * modules no job uses; then up to VACUUM_PAGES free pages go back to the
 * file system (incremental vacuum). The count query is O(ended jobs): run
 * this every few seconds, not every turn.
 */
int
store_retain(struct store *s, int64_t now_ms, uint32_t max,
    uint32_t *ndeleted, struct sc_error *err)
{
	static const enum stmt dels[] = {
		ST_DEL_OUT, ST_DEL_JOB, ST_DEL_MOD, ST_DOOM_CLEAR,
	};
	int64_t cut = now_ms - (int64_t)s->opts.retention_ms;
	sqlite3_stmt *st;
	int r;

	*ndeleted = 0;
	if ((r = run_start(s, false, err)) != SC_OK ||
	    (r = item_begin(s, false, err)) != SC_OK)
		return r;
	/* ST_DEL_MOD may drop any module row */
	memset(s->mods, 0, sizeof(s->mods));
	if ((st = stmt(s, ST_DOOM_TIME, err)) == NULL) {
		r = SC_ESTORE;
		goto out;
	}
	BIND(sqlite3_bind_int64(st, 1, cut));
	BIND(sqlite3_bind_int64(st, 2, max));
	if ((r = run(s, st, "finding expired jobs", err)) != SC_OK)
		goto out;
	if ((st = stmt(s, ST_DOOM_COUNT, err)) == NULL) {
		r = SC_ESTORE;
		goto out;
	}
	BIND(sqlite3_bind_int64(st, 1, s->opts.retention_count));
	BIND(sqlite3_bind_int64(st, 2, max));
	if ((r = run(s, st, "finding jobs over the count", err)) != SC_OK)
		goto out;
	if ((st = stmt(s, ST_DOOM_N, err)) == NULL) {
		r = SC_ESTORE;
		goto out;
	}
	if ((r = step(s, st, "counting expired jobs", err)) < 0)
		goto out;
	*ndeleted = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	r = SC_OK;
	for (size_t i = 0; i < sizeof(dels) / sizeof(dels[0]); i++)
		if ((r = run_fixed(s, dels[i], "deleting expired jobs", err)))
			goto out;
	if ((st = stmt(s, ST_VACUUM, err)) == NULL) {
		r = SC_ESTORE;
		goto out;
	}
	while ((r = step(s, st, "returning free pages", err)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	r = r < 0 ? r : SC_OK;
out:
	if (r != SC_OK)
		*ndeleted = 0;
	return item_end(s, false, r, err);
}

/* Fill j from a row of JOB_COLS. */
static void
job_row(sqlite3_stmt *st, struct store_job *j)
{
	const void *h;

	memset(j, 0, sizeof(*j));
	j->id = (uint64_t)sqlite3_column_int64(st, 0);
	j->tenant = (uint32_t)sqlite3_column_int64(st, 1);
	j->name = (const char *)sqlite3_column_text(st, 2);
	h = sqlite3_column_blob(st, 3);
	if (h != NULL && sqlite3_column_bytes(st, 3) == STORE_HASH_BYTES)
		memcpy(j->module, h, STORE_HASH_BYTES);
	j->state = sqlite3_column_int(st, 4) ? STORE_ENDED : STORE_LIVE;
	j->created_ms = sqlite3_column_int64(st, 5);
	j->started_ms = sqlite3_column_int64(st, 6);
	j->ended_ms = sqlite3_column_int64(st, 7);
	j->timeout_ms = sqlite3_column_int64(st, 8);
	j->durable = sqlite3_column_int(st, 9) != 0;
	j->error = (const char *)sqlite3_column_text(st, 10);
	for (int k = 0; k < 2; k++) {
		j->out_kept[k] = (uint64_t)sqlite3_column_int64(st, 11 + k);
		j->out_dropped[k] = (uint64_t)sqlite3_column_int64(st, 13 + k);
	}
	j->status = sqlite3_column_type(st, 15) == SQLITE_NULL ? -1 :
	    sqlite3_column_int(st, 15);
	j->result = (const char *)sqlite3_column_text(st, 16);
}

/*
 * Walk the job rows of st (bound), calling fn for each with its snapshot:
 * the row's column 17 (ST_JOB_GET) or, with snaps (ST_SNAPS), the
 * snapshot row of the same id, found by stepping both in id order.
 * Resets both after.
 */
static int
walk_jobs(struct store *s, sqlite3_stmt *st, sqlite3_stmt *snaps,
    store_job_fn fn, void *arg, bool need_one, struct sc_error *err)
{
	struct store_job j;
	bool any = false, more = false;
	int r, rs = SQLITE_DONE;

	if ((r = run_start(s, false, err)) != SC_OK) {
		sqlite3_clear_bindings(st);
		return r;
	}
	if (snaps != NULL) {
		if ((rs = step(s, snaps, "reading snapshots", err)) < 0) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return rs;
		}
		more = rs == SQLITE_ROW;
	}
	while ((r = step(s, st, "reading jobs", err)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const void *snap = NULL;
		size_t len = 0;

		while (more && sqlite3_column_int64(snaps, 0) < id) {
			if ((rs = step(s, snaps, "reading snapshots", err)) < 0)
				break;
			more = rs == SQLITE_ROW;
		}
		if (snaps != NULL && rs < 0) {
			r = rs;
			break;
		}
		if (more && sqlite3_column_int64(snaps, 0) == id) {
			snap = sqlite3_column_blob(snaps, 1);
			len = (size_t)sqlite3_column_bytes(snaps, 1);
		} else if (snaps == NULL) {
			snap = sqlite3_column_blob(st, 17);
			len = (size_t)sqlite3_column_bytes(st, 17);
		}
		any = true;
		job_row(st, &j);
		if ((snap == NULL && len > 0) || j.name == NULL) {
			r = sc_errorf(err, SC_ENOMEM, "out of memory reading "
			    "jobs");
			break;
		}
		if ((r = fn(arg, &j, snap, len)) != SC_OK)
			break;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (snaps != NULL)
		sqlite3_reset(snaps);
	if (r == SQLITE_DONE && need_one && !any)
		return sc_errorf(err, SC_ENOTFOUND, "no job in the store");
	return r == SQLITE_DONE ? SC_OK : r;
}

/* A job walk over st merged with the snapshot rows. */
static int
walk_all(struct store *s, enum stmt i, store_job_fn fn, void *arg,
    struct sc_error *err)
{
	sqlite3_stmt *st = stmt(s, i, err), *snaps;

	if (st == NULL || (snaps = stmt(s, ST_SNAPS, err)) == NULL)
		return SC_ESTORE;
	return walk_jobs(s, st, snaps, fn, arg, false, err);
}

int
store_recover_jobs(struct store *s, store_job_fn fn, void *arg,
    struct sc_error *err)
{
	return walk_all(s, ST_JOB_LIVE, fn, arg, err);
}

int
store_list_jobs(struct store *s, store_job_fn fn, void *arg,
    struct sc_error *err)
{
	return walk_all(s, ST_JOB_ALL, fn, arg, err);
}

int
store_get_job(struct store *s, uint64_t id, store_job_fn fn, void *arg,
    struct sc_error *err)
{
	sqlite3_stmt *st = stmt(s, ST_JOB_GET, err);
	int r;

	if (st == NULL)
		return SC_ESTORE;
	BIND(sqlite3_bind_int64(st, 1, (int64_t)id));
	r = walk_jobs(s, st, NULL, fn, arg, true, err);
	if (r == SC_ENOTFOUND)
		return sc_errorf(err, r, "no job %" PRIu64 " in the store", id);
	return r;
}

/* A task of a snapshot row's list. */
struct tasktext {
	uint64_t job;			/* its job */
	struct store_task t;		/* tid, state, due_ms (-1: none) */
};

/* One decimal number of the list at *pp, then a space or the end. */
static bool
take_num(const char **pp, const char *end, int64_t lo, int64_t hi,
    int64_t *out)
{
	const char *p = *pp;
	bool neg = false;
	uint64_t v = 0;

	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	if (p == end || *p < '0' || *p > '9')
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (uint64_t)INT64_MAX / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > (uint64_t)INT64_MAX || (p < end && *p++ != ' '))
		return false;
	*out = neg ? -(int64_t)v : (int64_t)v;
	if (*out < lo || *out > hi)
		return false;
	*pp = p;
	return true;
}

/* Append the tasks of one snapshot row (job, text) to *ap. */
static int
parse_tasks(struct store *s, uint64_t job, const char *t, size_t len,
    struct tasktext **ap, size_t *np, size_t *capp, struct sc_error *err)
{
	const char *p = t, *end = t + len;

	while (p < end) {
		int64_t tid, state, due;

		if (!take_num(&p, end, 0, UINT32_MAX, &tid) ||
		    !take_num(&p, end, INT32_MIN, INT32_MAX, &state) ||
		    !take_num(&p, end, -1, INT64_MAX, &due))
			return sc_errorf(err, SC_ESTORE, "database %s is corrupt "
			    "(the task list of job %" PRIu64 " is not \"tid "
			    "state due\" numbers at byte %zu)", s->path, job,
			    (size_t)(p - t));
		if (*np == *capp) {
			size_t ncap = *capp ? *capp * 2 : 256;
			struct tasktext *a = realloc(*ap, ncap * sizeof(*a));

			if (a == NULL)
				return sc_errorf(err, SC_ENOMEM, "out of memory");
			*ap = a;
			*capp = ncap;
		}
		(*ap)[*np].job = job;
		(*ap)[*np].t.tid = (uint32_t)tid;
		(*ap)[*np].t.state = (int)state;
		(*ap)[*np].t.due_ms = due;
		(*np)++;
	}
	return SC_OK;
}

static int
by_due(const void *x, const void *y)
{
	const struct tasktext *a = x, *b = y;

	if (a->t.due_ms != b->t.due_ms)
		return a->t.due_ms < b->t.due_ms ? -1 : 1;
	if (a->job != b->job)
		return a->job < b->job ? -1 : 1;
	return a->t.tid < b->t.tid ? -1 : a->t.tid > b->t.tid;
}

static int
by_job(const void *x, const void *y)
{
	const struct tasktext *a = x, *b = y;

	if (a->job != b->job)
		return a->job < b->job ? -1 : 1;
	return a->t.tid < b->t.tid ? -1 : a->t.tid > b->t.tid;
}

/* Every task of every snapshot row, sorted by cmp. */
static int
read_tasks(struct store *s, int (*cmp)(const void *, const void *),
    struct tasktext **ap, size_t *np, struct sc_error *err)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int r;

	*ap = NULL;
	*np = 0;
	if ((r = run_start(s, false, err)) != SC_OK)
		return r;
	if ((st = stmt(s, ST_TASKS, err)) == NULL)
		return SC_ESTORE;
	while ((r = step(s, st, "reading tasks", err)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);

		if (t == NULL && len > 0) {
			r = sc_errorf(err, SC_ENOMEM, "out of memory reading "
			    "tasks");
			break;
		}
		if ((r = parse_tasks(s, (uint64_t)sqlite3_column_int64(st, 0),
		    t != NULL ? t : "", len, ap, np, &cap, err)) != SC_OK)
			break;
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE) {
		free(*ap);
		*ap = NULL;
		*np = 0;
		return r;
	}
	if (*np > 1)
		qsort(*ap, *np, sizeof(**ap), cmp);
	return SC_OK;
}

int
store_recover_timers(struct store *s, store_timer_fn fn, void *arg,
    struct sc_error *err)
{
	struct tasktext *a;
	size_t n;
	int r;

	if ((r = read_tasks(s, by_due, &a, &n, err)) != SC_OK)
		return r;
	for (size_t i = 0; i < n && r == SC_OK; i++)
		if (a[i].t.due_ms >= 0)
			r = fn(arg, a[i].job, a[i].t.tid, a[i].t.due_ms);
	free(a);
	return r;
}

int
store_recover_tasks(struct store *s, store_task_fn fn, void *arg,
    struct sc_error *err)
{
	struct tasktext *a;
	size_t n;
	int r;

	if ((r = read_tasks(s, by_job, &a, &n, err)) != SC_OK)
		return r;
	for (size_t i = 0; i < n && r == SC_OK; i++)
		r = fn(arg, a[i].job, &a[i].t);
	free(a);
	return r;
}

int
store_get_module(struct store *s, const uint8_t hash[STORE_HASH_BYTES],
    uint8_t **bufp, size_t *lenp, struct sc_error *err)
{
	sqlite3_stmt *st = stmt(s, ST_MOD_GET, err);
	const void *src;
	size_t len;
	int r;

	*bufp = NULL;
	*lenp = 0;
	if (st == NULL || (r = run_start(s, false, err)) != SC_OK)
		return st == NULL ? SC_ESTORE : r;
	BIND(sqlite3_bind_blob(st, 1, hash, STORE_HASH_BYTES, SQLITE_STATIC));
	if ((r = step(s, st, "reading a module", err)) < 0)
		return r;
	if (r != SQLITE_ROW) {
		sqlite3_reset(st);
		return sc_errorf(err, SC_ENOTFOUND, "module %02x%02x%02x%02x... "
		    "is not in the store", hash[0], hash[1], hash[2], hash[3]);
	}
	src = sqlite3_column_blob(st, 0);
	len = (size_t)sqlite3_column_bytes(st, 0);
	if ((src == NULL && len > 0) || (*bufp = malloc(len + 1)) == NULL) {
		sqlite3_reset(st);
		return sc_errorf(err, SC_ENOMEM, "out of memory");
	}
	if (len > 0)
		memcpy(*bufp, src, len);
	*lenp = len;
	sqlite3_reset(st);
	return SC_OK;
}

int
store_read_output(struct store *s, uint64_t job, uint64_t after,
    store_output_fn fn, void *arg, struct sc_error *err)
{
	sqlite3_stmt *st = stmt(s, ST_OUT_GET, err);
	int r;

	if (st == NULL || (r = run_start(s, false, err)) != SC_OK)
		return st == NULL ? SC_ESTORE : r;
	BIND(sqlite3_bind_int64(st, 1, (int64_t)job));
	BIND(sqlite3_bind_int64(st, 2, (int64_t)after));
	while ((r = step(s, st, "reading output", err)) == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 2);
		size_t len = (size_t)sqlite3_column_bytes(st, 2);

		if (b == NULL && len > 0) {
			r = sc_errorf(err, SC_ENOMEM, "out of memory reading "
			    "output");
			break;
		}
		if ((r = fn(arg, (uint64_t)sqlite3_column_int64(st, 0),
		    sqlite3_column_int(st, 1), b, len)) != SC_OK)
			break;
	}
	sqlite3_reset(st);
	return r == SQLITE_DONE ? SC_OK : r;
}

/*
 * Look before writing anything: the file must be a database (not
 * garbage), not locked, ours or empty, and not from a newer scriptd.
 * Returns its schema version in *vp.
 */
static int
inspect(const char *path, sqlite3 *db, int64_t *vp, struct sc_error *err)
{
	int64_t v, app, ntables;

	if (query_int(NULL, path, db, "PRAGMA user_version", &v, err) ||
	    query_int(NULL, path, db, "PRAGMA application_id", &app, err) ||
	    query_int(NULL, path, db, "SELECT count(*) FROM sqlite_master",
	    &ntables, err))
		return SC_ESTORE;
	if (v > STORE_SCHEMA_VERSION)
		return sc_errorf(err, SC_ESTORE, "database schema version %"
		    PRId64 " is newer than this scriptd (version %d): %s was "
		    "not modified; run the newer scriptd", v,
		    STORE_SCHEMA_VERSION, path);
	if ((app != 0 && app != STORE_APP_ID) || (app == 0 && ntables > 0))
		return sc_errorf(err, SC_ESTORE, "database %s is not a scriptd "
		    "database (application_id %" PRId64 ", %" PRId64 " tables):"
		    " it was not modified", path, app, ntables);
	if (v < 0)
		return sc_errorf(err, SC_ESTORE, "database %s has schema version "
		    "%" PRId64 ": it was not modified", path, v);
	*vp = v;
	return SC_OK;
}

/* Bring the schema from version v to ours, in one transaction. */
static int
migrate(struct store *s, struct sc_error *err)
{
	bool migrated;
	char q[64];
	int64_t v;
	int r;

	if ((r = exec(s, NULL, s->db, "BEGIN IMMEDIATE", "locking the "
	    "database", err)) != SC_OK)
		return r;
	if ((r = inspect(s->path, s->db, &v, err)) != SC_OK)
		goto undo;
	migrated = v < STORE_SCHEMA_VERSION;
	for (; v < STORE_SCHEMA_VERSION; v++) {
		if ((r = exec(s, NULL, s->db, migrations[v], "migrating the "
		    "schema", err)) != SC_OK)
			goto undo;
		snprintf(q, sizeof(q), "PRAGMA user_version = %d", (int)v + 1);
		if ((r = exec(s, NULL, s->db, q, "migrating the schema", err)))
			goto undo;
	}
	/* a current schema commits a transaction that wrote nothing */
	snprintf(q, sizeof(q), "PRAGMA application_id = %d", STORE_APP_ID);
	if ((migrated && (r = exec(s, NULL, s->db, q, "marking the database",
	    err)) != SC_OK) ||
	    (r = exec(s, NULL, s->db, "COMMIT", "migrating the schema", err)))
		goto undo;
	return SC_OK;
undo:
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* PRAGMA synchronous = opts.synchronous (outside a transaction). */
static int
apply_sync(struct store *s, struct sc_error *err)
{
	static const char *const syncs[] = { "OFF", "NORMAL", "FULL", "EXTRA" };
	char q[48];
	int r;

	snprintf(q, sizeof(q), "PRAGMA synchronous = %s",
	    syncs[s->opts.synchronous]);
	if ((r = exec(s, NULL, s->db, q, "setting synchronous", err)) == SC_OK)
		s->sync_now = s->opts.synchronous;
	return r;
}

int
store_reconfigure(struct store *s, const struct store_opts *o,
    struct sc_error *err)
{
	if (o->synchronous < CFG_SYNC_OFF || o->synchronous > CFG_SYNC_EXTRA)
		return sc_errorf(err, SC_EINVAL, "store.synchronous %d (want "
		    "0..3)", o->synchronous);
	s->opts.synchronous = o->synchronous;
	s->opts.retention_ms = o->retention_ms;
	s->opts.retention_count = o->retention_count;
	s->opts.output_max = o->output_max;
	/* SQLite keeps the level of an open transaction: a batch in
	 * progress gets the new one when it has committed */
	if (!s->in_batch && s->sync_now != s->opts.synchronous)
		return apply_sync(s, err);
	return SC_OK;
}

static int
configure(struct store *s, bool fresh, struct sc_error *err)
{
	static const char *const syncs[] = { "OFF", "NORMAL", "FULL", "EXTRA" };
	int sync = s->opts.synchronous;
	int64_t mode;
	char q[96];
	int r;

	if (sync < CFG_SYNC_OFF || sync > CFG_SYNC_EXTRA)
		return sc_errorf(err, SC_EINVAL, "store.synchronous %d (want "
		    "0..3)", sync);
	/* auto_vacuum only takes effect before the first table exists */
	if (fresh && (r = exec(s, NULL, s->db, "PRAGMA auto_vacuum = "
	    "INCREMENTAL", "setting auto_vacuum", err)) != SC_OK)
		return r;
	if ((r = query_int(s, NULL, s->db, "PRAGMA journal_mode = WAL", &mode,
	    err)) != SC_OK)
		return r;
	/* temp_store: savepoint (sub-)journals and temp.doomed in memory;
	 * in a file, every page first written in an item is copied there
	 * with a pwrite, and they are never needed after a crash */
	snprintf(q, sizeof(q), "PRAGMA synchronous = %s; PRAGMA "
	    "journal_size_limit = %d; PRAGMA temp_store = MEMORY",
	    syncs[sync], JOURNAL_LIMIT);
	if ((r = exec(s, NULL, s->db, q, "setting synchronous", err)) != SC_OK)
		return r;
	s->sync_now = sync;
	if (s->opts.max_pages > 0) {
		snprintf(q, sizeof(q), "PRAGMA max_page_count = %u",
		    s->opts.max_pages);
		if ((r = query_int(s, NULL, s->db, q, &mode, err)) != SC_OK)
			return r;
	}
	return exec(s, NULL, s->db, "CREATE TEMP TABLE doomed(id INTEGER "
	    "PRIMARY KEY)", "creating a scratch table", err);
}

static int
load_next_id(struct store *s, struct sc_error *err)
{
	int64_t meta, max;

	if (query_int(s, NULL, s->db, "SELECT value FROM meta WHERE key = "
	    "'next_job_id'", &meta, err) ||
	    query_int(s, NULL, s->db, "SELECT max(id) FROM jobs", &max, err))
		return SC_ESTORE;
	s->next_id = meta > max ? (uint64_t)meta : (uint64_t)max + 1;
	if (s->next_id == 0)
		s->next_id = 1;
	s->saved_id = (uint64_t)meta;
	return SC_OK;
}

int
store_open(const char *path, const struct store_opts *o, struct store **sp,
    struct sc_error *err)
{
	struct store *s;
	int64_t v = 0;
	int rc, r;

	*sp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->path = strdup(path)) == NULL) {
		free(s);
		return sc_errorf(err, SC_ENOMEM, "out of memory");
	}
	if (o != NULL)
		s->opts = *o;
	else
		store_opts_default(&s->opts);
	s->seq = 1;
	s->lockfd = -1;
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = sc_errorf(err, SC_ESTORE, "cannot open database %s: %s",
		    path, s->db != NULL ? sqlite3_errmsg(s->db) :
		    sqlite3_errstr(rc));
		goto fail;
	}
	/* SQLite quietly opens a write-protected file read-only */
	if (sqlite3_db_readonly(s->db, "main") == 1) {
		r = sc_errorf(err, SC_ESTORE, "cannot open database %s for "
		    "writing (the file is read-only)", path);
		goto fail;
	}
	/*
	 * One daemon per database: WAL lets a second writer in between our
	 * transactions, and two daemons would both resume the same jobs. An
	 * flock() on the file (independent of SQLite's fcntl() locks, which
	 * readers such as `sqlite3 .backup` still get) says who owns it. The
	 * descriptor stays open until store_close(), after SQLite's own, so
	 * closing it never drops SQLite's locks.
	 */
	if ((s->lockfd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		r = sc_errorf(err, SC_ESTORE, e == EWOULDBLOCK ?
		    "database %s is locked by another process (is another "
		    "scriptd running?): %s" : "cannot lock database %s: %s",
		    path, e == EWOULDBLOCK ? "another process holds its lock" :
		    strerror(e));
		goto fail;
	}
	if ((rc = sqlite3_extended_result_codes(s->db, 1)) != SQLITE_OK ||
	    (rc = sqlite3_busy_timeout(s->db, s->opts.busy_ms)) != SQLITE_OK) {
		r = fail_db(path, s->db, rc, "configuring the connection", err);
		goto fail;
	}
	if ((r = inspect(path, s->db, &v, err)) != SC_OK ||
	    (r = configure(s, v == 0, err)) != SC_OK ||
	    (r = migrate(s, err)) != SC_OK ||
	    (r = load_next_id(s, err)) != SC_OK)
		goto fail;
	*sp = s;
	return SC_OK;
fail:
	store_close(s);
	return r;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->in_batch) {
		struct sc_error e;

		sc_errorf(&e, SC_ESTORE, "database %s closed before the batch "
		    "committed", s->path);
		if (s->db != NULL && !sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		lose(s, &e);
	}
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);		/* NULL is a no-op */
	if (s->lockfd >= 0)
		close(s->lockfd);	/* after SQLite's: see store_open */
	free(s->pend);
	free(s->tbuf);
	free(s->path);
	free(s);
}
