/*
 * e2e-util.h - what the end-to-end tests ask a running ucd (through the
 * control socket, as ucctl does) and read from its journal-sqlite file, shared
 * by the telephony and SIP tests so both poll and compare the same way.
 */
#ifndef TEST_E2E_UTIL_H
#define TEST_E2E_UTIL_H

#include <json-glib/json-glib.h>

#include "harness.h"

/* A control request of up to four words (NULL ends it early) that must succeed. */
JsonNode *e2e_ctl(harness *h, const char *a0, const char *a1, const char *a2, const char *a3);
/* The index of column `name` in a table response; aborts the test without it. */
int e2e_column(JsonObject *o, const char *name);
/* The call id of the leg on `line` in `state` from `ucctl calls`, polling up
 * to 10 s (g_free it). */
char *e2e_leg_on(harness *h, const char *line, const char *state);
/* The presence states of `user` as the probe fixture plugin received them,
 * space-separated, oldest first (g_free it). */
char *e2e_presence_seen(harness *h, const char *user);
/* Waits (up to 10 s) until that sequence ends with `suffix`. */
void e2e_wait_presence_suffix(harness *h, const char *user, const char *suffix);
/* The events of one line, oldest first, as `ucctl trace LINE` shows them,
 * each cut to its first `words` words ("call office-1 offering"; line events
 * to two: "line ringing"), each followed by "; " (g_free it). */
char *e2e_trace_words(harness *h, const char *line, int words);
/* The rows of `sql` on the harness's journal-sqlite file, "a|b\n" each, NULL
 * for a NULL value; NULL while the file or its tables do not exist yet. */
char *e2e_journal_sql(harness *h, const char *sql);

/* Waits until the model holds the users of `users_xml` (users-file being
 * the only users backend): users-file loads them on the worker pool after
 * the start, and the core logs "model: N users" once it has pulled them. */
void e2e_wait_users(harness *h, const char *users_xml);

/* Starts ucd with `sections` (the PBX driver modules under test) plus
 * users-file reading `users_xml` (written to the test's folder),
 * journal-sqlite and the probe fixture; returns once journal-sqlite runs
 * and the users are in the model. */
harness *e2e_ucd_start(const char *users_xml, const char *sections);

#endif /* TEST_E2E_UTIL_H */
