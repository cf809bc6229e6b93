/*
 * sip-util.h - what the pbx-sip end-to-end tests (test-sip*.c) share: a real
 * Kamailio with two baresip phones (tests/peers/kamailio.sh), the real ucd
 * configured with pbx-sip instances on it, and polls over ucd's control
 * socket that name a line by driver instance and address (two instances may
 * both have a line "alice").
 */
#ifndef TEST_E2E_SIP_UTIL_H
#define TEST_E2E_SIP_UTIL_H

#include "harness.h"

/* users-file XML: users alice and bob owning the lines alice and bob. */
#define SIP_USERS_ALICE_BOB                                                                        \
    "<?xml version='1.0' encoding='UTF-8'?>\n"                                                     \
    "<users xmlns='urn:ucd:users:1'>\n"                                                            \
    "  <user id='file:alice'><login>alice</login><line>alice</line></user>\n"                      \
    "  <user id='file:bob'><login>bob</login><line>bob</line></user>\n"                            \
    "</users>\n"

/* A Kamailio with the phones alice and bob, and carol without a phone.
 * `auth` "USER:PASSWORD" makes it challenge that user (KAMAILIO_AUTH), NULL
 * not. NULL when the test is skipped (a program missing, not under CI). */
harness_peer *sip_peer_start(const char *auth);
/* Runs "kamailio.sh VERB SIP_DIR" (halt, resume) and checks it succeeded. */
void sip_peer_verb(harness_peer *peer, const char *verb);
/* "kamailio.sh ua DIR PHONE COMMAND [PARAMS]": drives a baresip phone. */
void sip_phone(harness_peer *peer, const char *who, const char *command, const char *params);
/* Phone `who` dials `user` of the peer's SIP domain (SIP_DOMAIN). */
void sip_phone_dial(harness_peer *peer, const char *who, const char *user);
/* A "[module pbx-sip:INSTANCE]" section watching `lines` ("alice;bob") on
 * `peer`, followed by `extra` keys (may be NULL) (g_free it). */
char *sip_section(const char *instance, harness_peer *peer, const char *lines, const char *extra);
/* Starts ucd with `sections` (pbx drivers), users-file reading `users_xml`,
 * journal-sqlite and the probe fixture; waits until the journal and each
 * module named in the NULL-terminated `modules` run. */
harness *sip_ucd_start(const char *users_xml, const char *sections, const char *const *modules);
/* How many conversations the journal holds and, sorted, the lines of their
 * participants: "1|alice,bob" for one call between alice and bob. */
#define SIP_LINES_OF_CONVERSATIONS                                                                 \
    "SELECT count(DISTINCT conversation_id), group_concat(line, ',') "                             \
    "FROM (SELECT conversation_id, line FROM participant ORDER BY line)"
/* Stops ucd, which must exit 0 (under valgrind: no error, no leak), frees the
 * harness and stops the peer. */
void sip_stop(harness *h, harness_peer *peer);
/* Polls the journal until `sql` gives `expected` (up to 30 s). */
void sip_wait_journal(harness *h, const char *sql, const char *expected);
/* The state of line `address` of `driver` as `ucctl lines` shows it, NULL
 * when there is no such line (g_free it). */
char *sip_line_state(harness *h, const char *driver, const char *address);
/* Waits up to `seconds` until that state is `state`. */
void sip_wait_line_state(harness *h, const char *driver, const char *address, const char *state,
                         int seconds);
/* The call id of the leg on `driver`'s line `address` in `state` from
 * `ucctl calls`, polling up to 10 s (g_free it). */
char *sip_leg_on(harness *h, const char *driver, const char *address, const char *state);
/* Every event of a line as `ucctl trace LINE` shows it, in full, each
 * followed by "; " (g_free it). */
char *sip_trace(harness *h, const char *line);

#endif /* TEST_E2E_SIP_UTIL_H */
