/*
 * The emitter: a checked program to a struct module (proto/modio.h) in the
 * arena. Registers are typed, so each register holds one kind for the whole
 * function; temporaries are reused within their kind. Every AWAIT gets a
 * state, whose live set async_transform() fills in afterwards.
 */
#ifndef SC_EMIT_H
#define SC_EMIT_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct checked;
struct diags;
struct module;

/* Emit the module. NULL when an error was recorded (a limit such as 256
 * registers per function) or the arena failed. */
struct module *emit_module(struct checked *ck, const char *source_name,
    const char *src, size_t len, struct arena *a, struct diags *d);

#endif
