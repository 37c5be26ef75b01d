/*
 * The bytecode verifier. A module that passes cannot make the interpreter
 * index outside a table, a frame or the code, read a register as a kind it
 * was not declared as, suspend outside an async function or resume without
 * a state. What it does not prove, the interpreter checks at run time:
 * element kinds of arrays, result kinds of futures and tasks, and empty
 * (moved or never written) reference registers.
 * Order of checks, so "first fault" is well defined: module header,
 * constants, externs, every function header, then per function its state
 * table and its code by ascending pc. Linear in the module's size.
 */
#include <stdarg.h>
#include <stdio.h>

#include "op.h"
#include "verify.h"

/* Where a fault is reported from: the function and pc being checked. */
struct vctx {
	const struct module *m;		/* the module */
	const struct mod_fn *fn;	/* current function, or NULL */
	uint32_t pc;			/* current pc */
	struct sc_error *err;		/* where the fault goes */
};

static const char *
fname(const struct mod_fn *fn)
{
	return fn->name != NULL ? fn->name : "?";
}

/* "module: MSG"; returns SC_EBADMOD. */
SC_PRINTF(2, 3) static int
mfault(struct vctx *v, const char *fmt, ...)
{
	char msg[SC_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sc_errorf(v->err, SC_EBADMOD, "module: %s", msg);
}

/* "function NAME: MSG"; returns SC_EBADMOD. */
SC_PRINTF(2, 3) static int
ffault(struct vctx *v, const char *fmt, ...)
{
	char msg[SC_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sc_errorf(v->err, SC_EBADMOD, "function %s: %s", fname(v->fn),
	    msg);
}

/* "function NAME, pc N: MSG"; returns SC_EBADMOD. */
SC_PRINTF(2, 3) static int
fault(struct vctx *v, const char *fmt, ...)
{
	char msg[SC_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sc_errorf(v->err, SC_EBADMOD, "function %s, pc %u: %s",
	    fname(v->fn), v->pc, msg);
}

static int
verify_consts(struct vctx *v)
{
	const struct module *m = v->m;

	if (m->nconsts > MODULE_CONSTANTS_MAX)
		return mfault(v, "%u constants (MODULE_CONSTANTS_MAX %u)",
		    m->nconsts, MODULE_CONSTANTS_MAX);
	if (m->nconsts > 0 && m->consts == NULL)
		return mfault(v, "constant table missing");
	for (uint32_t k = 0; k < m->nconsts; k++) {
		const struct mod_const *c = &m->consts[k];

		if (c->kind > CONST_STRING)
			return mfault(v, "constant %u has unknown kind %u", k,
			    c->kind);
		if (c->kind == CONST_STRING && c->u.s.ptr == NULL)
			return mfault(v, "constant %u: string missing", k);
	}
	return SC_OK;
}

static int
verify_externs(struct vctx *v)
{
	const struct module *m = v->m;

	if (m->nexterns > MODULE_EXTERNS_MAX)
		return mfault(v, "%u externs (MODULE_EXTERNS_MAX %u)",
		    m->nexterns, MODULE_EXTERNS_MAX);
	if (m->nexterns > 0 && m->externs == NULL)
		return mfault(v, "extern table missing");
	for (uint32_t k = 0; k < m->nexterns; k++) {
		const struct mod_extern *e = &m->externs[k];

		if (e->library == NULL || e->library[0] == '\0')
			return mfault(v, "extern %u: empty library", k);
		if (e->symbol == NULL || e->symbol[0] == '\0')
			return mfault(v, "extern %u: empty symbol", k);
		if (e->nparams > VERIFY_EXTERN_PARAMS_MAX)
			return mfault(v, "extern %s: %u parameters "
			    "(VERIFY_EXTERN_PARAMS_MAX %u)", e->symbol,
			    e->nparams, VERIFY_EXTERN_PARAMS_MAX);
		if (e->nparams > 0 && e->params == NULL)
			return mfault(v, "extern %s: parameters missing",
			    e->symbol);
		for (uint32_t p = 0; p < e->nparams; p++) {
			if (e->params[p] >= CT__COUNT)
				return mfault(v, "extern %s: parameter %u has "
				    "unknown ctype %u", e->symbol, p,
				    e->params[p]);
			if (e->params[p] == CT_VOID)
				return mfault(v, "extern %s: parameter %u is "
				    "()", e->symbol, p);
		}
		if (e->ret >= CT__COUNT)
			return mfault(v, "extern %s: unknown result ctype %u",
			    e->symbol, e->ret);
	}
	return SC_OK;
}

/* What the code of any function may rely on about every other function. */
static int
verify_header(struct vctx *v, uint64_t *ncode_total)
{
	const struct mod_fn *fn = v->fn;

	if (fn->name == NULL)
		return ffault(v, "no name");
	if (fn->nregs > FUNCTION_REGS_MAX)
		return ffault(v, "%u registers (FUNCTION_REGS_MAX %u)",
		    fn->nregs, FUNCTION_REGS_MAX);
	if (fn->nparams > fn->nregs)
		return ffault(v, "%u parameters but only %u registers",
		    fn->nparams, fn->nregs);
	if (fn->nregs > 0 && fn->reg_kinds == NULL)
		return ffault(v, "register kinds missing");
	for (uint32_t r = 0; r < fn->nregs; r++)
		if (fn->reg_kinds[r] >= VK__COUNT)
			return ffault(v, "register %u has unknown kind %u", r,
			    fn->reg_kinds[r]);
	if (fn->reg_names != NULL)
		for (uint32_t r = 0; r < fn->nregs; r++)
			if (fn->reg_names[r] == NULL)
				return ffault(v, "register %u name missing",
				    r);
	if (fn->ret_kind >= VK__COUNT)
		return ffault(v, "unknown return kind %u", fn->ret_kind);
	if (fn->ncode == 0 || fn->code == NULL)
		return ffault(v, "no code");
	if (fn->ncode > FUNCTION_CODE_MAX)
		return ffault(v, "%u instructions (FUNCTION_CODE_MAX %u)",
		    fn->ncode, FUNCTION_CODE_MAX);
	*ncode_total += fn->ncode;
	if (*ncode_total > VERIFY_CODE_TOTAL_MAX)
		return ffault(v, "module has more than %u instructions "
		    "(VERIFY_CODE_TOTAL_MAX)", VERIFY_CODE_TOTAL_MAX);
	if (fn->nstates > 0 && fn->states == NULL)
		return ffault(v, "state table missing");
	return SC_OK;
}

/* The state table alone: sorted, inside the code, live sets in range.
 * Whether each state sits on an AWAIT is checked with the code. */
static int
verify_states(struct vctx *v)
{
	const struct mod_fn *fn = v->fn;

	for (uint32_t s = 0; s < fn->nstates; s++) {
		const struct mod_state *st = &fn->states[s];

		if (st->pc >= fn->ncode)
			return ffault(v, "state %u: pc %u outside code (0..%u)",
			    s, st->pc, fn->ncode - 1);
		if (s > 0 && st->pc <= fn->states[s - 1].pc)
			return ffault(v, "state %u: pc %u not after state %u "
			    "(pc %u)", s, st->pc, s - 1, fn->states[s - 1].pc);
		if (st->nlive > 0 && st->live == NULL)
			return ffault(v, "state %u: live set missing", s);
		for (uint32_t k = 0; k < st->nlive; k++) {
			if (st->live[k] >= fn->nregs)
				return ffault(v, "state %u: live register %u "
				    "out of range (function has %u)", s,
				    st->live[k], fn->nregs);
			if (k > 0 && st->live[k] <= st->live[k - 1])
				return ffault(v, "state %u: live registers not "
				    "ascending (%u after %u)", s, st->live[k],
				    st->live[k - 1]);
		}
	}
	return SC_OK;
}

/* One operand field by its mode (op.def): ranges only, no kinds. */
static int
operand(struct vctx *v, unsigned op, char field, unsigned mode, int32_t val)
{
	const struct mod_fn *fn = v->fn;
	const struct module *m = v->m;
	int64_t target;

	switch (mode) {
	case MODE_N:
		if (val != 0)
			return fault(v, "%s: operand %c must be 0 (is %d)",
			    op_info[op].name, field, (int)val);
		break;
	case MODE_R:
	case MODE_W:
		if ((uint32_t)val >= fn->nregs)
			return fault(v, "register %d out of range (function "
			    "has %u)", (int)val, fn->nregs);
		break;
	case MODE_K:
		if ((uint32_t)val >= m->nconsts)
			return fault(v, "constant %d out of range (module has "
			    "%u)", (int)val, m->nconsts);
		break;
	case MODE_F:
		if ((uint32_t)val >= m->nfns)
			return fault(v, "function %d out of range (module has "
			    "%u)", (int)val, m->nfns);
		break;
	case MODE_E:
		if ((uint32_t)val >= m->nexterns)
			return fault(v, "extern %d out of range (module has "
			    "%u)", (int)val, m->nexterns);
		break;
	case MODE_T:
		if ((uint32_t)val >= VK__COUNT)
			return fault(v, "kind %d out of range (VK__COUNT %u)",
			    (int)val, (unsigned)VK__COUNT);
		break;
	case MODE_J:
		target = (int64_t)v->pc + 1 + val;
		if (target < 0 || target >= fn->ncode)
			return fault(v, "jump target %lld outside code (0..%u)",
			    (long long)target, fn->ncode - 1);
		break;
	default:
		/* MODE_I, MODE_S: any value; per-op limits come later. */
		break;
	}
	return SC_OK;
}

static int
operands(struct vctx *v, uint32_t ins)
{
	unsigned op = INS_OP(ins);
	const uint8_t *mode = op_info[op].mode;
	int r;

	switch (op_info[op].format) {
	case FMT_ABC:
		if ((r = operand(v, op, 'A', mode[0], INS_A(ins))) ||
		    (r = operand(v, op, 'B', mode[1], INS_B(ins))))
			return r;
		return operand(v, op, 'C', mode[2],
		    mode[2] == MODE_S ? INS_SC(ins) : (int32_t)INS_C(ins));
	case FMT_ABx:
		if ((r = operand(v, op, 'A', mode[0], INS_A(ins))))
			return r;
		return operand(v, op, 'B', mode[1], INS_BX(ins));
	case FMT_AsBx:
		if ((r = operand(v, op, 'A', mode[0], INS_A(ins))))
			return r;
		return operand(v, op, 'B', mode[1], INS_SBX(ins));
	default:
		/* FMT_sJ: the whole word past the opcode is the jump. */
		return operand(v, op, 'J', MODE_J, INS_SJ(ins));
	}
}

/*
 * Register kinds by op for the A, B, C fields that are registers (mode R or
 * W): KND(x) requires kind VK_x, 0 means any kind (or checked below in
 * kinds()). Ops absent here have no fixed register kinds.
 */
#define KND(x)	(VK_##x + 1)
static const uint8_t regkinds[OP__COUNT][3] = {
	[OP_LOADI] = { KND(INT) },
	[OP_LOADS] = { KND(STRING) },
	[OP_LOADB] = { KND(BOOL) },
	[OP_LOADU] = { KND(UNIT) },
	[OP_NEWARR] = { KND(ARRAY) },
	[OP_ADD] = { KND(INT), KND(INT), KND(INT) },
	[OP_ADDI] = { KND(INT), KND(INT) },
	[OP_SUB] = { KND(INT), KND(INT), KND(INT) },
	[OP_MUL] = { KND(INT), KND(INT), KND(INT) },
	[OP_DIV] = { KND(INT), KND(INT), KND(INT) },
	[OP_MOD] = { KND(INT), KND(INT), KND(INT) },
	[OP_NEG] = { KND(INT), KND(INT) },
	[OP_FADD] = { KND(FLOAT), KND(FLOAT), KND(FLOAT) },
	[OP_FSUB] = { KND(FLOAT), KND(FLOAT), KND(FLOAT) },
	[OP_FMUL] = { KND(FLOAT), KND(FLOAT), KND(FLOAT) },
	[OP_FDIV] = { KND(FLOAT), KND(FLOAT), KND(FLOAT) },
	[OP_FMOD] = { KND(FLOAT), KND(FLOAT), KND(FLOAT) },
	[OP_FNEG] = { KND(FLOAT), KND(FLOAT) },
	[OP_LT] = { KND(BOOL), KND(INT), KND(INT) },
	[OP_LE] = { KND(BOOL), KND(INT), KND(INT) },
	[OP_EQ] = { KND(BOOL) },
	[OP_NE] = { KND(BOOL) },
	[OP_FLT] = { KND(BOOL), KND(FLOAT), KND(FLOAT) },
	[OP_FLE] = { KND(BOOL), KND(FLOAT), KND(FLOAT) },
	[OP_FEQ] = { KND(BOOL), KND(FLOAT), KND(FLOAT) },
	[OP_FNE] = { KND(BOOL), KND(FLOAT), KND(FLOAT) },
	[OP_SLT] = { KND(BOOL), KND(STRING), KND(STRING) },
	[OP_SLE] = { KND(BOOL), KND(STRING), KND(STRING) },
	[OP_SEQ] = { KND(BOOL), KND(STRING), KND(STRING) },
	[OP_SNE] = { KND(BOOL), KND(STRING), KND(STRING) },
	[OP_NOT] = { KND(BOOL), KND(BOOL) },
	[OP_ITOF] = { KND(FLOAT), KND(INT) },
	[OP_FTOI] = { KND(INT), KND(FLOAT) },
	[OP_TOSTR] = { KND(STRING) },
	[OP_STOI] = { KND(INT), KND(STRING) },
	[OP_STOF] = { KND(FLOAT), KND(STRING) },
	[OP_CONCAT] = { KND(STRING), KND(STRING), KND(STRING) },
	[OP_JMPT] = { KND(BOOL) },
	[OP_JMPF] = { KND(BOOL) },
	[OP_GETIDX] = { 0, KND(ARRAY), KND(INT) },
	[OP_SETIDX] = { KND(ARRAY), KND(INT), 0 },
	[OP_LEN] = { KND(INT), KND(ARRAY) },
	[OP_SLEN] = { KND(INT), KND(STRING) },
	[OP_PUSH] = { KND(ARRAY) },
	[OP_POP] = { 0, KND(ARRAY) },
	[OP_MKFUT] = { KND(FUTURE) },
	[OP_MKEXT] = { KND(FUTURE) },
	[OP_MKSLEEP] = { KND(FUTURE), KND(INT) },
	[OP_MKYIELD] = { KND(FUTURE) },
	[OP_MKJOIN] = { KND(FUTURE), KND(ARRAY) },
	[OP_MKTIMEOUT] = { KND(FUTURE) },
	[OP_AWAIT] = { 0, KND(FUTURE) },
	[OP_AWAITT] = { 0, KND(TASK) },
	[OP_SPAWN] = { KND(TASK), KND(FUTURE) },
	[OP_CANCEL] = { KND(BOOL), KND(TASK) },
	[OP_PRINT] = { KND(STRING) },
	[OP_ABS] = { KND(INT), KND(INT) },
	[OP_FABS] = { KND(FLOAT), KND(FLOAT) },
	[OP_MIN] = { KND(INT), KND(INT), KND(INT) },
	[OP_MAX] = { KND(INT), KND(INT), KND(INT) },
	[OP_FMIN] = { KND(FLOAT), KND(FLOAT), KND(FLOAT) },
	[OP_FMAX] = { KND(FLOAT), KND(FLOAT), KND(FLOAT) },
	[OP_SQRT] = { KND(FLOAT), KND(FLOAT) },
	[OP_NOWMS] = { KND(INT) },
	[OP_ASSERT] = { KND(BOOL) },
	[OP_ASSERTM] = { KND(BOOL), KND(STRING) },
	[OP_PANIC] = { KND(STRING) },
};
#undef KND

static unsigned
kind(const struct vctx *v, unsigned reg)
{
	return v->fn->reg_kinds[reg];
}

/* Register reg (already in range) must be of kind want. */
static int
want(struct vctx *v, unsigned op, unsigned reg, unsigned want_kind)
{
	if (kind(v, reg) == want_kind)
		return SC_OK;
	return fault(v, "%s: r%u is %s, expected %s", op_info[op].name, reg,
	    vkind_name(kind(v, reg)), vkind_name(want_kind));
}

static int
table_kinds(struct vctx *v, uint32_t ins)
{
	unsigned op = INS_OP(ins);
	unsigned field[3] = { INS_A(ins), INS_B(ins), INS_C(ins) };
	int r;

	for (int k = 0; k < 3; k++) {
		unsigned mode = op_info[op].mode[k];

		if ((mode == MODE_R || mode == MODE_W) && regkinds[op][k] != 0 &&
		    (r = want(v, op, field[k], regkinds[op][k] - 1u)) != SC_OK)
			return r;
	}
	return SC_OK;
}

/*
 * Arguments R[A+1] .. R[A+n] of a call-like op: in the frame, and each of
 * the kind the callee declares (kinds[i]). `callee` names it for messages.
 */
static int
args(struct vctx *v, unsigned op, unsigned a, uint32_t n,
    const uint8_t *kinds, const char *callee)
{
	if (n == 0)
		return SC_OK;
	if (a + n >= v->fn->nregs)
		return fault(v, "%s: arguments r%u..r%u out of range (function "
		    "has %u)", op_info[op].name, a + 1, a + n, v->fn->nregs);
	for (uint32_t k = 0; k < n; k++)
		if (kind(v, a + 1 + k) != kinds[k])
			return fault(v, "%s: argument %u (r%u) is %s, expected "
			    "%s for %s", op_info[op].name, k, a + 1 + k,
			    vkind_name(kind(v, a + 1 + k)),
			    vkind_name(kinds[k]), callee);
	return SC_OK;
}

static int
call(struct vctx *v, uint32_t ins)
{
	unsigned op = INS_OP(ins), a = INS_A(ins);
	const struct mod_fn *callee = &v->m->fns[INS_BX(ins)];

	if (op == OP_CALL && callee->is_async)
		return fault(v, "CALL: function %s is async (use MKFUT)",
		    fname(callee));
	if (op == OP_MKFUT && !callee->is_async)
		return fault(v, "MKFUT: function %s is not async (use CALL)",
		    fname(callee));
	if (op == OP_CALL && kind(v, a) != callee->ret_kind)
		return fault(v, "CALL: r%u is %s, but %s returns %s", a,
		    vkind_name(kind(v, a)), fname(callee),
		    vkind_name(callee->ret_kind));
	return args(v, op, a, callee->nparams, callee->reg_kinds,
	    fname(callee));
}

static int
mkext(struct vctx *v, uint32_t ins)
{
	const struct mod_extern *e = &v->m->externs[INS_BX(ins)];
	uint8_t kinds[VERIFY_EXTERN_PARAMS_MAX];

	for (uint32_t k = 0; k < e->nparams; k++)
		kinds[k] = (uint8_t)ctype_vkind(e->params[k]);
	return args(v, OP_MKEXT, INS_A(ins), e->nparams, kinds, e->symbol);
}

static int
mktimeout(struct vctx *v, uint32_t ins)
{
	unsigned a = INS_A(ins), b = INS_B(ins), c = INS_C(ins);
	int r;

	if (b > 1)
		return fault(v, "MKTIMEOUT: B must be 0 or 1 (is %u)", b);
	if (a + 3 >= v->fn->nregs)
		return fault(v, "MKTIMEOUT: operands r%u..r%u out of range "
		    "(function has %u)", a + 1, a + 3, v->fn->nregs);
	if ((r = want(v, OP_MKTIMEOUT, a + 1, b == 0 ? VK_FUTURE : VK_TASK)) ||
	    (r = want(v, OP_MKTIMEOUT, a + 2, VK_INT)))
		return r;
	if (kind(v, a + 3) != c)
		return fault(v, "MKTIMEOUT: fallback r%u is %s, but C names %s",
		    a + 3, vkind_name(kind(v, a + 3)), vkind_name(c));
	return SC_OK;
}

/* The AWAIT at v->pc and the state that must sit on it. */
static int
await(struct vctx *v, uint32_t ins, uint32_t *cursor)
{
	const struct mod_fn *fn = v->fn;
	const struct mod_state *st;
	unsigned a = INS_A(ins);

	if (!fn->is_async)
		return fault(v, "%s in a function that is not async",
		    op_info[INS_OP(ins)].name);
	if (*cursor >= fn->nstates || fn->states[*cursor].pc != v->pc)
		return fault(v, "%s has no state", op_info[INS_OP(ins)].name);
	st = &fn->states[*cursor];
	/* R[A] is written on resume, so keeping it would be meaningless and
	 * the liveness pass never does; a state that does is malformed. */
	for (uint32_t k = 0; k < st->nlive; k++)
		if (st->live[k] == a)
			return fault(v, "state %u: destination r%u is in the "
			    "live set", *cursor, a);
	(*cursor)++;
	return SC_OK;
}

/* Kind rules and per-op limits beyond the table. */
static int
kinds(struct vctx *v, uint32_t ins, uint32_t *cursor)
{
	unsigned op = INS_OP(ins);
	unsigned a = INS_A(ins), b = INS_B(ins), c = INS_C(ins);
	const struct mod_const *k;
	int r;

	if ((r = table_kinds(v, ins)) != SC_OK)
		return r;
	switch (op) {
	case OP_MOVE:
	case OP_MOVER:
		if (vkind_is_ref(kind(v, a)) != (op == OP_MOVER))
			return fault(v, "%s: r%u is %s, expected a %s kind",
			    op_info[op].name, a, vkind_name(kind(v, a)),
			    op == OP_MOVER ? "reference" : "scalar");
		if (kind(v, a) != kind(v, b))
			return fault(v, "%s: r%u is %s but r%u is %s",
			    op_info[op].name, a, vkind_name(kind(v, a)), b,
			    vkind_name(kind(v, b)));
		break;
	case OP_LOADK:
		k = &v->m->consts[INS_BX(ins)];
		if (kind(v, a) == VK_INT && k->kind == CONST_INT)
			break;
		if (kind(v, a) == VK_FLOAT && k->kind == CONST_FLOAT)
			break;
		return fault(v, "LOADK: r%u is %s but K%u is a%s constant", a,
		    vkind_name(kind(v, a)), INS_BX(ins),
		    k->kind == CONST_INT ? "n int" : k->kind == CONST_FLOAT ?
		    " float" : " string");
	case OP_LOADS:
		if (v->m->consts[INS_BX(ins)].kind != CONST_STRING)
			return fault(v, "LOADS: K%u is not a string constant",
			    INS_BX(ins));
		break;
	case OP_LOADB:
		if (b > 1)
			return fault(v, "LOADB: B must be 0 or 1 (is %u)", b);
		break;
	case OP_EQ:
	case OP_NE:
		if (kind(v, b) != kind(v, c))
			return fault(v, "%s: r%u is %s but r%u is %s",
			    op_info[op].name, b, vkind_name(kind(v, b)), c,
			    vkind_name(kind(v, c)));
		/* ptr compares handle ids, a scalar like int. */
		if (kind(v, b) != VK_INT && kind(v, b) != VK_BOOL &&
		    kind(v, b) != VK_UNIT && kind(v, b) != VK_PTR)
			return fault(v, "%s: r%u is %s, expected int, bool, () "
			    "or ptr", op_info[op].name, b,
			    vkind_name(kind(v, b)));
		break;
	case OP_TOSTR:
		if (kind(v, b) != c)
			return fault(v, "TOSTR: r%u is %s, but C names %s", b,
			    vkind_name(kind(v, b)), vkind_name(c));
		break;
	case OP_CALL:
	case OP_MKFUT:
		return call(v, ins);
	case OP_MKEXT:
		return mkext(v, ins);
	case OP_MKTIMEOUT:
		return mktimeout(v, ins);
	case OP_AWAIT:
	case OP_AWAITT:
		return await(v, ins, cursor);
	case OP_RET:
		if (kind(v, a) != v->fn->ret_kind)
			return fault(v, "RET: r%u is %s, but the function "
			    "returns %s", a, vkind_name(kind(v, a)),
			    vkind_name(v->fn->ret_kind));
		break;
	case OP_RET0:
		if (v->fn->ret_kind != VK_UNIT)
			return fault(v, "RET0: the function returns %s",
			    vkind_name(v->fn->ret_kind));
		break;
	case OP_PRINT:
		if (b > 2)
			return fault(v, "PRINT: B must be 0, 1 or 2 (is %u)",
			    b);
		break;
	}
	return SC_OK;
}

static int
verify_code(struct vctx *v)
{
	const struct mod_fn *fn = v->fn;
	uint32_t cursor = 0;			/* next state to meet */
	int r;

	for (v->pc = 0; v->pc < fn->ncode; v->pc++) {
		uint32_t ins = fn->code[v->pc];
		unsigned op = INS_OP(ins);

		if (op >= OP__COUNT)
			return fault(v, "unknown opcode %u", op);
		if ((r = operands(v, ins)) != SC_OK ||
		    (r = kinds(v, ins, &cursor)) != SC_OK)
			return r;
		/* Non-AWAITs consumed no state; one on this pc is stray. */
		if (op != OP_AWAIT && op != OP_AWAITT &&
		    cursor < fn->nstates && fn->states[cursor].pc == v->pc)
			return fault(v, "state %u is on %s, not an AWAIT",
			    cursor, op_info[op].name);
		if (v->pc == fn->ncode - 1 && op_falls_through(op))
			return fault(v, "last instruction %s falls off the "
			    "end of the code", op_info[op].name);
	}
	/* States are sorted and inside the code, so all were met. */
	SC_ASSERT(cursor == fn->nstates);
	return SC_OK;
}

/*
 * Verify m completely before any of it runs. Returns SC_OK, or SC_EBADMOD
 * with err naming the first fault: "module: ...", "function NAME: ..." or
 * "function NAME, pc N: ...". Time and stack are linear in the module size
 * (bounded by the caps in modio.h and verify.h).
 */
int
verify_module(const struct module *m, struct sc_error *err)
{
	struct vctx v = { m, NULL, 0, err };
	uint64_t ncode = 0;
	const struct mod_fn *entry;
	int r;

	if (m->format != MODULE_FORMAT)
		return mfault(&v, "format %u not supported (expected %u)",
		    m->format, MODULE_FORMAT);
	if (m->source_name == NULL)
		return mfault(&v, "no source name");
	if (m->nfns == 0 || m->fns == NULL)
		return mfault(&v, "no functions");
	if (m->nfns > MODULE_FUNCTIONS_MAX)
		return mfault(&v, "%u functions (MODULE_FUNCTIONS_MAX %u)",
		    m->nfns, MODULE_FUNCTIONS_MAX);
	if (m->entry >= m->nfns)
		return mfault(&v, "entry %u out of range (module has %u "
		    "functions)", m->entry, m->nfns);
	if ((r = verify_consts(&v)) != SC_OK ||
	    (r = verify_externs(&v)) != SC_OK)
		return r;
	for (uint32_t k = 0; k < m->nfns; k++) {
		v.fn = &m->fns[k];
		if ((r = verify_header(&v, &ncode)) != SC_OK)
			return r;
	}
	entry = &m->fns[m->entry];
	v.fn = entry;
	if (!entry->is_async)
		return mfault(&v, "entry function %s is not async",
		    fname(entry));
	if (entry->nparams != 0)
		return mfault(&v, "entry function %s takes %u parameters, "
		    "expected 0", fname(entry), entry->nparams);
	for (uint32_t k = 0; k < m->nfns; k++) {
		v.fn = &m->fns[k];
		if ((r = verify_states(&v)) != SC_OK ||
		    (r = verify_code(&v)) != SC_OK)
			return r;
	}
	return SC_OK;
}
