/*
 * Job records: a hash by id plus a list by id (newest first) for List, and
 * per tenant a list of ended records in end order for retention. Output is
 * kept in two growable buffers per record, each capped by the caller's
 * limit; the segment log (one uint32_t per run of writes to one stream)
 * lets readers replay the interleaving. Readers never hold pointers into
 * the buffers across calls, only offsets, so buffers may move.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "utf8.h"

#define SEG_LEN_MAX	(UINT32_MAX >> 1)	/* bytes in one segment */

int
jobs_init(struct jobs *js)
{
	memset(js, 0, sizeof(*js));
	if ((js->tab = calloc(JOBS_HASH_MIN, sizeof(*js->tab))) == NULL)
		return SC_ENOMEM;
	js->captab = JOBS_HASH_MIN;
	js->next_id = 1;
	return SC_OK;
}

static uint32_t
bucket_of(const struct jobs *js, uint64_t id)
{
	return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> 32) &
	    (js->captab - 1);
}

static void
rec_free(struct jobrec *jr)
{
	for (int s = 0; s < JR_NSTREAMS; s++)
		free(jr->out.buf[s]);
	free(jr->out.segs);
	free(jr->name);
	free(jr->error);
	free(jr->trace);
	free(jr->result);
	free(jr->ferror);
	free(jr);
}

void
jobs_free(struct jobs *js)
{
	while (js->newest != NULL) {
		struct jobrec *jr = js->newest;

		js->newest = jr->older;
		rec_free(jr);
	}
	free(js->tab);
	memset(js, 0, sizeof(*js));
}

/* Double the buckets; on failure keep the old (longer chains, still right). */
static void
grow(struct jobs *js)
{
	uint32_t ncap = js->captab * 2;
	struct jobrec **nt = calloc(ncap, sizeof(*nt));

	if (nt == NULL)
		return;
	for (uint32_t i = 0; i < js->captab; i++)
		while (js->tab[i] != NULL) {
			struct jobrec *jr = js->tab[i];
			uint32_t b;

			js->tab[i] = jr->hnext;
			b = (uint32_t)((jr->id * 0x9E3779B97F4A7C15ull) >> 32) &
			    (ncap - 1);
			jr->hnext = nt[b];
			nt[b] = jr;
		}
	free(js->tab);
	js->tab = nt;
	js->captab = ncap;
}

int
jobs_new(struct jobs *js, struct tenant_acct *tn, const char *name,
    size_t namelen, bool durable, int64_t now_ms, struct jobrec **jrp,
    struct sc_error *err)
{
	struct jobrec *jr;
	uint32_t b;

	*jrp = NULL;
	if (namelen > JOBS_NAME_MAX)
		return sc_errorf(err, SC_EINVAL, "job name of %zu bytes exceeds "
		    "the limit (%u bytes)", namelen, JOBS_NAME_MAX);
	if (!utf8_valid(name, namelen))
		return sc_errorf(err, SC_EINVAL, "job name is not valid UTF-8");
	if ((jr = calloc(1, sizeof(*jr))) == NULL ||
	    (jr->name = malloc(namelen + 1)) == NULL) {
		free(jr);
		return sc_errorf(err, SC_ENOMEM, "out of memory");
	}
	memcpy(jr->name, name, namelen);
	jr->name[namelen] = '\0';
	if (js->n >= js->captab)
		grow(js);
	jr->id = js->next_id++;
	jr->tn = tn;
	jr->state = JR_QUEUED;
	jr->created_ms = now_ms;
	jr->durable = durable;
	b = bucket_of(js, jr->id);
	jr->hnext = js->tab[b];
	js->tab[b] = jr;
	jr->older = js->newest;
	if (js->newest != NULL)
		js->newest->newer = jr;
	else
		js->oldest = jr;
	js->newest = jr;
	js->n++;
	js->nlive++;
	tn->njobs++;
	jr->lnext = tn->live_head;
	if (jr->lnext != NULL)
		jr->lnext->lprev = jr;
	tn->live_head = jr;
	*jrp = jr;
	return SC_OK;
}

/* Unlink jr from the hash and the list by id. */
static void
unlink_rec(struct jobs *js, struct jobrec *jr)
{
	struct jobrec **pp = &js->tab[bucket_of(js, jr->id)];

	while (*pp != jr)
		pp = &(*pp)->hnext;
	*pp = jr->hnext;
	if (jr->newer != NULL)
		jr->newer->older = jr->older;
	else
		js->newest = jr->older;
	if (jr->older != NULL)
		jr->older->newer = jr->newer;
	else
		js->oldest = jr->newer;
	js->n--;
}

/* Take a record that ends or goes off its tenant's live list. */
static void
live_unlink(struct jobrec *jr)
{
	if (jr->lprev != NULL)
		jr->lprev->lnext = jr->lnext;
	else
		jr->tn->live_head = jr->lnext;
	if (jr->lnext != NULL)
		jr->lnext->lprev = jr->lprev;
	jr->lnext = jr->lprev = NULL;
}

void
jobs_discard(struct jobs *js, struct jobrec *jr)
{
	if (SC_NEVER(jr->ended))
		return;
	unlink_rec(js, jr);
	live_unlink(jr);
	js->nlive--;
	jr->tn->njobs--;
	rec_free(jr);
}

struct jobrec *
jobs_find(const struct jobs *js, uint64_t id)
{
	struct jobrec *jr;

	for (jr = js->tab[bucket_of(js, id)]; jr != NULL; jr = jr->hnext)
		if (jr->id == id)
			return jr;
	return NULL;
}

/* Note n kept bytes of stream s in the write order. */
static void
note_seg(struct jobout *o, int s, size_t n)
{
	uint32_t *last = o->nsegs > 0 ? &o->segs[o->nsegs - 1] : NULL;

	if (o->order_lost)
		return;
	if (last != NULL && (int)(*last & 1) == s &&
	    (*last >> 1) + n <= SEG_LEN_MAX) {
		*last += (uint32_t)n << 1;
		return;
	}
	if (o->nsegs == o->capsegs) {
		uint32_t ncap = o->capsegs ? o->capsegs * 2 : 16;
		uint32_t *ns;

		if (o->capsegs >= JOBS_SEGS_MAX ||
		    (ns = realloc(o->segs, ncap * sizeof(*ns))) == NULL) {
			o->order_lost = true;
			return;
		}
		o->segs = ns;
		o->capsegs = ncap;
	}
	o->segs[o->nsegs++] = (uint32_t)n << 1 | (uint32_t)s;
}

void
jobs_output(struct jobrec *jr, int s, const char *buf, size_t len,
    uint64_t cap)
{
	struct jobout *o = &jr->out;
	size_t n;

	if (SC_NEVER(s < 0 || s >= JR_NSTREAMS) || len == 0)
		return;
	if (cap > SEG_LEN_MAX)
		cap = SEG_LEN_MAX;
	o->total[s] += len;
	if (o->len[s] >= cap) {
		o->truncated[s] = true;
		return;
	}
	n = len < cap - o->len[s] ? len : (size_t)(cap - o->len[s]);
	if (o->len[s] + n > o->cap[s]) {
		size_t ncap = o->cap[s] ? o->cap[s] * 2 : 64;
		char *nb;

		if (ncap < o->len[s] + n)
			ncap = o->len[s] + n;
		if (ncap > cap)
			ncap = (size_t)cap;
		if ((nb = realloc(o->buf[s], ncap)) == NULL) {
			o->truncated[s] = true;		/* kept what we had */
			return;
		}
		o->buf[s] = nb;
		o->cap[s] = ncap;
	}
	memcpy(o->buf[s] + o->len[s], buf, n);
	o->len[s] += n;
	if (n < len)
		o->truncated[s] = true;
	note_seg(o, s, n);
}

void
jobs_load_output(struct jobs *js, struct jobrec *jr, int s, const char *buf,
    size_t len, uint64_t cap)
{
	uint64_t total;
	bool trunc;
	size_t before;

	if (SC_NEVER(s < 0 || s >= JR_NSTREAMS))
		return;
	total = jr->out.total[s];
	trunc = jr->out.truncated[s];
	before = jr->out.len[s];
	jobs_output(jr, s, buf, len, cap);
	jr->out.total[s] = total;
	jr->out.truncated[s] |= trunc;
	if (jr->ended) {
		jr->tn->ended_bytes += jr->out.len[s] - before;
		js->kept_bytes += jr->out.len[s] - before;
	}
}

static char *
dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* "MSG\n  at F (FILE:LINE)\n  at ..." -> error "MSG", trace "at F ...". */
static void
split_error(struct jobrec *jr, const char *text)
{
	const char *nl = strchr(text, '\n');
	size_t tlen;
	char *t, *w;

	jr->error = dup_n(text, nl != NULL ? (size_t)(nl - text) :
	    strlen(text));
	if (nl == NULL || (t = malloc((tlen = strlen(nl + 1)) + 1)) == NULL)
		return;
	w = t;
	for (const char *p = nl + 1; *p != '\0';) {
		while (*p == ' ')
			p++;
		while (*p != '\0' && *p != '\n')
			*w++ = *p++;
		if (*p == '\n' && *++p != '\0')
			*w++ = '\n';
	}
	*w = '\0';
	jr->trace = t;
}

static void
ended_unlink(struct jobrec *jr)
{
	struct tenant_acct *tn = jr->tn;

	if (jr->eprev != NULL)
		jr->eprev->enext = jr->enext;
	else
		tn->ended_head = jr->enext;
	if (jr->enext != NULL)
		jr->enext->eprev = jr->eprev;
	else
		tn->ended_tail = jr->eprev;
	jr->enext = jr->eprev = NULL;
}

void
jobs_end(struct jobs *js, struct jobrec *jr, int state, int32_t code,
    const char *error, const char *result, int64_t now_ms)
{
	struct tenant_acct *tn = jr->tn;
	uint64_t kept = jr->out.len[0] + jr->out.len[1];

	if (SC_NEVER(jr->ended))
		return;
	jr->ended = true;
	jr->state = state;
	jr->error_code = code;
	jr->ended_ms = now_ms;
	jr->job = NULL;
	if (error != NULL)
		split_error(jr, error);
	if (result != NULL)
		jr->result = dup_n(result, strlen(result));
	/* an ended job's output no longer grows: give back the slack */
	for (int s = 0; s < JR_NSTREAMS; s++)
		if (jr->out.cap[s] > jr->out.len[s] && jr->out.len[s] > 0) {
			char *nb = realloc(jr->out.buf[s], jr->out.len[s]);

			if (nb != NULL) {
				jr->out.buf[s] = nb;
				jr->out.cap[s] = jr->out.len[s];
			}
		}
	js->nlive--;
	tn->njobs--;
	live_unlink(jr);
	tn->nended++;
	if (state >= JR_COMPLETED && state <= JR_TIMED_OUT)
		tn->nended_by[state - JR_COMPLETED]++;
	tn->ended_bytes += kept;
	js->kept_bytes += kept;
	jr->enext = NULL;
	jr->eprev = tn->ended_tail;
	if (tn->ended_tail != NULL)
		tn->ended_tail->enext = jr;
	else
		tn->ended_head = jr;
	tn->ended_tail = jr;
}

/* Remove an ended record for good. */
void
jobs_drop(struct jobs *js, struct jobrec *jr)
{
	uint64_t kept = jr->out.len[0] + jr->out.len[1];

	unlink_rec(js, jr);
	ended_unlink(jr);
	jr->tn->nended--;
	if (jr->state >= JR_COMPLETED && jr->state <= JR_TIMED_OUT)
		jr->tn->nended_by[jr->state - JR_COMPLETED]--;
	jr->tn->ended_bytes -= kept;
	js->kept_bytes -= kept;
	rec_free(jr);
}

/* The tenant's oldest ended record nobody is reading, or NULL. */
static struct jobrec *
oldest_free(struct tenant_acct *tn)
{
	struct jobrec *jr = tn->ended_head;

	while (jr != NULL && (jr->watchers != NULL || jr->swrite ||
	    jr->sbatch))
		jr = jr->enext;
	return jr;
}

uint32_t
jobs_expire(struct jobs *js, struct tenants *ts, uint32_t keep_count,
    uint64_t keep_ms, int64_t now_ms)
{
	uint32_t ndropped = 0;

	for (size_t i = 0; i < TENANT_BUCKETS; i++)
		for (struct tenant_acct *tn = ts->tab[i]; tn; tn = tn->next) {
			struct jobrec *jr;

			while (tn->nended > keep_count &&
			    (jr = oldest_free(tn)) != NULL) {
				jobs_drop(js, jr);
				ndropped++;
			}
			while ((jr = oldest_free(tn)) != NULL &&
			    now_ms - jr->ended_ms > (int64_t)keep_ms) {
				jobs_drop(js, jr);
				ndropped++;
			}
		}
	/* the memory cap: take from whoever keeps the most */
	while (js->kept_bytes > JOBS_KEPT_MAX) {
		struct tenant_acct *big = NULL;
		struct jobrec *jr;

		for (size_t i = 0; i < TENANT_BUCKETS; i++)
			for (struct tenant_acct *tn = ts->tab[i]; tn;
			    tn = tn->next)
				if (oldest_free(tn) != NULL && (big == NULL ||
				    tn->ended_bytes > big->ended_bytes))
					big = tn;
		if (big == NULL || (jr = oldest_free(big)) == NULL)
			break;
		jobs_drop(js, jr);
		ndropped++;
	}
	return ndropped;
}

void
jobs_logpos(struct logpos *pos, uint64_t off_out, uint64_t off_err)
{
	memset(pos, 0, sizeof(*pos));
	pos->off[JR_STDOUT] = off_out;
	pos->off[JR_STDERR] = off_err;
}

static bool
emit(const struct jobout *o, struct logpos *pos, int s, uint64_t from,
    uint64_t end, int *stream, const char **data, size_t *len,
    uint64_t *off)
{
	uint64_t n = end - from;

	if (n > JOBS_CHUNK_MAX)
		n = JOBS_CHUNK_MAX;
	*stream = s;
	*data = o->buf[s] + from;
	*len = (size_t)n;
	*off = from;
	pos->off[s] = from + n;
	return true;
}

bool
jobs_next_chunk(const struct jobrec *jr, struct logpos *pos, int *stream,
    const char **data, size_t *len, uint64_t *off)
{
	const struct jobout *o = &jr->out;

	while (pos->seg < o->nsegs) {
		uint32_t e = o->segs[pos->seg];
		int s = (int)(e & 1);
		uint64_t start = pos->at[s], end = start + (e >> 1);

		if (pos->off[s] < end)
			return emit(o, pos, s, pos->off[s] > start ?
			    pos->off[s] : start, end, stream, data, len, off);
		/* the last segment may still grow by merging */
		if (pos->seg + 1 == o->nsegs && !o->order_lost)
			return false;
		pos->at[s] = end;
		pos->seg++;
	}
	if (!o->order_lost)
		return false;
	for (int s = 0; s < JR_NSTREAMS; s++)
		if (pos->off[s] < o->len[s])
			return emit(o, pos, s, pos->off[s], o->len[s], stream,
			    data, len, off);
	return false;
}

bool
jobs_read_all(const struct jobrec *jr, const struct logpos *pos)
{
	return pos->off[JR_STDOUT] >= jr->out.len[JR_STDOUT] &&
	    pos->off[JR_STDERR] >= jr->out.len[JR_STDERR];
}
