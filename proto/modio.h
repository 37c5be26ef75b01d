/*
 * The in-memory bytecode module, and its conversion to and from the
 * protobuf form (module.proto). modio checks structure only (sizes, caps,
 * well-formed fields); verify.c checks meaning. The compiler builds a
 * struct module in its arena; modio_decode() builds one with malloc, freed
 * by module_free().
 */
#ifndef SC_MODIO_H
#define SC_MODIO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* C types of extern parameters and results (LANGUAGE.md, FFI). */
enum ctype {
	CT_VOID,		/* ()        */
	CT_INT64,		/* int       int64_t */
	CT_INT32,		/* i32       int32_t */
	CT_DOUBLE,		/* float     double */
	CT_BOOL,		/* bool      bool */
	CT_STRING,		/* string    const char * in, copied out */
	CT_PTR,			/* ptr       handle to a pointer kept in the worker */
	CT__COUNT
};
unsigned ctype_vkind(unsigned ct);	/* enum vkind of a ctype */
const char *ctype_name(unsigned ct);	/* "int", "i32", ... */

/* Structural caps, checked by modio_decode before anything is allocated. */
#define MODULE_BYTES_MAX	(16u << 20)	/* encoded module size */
#define MODULE_FUNCTIONS_MAX	65536u		/* Bx reach */
#define MODULE_CONSTANTS_MAX	65536u		/* Bx reach */
#define MODULE_EXTERNS_MAX	65536u
#define FUNCTION_CODE_MAX	(1u << 22)	/* sJ reach */
#define FUNCTION_REGS_MAX	256u		/* 8-bit A/B/C */
#define NAME_MAX_BYTES		255u

enum const_kind { CONST_INT, CONST_FLOAT, CONST_STRING };

struct mod_const {
	uint8_t kind;			/* enum const_kind */
	union {
		int64_t i;
		double f;
		struct {
			const char *ptr;	/* UTF-8, NUL-terminated */
			uint32_t len;		/* bytes, without the NUL */
		} s;
	} u;
};

struct mod_state {
	uint32_t pc;			/* the AWAIT/AWAITT; resume at pc + 1 */
	uint32_t nlive;			/* registers live across it */
	const uint8_t *live;		/* ascending register numbers */
};

struct mod_fn {
	const char *name;		/* function name */
	uint8_t is_async;		/* may suspend (async fn or entry) */
	uint8_t ret_kind;		/* enum vkind of the result */
	uint32_t nparams;		/* parameters are R[0] .. R[nparams-1] */
	uint32_t nregs;			/* registers in the frame */
	const uint8_t *reg_kinds;	/* nregs enum vkind */
	uint32_t ncode;			/* instructions */
	const uint32_t *code;		/* ncode instructions */
	const uint32_t *lines;		/* ncode source lines, or NULL */
	uint32_t nstates;		/* suspension points */
	const struct mod_state *states;	/* sorted by pc */
	uint32_t line;			/* line of the definition */
	const char *const *reg_names;	/* nregs debug names, or NULL */
};

struct mod_extern {
	const char *library;		/* as written in extern "..." */
	const char *symbol;		/* function name */
	uint32_t nparams;		/* parameters */
	const uint8_t *params;		/* nparams enum ctype */
	uint8_t ret;			/* enum ctype */
};

struct module {
	uint32_t format;		/* MODULE_FORMAT */
	const char *source_name;	/* for messages */
	uint8_t source_hash[32];	/* SHA-256 of the source */
	uint32_t nconsts;
	const struct mod_const *consts;
	uint32_t nfns;
	const struct mod_fn *fns;
	uint32_t nexterns;
	const struct mod_extern *externs;
	uint32_t entry;			/* index into fns */
};

/*
 * Decode len bytes into a new module (*mp, freed by module_free()). Checks
 * structure and caps only. On failure *mp is NULL and err names the field.
 */
int modio_decode(const uint8_t *buf, size_t len, struct module **mp,
    struct sc_error *err) SC_MUST_CHECK;
/*
 * Encode m into a malloc'd buffer (*bufp, *lenp). The caller frees *bufp.
 */
int modio_encode(const struct module *m, uint8_t **bufp, size_t *lenp,
    struct sc_error *err) SC_MUST_CHECK;
/* Free a module from modio_decode(); NULL is a no-op. */
void module_free(struct module *m);

#endif
