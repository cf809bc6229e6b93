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
 *     (register its services: directory, calls, presence, permissions)
 *     core_model_start(m);                  subscribes before any plugin starts
 *     core_modules_start(mods);
 *     core_model_start(m);                  again: pulls what started, at once
 *     ...
 *     core_model_stop(m);                   BEFORE the modules stop: see there
 *     core_modules_free(mods);
 *     core_model_free(m);                   after: plugins' stop hooks may ask
 *
 * Everything here runs on the thread that iterates rt->ctx (the main loop).
 * The structs below are read-only views for other core code (permissions, the
 * client API); pointers stay valid until the next directory pull (users,
 * groups) or until core_model_free (lines).
 */
#ifndef CORE_MODEL_H
#define CORE_MODEL_H

#include <glib.h>
#include <ucd/ucd.h>

#include "control.h"
#include "modules.h"

typedef struct core_model core_model;
typedef struct core_line core_line;

/* A user as copied from a users service. String arrays are NULL-terminated,
 * never NULL themselves. */
typedef struct core_user {
    char *id;
    char *login;
    char *display_name;
    char *given_name;
    char *surname;
    char *email;
    char *department;
    char *title;
    char *home_server;
    char *backend; /* module id of the users service it came from */
    gboolean enabled;
    char **numbers;       /* raw, as stored */
    char **e164;          /* parallel to numbers; "" when a number has no E.164 form */
    char **groups;        /* group ids */
    char **lines;         /* assignments as the backend wrote them */
    GPtrArray *line_ptrs; /* core_line *: the assigned lines the model knows now */
} core_user;

typedef struct core_group {
    char *id;
    char *name;
    char *description;
    char *backend;
    char **leaders; /* user ids, NULL-terminated */
} core_group;

/* A line: a device address on one PBX driver instance. */
struct core_line {
    char *driver;  /* module id of the driver: "pbx-sim:office" */
    char *address; /* what call control takes: "201" */
    char *number;  /* the number callers dial, NULL when unknown */
    char *name;
    uint64_t capabilities; /* UCD_PBX_CAP_* as list_lines reported them */
    ucd_line_state state;
    gboolean dnd;
    char *forward_to;
    core_user *user; /* the assigned user, NULL when none */
    /* Live legs on the line by kind, kept current per event so presence never
     * has to scan legs. */
    guint offering;
    guint active; /* dialing, ringback, connected, held, conferenced */
};

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

/* Registers the model's ucctl commands (users, groups, lines, calls, presence,
 * journal, trace, caps and the call-control commands) as owner "core". */
void core_model_register_commands(core_model *m, core_control *ctl);

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

/* Directory lookups: by user id or login; by group id; by line. NULL when
 * unknown. */
const core_user *core_model_user(core_model *m, const char *id_or_login);
/* The user owning `number` (raw or E.164; needs the numbers service for raw). */
const core_user *core_model_user_by_number(core_model *m, const char *number);
const core_group *core_model_group(core_model *m, const char *id);
const core_line *core_model_line(core_model *m, const char *driver, const char *address);
/* Calls `cb` for every user, in no particular order; non-zero stops. */
void core_model_foreach_user(core_model *m, int (*cb)(const core_user *u, void *ud), void *ud);
/* Calls `cb` for every group, in no particular order; non-zero stops. */
void core_model_foreach_group(core_model *m, int (*cb)(const core_group *g, void *ud), void *ud);

/* The merged presence of a user (UCD_PRESENCE_UNKNOWN for an unknown one). */
ucd_presence_state core_model_presence(core_model *m, const char *user_id);

/* Sets (state != UNKNOWN) or clears (UNKNOWN) the manual presence of a user
 * known by id or login: AVAILABLE, AWAY, BUSY, DND or OUT_OF_OFFICE, with an
 * optional note and end time (0 = open-ended; must be in the future). Saved
 * at once; publishes a presence event when anything changed. UCD_OK,
 * UCD_E_NOT_FOUND (user), UCD_E_INVALID (state or end time). */
int core_model_set_manual(core_model *m, const char *user, ucd_presence_state state,
                          const char *note, int64_t until_ms);

#endif /* CORE_MODEL_H */
