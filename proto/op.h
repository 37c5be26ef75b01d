/*
 * Instruction encoding. Every instruction is one 32-bit word:
 *
 *    31       24 23       16 15        8 7         0
 *   +-----------+-----------+-----------+-----------+
 *   |     C     |     B     |     A     |    op     |   ABC
 *   |          Bx           |     A     |    op     |   ABx  (unsigned)
 *   |          sBx          |     A     |    op     |   AsBx (signed)
 *   |                 sJ                |    op     |   sJ   (signed)
 *   +-----------+-----------+-----------+-----------+
 *
 * The opcodes and their semantics are in op.def; jumps are relative to the
 * next instruction. Registers are 8-bit, so a function has at most 256.
 */
#ifndef SC_OP_H
#define SC_OP_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

/* Bytecode module format version; bump on any change to op.def's order. */
#define MODULE_FORMAT		1u

enum op {
#define OP(name, fmt, a, b, c, sem)	OP_##name,
#include "op.def"
#undef OP
	OP__COUNT
};
static_assert(OP__COUNT <= 256, "opcode must fit in 8 bits");

enum op_format { FMT_ABC, FMT_ABx, FMT_AsBx, FMT_sJ };

/* How an instruction uses an operand field (see op.def). */
enum op_mode {
	MODE_N,		/* unused, must be 0 */
	MODE_R,		/* register read */
	MODE_W,		/* register written */
	MODE_K,		/* constant index */
	MODE_I,		/* unsigned immediate */
	MODE_S,		/* signed immediate */
	MODE_J,		/* jump offset */
	MODE_F,		/* function index */
	MODE_E,		/* extern index */
	MODE_T,		/* value kind */
};

struct op_info {
	const char *name;		/* "ADD" */
	uint8_t format;			/* enum op_format */
	uint8_t mode[3];		/* enum op_mode of A, B (or Bx/sBx), C */
	const char *sem;		/* semantics, for docs and --disasm */
};

extern const struct op_info op_info[OP__COUNT];

/* The kind of a register or value. Reference kinds are counted objects. */
enum vkind {
	VK_UNIT,
	VK_INT,
	VK_FLOAT,
	VK_BOOL,
	VK_STRING,
	VK_ARRAY,
	VK_FUTURE,
	VK_TASK,
	VK_PTR,			/* FFI handle: scalar id, checked in the daemon */
	VK__COUNT
};

static inline bool
vkind_is_ref(unsigned k)
{
	return k == VK_STRING || k == VK_ARRAY || k == VK_FUTURE ||
	    k == VK_TASK;
}

const char *vkind_name(unsigned k);	/* "int", "string", ...; "?" if bad */

#define INS_OP(i)	((unsigned)((i) & 0xffu))
#define INS_A(i)	((unsigned)(((i) >> 8) & 0xffu))
#define INS_B(i)	((unsigned)(((i) >> 16) & 0xffu))
#define INS_C(i)	((unsigned)(((i) >> 24) & 0xffu))
#define INS_BX(i)	((unsigned)(((i) >> 16) & 0xffffu))
#define INS_SBX(i)	((int)(int16_t)(uint16_t)((i) >> 16))
#define INS_SC(i)	((int)(int8_t)(uint8_t)((i) >> 24))
#define INS_SJ(i)	(((int32_t)((uint32_t)(i) >> 8) ^ 0x800000) - 0x800000)

#define SBX_MIN		INT16_MIN
#define SBX_MAX		INT16_MAX
#define SJ_MIN		(-0x800000)
#define SJ_MAX		0x7fffff
#define SC_IMM_MIN	INT8_MIN
#define SC_IMM_MAX	INT8_MAX

static inline uint32_t
ins_abc(unsigned op, unsigned a, unsigned b, unsigned c)
{
	return (uint32_t)op | (uint32_t)a << 8 | (uint32_t)b << 16 |
	    (uint32_t)c << 24;
}

static inline uint32_t
ins_abx(unsigned op, unsigned a, unsigned bx)
{
	return (uint32_t)op | (uint32_t)a << 8 | (uint32_t)bx << 16;
}

static inline uint32_t
ins_asbx(unsigned op, unsigned a, int sbx)
{
	return (uint32_t)op | (uint32_t)a << 8 |
	    (uint32_t)(uint16_t)(int16_t)sbx << 16;
}

static inline uint32_t
ins_sj(unsigned op, int sj)
{
	return (uint32_t)op | ((uint32_t)sj & 0xffffffu) << 8;
}

static inline uint32_t
ins_sc(unsigned op, unsigned a, unsigned b, int sc)
{
	return ins_abc(op, a, b, (uint8_t)(int8_t)sc);
}

/* Jump offset of a jump instruction (JMP, JMPT, JMPF), else 0. */
int op_jump_offset(uint32_t ins);
/* True if control can fall through to pc + 1 after this instruction. */
bool op_falls_through(unsigned op);

#endif
