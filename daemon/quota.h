/*
 * Per-tenant quotas: token buckets for rates (submissions, spawns, extern
 * calls per second) and the count limits checked at submission. Every
 * refusal is SC_ELIMIT with a message naming the tenant, the quota and its
 * value ("tenant 1000: live job limit (100) reached"). No allocation.
 */
#ifndef SC_QUOTA_H
#define SC_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "err.h"

struct tenant_acct;

/* A token bucket in thousandths of a token, so refills are exact integers. */
struct bucket {
	uint64_t milli;			/* tokens x 1000 */
	int64_t last_ms;		/* monotonic ms of the last refill */
	bool init;			/* filled to the burst on first use */
};

/* Refill b at rate/s up to burst, then take one token; false if empty. */
bool quota_take(struct bucket *b, uint32_t rate, uint32_t burst,
    int64_t now_ms);
/* Tokens left in b after a refill at now_ms (for stats and tests). */
uint32_t quota_tokens(struct bucket *b, uint32_t rate, uint32_t burst,
    int64_t now_ms);
/* May tenant t submit a job now? Checks live jobs, live tasks (tasks_live
 * from the scheduler) and the submission rate, taking a token. */
int quota_submit(const struct cfg *c, struct tenant_acct *t,
    uint32_t tasks_live, int64_t now_ms, struct sc_error *err) SC_MUST_CHECK;
/* May a task of tenant t spawn now? (spawn rate; takes a token) */
int quota_spawn(const struct cfg *c, struct tenant_acct *t, int64_t now_ms,
    struct sc_error *err) SC_MUST_CHECK;
/* May a task of tenant t call an extern now? (extern rate; takes a token) */
int quota_extern(const struct cfg *c, struct tenant_acct *t, int64_t now_ms,
    struct sc_error *err) SC_MUST_CHECK;

#endif
