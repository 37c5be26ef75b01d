/*
 * The daemon's log: one line per event on stderr, "LEVEL: message", with
 * an optional UTC timestamp, or "<N>LEVEL: message" (N the syslog
 * priority, no timestamp) when stderr is the journal. Lines are cut at LOG_LINE_MAX bytes, so input
 * quoted in a message cannot make a line unbounded. Single-threaded.
 */
#ifndef SC_LOG_H
#define SC_LOG_H

#include "err.h"

#define LOG_LINE_MAX	1024		/* bytes of one line, with prefix */

enum log_level {
	LOG_ERROR,			/* = CFG_LOG_ERROR */
	LOG_WARN,			/* = CFG_LOG_WARN */
	LOG_INFO,			/* = CFG_LOG_INFO */
	LOG_DEBUG,			/* = CFG_LOG_DEBUG */
};

/* Least severe level written, and whether lines start with the time. */
void log_setup(int level, bool timestamps);
/* stderr is journald's stream: "<N>" priority prefixes, no timestamps. */
void log_set_journal(bool on);
/* Whether a message at level would be written. */
bool log_enabled(int level);
/* Write one line at level. */
void log_msg(int level, const char *fmt, ...) SC_PRINTF(2, 3);

#define log_error(...)	log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	do { if (log_enabled(LOG_DEBUG)) \
	log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
