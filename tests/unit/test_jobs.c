/*
 * The job registry (daemon/jobs.c): ids and lookup, output capture with
 * the per-stream cap and truncation, replay of the two streams in write
 * order in bounded chunks from any offsets, readers that keep up with a
 * growing last segment, error/trace splitting, and retention (by count,
 * by age, records being read stay).
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "jobs.h"

struct setup {
	struct jobs js;
	struct tenants ts;
	struct tenant_acct *tn;
};

static int
setup(struct setup *s, uint32_t uid)
{
	memset(s, 0, sizeof(*s));
	if (jobs_init(&s->js) != SC_OK)
		return -1;
	s->tn = tenant_get(&s->ts, uid);
	return s->tn != NULL ? 0 : -1;
}

static void
teardown(struct setup *s)
{
	jobs_free(&s->js);
	tenants_free(&s->ts);
}

static struct jobrec *
add(struct setup *s, const char *name)
{
	struct sc_error err = { 0 };
	struct jobrec *jr = NULL;

	if (jobs_new(&s->js, s->tn, name, strlen(name), true, 1000, &jr,
	    &err) != SC_OK)
		return NULL;
	return jr;
}

/* Read everything available from pos into two strings, in chunk order,
 * and the order of streams as a string like "oeo". */
static int
drain(struct jobrec *jr, struct logpos *pos, char *out, char *errs,
    char *order)
{
	const char *d;
	size_t len;
	uint64_t off;
	int s, n = 0;

	while (jobs_next_chunk(jr, pos, &s, &d, &len, &off)) {
		char *dst = s == JR_STDOUT ? out : errs;

		CHECK(len <= JOBS_CHUNK_MAX);
		memcpy(dst + strlen(dst), d, len);
		order[n++] = s == JR_STDOUT ? 'o' : 'e';
		order[n] = '\0';
	}
	return n;
}

static void
test_ids_and_names(void)
{
	struct setup s;
	struct sc_error err = { 0 };
	struct jobrec *a, *b, *x = NULL;
	char big[JOBS_NAME_MAX + 2];

	CHECK(setup(&s, 1000) == 0);
	a = add(&s, "first");
	b = add(&s, "second");
	CHECK(a != NULL && b != NULL);
	CHECK_INT_EQ(a->id, 1);
	CHECK_INT_EQ(b->id, 2);
	CHECK(jobs_find(&s.js, 2) == b);
	CHECK(jobs_find(&s.js, 3) == NULL);
	CHECK(s.js.newest == b && b->older == a);
	CHECK_INT_EQ(s.tn->njobs, 2);
	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT_EQ(jobs_new(&s.js, s.tn, big, strlen(big), true, 0, &x,
	    &err), SC_EINVAL);
	CHECK_STR_EQ(err.msg, "job name of 256 bytes exceeds the limit (255 "
	    "bytes)");
	CHECK(x == NULL);
	CHECK_INT_EQ(jobs_new(&s.js, s.tn, "a\xff", 2, true, 0, &x, &err),
	    SC_EINVAL);
	CHECK_STR_EQ(err.msg, "job name is not valid UTF-8");
	jobs_discard(&s.js, b);
	CHECK(jobs_find(&s.js, 2) == NULL);
	CHECK_INT_EQ(s.tn->njobs, 1);
	CHECK_INT_EQ(s.js.n, 1);
	/* ids are never reused */
	CHECK_INT_EQ(add(&s, "third")->id, 3);
	/* the hash grows past its first size and still finds everything */
	for (int i = 0; i < 3000; i++)
		CHECK(add(&s, "many") != NULL);
	CHECK(jobs_find(&s.js, 1) == a);
	CHECK(jobs_find(&s.js, 3003)->id == 3003);
	teardown(&s);
}

static void
test_cap_and_truncation(void)
{
	struct setup s;
	struct jobrec *jr;
	struct logpos pos;
	char out[64] = "", errs[64] = "", order[16] = "";

	CHECK(setup(&s, 1) == 0);
	jr = add(&s, "t");
	jobs_output(jr, JR_STDOUT, "hello ", 6, 10);
	jobs_output(jr, JR_STDOUT, "world", 5, 10);	/* 1 byte dropped */
	jobs_output(jr, JR_STDOUT, "more", 4, 10);	/* all dropped */
	jobs_output(jr, JR_STDERR, "e", 1, 10);
	CHECK_INT_EQ(jr->out.len[JR_STDOUT], 10);
	CHECK_INT_EQ(jr->out.total[JR_STDOUT], 15);
	CHECK(jr->out.truncated[JR_STDOUT]);
	CHECK(!jr->out.truncated[JR_STDERR]);
	jobs_logpos(&pos, 0, 0);
	drain(jr, &pos, out, errs, order);
	CHECK_STR_EQ(out, "hello worl");
	CHECK_STR_EQ(errs, "e");
	CHECK_STR_EQ(order, "oe");
	CHECK(jobs_read_all(jr, &pos));
	teardown(&s);
}

static void
test_interleaving_and_offsets(void)
{
	struct setup s;
	struct jobrec *jr;
	struct logpos pos;
	char out[64] = "", errs[64] = "", order[16] = "";

	CHECK(setup(&s, 1) == 0);
	jr = add(&s, "t");
	jobs_output(jr, JR_STDOUT, "a", 1, 100);
	jobs_output(jr, JR_STDOUT, "b", 1, 100);	/* merges */
	jobs_output(jr, JR_STDERR, "X", 1, 100);
	jobs_output(jr, JR_STDOUT, "c", 1, 100);
	jobs_output(jr, JR_STDERR, "YZ", 2, 100);
	CHECK_INT_EQ(jr->out.nsegs, 4);
	jobs_logpos(&pos, 0, 0);
	drain(jr, &pos, out, errs, order);
	CHECK_STR_EQ(out, "abc");
	CHECK_STR_EQ(errs, "XYZ");
	CHECK_STR_EQ(order, "oeoe");
	/* resume from offsets: stdout from byte 2, stderr from byte 1 */
	memset(out, 0, sizeof(out));
	memset(errs, 0, sizeof(errs));
	jobs_logpos(&pos, 2, 1);
	drain(jr, &pos, out, errs, order);
	CHECK_STR_EQ(out, "c");
	CHECK_STR_EQ(errs, "YZ");
	CHECK_STR_EQ(order, "oe");
	/* a reader at the end sees the last segment grow (a merge) */
	jobs_output(jr, JR_STDERR, "!", 1, 100);
	memset(out, 0, sizeof(out));
	memset(errs, 0, sizeof(errs));
	CHECK_INT_EQ(drain(jr, &pos, out, errs, order), 1);
	CHECK_STR_EQ(errs, "!");
	jobs_output(jr, JR_STDOUT, "d", 1, 100);
	memset(out, 0, sizeof(out));
	memset(errs, 0, sizeof(errs));
	drain(jr, &pos, out, errs, order);
	CHECK_STR_EQ(out, "d");
	CHECK(jobs_read_all(jr, &pos));
	teardown(&s);
}

static void
test_big_output_in_chunks(void)
{
	static char buf[3 * JOBS_CHUNK_MAX + 5];
	struct setup s;
	struct jobrec *jr;
	struct logpos pos;
	const char *d;
	size_t len, total = 0;
	uint64_t off, expect = 0;
	int st, n = 0;

	CHECK(setup(&s, 1) == 0);
	jr = add(&s, "t");
	memset(buf, 'q', sizeof(buf));
	jobs_output(jr, JR_STDOUT, buf, sizeof(buf), 1u << 30);
	jobs_logpos(&pos, 0, 0);
	while (jobs_next_chunk(jr, &pos, &st, &d, &len, &off)) {
		CHECK_INT_EQ(off, expect);
		CHECK(len <= JOBS_CHUNK_MAX);
		expect += len;
		total += len;
		n++;
	}
	CHECK_INT_EQ(total, sizeof(buf));
	CHECK_INT_EQ(n, 4);
	teardown(&s);
}

static void
test_segment_log_full(void)
{
	struct setup s;
	struct jobrec *jr;
	struct logpos pos;
	const char *d;
	size_t len, nout = 0, nerr = 0;
	uint64_t off;
	int st;

	CHECK(setup(&s, 1) == 0);
	jr = add(&s, "t");
	/* alternate streams past the segment log: order is then lost, but
	 * every kept byte is still read exactly once */
	for (uint32_t i = 0; i < JOBS_SEGS_MAX + 10; i++)
		jobs_output(jr, (int)(i & 1), "z", 1, 1u << 20);
	CHECK(jr->out.order_lost);
	CHECK_INT_EQ(jr->out.nsegs, JOBS_SEGS_MAX);
	jobs_logpos(&pos, 0, 0);
	while (jobs_next_chunk(jr, &pos, &st, &d, &len, &off))
		*(st == JR_STDOUT ? &nout : &nerr) += len;
	CHECK_INT_EQ(nout, (JOBS_SEGS_MAX + 10) / 2);
	CHECK_INT_EQ(nerr, (JOBS_SEGS_MAX + 10) / 2);
	CHECK(jobs_read_all(jr, &pos));
	teardown(&s);
}

static void
test_end_and_error_split(void)
{
	struct setup s;
	struct jobrec *jr;

	CHECK(setup(&s, 1) == 0);
	jr = add(&s, "t");
	jobs_output(jr, JR_STDOUT, "out", 3, 100);
	jobs_end(&s.js, jr, JR_FAILED, SC_ERUNTIME, "division by zero\n"
	    "  at f (a.script:3)\n  at main (a.script:9)\n", NULL, 2000);
	CHECK(jr->ended);
	CHECK_INT_EQ(jr->state, JR_FAILED);
	CHECK_INT_EQ(jr->error_code, SC_ERUNTIME);
	CHECK_STR_EQ(jr->error, "division by zero");
	CHECK_STR_EQ(jr->trace, "at f (a.script:3)\nat main (a.script:9)");
	CHECK_INT_EQ(jr->ended_ms, 2000);
	CHECK_INT_EQ(s.tn->njobs, 0);
	CHECK_INT_EQ(s.tn->nended, 1);
	CHECK_INT_EQ(s.js.kept_bytes, 3);
	jr = add(&s, "u");
	jobs_end(&s.js, jr, JR_COMPLETED, SC_OK, NULL, "42", 2001);
	CHECK_STR_EQ(jr->result, "42");
	CHECK(jr->error == NULL && jr->trace == NULL);
	teardown(&s);
}

static void
test_retention(void)
{
	struct setup s;
	struct tenant_acct *other;
	struct jobrec *jr[5], *o;

	CHECK(setup(&s, 1) == 0);
	other = tenant_get(&s.ts, 2);
	for (int i = 0; i < 5; i++) {
		jr[i] = add(&s, "t");
		jobs_end(&s.js, jr[i], JR_COMPLETED, SC_OK, NULL, NULL,
		    1000 + i);
	}
	s.tn = other;
	o = add(&s, "other");
	jobs_end(&s.js, o, JR_COMPLETED, SC_OK, NULL, NULL, 1000);
	/* a record being read stays even when it is the oldest */
	jr[0]->watchers = &s;
	CHECK_INT_EQ(jobs_expire(&s.js, &s.ts, 3, 1000000, 1010), 2);
	CHECK(jobs_find(&s.js, 1) == jr[0]);
	CHECK(jobs_find(&s.js, 2) == NULL && jobs_find(&s.js, 3) == NULL);
	CHECK(jobs_find(&s.js, 4) == jr[3]);
	/* the count is per tenant: the other tenant's one job stays */
	CHECK(jobs_find(&s.js, 6) == o);
	jr[0]->watchers = NULL;
	/* by age: older than 5 ms at 1009 means ended before 1004 */
	CHECK_INT_EQ(jobs_expire(&s.js, &s.ts, 100, 5, 1009), 3);
	CHECK(jobs_find(&s.js, 5) == jr[4]);
	CHECK_INT_EQ(s.js.n, 1);
	teardown(&s);
}

int
main(void)
{
	RUN(test_ids_and_names);
	RUN(test_cap_and_truncation);
	RUN(test_interleaving_and_offsets);
	RUN(test_big_output_in_chunks);
	RUN(test_segment_log_full);
	RUN(test_end_and_error_split);
	RUN(test_retention);
	return check_done();
}
