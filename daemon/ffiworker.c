/*
 * The FFI worker process (`scriptd ffi-worker`): the only place native
 * library code runs. It reads ffi.Init, loads and resolves every allowed
 * function, locks itself down (rlimits, uid, no_new_privs, parent-death
 * signal, a default-deny seccomp filter), answers Ready, then serves Calls
 * one at a time with libffi. Pointers stay here, in a slot table; the daemon
 * sees slot numbers only. A fatal signal sends a Fault and the worker dies
 * of that signal. Protocol: proto/ffi.proto; design notes: docs/ffi.md.
 */
#define _GNU_SOURCE		/* gettid(), close_range(), si_syscall */
#include <dlfcn.h>
#include <errno.h>
#include <ffi.h>
#include <grp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* libffi's header must win: no project header may be called ffi.h. */
#ifndef FFI_FN
#error "<ffi.h> is not libffi's: a project header named ffi.h shadows it"
#endif

#include "ffi.pb-c.h"
#include "ffiworker.h"
#include "frame.h"
#include "modio.h"
#include "verify.h"

#define PARAMS_MAX	VERIFY_EXTERN_PARAMS_MAX /* arguments of a call */
#define HANDLES_MAX	(1u << 20)	/* largest max_handles taken */
#define STRING_MAX	(FFI_FRAME_MAX / 2) /* longest string result */
#define ALTSTACK_SIZE	(64u << 10)	/* the fault handler's stack */
#define PROBE_SIZE	(1u << 20)	/* the fault handler's mmap probe */
#define INBUF_SIZE	(FRAME_HEADER_SIZE + FFI_FRAME_MAX) /* a frame */
/* Decoding budget for daemon frames (trusted, but bounded all the same). */
#define TOWORKER_MEM(len)	(32 * (size_t)(len) + (64u << 10))

/* Exit statuses (the daemon logs them; a signal death says more). */
#define EXIT_EOF	0	/* the daemon closed the socket */
#define EXIT_INIT	1	/* Init failed; Ready.error says why */
#define EXIT_PROTO	2	/* a malformed frame from the daemon */
#define EXIT_IO		3	/* socket error or out of memory */

/* One allowed function, resolved and prepared at Init. */
struct fn {
	const char *symbol;		/* Init's string, for messages */
	void *addr;			/* dlsym() result */
	unsigned nparams;		/* <= PARAMS_MAX */
	uint8_t params[PARAMS_MAX];	/* enum ctype, never CT_VOID */
	uint8_t ret;			/* enum ctype */
	ffi_type *types[PARAMS_MAX];	/* libffi's view of params */
	ffi_cif cif;			/* prepared once for every call */
};

/* One argument as the callee receives it. */
union arg {
	int64_t i;			/* CT_INT64 */
	int32_t i32;			/* CT_INT32 */
	double f;			/* CT_DOUBLE */
	uint8_t b;			/* CT_BOOL (C bool is one byte) */
	void *p;			/* CT_STRING, CT_PTR */
};

/* A result as libffi writes it (integers narrower than a word widen). */
union ret {
	ffi_arg u;			/* CT_BOOL */
	ffi_sarg s;			/* CT_INT32 */
	int64_t i;			/* CT_INT64 */
	double f;			/* CT_DOUBLE */
	void *p;			/* CT_STRING, CT_PTR */
};

/* The worker's state; one per process. */
struct worker {
	int fd;				/* the daemon's socket */
	Ffi__Init *init;		/* kept: fn.symbol points into it */
	struct fn *fns;			/* one per Init.funcs */
	size_t nfns;
	void **libs;			/* dlopen() handles, never closed */
	size_t nlibs;
	void **slot;			/* slot[i - 1]: pointer of slot i */
	uint32_t *freed;		/* forgotten slots, reused first */
	uint32_t nfreed;
	uint32_t top;			/* slots 1..top were handed out */
	uint32_t maxslots;		/* Init.max_handles */
	void *altstack;			/* the fault handler's stack */
	uint8_t *in;			/* bytes read, not yet parsed */
	size_t nin;
	struct frame_arena arena;	/* the message being served */
};

/* What a locked-down worker may do with a system call's arguments. */
enum cond {
	ANY,				/* no check */
	NO_EXEC,			/* arg 2 (prot) without PROT_EXEC */
	SELF,				/* args 0, 1 are this process */
	NO_ADDR,			/* arg 4 (dest_addr) is NULL */
};

/*
 * The seccomp allowlist: everything else traps (SIGSYS, reported as a
 * Fault naming the call). The serve loop needs read and sendto;
 * malloc needs the memory calls; the fault handler needs mmap/munmap,
 * write, getpid, gettid, tgkill and rt_sigprocmask; the rest is what plain
 * computing code in a library may reasonably do. Nothing here opens a file
 * or socket, creates a process or thread, or reaches another process.
 */
static const struct rule {
	int nr;				/* SCMP_SYS() */
	enum cond cond;			/* argument check */
} allow[] = {
	/* Frames from the daemon; a library may read fds it already has. */
	{ SCMP_SYS(read), ANY },
	/* Replies, the fault report, messages on stderr. */
	{ SCMP_SYS(write), ANY },
	/* frame_write_fd()'s send(): only on a connected socket. */
	{ SCMP_SYS(sendto), NO_ADDR },
	/* malloc and free; no new executable memory after load. */
	{ SCMP_SYS(brk), ANY },
	{ SCMP_SYS(mmap), NO_EXEC },
	{ SCMP_SYS(mprotect), NO_EXEC },
	{ SCMP_SYS(munmap), ANY },
	{ SCMP_SYS(mremap), ANY },
	{ SCMP_SYS(madvise), ANY },
	/* Return from the fault handler; abort() and the handler unblock. */
	{ SCMP_SYS(rt_sigreturn), ANY },
	{ SCMP_SYS(rt_sigprocmask), ANY },
	/* The handler and abort() re-raise the signal at this process only. */
	{ SCMP_SYS(getpid), ANY },
	{ SCMP_SYS(gettid), ANY },
	{ SCMP_SYS(tgkill), SELF },
	/* Clocks and sleeps (vDSO usually; the syscall is the fallback). */
	{ SCMP_SYS(clock_gettime), ANY },
	{ SCMP_SYS(gettimeofday), ANY },
	{ SCMP_SYS(time), ANY },
	{ SCMP_SYS(nanosleep), ANY },
	{ SCMP_SYS(clock_nanosleep), ANY },
	/* The kernel restarts a sleep or poll a signal interrupted. */
	{ SCMP_SYS(restart_syscall), ANY },
	/* Leaving. */
	{ SCMP_SYS(exit), ANY },
	{ SCMP_SYS(exit_group), ANY },
#if defined(__SANITIZE_ADDRESS__)
	/*
	 * -DSCRIPTD_SANITIZE builds only: ASan's _exit() interceptor takes
	 * down its alternate signal stack (found with strace on the tests).
	 */
	{ SCMP_SYS(sigaltstack), ANY },
#endif
};

/* Fatal signals that get a Fault report before the worker dies. */
static const int fatal[] = {
	SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGXCPU,
};

/* The fault handler's view: set before each call, read in the handler. */
static volatile uint64_t inflight;	/* Call.id being made; 0: none */
static int faultfd = -1;		/* the daemon's socket */
static uint8_t faultbuf[128];		/* the Fault frame (no malloc) */

/* Print "scriptd ffi-worker[PID]: MSG" on stderr (the daemon's log). */
static void SC_PRINTF(1, 2)
say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "scriptd ffi-worker[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Leave after the lockdown: _exit() skips atexit handlers (a library's
 * could make forbidden calls) and LeakSanitizer (it needs ptrace).
 */
static void __attribute__((noreturn))
leave(int status)
{
	_exit(status);
}

/*
 * The handler for every signal in fatal[]: runs on the alternate stack (a
 * stack overflow still gets reported), with all signals blocked, and only
 * makes calls the seccomp filter allows. It sends Fault{call in flight,
 * signal, forbidden syscall, whether the address space is exhausted}, then
 * re-raises the signal, whose action SA_RESETHAND has made SIG_DFL, so the
 * daemon's waitpid() sees the real cause of death.
 */
static void
fault(int sig, siginfo_t *si, void *uctx)
{
	Ffi__Fault f = FFI__FAULT__INIT;
	Ffi__FromWorker m = FFI__FROM_WORKER__INIT;
	sigset_t set;
	size_t n, off = 0;
	void *probe;

	f.id = inflight;
	f.signal = sig;
	if (sig == SIGSYS)
		f.syscall = si->si_syscall;
	/* Could a 1 MiB mapping still be made? If not, RLIMIT_AS is hit. */
	probe = mmap(NULL, PROBE_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (probe == MAP_FAILED)
		f.memory = errno == ENOMEM;
	else
		munmap(probe, PROBE_SIZE);
	m.m_case = FFI__FROM_WORKER__M_FAULT;
	m.fault = &f;
	/* protobuf-c packs without allocating; the size is bounded. */
	n = protobuf_c_message_get_packed_size(&m.base);
	if (n <= sizeof(faultbuf) - FRAME_HEADER_SIZE) {
		frame_header((uint32_t)n, faultbuf);
		protobuf_c_message_pack(&m.base, faultbuf + FRAME_HEADER_SIZE);
		n += FRAME_HEADER_SIZE;
		while (off < n) {
			ssize_t w = write(faultfd, faultbuf + off, n - off);

			if (w == -1 && errno == EINTR)
				continue;
			if (w <= 0)
				break;		/* the daemon is gone */
			off += (size_t)w;
		}
	}
	/* Pending until unblocked: then the default action kills us. */
	syscall(SYS_tgkill, getpid(), gettid(), sig);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* Install fault() for every fatal signal, on an alternate stack. */
static int
handlers(struct worker *w, struct sc_error *err)
{
	struct sigaction sa;
	stack_t ss;

	if ((w->altstack = malloc(ALTSTACK_SIZE)) == NULL)
		return sc_errorf(err, SC_ENOMEM, "out of memory for the "
		    "signal stack");
	ss.ss_sp = w->altstack;
	ss.ss_size = ALTSTACK_SIZE;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) == -1)
		return sc_errorf(err, SC_EIO, "sigaltstack: %s",
		    strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fault;
	/* SA_RESETHAND: SIG_DFL on entry, so no sigaction() later. */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(*fatal); i++)
		if (sigaction(fatal[i], &sa, NULL) == -1)
			return sc_errorf(err, SC_EIO, "sigaction(%d): %s",
			    fatal[i], strerror(errno));
	/* A closed socket is an EPIPE for write(), not a death. */
	signal(SIGPIPE, SIG_IGN);
	return SC_OK;
}

static ffi_type *
ffitype(unsigned ct)
{
	switch (ct) {
	case CT_INT64:
		return &ffi_type_sint64;
	case CT_INT32:
		return &ffi_type_sint32;
	case CT_DOUBLE:
		return &ffi_type_double;
	case CT_BOOL:
		return &ffi_type_uint8;
	case CT_STRING:
	case CT_PTR:
		return &ffi_type_pointer;
	default:
		return &ffi_type_void;
	}
}

/* dlopen() name once per library; the handle stays open for good. */
static int
library(struct worker *w, const char *name, void **hp, struct sc_error *err)
{
	const char *e;
	void *h;

	*hp = NULL;
	for (size_t i = 0; i < w->nlibs; i++)
		if (strcmp(w->init->funcs[i]->library, name) == 0) {
			*hp = w->libs[i];
			return SC_OK;
		}
	if ((h = dlopen(name, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		return sc_errorf(err, SC_ENOTFOUND, "cannot load %s: %s", name,
		    e != NULL ? e : "unknown error");
	}
	*hp = h;
	return SC_OK;
}

/*
 * Resolve and prepare Init.funcs[i] into w->fns[i]. Errors, which go into
 * Ready.error: "cannot load L: DLERROR", "no symbol S in L", or a bad type
 * list (a daemon bug; the daemon checks them against its allowlist).
 */
static int
prepare(struct worker *w, size_t i, struct sc_error *err)
{
	const Ffi__Func *f = w->init->funcs[i];
	struct fn *fn = &w->fns[i];
	void *h;
	int r;

	if (f->n_params > PARAMS_MAX)
		return sc_errorf(err, SC_EINVAL, "%s has %zu parameters "
		    "(limit %u)", f->symbol, f->n_params, PARAMS_MAX);
	for (size_t k = 0; k < f->n_params; k++)
		if (f->params[k] == CT_VOID || f->params[k] >= CT__COUNT)
			return sc_errorf(err, SC_EINVAL, "%s parameter %zu: "
			    "bad type %u", f->symbol, k + 1, f->params[k]);
	if (f->ret >= CT__COUNT)
		return sc_errorf(err, SC_EINVAL, "%s: bad result type %u",
		    f->symbol, f->ret);
	if ((r = library(w, f->library, &h, err)) != SC_OK)
		return r;
	w->libs[i] = h;
	w->nlibs = i + 1;
	dlerror();
	if ((fn->addr = dlsym(h, f->symbol)) == NULL)
		return sc_errorf(err, SC_ENOTFOUND, "no symbol %s in %s",
		    f->symbol, f->library);
	fn->symbol = f->symbol;
	fn->nparams = (unsigned)f->n_params;
	fn->ret = (uint8_t)f->ret;
	for (unsigned k = 0; k < fn->nparams; k++) {
		fn->params[k] = (uint8_t)f->params[k];
		fn->types[k] = ffitype(f->params[k]);
	}
	if (ffi_prep_cif(&fn->cif, FFI_DEFAULT_ABI, fn->nparams,
	    ffitype(fn->ret), fn->types) != FFI_OK)
		return sc_errorf(err, SC_EINVAL, "libffi cannot prepare a "
		    "call to %s", f->symbol);
	return SC_OK;
}

/* Everything Init asks for that needs no privilege: tables, libraries. */
static int
load(struct worker *w, struct sc_error *err)
{
	const Ffi__Init *in = w->init;
	int r;

	/*
	 * Before any library code runs (constructors run in dlopen()): no
	 * descriptor the daemon leaked by mistake stays reachable.
	 */
	if (close_range((unsigned)w->fd + 1, ~0u, 0) == -1)
		return sc_errorf(err, SC_EIO, "close_range: %s",
		    strerror(errno));
	if (in->max_handles > HANDLES_MAX)
		return sc_errorf(err, SC_ELIMIT, "max_handles %u exceeds the "
		    "worker's limit (%u)", in->max_handles, HANDLES_MAX);
	w->maxslots = in->max_handles;
	w->nfns = in->n_funcs;
	/* calloc(0, ...) may be NULL: ask for one element at least. */
	if ((w->fns = calloc(w->nfns + 1, sizeof(*w->fns))) == NULL ||
	    (w->libs = calloc(w->nfns + 1, sizeof(*w->libs))) == NULL ||
	    (w->slot = calloc(w->maxslots + 1, sizeof(*w->slot))) == NULL ||
	    (w->freed = calloc(w->maxslots + 1, sizeof(*w->freed))) == NULL)
		return sc_errorf(err, SC_ENOMEM, "out of memory for %zu "
		    "functions and %u handles", w->nfns, w->maxslots);
	for (size_t i = 0; i < w->nfns; i++)
		if ((r = prepare(w, i, err)) != SC_OK)
			return r;
	return handlers(w, err);
}

/* setrlimit() with soft limit cur and hard limit max. */
static int
limit(int res, const char *name, rlim_t cur, rlim_t max, struct sc_error *err)
{
	struct rlimit rl = { cur, max };

	if (setrlimit(res, &rl) == -1)
		return sc_errorf(err, SC_EIO, "setrlimit(%s, %llu): %s", name,
		    (unsigned long long)cur, strerror(errno));
	return SC_OK;
}

#if defined(__SANITIZE_ADDRESS__)
/*
 * ASan reserves terabytes of shadow address space at start-up, so in a
 * sanitizer build max_memory is counted on top of what is mapped already
 * (VmSize before the lockdown); release builds use it as it is.
 */
static rlim_t
as_base(void)
{
	char line[128];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmSize: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (rlim_t)kb * 1024;
}
#else
static rlim_t
as_base(void)
{
	return 0;
}
#endif

/*
 * Resource limits. RLIMIT_CPU's hard limit is one second past the soft
 * one: the kernel sends SIGXCPU at the soft limit (reported as a Fault) and
 * SIGKILL at the hard one, which would come first if they were equal.
 */
static int
limits(const Ffi__Init *in, struct sc_error *err)
{
	rlim_t as = as_base() + in->max_memory;
	int r;

	if (in->max_memory > 0 &&
	    (r = limit(RLIMIT_AS, "RLIMIT_AS", as, as, err)) != SC_OK)
		return r;
	if (in->max_cpu_s > 0 &&
	    (r = limit(RLIMIT_CPU, "RLIMIT_CPU", in->max_cpu_s,
	    (rlim_t)in->max_cpu_s + 1, err)) != SC_OK)
		return r;
	if ((r = limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", in->max_files,
	    in->max_files, err)) != SC_OK)
		return r;
	return limit(RLIMIT_CORE, "RLIMIT_CORE", 0, 0, err);
}

/* Become uid:gid with no supplementary groups, for good, and check it. */
static int
drop(const Ffi__Init *in, struct sc_error *err)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (in->uid == 0 || in->gid == 0)
		return sc_errorf(err, SC_EINVAL, "drop_privileges to uid %u "
		    "gid %u: not an unprivileged user", in->uid, in->gid);
	if (setgroups(0, NULL) == -1)
		return sc_errorf(err, SC_EIO, "setgroups: %s",
		    strerror(errno));
	if (setresgid(in->gid, in->gid, in->gid) == -1)
		return sc_errorf(err, SC_EIO, "setresgid(%u): %s", in->gid,
		    strerror(errno));
	if (setresuid(in->uid, in->uid, in->uid) == -1)
		return sc_errorf(err, SC_EIO, "setresuid(%u): %s", in->uid,
		    strerror(errno));
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    ru != in->uid || eu != in->uid || su != in->uid ||
	    rg != in->gid || eg != in->gid || sg != in->gid ||
	    getgroups(0, NULL) != 0)
		return sc_errorf(err, SC_EIO, "privileges were not dropped to "
		    "uid %u gid %u", in->uid, in->gid);
	/* Root is gone for good only if we cannot get it back. */
	if (setuid(0) != -1 || setgid(0) != -1)
		return sc_errorf(err, SC_EIO, "could regain root after "
		    "dropping to uid %u", in->uid);
	return SC_OK;
}

/* Add one allowlist rule, with its argument check. */
static int
rule(scmp_filter_ctx ctx, const struct rule *a, struct sc_error *err)
{
	pid_t self = getpid();
	int r;

	switch (a->cond) {
	case NO_EXEC:
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, a->nr, 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
		break;
	case SELF:
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, a->nr, 2,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self, 0),
		    SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)self, 0));
		break;
	case NO_ADDR:
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, a->nr, 1,
		    SCMP_A4(SCMP_CMP_EQ, 0, 0));
		break;
	default:
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, a->nr, 0);
		break;
	}
	/* A call this architecture lacks (time on arm64) is fine to skip. */
	if (r != 0 && !(a->nr < 0 && r == -EDOM))
		return sc_errorf(err, SC_EIO, "seccomp rule for %s: %s",
		    seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, a->nr),
		    strerror(-r));
	return SC_OK;
}

/*
 * Load the default-deny filter. Denied calls trap (SIGSYS with the call's
 * number for fault()); a call from another architecture's ABI kills.
 */
static int
filter(struct sc_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int r = SC_OK;

	if (ctx == NULL)
		return sc_errorf(err, SC_ENOMEM, "seccomp_init failed");
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS) != 0) {
		r = sc_errorf(err, SC_EIO, "seccomp: cannot set the action "
		    "for other architectures");
		goto out;
	}
	for (size_t i = 0; i < sizeof(allow) / sizeof(*allow); i++)
		if ((r = rule(ctx, &allow[i], err)) != SC_OK)
			goto out;
	if ((r = seccomp_load(ctx)) != 0)
		r = sc_errorf(err, SC_EIO, "seccomp_load: %s", strerror(-r));
out:
	seccomp_release(ctx);
	return r;
}

/*
 * Lock down, in this order: resource limits; the uid (if asked); the
 * parent-death signal, which must come after setresuid() because a
 * credential change clears it; non-dumpable, so no other process of the
 * worker's uid can ptrace it; no_new_privs; the seccomp filter last, since
 * the steps before it need calls it forbids.
 */
static int
lockdown(const Ffi__Init *in, pid_t parent, struct sc_error *err)
{
	int r;

	if ((r = limits(in, err)) != SC_OK)
		return r;
	if (in->drop_privileges && (r = drop(in, err)) != SC_OK)
		return r;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		return sc_errorf(err, SC_EIO, "PR_SET_PDEATHSIG: %s",
		    strerror(errno));
	if (getppid() != parent)
		return sc_errorf(err, SC_EIO, "the daemon (pid %d) exited "
		    "during start-up", (int)parent);
	if (prctl(PR_SET_DUMPABLE, 0) == -1)
		return sc_errorf(err, SC_EIO, "PR_SET_DUMPABLE: %s",
		    strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return sc_errorf(err, SC_EIO, "PR_SET_NO_NEW_PRIVS: %s",
		    strerror(errno));
	return filter(err);
}

/* Send a FromWorker; a failure leaves (the daemon is gone or we are OOM). */
static void
send_msg(struct worker *w, Ffi__FromWorker *m)
{
	struct sc_error err = { 0 };

	if (frame_send_fd(w->fd, &m->base, FFI_FRAME_MAX, &err) != SC_OK) {
		say("cannot send %s: %s", m->m_case == FFI__FROM_WORKER__M_READY
		    ? "Ready" : "Reply", err.msg);
		leave(EXIT_IO);
	}
}

/* The slot's pointer, or an error naming the slot. */
static int
lookup(const struct worker *w, uint64_t h, void **pp, struct sc_error *err)
{
	*pp = NULL;
	if (h == 0)
		return SC_OK;
	if (h > w->top || w->slot[h - 1] == NULL)
		return sc_errorf(err, SC_ENOTFOUND, "no pointer for handle "
		    "slot %llu in this worker", (unsigned long long)h);
	*pp = w->slot[h - 1];
	return SC_OK;
}

/* Forget slot h (if live) and keep its number for reuse. */
static void
forget(struct worker *w, uint64_t h)
{
	if (h == 0 || h > w->top || w->slot[h - 1] == NULL)
		return;
	w->slot[h - 1] = NULL;
	w->freed[w->nfreed++] = (uint32_t)h;
}

/* Keep p in a free slot: *hp is its number, or the limit is named. */
static int
keep(struct worker *w, const struct fn *fn, void *p, uint64_t *hp,
    struct sc_error *err)
{
	uint32_t h;

	*hp = 0;
	if (w->nfreed > 0)
		h = w->freed[--w->nfreed];
	else if (w->top < w->maxslots)
		h = ++w->top;
	else
		return sc_errorf(err, SC_ELIMIT, "handle limit (max_handles "
		    "%u) reached: the pointer %s returned is lost in this "
		    "worker", w->maxslots, fn->symbol);
	w->slot[h - 1] = p;
	*hp = h;
	return SC_OK;
}

static const char *
kindname(const Ffi__Value *v)
{
	switch (v->v_case) {
	case FFI__VALUE__V_I:
		return "int";
	case FFI__VALUE__V_F:
		return "float";
	case FFI__VALUE__V_B:
		return "bool";
	case FFI__VALUE__V_S:
		return "string";
	case FFI__VALUE__V_HANDLE:
		return "ptr";
	default:
		return "()";
	}
}

/* The Value kind that carries ctype ct. */
static Ffi__Value__VCase
kindof(unsigned ct)
{
	switch (ct) {
	case CT_INT64:
	case CT_INT32:
		return FFI__VALUE__V_I;
	case CT_DOUBLE:
		return FFI__VALUE__V_F;
	case CT_BOOL:
		return FFI__VALUE__V_B;
	case CT_STRING:
		return FFI__VALUE__V_S;
	case CT_PTR:
		return FFI__VALUE__V_HANDLE;
	default:
		return FFI__VALUE__V__NOT_SET;
	}
}

/*
 * Turn argument k of fn into what the callee gets. Strings become
 * NUL-terminated copies in strs[k] (the caller frees them); handles become
 * their slot's pointer.
 */
static int
convert(const struct worker *w, const struct fn *fn, unsigned k,
    const Ffi__Value *v, union arg *a, char **strs, struct sc_error *err)
{
	unsigned ct = fn->params[k];

	if (v->v_case != kindof(ct))
		return sc_errorf(err, SC_EINVAL, "%s argument %u: expected "
		    "%s, got %s", fn->symbol, k + 1, ctype_name(ct),
		    kindname(v));
	switch (ct) {
	case CT_INT64:
		a->i = v->i;
		return SC_OK;
	case CT_INT32:
		if (v->i < INT32_MIN || v->i > INT32_MAX)
			return sc_errorf(err, SC_EINVAL, "%s argument %u: "
			    "%lld does not fit in i32", fn->symbol, k + 1,
			    (long long)v->i);
		a->i32 = (int32_t)v->i;
		return SC_OK;
	case CT_DOUBLE:
		a->f = v->f;
		return SC_OK;
	case CT_BOOL:
		a->b = v->b ? 1 : 0;
		return SC_OK;
	case CT_STRING:
		if (v->s.len > 0 && memchr(v->s.data, '\0', v->s.len) != NULL)
			return sc_errorf(err, SC_EINVAL, "%s argument %u: "
			    "string contains a NUL byte", fn->symbol, k + 1);
		if ((strs[k] = malloc(v->s.len + 1)) == NULL)
			return sc_errorf(err, SC_ENOMEM, "out of memory for "
			    "a %zu-byte string argument of %s", v->s.len,
			    fn->symbol);
		if (v->s.len > 0)
			memcpy(strs[k], v->s.data, v->s.len);
		strs[k][v->s.len] = '\0';
		a->p = strs[k];
		return SC_OK;
	default:
		return lookup(w, v->handle, &a->p, err);
	}
}

/*
 * Fill out (a Value) from what fn returned. Strings are not copied here:
 * out points at the callee's bytes, which the Reply's packing copies.
 */
static int
result(struct worker *w, const struct fn *fn, const union ret *rv,
    Ffi__Value *out, struct sc_error *err)
{
	size_t n;

	switch (fn->ret) {
	case CT_VOID:
		return SC_OK;		/* no member set: unit */
	case CT_INT64:
		out->v_case = FFI__VALUE__V_I;
		out->i = rv->i;
		return SC_OK;
	case CT_INT32:
		out->v_case = FFI__VALUE__V_I;
		out->i = (int32_t)rv->s;
		return SC_OK;
	case CT_DOUBLE:
		out->v_case = FFI__VALUE__V_F;
		out->f = rv->f;
		return SC_OK;
	case CT_BOOL:
		out->v_case = FFI__VALUE__V_B;
		out->b = (uint8_t)rv->u != 0;
		return SC_OK;
	case CT_STRING:
		if (rv->p == NULL)
			return sc_errorf(err, SC_ERUNTIME, "%s returned NULL "
			    "for its string result", fn->symbol);
		/* strnlen: never scan further than we would send. */
		if ((n = strnlen(rv->p, STRING_MAX + 1)) > STRING_MAX)
			return sc_errorf(err, SC_ELIMIT, "%s returned a string "
			    "longer than the limit (%u bytes)", fn->symbol,
			    STRING_MAX);
		out->v_case = FFI__VALUE__V_S;
		out->s.data = rv->p;
		out->s.len = n;
		return SC_OK;
	default:
		out->v_case = FFI__VALUE__V_HANDLE;
		out->handle = 0;
		if (rv->p == NULL)
			return SC_OK;
		return keep(w, fn, rv->p, &out->handle, err);
	}
}

/*
 * Check a Call against its function, make it, and answer with a Reply.
 * Every problem with the request is a Reply.error; the call is made only
 * when all of it checks. Call.release is forgotten once the call is made,
 * whatever its result.
 */
static void
call(struct worker *w, const Ffi__Call *c)
{
	Ffi__FromWorker m = FFI__FROM_WORKER__INIT;
	Ffi__Reply rep = FFI__REPLY__INIT;
	Ffi__Value val = FFI__VALUE__INIT;
	struct sc_error err;		/* filled by whatever fails */
	char *strs[PARAMS_MAX];		/* copies made for string args */
	union arg args[PARAMS_MAX];
	void *avalue[PARAMS_MAX];
	unsigned nconv = 0;		/* args converted (strs set) */
	struct fn *fn;
	union ret rv;
	void *unused;
	int r = SC_OK;

	memset(&rv, 0, sizeof(rv));
	if (c->func >= w->nfns) {
		r = sc_errorf(&err, SC_EINVAL, "function %u out of range "
		    "(worker has %zu)", c->func, w->nfns);
		goto out;
	}
	fn = &w->fns[c->func];
	if (c->n_args != fn->nparams) {
		r = sc_errorf(&err, SC_EINVAL, "%s takes %u argument%s, got "
		    "%zu", fn->symbol, fn->nparams, fn->nparams == 1 ? "" :
		    "s", c->n_args);
		goto out;
	}
	for (unsigned k = 0; k < fn->nparams; k++) {
		strs[k] = NULL;
		nconv++;
		if ((r = convert(w, fn, k, c->args[k], &args[k], strs,
		    &err)) != SC_OK)
			goto out;
		avalue[k] = &args[k];
	}
	if (c->release != 0 &&
	    (r = lookup(w, c->release, &unused, &err)) != SC_OK)
		goto out;
	inflight = c->id;
	ffi_call(&fn->cif, FFI_FN(fn->addr), &rv, avalue);
	inflight = 0;
	forget(w, c->release);
	r = result(w, fn, &rv, &val, &err);
out:
	rep.id = c->id;
	if (r == SC_OK)
		rep.result = &val;
	else
		rep.error = err.msg;
	m.m_case = FFI__FROM_WORKER__M_REPLY;
	m.reply = &rep;
	send_msg(w, &m);
	for (unsigned k = 0; k < nconv; k++)
		free(strs[k]);
}

/*
 * Read and decode one ToWorker; FRAME_EOF when the daemon closed. Bytes
 * arrive with one read() per wakeup into w->in, and frame_parse() cuts the
 * frames out: frame_read_fd() would poll and read header and body apart,
 * four system calls per frame where this needs one (bench_ffi, one CPU:
 * call round trip p50 13.1 us -> 10.0 us; the raw socketpair's is 8.4).
 */
static int
next(struct worker *w, Ffi__ToWorker **mp, struct sc_error *err)
{
	ProtobufCMessage *m = NULL;
	size_t off = 0, len = 0;
	ssize_t n;
	int r;

	*mp = NULL;
	while ((r = frame_parse(w->in, w->nin, FFI_FRAME_MAX, &off, &len,
	    err)) == FRAME_PARTIAL) {
		/* w->in holds a whole frame of FFI_FRAME_MAX: room is left. */
		n = read(w->fd, w->in + w->nin, INBUF_SIZE - w->nin);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != ECONNRESET)
			return sc_errorf(err, SC_EIO, "read: %s",
			    strerror(errno));
		if (n <= 0 && w->nin > 0)
			return sc_errorf(err, SC_EPROTO, "connection closed in "
			    "the middle of a frame (%zu bytes of it came)",
			    w->nin);
		if (n <= 0)
			return FRAME_EOF;
		w->nin += (size_t)n;
	}
	if (r != SC_OK)
		return r;
	r = frame_unpack_arena(&ffi__to_worker__descriptor, w->in + off, len,
	    TOWORKER_MEM(len), &w->arena, &m, err);
	/* Keep what came after this frame (a Release right behind a Call). */
	w->nin -= off + len;
	memmove(w->in, w->in + off + len, w->nin);
	if (r == SC_OK)
		*mp = (Ffi__ToWorker *)m;
	return r;
}

/* After a bad read: EOF is the normal end, the rest is the daemon's bug. */
static void __attribute__((noreturn))
fail_read(int r, const struct sc_error *err)
{
	if (r == FRAME_EOF)
		leave(EXIT_EOF);
	say("%s", err->msg);
	leave(r == SC_ENOMEM || r == SC_EIO ? EXIT_IO : EXIT_PROTO);
}

/* Serve Calls and Releases until the daemon closes the socket. */
static void __attribute__((noreturn))
serve(struct worker *w)
{
	/* Calls and Releases are decoded here, without malloc (Init, which
	 * is kept, was decoded on the heap: the arena was empty then) */
	static _Alignas(16) uint8_t mem[16384];
	struct sc_error err = { 0 };
	Ffi__ToWorker *m;
	int r;

	w->arena.buf = mem;
	w->arena.size = sizeof(mem);
	for (;;) {
		if ((r = next(w, &m, &err)) != SC_OK)
			fail_read(r, &err);
		switch (m->m_case) {
		case FFI__TO_WORKER__M_CALL:
			call(w, m->call);
			break;
		case FFI__TO_WORKER__M_RELEASE:
			/* Unknown slots are ignored: release is idempotent. */
			for (size_t i = 0; i < m->release->n_handles; i++)
				forget(w, m->release->handles[i]);
			break;
		default:
			say("unexpected message (case %d) after Init",
			    (int)m->m_case);
			leave(EXIT_PROTO);
		}
		frame_arena_done(&w->arena, &m->base);
	}
}

/* Answer Init with Ready{error}; the worker then exits 1. */
static void
refuse(struct worker *w, const struct sc_error *err)
{
	Ffi__FromWorker m = FFI__FROM_WORKER__INIT;
	Ffi__Ready ready = FFI__READY__INIT;

	ready.error = (char *)err->msg;
	m.m_case = FFI__FROM_WORKER__M_READY;
	m.ready = &ready;
	say("%s", err->msg);
	send_msg(w, &m);
}

/*
 * Free what load() made before exiting on a failed Init. The libraries stay
 * loaded: dlclose() would run their destructors for nothing.
 */
static void
cleanup(struct worker *w)
{
	free(w->fns);
	free(w->libs);
	free(w->slot);
	free(w->freed);
	free(w->in);
	frame_msg_free(w->init);
}

/*
 * The worker's main: fd is its end of the socketpair (FFIWORKER_FD). Reads
 * Init, loads, locks down, sends Ready, serves; returns only when Init
 * fails (1: Ready.error says why) or is malformed (2). The daemon may have
 * died meanwhile: a parent other than the one at start fails the lockdown.
 */
int
ffiworker_main(int fd)
{
	struct worker w = { .fd = fd };
	struct sc_error err = { 0 };
	Ffi__FromWorker m = FFI__FROM_WORKER__INIT;
	Ffi__Ready ready = FFI__READY__INIT;
	Ffi__ToWorker *tw = NULL;
	pid_t parent = getppid();
	int r;

	faultfd = fd;
	if ((w.in = malloc(INBUF_SIZE)) == NULL) {
		say("out of memory for the input buffer");
		return EXIT_IO;
	}
	if ((r = next(&w, &tw, &err)) != SC_OK) {
		free(w.in);
		if (r == FRAME_EOF)
			return EXIT_EOF;
		say("reading Init: %s", err.msg);
		return r == SC_ENOMEM || r == SC_EIO ? EXIT_IO : EXIT_PROTO;
	}
	if (tw->m_case != FFI__TO_WORKER__M_INIT) {
		say("the first message is not Init (case %d)",
		    (int)tw->m_case);
		frame_msg_free(tw);
		free(w.in);
		return EXIT_PROTO;
	}
	/* Keep the Init (symbol names); free the envelope only. */
	w.init = tw->init;
	tw->init = NULL;
	tw->m_case = FFI__TO_WORKER__M__NOT_SET;
	frame_msg_free(tw);
	if ((r = load(&w, &err)) != SC_OK ||
	    (r = lockdown(w.init, parent, &err)) != SC_OK) {
		refuse(&w, &err);
		cleanup(&w);
		return EXIT_INIT;
	}
	m.m_case = FFI__FROM_WORKER__M_READY;
	m.ready = &ready;
	send_msg(&w, &m);
	serve(&w);
}
