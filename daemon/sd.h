/*
 * The systemd protocols, spoken without libsystemd (they are documented
 * and small): socket activation (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES),
 * state notifications on NOTIFY_SOCKET (READY=1, RELOADING=1, STOPPING=1,
 * STATUS=, WATCHDOG=1), the watchdog interval (WATCHDOG_USEC,
 * WATCHDOG_PID) and whether stderr is the journal (JOURNAL_STREAM).
 * Outside systemd every call is a quiet no-op. Single-threaded.
 */
#ifndef SC_SD_H
#define SC_SD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define SD_LISTEN_FDS_START	3	/* the first fd systemd passes */
#define SD_LISTEN_FDS_MAX	1024	/* more in LISTEN_FDS is garbage */
#define SD_NAME_MAX		256	/* bytes of LISTEN_FDNAMES kept */
#define SD_ADDR_MAX		108	/* sizeof(sun_path) */
#define SD_MSG_MAX		4096	/* bytes of one notification */

/* What LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES say. */
struct sd_listen {
	int nfds;			/* fds passed from 3 on; 0: none */
	char names[SD_NAME_MAX];	/* LISTEN_FDNAMES, or "" */
	char note[SC_ERRMSG_MAX];	/* why they were ignored, or "" */
};

/* Parse the LISTEN_* values (NULL: unset) for process self; garbage or
 * more than one socket is SC_EINVAL; another process's fds are ignored
 * with l->note saying so. */
int sd_parse_listen(const char *pid, const char *fds, const char *names,
    pid_t self, struct sd_listen *l, struct sc_error *err) SC_MUST_CHECK;
/* Parse WATCHDOG_USEC and WATCHDOG_PID (NULL: unset) into *usecp (0: no
 * watchdog for self); garbage is SC_EINVAL. */
int sd_parse_watchdog(const char *usec, const char *pid, pid_t self,
    uint64_t *usecp, struct sc_error *err) SC_MUST_CHECK;
/* Whether JOURNAL_STREAM ("DEV:INO") names the file open on fd. */
bool sd_is_journal(int fd, const char *journal_stream);
/* Check that fd is a listening AF_UNIX SOCK_STREAM socket; make it
 * non-blocking and close-on-exec. */
int sd_check_listener(int fd, struct sc_error *err) SC_MUST_CHECK;
/* Send one datagram msg to addr ("/path" or "@abstract"). */
int sd_send(const char *addr, const char *msg, struct sc_error *err)
    SC_MUST_CHECK;

/* Read and unset the variables (workers must not see them); warns about
 * ignored ones. Fails on LISTEN_* that cannot be trusted, or when the
 * socket passed is not a listening Unix stream socket. Call it before
 * anything opens a file. */
int sd_init(struct sc_error *err) SC_MUST_CHECK;
/* The inherited listening socket, or -1 when not socket-activated. */
int sd_listen_fd(void);
/* Its name from LISTEN_FDNAMES, or "" */
const char *sd_listen_name(void);
/* The watchdog interval in microseconds; 0 when there is none. */
uint64_t sd_watchdog_usec(void);
/* Whether NOTIFY_SOCKET was set. */
bool sd_notify_enabled(void);
/* Send a state notification ("READY=1\nSTATUS=..."); a failure is
 * logged (once per kind of failure), never fatal. */
void sd_notifyf(const char *fmt, ...) SC_PRINTF(1, 2);
/* RELOADING=1 with MONOTONIC_USEC, as systemd 253+ asks. */
void sd_notify_reloading(void);

#endif
