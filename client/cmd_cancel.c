/*
 * cancel: request cancellation of every task of a job. Cancelling a job
 * that has already ended is not an error (the reply says so); a job that
 * is not the caller's is "not found", like one that does not exist.
 */
#include <inttypes.h>

#include "cmd.h"

static int
cancel_exec(struct ctl *ctl, struct cmd_args *a)
{
	Wire__Request req = WIRE__REQUEST__INIT;
	Wire__Cancel cn = WIRE__CANCEL__INIT;
	struct sc_error err = { 0 };
	struct conn c = { .fd = -1 };
	Wire__Reply *rep = NULL;
	uint64_t job;
	int rc;

	if ((rc = cmd_job_id(ctl, a->argv[0], &job)) != 0)
		return rc;
	if ((rc = cmd_connect(ctl, &c)) != 0)
		return rc;
	cn.job = job;
	req.req_case = WIRE__REQUEST__REQ_CANCEL;
	req.cancel = &cn;
	if (conn_call(&c, &req, CONN_REPLY_TIMEOUT_MS, &rep, &err) != SC_OK)
		rc = cmd_fail(ctl, &c, &err);
	else if (rep->result_case != WIRE__REPLY__RESULT_CANCEL) {
		sc_errorf(&err, SC_EPROTO, "unexpected reply kind %d to "
		    "Cancel", (int)rep->result_case);
		rc = cmd_fail(ctl, &c, &err);
	} else if (ctl->json)
		printf("{\"job\":%" PRIu64 ",\"was_running\":%s}\n", job,
		    rep->cancel->was_running ? "true" : "false");
	else if (rep->cancel->was_running)
		printf("job %" PRIu64 ": cancellation requested\n", job);
	else
		printf("job %" PRIu64 ": already ended\n", job);
	frame_msg_free(rep);
	conn_close(&c);
	return rc;
}

const struct cmd_entry cmd_cancel_entry = {
	.name = "cancel",
	.args = "ID",
	.summary = "cancel every task of job ID",
	.min_args = 1,
	.max_args = 1,
	.exec = cancel_exec,
};
