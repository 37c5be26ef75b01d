/*
 * Log lines on stderr. Each line is formatted whole into one buffer and
 * written with one write(2), so lines from the daemon never interleave
 * mid-line with anything else written to the same stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int level = LOG_INFO;
static bool stamps = true;

static const char *const names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warning", [LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

void
log_setup(int lvl, bool timestamps)
{
	level = lvl;
	stamps = timestamps;
}

bool
log_enabled(int lvl)
{
	return lvl <= level;
}

void
log_msg(int lvl, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	size_t n = 0;
	va_list ap;
	int r;

	if (lvl > level || lvl < LOG_ERROR)
		return;
	if (stamps) {
		struct timeval tv;
		struct tm tm;

		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ ",
		    (long)(tv.tv_usec / 1000));
	}
	n += (size_t)snprintf(line + n, sizeof(line) - n, "scriptd: %s: ",
	    names[lvl]);
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r < 0)
		r = 0;
	n = n + (size_t)r >= sizeof(line) - 1 ? sizeof(line) - 2 : n + (size_t)r;
	line[n++] = '\n';
	/* nowhere to report a failed write to stderr */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
