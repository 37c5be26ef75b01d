/*
 * Requests, the job registry as clients see it, waiters and log readers.
 * Visibility: a job is visible to its tenant and to admins; to anyone
 * else it does not exist ("job N not found", the same words as for an id
 * never used). Waiters and readers are struct watch, on two lists: the
 * job record's and the connection's. A closed connection keeps its
 * watches until it is freed before the loop sleeps, so replies sent from
 * a hook never meet a freed watch. One server per process (the hooks
 * find it through `the`).
 *
 * Durable jobs (docs/durability.md): a submission's job is made at once but
 * held (not runnable) until the batch holding it commits; the reply and the
 * first slice come from the commit callback. A job that ran goes on the
 * store-write list; before the loop sleeps, each one there that is
 * snapshot-ready gets its output since the last write and its snapshot
 * written as one group, an ended one its output and final record, and the
 * batch is committed. Waiters of a durable job hear of its end once its
 * final record has committed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "ffipool.h"
#include "log.h"
#include "modio.h"
#include "quota.h"
#include "sd.h"
#include "snapshot.h"
#include "srv.h"
#include "store.h"
#include "verify.h"

#define RELISTEN_MS	100		/* accept failed (EMFILE): retry */
#define RETAIN_EVERY_S	5		/* seconds between store_retain calls */
#define RETAIN_MAX	1000u		/* jobs one store_retain deletes */
#define WATCH_MAX	1024u		/* pending Waits and Logs per connection */

static_assert(JOBS_RESULT_MAX <= STORE_RESULT_MAX,
    "every result the registry keeps fits in the store");

/* A durable submission waiting for its batch to commit. */
struct pend {
	struct srv *srv;		/* the server */
	struct conn *c;			/* who asked (alive until freed) */
	uint64_t req;			/* request id to answer */
	struct jobrec *jr;		/* its record, NULL: refused already */
};

/* A Wait waiter or a Logs reader. */
struct watch {
	struct conn *c;			/* who asked */
	struct jobrec *jr;		/* which job */
	uint64_t req;			/* request id to answer */
	bool logs;			/* Logs (else Wait) */
	bool follow;			/* Logs with follow */
	bool marked[JR_NSTREAMS];	/* truncation marker sent */
	struct logpos pos;		/* Logs: what was sent */
	struct watch *jnext;		/* job record's watches */
	struct watch *jprev;		/* ... */
	struct watch *cnext;		/* connection's watches */
	struct watch *cprev;		/* ... */
};

static struct srv *the;			/* for the scheduler's hooks */
static int64_t refused_logged;		/* ms of the last refusal logged */
static uint64_t refused_quiet;		/* refusals not logged since */
static struct event *relisten;		/* re-enable accepting */

int64_t
srv_now(void)
{
	return timers_now_ms();
}

static int64_t
epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
to_epoch(const struct srv *srv, int64_t mono)
{
	return srv->start_epoch + (mono - srv->start_mono);
}

void
srv_vm_limits(const struct cfg *c, struct vm_limits *lim)
{
	vm_limits_default(lim);
	lim->live_tasks = c->limits.max_tasks;
	lim->task_timeout_ms = (int64_t)c->limits.task_timeout_ms;
	lim->task_mem = (size_t)c->limits.task_memory;
	lim->call_depth = c->limits.call_depth;
	lim->fuel = (int32_t)c->limits.fuel;
	lim->sleep_max_ms = (int64_t)c->limits.sleep_max_ms;
	lim->tenant_tasks = c->tenant.max_tasks;
	lim->tenant_timers = c->tenant.max_timers;
	lim->tenant_mem = (size_t)c->tenant.max_memory;
}

/* Watches */

/* A watch of jr for request req; NULL with err set when refused. The cap
 * bounds what one connection can make the daemon keep by pipelining. */
static struct watch *
watch_add(struct conn *c, struct jobrec *jr, uint64_t req, bool logs,
    struct sc_error *err)
{
	struct watch *w;

	if (c->nwatches >= WATCH_MAX) {
		sc_errorf(err, SC_ELIMIT, "too many pending waits on this "
		    "connection (limit %u)", WATCH_MAX);
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		sc_errorf(err, SC_ENOMEM, "out of memory");
		return NULL;
	}
	w->c = c;
	w->jr = jr;
	w->req = req;
	w->logs = logs;
	w->jnext = jr->watchers;
	if (w->jnext != NULL)
		w->jnext->jprev = w;
	jr->watchers = w;
	w->cnext = c->watches;
	if (w->cnext != NULL)
		w->cnext->cprev = w;
	c->watches = w;
	jr->nreaders += logs;
	c->nwatches++;
	c->npending++;
	conn_rearm(c);
	return w;
}

static void
watch_del(struct watch *w)
{
	struct conn *c = w->c;

	if (w->jprev != NULL)
		w->jprev->jnext = w->jnext;
	else
		w->jr->watchers = w->jnext;
	if (w->jnext != NULL)
		w->jnext->jprev = w->jprev;
	if (w->cprev != NULL)
		w->cprev->cnext = w->cnext;
	else
		c->watches = w->cnext;
	if (w->cnext != NULL)
		w->cnext->cprev = w->cprev;
	w->jr->nreaders -= w->logs;
	c->nwatches--;
	c->npending--;
	if (c->npending == 0)
		c->last_active = srv_now();	/* idle from now on */
	conn_rearm(c);
	free(w);
}

static void
mark_dirty(struct srv *srv, struct jobrec *jr)
{
	/* only readers care about new output; once per turn, not per print */
	if (jr->dirty || jr->nreaders == 0)
		return;
	jr->dirty = true;
	jr->dnext = srv->dirty;
	srv->dirty = jr;
}

/* Job records as clients see them */

static bool
visible(const struct conn *c, const struct jobrec *jr)
{
	return jr->tn->uid == c->uid || tenant_is_admin(c->srv->cfg, c->uid);
}

static struct jobrec *
find_job(struct conn *c, uint64_t id, struct sc_error *err)
{
	struct jobrec *jr = jobs_find(&c->srv->jobs, id);

	if (jr == NULL || !visible(c, jr)) {
		sc_errorf(err, SC_ENOTFOUND, "job %llu not found",
		    (unsigned long long)id);
		return NULL;
	}
	return jr;
}

/* QUEUED before its first slice; RUNNING while a task can run; SUSPENDED
 * when every live task waits. O(tasks of the job). */
static int
job_state(const struct jobrec *jr)
{
	const struct job *j = jr->job;

	if (jr->ended || j == NULL)
		return jr->state;
	if (j->started == 0 && jr->started_ms == 0)
		return JR_QUEUED;	/* (a restored job started before) */
	for (const struct task *t = j->tasks; t != NULL; t = t->jnext)
		if (t->state == TASK_READY || t->state == TASK_RUNNING)
			return JR_RUNNING;
	return JR_SUSPENDED;
}

static char *
str_or_empty(const char *s)
{
	return (char *)(s != NULL ? s : "");
}

static void
fill_info(const struct srv *srv, const struct jobrec *jr, Wire__JobInfo *ji)
{
	wire__job_info__init(ji);
	ji->id = jr->id;
	ji->uid = jr->tn->uid;
	ji->name = str_or_empty(jr->name);
	ji->state = (Wire__JobState)job_state(jr);
	ji->created_ms = jr->created_ms;
	ji->started_ms = jr->started_ms;
	if (ji->started_ms == 0 && jr->job != NULL && jr->job->started != 0)
		ji->started_ms = to_epoch(srv, jr->job->started);
	if (ji->started_ms != 0 && ji->started_ms < ji->created_ms)
		ji->started_ms = ji->created_ms;	/* two clocks */
	ji->ended_ms = jr->ended_ms;
	ji->durable = jr->durable;
	ji->error_code = jr->error_code;
	ji->error = str_or_empty(jr->error);
	ji->trace = str_or_empty(jr->trace);
	ji->stdout_bytes = jr->out.total[JR_STDOUT];
	ji->stderr_bytes = jr->out.total[JR_STDERR];
	ji->stdout_truncated = jr->out.truncated[JR_STDOUT];
	ji->stderr_truncated = jr->out.truncated[JR_STDERR];
	ji->tasks_live = jr->job != NULL ? jr->job->nlive : 0;
	ji->result = str_or_empty(jr->result);
}

static void
send_info(struct conn *c, uint64_t id, const struct jobrec *jr)
{
	Wire__Reply r = WIRE__REPLY__INIT;
	Wire__JobInfo ji;

	fill_info(c->srv, jr, &ji);
	r.id = id;
	r.result_case = WIRE__REPLY__RESULT_JOB;
	r.job = &ji;
	conn_send(c, &r);
}

static void
send_chunk(struct conn *c, uint64_t id, int stream, const char *data,
    size_t len, uint64_t off, bool done, bool truncated)
{
	Wire__Reply r = WIRE__REPLY__INIT;
	Wire__LogChunk lc = WIRE__LOG_CHUNK__INIT;

	lc.stream = stream == JR_STDERR ? WIRE__STREAM__STDERR :
	    WIRE__STREAM__STDOUT;
	lc.data.data = (uint8_t *)(uintptr_t)data;
	lc.data.len = len;
	lc.offset = off;
	lc.done = done;
	lc.truncated = truncated;
	r.id = id;
	r.result_case = WIRE__REPLY__RESULT_LOG;
	r.log = &lc;
	conn_send(c, &r);
}

/*
 * Send a reader what is kept and not yet sent, as far as its connection
 * takes it (the rest when the connection drains). A truncated stream gets
 * a marker chunk once its kept part was sent; the done chunk ends the
 * reader when the job has ended (or at once without follow). Frees w when
 * it is done.
 */
static void
pump(struct watch *w)
{
	struct jobrec *jr = w->jr;
	struct conn *c = w->c;
	const char *data;
	uint64_t off;
	size_t len;
	int s;

	while (conn_writable(c) &&
	    jobs_next_chunk(jr, &w->pos, &s, &data, &len, &off)) {
		bool trunc = jr->out.truncated[s] && off + len >=
		    jr->out.len[s];

		send_chunk(c, w->req, s, data, len, off, false, trunc);
		w->marked[s] |= trunc;
	}
	if (!conn_writable(c) || !jobs_read_all(jr, &w->pos))
		return;
	for (s = 0; s < JR_NSTREAMS; s++)
		if (jr->out.truncated[s] && !w->marked[s]) {
			send_chunk(c, w->req, s, "", 0, jr->out.len[s], false,
			    true);
			w->marked[s] = true;
		}
	if (!w->follow || jr->ended) {
		send_chunk(c, w->req, JR_STDOUT, "", 0, w->pos.off[JR_STDOUT],
		    true, false);
		watch_del(w);
	}
}

/* Durable jobs: the store-write list */

static void
swrite_add(struct srv *srv, struct jobrec *jr)
{
	if (jr->swrite)
		return;
	jr->swrite = true;
	jr->snext = srv->swrites;
	srv->swrites = jr;
}

static void
swrite_del(struct srv *srv, struct jobrec *jr)
{
	struct jobrec **pp;

	if (!jr->swrite)
		return;
	for (pp = &srv->swrites; *pp != jr; pp = &(*pp)->snext)
		;
	*pp = jr->snext;
	jr->swrite = false;
}

/* Wall ms minus the scheduler's monotonic ms (snapshots keep wall time). */
static int64_t
clock_delta(const struct srv *srv)
{
	return epoch_ms() - sched_now(srv->sched);
}

/* Whether the end of jr may be told: ephemeral, or its final committed. */
static bool
end_told(const struct jobrec *jr)
{
	return jr->ended && (jr->sstate == JS_NONE || jr->sstate == JS_FINAL);
}

/* Answer every Wait of jr (it ended and may be told). */
static void
tell_waiters(struct jobrec *jr)
{
	struct watch *w, *next;

	for (w = jr->watchers; w != NULL; w = next) {
		next = w->jnext;
		if (!w->logs) {
			send_info(w->c, w->req, jr);
			watch_del(w);
		}
	}
}

/* Answer every watch of jr with err and drop them. */
static void
fail_watchers(struct jobrec *jr, const struct sc_error *err)
{
	while (jr->watchers != NULL) {
		struct watch *w = jr->watchers;

		conn_send_error(w->c, w->req, err);
		watch_del(w);
	}
}

/* The scheduler's hooks */

static void
on_output(void *arg, int stream, const char *buf, size_t len)
{
	struct jobrec *jr = arg;

	jobs_output(jr, stream == OUT_STDERR ? JR_STDERR : JR_STDOUT, buf, len,
	    the->cfg->limits.output_per_job);
	mark_dirty(the, jr);
}

/* Jobs whose hooks are ours (the daemon's scheduler runs no other). */
static void
on_ran(struct job *j)
{
	struct jobrec *jr = j->hooks.arg;

	if (jr != NULL && jr->sstate == JS_LIVE)
		swrite_add(the, jr);
}

static void
on_done(void *arg, struct job *j, int status, const char *error)
{
	static const struct {
		int state;
		int code;
	} map[] = {
		[JOB_COMPLETED] = { JR_COMPLETED, SC_OK },
		[JOB_FAILED] = { JR_FAILED, SC_ERUNTIME },
		[JOB_CANCELLED] = { JR_CANCELLED, SC_ECANCELLED },
		[JOB_TIMEDOUT] = { JR_TIMED_OUT, SC_ETIMEOUT },
	};
	struct jobrec *jr = arg;
	struct sbuf res = { .max = JOBS_RESULT_MAX };
	const char *rtext = NULL;

	if (SC_NEVER(status < 0 || status > JOB_TIMEDOUT))
		status = JOB_FAILED;
	if (status == JOB_COMPLETED) {
		value_format(&res, j->root->o.ekind, j->root->result);
		rtext = res.len > 0 ? res.p : NULL;
	}
	jobs_end(&the->jobs, jr, map[status].state, map[status].code,
	    status == JOB_COMPLETED ? NULL : error, rtext, epoch_ms());
	ffipool_job_ended(the->ffi, jr->id);	/* its handles go with it */
	/* two clocks (monotonic, wall): keep created <= started <= ended;
	 * a restored job keeps the start it had before the restart */
	if (j->started != 0 && jr->started_ms == 0) {
		jr->started_ms = to_epoch(the, j->started);
		if (jr->started_ms < jr->created_ms)
			jr->started_ms = jr->created_ms;
		if (jr->started_ms > jr->ended_ms)
			jr->started_ms = jr->ended_ms;
	}
	sbuf_free(&res);
	the->ended_since_trim = true;
	if (jr->sstate == JS_LIVE || jr->sstate == JS_PENDING) {
		/* the final record goes with the turn's batch */
		jr->fstatus = status;
		jr->ferror = error != NULL && status != JOB_COMPLETED ?
		    strdup(error) : NULL;
		swrite_add(the, jr);
	}
	if (end_told(jr))
		tell_waiters(jr);
	mark_dirty(the, jr);
}

static int
on_spawn(void *arg, uint32_t uid, struct sc_error *err)
{
	struct srv *srv = arg;
	struct tenant_acct *tn = tenant_find(&srv->tenants, uid);

	return tn != NULL ? quota_spawn(srv->cfg, tn, srv_now(), err) : SC_OK;
}

/* Extern calls: the scheduler asks, the FFI pool answers. */
static int
on_ext_start(void *arg, struct task *t, struct vfut *f, struct sc_error *err)
{
	struct srv *srv = arg;
	struct jobrec *jr = t->job->hooks.arg;
	struct tenant_acct *tn;
	struct ffipool_req rq;
	int r;

	if (SC_NEVER(jr == NULL))
		return sc_errorf(err, SC_EINVAL, "a job without a record");
	tn = jr->tn;
	if ((r = quota_extern(srv->cfg, tn, srv_now(), err)) != SC_OK)
		return r;
	rq.key = t;
	rq.tenant = tn->uid;
	rq.job = jr->id;
	rq.nhandles = &tn->nhandles;
	rq.ext = &t->job->prog->m->externs[f->idx];
	rq.args = f->args;
	return ffipool_call(srv->ffi, &rq, err);
}

static void
on_ext_abandon(void *arg, struct task *t)
{
	struct srv *srv = arg;

	ffipool_abandon(srv->ffi, t);
}

static void
on_ext_done(void *arg, void *key, const char *err, union value v,
    const char *str, size_t slen)
{
	struct srv *srv = arg;

	sched_ext_done(srv->sched, key, err, v, str, slen);
}

/* Requests */

static int
do_hello(struct conn *c, const Wire__Request *req, struct sc_error *err)
{
	Wire__Reply r = WIRE__REPLY__INIT;
	Wire__HelloReply hr = WIRE__HELLO_REPLY__INIT;
	const Wire__Hello *h = req->hello;

	if (c->state != CONN_HELLO)
		return sc_errorf(err, SC_EPROTO, "second Hello on a "
		    "connection");
	if (h->protocol_version != WIRE_PROTOCOL_VERSION)
		return sc_errorf(err, SC_EPROTO, "protocol version %u not "
		    "supported (the daemon speaks version %u)",
		    h->protocol_version, WIRE_PROTOCOL_VERSION);
	c->state = CONN_OPEN;
	if (log_enabled(LOG_DEBUG)) {
		char name[65];
		size_t i;

		/* the client's words go to the log: printable ASCII only */
		for (i = 0; h->client != NULL && h->client[i] != '\0' &&
		    i < sizeof(name) - 1; i++)
			name[i] = h->client[i] >= 0x20 && h->client[i] < 0x7f ?
			    h->client[i] : '?';
		name[i] = '\0';
		log_debug("connection %llu: uid %u pid %d client \"%s\"",
		    (unsigned long long)c->serial, c->uid, (int)c->pid, name);
	}
	hr.protocol_version = WIRE_PROTOCOL_VERSION;
	hr.server_version = (char *)SCRIPTD_VERSION;
	hr.uid = c->uid;
	hr.is_admin = tenant_is_admin(c->srv->cfg, c->uid);
	r.id = req->id;
	r.result_case = WIRE__REPLY__RESULT_HELLO;
	r.hello = &hr;
	conn_send(c, &r);
	return SC_OK;
}

/* Decode, verify and check a module; on failure err says why. */
static int
check_module(const struct cfg *cfg, const ProtobufCBinaryData *b,
    struct module **mp, struct sc_error *err)
{
	struct sc_error e = { 0 };
	struct module *m = NULL;

	*mp = NULL;
	if (b->len > cfg->limits.max_module_size)
		return sc_errorf(err, SC_ELIMIT, "module of %zu bytes exceeds "
		    "limits.max_module_size (%llu bytes)", b->len,
		    (unsigned long long)cfg->limits.max_module_size);
	if (modio_decode(b->data, b->len, &m, &e) != SC_OK ||
	    verify_module(m, &e) != SC_OK) {
		module_free(m);
		return sc_errorf(err, e.code == SC_ENOMEM ? SC_ENOMEM :
		    SC_EBADMOD, "bad module: %s", e.msg);
	}
	for (uint32_t i = 0; i < m->nexterns; i++)
		if (cfg_allow_extern(cfg, &m->externs[i], err) != SC_OK) {
			module_free(m);
			return SC_EDENIED;
		}
	*mp = m;
	return SC_OK;
}

/*
 * Take back a durable submission whose batch did not commit (or that could
 * not be queued): its held job is cancelled and its record forgotten.
 */
static void
unsubmit(struct srv *srv, struct jobrec *jr, const struct sc_error *err)
{
	jr->sstate = JS_NONE;
	fail_watchers(jr, err);
	if (!jr->ended && SC_ALWAYS(jr->job != NULL))
		sched_cancel_job(srv->sched, jr->job);	/* ends it at once */
	swrite_del(srv, jr);
	if (SC_ALWAYS(jr->ended))
		jobs_drop(&srv->jobs, jr);
}

/* The batch holding a durable submission committed (or was lost). */
static void
submit_done(void *arg, int status, const struct sc_error *err)
{
	struct pend *pd = arg;
	struct srv *srv = pd->srv;
	struct jobrec *jr = pd->jr;
	struct conn *c = pd->c;
	uint64_t req = pd->req;
	Wire__Reply r = WIRE__REPLY__INIT;
	Wire__SubmitReply sr = WIRE__SUBMIT_REPLY__INIT;

	free(pd);
	if (jr == NULL)
		return;			/* refused when it was queued */
	if (status == SC_OK) {
		jr->sstate = JS_LIVE;
		if (jr->ended)		/* cancelled before the commit */
			swrite_add(srv, jr);
		else
			sched_ready(srv->sched, jr->job->root);
		srv->st.submits_total++;
		sr.job = jr->id;
		r.id = req;
		r.result_case = WIRE__REPLY__RESULT_SUBMIT;
		r.submit = &sr;
		conn_send(c, &r);
	} else {
		struct sc_error e;

		sc_errorf(&e, SC_ESTORE, "%s", err != NULL ? err->msg :
		    "the store lost the batch");
		unsubmit(srv, jr, &e);
		srv->st.submits_refused++;
		log_debug("connection %llu (uid %u): submit refused: %s",
		    (unsigned long long)c->serial, c->uid, e.msg);
		conn_send_error(c, req, &e);
	}
	conn_write_now(c);
	c->npending--;
	if (c->npending == 0)
		c->last_active = srv_now();
	conn_rearm(c);
}

/* Queue a durable submission in the store; the reply waits for the
 * commit (submit_done). */
static int
submit_durable(struct conn *c, uint64_t id, const Wire__Submit *sub,
    struct jobrec *jr, struct sc_error *err)
{
	struct srv *srv = c->srv;
	struct store_job sj = { 0 };
	struct pend *pd;

	/* held: not runnable until the submission is durable */
	sched_unready(srv->sched, jr->job->root);
	jr->sstate = JS_PENDING;
	if ((pd = calloc(1, sizeof(*pd))) == NULL)
		return sc_errorf(err, SC_ENOMEM, "out of memory");
	pd->srv = srv;
	pd->c = c;
	pd->req = id;
	if (store_on_commit(srv->store, submit_done, pd, err) != SC_OK) {
		free(pd);
		return err->code;
	}
	sj.id = jr->id;
	sj.tenant = c->uid;
	sj.name = jr->name;
	sj.created_ms = jr->created_ms;
	sj.timeout_ms = jr->job->timeout_ms;
	sj.durable = true;
	if (store_submit(srv->store, &sj, sub->module.data, sub->module.len,
	    err) != SC_OK)
		return err->code;	/* pd stays queued with jr NULL */
	pd->jr = jr;
	c->npending++;
	conn_rearm(c);
	return SC_OK;
}

static void
do_submit(struct conn *c, uint64_t id, const Wire__Submit *sub)
{
	struct srv *srv = c->srv;
	const struct cfg *cfg = srv->cfg;
	struct job_hooks hooks = { on_output, on_done, NULL };
	Wire__Reply r = WIRE__REPLY__INIT;
	Wire__SubmitReply sr = WIRE__SUBMIT_REPLY__INIT;
	struct sc_error err = { 0 };
	struct module *m = NULL;
	struct prog *p = NULL;
	struct jobrec *jr = NULL;
	struct job *j = NULL;
	bool durable = !sub->ephemeral && srv->store != NULL;
	uint64_t jid = srv->jobs.next_id;
	const char *name;

	if (quota_submit(cfg, c->tn, sched_tenant_tasks(srv->sched, c->uid),
	    srv_now(), &err) != SC_OK ||
	    check_module(cfg, &sub->module, &m, &err) != SC_OK)
		goto refuse;
	if (prog_new(m, module_free, &p, &err) != SC_OK) {
		module_free(m);
		goto refuse;
	}
	name = sub->name != NULL && sub->name[0] != '\0' ? sub->name :
	    p->m->source_name != NULL ? p->m->source_name : "";
	/* ids come from the store's counter, ephemeral jobs' too */
	if (durable && store_alloc_job_id(srv->store, &jid, &err) != SC_OK)
		goto refuse;
	if (!durable && srv->store != NULL)
		jid = store_take_id(srv->store);
	srv->jobs.next_id = jid;
	if (jobs_new(&srv->jobs, c->tn, name, strlen(name), durable,
	    epoch_ms(), &jr, &err) != SC_OK)
		goto refuse;
	hooks.arg = jr;
	if (sched_submit(srv->sched, p, c->uid, &hooks, &j, &err) != SC_OK) {
		jobs_discard(&srv->jobs, jr);
		goto refuse;
	}
	prog_unref(p);			/* the job holds it */
	p = NULL;
	jr->job = j;
	if (sub->timeout_s != 0 &&
	    (uint64_t)sub->timeout_s * 1000 < cfg->limits.task_timeout_ms)
		sched_set_timeout(srv->sched, j, (int64_t)sub->timeout_s * 1000);
	if (durable) {
		if (submit_durable(c, id, sub, jr, &err) != SC_OK) {
			unsubmit(srv, jr, &err);
			goto refuse;
		}
		return;
	}
	srv->st.submits_total++;
	sr.job = jr->id;
	r.id = id;
	r.result_case = WIRE__REPLY__RESULT_SUBMIT;
	r.submit = &sr;
	conn_send(c, &r);
	return;
refuse:
	prog_unref(p);
	srv->st.submits_refused++;
	log_debug("connection %llu (uid %u): submit refused: %s",
	    (unsigned long long)c->serial, c->uid, err.msg);
	conn_send_error(c, id, &err);
}

static void
do_cancel(struct conn *c, uint64_t id, struct jobrec *jr)
{
	Wire__Reply r = WIRE__REPLY__INIT;
	Wire__CancelReply cr = WIRE__CANCEL_REPLY__INIT;

	cr.was_running = !jr->ended;
	if (!jr->ended && SC_ALWAYS(jr->job != NULL))
		sched_cancel_job(c->srv->sched, jr->job);	/* may end it */
	r.id = id;
	r.result_case = WIRE__REPLY__RESULT_CANCEL;
	r.cancel = &cr;
	conn_send(c, &r);
}

static void
do_list(struct conn *c, uint64_t id, bool all)
{
	struct srv *srv = c->srv;
	Wire__Reply r = WIRE__REPLY__INIT;
	Wire__ListReply lr = WIRE__LIST_REPLY__INIT;
	Wire__JobInfo *infos = NULL, **ptrs = NULL;
	struct sc_error err = { 0 };
	size_t n = 0, bytes = 0, cap = srv->jobs.n < SRV_LIST_MAX ?
	    srv->jobs.n : SRV_LIST_MAX;

	if (cap > 0 && ((infos = calloc(cap, sizeof(*infos))) == NULL ||
	    (ptrs = calloc(cap, sizeof(*ptrs))) == NULL)) {
		free(infos);
		sc_errorf(&err, SC_ENOMEM, "out of memory listing %zu jobs",
		    cap);
		conn_send_error(c, id, &err);
		return;
	}
	for (struct jobrec *jr = srv->jobs.newest; jr != NULL && n < cap &&
	    bytes < SRV_LIST_BYTES_MAX; jr = jr->older)
		if (visible(c, jr) && (all || !jr->ended)) {
			fill_info(srv, jr, &infos[n]);
			/* an overview: traces and results only with Status */
			infos[n].trace = (char *)"";
			infos[n].result = (char *)"";
			bytes += protobuf_c_message_get_packed_size(
			    &infos[n].base) + 8;
			ptrs[n] = &infos[n];
			n++;
		}
	lr.n_jobs = n;
	lr.jobs = ptrs;
	r.id = id;
	r.result_case = WIRE__REPLY__RESULT_LIST;
	r.list = &lr;
	conn_send(c, &r);
	free(infos);
	free(ptrs);
}

static int
load_chunk(void *arg, uint64_t seq, int stream, const uint8_t *buf,
    size_t len)
{
	struct jobrec *jr = arg;

	jobs_load_output(&the->jobs, jr, stream == 2 ? JR_STDERR : JR_STDOUT,
	    (const char *)buf, len, the->cfg->limits.output_per_job);
	return SC_OK;
}

/* An ended durable job from before the restart: read its output from the
 * store the first time someone asks for it. */
static int
load_stored_output(struct srv *srv, struct jobrec *jr, struct sc_error *err)
{
	int r;

	if (!jr->out_in_store || srv->store == NULL)
		return SC_OK;
	for (int s = 0; s < JR_NSTREAMS; s++)
		if (jr->out.len[s] != 0)
			return sc_errorf(err, SC_ESTORE, "job %llu: output "
			    "half read from the store",
			    (unsigned long long)jr->id);
	if ((r = store_read_output(srv->store, jr->id, 0, load_chunk, jr,
	    err)) != SC_OK)
		return r;
	jr->out_in_store = false;
	return SC_OK;
}

static void
do_logs(struct conn *c, uint64_t id, const Wire__Logs *lg, struct jobrec *jr)
{
	struct sc_error err = { 0 };
	struct watch *w;

	if (load_stored_output(c->srv, jr, &err) != SC_OK) {
		conn_send_error(c, id, &err);
		return;
	}
	if ((w = watch_add(c, jr, id, true, &err)) == NULL) {
		conn_send_error(c, id, &err);
		return;
	}
	w->follow = lg->follow;
	jobs_logpos(&w->pos, lg->offset_stdout, lg->offset_stderr);
	pump(w);
}

static void
do_stats(struct conn *c, uint64_t id)
{
	struct srv *srv = c->srv;
	bool admin = tenant_is_admin(srv->cfg, c->uid);
	Wire__Reply r = WIRE__REPLY__INIT;
	Wire__StatsReply sr = WIRE__STATS_REPLY__INIT;
	uint64_t by[JR_TIMED_OUT + 1] = { 0 };
	struct ffipool_stats fs;
	struct tenant_acct *tn;

	/* ended jobs are counted as they end and expire; live ones are
	 * few (tenant.max_jobs): O(tenants + live jobs), not O(kept jobs) */
	for (size_t i = 0; i < TENANT_BUCKETS; i++)
		for (tn = srv->tenants.tab[i]; tn != NULL; tn = tn->next) {
			if (!admin && tn->uid != c->uid)
				continue;
			for (int s = 0; s < TENANT_END_STATES; s++)
				by[JR_COMPLETED + s] += tn->nended_by[s];
			for (struct jobrec *jr = tn->live_head; jr != NULL;
			    jr = jr->lnext)
				by[job_state(jr)]++;
		}
	sr.tasks_live = admin ? sched_live_tasks(srv->sched) :
	    sched_tenant_tasks(srv->sched, c->uid);
	sr.jobs_queued = by[JR_QUEUED];
	sr.jobs_running = by[JR_RUNNING];
	sr.jobs_suspended = by[JR_SUSPENDED];
	sr.jobs_completed = by[JR_COMPLETED];
	sr.jobs_failed = by[JR_FAILED];
	sr.jobs_cancelled = by[JR_CANCELLED];
	sr.jobs_timed_out = by[JR_TIMED_OUT];
	sr.connections = srv->nconns;
	sr.uptime_ms = (uint64_t)(srv_now() - srv->start_mono);
	sr.submits_total = srv->st.submits_total;
	sr.submits_refused = srv->st.submits_refused;
	sr.requests_total = srv->st.requests_total;
	sr.frames_rejected = srv->st.frames_rejected;
	sr.slices_total = srv->st.slices_total;
	sr.timers_pending = sched_ntimers(srv->sched);
	ffipool_stats(srv->ffi, &fs);
	sr.ffi_calls_total = fs.calls;
	sr.ffi_workers = fs.workers;
	sr.server_version = (char *)SCRIPTD_VERSION;
	r.id = id;
	r.result_case = WIRE__REPLY__RESULT_STATS;
	r.stats = &sr;
	conn_send(c, &r);
}

int
srv_dispatch(struct conn *c, const Wire__Request *req, struct sc_error *err)
{
	struct sc_error e = { 0 };
	struct jobrec *jr = NULL;
	uint64_t jid = 0;

	if (req->req_case == WIRE__REQUEST__REQ_HELLO)
		return do_hello(c, req, err);
	if (c->state == CONN_HELLO)
		return sc_errorf(err, SC_EPROTO, "the first request must be "
		    "Hello");
	switch (req->req_case) {
	case WIRE__REQUEST__REQ_STATUS:
		jid = req->status->job;
		break;
	case WIRE__REQUEST__REQ_WAIT:
		jid = req->wait->job;
		break;
	case WIRE__REQUEST__REQ_CANCEL:
		jid = req->cancel->job;
		break;
	case WIRE__REQUEST__REQ_LOGS:
		jid = req->logs->job;
		break;
	default:
		break;
	}
	if (jid != 0 || req->req_case == WIRE__REQUEST__REQ_STATUS ||
	    req->req_case == WIRE__REQUEST__REQ_WAIT ||
	    req->req_case == WIRE__REQUEST__REQ_CANCEL ||
	    req->req_case == WIRE__REQUEST__REQ_LOGS) {
		if ((jr = find_job(c, jid, &e)) == NULL) {
			conn_send_error(c, req->id, &e);
			return SC_OK;
		}
	}
	switch (req->req_case) {
	case WIRE__REQUEST__REQ_SUBMIT:
		do_submit(c, req->id, req->submit);
		break;
	case WIRE__REQUEST__REQ_STATUS:
		send_info(c, req->id, jr);
		break;
	case WIRE__REQUEST__REQ_WAIT:
		if (end_told(jr))
			send_info(c, req->id, jr);
		else if (watch_add(c, jr, req->id, false, &e) == NULL)
			conn_send_error(c, req->id, &e);
		break;
	case WIRE__REQUEST__REQ_CANCEL:
		do_cancel(c, req->id, jr);
		break;
	case WIRE__REQUEST__REQ_LIST:
		do_list(c, req->id, req->list->all);
		break;
	case WIRE__REQUEST__REQ_LOGS:
		do_logs(c, req->id, req->logs, jr);
		break;
	case WIRE__REQUEST__REQ_STATS:
		do_stats(c, req->id);
		break;
	default:
		sc_errorf(&e, SC_EPROTO, "unknown request kind (this daemon "
		    "speaks protocol version %u)", WIRE_PROTOCOL_VERSION);
		conn_send_error(c, req->id, &e);
		break;
	}
	return SC_OK;
}

/* Connections */

void
srv_conn_closed(struct srv *srv, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	srv->nconns--;
	c->tn->nconns--;
	c->dnext = srv->dead;
	srv->dead = c;
}

void
srv_conn_drained(struct srv *srv, struct conn *c)
{
	struct watch *w, *next;

	for (w = c->watches; w != NULL && conn_writable(c); w = next) {
		next = w->cnext;
		if (w->logs)
			pump(w);
	}
}

/* Refuse a connection at accept: one Error frame, then close. */
static void
refuse(int fd, const struct sc_error *err)
{
	Wire__Reply r = WIRE__REPLY__INIT;
	Wire__Error e = WIRE__ERROR__INIT;
	uint8_t *buf;
	size_t len;

	e.code = err->code;
	e.message = (char *)(uintptr_t)err->msg;
	r.result_case = WIRE__REPLY__RESULT_ERROR;
	r.error = &e;
	if (conn_pack(&r, &buf, &len) == SC_OK) {
		/* a small frame into an empty socket buffer: never blocks */
		if (send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			log_debug("refusal not sent: %s", strerror(errno));
		free(buf);
	}
	close(fd);
}

/*
 * Connections one uid may hold: tenant.max_connections, and never more
 * than half of the daemon's, so that one tenant cannot take every slot
 * and lock the others out. Root and admins are held to the global limit
 * only (they are trusted, and must be able to get in to look).
 */
static uint32_t
tenant_conn_limit(const struct cfg *cfg, uint32_t uid)
{
	uint32_t half = cfg->limits.max_connections / 2;

	if (uid == 0 || tenant_is_admin(cfg, uid))
		return cfg->limits.max_connections;
	if (half < 1)
		half = 1;
	return cfg->tenant.max_connections < half ?
	    cfg->tenant.max_connections : half;
}

static void
accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct srv *srv = arg;
	struct sc_error err = { 0 };
	uint32_t uid;
	pid_t pid;

	if (tenant_peer(fd, &uid, &pid, &err) != SC_OK) {
		log_warn("accept: %s", err.msg);
		close(fd);
		return;
	}
	srv_adopt(srv, fd, uid, pid);
}

void
srv_adopt(struct srv *srv, int fd, uint32_t uid, pid_t pid)
{
	struct sc_error err = { 0 };
	struct tenant_acct *tn;
	struct conn *c;

	if ((tn = tenant_get(&srv->tenants, uid)) == NULL) {
		log_warn("connection from uid %u refused: out of memory", uid);
		close(fd);
		return;
	}
	if (srv->nconns >= srv->cfg->limits.max_connections)
		sc_errorf(&err, SC_ELIMIT, "connection limit (%u) reached",
		    srv->cfg->limits.max_connections);
	else if (tn->nconns >= tenant_conn_limit(srv->cfg, uid))
		sc_errorf(&err, SC_ELIMIT, "tenant %u: connection limit (%u) "
		    "reached (tenant.max_connections)", uid,
		    tenant_conn_limit(srv->cfg, uid));
	if (err.code != SC_OK) {
		srv->st.conns_refused++;
		/* one line a second at most: a flood must not flood the log */
		if (srv_now() - refused_logged >= 1000) {
			log_warn("connection from uid %u pid %d refused: %s "
			    "(%llu more refused since the last such line)",
			    uid, (int)pid, err.msg,
			    (unsigned long long)refused_quiet);
			refused_logged = srv_now();
			refused_quiet = 0;
		} else
			refused_quiet++;
		refuse(fd, &err);
		return;
	}
	if (conn_new(srv, fd, uid, pid, &c, &err) != SC_OK) {
		log_warn("connection from uid %u refused: %s", uid, err.msg);
		return;
	}
	c->serial = ++srv->next_conn;
	c->tn = tn;
	c->next = srv->conns;
	if (c->next != NULL)
		c->next->prev = c;
	srv->conns = c;
	srv->nconns++;
	tn->nconns++;
	srv->st.conns_total++;
	log_debug("connection %llu: uid %u pid %d",
	    (unsigned long long)c->serial, uid, (int)pid);
}

static void
relisten_cb(evutil_socket_t fd, short what, void *arg)
{
	struct srv *srv = arg;

	if (srv->lis != NULL)
		evconnlistener_enable(srv->lis);
}

static void
accept_error_cb(struct evconnlistener *lis, void *arg)
{
	struct timeval tv = { 0, RELISTEN_MS * 1000 };

	/* EMFILE and friends: pause instead of spinning on accept */
	log_warn("accept: %s; pausing for %d ms", strerror(errno),
	    RELISTEN_MS);
	evconnlistener_disable(lis);
	if (relisten != NULL)
		evtimer_add(relisten, &tv);
}

/* Whether something accepts connections on path. */
static int
probe(const char *path, struct sc_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r, e;

	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return sc_errorf(err, SC_EIO, "socket: %s", strerror(errno));
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	close(fd);
	if (r == 0)
		return sc_errorf(err, SC_EIO, "%s: another daemon is listening "
		    "on this socket", path);
	if (e != ECONNREFUSED)
		return sc_errorf(err, SC_EIO, "%s: cannot tell whether the "
		    "socket is in use: %s", path, strerror(e));
	return SC_OK;
}

int
srv_listen(struct srv *srv, struct sc_error *err)
{
	const char *path = srv->cfg->daemon.socket;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	socklen_t salen = sizeof(sa);
	mode_t old;
	int fd, r;

	/*
	 * Socket activation: systemd made, bound and chmod'ed the socket and
	 * removes it; we only accept on it (sockpath stays empty, so
	 * srv_stop_listening never unlinks it).
	 */
	if ((fd = sd_listen_fd()) >= 0) {
		if ((r = sd_check_listener(fd, err)) != SC_OK)
			return r;
		if (getsockname(fd, (struct sockaddr *)&sa, &salen) != 0 ||
		    salen <= sizeof(sa_family_t) ||
		    sa.sun_path[0] == '\0')
			snprintf(sa.sun_path, sizeof(sa.sun_path), "(unnamed)");
		sa.sun_path[sizeof(sa.sun_path) - 1] = '\0';
		if (strcmp(sa.sun_path, path) != 0)
			log_warn("daemon.socket is %s but systemd passed %s; "
			    "serving %s", path, sa.sun_path, sa.sun_path);
		srv->sockpath[0] = '\0';
		srv->sock_ino = 0;
		srv->lis = evconnlistener_new(srv->base, accept_cb, srv,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
		if (srv->lis == NULL)
			return sc_errorf(err, SC_ENOMEM, "cannot watch the "
			    "socket");
		evconnlistener_set_error_cb(srv->lis, accept_error_cb);
		log_info("listening on %s (socket from systemd, fd %d%s%s)",
		    sa.sun_path, fd, sd_listen_name()[0] != '\0' ? ", " : "",
		    sd_listen_name());
		return SC_OK;
	}
	if (strlen(path) >= sizeof(sa.sun_path) || path[0] == '\0')
		return sc_errorf(err, SC_EINVAL, "socket path \"%s\" is empty "
		    "or longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return sc_errorf(err, SC_EIO, "%s exists and is not a "
			    "socket", path);
		if ((r = probe(path, err)) != SC_OK)
			return r;
		if (unlink(path) != 0)
			return sc_errorf(err, SC_EIO, "%s: cannot remove the "
			    "stale socket: %s", path, strerror(errno));
		log_info("removed stale socket %s", path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return sc_errorf(err, SC_EIO, "socket: %s", strerror(errno));
	old = umask(0177);		/* no window with a wider mode */
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r != 0) {
		r = errno;
		close(fd);
		return sc_errorf(err, SC_EIO, "%s: bind: %s", path,
		    strerror(r));
	}
	if (chmod(path, (mode_t)srv->cfg->daemon.socket_mode) != 0 ||
	    stat(path, &st) != 0 || listen(fd, SOMAXCONN) != 0) {
		r = errno;
		close(fd);
		unlink(path);
		return sc_errorf(err, SC_EIO, "%s: %s", path, strerror(r));
	}
	srv->sock_ino = (uint64_t)st.st_ino;
	snprintf(srv->sockpath, sizeof(srv->sockpath), "%s", path);
	srv->lis = evconnlistener_new(srv->base, accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (srv->lis == NULL) {
		close(fd);
		unlink(path);
		return sc_errorf(err, SC_ENOMEM, "cannot watch the socket");
	}
	evconnlistener_set_error_cb(srv->lis, accept_error_cb);
	log_info("listening on %s", path);
	return SC_OK;
}

void
srv_stop_listening(struct srv *srv)
{
	struct stat st;

	if (srv->lis == NULL)
		return;
	sd_notifyf("STOPPING=1");
	evconnlistener_free(srv->lis);
	srv->lis = NULL;
	/* remove the file only if it is still ours */
	if (stat(srv->sockpath, &st) == 0 &&
	    (uint64_t)st.st_ino == srv->sock_ino)
		unlink(srv->sockpath);
}

static void
free_dead(struct srv *srv)
{
	while (srv->dead != NULL) {
		struct conn *c = srv->dead;

		srv->dead = c->dnext;
		while (c->watches != NULL)
			watch_del(c->watches);
		conn_free(c);
	}
}

/* Remember that jr was written in the open batch. */
static int
note_inbatch(struct srv *srv, struct jobrec *jr)
{
	if (jr->sbatch)
		return SC_OK;
	if (srv->ninbatch == srv->capinbatch) {
		uint32_t ncap = srv->capinbatch ? srv->capinbatch * 2 : 256;
		struct jobrec **nb = realloc(srv->inbatch, ncap * sizeof(*nb));

		if (nb == NULL)
			return SC_ENOMEM;
		srv->inbatch = nb;
		srv->capinbatch = ncap;
	}
	srv->inbatch[srv->ninbatch++] = jr;
	jr->sbatch = true;
	return SC_OK;
}

/*
 * Write what the store lacks of one durable job, as one group: its output
 * since the last write, then its snapshot (when no task is mid-slice) or,
 * once it ended, its final record. After a crash the job resumes from a
 * snapshot whose output is stored, never from one without. Returns true
 * when jr may leave the write list (a job mid-slice runs again and comes
 * back; a final record that failed stays to be tried again).
 */
static bool
store_write(struct srv *srv, struct jobrec *jr)
{
	struct sc_error err = { 0 };
	struct snapshot sn = { 0 };
	struct logpos pos = jr->spos;
	bool final = jr->ended;
	int64_t started = jr->started_ms;
	const char *data;
	uint64_t off;
	size_t len;
	int s, r;

	if (jr->sstate != JS_LIVE)
		return jr->sstate != JS_PENDING;
	if (!final && (jr->job == NULL || !snapshot_ready(jr->job)))
		return true;
	if (!final && snapshot_encode(jr->job, clock_delta(srv), &sn,
	    &err) != SC_OK) {
		log_warn("job %llu: %s; it keeps its previous snapshot",
		    (unsigned long long)jr->id, err.msg);
		return true;
	}
	if (started == 0 && jr->job != NULL && jr->job->started != 0)
		started = to_epoch(srv, jr->job->started);
	if (started != 0 && started < jr->created_ms)
		started = jr->created_ms;
	if ((r = store_group_begin(srv->store, &err)) == SC_OK) {
		while (r == SC_OK &&
		    jobs_next_chunk(jr, &pos, &s, &data, &len, &off))
			r = store_put_output(srv->store, jr->id,
			    s == JR_STDERR ? 2 : 1, data, len, &err);
		if (r == SC_OK && started != 0 && !jr->start_stored)
			r = store_start_job(srv->store, jr->id, started, &err);
		if (r == SC_OK && final)
			r = store_put_final(srv->store, jr->id, jr->fstatus,
			    jr->ferror, jr->result, jr->ended_ms, &err);
		else if (r == SC_OK)
			r = store_put_snapshot(srv->store, jr->id, sn.buf,
			    sn.len, sn.tasks, sn.ntasks, epoch_ms(), &err);
		r = store_group_end(srv->store, r, &err);
	}
	snapshot_free(&sn);
	if (r == SC_OK && note_inbatch(srv, jr) != SC_OK)
		r = sc_errorf(&err, SC_ENOMEM, "out of memory");
	if (r != SC_OK) {
		log_error("job %llu: storing its %s failed: %s",
		    (unsigned long long)jr->id, final ? "final record" :
		    "snapshot", err.msg);
		if (final && r == SC_ENOTFOUND) {
			/* a second final record is refused: the first stands */
			jr->sstate = JS_FINAL;
			tell_waiters(jr);
		}
		return !final || r == SC_ENOTFOUND;
	}
	jr->spos = pos;
	if (started != 0 && !jr->start_stored) {
		jr->start_stored = true;
		jr->started_ms = started;	/* the time the store keeps */
	}
	jr->sfinal = final;
	return true;
}

/*
 * The turn's store work: write the jobs on the write list, commit the
 * batch (running the submissions' callbacks), then settle the jobs written
 * in it: committed, or, if the batch was lost, written again next turn
 * from their last committed output.
 */
static void
store_turn(struct srv *srv)
{
	struct jobrec *jr, *next, *list = srv->swrites;
	struct sc_error err = { 0 };
	bool ok;

	if (srv->store == NULL)
		return;
	srv->swrites = NULL;
	for (jr = list; jr != NULL; jr = next) {
		next = jr->snext;
		jr->swrite = false;
		if (!store_write(srv, jr))
			swrite_add(srv, jr);
	}
	if (!(ok = store_commit(srv->store, &err) == SC_OK))
		log_error("%s", err.msg);
	for (uint32_t i = 0; i < srv->ninbatch; i++) {
		jr = srv->inbatch[i];
		jr->sbatch = false;
		if (!ok) {
			jr->spos = jr->cpos;
			jr->sfinal = false;
			swrite_add(srv, jr);
			continue;
		}
		jr->cpos = jr->spos;
		if (jr->sfinal) {
			jr->sfinal = false;
			jr->sstate = JS_FINAL;
			free(jr->ferror);
			jr->ferror = NULL;
			tell_waiters(jr);
		}
	}
	srv->ninbatch = 0;
}

void
srv_before_sleep(struct srv *srv)
{
	store_turn(srv);
	while (srv->dirty != NULL) {
		struct jobrec *jr = srv->dirty;
		struct watch *w, *next;

		srv->dirty = jr->dnext;
		jr->dirty = false;
		for (w = jr->watchers; w != NULL && jr->nreaders > 0;
		    w = next) {
			next = w->jnext;
			if (w->logs) {
				struct conn *c = w->c;

				pump(w);		/* may free w */
				conn_write_now(c);
			}
		}
	}
	free_dead(srv);
	if (srv->ended_since_trim) {
		srv->ended_since_trim = false;
		jobs_expire(&srv->jobs, &srv->tenants,
		    srv->cfg->store.retention_count,
		    srv->cfg->store.retention_ms, epoch_ms());
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct srv *srv = arg;
	struct sc_error err = { 0 };
	uint32_t n;

	if (srv->store != NULL && ++srv->ticks >= RETAIN_EVERY_S) {
		srv->ticks = 0;
		if (store_retain(srv->store, epoch_ms(), RETAIN_MAX, &n,
		    &err) != SC_OK)
			log_warn("retention: %s", err.msg);
		else if (n > 0)
			log_debug("retention: %u ended jobs deleted from the "
			    "store", n);
	}

	jobs_expire(&srv->jobs, &srv->tenants, srv->cfg->store.retention_count,
	    srv->cfg->store.retention_ms, epoch_ms());
}

static void
apply_opts(const struct srv_opts *o, struct cfg *c)
{
	if (o->socket != NULL)
		snprintf(c->daemon.socket, sizeof(c->daemon.socket), "%s",
		    o->socket);
	if (o->db != NULL)
		snprintf(c->daemon.db, sizeof(c->daemon.db), "%s", o->db);
}

/* The store settings a configuration asks for. */
static void
store_opts_of(const struct cfg *c, struct store_opts *o)
{
	store_opts_default(o);
	o->synchronous = c->store.synchronous;
	o->retention_ms = c->store.retention_ms;
	o->retention_count = c->store.retention_count;
	o->output_max = c->limits.output_per_job;
}

void
srv_reload(struct srv *srv)
{
	struct sc_error err = { 0 };
	struct vm_limits lim;
	struct store_opts so;
	struct cfg *nc = NULL;
	int r;

	/* systemd hears of every reload, refused ones too (READY=1 at out) */
	sd_notify_reloading();
	if (srv->opts.config == NULL) {
		log_info("SIGHUP: no --config file; nothing to reload");
		goto out;
	}
	if ((nc = malloc(sizeof(*nc))) == NULL) {
		log_error("SIGHUP: out of memory; configuration unchanged");
		goto out;
	}
	if (cfg_load(srv->opts.config, nc, &err) != SC_OK) {
		log_error("SIGHUP: %s; keeping the configuration in use",
		    err.msg);
		goto out;
	}
	apply_opts(&srv->opts, nc);
	if (strcmp(nc->daemon.socket, srv->cfg->daemon.socket) != 0 ||
	    strcmp(nc->daemon.db, srv->cfg->daemon.db) != 0 ||
	    nc->daemon.socket_mode != srv->cfg->daemon.socket_mode)
		log_warn("SIGHUP: daemon.socket, daemon.db and "
		    "daemon.socket_mode apply at start only; keeping %s, %s, "
		    "%04o", srv->cfg->daemon.socket, srv->cfg->daemon.db,
		    srv->cfg->daemon.socket_mode);
	memcpy(nc->daemon.socket, srv->cfg->daemon.socket,
	    sizeof(nc->daemon.socket));
	memcpy(nc->daemon.db, srv->cfg->daemon.db, sizeof(nc->daemon.db));
	nc->daemon.socket_mode = srv->cfg->daemon.socket_mode;
	srv_vm_limits(nc, &lim);
	if ((r = sched_set_limits(srv->sched, &lim)) != SC_OK) {
		log_error("SIGHUP: cannot apply the new limits (%s); keeping "
		    "the configuration in use", sc_strerror(r));
		goto out;
	}
	store_opts_of(nc, &so);
	if (srv->store != NULL &&
	    (r = store_reconfigure(srv->store, &so, &err)) != SC_OK)
		log_error("SIGHUP: [store] settings not applied: %s", err.msg);
	ffipool_reload(srv->ffi, nc);
	free(srv->cfg);
	srv->cfg = nc;
	nc = NULL;
	log_setup(srv->cfg->daemon.log_level, srv->cfg->daemon.log_timestamps);
	for (struct conn *c = srv->conns; c != NULL; c = c->next) {
		bufferevent_setwatermark(c->bev, EV_READ, 0,
		    srv->cfg->limits.max_request_size + FRAME_HEADER_SIZE);
		conn_rearm(c);
	}
	log_info("configuration reloaded from %s", srv->opts.config);
out:
	free(nc);
	sd_notifyf("READY=1");
}

/* Recovery */

static int
recover_chunk(void *arg, uint64_t seq, int stream, const uint8_t *buf,
    size_t len)
{
	struct jobrec *jr = arg;

	jobs_output(jr, stream == 2 ? JR_STDERR : JR_STDOUT,
	    (const char *)buf, len, the->cfg->limits.output_per_job);
	return SC_OK;
}

static int64_t
sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

struct recovery {
	struct srv *srv;		/* the server */
	uint32_t nlive;			/* live jobs restored */
	uint32_t nended;		/* ended jobs listed */
	uint32_t nfailed;		/* live jobs that could not be */
	struct sc_error *err;		/* why the walk stopped */
	uint8_t hash[STORE_HASH_BYTES];	/* module of the last job restored */
	struct prog *prog;		/* it, verified (a reference) */
	int64_t delta;			/* clock_delta() at start */
};

/* Bring a live job back: its module from the store, verified again, and
 * either a fresh start (no snapshot yet) or its last snapshot. Jobs of
 * one program usually come in a row: the last module is kept. */
static int
restore(struct recovery *rc, struct jobrec *jr, const struct store_job *sj,
    const uint8_t *snap, size_t len, struct sc_error *err)
{
	struct srv *srv = rc->srv;
	struct job_hooks hooks = { on_output, on_done, jr };
	int64_t delta = rc->delta, dl;
	struct sc_error e = { 0 };
	struct module *m = NULL;
	struct prog *p = NULL;
	struct job *j = NULL;
	uint8_t *mb = NULL;
	size_t ml = 0;
	int r;

	if (rc->prog != NULL && memcmp(rc->hash, sj->module,
	    STORE_HASH_BYTES) == 0) {
		p = rc->prog;
		goto have;
	}
	if ((r = store_get_module(srv->store, sj->module, &mb, &ml, err)) !=
	    SC_OK)
		return r;
	if (modio_decode(mb, ml, &m, &e) != SC_OK ||
	    verify_module(m, &e) != SC_OK) {
		free(mb);
		module_free(m);
		return sc_errorf(err, SC_EBADMOD, "its module is bad: %s",
		    e.msg);
	}
	free(mb);
	for (uint32_t i = 0; i < m->nexterns; i++)
		if (cfg_allow_extern(srv->cfg, &m->externs[i], err) != SC_OK) {
			module_free(m);
			return SC_EDENIED;
		}
	if ((r = prog_new(m, module_free, &p, err)) != SC_OK) {
		module_free(m);
		return r;
	}
	prog_unref(rc->prog);
	rc->prog = p;			/* the cache's reference */
	memcpy(rc->hash, sj->module, STORE_HASH_BYTES);
have:
	if (snap == NULL) {
		r = sched_submit(srv->sched, p, sj->tenant, &hooks, &j, err);
		dl = sat_add(sj->created_ms, sj->timeout_ms);
	} else
		r = snapshot_decode(srv->sched, p, sj->tenant, &hooks, snap,
		    len, delta, &j, &dl, err);
	if (r != SC_OK)
		return r;
	/* the deadline is wall time: it ran on while the daemon was down */
	sched_set_deadline(srv->sched, j, dl == INT64_MAX ? INT64_MAX :
	    sat_add(dl, -delta), sj->timeout_ms);
	jr->job = j;
	return SC_OK;
}

/* One job row at start: an ended job becomes an ended record whose output
 * stays in the store until asked for; a live one resumes. */
static int
recover_one(void *arg, const struct store_job *sj, const uint8_t *snap,
    size_t len)
{
	static const int state[] = {
		[JOB_COMPLETED] = JR_COMPLETED, [JOB_FAILED] = JR_FAILED,
		[JOB_CANCELLED] = JR_CANCELLED, [JOB_TIMEDOUT] = JR_TIMED_OUT,
	};
	static const int code[] = {
		[JOB_COMPLETED] = SC_OK, [JOB_FAILED] = SC_ERUNTIME,
		[JOB_CANCELLED] = SC_ECANCELLED, [JOB_TIMEDOUT] = SC_ETIMEOUT,
	};
	struct recovery *rc = arg;
	struct srv *srv = rc->srv;
	struct sc_error err = { 0 };
	struct tenant_acct *tn = tenant_get(&srv->tenants, sj->tenant);
	struct jobrec *jr;
	const char *data;
	uint64_t off;
	size_t dlen;
	int st = sj->status, s;

	if (tn == NULL)
		return sc_errorf(rc->err, SC_ENOMEM, "out of memory");
	srv->jobs.next_id = sj->id;
	if (jobs_new(&srv->jobs, tn, sj->name, strlen(sj->name), true,
	    sj->created_ms, &jr, &err) != SC_OK &&
	    (err.code != SC_EINVAL || jobs_new(&srv->jobs, tn, "", 0, true,
	    sj->created_ms, &jr, &err) != SC_OK)) {
		*rc->err = err;
		return err.code;
	}
	jr->started_ms = sj->started_ms;
	jr->start_stored = sj->started_ms != 0;
	if (sj->state == STORE_ENDED) {
		if (st < JOB_COMPLETED || st > JOB_TIMEDOUT)
			st = JOB_FAILED;
		jr->sstate = JS_FINAL;
		jobs_end(&srv->jobs, jr, state[st], code[st],
		    st == JOB_COMPLETED ? NULL : sj->error != NULL ?
		    sj->error : "", sj->result, sj->ended_ms);
		for (s = 0; s < JR_NSTREAMS; s++) {
			jr->out.total[s] = sj->out_kept[s] + sj->out_dropped[s];
			jr->out.truncated[s] = sj->out_dropped[s] != 0;
		}
		jr->out_in_store = sj->out_kept[0] + sj->out_kept[1] != 0;
		rc->nended++;
		return SC_OK;
	}
	jr->sstate = JS_LIVE;
	/* the committed output, then whatever the job prints again */
	if (sj->out_kept[0] + sj->out_kept[1] != 0 &&
	    store_read_output(srv->store, sj->id, 0, recover_chunk, jr,
	    &err) != SC_OK) {
		*rc->err = err;
		return err.code;
	}
	for (s = 0; s < JR_NSTREAMS; s++) {
		jr->out.total[s] += sj->out_dropped[s];
		jr->out.truncated[s] |= sj->out_dropped[s] != 0;
	}
	/* everything read so far is committed: walk a reader to its end */
	jobs_logpos(&jr->cpos, 0, 0);
	while (jobs_next_chunk(jr, &jr->cpos, &s, &data, &dlen, &off))
		;
	jr->spos = jr->cpos;
	if (restore(rc, jr, sj, snap, len, &err) != SC_OK) {
		char msg[SC_ERRMSG_MAX + 64];

		if (err.code == SC_ENOMEM || err.code == SC_ESTORE) {
			*rc->err = err;		/* not the job's fault: stop */
			return err.code;
		}
		snprintf(msg, sizeof(msg), "cannot be restored after the "
		    "restart: %s", err.msg);
		log_error("job %llu %s", (unsigned long long)jr->id, msg);
		jr->fstatus = JOB_FAILED;
		jr->ferror = strdup(msg);
		jobs_end(&srv->jobs, jr, JR_FAILED, SC_ERUNTIME, msg, NULL,
		    epoch_ms());
		swrite_add(srv, jr);
		rc->nfailed++;
		return SC_OK;
	}
	rc->nlive++;
	return SC_OK;
}

int
srv_open_store(struct srv *srv, struct sc_error *err)
{
	struct recovery rc = { .srv = srv, .err = err };
	const char *mp = getenv("SCRIPTD_STORE_MAX_PAGES"), *fp;
	struct store_opts o;
	int64_t t0 = srv_now();
	int r;

	store_opts_of(srv->cfg, &o);
	/* a test hook: a small database limit stands for a full disk */
	if (mp != NULL && *mp != '\0')
		o.max_pages = (uint32_t)strtoul(mp, NULL, 10);
	if ((r = store_open(srv->cfg->daemon.db, &o, &srv->store, err)) !=
	    SC_OK)
		return r;
	rc.delta = clock_delta(srv);
	r = store_list_jobs(srv->store, recover_one, &rc, err);
	prog_unref(rc.prog);
	if (r != SC_OK) {
		/* the start stops: write nothing (store_close rolls back) */
		store_close(srv->store);
		srv->store = NULL;
		if (err->msg[0] == '\0')
			sc_errorf(err, r, "database %s: restoring jobs failed "
			    "(%s)", srv->cfg->daemon.db, sc_strerror(r));
		return r;
	}
	log_info("database %s: %u live jobs restored, %u could not be, %u "
	    "ended jobs kept, in %lld ms", srv->cfg->daemon.db, rc.nlive,
	    rc.nfailed, rc.nended, (long long)(srv_now() - t0));
	/* a test hook: the N-th SQLite step from here fails as an I/O
	 * error, losing the batch it is in (durability/lostcommit) */
	if ((fp = getenv("SCRIPTD_STORE_FAULT")) != NULL && *fp != '\0') {
		store_fault_set(strtol(fp, NULL, 10));
		log_warn("test hook: SQLite step %s from now fails "
		    "(SCRIPTD_STORE_FAULT)", fp);
	}
	return SC_OK;
}

int
srv_new(struct event_base *base, struct sched *s, struct cfg *cfg,
    const struct srv_opts *opts, struct srv **sp, struct sc_error *err)
{
	static const struct sched_ext ext = { on_ext_start, on_ext_abandon,
	    NULL };
	struct sched_ext e = ext;
	struct timeval sec = { 1, 0 };
	struct srv *srv;
	int r;

	*sp = NULL;
	if ((srv = calloc(1, sizeof(*srv))) == NULL ||
	    jobs_init(&srv->jobs) != SC_OK) {
		free(srv);
		free(cfg);
		return sc_errorf(err, SC_ENOMEM, "out of memory");
	}
	srv->base = base;
	srv->sched = s;
	srv->opts = *opts;
	srv->start_mono = srv_now();
	srv->start_epoch = epoch_ms();
	srv->tick = event_new(base, -1, EV_PERSIST, tick_cb, srv);
	relisten = evtimer_new(base, relisten_cb, srv);
	if (srv->tick == NULL || relisten == NULL ||
	    event_add(srv->tick, &sec) != 0) {
		srv->cfg = cfg;
		srv_free(srv);
		return sc_errorf(err, SC_ENOMEM, "out of memory");
	}
	srv->cfg = cfg;
	if ((r = ffipool_new(base, cfg, on_ext_done, srv, &srv->ffi,
	    err)) != SC_OK) {
		srv_free(srv);
		return r;
	}
	sched_set_spawn_hook(s, on_spawn, srv);
	sched_set_ran_hook(s, on_ran);
	e.arg = srv;
	sched_set_ext(s, &e);
	the = srv;
	*sp = srv;
	return SC_OK;
}

void
srv_free(struct srv *srv)
{
	if (srv == NULL)
		return;
	srv_stop_listening(srv);
	store_turn(srv);		/* what is queued commits first */
	while (srv->conns != NULL) {
		conn_flush_now(srv->conns);
		conn_close(srv->conns, "daemon stopping");
	}
	store_close(srv->store);	/* an open batch is lost: nothing acked */
	srv->store = NULL;
	free_dead(srv);
	free(srv->inbatch);
	if (srv->tick != NULL)
		event_free(srv->tick);
	if (relisten != NULL)
		event_free(relisten);
	relisten = NULL;
	if (srv->sched != NULL)
		sched_set_spawn_hook(srv->sched, NULL, NULL);
	if (srv->sched != NULL)
		sched_set_ran_hook(srv->sched, NULL);
	if (srv->sched != NULL)
		sched_set_ext(srv->sched, NULL);
	ffipool_free(srv->ffi);		/* kills the workers, calls no one */
	jobs_free(&srv->jobs);
	tenants_free(&srv->tenants);
	free(srv->cfg);
	if (the == srv)
		the = NULL;
	free(srv);
}
