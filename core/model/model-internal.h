/*
 * model-internal.h - private to the model's .c files: the model's tables and the
 * functions one part of the model calls in another.
 *
 *   model.c      life cycle, bus dispatch, drivers and lines
 *   directory.c  users and groups pulled from "users" services, line assignment
 *   calls.c      legs -> conversations -> journal records
 *   presence.c   line, manual and calendar presence, the merge, persistence
 *   trace.c      the bounded ring of recent line and call events
 *   paging.c     one page of a sorted listing (--limit, --after, "next")
 *   commands.c   the ucctl commands
 */
#ifndef CORE_MODEL_INTERNAL_H
#define CORE_MODEL_INTERNAL_H

#include "model.h"

/* How many line and call events `ucctl trace` can look back on. */
#define CORE_TRACE_CAPACITY 10000

typedef struct core_trace core_trace;
typedef struct core_presence core_presence;

/* One PBX driver instance as the model knows it: from a pbx service or from
 * the first event naming it. Kept for the model's life (there are few). */
typedef struct core_driver {
    char *id;
    GHashTable *lines; /* address -> core_line * (owned) */
    GHashTable *legs;  /* call_id -> core_leg * of live legs (owned by their conversation) */
    GHashTable *convs; /* conversation_id -> core_conv * (owned) */
    /* Its module stopped or failed: the directory hides its lines until it
     * runs again (the lines stay, since the trace ring points at them). */
    gboolean gone;
} core_driver;

struct core_model {
    core_runtime *rt;
    core_modules *mods;
    ucd_subscription *sub;
    uint64_t events;

    GHashTable *drivers; /* id -> core_driver * (owned) */
    guint line_count;

    /* directory.c */
    GHashTable *users;       /* id -> core_user * (owned) */
    GHashTable *logins;      /* login -> core_user * */
    GHashTable *numbers;     /* E.164 and raw number -> core_user * */
    GHashTable *groups;      /* id -> core_group * (owned) */
    GHashTable *assignments; /* "DRIVER/ADDRESS" or "ADDRESS" -> core_user * */
    GSource *pull_source;    /* pending debounced pull, NULL = none */
    GHashTable *backends;    /* module ids the last pull read users or groups from */
    uint64_t generation;     /* bumped by every pull: lets readers rebuild caches lazily */

    /* calls.c */
    guint live_legs;
    guint open_convs;
    uint64_t stored, unstored, store_errors;

    /* presence.c */
    GHashTable *presence; /* user id -> core_presence * (owned) */
    char *presence_file;  /* NULL: manual states are not persisted */

    /* trace.c */
    core_trace *trace;

    /* commands.c: the progress of `users sync`, backend id -> core_sync_state */
    GHashTable *syncs;

    /* call-control.c, the presence and permissions services: whom actors are
     * checked against (not owned; NULL: none) */
    struct core_permissions *perms;
    uint64_t perm_generation; /* 1 + the directory generation perms' snapshot was built
                                 from; 0: none built since perms was set */

    /* core_model_stop() ran: events are no longer handled. */
    gboolean stopped;
};

/* commands.c: a sync's progress, shared with the backend's callbacks. */
typedef struct core_sync_state core_sync_state;
void core_sync_state_unref(gpointer state);

/* model.c */
/* This server's name ([core] server_name; the host name when the runtime
 * has none, as in tests). */
const char *core_model_server_name(core_model *m);
/* TRUE when `u` is active on this server: enabled, and homed nowhere in
 * particular (no or an empty home server) or on this server, the names
 * compared without case as users-ldap compares them. Only such users have
 * presence here. */
gboolean core_model_user_here(core_model *m, const core_user *u);
core_driver *core_model_driver(core_model *m, const char *id, gboolean create);
core_line *core_model_line_get(core_model *m, core_driver *d, const char *address);
/* The numbers service, or NULL when none runs (tests). */
gboolean core_model_normalize(core_model *m, const char *context, const char *raw,
                              ucd_number_info *out);
void core_model_pull_lines(core_model *m, const char *provider);

/* directory.c */
void core_directory_init(core_model *m);
void core_directory_free(core_model *m);
/* Re-reads every users service now and re-assigns lines. */
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
/* GCompareFunc of core_line * pointers: driver, then address. The order of
 * every listing of lines, and of each user's line_ptrs. */
gint core_directory_line_order(gconstpointer a, gconstpointer b);
/* Finds the user a new line belongs to and links both. */
void core_directory_assign_line(core_model *m, core_line *line);

/* permissions-service.c */
typedef struct core_perm_directory core_perm_directory;
/* A permissions snapshot (permissions.h) of the directory as it is now. */
core_perm_directory *core_model_perm_directory(core_model *m);

/* directory-events.c: UCD_EVENT_DIRECTORY. Changes are collected during a
 * pass and published together: more than CORE_DIRECTORY_EVENTS_MAX of them
 * as one RESYNCED. */
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

/* calls.c */
void core_calls_init(core_model *m);
void core_calls_free(core_model *m);
/* Frees a conversation and its legs (the destroy function of core_driver.convs). */
void core_calls_conv_free(gpointer conv);
void core_calls_on_event(core_model *m, const ucd_call_state_event *ev, int64_t time_ms);
/* Ends every live leg of `driver` with cause LINK_LOST at `time_ms`. */
void core_calls_link_lost(core_model *m, core_driver *driver, int64_t time_ms);

/* presence.c */
void core_presence_init(core_model *m);
void core_presence_free(core_model *m);
/* Re-derives the line presence of `user` and publishes when anything changed. */
void core_presence_line_changed(core_model *m, core_user *user);
/* After a directory pull: entries for new users, line presence of all. */
void core_presence_directory_changed(core_model *m);
void core_presence_on_appointment(core_model *m, const ucd_appointment_event *ev);
const char *core_presence_word(ucd_presence_state s);
/* Parses a state word; -1 when unknown. */
int core_presence_parse(const char *word);
/* The parts of a user's presence for `ucctl presence`. */
typedef struct core_presence_view {
    ucd_presence_state state, manual, line, calendar;
    const char *note;
    int64_t until_ms;
} core_presence_view;
gboolean core_presence_view_get(core_model *m, const char *user_id, core_presence_view *out);

/* trace.c */
core_trace *core_trace_new(guint capacity);
void core_trace_free(core_trace *t);
void core_trace_call(core_trace *t, const core_line *line, const ucd_call_state_event *ev,
                     int64_t time_ms);
void core_trace_line(core_trace *t, const core_line *line, const ucd_line_state_event *ev,
                     int64_t time_ms);
/* A note of the model's own making ("link lost: module stopped"). */
void core_trace_note(core_trace *t, const core_line *line, const char *text, int64_t time_ms);
/* Calls `cb` for up to `limit` (0: all) entries of `line` with seq > after,
 * oldest first: the oldest such entries, or with `newest` the most recent
 * ones. `text` is valid during the callback. Returns the highest seq in the
 * ring (of any line). */
uint64_t core_trace_query(core_trace *t, const core_line *line, uint64_t after, guint limit,
                          gboolean newest,
                          void (*cb)(uint64_t seq, int64_t time_ms, const char *text, void *ud),
                          void *ud);

/* Words for enums, shared by trace and commands. */
const char *core_call_state_word(uint32_t state);
const char *core_line_state_word(uint32_t state);
const char *core_direction_word(uint32_t direction);
const char *core_cause_word(uint32_t cause);
const char *core_forward_reason_word(uint32_t reason);

/* paging.c: listings come in pages of --limit rows (default
 * CORE_PAGE_DEFAULT_LIMIT) after the cursor --after; the reply field "next"
 * is the cursor of the next page. */
#define CORE_PAGE_DEFAULT_LIMIT 1000
#define CORE_PAGE_MAX_LIMIT     10000

typedef struct core_page {
    int limit;   /* rows per page: 1 to CORE_PAGE_MAX_LIMIT */
    char *after; /* the previous page's "next"; NULL: from the start */
} core_page;

/* Compares an item of a listing with a cursor, in the listing's order: < 0
 * when the item comes before it, 0 when the item's key is the cursor. */
typedef int (*core_page_cmp)(gconstpointer item, const char *cursor);
/* An item's cursor (g_free it). */
typedef char *(*core_page_key)(gconstpointer item);

/* Whether the page's limit is allowed; else *error says why (g_free it). */
gboolean core_page_check(const core_page *page, char **error);
/* The page of `items` (sorted by `cmp`'s order) the request asks for:
 * items[*start] to items[*end - 1], the first ones whose key comes after
 * page->after, `limit` of them and the rest of a run of equal keys; *next is
 * the cursor of the page after it (g_free it), NULL when none remain. */
void core_page_window(const GPtrArray *items, const core_page *page, core_page_cmp cmp,
                      core_page_key key, guint *start, guint *end, char **next);

/* commands.c uses these from calls.c to list live legs. */
typedef struct core_leg_view {
    const core_line *line;
    const char *call_id;
    const char *conversation_id;
    const char *uuid;
    uint32_t state, direction;
    const char *remote_number;
    const char *remote_name;
    int64_t since_ms; /* when the leg reached its current state */
    uint32_t flags;   /* UCD_CALL_FLAG_* */
} core_leg_view;
void core_calls_foreach_leg(core_model *m, void (*cb)(const core_leg_view *leg, void *ud),
                            void *ud);
/* Calls `cb` with the record of every open conversation (end_ms and
 * end_cause 0) that `user` (NULL: anybody) has a line in, by start time;
 * non-zero stops. */
void core_calls_foreach_open(core_model *m, const core_user *user,
                             int (*cb)(const ucd_journal_record *record, void *ud), void *ud);

#endif /* CORE_MODEL_INTERNAL_H */
