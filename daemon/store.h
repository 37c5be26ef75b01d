/*
 * The durable store: one SQLite database in WAL mode (docs/durability.md).
 * Shaped for the event loop: every write goes into the batch of the current
 * loop turn (one transaction, begun by the first write) and becomes durable
 * only when store_commit() commits it, from loop_before_sleep. Callers learn
 * when by a callback per queued item (store_on_commit) or by comparing
 * sequence numbers (store_batch_seq / store_durable_seq). Reads see the
 * open batch. Nothing here aborts: every SQLite failure is an SC_ESTORE
 * with a message that names the database and the cause.
 */
#ifndef SC_STORE_H
#define SC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define STORE_SCHEMA_VERSION	3		/* PRAGMA user_version we write */
#define STORE_APP_ID		0x53435244	/* PRAGMA application_id "SCRD" */
#define STORE_HASH_BYTES	32		/* module key: SHA-256 */
#define STORE_NAME_MAX		255u		/* job name bytes */
#define STORE_ERROR_MAX		8192u		/* error text bytes kept */
#define STORE_RESULT_MAX	4096u		/* result text bytes (JOBS_RESULT_MAX) */

struct store_opts {
	int synchronous;		/* enum cfg_sync (PRAGMA synchronous) */
	uint64_t retention_ms;		/* keep ended jobs this long */
	uint32_t retention_count;	/* ended jobs kept per tenant */
	uint64_t output_max;		/* output bytes kept per job and stream */
	int busy_ms;			/* wait this long for a lock, then fail */
	uint32_t max_pages;		/* PRAGMA max_page_count; 0: SQLite's */
};

/* store.synchronous full, 7 days, 10000 per tenant, 1 MiB, 200 ms. */
void store_opts_default(struct store_opts *o);

enum store_job_state {
	STORE_LIVE,			/* submitted, no final record yet */
	STORE_ENDED,			/* has its final record */
};

/* A job row. Final status values are enum job_status (sched.h). */
struct store_job {
	uint64_t id;			/* job id (store_alloc_job_id) */
	uint32_t tenant;		/* owner uid */
	const char *name;		/* UTF-8, <= STORE_NAME_MAX bytes */
	uint8_t module[STORE_HASH_BYTES];	/* SHA-256 of the module */
	int64_t created_ms;		/* wall ms of submission */
	int64_t started_ms;		/* wall ms it first ran; 0: not yet */
	int64_t ended_ms;		/* wall ms of its final record; 0 */
	int64_t timeout_ms;		/* wall-clock limit of the job */
	bool durable;			/* survives restarts */
	int state;			/* enum store_job_state */
	int status;			/* final status, -1 while live */
	const char *error;		/* final error text, or NULL */
	const char *result;		/* entry's value as text, or NULL */
	uint64_t out_kept[2];		/* stdout, stderr bytes stored */
	uint64_t out_dropped[2];	/* bytes past output_max, dropped */
};

/* A task row written with a job snapshot (snapshot.c fills these). */
struct store_task {
	uint32_t tid;			/* task id within the job */
	int state;			/* enum task_state (vm.h) */
	int64_t due_ms;			/* wall ms of its timer, or -1 */
};

struct store;

/* Called once per store_on_commit() item: status SC_OK once the batch
 * holding it is durable, else the error that lost the batch. */
typedef void (*store_commit_fn)(void *arg, int status,
    const struct sc_error *err);
/* Recovery and lookups: return SC_OK to go on, anything else stops the
 * walk and is returned. Pointers are valid during the call only. */
typedef int (*store_job_fn)(void *arg, const struct store_job *j,
    const uint8_t *snap, size_t snaplen);
typedef int (*store_timer_fn)(void *arg, uint64_t job, uint32_t tid,
    int64_t due_ms);
typedef int (*store_task_fn)(void *arg, uint64_t job,
    const struct store_task *t);
typedef int (*store_output_fn)(void *arg, uint64_t seq, int stream,
    const uint8_t *buf, size_t len);

/* Open (creating or migrating) the database at path. Refuses, without
 * writing to it, a corrupt, locked, unreadable or foreign file and a newer
 * schema. On success *sp owns the connection (store_close()). */
int store_open(const char *path, const struct store_opts *o,
    struct store **sp, struct sc_error *err) SC_MUST_CHECK;
/* A reload: take o's synchronous level (at once, or after the open batch
 * commits), retention and output cap; the rest of o is ignored. */
int store_reconfigure(struct store *s, const struct store_opts *o,
    struct sc_error *err) SC_MUST_CHECK;
/* Roll back an uncommitted batch (its callbacks get SC_ESTORE), close.
 * NULL is a no-op. */
void store_close(struct store *s);
/* Begin the batch now (writes also begin it on demand). */
int store_begin(struct store *s, struct sc_error *err) SC_MUST_CHECK;
/* Commit the batch (no-op without one); then run its callbacks. */
int store_commit(struct store *s, struct sc_error *err) SC_MUST_CHECK;
/* Whether a batch is open (there are uncommitted writes). */
bool store_in_batch(const struct store *s);
/* Sequence number of the batch the next write goes into. */
uint64_t store_batch_seq(const struct store *s);
/* Sequence number of the last committed batch (0: none yet). */
uint64_t store_durable_seq(const struct store *s);
/* Call fn(arg, status, err) when the current batch commits or is lost. */
int store_on_commit(struct store *s, store_commit_fn fn, void *arg,
    struct sc_error *err) SC_MUST_CHECK;

/* A new job id, never reused, also after restarts and retention. */
int store_alloc_job_id(struct store *s, uint64_t *idp, struct sc_error *err)
    SC_MUST_CHECK;
/* An id for a job that is not stored (ephemeral): taken from the same
 * counter, so stored jobs never get it; the counter is saved with the
 * next batch that commits. */
uint64_t store_take_id(struct store *s);
/* Group the writes that follow into one unit of the batch: after
 * store_group_end(s, r, err) with r != SC_OK none of them remains (a
 * savepoint around the items' own). Returns r, or the undo's error. */
int store_group_begin(struct store *s, struct sc_error *err) SC_MUST_CHECK;
int store_group_end(struct store *s, int r, struct sc_error *err)
    SC_MUST_CHECK;
/* Queue a submission: the module (stored once by its SHA-256, written to
 * j->module here) and the job row (j->id from store_alloc_job_id). */
int store_submit(struct store *s, struct store_job *j, const uint8_t *mod,
    size_t modlen, struct sc_error *err) SC_MUST_CHECK;
/* Record that job id first ran at wall ms started_ms. */
int store_start_job(struct store *s, uint64_t id, int64_t started_ms,
    struct sc_error *err) SC_MUST_CHECK;
/* Replace the job's snapshot and its task and timer rows. */
int store_put_snapshot(struct store *s, uint64_t job, const uint8_t *snap,
    size_t len, const struct store_task *tasks, uint32_t ntasks,
    int64_t taken_ms, struct sc_error *err) SC_MUST_CHECK;
/* Append output (stream 1 stdout, 2 stderr); past output_max it is
 * counted as dropped. */
int store_put_output(struct store *s, uint64_t job, int stream,
    const void *buf, size_t len, struct sc_error *err) SC_MUST_CHECK;
/* The final record (exactly one per job), with the entry's value as text
 * (NULL: none); drops snapshot, tasks, timers. */
int store_put_final(struct store *s, uint64_t job, int status,
    const char *error, const char *result, int64_t ended_ms,
    struct sc_error *err) SC_MUST_CHECK;
/* Delete up to max ended jobs past retention (time, then count per
 * tenant) with their output and unused modules; reuse the freed pages. */
int store_retain(struct store *s, int64_t now_ms, uint32_t max,
    uint32_t *ndeleted, struct sc_error *err) SC_MUST_CHECK;

/* Every live job in id order, with its snapshot (NULL, 0: none yet). */
int store_recover_jobs(struct store *s, store_job_fn fn, void *arg,
    struct sc_error *err) SC_MUST_CHECK;
/* Every timer row, earliest due first (ties by job, task). */
int store_recover_timers(struct store *s, store_timer_fn fn, void *arg,
    struct sc_error *err) SC_MUST_CHECK;
/* Every task row of live jobs, by job and task id. */
int store_recover_tasks(struct store *s, store_task_fn fn, void *arg,
    struct sc_error *err) SC_MUST_CHECK;
/* Every job, live or ended, in id order, with its snapshot if any. */
int store_list_jobs(struct store *s, store_job_fn fn, void *arg,
    struct sc_error *err) SC_MUST_CHECK;
/* One job (live or ended); SC_ENOTFOUND if there is none. */
int store_get_job(struct store *s, uint64_t id, store_job_fn fn, void *arg,
    struct sc_error *err) SC_MUST_CHECK;
/* A module by hash, into a malloc'd *bufp (caller frees). */
int store_get_module(struct store *s, const uint8_t hash[STORE_HASH_BYTES],
    uint8_t **bufp, size_t *lenp, struct sc_error *err) SC_MUST_CHECK;
/* The job's output rows with seq > after, in print order. */
int store_read_output(struct store *s, uint64_t job, uint64_t after,
    store_output_fn fn, void *arg, struct sc_error *err) SC_MUST_CHECK;

/* Test fault point: the n-th SQLite step from now fails as an I/O error
 * (1 = the next); n <= 0 disables. */
void store_fault_set(long n);

#endif
