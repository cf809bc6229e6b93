/*
 * directory.h - the directory part of the model: users and groups copied from
 * every "users" service, the drivers and their lines, and which line is
 * whose. The first part: it includes no other part's header.
 *
 *   directory.c          users and groups: pulls, indexes, lookups, assignment
 *   lines.c              drivers and lines: created on first sight, pulled
 *                        from pbx services, gone while their module is not
 *   directory-events.c   UCD_EVENT_DIRECTORY for what a pass changed
 *
 * The structs are read-only views for the rest of the model; users and groups
 * stay valid until the next pull, drivers and lines until the model is freed.
 */
#ifndef CORE_MODEL_DIRECTORY_H
#define CORE_MODEL_DIRECTORY_H

#include "model-state.h"

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
typedef struct core_line {
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
    /* Who the live call that changed last is with (calls.c; party.h), for
     * presence; NULL when unknown or when no call is live. */
    char *party_name;
    char *party_company;
} core_line;

/* One PBX driver instance as the model knows it: from a pbx service or from
 * the first event naming it. Kept for the model's life (there are few). */
typedef struct core_driver {
    char *id;
    GHashTable *lines; /* address -> core_line * (owned) */
    GHashTable *legs;  /* calls.c: call_id -> its live legs (owned by their conversation) */
    GHashTable *convs; /* calls.c: conversation_id -> its open conversations (owned by calls.c) */
    /* Its module stopped or failed: the directory hides its lines until it
     * runs again (the lines stay, since the trace ring points at them). */
    gboolean gone;
} core_driver;

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

/* ---- directory.c ------------------------------------------------------------ */

void core_directory_init(core_model *m);
void core_directory_free(core_model *m);
/* Re-reads every users service now, re-assigns lines, tells presence
 * (m->directory_pulled) and publishes what changed. */
void core_directory_pull(core_model *m);
/* Schedules a pull on the next idle (coalesces bursts of change events). */
void core_directory_pull_soon(core_model *m);
/* Drops a scheduled pull (the model stops). */
void core_directory_cancel_pull(core_model *m);
/* TRUE when the last pull read users or groups from module `module`. */
gboolean core_directory_has_backend(core_model *m, const char *module);
/* The user owning `number`: raw as stored, E.164, or raw as a PBX sends it,
 * normalized in the location of driver `context` (NULL: the default). */
const core_user *core_directory_user_by_number(core_model *m, const char *number,
                                               const char *context);
/* GCompareFunc of core_user * pointers: login, then id. The order users are
 * listed in by the directory and presence services. */
gint core_directory_user_order(gconstpointer a, gconstpointer b);
/* Every user (of all homes) of core_user *, in core_directory_user_order:
 * the array is made once per directory pull, so it is valid until the next
 * pull; do not keep it across a return to the main loop. */
const GPtrArray *core_directory_users_sorted(core_model *m);
/* A new array (free it with g_ptr_array_free(a, TRUE)) of the values of
 * `table`, sorted by `order` (a GCompareFunc of pointers to the values). */
GPtrArray *core_directory_sorted_values(GHashTable *table, GCompareFunc order);
/* GCompareFunc of core_line * pointers: driver, then address. The order of
 * every listing of lines, and of each user's line_ptrs. */
gint core_directory_line_order(gconstpointer a, gconstpointer b);
/* Finds the user a new line belongs to and links both. */
void core_directory_assign_line(core_model *m, core_line *line);
/* This server's name ([core] server_name; the host name when the runtime
 * has none, as in tests). */
const char *core_model_server_name(core_model *m);
/* TRUE when `u` is active on this server: enabled, and homed nowhere in
 * particular (no or an empty home server) or on this server, the names
 * compared without case as users-ldap compares them. Only such users have
 * presence here. */
gboolean core_model_user_here(core_model *m, const core_user *u);
/* The numbers service's E.164 form of `raw` in the location of driver
 * `context` (NULL: the default) into out->e164; FALSE when there is none or
 * no numbers service runs (tests). */
gboolean core_model_normalize(core_model *m, const char *context, const char *raw,
                              ucd_number_info *out);

/* ---- lines.c ------------------------------------------------------------------ */

void core_lines_init(core_model *m);
/* Frees every driver and line: after the calls part freed its legs. */
void core_lines_free(core_model *m);
/* The driver `id`, created when `create` and it is new; NULL for a NULL id. */
core_driver *core_model_driver(core_model *m, const char *id, gboolean create);
/* The line `address` of `d`, created (and published as a directory change)
 * on first sight; NULL for a NULL address. */
core_line *core_model_line_get(core_model *m, core_driver *d, const char *address);
/* Pulls the lines of one pbx provider (NULL: every one); a provider that
 * lists lines runs, so its driver is no longer gone. */
void core_model_pull_lines(core_model *m, const char *provider);
/* The driver's module stopped or failed: hides its lines (published as
 * REMOVED), marks them out of service with `note` in the trace, and tells
 * presence. Its legs must have been ended before (calls.h). */
void core_lines_driver_gone(core_model *m, core_driver *d, const char *note, int64_t time_ms);
/* Applies a line-state event: state, do-not-disturb, forwarding. */
void core_lines_on_event(core_model *m, const ucd_line_state_event *ev, int64_t time_ms);

/* ---- directory-events.c: UCD_EVENT_DIRECTORY ----------------------------------
 *
 * Changes are collected during a pass and published together: more than
 * CORE_DIRECTORY_EVENTS_MAX of them as one RESYNCED. */
#define CORE_DIRECTORY_EVENTS_MAX 1000
typedef struct core_dir_changes core_dir_changes;
core_dir_changes *core_dir_changes_new(void);
void core_dir_changes_add(core_dir_changes *c, ucd_change what, ucd_directory_kind kind,
                          const char *id);
void core_dir_changes_add_line(core_dir_changes *c, ucd_change what, const core_line *line);
/* Adds what differs between two generations of users and of groups (tables
 * id -> core_user *, id -> core_group *). */
void core_dir_changes_diff(core_dir_changes *c, GHashTable *users_before, GHashTable *users_after,
                           GHashTable *groups_before, GHashTable *groups_after);
/* Publishes the changes (as owner "core") and frees `c`. */
void core_dir_changes_publish(core_model *m, core_dir_changes *c);

#endif /* CORE_MODEL_DIRECTORY_H */
