/*
 * Heap objects (strings, arrays, futures), their charged allocation and
 * iterative freeing, and how values print (LANGUAGE.md, "Printing").
 * Freeing never recurses: obj_free() runs a worklist threaded through the
 * objects themselves, so a 100,000-deep nest of arrays frees in constant
 * C stack.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"
#include "vm.h"

/* Link storage of an object on a free worklist. */
static struct obj **
link_of(struct obj *o)
{
	if (o->kind == VK_TASK)
		return (struct obj **)&((struct task *)o)->qnext;
	return (struct obj **)&((struct hobj *)o)->next;
}

/* Put o (no references left) on the worklist; heap objects leave their
 * job's list first, since the worklist reuses that link. */
static void
push_work(struct obj *o, struct obj **work)
{
	if (o->kind != VK_TASK)
		hobj_unlink((struct hobj *)o);
	*link_of(o) = *work;
	*work = o;
}

/* Drop one reference to o; push it on *work if that was the last. */
void
obj_drop(struct obj *o, struct obj **work)
{
	if (o != NULL && --o->refs == 0)
		push_work(o, work);
}

#define drop	obj_drop

static void
drop_val(unsigned k, union value v, struct obj **work)
{
	if (vkind_is_ref(k))
		drop(v.o, work);
}

void
hobj_unlink(struct hobj *h)
{
	struct job *j;

	if (h->owner == NULL)
		return;
	j = h->owner->job;
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		j->objs = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	h->next = h->prev = NULL;
}

/* Allocate a heap object of `size` bytes charged to t, on t's job list. */
static int
hobj_alloc(struct task *t, unsigned kind, size_t size, void **out)
{
	struct hobj *h;

	*out = NULL;
	if (size > UINT32_MAX)
		return SC_ELIMIT;
	if ((h = mem_alloc(&t->mem, NULL, 0, size)) == NULL)
		return mem_fail_code(&t->mem, size);
	memset(h, 0, sizeof(*h));
	h->o.refs = 1;
	h->o.kind = (uint8_t)kind;
	h->size = (uint32_t)size;
	h->owner = t;
	t->o.refs++;
	h->next = t->job->objs;
	if (h->next != NULL)
		h->next->prev = h;
	t->job->objs = h;
	*out = h;
	return SC_OK;
}

int
str_new(struct task *t, const char *s, size_t len, struct vstr **out)
{
	struct vstr *v;
	int r;

	*out = NULL;
	if (len >= UINT32_MAX - sizeof(*v) - 1)
		return mem_fail_code(&t->mem, len) == SC_ELIMIT ? SC_ELIMIT :
		    SC_ENOMEM;
	if ((r = hobj_alloc(t, VK_STRING, sizeof(*v) + len + 1,
	    (void **)&v)) != SC_OK)
		return r;
	v->len = (uint32_t)len;
	if (len > 0)
		memcpy(v->s, s, len);
	v->s[len] = '\0';
	*out = v;
	return SC_OK;
}

int
str_concat(struct task *t, const struct vstr *a, const struct vstr *b,
    struct vstr **out)
{
	size_t len = (size_t)a->len + b->len;
	struct vstr *v;
	int r;

	*out = NULL;
	if (len >= UINT32_MAX - sizeof(*v) - 1)
		return SC_ELIMIT;
	if ((r = hobj_alloc(t, VK_STRING, sizeof(*v) + len + 1,
	    (void **)&v)) != SC_OK)
		return r;
	v->len = (uint32_t)len;
	memcpy(v->s, a->s, a->len);
	memcpy(v->s + a->len, b->s, b->len);
	v->s[len] = '\0';
	*out = v;
	return SC_OK;
}

struct vstr *
str_const(const char *s, size_t len)
{
	struct vstr *v;

	if (len >= UINT32_MAX - sizeof(*v) - 1 ||
	    (v = calloc(1, sizeof(*v) + len + 1)) == NULL)
		return NULL;
	v->h.o.refs = OBJ_CONST_REFS;
	v->h.o.kind = VK_STRING;
	v->h.o.flags = OBJ_CONST;
	v->len = (uint32_t)len;
	memcpy(v->s, s, len);
	v->s[len] = '\0';
	return v;
}

void
str_const_free(struct vstr *s)
{
	free(s);
}

int
arr_new(struct task *t, unsigned ekind, uint32_t cap, struct varr **out)
{
	struct varr *a;
	int r;

	if ((r = hobj_alloc(t, VK_ARRAY, sizeof(*a), (void **)&a)) != SC_OK) {
		*out = NULL;
		return r;
	}
	a->h.o.ekind = (uint8_t)ekind;
	a->len = a->cap = 0;
	a->v = NULL;
	if (cap > 0) {
		size_t n = (size_t)cap * sizeof(union value);

		if ((a->v = mem_alloc(&t->mem, NULL, 0, n)) == NULL) {
			r = mem_fail_code(&t->mem, n);
			obj_unref(&a->h.o);
			*out = NULL;
			return r;
		}
		a->cap = cap;
	}
	*out = a;
	return SC_OK;
}

/*
 * Grow by doubling. The element buffer is charged to the array's owner,
 * which may be another task of the job than t (arrays are shared); t is
 * charged for nothing here and is only used to tell which limit tripped.
 */
int
arr_push(struct task *t, struct varr *a, union value v)
{
	if (a->len == a->cap) {
		struct task *own = a->h.owner;
		uint32_t ncap = a->cap < 4 ? 4 : a->cap * 2;
		size_t osz = (size_t)a->cap * sizeof(v);
		size_t nsz;
		union value *nv;

		if (a->cap > UINT32_MAX / 2)
			return SC_ELIMIT;
		nsz = (size_t)ncap * sizeof(v);
		if ((nv = mem_alloc(&own->mem, a->v, osz, nsz)) == NULL)
			return mem_fail_code(&own->mem, nsz - osz);
		a->v = nv;
		a->cap = ncap;
	}
	a->v[a->len++] = v;
	return SC_OK;
}

int
fut_new(struct task *t, unsigned type, unsigned ekind, unsigned nargs,
    struct vfut **out)
{
	struct vfut *f;
	int r;

	if ((r = hobj_alloc(t, VK_FUTURE, sizeof(*f) +
	    (size_t)nargs * sizeof(union value), (void **)&f)) != SC_OK) {
		*out = NULL;
		return r;
	}
	f->h.o.sub = (uint8_t)type;
	f->h.o.ekind = (uint8_t)ekind;
	f->state = FUT_FRESH;
	f->flags = 0;
	f->jkind = 0;
	f->nargs = (uint8_t)nargs;
	f->idx = 0;
	f->child = NULL;
	f->ms = 0;
	f->fallback.i = 0;
	f->akinds = NULL;
	memset(f->args, 0, (size_t)nargs * sizeof(union value));
	*out = f;
	return SC_OK;
}

/* Release what a heap object references, then the object itself. */
static void
free_hobj(struct hobj *h, struct obj **work)
{
	struct task *own = h->owner;

	if (h->o.kind == VK_ARRAY) {
		struct varr *a = (struct varr *)h;

		if (vkind_is_ref(a->h.o.ekind))
			for (uint32_t i = 0; i < a->len; i++)
				drop(a->v[i].o, work);
		mem_alloc(&own->mem, a->v, (size_t)a->cap * sizeof(*a->v), 0);
	} else if (h->o.kind == VK_FUTURE) {
		struct vfut *f = (struct vfut *)h;

		for (uint32_t i = 0; i < f->nargs; i++) {
			unsigned k = f->akinds[i];

			drop_val(f->flags & FUTF_CTYPES ? ctype_vkind(k) : k,
			    f->args[i], work);
		}
		drop(f->child, work);
		if (f->h.o.sub == FUT_TIMEOUT || (f->flags & FUTF_DONE))
			drop_val(f->h.o.ekind, f->fallback, work);
	}
	mem_alloc(&own->mem, h, h->size, 0);
	drop(&own->o, work);
}

void
obj_free(struct obj *o)
{
	struct obj *work = NULL;

	if (SC_NEVER(o->flags & OBJ_CONST))
		return;
	push_work(o, &work);
	while (work != NULL) {
		struct obj *x = work;

		work = *link_of(x);
		if (x->kind == VK_TASK)
			task_destroy((struct task *)x, &work);
		else
			free_hobj((struct hobj *)x, &work);
	}
}

void
obj_sweep(struct obj *o)
{
	if (o->kind == VK_ARRAY)
		free(((struct varr *)o)->v);
	free(o);
}

/* Text buffers */

static void
sbuf_grow(struct sbuf *b, size_t n)
{
	size_t ncap;
	char *p;

	if (b->err != 0)
		return;
	if (n > b->max || b->len > b->max - n) {
		b->err = SC_ELIMIT;
		return;
	}
	if (b->len + n + 1 <= b->cap)
		return;
	ncap = b->cap < 64 ? 64 : b->cap;
	while (ncap < b->len + n + 1)
		ncap *= 2;
	if ((p = mem_alloc(NULL, b->p, b->cap, ncap)) == NULL) {
		b->err = SC_ENOMEM;
		return;
	}
	b->p = p;
	b->cap = ncap;
}

void
sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	sbuf_grow(b, n);
	if (b->err != 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
sbuf_addf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	sbuf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n :
	    sizeof(tmp) - 1);
}

void
sbuf_free(struct sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/*
 * Shortest digits that read back to d (try 1..17 significant digits with
 * %e and strtod), then placed without an exponent: 1.5e3 -> "1500",
 * 1e-7 -> "0.0000001", 15.0 -> "15".
 */
size_t
value_fmt_float(double d, char buf[FLOAT_FMT_MAX])
{
	char e[48], digits[24];
	size_t nd = 0, n = 0;
	int exp10, p;
	char *s;

	if (isnan(d))
		return (size_t)snprintf(buf, FLOAT_FMT_MAX, "NaN");
	if (isinf(d))
		return (size_t)snprintf(buf, FLOAT_FMT_MAX, d < 0 ? "-inf" :
		    "inf");
	if (d == 0)
		return (size_t)snprintf(buf, FLOAT_FMT_MAX, signbit(d) ?
		    "-0" : "0");
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, d);
		if (strtod(e, NULL) == d)
			break;
	}
	s = e;
	if (*s == '-')
		buf[n++] = *s++;
	for (; *s != 'e'; s++)
		if (*s != '.')
			digits[nd++] = *s;
	exp10 = atoi(s + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	p = exp10 + 1;			/* digits before the point */
	if (p <= 0) {
		buf[n++] = '0';
		buf[n++] = '.';
		for (int z = 0; z < -p; z++)
			buf[n++] = '0';
		memcpy(buf + n, digits, nd);
		n += nd;
	} else if ((size_t)p >= nd) {
		memcpy(buf + n, digits, nd);
		n += nd;
		for (size_t z = nd; z < (size_t)p; z++)
			buf[n++] = '0';
	} else {
		memcpy(buf + n, digits, (size_t)p);
		n += (size_t)p;
		buf[n++] = '.';
		memcpy(buf + n, digits + p, nd - (size_t)p);
		n += nd - (size_t)p;
	}
	buf[n] = '\0';
	return n;
}

#define FORMAT_DEPTH_MAX	64	/* nested arrays deeper print [...] */

static void
format(struct sbuf *b, unsigned k, union value v, int depth)
{
	char tmp[FLOAT_FMT_MAX];

	switch (k) {
	case VK_UNIT:
		sbuf_add(b, "()", 2);
		break;
	case VK_INT:
		sbuf_addf(b, "%lld", (long long)v.i);
		break;
	case VK_FLOAT:
		sbuf_add(b, tmp, value_fmt_float(v.f, tmp));
		break;
	case VK_BOOL:
		if (v.i)
			sbuf_add(b, "true", 4);
		else
			sbuf_add(b, "false", 5);
		break;
	case VK_STRING:
		if (v.o != NULL)
			sbuf_add(b, ((struct vstr *)v.o)->s,
			    ((struct vstr *)v.o)->len);
		break;
	case VK_ARRAY: {
		const struct varr *a = (const struct varr *)v.o;

		if (a == NULL || depth >= FORMAT_DEPTH_MAX) {
			sbuf_add(b, "[...]", 5);
			break;
		}
		sbuf_add(b, "[", 1);
		for (uint32_t i = 0; i < a->len && b->err == 0; i++) {
			if (i > 0)
				sbuf_add(b, ", ", 2);
			format(b, a->h.o.ekind, a->v[i], depth + 1);
		}
		sbuf_add(b, "]", 1);
		break;
	}
	case VK_FUTURE:
		sbuf_add(b, "<future>", 8);
		break;
	case VK_TASK:
		sbuf_add(b, "<task>", 6);
		break;
	case VK_PTR:
		sbuf_add(b, "<ptr>", 5);
		break;
	default:
		sbuf_add(b, "?", 1);
		break;
	}
}

void
value_format(struct sbuf *b, unsigned k, union value v)
{
	format(b, k, v, 0);
}

static bool
all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool
value_parse_int(const char *s, size_t len, int64_t *out)
{
	bool neg = false;
	int64_t v = 0;
	size_t i = 0;

	if (len > 0 && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (!all_digits(s + i, len - i))
		return false;
	for (; i < len; i++) {
		int d = s[i] - '0';

		if (__builtin_mul_overflow(v, 10, &v) ||
		    (neg ? __builtin_sub_overflow(v, d, &v) :
		    __builtin_add_overflow(v, d, &v)))
			return false;
	}
	*out = v;
	return true;
}

/* [+-]? digits ('.' digits)? ([eE] [+-]? digits)?, or NaN / inf / -inf */
bool
value_parse_float(const char *s, size_t len, double *out)
{
	size_t i = 0, j;
	char tmp[512];

	if ((len == 3 && memcmp(s, "NaN", 3) == 0)) {
		*out = NAN;
		return true;
	}
	if (len > 0 && (s[0] == '-' || s[0] == '+'))
		i = 1;
	if (len - i == 3 && memcmp(s + i, "inf", 3) == 0) {
		*out = s[0] == '-' ? -INFINITY : INFINITY;
		return true;
	}
	for (j = i; j < len && s[j] >= '0' && s[j] <= '9'; j++)
		;
	if (j == i)
		return false;
	if (j < len && s[j] == '.') {
		size_t k = ++j;

		for (; j < len && s[j] >= '0' && s[j] <= '9'; j++)
			;
		if (j == k)
			return false;
	}
	if (j < len && (s[j] == 'e' || s[j] == 'E')) {
		size_t k;

		if (++j < len && (s[j] == '-' || s[j] == '+'))
			j++;
		for (k = j; j < len && s[j] >= '0' && s[j] <= '9'; j++)
			;
		if (j == k)
			return false;
	}
	if (j != len || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	*out = strtod(tmp, NULL);
	return true;
}
