/*
 * daemon/sd.c: the LISTEN_* and WATCHDOG_* parsers with good and bad
 * values, JOURNAL_STREAM matching, the inherited-socket checks, and
 * notifications received by a test listener on a datagram socket (file
 * and abstract names); plus log.c's "<N>" prefixes for the journal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "sd.h"

static char dir[] = "/tmp/test_sd.XXXXXX";

/* A datagram socket bound to path ("@name": abstract), or -1. */
static int
listener(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(sa.sun_family) + strlen(path) + 1;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@') {
		sa.sun_path[0] = '\0';
		len--;
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) != 0) {
		perror(path);
		return -1;
	}
	return fd;
}

/* One datagram from fd into buf (NUL-terminated), waiting at most 1 s. */
static ssize_t
receive(int fd, char *buf, size_t cap)
{
	struct timeval tv = { 1, 0 };
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, buf, cap - 1, 0);
	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

static void
test_listen_unset(void)
{
	struct sc_error err = { 0 };
	struct sd_listen l;

	CHECK_INT_EQ(sd_parse_listen(NULL, NULL, NULL, 100, &l, &err), SC_OK);
	CHECK_INT_EQ(l.nfds, 0);
	CHECK_STR_EQ(l.note, "");
	CHECK_INT_EQ(sd_parse_listen("100", "0", NULL, 100, &l, &err), SC_OK);
	CHECK_INT_EQ(l.nfds, 0);
}

static void
test_listen_ours(void)
{
	struct sc_error err = { 0 };
	struct sd_listen l;

	CHECK_INT_EQ(sd_parse_listen("4242", "1", NULL, 4242, &l, &err), SC_OK);
	CHECK_INT_EQ(l.nfds, 1);
	CHECK_STR_EQ(l.names, "");
	CHECK_INT_EQ(sd_parse_listen("4242", "1", "scriptd.socket", 4242, &l,
	    &err), SC_OK);
	CHECK_INT_EQ(l.nfds, 1);
	CHECK_STR_EQ(l.names, "scriptd.socket");
	CHECK_STR_EQ(l.note, "");
}

static void
test_listen_not_ours(void)
{
	struct sc_error err = { 0 };
	struct sd_listen l;

	CHECK_INT_EQ(sd_parse_listen("4243", "1", "x", 4242, &l, &err), SC_OK);
	CHECK_INT_EQ(l.nfds, 0);
	CHECK_STR_EQ(l.note, "LISTEN_PID=4243 is not this process (pid 4242); "
	    "ignoring the 1 inherited socket(s)");
	CHECK_INT_EQ(sd_parse_listen(NULL, "1", NULL, 4242, &l, &err), SC_OK);
	CHECK_INT_EQ(l.nfds, 0);
	CHECK_STR_CONTAINS(l.note, "LISTEN_FDS is set but LISTEN_PID is not");
}

static void
test_listen_garbage(void)
{
	struct sc_error err = { 0 };
	struct sd_listen l;

	CHECK_INT_EQ(sd_parse_listen("12x", "1", NULL, 12, &l, &err),
	    SC_EINVAL);
	CHECK_STR_EQ(err.msg, "LISTEN_PID=\"12x\" is not a process id");
	CHECK_INT_EQ(l.nfds, 0);
	CHECK_INT_EQ(sd_parse_listen("-12", "1", NULL, 12, &l, &err),
	    SC_EINVAL);
	CHECK_STR_EQ(err.msg, "LISTEN_PID=\"-12\" is not a process id");
	CHECK_INT_EQ(sd_parse_listen("0", "1", NULL, 0, &l, &err), SC_EINVAL);
	CHECK_INT_EQ(sd_parse_listen("99999999999", "1", NULL, 12, &l, &err),
	    SC_EINVAL);
	CHECK_STR_CONTAINS(err.msg, "is not a process id");
	CHECK_INT_EQ(sd_parse_listen("12", " 1", NULL, 12, &l, &err),
	    SC_EINVAL);
	CHECK_STR_EQ(err.msg, "LISTEN_FDS=\" 1\" is not a number of sockets "
	    "(0 to 1024)");
	CHECK_INT_EQ(sd_parse_listen("12", "", NULL, 12, &l, &err), SC_EINVAL);
	CHECK_STR_CONTAINS(err.msg, "LISTEN_FDS=\"\" is not a number");
	CHECK_INT_EQ(sd_parse_listen("12", "1025", NULL, 12, &l, &err),
	    SC_EINVAL);
	CHECK_STR_CONTAINS(err.msg, "LISTEN_FDS=\"1025\" is not a number");
	CHECK_INT_EQ(sd_parse_listen("12", NULL, NULL, 12, &l, &err),
	    SC_EINVAL);
	CHECK_STR_EQ(err.msg, "LISTEN_PID is set but LISTEN_FDS is not");
	CHECK_INT_EQ(sd_parse_listen("12", "1", "a:b", 12, &l, &err),
	    SC_EINVAL);
	CHECK_STR_EQ(err.msg, "LISTEN_FDNAMES=\"a:b\" does not name the 1 "
	    "socket(s) of LISTEN_FDS");
	CHECK_INT_EQ(l.nfds, 0);
}

static void
test_listen_too_many(void)
{
	struct sc_error err = { 0 };
	struct sd_listen l;

	CHECK_INT_EQ(sd_parse_listen("12", "2", "a:b", 12, &l, &err),
	    SC_EINVAL);
	CHECK_STR_EQ(err.msg, "LISTEN_FDS=2: scriptd serves exactly one socket "
	    "(give the socket unit one ListenStream=)");
	CHECK_INT_EQ(l.nfds, 0);
}

static void
test_watchdog(void)
{
	struct sc_error err = { 0 };
	uint64_t u = 7;

	CHECK_INT_EQ(sd_parse_watchdog(NULL, NULL, 5, &u, &err), SC_OK);
	CHECK_INT_EQ(u, 0);
	CHECK_INT_EQ(sd_parse_watchdog("30000000", NULL, 5, &u, &err), SC_OK);
	CHECK_INT_EQ(u, 30000000);
	CHECK_INT_EQ(sd_parse_watchdog("30000000", "5", 5, &u, &err), SC_OK);
	CHECK_INT_EQ(u, 30000000);
	CHECK_INT_EQ(sd_parse_watchdog("30000000", "6", 5, &u, &err), SC_OK);
	CHECK_INT_EQ(u, 0);
	CHECK_INT_EQ(sd_parse_watchdog("30s", NULL, 5, &u, &err), SC_EINVAL);
	CHECK_STR_EQ(err.msg, "WATCHDOG_USEC=\"30s\" is not a number of "
	    "microseconds");
	CHECK_INT_EQ(u, 0);
	CHECK_INT_EQ(sd_parse_watchdog("1000", "pid", 5, &u, &err), SC_EINVAL);
	CHECK_STR_EQ(err.msg, "WATCHDOG_PID=\"pid\" is not a process id");
}

static void
test_journal(void)
{
	char path[64], env[64];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/j", dir);
	fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	CHECK(sd_is_journal(fd, env));
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino + 1);
	CHECK(!sd_is_journal(fd, env));
	CHECK(!sd_is_journal(fd, NULL));
	CHECK(!sd_is_journal(fd, ""));
	CHECK(!sd_is_journal(fd, "x:y"));
	CHECK(!sd_is_journal(fd, "12"));
	CHECK(!sd_is_journal(-1, "1:2"));
	close(fd);
}

static void
test_check_listener(void)
{
	struct sc_error err = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, p[2];

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK_INT_EQ(sd_check_listener(fd, &err), SC_EINVAL);
	CHECK_STR_CONTAINS(err.msg, "is not listening (the socket unit must "
	    "not say Accept=yes)");
	CHECK(listen(fd, 4) == 0);
	CHECK_INT_EQ(sd_check_listener(fd, &err), SC_OK);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_INT_EQ(sd_check_listener(fd, &err), SC_EINVAL);
	CHECK_STR_CONTAINS(err.msg, "is not a Unix stream socket");
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_INT_EQ(sd_check_listener(fd, &err), SC_EINVAL);
	CHECK_STR_CONTAINS(err.msg, "needs ListenStream=/path");
	close(fd);
	CHECK(pipe(p) == 0);
	CHECK_INT_EQ(sd_check_listener(p[0], &err), SC_EINVAL);
	CHECK_STR_CONTAINS(err.msg, "is not a socket");
	close(p[0]);
	close(p[1]);
	CHECK_INT_EQ(sd_check_listener(p[0], &err), SC_EIO);
	CHECK_STR_CONTAINS(err.msg, "Bad file descriptor");
}

static void
test_send(void)
{
	struct sc_error err = { 0 };
	char path[80], name[64], buf[256];
	int fd, afd;

	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = listener(path);
	CHECK(fd >= 0);
	CHECK_INT_EQ(sd_send(path, "READY=1\nSTATUS=up", &err), SC_OK);
	CHECK(receive(fd, buf, sizeof(buf)) > 0);
	CHECK_STR_EQ(buf, "READY=1\nSTATUS=up");
	close(fd);
	/* the listener is gone: the send fails and says where to */
	CHECK_INT_EQ(sd_send(path, "READY=1", &err), SC_EIO);
	CHECK_STR_CONTAINS(err.msg, "notify /tmp/test_sd.");
	CHECK_STR_CONTAINS(err.msg, "Connection refused");

	snprintf(name, sizeof(name), "@scriptd-test-sd-%d", (int)getpid());
	afd = listener(name);
	CHECK(afd >= 0);
	CHECK_INT_EQ(sd_send(name, "WATCHDOG=1", &err), SC_OK);
	CHECK(receive(afd, buf, sizeof(buf)) > 0);
	CHECK_STR_EQ(buf, "WATCHDOG=1");
	close(afd);

	CHECK_INT_EQ(sd_send("relative/path", "READY=1", &err), SC_EINVAL);
	CHECK_STR_CONTAINS(err.msg, "NOTIFY_SOCKET=\"relative/path\" is not a "
	    "Unix socket path or @abstract name");
	CHECK_INT_EQ(sd_send("vsock:2:1234", "READY=1", &err), SC_EINVAL);
	CHECK_INT_EQ(sd_send("@", "READY=1", &err), SC_EINVAL);
}

/* Move fd to fd 3 (where systemd passes the first socket). */
static void
onto3(int fd)
{
	if (fd != 3) {
		CHECK(dup2(fd, 3) == 3);
		close(fd);
	}
}

static void
test_init_and_notify(void)
{
	struct sc_error err = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[80], pid[16], buf[256];
	unsigned long long usec;
	struct timespec ts;
	int fd, lfd, p[2];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	/* fd 3 must be what systemd passes: first a pipe, refused */
	CHECK(pipe(p) == 0);
	close(p[1]);
	onto3(p[0]);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	CHECK_INT_EQ(sd_init(&err), SC_EINVAL);
	CHECK_STR_EQ(err.msg, "inherited fd 3 is not a socket");
	CHECK_INT_EQ(sd_listen_fd(), -1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/l3", dir);
	CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    listen(lfd, 4) == 0);
	onto3(lfd);
	/* after fd 3 is taken, so that it is not the listener */
	snprintf(path, sizeof(path), "%s/n2", dir);
	fd = listener(path);
	CHECK(fd > 3);
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_FDNAMES", "scriptd.socket", 1);
	setenv("WATCHDOG_USEC", "2000000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	CHECK_INT_EQ(sd_init(&err), SC_OK);
	/* unset for the FFI workers */
	CHECK(getenv("NOTIFY_SOCKET") == NULL);
	CHECK(getenv("LISTEN_PID") == NULL);
	CHECK(getenv("LISTEN_FDS") == NULL);
	CHECK(getenv("LISTEN_FDNAMES") == NULL);
	CHECK(getenv("WATCHDOG_USEC") == NULL);
	CHECK(getenv("WATCHDOG_PID") == NULL);
	CHECK_INT_EQ(sd_listen_fd(), 3);
	CHECK_STR_EQ(sd_listen_name(), "scriptd.socket");
	CHECK_INT_EQ(sd_watchdog_usec(), 2000000);
	CHECK(sd_notify_enabled());

	sd_notifyf("READY=1\nSTATUS=%d live jobs", 3);
	CHECK(receive(fd, buf, sizeof(buf)) > 0);
	CHECK_STR_EQ(buf, "READY=1\nSTATUS=3 live jobs");
	sd_notify_reloading();
	CHECK(receive(fd, buf, sizeof(buf)) > 0);
	CHECK(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	usec = strtoull(buf + 27, NULL, 10);
	CHECK(usec <= (unsigned long long)ts.tv_sec * 1000000 + 1000000 &&
	    usec + 5000000 >= (unsigned long long)ts.tv_sec * 1000000);
	close(fd);

	/* more than one socket is refused and leaves none */
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "2", 1);
	CHECK_INT_EQ(sd_init(&err), SC_EINVAL);
	CHECK_STR_CONTAINS(err.msg, "serves exactly one socket");
	CHECK_INT_EQ(sd_listen_fd(), -1);
	CHECK(getenv("LISTEN_FDS") == NULL);
	/* the watchdog is another process's */
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "2000000", 1);
	setenv("WATCHDOG_PID", "1", 1);
	CHECK_INT_EQ(sd_init(&err), SC_OK);
	CHECK_INT_EQ(sd_watchdog_usec(), 0);
	CHECK_INT_EQ(sd_listen_fd(), -1);
	close(3);
}

/* Run fn with stderr sent to a file; its text in buf. */
static void
capture(void (*fn)(void), char *buf, size_t cap)
{
	char path[80];
	int fd, saved;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/log", dir);
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
	saved = dup(2);
	dup2(fd, 2);
	fn();
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, cap - 1, 0);
	buf[n < 0 ? 0 : n] = '\0';
	close(fd);
}

static void
log_some(void)
{
	log_error("database %s is locked", "x.db");
	log_warn("w %d", 4);
	log_info("listening on %s", "/run/s");
	log_debug("d");
}

static void
test_log_journal(void)
{
	char buf[1024];

	log_setup(LOG_DEBUG, true);
	log_set_journal(true);
	capture(log_some, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "<3>error: database x.db is locked\n"
	    "<4>warning: w 4\n<6>info: listening on /run/s\n<7>debug: d\n");
	log_set_journal(false);
	log_setup(LOG_WARN, false);
	capture(log_some, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "scriptd: error: database x.db is locked\n"
	    "scriptd: warning: w 4\n");
	log_setup(LOG_ERROR, true);
	capture(log_some, buf, sizeof(buf));
	CHECK(buf[0] == '2' && strstr(buf, "Z scriptd: error: database x.db "
	    "is locked\n") != NULL);
	log_setup(LOG_INFO, true);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_listen_unset);
	RUN(test_listen_ours);
	RUN(test_listen_not_ours);
	RUN(test_listen_garbage);
	RUN(test_listen_too_many);
	RUN(test_watchdog);
	RUN(test_journal);
	RUN(test_check_listener);
	RUN(test_send);
	RUN(test_init_and_notify);
	RUN(test_log_journal);
	{
		char cmd[80];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			perror(cmd);
	}
	return check_done();
}
