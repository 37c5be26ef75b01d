/*
 * Job snapshots: a suspended job to and from snapshot.proto bytes. A
 * snapshot holds every task of the job (each suspended task as its chain
 * of async frames with the live registers of their await states only) and
 * one table of the objects their values reach, so sharing survives a
 * restore. Decoding is input (a database row): everything is checked
 * against the module before any of it reaches the runtime, and a bad
 * snapshot is an error, never a crash. Times cross the restart as wall
 * clock: clock_delta is wall ms minus the scheduler's monotonic ms.
 */
#ifndef SC_SNAPSHOT_H
#define SC_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "sched.h"
#include "store.h"

#define SNAPSHOT_FORMAT		2		/* snap.Job.format written */
#define SNAPSHOT_FORMAT_OLDEST	1		/* ... and the oldest read: 1
					 * lacks TF_SEEN */
#define SNAPSHOT_BYTES_MAX	(16u << 20)	/* encoded job snapshot */
#define SNAPSHOT_DECODE_MEM_MAX	(128u << 20)	/* protobuf-c unpack of one */

/*
 * FFI handles do not survive a restart: a restored ptr value carries this
 * bit, and whoever resolves handles (the FFI pool) must fail a use of one
 * with SNAPSHOT_PTR_STALE_MSG. Live handle ids never have it set.
 */
#define SNAPSHOT_PTR_STALE	((int64_t)1 << 62)
#define SNAPSHOT_PTR_STALE_MSG	"FFI handle from before the restart is no " \
	"longer valid"

static inline bool
snapshot_ptr_is_stale(int64_t v)
{
	return (v & SNAPSHOT_PTR_STALE) != 0;
}

/* An encoded snapshot and the task rows that go with it (store.h). */
struct snapshot {
	uint8_t *buf;			/* snap.Job bytes (malloc) */
	size_t len;			/* bytes */
	struct store_task *tasks;	/* one per task (malloc) */
	uint32_t ntasks;		/* tasks */
};

/* Whether j can be snapshot now: no task running or preempted mid-slice
 * (each live task is suspended at await states or not started yet). */
bool snapshot_ready(const struct job *j);
/* Encode j (snapshot_ready) into *out; SC_ELIMIT over SNAPSHOT_BYTES_MAX,
 * SC_EINVAL if not ready, SC_ENOMEM. */
int snapshot_encode(const struct job *j, int64_t clock_delta,
    struct snapshot *out, struct sc_error *err) SC_MUST_CHECK;
/* Free what snapshot_encode() filled (the struct itself is the caller's). */
void snapshot_free(struct snapshot *sn);
/*
 * Restore a snapshot of a job of p (verified) for tenant into s: a new job
 * whose tasks continue where they stopped (sleepers re-armed, the rest
 * queued to look again at what they waited on). On success *jp is the job
 * and *deadline_ms the wall ms its timeout falls due (the caller applies
 * it, e.g. with sched_set_timeout). On failure nothing is left in s and
 * err says what is wrong ("snapshot: task 3, frame 1: ...").
 */
int snapshot_decode(struct sched *s, struct prog *p, uint32_t tenant,
    const struct job_hooks *hooks, const uint8_t *buf, size_t len,
    int64_t clock_delta, struct job **jp, int64_t *deadline_ms,
    struct sc_error *err) SC_MUST_CHECK;

#endif
