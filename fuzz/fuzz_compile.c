/*
 * Fuzz target: source text through the whole compiler (lexer, parser,
 * checker, emitter, liveness, self-verification, encoding). Every input must
 * give a module or diagnostics: no crash, hang or leak.
 */
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "scriptc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	scriptc_result *r;

	if (scriptc_compile((const char *)data, len, "fuzz.script", &r) !=
	    SC_ENOMEM)
		scriptc_free(r);
	return 0;
}
