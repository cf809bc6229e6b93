/*
 * model.h - the core's shared telephony model: who the users are, which lines
 * they own, what calls are up, who is present.
 *
 * Data flows one way: PBX drivers publish line and call events on the bus, the
 * model (subscribed as owner "core") turns legs into conversations and hands
 * every finished one to each running "journal" service, computes presence and
 * publishes it as UCD_EVENT_PRESENCE, and keeps a bounded ring of recent line
 * events for `ucctl trace`. The directory (users, groups) is a copy pulled from
 * every "users" service, so lookups never reach a backend.
 *
 * Life cycle in the daemon (the model is the core's built-in module: plugins
 * find its services in init and start, and it sees every module start):
 *     m = core_model_new(&rt, mods);        before core_modules_check()
 *     core_model_set_permissions(m, perms);
 *     core_model_register_services(m, mods);
 *     core_model_start(m);                  subscribes before any plugin starts
 *     core_modules_start(mods);
 *     core_model_start(m);                  again: pulls what started, at once
 *     ...
 *     core_model_stop(m);                   BEFORE the modules stop: see there
 *     core_modules_free(mods);
 *     core_model_free(m);                   after: plugins' stop hooks may ask
 *
 * Everything here runs on the thread that iterates rt->ctx (the main loop).
 * This header is the life cycle only: other core code and plugins reach the
 * model through its services (directory, calls, presence, permissions:
 * *-service.h); the parts' own headers (model-state.h lists them) are for
 * the model's files and its tests.
 */
#ifndef CORE_MODEL_H
#define CORE_MODEL_H

#include <glib.h>
#include <ucd/ucd.h>

#include "control.h"
#include "modules.h"

typedef struct core_model core_model;

/* Figures for status displays and tests. */
typedef struct core_model_stats {
    guint users;
    guint groups;
    guint lines;
    guint live_legs;
    guint open_conversations;
    uint64_t events;                 /* call and line events handled */
    uint64_t conversations_stored;   /* handed to at least one journal */
    uint64_t conversations_unstored; /* finished while no journal ran */
    uint64_t store_errors;           /* store() calls that failed */
} core_model_stats;

/* Creates the model for a runtime (its modules need not have started): loads the
 * manual presence states saved in STATE_DIR/core/presence.ini (rt->state_dir
 * NULL: no persistence). Subscribes to nothing yet. */
core_model *core_model_new(core_runtime *rt, core_modules *mods);

/* Subscribes to the bus (owner "core": call, line, user, appointment and module
 * state events) unless subscribed already, and pulls users, groups and every
 * pbx service's lines now. Later, users backends and drivers are pulled when
 * their module-state event says they run, and dropped when they stop. */
void core_model_start(core_model *m);

/* Registers the model's services (directory, calls, presence, permissions:
 * *-service.h) as core services of `mods`, with `m` as their impl. Call it
 * before core_modules_check(), so plugins may require them. In services.c. */
void core_model_register_services(core_model *m, core_modules *mods);

/* Whom the presence and permissions services and call control check actors
 * against (not owned; NULL: nobody but the system may act for others). */
struct core_permissions;
void core_model_set_permissions(core_model *m, struct core_permissions *perms);

/* Gives the permissions object set above a snapshot (permissions.h) of the
 * directory of the moment, when its own is older than the last pull; cheap
 * when it is not. As a core_perm_directory_fn (the ucctl commands' directory
 * source, with the model as user data) it returns NULL: nothing more to
 * replace. */
struct core_perm_directory *core_model_permissions_source(void *model);

/* Stops handling events (what is queued is handled first) and ends the
 * conversations still open as if the link to their PBX was lost (cause
 * LINK_LOST, end_reason "link_lost"), handing them to the journals that still
 * run: call it before the modules stop, so the journals can take them. The
 * services keep answering from what is left. Safe to call twice. */
void core_model_stop(core_model *m);

/* Stops (see above) when not stopped yet, and frees. Call it after the
 * modules are freed: their stop hooks may still use the services. Commands
 * stay registered until core_control_free or
 * core_control_unregister_owner(ctl, "core"): unregister them first when the
 * control server outlives the model. */
void core_model_free(core_model *m);

/* Fills `out` with the current figures. */
void core_model_get_stats(core_model *m, core_model_stats *out);

/* One entry of the trace ring; `text` is valid during the call. */
typedef void (*core_model_trace_fn)(uint64_t seq, int64_t time_ms, const char *text, void *ud);

/* The recent events of the line DRIVER/ADDRESS, for `ucctl trace` (the ring
 * is no service, so core/commands reads it through this): calls `cb` for up
 * to `limit` (0: all) of its entries with seq > after, oldest first: the
 * oldest such entries, or with `newest` the most recent ones. Sets *last to
 * the highest seq in the ring (of any line), where the next poll starts.
 * UCD_E_NOT_FOUND, `cb` not called, when the model has no such line.
 * (line-trace.c) */
int core_model_trace_line(core_model *m, const char *driver, const char *address, uint64_t after,
                          guint limit, gboolean newest, core_model_trace_fn cb, void *ud,
                          uint64_t *last);

/* The module registry the model was created with, where `ucctl trace` finds
 * the directory service to name lines. (line-trace.c) */
core_modules *core_model_modules(core_model *m);

#endif /* CORE_MODEL_H */
