/*
 * The disassembler: a struct module as stable text (the format is
 * golden-tested; change it only with the goldens). Safe on unverified
 * modules: every table index is checked before it is followed.
 */
#ifndef SC_DIS_H
#define SC_DIS_H

#include <stdio.h>

struct module;

/* Print m as text: header, constants, functions with registers, states and
 * instructions, externs. */
void dis_module(const struct module *m, FILE *out);

#endif
