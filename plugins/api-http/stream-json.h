/*
 * stream-json.h - the event stream's words and messages: which bus events
 * the stream carries (its "kinds"), and each event as the JSON text a client
 * receives,
 *   {"seq":N,"kind":"presence","time_ms":T,"data":{...}}
 * in the views the permission check hands out (stream-filter.h): the full
 * one, and a reduced one without what a lesser level may not see. The text
 * is built once per event and view and shared by every client (GBytes).
 * docs/api/events.md lists every kind's fields.
 */
#ifndef STREAM_JSON_H
#define STREAM_JSON_H

#include <glib.h>
#include <ucd/ucd.h>

/* What a client subscribes to; bit positions in a client's kind mask. */
typedef enum stream_kind {
    STREAM_KIND_LINE = 0,
    STREAM_KIND_CALL = 1,
    STREAM_KIND_PRESENCE = 2,
    STREAM_KIND_CONVERSATION = 3,
    STREAM_KIND_DIRECTORY = 4,
    STREAM_KIND_APPOINTMENT = 5,
    STREAM_KIND_MODULE = 6,
    STREAM_KIND_PARTY = 7, /* who a call's remote party is (host 1.6) */
    STREAM_KIND_COUNT_ = 8
} stream_kind;

#define STREAM_KIND_MASK_ALL ((1u << STREAM_KIND_COUNT_) - 1)

/* What a viewer gets of an event. */
typedef enum stream_view {
    STREAM_VIEW_NONE = 0,    /* nothing: the event is not sent */
    STREAM_VIEW_REDUCED = 1, /* without the fields the viewer's level does not allow:
                                a presence's note, until and parts; a private number */
    STREAM_VIEW_FULL = 2,
} stream_view;

/* "line", "call", "presence", "conversation", "directory", "appointment",
 * "module", "party". */
const char *stream_kind_word(stream_kind kind);
/* The kind a word names; -1 for any other word (and NULL). */
int stream_kind_from_word(const char *word);
/* The kind that carries a bus event type; -1 for a type the stream does
 * not carry (user changes: the directory kind has them; custom events). */
int stream_kind_of_event(uint32_t type);

/* The message for `event` (of a type stream_kind_of_event carries) numbered
 * `seq`, in `view` (REDUCED or FULL). For an event where the reduced view
 * hides nothing (a call whose number is not private), the caller may share
 * the full text: stream_json_reduces says so. */
GBytes *stream_json_event(const ucd_event *event, guint64 seq, stream_view view);
/* TRUE when the reduced view of `event` differs from the full one. */
gboolean stream_json_reduces(const ucd_event *event);

/* The number a private remote party shows as to those who may not see it. */
#define STREAM_MASKED_NUMBER "anonymous"

#endif /* STREAM_JSON_H */
