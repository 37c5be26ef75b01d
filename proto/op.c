/* The instruction table built from op.def, and small facts about ops. */
#include "op.h"

const struct op_info op_info[OP__COUNT] = {
#define OP(name, fmt, a, b, c, sem) \
	[OP_##name] = { #name, FMT_##fmt, { MODE_##a, MODE_##b, MODE_##c }, sem },
#include "op.def"
#undef OP
};

const char *
vkind_name(unsigned k)
{
	static const char *const names[VK__COUNT] = {
		"()", "int", "float", "bool", "string", "array", "future",
		"task", "ptr",
	};

	return k < VK__COUNT ? names[k] : "?";
}

int
op_jump_offset(uint32_t ins)
{
	switch (INS_OP(ins)) {
	case OP_JMP:
		return INS_SJ(ins);
	case OP_JMPT:
	case OP_JMPF:
		return INS_SBX(ins);
	}
	return 0;
}

bool
op_falls_through(unsigned op)
{
	return op != OP_JMP && op != OP_RET && op != OP_RET0 &&
	    op != OP_PANIC;
}
