/*
 * Values and heap objects of the runtime. A register is an untagged 8-byte
 * slot; its kind comes from the function's register table. Reference kinds
 * point at counted objects that start with struct obj. Strings, arrays and
 * futures are "heap objects" (struct hobj): charged to the task that
 * allocated them and linked on their job's object list, so that cycles
 * (which counting cannot free) are freed when the job ends.
 *
 * Charging: an object is charged to its allocating task (owner) for its
 * whole life, even after being shared with other tasks of the job; it holds
 * a reference on the owner so the budget it credits on free stays valid.
 * Module constants (OBJ_CONST) are uncharged, on no list and never freed by
 * counting; their module frees them.
 */
#ifndef SC_VALUE_H
#define SC_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "op.h"

struct task;

union value {
	int64_t i;			/* int, bool (0/1), unit (0), ptr id */
	double f;			/* float */
	struct obj *o;			/* reference kinds; NULL when empty */
};

enum { OBJ_CONST = 1 };			/* struct obj flags */

#define OBJ_CONST_REFS	0x80000000u	/* never reaches 0 by counting */

struct obj {
	uint32_t refs;			/* references; the last one frees */
	uint8_t kind;			/* VK_STRING, VK_ARRAY, VK_FUTURE, VK_TASK */
	uint8_t ekind;			/* array: element kind; future: result */
	uint8_t sub;			/* future: enum fut_type */
	uint8_t flags;			/* OBJ_CONST */
};

struct hobj {
	struct obj o;			/* header */
	uint32_t size;			/* bytes charged to the owner */
	struct task *owner;		/* charged task (a reference); NULL const */
	struct hobj *next;		/* job's object list; free worklist */
	struct hobj *prev;		/* job's object list */
};

struct vstr {
	struct hobj h;			/* header */
	uint32_t len;			/* bytes, without the NUL */
	char s[];			/* UTF-8, NUL-terminated */
};

struct varr {
	struct hobj h;			/* header; o.ekind is the element kind */
	uint32_t len;			/* elements */
	uint32_t cap;			/* room in v */
	union value *v;			/* elements (charged with the array) */
};

enum fut_type {
	FUT_FN,				/* async Script function: idx, args */
	FUT_SLEEP,			/* ms */
	FUT_YIELD,			/* nothing */
	FUT_JOIN,			/* child: array of tasks; idx: cursor */
	FUT_TIMEOUT,			/* child, ms, fallback */
	FUT_EXT,			/* extern idx, args */
};

enum fut_state {
	FUT_FRESH,			/* not awaited or spawned yet */
	FUT_USED,			/* consumed by await or spawn */
	FUT_STARTED,			/* timeout/join being awaited */
};

enum {					/* struct vfut flags */
	FUTF_CTYPES = 1,		/* akinds are enum ctype (extern) */
	FUTF_FAILSEEN = 2,		/* join: a task of the job failed */
	FUTF_CALLING = 4,		/* extern: the call is in a worker */
	FUTF_DONE = 8,			/* extern: result in fallback */
	FUTF_FAILED = 16,		/* extern: error text in child (or NULL) */
};

struct vfut {
	struct hobj h;			/* header; o.sub type, o.ekind result */
	uint8_t state;			/* enum fut_state */
	uint8_t flags;			/* FUTF_* */
	uint8_t jkind;			/* join: element kind of the result */
	uint8_t nargs;			/* args (a function has <= 256 regs) */
	uint32_t idx;			/* function/extern index; join cursor */
	struct obj *child;		/* join: array; timeout: future or task;
					 * failed extern: its error string */
	union {
		struct {
			int64_t ms;	/* sleep/timeout ms; timeout: due time */
			union value fallback;	/* timeout; extern: result */
			const uint8_t *akinds;	/* fn/extern: arg kinds */
		};
		struct {		/* join, while its task is suspended */
			struct vfut *jnext;	/* job's suspended joins */
			struct vfut **jpprev;	/* link to us; NULL: unlinked */
			struct task *joiner;	/* the task awaiting it */
		};
	};
	union value args[];		/* moved-in arguments */
};

static inline void
obj_ref(struct obj *o)
{
	o->refs++;
}

void obj_free(struct obj *o);
/* Inside obj_free's walk: drop a reference, queueing o on *work if last. */
void obj_drop(struct obj *o, struct obj **work);

/* Drop one reference; the last frees (iteratively, never recursing). */
static inline void
obj_unref(struct obj *o)
{
	if (o != NULL && --o->refs == 0)
		obj_free(o);
}

/* Release a value of kind k (no-op for scalar kinds). */
static inline void
val_release(unsigned k, union value v)
{
	if (vkind_is_ref(k))
		obj_unref(v.o);
}

/* Take one more reference to a value of kind k. */
static inline void
val_ref(unsigned k, union value v)
{
	if (vkind_is_ref(k) && v.o != NULL)
		v.o->refs++;
}

/*
 * Allocation, charged to task t and linked on t's job. Each returns SC_OK
 * with *out holding one reference, or SC_ELIMIT (t's budget) / SC_ENOMEM.
 */
int str_new(struct task *t, const char *s, size_t len, struct vstr **out)
    SC_MUST_CHECK;
int str_concat(struct task *t, const struct vstr *a, const struct vstr *b,
    struct vstr **out) SC_MUST_CHECK;
int arr_new(struct task *t, unsigned ekind, uint32_t cap, struct varr **out)
    SC_MUST_CHECK;
/* Append v (ownership moves into the array). */
int arr_push(struct task *t, struct varr *a, union value v) SC_MUST_CHECK;
int fut_new(struct task *t, unsigned type, unsigned ekind, unsigned nargs,
    struct vfut **out) SC_MUST_CHECK;
/* A module constant string (uncharged, OBJ_CONST); NULL on ENOMEM. */
struct vstr *str_const(const char *s, size_t len);
void str_const_free(struct vstr *s);
/* Free an object at job end without following its references. */
void obj_sweep(struct obj *o);
/* Unlink h from its job's object list. */
void hobj_unlink(struct hobj *h);

/* A growable, uncharged text buffer capped at max bytes. */
struct sbuf {
	char *p;			/* text, NUL-terminated when len > 0 */
	size_t len;			/* bytes */
	size_t cap;			/* room */
	size_t max;			/* cap on len */
	int err;			/* sticky: SC_ENOMEM or SC_ELIMIT */
};

void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_addf(struct sbuf *b, const char *fmt, ...) SC_PRINTF(2, 3);
void sbuf_free(struct sbuf *b);

#define FLOAT_FMT_MAX	400		/* longest formatted double + NUL */

/* Format a double as LANGUAGE.md prints it; returns the length. */
size_t value_fmt_float(double d, char buf[FLOAT_FMT_MAX]);
/* Append a value of kind k as print shows it (arrays recursively). */
void value_format(struct sbuf *b, unsigned k, union value v);
/* Strict parses for `as int` / `as float`: false on bad text or range. */
bool value_parse_int(const char *s, size_t len, int64_t *out);
bool value_parse_float(const char *s, size_t len, double *out);

#endif
