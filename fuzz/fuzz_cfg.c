/*
 * Fuzz target: the daemon's configuration file (cfg_parse, the text
 * cfg_load reads). Every input loads or gives an error naming the line;
 * nothing else.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct cfg c;		/* large: off the stack */
	struct sc_error err;
	char *text;

	if (len > CFG_FILE_MAX || (text = malloc(len + 1)) == NULL)
		return 0;
	memcpy(text, data, len);
	text[len] = '\0';
	if (cfg_parse("fuzz.conf", text, len, &c, &err) != SC_OK &&
	    err.msg[0] == '\0')
		abort();		/* every refusal must say why */
	free(text);
	return 0;
}
