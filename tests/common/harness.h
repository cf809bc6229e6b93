/*
 * harness.h - runs a real ucd for end-to-end tests.
 *
 * Each harness has a temp directory holding ucd.conf, the state directory,
 * the control socket and ucd's stderr log. The daemon is the binary meson
 * built (env UCD_BIN), with UCD_PLUGIN_PATH pointing at the test plugin
 * fixtures. Requests go over the real control socket.
 */
#ifndef TEST_HARNESS_H
#define TEST_HARNESS_H

#include <gio/gio.h>
#include <json-glib/json-glib.h>

typedef struct harness {
    char *dir;      /* temp directory, removed by harness_free */
    char *conf;     /* DIR/ucd.conf */
    char *sock;     /* DIR/ucd.sock */
    char *log_path; /* DIR/ucd.log: the daemon's stderr */
    GSubprocess *proc;
} harness;

/* A harness whose ucd.conf is the [core]/[log] preamble followed by `body`. */
harness *harness_new(const char *body);
/* Replaces the configuration body (for reload tests). */
void harness_write_config(harness *h, const char *body);
/* Writes a drop-in file DIR/conf.d/NAME. */
void harness_write_dropin(harness *h, const char *name, const char *body);
/* Starts ucd and waits (up to 20 s) until it answers `status`. FALSE when
 * it exited first; then harness_wait() gives the exit status. */
gboolean harness_start(harness *h);
/* Sends a request over the control socket; returns the response object
 * (json_node_free it). argv NULL-terminated. */
JsonNode *harness_request(harness *h, const char *const *argv);
/* harness_request + check "ok" is TRUE; returns the response. */
JsonNode *harness_ok(harness *h, const char *const *argv);
/* Looks up a row of a table response whose first column equals `key`; returns
 * the value in column `column` (owned by the node) or NULL. */
const char *harness_cell(JsonNode *resp, const char *key, const char *column);
/* The value of the reply's field `name` (a reply of fields, as `status`
 * gives), or NULL. Valid as long as `resp`. */
const char *harness_field(JsonNode *resp, const char *name);
/* Waits until `pred` holds for the modules table, polling for up to 20 s. */
gboolean harness_wait_state(harness *h, const char *module, const char *state);
/* The daemon's stderr so far (g_free). */
char *harness_log(harness *h);
/* Waits until the log contains `needle` (up to 20 s). */
gboolean harness_wait_log(harness *h, const char *needle);
/* Waits (up to 20 s) until ucd's log holds `needle` at least `count` times:
 * how a test tells a module's second start from its first, whose state
 * reads the same. */
gboolean harness_wait_log_count(harness *h, const char *needle, guint count);
void harness_signal(harness *h, int sig);
/* Waits for exit (up to 30 s) and returns the exit status, or -1. */
int harness_wait(harness *h);
/* SIGTERM and wait; returns the exit status. Any other status than 0 also
 * prints the last 8 KiB of the daemon's stderr (a sanitizer report) to the
 * test's stderr. */
int harness_stop(harness *h);
void harness_free(harness *h);

/* Runs a program (the real ucctl, ucd --check-config ...) with UCD_SOCKET set
 * to the harness socket; returns exit status, output in *out / *err. */
int harness_run(harness *h, const char *const *argv, char **out, char **err);
/* Runs the real ucctl (UCCTL_BIN) with the words that follow, up to a NULL,
 * as harness_run does; returns its stdout and stderr joined (g_free) and its
 * exit status in `*status`. */
char *harness_ucctl(harness *h, int *status, ...) G_GNUC_NULL_TERMINATED;

/* Writes `config` as DIR/ucd.conf and runs `UCD_BIN -c DIR/ucd.conf
 * --check-config`, which starts nothing: TRUE when it passes; what it printed
 * on stderr in *err (free it). For tests of what check-config refuses. */
gboolean harness_check_config(const char *ucd_bin, const char *dir, const char *config, char **err);

/* A real peer server started by a tests/peers script ("SCRIPT start ARGS..."
 * printing "export NAME=VALUE ..." lines). A guard process stops it with
 * "SCRIPT stop DIR" when the test ends in any way, an abort included. When the
 * script says a program is missing (exit 3 or 77), the test fails under CI=true
 * and is skipped otherwise (then NULL is returned). */
typedef struct harness_peer harness_peer;
harness_peer *harness_peer_start(const char *script, const char *dir_var, const char *const *args);
/* A value the script exported (owned by the peer), or NULL. */
const char *harness_peer_get(harness_peer *peer, const char *name);
/* Stops the peer now and frees it. */
void harness_peer_stop(harness_peer *peer);

/* Paths from meson (env): the daemon, ucctl, fixture plugin directory. */
const char *harness_env(const char *name);

#endif /* TEST_HARNESS_H */
