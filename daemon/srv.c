/*
 * Requests, the job registry as clients see it, waiters and log readers.
 * Visibility: a job is visible to its tenant and to admins; to anyone
 * else it does not exist ("job N not found", the same words as for an id
 * never used). Waiters and readers are struct watch, on two lists: the
 * job record's and the connection's. A closed connection keeps its
 * watches until it is freed before the loop sleeps, so replies sent from
 * a hook never meet a freed watch. One server per process (the hooks
 * find it through `the`).
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

#include "log.h"
#include "modio.h"
#include "quota.h"
#include "srv.h"
#include "verify.h"

#define RELISTEN_MS	100		/* accept failed (EMFILE): retry */

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
}

/* Watches */

static struct watch *
watch_add(struct conn *c, struct jobrec *jr, uint64_t req, bool logs)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
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
	c->npending--;
	if (c->npending == 0)
		c->last_active = srv_now();	/* idle from now on */
	conn_rearm(c);
	free(w);
}

static void
mark_dirty(struct srv *srv, struct jobrec *jr)
{
	if (jr->dirty || jr->watchers == NULL)
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
	if (j->started == 0)
		return JR_QUEUED;
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

/* The scheduler's hooks */

static void
on_output(void *arg, int stream, const char *buf, size_t len)
{
	struct jobrec *jr = arg;

	jobs_output(jr, stream == OUT_STDERR ? JR_STDERR : JR_STDOUT, buf, len,
	    the->cfg->limits.output_per_job);
	mark_dirty(the, jr);
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
	struct watch *w, *next;
	const char *rtext = NULL;

	if (SC_NEVER(status < 0 || status > JOB_TIMEDOUT))
		status = JOB_FAILED;
	if (status == JOB_COMPLETED) {
		value_format(&res, j->root->o.ekind, j->root->result);
		rtext = res.len > 0 ? res.p : NULL;
	}
	jobs_end(&the->jobs, jr, map[status].state, map[status].code,
	    status == JOB_COMPLETED ? NULL : error, rtext, epoch_ms());
	/* two clocks (monotonic, wall): keep created <= started <= ended */
	if (j->started != 0) {
		jr->started_ms = to_epoch(the, j->started);
		if (jr->started_ms < jr->created_ms)
			jr->started_ms = jr->created_ms;
		if (jr->started_ms > jr->ended_ms)
			jr->started_ms = jr->ended_ms;
	}
	sbuf_free(&res);
	the->ended_since_trim = true;
	for (w = jr->watchers; w != NULL; w = next) {
		next = w->jnext;
		if (!w->logs) {
			send_info(w->c, w->req, jr);
			watch_del(w);
		}
	}
	mark_dirty(the, jr);
}

static int
on_spawn(void *arg, uint32_t uid, struct sc_error *err)
{
	struct srv *srv = arg;
	struct tenant_acct *tn = tenant_find(&srv->tenants, uid);

	return tn != NULL ? quota_spawn(srv->cfg, tn, srv_now(), err) : SC_OK;
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
	hr.server_version = (char *)SRV_VERSION;
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
	if (jobs_new(&srv->jobs, c->tn, name, strlen(name), !sub->ephemeral,
	    epoch_ms(), &jr, &err) != SC_OK)
		goto refuse;
	hooks.arg = jr;
	if (sched_submit(srv->sched, p, c->uid, &hooks, &j, &err) != SC_OK) {
		jobs_discard(&srv->jobs, jr);
		goto refuse;
	}
	prog_unref(p);			/* the job holds it */
	jr->job = j;
	if (sub->timeout_s != 0 &&
	    (uint64_t)sub->timeout_s * 1000 < cfg->limits.task_timeout_ms)
		sched_set_timeout(srv->sched, j, (int64_t)sub->timeout_s * 1000);
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

static void
do_logs(struct conn *c, uint64_t id, const Wire__Logs *lg, struct jobrec *jr)
{
	struct sc_error err = { 0 };
	struct watch *w = watch_add(c, jr, id, true);

	if (w == NULL) {
		sc_errorf(&err, SC_ENOMEM, "out of memory");
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

	for (struct jobrec *jr = srv->jobs.newest; jr != NULL; jr = jr->older)
		if (admin || jr->tn->uid == c->uid)
			by[job_state(jr)]++;
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
	sr.server_version = (char *)SRV_VERSION;
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
		if (jr->ended)
			send_info(c, req->id, jr);
		else if (watch_add(c, jr, req->id, false) == NULL) {
			sc_errorf(&e, SC_ENOMEM, "out of memory");
			conn_send_error(c, req->id, &e);
		}
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
refuse(int fd, uint32_t limit)
{
	Wire__Reply r = WIRE__REPLY__INIT;
	Wire__Error e = WIRE__ERROR__INIT;
	struct sc_error err;
	uint8_t *buf;
	size_t len;

	sc_errorf(&err, SC_ELIMIT, "connection limit (%u) reached", limit);
	e.code = err.code;
	e.message = err.msg;
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

static void
accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct srv *srv = arg;
	struct sc_error err = { 0 };
	struct tenant_acct *tn;
	struct conn *c;
	uint32_t uid;
	pid_t pid;

	if (tenant_peer(fd, &uid, &pid, &err) != SC_OK) {
		log_warn("accept: %s", err.msg);
		close(fd);
		return;
	}
	if (srv->nconns >= srv->cfg->limits.max_connections) {
		srv->st.conns_refused++;
		/* one line a second at most: a flood must not flood the log */
		if (srv_now() - refused_logged >= 1000) {
			log_warn("connection from uid %u pid %d refused: "
			    "connection limit (%u) reached (%llu more refused "
			    "since the last such line)", uid, (int)pid,
			    srv->cfg->limits.max_connections,
			    (unsigned long long)refused_quiet);
			refused_logged = srv_now();
			refused_quiet = 0;
		} else
			refused_quiet++;
		refuse(fd, srv->cfg->limits.max_connections);
		return;
	}
	if ((tn = tenant_get(&srv->tenants, uid)) == NULL) {
		log_warn("connection from uid %u refused: out of memory", uid);
		close(fd);
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
	mode_t old;
	int fd, r;

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

void
srv_before_sleep(struct srv *srv)
{
	while (srv->dirty != NULL) {
		struct jobrec *jr = srv->dirty;
		struct watch *w, *next;

		srv->dirty = jr->dnext;
		jr->dirty = false;
		for (w = jr->watchers; w != NULL; w = next) {
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

void
srv_reload(struct srv *srv)
{
	struct sc_error err = { 0 };
	struct vm_limits lim;
	struct cfg *nc;
	int r;

	if (srv->opts.config == NULL) {
		log_info("SIGHUP: no --config file; nothing to reload");
		return;
	}
	if ((nc = malloc(sizeof(*nc))) == NULL) {
		log_error("SIGHUP: out of memory; configuration unchanged");
		return;
	}
	if (cfg_load(srv->opts.config, nc, &err) != SC_OK) {
		log_error("SIGHUP: %s; keeping the configuration in use",
		    err.msg);
		free(nc);
		return;
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
		free(nc);
		return;
	}
	free(srv->cfg);
	srv->cfg = nc;
	log_setup(nc->daemon.log_level, nc->daemon.log_timestamps);
	for (struct conn *c = srv->conns; c != NULL; c = c->next) {
		bufferevent_setwatermark(c->bev, EV_READ, 0,
		    nc->limits.max_request_size + FRAME_HEADER_SIZE);
		conn_rearm(c);
	}
	log_info("configuration reloaded from %s", srv->opts.config);
}

int
srv_new(struct event_base *base, struct sched *s, struct cfg *cfg,
    const struct srv_opts *opts, struct srv **sp, struct sc_error *err)
{
	struct timeval sec = { 1, 0 };
	struct srv *srv;

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
	sched_set_spawn_hook(s, on_spawn, srv);
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
	while (srv->conns != NULL) {
		conn_flush_now(srv->conns);
		conn_close(srv->conns, "daemon stopping");
	}
	free_dead(srv);
	if (srv->tick != NULL)
		event_free(srv->tick);
	if (relisten != NULL)
		event_free(relisten);
	relisten = NULL;
	if (srv->sched != NULL)
		sched_set_spawn_hook(srv->sched, NULL, NULL);
	jobs_free(&srv->jobs);
	tenants_free(&srv->tenants);
	free(srv->cfg);
	if (the == srv)
		the = NULL;
	free(srv);
}
