/*
 * stream-filter.c - the permission check of the event stream.
 *
 * Everything that costs (the line's user, the participants' leaders) is
 * found once per event in stream_filter_prepare; stream_filter_view, which
 * runs once per event and client, asks only the permissions service's level
 * (a hash lookup in the core) and compares interned strings.
 */
#include <string.h>

#include "stream-filter.h"

static const char *intern(const char *s)
{
    return s && *s ? g_intern_string(s) : NULL;
}

/* A NULL-terminated copy of the (interned) strings in `a`, without
 * repeats. */
static const char **unique_strings(GPtrArray *a)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < a->len; i++) {
        gboolean seen = FALSE;
        for (guint j = 0; j < out->len && !seen; j++)
            seen = out->pdata[j] == a->pdata[i];
        if (!seen)
            g_ptr_array_add(out, a->pdata[i]);
    }
    g_ptr_array_add(out, NULL);
    return (const char **)g_ptr_array_free(out, FALSE);
}

static void prepare_conversation(const stream_lookup *lookup, const ucd_journal_record *r,
                                 stream_event *out)
{
    GPtrArray *users = g_ptr_array_new();
    GPtrArray *leaders = g_ptr_array_new();
    for (guint32 i = 0; r->participants && i < r->participant_count; i++) {
        const ucd_journal_participant *p =
            (const ucd_journal_participant *)((const char *)r->participants +
                                              (gsize)i * r->participant_size);
        const char *user = intern(p->user_id);
        if (user == NULL)
            continue;
        g_ptr_array_add(users, (gpointer)user);
        if (lookup->leaders_of)
            lookup->leaders_of(lookup->data, user, leaders);
    }
    out->participants = unique_strings(users);
    out->leaders = unique_strings(leaders);
    out->is_private = (r->flags & UCD_JOURNAL_FLAG_PRIVATE) != 0;
    g_ptr_array_free(users, TRUE);
    g_ptr_array_free(leaders, TRUE);
}

void stream_filter_prepare(const stream_lookup *lookup, const ucd_event *event, stream_event *out)
{
    switch (event->type) {
    case UCD_EVENT_PRESENCE:
        out->user = intern(((const ucd_presence_event *)event->payload)->user_id);
        break;
    case UCD_EVENT_APPOINTMENT:
        out->user = intern(((const ucd_appointment_event *)event->payload)->user_id);
        break;
    case UCD_EVENT_LINE_STATE: {
        const ucd_line_state_event *e = event->payload;
        out->user = lookup->line_user(lookup->data, e->driver_instance, e->line);
        break;
    }
    case UCD_EVENT_CALL_STATE: {
        const ucd_call_state_event *e = event->payload;
        out->user = lookup->line_user(lookup->data, e->driver_instance, e->line);
        out->is_private = (e->flags & UCD_CALL_FLAG_PRIVATE) != 0;
        break;
    }
    case UCD_EVENT_CONVERSATION_ENDED: {
        const ucd_conversation_event *c = event->payload;
        if (c->record)
            prepare_conversation(lookup, c->record, out);
        break;
    }
    case UCD_EVENT_CALL_PARTY: {
        const ucd_call_party_event *e = event->payload;
        out->user = lookup->line_user(lookup->data, e->driver_instance, e->line);
        out->is_private = (e->flags & UCD_CALL_FLAG_PRIVATE) != 0;
        break;
    }
    default:
        break;
    }
}

static gboolean same_user(const char *a, const char *b)
{
    return a != NULL && b != NULL && (a == b || strcmp(a, b) == 0);
}

static gboolean listed(const char *const *list, const char *user)
{
    for (; list && *list; list++) {
        if (same_user(*list, user))
            return TRUE;
    }
    return FALSE;
}

/* The level at which a user viewer sees `subject`: PERSONAL for their own. */
static guint level_of(const stream_lookup *lookup, const stream_viewer *viewer, const char *subject)
{
    if (subject == NULL)
        return UCD_PERM_BLOCKED;
    if (same_user(viewer->user_id, subject))
        return UCD_PERM_PERSONAL;
    return lookup->level(lookup->data, viewer->user_id, subject);
}

/* A leader sees a conversation when one of its participants is in a group
 * the leader leads and the leader has BUSINESS on that participant (the
 * journal's rule). */
static gboolean leader_sees(const stream_lookup *lookup, const stream_viewer *viewer,
                            const stream_event *event)
{
    if (!listed(event->leaders, viewer->user_id))
        return FALSE;
    for (const char *const *p = event->participants; p && *p; p++) {
        if (level_of(lookup, viewer, *p) >= UCD_PERM_BUSINESS)
            return TRUE;
    }
    return FALSE;
}

static stream_view key_view(const stream_event *event)
{
    switch (event->kind) {
    case STREAM_KIND_MODULE:
        return STREAM_VIEW_NONE;
    case STREAM_KIND_CALL:
    case STREAM_KIND_PARTY:
    case STREAM_KIND_CONVERSATION:
        return STREAM_VIEW_REDUCED;
    default:
        return STREAM_VIEW_FULL;
    }
}

stream_view stream_filter_view(const stream_lookup *lookup, const stream_viewer *viewer,
                               const stream_event *event)
{
    if (event->kind == STREAM_KIND_DIRECTORY)
        return STREAM_VIEW_FULL;
    if (viewer->user_id == NULL)
        return key_view(event);

    switch (event->kind) {
    case STREAM_KIND_MODULE:
        return viewer->admin ? STREAM_VIEW_FULL : STREAM_VIEW_NONE;
    case STREAM_KIND_CONVERSATION:
        if (viewer->admin || listed(event->participants, viewer->user_id))
            return STREAM_VIEW_FULL;
        return leader_sees(lookup, viewer, event) ? STREAM_VIEW_REDUCED : STREAM_VIEW_NONE;
    case STREAM_KIND_CALL:
    case STREAM_KIND_PARTY: /* who a user talks to is as much a call's as its number */
        if (same_user(event->user, viewer->user_id))
            return STREAM_VIEW_FULL;
        if (viewer->admin || level_of(lookup, viewer, event->user) >= UCD_PERM_BUSINESS)
            return STREAM_VIEW_REDUCED;
        return STREAM_VIEW_NONE;
    default:
        break;
    }

    if (viewer->admin)
        return STREAM_VIEW_FULL;
    guint level = level_of(lookup, viewer, event->user);
    if (level >= UCD_PERM_BUSINESS)
        return STREAM_VIEW_FULL;
    if (event->kind == STREAM_KIND_PRESENCE && level >= UCD_PERM_PUBLIC)
        return STREAM_VIEW_REDUCED;
    return STREAM_VIEW_NONE;
}
