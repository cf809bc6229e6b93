/*
 * model-state.h - the model's root struct: the runtime it runs in and each
 * part's tables, every member marked with the part that owns it.
 *
 * The parts and the one way data flows between them (each header includes
 * only the ones before it, never one after):
 *
 *   model-state.h   this struct                          (includes model.h)
 *   directory.h     users, groups, drivers and lines     directory.c, lines.c,
 *                                                        directory-events.c
 *   calls.h         legs, conversations, records         calls.c
 *   presence.h      line, manual, calendar presence      presence.c
 *   trace.h         a leaf, used by any part (the words for
 *                   the SDK's enums are event.h's)
 *   model.c         life cycle and bus dispatch: the one file that calls
 *                   into every part
 *
 * An earlier part tells a later one through the hooks below, which the later
 * part sets when it is created; the struct knows later parts' state only as
 * members it never interprets.
 */
#ifndef CORE_MODEL_STATE_H
#define CORE_MODEL_STATE_H

#include "model.h"
#include "trace.h"

struct core_user;
struct core_permissions;

struct core_model {
    core_runtime *rt;
    core_modules *mods;
    ucd_subscription *sub;
    uint64_t events;
    gboolean stopped; /* core_model_stop() ran: events are no longer handled */
    /* The bus's last seq when core_model_start() last pulled everything: a
     * module or user event up to it is already in that pull. */
    uint64_t pulled_seq;

    /* directory: lines.c */
    GHashTable *drivers; /* id -> core_driver * (owned) */
    guint line_count;

    /* directory: directory.c */
    GHashTable *users;       /* id -> core_user * (owned) */
    GPtrArray *users_sorted; /* the same users in core_directory_user_order */
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

    /* trace.c, fed by lines.c and calls.c */
    core_trace *trace;

    /* call-control.c, the presence and permissions services: whom actors are
     * checked against (not owned; NULL: none) */
    struct core_permissions *perms;
    uint64_t perm_generation; /* 1 + the directory generation perms' snapshot was built
                                 from; 0: none built since perms was set */

    /* Hooks by which the directory and the calls tell presence, set by
     * presence.c when it is created (NULL until then: nobody to tell). */
    /* A line of `user` changed state, or its legs did. */
    void (*user_lines_changed)(core_model *m, struct core_user *user);
    /* A directory pull swapped users and groups. */
    void (*directory_pulled)(core_model *m);
};

#endif /* CORE_MODEL_STATE_H */
