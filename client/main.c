/*
 * scriptctl: the command-line client of scriptd. Parses the global options
 * (--socket, --json, --help, --version), finds the command in the table
 * (cmd.c) and runs it. Exit status: 0 success or job completed, 1 job
 * failed, cancelled or timed out, 2 usage or compile error, 3 daemon
 * unreachable or request refused. Only this file and the command handlers
 * print and choose exit codes.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "scriptc.h"

#define DEFAULT_SOCKET		"/run/scriptd/scriptd.sock"

int
main(int argc, char **argv)
{
	struct ctl ctl = { 0 };
	struct cmd_args a;
	const struct cmd_entry *e;
	const char *env = getenv("SCRIPTD_SOCKET");
	int i, rc;

	/* A daemon that goes away is an error return, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	ctl.socket = env != NULL && env[0] != '\0' ? env : DEFAULT_SOCKET;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *w = argv[i];

		if (strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0) {
			cmd_usage(stdout);
			return CTL_EXIT_OK;
		} else if (strcmp(w, "--version") == 0) {
			/* one version for the whole suite: scriptc.h's */
			printf("scriptctl " SCRIPTD_VERSION " (protocol %u)\n",
			    WIRE_PROTOCOL_VERSION);
			return CTL_EXIT_OK;
		} else if (strcmp(w, "--json") == 0)
			ctl.json = true;
		else if (strcmp(w, "--socket") == 0 && i + 1 < argc)
			ctl.socket = argv[++i];
		else if (strncmp(w, "--socket=", 9) == 0)
			ctl.socket = w + 9;
		else {
			fprintf(stderr, "scriptctl: unknown option %s\n", w);
			cmd_usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		cmd_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		if (i + 1 >= argc) {
			cmd_usage(stdout);
			return CTL_EXIT_OK;
		}
		if ((e = cmd_find(argv[i + 1])) == NULL) {
			fprintf(stderr, "scriptctl: unknown command '%s'\n",
			    argv[i + 1]);
			return CTL_EXIT_USAGE;
		}
		cmd_usage_one(stdout, e);
		return CTL_EXIT_OK;
	}
	if ((e = cmd_find(argv[i])) == NULL) {
		fprintf(stderr, "scriptctl: unknown command '%s'\n", argv[i]);
		cmd_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	ctl.cmd = e;
	rc = cmd_parse(&ctl, e, argc - i - 1, argv + i + 1, &a);
	if (rc == 0)
		rc = e->exec(&ctl, &a);
	else if (rc < 0)
		rc = CTL_EXIT_OK;		/* --help was printed */
	free(a.argv);
	fflush(stdout);
	return rc;
}
