/*
 * The configuration reader. One table lists every key with its section,
 * kind, field, range and default; cfg_defaults(), the parser, cfg_equal()
 * and the documentation test all walk it, so a key cannot be half added.
 * The file is parsed into a scratch struct cfg that is copied out only when
 * every line and cross-check passed.
 */
#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "file.h"
#include "verify.h"

static_assert(CFG_ALLOW_PARAMS_MAX == VERIFY_EXTERN_PARAMS_MAX,
    "an allow line must be able to name any verifiable extern");
static_assert(CFG_NAME_MAX > NAME_MAX_BYTES, "library and symbol names");

#define KIB		((uint64_t)1024)
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)
#define SEC		((uint64_t)1000)
#define MINUTE		(60 * SEC)
#define HOUR		(60 * MINUTE)
#define DAY		(24 * HOUR)
#define UID_MAX_OK	((uint64_t)4294967294)	/* (uid_t)-1 means "no uid" */
#define ECHO_MAX	60		/* value bytes quoted in messages */

enum kind {
	K_COUNT,			/* decimal integer */
	K_SIZE,				/* bytes, optional K/M/G suffix */
	K_DUR,				/* needs ms/s/m/h/d; stored as ms */
	K_SECS,				/* K_DUR, in whole seconds */
	K_BOOL,				/* true/false, yes/no, on/off, 1/0 */
	K_MODE,				/* octal permission bits */
	K_ENUM,				/* one of names[] */
	K_PATH,				/* non-empty, shorter than the field */
	K_USER,				/* user name or numeric uid */
	K_UIDS,				/* list of uids (may be empty) */
	K_ALLOW,			/* repeatable ffi allow line */
};

struct key {
	const char *sect;		/* section name */
	const char *name;		/* key name */
	uint8_t kind;			/* enum kind */
	uint8_t width;			/* bytes of a numeric field (1, 4, 8) */
	size_t off;			/* offsetof(struct cfg, field) */
	size_t size;			/* bytes of a string field */
	uint64_t min;			/* range of a number, inclusive */
	uint64_t max;
	uint64_t def;			/* default (enum: index into names) */
	const char *sdef;		/* default of a string */
	const char *const *names;	/* K_ENUM spellings, NULL-terminated */
};

static const char *const sections[] = {
	"daemon", "limits", "tenant", "store", "ffi", NULL
};
static const char *const log_names[] = {
	"error", "warn", "info", "debug", NULL
};
static const char *const sync_names[] = {
	"off", "normal", "full", "extra", NULL
};

#define FIELD(f)	offsetof(struct cfg, f), sizeof(((struct cfg *)0)->f)
#define NUM(s, n, k, f, lo, hi, d) \
	{ s, n, k, sizeof(((struct cfg *)0)->f), FIELD(f), lo, hi, d, NULL, \
	    NULL }
#define STR(s, n, k, f, d) \
	{ s, n, k, 0, FIELD(f), 0, 0, 0, d, NULL }
#define ENUM(s, n, f, names, d) \
	{ s, n, K_ENUM, sizeof(int), FIELD(f), 0, 0, d, NULL, names }

/*
 * Every key. The defaults of DESIGN.md's Limits table are fixed there; the
 * others are ours, and docs/configuration.md explains each choice.
 */
static const struct key keys[] = {
	STR("daemon", "socket", K_PATH, daemon.socket,
	    "/run/scriptd/scriptd.sock"),
	STR("daemon", "db", K_PATH, daemon.db, "/var/lib/scriptd/scriptd.db"),
	STR("daemon", "admin_uids", K_UIDS, daemon.admin_uids, ""),
	NUM("daemon", "socket_mode", K_MODE, daemon.socket_mode, 0, 0777,
	    0660),
	ENUM("daemon", "log_level", daemon.log_level, log_names, CFG_LOG_INFO),
	NUM("daemon", "log_timestamps", K_BOOL, daemon.log_timestamps, 0, 1,
	    1),

	NUM("limits", "max_tasks", K_COUNT, limits.max_tasks, 1, 1000000,
	    10000),
	NUM("limits", "task_timeout", K_DUR, limits.task_timeout_ms, SEC,
	    30 * DAY, 300 * SEC),
	NUM("limits", "task_memory", K_SIZE, limits.task_memory, 64 * KIB,
	    4 * GIB, 10 * MIB),
	NUM("limits", "handle_lifetime", K_DUR, limits.handle_lifetime_ms,
	    SEC, 30 * DAY, 3600 * SEC),
	NUM("limits", "fuel", K_COUNT, limits.fuel, 100, 10000000, 10000),
	NUM("limits", "call_depth", K_COUNT, limits.call_depth, 16, 100000,
	    200),
	NUM("limits", "max_module_size", K_SIZE, limits.max_module_size,
	    KIB, MODULE_BYTES_MAX, 4 * MIB),
	NUM("limits", "max_request_size", K_SIZE, limits.max_request_size,
	    4 * KIB, 64 * MIB, 8 * MIB),
	NUM("limits", "max_connections", K_COUNT, limits.max_connections, 1,
	    100000, 1024),
	NUM("limits", "max_buffered_input", K_SIZE, limits.max_buffered_input,
	    64 * KIB, 64 * GIB, 64 * MIB),
	NUM("limits", "idle_timeout", K_DUR, limits.idle_timeout_ms, SEC,
	    DAY, 300 * SEC),
	NUM("limits", "frame_timeout", K_DUR, limits.frame_timeout_ms, 100,
	    HOUR, 10 * SEC),
	NUM("limits", "sleep_max", K_DUR, limits.sleep_max_ms, SEC,
	    3650 * DAY, 30 * DAY),
	NUM("limits", "output_per_job", K_SIZE, limits.output_per_job, KIB,
	    GIB, MIB),

	NUM("tenant", "max_jobs", K_COUNT, tenant.max_jobs, 1, 1000000, 100),
	NUM("tenant", "max_tasks", K_COUNT, tenant.max_tasks, 1, 1000000,
	    1000),
	NUM("tenant", "max_timers", K_COUNT, tenant.max_timers, 1, 1000000,
	    1000),
	NUM("tenant", "max_connections", K_COUNT, tenant.max_connections, 1,
	    100000, 64),
	NUM("tenant", "max_memory", K_SIZE, tenant.max_memory, MIB,
	    1024 * GIB, 512 * MIB),
	NUM("tenant", "spawn_rate", K_COUNT, tenant.spawn_rate, 1, 10000000,
	    1000),
	NUM("tenant", "spawn_burst", K_COUNT, tenant.spawn_burst, 1,
	    10000000, 1000),
	NUM("tenant", "submit_rate", K_COUNT, tenant.submit_rate, 1,
	    10000000, 1000),
	NUM("tenant", "submit_burst", K_COUNT, tenant.submit_burst, 1,
	    10000000, 1000),
	NUM("tenant", "extern_rate", K_COUNT, tenant.extern_rate, 1,
	    10000000, 1000),
	NUM("tenant", "extern_burst", K_COUNT, tenant.extern_burst, 1,
	    10000000, 1000),
	NUM("tenant", "max_handles", K_COUNT, tenant.max_handles, 1, 1000000,
	    256),

	ENUM("store", "synchronous", store.synchronous, sync_names,
	    CFG_SYNC_FULL),
	NUM("store", "retention_time", K_DUR, store.retention_ms, MINUTE,
	    3650 * DAY, 7 * DAY),
	NUM("store", "retention_count", K_COUNT, store.retention_count, 1,
	    100000000, 10000),

	STR("ffi", "allow", K_ALLOW, ffi.allow, ""),
	NUM("ffi", "call_timeout", K_DUR, ffi.call_timeout_ms, 10, HOUR,
	    2 * SEC),
	NUM("ffi", "workers", K_COUNT, ffi.workers, 1, 256, 4),
	NUM("ffi", "worker_memory", K_SIZE, ffi.worker_memory, 16 * MIB,
	    64 * GIB, 256 * MIB),
	NUM("ffi", "worker_cpu", K_SECS, ffi.worker_cpu_ms, SEC, DAY,
	    10 * SEC),
	STR("ffi", "user", K_USER, ffi.user, "nobody"),
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

/* The parser's state for one file. */
struct st {
	const char *path;		/* for messages */
	struct cfg *c;			/* being filled */
	uint32_t line;			/* current line, from 1 */
	int sect;			/* index into sections, -1 before any */
	uint32_t seen[NKEYS];		/* line a key was set on, 0 if not */
	struct sc_error *err;
};

static uint64_t
get_num(const struct cfg *c, const struct key *k)
{
	const char *p = (const char *)c + k->off;

	switch (k->width) {
	case 1:
		return *(const bool *)p;
	case 4:
		return k->kind == K_ENUM ? (uint64_t)*(const int *)p :
		    *(const uint32_t *)p;
	default:
		return *(const uint64_t *)p;
	}
}

static void
set_num(struct cfg *c, const struct key *k, uint64_t v)
{
	char *p = (char *)c + k->off;

	switch (k->width) {
	case 1:
		*(bool *)p = v != 0;
		break;
	case 4:
		if (k->kind == K_ENUM)
			*(int *)p = (int)v;
		else
			*(uint32_t *)p = (uint32_t)v;
		break;
	default:
		*(uint64_t *)p = v;
		break;
	}
}

/* The whole struct is zeroed first, so cfg_equal() may compare strings
 * and arrays without reading indeterminate bytes. */
void
cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if (k->kind == K_PATH || k->kind == K_USER)
			snprintf((char *)c + k->off, k->size, "%s", k->sdef);
		else if (k->width != 0)
			set_num(c, k, k->def);
	}
}

/* "4G", "10M", "64K" or plain bytes: the largest exact unit. */
static void
fmt_size(uint64_t v, char *buf, size_t size)
{
	if (v != 0 && v % GIB == 0)
		snprintf(buf, size, "%" PRIu64 "G", v / GIB);
	else if (v != 0 && v % MIB == 0)
		snprintf(buf, size, "%" PRIu64 "M", v / MIB);
	else if (v != 0 && v % KIB == 0)
		snprintf(buf, size, "%" PRIu64 "K", v / KIB);
	else
		snprintf(buf, size, "%" PRIu64, v);
}

/* "30d", "1h", "300s", "100ms": the largest exact unit. */
static void
fmt_dur(uint64_t ms, char *buf, size_t size)
{
	static const struct {
		uint64_t unit;
		const char *suffix;
	} units[] = {
		{ DAY, "d" }, { HOUR, "h" }, { MINUTE, "m" }, { SEC, "s" },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ms != 0 && ms % units[i].unit == 0) {
			snprintf(buf, size, "%" PRIu64 "%s", ms / units[i].unit,
			    units[i].suffix);
			return;
		}
	snprintf(buf, size, "%" PRIu64 "ms", ms);
}

static void
fmt_value(const struct key *k, uint64_t v, char *buf, size_t size)
{
	if (k->kind == K_SIZE)
		fmt_size(v, buf, size);
	else if (k->kind == K_DUR || k->kind == K_SECS)
		fmt_dur(v, buf, size);
	else if (k->kind == K_MODE)
		snprintf(buf, size, "%04" PRIo64, v);
	else
		snprintf(buf, size, "%" PRIu64, v);
}

/* "FILE:LINE: message" for faults of the line's shape. */
static int SC_PRINTF(2, 3)
fail(struct st *s, const char *fmt, ...)
{
	char why[SC_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return sc_errorf(s->err, SC_EINVAL, "%s:%u: %s", s->path, s->line,
	    why);
}

/* "FILE:LINE: section.key = value: reason" for a bad value. */
static int SC_PRINTF(4, 5)
bad(struct st *s, const struct key *k, const char *val, const char *fmt, ...)
{
	char why[SC_ERRMSG_MAX];
	size_t n = strlen(val);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return sc_errorf(s->err, SC_EINVAL, "%s:%u: %s.%s = %.*s%s: %s",
	    s->path, s->line, k->sect, k->name,
	    n > ECHO_MAX ? ECHO_MAX - 3 : (int)n, val,
	    n > ECHO_MAX ? "..." : "", why);
}

static int
range(struct st *s, const struct key *k, const char *val)
{
	char lo[32], hi[32];

	fmt_value(k, k->min, lo, sizeof(lo));
	fmt_value(k, k->max, hi, sizeof(hi));
	return bad(s, k, val, "out of range (%s to %s)", lo, hi);
}

/* Results of the number scanners. */
enum { P_OK, P_SYNTAX, P_RANGE };

/* Decimal digits at *pp; P_RANGE on overflow, P_SYNTAX if none. */
static int
digits(const char **pp, uint64_t *vp)
{
	const char *p = *pp;
	uint64_t v = 0;
	int r = P_OK;

	if (!isdigit((unsigned char)*p))
		return P_SYNTAX;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			r = P_RANGE;	/* keep scanning: syntax first */
		v = v * 10 + d;
	}
	*pp = p;
	*vp = v;
	return r;
}

/* v *= m, P_RANGE on overflow. */
static int
scale(uint64_t *vp, uint64_t m, int r)
{
	if (r == P_OK && *vp > UINT64_MAX / m)
		return P_RANGE;
	*vp *= m;
	return r;
}

static int
scan_count(const char *val, uint64_t *vp)
{
	const char *p = val + (*val == '-');
	int r = digits(&p, vp);

	if (r == P_SYNTAX || *p != '\0')
		return P_SYNTAX;
	return *val == '-' && *vp != 0 ? P_RANGE : r;
}

static int
scan_size(const char *val, uint64_t *vp)
{
	const char *p = val;
	int r = digits(&p, vp);

	if (r == P_SYNTAX)
		return P_SYNTAX;
	if (p[0] != '\0' && p[1] != '\0')
		return P_SYNTAX;
	switch (*p) {
	case '\0':
		return r;
	case 'K': case 'k':
		return scale(vp, KIB, r);
	case 'M': case 'm':
		return scale(vp, MIB, r);
	case 'G': case 'g':
		return scale(vp, GIB, r);
	}
	return P_SYNTAX;
}

static int
scan_dur(const char *val, uint64_t *vp)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {
		{ "ms", 1 }, { "s", SEC }, { "m", MINUTE }, { "h", HOUR },
		{ "d", DAY },
	};
	const char *p = val;
	int r = digits(&p, vp);

	if (r == P_SYNTAX)
		return P_SYNTAX;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(p, units[i].suffix) == 0)
			return scale(vp, units[i].ms, r);
	return P_SYNTAX;
}

/* A number of any numeric kind, checked against the key's range. */
static int
set_number(struct st *s, const struct key *k, const char *val)
{
	uint64_t v = 0;
	int r;

	switch (k->kind) {
	case K_COUNT:
		if ((r = scan_count(val, &v)) == P_SYNTAX)
			return bad(s, k, val, "not an integer");
		break;
	case K_SIZE:
		if ((r = scan_size(val, &v)) == P_SYNTAX)
			return bad(s, k, val, "not a size (use bytes or K/M/G "
			    "suffix)");
		break;
	default:
		if ((r = scan_dur(val, &v)) == P_SYNTAX)
			return bad(s, k, val, "not a duration (use a ms, s, "
			    "m, h or d suffix)");
		break;
	}
	if (r == P_RANGE || v < k->min || v > k->max)
		return range(s, k, val);
	if (k->kind == K_SECS && v % SEC != 0)
		return bad(s, k, val, "not a whole number of seconds");
	set_num(s->c, k, v);
	return SC_OK;
}

static int
set_bool(struct st *s, const struct key *k, const char *val)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(val, yes[i]) == 0) {
			set_num(s->c, k, 1);
			return SC_OK;
		}
		if (strcasecmp(val, no[i]) == 0) {
			set_num(s->c, k, 0);
			return SC_OK;
		}
	}
	return bad(s, k, val, "not a boolean (use true or false)");
}

static int
set_mode(struct st *s, const struct key *k, const char *val)
{
	uint64_t v = 0;
	size_t n = strlen(val);

	if (n > 4 || strspn(val, "01234567") != n)
		return bad(s, k, val, "not an octal mode (0000 to 0777)");
	for (const char *p = val; *p != '\0'; p++)
		v = v * 8 + (uint64_t)(*p - '0');
	if (v > k->max)
		return bad(s, k, val, "not an octal mode (0000 to 0777)");
	set_num(s->c, k, v);
	return SC_OK;
}

static int
set_enum(struct st *s, const struct key *k, const char *val)
{
	char list[128] = "";
	size_t i;

	for (i = 0; k->names[i] != NULL; i++)
		if (strcmp(val, k->names[i]) == 0) {
			set_num(s->c, k, i);
			return SC_OK;
		}
	for (i = 0; k->names[i] != NULL; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s%s", i == 0 ? "" : ", ", k->names[i]);
	return bad(s, k, val, "not one of %s", list);
}

static int
set_string(struct st *s, const struct key *k, const char *val)
{
	size_t n = strlen(val);

	if (k->kind == K_USER && (val[0] == '-' || strspn(val,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") != n))
		return bad(s, k, val, "not a user name or uid");
	if (n >= k->size)
		return bad(s, k, val, "longer than %zu bytes%s", k->size - 1,
		    k->size == CFG_SOCKET_MAX ? " (the size of a Unix socket "
		    "address)" : "");
	memcpy((char *)s->c + k->off, val, n + 1);
	return SC_OK;
}

/* Uids separated by commas and/or blanks; an empty list is allowed. */
static int
set_uids(struct st *s, const struct key *k, const char *val)
{
	uint32_t *uids = s->c->daemon.admin_uids, n = 0;
	const char *p = val;

	for (;;) {
		const char *t, *q;
		uint64_t v;
		int r;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		t = p;
		q = t + strcspn(t, ", \t");
		r = digits(&p, &v);
		if (r != P_OK || p != q || v > UID_MAX_OK)
			return bad(s, k, val, "\"%.*s\" is not a uid (0 to "
			    "%" PRIu64 ")", (int)(q - t), t, UID_MAX_OK);
		if (n == CFG_ADMINS_MAX)
			return bad(s, k, val, "more than %u uids",
			    CFG_ADMINS_MAX);
		uids[n++] = (uint32_t)v;
	}
	s->c->daemon.nadmins = n;
	return SC_OK;
}

static const char *
skip_blanks(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

/*
 * A type name at *pp: its enum ctype, or -1 with *pp unmoved. "()" is a
 * name here; the caller decides where it may stand.
 */
static int
type_at(const char **pp, size_t *lenp)
{
	const char *p = *pp;
	size_t n = 0;

	if (p[0] == '(' && p[1] == ')')
		n = 2;
	else
		while (isalnum((unsigned char)p[n]) || p[n] == '_')
			n++;
	*lenp = n;
	for (unsigned ct = 0; ct < CT__COUNT && n > 0; ct++)
		if (strlen(ctype_name(ct)) == n &&
		    memcmp(ctype_name(ct), p, n) == 0) {
			*pp = p + n;
			return (int)ct;
		}
	return -1;
}

#define TYPE_LIST	"int, i32, float, bool, string, ptr or ()"

/* allow = LIBRARY SYMBOL ( [TYPE {, TYPE}] ) [-> TYPE] [frees] */
static int
add_allow(struct st *s, const struct key *k, const char *val)
{
	struct cfg_allow *a;
	const char *p = val, *q;
	size_t n;
	int ct;

	if (s->c->ffi.nallow == CFG_ALLOW_MAX)
		return bad(s, k, val, "more than %u allow lines",
		    CFG_ALLOW_MAX);
	a = &s->c->ffi.allow[s->c->ffi.nallow];
	memset(a, 0, sizeof(*a));
	n = strcspn(p, " \t");
	if (n >= CFG_NAME_MAX)
		return bad(s, k, val, "library name longer than %u bytes",
		    CFG_NAME_MAX - 1);
	memcpy(a->library, p, n);
	p = skip_blanks(p + n);
	n = strcspn(p, " \t(");
	if (n == 0)
		return bad(s, k, val, "expected LIBRARY SYMBOL (TYPES) -> "
		    "TYPE");
	for (size_t i = 0; i < n; i++)
		if (!(isalpha((unsigned char)p[i]) || p[i] == '_' ||
		    (i > 0 && isdigit((unsigned char)p[i]))))
			return bad(s, k, val, "symbol \"%.*s\" is not a C "
			    "identifier", (int)n, p);
	if (n >= CFG_NAME_MAX)
		return bad(s, k, val, "symbol longer than %u bytes",
		    CFG_NAME_MAX - 1);
	memcpy(a->symbol, p, n);
	p = skip_blanks(p + n);
	if (*p != '(')
		return bad(s, k, val, "expected '(' after the symbol");
	p = skip_blanks(p + 1);
	while (*p != ')') {		/* a type after each ',' */
		q = p;
		if ((ct = type_at(&p, &n)) < 0)
			return n == 0 ? bad(s, k, val, "expected a parameter "
			    "type (" TYPE_LIST ")") : bad(s, k, val, "unknown "
			    "type \"%.*s\" (use " TYPE_LIST ")", (int)n, q);
		if (ct == CT_VOID)
			return bad(s, k, val, "() is not a parameter type");
		if (a->nparams == CFG_ALLOW_PARAMS_MAX)
			return bad(s, k, val, "more than %u parameters",
			    CFG_ALLOW_PARAMS_MAX);
		a->params[a->nparams++] = (uint8_t)ct;
		p = skip_blanks(p);
		if (*p == ')')
			break;
		if (*p != ',')
			return bad(s, k, val, "expected ',' or ')' after a "
			    "parameter type");
		p = skip_blanks(p + 1);
		if (*p == ')')
			return bad(s, k, val, "expected a parameter type ("
			    TYPE_LIST ")");
	}
	p = skip_blanks(p + 1);
	a->ret = CT_VOID;
	if (p[0] == '-' && p[1] == '>') {
		p = skip_blanks(p + 2);
		q = p;
		if ((ct = type_at(&p, &n)) < 0)
			return n == 0 ? bad(s, k, val, "expected a result type "
			    "after '->' (" TYPE_LIST ")") : bad(s, k, val,
			    "unknown type \"%.*s\" (use " TYPE_LIST ")", (int)n,
			    q);
		a->ret = (uint8_t)ct;
		p = skip_blanks(p);
	}
	if (strncmp(p, "frees", 5) == 0 && (p[5] == '\0' || p[5] == ' ' ||
	    p[5] == '\t')) {
		if (memchr(a->params, CT_PTR, a->nparams) == NULL)
			return bad(s, k, val, "'frees' needs a ptr parameter "
			    "(the handle it frees)");
		a->frees = true;
		p = skip_blanks(p + 5);
	}
	if (*p != '\0')
		return bad(s, k, val, "unexpected \"%s\" after the "
		    "signature (want '-> TYPE', 'frees' or the end of the "
		    "line)", p);
	for (uint32_t i = 0; i < s->c->ffi.nallow; i++) {
		const struct cfg_allow *o = &s->c->ffi.allow[i];

		if (strcmp(o->library, a->library) == 0 &&
		    strcmp(o->symbol, a->symbol) == 0)
			return bad(s, k, val, "%s %s is already allowed (line "
			    "%u)", a->library, a->symbol, o->line);
	}
	a->line = s->line;
	s->c->ffi.nallow++;
	return SC_OK;
}

static int
set_key(struct st *s, const struct key *k, const char *val)
{
	size_t i = (size_t)(k - keys);

	if (k->kind != K_ALLOW && s->seen[i] != 0)
		return fail(s, "%s.%s set twice (first at line %u)", k->sect,
		    k->name, s->seen[i]);
	if (*val == '\0' && k->kind != K_UIDS)
		return fail(s, "%s.%s: missing value", k->sect, k->name);
	s->seen[i] = s->line;
	switch (k->kind) {
	case K_COUNT:
	case K_SIZE:
	case K_DUR:
	case K_SECS:
		return set_number(s, k, val);
	case K_BOOL:
		return set_bool(s, k, val);
	case K_MODE:
		return set_mode(s, k, val);
	case K_ENUM:
		return set_enum(s, k, val);
	case K_PATH:
	case K_USER:
		return set_string(s, k, val);
	case K_UIDS:
		return set_uids(s, k, val);
	default:
		return add_allow(s, k, val);
	}
}

/* Trim blanks on both ends of [*b, *e). */
static void
trim(char **b, char **e)
{
	while (*b < *e && isspace((unsigned char)**b))
		(*b)++;
	while (*e > *b && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/*
 * One line, NUL-terminated in place. A comment starts with # or ; at the
 * start of the line, or after a blank inside it.
 */
static int
parse_line(struct st *s, char *b, char *e)
{
	char *eq, *v;

	*e = '\0';
	for (char *p = b; *p != '\0'; p++)
		if ((*p == '#' || *p == ';') &&
		    (p == b || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			e = p;
			break;
		}
	trim(&b, &e);
	*e = '\0';
	if (b == e)
		return SC_OK;
	if (*b == '[') {
		char *close = strchr(b, ']'), *nb = b + 1, *ne;

		if (close == NULL)
			return fail(s, "expected ']' after the section name");
		if (close[1] != '\0')
			return fail(s, "unexpected \"%s\" after the section "
			    "name", close + 1);
		ne = close;
		trim(&nb, &ne);
		*ne = '\0';
		for (int i = 0; sections[i] != NULL; i++)
			if (strcmp(nb, sections[i]) == 0) {
				s->sect = i;
				return SC_OK;
			}
		return fail(s, "unknown section [%s] (sections: daemon, "
		    "limits, tenant, store, ffi)", nb);
	}
	if ((eq = strchr(b, '=')) == NULL)
		return fail(s, "expected `key = value` or `[section]`, got "
		    "\"%.*s\"", (int)strnlen(b, ECHO_MAX), b);
	v = (char *)skip_blanks(eq + 1);	/* the line's end is trimmed */
	trim(&b, &eq);
	*eq = '\0';
	if (*b == '\0')
		return fail(s, "missing key before '='");
	if (s->sect < 0)
		return fail(s, "key \"%s\" before any [section]", b);
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].sect, sections[s->sect]) == 0 &&
		    strcmp(keys[i].name, b) == 0)
			return set_key(s, &keys[i], v);
	return fail(s, "unknown key %s.%s", sections[s->sect], b);
}

static const struct key *
key_find(const char *sect, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].sect, sect) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* Rules between keys, reported on the later of the lines involved. */
static int
cross_check(struct st *s)
{
	const struct key *km = key_find("limits", "max_module_size");
	const struct key *kr = key_find("limits", "max_request_size");
	const struct cfg *c = s->c;
	char m[32], r[32], slack[32];

	if (SC_NEVER(km == NULL || kr == NULL))
		return SC_OK;
	if (c->limits.max_request_size >= c->limits.max_module_size +
	    CFG_REQUEST_SLACK)
		return SC_OK;
	s->line = s->seen[km - keys] > s->seen[kr - keys] ?
	    s->seen[km - keys] : s->seen[kr - keys];
	fmt_size(c->limits.max_module_size, m, sizeof(m));
	fmt_size(c->limits.max_request_size, r, sizeof(r));
	fmt_size(CFG_REQUEST_SLACK, slack, sizeof(slack));
	return fail(s, "limits.max_request_size (%s) must be at least "
	    "limits.max_module_size (%s) + %s", r, m, slack);
}

/*
 * Read the INI file at path: start from the defaults, apply each line,
 * then the rules between keys. On success copy the result to *out; on
 * failure leave *out alone and fill err (SC_EIO for a file that cannot be
 * read, SC_ENOMEM, SC_EINVAL "FILE:LINE: ..." for any fault in it).
 */
int
cfg_load(const char *path, struct cfg *out, struct sc_error *err)
{
	char *text = NULL;
	size_t len;
	int r;

	if ((r = file_read(path, CFG_FILE_MAX, &text, &len, err)) != SC_OK)
		return r;
	r = cfg_parse(path, text, len, out, err);
	free(text);
	return r;
}

int
cfg_parse(const char *path, char *text, size_t len, struct cfg *out,
    struct sc_error *err)
{
	struct st *s = NULL;
	struct cfg *c = NULL;
	char *b, *nul;
	int r;

	if (SC_NEVER(text[len] != '\0'))
		return sc_errorf(err, SC_EINVAL, "%s: text not terminated",
		    path);
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (c = malloc(sizeof(*c))) == NULL) {
		r = sc_errorf(err, SC_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	cfg_defaults(c);
	s->path = path;
	s->c = c;
	s->sect = -1;
	s->err = err;
	if ((nul = memchr(text, '\0', len)) != NULL) {
		s->line = 1;
		for (char *p = text; p < nul; p++)
			s->line += *p == '\n';
		r = fail(s, "NUL byte in the file");
		goto out;
	}
	for (b = text; b < text + len; b++) {
		char *e = strchr(b, '\n');

		if (e == NULL)
			e = text + len;
		s->line++;
		if ((r = parse_line(s, b, e)) != SC_OK)
			goto out;
		b = e;
	}
	if ((r = cross_check(s)) != SC_OK)
		goto out;
	memcpy(out, c, sizeof(*c));
out:
	free(c);
	free(s);
	return r;
}

bool
cfg_allow_equal(const struct cfg *a, const struct cfg *b)
{
	if (a->ffi.nallow != b->ffi.nallow)
		return false;
	for (uint32_t i = 0; i < a->ffi.nallow; i++) {
		const struct cfg_allow *x = &a->ffi.allow[i];
		const struct cfg_allow *y = &b->ffi.allow[i];

		if (strcmp(x->library, y->library) != 0 ||
		    strcmp(x->symbol, y->symbol) != 0 ||
		    x->nparams != y->nparams || x->ret != y->ret ||
		    x->frees != y->frees ||
		    memcmp(x->params, y->params, x->nparams) != 0)
			return false;
	}
	return true;
}

/* Settings compare; allow lines' line numbers do not. */
bool
cfg_equal(const struct cfg *a, const struct cfg *b)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if (k->kind == K_PATH || k->kind == K_USER) {
			if (strcmp((const char *)a + k->off,
			    (const char *)b + k->off) != 0)
				return false;
		} else if (k->width != 0 && get_num(a, k) != get_num(b, k))
			return false;
	}
	if (a->daemon.nadmins != b->daemon.nadmins ||
	    memcmp(a->daemon.admin_uids, b->daemon.admin_uids,
	    a->daemon.nadmins * sizeof(uint32_t)) != 0)
		return false;
	return cfg_allow_equal(a, b);
}

/* For documentation and tests: "limits.fuel" for i, NULL past the end. */
const char *
cfg_key_name(size_t i, char *buf, size_t size)
{
	if (i >= NKEYS)
		return NULL;
	snprintf(buf, size, "%s.%s", keys[i].sect, keys[i].name);
	return buf;
}

const struct cfg_allow *
cfg_allow_find(const struct cfg *c, const char *library, const char *symbol)
{
	for (uint32_t i = 0; i < c->ffi.nallow; i++)
		if (strcmp(c->ffi.allow[i].library, library) == 0 &&
		    strcmp(c->ffi.allow[i].symbol, symbol) == 0)
			return &c->ffi.allow[i];
	return NULL;
}

/* "(float, int) -> bool", as an allow line writes it. */
void
cfg_signature(const uint8_t *params, uint32_t nparams, uint8_t ret,
    char *buf, size_t size)
{
	size_t n;

	snprintf(buf, size, "(");
	for (uint32_t i = 0; i < nparams; i++) {
		n = strlen(buf);
		snprintf(buf + n, size - n, "%s%s", i == 0 ? "" : ", ",
		    ctype_name(params[i]));
	}
	n = strlen(buf);
	snprintf(buf + n, size - n, ") -> %s", ctype_name(ret));
}

/*
 * The submit-time check of an extern against the allow list: the library
 * and symbol must have a line, and the signature must match it exactly.
 * SC_EDENIED names the extern and, if the line exists, both signatures.
 */
int
cfg_allow_extern(const struct cfg *c, const struct mod_extern *e,
    struct sc_error *err)
{
	const struct cfg_allow *a = cfg_allow_find(c, e->library, e->symbol);
	char want[160], got[160];

	cfg_signature(e->params, e->nparams, e->ret, got, sizeof(got));
	if (a == NULL)
		return sc_errorf(err, SC_EDENIED, "extern \"%s\" %s %s is not "
		    "allowed by the daemon's configuration (no ffi.allow "
		    "line)", e->library, e->symbol, got);
	if (a->nparams == e->nparams && a->ret == e->ret &&
	    (e->nparams == 0 || memcmp(a->params, e->params,
	    e->nparams) == 0))		/* no params: params may be NULL */
		return SC_OK;
	cfg_signature(a->params, a->nparams, a->ret, want, sizeof(want));
	return sc_errorf(err, SC_EDENIED, "extern \"%s\" %s %s does not match "
	    "the allowed signature %s", e->library, e->symbol, got, want);
}
