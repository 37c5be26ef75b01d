/*
 * The lexer (lex.h): source bytes to tokens, on demand. Every byte of the
 * source is checked, comments and strings included: a NUL or a byte that does
 * not start valid UTF-8 is reported with its line:col and byte offset. A run
 * of newlines, blank lines and comments comes back as one TOK_NEWLINE at the
 * first line break. Identifier and string text is copied into the arena.
 * Columns count bytes, so a tab or a UTF-8 sequence advances them by its size.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "lex.h"
#include "utf8.h"

static const struct {
	const char *name;
	uint8_t kind;
} keywords[] = {
	{ "fn", TOK_FN }, { "async", TOK_ASYNC }, { "await", TOK_AWAIT },
	{ "let", TOK_LET }, { "mut", TOK_MUT }, { "if", TOK_IF },
	{ "else", TOK_ELSE }, { "while", TOK_WHILE }, { "loop", TOK_LOOP },
	{ "for", TOK_FOR }, { "in", TOK_IN }, { "break", TOK_BREAK },
	{ "continue", TOK_CONTINUE }, { "return", TOK_RETURN },
	{ "true", TOK_TRUE }, { "false", TOK_FALSE }, { "as", TOK_AS },
	{ "extern", TOK_EXTERN },
};

static const char *const tok_names[TOK__COUNT] = {
	[TOK_EOF] = "end of file",
	[TOK_ERROR] = "invalid token",
	[TOK_NEWLINE] = "newline",
	[TOK_IDENT] = "identifier",
	[TOK_INT] = "integer literal",
	[TOK_FLOAT] = "float literal",
	[TOK_STRING] = "string literal",
	[TOK_FN] = "'fn'", [TOK_ASYNC] = "'async'", [TOK_AWAIT] = "'await'",
	[TOK_LET] = "'let'", [TOK_MUT] = "'mut'", [TOK_IF] = "'if'",
	[TOK_ELSE] = "'else'", [TOK_WHILE] = "'while'", [TOK_LOOP] = "'loop'",
	[TOK_FOR] = "'for'", [TOK_IN] = "'in'", [TOK_BREAK] = "'break'",
	[TOK_CONTINUE] = "'continue'", [TOK_RETURN] = "'return'",
	[TOK_TRUE] = "'true'", [TOK_FALSE] = "'false'", [TOK_AS] = "'as'",
	[TOK_EXTERN] = "'extern'",
	[TOK_LPAREN] = "'('", [TOK_RPAREN] = "')'", [TOK_LBRACE] = "'{'",
	[TOK_RBRACE] = "'}'", [TOK_LBRACKET] = "'['", [TOK_RBRACKET] = "']'",
	[TOK_COMMA] = "','", [TOK_SEMI] = "';'", [TOK_COLON] = "':'",
	[TOK_ARROW] = "'->'", [TOK_DOTDOT] = "'..'", [TOK_DOT] = "'.'",
	[TOK_PLUS] = "'+'", [TOK_MINUS] = "'-'", [TOK_STAR] = "'*'",
	[TOK_SLASH] = "'/'", [TOK_PERCENT] = "'%'", [TOK_BANG] = "'!'",
	[TOK_LT] = "'<'", [TOK_GT] = "'>'", [TOK_LE] = "'<='",
	[TOK_GE] = "'>='", [TOK_EQEQ] = "'=='", [TOK_NE] = "'!='",
	[TOK_ANDAND] = "'&&'", [TOK_OROR] = "'||'", [TOK_EQ] = "'='",
};

const char *
lex_tok_name(unsigned kind)
{
	return kind < TOK__COUNT && tok_names[kind] != NULL ? tok_names[kind] :
	    "unknown token";
}

void
lex_init(struct lexer *lx, const char *src, size_t len, struct arena *arena,
    struct diags *diags)
{
	lx->src = src;
	lx->len = len;
	lx->off = 0;
	lx->pos.line = 1;
	lx->pos.col = 1;
	lx->arena = arena;
	lx->diags = diags;
	if (len > SOURCE_BYTES_MAX) {
		diag_error(diags, (struct pos){ 0, 0 }, "source is %zu bytes, "
		    "more than the limit of %u bytes", len, SOURCE_BYTES_MAX);
		lx->len = 0;		/* all the parser sees is EOF */
	} else if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0) {
		lx->off = 3;		/* a UTF-8 byte order mark */
		lx->pos.col = 4;
	}
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_alnum(int c)
{
	return is_alpha(c) || is_digit(c);
}

/* The byte k ahead of the next one, or -1 past the end. */
static int
peekc(const struct lexer *lx, size_t k)
{
	return lx->off + k < lx->len ? (unsigned char)lx->src[lx->off + k] : -1;
}

/* Consume n bytes that hold no line break. */
static void
skip(struct lexer *lx, size_t n)
{
	lx->off += n;
	lx->pos.col += (uint32_t)n;
}

/* Consume one line break. */
static void
skip_newline(struct lexer *lx)
{
	lx->off++;
	lx->pos.line++;
	lx->pos.col = 1;
}

/* The position n bytes to the right of pos, on the same line. */
static struct pos
right_of(struct pos pos, size_t n)
{
	pos.col += (uint32_t)n;
	return pos;
}


/*
 * Length of the character at src[off], which is not a line break: 1 for
 * ASCII, the sequence length for valid UTF-8, 0 for a NUL or invalid byte.
 */
static size_t
char_len(const struct lexer *lx, size_t off)
{
	const unsigned char *s = (const unsigned char *)lx->src + off;
	uint32_t cp;

	if (s[0] == 0)
		return 0;
	return s[0] < 0x80 ? 1 : utf8_decode(s, lx->len - off, &cp);
}

/* Report src[off], a NUL or a byte that does not start valid UTF-8. */
static void
bad_byte(struct lexer *lx, struct pos pos, size_t off)
{
	unsigned char c = (unsigned char)lx->src[off];

	if (c == 0)
		diag_error(lx->diags, pos, "NUL byte in source (byte offset "
		    "%zu)", off);
	else
		diag_error(lx->diags, pos, "invalid UTF-8 byte 0x%02X (byte "
		    "offset %zu)", c, off);
}

/*
 * Consume one character of a comment. A bad byte is reported only once per
 * comment (*reported), so a Latin-1 comment gives one error, not dozens.
 */
static void
comment_char(struct lexer *lx, bool *reported)
{
	size_t n = char_len(lx, lx->off);

	if (n == 0) {
		if (!*reported)
			bad_byte(lx, lx->pos, lx->off);
		*reported = true;
		n = 1;
	}
	skip(lx, n);
}

/* Skip a '//' comment, up to (not over) the line break. */
static void
line_comment(struct lexer *lx)
{
	bool reported = false;

	while (lx->off < lx->len && lx->src[lx->off] != '\n')
		comment_char(lx, &reported);
}

/*
 * Skip a block comment, which may nest. A comment holding a line break ends
 * a statement like the line break would (Go's rule), so *nl and *nlpos are
 * set at the first one.
 */
static void
block_comment(struct lexer *lx, bool *nl, struct pos *nlpos)
{
	struct pos start = lx->pos;
	bool reported = false;
	size_t depth = 0;

	while (lx->off < lx->len) {
		int c = peekc(lx, 0), next = peekc(lx, 1);

		if (c == '/' && next == '*') {
			depth++;
			skip(lx, 2);
		} else if (c == '*' && next == '/') {
			skip(lx, 2);
			if (--depth == 0)
				return;
		} else if (c == '\n') {
			if (!*nl)
				*nlpos = lx->pos;
			*nl = true;
			skip_newline(lx);
		} else
			comment_char(lx, &reported);
	}
	diag_error(lx->diags, start, "unterminated block comment");
}

/*
 * Skip blanks, line breaks and comments. Returns whether a line break was
 * crossed, with the position of the first in *nlpos.
 */
static bool
skip_space(struct lexer *lx, struct pos *nlpos)
{
	bool nl = false;

	while (lx->off < lx->len) {
		int c = peekc(lx, 0), next = peekc(lx, 1);

		if (c == ' ' || c == '\t' || c == '\r')
			skip(lx, 1);
		else if (c == '\n') {
			if (!nl)
				*nlpos = lx->pos;
			nl = true;
			skip_newline(lx);
		} else if (c == '/' && next == '/')
			line_comment(lx);
		else if (c == '/' && next == '*')
			block_comment(lx, &nl, nlpos);
		else
			break;
	}
	return nl;
}

static void
ident(struct lexer *lx, struct token *t)
{
	const char *s = lx->src + lx->off;
	size_t n = 0;

	while (lx->off + n < lx->len && is_alnum((unsigned char)s[n]))
		n++;
	skip(lx, n);
	t->len = (uint32_t)(n < UINT32_MAX ? n : UINT32_MAX);
	if (n > IDENT_BYTES_MAX) {
		diag_error(lx->diags, t->pos, "identifier is %zu bytes long, "
		    "more than the limit of %u", n, IDENT_BYTES_MAX);
		t->kind = TOK_ERROR;
		return;
	}
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strlen(keywords[i].name) == n &&
		    memcmp(keywords[i].name, s, n) == 0) {
			t->kind = keywords[i].kind;
			return;
		}
	}
	/* On arena failure the driver reports "out of memory". */
	t->text = arena_strndup(lx->arena, s, n);
	t->kind = t->text != NULL ? TOK_IDENT : TOK_ERROR;
}

/* The value of digit c in bases up to 36, or 36 if it is not one. */
static unsigned
digit_value(int c)
{
	if (is_digit(c))
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'z')
		return (unsigned)(c - 'a' + 10);
	if (c >= 'A' && c <= 'Z')
		return (unsigned)(c - 'A' + 10);
	return 36;
}

/* *v = *v * base + d, unless that passes 2^63; see TOK_INT in lex.h. */
static bool
accumulate(uint64_t *v, unsigned base, unsigned d)
{
	const uint64_t lim = (uint64_t)1 << 63;

	if (*v > (lim - d) / base)
		return false;
	*v = *v * base + d;
	return true;
}

static void
too_large(struct lexer *lx, struct token *t)
{
	diag_error(lx->diags, t->pos, "integer literal too large (the "
	    "maximum is 9223372036854775807)");
	t->kind = TOK_ERROR;
}

/* Store v, at most 2^63, as the token's value: 2^63 becomes INT64_MIN. */
static void
set_int(struct token *t, uint64_t v)
{
	t->kind = TOK_INT;
	t->ival = v == (uint64_t)1 << 63 ? INT64_MIN : (int64_t)v;
}

/* 0x, 0b or 0o followed by digits and underscores. */
static void
radix_int(struct lexer *lx, struct token *t)
{
	const char *s = lx->src + lx->off;
	int prefix = s[1];
	unsigned base = prefix == 'x' ? 16 : prefix == 'b' ? 2 : 8;
	const char *name = prefix == 'x' ? "hexadecimal" : prefix == 'b' ?
	    "binary" : "octal";
	bool bad = false, overflow = false, any = false;
	uint64_t v = 0;
	size_t n = 2;

	t->kind = TOK_ERROR;
	for (; lx->off + n < lx->len && is_alnum((unsigned char)s[n]); n++) {
		unsigned d = digit_value((unsigned char)s[n]);

		if (s[n] == '_')
			continue;
		if (d >= base) {
			if (!bad)
				diag_error(lx->diags, right_of(t->pos, n),
				    "invalid digit '%c' in %s literal", s[n],
				    name);
			bad = true;
		} else {
			any = true;
			if (!accumulate(&v, base, d))
				overflow = true;
		}
	}
	skip(lx, n);
	if (bad)
		return;
	if (!any)
		diag_error(lx->diags, t->pos, "%s literal '0%c' has no digits",
		    name, prefix);
	else if (overflow)
		too_large(lx, t);
	else
		set_int(t, v);
}

/* s[0..n) without the underscores, NUL-terminated, in the arena. */
static char *
strip_underscores(struct lexer *lx, const char *s, size_t n)
{
	char *buf = arena_alloc(lx->arena, n + 1), *q = buf;

	if (buf == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '_')
			*q++ = s[i];
	return buf;
}

/*
 * number -> DIGITS ['.' DIGITS] [('e'|'E') ['+'|'-'] DIGITS] | radix_int,
 * where DIGITS may hold underscores after the first digit. "1..5" is an
 * integer followed by '..': a '.' belongs to the number only before a digit.
 */
static void
number(struct lexer *lx, struct token *t)
{
	const char *s = lx->src + lx->off;
	size_t n = 0, avail = lx->len - lx->off;
	bool is_float = false;

#define AT(i)	((i) < avail ? (unsigned char)s[i] : -1)
	if (s[0] == '0' && (AT(1) == 'x' || AT(1) == 'b' || AT(1) == 'o')) {
		radix_int(lx, t);
		return;
	}
	while (is_digit(AT(n)) || AT(n) == '_')
		n++;
	if (AT(n) == '.' && is_digit(AT(n + 1))) {
		is_float = true;
		for (n++; is_digit(AT(n)) || AT(n) == '_'; n++)
			;
	}
	if (AT(n) == 'e' || AT(n) == 'E') {
		size_t e = n + 1;

		if (AT(e) == '+' || AT(e) == '-')
			e++;
		if (is_digit(AT(e))) {
			is_float = true;
			for (n = e; is_digit(AT(n)) || AT(n) == '_'; n++)
				;
		}
	}
	if (is_alnum(AT(n))) {
		size_t end = n;

		while (is_alnum(AT(end)))
			end++;
		diag_error(lx->diags, right_of(t->pos, n), "invalid suffix "
		    "'%.*s' on number", (int)(end - n < 64 ? end - n : 64),
		    s + n);
		skip(lx, end);
		t->kind = TOK_ERROR;
		return;
	}
#undef AT
	skip(lx, n);
	t->kind = TOK_ERROR;
	if (is_float) {
		/* strtod is correctly rounded; scriptc never sets a locale, so
		 * the decimal point is '.'. */
		char *buf = strip_underscores(lx, s, n);

		if (buf == NULL)
			return;
		t->fval = strtod(buf, NULL);
		if (isinf(t->fval)) {
			diag_error(lx->diags, t->pos, "float literal out of "
			    "range");
			return;
		}
		t->kind = TOK_FLOAT;
	} else {
		uint64_t v = 0;

		for (size_t i = 0; i < n; i++) {
			if (s[i] != '_' && !accumulate(&v, 10,
			    (unsigned)(s[i] - '0'))) {
				too_large(lx, t);
				return;
			}
		}
		set_int(t, v);
	}
}

/*
 * Decode the escape at s[i] (a backslash) of the string token t into buf;
 * returns the bytes consumed from s and adds the bytes written to *n.
 * On a bad escape it reports and sets *ok to false.
 */
static size_t
escape(struct lexer *lx, const struct token *t, const unsigned char *s,
    size_t i, size_t end, char *buf, size_t *n, bool *ok)
{
	struct pos pos = right_of(t->pos, i);
	uint32_t cp = 0;
	size_t j, len, ndig = 0;

	switch (s[i + 1]) {
	case 'n':	buf[(*n)++] = '\n'; return 2;
	case 'r':	buf[(*n)++] = '\r'; return 2;
	case 't':	buf[(*n)++] = '\t'; return 2;
	case '\\':	buf[(*n)++] = '\\'; return 2;
	case '"':	buf[(*n)++] = '"'; return 2;
	case '0':	buf[(*n)++] = '\0'; return 2;
	case 'u':
		break;
	default:
		*ok = false;
		len = char_len(lx, (size_t)(s + i + 1 - (const unsigned char *)
		    lx->src));
		if (len == 1 && s[i + 1] >= 0x20 && s[i + 1] < 0x7F)
			diag_error(lx->diags, pos, "invalid escape '\\%c' in "
			    "string", s[i + 1]);
		else if (len > 1)
			diag_error(lx->diags, pos, "invalid escape '\\%.*s' in "
			    "string", (int)len, (const char *)s + i + 1);
		else {
			diag_error(lx->diags, pos, "invalid escape in string: "
			    "'\\' followed by byte 0x%02X", s[i + 1]);
			len = 1;
		}
		return 1 + len;
	}
	/* \u{X...}: one to six hex digits naming a Unicode scalar value. */
	j = i + 2;
	if (j < end && s[j] == '{') {
		for (j++; j < end && digit_value(s[j]) < 16 && ndig < 7; j++) {
			cp = cp << 4 | digit_value(s[j]);
			ndig++;
		}
		if (j < end && s[j] == '}' && ndig >= 1 && ndig <= 6) {
			if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
				diag_error(lx->diags, pos, "invalid escape "
				    "'\\u{%.*s}' in string: not a Unicode "
				    "scalar value", (int)ndig,
				    (const char *)s + i + 3);
				*ok = false;
			} else
				*n += utf8_encode(cp, buf + *n);
			return j + 1 - i;
		}
	}
	diag_error(lx->diags, pos, "invalid escape in string: '\\u' must be "
	    "followed by '{', 1 to 6 hex digits and '}'");
	*ok = false;
	return 2;
}

/* string -> '"' (UTF-8 character | escape)* '"', all on one line */
static void
string(struct lexer *lx, struct token *t)
{
	const unsigned char *s = (const unsigned char *)lx->src + lx->off;
	size_t avail = lx->len - lx->off, end, i, n = 0;
	bool ok = true, reported = false;
	char *buf;

	/* Find the closing quote first: escapes only shrink, so the raw
	 * length bounds the decoded one and one allocation does. */
	for (end = 1; end < avail && s[end] != '"' && s[end] != '\n'; end++)
		if (s[end] == '\\' && end + 1 < avail && s[end + 1] != '\n')
			end++;
	t->kind = TOK_ERROR;
	if (end >= avail || s[end] != '"') {
		diag_error(lx->diags, t->pos, end < avail ? "unterminated "
		    "string (a string must end on the line it starts)" :
		    "unterminated string");
		skip(lx, end < avail ? end : avail);
		return;
	}
	if ((buf = arena_alloc(lx->arena, end)) == NULL) {
		skip(lx, end + 1);
		return;
	}
	for (i = 1; i < end;) {
		size_t len;

		if (s[i] == '\\') {
			i += escape(lx, t, s, i, end, buf, &n, &ok);
			continue;
		}
		if ((len = char_len(lx, lx->off + i)) == 0) {
			if (!reported)
				bad_byte(lx, right_of(t->pos, i), lx->off + i);
			reported = true;
			ok = false;
			i++;
			continue;
		}
		memcpy(buf + n, s + i, len);
		n += len;
		i += len;
	}
	skip(lx, end + 1);
	if (n > STRING_BYTES_MAX) {
		diag_error(lx->diags, t->pos, "string literal is %zu bytes, "
		    "more than the limit of %u bytes", n, STRING_BYTES_MAX);
		ok = false;
	}
	t->text = buf;
	t->len = (uint32_t)n;
	if (ok)
		t->kind = TOK_STRING;
}

/* Punctuation at the next byte, consumed, or TOK_EOF if there is none. */
static unsigned
punct(struct lexer *lx)
{
	int c = peekc(lx, 0), next = peekc(lx, 1);
	unsigned kind;

	switch (c) {
	case '(': kind = TOK_LPAREN; break;
	case ')': kind = TOK_RPAREN; break;
	case '{': kind = TOK_LBRACE; break;
	case '}': kind = TOK_RBRACE; break;
	case '[': kind = TOK_LBRACKET; break;
	case ']': kind = TOK_RBRACKET; break;
	case ',': kind = TOK_COMMA; break;
	case ';': kind = TOK_SEMI; break;
	case ':': kind = TOK_COLON; break;
	case '+': kind = TOK_PLUS; break;
	case '*': kind = TOK_STAR; break;
	case '/': kind = TOK_SLASH; break;
	case '%': kind = TOK_PERCENT; break;
	case '.':
		if (next == '.') {
			skip(lx, 2);
			return TOK_DOTDOT;
		}
		kind = TOK_DOT;
		break;
	case '-':
		if (next == '>') {
			skip(lx, 2);
			return TOK_ARROW;
		}
		kind = TOK_MINUS;
		break;
	case '!':
	case '<':
	case '>':
	case '=':
		if (next == '=') {
			skip(lx, 2);
			return c == '!' ? TOK_NE : c == '<' ? TOK_LE :
			    c == '>' ? TOK_GE : TOK_EQEQ;
		}
		kind = c == '!' ? TOK_BANG : c == '<' ? TOK_LT : c == '>' ?
		    TOK_GT : TOK_EQ;
		break;
	case '&':
	case '|':
		if (next != c)
			return TOK_EOF;
		skip(lx, 2);
		return c == '&' ? TOK_ANDAND : TOK_OROR;
	default:
		return TOK_EOF;
	}
	skip(lx, 1);
	return kind;
}

/* Whether byte c can start a token or separate tokens. */
static bool
is_token_byte(int c)
{
	static const char starts[] = " \t\r\n\"(){}[],;:.+-*/%!<>=&|";

	return is_alnum(c) || (c != 0 && strchr(starts, c) != NULL);
}

/*
 * Report the character at the next byte, which starts no token, and skip it
 * together with any junk right after it: "@#$" is one error, not three.
 */
static void
unexpected(struct lexer *lx, struct token *t)
{
	const unsigned char *s = (const unsigned char *)lx->src + lx->off;
	uint32_t cp = 0;
	size_t len = s[0] != 0 ? utf8_decode(s, lx->len - lx->off, &cp) : 0;

	t->kind = TOK_ERROR;
	if (len == 0) {
		bad_byte(lx, t->pos, lx->off);
		len = 1;
	} else if (cp == '\'')
		diag_error(lx->diags, t->pos, "unexpected character \"'\"");
	else if (cp >= 0x20 && cp < 0x7F)
		diag_error(lx->diags, t->pos, "unexpected character '%c'",
		    (int)cp);
	else if (cp < 0x80)
		diag_error(lx->diags, t->pos, "unexpected character U+%04X",
		    (unsigned)cp);
	else
		diag_error(lx->diags, t->pos, "unexpected character '%.*s' "
		    "(U+%04X)", (int)len, (const char *)s, (unsigned)cp);
	skip(lx, len);
	while (lx->off < lx->len && !is_token_byte(peekc(lx, 0))) {
		len = char_len(lx, lx->off);
		skip(lx, len > 0 ? len : 1);
	}
}

void
lex_next(struct lexer *lx, struct token *t)
{
	struct pos nlpos;
	unsigned kind;
	int c;

	memset(t, 0, sizeof(*t));
	if (skip_space(lx, &nlpos)) {
		t->kind = TOK_NEWLINE;
		t->pos = nlpos;
		return;
	}
	t->pos = lx->pos;
	if (lx->off >= lx->len) {
		t->kind = TOK_EOF;
		return;
	}
	c = peekc(lx, 0);
	if (is_alpha(c))
		ident(lx, t);
	else if (is_digit(c))
		number(lx, t);
	else if (c == '"')
		string(lx, t);
	else if ((kind = punct(lx)) != TOK_EOF)
		t->kind = (uint8_t)kind;
	else
		unexpected(lx, t);
}
