/*
 * Jobs, tenants, run queues, waiter lists and timers around vm_run().
 * Ownership: the scheduler owns jobs (freed when their root ends, after the
 * done hook) and holds one reference on every live task; a task struct is
 * freed when its last reference goes (handles, objects it owns), or with
 * its job. Waiter lists and run queues are intrusive (task qnext/qprev): a
 * task is on at most one of them at a time.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

#define TASK_POOL_MAX	4096		/* task structs kept for reuse */
#define TIMER_CHECK_EVERY 16		/* slices between clock reads */

struct tenant {
	uint32_t id;			/* tenant id (peer uid in the daemon) */
	bool active;			/* on the active ring */
	uint32_t nlive;			/* live tasks of the tenant */
	uint32_t ntimers;		/* armed timers of its tasks */
	struct budget mem;		/* heap bytes of its tasks */
	struct task *head;		/* run queue */
	struct task *tail;		/* run queue */
	struct tenant *anext;		/* active ring (has ready tasks) */
	struct tenant *aprev;		/* active ring */
	struct tenant *next;		/* every tenant */
};

struct sched {
	struct vm_limits lim;		/* limits (a copy) */
	struct vm vm;			/* the running context */
	struct timers tm;		/* sleeps and await_timeout deadlines */
	struct tenant *tenants;		/* every tenant seen */
	struct tenant *ahead;		/* tenants with ready tasks, in turn */
	struct tenant *atail;		/* ... */
	struct job *jobs;		/* live jobs by deadline (submit order) */
	struct job *jobs_tail;		/* ... */
	uint32_t nlive;			/* live tasks */
	uint32_t njobs;			/* live jobs */
	uint64_t next_id;		/* next job id */
	int64_t (*now)(void);		/* monotonic ms */
	struct task *pool;		/* free task structs (qnext) */
	uint32_t npool;			/* in pool */
	sched_spawn_fn spawn_fn;	/* asked before each spawn, or NULL */
	void *spawn_arg;		/* its argument */
	sched_ran_fn ran;		/* told after each slice, or NULL */
	struct sched_ext ext;		/* extern calls; start NULL: none */
};

static void job_end(struct sched *s, struct job *j);

int64_t
sched_now(const struct sched *s)
{
	return s->now();
}

const struct vm_limits *
sched_limits(const struct sched *s)
{
	return &s->lim;
}

void
sched_set_clock(struct sched *s, int64_t (*now_ms)(void))
{
	s->now = now_ms != NULL ? now_ms : timers_now_ms;
}

uint32_t
sched_live_tasks(const struct sched *s)
{
	return s->nlive;
}

uint32_t
sched_njobs(const struct sched *s)
{
	return s->njobs;
}

uint32_t
sched_ntimers(const struct sched *s)
{
	return s->tm.n;
}

bool
sched_has_ready(const struct sched *s)
{
	return s->ahead != NULL;
}

int
sched_new(const struct vm_limits *lim, struct sched **sp)
{
	struct sched *s;

	*sp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return SC_ENOMEM;
	if (lim != NULL)
		s->lim = *lim;
	else
		vm_limits_default(&s->lim);
	s->now = timers_now_ms;
	s->next_id = 1;
	if (vm_init(&s->vm, &s->lim, s) != SC_OK) {
		vm_free(&s->vm);
		free(s);
		return SC_ENOMEM;
	}
	*sp = s;
	return SC_OK;
}

/* Run queues and the tenant ring */

static void
ring_add(struct sched *s, struct tenant *tn)
{
	tn->active = true;
	tn->anext = NULL;
	tn->aprev = s->atail;
	if (s->atail != NULL)
		s->atail->anext = tn;
	else
		s->ahead = tn;
	s->atail = tn;
}

static void
ring_del(struct sched *s, struct tenant *tn)
{
	if (tn->aprev != NULL)
		tn->aprev->anext = tn->anext;
	else
		s->ahead = tn->anext;
	if (tn->anext != NULL)
		tn->anext->aprev = tn->aprev;
	else
		s->atail = tn->aprev;
	tn->anext = tn->aprev = NULL;
	tn->active = false;
}

void
sched_ready(struct sched *s, struct task *t)
{
	struct tenant *tn = t->job->tn;

	t->state = TASK_READY;
	t->qnext = NULL;
	t->qprev = tn->tail;
	if (tn->tail != NULL)
		tn->tail->qnext = t;
	else
		tn->head = t;
	tn->tail = t;
	if (!tn->active)
		ring_add(s, tn);
}

static void
dequeue(struct sched *s, struct task *t)
{
	struct tenant *tn = t->job->tn;

	if (t->qprev != NULL)
		t->qprev->qnext = t->qnext;
	else
		tn->head = t->qnext;
	if (t->qnext != NULL)
		t->qnext->qprev = t->qprev;
	else
		tn->tail = t->qprev;
	t->qnext = t->qprev = NULL;
	if (tn->head == NULL && tn->active)
		ring_del(s, tn);
}

/* Waiter lists */

void
sched_wait_on(struct task *t, struct task *target)
{
	if (SC_NEVER(t->flags & TF_INLIST))
		return;
	t->qprev = NULL;
	t->qnext = target->waiters;
	if (target->waiters != NULL)
		target->waiters->qprev = t;
	target->waiters = t;
	t->flags |= TF_INLIST;
}

static void
waiters_del(struct task *t)
{
	struct task *target = t->waiting_on;

	if (t->qprev != NULL)
		t->qprev->qnext = t->qnext;
	else
		target->waiters = t->qnext;
	if (t->qnext != NULL)
		t->qnext->qprev = t->qprev;
	t->qnext = t->qprev = NULL;
	t->flags &= ~TF_INLIST;
}

/* Disarm t's timer, keeping its tenant's count. */
static void
disarm(struct sched *s, struct task *t)
{
	if (t->timer != TIMER_NONE)
		t->job->tn->ntimers--;
	timer_disarm(&s->tm, &t->timer);
}

void
sched_unwait(struct sched *s, struct task *t)
{
	struct vfut *f = t->fut;

	if (t->flags & TF_INLIST)
		waiters_del(t);
	disarm(s, t);
	if (t->wait == WAIT_LEAF && f != NULL && f->h.o.sub == FUT_EXT &&
	    (f->flags & FUTF_CALLING)) {
		f->flags &= ~FUTF_CALLING;
		s->ext.abandon(s->ext.arg, t);
	}
}

void
sched_set_ext(struct sched *s, const struct sched_ext *ext)
{
	if (ext != NULL)
		s->ext = *ext;
	else
		memset(&s->ext, 0, sizeof(s->ext));
}

int
sched_ext_start(struct sched *s, struct task *t, struct vfut *f,
    struct sc_error *err)
{
	if (s->ext.start == NULL)
		return sc_errorf(err, SC_EDENIED, "extern functions run in the "
		    "daemon's FFI workers; `scriptd run` has none");
	return s->ext.start(s->ext.arg, t, f, err);
}

void
sched_ext_done(struct sched *s, struct task *t, const char *err,
    union value v, const char *str, size_t slen)
{
	struct vfut *f = t->fut;
	struct vstr *vs = NULL;

	if (SC_NEVER(t->state != TASK_WAITING || t->wait != WAIT_LEAF ||
	    f == NULL || f->h.o.sub != FUT_EXT ||
	    !(f->flags & FUTF_CALLING)))
		return;
	f->flags &= ~FUTF_CALLING;
	if (err == NULL && f->h.o.ekind == VK_STRING) {
		if (str_new(t, str, slen, &vs) == SC_OK)
			v.o = &vs->h.o;
		else
			err = "the extern call's string result does not fit "
			    "in the task's memory limit";
	}
	if (err != NULL) {
		f->flags |= FUTF_FAILED;
		/* no room for the text: the task still fails, tersely */
		if (str_new(t, err, strlen(err), &vs) == SC_OK)
			f->child = &vs->h.o;
	} else {
		f->flags |= FUTF_DONE;
		f->fallback = v;
	}
	sched_ready(s, t);
}

/*
 * Arm t's timer. A running task over its tenant's timer limit fails with
 * SC_ELIMIT (vm.err names it); a restored task is not refused (it was
 * within the limit when it was saved).
 */
int
sched_sleep_until(struct sched *s, struct task *t, int64_t due)
{
	struct tenant *tn = t->job->tn;
	bool fresh = t->timer == TIMER_NONE;
	int r;

	if (fresh && s->lim.tenant_timers != 0 &&
	    tn->ntimers >= s->lim.tenant_timers && s->vm.cur == t)
		return sc_errorf(&s->vm.err, SC_ELIMIT, "tenant %u: timer "
		    "limit (%u) reached", tn->id, s->lim.tenant_timers);
	if ((r = timer_arm(&s->tm, &t->timer, due)) != SC_OK) {
		if (!fresh)		/* timer_arm disarmed it first */
			tn->ntimers--;
		return r;
	}
	if (fresh)
		tn->ntimers++;
	return SC_OK;
}

void
sched_output(struct job *j, int stream, const char *buf, size_t len)
{
	if (j->hooks.out != NULL && len > 0)
		j->hooks.out(j->hooks.arg, stream, buf, len);
}

/* Task structs */

static struct task *
task_new(struct sched *s, struct job *j, unsigned rkind)
{
	struct task *t = s->pool;

	if (t != NULL) {
		s->pool = t->qnext;
		s->npool--;
	} else if ((t = malloc(sizeof(*t))) == NULL)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->o.refs = 1;			/* the scheduler's, while live */
	t->o.kind = VK_TASK;
	t->o.ekind = (uint8_t)rkind;
	t->timer = TIMER_NONE;
	t->job = j;
	t->mem.limit = s->lim.task_mem;
	/* the limit as configured now (a reload applies to new charges) */
	j->tn->mem.limit = s->lim.tenant_mem != 0 ? s->lim.tenant_mem :
	    SIZE_MAX;
	t->mem.parent = &j->mem;
	t->jnext = j->tasks;
	if (j->tasks != NULL)
		j->tasks->jprev = t;
	j->tasks = t;
	j->nlive++;
	j->tn->nlive++;
	s->nlive++;
	return t;
}

static void
task_release(struct sched *s, struct task *t)
{
	free(t->error);
	if (s->npool < TASK_POOL_MAX) {
		t->qnext = s->pool;
		s->pool = t;
		s->npool++;
	} else
		free(t);
}

static void
jobs_unlink_task(struct task *t)
{
	struct job *j = t->job;

	if (t->jprev != NULL)
		t->jprev->jnext = t->jnext;
	else
		j->tasks = t->jnext;
	if (t->jnext != NULL)
		t->jnext->jprev = t->jprev;
}

/*
 * A spawned task failed and no await saw it: say so on the job's stderr,
 * once, when the last reference to it goes or the job ends, whichever is
 * first (an await could still come until then).
 */
static void
report_unseen(struct task *t)
{
	static const char head[] = "warning: a task failed and nothing "
	    "awaited it: ";

	if (t->state != TASK_FAILED || t == t->job->root ||
	    (t->flags & (TF_SEEN | TF_INTERNAL)))
		return;
	t->flags |= TF_SEEN;
	sched_output(t->job, OUT_STDERR, head, sizeof(head) - 1);
	if (t->error != NULL)
		sched_output(t->job, OUT_STDERR, t->error, strlen(t->error));
	else
		sched_output(t->job, OUT_STDERR, "out of memory", 13);
	sched_output(t->job, OUT_STDERR, "\n", 1);
}

void
task_destroy(struct task *t, struct obj **work)
{
	report_unseen(t);
	if (vkind_is_ref(t->o.ekind) && t->state == TASK_DONE)
		obj_drop(t->result.o, work);
	if (t->waiting_on != NULL)
		obj_drop(&t->waiting_on->o, work);
	if (t->fut != NULL)
		obj_drop(&t->fut->h.o, work);
	jobs_unlink_task(t);
	task_release(t->job->s, t);
}

/* t ended (state and error set, nothing saved): wake its waiters. */
static void
finish(struct sched *s, struct task *t)
{
	struct job *j = t->job;

	/* a failure fails every join of the job that includes t: let the
	 * joiners look (join_all checks its tasks in order otherwise) */
	if (t->state != TASK_DONE && !j->ending)
		for (struct vfut *f = j->joins; f != NULL; f = f->jnext) {
			struct task *w = f->joiner;

			f->flags |= FUTF_FAILSEEN;
			if (w->state == TASK_WAITING) {
				sched_unwait(s, w);
				sched_ready(s, w);
			}
		}
	while (t->waiters != NULL) {
		struct task *w = t->waiters;

		waiters_del(w);
		disarm(s, w);
		sched_ready(s, w);
	}
	s->nlive--;
	j->nlive--;
	j->tn->nlive--;
	if (t == j->root && !j->ending)
		job_end(s, j);
	else
		obj_unref(&t->o);
}

void
sched_set_ran_hook(struct sched *s, sched_ran_fn fn)
{
	s->ran = fn;
}

void
sched_set_spawn_hook(struct sched *s, sched_spawn_fn fn, void *arg)
{
	s->spawn_fn = fn;
	s->spawn_arg = arg;
}

/* The limits a spawn must pass; on SC_ELIMIT vm.err names the limit. */
static int
spawn_allowed(struct sched *s, struct tenant *tn, unsigned flags)
{
	if (s->nlive >= s->lim.live_tasks)
		return sc_errorf(&s->vm.err, SC_ELIMIT,
		    "live task limit (%u) reached", s->lim.live_tasks);
	if (s->lim.tenant_tasks != 0 && tn->nlive >= s->lim.tenant_tasks)
		return sc_errorf(&s->vm.err, SC_ELIMIT, "tenant %u: live task "
		    "limit (%u) reached", tn->id, s->lim.tenant_tasks);
	if (!(flags & TF_INTERNAL) && s->spawn_fn != NULL &&
	    s->spawn_fn(s->spawn_arg, tn->id, &s->vm.err) != SC_OK)
		return SC_ELIMIT;
	return SC_OK;
}

/* Fails with SC_ELIMIT (vm.err set: the limit) or SC_ENOMEM. */
int
sched_spawn(struct sched *s, struct task *parent, struct vfut *f,
    unsigned flags, struct task **tp)
{
	struct task *t;
	int r;

	*tp = NULL;
	if ((r = spawn_allowed(s, parent->job->tn, flags)) != SC_OK)
		return r;
	if ((t = task_new(s, parent->job, f->h.o.ekind)) == NULL)
		return SC_ENOMEM;
	t->flags = (uint8_t)flags;
	t->saved_kind = SAVED_START;
	t->fut = f;
	f->h.o.refs++;
	t->o.refs++;			/* the handle */
	sched_ready(s, t);
	*tp = t;
	return SC_OK;
}

/* The internal child (await_timeout's) that t is waiting for, if live. */
static struct task *
internal_child(struct task *t)
{
	struct task *c;

	if (t->wait != WAIT_LEAF || t->fut == NULL ||
	    t->fut->h.o.sub != FUT_TIMEOUT || t->fut->child == NULL ||
	    t->fut->child->kind != VK_TASK)
		return NULL;
	c = (struct task *)t->fut->child;
	if (!(c->flags & TF_INTERNAL) || task_state_ended(c->state))
		return NULL;
	return c;
}

/*
 * End t (not running) with state and msg; then the internal child it was
 * awaiting through await_timeout, and so on down the chain (a loop, not
 * recursion: chains can be as long as the live-task limit).
 */
void
sched_kill(struct sched *s, struct task *t, unsigned state, const char *msg)
{
	while (t != NULL && !task_state_ended(t->state)) {
		struct task *c;

		if (t->state == TASK_RUNNING || (t == t->job->root &&
		    s->vm.cur != NULL && s->vm.cur->job == t->job)) {
			t->flags |= TF_CANCEL;	/* fails at its next stop */
			return;
		}
		if ((c = internal_child(t)) != NULL)
			c->o.refs++;
		if (t->state == TASK_READY)
			dequeue(s, t);
		sched_unwait(s, t);
		vm_drop_saved(t);
		free(t->error);
		t->error = strdup(msg);
		t->state = (uint8_t)state;
		finish(s, t);
		if (c != NULL && c->o.refs == 1) {
			obj_unref(&c->o);	/* ended meanwhile and unshared */
			return;
		}
		if (c != NULL)
			c->o.refs--;		/* still held elsewhere */
		t = c;
		state = TASK_CANCELLED;
		msg = "task cancelled";
	}
}

/* Jobs */

uint32_t
sched_tenant_tasks(const struct sched *s, uint32_t tenant)
{
	for (const struct tenant *tn = s->tenants; tn != NULL; tn = tn->next)
		if (tn->id == tenant)
			return tn->nlive;
	return 0;
}

/*
 * Link j into the deadline-ordered job list: walk back from the tail, so
 * equal timeouts (the common case) cost O(1).
 */
static void
jobs_insert(struct sched *s, struct job *j)
{
	struct job *after = s->jobs_tail;

	/* before the head: O(1) too (restored jobs are re-linked) */
	if (s->jobs != NULL && j->deadline < s->jobs->deadline)
		after = NULL;
	while (after != NULL && after->deadline > j->deadline)
		after = after->prev;
	j->prev = after;
	j->next = after != NULL ? after->next : s->jobs;
	if (j->next != NULL)
		j->next->prev = j;
	else
		s->jobs_tail = j;
	if (after != NULL)
		after->next = j;
	else
		s->jobs = j;
}

static void
jobs_unlink(struct sched *s, struct job *j)
{
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		s->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	else
		s->jobs_tail = j->prev;
	j->next = j->prev = NULL;
}

static int64_t
deadline_of(int64_t start, int64_t ms)
{
	return ms > INT64_MAX - start ? INT64_MAX : start + ms;
}

void
sched_set_timeout(struct sched *s, struct job *j, int64_t ms)
{
	int64_t start = j->deadline - j->timeout_ms;

	jobs_unlink(s, j);
	j->timeout_ms = ms;
	j->deadline = deadline_of(start, ms);
	jobs_insert(s, j);
}

void
sched_set_deadline(struct sched *s, struct job *j, int64_t deadline,
    int64_t ms)
{
	jobs_unlink(s, j);
	j->timeout_ms = ms;
	j->deadline = deadline;
	jobs_insert(s, j);
}

int
sched_set_limits(struct sched *s, const struct vm_limits *lim)
{
	struct vm *vm = &s->vm;

	/* the frame stack is sized by call_depth; grow it between slices */
	if (lim->call_depth + 1 > vm->capframes) {
		struct frame *f;

		if (SC_NEVER(vm->nframes != 0))
			return SC_EINVAL;
		if ((f = realloc(vm->frames, (size_t)(lim->call_depth + 1) *
		    sizeof(*f))) == NULL)
			return SC_ENOMEM;
		vm->frames = f;
		vm->capframes = lim->call_depth + 1;
	}
	s->lim = *lim;
	return SC_OK;
}

static struct tenant *
tenant_get(struct sched *s, uint32_t id)
{
	struct tenant *tn;

	for (tn = s->tenants; tn != NULL; tn = tn->next)
		if (tn->id == id)
			return tn;
	if ((tn = calloc(1, sizeof(*tn))) == NULL)
		return NULL;
	tn->id = id;
	tn->next = s->tenants;
	s->tenants = tn;
	return tn;
}

int
sched_submit(struct sched *s, struct prog *p, uint32_t tenant,
    const struct job_hooks *hooks, struct job **jp, struct sc_error *err)
{
	const struct module *m = p->m;
	struct tenant *tn;
	struct job *j;
	int64_t now = s->now();

	if (jp != NULL)
		*jp = NULL;
	if (s->nlive >= s->lim.live_tasks)
		return sc_errorf(err, SC_ELIMIT, "live task limit (%u) reached",
		    s->lim.live_tasks);
	if ((tn = tenant_get(s, tenant)) == NULL)
		return sc_errorf(err, SC_ENOMEM, "out of memory");
	if (s->lim.tenant_tasks != 0 && tn->nlive >= s->lim.tenant_tasks)
		return sc_errorf(err, SC_ELIMIT, "tenant %u: live task limit "
		    "(%u) reached", tenant, s->lim.tenant_tasks);
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return sc_errorf(err, SC_ENOMEM, "out of memory");
	j->s = s;
	j->tn = tn;
	j->mem.limit = SIZE_MAX;	/* only the task's and tenant's limits */
	j->mem.parent = &tn->mem;
	j->id = s->next_id++;
	if (hooks != NULL)
		j->hooks = *hooks;
	j->timeout_ms = s->lim.task_timeout_ms;
	j->deadline = deadline_of(now, j->timeout_ms);
	if ((j->root = task_new(s, j, m->fns[m->entry].ret_kind)) == NULL) {
		free(j);
		return sc_errorf(err, SC_ENOMEM, "out of memory");
	}
	j->root->saved_kind = SAVED_START;
	prog_ref(p);
	j->prog = p;
	jobs_insert(s, j);	/* sorted: a reload may shorten the timeout */
	s->njobs++;
	sched_ready(s, j->root);
	if (jp != NULL)
		*jp = j;
	return SC_OK;
}

/* Free everything of j at once: cycles need no counting here. */
static void
job_sweep(struct sched *s, struct job *j)
{
	while (j->objs != NULL) {
		struct hobj *h = j->objs;

		j->objs = h->next;
		obj_sweep(&h->o);
	}
	mem_detach(&j->mem);		/* swept: give it back to the tenant */
	while (j->tasks != NULL) {
		struct task *t = j->tasks;

		j->tasks = t->jnext;
		if (t->saved_kind == SAVED_SUSP || t->saved_kind == SAVED_PARK)
			free(t->saved);
		task_release(s, t);
	}
	jobs_unlink(s, j);
	s->njobs--;
	prog_unref(j->prog);
	free(j);
}

/*
 * The root ended: cancel the rest of the job, run the done hook, free the
 * job. Every task is pinned first so that no task struct is freed while
 * the list is walked; the sweep frees them all anyway.
 */
static void
job_end(struct sched *s, struct job *j)
{
	static const int status[] = {
		[TASK_DONE] = JOB_COMPLETED, [TASK_FAILED] = JOB_FAILED,
		[TASK_CANCELLED] = JOB_CANCELLED,
		[TASK_TIMEDOUT] = JOB_TIMEDOUT,
	};
	struct task *t;

	j->ending = true;
	for (t = j->tasks; t != NULL && t->jnext != NULL; t = t->jnext)
		;
	for (; t != NULL; t = t->jprev)		/* oldest first */
		report_unseen(t);
	for (t = j->tasks; t != NULL; t = t->jnext)
		t->o.refs++;
	for (t = j->tasks; t != NULL; t = t->jnext)
		if (t != j->root)
			sched_kill(s, t, TASK_CANCELLED, "task cancelled");
	if (j->hooks.done != NULL)
		j->hooks.done(j->hooks.arg, j, status[j->root->state],
		    j->root->state == TASK_DONE ? NULL : j->root->error != NULL ?
		    j->root->error : "out of memory");
	job_sweep(s, j);
}

void
sched_cancel_job(struct sched *s, struct job *j)
{
	sched_kill(s, j->root, TASK_CANCELLED, "task cancelled");
}

void
sched_fire_timers(struct sched *s, int64_t now)
{
	uint32_t *slot;

	while ((slot = timer_pop_due(&s->tm, now)) != NULL) {
		struct task *t = (struct task *)(void *)((char *)slot -
		    offsetof(struct task, timer));

		t->job->tn->ntimers--;		/* popped: not armed now */
		if (t->state != TASK_WAITING)
			continue;
		if (t->flags & TF_INLIST)
			waiters_del(t);
		sched_ready(s, t);
	}
	while (s->jobs != NULL && s->jobs->deadline <= now) {
		char msg[96];
		int64_t ms = s->jobs->timeout_ms;

		if (ms % 1000 == 0)
			snprintf(msg, sizeof(msg), "task timed out (limit %lld s)",
			    (long long)(ms / 1000));
		else
			snprintf(msg, sizeof(msg), "task timed out (limit %lld ms)",
			    (long long)ms);
		sched_kill(s, s->jobs->root, TASK_TIMEDOUT, msg);
	}
}

int64_t
sched_next_timer_ms(struct sched *s)
{
	int64_t due = timer_next_due(&s->tm), now;

	if (s->jobs != NULL && s->jobs->deadline < due)
		due = s->jobs->deadline;
	if (due == INT64_MAX)
		return -1;
	now = s->now();
	return due > now ? due - now : 0;
}

int
sched_run(struct sched *s, int max_slices)
{
	int n;

	for (n = 0; n < max_slices; n++) {
		struct tenant *tn;
		struct task *t;
		int r;

		if (n % TIMER_CHECK_EVERY == 0 && (s->tm.n > 0 || s->jobs))
			sched_fire_timers(s, s->now());
		if ((tn = s->ahead) == NULL)
			break;
		t = tn->head;
		dequeue(s, t);
		if (tn->active && tn != s->atail) {	/* next tenant's turn */
			ring_del(s, tn);
			ring_add(s, tn);
		}
		if (t->job->started == 0)
			t->job->started = s->now() | 1;	/* 0 means not yet */
		r = vm_run(&s->vm, t, s->lim.fuel);
		if (s->ran != NULL)
			s->ran(t->job);
		if (r == VM_YIELDED)
			sched_ready(s, t);
		else if (r == VM_ENDED)
			finish(s, t);
	}
	return n;
}

void
sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	while (s->jobs != NULL)
		job_sweep(s, s->jobs);
	while (s->tenants != NULL) {
		struct tenant *tn = s->tenants;

		s->tenants = tn->next;
		free(tn);
	}
	while (s->pool != NULL) {
		struct task *t = s->pool;

		s->pool = t->qnext;
		free(t);
	}
	timers_free(&s->tm);
	vm_free(&s->vm);
	free(s);
}

/*
 * Snapshot restore support (daemon/snapshot.c). A restored job is made by
 * sched_submit(); its other task structs come from sched_task_new(): live,
 * on no queue, waiting on nothing, until the restorer queues or arms them.
 */
struct task *
sched_task_new(struct sched *s, struct job *j, unsigned rkind)
{
	struct task *t = task_new(s, j, rkind);

	if (t != NULL)
		t->state = TASK_WAITING;
	return t;
}

void
sched_unready(struct sched *s, struct task *t)
{
	if (t->state == TASK_READY) {
		dequeue(s, t);
		t->state = TASK_WAITING;
	}
}

bool
sched_task_timer(const struct sched *s, const struct task *t, int64_t *due,
    uint64_t *seq)
{
	if (t->timer == TIMER_NONE || t->timer >= s->tm.n)
		return false;
	*due = s->tm.heap[t->timer].due;
	*seq = s->tm.heap[t->timer].seq;
	return true;
}
