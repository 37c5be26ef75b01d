/*
 * Fuzz target: a client connection's whole byte stream into the real
 * server. Each input gets a fresh server (no store, so jobs are
 * ephemeral; no FFI workers) and is written into one connection as a
 * client would send it; the loop, the scheduler and the server's turn run
 * (at most TURNS times, fewer once the connection has closed and nothing
 * moves) while the replies are read back, then the server is freed. Frames, Hello, every request kind, submitted bytecode
 * and the jobs it runs must all end in replies, errors or a closed
 * connection: no crash, no leak, no hang. FUZZ_LOG=1 in the environment
 * shows the server's log and the bytes replied (to check a seed works).
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "cfg.h"
#include "log.h"
#include "sched.h"
#include "srv.h"

#define TURNS		64		/* loop turns per input, at most */
#define INPUT_MAX	(256u << 10)	/* fits the socket buffer */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* Read and drop whatever the server replied so far. */
static size_t
drain(int fd)
{
	char buf[16384];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	return total;
}

/* Write all of data (the socket buffer holds INPUT_MAX). */
static void
feed(int fd, const uint8_t *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const struct srv_opts opts = { NULL, NULL, NULL };
	int bufsize = (int)INPUT_MAX * 2;
	struct event_base *base;
	struct vm_limits lim;
	struct sc_error err;
	struct sched *s;
	struct srv *srv;
	struct cfg *cfg;
	size_t replied = 0;
	int sv[2];

	if (len > INPUT_MAX)
		return 0;
	signal(SIGPIPE, SIG_IGN);	/* as the daemon does */
	log_setup(getenv("FUZZ_LOG") != NULL ? 3 : -1, false);
	if ((base = event_base_new()) == NULL)
		return 0;
	if ((cfg = malloc(sizeof(*cfg))) == NULL) {
		event_base_free(base);
		return 0;
	}
	cfg_defaults(cfg);
	cfg->limits.fuel = 1000;
	srv_vm_limits(cfg, &lim);
	if (sched_new(&lim, &s) != SC_OK) {
		free(cfg);
		event_base_free(base);
		return 0;
	}
	if (srv_new(base, s, cfg, &opts, &srv, &err) != SC_OK) {
		sched_free(s);
		event_base_free(base);
		return 0;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) != 0)
		goto out;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
	srv_adopt(srv, sv[0], 1000, 1);
	feed(sv[1], data, len);
	shutdown(sv[1], SHUT_WR);
	for (int i = 0; i < TURNS; i++) {
		size_t got;
		int ran;

		event_base_loop(base, EVLOOP_NONBLOCK);
		ran = sched_run(s, 4);
		srv_before_sleep(srv);
		replied += got = drain(sv[1]);
		if (srv->nconns == 0 && ran == 0 && got == 0)
			break;		/* the connection is over: nothing to see */
	}
	if (getenv("FUZZ_LOG") != NULL)
		fprintf(stderr, "%zu bytes in, %zu bytes of replies\n", len,
		    replied);
	close(sv[1]);
	event_base_loop(base, EVLOOP_NONBLOCK);
	srv_before_sleep(srv);
out:
	srv_free(srv);
	sched_free(s);
	event_base_free(base);
	return 0;
}
