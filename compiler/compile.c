/*
 * The libscriptc driver: source to encoded module through lex, parse, check,
 * emit (with the async transform) and a final self-check by the verifier, so
 * that scriptc never writes a module the daemon would refuse. All memory of
 * a compilation is one arena, capped at COMPILE_MEMORY_MAX.
 */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "check.h"
#include "diag.h"
#include "emit.h"
#include "lex.h"
#include "modio.h"
#include "parse.h"
#include "scriptc.h"
#include "utf8.h"
#include "verify.h"

/* Arena cap for one compilation: a 16 MiB source needs far less. */
#define COMPILE_MEMORY_MAX	((size_t)1 << 30)

struct scriptc_result {
	struct arena arena;		/* everything below but bytes */
	struct diags diags;		/* sorted after compilation */
	struct scriptc_diag *pub;	/* diags as the public struct */
	uint8_t *bytes;			/* encoded module (malloc), or NULL */
	size_t len;
};

static void
compile(struct scriptc_result *r, const char *src, size_t len,
    const char *name)
{
	struct arena *a = &r->arena;
	struct diags *d = &r->diags;
	struct sc_error err;
	struct lexer lx;
	struct program *p;
	struct checked *ck;
	struct module *m;

	if (len > SOURCE_BYTES_MAX) {
		diag_error(d, (struct pos){ 0, 0 }, "source is %zu bytes; the "
		    "limit is %u bytes", len, SOURCE_BYTES_MAX);
		return;
	}
	lex_init(&lx, src, len, a, d);
	if ((p = parse_program(&lx, a, d)) == NULL || d->nerrors > 0)
		return;
	if ((ck = check_program(p, a, d)) == NULL)
		return;
	if ((m = emit_module(ck, name, src, len, a, d)) == NULL)
		return;
	if (verify_module(m, &err) != SC_OK) {
		diag_error(d, (struct pos){ 0, 0 }, "internal compiler error: "
		    "the emitted module does not verify: %s", err.msg);
		return;
	}
	if (modio_encode(m, &r->bytes, &r->len, &err) != SC_OK)
		diag_error(d, (struct pos){ 0, 0 }, "cannot encode the module: "
		    "%s", err.msg);
}

/*
 * The source name as the module will carry it: valid UTF-8 (other bytes
 * become '?') of at most NAME_MAX_BYTES, keeping the end of a long path,
 * where the file name is. The daemon refuses anything else.
 */
static char *
module_name(struct arena *a, const char *name)
{
	size_t len = strlen(name), start = 0;
	char *out;

	if (len > NAME_MAX_BYTES) {
		start = len - NAME_MAX_BYTES;
		while (start < len && ((unsigned char)name[start] & 0xc0) ==
		    0x80)
			start++;	/* do not begin inside a character */
	}
	if ((out = arena_strndup(a, name + start, len - start)) == NULL)
		return NULL;
	for (unsigned char *p = (unsigned char *)out; *p != '\0';) {
		uint32_t cp;
		size_t n = utf8_decode(p, strlen((char *)p), &cp);

		if (n == 0)
			*p++ = '?';
		else
			p += n;
	}
	return out;
}

int
scriptc_compile(const char *src, size_t len, const char *name,
    scriptc_result **rp)
{
	struct scriptc_result *r;
	const char *srccopy, *namecopy;

	*rp = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return SC_ENOMEM;
	arena_init(&r->arena, COMPILE_MEMORY_MAX);
	namecopy = module_name(&r->arena, name);
	/* the caret lines quote the source after the caller's copy is gone */
	srccopy = len <= SOURCE_BYTES_MAX ? arena_strndup(&r->arena, src, len)
	    : NULL;
	diag_init(&r->diags, &r->arena, namecopy != NULL ? namecopy : "?",
	    srccopy, srccopy != NULL ? len : 0);
	if (namecopy == NULL) {
		scriptc_free(r);
		return SC_ENOMEM;
	}
	compile(r, src, len, namecopy);
	if (r->arena.failed) {
		free(r->bytes);
		r->bytes = NULL;
		r->arena.failed = false;
		r->arena.cap = 0;	/* room for the message itself */
		diag_error(&r->diags, (struct pos){ 0, 0 }, "out of memory "
		    "(a compilation may use %zu bytes)", COMPILE_MEMORY_MAX);
	}
	if (r->diags.nerrors > 0 && r->bytes != NULL) {
		free(r->bytes);
		r->bytes = NULL;
	}
	diag_sort(&r->diags);
	*rp = r;
	return r->bytes != NULL ? SC_OK : SC_ECOMPILE;
}

unsigned
scriptc_ndiags(const scriptc_result *r)
{
	return r->diags.n;
}

const struct scriptc_diag *
scriptc_diag(const scriptc_result *r, unsigned i)
{
	struct scriptc_result *w = (struct scriptc_result *)r;

	if (i >= r->diags.n)
		return NULL;
	if (w->pub == NULL &&
	    (w->pub = calloc(r->diags.n, sizeof(*w->pub))) == NULL)
		return NULL;
	w->pub[i].severity = r->diags.items[i].severity == DIAG_ERROR ?
	    SCRIPTC_ERROR : SCRIPTC_WARNING;
	w->pub[i].line = r->diags.items[i].pos.line;
	w->pub[i].col = r->diags.items[i].pos.col;
	w->pub[i].msg = r->diags.items[i].msg;
	return &w->pub[i];
}

unsigned
scriptc_nerrors(const scriptc_result *r)
{
	return r->diags.nerrors;
}

void
scriptc_print_diags(const scriptc_result *r, FILE *out, bool caret)
{
	diag_print(&r->diags, out, caret);
}

const uint8_t *
scriptc_module_bytes(const scriptc_result *r, size_t *lenp)
{
	*lenp = r->bytes != NULL ? r->len : 0;
	return r->bytes;
}

void
scriptc_free(scriptc_result *r)
{
	if (r == NULL)
		return;
	free(r->bytes);
	free(r->pub);
	arena_free(&r->arena);
	free(r);
}
