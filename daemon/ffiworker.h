/*
 * The FFI worker process (`scriptd ffi-worker`, started by daemon/ffi.c with
 * its end of a socketpair on FFIWORKER_FD): reads ffi.Init, loads the
 * allowed libraries, locks itself down, answers Ready, then serves
 * ffi.Call frames one at a time with libffi (proto/ffi.proto).
 */
#ifndef SC_FFIWORKER_H
#define SC_FFIWORKER_H

#define FFIWORKER_FD	3		/* the socketpair end, after exec */
#define FFI_FRAME_MAX	(1u << 20)	/* bytes of one frame either way */

/* Serve on fd until the daemon closes it; the process's exit status. */
int ffiworker_main(int fd);

#endif
