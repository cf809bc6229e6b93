/*
 * test-ami-util.h - what the pbx-ami end-to-end tests share: the ami-replay
 * program (plugins/pbx-ami/tests/proto) as a child process, the scripts it
 * replays, a ucd with users-file, journal-sqlite and the probe fixture, and
 * polls over `ucctl lines` and the journal.
 *
 * Every wait polls (up to 30 s: the daemon may run under valgrind); nothing
 * sleeps and hopes.
 */
#ifndef TEST_AMI_UTIL_H
#define TEST_AMI_UTIL_H

#include "e2e-util.h"
#include "harness.h"

/* One ami-replay process. */
typedef struct ami_peer {
    GSubprocess *proc;
    char *dir;     /* its temp directory: script, port file, actions log */
    char *port;    /* the port it listens on (127.0.0.1), as text */
    char *actions; /* the --log-actions file */
} ami_peer;

/* Starts ami-replay on `script` (capture format) with the secret
 * "e2e-secret" and `extra` arguments (NULL-terminated, may be NULL: "--port",
 * "--stall-after", "--tls-cert", ...); waits until it listens. The process
 * dies with the test. */
ami_peer *ami_peer_start(const char *script, const char *const *extra);
/* SIGTERM, wait, remove its directory. NULL is fine. */
void ami_peer_stop(ami_peer *p);
/* Removes a temp directory and what it holds. */
void ami_remove_dir(const char *dir);
/* TRUE when the peer's actions log holds `needle`. */
gboolean ami_peer_received(const ami_peer *p, const char *needle);

/* The login and the resync the driver runs after it: `channels` are
 * CoreShowChannel event blocks ("" for none), then the AstDB reads (DND,
 * CF) of each of `lines` (NULL-terminated), none set (g_free it). */
char *ami_script_head(const char *const *lines, const char *channels);
/* A file of plugins/pbx-ami/tests/driver/data (g_free it). */
char *ami_driver_data(const char *name);
/* `text` with every `from` replaced by `to` (g_free it). */
char *ami_replace(const char *text, const char *from, const char *to);

/* A ucd with `modules` (configuration sections), users-file serving
 * `users_xml`, journal-sqlite and probe; returns once journal-sqlite runs. */
harness *ami_ucd_start(const char *users_xml, const char *modules);
/* Stops ucd (exit status 0 required) and frees the harness. */
void ami_ucd_stop(harness *h);

/* Polls until `sql` on the journal gives `expected`. */
void ami_wait_journal(harness *h, const char *sql, const char *expected);
/* `column` of the `ucctl lines` row of DRIVER's LINE, NULL without such a
 * row (g_free it). */
char *ami_line_cell(harness *h, const char *driver, const char *line, const char *column);
/* Polls until the state of DRIVER's LINE is `state`. */
void ami_wait_line_state(harness *h, const char *driver, const char *line, const char *state);
/* The value of `name` in a response's "fields", NULL without it (g_free it). */
char *ami_field(JsonNode *resp, const char *name);
/* Polls until `field` of `ucctl COMMAND status` is `value` (COMMAND: "ami-east"). */
void ami_wait_status_field(harness *h, const char *command, const char *field, const char *value);
/* Asserts `secret` is in no log line and in the output of no ucctl command
 * (status, modules, lines, calls, counters, log export, check-config, and
 * `ami_command status` when not NULL). */
void ami_assert_secret_hidden(harness *h, const char *secret, const char *ami_command);

#endif /* TEST_AMI_UTIL_H */
