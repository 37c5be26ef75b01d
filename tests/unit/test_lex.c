/*
 * Lexer tests: every token kind, number and string forms, comments, newline
 * folding, positions (line:col, bytes), UTF-8 and NUL checks, limits, and
 * no crash on random bytes. Tokens are rendered as one line of text, errors
 * as "L:C: MSG" lines, and compared whole.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "check.h"
#include "diag.h"
#include "lex.h"

static char toks[1 << 16];		/* rendered tokens of the last lex */
static char errs[1 << 14];		/* its errors, "L:C: MSG\n" each */
static struct token last[64];		/* its first tokens */

static void
append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
append(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
}

static void
render(const struct token *t)
{
	const char *sep = toks[0] != '\0' ? " " : "";

	switch (t->kind) {
	case TOK_EOF:
		append(toks, sizeof(toks), "%sEOF", sep);
		break;
	case TOK_ERROR:
		append(toks, sizeof(toks), "%sERR", sep);
		break;
	case TOK_NEWLINE:
		append(toks, sizeof(toks), "%sNL", sep);
		break;
	case TOK_IDENT:
		append(toks, sizeof(toks), "%s%s", sep, t->text);
		break;
	case TOK_INT:
		append(toks, sizeof(toks), "%si%lld", sep, (long long)t->ival);
		break;
	case TOK_FLOAT:
		append(toks, sizeof(toks), "%sf%.17g", sep, t->fval);
		break;
	case TOK_STRING:
		append(toks, sizeof(toks), "%s\"", sep);
		for (uint32_t i = 0; i < t->len; i++) {
			unsigned char c = (unsigned char)t->text[i];

			if (c == '\n')
				append(toks, sizeof(toks), "\\n");
			else if (c < 0x20 || c >= 0x7F)
				append(toks, sizeof(toks), "\\x%02X", c);
			else
				append(toks, sizeof(toks), "%c", c);
		}
		append(toks, sizeof(toks), "\"");
		break;
	default:
		append(toks, sizeof(toks), "%s%s", sep, lex_tok_name(t->kind));
		break;
	}
}

/* Lex len bytes of src to EOF; returns the tokens, errors are in errs. */
static const char *
lexn(const char *src, size_t len)
{
	struct arena a;
	struct diags d;
	struct lexer lx;
	struct token t;
	size_t n = 0;

	toks[0] = errs[0] = '\0';
	arena_init(&a, 0);
	diag_init(&d, &a, "t.script", src, len);
	lex_init(&lx, src, len, &a, &d);
	do {
		lex_next(&lx, &t);
		if (n < sizeof(last) / sizeof(last[0]))
			last[n] = t;
		n++;
		render(&t);
	} while (t.kind != TOK_EOF && n <= len + 2);
	CHECK_INT_EQ(t.kind, TOK_EOF);	/* every token consumed bytes */
	for (unsigned i = 0; i < d.n; i++)
		append(errs, sizeof(errs), "%u:%u: %s\n", d.items[i].pos.line,
		    d.items[i].pos.col, d.items[i].msg);
	/* Strings in last[] live in the arena: drop the pointers. */
	for (size_t i = 0; i < n && i < sizeof(last) / sizeof(last[0]); i++)
		last[i].text = NULL;
	arena_free(&a);
	return toks;
}

static const char *
lex(const char *src)
{
	return lexn(src, strlen(src));
}

static void
test_every_token(void)
{
	CHECK_STR_EQ(lex("fn async await let mut if else while loop for in "
	    "break continue return true false as extern"),
	    "'fn' 'async' 'await' 'let' 'mut' 'if' 'else' 'while' 'loop' "
	    "'for' 'in' 'break' 'continue' 'return' 'true' 'false' 'as' "
	    "'extern' EOF");
	CHECK_STR_EQ(lex("( ) { } [ ] , ; : -> .. ."),
	    "'(' ')' '{' '}' '[' ']' ',' ';' ':' '->' '..' '.' EOF");
	CHECK_STR_EQ(lex("+ - * / % ! < > <= >= == != && || ="),
	    "'+' '-' '*' '/' '%' '!' '<' '>' '<=' '>=' '==' '!=' '&&' '||' "
	    "'=' EOF");
	CHECK_STR_EQ(lex("a->b!=c==d<=e>=f&&g||h=i"),
	    "a '->' b '!=' c '==' d '<=' e '>=' f '&&' g '||' h '=' i EOF");
	CHECK_STR_EQ(lex("x _y z9 String int fnx asx"),
	    "x _y z9 String int fnx asx EOF");
	CHECK_STR_EQ(lex("42 1.5 \"s\" x\ny"),
	    "i42 f1.5 \"s\" x NL y EOF");
	CHECK_STR_EQ(lex("@"), "ERR EOF");
	CHECK_STR_EQ(errs, "1:1: unexpected character '@'\n");
	for (unsigned k = 0; k < TOK__COUNT; k++)
		CHECK(strcmp(lex_tok_name(k), "unknown token") != 0);
	CHECK_STR_EQ(lex_tok_name(TOK_EOF), "end of file");
	CHECK_STR_EQ(lex_tok_name(TOK_RPAREN), "')'");
	CHECK_STR_EQ(lex_tok_name(TOK__COUNT), "unknown token");
}

static void
test_positions(void)
{
	lex("let x\n\tfoo = 12\n  \"s\" // c\n/* a\nb */ z");
	CHECK_STR_EQ(toks, "'let' x NL foo '=' i12 NL \"s\" NL z EOF");
	CHECK_INT_EQ(last[0].pos.line, 1);
	CHECK_INT_EQ(last[0].pos.col, 1);
	CHECK_INT_EQ(last[1].pos.col, 5);
	CHECK_INT_EQ(last[2].pos.line, 1);	/* the newline itself */
	CHECK_INT_EQ(last[2].pos.col, 6);
	CHECK_INT_EQ(last[3].pos.line, 2);	/* a tab is one column */
	CHECK_INT_EQ(last[3].pos.col, 2);
	CHECK_INT_EQ(last[5].pos.col, 8);
	CHECK_INT_EQ(last[7].pos.line, 3);
	CHECK_INT_EQ(last[7].pos.col, 3);
	CHECK_INT_EQ(last[8].pos.line, 3);	/* after the // comment */
	CHECK_INT_EQ(last[8].pos.col, 11);
	CHECK_INT_EQ(last[9].pos.line, 5);
	CHECK_INT_EQ(last[9].pos.col, 6);
	/* Columns count bytes: 'é' is two. */
	lex("\"é\" x");
	CHECK_INT_EQ(last[1].pos.col, 6);
	/* A byte order mark is skipped but still counted. */
	CHECK_STR_EQ(lex("\xEF\xBB\xBFx"), "x EOF");
	CHECK_INT_EQ(last[0].pos.col, 4);
	CHECK_STR_EQ(errs, "");
}

static void
test_numbers(void)
{
	CHECK_STR_EQ(lex("0 42 1_000_000 007 0xFF 0xff_ff 0b1010 0o777 0x_1"),
	    "i0 i42 i1000000 i7 i255 i65535 i10 i511 i1 EOF");
	CHECK_STR_EQ(lex("3.14 1.23e-4 1.5e10 1E3 2e+2 1_0.2_5 0.5"),
	    "f3.1400000000000001 f0.00012300000000000001 f15000000000 "
	    "f1000 f200 f10.25 f0.5 EOF");
	CHECK_STR_EQ(errs, "");
	CHECK_STR_EQ(lex("1..5"), "i1 '..' i5 EOF");
	CHECK_STR_EQ(lex("0..n"), "i0 '..' n EOF");
	CHECK_STR_EQ(lex("1.5..2.5"), "f1.5 '..' f2.5 EOF");
	CHECK_STR_EQ(lex("1.x"), "i1 '.' x EOF");
	CHECK_STR_EQ(lex("x-1"), "x '-' i1 EOF");
	CHECK_STR_EQ(errs, "");
}

static void
test_int_limits(void)
{
	CHECK_STR_EQ(lex("9223372036854775807 0x7FFFFFFFFFFFFFFF"),
	    "i9223372036854775807 i9223372036854775807 EOF");
	/* 2^63 is only valid after unary '-', which the parser checks. */
	CHECK_STR_EQ(lex("9223372036854775808"), "i-9223372036854775808 EOF");
	CHECK_STR_EQ(errs, "");
	CHECK_STR_EQ(lex("x 9223372036854775809"), "x ERR EOF");
	CHECK_STR_EQ(errs, "1:3: integer literal too large (the maximum is "
	    "9223372036854775807)\n");
	lex("99999999999999999999999999");
	CHECK_STR_CONTAINS(errs, "1:1: integer literal too large");
	lex("0xFFFFFFFFFFFFFFFF");
	CHECK_STR_CONTAINS(errs, "1:1: integer literal too large");
	lex("0b1000000000000000000000000000000000"
	    "000000000000000000000000000001");
	CHECK_STR_CONTAINS(errs, "1:1: integer literal too large");
	CHECK_STR_EQ(lex("1e308 1e-400"), "f1e+308 f0 EOF");
	CHECK_STR_EQ(lex("1e309"), "ERR EOF");
	CHECK_STR_EQ(errs, "1:1: float literal out of range\n");
}

static void
test_number_errors(void)
{
	CHECK_STR_EQ(lex("x = 0b102 + 1"), "x '=' ERR '+' i1 EOF");
	CHECK_STR_EQ(errs, "1:9: invalid digit '2' in binary literal\n");
	lex("0o78");
	CHECK_STR_EQ(errs, "1:4: invalid digit '8' in octal literal\n");
	lex("0xFG");
	CHECK_STR_EQ(errs, "1:4: invalid digit 'G' in hexadecimal literal\n");
	CHECK_STR_EQ(lex("0x"), "ERR EOF");
	CHECK_STR_EQ(errs, "1:1: hexadecimal literal '0x' has no digits\n");
	lex("0b_");
	CHECK_STR_EQ(errs, "1:1: binary literal '0b' has no digits\n");
	CHECK_STR_EQ(lex("12abc 3"), "ERR i3 EOF");
	CHECK_STR_EQ(errs, "1:3: invalid suffix 'abc' on number\n");
	lex("1.5f");
	CHECK_STR_EQ(errs, "1:4: invalid suffix 'f' on number\n");
	lex("1e");
	CHECK_STR_EQ(errs, "1:2: invalid suffix 'e' on number\n");
	lex("0X1");
	CHECK_STR_EQ(errs, "1:2: invalid suffix 'X1' on number\n");
}

static void
test_strings(void)
{
	CHECK_STR_EQ(lex("\"\" \"hello, world\" \"a\\nb\\r\\t\\\\\\\"\\0\""),
	    "\"\" \"hello, world\" \"a\\nb\\x0D\\x09\\\"\\x00\" EOF");
	CHECK_INT_EQ(last[2].len, 8);
	CHECK_STR_EQ(lex("\"\\u{1F600}\\u{48}\\u{e9}\\u{10FFFF}\""),
	    "\"\\xF0\\x9F\\x98\\x80H\\xC3\\xA9\\xF4\\x8F\\xBF\\xBF\" EOF");
	CHECK_STR_EQ(lex("\"h\xC3\xA9llo \xE2\x82\xAC\""),
	    "\"h\\xC3\\xA9llo \\xE2\\x82\\xAC\" EOF");
	CHECK_STR_EQ(lex("\"a\tb\""), "\"a\\x09b\" EOF");
	CHECK_STR_EQ(errs, "");
}

static void
test_string_errors(void)
{
	CHECK_STR_EQ(lex("x = \"a\\qb\" + 1"), "x '=' ERR '+' i1 EOF");
	CHECK_STR_EQ(errs, "1:7: invalid escape '\\q' in string\n");
	lex("\"\\x41\"");
	CHECK_STR_EQ(errs, "1:2: invalid escape '\\x' in string\n");
	/* Every bad escape in a string is reported, at its backslash. */
	lex("\"\\a \\b\"");
	CHECK_STR_EQ(errs, "1:2: invalid escape '\\a' in string\n"
	    "1:5: invalid escape '\\b' in string\n");
	lex("\"\\u{D800}\"");
	CHECK_STR_EQ(errs, "1:2: invalid escape '\\u{D800}' in string: not a "
	    "Unicode scalar value\n");
	lex("\"\\u{110000}\"");
	CHECK_STR_CONTAINS(errs, "1:2: invalid escape '\\u{110000}' in string");
	lex("\"ab\\u1234\"");
	CHECK_STR_EQ(errs, "1:4: invalid escape in string: '\\u' must be "
	    "followed by '{', 1 to 6 hex digits and '}'\n");
	lex("\"\\u{}\"");
	CHECK_STR_CONTAINS(errs, "1:2: invalid escape in string: '\\u'");
	lex("\"\\u{1234567}\"");
	CHECK_STR_CONTAINS(errs, "1:2: invalid escape in string: '\\u'");
	lex("\"\\u{12\"");
	CHECK_STR_CONTAINS(errs, "1:2: invalid escape in string: '\\u'");
	lex("\"\\\xC3\xA9\"");
	CHECK_STR_EQ(errs, "1:2: invalid escape '\\\xC3\xA9' in string\n");
	lex("\"\\\x01\"");
	CHECK_STR_EQ(errs, "1:2: invalid escape in string: '\\' followed by "
	    "byte 0x01\n");
	CHECK_STR_EQ(lex("x\n  \"abc"), "x NL ERR EOF");
	CHECK_STR_EQ(errs, "2:3: unterminated string\n");
	CHECK_STR_EQ(lex("\"abc\ny\""), "ERR NL y ERR EOF");
	CHECK_STR_EQ(errs, "1:1: unterminated string (a string must end on "
	    "the line it starts)\n2:2: unterminated string\n");
	lex("\"abc\\");
	CHECK_STR_EQ(errs, "1:1: unterminated string\n");
	lex("\"abc\\\n\"");
	CHECK_STR_CONTAINS(errs, "1:1: unterminated string (a string must end");
}

static void
test_comments(void)
{
	CHECK_STR_EQ(lex("a // b c\nd"), "a NL d EOF");
	CHECK_STR_EQ(lex("a /* b /* c */ d */ e"), "a e EOF");
	CHECK_STR_EQ(lex("/// doc\n/** doc */ x"), "NL x EOF");
	CHECK_STR_EQ(lex("a/**/b"), "a b EOF");
	CHECK_STR_EQ(lex("a / b"), "a '/' b EOF");
	CHECK_STR_EQ(lex("a /* \xE2\x82\xAC */ b // \xC3\xA9"), "a b EOF");
	CHECK_STR_EQ(errs, "");
	/* A block comment holding a line break ends the line. */
	CHECK_STR_EQ(lex("a /* x\n y */ b"), "a NL b EOF");
	CHECK_INT_EQ(last[1].pos.line, 1);
	CHECK_INT_EQ(last[1].pos.col, 7);
	CHECK_STR_EQ(lex("x\n  /* a /* b */ c"), "x NL EOF");
	CHECK_STR_EQ(errs, "2:3: unterminated block comment\n");
	lex("/* a */ */");
	CHECK_STR_EQ(toks, "'*' '/' EOF");
}

static void
test_newlines(void)
{
	CHECK_STR_EQ(lex(""), "EOF");
	CHECK_STR_EQ(lex("   \t "), "EOF");
	CHECK_STR_EQ(lex("\n\n"), "NL EOF");
	CHECK_STR_EQ(lex("a\n\n  \n// c\n\n   b\n"), "a NL b NL EOF");
	CHECK_STR_EQ(lex("a\r\nb\r\n"), "a NL b NL EOF");
	CHECK_STR_EQ(lex("a;b"), "a ';' b EOF");
	CHECK_STR_EQ(errs, "");
}

static void
test_bad_bytes(void)
{
	CHECK_STR_EQ(lexn("x \0 y", 5), "x ERR y EOF");
	CHECK_STR_EQ(errs, "1:3: NUL byte in source (byte offset 2)\n");
	lexn("\"a\0b\"", 5);
	CHECK_STR_EQ(errs, "1:3: NUL byte in source (byte offset 2)\n");
	lexn("// a\0b\nx", 8);
	CHECK_STR_EQ(errs, "1:5: NUL byte in source (byte offset 4)\n");
	lexn("/*\0*/", 5);
	CHECK_STR_EQ(errs, "1:3: NUL byte in source (byte offset 2)\n");
	CHECK_STR_EQ(lex("let x = 1 \xFF"), "'let' x '=' i1 ERR EOF");
	CHECK_STR_EQ(errs, "1:11: invalid UTF-8 byte 0xFF (byte offset 10)\n");
	CHECK_STR_EQ(lex("\"a\xC3(\" x"), "ERR x EOF");
	CHECK_STR_EQ(errs, "1:3: invalid UTF-8 byte 0xC3 (byte offset 2)\n");
	/* One report per comment or string, however many bad bytes. */
	lex("x\n// caf\xE9 cr\xE8me\ny");
	CHECK_STR_EQ(errs, "2:7: invalid UTF-8 byte 0xE9 (byte offset 8)\n");
	lex("\"\xC0\x80\"");		/* overlong NUL */
	CHECK_STR_EQ(errs, "1:2: invalid UTF-8 byte 0xC0 (byte offset 1)\n");
	lex("\"\xED\xA0\x80\"");		/* a surrogate */
	CHECK_STR_EQ(errs, "1:2: invalid UTF-8 byte 0xED (byte offset 1)\n");
	lex("\"\xF4\x90\x80\x80\"");	/* above U+10FFFF */
	CHECK_STR_EQ(errs, "1:2: invalid UTF-8 byte 0xF4 (byte offset 1)\n");
	lex("// \xE2\x82");		/* cut short by the end */
	CHECK_STR_EQ(errs, "1:4: invalid UTF-8 byte 0xE2 (byte offset 3)\n");
	lex("\x80");
	CHECK_STR_EQ(errs, "1:1: invalid UTF-8 byte 0x80 (byte offset 0)\n");
}

static void
test_unexpected(void)
{
	CHECK_STR_EQ(lex("a @#$ b ?"), "a ERR b ERR EOF");
	CHECK_STR_EQ(errs, "1:3: unexpected character '@'\n"
	    "1:9: unexpected character '?'\n");
	CHECK_STR_EQ(lex("a & b | c"), "a ERR b ERR c EOF");
	CHECK_STR_EQ(errs, "1:3: unexpected character '&'\n"
	    "1:7: unexpected character '|'\n");
	lex("x = \xC3\xA9");
	CHECK_STR_EQ(errs, "1:5: unexpected character '\xC3\xA9' (U+00E9)\n");
	lex("\x01");
	CHECK_STR_EQ(errs, "1:1: unexpected character U+0001\n");
	lex("'");
	CHECK_STR_EQ(errs, "1:1: unexpected character \"'\"\n");
}

static void
test_limits(void)
{
	char *buf;
	size_t n;

	/* Identifiers: 255 bytes are fine, 256 are not. */
	buf = malloc(2 * STRING_BYTES_MAX + 16);
	CHECK(buf != NULL);
	if (buf == NULL)
		return;
	memset(buf, 'a', 256);
	lexn(buf, 255);
	CHECK_INT_EQ(last[0].kind, TOK_IDENT);
	CHECK_STR_EQ(errs, "");
	lexn(buf, 256);
	CHECK_STR_EQ(toks, "ERR EOF");
	CHECK_STR_EQ(errs, "1:1: identifier is 256 bytes long, more than the "
	    "limit of 255\n");

	/* Strings: STRING_BYTES_MAX decoded bytes. */
	buf[0] = '"';
	memset(buf + 1, 'x', STRING_BYTES_MAX);
	buf[STRING_BYTES_MAX + 1] = '"';
	lexn(buf, STRING_BYTES_MAX + 2);
	CHECK_INT_EQ(last[0].kind, TOK_STRING);
	CHECK_INT_EQ(last[0].len, STRING_BYTES_MAX);
	CHECK_STR_EQ(errs, "");
	buf[STRING_BYTES_MAX + 1] = 'x';
	buf[STRING_BYTES_MAX + 2] = '"';
	lexn(buf, STRING_BYTES_MAX + 3);
	CHECK_STR_EQ(toks, "ERR EOF");
	CHECK_STR_EQ(errs, "1:1: string literal is 1048577 bytes, more than "
	    "the limit of 1048576 bytes\n");
	/* Escapes shrink: two bytes of source, one of string. */
	for (n = 1; n < 2 * 600000; n += 2) {
		buf[n] = '\\';
		buf[n + 1] = 'n';
	}
	buf[n] = '"';
	lexn(buf, n + 1);
	CHECK_INT_EQ(last[0].kind, TOK_STRING);
	CHECK_INT_EQ(last[0].len, 600000);
	free(buf);

	/* The whole source. */
	n = (size_t)SOURCE_BYTES_MAX + 1;
	buf = malloc(n);
	CHECK(buf != NULL);
	if (buf == NULL)
		return;
	memset(buf, ' ', n);
	CHECK_STR_EQ(lexn(buf, n), "EOF");
	CHECK_STR_EQ(errs, "0:0: source is 16777217 bytes, more than the "
	    "limit of 16777216 bytes\n");
	CHECK_STR_EQ(lexn(buf, n - 1), "EOF");
	CHECK_STR_EQ(errs, "");
	free(buf);
}

static void
test_huge_line(void)
{
	size_t n = 4 << 20;
	char *buf = malloc(n + 8);
	size_t i;

	CHECK(buf != NULL);
	if (buf == NULL)
		return;
	for (i = 0; i + 4 <= n; i += 4)
		memcpy(buf + i, "x + ", 4);
	memcpy(buf + i, "y", 1);
	/* The last token is at column i + 1 of line 1. */
	{
		struct arena a;
		struct diags d;
		struct lexer lx;
		struct token t, prev = { 0 };

		arena_init(&a, 0);
		diag_init(&d, &a, "t", buf, i + 1);
		lex_init(&lx, buf, i + 1, &a, &d);
		for (lex_next(&lx, &t); t.kind != TOK_EOF; lex_next(&lx, &t))
			prev = t;
		CHECK_INT_EQ(prev.kind, TOK_IDENT);
		CHECK_INT_EQ(prev.pos.line, 1);
		CHECK_INT_EQ(prev.pos.col, i + 1);
		CHECK_INT_EQ(d.n, 0);
		arena_free(&a);
	}
	free(buf);
}

/* Random bytes, and random pieces of tokens: lexing must end, no crash. */
static void
test_random(void)
{
	static const char *const pieces[] = {
		"\"", "\\", "/*", "*/", "//", "\n", "0x", "0b", "1", "e", ".",
		"..", "_", "\\u{", "}", "\xC3", "\xA9", "\xF0", "\0", "'", "a",
		" ", "9223372036854775808", "1e", "-", "\r",
	};
	uint32_t seed = 12345;
	char buf[256];

	for (int iter = 0; iter < 5000; iter++) {
		size_t len, i = 0;

		seed = seed * 1103515245 + 12345;
		len = (seed >> 16) % sizeof(buf);
		while (i < len) {
			seed = seed * 1103515245 + 12345;
			if (iter % 2 == 0)
				buf[i++] = (char)(seed >> 16);
			else {
				const char *pc = pieces[(seed >> 16) %
				    (sizeof(pieces) / sizeof(pieces[0]))];
				size_t pl = pc[0] == '\0' ? 1 : strlen(pc);

				if (i + pl > len)
					break;
				memcpy(buf + i, pc, pl);
				i += pl;
			}
		}
		lexn(buf, i);
	}
}

int
main(void)
{
	RUN(test_every_token);
	RUN(test_positions);
	RUN(test_numbers);
	RUN(test_int_limits);
	RUN(test_number_errors);
	RUN(test_strings);
	RUN(test_string_errors);
	RUN(test_comments);
	RUN(test_newlines);
	RUN(test_bad_bytes);
	RUN(test_unexpected);
	RUN(test_limits);
	RUN(test_huge_line);
	RUN(test_random);
	return check_done();
}
