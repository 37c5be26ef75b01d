/*
 * The command table, the command-line parser shared by every command, and
 * the output helpers: job records as "key value" lines or as one JSON
 * object per line, daemon errors as "scriptctl: CMD refused: ...". Global
 * options (--socket, --json, --help) are accepted before or after the
 * command name.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"

static const struct cmd_entry *const table[] = {
	&cmd_submit_entry, &cmd_run_entry, &cmd_status_entry, &cmd_wait_entry,
	&cmd_cancel_entry, &cmd_list_entry, &cmd_logs_entry, &cmd_stats_entry,
};
#define NTABLE	(sizeof(table) / sizeof(*table))

const struct cmd_entry *
cmd_find(const char *name)
{
	for (size_t i = 0; i < NTABLE; i++)
		if (strcmp(table[i]->name, name) == 0)
			return table[i];
	return NULL;
}

void
cmd_usage(FILE *f)
{
	fprintf(f, "usage: scriptctl [--socket PATH] [--json] COMMAND "
	    "[ARGS...]\n"
	    "       scriptctl --help | --version | help COMMAND\n\n"
	    "Talks to scriptd over its Unix socket (--socket, else "
	    "$SCRIPTD_SOCKET,\nelse /run/scriptd/scriptd.sock).\n\n"
	    "commands:\n");
	for (size_t i = 0; i < NTABLE; i++)
		fprintf(f, "  %-8s %s\n", table[i]->name, table[i]->summary);
	fprintf(f, "\nexit status: 0 success or job completed, 1 job failed, "
	    "cancelled or timed out,\n2 usage or compile error, 3 daemon "
	    "unreachable or request refused.\n"
	    "`scriptctl COMMAND --help` describes one command.\n");
}

void
cmd_usage_one(FILE *f, const struct cmd_entry *e)
{
	fprintf(f, "usage: scriptctl %s", e->name);
	if (e->args[0] != '\0')
		fprintf(f, " %s", e->args);
	for (int i = 0; i < CMD_FLAGS_MAX && e->flags[i].name != NULL; i++)
		fprintf(f, " [--%s%s%s]", e->flags[i].name,
		    e->flags[i].arg ? " " : "",
		    e->flags[i].arg ? e->flags[i].arg : "");
	fprintf(f, " [--json] [--socket PATH]\n%s\n", e->summary);
	for (int i = 0; i < CMD_FLAGS_MAX && e->flags[i].name != NULL; i++) {
		char opt[64];

		snprintf(opt, sizeof(opt), "--%s%s%s", e->flags[i].name,
		    e->flags[i].arg ? " " : "",
		    e->flags[i].arg ? e->flags[i].arg : "");
		fprintf(f, "  %-20s %s\n", opt, e->flags[i].help);
	}
	fprintf(f, "  %-20s %s\n  %-20s %s\n", "--json",
	    "one JSON object per line on stdout", "--socket PATH",
	    "the daemon's socket");
}

int
cmd_usage_error(const struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "scriptctl: ");
	if (ctl != NULL && ctl->cmd != NULL)
		fprintf(stderr, "%s: ", ctl->cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (ctl != NULL && ctl->cmd != NULL)
		cmd_usage_one(stderr, ctl->cmd);
	return CTL_EXIT_USAGE;
}

/* Index of --name in e's flags, or -1. */
static int
flag_index(const struct cmd_entry *e, const char *name, size_t len)
{
	for (int i = 0; i < CMD_FLAGS_MAX && e->flags[i].name != NULL; i++)
		if (strlen(e->flags[i].name) == len &&
		    memcmp(e->flags[i].name, name, len) == 0)
			return i;
	return -1;
}

/*
 * Parse the words after the command name. Flags may come anywhere, as
 * `--flag VALUE` or `--flag=VALUE`; `--` ends them. The global --json and
 * --socket are taken here too, so `scriptctl status 3 --json` works.
 */
int
cmd_parse(struct ctl *ctl, const struct cmd_entry *e, int argc, char **argv,
    struct cmd_args *a)
{
	bool opts = true;

	memset(a, 0, sizeof(*a));
	if ((a->argv = calloc((size_t)argc + 1, sizeof(*a->argv))) == NULL)
		return cmd_usage_error(ctl, "out of memory");
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i], *eq, *val = NULL;
		size_t nlen;
		int fi;

		if (!opts || w[0] != '-' || w[1] == '\0') {
			a->argv[a->argc++] = argv[i];
			continue;
		}
		if (strcmp(w, "--") == 0) {
			opts = false;
			continue;
		}
		if (strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0) {
			cmd_usage_one(stdout, e);
			return -1;
		}
		if (strncmp(w, "--", 2) != 0)
			return cmd_usage_error(ctl, "unknown option %s", w);
		w += 2;
		eq = strchr(w, '=');
		nlen = eq != NULL ? (size_t)(eq - w) : strlen(w);
		if (nlen == 4 && memcmp(w, "json", 4) == 0 && eq == NULL) {
			ctl->json = true;
			continue;
		}
		if (nlen == 6 && memcmp(w, "socket", 6) == 0) {
			if (eq == NULL && i + 1 >= argc)
				return cmd_usage_error(ctl, "--socket needs a "
				    "PATH");
			ctl->socket = eq != NULL ? eq + 1 : argv[++i];
			continue;
		}
		if ((fi = flag_index(e, w, nlen)) < 0)
			return cmd_usage_error(ctl, "unknown option --%.*s",
			    (int)nlen, w);
		if (e->flags[fi].arg == NULL && eq != NULL)
			return cmd_usage_error(ctl, "--%s takes no value",
			    e->flags[fi].name);
		if (e->flags[fi].arg != NULL) {
			if (eq == NULL && i + 1 >= argc)
				return cmd_usage_error(ctl, "--%s needs %s",
				    e->flags[fi].name, e->flags[fi].arg);
			val = eq != NULL ? eq + 1 : argv[++i];
		}
		a->set[fi] = true;
		a->val[fi] = val;
	}
	if (a->argc < e->min_args)
		return cmd_usage_error(ctl, "missing %s", e->args);
	if (a->argc > e->max_args)
		return cmd_usage_error(ctl, "unexpected argument '%s'",
		    a->argv[e->max_args]);
	return 0;
}

const char *
cmd_flag(const struct ctl *ctl, const struct cmd_args *a, const char *name)
{
	int i = flag_index(ctl->cmd, name, strlen(name));

	return i >= 0 && a->set[i] ? a->val[i] : NULL;
}

bool
cmd_flag_set(const struct ctl *ctl, const struct cmd_args *a,
    const char *name)
{
	int i = flag_index(ctl->cmd, name, strlen(name));

	return i >= 0 && a->set[i];
}

int
cmd_job_id(const struct ctl *ctl, const char *s, uint64_t *idp)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v == 0)
		return cmd_usage_error(ctl, "bad job id '%s' (a positive "
		    "integer)", s);
	*idp = v;
	return 0;
}

int
cmd_connect(const struct ctl *ctl, struct conn *c)
{
	struct sc_error err = { 0 };

	if (conn_open(c, ctl->socket, &err) == SC_OK)
		return 0;
	return cmd_fail(ctl, c, &err);
}

int
cmd_fail(const struct ctl *ctl, const struct conn *c,
    const struct sc_error *err)
{
	if (c->refused)
		fprintf(stderr, "scriptctl: %s refused: %s: %s\n",
		    ctl->cmd->name, sc_strerror(err->code), err->msg);
	else
		fprintf(stderr, "scriptctl: %s: %s\n", ctl->cmd->name,
		    err->msg);
	return CTL_EXIT_DAEMON;
}

const char *
cmd_state_name(int state)
{
	static const char *const names[] = {
		[WIRE__JOB_STATE__QUEUED] = "queued",
		[WIRE__JOB_STATE__RUNNING] = "running",
		[WIRE__JOB_STATE__SUSPENDED] = "suspended",
		[WIRE__JOB_STATE__COMPLETED] = "completed",
		[WIRE__JOB_STATE__FAILED] = "failed",
		[WIRE__JOB_STATE__CANCELLED] = "cancelled",
		[WIRE__JOB_STATE__TIMED_OUT] = "timed_out",
	};

	if (state <= 0 || state >= (int)(sizeof(names) / sizeof(*names)))
		return "unknown";
	return names[state];
}

bool
cmd_state_ended(int state)
{
	return state >= WIRE__JOB_STATE__COMPLETED &&
	    state <= WIRE__JOB_STATE__TIMED_OUT;
}

int
cmd_job_exit(const Wire__JobInfo *j)
{
	return cmd_state_ended(j->state) &&
	    j->state != WIRE__JOB_STATE__COMPLETED ? CTL_EXIT_JOB :
	    CTL_EXIT_OK;
}

/*
 * Print the failure the way `scriptd run` does: "error: MSG", then the
 * trace as "  at F (FILE:LINE)" lines, newest first. The daemon's trace
 * lines may or may not carry the indent; it is normalised here.
 */
void
cmd_print_job_error(const Wire__JobInfo *j)
{
	const char *msg = j->error != NULL && j->error[0] != '\0' ? j->error :
	    j->state == WIRE__JOB_STATE__CANCELLED ? "cancelled" :
	    j->state == WIRE__JOB_STATE__TIMED_OUT ? "timed out" :
	    sc_strerror(j->error_code);
	const char *p = j->trace != NULL ? j->trace : "";

	fflush(stdout);
	fprintf(stderr, "error: %s\n", msg);
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		if (n > 0)
			fprintf(stderr, "  %.*s\n", (int)n, p);
		p = nl != NULL ? nl + 1 : p + n;
	}
}

void
cmd_json_str(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch == '\r')
			fputs("\\r", f);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void
json_field(FILE *f, const char *key, const char *s)
{
	fprintf(f, ",\"%s\":", key);
	s = s != NULL ? s : "";
	cmd_json_str(f, s, strlen(s));
}

/* "2026-11-24 09:55:01.123 UTC", or "-" for 0. */
static const char *
fmt_time(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		return "-";
	snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d.%03d UTC",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return buf;
}

void
cmd_print_job(const struct ctl *ctl, const Wire__JobInfo *j)
{
	char t[64];

	if (ctl->json) {
		printf("{\"id\":%" PRIu64 ",\"uid\":%" PRIu32, j->id, j->uid);
		json_field(stdout, "name", j->name);
		json_field(stdout, "state", cmd_state_name(j->state));
		printf(",\"created_ms\":%" PRId64 ",\"started_ms\":%" PRId64
		    ",\"ended_ms\":%" PRId64 ",\"durable\":%s,"
		    "\"error_code\":%" PRId32, j->created_ms, j->started_ms,
		    j->ended_ms, j->durable ? "true" : "false",
		    j->error_code);
		json_field(stdout, "error", j->error);
		json_field(stdout, "trace", j->trace);
		printf(",\"stdout_bytes\":%" PRIu64 ",\"stderr_bytes\":%"
		    PRIu64 ",\"stdout_truncated\":%s,\"stderr_truncated\":%s,"
		    "\"tasks_live\":%" PRIu32, j->stdout_bytes,
		    j->stderr_bytes, j->stdout_truncated ? "true" : "false",
		    j->stderr_truncated ? "true" : "false", j->tasks_live);
		json_field(stdout, "result", j->result);
		printf("}\n");
		return;
	}
	printf("job       %" PRIu64 "\n", j->id);
	printf("name      %s\n", j->name != NULL ? j->name : "");
	printf("state     %s\n", cmd_state_name(j->state));
	printf("uid       %" PRIu32 "\n", j->uid);
	printf("durable   %s\n", j->durable ? "yes" : "no (ephemeral)");
	printf("created   %s\n", fmt_time(j->created_ms, t, sizeof(t)));
	printf("started   %s\n", fmt_time(j->started_ms, t, sizeof(t)));
	printf("ended     %s\n", fmt_time(j->ended_ms, t, sizeof(t)));
	if (j->ended_ms > 0 && j->created_ms > 0)
		printf("elapsed   %" PRId64 " ms\n", j->ended_ms - j->created_ms);
	printf("tasks     %" PRIu32 " live\n", j->tasks_live);
	printf("stdout    %" PRIu64 " bytes%s\n", j->stdout_bytes,
	    j->stdout_truncated ? " (truncated)" : "");
	printf("stderr    %" PRIu64 " bytes%s\n", j->stderr_bytes,
	    j->stderr_truncated ? " (truncated)" : "");
	if (j->state == WIRE__JOB_STATE__COMPLETED)
		printf("result    %s\n", j->result != NULL ? j->result : "");
	if (j->error != NULL && j->error[0] != '\0')
		printf("error     %s\n", j->error);
}
