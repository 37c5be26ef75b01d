/*
 * scriptc: compile a Script program to a bytecode module, check it, or show
 * a module as text. Exit 0 on success, 1 on compile errors (or a module that
 * does not verify), 2 on usage or I/O errors.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "file.h"
#include "lex.h"
#include "modio.h"
#include "op.h"
#include "scriptc.h"

enum mode { MODE_COMPILE, MODE_CHECK, MODE_DISASM };

static void
usage(FILE *out)
{
	fputs("usage: scriptc [-o OUT.sbc] FILE.script\n"
	    "       scriptc --check FILE.script\n"
	    "       scriptc --disasm FILE.sbc|FILE.script\n"
	    "\n"
	    "Compile a Script program to state-machine bytecode for scriptd.\n"
	    "\n"
	    "  -o, --output OUT  write the module to OUT (default: FILE.sbc "
	    "next to FILE.script)\n"
	    "      --check       report errors and warnings; write nothing\n"
	    "      --disasm      print a module (or a program, compiled) as "
	    "text:\n"
	    "                    functions, constants, states with their "
	    "live sets,\n"
	    "                    instructions with source lines\n"
	    "  -h, --help        show this help\n"
	    "      --version     show the version\n"
	    "\n"
	    "Exit status: 0 success, 1 compile errors, 2 usage or I/O "
	    "errors.\n", out);
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Default output: FILE.script -> FILE.sbc, anything else -> FILE.sbc. */
static char *
default_output(const char *in)
{
	size_t n = strlen(in);
	char *out;

	if (ends_with(in, ".script"))
		n -= strlen(".script");
	if ((out = malloc(n + 5)) == NULL)
		return NULL;
	memcpy(out, in, n);
	memcpy(out + n, ".sbc", 5);
	return out;
}

/* Compile path; on success *rp holds the result. Returns the exit code. */
static int
compile_file(const char *path, scriptc_result **rp)
{
	struct sc_error err;
	char *src;
	size_t len;
	int r;

	*rp = NULL;
	if (file_read(path, SOURCE_BYTES_MAX, &src, &len, &err) != SC_OK) {
		fprintf(stderr, "scriptc: %s\n", err.msg);
		return err.code == SC_ELIMIT ? 1 : 2;
	}
	r = scriptc_compile(src, len, path, rp);
	free(src);
	if (r == SC_ENOMEM) {
		fprintf(stderr, "scriptc: %s: out of memory\n", path);
		return 2;
	}
	scriptc_print_diags(*rp, stderr, isatty(STDERR_FILENO));
	return r == SC_OK ? 0 : 1;
}

static int
disasm(const char *path)
{
	scriptc_result *res = NULL;
	struct sc_error err;
	const uint8_t *bytes;
	char *buf = NULL;
	size_t len;
	int code;

	if (ends_with(path, ".script")) {
		if ((code = compile_file(path, &res)) != 0) {
			scriptc_free(res);
			return code;
		}
		bytes = scriptc_module_bytes(res, &len);
	} else {
		if (file_read(path, MODULE_BYTES_MAX, &buf, &len, &err) !=
		    SC_OK) {
			fprintf(stderr, "scriptc: %s\n", err.msg);
			return 2;
		}
		bytes = (const uint8_t *)buf;
	}
	code = 0;
	if (scriptc_disasm(bytes, len, stdout, &err) != SC_OK) {
		fprintf(stderr, "scriptc: %s: %s\n", path, err.msg);
		code = 1;
	}
	free(buf);
	scriptc_free(res);
	return code;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "check", no_argument, NULL, 'c' },
		{ "disasm", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	enum mode mode = MODE_COMPILE;
	const char *output = NULL;
	scriptc_result *res;
	struct sc_error err;
	const uint8_t *bytes;
	char *out;
	size_t len;
	int ch, code;

	while ((ch = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			output = optarg;
			break;
		case 'c':
			mode = MODE_CHECK;
			break;
		case 'd':
			mode = MODE_DISASM;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("scriptc %s (module format %u)\n",
			    SCRIPTD_VERSION, MODULE_FORMAT);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1 || (output != NULL && mode != MODE_COMPILE)) {
		usage(stderr);
		return 2;
	}
	if (mode == MODE_DISASM)
		return disasm(argv[optind]);
	code = compile_file(argv[optind], &res);
	if (code != 0 || mode == MODE_CHECK) {
		scriptc_free(res);
		return code;
	}
	bytes = scriptc_module_bytes(res, &len);
	out = output != NULL ? strdup(output) : default_output(argv[optind]);
	if (out == NULL) {
		fprintf(stderr, "scriptc: out of memory\n");
		scriptc_free(res);
		return 2;
	}
	if (file_write_atomic(out, bytes, len, &err) != SC_OK) {
		fprintf(stderr, "scriptc: %s\n", err.msg);
		code = 2;
	}
	free(out);
	scriptc_free(res);
	return code;
}
