/*
 * list: the caller's jobs (every tenant's for an admin), newest first;
 * by default only those not ended. Human output is a table, --json one
 * job object per line.
 */
#include <inttypes.h>
#include <string.h>
#include <sys/time.h>

#include "cmd.h"

/* "12s", "5m", "3h", "2d": how long ago ms (epoch) was. */
static const char *
age(int64_t ms, char *buf, size_t size)
{
	struct timeval tv;
	int64_t s;

	gettimeofday(&tv, NULL);
	s = ((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000 - ms) / 1000;
	if (ms <= 0)
		return "-";
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, size, "%" PRId64 "s", s);
	else if (s < 7200)
		snprintf(buf, size, "%" PRId64 "m", s / 60);
	else if (s < 172800)
		snprintf(buf, size, "%" PRId64 "h", s / 3600);
	else
		snprintf(buf, size, "%" PRId64 "d", s / 86400);
	return buf;
}

static int
list_exec(struct ctl *ctl, struct cmd_args *a)
{
	Wire__Request req = WIRE__REQUEST__INIT;
	Wire__List ls = WIRE__LIST__INIT;
	struct sc_error err = { 0 };
	struct conn c = { .fd = -1 };
	Wire__Reply *rep = NULL;
	int rc;

	if ((rc = cmd_connect(ctl, &c)) != 0)
		return rc;
	ls.all = cmd_flag_set(ctl, a, "all");
	req.req_case = WIRE__REQUEST__REQ_LIST;
	req.list = &ls;
	if (conn_call(&c, &req, CONN_REPLY_TIMEOUT_MS, &rep, &err) != SC_OK) {
		rc = cmd_fail(ctl, &c, &err);
		goto out;
	}
	if (rep->result_case != WIRE__REPLY__RESULT_LIST) {
		sc_errorf(&err, SC_EPROTO, "unexpected reply kind %d to List",
		    (int)rep->result_case);
		rc = cmd_fail(ctl, &c, &err);
		goto out;
	}
	if (!ctl->json)
		printf("%-10s %-10s %-10s %-6s %s\n", "ID", "STATE", "UID",
		    "AGE", "NAME");
	for (size_t i = 0; i < rep->list->n_jobs; i++) {
		const Wire__JobInfo *j = rep->list->jobs[i];
		char buf[32];

		if (ctl->json)
			cmd_print_job(ctl, j);
		else
			printf("%-10" PRIu64 " %-10s %-10" PRIu32 " %-6s %s\n",
			    j->id, cmd_state_name(j->state), j->uid,
			    age(j->created_ms, buf, sizeof(buf)),
			    j->name != NULL ? j->name : "");
	}
out:
	frame_msg_free(rep);
	conn_close(&c);
	return rc;
}

const struct cmd_entry cmd_list_entry = {
	.name = "list",
	.args = "",
	.summary = "list your jobs not yet ended (every tenant's for an "
	    "admin)",
	.min_args = 0,
	.max_args = 0,
	.flags = {
		{ "all", NULL, "include jobs that have ended" },
	},
	.exec = list_exec,
};
