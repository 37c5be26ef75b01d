/*
 * The bytecode verifier: the trust boundary between a module from anyone
 * and the interpreter, which re-checks nothing that passed here. One linear
 * pass; the first fault is named ("function main, pc 12: register 40 out of
 * range (function has 16)"). Built alone as `scriptverify` so scriptc can
 * check its own output with the same code.
 */
#ifndef SC_VERIFY_H
#define SC_VERIFY_H

#include "err.h"
#include "modio.h"

/* Caps beyond modio.h's structural ones (the verifier re-checks those too,
 * since the compiler builds modules without modio_decode). */
#define VERIFY_CODE_TOTAL_MAX		(1u << 22)	/* instructions, module */
#define VERIFY_EXTERN_PARAMS_MAX	16u		/* parameters of an extern */

/* SC_OK if m is safe to run; else SC_EBADMOD with the first fault in err. */
int verify_module(const struct module *m, struct sc_error *err)
    SC_MUST_CHECK;

#endif
