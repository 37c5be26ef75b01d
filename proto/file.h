/* Whole-file reads and atomic writes, for the commands (scriptc, scriptd
 * run, scriptctl). Errors name the path and the reason. */
#ifndef SC_FILE_H
#define SC_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Read all of path (at most max bytes) into a malloc'd buffer with a NUL
 * after it. On failure *bufp is NULL and err says why. */
int file_read(const char *path, size_t max, char **bufp, size_t *lenp,
    struct sc_error *err) SC_MUST_CHECK;
/* Write buf to path through a temporary file and rename(2). */
int file_write_atomic(const char *path, const void *buf, size_t len,
    struct sc_error *err) SC_MUST_CHECK;

#endif
