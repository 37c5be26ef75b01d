/*
 * Fuzz target: untrusted bytecode. Every input is rejected by decoding or
 * verification, or verifies and then runs, fuel-capped and bounded in
 * slices, cleanly: the interpreter trusts what the verifier passed, so a
 * crash here is a hole in the verifier.
 */
#include <stddef.h>
#include <stdint.h>

#include "modio.h"
#include "sched.h"
#include "verify.h"

#define RUN_SLICES	64	/* bounded work per input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct vm_limits lim;
	struct sc_error err;
	struct module *m;
	struct sched *s;
	struct prog *p;

	if (modio_decode(data, len, &m, &err) != SC_OK)
		return 0;
	if (verify_module(m, &err) != SC_OK) {
		module_free(m);
		return 0;
	}
	vm_limits_default(&lim);
	lim.fuel = 1000;
	lim.task_mem = 1u << 20;
	lim.live_tasks = 64;
	if (sched_new(&lim, &s) != SC_OK) {
		module_free(m);
		return 0;
	}
	if (prog_new(m, module_free, &p, &err) != SC_OK) {
		module_free(m);
		sched_free(s);
		return 0;
	}
	if (sched_submit(s, p, 1, NULL, NULL, &err) == SC_OK)
		for (int i = 0; i < RUN_SLICES && sched_has_ready(s); i++)
			sched_run(s, 1);
	prog_unref(p);
	sched_free(s);
	return 0;
}
