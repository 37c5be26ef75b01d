/*
 * Memory per suspended task: a job spawns N tasks that each sleep with two
 * live ints, the runtime runs until every task is suspended, and we read the
 * process's resident set. Run for a small and a large N in separate child
 * processes; (RSS(large) - RSS(small)) / (large - small) is the cost of one
 * suspended task, everything included (task struct, suspended frame, timer,
 * allocator overhead). The same is done for the peer, lua5.4, with one
 * suspended coroutine per task holding two locals.
 *
 *	bench_tasks [SMALL LARGE]		(defaults 1000 100000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "modio.h"
#include "sched.h"
#include "scriptc.h"

static const char program[] =
    "async fn sleeper(a: int, b: int) -> int {\n"
    "    await sleep(3600000)\n"
    "    a + b\n"
    "}\n"
    "let mut i = 0\n"
    "while i < %ld {\n"
    "    spawn(sleeper(i, i + 1))\n"
    "    i = i + 1\n"
    "}\n"
    "await sleep(3600000)\n";

static const char lua_program[] =
    "local n = %ld\n"
    "local cos = {}\n"
    "for i = 1, n do\n"
    "  local co = coroutine.create(function(a, b)\n"
    "    coroutine.yield()\n"
    "    return a + b\n"
    "  end)\n"
    "  coroutine.resume(co, i, i + 1)\n"
    "  cos[i] = co\n"
    "end\n"
    "local f = io.open('/proc/self/statm')\n"
    "local _, rss = f:read('n', 'n')\n"
    "print(rss * 4096)\n";

static long
rss_bytes(void)
{
	long size = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL || fscanf(f, "%ld %ld", &size, &rss) != 2)
		rss = -1;
	if (f != NULL)
		fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

/* In a child: run the program with n sleepers; print the RSS. */
static long
ours(long n)
{
	int fds[2];
	pid_t pid;
	long rss = -1;

	if (pipe(fds) == -1 || (pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		char src[sizeof(program) + 32];
		struct vm_limits lim;
		struct sc_error err;
		scriptc_result *r;
		struct module *m;
		struct sched *s;
		struct prog *p;
		const uint8_t *b;
		size_t len;

		snprintf(src, sizeof(src), program, n);
		if (scriptc_compile(src, strlen(src), "sleepers.script", &r) !=
		    SC_OK || (b = scriptc_module_bytes(r, &len)) == NULL ||
		    modio_decode(b, len, &m, &err) != SC_OK)
			_exit(1);
		scriptc_free(r);
		vm_limits_default(&lim);
		lim.live_tasks = (uint32_t)n + 16;
		if (sched_new(&lim, &s) != SC_OK ||
		    prog_new(m, module_free, &p, &err) != SC_OK ||
		    sched_submit(s, p, 1, NULL, NULL, &err) != SC_OK) {
			fprintf(stderr, "bench_tasks: %s\n", err.msg);
			_exit(1);
		}
		prog_unref(p);
		while (sched_has_ready(s))
			sched_run(s, 1024);
		if (sched_live_tasks(s) != (uint32_t)n + 1)
			_exit(1);
		rss = rss_bytes();
		if (write(fds[1], &rss, sizeof(rss)) != sizeof(rss))
			_exit(1);
		_exit(0);	/* the OS frees it all at once */
	}
	close(fds[1]);
	if (read(fds[0], &rss, sizeof(rss)) != sizeof(rss))
		rss = -1;
	close(fds[0]);
	waitpid(pid, NULL, 0);
	return rss;
}

static long
peer(long n)
{
	char src[sizeof(lua_program) + 32], cmd[sizeof(src) + 64];
	long rss = -1;
	FILE *f;

	snprintf(src, sizeof(src), lua_program, n);
	snprintf(cmd, sizeof(cmd), "lua5.4 -e \"%s\"", src);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld", &rss) != 1)
		rss = -1;
	pclose(f);
	return rss;
}

int
main(int argc, char **argv)
{
	long small = argc > 2 ? atol(argv[1]) : 1000;
	long large = argc > 2 ? atol(argv[2]) : 100000;
	long a = ours(small), b = ours(large), c = peer(small),
	    d = peer(large);

	if (a < 0 || b < 0 || large <= small) {
		fprintf(stderr, "bench_tasks: run failed\n");
		return 1;
	}
	printf("suspended task  ours %6.0f bytes", (double)(b - a) /
	    (double)(large - small));
	if (c > 0 && d > 0)
		printf("   peer (lua5.4 coroutine) %6.0f bytes   ratio %.2f",
		    (double)(d - c) / (double)(large - small),
		    (double)(b - a) / (double)(d - c));
	printf("   (RSS, %ld vs %ld tasks)\n", large, small);
	return 0;
}
