/*
 * logs, and the output streaming that run shares. A Logs request answers
 * with LogChunk replies, the last one with done set; with follow the
 * daemon keeps sending until the job has ended, so the read has no
 * deadline, and a connection that closes before done is an error (exit 3).
 * Output bytes are written exactly as the job wrote them.
 */
#include <inttypes.h>
#include <string.h>

#include "cmd.h"

/* Tell the user (on stderr, never in the output itself) that a stream was
 * cut at the daemon's limits.output_per_job. */
static void
truncated(uint64_t job, int stream, uint64_t at)
{
	fflush(stdout);
	fprintf(stderr, "scriptctl: job %" PRIu64 ": %s truncated at %"
	    PRIu64 " bytes (limits.output_per_job): the rest was dropped\n",
	    job, stream == WIRE__STREAM__STDERR ? "stderr" : "stdout", at);
}

static void
json_chunk(const Wire__LogChunk *ch)
{
	printf("{\"stream\":\"%s\",\"offset\":%" PRIu64 ",\"data\":",
	    ch->stream == WIRE__STREAM__STDERR ? "stderr" : "stdout",
	    ch->offset);
	cmd_json_str(stdout, (const char *)ch->data.data, ch->data.len);
	printf(",\"truncated\":%s}\n", ch->truncated ? "true" : "false");
}

/*
 * Send Logs for job and write the chunks until done: stdout chunks to
 * out_stdout, stderr chunks to out_stderr (NULL: dropped). With --json,
 * every chunk of both streams is one JSON line on stdout instead. Flushes
 * after each chunk when following, so output appears as the job writes it.
 */
int
cmd_stream_logs(struct ctl *ctl, struct conn *c, uint64_t job, bool follow,
    FILE *out_stdout, FILE *out_stderr)
{
	Wire__Request req = WIRE__REQUEST__INIT;
	Wire__Logs logs = WIRE__LOGS__INIT;
	struct sc_error err = { 0 };
	bool warned[2] = { false, false };
	uint64_t id;

	logs.job = job;
	logs.follow = follow;
	req.req_case = WIRE__REQUEST__REQ_LOGS;
	req.logs = &logs;
	if (conn_send(c, &req, &id, &err) != SC_OK)
		return cmd_fail(ctl, c, &err);
	for (;;) {
		Wire__Reply *rep;
		const Wire__LogChunk *ch;
		bool done;
		int s;

		if (conn_read(c, follow ? -1 : CONN_REPLY_TIMEOUT_MS, &rep,
		    &err) != SC_OK)
			return cmd_fail(ctl, c, &err);
		if (rep->id != id || (rep->result_case !=
		    WIRE__REPLY__RESULT_LOG && rep->result_case !=
		    WIRE__REPLY__RESULT_ERROR)) {
			sc_errorf(&err, SC_EPROTO, "unexpected reply (id %"
			    PRIu64 ", kind %d) to Logs", rep->id,
			    (int)rep->result_case);
			frame_msg_free(rep);
			return cmd_fail(ctl, c, &err);
		}
		if (conn_check(c, rep, &err) != SC_OK) {
			frame_msg_free(rep);
			return cmd_fail(ctl, c, &err);
		}
		ch = rep->log;
		s = ch->stream == WIRE__STREAM__STDERR;
		if (ctl->json && (ch->data.len > 0 || ch->truncated))
			json_chunk(ch);
		else if (!ctl->json && ch->data.len > 0 &&
		    (s ? out_stderr : out_stdout) != NULL)
			fwrite(ch->data.data, 1, ch->data.len,
			    s ? out_stderr : out_stdout);
		if (!ctl->json && ch->truncated && !warned[s] &&
		    (s ? out_stderr : out_stdout) != NULL) {
			warned[s] = true;
			truncated(job, ch->stream, ch->offset + ch->data.len);
		}
		if (follow) {
			fflush(stdout);
			fflush(stderr);
		}
		done = ch->done;
		frame_msg_free(rep);
		if (done)
			return CTL_EXIT_OK;
	}
}

static int
logs_exec(struct ctl *ctl, struct cmd_args *a)
{
	struct conn c = { .fd = -1 };
	bool err_stream = cmd_flag_set(ctl, a, "stderr");
	uint64_t job;
	int rc;

	if ((rc = cmd_job_id(ctl, a->argv[0], &job)) != 0)
		return rc;
	if ((rc = cmd_connect(ctl, &c)) != 0)
		return rc;
	rc = cmd_stream_logs(ctl, &c, job, cmd_flag_set(ctl, a, "follow"),
	    err_stream ? NULL : stdout, err_stream ? stdout : NULL);
	conn_close(&c);
	return rc;
}

const struct cmd_entry cmd_logs_entry = {
	.name = "logs",
	.args = "ID",
	.summary = "print job ID's output (stdout exactly as written)",
	.min_args = 1,
	.max_args = 1,
	.flags = {
		{ "follow", NULL, "keep printing as the job writes, until it "
		    "ends" },
		{ "stderr", NULL, "print the job's stderr instead of its "
		    "stdout" },
	},
	.exec = logs_exec,
};
