/*
 * modio: encode -> decode gives back the same module; each structural
 * check rejects with its message; truncated, bit-flipped and garbage input
 * is either decoded or rejected cleanly (run under ASan for leaks), and
 * whatever decodes also goes through the verifier without harm.
 */
#include <stdlib.h>

#include "check.h"
#include "module.pb-c.h"
#include "testmod.h"
#include "verify.h"

/*
 * Allocation faults: the test links with -Wl,--wrap=malloc,--wrap=calloc,
 * so every malloc/calloc in modio (and protobuf-c's allocations, which go
 * through modio's allocator) passes here; allocation number fail_at fails.
 */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
static unsigned long nallocs, fail_at;

void *
__wrap_malloc(size_t n)
{
	if (fail_at != 0 && ++nallocs == fail_at)
		return NULL;
	return __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	if (fail_at != 0 && ++nallocs == fail_at)
		return NULL;
	return __real_calloc(n, size);
}

static void
check_same(const struct module *a, const struct module *b)
{
	CHECK_INT_EQ(a->format, b->format);
	CHECK_STR_EQ(a->source_name, b->source_name);
	CHECK(memcmp(a->source_hash, b->source_hash, 32) == 0);
	CHECK_INT_EQ(a->entry, b->entry);
	CHECK_INT_EQ(a->nconsts, b->nconsts);
	for (uint32_t k = 0; k < a->nconsts && k < b->nconsts; k++) {
		const struct mod_const *x = &a->consts[k], *y = &b->consts[k];

		CHECK_INT_EQ(x->kind, y->kind);
		if (x->kind == CONST_INT)
			CHECK_INT_EQ(x->u.i, y->u.i);
		else if (x->kind == CONST_FLOAT)
			CHECK(memcmp(&x->u.f, &y->u.f, sizeof(double)) == 0);
		else {
			CHECK_INT_EQ(x->u.s.len, y->u.s.len);
			CHECK(memcmp(x->u.s.ptr, y->u.s.ptr, x->u.s.len + 1) ==
			    0);
		}
	}
	CHECK_INT_EQ(a->nfns, b->nfns);
	for (uint32_t k = 0; k < a->nfns && k < b->nfns; k++) {
		const struct mod_fn *x = &a->fns[k], *y = &b->fns[k];

		CHECK_STR_EQ(x->name, y->name);
		CHECK_INT_EQ(x->is_async, y->is_async);
		CHECK_INT_EQ(x->ret_kind, y->ret_kind);
		CHECK_INT_EQ(x->nparams, y->nparams);
		CHECK_INT_EQ(x->nregs, y->nregs);
		CHECK_INT_EQ(x->ncode, y->ncode);
		CHECK_INT_EQ(x->line, y->line);
		CHECK_INT_EQ(x->nstates, y->nstates);
		if (x->nregs != y->nregs || x->ncode != y->ncode ||
		    x->nstates != y->nstates)
			continue;
		if (x->nregs > 0)
			CHECK(memcmp(x->reg_kinds, y->reg_kinds, x->nregs) == 0);
		CHECK(memcmp(x->code, y->code, 4 * x->ncode) == 0);
		CHECK((x->lines == NULL) == (y->lines == NULL));
		if (x->lines != NULL && y->lines != NULL)
			CHECK(memcmp(x->lines, y->lines, 4 * x->ncode) == 0);
		for (uint32_t s = 0; s < x->nstates; s++) {
			CHECK_INT_EQ(x->states[s].pc, y->states[s].pc);
			CHECK_INT_EQ(x->states[s].nlive, y->states[s].nlive);
			if (x->states[s].nlive == y->states[s].nlive &&
			    x->states[s].nlive > 0)
				CHECK(memcmp(x->states[s].live,
				    y->states[s].live, x->states[s].nlive) == 0);
		}
		CHECK((x->reg_names == NULL) == (y->reg_names == NULL));
		for (uint32_t r = 0; x->reg_names && y->reg_names &&
		    r < x->nregs; r++)
			CHECK_STR_EQ(x->reg_names[r], y->reg_names[r]);
	}
	CHECK_INT_EQ(a->nexterns, b->nexterns);
	for (uint32_t k = 0; k < a->nexterns && k < b->nexterns; k++) {
		const struct mod_extern *x = &a->externs[k];
		const struct mod_extern *y = &b->externs[k];

		CHECK_STR_EQ(x->library, y->library);
		CHECK_STR_EQ(x->symbol, y->symbol);
		CHECK_INT_EQ(x->nparams, y->nparams);
		CHECK_INT_EQ(x->ret, y->ret);
		if (x->nparams == y->nparams && x->nparams > 0)
			CHECK(memcmp(x->params, y->params, x->nparams) == 0);
	}
}

/* Encode the test module (after the caller's changes). */
static uint8_t *
encode(size_t *lenp)
{
	struct sc_error err;
	uint8_t *buf = NULL;

	CHECK_INT_EQ(modio_encode(&tm.m, &buf, lenp, &err), SC_OK);
	return buf;
}

static void
test_round_trip(void)
{
	struct sc_error err;
	struct module *m = NULL;
	uint8_t *buf, *buf2 = NULL;
	size_t len, len2;

	testmod_reset();
	/* Awkward constants: negative, NaN bits, NUL inside a string. */
	tm.consts[0].u.i = INT64_MIN;
	tm.consts[1].u.f = -0.0;
	tm.consts[2].u.s.ptr = "a\0b\xc3\xa9";
	tm.consts[2].u.s.len = 5;
	buf = encode(&len);
	CHECK(buf != NULL);
	CHECK_INT_EQ(modio_decode(buf, len, &m, &err), SC_OK);
	CHECK(m != NULL);
	if (m == NULL) {
		free(buf);
		return;
	}
	check_same(&tm.m, m);
	CHECK_INT_EQ(verify_module(m, &err), SC_OK);
	/* Decoded and re-encoded: the same bytes. */
	CHECK_INT_EQ(modio_encode(m, &buf2, &len2, &err), SC_OK);
	CHECK_INT_EQ(len2, len);
	CHECK(buf2 != NULL && memcmp(buf, buf2, len) == 0);
	free(buf);
	free(buf2);
	module_free(m);
}

static void
test_round_trip_empty_parts(void)
{
	struct sc_error err;
	struct module *m = NULL;
	uint8_t *buf;
	size_t len;

	testmod_reset();
	tm.m.nconsts = 0;
	tm.m.nexterns = 0;
	tm.fns[TM_MAIN].lines = NULL;
	tm.fns[TM_MAIN].reg_names = NULL;
	tm.fns[TM_ADD].nregs = 0;
	tm.fns[TM_ADD].nparams = 0;
	memset(tm.m.source_hash, 0, 32);
	tm.m.source_name = "";
	buf = encode(&len);
	CHECK_INT_EQ(modio_decode(buf, len, &m, &err), SC_OK);
	if (m != NULL) {
		check_same(&tm.m, m);
		CHECK(m->fns[TM_MAIN].lines == NULL);
		CHECK(m->fns[TM_MAIN].reg_names == NULL);
		CHECK(m->consts == NULL && m->externs == NULL);
	}
	module_free(m);
	free(buf);
	/* No bytes at all is a module with nothing in it. */
	CHECK_INT_EQ(modio_decode(NULL, 0, &m, &err), SC_OK);
	CHECK(m != NULL && m->nfns == 0 && m->format == 0);
	CHECK_INT_EQ(verify_module(m, &err), SC_EBADMOD);
	CHECK_STR_EQ(err.msg, "module: format 0 not supported (expected 1)");
	module_free(m);
	module_free(NULL);
}

/* Decode buf and expect SC_EBADMOD with exactly msg; frees buf. */
#define BAD(buf, len, want_) do { \
	struct sc_error e_; \
	struct module *m_ = (struct module *)1; \
	memset(&e_, 0, sizeof(e_)); \
	CHECK_INT_EQ(modio_decode(buf, len, &m_, &e_), SC_EBADMOD); \
	CHECK(m_ == NULL); \
	CHECK_STR_EQ(e_.msg, want_); \
	free(buf); \
} while (0)

static void
test_structural_via_struct(void)
{
	uint8_t *buf;
	size_t len;

	testmod_reset();
	tm.consts[1].kind = 7;
	buf = encode(&len);
	BAD(buf, len, "constant 1: no value set");

	testmod_reset();
	tm.consts[2].u.s.ptr = "\xc0\xaf";
	tm.consts[2].u.s.len = 2;
	buf = encode(&len);
	BAD(buf, len, "constant 2: string is not valid UTF-8");

	testmod_reset();
	tm.fns[TM_WORK].nregs = 257;
	buf = encode(&len);
	BAD(buf, len, "function 2: reg_kinds has 257 bytes "
	    "(FUNCTION_REGS_MAX 256)");

	testmod_reset();
	tm.fns[TM_WORK].nstates = 6;
	buf = encode(&len);
	BAD(buf, len, "function 2: 6 states but only 5 instructions");

	testmod_reset();
	tm.f[TM_ZOO].live[2][2] = 7;
	buf = encode(&len);
	BAD(buf, len, "function 3: state 2: live registers not ascending "
	    "(7 after 7)");

	testmod_reset();
	tm.params[0][0] = CT__COUNT;
	buf = encode(&len);
	BAD(buf, len, "extern 0: parameter 0: ctype 7 out of range "
	    "(CT__COUNT 7)");

	testmod_reset();
	tm.externs[0].ret = 200;
	buf = encode(&len);
	BAD(buf, len, "extern 0: result ctype 200 out of range (CT__COUNT 7)");

	testmod_reset();
	tm.fns[TM_ADD].name = "\xed\xa0\x80";	/* a surrogate */
	buf = encode(&len);
	BAD(buf, len, "function 0: name is not valid UTF-8");

	testmod_reset();
	tm.f[TM_MAIN].names[2] = "\xf4\x90\x80\x80";	/* above U+10FFFF */
	buf = encode(&len);
	BAD(buf, len, "function 1: reg_names[2] is not valid UTF-8");

	testmod_reset();
	tm.externs[0].library = "\xe2\x82";		/* truncated */
	buf = encode(&len);
	BAD(buf, len, "extern 0: library is not valid UTF-8");
}

static void
test_names(void)
{
	char name[300];
	uint8_t *buf;
	size_t len;
	struct module *m = NULL;
	struct sc_error err;

	/* 255 bytes of multi-byte UTF-8 is fine; 256 is not. */
	testmod_reset();
	for (int i = 0; i < 255; i += 3)
		memcpy(name + i, "\xe2\x82\xac", 3);	/* euro sign */
	name[255] = '\0';
	tm.externs[0].symbol = name;
	buf = encode(&len);
	CHECK_INT_EQ(modio_decode(buf, len, &m, &err), SC_OK);
	CHECK(m != NULL && strcmp(m->externs[0].symbol, name) == 0);
	module_free(m);
	free(buf);

	memset(name, 'x', 256);
	name[256] = '\0';
	tm.m.source_name = name;
	buf = encode(&len);
	BAD(buf, len, "module: source_name is 256 bytes (NAME_MAX_BYTES 255)");

	testmod_reset();
	tm.externs[0].symbol = name;
	buf = encode(&len);
	BAD(buf, len, "extern 0: symbol is 256 bytes (NAME_MAX_BYTES 255)");
}

/* Unpack the test module's encoding for direct edits of wire fields. */
static Sbc__Module *
unpacked(void)
{
	size_t len;
	uint8_t *buf;
	Sbc__Module *pm;

	testmod_reset();
	buf = encode(&len);
	pm = sbc__module__unpack(NULL, len, buf);
	free(buf);
	CHECK(pm != NULL);
	return pm;
}

/* Pack pm (not freed) into a new buffer. */
static uint8_t *
packed(const Sbc__Module *pm, size_t *lenp)
{
	uint8_t *buf;

	*lenp = sbc__module__get_packed_size(pm);
	buf = malloc(*lenp + 1);
	sbc__module__pack(pm, buf);
	return buf;
}

static void
test_structural_via_wire(void)
{
	Sbc__Module *pm;
	uint8_t *buf, hash[5] = { 1, 2, 3, 4, 5 };
	size_t len, saved;
	uint32_t *saved_p;

	if ((pm = unpacked()) == NULL)
		return;
	ProtobufCBinaryData h0 = pm->source_hash;

	pm->source_hash.len = 5;
	pm->source_hash.data = hash;
	buf = packed(pm, &len);
	pm->source_hash = h0;
	BAD(buf, len, "module: source_hash has 5 bytes, expected 32 or 0");

	saved = pm->functions[1]->n_lines;
	pm->functions[1]->n_lines = 3;
	buf = packed(pm, &len);
	pm->functions[1]->n_lines = saved;
	BAD(buf, len, "function 1: lines has 3 entries, expected 15 (one per "
	    "instruction) or 0");

	saved = pm->functions[1]->n_reg_names;
	pm->functions[1]->n_reg_names = 13;
	buf = packed(pm, &len);
	pm->functions[1]->n_reg_names = saved;
	BAD(buf, len, "function 1: reg_names has 13 entries, expected 14 (one "
	    "per register) or 0");

	pm->functions[2]->ret_kind = 256;
	buf = packed(pm, &len);
	pm->functions[2]->ret_kind = VK_INT;
	BAD(buf, len, "function 2: ret_kind 256 out of range");

	pm->constants[1]->value_case = SBC__CONSTANT__VALUE__NOT_SET;
	buf = packed(pm, &len);
	pm->constants[1]->value_case = SBC__CONSTANT__VALUE_F;
	BAD(buf, len, "constant 1: no value set");

	saved = pm->functions[2]->states[0]->live.len;
	pm->functions[2]->states[0]->live.len = 257;
	{
		uint8_t live[257];

		for (int i = 0; i < 257; i++)
			live[i] = (uint8_t)i;
		saved_p = (uint32_t *)pm->functions[2]->states[0]->live.data;
		pm->functions[2]->states[0]->live.data = live;
		buf = packed(pm, &len);
		pm->functions[2]->states[0]->live.data = (uint8_t *)saved_p;
	}
	pm->functions[2]->states[0]->live.len = saved;
	BAD(buf, len, "function 2: state 0: 257 live registers "
	    "(FUNCTION_REGS_MAX 256)");

	sbc__module__free_unpacked(pm, NULL);
}

static void
test_count_caps(void)
{
	Sbc__Module *pm;
	uint8_t *buf;
	size_t len, n = 65537;
	void **many = calloc(n, sizeof(void *));
	Sbc__Constant **c0;
	Sbc__Function **f0;
	Sbc__Extern **e0;
	size_t nc, nf, ne;

	if (many == NULL || (pm = unpacked()) == NULL) {
		free(many);
		return;
	}
	c0 = pm->constants, nc = pm->n_constants;
	f0 = pm->functions, nf = pm->n_functions;
	e0 = pm->externs, ne = pm->n_externs;

	for (size_t i = 0; i < n; i++)
		many[i] = c0[0];
	pm->constants = (Sbc__Constant **)many, pm->n_constants = n;
	buf = packed(pm, &len);
	pm->constants = c0, pm->n_constants = nc;
	BAD(buf, len, "module: 65537 constants (MODULE_CONSTANTS_MAX 65536)");

	for (size_t i = 0; i < n; i++)
		many[i] = f0[0];
	pm->functions = (Sbc__Function **)many, pm->n_functions = n;
	buf = packed(pm, &len);
	pm->functions = f0, pm->n_functions = nf;
	BAD(buf, len, "module: 65537 functions (MODULE_FUNCTIONS_MAX 65536)");

	for (size_t i = 0; i < n; i++)
		many[i] = e0[0];
	pm->externs = (Sbc__Extern **)many, pm->n_externs = n;
	buf = packed(pm, &len);
	pm->externs = e0, pm->n_externs = ne;
	BAD(buf, len, "module: 65537 externs (MODULE_EXTERNS_MAX 65536)");

	sbc__module__free_unpacked(pm, NULL);
	free(many);
}

static void
test_size_caps(void)
{
	size_t big = MODULE_BYTES_MAX + 1;
	uint8_t *buf = calloc(1, big);
	struct sc_error err;
	uint32_t *code;
	size_t len;

	if (buf == NULL)
		return;
	BAD(buf, big, "module: 16777217 bytes (MODULE_BYTES_MAX 16777216)");

	/* 6M empty Function messages (2 bytes each) would take over 1 GiB
	 * in protobuf-c's structs: the unpack budget refuses. */
	len = 12u << 20;
	buf = malloc(len);
	for (size_t i = 0; buf != NULL && i < len; i += 2) {
		buf[i] = 0x2a;		/* field 5, length-delimited */
		buf[i + 1] = 0;
	}
	if (buf != NULL)
		BAD(buf, len, "module: decoding needs more than 67108864 bytes "
		    "of memory (MODIO_UNPACK_MEM_MAX)");

	/* The encoder refuses to produce what the decoder would refuse. */
	testmod_reset();
	code = calloc(FUNCTION_CODE_MAX, sizeof(*code));
	if (code == NULL)
		return;
	tm.fns[TM_ZOO].code = code;
	tm.fns[TM_ZOO].ncode = FUNCTION_CODE_MAX;
	tm.fns[TM_ZOO].lines = NULL;
	buf = (uint8_t *)1;
	CHECK_INT_EQ(modio_encode(&tm.m, &buf, &len, &err), SC_ELIMIT);
	CHECK(buf == NULL);
	CHECK_STR_CONTAINS(err.msg, "module: encodes to 167");
	CHECK_STR_CONTAINS(err.msg, " bytes (MODULE_BYTES_MAX 16777216)");
	free(code);
}

static void
test_garbage(void)
{
	static const uint8_t junk[][6] = {
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },	/* endless varint */
		{ 0x2a, 0x7f, 0, 0, 0, 0 },		/* length past end */
		{ 0x0f, 0, 0, 0, 0, 0 },		/* wire type 7 */
		{ 0x22, 0x02, 0x0a, 0x05, 0, 0 },	/* nested past end */
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		uint8_t *buf = malloc(6);

		memcpy(buf, junk[i], 6);
		BAD(buf, 6, "module: 6 bytes are not a valid encoded "
		    "sbc.Module");
	}
}

/*
 * Every truncation and every single-bit flip of a valid encoding either
 * decodes or fails with SC_EBADMOD, never anything else; whatever decodes
 * is then verified (pass or fail, without harm). ASan finds the leaks.
 */
static void
test_truncate_and_flip(void)
{
	struct sc_error err;
	struct module *m;
	uint8_t *buf, *copy;
	size_t len;
	unsigned ndecoded = 0, nrejected = 0, nverified = 0;

	testmod_reset();
	buf = encode(&len);
	if (buf == NULL)
		return;
	copy = malloc(len);
	for (size_t n = 0; n < len; n++) {
		int r;

		/* A private copy of exactly n bytes, so ASan sees overreads. */
		memcpy(copy, buf, n);
		r = modio_decode(n > 0 ? copy : NULL, n, &m, &err);
		CHECK(r == SC_OK || r == SC_EBADMOD);
		CHECK((r == SC_OK) == (m != NULL));
		if (r == SC_OK) {
			ndecoded++;
			if (verify_module(m, &err) == SC_OK)
				nverified++;
		} else
			nrejected++;
		module_free(m);
	}
	for (size_t bit = 0; bit < 8 * len; bit++) {
		int r;

		memcpy(copy, buf, len);
		copy[bit / 8] ^= (uint8_t)(1u << bit % 8);
		r = modio_decode(copy, len, &m, &err);
		CHECK(r == SC_OK || r == SC_EBADMOD);
		if (r == SC_OK) {
			ndecoded++;
			if (verify_module(m, &err) == SC_OK)
				nverified++;
		} else
			nrejected++;
		module_free(m);
	}
	/* Both outcomes occur; the full encoding is the only truncation
	 * guaranteed to verify, and it is not among the truncations. */
	CHECK(ndecoded > 0);
	CHECK(nrejected > 0);
	CHECK(nverified > 0);
	free(copy);
	free(buf);
}

static void
test_ctypes(void)
{
	CHECK_INT_EQ(ctype_vkind(CT_VOID), VK_UNIT);
	CHECK_INT_EQ(ctype_vkind(CT_INT64), VK_INT);
	CHECK_INT_EQ(ctype_vkind(CT_INT32), VK_INT);
	CHECK_INT_EQ(ctype_vkind(CT_DOUBLE), VK_FLOAT);
	CHECK_INT_EQ(ctype_vkind(CT_BOOL), VK_BOOL);
	CHECK_INT_EQ(ctype_vkind(CT_STRING), VK_STRING);
	CHECK_INT_EQ(ctype_vkind(CT_PTR), VK_PTR);
	CHECK_INT_EQ(ctype_vkind(CT__COUNT), VK__COUNT);
	CHECK_STR_EQ(ctype_name(CT_VOID), "()");
	CHECK_STR_EQ(ctype_name(CT_INT64), "int");
	CHECK_STR_EQ(ctype_name(CT_INT32), "i32");
	CHECK_STR_EQ(ctype_name(CT_DOUBLE), "float");
	CHECK_STR_EQ(ctype_name(CT_BOOL), "bool");
	CHECK_STR_EQ(ctype_name(CT_STRING), "string");
	CHECK_STR_EQ(ctype_name(CT_PTR), "ptr");
	CHECK_STR_EQ(ctype_name(99), "?");
}

/* Fail allocation 1, 2, ... of decode and of encode until one succeeds:
 * each failure is SC_ENOMEM with nothing returned and nothing leaked. */
static void
test_alloc_failures(void)
{
	struct sc_error err;
	struct module *m;
	uint8_t *buf, *out;
	size_t len, olen;
	unsigned long n;
	int r;

	testmod_reset();
	buf = encode(&len);
	if (buf == NULL)
		return;
	for (n = 1; n < 10000; n++) {
		nallocs = 0;
		fail_at = n;
		r = modio_decode(buf, len, &m, &err);
		fail_at = 0;
		if (r == SC_OK)
			break;
		CHECK_INT_EQ(r, SC_ENOMEM);
		CHECK(m == NULL);
		CHECK_STR_CONTAINS(err.msg, "out of memory decoding ");
	}
	/* Dozens of allocation points, each failed once. */
	CHECK(n > 50 && n < 10000);
	if (r != SC_OK)
		return;
	check_same(&tm.m, m);
	for (n = 1; n < 10000; n++) {
		nallocs = 0;
		fail_at = n;
		out = (uint8_t *)1;
		r = modio_encode(m, &out, &olen, &err);
		fail_at = 0;
		if (r == SC_OK)
			break;
		CHECK_INT_EQ(r, SC_ENOMEM);
		CHECK(out == NULL);
		CHECK_STR_EQ(err.msg, "out of memory encoding module");
	}
	CHECK(n > 10 && n < 10000);
	if (r == SC_OK) {
		CHECK_INT_EQ(olen, len);
		CHECK(memcmp(out, buf, len) == 0);
		free(out);
	}
	module_free(m);
	free(buf);
}

int
main(void)
{
	RUN(test_round_trip);
	RUN(test_round_trip_empty_parts);
	RUN(test_structural_via_struct);
	RUN(test_names);
	RUN(test_structural_via_wire);
	RUN(test_count_caps);
	RUN(test_size_caps);
	RUN(test_garbage);
	RUN(test_truncate_and_flip);
	RUN(test_ctypes);
	RUN(test_alloc_failures);
	return check_done();
}
