/*
 * The job registry: one struct jobrec per job the daemon knows, live or
 * ended, keyed by a daemon-wide id (1, 2, ...; the store will hand these
 * out once jobs are persisted). A record outlives its scheduler job: it
 * keeps the state, times, error, result and the captured output, each
 * stream capped at limits.output_per_job (past it bytes are counted, not
 * kept, and the stream is marked truncated). Ended records are kept per
 * tenant by store.retention_time/_count, and all ended records together
 * keep at most JOBS_KEPT_MAX output bytes. No libevent in here.
 */
#ifndef SC_JOBS_H
#define SC_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "tenant.h"

#define JOBS_NAME_MAX	255u		/* bytes of a job name */
#define JOBS_RESULT_MAX	4096u		/* bytes of a result's text */
#define JOBS_SEGS_MAX	65536u		/* write-order segments per job */
#define JOBS_CHUNK_MAX	(64u << 10)	/* bytes per log chunk */
#define JOBS_KEPT_MAX	(256ull << 20)	/* output bytes of ended jobs */
#define JOBS_HASH_MIN	1024u		/* initial hash buckets */

/* Job states: the values of wire.JobState. */
enum jobrec_state {
	JR_QUEUED = 1,
	JR_RUNNING = 2,
	JR_SUSPENDED = 3,
	JR_COMPLETED = 4,
	JR_FAILED = 5,
	JR_CANCELLED = 6,
	JR_TIMED_OUT = 7,
};

/* Streams: the values of wire.Stream. */
enum { JR_STDOUT = 0, JR_STDERR = 1, JR_NSTREAMS = 2 };

/*
 * Captured output. The segment log records the order of writes across the
 * two streams (consecutive writes to one stream merge), so readers replay
 * them interleaved; after JOBS_SEGS_MAX segments the order is no longer
 * kept and the rest is read stream by stream.
 */
struct jobout {
	char *buf[JR_NSTREAMS];		/* kept bytes */
	size_t len[JR_NSTREAMS];	/* kept */
	size_t cap[JR_NSTREAMS];	/* room in buf */
	uint64_t total[JR_NSTREAMS];	/* written, kept or not */
	bool truncated[JR_NSTREAMS];	/* past the cap */
	uint32_t *segs;			/* len << 1 | stream, in write order */
	uint32_t nsegs;			/* segments */
	uint32_t capsegs;		/* room in segs */
	bool order_lost;		/* segment log full */
};

/* A reader's place in a job's output. */
struct logpos {
	uint64_t off[JR_NSTREAMS];	/* next byte to send, per stream */
	uint64_t at[JR_NSTREAMS];	/* stream bytes before segment seg */
	uint32_t seg;			/* next segment to look at */
};

struct job;

struct jobrec {
	uint64_t id;			/* daemon-wide job id */
	struct tenant_acct *tn;		/* owner */
	char *name;			/* Submit.name or source name */
	int state;			/* enum jobrec_state once ended */
	int64_t created_ms;		/* epoch ms */
	int64_t started_ms;		/* epoch ms, 0 if not yet */
	int64_t ended_ms;		/* epoch ms, 0 if not yet */
	bool durable;			/* not ephemeral */
	bool ended;			/* reached a terminal state */
	int32_t error_code;		/* SC_E* once failed, cancelled, ... */
	char *error;			/* failure message, or NULL */
	char *trace;			/* "at F (FILE:LINE)" lines, or NULL */
	char *result;			/* entry's value as text, or NULL */
	struct job *job;		/* scheduler job while live, else NULL */
	struct jobout out;		/* captured output */
	void *watchers;			/* the server's waiters and readers */
	uint32_t nreaders;		/* of which Logs readers */
	struct jobrec *hnext;		/* hash chain */
	struct jobrec *newer;		/* every job, by id */
	struct jobrec *older;		/* ... */
	struct jobrec *enext;		/* tenant's ended list, oldest first */
	struct jobrec *eprev;		/* ... */
	struct jobrec *lnext;		/* tenant's live list while live */
	struct jobrec *lprev;		/* ... */
	struct jobrec *dnext;		/* the server's dirty list */
	bool dirty;			/* on the dirty list */
	/* durable jobs (srv.c keeps these; docs/durability.md) */
	int sstate;			/* enum jobrec_sstate */
	struct logpos spos;		/* output written to the store */
	struct logpos cpos;		/* ... and committed */
	struct jobrec *snext;		/* the server's store-write list */
	bool swrite;			/* on that list */
	bool sbatch;			/* written in the open batch */
	bool sfinal;			/* its final record is in that batch */
	bool start_stored;		/* jobs.started_ms written */
	bool out_in_store;		/* ended, output not loaded yet */
	int fstatus;			/* enum job_status once ended */
	char *ferror;			/* its error text for the final record */
};

/* Where a durable job's record stands in the store. */
enum jobrec_sstate {
	JS_NONE,			/* ephemeral: not stored */
	JS_PENDING,			/* submitted, batch not committed */
	JS_LIVE,			/* committed, no final record yet */
	JS_FINAL,			/* final record committed */
};

struct jobs {
	struct jobrec **tab;		/* hash by id */
	uint32_t captab;		/* buckets, a power of two */
	uint32_t n;			/* records */
	uint32_t nlive;			/* records not ended */
	struct jobrec *newest;		/* every job, newest first */
	struct jobrec *oldest;		/* ... */
	uint64_t next_id;		/* next job id */
	uint64_t kept_bytes;		/* output bytes of ended records */
};

/* Set up an empty registry (ids start at 1). */
int jobs_init(struct jobs *js) SC_MUST_CHECK;
/* Free every record. */
void jobs_free(struct jobs *js);
/* Add a live record for tenant tn with a copy of name (UTF-8, at most
 * JOBS_NAME_MAX bytes, else SC_EINVAL); *jrp is owned by js. */
int jobs_new(struct jobs *js, struct tenant_acct *tn, const char *name,
    size_t namelen, bool durable, int64_t now_ms, struct jobrec **jrp,
    struct sc_error *err) SC_MUST_CHECK;
/* Remove a live record whose job never started (submission failed). */
void jobs_discard(struct jobs *js, struct jobrec *jr);
/* Remove an ended record for good (nobody may hold it). */
void jobs_drop(struct jobs *js, struct jobrec *jr);
/* Load kept output of an ended record read back from the store: like
 * jobs_output, but the totals (set from the store) do not change. */
void jobs_load_output(struct jobs *js, struct jobrec *jr, int stream,
    const char *buf, size_t len, uint64_t cap);
/* The record with id, or NULL. */
struct jobrec *jobs_find(const struct jobs *js, uint64_t id);
/* Append len bytes to stream (JR_STDOUT/JR_STDERR), keeping at most cap. */
void jobs_output(struct jobrec *jr, int stream, const char *buf, size_t len,
    uint64_t cap);
/* Record the end: state, code, "MSG\n  at ..." error text (or NULL), result
 * text (or NULL). Moves jr to its tenant's ended list. */
void jobs_end(struct jobs *js, struct jobrec *jr, int state, int32_t code,
    const char *error, const char *result, int64_t now_ms);
/* Drop ended records past retention (count per tenant, age) and over
 * JOBS_KEPT_MAX, oldest first; records with watchers or store writes
 * under way (swrite, sbatch) stay. Returns how
 * many were dropped. */
uint32_t jobs_expire(struct jobs *js, struct tenants *ts,
    uint32_t keep_count, uint64_t keep_ms, int64_t now_ms);
/* Start a reader at the given stream offsets. */
void jobs_logpos(struct logpos *pos, uint64_t off_out, uint64_t off_err);
/* The next chunk (at most JOBS_CHUNK_MAX bytes) for pos: true with
 * *stream, *data, *len, *off set and pos advanced; false if none now. */
bool jobs_next_chunk(const struct jobrec *jr, struct logpos *pos, int *stream,
    const char **data, size_t *len, uint64_t *off);
/* Whether every kept byte was read from pos. */
bool jobs_read_all(const struct jobrec *jr, const struct logpos *pos);

#endif
