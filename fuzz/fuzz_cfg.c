/*
 * Fuzz target: the daemon's configuration file. Every input loads or gives
 * an error naming the line; nothing else.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct cfg c;		/* large: off the stack */
	static char path[64];
	struct sc_error err;
	FILE *f;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/fuzz_cfg.%ld.conf",
		    (long)getpid());
	if ((f = fopen(path, "wb")) == NULL)
		return 0;
	fwrite(data, 1, len, f);
	fclose(f);
	cfg_defaults(&c);
	if (cfg_load(path, &c, &err) != SC_OK && err.msg[0] == '\0')
		abort();		/* every refusal must say why */
	return 0;
}
