/* Helpers shared by the daemon benchmarks (bench_submit, bench_durable). */
#ifndef SC_BENCHLIB_H
#define SC_BENCHLIB_H

#include <sys/types.h>

#include "err.h"

/* The daemon a benchmark started, killed by bench_die(); -1 when none. */
extern pid_t bench_daemon_pid;

/* Print "PROGRAM: MESSAGE", kill the benchmark's daemon, exit 1. */
void bench_die(const char *fmt, ...) SC_PRINTF(1, 2)
    __attribute__((noreturn));
/* Monotonic clock in seconds. */
double bench_now_s(void);

#endif
