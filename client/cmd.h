/*
 * scriptctl's command table (tmux style): each command names its usage,
 * argument counts and flags, and a handler that gets the parsed arguments.
 * Handlers return an exit status (CTL_EXIT_*); they print their own output
 * through the helpers here, so --json and the human format stay uniform.
 */
#ifndef CTL_CMD_H
#define CTL_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conn.h"

enum ctl_exit {
	CTL_EXIT_OK = 0,		/* success, or the job completed */
	CTL_EXIT_JOB = 1,		/* job failed, was cancelled, timed out */
	CTL_EXIT_USAGE = 2,		/* bad command line, compile errors */
	CTL_EXIT_DAEMON = 3,		/* daemon unreachable or refused */
};

#define CMD_FLAGS_MAX	8		/* flags one command may take */

struct cmd_flag {
	const char *name;		/* "timeout" for --timeout */
	const char *arg;		/* "SECONDS", or NULL for a switch */
	const char *help;		/* one line for --help */
};

struct cmd_args {
	int argc;			/* positional arguments */
	char **argv;			/* ... after the command name */
	const char *val[CMD_FLAGS_MAX];	/* flag values, by table index */
	bool set[CMD_FLAGS_MAX];	/* flag given, by table index */
};

struct ctl {
	const char *socket;		/* --socket, $SCRIPTD_SOCKET, default */
	bool json;			/* --json: one object per line */
	const struct cmd_entry *cmd;	/* the command being run */
};

struct cmd_entry {
	const char *name;		/* "submit" */
	const char *args;		/* "FILE", shown in usage */
	const char *summary;		/* one line for the command list */
	int min_args;			/* positional arguments, at least */
	int max_args;			/* ... and at most */
	struct cmd_flag flags[CMD_FLAGS_MAX];	/* ends at name NULL */
	int (*exec)(struct ctl *, struct cmd_args *);	/* CTL_EXIT_* */
};

extern const struct cmd_entry cmd_submit_entry;
extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_wait_entry;
extern const struct cmd_entry cmd_cancel_entry;
extern const struct cmd_entry cmd_list_entry;
extern const struct cmd_entry cmd_logs_entry;
extern const struct cmd_entry cmd_stats_entry;

/* The command called name, or NULL. */
const struct cmd_entry *cmd_find(const char *name);
/* Print the global usage (all commands) or one command's. */
void cmd_usage(FILE *f);
void cmd_usage_one(FILE *f, const struct cmd_entry *e);
/* Parse argv (after the command name) into a; prints and returns
 * CTL_EXIT_USAGE on error, -1 on --help (printed), 0 otherwise. */
int cmd_parse(struct ctl *ctl, const struct cmd_entry *e, int argc,
    char **argv, struct cmd_args *a);
/* The value of flag name, or NULL; cmd_flag_set: was it given. */
const char *cmd_flag(const struct ctl *ctl, const struct cmd_args *a,
    const char *name);
bool cmd_flag_set(const struct ctl *ctl, const struct cmd_args *a,
    const char *name);

/* Print "scriptctl: MSG" to stderr and return CTL_EXIT_USAGE. */
int cmd_usage_error(const struct ctl *ctl, const char *fmt, ...)
    SC_PRINTF(2, 3);
/* Parse a job id (decimal, > 0); prints a usage error on failure. */
int cmd_job_id(const struct ctl *ctl, const char *s, uint64_t *idp);
/* Connect; on failure print and return CTL_EXIT_DAEMON. */
int cmd_connect(const struct ctl *ctl, struct conn *c);
/* Print a failed request ("scriptctl: CMD refused: KIND: MSG" when the
 * daemon refused, "scriptctl: CMD: MSG" otherwise); CTL_EXIT_DAEMON. */
int cmd_fail(const struct ctl *ctl, const struct conn *c,
    const struct sc_error *err);

/* Lower-case name of a job state ("completed"). */
const char *cmd_state_name(int state);
/* Is the state terminal (completed, failed, cancelled, timed out)? */
bool cmd_state_ended(int state);
/* The exit status for a job's state: 0 running or completed, else 1. */
int cmd_job_exit(const Wire__JobInfo *j);
/* Print "error: MSG" and "  at F (FILE:LINE)" lines for a failed job. */
void cmd_print_job_error(const Wire__JobInfo *j);
/* Print a job as one JSON line, or as "key value" lines. */
void cmd_print_job(const struct ctl *ctl, const Wire__JobInfo *j);

/* JSON output: a string with escapes, quoted. */
void cmd_json_str(FILE *f, const char *s, size_t len);

/* Shared by submit and run: compile or read FILE, send Submit; on success
 * *jobp is the new job's id. Returns CTL_EXIT_*. */
int cmd_submit_file(struct ctl *ctl, struct cmd_args *a, struct conn *c,
    uint64_t *jobp);
/* Stream a job's logs (Logs request) until done: used by logs and run.
 * Writes stdout/stderr chunks as want_* say; CTL_EXIT_*. */
int cmd_stream_logs(struct ctl *ctl, struct conn *c, uint64_t job,
    bool follow, FILE *out_stdout, FILE *out_stderr);

#endif
