/*
 * Job snapshots (snapshot.proto). Encoding walks the job's tasks and,
 * breadth first with a worklist (no recursion: arrays may nest 100,000
 * deep), every object their values reach, giving each an id through a
 * pointer map so shared objects are written once. Decoding validates the
 * whole message against the module first (kinds of every register, array
 * element and argument, indices, states, await chains), then builds the
 * job; if building fails (limits, memory) the half-built job is cancelled
 * and swept, so the scheduler is left as it was.
 */
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "snapshot.pb-c.h"
#include "value.h"
#include "vm.h"

/* Clock conversions saturate: the values may come from a corrupt row. */
static int64_t
sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static int64_t
sat_sub(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_sub_overflow(a, b, &r))
		return b < 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* Pointer -> id, open addressing; ids start at 1 (0: absent). */
struct pmap {
	const void **keys;		/* cap slots, NULL empty */
	uint32_t *vals;			/* ids */
	uint32_t cap;			/* power of two */
	uint32_t n;			/* used slots */
};

static uint32_t
hashp(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (uint32_t)x;
}

static uint32_t
pmap_get(const struct pmap *m, const void *k)
{
	if (m->cap == 0)
		return 0;
	for (uint32_t i = hashp(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == k)
			return m->vals[i];
		else if (m->keys[i] == NULL)
			return 0;
}

static int
pmap_put(struct pmap *m, const void *k, uint32_t v)
{
	uint32_t i;

	if ((m->n + 1) * 2 > m->cap) {
		struct pmap g = { .cap = m->cap ? m->cap * 2 : 64 };

		if ((g.keys = calloc(g.cap, sizeof(*g.keys))) == NULL ||
		    (g.vals = calloc(g.cap, sizeof(*g.vals))) == NULL) {
			free(g.keys);
			return SC_ENOMEM;
		}
		for (uint32_t j = 0; j < m->cap; j++)
			if (m->keys[j] != NULL)
				(void)pmap_put(&g, m->keys[j], m->vals[j]);
		free(m->keys);
		free(m->vals);
		*m = g;
	}
	for (i = hashp(k) & (m->cap - 1); m->keys[i] != NULL;
	    i = (i + 1) & (m->cap - 1))
		;
	m->keys[i] = k;
	m->vals[i] = v;
	m->n++;
	return SC_OK;
}

static void
pmap_free(struct pmap *m)
{
	free(m->keys);
	free(m->vals);
}

/* Encoding */

struct enc {
	const struct job *j;		/* the job */
	int64_t delta;			/* wall - monotonic ms */
	struct pmap tmap;		/* task -> id */
	struct pmap omap;		/* object -> id */
	struct pmap leaf;		/* timeout futures being awaited */
	struct task **tv;		/* tasks by id - 1 */
	uint32_t nt;			/* tasks */
	struct obj **ov;		/* objects by id - 1 */
	uint32_t no;			/* objects */
	uint32_t capo;			/* room in ov */
	void **mem;			/* every allocation, freed at the end */
	uint32_t nmem;			/* in mem */
	uint32_t capmem;		/* room in mem */
	int r;				/* sticky: first failure */
	struct sc_error *err;		/* its message */
};

static void *
ealloc(struct enc *e, size_t n, size_t size)
{
	void *p;

	if (e->r != SC_OK)
		return NULL;
	if (e->nmem == e->capmem) {
		uint32_t ncap = e->capmem ? e->capmem * 2 : 64;
		void **m = realloc(e->mem, ncap * sizeof(*m));

		if (m == NULL)
			goto nomem;
		e->mem = m;
		e->capmem = ncap;
	}
	if ((p = calloc(n ? n : 1, size)) == NULL)
		goto nomem;
	e->mem[e->nmem++] = p;
	return p;
nomem:
	e->r = sc_errorf(e->err, SC_ENOMEM, "out of memory encoding a "
	    "snapshot");
	return NULL;
}

static int64_t
obj_id(struct enc *e, struct obj *o)
{
	uint32_t id;

	if (o == NULL || e->r != SC_OK)
		return 0;
	if ((id = pmap_get(&e->omap, o)) != 0)
		return id;
	if (e->no == e->capo) {
		uint32_t ncap = e->capo ? e->capo * 2 : 64;
		struct obj **v = realloc(e->ov, ncap * sizeof(*v));

		if (v == NULL)
			goto nomem;
		e->ov = v;
		e->capo = ncap;
	}
	if (pmap_put(&e->omap, o, e->no + 1) != SC_OK)
		goto nomem;
	e->ov[e->no++] = o;
	return e->no;
nomem:
	e->r = sc_errorf(e->err, SC_ENOMEM, "out of memory encoding a "
	    "snapshot");
	return 0;
}

static int64_t
task_id(struct enc *e, const struct task *t)
{
	uint32_t id;

	if (t == NULL || e->r != SC_OK)
		return 0;
	if (SC_NEVER((id = pmap_get(&e->tmap, t)) == 0))
		e->r = sc_errorf(e->err, SC_EINVAL, "snapshot: a task handle "
		    "refers to a task outside job %llu",
		    (unsigned long long)e->j->id);
	return id;
}

static int64_t
enc_val(struct enc *e, unsigned k, union value v)
{
	int64_t x;

	switch (k) {
	case VK_FLOAT:
		memcpy(&x, &v.f, sizeof(x));
		return x;
	case VK_STRING:
	case VK_ARRAY:
	case VK_FUTURE:
		return obj_id(e, v.o);
	case VK_TASK:
		return task_id(e, (const struct task *)v.o);
	default:
		return v.i;		/* unit, int, bool, ptr */
	}
}

bool
snapshot_ready(const struct job *j)
{
	if (j->ending)
		return false;
	for (const struct task *t = j->tasks; t != NULL; t = t->jnext) {
		if (task_state_ended(t->state))
			continue;
		if (t->state == TASK_RUNNING || (t->saved_kind != SAVED_SUSP &&
		    t->saved_kind != SAVED_START))
			return false;
	}
	return true;
}

static void
enc_frames(struct enc *e, const struct task *t, Snap__Task *st)
{
	const struct module *m = e->j->prog->m;
	uint32_t n = 0, fn, state, nlive;
	const union value *vals;

	while (vm_susp_frame(t, n, &fn, &state, &nlive, &vals))
		n++;
	if (n == 0)
		return;
	if ((st->frames = ealloc(e, n, sizeof(*st->frames))) == NULL)
		return;
	st->n_frames = n;
	for (uint32_t i = 0; i < n; i++) {
		/* outermost first: vm_susp_frame counts from the innermost */
		Snap__Frame *f = ealloc(e, 1, sizeof(*f));
		const struct mod_fn *mf;

		if (f == NULL || !vm_susp_frame(t, n - 1 - i, &fn, &state,
		    &nlive, &vals))
			return;
		snap__frame__init(f);
		st->frames[i] = f;
		f->fn = fn;
		f->state = state;
		mf = &m->fns[fn];
		if (nlive == 0)
			continue;
		if ((f->live = ealloc(e, nlive, sizeof(*f->live))) == NULL)
			return;
		f->n_live = nlive;
		for (uint32_t l = 0; l < nlive; l++)
			f->live[l] = enc_val(e, mf->reg_kinds[mf->states[state].
			    live[l]], vals[l]);
	}
}

static void
enc_task(struct enc *e, const struct task *t, Snap__Task *st,
    struct store_task *row)
{
	int64_t due;
	uint64_t seq;

	snap__task__init(st);
	st->state = t->state;
	st->rkind = t->o.ekind;
	st->flags = t->flags & TF_SAVED;
	row->state = t->state;
	row->due_ms = -1;
	if (task_state_ended(t->state)) {
		const char *msg = t->error != NULL ? t->error : "out of memory";

		st->saved = SAVED_NONE;
		if (t->state == TASK_DONE)
			st->result = enc_val(e, t->o.ekind, t->result);
		else {
			st->error.data = (uint8_t *)msg;
			st->error.len = strlen(msg);
		}
		return;
	}
	if (t->state == TASK_RUNNING || (t->saved_kind != SAVED_SUSP &&
	    t->saved_kind != SAVED_START)) {
		if (e->r == SC_OK)
			e->r = sc_errorf(e->err, SC_EINVAL, "snapshot: job %llu "
			    "has a task that is running or preempted",
			    (unsigned long long)e->j->id);
		return;
	}
	st->saved = t->saved_kind;
	if (t->saved_kind == SAVED_START) {
		st->fut = (uint32_t)obj_id(e, t->fut ? &t->fut->h.o : NULL);
		return;
	}
	st->wait = t->wait;
	enc_frames(e, t, st);
	switch (t->wait) {
	case WAIT_SLEEP:
		if (!sched_task_timer(e->j->s, t, &due, &seq)) {
			due = sched_now(e->j->s);	/* lost: due now */
			seq = 0;
		}
		st->due_ms = sat_add(due, e->delta);
		st->timer_seq = seq;
		row->due_ms = st->due_ms;
		break;
	case WAIT_TASK:
		st->waiting_on = (uint32_t)task_id(e, t->waiting_on);
		break;
	case WAIT_LEAF:
		st->fut = (uint32_t)obj_id(e, t->fut ? &t->fut->h.o : NULL);
		if (t->fut != NULL && t->fut->h.o.sub == FUT_TIMEOUT) {
			if (pmap_put(&e->leaf, t->fut, 1) != SC_OK && e->r == 0)
				e->r = sc_errorf(e->err, SC_ENOMEM, "out of "
				    "memory encoding a snapshot");
			row->due_ms = sat_add(t->fut->ms, e->delta);
		}
		break;
	default:
		break;
	}
}

/*
 * Ready tasks keep their order: number the job's tasks in their tenant's
 * run queue (the walk stops at the last of them; a job's tasks share one
 * tenant, so one queue).
 */
static void
enc_ready(struct enc *e, Snap__Task **tasks)
{
	const struct task *h = NULL;
	uint32_t want = 0, k = 0;

	for (uint32_t i = 0; i < e->nt; i++)
		if (e->tv[i]->state == TASK_READY) {
			want++;
			h = e->tv[i];
		}
	if (h == NULL)
		return;
	while (h->qprev != NULL)
		h = h->qprev;
	for (; h != NULL && k < want; h = h->qnext) {
		uint32_t id = pmap_get(&e->tmap, h);

		if (id != 0 && h->state == TASK_READY)
			tasks[id - 1]->ready_pos = ++k;
	}
}

/* The module constant index of a constant string, or -1. */
static int64_t
const_index(const struct prog *p, const struct obj *o)
{
	for (uint32_t i = 0; i < p->m->nconsts; i++)
		if (p->m->consts[i].kind == CONST_STRING && p->k[i].o == o)
			return i;
	return -1;
}

static void
enc_fut(struct enc *e, const struct vfut *f, Snap__Object *so)
{
	const struct module *m = e->j->prog->m;

	so->fut_type = f->h.o.sub;
	so->fut_state = f->state;
	so->fut_flags = f->flags & FUTF_FAILSEEN;
	so->idx = f->idx;
	so->jkind = f->jkind;
	if (f->nargs > 0 && (so->vals = ealloc(e, f->nargs,
	    sizeof(*so->vals))) != NULL) {
		so->n_vals = f->nargs;
		for (uint32_t i = 0; i < f->nargs; i++) {
			unsigned k = f->flags & FUTF_CTYPES ?
			    ctype_vkind(m->externs[f->idx].params[i]) :
			    m->fns[f->idx].reg_kinds[i];

			so->vals[i] = enc_val(e, k, f->args[i]);
		}
	}
	switch (f->h.o.sub) {
	case FUT_SLEEP:
		so->ms = f->ms;
		break;
	case FUT_JOIN:
		if (f->child != NULL) {
			so->child_kind = VK_ARRAY;
			so->child = obj_id(e, f->child);
		}
		break;
	case FUT_TIMEOUT:
		if (pmap_get(&e->leaf, f) != 0) {
			so->has_due = true;
			so->due_ms = sat_add(f->ms, e->delta);
		} else
			so->ms = f->ms;
		so->fallback = enc_val(e, f->h.o.ekind, f->fallback);
		if (f->child != NULL) {
			so->child_kind = f->child->kind;
			so->child = f->child->kind == VK_TASK ?
			    task_id(e, (const struct task *)f->child) :
			    obj_id(e, f->child);
		}
		break;
	default:
		break;
	}
}

static void
enc_obj(struct enc *e, struct obj *o, Snap__Object *so)
{
	const struct hobj *h = (const struct hobj *)o;

	snap__object__init(so);
	so->kind = o->kind;
	so->ekind = o->ekind;
	if (!(o->flags & OBJ_CONST))
		so->owner = (uint32_t)task_id(e, h->owner);
	switch (o->kind) {
	case VK_STRING: {
		const struct vstr *s = (const struct vstr *)o;
		int64_t k = o->flags & OBJ_CONST ?
		    const_index(e->j->prog, o) : -1;

		if (k >= 0)
			so->konst = (uint32_t)k + 1;
		else {
			so->str.data = (uint8_t *)s->s;
			so->str.len = s->len;
			if (so->owner == 0)	/* a foreign constant */
				so->owner = (uint32_t)task_id(e, e->j->root);
		}
		break;
	}
	case VK_ARRAY: {
		const struct varr *a = (const struct varr *)o;

		if (a->len > 0 && (so->vals = ealloc(e, a->len,
		    sizeof(*so->vals))) != NULL) {
			so->n_vals = a->len;
			for (uint32_t i = 0; i < a->len; i++)
				so->vals[i] = enc_val(e, o->ekind, a->v[i]);
		}
		break;
	}
	default:
		enc_fut(e, (const struct vfut *)o, so);
		break;
	}
}

/*
 * Encode j, which snapshot_ready() accepts, into out: the bytes and one
 * store_task row per task. Task ids go oldest first (the root is 1).
 */
int
snapshot_encode(const struct job *j, int64_t clock_delta,
    struct snapshot *out, struct sc_error *err)
{
	struct enc e = { .j = j, .delta = clock_delta, .err = err };
	Snap__Job sj = SNAP__JOB__INIT;
	Snap__Task **tasks = NULL;
	Snap__Object **objs = NULL;
	struct store_task *rows = NULL;
	uint32_t n = 0, capobjs = 0;
	size_t size;

	memset(out, 0, sizeof(*out));
	for (const struct task *t = j->tasks; t != NULL; t = t->jnext)
		n++;
	if ((e.tv = ealloc(&e, n, sizeof(*e.tv))) == NULL ||
	    (tasks = ealloc(&e, n, sizeof(*tasks))) == NULL)
		goto out;
	for (struct task *t = j->tasks; t != NULL; t = t->jnext) {
		e.tv[n - 1 - e.nt] = t;
		e.nt++;
	}
	for (uint32_t i = 0; i < n && e.r == SC_OK; i++)
		if (pmap_put(&e.tmap, e.tv[i], i + 1) != SC_OK)
			e.r = sc_errorf(err, SC_ENOMEM, "out of memory "
			    "encoding a snapshot");
	if (e.r != SC_OK || (rows = calloc(n ? n : 1, sizeof(*rows))) == NULL)
		goto nomem;
	for (uint32_t i = 0; i < n && e.r == SC_OK; i++) {
		if ((tasks[i] = ealloc(&e, 1, sizeof(**tasks))) == NULL)
			break;
		rows[i].tid = i + 1;
		enc_task(&e, e.tv[i], tasks[i], &rows[i]);
	}
	if (e.r == SC_OK)
		enc_ready(&e, tasks);
	/* objects found while encoding add more: e.no grows as we go */
	for (uint32_t i = 0; i < e.no && e.r == SC_OK; i++) {
		Snap__Object *so;

		if (i == capobjs) {
			uint32_t ncap = capobjs ? capobjs * 2 : 64;
			Snap__Object **v = realloc(objs, ncap * sizeof(*v));

			if (v == NULL)
				goto nomem;
			objs = v;
			capobjs = ncap;
		}
		if ((so = ealloc(&e, 1, sizeof(*so))) == NULL)
			break;
		enc_obj(&e, e.ov[i], so);
		objs[i] = so;
	}
	if (e.r != SC_OK)
		goto out;
	sj.format = SNAPSHOT_FORMAT;
	sj.root = (uint32_t)pmap_get(&e.tmap, j->root);
	sj.n_tasks = n;
	sj.tasks = tasks;
	sj.n_objects = e.no;
	sj.objects = objs;
	sj.nfns = j->prog->m->nfns;
	sj.deadline_ms = j->deadline == INT64_MAX ? INT64_MAX :
	    sat_add(j->deadline, clock_delta);
	size = snap__job__get_packed_size(&sj);
	if (size > SNAPSHOT_BYTES_MAX) {
		e.r = sc_errorf(err, SC_ELIMIT, "snapshot of job %llu is %zu "
		    "bytes, over the limit (%u bytes)",
		    (unsigned long long)j->id, size, SNAPSHOT_BYTES_MAX);
		goto out;
	}
	if ((out->buf = malloc(size ? size : 1)) == NULL)
		goto nomem;
	out->len = snap__job__pack(&sj, out->buf);
	out->tasks = rows;
	out->ntasks = n;
	rows = NULL;
	goto out;
nomem:
	if (e.r == SC_OK)
		e.r = sc_errorf(err, SC_ENOMEM, "out of memory encoding a "
		    "snapshot");
out:
	for (uint32_t i = 0; i < e.nmem; i++)
		free(e.mem[i]);
	free(e.mem);
	free(e.ov);
	free(objs);
	free(rows);
	pmap_free(&e.tmap);
	pmap_free(&e.omap);
	pmap_free(&e.leaf);
	return e.r;
}

void
snapshot_free(struct snapshot *sn)
{
	if (sn == NULL)
		return;
	free(sn->buf);
	free(sn->tasks);
	memset(sn, 0, sizeof(*sn));
}

/* Decoding */

/*
 * protobuf-c's unpack allocates a struct per message: a 4-byte Object is a
 * 150-byte struct, so a hostile 16 MiB row could cost gigabytes. Unpack
 * goes through this allocator, which stops at SNAPSHOT_DECODE_MEM_MAX.
 */
struct budget_alloc {
	size_t used;			/* bytes handed out */
	bool over;			/* an allocation was refused */
};

static void *
balloc(void *arg, size_t size)
{
	struct budget_alloc *b = arg;
	size_t *p;

	if (size > SNAPSHOT_DECODE_MEM_MAX - b->used ||
	    (p = malloc(sizeof(size_t) + size)) == NULL) {
		b->over = true;
		return NULL;
	}
	b->used += size;
	*p = size;
	return p + 1;
}

static void
bfree(void *arg, void *ptr)
{
	struct budget_alloc *b = arg;
	size_t *p = ptr;

	if (p == NULL)
		return;
	b->used -= p[-1];
	free(p - 1);
}

struct dec {
	const Snap__Job *sj;		/* the message */
	const struct module *m;		/* the module it must fit */
	struct sched *s;		/* where it goes */
	int64_t delta;			/* wall - monotonic ms */
	struct task **tv;		/* tasks by id - 1 */
	struct obj **ov;		/* objects by id - 1 */
	struct sc_error *err;		/* what is wrong */
};

#define BAD(d, ...)	\
	sc_errorf((d)->err, SC_ESTORE, "snapshot: " __VA_ARGS__)

/* Can x be a value of kind k here? (references by id, in range, of the
 * right object kind) */
static bool
val_ok(const struct dec *d, unsigned k, int64_t x)
{
	switch (k) {
	case VK_UNIT:
		return x == 0;
	case VK_BOOL:
		return x == 0 || x == 1;
	case VK_INT:
	case VK_FLOAT:
	case VK_PTR:
		return true;
	case VK_STRING:
	case VK_ARRAY:
	case VK_FUTURE:
		return x == 0 || (x > 0 && (uint64_t)x <= d->sj->n_objects &&
		    d->sj->objects[x - 1]->kind == k);
	case VK_TASK:
		return x >= 0 && (uint64_t)x <= d->sj->n_tasks;
	default:
		return false;
	}
}

static const Snap__Object *
fut_obj(const struct dec *d, int64_t x)
{
	if (x <= 0 || !val_ok(d, VK_FUTURE, x))
		return NULL;
	return d->sj->objects[x - 1];
}

static int
check_fut(const struct dec *d, uint32_t id, const Snap__Object *o)
{
	const struct module *m = d->m;

	if (o->fut_type > FUT_EXT || o->fut_state > FUT_STARTED ||
	    (o->fut_flags & ~(uint32_t)FUTF_FAILSEEN) != 0)
		return BAD(d, "object %u: bad future (type %u, state %u, "
		    "flags %u)", id, o->fut_type, o->fut_state, o->fut_flags);
	if (o->fut_type != FUT_FN && o->fut_type != FUT_EXT && o->n_vals != 0)
		return BAD(d, "object %u: future of type %u with arguments",
		    id, o->fut_type);
	switch (o->fut_type) {
	case FUT_FN: {
		const struct mod_fn *fn;

		if (o->idx >= m->nfns || !m->fns[o->idx].is_async)
			return BAD(d, "object %u: future of function %u, not an "
			    "async function of the module", id, o->idx);
		fn = &m->fns[o->idx];
		if (o->n_vals != fn->nparams || o->ekind != fn->ret_kind)
			return BAD(d, "object %u: future of %s with %zu "
			    "arguments of result kind %u", id, fn->name,
			    o->n_vals, o->ekind);
		for (uint32_t i = 0; i < fn->nparams; i++)
			if (!val_ok(d, fn->reg_kinds[i], o->vals[i]))
				return BAD(d, "object %u: argument %u of %s is "
				    "not a %s", id, i, fn->name,
				    vkind_name(fn->reg_kinds[i]));
		break;
	}
	case FUT_EXT: {
		const struct mod_extern *x;

		if (o->idx >= m->nexterns)
			return BAD(d, "object %u: extern %u out of range", id,
			    o->idx);
		x = &m->externs[o->idx];
		if (o->n_vals != x->nparams || o->ekind != ctype_vkind(x->ret))
			return BAD(d, "object %u: call of %s with %zu arguments "
			    "of result kind %u", id, x->symbol, o->n_vals,
			    o->ekind);
		for (uint32_t i = 0; i < x->nparams; i++)
			if (!val_ok(d, ctype_vkind(x->params[i]), o->vals[i]))
				return BAD(d, "object %u: argument %u of %s has "
				    "the wrong kind", id, i, x->symbol);
		break;
	}
	case FUT_SLEEP:
	case FUT_YIELD:
		if (o->ekind != VK_UNIT)
			return BAD(d, "object %u: sleep/yield future of kind %u",
			    id, o->ekind);
		break;
	case FUT_JOIN:
		if (o->ekind != VK_ARRAY || o->jkind >= VK__COUNT ||
		    (o->child != 0 && (o->child_kind != VK_ARRAY ||
		    !val_ok(d, VK_ARRAY, o->child))))
			return BAD(d, "object %u: bad join_all future", id);
		break;
	case FUT_TIMEOUT:
		if (o->ekind >= VK__COUNT || !val_ok(d, o->ekind, o->fallback) ||
		    (o->child != 0 && ((o->child_kind != VK_FUTURE &&
		    o->child_kind != VK_TASK) ||
		    !val_ok(d, o->child_kind, o->child))))
			return BAD(d, "object %u: bad await_timeout future", id);
		break;
	}
	return SC_OK;
}

static int
check_obj(const struct dec *d, uint32_t id, const Snap__Object *o)
{
	uint64_t nt = d->sj->n_tasks;

	if (o->kind != VK_STRING && o->kind != VK_ARRAY && o->kind != VK_FUTURE)
		return BAD(d, "object %u: kind %u is not string, array or "
		    "future", id, o->kind);
	if (o->kind == VK_STRING && o->konst != 0) {
		if (o->konst > d->m->nconsts ||
		    d->m->consts[o->konst - 1].kind != CONST_STRING)
			return BAD(d, "object %u: constant %u is not a string "
			    "constant of the module", id, o->konst - 1);
		if (o->owner > nt)		/* unused, but in range */
			return BAD(d, "object %u: owner task %u out of range "
			    "(%llu tasks)", id, o->owner,
			    (unsigned long long)nt);
		return SC_OK;
	}
	if (o->owner == 0 || o->owner > nt)
		return BAD(d, "object %u: owner task %u out of range (%llu "
		    "tasks)", id, o->owner, (unsigned long long)nt);
	switch (o->kind) {
	case VK_STRING:
		if (o->str.len >= UINT32_MAX / 2)
			return BAD(d, "object %u: string too long", id);
		return SC_OK;
	case VK_ARRAY:
		if (o->ekind >= VK__COUNT || o->n_vals >= UINT32_MAX / 2)
			return BAD(d, "object %u: array of element kind %u",
			    id, o->ekind);
		for (size_t i = 0; i < o->n_vals; i++)
			if (!val_ok(d, o->ekind, o->vals[i]))
				return BAD(d, "object %u: element %zu is not a "
				    "%s", id, i, vkind_name(o->ekind));
		return SC_OK;
	default:
		return check_fut(d, id, o);
	}
}

/* The frames of a suspended task: each at an await state with exactly its
 * live registers, each calling the next, the innermost awaiting what the
 * task waits on with a register of the kind it delivers. */
static int
check_frames(const struct dec *d, uint32_t id, const Snap__Task *t)
{
	const struct module *m = d->m;
	unsigned op = OP_AWAIT, dk = t->rkind;

	for (size_t n = 0; n < t->n_frames; n++) {
		const Snap__Frame *f = t->frames[n];
		const struct mod_fn *fn;
		const struct mod_state *ms;
		uint32_t ins;

		if (f->fn >= m->nfns || !m->fns[f->fn].is_async)
			return BAD(d, "task %u, frame %zu: function %u is not "
			    "an async function of the module", id, n, f->fn);
		fn = &m->fns[f->fn];
		if (f->state >= fn->nstates)
			return BAD(d, "task %u, frame %zu: %s has no state %u",
			    id, n, fn->name, f->state);
		ms = &fn->states[f->state];
		if (f->n_live != ms->nlive)
			return BAD(d, "task %u, frame %zu: %s state %u has %u "
			    "live registers, not %zu", id, n, fn->name,
			    f->state, ms->nlive, f->n_live);
		for (uint32_t l = 0; l < ms->nlive; l++)
			if (!val_ok(d, fn->reg_kinds[ms->live[l]], f->live[l]))
				return BAD(d, "task %u, frame %zu: register %u "
				    "of %s is not a %s", id, n, ms->live[l],
				    fn->name,
				    vkind_name(fn->reg_kinds[ms->live[l]]));
		if (fn->ret_kind != dk || op != OP_AWAIT)
			return BAD(d, "task %u, frame %zu: %s is not awaited "
			    "by the frame above it", id, n, fn->name);
		ins = fn->code[ms->pc];
		op = INS_OP(ins);
		dk = fn->reg_kinds[INS_A(ins)];
	}
	if ((op == OP_AWAITT) != (t->wait == WAIT_TASK))
		return BAD(d, "task %u: waits on %u at an await of the other "
		    "kind", id, t->wait);
	switch (t->wait) {
	case WAIT_YIELD:
	case WAIT_SLEEP:
		if (dk != VK_UNIT)
			return BAD(d, "task %u: sleep or yield into a %s "
			    "register", id, vkind_name(dk));
		return SC_OK;
	case WAIT_TASK:
		if (t->waiting_on == 0 || t->waiting_on > d->sj->n_tasks)
			return BAD(d, "task %u: awaits task %u, out of range",
			    id, t->waiting_on);
		return SC_OK;
	case WAIT_LEAF: {
		const Snap__Object *o = fut_obj(d, t->fut);

		if (o == NULL || o->ekind != dk ||
		    (o->fut_type == FUT_JOIN && o->child == 0) ||
		    (o->fut_type == FUT_TIMEOUT && (o->child == 0 ||
		    o->child_kind != VK_TASK || !o->has_due)) ||
		    (o->fut_type != FUT_JOIN && o->fut_type != FUT_TIMEOUT &&
		    o->fut_type != FUT_EXT))
			return BAD(d, "task %u: awaits object %u, not a "
			    "started join_all, await_timeout or extern call of "
			    "kind %s", id, t->fut, vkind_name(dk));
		return SC_OK;
	}
	default:
		return BAD(d, "task %u: suspended waiting on %u", id, t->wait);
	}
}

static int
check_task(const struct dec *d, uint32_t id, const Snap__Task *t)
{
	bool root = id == d->sj->root;
	uint32_t flags = d->sj->format >= 2 ? TF_SAVED : TF_CANCEL |
	    TF_INTERNAL;

	if (t->state > TASK_TIMEDOUT || t->state == TASK_RUNNING ||
	    t->rkind >= VK__COUNT || (t->flags & ~flags) != 0)
		return BAD(d, "task %u: bad state %u, kind %u or flags %u", id,
		    t->state, t->rkind, t->flags);
	if (task_state_ended(t->state)) {
		if (root || t->saved != SAVED_NONE || t->n_frames != 0 ||
		    t->fut != 0 || t->waiting_on != 0 || t->wait != WAIT_NONE)
			return BAD(d, "task %u: ended but %s", id, root ?
			    "the root (its job would have ended)" :
			    "still holds a saved state");
		if (t->state == TASK_DONE ? !val_ok(d, t->rkind, t->result) :
		    t->result != 0 || t->error.len > ERROR_TEXT_MAX)
			return BAD(d, "task %u: bad result or error text", id);
		return SC_OK;
	}
	if (root && t->rkind != d->m->fns[d->m->entry].ret_kind)
		return BAD(d, "task %u: the root's result kind is %u, the entry "
		    "returns %u", id, t->rkind,
		    d->m->fns[d->m->entry].ret_kind);
	if (t->saved == SAVED_START) {
		const Snap__Object *o = fut_obj(d, t->fut);

		if (t->n_frames != 0 || t->wait != WAIT_NONE ||
		    (t->fut == 0 && !root) ||
		    (t->fut != 0 && (o == NULL || o->ekind != t->rkind)))
			return BAD(d, "task %u: not started, but without a "
			    "future of its result kind", id);
		return SC_OK;
	}
	if (t->saved != SAVED_SUSP)
		return BAD(d, "task %u: live, but saved as %u", id, t->saved);
	return check_frames(d, id, t);
}

/* Each future is at most one task's start or the leaf it waits in: two
 * sharing one would run it twice, or wait for each other's call. */
static int
futures_unshared(const struct dec *d)
{
	const Snap__Job *sj = d->sj;
	uint32_t *user;
	int r = SC_OK;

	if (sj->n_objects == 0)
		return SC_OK;
	if ((user = calloc(sj->n_objects, sizeof(*user))) == NULL)
		return sc_errorf(d->err, SC_ENOMEM, "out of memory restoring a "
		    "snapshot");
	for (uint32_t i = 0; i < sj->n_tasks && r == SC_OK; i++) {
		const Snap__Task *t = sj->tasks[i];
		uint32_t f = t->fut;		/* in range where used */

		if (f == 0 || f > sj->n_objects || task_state_ended(t->state) ||
		    (t->saved != SAVED_START && t->wait != WAIT_LEAF))
			continue;
		if (user[f - 1] != 0)
			r = BAD(d, "task %u: future %u is task %u's too", i + 1,
			    f, user[f - 1]);
		user[f - 1] = i + 1;
	}
	free(user);
	return r;
}

static int
validate(const struct dec *d)
{
	const Snap__Job *sj = d->sj;
	int r;

	if (sj->format < SNAPSHOT_FORMAT_OLDEST || sj->format > SNAPSHOT_FORMAT)
		return BAD(d, "format %u (this scriptd reads %d to %d)",
		    sj->format, SNAPSHOT_FORMAT_OLDEST, SNAPSHOT_FORMAT);
	if (sj->nfns != d->m->nfns)
		return BAD(d, "made for a module of %u functions, not this one "
		    "(%u)", sj->nfns, d->m->nfns);
	if (sj->n_tasks == 0 || sj->n_tasks >= UINT32_MAX / 2 ||
	    sj->n_objects >= UINT32_MAX / 2 || sj->root == 0 ||
	    sj->root > sj->n_tasks)
		return BAD(d, "root task %u of %zu tasks", sj->root,
		    sj->n_tasks);
	for (size_t i = 0; i < sj->n_objects; i++)
		if ((r = check_obj(d, (uint32_t)i + 1, sj->objects[i])) != SC_OK)
			return r;
	for (size_t i = 0; i < sj->n_tasks; i++)
		if ((r = check_task(d, (uint32_t)i + 1, sj->tasks[i])) != SC_OK)
			return r;
	return futures_unshared(d);
}

/* A value of kind k from x (validated), taking a reference. */
static union value
mkval(const struct dec *d, unsigned k, int64_t x)
{
	union value v;

	switch (k) {
	case VK_FLOAT:
		memcpy(&v.f, &x, sizeof(v.f));
		break;
	case VK_PTR:
		v.i = x != 0 ? x | SNAPSHOT_PTR_STALE : 0;
		break;
	case VK_STRING:
	case VK_ARRAY:
	case VK_FUTURE:
		v.o = x != 0 ? d->ov[x - 1] : NULL;
		if (v.o != NULL)
			v.o->refs++;
		break;
	case VK_TASK:
		v.o = x != 0 ? &d->tv[x - 1]->o : NULL;
		if (v.o != NULL)
			v.o->refs++;
		break;
	default:
		v.i = x;
		break;
	}
	return v;
}

static int
limit_err(const struct dec *d, int r, uint32_t owner)
{
	if (r == SC_ELIMIT)
		return sc_errorf(d->err, r, "snapshot: task %u's memory limit "
		    "(%zu bytes) exceeded restoring it", owner,
		    d->tv[owner - 1]->mem.limit);
	return sc_errorf(d->err, SC_ENOMEM, "out of memory restoring a "
	    "snapshot");
}

/* Make every object (empty shells for now), charged to its owner. */
static int
make_objs(struct dec *d, struct prog *p)
{
	for (size_t i = 0; i < d->sj->n_objects; i++) {
		const Snap__Object *o = d->sj->objects[i];
		struct task *own;
		struct vstr *sv;
		struct varr *av;
		struct vfut *fv;
		int r;

		if (o->kind == VK_STRING && o->konst != 0) {
			d->ov[i] = p->k[o->konst - 1].o;
			d->ov[i]->refs++;
			continue;
		}
		own = d->tv[o->owner - 1];	/* check_obj: in range */
		switch (o->kind) {
		case VK_STRING:
			r = str_new(own, (const char *)o->str.data, o->str.len,
			    &sv);
			d->ov[i] = r == SC_OK ? &sv->h.o : NULL;
			break;
		case VK_ARRAY:
			r = arr_new(own, o->ekind, (uint32_t)o->n_vals, &av);
			if (r == SC_OK) {
				if (o->n_vals > 0)
					memset(av->v, 0, o->n_vals *
					    sizeof(*av->v));
				av->len = (uint32_t)o->n_vals;
				d->ov[i] = &av->h.o;
			}
			break;
		default:
			r = fut_new(own, o->fut_type, o->ekind,
			    (unsigned)o->n_vals, &fv);
			d->ov[i] = r == SC_OK ? &fv->h.o : NULL;
			break;
		}
		if (r != SC_OK)
			return limit_err(d, r, o->owner);
	}
	return SC_OK;
}

/* Fill the objects' contents now that every object and task exists. */
static void
fill_objs(struct dec *d)
{
	const struct module *m = d->m;

	for (size_t i = 0; i < d->sj->n_objects; i++) {
		const Snap__Object *o = d->sj->objects[i];
		struct vfut *f = (struct vfut *)d->ov[i];

		if (o->kind == VK_ARRAY) {
			struct varr *a = (struct varr *)d->ov[i];

			for (uint32_t n = 0; n < a->len; n++)
				a->v[n] = mkval(d, o->ekind, o->vals[n]);
			continue;
		}
		if (o->kind != VK_FUTURE)
			continue;
		f->state = (uint8_t)o->fut_state;
		f->flags = (uint8_t)o->fut_flags;
		f->jkind = (uint8_t)o->jkind;
		f->idx = o->idx;
		switch (o->fut_type) {
		case FUT_FN:
			f->akinds = m->fns[o->idx].reg_kinds;
			for (uint32_t n = 0; n < f->nargs; n++)
				f->args[n] = mkval(d, f->akinds[n], o->vals[n]);
			break;
		case FUT_EXT:
			f->akinds = m->externs[o->idx].params;
			f->flags |= FUTF_CTYPES;
			for (uint32_t n = 0; n < f->nargs; n++)
				f->args[n] = mkval(d, ctype_vkind(f->akinds[n]),
				    o->vals[n]);
			break;
		case FUT_SLEEP:
			f->ms = o->ms;
			break;
		case FUT_JOIN:
			f->idx = 0;	/* a restored join looks at all again */
			f->child = mkval(d, VK_ARRAY, o->child).o;
			break;
		case FUT_TIMEOUT:
			f->ms = o->has_due ? sat_sub(o->due_ms, d->delta) : o->ms;
			f->fallback = mkval(d, o->ekind, o->fallback);
			f->child = mkval(d, o->child_kind, o->child).o;
			break;
		default:
			break;
		}
	}
}

/* Give task struct t the suspended state of st. */
static int
fill_susp(struct dec *d, uint32_t id, struct task *t, const Snap__Task *st)
{
	const struct module *m = d->m;
	uint32_t nf = (uint32_t)st->n_frames, nv = 0, v = 0;
	uint32_t *fns = NULL, *states = NULL;
	union value *vals = NULL;
	int r = SC_OK;

	for (uint32_t n = 0; n < nf; n++)
		nv += (uint32_t)st->frames[n]->n_live;
	if (nf > 0 && ((fns = malloc(nf * sizeof(*fns))) == NULL ||
	    (states = malloc(nf * sizeof(*states))) == NULL ||
	    (vals = malloc((nv ? nv : 1) * sizeof(*vals))) == NULL)) {
		r = sc_errorf(d->err, SC_ENOMEM, "out of memory restoring a "
		    "snapshot");
		goto out;
	}
	for (uint32_t n = 0; n < nf; n++) {
		const Snap__Frame *f = st->frames[n];
		const struct mod_fn *fn = &m->fns[f->fn];
		const struct mod_state *ms = &fn->states[f->state];

		fns[n] = f->fn;
		states[n] = f->state;
		for (uint32_t l = 0; l < ms->nlive; l++)
			vals[v++] = mkval(d, fn->reg_kinds[ms->live[l]],
			    f->live[l]);
	}
	if ((r = vm_susp_restore(t, nf, fns, states, vals, nv)) != SC_OK) {
		v = 0;
		for (uint32_t n = 0; n < nf; n++) {
			const struct mod_fn *fn = &m->fns[fns[n]];
			const struct mod_state *ms = &fn->states[states[n]];

			for (uint32_t l = 0; l < ms->nlive; l++)
				val_release(fn->reg_kinds[ms->live[l]],
				    vals[v++]);
		}
		r = limit_err(d, r, id);
		goto out;
	}
	t->wait = (uint8_t)st->wait;
	if (st->wait == WAIT_TASK)
		t->waiting_on = (struct task *)mkval(d, VK_TASK,
		    st->waiting_on).o;
	else if (st->wait == WAIT_LEAF)
		t->fut = (struct vfut *)mkval(d, VK_FUTURE, st->fut).o;
out:
	free(fns);
	free(states);
	free(vals);
	return r;
}

static int
fill_task(struct dec *d, uint32_t id, struct task *t, const Snap__Task *st)
{
	char *msg;

	t->flags = (uint8_t)st->flags;
	if (st->state == TASK_DONE) {
		union value res = mkval(d, st->rkind, st->result);

		sched_kill(d->s, t, TASK_DONE, "");
		free(t->error);
		t->error = NULL;
		t->result = res;
		return SC_OK;
	}
	if (task_state_ended(st->state)) {
		if ((msg = malloc(st->error.len + 1)) != NULL) {
			if (st->error.len > 0)	/* else data may be NULL */
				memcpy(msg, st->error.data, st->error.len);
			msg[st->error.len] = '\0';
		}
		sched_kill(d->s, t, st->state, msg != NULL ? msg :
		    "out of memory");
		free(msg);
		return SC_OK;
	}
	if (st->saved == SAVED_START) {
		t->saved_kind = SAVED_START;
		t->fut = (struct vfut *)mkval(d, VK_FUTURE, st->fut).o;
		return SC_OK;
	}
	return fill_susp(d, id, t, st);
}

/* Sleepers are armed in (due, original arming order), so timers due at
 * the same ms still fire in the order they did; ready tasks are queued in
 * their old order. qsort takes no argument: the daemon is single-threaded,
 * so a file-static table is enough. */
static Snap__Task *const *sort_tasks;

static int
by_due(const void *a, const void *b)
{
	const Snap__Task *x = sort_tasks[*(const uint32_t *)a];
	const Snap__Task *y = sort_tasks[*(const uint32_t *)b];

	if (x->due_ms != y->due_ms)
		return x->due_ms < y->due_ms ? -1 : 1;
	if (x->timer_seq != y->timer_seq)
		return x->timer_seq < y->timer_seq ? -1 : 1;
	return 0;
}

static int
by_pos(const void *a, const void *b)
{
	const Snap__Task *x = sort_tasks[*(const uint32_t *)a];
	const Snap__Task *y = sort_tasks[*(const uint32_t *)b];

	return (x->ready_pos > y->ready_pos) - (x->ready_pos < y->ready_pos);
}

enum { LINK_SLEEP, LINK_QUEUED, LINK_WAKE };	/* how a task is linked */

static int
link_kind(const Snap__Task *st)
{
	if (st->ready_pos > 0)
		return LINK_QUEUED;
	if (st->saved == SAVED_SUSP && st->wait == WAIT_SLEEP)
		return LINK_SLEEP;
	return LINK_WAKE;
}

/*
 * Queue the live tasks: sleepers on their timers, then the tasks that were
 * in the run queue in their order, then the rest, which look again at what
 * they waited on (harmless if it is not ready: they wait again).
 */
static int
link_tasks(struct dec *d)
{
	const Snap__Job *sj = d->sj;
	uint32_t *order, n;
	int r = SC_OK;

	if ((order = malloc(sj->n_tasks * sizeof(*order))) == NULL)
		return sc_errorf(d->err, SC_ENOMEM, "out of memory restoring a "
		    "snapshot");
	sort_tasks = sj->tasks;
	for (int kind = LINK_SLEEP; kind <= LINK_WAKE && r == SC_OK; kind++) {
		n = 0;
		for (uint32_t i = 0; i < sj->n_tasks; i++)
			if (!task_state_ended(sj->tasks[i]->state) &&
			    link_kind(sj->tasks[i]) == kind)
				order[n++] = i;
		if (kind != LINK_WAKE)
			qsort(order, n, sizeof(*order), kind == LINK_SLEEP ?
			    by_due : by_pos);
		for (uint32_t i = 0; i < n && r == SC_OK; i++) {
			const Snap__Task *st = sj->tasks[order[i]];

			if (kind != LINK_SLEEP)
				sched_ready(d->s, d->tv[order[i]]);
			else if (sched_sleep_until(d->s, d->tv[order[i]],
			    sat_sub(st->due_ms, d->delta)) != SC_OK)
				r = sc_errorf(d->err, SC_ENOMEM, "out of "
				    "memory restoring a snapshot");
		}
	}
	free(order);
	return r;
}

/*
 * Restore: check everything, then build the job with sched_submit() (whose
 * root task struct becomes the snapshot's root) and sched_task_new(),
 * objects charged to their owners, values with their references counted.
 * Each task and object holds one extra "building" reference until the end,
 * so nothing is freed half-made; on failure the job is cancelled (hooks
 * not yet installed) and swept. At the end the building references go,
 * freeing whatever nothing refers to.
 */
int
snapshot_decode(struct sched *s, struct prog *p, uint32_t tenant,
    const struct job_hooks *hooks, const uint8_t *buf, size_t len,
    int64_t clock_delta, struct job **jp, int64_t *deadline_ms,
    struct sc_error *err)
{
	struct dec d = { .m = p->m, .s = s, .delta = clock_delta, .err = err };
	const struct vm_limits *lim = sched_limits(s);
	struct budget_alloc ba = { 0 };
	ProtobufCAllocator pa = { balloc, bfree, &ba };
	Snap__Job *sj;
	struct job *j = NULL;
	uint32_t nlive = 0, nt, no = 0;
	int r;

	*jp = NULL;
	*deadline_ms = 0;
	if (len > SNAPSHOT_BYTES_MAX)
		return sc_errorf(err, SC_ELIMIT, "snapshot of %zu bytes is over "
		    "the limit (%u bytes)", len, SNAPSHOT_BYTES_MAX);
	if ((sj = snap__job__unpack(&pa, len, buf)) == NULL) {
		if (ba.over)
			return sc_errorf(err, SC_ELIMIT, "snapshot: decoding "
			    "its %zu bytes needs more than %u bytes of memory",
			    len, SNAPSHOT_DECODE_MEM_MAX);
		return sc_errorf(err, SC_ESTORE, "snapshot: not a valid "
		    "snapshot message (%zu bytes)", len);
	}
	d.sj = sj;
	if ((r = validate(&d)) != SC_OK)
		goto out;
	nt = (uint32_t)sj->n_tasks;
	for (uint32_t i = 0; i < nt; i++)
		nlive += !task_state_ended(sj->tasks[i]->state);
	if (nlive > lim->live_tasks - sched_live_tasks(s) ||
	    sched_live_tasks(s) > lim->live_tasks) {
		r = sc_errorf(err, SC_ELIMIT, "live task limit (%u) reached "
		    "restoring %u tasks", lim->live_tasks, nlive);
		goto out;
	}
	if ((d.tv = calloc(nt, sizeof(*d.tv))) == NULL ||
	    (d.ov = calloc(sj->n_objects + 1, sizeof(*d.ov))) == NULL) {
		r = sc_errorf(err, SC_ENOMEM, "out of memory restoring a "
		    "snapshot");
		goto out;
	}
	if ((r = sched_submit(s, p, tenant, NULL, &j, err)) != SC_OK)
		goto out;
	sched_unready(s, j->root);
	j->root->saved_kind = SAVED_NONE;
	for (uint32_t i = 0; i < nt; i++) {
		struct task *t = i + 1 == sj->root ? j->root :
		    sched_task_new(s, j, sj->tasks[i]->rkind);

		if (t == NULL) {
			r = sc_errorf(err, SC_ENOMEM, "out of memory restoring "
			    "a snapshot");
			goto fail;
		}
		t->o.refs++;		/* building */
		d.tv[i] = t;
	}
	r = make_objs(&d, p);
	for (no = 0; no < sj->n_objects && d.ov[no] != NULL; no++)
		;
	if (r != SC_OK)
		goto fail;
	fill_objs(&d);
	for (uint32_t i = 0; i < nt; i++)
		if ((r = fill_task(&d, i + 1, d.tv[i], sj->tasks[i])) != SC_OK)
			goto fail;
	if ((r = link_tasks(&d)) != SC_OK)
		goto fail;
	/* hooks first: a failed task nothing refers to any more is reported
	 * as it goes (report_unseen) */
	if (hooks != NULL)
		j->hooks = *hooks;
	for (uint32_t i = 0; i < no; i++)
		obj_unref(d.ov[i]);
	for (uint32_t i = 0; i < nt; i++)
		obj_unref(&d.tv[i]->o);
	*jp = j;
	*deadline_ms = sj->deadline_ms;
	goto out;
fail:
	/* the building references keep every struct alive until the sweep,
	 * which frees the job's tasks and objects whatever their counts */
	sched_cancel_job(s, j);
out:
	free(d.tv);
	free(d.ov);
	snap__job__free_unpacked(sj, &pa);
	return r;
}
