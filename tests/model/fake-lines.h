/*
 * fake-lines.h - a fake driver's lines: a table of addresses and their
 * capabilities that a test's pbx service lists and answers capabilities()
 * from, each line idle and its number its address. Shared by the model's
 * tests.
 */
#ifndef TESTS_MODEL_FAKE_LINES_H
#define TESTS_MODEL_FAKE_LINES_H

#include <ucd/event.h>
#include <ucd/pbx.h>

/* Every capability the pbx interface names. */
#define FAKE_ALL_CAPS (UINT64_C(0x1fff))

typedef struct fake_line {
    const char *address; /* NULL ends a table */
    uint64_t caps;
} fake_line;

/* Calls `cb` for each line of `lines` as list_lines() would; returns UCD_OK. */
int fake_lines_list(const fake_line *lines, ucd_pbx_line_cb cb, void *ud);

/* The capabilities of line `address` in `lines`, 0 when there is no such line. */
uint64_t fake_lines_caps(const fake_line *lines, const char *address);

#endif /* TESTS_MODEL_FAKE_LINES_H */
