/*
 * Language test runner (Wren's `// expect:` style). Usage:
 *
 *	lang_runner COMMAND... -- FILE.script
 *
 * runs `COMMAND... FILE.script` (e.g. `scriptd run`), and compares what it
 * did with the expectations written in FILE's comments:
 *
 *	// expect: TEXT               a line of stdout, in order
 *	// expect stderr: TEXT        a line of stderr, in order (when any is
 *	                              given, stderr must match exactly)
 *	// expect error L:C: MSG      a compile error (exit status 2)
 *	// expect warning L:C: MSG    a compile warning
 *	// expect runtime error: MSG  the job fails (exit 1) with "error: MSG"
 *	// expect exit: N             the exit status, when none of the above
 *	                              says it
 *
 * Compile diagnostics must match exactly: every expected one present, no
 * other error. Prints what differs and exits 1 on a mismatch.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_S	60

struct buf {
	char *p;
	size_t n, cap;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL) {
			perror("lang_runner");
			exit(2);
		}
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
puts_line(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
	put(b, "\n", 1);
}

static char *
slurp(const char *path)
{
	struct buf b = { 0 };
	char chunk[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		fprintf(stderr, "lang_runner: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	put(&b, "", 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		put(&b, chunk, n);
	fclose(f);
	return b.p;
}

/* Run argv, capturing stdout and stderr. Returns the exit status, or
 * 128 + signal. */
static int
run(char **argv, struct buf *out, struct buf *err)
{
	int po[2], pe[2], status;
	struct pollfd fds[2];
	time_t deadline = time(NULL) + TIMEOUT_S;
	pid_t pid;

	if (pipe(po) == -1 || pipe(pe) == -1) {
		perror("pipe");
		exit(2);
	}
	if ((pid = fork()) == -1) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	put(out, "", 0);
	put(err, "", 0);
	fds[0] = (struct pollfd){ .fd = po[0], .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = pe[0], .events = POLLIN };
	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		char chunk[65536];

		if (time(NULL) > deadline) {
			fprintf(stderr, "timed out after %d s\n", TIMEOUT_S);
			kill(pid, SIGKILL);
			break;
		}
		if (poll(fds, 2, 1000) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (fds[i].fd < 0 || fds[i].revents == 0)
				continue;
			n = read(fds[i].fd, chunk, sizeof(chunk));
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
			} else
				put(i == 0 ? out : err, chunk, (size_t)n);
		}
	}
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Is line (without newline) in the text, as a whole line? */
static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		if (len == n && memcmp(p, line, n) == 0)
			return true;
		p = nl != NULL ? nl + 1 : NULL;
	}
	return false;
}

static int
count_lines_containing(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

int
main(int argc, char **argv)
{
	struct buf want_out = { 0 }, want_err = { 0 }, out = { 0 },
	    err = { 0 }, diags = { 0 };
	char *src, *line, *save, **cmd;
	const char *runtime_msg = NULL, *file;
	int sep, ncmd, status, want_status = -1, ndiag_errors = 0;
	bool fail = false, any_stderr = false;

	for (sep = 1; sep < argc && strcmp(argv[sep], "--") != 0; sep++)
		;
	if (sep >= argc - 1 || sep == 1) {
		fprintf(stderr, "usage: lang_runner COMMAND... -- FILE\n");
		return 2;
	}
	file = argv[sep + 1];
	ncmd = sep - 1;
	cmd = calloc((size_t)ncmd + 2, sizeof(*cmd));
	for (int i = 0; i < ncmd; i++)
		cmd[i] = argv[1 + i];
	cmd[ncmd] = (char *)file;

	src = slurp(file);
	put(&want_out, "", 0);
	put(&want_err, "", 0);
	put(&diags, "", 0);
	for (line = strtok_r(src, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *e = strstr(line, "// expect");
		char tmp[4096];

		if (e == NULL)
			continue;
		e += strlen("// expect");
		if (strncmp(e, ": ", 2) == 0 || strcmp(e, ":") == 0)
			puts_line(&want_out, e[1] ? e + 2 : "");
		else if (strncmp(e, " stderr: ", 9) == 0) {
			puts_line(&want_err, e + 9);
			any_stderr = true;
		} else if (strncmp(e, " runtime error: ", 16) == 0) {
			runtime_msg = e + 16;
			want_status = 1;
		} else if (strncmp(e, " error ", 7) == 0 ||
		    strncmp(e, " warning ", 9) == 0) {
			bool is_err = e[1] == 'e';
			const char *rest = e + (is_err ? 7 : 9);
			const char *colon = strchr(rest, ':');

			colon = colon != NULL ? strchr(colon + 1, ':') : NULL;
			if (colon == NULL) {
				fprintf(stderr, "%s: bad expectation: %s\n",
				    file, line);
				return 2;
			}
			if (strncmp(rest, "0:0:", 4) == 0)	/* no place */
				snprintf(tmp, sizeof(tmp), "%s: %s:%s", file,
				    is_err ? "error" : "warning", colon + 1);
			else
				snprintf(tmp, sizeof(tmp), "%s:%.*s: %s:%s",
				    file, (int)(colon - rest), rest,
				    is_err ? "error" : "warning", colon + 1);
			puts_line(&diags, tmp);
			if (is_err) {
				ndiag_errors++;
				want_status = 2;
			}
		} else if (strncmp(e, " exit: ", 7) == 0)
			want_status = atoi(e + 7);
	}
	if (want_status == -1)
		want_status = 0;

	status = run(cmd, &out, &err);
	if (status != want_status) {
		fprintf(stderr, "%s: exit status %d, expected %d\n", file,
		    status, want_status);
		fail = true;
	}
	if (strcmp(out.p, want_out.p) != 0) {
		fprintf(stderr, "%s: stdout differs\n--- expected\n%s--- got\n"
		    "%s---\n", file, want_out.p, out.p);
		fail = true;
	}
	for (char *d = diags.p, *nl; *d != '\0'; d = nl + 1) {
		nl = strchr(d, '\n');
		*nl = '\0';
		if (!has_line(err.p, d)) {
			fprintf(stderr, "%s: missing diagnostic: %s\n", file,
			    d);
			fail = true;
		}
	}
	if (ndiag_errors > 0 &&
	    count_lines_containing(err.p, ": error: ") != ndiag_errors) {
		fprintf(stderr, "%s: expected %d errors\n", file,
		    ndiag_errors);
		fail = true;
	}
	if (ndiag_errors == 0 && diags.n == 0 && runtime_msg == NULL &&
	    !any_stderr && want_status == 0 && err.n > 0 &&
	    strstr(err.p, ": warning: ") == NULL) {
		fprintf(stderr, "%s: unexpected stderr\n", file);
		fail = true;
	}
	if (runtime_msg != NULL) {
		char first[4096];

		snprintf(first, sizeof(first), "error: %s", runtime_msg);
		if (!has_line(err.p, first)) {
			fprintf(stderr, "%s: expected the line \"%s\" on "
			    "stderr\n", file, first);
			fail = true;
		}
	}
	if (any_stderr && runtime_msg == NULL &&
	    strcmp(err.p, want_err.p) != 0) {
		fprintf(stderr, "%s: stderr differs\n--- expected\n%s"
		    "--- got\n%s---\n", file, want_err.p, err.p);
		fail = true;
	}
	if (any_stderr && runtime_msg != NULL) {
		for (char *d = want_err.p, *nl; *d != '\0'; d = nl + 1) {
			nl = strchr(d, '\n');
			*nl = '\0';
			if (!has_line(err.p, d)) {
				fprintf(stderr, "%s: missing stderr line: "
				    "%s\n", file, d);
				fail = true;
			}
		}
	}
	if (fail)
		fprintf(stderr, "--- stderr was\n%s---\n", err.p);
	free(src);
	free(out.p);
	free(err.p);
	free(want_out.p);
	free(want_err.p);
	free(diags.p);
	free(cmd);
	return fail ? 1 : 0;
}
