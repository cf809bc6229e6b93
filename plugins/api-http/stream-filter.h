/*
 * stream-filter.h - who may see which event of the stream, decided at
 * delivery, per client, by the REST API's rules (docs/api/events.md):
 *   presence     PUBLIC on the user sees the state; note, until and the
 *                parts need BUSINESS
 *   line, call   BUSINESS on the line's user; a private remote number shows
 *                as "anonymous" to anyone but the line's user
 *   conversation its participants; a leader of a participant's group with
 *                BUSINESS on that participant; admins (a private number
 *                masked for all but participants and admins)
 *   appointment  BUSINESS on the user
 *   directory    everyone (ids only)
 *   module       admins only
 * An API key (scope events:read) sees as the system, private numbers
 * masked, module states not.
 *
 * What an event is about (its user, participants, their leaders) is found
 * once, when it enters the stream, through a lookup the caller provides:
 * the directory and permissions services in the daemon, tables in tests.
 */
#ifndef STREAM_FILTER_H
#define STREAM_FILTER_H

#include "stream-replay.h"

/* The services the filter asks. Strings returned must be interned. */
typedef struct stream_lookup {
    /* The level (ucd_perm_level) at which `viewer` sees `subject`. */
    guint (*level)(gpointer data, const char *viewer, const char *subject);
    /* The user id of a line, interned; NULL when none or unknown. */
    const char *(*line_user)(gpointer data, const char *driver, const char *line);
    /* Appends to `out` the interned ids of the leaders of `user`'s groups. */
    void (*leaders_of)(gpointer data, const char *user, GPtrArray *out);
    gpointer data;
} stream_lookup;

/* Who looks: a user (id) with or without the admin role, or an API key. */
typedef struct stream_viewer {
    const char *user_id; /* NULL for an API key */
    gboolean admin;
} stream_viewer;

/* Fills `out`'s user, participants, leaders and is_private from the bus
 * event it was made of. */
void stream_filter_prepare(const stream_lookup *lookup, const ucd_event *event, stream_event *out);
/* What `viewer` gets of `event`. */
stream_view stream_filter_view(const stream_lookup *lookup, const stream_viewer *viewer,
                               const stream_event *event);

#endif /* STREAM_FILTER_H */
