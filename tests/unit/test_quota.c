/*
 * Token buckets and per-tenant quota checks (daemon/quota.c): buckets start
 * full, refill exactly at the rate, never hold more than the burst (also
 * after a reload lowers it), and every refusal names the tenant, the quota
 * and its value.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "quota.h"
#include "tenant.h"

static void
test_bucket_starts_full(void)
{
	struct bucket b = { 0 };

	for (int i = 0; i < 5; i++)
		CHECK(quota_take(&b, 5, 5, 1000));
	CHECK(!quota_take(&b, 5, 5, 1000));
	CHECK_INT_EQ(quota_tokens(&b, 5, 5, 1000), 0);
}

static void
test_bucket_refills_at_rate(void)
{
	struct bucket b = { 0 };

	for (int i = 0; i < 5; i++)
		CHECK(quota_take(&b, 5, 5, 0));
	/* 5/s is one token per 200 ms, not earlier */
	CHECK(!quota_take(&b, 5, 5, 199));
	CHECK(quota_take(&b, 5, 5, 200));
	CHECK(!quota_take(&b, 5, 5, 200));
	/* partial refills add up across calls */
	CHECK(!quota_take(&b, 5, 5, 300));
	CHECK(quota_take(&b, 5, 5, 400));
	/* a long quiet spell refills to the burst, no more */
	CHECK_INT_EQ(quota_tokens(&b, 5, 5, 1000000), 5);
}

static void
test_bucket_clock_and_reload(void)
{
	struct bucket b = { 0 };

	CHECK_INT_EQ(quota_tokens(&b, 1000, 100, 5000), 100);
	/* a clock that goes back refills nothing and breaks nothing */
	CHECK(quota_take(&b, 1000, 100, 4000));
	CHECK_INT_EQ(quota_tokens(&b, 1000, 100, 4000), 99);
	/* a reload that lowers the burst caps what the bucket holds */
	CHECK_INT_EQ(quota_tokens(&b, 1000, 10, 4000), 10);
	/* huge rates and long gaps do not overflow */
	CHECK_INT_EQ(quota_tokens(&b, 10000000, 10000000, INT64_MAX / 2),
	    10000000);
}

static void
test_submit_quota(void)
{
	struct cfg c;
	struct tenant_acct t = { .uid = 1000 };
	struct sc_error err = { 0 };

	cfg_defaults(&c);
	c.tenant.max_jobs = 2;
	c.tenant.max_tasks = 10;
	c.tenant.submit_rate = 1;
	c.tenant.submit_burst = 2;
	CHECK_INT_EQ(quota_submit(&c, &t, 0, 0, &err), SC_OK);
	t.njobs = 2;
	CHECK_INT_EQ(quota_submit(&c, &t, 0, 0, &err), SC_ELIMIT);
	CHECK_STR_EQ(err.msg, "tenant 1000: live job limit (2) reached");
	t.njobs = 1;
	CHECK_INT_EQ(quota_submit(&c, &t, 10, 0, &err), SC_ELIMIT);
	CHECK_STR_EQ(err.msg, "tenant 1000: live task limit (10) reached");
	/* refusals by count took no token: one is left of the burst */
	CHECK_INT_EQ(quota_submit(&c, &t, 9, 0, &err), SC_OK);
	CHECK_INT_EQ(quota_submit(&c, &t, 0, 0, &err), SC_ELIMIT);
	CHECK_INT_EQ(err.code, SC_ELIMIT);
	CHECK_STR_EQ(err.msg, "tenant 1000: submission rate limit (1/s, "
	    "burst 2) exceeded");
	CHECK_INT_EQ(quota_submit(&c, &t, 0, 1000, &err), SC_OK);
}

static void
test_spawn_and_extern_quota(void)
{
	struct cfg c;
	struct tenant_acct t = { .uid = 7 };
	struct sc_error err = { 0 };

	cfg_defaults(&c);
	c.tenant.spawn_rate = 3;
	c.tenant.spawn_burst = 1;
	c.tenant.extern_rate = 2;
	c.tenant.extern_burst = 1;
	CHECK_INT_EQ(quota_spawn(&c, &t, 0, &err), SC_OK);
	CHECK_INT_EQ(quota_spawn(&c, &t, 0, &err), SC_ELIMIT);
	CHECK_STR_EQ(err.msg, "tenant 7: spawn rate limit (3/s, burst 1) "
	    "exceeded");
	CHECK_INT_EQ(quota_extern(&c, &t, 0, &err), SC_OK);
	CHECK_INT_EQ(quota_extern(&c, &t, 0, &err), SC_ELIMIT);
	CHECK_STR_EQ(err.msg, "tenant 7: extern call rate limit (2/s, burst "
	    "1) exceeded");
	/* the buckets are separate */
	CHECK_INT_EQ(quota_spawn(&c, &t, 334, &err), SC_OK);
	CHECK_INT_EQ(quota_extern(&c, &t, 500, &err), SC_OK);
}

static void
test_tenant_table(void)
{
	struct tenants ts = { 0 };
	struct tenant_acct *a, *b;
	struct cfg c;

	a = tenant_get(&ts, 1000);
	b = tenant_get(&ts, 1000 + TENANT_BUCKETS);	/* maybe one chain */
	CHECK(a != NULL && b != NULL && a != b);
	CHECK(tenant_get(&ts, 1000) == a);
	CHECK(tenant_find(&ts, 1000 + TENANT_BUCKETS) == b);
	CHECK(tenant_find(&ts, 1) == NULL);
	CHECK_INT_EQ(ts.n, 2);
	cfg_defaults(&c);
	CHECK(!tenant_is_admin(&c, 0));		/* root is not special */
	c.daemon.nadmins = 2;
	c.daemon.admin_uids[0] = 5;
	c.daemon.admin_uids[1] = 1000;
	CHECK(tenant_is_admin(&c, 1000));
	CHECK(!tenant_is_admin(&c, 6));
	tenants_free(&ts);
	CHECK_INT_EQ(ts.n, 0);
}

int
main(void)
{
	RUN(test_bucket_starts_full);
	RUN(test_bucket_refills_at_rate);
	RUN(test_bucket_clock_and_reload);
	RUN(test_submit_quota);
	RUN(test_spawn_and_extern_quota);
	RUN(test_tenant_table);
	return check_done();
}
