/*
 * submit and run. Both read FILE (a .sbc module, or .script source compiled
 * here with libscriptc: compile errors print like scriptc's and exit 2,
 * before the daemon is contacted) and send one Submit. submit prints the
 * job id; run then streams the job's output byte for byte (Logs with
 * follow) and exits with the job's status, printing its error and trace as
 * `scriptd run` does.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "file.h"
#include "scriptc.h"

#define FILE_MAX	(64u << 20)	/* largest FILE read; the daemon's cap
					 * (limits.max_module_size) is lower */

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Build and send the Submit for FILE with the command's options, connect
 * first (after compiling, so compile errors need no daemon). On success
 * *jobp is the job id and c is open.
 */
int
cmd_submit_file(struct ctl *ctl, struct cmd_args *a, struct conn *c,
    uint64_t *jobp)
{
	Wire__Request req = WIRE__REQUEST__INIT;
	Wire__Submit sub = WIRE__SUBMIT__INIT;
	struct sc_error err = { 0 };
	const char *path = a->argv[0], *tmo = cmd_flag(ctl, a, "timeout");
	Wire__Reply *rep = NULL;
	scriptc_result *r = NULL;
	const uint8_t *bytes;
	char *src = NULL;
	size_t len;
	int rc;

	if (tmo != NULL) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(tmo, &end, 10);
		if (tmo[0] < '0' || tmo[0] > '9' || *end != '\0' ||
		    errno != 0 || v > UINT32_MAX)
			return cmd_usage_error(ctl, "bad --timeout '%s' "
			    "(whole seconds, 0 to %u)", tmo, UINT32_MAX);
		sub.timeout_s = (uint32_t)v;
	}
	if (file_read(path, FILE_MAX, &src, &len, &err) != SC_OK) {
		fprintf(stderr, "scriptctl: %s\n", err.msg);
		return CTL_EXIT_USAGE;
	}
	bytes = (const uint8_t *)src;
	if (has_suffix(path, ".script")) {
		if (scriptc_compile(src, len, path, &r) == SC_ENOMEM) {
			fprintf(stderr, "scriptctl: %s: out of memory\n", path);
			rc = CTL_EXIT_USAGE;
			goto out;
		}
		scriptc_print_diags(r, stderr, isatty(2));
		if ((bytes = scriptc_module_bytes(r, &len)) == NULL) {
			rc = CTL_EXIT_USAGE;
			goto out;
		}
	}
	if ((rc = cmd_connect(ctl, c)) != 0)
		goto out;
	sub.module.data = (uint8_t *)bytes;
	sub.module.len = len;
	sub.ephemeral = cmd_flag_set(ctl, a, "ephemeral");
	sub.name = (char *)(cmd_flag(ctl, a, "name") ?
	    cmd_flag(ctl, a, "name") : "");
	req.req_case = WIRE__REQUEST__REQ_SUBMIT;
	req.submit = &sub;
	if (conn_call(c, &req, CONN_REPLY_TIMEOUT_MS, &rep, &err) != SC_OK) {
		rc = cmd_fail(ctl, c, &err);
		goto out;
	}
	if (rep->result_case != WIRE__REPLY__RESULT_SUBMIT) {
		sc_errorf(&err, SC_EPROTO, "unexpected reply kind %d to "
		    "Submit", (int)rep->result_case);
		rc = cmd_fail(ctl, c, &err);
		goto out;
	}
	*jobp = rep->submit->job;
	rc = CTL_EXIT_OK;
out:
	frame_msg_free(rep);
	scriptc_free(r);
	free(src);
	return rc;
}

static int
submit_exec(struct ctl *ctl, struct cmd_args *a)
{
	struct conn c = { .fd = -1 };
	uint64_t job;
	int rc;

	if ((rc = cmd_submit_file(ctl, a, &c, &job)) != CTL_EXIT_OK)
		goto out;
	if (ctl->json)
		printf("{\"job\":%" PRIu64 "}\n", job);
	else
		printf("%" PRIu64 "\n", job);
out:
	conn_close(&c);
	return rc;
}

/*
 * The job's record once it has ended: Wait answers at once when the
 * output stream said done, since done is only sent after the end.
 */
static int
final_record(struct ctl *ctl, struct conn *c, uint64_t job,
    Wire__Reply **repp)
{
	Wire__Request req = WIRE__REQUEST__INIT;
	Wire__Wait w = WIRE__WAIT__INIT;
	struct sc_error err = { 0 };

	w.job = job;
	req.req_case = WIRE__REQUEST__REQ_WAIT;
	req.wait = &w;
	if (conn_call(c, &req, -1, repp, &err) != SC_OK)
		return cmd_fail(ctl, c, &err);
	if ((*repp)->result_case != WIRE__REPLY__RESULT_JOB) {
		sc_errorf(&err, SC_EPROTO, "unexpected reply kind %d to Wait",
		    (int)(*repp)->result_case);
		frame_msg_free(*repp);
		*repp = NULL;
		return cmd_fail(ctl, c, &err);
	}
	return CTL_EXIT_OK;
}

static int
run_exec(struct ctl *ctl, struct cmd_args *a)
{
	struct conn c = { .fd = -1 };
	Wire__Reply *rep = NULL;
	uint64_t job;
	int rc;

	if ((rc = cmd_submit_file(ctl, a, &c, &job)) != CTL_EXIT_OK)
		goto out;
	if (ctl->json)
		printf("{\"job\":%" PRIu64 "}\n", job);
	if ((rc = cmd_stream_logs(ctl, &c, job, true, stdout, stderr)) !=
	    CTL_EXIT_OK)
		goto out;
	if ((rc = final_record(ctl, &c, job, &rep)) != CTL_EXIT_OK)
		goto out;
	if (ctl->json)
		cmd_print_job(ctl, rep->job);
	fflush(stdout);
	if ((rc = cmd_job_exit(rep->job)) != CTL_EXIT_OK)
		cmd_print_job_error(rep->job);
out:
	frame_msg_free(rep);
	conn_close(&c);
	return rc;
}

#define SUBMIT_FLAGS							\
	{ "ephemeral", NULL, "do not persist the job (lost if the daemon "\
	    "stops)" },							\
	{ "timeout", "SECONDS", "wall-clock limit (0: the daemon's "	\
	    "limits.task_timeout, which also caps it)" },		\
	{ "name", "NAME", "label shown by status and list (default: the "\
	    "source name)" }

const struct cmd_entry cmd_submit_entry = {
	.name = "submit",
	.args = "FILE",
	.summary = "submit FILE (.script or .sbc) as a job; print its id",
	.min_args = 1,
	.max_args = 1,
	.flags = { SUBMIT_FLAGS },
	.exec = submit_exec,
};

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.args = "FILE",
	.summary = "submit FILE, stream its output, exit with its status",
	.min_args = 1,
	.max_args = 1,
	.flags = { SUBMIT_FLAGS },
	.exec = run_exec,
};
