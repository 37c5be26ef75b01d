/*
 * Runs our command and a peer's, alternately, RUNS times each in one run, and
 * prints the median wall time, the peak resident memory (the child's
 * ru_maxrss) and the ratio ours / peer. Alternating spreads the noise of a
 * shared machine over both. Output of the commands goes to /dev/null.
 *
 *	sidebyside NAME RUNS -- OUR COMMAND... -- PEER COMMAND...
 *
 * Prints one line: NAME  ours MS  peer MS  ratio R  (and the RSS of each).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNS_MAX	101

/* Run argv; return wall seconds, and the child's peak RSS in KiB. */
static double
run(char **argv, long *maxrss)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (pid == -1 || wait4(pid, &status, 0, &ru) == -1 ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "sidebyside: %s failed\n", argv[0]);
		exit(1);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*maxrss = ru.ru_maxrss;
	return (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	double ours[RUNS_MAX], peer[RUNS_MAX];
	long rss_ours = 0, rss_peer = 0, rss;
	char **a, **b;
	int runs, i;

	if (argc < 6 || strcmp(argv[3], "--") != 0 ||
	    (runs = atoi(argv[2])) < 1 || runs > RUNS_MAX) {
		fprintf(stderr, "usage: sidebyside NAME RUNS -- OURS... -- "
		    "PEER...\n");
		return 2;
	}
	a = &argv[4];
	for (i = 4; i < argc && strcmp(argv[i], "--") != 0; i++)
		;
	if (i >= argc - 1) {
		fprintf(stderr, "sidebyside: no peer command\n");
		return 2;
	}
	argv[i] = NULL;
	b = &argv[i + 1];
	for (i = 0; i < runs; i++) {
		ours[i] = run(a, &rss);
		rss_ours = rss > rss_ours ? rss : rss_ours;
		peer[i] = run(b, &rss);
		rss_peer = rss > rss_peer ? rss : rss_peer;
	}
	qsort(ours, (size_t)runs, sizeof(ours[0]), cmp);
	qsort(peer, (size_t)runs, sizeof(peer[0]), cmp);
	printf("%-14s ours %9.1f ms %8ld KiB   peer %9.1f ms %8ld KiB   "
	    "ratio %.2f\n", argv[1], ours[runs / 2] * 1e3, rss_ours,
	    peer[runs / 2] * 1e3, rss_peer, ours[runs / 2] / peer[runs / 2]);
	return 0;
}
