/*
 * The FFI test fixture: a small native library for the worker to load
 * (tests/unit/test_ffiworker.c, the e2e tests, bench/bench_ffi.c). It has
 * one function per behaviour the sandbox must survive or stop: plain types,
 * strings, objects behind `ptr`, crashes, a hang, an endless allocation and
 * forbidden system calls. Nothing here is careful on purpose; it is a fixture.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The exported functions, with their Script signatures. */
int64_t st_add(int64_t a, int64_t b);		/* (int, int) -> int */
int32_t st_add32(int32_t a, int32_t b);		/* (i32, i32) -> i32 */
double st_scale(double x, double k);	/* (float, float) -> float */
bool st_not(bool b);				/* (bool) -> bool */
const char *st_greet(const char *name);		/* (string) -> string */
int64_t st_len(const char *s);			/* (string) -> int */
void *st_obj_new(int64_t v);			/* (int) -> ptr */
int64_t st_obj_get(void *o);			/* (ptr) -> int */
void st_obj_free(void *o);			/* (ptr) -> () */
int64_t st_crash(void);				/* () -> int: SIGSEGV */
int64_t st_abort(void);				/* () -> int: SIGABRT */
int64_t st_hang(void);				/* () -> int: spins */
int64_t st_hog(void);				/* () -> int: hogs */
int64_t st_open(const char *path);		/* (string) -> int: open(2) */
int64_t st_spawn(void);				/* () -> int: fork(2) */
int64_t st_socket(void);			/* () -> int: socket(2) */
const char *st_null_str(void);			/* () -> string: NULL */
const char *st_bad_utf8(void);			/* () -> string: not UTF-8 */
int64_t st_spin_ms(int64_t ms);			/* (int) -> int: burn CPU */

/* An object a Script handle stands for. */
struct st_obj {
	int64_t v;			/* what st_obj_get() returns */
};

/*
 * Read through a volatile variable so the compiler cannot see the NULL and
 * replace the faulting store with a trap instruction (SIGILL).
 */
static char *volatile nowhere;
static volatile uint64_t spins;

int64_t
st_add(int64_t a, int64_t b)
{
	return a + b;
}

int32_t
st_add32(int32_t a, int32_t b)
{
	return a + b;
}

double
st_scale(double x, double k)
{
	return x * k;
}

bool
st_not(bool b)
{
	return !b;
}

/* "hello, NAME" in a static buffer (cut at 255 bytes). */
const char *
st_greet(const char *name)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "hello, %s", name);
	return buf;
}

int64_t
st_len(const char *s)
{
	return (int64_t)strlen(s);
}

void *
st_obj_new(int64_t v)
{
	struct st_obj *o = malloc(sizeof(*o));

	if (o != NULL)
		o->v = v;
	return o;
}

int64_t
st_obj_get(void *o)
{
	return ((struct st_obj *)o)->v;
}

void
st_obj_free(void *o)
{
	free(o);
}

int64_t
st_crash(void)
{
	*nowhere = 1;
	return 0;
}

int64_t
st_abort(void)
{
	abort();
}

int64_t
st_hang(void)
{
	for (;;)
		spins++;
}

/* Allocate and touch 1 MiB blocks until malloc fails, then use the NULL. */
int64_t
st_hog(void)
{
	for (;;) {
		char *p = malloc(1u << 20);

		if (p == NULL) {
			nowhere = p;
			*nowhere = 1;
			return 0;
		}
		memset(p, 1, 1u << 20);
	}
}

int64_t
st_open(const char *path)
{
	return open(path, O_RDONLY);
}

/* The child, if there ever is one, leaves at once. */
int64_t
st_spawn(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	return pid;
}

int64_t
st_socket(void)
{
	return socket(AF_INET, SOCK_STREAM, 0);
}

const char *
st_null_str(void)
{
	return NULL;
}

/* Burn ms of this process's CPU time; returns the loops made. */
int64_t
st_spin_ms(int64_t ms)
{
	struct timespec a, b;
	volatile int64_t n = 0;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	do {
		for (int i = 0; i < 10000; i++)
			n++;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000 +
	    (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
	return n;
}

const char *
st_bad_utf8(void)
{
	return "caf\xe9";		/* Latin-1, as old C libraries do */
}
