/*
 * struct module <-> sbc.Module (module.proto), structure only: sizes, caps,
 * counts that must agree, UTF-8 names, ranges that must fit the in-memory
 * field widths. Meaning (indices, kinds, jumps) is verify.c's job.
 * Decoding copies everything out of the protobuf-c message into separate
 * malloc'd arrays owned by the struct module, so module_free() can free a
 * half-built module and every error path is one `goto out`.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modio.h"
#include "module.pb-c.h"
#include "op.h"
#include "utf8.h"

/*
 * protobuf-c allocates in proportion to the input, but the factor is large
 * for hostile input (an empty Function is 2 bytes on the wire and ~170 in
 * memory). The unpack allocator refuses to hand out more than this, counting
 * 16 bytes of malloc overhead per block. Legitimate modules need at most a
 * few times their encoded size.
 */
#define MODIO_UNPACK_MEM_MAX	(64u << 20)
#define MODIO_ALLOC_OVERHEAD	16u

struct budget {
	size_t used;			/* bytes handed out, with overhead */
	bool exceeded;			/* an allocation was refused */
	bool oom;			/* malloc itself failed */
};

static void *
budget_alloc(void *data, size_t size)
{
	struct budget *b = data;
	void *p;

	if (size > MODIO_UNPACK_MEM_MAX ||
	    b->used + size + MODIO_ALLOC_OVERHEAD > MODIO_UNPACK_MEM_MAX) {
		b->exceeded = true;
		return NULL;
	}
	b->used += size + MODIO_ALLOC_OVERHEAD;
	if ((p = malloc(size > 0 ? size : 1)) == NULL)
		b->oom = true;
	return p;
}

static void
budget_free(void *data, void *p)
{
	free(p);
}

/* The Script kind a ctype carries across the FFI; VK__COUNT if ct is bad. */
unsigned
ctype_vkind(unsigned ct)
{
	static const uint8_t kinds[CT__COUNT] = {
		[CT_VOID] = VK_UNIT,
		[CT_INT64] = VK_INT,
		[CT_INT32] = VK_INT,
		[CT_DOUBLE] = VK_FLOAT,
		[CT_BOOL] = VK_BOOL,
		[CT_STRING] = VK_STRING,
		[CT_PTR] = VK_PTR,
	};

	return ct < CT__COUNT ? kinds[ct] : VK__COUNT;
}

/* The Script spelling of a ctype ("i32"); "?" if ct is bad. */
const char *
ctype_name(unsigned ct)
{
	static const char *const names[CT__COUNT] = {
		"()", "int", "i32", "float", "bool", "string", "ptr",
	};

	return ct < CT__COUNT ? names[ct] : "?";
}

/*
 * Check a name (at most NAME_MAX_BYTES of UTF-8) and copy it into *dst.
 * `what` is the field path for the message ("function 3: name").
 */
static int
copy_name(const char *src, const char **dst, const char *what,
    struct sc_error *err)
{
	size_t len = strlen(src);
	char *p;

	if (len > NAME_MAX_BYTES)
		return sc_errorf(err, SC_EBADMOD, "%s is %zu bytes "
		    "(NAME_MAX_BYTES %u)", what, len, NAME_MAX_BYTES);
	if (!utf8_valid((const uint8_t *)src, len))
		return sc_errorf(err, SC_EBADMOD, "%s is not valid UTF-8",
		    what);
	if ((p = malloc(len + 1)) == NULL)
		return sc_errorf(err, SC_ENOMEM, "out of memory decoding %s",
		    what);
	memcpy(p, src, len + 1);
	*dst = p;
	return SC_OK;
}

/* malloc(n * size) with overflow check; size > 0; n may be 0 (gives NULL
 * without failing). */
static void *
alloc_array(size_t n, size_t size, bool *failed)
{
	void *p;

	if (n == 0)
		return NULL;
	if (n > SIZE_MAX / size || (p = calloc(n, size)) == NULL) {
		*failed = true;
		return NULL;
	}
	return p;
}

static int
decode_const(const Sbc__Constant *pc, uint32_t idx, struct mod_const *c,
    struct sc_error *err)
{
	char *p;

	switch (pc->value_case) {
	case SBC__CONSTANT__VALUE_I:
		c->kind = CONST_INT;
		c->u.i = pc->i;
		return SC_OK;
	case SBC__CONSTANT__VALUE_F:
		c->kind = CONST_FLOAT;
		c->u.f = pc->f;
		return SC_OK;
	case SBC__CONSTANT__VALUE_S:
		break;
	default:
		return sc_errorf(err, SC_EBADMOD, "constant %u: no value set",
		    idx);
	}
	/* Bounded by MODULE_BYTES_MAX, so it fits the uint32_t length. */
	if (pc->s.len > UINT32_MAX - 1)
		return sc_errorf(err, SC_EBADMOD, "constant %u: string of %zu "
		    "bytes too long", idx, pc->s.len);
	if (!utf8_valid(pc->s.data, pc->s.len))
		return sc_errorf(err, SC_EBADMOD, "constant %u: string is not "
		    "valid UTF-8", idx);
	if ((p = malloc(pc->s.len + 1)) == NULL)
		return sc_errorf(err, SC_ENOMEM, "out of memory decoding "
		    "constant %u", idx);
	if (pc->s.len > 0)
		memcpy(p, pc->s.data, pc->s.len);
	p[pc->s.len] = '\0';
	c->kind = CONST_STRING;
	c->u.s.ptr = p;
	c->u.s.len = (uint32_t)pc->s.len;
	return SC_OK;
}

static int
decode_states(const Sbc__Function *pf, uint32_t idx, struct mod_fn *fn,
    struct sc_error *err)
{
	struct mod_state *states;
	bool failed = false;

	/* Each state is an AWAIT, so there cannot be more than instructions;
	 * this also bounds the allocation by the code size. */
	if (pf->n_states > pf->n_code)
		return sc_errorf(err, SC_EBADMOD, "function %u: %zu states "
		    "but only %zu instructions", idx, pf->n_states,
		    pf->n_code);
	states = alloc_array(pf->n_states, sizeof(*states), &failed);
	if (failed)
		return sc_errorf(err, SC_ENOMEM, "out of memory decoding "
		    "function %u states", idx);
	fn->states = states;
	fn->nstates = (uint32_t)pf->n_states;
	for (size_t s = 0; s < pf->n_states; s++) {
		const Sbc__State *ps = pf->states[s];
		uint8_t *live;

		if (ps->live.len > FUNCTION_REGS_MAX)
			return sc_errorf(err, SC_EBADMOD, "function %u: state "
			    "%zu: %zu live registers (FUNCTION_REGS_MAX %u)",
			    idx, s, ps->live.len, FUNCTION_REGS_MAX);
		for (size_t k = 1; k < ps->live.len; k++)
			if (ps->live.data[k] <= ps->live.data[k - 1])
				return sc_errorf(err, SC_EBADMOD, "function "
				    "%u: state %zu: live registers not "
				    "ascending (%u after %u)", idx, s,
				    ps->live.data[k], ps->live.data[k - 1]);
		live = alloc_array(ps->live.len, 1, &failed);
		if (failed)
			return sc_errorf(err, SC_ENOMEM, "out of memory "
			    "decoding function %u states", idx);
		if (ps->live.len > 0)
			memcpy(live, ps->live.data, ps->live.len);
		states[s].pc = ps->pc;
		states[s].nlive = (uint32_t)ps->live.len;
		states[s].live = live;
	}
	return SC_OK;
}

static int
decode_fn(const Sbc__Function *pf, uint32_t idx, struct mod_fn *fn,
    struct sc_error *err)
{
	char what[64];
	uint8_t *kinds;
	uint32_t *code, *lines;
	const char **names;
	bool failed = false;
	int r;

	snprintf(what, sizeof(what), "function %u: name", idx);
	if ((r = copy_name(pf->name, &fn->name, what, err)) != SC_OK)
		return r;
	if (pf->reg_kinds.len > FUNCTION_REGS_MAX)
		return sc_errorf(err, SC_EBADMOD, "function %u: reg_kinds has "
		    "%zu bytes (FUNCTION_REGS_MAX %u)", idx,
		    pf->reg_kinds.len, FUNCTION_REGS_MAX);
	if (pf->ret_kind > UINT8_MAX)
		return sc_errorf(err, SC_EBADMOD, "function %u: ret_kind %u "
		    "out of range", idx, pf->ret_kind);
	if (pf->n_code > FUNCTION_CODE_MAX)
		return sc_errorf(err, SC_EBADMOD, "function %u: %zu "
		    "instructions (FUNCTION_CODE_MAX %u)", idx, pf->n_code,
		    FUNCTION_CODE_MAX);
	if (pf->n_lines != 0 && pf->n_lines != pf->n_code)
		return sc_errorf(err, SC_EBADMOD, "function %u: lines has %zu "
		    "entries, expected %zu (one per instruction) or 0", idx,
		    pf->n_lines, pf->n_code);
	if (pf->n_reg_names != 0 && pf->n_reg_names != pf->reg_kinds.len)
		return sc_errorf(err, SC_EBADMOD, "function %u: reg_names has "
		    "%zu entries, expected %zu (one per register) or 0", idx,
		    pf->n_reg_names, pf->reg_kinds.len);

	fn->is_async = pf->is_async ? 1 : 0;
	fn->ret_kind = (uint8_t)pf->ret_kind;
	fn->nparams = pf->nparams;
	fn->line = pf->line;
	fn->nregs = (uint32_t)pf->reg_kinds.len;
	fn->ncode = (uint32_t)pf->n_code;

	kinds = alloc_array(pf->reg_kinds.len, 1, &failed);
	fn->reg_kinds = kinds;
	code = alloc_array(pf->n_code, sizeof(*code), &failed);
	fn->code = code;
	lines = alloc_array(pf->n_lines, sizeof(*lines), &failed);
	fn->lines = lines;
	names = alloc_array(pf->n_reg_names, sizeof(*names), &failed);
	fn->reg_names = names;
	if (failed)
		return sc_errorf(err, SC_ENOMEM, "out of memory decoding "
		    "function %u", idx);
	if (kinds != NULL)
		memcpy(kinds, pf->reg_kinds.data, pf->reg_kinds.len);
	if (code != NULL)
		memcpy(code, pf->code, pf->n_code * sizeof(*code));
	if (lines != NULL)
		memcpy(lines, pf->lines, pf->n_lines * sizeof(*lines));
	for (size_t k = 0; k < pf->n_reg_names; k++) {
		snprintf(what, sizeof(what), "function %u: reg_names[%zu]",
		    idx, k);
		if ((r = copy_name(pf->reg_names[k], &names[k], what, err)) !=
		    SC_OK)
			return r;
	}
	return decode_states(pf, idx, fn, err);
}

static int
decode_extern(const Sbc__Extern *pe, uint32_t idx, struct mod_extern *e,
    struct sc_error *err)
{
	char what[64];
	uint8_t *params;
	bool failed = false;
	int r;

	snprintf(what, sizeof(what), "extern %u: library", idx);
	if ((r = copy_name(pe->library, &e->library, what, err)) != SC_OK)
		return r;
	snprintf(what, sizeof(what), "extern %u: symbol", idx);
	if ((r = copy_name(pe->symbol, &e->symbol, what, err)) != SC_OK)
		return r;
	for (size_t k = 0; k < pe->n_params; k++)
		if (pe->params[k] >= CT__COUNT)
			return sc_errorf(err, SC_EBADMOD, "extern %u: parameter "
			    "%zu: ctype %u out of range (CT__COUNT %u)", idx, k,
			    pe->params[k], (unsigned)CT__COUNT);
	if (pe->ret >= CT__COUNT)
		return sc_errorf(err, SC_EBADMOD, "extern %u: result ctype %u "
		    "out of range (CT__COUNT %u)", idx, pe->ret,
		    (unsigned)CT__COUNT);
	/* Bounded by the input size; verify.c applies the real cap. */
	if (pe->n_params > UINT32_MAX)
		return sc_errorf(err, SC_EBADMOD, "extern %u: %zu parameters",
		    idx, pe->n_params);
	params = alloc_array(pe->n_params, 1, &failed);
	if (failed)
		return sc_errorf(err, SC_ENOMEM, "out of memory decoding "
		    "extern %u", idx);
	for (size_t k = 0; k < pe->n_params; k++)
		params[k] = (uint8_t)pe->params[k];
	e->params = params;
	e->nparams = (uint32_t)pe->n_params;
	e->ret = (uint8_t)pe->ret;
	return SC_OK;
}

static int
decode_module(const Sbc__Module *pm, struct module *m, struct sc_error *err)
{
	struct mod_const *consts;
	struct mod_fn *fns;
	struct mod_extern *externs;
	bool failed = false;
	int r;

	m->format = pm->format;
	m->entry = pm->entry;
	if ((r = copy_name(pm->source_name, &m->source_name,
	    "module: source_name", err)) != SC_OK)
		return r;
	if (pm->source_hash.len != 0 &&
	    pm->source_hash.len != sizeof(m->source_hash))
		return sc_errorf(err, SC_EBADMOD, "module: source_hash has %zu "
		    "bytes, expected 32 or 0", pm->source_hash.len);
	if (pm->source_hash.len != 0)
		memcpy(m->source_hash, pm->source_hash.data,
		    sizeof(m->source_hash));
	if (pm->n_constants > MODULE_CONSTANTS_MAX)
		return sc_errorf(err, SC_EBADMOD, "module: %zu constants "
		    "(MODULE_CONSTANTS_MAX %u)", pm->n_constants,
		    MODULE_CONSTANTS_MAX);
	if (pm->n_functions > MODULE_FUNCTIONS_MAX)
		return sc_errorf(err, SC_EBADMOD, "module: %zu functions "
		    "(MODULE_FUNCTIONS_MAX %u)", pm->n_functions,
		    MODULE_FUNCTIONS_MAX);
	if (pm->n_externs > MODULE_EXTERNS_MAX)
		return sc_errorf(err, SC_EBADMOD, "module: %zu externs "
		    "(MODULE_EXTERNS_MAX %u)", pm->n_externs,
		    MODULE_EXTERNS_MAX);

	consts = alloc_array(pm->n_constants, sizeof(*consts), &failed);
	m->consts = consts;
	fns = alloc_array(pm->n_functions, sizeof(*fns), &failed);
	m->fns = fns;
	externs = alloc_array(pm->n_externs, sizeof(*externs), &failed);
	m->externs = externs;
	if (failed)
		return sc_errorf(err, SC_ENOMEM, "out of memory decoding "
		    "module");
	/* Counts go in before the elements so module_free() sees every
	 * element, filled or still zero. */
	m->nconsts = (uint32_t)pm->n_constants;
	m->nfns = (uint32_t)pm->n_functions;
	m->nexterns = (uint32_t)pm->n_externs;
	for (uint32_t k = 0; k < m->nconsts; k++)
		if ((r = decode_const(pm->constants[k], k, &consts[k], err)) !=
		    SC_OK)
			return r;
	for (uint32_t k = 0; k < m->nfns; k++)
		if ((r = decode_fn(pm->functions[k], k, &fns[k], err)) !=
		    SC_OK)
			return r;
	for (uint32_t k = 0; k < m->nexterns; k++)
		if ((r = decode_extern(pm->externs[k], k, &externs[k], err)) !=
		    SC_OK)
			return r;
	return SC_OK;
}

/*
 * Decode len bytes of an encoded sbc.Module into a new struct module. On
 * success *mp owns it (module_free()). On failure *mp is NULL and err says
 * which field is wrong: SC_EBADMOD for malformed input or a cap (the
 * encoded size, MODIO_UNPACK_MEM_MAX, the caps of modio.h), SC_ENOMEM when
 * malloc fails.
 */
int
modio_decode(const uint8_t *buf, size_t len, struct module **mp,
    struct sc_error *err)
{
	struct budget b = { 0, false, false };
	ProtobufCAllocator pa = { budget_alloc, budget_free, &b };
	Sbc__Module *pm = NULL;
	struct module *m = NULL;
	int r;

	*mp = NULL;
	if (len > MODULE_BYTES_MAX)
		return sc_errorf(err, SC_EBADMOD, "module: %zu bytes "
		    "(MODULE_BYTES_MAX %u)", len, MODULE_BYTES_MAX);
	pm = sbc__module__unpack(&pa, len, len > 0 ? buf : NULL);
	if (pm == NULL) {
		if (b.oom)
			return sc_errorf(err, SC_ENOMEM, "out of memory "
			    "decoding module");
		if (b.exceeded)
			return sc_errorf(err, SC_EBADMOD, "module: decoding "
			    "needs more than %u bytes of memory "
			    "(MODIO_UNPACK_MEM_MAX)", MODIO_UNPACK_MEM_MAX);
		return sc_errorf(err, SC_EBADMOD, "module: %zu bytes are not "
		    "a valid encoded sbc.Module", len);
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		r = sc_errorf(err, SC_ENOMEM, "out of memory decoding module");
		goto out;
	}
	if ((r = decode_module(pm, m, err)) != SC_OK)
		goto out;
	*mp = m;
	m = NULL;
out:
	module_free(m);
	sbc__module__free_unpacked(pm, &pa);
	return r;
}

/*
 * Free a module from modio_decode(), including one that decode_module()
 * left half-built: counts are set before elements, and unset pointers are
 * NULL. Not for modules built in the compiler's arena.
 */
void
module_free(struct module *m)
{
	if (m == NULL)
		return;
	for (uint32_t k = 0; k < m->nconsts; k++)
		if (m->consts[k].kind == CONST_STRING)
			free((void *)m->consts[k].u.s.ptr);
	for (uint32_t k = 0; k < m->nfns; k++) {
		const struct mod_fn *fn = &m->fns[k];

		free((void *)fn->name);
		free((void *)fn->reg_kinds);
		free((void *)fn->code);
		free((void *)fn->lines);
		for (uint32_t s = 0; s < fn->nstates && fn->states; s++)
			free((void *)fn->states[s].live);
		free((void *)fn->states);
		for (uint32_t s = 0; s < fn->nregs && fn->reg_names; s++)
			free((void *)fn->reg_names[s]);
		free((void *)fn->reg_names);
	}
	for (uint32_t k = 0; k < m->nexterns; k++) {
		free((void *)m->externs[k].library);
		free((void *)m->externs[k].symbol);
		free((void *)m->externs[k].params);
	}
	free((void *)m->consts);
	free((void *)m->fns);
	free((void *)m->externs);
	free((void *)m->source_name);
	free(m);
}

/* Encoding: the protobuf-c messages borrow m's arrays and strings (pack
 * does not write through them); only the message structs are allocated. */
struct enc {
	Sbc__Constant *consts;		/* nconsts messages */
	Sbc__Constant **pconsts;	/* pointers to them */
	Sbc__Function *fns;
	Sbc__Function **pfns;
	Sbc__Extern *externs;
	Sbc__Extern **pexterns;
	uint32_t **params;		/* per extern, widened ctypes */
	Sbc__State **states;		/* per function, state messages */
	Sbc__State ***pstates;		/* per function, pointers to them */
	char ***names;			/* per function, reg_names or NULL */
	uint32_t nfns, nexterns;	/* for enc_free */
};

static void
enc_free(struct enc *e)
{
	for (uint32_t k = 0; k < e->nfns; k++) {
		if (e->states != NULL)
			free(e->states[k]);
		if (e->pstates != NULL)
			free(e->pstates[k]);
		if (e->names != NULL)
			free(e->names[k]);
	}
	for (uint32_t k = 0; k < e->nexterns && e->params != NULL; k++)
		free(e->params[k]);
	free(e->consts);
	free(e->pconsts);
	free(e->fns);
	free(e->pfns);
	free(e->externs);
	free(e->pexterns);
	free(e->params);
	free(e->states);
	free(e->pstates);
	free(e->names);
}

static bool
enc_fn(const struct mod_fn *fn, Sbc__Function *pf, Sbc__State **statesp,
    Sbc__State ***pstatesp, char ***namesp)
{
	bool failed = false;
	Sbc__State *states;
	Sbc__State **pstates;
	char **names = NULL;

	sbc__function__init(pf);
	pf->name = (char *)(fn->name != NULL ? fn->name : "");
	pf->is_async = fn->is_async != 0;
	pf->nparams = fn->nparams;
	pf->reg_kinds.len = fn->nregs;
	pf->reg_kinds.data = (uint8_t *)fn->reg_kinds;
	pf->ret_kind = fn->ret_kind;
	pf->n_code = fn->ncode;
	pf->code = (uint32_t *)fn->code;
	pf->n_lines = fn->lines != NULL ? fn->ncode : 0;
	pf->lines = (uint32_t *)fn->lines;
	pf->line = fn->line;

	*statesp = states = alloc_array(fn->nstates, sizeof(*states), &failed);
	*pstatesp = pstates = alloc_array(fn->nstates, sizeof(*pstates),
	    &failed);
	if (fn->reg_names != NULL)
		*namesp = names = alloc_array(fn->nregs, sizeof(*names),
		    &failed);
	if (failed)
		return false;
	for (uint32_t s = 0; s < fn->nstates; s++) {
		sbc__state__init(&states[s]);
		states[s].pc = fn->states[s].pc;
		states[s].live.len = fn->states[s].nlive;
		states[s].live.data = (uint8_t *)fn->states[s].live;
		pstates[s] = &states[s];
	}
	pf->n_states = fn->nstates;
	pf->states = pstates;
	if (names != NULL) {
		/* Repeated strings are packed with strlen: no NULLs. */
		for (uint32_t k = 0; k < fn->nregs; k++)
			names[k] = (char *)(fn->reg_names[k] != NULL ?
			    fn->reg_names[k] : "");
		pf->n_reg_names = fn->nregs;
		pf->reg_names = names;
	}
	return true;
}

static bool
enc_module(const struct module *m, struct enc *e, Sbc__Module *pm)
{
	bool failed = false;

	e->consts = alloc_array(m->nconsts, sizeof(*e->consts), &failed);
	e->pconsts = alloc_array(m->nconsts, sizeof(*e->pconsts), &failed);
	e->fns = alloc_array(m->nfns, sizeof(*e->fns), &failed);
	e->pfns = alloc_array(m->nfns, sizeof(*e->pfns), &failed);
	e->states = alloc_array(m->nfns, sizeof(*e->states), &failed);
	e->pstates = alloc_array(m->nfns, sizeof(*e->pstates), &failed);
	e->names = alloc_array(m->nfns, sizeof(*e->names), &failed);
	e->externs = alloc_array(m->nexterns, sizeof(*e->externs), &failed);
	e->pexterns = alloc_array(m->nexterns, sizeof(*e->pexterns), &failed);
	e->params = alloc_array(m->nexterns, sizeof(*e->params), &failed);
	if (failed)
		return false;
	e->nfns = m->nfns;
	e->nexterns = m->nexterns;

	sbc__module__init(pm);
	pm->format = m->format;
	pm->source_name = (char *)(m->source_name != NULL ? m->source_name :
	    "");
	pm->source_hash.len = sizeof(m->source_hash);
	pm->source_hash.data = (uint8_t *)m->source_hash;
	pm->entry = m->entry;
	for (uint32_t k = 0; k < m->nconsts; k++) {
		Sbc__Constant *pc = &e->consts[k];
		const struct mod_const *c = &m->consts[k];

		sbc__constant__init(pc);
		switch (c->kind) {
		case CONST_INT:
			pc->value_case = SBC__CONSTANT__VALUE_I;
			pc->i = c->u.i;
			break;
		case CONST_FLOAT:
			pc->value_case = SBC__CONSTANT__VALUE_F;
			pc->f = c->u.f;
			break;
		default:
			/* CONST_STRING; an unknown kind encodes as an
			 * unset oneof, which decoding rejects. */
			if (c->kind != CONST_STRING)
				break;
			pc->value_case = SBC__CONSTANT__VALUE_S;
			pc->s.len = c->u.s.len;
			pc->s.data = (uint8_t *)c->u.s.ptr;
			break;
		}
		e->pconsts[k] = pc;
	}
	pm->n_constants = m->nconsts;
	pm->constants = e->pconsts;
	for (uint32_t k = 0; k < m->nfns; k++) {
		if (!enc_fn(&m->fns[k], &e->fns[k], &e->states[k],
		    &e->pstates[k], &e->names[k]))
			return false;
		e->pfns[k] = &e->fns[k];
	}
	pm->n_functions = m->nfns;
	pm->functions = e->pfns;
	for (uint32_t k = 0; k < m->nexterns; k++) {
		const struct mod_extern *x = &m->externs[k];
		Sbc__Extern *px = &e->externs[k];

		sbc__extern__init(px);
		px->library = (char *)(x->library != NULL ? x->library : "");
		px->symbol = (char *)(x->symbol != NULL ? x->symbol : "");
		e->params[k] = alloc_array(x->nparams, sizeof(uint32_t),
		    &failed);
		if (failed)
			return false;
		for (uint32_t p = 0; p < x->nparams; p++)
			e->params[k][p] = x->params[p];
		px->n_params = x->nparams;
		px->params = e->params[k];
		px->ret = x->ret;
		e->pexterns[k] = px;
	}
	pm->n_externs = m->nexterns;
	pm->externs = e->pexterns;
	return true;
}

/*
 * Encode m as an sbc.Module into a new malloc'd buffer: on success *bufp
 * (freed by the caller) and *lenp; on failure *bufp is NULL and err says
 * why: SC_ENOMEM, or SC_ELIMIT when the encoding would exceed
 * MODULE_BYTES_MAX (the daemon would refuse it). No meaning is checked.
 */
int
modio_encode(const struct module *m, uint8_t **bufp, size_t *lenp,
    struct sc_error *err)
{
	struct enc e;
	Sbc__Module pm;
	uint8_t *buf = NULL;
	size_t len;
	int r = SC_OK;

	*bufp = NULL;
	*lenp = 0;
	memset(&e, 0, sizeof(e));
	if (!enc_module(m, &e, &pm)) {
		r = sc_errorf(err, SC_ENOMEM, "out of memory encoding module");
		goto out;
	}
	len = sbc__module__get_packed_size(&pm);
	if (len > MODULE_BYTES_MAX) {
		r = sc_errorf(err, SC_ELIMIT, "module: encodes to %zu bytes "
		    "(MODULE_BYTES_MAX %u)", len, MODULE_BYTES_MAX);
		goto out;
	}
	if ((buf = malloc(len > 0 ? len : 1)) == NULL) {
		r = sc_errorf(err, SC_ENOMEM, "out of memory encoding module");
		goto out;
	}
	if (SC_NEVER(sbc__module__pack(&pm, buf) != len)) {
		free(buf);
		r = sc_errorf(err, SC_EINVAL, "module: packed size changed");
		goto out;
	}
	*bufp = buf;
	*lenp = len;
out:
	enc_free(&e);
	return r;
}
