/*
 * status and wait: one job's record. Both exit 1 when the job has failed,
 * been cancelled or timed out (its error and trace on stderr), 0 otherwise.
 * wait has no deadline (waiting is the point); on a terminal it shows the
 * state and elapsed time on stderr, redrawn in place, by pipelining Status
 * requests beside the Wait on the same connection.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "cmd.h"

#define PROGRESS_MS	250		/* redraw interval of wait's line */
#define STATUS_MS	1000		/* interval of wait's Status requests */

static int64_t
wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Print the record and, for a failed job, its error; the exit status. */
static int
show(struct ctl *ctl, const Wire__JobInfo *j)
{
	int rc = cmd_job_exit(j);

	cmd_print_job(ctl, j);
	if (rc != CTL_EXIT_OK)
		cmd_print_job_error(j);
	return rc;
}

static Wire__Request
job_request(int kind, Wire__Status *st, Wire__Wait *w, uint64_t job)
{
	Wire__Request req = WIRE__REQUEST__INIT;

	req.req_case = kind;
	if (kind == WIRE__REQUEST__REQ_STATUS) {
		st->job = job;
		req.status = st;
	} else {
		w->job = job;
		req.wait = w;
	}
	return req;
}

static int
expect_job(struct ctl *ctl, struct conn *c, Wire__Reply *rep)
{
	struct sc_error err = { 0 };

	if (conn_check(c, rep, &err) != SC_OK)
		return cmd_fail(ctl, c, &err);
	if (rep->result_case != WIRE__REPLY__RESULT_JOB) {
		sc_errorf(&err, SC_EPROTO, "unexpected reply kind %d",
		    (int)rep->result_case);
		return cmd_fail(ctl, c, &err);
	}
	return CTL_EXIT_OK;
}

static int
status_exec(struct ctl *ctl, struct cmd_args *a)
{
	Wire__Status st = WIRE__STATUS__INIT;
	Wire__Wait w = WIRE__WAIT__INIT;
	Wire__Request req;
	struct sc_error err = { 0 };
	struct conn c = { .fd = -1 };
	Wire__Reply *rep = NULL;
	uint64_t job;
	int rc;

	if ((rc = cmd_job_id(ctl, a->argv[0], &job)) != 0)
		return rc;
	if ((rc = cmd_connect(ctl, &c)) != 0)
		return rc;
	req = job_request(WIRE__REQUEST__REQ_STATUS, &st, &w, job);
	if (conn_call(&c, &req, CONN_REPLY_TIMEOUT_MS, &rep, &err) != SC_OK)
		rc = cmd_fail(ctl, &c, &err);
	else if ((rc = expect_job(ctl, &c, rep)) == CTL_EXIT_OK)
		rc = show(ctl, rep->job);
	frame_msg_free(rep);
	conn_close(&c);
	return rc;
}

/* "\r job 12: running, 3.2 s" on stderr, over the previous line. */
static void
progress(uint64_t job, const char *state, int64_t since)
{
	int64_t ms = since > 0 ? wall_ms() - since : 0;

	if (ms < 0)
		ms = 0;
	fprintf(stderr, "\r\033[Kjob %" PRIu64 ": %s, %" PRId64 ".%" PRId64
	    " s", job, state, ms / 1000, ms % 1000 / 100);
	fflush(stderr);
}

/*
 * Wait with a progress line: Wait and Status go out together, a Status is
 * re-sent every STATUS_MS while none is in flight (so the loop wakes at
 * most for those replies and the PROGRESS_MS redraws), and the line is
 * cleared before the record prints.
 */
static int
wait_tty(struct ctl *ctl, struct conn *c, uint64_t job, Wire__Reply **final)
{
	Wire__Status st = WIRE__STATUS__INIT;
	Wire__Wait w = WIRE__WAIT__INIT;
	Wire__Request req;
	struct sc_error err = { 0 };
	char state[32] = "waiting";
	uint64_t wait_id, status_id = 0;
	int64_t since = wall_ms(), next_status = 0;
	int rc = CTL_EXIT_OK;

	req = job_request(WIRE__REQUEST__REQ_WAIT, &st, &w, job);
	if (conn_send(c, &req, &wait_id, &err) != SC_OK)
		return cmd_fail(ctl, c, &err);
	while (*final == NULL) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		Wire__Reply *rep;
		int pr;

		/* At most one Status in flight, and one per STATUS_MS. */
		if (status_id == 0 && wall_ms() >= next_status) {
			req = job_request(WIRE__REQUEST__REQ_STATUS, &st, &w,
			    job);
			if (conn_send(c, &req, &status_id, &err) != SC_OK) {
				rc = cmd_fail(ctl, c, &err);
				break;
			}
			next_status = wall_ms() + STATUS_MS;
		}
		progress(job, state, since);
		pr = poll(&p, 1, PROGRESS_MS);
		if (pr == -1 && errno != EINTR) {
			sc_errorf(&err, SC_EIO, "poll: %s", strerror(errno));
			rc = cmd_fail(ctl, c, &err);
			break;
		}
		if (pr <= 0)
			continue;
		if (conn_read(c, CONN_REPLY_TIMEOUT_MS, &rep, &err) != SC_OK) {
			rc = cmd_fail(ctl, c, &err);
			break;
		}
		if ((rc = expect_job(ctl, c, rep)) != CTL_EXIT_OK) {
			frame_msg_free(rep);
			break;
		}
		if (rep->id == wait_id) {
			*final = rep;
			break;
		}
		if (rep->id == status_id) {
			status_id = 0;
			snprintf(state, sizeof(state), "%s",
			    cmd_state_name(rep->job->state));
			if (rep->job->created_ms > 0)
				since = rep->job->created_ms;
		}
		frame_msg_free(rep);
	}
	fprintf(stderr, "\r\033[K");
	fflush(stderr);
	return rc;
}

static int
wait_exec(struct ctl *ctl, struct cmd_args *a)
{
	Wire__Status st = WIRE__STATUS__INIT;
	Wire__Wait w = WIRE__WAIT__INIT;
	Wire__Request req;
	struct sc_error err = { 0 };
	struct conn c = { .fd = -1 };
	Wire__Reply *rep = NULL;
	uint64_t job;
	int rc;

	if ((rc = cmd_job_id(ctl, a->argv[0], &job)) != 0)
		return rc;
	if ((rc = cmd_connect(ctl, &c)) != 0)
		return rc;
	if (!ctl->json && isatty(2))
		rc = wait_tty(ctl, &c, job, &rep);
	else {
		req = job_request(WIRE__REQUEST__REQ_WAIT, &st, &w, job);
		if (conn_call(&c, &req, -1, &rep, &err) != SC_OK)
			rc = cmd_fail(ctl, &c, &err);
		else
			rc = expect_job(ctl, &c, rep);
	}
	if (rc == CTL_EXIT_OK && rep != NULL)
		rc = show(ctl, rep->job);
	frame_msg_free(rep);
	conn_close(&c);
	return rc;
}

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.args = "ID",
	.summary = "show job ID's record (state, times, output sizes, error)",
	.min_args = 1,
	.max_args = 1,
	.exec = status_exec,
};

const struct cmd_entry cmd_wait_entry = {
	.name = "wait",
	.args = "ID",
	.summary = "wait until job ID ends, show its record, exit with its "
	    "status",
	.min_args = 1,
	.max_args = 1,
	.exec = wait_exec,
};
