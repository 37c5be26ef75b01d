/* Helpers shared by the daemon benchmarks (bench_submit, bench_durable,
 * bench_ffi): dying, the clock, and a client connection that packs
 * requests and reads replies whole. */
#ifndef SC_BENCHLIB_H
#define SC_BENCHLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "frame.h"

#define BENCH_RBUF_SIZE	(1u << 20)	/* reply read buffer */

/* A connection to the daemon and the replies read ahead on it. */
struct bench_conn {
	int fd;				/* connection */
	uint8_t *buf;			/* BENCH_RBUF_SIZE bytes */
	size_t off;			/* first unparsed byte */
	size_t len;			/* bytes held */
};

/* The daemon a benchmark started, killed by bench_die(); -1 when none. */
extern pid_t bench_daemon_pid;

/* Print "PROGRAM: MESSAGE", kill the benchmark's daemon, exit 1. */
void bench_die(const char *fmt, ...) SC_PRINTF(1, 2)
    __attribute__((noreturn));
/* Monotonic clock in seconds. */
double bench_now_s(void);

/* A connected Unix socket to path, or die. */
int bench_dial(const char *path);
/* Connect r to the daemon's socket at path and Hello as client, or die. */
void bench_connect(struct bench_conn *r, const char *path,
    const char *client);
/* Write all of buf to fd, or die. */
void bench_put(int fd, const void *buf, size_t len);
/* Whether a whole frame is already buffered (no read needed). */
bool bench_have_frame(const struct bench_conn *r);
/* The next frame's body (valid until the next read), reading as needed. */
void bench_next_frame(struct bench_conn *r, const uint8_t **bodyp,
    size_t *lenp);
/* The next reply (frame_msg_free() it); an Error reply dies. */
Wire__Reply *bench_next_reply(struct bench_conn *r);
/* Pack req into buf (header and body); returns the frame's length. */
size_t bench_pack_req(Wire__Request *req, uint8_t *buf);
/* Pack a Submit of module mod as request id into buf. */
size_t bench_pack_submit(uint64_t id, const uint8_t *mod, size_t modlen,
    bool ephemeral, uint8_t *buf);

#endif
