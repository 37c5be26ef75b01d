/*
 * The FFI worker pool, daemon side (ffipool.h, docs/ffi.md). Workers are
 * `scriptd ffi-worker` processes started with posix_spawn (no fork of the
 * daemon's address space), their socketpair end on FFIWORKER_FD. Each has
 * at most one call in flight; calls wait in a FIFO, or in the worker's own
 * FIFO when they pass a handle that lives there. A worker's death (EOF on
 * its socket) fails the call it held with the cause: its Fault frame, our
 * deadline kill, or its wait status. Handles are slots of one table:
 * id = generation << HANDLE_SLOT_BITS | slot, so a freed or reused slot
 * is caught by its generation.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <seccomp.h>

#include "ffipool.h"
#include "ffi.pb-c.h"
#include "ffiworker.h"
#include "frame.h"
#include "log.h"
#include "snapshot.h"
#include "utf8.h"

#define HANDLE_SLOT_BITS	24
#define HANDLE_GEN_MAX		((UINT64_C(1) << 38) - 1)	/* ids < 2^62 */
#define RESPAWN_MIN_MS		100	/* after a failed start */
#define RESPAWN_MAX_MS		10000	/* backoff cap */
#define CPU_CHECK_MS		1000	/* a worker's CPU time is read this
					 * often at most (/proc/PID/stat) */
#define STOP_WAIT_MS		1000	/* for killed workers to exit */
#define MSG_MAX		(2 * SC_ERRMSG_MAX + CFG_NAME_MAX)	/* an error */
#define FFI_DECODE_MEM(len)	(4 * (size_t)(len) + (64u << 10))

extern char **environ;

enum wstate {
	W_OFF,				/* no process */
	W_STARTING,			/* Init sent, no Ready yet */
	W_READY,			/* serving; cur says if busy */
};

struct call {
	struct call *next;		/* queue */
	struct call *prev;		/* queue */
	void *key;			/* who waits; NULL: abandoned */
	uint64_t id;			/* Call.id */
	uint64_t job;			/* calling job */
	uint32_t tenant;		/* its owner */
	uint32_t *nhandles;		/* the tenant's live handles */
	uint32_t func;			/* index into cfg->ffi.allow */
	int32_t worker;			/* pinned to a worker (handles), -1 */
	uint32_t wepoch;		/* ... in this incarnation */
	uint64_t release;		/* handle id the call frees, 0 */
	uint32_t nptr;			/* handles passed (in ptrs) */
	int64_t ptrs[CFG_ALLOW_PARAMS_MAX];	/* their ids: checked again
					 * when the call is sent */
	uint8_t *frame;			/* packed ToWorker{call} */
	size_t flen;			/* its bytes */
};

struct queue {
	struct call *head;
	struct call *tail;
};

struct worker {
	struct ffipool *p;		/* owner */
	uint32_t idx;			/* in p->w */
	uint32_t epoch;			/* incarnation; handles name it */
	enum wstate state;
	pid_t pid;			/* process, or -1 */
	struct bufferevent *bev;	/* its socket */
	struct call *cur;		/* call in flight, or NULL */
	struct queue pinned;		/* calls with handles living here */
	struct event *deadline;		/* of cur; of Ready while starting */
	struct event *respawn;		/* backoff timer */
	int64_t backoff_ms;		/* next respawn delay after a failure */
	bool timed_out;			/* we killed it: cur's deadline */
	bool retired;			/* we killed it: CPU time used up */
	int64_t cpu_checked;		/* monotonic ms of the last look */
	bool faulted;			/* a Fault frame came */
	int fsig;			/* its signal */
	int fsys;			/* SIGSYS: the system call */
	bool fmem;			/* address space exhausted */
	const char *broke;		/* we killed it: how it broke the
					 * protocol (a static string) */
	bool had_call;			/* this incarnation was sent one */
	int64_t ready_ms;		/* monotonic ms of its Ready */
	char lasterr[SC_ERRMSG_MAX];	/* why the last start failed; "" once
					 * a start succeeded */
};

struct handle {
	uint64_t gen;			/* bumped when freed */
	uint64_t job;			/* owner job */
	uint32_t tenant;		/* owner tenant */
	uint32_t *nhandles;		/* its count */
	uint32_t worker;		/* where the pointer lives */
	uint32_t wepoch;		/* ... in this incarnation */
	uint64_t slot;			/* the worker's slot */
	int64_t created_ms;		/* monotonic */
	bool live;			/* in use */
	uint32_t nextfree;		/* free list (index), 0: end */
};

struct ffipool {
	struct event_base *base;
	const struct cfg *cfg;		/* the daemon's (not owned) */
	ffipool_done_fn done;
	void *arg;
	struct worker *w;		/* cfg->ffi.workers of them */
	uint32_t nw;
	struct queue q;			/* calls for any worker */
	uint64_t next_id;		/* Call.id */
	struct handle *h;		/* handle table; [0] unused */
	uint32_t nh;			/* entries used so far */
	uint32_t caph;			/* room */
	uint32_t freeh;			/* free list head, 0: none */
	uint32_t nlive;			/* live handles */
	char exe[CFG_PATH_MAX];		/* what to run as `ffi-worker` */
	bool drop_priv;			/* running as root: workers drop */
	uint32_t uid, gid;		/* ... to these */
	struct ffipool_stats st;
	pid_t *strays;			/* killed workers not reaped yet */
	uint32_t nstrays;		/* ... */
	struct frame_arena arena;	/* decodes worker frames, no malloc */
	_Alignas(16) uint8_t arena_mem[16384];
};

static void dispatch(struct ffipool *p);
static const char *broken(const struct ffipool *p);
static int spawn(struct worker *w);

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval
tv_ms(int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) *
	    1000 };

	return tv;
}

/* Queues */

static void
q_add(struct queue *q, struct call *c)
{
	c->next = NULL;
	c->prev = q->tail;
	if (q->tail != NULL)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
}

static void
q_del(struct queue *q, struct call *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		q->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		q->tail = c->prev;
	c->next = c->prev = NULL;
}

static void
call_free(struct call *c)
{
	if (c != NULL) {
		free(c->frame);
		free(c);
	}
}

static const char *
sym_of(const struct ffipool *p, const struct call *c)
{
	return c->func < p->cfg->ffi.nallow ?
	    p->cfg->ffi.allow[c->func].symbol : "?";
}

/* End c with an error (if anyone still waits) and free it. */
static void
call_fail(struct ffipool *p, struct call *c, const char *msg)
{
	union value none = { 0 };

	if (c->key != NULL)
		p->done(p->arg, c->key, msg, none, NULL, 0);
	call_free(c);
}

/* Handles */

static uint32_t
handle_slot(int64_t id)
{
	return (uint32_t)((uint64_t)id & ((1u << HANDLE_SLOT_BITS) - 1));
}

static void
handle_drop(struct ffipool *p, uint32_t i)
{
	struct handle *h = &p->h[i];

	if (!h->live)
		return;
	h->live = false;
	h->gen = h->gen < HANDLE_GEN_MAX ? h->gen + 1 : 1;
	if (*h->nhandles > 0)
		(*h->nhandles)--;
	p->nlive--;
	h->nextfree = p->freeh;
	p->freeh = i;
}

/* Tell a live worker to forget slots (no answer comes). */
static void
send_release(struct worker *w, const uint64_t *slots, size_t n)
{
	Ffi__ToWorker m = FFI__TO_WORKER__INIT;
	Ffi__Release r = FFI__RELEASE__INIT;
	struct sc_error err;
	uint8_t *buf;
	size_t len;

	if (w->state != W_READY || n == 0)
		return;
	r.n_handles = n;
	r.handles = (uint64_t *)slots;
	m.m_case = FFI__TO_WORKER__M_RELEASE;
	m.release = &r;
	if (frame_pack(&m.base, FFI_FRAME_MAX, &buf, &len, &err) != SC_OK) {
		log_warn("FFI worker %u: %s", w->idx, err.msg);
		return;
	}
	if (bufferevent_write(w->bev, buf, len) != 0)
		log_warn("FFI worker %u: out of memory queueing a release",
		    w->idx);
	free(buf);
}

/* Tell the handle's worker, if it is the same incarnation, to forget the
 * pointer; then drop the handle. */
static void
handle_release(struct ffipool *p, uint32_t i)
{
	struct handle *h = &p->h[i];

	if (h->live && h->worker < p->nw && p->w[h->worker].epoch == h->wepoch)
		send_release(&p->w[h->worker], &h->slot, 1);
	handle_drop(p, i);
}

/* May this tenant (*n handles now) hold one more? */
static int
handle_room(const struct ffipool *p, uint32_t tenant, const uint32_t *n,
    struct sc_error *err)
{
	if (*n < p->cfg->tenant.max_handles)
		return SC_OK;
	return sc_errorf(err, SC_ELIMIT, "tenant %u: FFI handle limit (%u) "
	    "reached (tenant.max_handles)", tenant,
	    p->cfg->tenant.max_handles);
}

/* A free table entry's index (the free list, else a new one). */
static int
handle_slot_new(struct ffipool *p, uint32_t *ip, struct sc_error *err)
{
	struct handle *nh;
	uint32_t cap;

	if (p->freeh != 0) {
		*ip = p->freeh;
		p->freeh = p->h[*ip].nextfree;
		return SC_OK;
	}
	if (p->nh + 1 >= FFI_HANDLE_SLOTS_MAX)
		return sc_errorf(err, SC_ELIMIT, "the daemon's FFI handle "
		    "table is full (%u)", FFI_HANDLE_SLOTS_MAX);
	if (p->nh + 1 >= p->caph) {
		cap = p->caph ? p->caph * 2 : 64;
		if ((nh = realloc(p->h, cap * sizeof(*nh))) == NULL)
			return sc_errorf(err, SC_ENOMEM, "out of memory for an "
			    "FFI handle");
		memset(nh + p->caph, 0, (cap - p->caph) * sizeof(*nh));
		p->h = nh;
		p->caph = cap;
	}
	*ip = ++p->nh;
	p->h[*ip].gen = 1;
	return SC_OK;
}

static int
handle_new(struct ffipool *p, const struct call *c, struct worker *w,
    uint64_t slot, int64_t *idp, struct sc_error *err)
{
	struct handle *h;
	uint32_t i = 0;
	int r;

	if ((r = handle_room(p, c->tenant, c->nhandles, err)) != SC_OK ||
	    (r = handle_slot_new(p, &i, err)) != SC_OK)
		return r;
	h = &p->h[i];
	h->live = true;
	h->job = c->job;
	h->tenant = c->tenant;
	h->nhandles = c->nhandles;
	h->worker = w->idx;
	h->wepoch = w->epoch;
	h->slot = slot;
	h->created_ms = now_ms();
	(*c->nhandles)++;
	p->nlive++;
	*idp = (int64_t)(h->gen << HANDLE_SLOT_BITS | i);
	return SC_OK;
}

/* Resolve handle id for call c (argument n, 1-based): its entry. */
static int
handle_get(struct ffipool *p, const struct call *c, uint32_t n, int64_t id,
    struct handle **hp, struct sc_error *err)
{
	const char *sym = sym_of(p, c);
	uint32_t i = handle_slot(id);
	struct handle *h;

	*hp = NULL;
	if (snapshot_ptr_is_stale(id))
		return sc_errorf(err, SC_EDENIED, "%s: argument %u: "
		    SNAPSHOT_PTR_STALE_MSG " (FFI handles do not survive a "
		    "restart)", sym, n);
	h = i != 0 && i <= p->nh ? &p->h[i] : NULL;
	if (h == NULL || h->gen != (uint64_t)id >> HANDLE_SLOT_BITS ||
	    !h->live)
		return sc_errorf(err, SC_EDENIED, "%s: argument %u: FFI handle "
		    "%" PRId64 " is not live (freed, or died with its "
		    "worker)", sym, n, id);
	if (h->tenant != c->tenant)
		return sc_errorf(err, SC_EDENIED, "%s: argument %u: FFI handle "
		    "%" PRId64 " belongs to another tenant", sym, n, id);
	if (now_ms() - h->created_ms > (int64_t)
	    p->cfg->limits.handle_lifetime_ms) {
		handle_release(p, i);
		return sc_errorf(err, SC_EDENIED, "%s: argument %u: FFI handle "
		    "%" PRId64 " expired after %" PRIu64 " ms "
		    "(limits.handle_lifetime)", sym, n, id,
		    p->cfg->limits.handle_lifetime_ms);
	}
	*hp = h;
	return SC_OK;
}

/* Drop every handle of worker w's last incarnation (it died). */
static void
handles_of_worker_die(struct ffipool *p, const struct worker *w)
{
	for (uint32_t i = 1; i <= p->nh && p->nlive > 0; i++)
		if (p->h[i].live && p->h[i].worker == w->idx &&
		    p->h[i].wepoch == w->epoch)
			handle_drop(p, i);
}

void
ffipool_job_ended(struct ffipool *p, uint64_t job)
{
	for (uint32_t i = 1; p != NULL && i <= p->nh && p->nlive > 0; i++) {
		struct handle *h = &p->h[i];

		if (h->live && h->job == job)
			handle_release(p, i);
	}
}

/* Building a call */

static int
put_arg(struct ffipool *p, struct call *c, uint32_t n, unsigned ct,
    union value v, Ffi__Value *fv, struct sc_error *err)
{
	const char *sym = sym_of(p, c);
	struct handle *h;
	int r;

	switch (ct) {
	case CT_INT64:
		fv->v_case = FFI__VALUE__V_I;
		fv->i = v.i;
		return SC_OK;
	case CT_INT32:
		if (v.i < INT32_MIN || v.i > INT32_MAX)
			return sc_errorf(err, SC_ERUNTIME, "%s: argument %u: "
			    "%" PRId64 " does not fit in i32", sym, n, v.i);
		fv->v_case = FFI__VALUE__V_I;
		fv->i = v.i;
		return SC_OK;
	case CT_DOUBLE:
		fv->v_case = FFI__VALUE__V_F;
		fv->f = v.f;
		return SC_OK;
	case CT_BOOL:
		fv->v_case = FFI__VALUE__V_B;
		fv->b = v.i != 0;
		return SC_OK;
	case CT_STRING: {
		const struct vstr *s = (const struct vstr *)v.o;

		if (s == NULL)
			return sc_errorf(err, SC_ERUNTIME, "%s: argument %u: "
			    "no string", sym, n);
		if (memchr(s->s, '\0', s->len) != NULL)
			return sc_errorf(err, SC_ERUNTIME, "%s: argument %u: "
			    "the string has a NUL byte, which C would cut "
			    "there", sym, n);
		fv->v_case = FFI__VALUE__V_S;
		fv->s.data = (uint8_t *)s->s;
		fv->s.len = s->len;
		return SC_OK;
	}
	case CT_PTR:
		fv->v_case = FFI__VALUE__V_HANDLE;
		fv->handle = 0;
		if (v.i == 0)
			return SC_OK;		/* NULL */
		if ((r = handle_get(p, c, n, v.i, &h, err)) != SC_OK)
			return r;
		if (c->worker >= 0 && (uint32_t)c->worker != h->worker)
			return sc_errorf(err, SC_ERUNTIME, "%s: argument %u: "
			    "handles from two FFI workers in one call", sym,
			    n);
		c->worker = (int32_t)h->worker;
		c->wepoch = h->wepoch;
		c->ptrs[c->nptr++] = v.i;
		fv->handle = h->slot;
		if (c->release == 0 &&
		    p->cfg->ffi.allow[c->func].frees)
			c->release = (uint64_t)v.i;
		return SC_OK;
	default:
		return sc_errorf(err, SC_EINVAL, "%s: argument %u: C type %u",
		    sym, n, ct);
	}
}

int
ffipool_call(struct ffipool *p, const struct ffipool_req *rq,
    struct sc_error *err)
{
	const struct mod_extern *x = rq->ext;
	const struct cfg_allow *a;
	Ffi__Value vals[CFG_ALLOW_PARAMS_MAX], *pv[CFG_ALLOW_PARAMS_MAX];
	Ffi__Call fc = FFI__CALL__INIT;
	Ffi__ToWorker m = FFI__TO_WORKER__INIT;
	struct sc_error e2;
	struct call *c;
	int r;

	if ((r = cfg_allow_extern(p->cfg, x, err)) != SC_OK)
		return r;		/* a reload took it away */
	a = cfg_allow_find(p->cfg, x->library, x->symbol);
	if (p->nw == 0 || broken(p) != NULL)
		return sc_errorf(err, SC_EIO, "extern call %s: no FFI worker "
		    "could start: %s", x->symbol, p->nw == 0 ? "none are "
		    "running (see the daemon's log)" : broken(p));
	if (a->ret == CT_PTR && (r = handle_room(p, rq->tenant, rq->nhandles,
	    &e2)) != SC_OK)		/* refused before the call is made */
		return sc_errorf(err, r, "%s: %s", x->symbol, e2.msg);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return sc_errorf(err, SC_ENOMEM, "out of memory");
	c->key = rq->key;
	c->id = ++p->next_id;
	c->job = rq->job;
	c->tenant = rq->tenant;
	c->nhandles = rq->nhandles;
	c->func = (uint32_t)(a - p->cfg->ffi.allow);
	c->worker = -1;
	for (uint32_t n = 0; n < x->nparams; n++) {
		ffi__value__init(&vals[n]);
		pv[n] = &vals[n];
		if ((r = put_arg(p, c, n + 1, x->params[n], rq->args[n],
		    &vals[n], err)) != SC_OK) {
			call_free(c);
			return r;
		}
	}
	fc.id = c->id;
	fc.func = c->func;
	fc.n_args = x->nparams;
	fc.args = pv;
	if (c->release != 0)
		fc.release = p->h[handle_slot((int64_t)c->release)].slot;
	m.m_case = FFI__TO_WORKER__M_CALL;
	m.call = &fc;
	if ((r = frame_pack(&m.base, FFI_FRAME_MAX, &c->frame, &c->flen,
	    err)) != SC_OK) {
		call_free(c);
		return sc_errorf(err, r, "%s: the arguments exceed the FFI "
		    "frame limit (%u bytes)", x->symbol, FFI_FRAME_MAX);
	}
	q_add(c->worker >= 0 ? &p->w[c->worker].pinned : &p->q, c);
	dispatch(p);
	return SC_OK;
}

static bool
abandon_in(struct queue *q, void *key)
{
	for (struct call *c = q->head; c != NULL; c = c->next)
		if (c->key == key) {
			q_del(q, c);
			call_free(c);
			return true;
		}
	return false;
}

void
ffipool_abandon(struct ffipool *p, void *key)
{
	if (p == NULL)
		return;
	for (uint32_t i = 0; i < p->nw; i++)
		if (p->w[i].cur != NULL && p->w[i].cur->key == key) {
			p->w[i].cur->key = NULL;	/* it runs on; no one
							 * takes the result */
			return;
		}
	if (abandon_in(&p->q, key))
		return;
	for (uint32_t i = 0; i < p->nw; i++)
		if (abandon_in(&p->w[i].pinned, key))
			return;
}

/* Workers: CPU time */

/* utime + stime of process pid in ms (/proc/PID/stat), or -1. */
static int64_t
cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* fields 14 and 15, counted from the state after "(comm)" (3) */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 1, " %*c %*d %*d "
	    "%*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (int64_t)(ut + st) * 1000 / sysconf(_SC_CLK_TCK);
}

/*
 * RLIMIT_CPU counts a worker's whole life, so a worker serving many short
 * calls would one day fail an innocent one with SIGXCPU. Retire it while
 * it is idle once it has used half of ffi.worker_cpu; a single call that
 * burns the rest still meets the limit.
 */
static bool
retire_if_spent(struct worker *w)
{
	int64_t now = now_ms(), used;

	if (now - w->cpu_checked < CPU_CHECK_MS)
		return false;
	w->cpu_checked = now;
	if ((used = cpu_ms(w->pid)) < 0 ||
	    used < (int64_t)w->p->cfg->ffi.worker_cpu_ms / 2)
		return false;
	log_info("FFI worker %u retired after %" PRId64 " ms of CPU time (half "
	    "of ffi.worker_cpu); its handles go with it", w->idx, used);
	w->retired = true;
	kill(w->pid, SIGKILL);		/* the EOF replaces it */
	return true;
}

/* Workers: sending */

static void
send_call(struct worker *w, struct call *c)
{
	struct timeval tv = tv_ms((int64_t)w->p->cfg->ffi.call_timeout_ms);
	size_t off = 0;
	ssize_t n;

	w->cur = c;
	w->had_call = true;
	/* straight to the socket when nothing is queued: waiting for the
	 * loop to see it writable costs a turn per call */
	if (evbuffer_get_length(bufferevent_get_output(w->bev)) == 0 &&
	    (n = send(bufferevent_getfd(w->bev), c->frame, c->flen,
	    MSG_NOSIGNAL | MSG_DONTWAIT)) > 0)
		off = (size_t)n;
	if (off < c->flen && bufferevent_write(w->bev, c->frame + off,
	    c->flen - off) != 0) {
		/* treat as a dead worker: the kill brings the EOF */
		log_error("FFI worker %u: out of memory sending a call",
		    w->idx);
		kill(w->pid, SIGKILL);
		return;
	}
	free(c->frame);
	c->frame = NULL;
	evtimer_add(w->deadline, &tv);
}

/*
 * A queued call carries its handles as worker slots. If one was freed,
 * expired or released while the call waited, its slot may already hold
 * another pointer (of another tenant, even): such a call must not go.
 */
static bool
handles_still_live(struct ffipool *p, struct call *c)
{
	char msg[MSG_MAX];

	for (uint32_t k = 0; k < c->nptr; k++) {
		uint32_t i = handle_slot(c->ptrs[k]);

		if (i <= p->nh && p->h[i].live && p->h[i].gen ==
		    (uint64_t)c->ptrs[k] >> HANDLE_SLOT_BITS)
			continue;
		snprintf(msg, sizeof(msg), "%s: FFI handle %" PRId64 " was "
		    "freed or expired while the call waited for its worker",
		    sym_of(p, c), c->ptrs[k]);
		call_fail(p, c, msg);
		return false;
	}
	return true;
}

static void
dispatch(struct ffipool *p)
{
	for (uint32_t i = 0; i < p->nw; i++) {
		struct worker *w = &p->w[i];
		struct call *c;

		if (w->state != W_READY || w->cur != NULL || w->retired ||
		    w->broke != NULL || retire_if_spent(w))
			continue;
		while ((c = w->pinned.head) != NULL) {
			q_del(&w->pinned, c);
			if (handles_still_live(p, c))
				break;
		}
		if (c == NULL && (c = p->q.head) != NULL)
			q_del(&p->q, c);
		if (c != NULL)
			send_call(w, c);
	}
}

/* Workers: dying */

/* The start error if no worker is serving and every one failed to
 * start, else NULL. */
static const char *
broken(const struct ffipool *p)
{
	for (uint32_t i = 0; i < p->nw; i++)
		if (p->w[i].state == W_READY || p->w[i].lasterr[0] == '\0')
			return NULL;
	return p->nw > 0 ? p->w[0].lasterr : "no FFI workers";
}

static void
fail_if_broken(struct ffipool *p)
{
	char msg[MSG_MAX];
	const char *why = broken(p);
	struct call *c;

	while (why != NULL && (c = p->q.head) != NULL) {
		q_del(&p->q, c);
		snprintf(msg, sizeof(msg), "extern call %s: no FFI worker "
		    "could start: %s", sym_of(p, c), why);
		call_fail(p, c, msg);
	}
}

static const char *
sig_name(int sig)
{
	static char buf[16];

	switch (sig) {
	case SIGSEGV: return "SIGSEGV (invalid memory access)";
	case SIGBUS: return "SIGBUS (bus error)";
	case SIGFPE: return "SIGFPE (arithmetic fault)";
	case SIGILL: return "SIGILL (illegal instruction)";
	case SIGABRT: return "SIGABRT (abort)";
	case SIGKILL: return "SIGKILL";
	case SIGSYS: return "SIGSYS (bad system call)";
	case SIGXCPU: return "SIGXCPU (CPU time limit)";
	default:
		snprintf(buf, sizeof(buf), "signal %d", sig);
		return buf;
	}
}

/* Why w died, for the call it held: "crashed with SIGSEGV ...". */
static void
death_cause(struct worker *w, int status, char *buf, size_t size)
{
	const struct cfg *cfg = w->p->cfg;
	int sig = w->faulted ? w->fsig : WIFSIGNALED(status) ?
	    WTERMSIG(status) : 0;

	if (w->broke != NULL)
		snprintf(buf, size, "lost its FFI worker, which broke the "
		    "protocol (%s) and was killed", w->broke);
	else if (w->timed_out)
		snprintf(buf, size, "timed out after %" PRIu64 " ms "
		    "(ffi.call_timeout); its worker was killed",
		    cfg->ffi.call_timeout_ms);
	else if (w->faulted && w->fsig == SIGSYS) {
		char *name = seccomp_syscall_resolve_num_arch(
		    SCMP_ARCH_NATIVE, w->fsys);

		snprintf(buf, size, "made a forbidden system call (%s, "
		    "number %d); the FFI worker was killed", name != NULL ?
		    name : "unknown", w->fsys);
		free(name);
	} else if (w->faulted && w->fmem)
		snprintf(buf, size, "ran out of memory: the FFI worker reached "
		    "its limit (ffi.worker_memory %" PRIu64 " bytes) and died "
		    "with %s", cfg->ffi.worker_memory, sig_name(sig));
	else if (sig == SIGXCPU)
		snprintf(buf, size, "used up the FFI worker's CPU time "
		    "(ffi.worker_cpu %" PRIu64 " s)",
		    cfg->ffi.worker_cpu_ms / 1000);
	else if (sig != 0)
		snprintf(buf, size, "crashed the FFI worker with %s",
		    sig_name(sig));
	else if (WIFEXITED(status))
		snprintf(buf, size, "ended the FFI worker (exit status %d)",
		    WEXITSTATUS(status));
	else
		snprintf(buf, size, "lost the FFI worker");
}

/*
 * Wait for pid, whose socket closed: once locked down its seccomp filter
 * allows neither close() nor shutdown(), so that was its exit, and before
 * (a library's constructor) the SIGKILL sent here ends it. The wait is
 * for the kernel to finish the exit; workers_kill_all() is the one that
 * must not trust a killed worker to exit soon.
 */
static int
reap(pid_t pid)
{
	int status = 0;

	if (pid <= 0)
		return 0;
	if (waitpid(pid, &status, WNOHANG) == pid)
		return status;
	/* the socket closed, so it is exiting: make sure, then wait */
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* Whether killed process pid is gone (reaped now, or not ours). */
static bool
reaped(pid_t pid)
{
	int status;
	pid_t r = waitpid(pid, &status, WNOHANG);

	return r == pid || (r < 0 && errno != EINTR);
}

/* Reap the strays that have exited since. */
static void
strays_reap(struct ffipool *p)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < p->nstrays; i++)
		if (!reaped(p->strays[i]))
			p->strays[n++] = p->strays[i];
	p->nstrays = n;
}

static void
schedule_respawn(struct worker *w)
{
	struct timeval tv = tv_ms(w->backoff_ms);

	evtimer_add(w->respawn, &tv);
	w->backoff_ms = w->backoff_ms * 2 > RESPAWN_MAX_MS ? RESPAWN_MAX_MS :
	    w->backoff_ms * 2;
}

/* Fail every call that can only run on w's dead incarnation. */
static void
fail_pinned(struct worker *w, const char *why)
{
	char msg[MSG_MAX];
	struct call *c;

	while ((c = w->pinned.head) != NULL) {
		q_del(&w->pinned, c);
		snprintf(msg, sizeof(msg), "%s: its FFI handle died with its "
		    "worker (%s)", sym_of(w->p, c), why);
		call_fail(w->p, c, msg);
	}
}

static void
worker_died(struct worker *w)
{
	struct ffipool *p = w->p;
	bool started = w->state == W_READY;
	/* Ready, then dead before its first call and soon: a library's
	 * thread, a broken worker; restarting at once would spin */
	bool early = started && !w->had_call &&
	    now_ms() - w->ready_ms < RESPAWN_MAX_MS;
	char why[MSG_MAX], msg[MSG_MAX];
	struct call *c = w->cur;
	int status;

	bufferevent_free(w->bev);
	w->bev = NULL;
	evtimer_del(w->deadline);
	status = reap(w->pid);
	w->pid = -1;
	w->state = W_OFF;
	if (p->nstrays > 0)
		strays_reap(p);
	w->cur = NULL;
	if (c != NULL) {
		death_cause(w, status, why, sizeof(why));
		snprintf(msg, sizeof(msg), "extern call %s %.*s", sym_of(p, c),
		    SC_ERRMSG_MAX, why);
		log_warn("FFI worker %u: call %s %s", w->idx, sym_of(p, c),
		    why);
		p->st.faults++;
		call_fail(p, c, msg);	/* a handle it freed died anyway */
	} else if (started && !early && !w->retired)
		log_warn("FFI worker %u died while idle", w->idx);
	handles_of_worker_die(p, w);
	fail_pinned(w, w->retired ? "the worker was retired after using half "
	    "of ffi.worker_cpu" : "the worker was replaced");
	w->epoch++;
	w->faulted = w->fmem = w->timed_out = w->retired = false;
	w->broke = NULL;
	w->had_call = false;
	w->cpu_checked = 0;
	if (started && !early) {
		w->backoff_ms = RESPAWN_MIN_MS;
		if (spawn(w) != SC_OK) {
			schedule_respawn(w);
			fail_if_broken(p);
		}
	} else if (started) {
		log_warn("FFI worker %u died before its first call; starting "
		    "another in %" PRId64 " ms", w->idx, w->backoff_ms);
		schedule_respawn(w);
	} else {
		/* it never served: do not spin on a worker that cannot
		 * start (missing library, bad user), and do not keep
		 * calls waiting for it */
		if (w->lasterr[0] == '\0')
			snprintf(w->lasterr, sizeof(w->lasterr), "it exited "
			    "during setup (wait status %d)", status);
		log_error("FFI worker %u could not start: %s", w->idx,
		    w->lasterr);
		schedule_respawn(w);
		fail_if_broken(p);
	}
	dispatch(p);
}

/* Workers: reading */

/* The worker's frames are input: one that breaks the protocol is killed,
 * and why goes into the error of the call it held. */
static void
protocol_broken(struct worker *w, const char *why)
{
	log_error("FFI worker %u broke the protocol (%s); killing it", w->idx,
	    why);
	if (w->broke == NULL)
		w->broke = why;
	kill(w->pid, SIGKILL);
}

/* The Value member a result of C type ct comes in (ffiworker.c result()). */
static int
value_case(unsigned ct)
{
	switch (ct) {
	case CT_INT64:
	case CT_INT32:	return FFI__VALUE__V_I;
	case CT_DOUBLE:	return FFI__VALUE__V_F;
	case CT_BOOL:	return FFI__VALUE__V_B;
	case CT_STRING:	return FFI__VALUE__V_S;
	default:	return FFI__VALUE__V_HANDLE;
	}
}

static void
got_reply(struct worker *w, const Ffi__Reply *r)
{
	struct ffipool *p = w->p;
	struct call *c = w->cur;
	const struct cfg_allow *a;
	union value v = { 0 };
	struct sc_error err;
	char msg[MSG_MAX];
	const Ffi__Value *fv = r->result;

	if (c == NULL || r->id != c->id) {
		log_error("FFI worker %u: reply to call %" PRIu64 " it was not "
		    "given", w->idx, r->id);
		protocol_broken(w, "a reply to a call it was not given");
		return;
	}
	a = &p->cfg->ffi.allow[c->func];
	if ((r->error == NULL || r->error[0] == '\0') && a->ret != CT_VOID &&
	    (fv == NULL || (int)fv->v_case != value_case(a->ret))) {
		log_error("FFI worker %u: a reply of kind %d to %s", w->idx,
		    fv != NULL ? (int)fv->v_case : 0, a->symbol);
		protocol_broken(w, "a reply that does not fit the result type");
		return;			/* its death fails the call */
	}
	evtimer_del(w->deadline);
	w->cur = NULL;
	p->st.calls++;
	/* The worker forgets the freed slot once it has made the call, even
	 * if the reply is an error, and may hand it to this very call's
	 * result: the handle goes in any case, so it can never name a slot
	 * the worker gave to another pointer, and no Release follows (one
	 * refused before the call leaves its pointer in the worker until the
	 * worker goes: a leak, never a mix-up; put_arg() checks everything
	 * the worker would refuse first, so only a disagreement between the
	 * two could). */
	if (c->release != 0) {
		uint32_t i = handle_slot((int64_t)c->release);

		if (i <= p->nh && p->h[i].gen == c->release >> HANDLE_SLOT_BITS)
			handle_drop(p, i);
	}
	if (r->error != NULL && r->error[0] != '\0') {
		snprintf(msg, sizeof(msg), "extern call %s failed: %s",
		    a->symbol, r->error);
		call_fail(p, c, msg);
		return;
	}
	switch (a->ret) {
	case CT_VOID:
		break;
	case CT_INT64:
	case CT_INT32:
		v.i = fv->i;
		break;
	case CT_DOUBLE:
		v.f = fv->f;
		break;
	case CT_BOOL:
		v.i = fv->b;
		break;
	case CT_STRING: {
		/* an empty bytes field may decode with data NULL */
		bool has = fv->s.data != NULL;
		const char *s = has ? (const char *)fv->s.data : "";
		size_t n = has ? fv->s.len : 0;

		/* Script strings are UTF-8; native code's need not be */
		if (!utf8_valid(s, n)) {
			snprintf(msg, sizeof(msg), "extern call %s returned a "
			    "string that is not valid UTF-8 (%zu bytes)",
			    a->symbol, n);
			call_fail(p, c, msg);
			return;
		}
		if (c->key != NULL)
			p->done(p->arg, c->key, NULL, v, s, n);
		call_free(c);
		return;
	}
	case CT_PTR: {
		uint64_t slot = fv->handle;

		if (slot == 0)
			break;			/* NULL */
		if (c->key == NULL) {		/* nobody will free it */
			send_release(w, &slot, 1);
			call_free(c);
			return;
		}
		if (handle_new(p, c, w, slot, &v.i, &err) != SC_OK) {
			send_release(w, &slot, 1);
			snprintf(msg, sizeof(msg), "extern call %s: %s",
			    a->symbol, err.msg);
			call_fail(p, c, msg);
			return;
		}
		break;
	}
	}
	if (c->key != NULL)
		p->done(p->arg, c->key, NULL, v, NULL, 0);
	call_free(c);
}

static void
got_frame(struct worker *w, const uint8_t *body, size_t len)
{
	Ffi__FromWorker *m = NULL;
	struct sc_error err;

	if (frame_unpack_arena(&ffi__from_worker__descriptor, body, len,
	    FFI_DECODE_MEM(len), &w->p->arena, (ProtobufCMessage **)&m,
	    &err) != SC_OK) {
		log_error("FFI worker %u: bad frame (%s)", w->idx, err.msg);
		protocol_broken(w, "a frame that does not decode");
		return;
	}
	switch (m->m_case) {
	case FFI__FROM_WORKER__M_READY:
		if (w->state != W_STARTING) {
			protocol_broken(w, "a second Ready");
		} else if (m->ready->error != NULL &&
		    m->ready->error[0] != '\0') {
			snprintf(w->lasterr, sizeof(w->lasterr), "%s",
			    m->ready->error);
		} else {
			evtimer_del(w->deadline);
			w->state = W_READY;
			w->ready_ms = now_ms();
			w->lasterr[0] = '\0';
			log_debug("FFI worker %u ready (pid %ld)", w->idx,
			    (long)w->pid);
			dispatch(w->p);
		}
		break;
	case FFI__FROM_WORKER__M_REPLY:
		if (w->state == W_READY && m->reply != NULL) {
			got_reply(w, m->reply);
			dispatch(w->p);		/* w is free again */
		}
		break;
	case FFI__FROM_WORKER__M_FAULT:
		w->faulted = true;
		w->fsig = m->fault->signal;
		w->fsys = m->fault->syscall;
		w->fmem = m->fault->memory;
		break;
	default:
		protocol_broken(w, "a message of no known kind");
		break;
	}
	frame_arena_done(&w->p->arena, &m->base);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct worker *w = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct sc_error err;
	size_t len, blen;
	uint8_t *p;

	while (w->bev == bev && w->broke == NULL && (len =
	    evbuffer_get_length(in)) >= FRAME_HEADER_SIZE) {
		p = evbuffer_pullup(in, FRAME_HEADER_SIZE);
		if (frame_header_len(p, FFI_FRAME_MAX, &blen, &err) != SC_OK) {
			log_error("FFI worker %u: %s", w->idx, err.msg);
			protocol_broken(w, "an empty or oversized frame");
			evbuffer_drain(in, len);
			return;
		}
		if (len < FRAME_HEADER_SIZE + blen)
			return;
		if ((p = evbuffer_pullup(in, (ev_ssize_t)(FRAME_HEADER_SIZE +
		    blen))) == NULL) {
			log_error("FFI worker %u: out of memory reading a "
			    "reply; killing it", w->idx);
			kill(w->pid, SIGKILL);
			return;
		}
		got_frame(w, p + FRAME_HEADER_SIZE, blen);
		evbuffer_drain(in, FRAME_HEADER_SIZE + blen);
	}
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct worker *w = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		/* read what came before the close (a Fault) */
		read_cb(bev, w);
		worker_died(w);
	}
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	if (w->state == W_STARTING)
		snprintf(w->lasterr, sizeof(w->lasterr), "no Ready within "
		    "%" PRIu64 " ms", w->p->cfg->ffi.call_timeout_ms);
	else
		w->timed_out = true;
	kill(w->pid, SIGKILL);		/* the EOF does the rest */
}

static void
respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	if (w->state == W_OFF && spawn(w) != SC_OK) {
		schedule_respawn(w);
		fail_if_broken(w->p);
	}
}

/* Workers: starting */

static int
send_init(struct worker *w)
{
	const struct cfg *cfg = w->p->cfg;
	Ffi__Func funcs[CFG_ALLOW_MAX], *pf[CFG_ALLOW_MAX];
	uint32_t params[CFG_ALLOW_MAX][CFG_ALLOW_PARAMS_MAX];
	Ffi__Init in = FFI__INIT__INIT;
	Ffi__ToWorker m = FFI__TO_WORKER__INIT;
	struct sc_error err;
	uint8_t *buf;
	size_t len;
	int r;

	for (uint32_t i = 0; i < cfg->ffi.nallow; i++) {
		const struct cfg_allow *a = &cfg->ffi.allow[i];

		ffi__func__init(&funcs[i]);
		funcs[i].library = (char *)a->library;
		funcs[i].symbol = (char *)a->symbol;
		for (uint32_t k = 0; k < a->nparams; k++)
			params[i][k] = a->params[k];
		funcs[i].n_params = a->nparams;
		funcs[i].params = params[i];
		funcs[i].ret = a->ret;
		pf[i] = &funcs[i];
	}
	in.n_funcs = cfg->ffi.nallow;
	in.funcs = pf;
	in.max_memory = cfg->ffi.worker_memory;
	in.max_cpu_s = (uint32_t)(cfg->ffi.worker_cpu_ms / 1000);
	in.max_files = 16;
	in.max_handles = FFI_WORKER_HANDLES;
	in.drop_privileges = w->p->drop_priv;
	in.uid = w->p->uid;
	in.gid = w->p->gid;
	m.m_case = FFI__TO_WORKER__M_INIT;
	m.init = &in;
	if ((r = frame_pack(&m.base, FFI_FRAME_MAX, &buf, &len, &err)) !=
	    SC_OK) {
		log_error("FFI worker %u: %s", w->idx, err.msg);
		return r;
	}
	r = bufferevent_write(w->bev, buf, len) == 0 ? SC_OK : SC_ENOMEM;
	free(buf);
	return r;
}

static int
spawn(struct worker *w)
{
	char arg0[] = "scriptd", arg1[] = "ffi-worker";
	char *argv[] = { arg0, arg1, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	struct timeval tv;
	sigset_t none, all;
	int sv[2], e = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(w->lasterr, sizeof(w->lasterr), "socketpair: %s",
		    strerror(errno));
		log_error("FFI worker %u: %s", w->idx, w->lasterr);
		return SC_EIO;
	}
	if (sv[1] == FFIWORKER_FD) {	/* dup2 onto itself keeps CLOEXEC */
		int fd = fcntl(sv[1], F_DUPFD_CLOEXEC, FFIWORKER_FD + 1);

		e = fd < 0 ? errno : 0;
		close(sv[1]);
		sv[1] = fd;
	}
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_adddup2(&fa, sv[1], FFIWORKER_FD);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);	/* not our terminal's signals */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	if (e == 0)
		e = posix_spawn(&pid, w->p->exe, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (sv[1] >= 0)
		close(sv[1]);
	if (e != 0) {
		snprintf(w->lasterr, sizeof(w->lasterr), "cannot start scriptd "
		    "ffi-worker: %s", strerror(e));
		log_error("FFI worker %u: %s", w->idx, w->lasterr);
		close(sv[0]);
		return SC_EIO;
	}
	evutil_make_socket_nonblocking(sv[0]);
	w->bev = bufferevent_socket_new(w->p->base, sv[0],
	    BEV_OPT_CLOSE_ON_FREE);
	w->pid = pid;
	if (w->bev == NULL) {
		snprintf(w->lasterr, sizeof(w->lasterr), "out of memory");
		close(sv[0]);
		kill(pid, SIGKILL);
		reap(pid);
		w->pid = -1;
		return SC_ENOMEM;
	}
	bufferevent_setcb(w->bev, read_cb, NULL, event_cb, w);
	bufferevent_enable(w->bev, EV_READ);
	w->state = W_STARTING;
	if (send_init(w) != SC_OK) {
		kill(pid, SIGKILL);	/* the EOF cleans up */
		return SC_OK;
	}
	tv = tv_ms((int64_t)w->p->cfg->ffi.call_timeout_ms + 1000);
	evtimer_add(w->deadline, &tv);
	return SC_OK;
}

/*
 * The binary workers run. /proc/self/exe is this very file even after an
 * upgrade replaced it on disk, so daemon and workers always speak the same
 * protocol. Under a tool that runs us as its guest (valgrind), it names
 * the tool instead, and the tool fakes readlink() to name us: then, and
 * only then (the two are different files), use that path.
 */
static void
find_exe(struct ffipool *p)
{
	struct stat a, b;
	ssize_t n;

	snprintf(p->exe, sizeof(p->exe), "/proc/self/exe");
	n = readlink("/proc/self/exe", p->exe, sizeof(p->exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(p->exe) - 1) {
		snprintf(p->exe, sizeof(p->exe), "/proc/self/exe");
		return;
	}
	p->exe[n] = '\0';
	if (stat("/proc/self/exe", &a) == 0 && stat(p->exe, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		snprintf(p->exe, sizeof(p->exe), "/proc/self/exe");
}

/* ffi.user as uid and gid (only used when the daemon runs as root). */
static int
resolve_user(struct ffipool *p, const struct cfg *cfg, struct sc_error *err)
{
	const char *u = cfg->ffi.user;
	struct passwd *pw;
	char *end;
	unsigned long n;

	p->drop_priv = geteuid() == 0;
	if (!p->drop_priv)
		return SC_OK;
	errno = 0;
	n = strtoul(u, &end, 10);
	if (*u != '\0' && *end == '\0' && errno == 0 && n < UINT32_MAX) {
		pw = getpwuid((uid_t)n);
		p->uid = (uint32_t)n;
		p->gid = pw != NULL ? pw->pw_gid : (uint32_t)n;
	} else if ((pw = getpwnam(u)) != NULL) {
		p->uid = pw->pw_uid;
		p->gid = pw->pw_gid;
	} else
		return sc_errorf(err, SC_EINVAL, "ffi.user \"%s\": no such "
		    "user", u);
	if (p->uid == 0)
		return sc_errorf(err, SC_EINVAL, "ffi.user \"%s\" is root; FFI "
		    "workers must run unprivileged", u);
	return SC_OK;
}

/*
 * Kill every worker at once, then reap them together for at most
 * STOP_WAIT_MS: one stuck in the kernel (D state, a page fault on a hung
 * network file system) does not exit until it leaves it, and a reload
 * must not stall the loop for that long. One not reaped by then becomes
 * a stray, looked for again at each worker's death and each stop.
 */
static void
workers_kill_all(struct ffipool *p)
{
	int64_t until = now_ms() + STOP_WAIT_MS;
	struct timespec ms = { 0, 1000000 };
	uint32_t left;

	strays_reap(p);
	for (uint32_t i = 0; i < p->nw; i++)
		if (p->w[i].pid > 0)
			kill(p->w[i].pid, SIGKILL);
	for (;;) {
		left = 0;
		for (uint32_t i = 0; i < p->nw; i++) {
			if (p->w[i].pid <= 0)
				continue;
			if (reaped(p->w[i].pid))
				p->w[i].pid = -1;
			else
				left++;
		}
		if (left == 0 || now_ms() >= until)
			break;
		nanosleep(&ms, NULL);	/* a signal cuts it short: look */
	}
	for (uint32_t i = 0; i < p->nw; i++) {
		pid_t *ns;

		if (p->w[i].pid <= 0)
			continue;
		log_error("FFI worker %u (pid %ld) did not exit within %d ms "
		    "of SIGKILL; it will be reaped when it does", i,
		    (long)p->w[i].pid, STOP_WAIT_MS);
		if ((ns = realloc(p->strays, (p->nstrays + 1) *
		    sizeof(*ns))) != NULL) {
			p->strays = ns;
			p->strays[p->nstrays++] = p->w[i].pid;
		}
		p->w[i].pid = -1;
	}
}

static void
workers_stop(struct ffipool *p)
{
	workers_kill_all(p);
	for (uint32_t i = 0; i < p->nw; i++) {
		struct worker *w = &p->w[i];

		if (w->bev != NULL)
			bufferevent_free(w->bev);
		if (w->deadline != NULL)
			event_free(w->deadline);
		if (w->respawn != NULL)
			event_free(w->respawn);
		while (w->pinned.head != NULL) {
			struct call *c = w->pinned.head;

			q_del(&w->pinned, c);
			call_free(c);
		}
		call_free(w->cur);
	}
	free(p->w);
	p->w = NULL;
	p->nw = 0;
}

static int
workers_start(struct ffipool *p, struct sc_error *err)
{
	uint32_t n = p->cfg->ffi.nallow > 0 ? p->cfg->ffi.workers : 0;

	if (n == 0)
		return SC_OK;
	if ((p->w = calloc(n, sizeof(*p->w))) == NULL)
		return sc_errorf(err, SC_ENOMEM, "out of memory");
	p->nw = n;
	for (uint32_t i = 0; i < n; i++) {
		struct worker *w = &p->w[i];

		w->p = p;
		w->idx = i;
		w->pid = -1;
		w->backoff_ms = RESPAWN_MIN_MS;
		w->deadline = evtimer_new(p->base, deadline_cb, w);
		w->respawn = evtimer_new(p->base, respawn_cb, w);
		if (w->deadline == NULL || w->respawn == NULL)
			return sc_errorf(err, SC_ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < n; i++)
		if (spawn(&p->w[i]) != SC_OK)
			schedule_respawn(&p->w[i]);
	log_info("FFI: %u worker%s for %u allowed function%s", n,
	    n == 1 ? "" : "s", p->cfg->ffi.nallow,
	    p->cfg->ffi.nallow == 1 ? "" : "s");
	return SC_OK;
}

int
ffipool_new(struct event_base *base, const struct cfg *cfg,
    ffipool_done_fn done, void *arg, struct ffipool **pp, struct sc_error *err)
{
	struct ffipool *p;
	int r;

	*pp = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return sc_errorf(err, SC_ENOMEM, "out of memory");
	p->base = base;
	p->cfg = cfg;
	p->arena.buf = p->arena_mem;
	p->arena.size = sizeof(p->arena_mem);
	p->done = done;
	p->arg = arg;
	find_exe(p);
	if ((r = resolve_user(p, cfg, err)) != SC_OK ||
	    (r = workers_start(p, err)) != SC_OK) {
		ffipool_free(p);
		return r;
	}
	*pp = p;
	return SC_OK;
}

void
ffipool_free(struct ffipool *p)
{
	struct call *c;

	if (p == NULL)
		return;
	workers_stop(p);
	while ((c = p->q.head) != NULL) {
		q_del(&p->q, c);
		call_free(c);
	}
	strays_reap(p);
	free(p->strays);
	free(p->h);
	free(p);
}

/* Did a reload change what the workers were started with? */
static bool
ffi_changed(const struct cfg *a, const struct cfg *b)
{
	if (a->ffi.nallow != b->ffi.nallow || a->ffi.workers !=
	    b->ffi.workers || a->ffi.worker_memory != b->ffi.worker_memory ||
	    a->ffi.worker_cpu_ms != b->ffi.worker_cpu_ms ||
	    strcmp(a->ffi.user, b->ffi.user) != 0 ||
	    a->tenant.max_handles != b->tenant.max_handles)
		return true;
	return !cfg_allow_equal(a, b);
}

void
ffipool_reload(struct ffipool *p, const struct cfg *cfg)
{
	const char *why = "cancelled: the FFI workers restarted for a "
	    "configuration reload";
	struct sc_error err;
	struct call *c;
	bool changed = ffi_changed(p->cfg, cfg);

	p->cfg = cfg;
	if (!changed)
		return;
	/* fail everything in flight or queued: its function index and
	 * handles belong to the old workers */
	for (uint32_t i = 0; i < p->nw; i++) {
		struct worker *w = &p->w[i];

		if (w->cur != NULL) {
			call_fail(p, w->cur, why);
			w->cur = NULL;
		}
		while ((c = w->pinned.head) != NULL) {
			q_del(&w->pinned, c);
			call_fail(p, c, why);
		}
	}
	while ((c = p->q.head) != NULL) {
		q_del(&p->q, c);
		call_fail(p, c, why);
	}
	for (uint32_t i = 1; i <= p->nh; i++)
		handle_drop(p, i);
	workers_stop(p);
	if (resolve_user(p, cfg, &err) != SC_OK ||
	    workers_start(p, &err) != SC_OK) {
		workers_stop(p);	/* none half made: calls fail at once */
		log_error("FFI: after the reload: %s; extern calls fail until "
		    "the next reload", err.msg);
	}
	else
		log_info("FFI: workers restarted for the new [ffi] settings");
}

void
ffipool_stats(const struct ffipool *p, struct ffipool_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (p == NULL)
		return;
	*st = p->st;
	st->handles = p->nlive;
	for (uint32_t i = 0; i < p->nw; i++)
		st->workers += p->w[i].state == W_READY;
}
