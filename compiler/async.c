/*
 * Liveness over bytecode, for the state tables (see async.h). Classic
 * backward dataflow: live_in = use | (live_out & ~def), iterated to a fixed
 * point over the instruction graph. Registers fit in 256 bits, so a set is
 * four words. Only functions with suspension points are analysed.
 */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "async.h"
#include "modio.h"
#include "op.h"

struct regset {
	uint64_t w[4];			/* bit r: register r */
};

static void
add(struct regset *s, unsigned r)
{
	s->w[r >> 6] |= (uint64_t)1 << (r & 63);
}

static bool
has(const struct regset *s, unsigned r)
{
	return (s->w[r >> 6] >> (r & 63)) & 1;
}

/* The registers instruction `ins` reads (use) and writes (def). */
static void
usedef(const struct module *m, uint32_t ins, struct regset *use,
    struct regset *def)
{
	const struct op_info *oi = &op_info[INS_OP(ins)];
	unsigned a = INS_A(ins), n = 0;

	memset(use, 0, sizeof(*use));
	memset(def, 0, sizeof(*def));
	if (oi->mode[0] == MODE_R)
		add(use, a);
	else if (oi->mode[0] == MODE_W)
		add(def, a);
	if (oi->format == FMT_ABC) {
		if (oi->mode[1] == MODE_R)
			add(use, INS_B(ins));
		if (oi->mode[2] == MODE_R)
			add(use, INS_C(ins));
	}
	switch (INS_OP(ins)) {
	case OP_CALL:
	case OP_MKFUT:
		n = INS_BX(ins) < m->nfns ? m->fns[INS_BX(ins)].nparams : 0;
		break;
	case OP_MKEXT:
		n = INS_BX(ins) < m->nexterns ?
		    m->externs[INS_BX(ins)].nparams : 0;
		break;
	case OP_MKTIMEOUT:
		n = 3;
		break;
	}
	for (unsigned i = 1; i <= n && a + i < 256; i++)
		add(use, a + i);
}

bool
async_transform(struct mod_fn *fn, const struct module *m, struct arena *ar)
{
	struct regset *in, *out, use, def;
	struct mod_state *states = (struct mod_state *)fn->states;
	uint32_t n = fn->ncode;
	bool changed = true;

	if (fn->nstates == 0)
		return true;
	/* scratch: malloc'd and freed here, not kept in the arena */
	in = calloc(n, sizeof(*in));
	out = calloc(n, sizeof(*out));
	if (in == NULL || out == NULL) {
		free(in);
		free(out);
		ar->failed = true;
		return false;
	}
	while (changed) {
		changed = false;
		for (uint32_t pc = n; pc-- > 0;) {
			uint32_t ins = fn->code[pc];
			unsigned op = INS_OP(ins);
			struct regset o = { { 0 } }, i;
			int64_t t = (int64_t)pc + 1 + op_jump_offset(ins);

			if (op_falls_through(op) && op != OP_JMP && pc + 1 < n)
				o = in[pc + 1];
			if ((op == OP_JMP || op == OP_JMPT || op == OP_JMPF) &&
			    t >= 0 && t < n)
				for (int w = 0; w < 4; w++)
					o.w[w] |= in[t].w[w];
			usedef(m, ins, &use, &def);
			for (int w = 0; w < 4; w++)
				i.w[w] = use.w[w] | (o.w[w] & ~def.w[w]);
			if (memcmp(&i, &in[pc], sizeof(i)) != 0) {
				in[pc] = i;
				changed = true;
			}
			out[pc] = o;
		}
	}
	for (uint32_t s = 0; s < fn->nstates; s++) {
		uint32_t pc = states[s].pc;
		unsigned dst = INS_A(fn->code[pc]), nlive = 0;
		uint8_t *live;

		for (unsigned r = 0; r < fn->nregs; r++)
			nlive += r != dst && has(&out[pc], r);
		if ((live = arena_alloc(ar, nlive + 1)) == NULL)
			break;
		nlive = 0;
		for (unsigned r = 0; r < fn->nregs; r++)
			if (r != dst && has(&out[pc], r))
				live[nlive++] = (uint8_t)r;
		states[s].live = live;
		states[s].nlive = nlive;
	}
	free(in);
	free(out);
	return !ar->failed;
}
