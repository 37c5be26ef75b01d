/*
 * systemd's daemon protocols without libsystemd (sd_listen_fds(3),
 * sd_notify(3), systemd.exec(5) JOURNAL_STREAM). The environment is read
 * once, by sd_init(), and the variables are unset at once so that the FFI
 * workers (posix_spawn with our environ) never see the notify socket or
 * sockets that are not theirs. Nothing here trusts the values: numbers are
 * parsed strictly and the inherited fd is checked before it is used.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sd.h"

static_assert(SD_ADDR_MAX == sizeof(((struct sockaddr_un *)0)->sun_path),
    "SD_ADDR_MAX is the size of a Unix socket address");

static struct sd_listen listen_env;	/* LISTEN_* as parsed */
static char notify_addr[SD_ADDR_MAX];	/* NOTIFY_SOCKET, or "" */
static uint64_t watchdog_usec;		/* WATCHDOG_USEC for us, or 0 */
static char last_fail[SC_ERRMSG_MAX];	/* the last failure logged */

/*
 * A decimal number with digits only (no sign, blank or suffix) of at most
 * max; anything else is false. strtoull alone would take "-1" and " 7".
 */
static bool
number(const char *s, uint64_t max, uint64_t *vp)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*vp = v;
	return true;
}

/* Copy s into a message quoting input: at most 64 bytes of it. */
static const char *
quote(const char *s, char *buf, size_t cap)
{
	snprintf(buf, cap, "%.64s%s", s, strlen(s) > 64 ? "..." : "");
	return buf;
}

/*
 * sd_listen_fds(3) semantics, stricter: the fds are ours only if
 * LISTEN_PID is our pid (else they were meant for a process that exec'd
 * us, or leaked from a parent: ignore them, with a note). A LISTEN_PID or
 * LISTEN_FDS that is not a number is refused rather than guessed at, and
 * so is more than one socket: the daemon serves exactly one, and a socket
 * unit with two ListenStream= lines is a mistake the operator must see.
 */
int
sd_parse_listen(const char *pid, const char *fds, const char *names,
    pid_t self, struct sd_listen *l, struct sc_error *err)
{
	char q[80];
	uint64_t p, n;
	size_t nnames;

	memset(l, 0, sizeof(*l));
	if (pid == NULL && fds == NULL)
		return SC_OK;
	if (pid == NULL) {
		snprintf(l->note, sizeof(l->note), "LISTEN_FDS is set but "
		    "LISTEN_PID is not; ignoring the inherited sockets");
		return SC_OK;
	}
	if (!number(pid, INT32_MAX, &p) || p == 0)
		return sc_errorf(err, SC_EINVAL, "LISTEN_PID=\"%s\" is not a "
		    "process id", quote(pid, q, sizeof(q)));
	if (fds == NULL)
		return sc_errorf(err, SC_EINVAL, "LISTEN_PID is set but "
		    "LISTEN_FDS is not");
	if (!number(fds, SD_LISTEN_FDS_MAX, &n))
		return sc_errorf(err, SC_EINVAL, "LISTEN_FDS=\"%s\" is not a "
		    "number of sockets (0 to %d)", quote(fds, q, sizeof(q)),
		    SD_LISTEN_FDS_MAX);
	if ((pid_t)p != self) {
		snprintf(l->note, sizeof(l->note), "LISTEN_PID=%llu is not "
		    "this process (pid %d); ignoring the %llu inherited "
		    "socket(s)", (unsigned long long)p, (int)self,
		    (unsigned long long)n);
		return SC_OK;
	}
	if (n > 1)
		return sc_errorf(err, SC_EINVAL, "LISTEN_FDS=%llu: scriptd "
		    "serves exactly one socket (give the socket unit one "
		    "ListenStream=)", (unsigned long long)n);
	if (names != NULL) {
		nnames = 1;
		for (const char *s = names; *s != '\0'; s++)
			nnames += *s == ':';
		if (nnames != n || strlen(names) >= sizeof(l->names))
			return sc_errorf(err, SC_EINVAL, "LISTEN_FDNAMES="
			    "\"%s\" does not name the %llu socket(s) of "
			    "LISTEN_FDS",
			    quote(names, q, sizeof(q)),
			    (unsigned long long)n);
		snprintf(l->names, sizeof(l->names), "%s", names);
	}
	l->nfds = (int)n;
	return SC_OK;
}

/*
 * WATCHDOG_USEC is for us unless WATCHDOG_PID names another process
 * (systemd sets it; a child that inherited the variables must not ping on
 * our behalf). 0 means no watchdog.
 */
int
sd_parse_watchdog(const char *usec, const char *pid, pid_t self,
    uint64_t *usecp, struct sc_error *err)
{
	char q[80];
	uint64_t u, p;

	*usecp = 0;
	if (usec == NULL)
		return SC_OK;
	if (!number(usec, UINT64_MAX / 2, &u))
		return sc_errorf(err, SC_EINVAL, "WATCHDOG_USEC=\"%s\" is not "
		    "a number of microseconds", quote(usec, q, sizeof(q)));
	if (pid != NULL) {
		if (!number(pid, INT32_MAX, &p) || p == 0)
			return sc_errorf(err, SC_EINVAL, "WATCHDOG_PID=\"%s\" "
			    "is not a process id", quote(pid, q, sizeof(q)));
		if ((pid_t)p != self)
			return SC_OK;
	}
	*usecp = u;
	return SC_OK;
}

/* systemd.exec(5): JOURNAL_STREAM is "DEV:INO" of the stream it connected
 * to stderr; compare with what fd is now (it may have been redirected). */
bool
sd_is_journal(int fd, const char *journal_stream)
{
	const char *colon;
	char dev[32];
	uint64_t d, i;
	struct stat st;

	if (journal_stream == NULL ||
	    (colon = strchr(journal_stream, ':')) == NULL ||
	    (size_t)(colon - journal_stream) >= sizeof(dev))
		return false;
	memcpy(dev, journal_stream, (size_t)(colon - journal_stream));
	dev[colon - journal_stream] = '\0';
	if (!number(dev, UINT64_MAX, &d) || !number(colon + 1, UINT64_MAX,
	    &i) || fstat(fd, &st) != 0)
		return false;
	return (uint64_t)st.st_dev == d && (uint64_t)st.st_ino == i;
}

int
sd_check_listener(int fd, struct sc_error *err)
{
	int domain = 0, type = 0, acc = 0, fl;
	socklen_t len = sizeof(int);
	struct stat st;

	if (fstat(fd, &st) != 0)
		return sc_errorf(err, SC_EIO, "inherited fd %d: %s", fd,
		    strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return sc_errorf(err, SC_EINVAL, "inherited fd %d is not a "
		    "socket", fd);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_TYPE, &type,
	    &len)) != 0 || (len = sizeof(int), getsockopt(fd, SOL_SOCKET,
	    SO_ACCEPTCONN, &acc, &len)) != 0)
		return sc_errorf(err, SC_EIO, "inherited fd %d: getsockopt: %s",
		    fd, strerror(errno));
	if (domain != AF_UNIX || type != SOCK_STREAM)
		return sc_errorf(err, SC_EINVAL, "inherited fd %d is not a "
		    "Unix stream socket (domain %d, type %d); the socket unit "
		    "needs ListenStream=/path", fd, domain, type);
	if (!acc)
		return sc_errorf(err, SC_EINVAL, "inherited fd %d is not "
		    "listening (the socket unit must not say Accept=yes)", fd);
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
	    (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return sc_errorf(err, SC_EIO, "inherited fd %d: fcntl: %s", fd,
		    strerror(errno));
	return SC_OK;
}

/*
 * One datagram to addr. "@name" is an abstract socket (the '@' becomes
 * the leading NUL, and the length counts no terminator); "/path" a file.
 * Other forms (systemd 254's "vsock:") are refused by name.
 */
int
sd_send(const char *addr, const char *msg, struct sc_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(addr), len = strlen(msg);
	socklen_t salen;
	ssize_t w;
	int fd, e;

	if ((addr[0] != '/' && addr[0] != '@') || n < 2 ||
	    n >= sizeof(sa.sun_path))
		return sc_errorf(err, SC_EINVAL, "NOTIFY_SOCKET=\"%.64s\" is "
		    "not a Unix socket path or @abstract name of at most %zu "
		    "bytes", addr, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, addr, n);
	if (addr[0] == '@') {
		sa.sun_path[0] = '\0';
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
		    1);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return sc_errorf(err, SC_EIO, "notify: socket: %s",
		    strerror(errno));
	w = sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	e = errno;
	close(fd);
	if (w < 0)
		return sc_errorf(err, SC_EIO, "notify %s: %s", addr,
		    strerror(e));
	if ((size_t)w != len)
		return sc_errorf(err, SC_EIO, "notify %s: %zd of %zu bytes "
		    "sent", addr, w, len);
	return SC_OK;
}

int
sd_init(struct sc_error *err)
{
	static const char *const vars[] = { "LISTEN_PID", "LISTEN_FDS",
	    "LISTEN_FDNAMES", "NOTIFY_SOCKET", "WATCHDOG_USEC",
	    "WATCHDOG_PID" };
	struct sc_error e2 = { 0 };
	const char *ns = getenv("NOTIFY_SOCKET");
	int r;

	notify_addr[0] = '\0';
	watchdog_usec = 0;
	r = sd_parse_listen(getenv("LISTEN_PID"), getenv("LISTEN_FDS"),
	    getenv("LISTEN_FDNAMES"), getpid(), &listen_env, err);
	if (r == SC_OK && listen_env.note[0] != '\0')
		log_warn("%s", listen_env.note);
	/* now, before the loop and the store take the lowest free fds */
	if (r == SC_OK && listen_env.nfds == 1)
		r = sd_check_listener(SD_LISTEN_FDS_START, err);
	if (ns != NULL && ((ns[0] != '/' && ns[0] != '@') ||
	    strlen(ns) >= sizeof(notify_addr) || strlen(ns) < 2))
		log_warn("NOTIFY_SOCKET=\"%.64s\" is not a Unix socket path or "
		    "@abstract name; not notifying systemd", ns);
	else if (ns != NULL)
		snprintf(notify_addr, sizeof(notify_addr), "%s", ns);
	if (sd_parse_watchdog(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"),
	    getpid(), &watchdog_usec, &e2) != SC_OK)
		log_warn("%s; no watchdog pings", e2.msg);
	if (watchdog_usec != 0 && notify_addr[0] == '\0') {
		log_warn("WATCHDOG_USEC is set without NOTIFY_SOCKET; no "
		    "watchdog pings");
		watchdog_usec = 0;
	}
	for (size_t i = 0; i < sizeof(vars) / sizeof(*vars); i++)
		unsetenv(vars[i]);
	if (r != SC_OK)
		memset(&listen_env, 0, sizeof(listen_env));
	return r;
}

int
sd_listen_fd(void)
{
	return listen_env.nfds == 1 ? SD_LISTEN_FDS_START : -1;
}

const char *
sd_listen_name(void)
{
	return listen_env.names;
}

uint64_t
sd_watchdog_usec(void)
{
	return watchdog_usec;
}

bool
sd_notify_enabled(void)
{
	return notify_addr[0] != '\0';
}

/* A failure is logged unless it is the one logged last, so a manager
 * that went away does not fill the log with a line a second. */
void
sd_notifyf(const char *fmt, ...)
{
	struct sc_error err = { 0 };
	char msg[SD_MSG_MAX];
	va_list ap;

	if (notify_addr[0] == '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sd_send(notify_addr, msg, &err) != SC_OK) {
		if (strcmp(err.msg, last_fail) != 0)
			log_warn("%s", err.msg);
		memcpy(last_fail, err.msg, sizeof(last_fail));
		return;
	}
	last_fail[0] = '\0';
}

void
sd_notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ull +
	    (unsigned long long)ts.tv_nsec / 1000);
}
