/*
 * ucd/control.h - the control service, "control" major 1, provided by the
 * core (host 1.5).
 *
 * Runs the control commands ucctl runs (status, modules, reload, log level,
 * log export, and every command a plugin registered) on behalf of an
 * administrator who came in another way: the client API's admin routes, a web
 * console. The answer is the JSON `ucctl --json` prints, so a front end shows
 * exactly what the console shows and needs no second implementation of any
 * command. Whoever calls it must have checked that its caller is an admin:
 * the core runs the command with full rights.
 *
 * Main loop only.
 */
#ifndef UCD_CONTROL_H
#define UCD_CONTROL_H

#include <ucd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCD_CONTROL_SERVICE "control"
#define UCD_CONTROL_MAJOR   1
#define UCD_CONTROL_MINOR   0

/* The answer of one command: `result` UCD_OK when the command succeeded,
 * else the error it gave (its message is in the JSON too); `json` the reply
 * as `ucctl --json` prints it. Valid during the call only. */
typedef void (*ucd_control_done_cb)(int result, const char *json, void *user_data);

typedef struct ucd_control_v1 {
    uint32_t struct_size;

    /* Runs `argv` (argc words, the command name first: {"log", "level",
     * "pbx-sim", "debug"}) and calls `done` once, on the main loop, maybe
     * before run() returns, maybe later (a command whose work blocks).
     * `actor` names who asked, for the log ("api-http: admin anna"); NULL
     * for none. UCD_OK when `done` will be called; UCD_E_INVALID for an
     * empty argv; UCD_E_NOT_FOUND for an unknown command (then `done` is
     * not called). The core runs the command after run() returns, never
     * inside the caller's stack: a `reload` may restart the calling module
     * itself (when its section changed), and `done` still comes, after that
     * module's stop and fini, so `user_data` must outlive them or tell the
     * callback the module is gone. */
    int (*run)(void *impl, const char *actor, int argc, const char *const *argv,
               ucd_control_done_cb done, void *user_data);
} ucd_control_v1;

#ifdef __cplusplus
}
#endif
#endif /* UCD_CONTROL_H */
