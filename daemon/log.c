/*
 * Log lines on stderr. Each line is formatted whole into one buffer and
 * written with one write(2), so lines from the daemon never interleave
 * mid-line with anything else written to the same stderr. When stderr is
 * the journal, a line starts with its sd-daemon.h priority ("<3>") and
 * carries no time and no "scriptd: " (journald records both itself).
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
static bool journal;			/* stderr is journald's stream */

static const char *const names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warning", [LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

/* sd-daemon.h: SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG. */
static const char prio[] = {
	[LOG_ERROR] = '3', [LOG_WARN] = '4', [LOG_INFO] = '6',
	[LOG_DEBUG] = '7',
};

void
log_setup(int lvl, bool timestamps)
{
	level = lvl;
	stamps = timestamps;
}

void
log_set_journal(bool on)
{
	journal = on;
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
	if (journal)
		n = (size_t)snprintf(line, sizeof(line), "<%c>%s: ", prio[lvl],
		    names[lvl]);
	else if (stamps) {
		struct timeval tv;
		struct tm tm;

		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ ",
		    (long)(tv.tv_usec / 1000));
	}
	if (!journal)
		n += (size_t)snprintf(line + n, sizeof(line) - n,
		    "scriptd: %s: ", names[lvl]);
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
