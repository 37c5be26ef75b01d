/*
 * What the daemon asks of the scheduler (daemon/sched.c): the per-tenant
 * live-task, armed-timer and memory limits, the spawn hook (rate quotas), a job's
 * own timeout, limits replaced between slices, and the first-slice time.
 * Programs are compiled from Script and run on a fake clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "compile_helper.h"
#include "sched.h"

static int64_t fake_now = 1000;

static int64_t
clock_fn(void)
{
	return fake_now;
}

struct outcome {
	bool done;			/* the done hook ran */
	int status;			/* enum job_status */
	char error[512];		/* its error text */
};

static void
on_done(void *arg, struct job *j, int status, const char *error)
{
	struct outcome *o = arg;

	o->done = true;
	o->status = status;
	snprintf(o->error, sizeof(o->error), "%s", error ? error : "");
}

static struct prog *
prog_of(const char *src)
{
	struct sc_error err = { 0 };
	struct module *m = compile_snippet(src);
	struct prog *p = NULL;

	if (m == NULL || prog_new(m, module_free, &p, &err) != SC_OK) {
		module_free(m);
		return NULL;
	}
	return p;
}

static struct sched *
new_sched(const struct vm_limits *lim)
{
	struct sched *s = NULL;

	if (sched_new(lim, &s) != SC_OK)
		return NULL;
	sched_set_clock(s, clock_fn);
	return s;
}

static int
submit(struct sched *s, struct prog *p, uint32_t tenant, struct outcome *o,
    struct job **jp, struct sc_error *err)
{
	struct job_hooks h = { NULL, on_done, o };

	return sched_submit(s, p, tenant, &h, jp, err);
}

static void
test_tenant_task_limit(void)
{
	struct vm_limits lim;
	struct sc_error err = { 0 };
	struct outcome o[4] = { 0 };
	struct prog *sleeper = prog_of("await sleep(100)\n");
	struct prog *spawner = prog_of("async fn f() { await sleep(100) }\n"
	    "let a = spawn(f())\nlet b = spawn(f())\nawait a\n");
	struct sched *s;

	vm_limits_default(&lim);
	lim.tenant_tasks = 2;
	CHECK((s = new_sched(&lim)) != NULL && sleeper && spawner);
	CHECK_INT_EQ(submit(s, sleeper, 5, &o[0], NULL, &err), SC_OK);
	CHECK_INT_EQ(submit(s, sleeper, 5, &o[1], NULL, &err), SC_OK);
	CHECK_INT_EQ(submit(s, sleeper, 5, &o[2], NULL, &err), SC_ELIMIT);
	CHECK_STR_EQ(err.msg, "tenant 5: live task limit (2) reached");
	CHECK_INT_EQ(sched_tenant_tasks(s, 5), 2);
	/* another tenant is not affected */
	CHECK_INT_EQ(submit(s, spawner, 6, &o[3], NULL, &err), SC_OK);
	sched_run(s, 100);
	/* its root and one child fit; the second spawn fails the job */
	CHECK(o[3].done);
	CHECK_INT_EQ(o[3].status, JOB_FAILED);
	CHECK_STR_CONTAINS(o[3].error, "tenant 6: live task limit (2) "
	    "reached");
	CHECK_INT_EQ(sched_tenant_tasks(s, 6), 0);
	fake_now += 100;
	sched_fire_timers(s, fake_now);
	sched_run(s, 100);
	CHECK(o[0].done && o[1].done);
	CHECK_INT_EQ(sched_tenant_tasks(s, 5), 0);
	prog_unref(sleeper);
	prog_unref(spawner);
	sched_free(s);
}

/* Tasks of one tenant share tenant_mem; what an ended job held is given
 * back; another tenant has its own. */
static void
test_tenant_memory_limit(void)
{
	struct vm_limits lim;
	struct sc_error err = { 0 };
	struct outcome o[3] = { 0 };
	struct prog *hogs = prog_of("async fn hold() -> int {\n"
	    "    let mut s = \"0123456789\"\n"
	    "    while len(s) < 400000 { s = s + s }\n"
	    "    await sleep(100)\n"
	    "    len(s)\n"
	    "}\n"
	    "let mut ts: [Task<int>] = []\n"
	    "let mut i = 0\n"
	    "while i < 4 { push(ts, spawn(hold())); i = i + 1 }\n"
	    "await join_all(ts)\n");
	struct prog *one = prog_of("let mut s = \"0123456789\"\n"
	    "while len(s) < 400000 { s = s + s }\n"
	    "len(s)\n");
	struct sched *s;

	vm_limits_default(&lim);
	lim.tenant_mem = 1u << 20;
	CHECK((s = new_sched(&lim)) != NULL && hogs && one);
	CHECK_INT_EQ(submit(s, hogs, 5, &o[0], NULL, &err), SC_OK);
	sched_run(s, 1000);
	CHECK(o[0].done);
	CHECK_INT_EQ(o[0].status, JOB_FAILED);
	CHECK_STR_CONTAINS(o[0].error, "tenant memory limit (1048576 bytes) "
	    "exceeded");
	/* the failed job's strings were given back to tenant 5 */
	CHECK_INT_EQ(submit(s, one, 5, &o[1], NULL, &err), SC_OK);
	CHECK_INT_EQ(submit(s, one, 6, &o[2], NULL, &err), SC_OK);
	sched_run(s, 1000);
	CHECK(o[1].done && o[2].done);
	CHECK_INT_EQ(o[1].status, JOB_COMPLETED);
	CHECK_INT_EQ(o[2].status, JOB_COMPLETED);
	prog_unref(hogs);
	prog_unref(one);
	sched_free(s);
}

static int hook_calls;

static int
refuse_third(void *arg, uint32_t tenant, struct sc_error *err)
{
	if (++hook_calls < 3)
		return SC_OK;
	return sc_errorf(err, SC_ELIMIT, "tenant %u: spawn rate limit (2/s, "
	    "burst 2) exceeded", tenant);
}

static void
test_spawn_hook(void)
{
	struct sc_error err = { 0 };
	struct outcome o = { 0 };
	struct prog *p = prog_of("async fn f() -> int { 1 }\n"
	    "let mut n = 0\n"
	    "for i in 0..5 { n = n + await spawn(f()) }\nprintln(n)\n");
	struct prog *t = prog_of("async fn f() -> int { 1 }\n"
	    "let x = await await_timeout(f(), 10, 0)\n");
	struct sched *s = new_sched(NULL);

	if (s == NULL || p == NULL || t == NULL) {
		CHECK(0);
		return;
	}
	sched_set_spawn_hook(s, refuse_third, NULL);
	CHECK_INT_EQ(submit(s, p, 9, &o, NULL, &err), SC_OK);
	sched_run(s, 100);
	CHECK(o.done);
	CHECK_INT_EQ(o.status, JOB_FAILED);
	CHECK_STR_CONTAINS(o.error, "tenant 9: spawn rate limit (2/s, burst "
	    "2) exceeded");
	CHECK_INT_EQ(hook_calls, 3);
	/* await_timeout's hidden child is not a spawn: no hook call */
	memset(&o, 0, sizeof(o));
	CHECK_INT_EQ(submit(s, t, 9, &o, NULL, &err), SC_OK);
	sched_run(s, 100);
	CHECK(o.done);
	CHECK_INT_EQ(o.status, JOB_COMPLETED);
	CHECK_INT_EQ(hook_calls, 3);
	prog_unref(p);
	prog_unref(t);
	sched_free(s);
}

static void
test_tenant_timer_limit(void)
{
	struct vm_limits lim;
	struct sc_error err = { 0 };
	struct outcome o = { 0 }, o2 = { 0 };
	struct prog *p = prog_of("async fn f() { await sleep(50) }\n"
	    "let a = spawn(f())\nlet b = spawn(f())\nlet c = spawn(f())\n"
	    "await a\nawait b\nawait c\n");
	struct sched *s;

	vm_limits_default(&lim);
	lim.tenant_timers = 2;
	CHECK((s = new_sched(&lim)) != NULL && p != NULL);
	CHECK_INT_EQ(submit(s, p, 3, &o, NULL, &err), SC_OK);
	sched_run(s, 100);
	/* the third child failed at its sleep; the root sees it at its await */
	CHECK(!o.done);
	CHECK_INT_EQ(sched_ntimers(s), 2);
	fake_now += 50;
	sched_fire_timers(s, fake_now);
	sched_run(s, 100);
	CHECK(o.done);
	CHECK_INT_EQ(o.status, JOB_FAILED);
	CHECK_STR_CONTAINS(o.error, "tenant 3: timer limit (2) reached");
	/* no timer is left over; with a higher limit all three sleep */
	CHECK_INT_EQ(sched_ntimers(s), 0);
	lim.tenant_timers = 3;
	CHECK_INT_EQ(sched_set_limits(s, &lim), SC_OK);
	CHECK_INT_EQ(submit(s, p, 3, &o2, NULL, &err), SC_OK);
	sched_run(s, 100);
	CHECK(!o2.done);
	CHECK_INT_EQ(sched_ntimers(s), 3);
	fake_now += 50;
	sched_fire_timers(s, fake_now);
	sched_run(s, 100);
	CHECK(o2.done);
	CHECK_INT_EQ(o2.status, JOB_COMPLETED);
	CHECK_INT_EQ(sched_ntimers(s), 0);
	prog_unref(p);
	sched_free(s);
}

static void
test_job_timeout_and_start(void)
{
	struct sc_error err = { 0 };
	struct outcome a = { 0 }, b = { 0 };
	struct prog *p = prog_of("await sleep(100000)\n");
	struct sched *s = new_sched(NULL);
	struct job *ja = NULL, *jb = NULL;

	CHECK(s != NULL && p != NULL);
	CHECK_INT_EQ(submit(s, p, 1, &a, &ja, &err), SC_OK);
	CHECK_INT_EQ(submit(s, p, 1, &b, &jb, &err), SC_OK);
	/* the second job asks for less: it must time out first */
	sched_set_timeout(s, jb, 50);
	CHECK_INT_EQ(jb->timeout_ms, 50);
	CHECK_INT_EQ(sched_next_timer_ms(s), 50);
	CHECK_INT_EQ(ja->started, 0);
	sched_run(s, 10);
	CHECK(ja->started != 0 && jb->started != 0);
	fake_now += 49;
	sched_fire_timers(s, fake_now);
	CHECK(!b.done);
	fake_now += 1;
	sched_fire_timers(s, fake_now);
	CHECK(b.done && !a.done);
	CHECK_INT_EQ(b.status, JOB_TIMEDOUT);
	CHECK_STR_CONTAINS(b.error, "task timed out (limit 50 ms)");
	fake_now += 300 * 1000;
	sched_fire_timers(s, fake_now);
	CHECK(a.done);
	CHECK_INT_EQ(a.status, JOB_TIMEDOUT);
	CHECK_STR_CONTAINS(a.error, "task timed out (limit 300 s)");
	prog_unref(p);
	sched_free(s);
}

static void
test_limits_reload_call_depth(void)
{
	struct vm_limits lim;
	struct sc_error err = { 0 };
	struct outcome a = { 0 }, b = { 0 };
	struct prog *p = prog_of("fn d(n: int) -> int { if n == 0 { 0 } else "
	    "{ 1 + d(n - 1) } }\nprintln(d(300))\n");
	struct sched *s;

	vm_limits_default(&lim);		/* call depth 200 */
	CHECK((s = new_sched(&lim)) != NULL && p != NULL);
	CHECK_INT_EQ(submit(s, p, 1, &a, NULL, &err), SC_OK);
	sched_run(s, 100);
	CHECK(a.done);
	CHECK_STR_CONTAINS(a.error, "call depth limit (200) exceeded");
	lim.call_depth = 1000;		/* the frame stack must grow */
	CHECK_INT_EQ(sched_set_limits(s, &lim), SC_OK);
	CHECK_INT_EQ(submit(s, p, 1, &b, NULL, &err), SC_OK);
	sched_run(s, 100);
	CHECK(b.done);
	CHECK_INT_EQ(b.status, JOB_COMPLETED);
	prog_unref(p);
	sched_free(s);
}

int
main(void)
{
	RUN(test_tenant_task_limit);
	RUN(test_tenant_memory_limit);
	RUN(test_spawn_hook);
	RUN(test_tenant_timer_limit);
	RUN(test_job_timeout_and_start);
	RUN(test_limits_reload_call_depth);
	return check_done();
}
