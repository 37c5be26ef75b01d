/*
 * The FFI worker pool, daemon side (docs/ffi.md). Native code never runs in
 * the daemon: each extern call is sent to one of ffi.workers pre-started
 * `scriptd ffi-worker` processes (ffiworker.c), one call in flight per
 * worker, and comes back through the done callback, never from inside
 * ffipool_call(). Pointers stay in the workers; Script holds handles checked
 * here for generation, owner tenant, age and the worker they live in. A
 * worker that crashes, hangs past ffi.call_timeout or hits a limit fails
 * the one call it held and is replaced. Nothing here blocks on a worker.
 */
#ifndef SC_FFIPOOL_H
#define SC_FFIPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "err.h"
#include "modio.h"
#include "value.h"

#define FFI_HANDLE_SLOTS_MAX	(1u << 24)	/* handle table entries */
#define FFI_WORKER_HANDLES	65536u		/* pointers one worker keeps
						 * (every tenant's) */

struct event_base;
struct ffipool;

/* The call for key ended: err (failed) or the result v (int, float, bool,
 * ptr handle), or a string result str, slen (valid during the call). */
typedef void (*ffipool_done_fn)(void *arg, void *key, const char *err,
    union value v, const char *str, size_t slen);

/* One extern call as the VM asks it. */
struct ffipool_req {
	void *key;			/* who waits (the task) */
	uint32_t tenant;		/* owner uid of the calling job */
	uint64_t job;			/* the calling job's id */
	uint32_t *nhandles;		/* the tenant's live handle count */
	const struct mod_extern *ext;	/* what to call */
	const union value *args;	/* ext->nparams values */
};

struct ffipool_stats {
	uint64_t calls;			/* calls answered */
	uint64_t faults;		/* workers lost to a crash or limit */
	uint32_t workers;		/* workers ready or busy */
	uint32_t handles;		/* live handles */
};

/* Start the pool for cfg (kept, not copied: ffipool_reload() before the
 * old one goes). With no ffi.allow line, no worker is started. */
int ffipool_new(struct event_base *base, const struct cfg *cfg,
    ffipool_done_fn done, void *arg, struct ffipool **pp, struct sc_error *err)
    SC_MUST_CHECK;
/* Kill the workers (no callbacks run); NULL is a no-op. */
void ffipool_free(struct ffipool *p);
/* The configuration changed: if [ffi] did, fail the calls in flight and
 * queued, restart the workers (their handles die). */
void ffipool_reload(struct ffipool *p, const struct cfg *cfg);
/* Queue a call; SC_OK means the done callback follows. Refusals (not
 * allowed now, a bad handle or argument, a limit) fill err. */
int ffipool_call(struct ffipool *p, const struct ffipool_req *rq,
    struct sc_error *err) SC_MUST_CHECK;
/* key stopped waiting: drop its queued call, or ignore its reply. */
void ffipool_abandon(struct ffipool *p, void *key);
/* A job ended: its handles go (the workers forget the pointers). */
void ffipool_job_ended(struct ffipool *p, uint64_t job);
void ffipool_stats(const struct ffipool *p, struct ffipool_stats *st);

#endif
