/*
 * Token buckets and the submission-time quota checks. A bucket holds up to
 * `burst` tokens and gains `rate` per second; it starts full, so a quiet
 * tenant can always burst. Times are monotonic ms; a clock that goes back
 * refills nothing.
 */
#include "quota.h"
#include "tenant.h"

static void
refill(struct bucket *b, uint32_t rate, uint32_t burst, int64_t now)
{
	uint64_t cap = (uint64_t)burst * 1000;

	if (!b->init) {
		b->init = true;
		b->milli = cap;
		b->last_ms = now;
		return;
	}
	if (b->milli > cap)		/* burst lowered by a reload */
		b->milli = cap;
	if (now > b->last_ms) {
		uint64_t el = (uint64_t)(now - b->last_ms);

		/* rate tokens/s is rate thousandths per ms; compare before
		 * multiplying so long gaps cannot overflow */
		if (rate > 0)
			b->milli = el > (cap - b->milli) / rate ? cap :
			    b->milli + el * rate;
		b->last_ms = now;
	}
}

bool
quota_take(struct bucket *b, uint32_t rate, uint32_t burst, int64_t now_ms)
{
	refill(b, rate, burst, now_ms);
	if (b->milli < 1000)
		return false;
	b->milli -= 1000;
	return true;
}

uint32_t
quota_tokens(struct bucket *b, uint32_t rate, uint32_t burst, int64_t now_ms)
{
	refill(b, rate, burst, now_ms);
	return (uint32_t)(b->milli / 1000);
}

static int
rate_refused(struct sc_error *err, uint32_t uid, const char *what,
    uint32_t rate, uint32_t burst)
{
	return sc_errorf(err, SC_ELIMIT, "tenant %u: %s rate limit (%u/s, "
	    "burst %u) exceeded", uid, what, rate, burst);
}

int
quota_submit(const struct cfg *c, struct tenant_acct *t, uint32_t tasks_live,
    int64_t now_ms, struct sc_error *err)
{
	if (t->njobs >= c->tenant.max_jobs)
		return sc_errorf(err, SC_ELIMIT, "tenant %u: live job limit "
		    "(%u) reached", t->uid, c->tenant.max_jobs);
	if (tasks_live >= c->tenant.max_tasks)
		return sc_errorf(err, SC_ELIMIT, "tenant %u: live task limit "
		    "(%u) reached", t->uid, c->tenant.max_tasks);
	if (!quota_take(&t->submit, c->tenant.submit_rate,
	    c->tenant.submit_burst, now_ms))
		return rate_refused(err, t->uid, "submission",
		    c->tenant.submit_rate, c->tenant.submit_burst);
	return SC_OK;
}

int
quota_spawn(const struct cfg *c, struct tenant_acct *t, int64_t now_ms,
    struct sc_error *err)
{
	if (!quota_take(&t->spawn, c->tenant.spawn_rate, c->tenant.spawn_burst,
	    now_ms))
		return rate_refused(err, t->uid, "spawn", c->tenant.spawn_rate,
		    c->tenant.spawn_burst);
	return SC_OK;
}

int
quota_extern(const struct cfg *c, struct tenant_acct *t, int64_t now_ms,
    struct sc_error *err)
{
	if (!quota_take(&t->ext, c->tenant.extern_rate,
	    c->tenant.extern_burst, now_ms))
		return rate_refused(err, t->uid, "extern call",
		    c->tenant.extern_rate, c->tenant.extern_burst);
	return SC_OK;
}
