/*
 * stats: the daemon's counters. Job and task counts cover the caller's
 * jobs (every tenant's for an admin); the rest are daemon-wide. One line
 * per counter, "name value", or one JSON object with the same names.
 */
#include <inttypes.h>
#include <string.h>

#include "cmd.h"

static int
stats_exec(struct ctl *ctl, struct cmd_args *a)
{
	Wire__Request req = WIRE__REQUEST__INIT;
	Wire__Stats st = WIRE__STATS__INIT;
	struct sc_error err = { 0 };
	struct conn c = { .fd = -1 };
	Wire__Reply *rep = NULL;
	const Wire__StatsReply *s;
	int rc;

	if ((rc = cmd_connect(ctl, &c)) != 0)
		return rc;
	req.req_case = WIRE__REQUEST__REQ_STATS;
	req.stats = &st;
	if (conn_call(&c, &req, CONN_REPLY_TIMEOUT_MS, &rep, &err) != SC_OK) {
		rc = cmd_fail(ctl, &c, &err);
		goto out;
	}
	if (rep->result_case != WIRE__REPLY__RESULT_STATS) {
		sc_errorf(&err, SC_EPROTO, "unexpected reply kind %d to "
		    "Stats", (int)rep->result_case);
		rc = cmd_fail(ctl, &c, &err);
		goto out;
	}
	s = rep->stats;
	{
		const struct {
			const char *name;	/* JSON key and human label */
			uint64_t v;		/* counter value */
		} f[] = {
			{ "tasks_live", s->tasks_live },
			{ "jobs_queued", s->jobs_queued },
			{ "jobs_running", s->jobs_running },
			{ "jobs_suspended", s->jobs_suspended },
			{ "jobs_completed", s->jobs_completed },
			{ "jobs_failed", s->jobs_failed },
			{ "jobs_cancelled", s->jobs_cancelled },
			{ "jobs_timed_out", s->jobs_timed_out },
			{ "connections", s->connections },
			{ "uptime_ms", s->uptime_ms },
			{ "submits_total", s->submits_total },
			{ "submits_refused", s->submits_refused },
			{ "requests_total", s->requests_total },
			{ "frames_rejected", s->frames_rejected },
			{ "slices_total", s->slices_total },
			{ "timers_pending", s->timers_pending },
			{ "ffi_calls_total", s->ffi_calls_total },
			{ "ffi_workers", s->ffi_workers },
		};
		const char *ver = s->server_version ? s->server_version : "";

		if (ctl->json) {
			printf("{\"server_version\":");
			cmd_json_str(stdout, ver, strlen(ver));
			printf(",\"uid\":%" PRIu32 ",\"is_admin\":%s", c.uid,
			    c.is_admin ? "true" : "false");
			for (size_t i = 0; i < sizeof(f) / sizeof(*f); i++)
				printf(",\"%s\":%" PRIu64, f[i].name, f[i].v);
			printf("}\n");
		} else {
			printf("%-16s %s\n%-16s %" PRIu32 "%s\n",
			    "server_version", ver, "uid", c.uid,
			    c.is_admin ? " (admin)" : "");
			for (size_t i = 0; i < sizeof(f) / sizeof(*f); i++)
				printf("%-16s %" PRIu64 "\n", f[i].name,
				    f[i].v);
		}
	}
out:
	frame_msg_free(rep);
	conn_close(&c);
	return rc;
}

const struct cmd_entry cmd_stats_entry = {
	.name = "stats",
	.args = "",
	.summary = "show the daemon's counters",
	.min_args = 0,
	.max_args = 0,
	.exec = stats_exec,
};
