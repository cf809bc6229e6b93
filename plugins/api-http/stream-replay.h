/*
 * stream-replay.h - the stream's events, numbered and kept: each event as
 * every client may receive it (its JSON built once per view, shared by
 * reference), in a ring of the last `replay_window` events from which a
 * reconnecting client gets what it missed.
 *
 * Sequence numbers are the stream's own: 1 for the first event after the
 * module started, one more for each event after it, never reused while the
 * module runs (the epoch, a random id per start, tells one run's numbers
 * from another's). The ring holds a contiguous run of them: the oldest it
 * still has up to the last one pushed.
 */
#ifndef STREAM_REPLAY_H
#define STREAM_REPLAY_H

#include "stream-json.h"

/* One event of the stream. Main loop only (the reference count is not
 * atomic). The strings are interned (g_intern_string): user ids repeat. */
typedef struct stream_event {
    guint refs;
    guint8 kind;       /* stream_kind */
    guint8 is_private; /* a call or conversation with a withheld number */
    guint64 seq;
    gint64 time_ms;
    const char *user;          /* whose it is: presence and appointment user, the line's user
                                  of a line or call event; NULL: nobody's (or not known) */
    const char **participants; /* conversation: participants' user ids, NULL-terminated */
    const char **leaders;      /* conversation: leaders of their groups, NULL-terminated */
    GBytes *full;              /* the message in the full view */
    GBytes *reduced;           /* in the reduced view: the same bytes when nothing is hidden */
} stream_event;

/* A new event with one reference; `full` and `reduced` taken. */
stream_event *stream_event_new(stream_kind kind, guint64 seq, gint64 time_ms, GBytes *full,
                               GBytes *reduced);
stream_event *stream_event_ref(stream_event *event);
void stream_event_unref(stream_event *event);
/* The message for `view` (not NONE); owned by the event. */
GBytes *stream_event_bytes(const stream_event *event, stream_view view);

typedef struct stream_replay stream_replay;

/* A ring of `capacity` events (at least 1). */
stream_replay *stream_replay_new(guint capacity);
void stream_replay_free(stream_replay *replay);
/* Appends `event` (a reference is taken); its seq must be the last one's
 * plus one (the first may start anywhere). The oldest event goes when the
 * ring is full. */
void stream_replay_push(stream_replay *replay, stream_event *event);
/* The event numbered `seq` (owned by the ring), NULL when the ring does not
 * hold it (gone, or not yet). */
stream_event *stream_replay_get(stream_replay *replay, guint64 seq);
/* The seq of the last event pushed, 0 before the first. */
guint64 stream_replay_last(stream_replay *replay);
/* The seq of the oldest event held, 0 while empty. */
guint64 stream_replay_oldest(stream_replay *replay);
guint stream_replay_count(stream_replay *replay);

/* Whether a client that saw everything up to `after` can have the rest
 * from the ring. */
typedef enum stream_resume_check {
    STREAM_RESUME_OK = 0,      /* every event after `after` is held (or there is none) */
    STREAM_RESUME_TOO_OLD = 1, /* some after `after` are gone from the ring */
    STREAM_RESUME_FUTURE = 2,  /* `after` was never sent in this epoch */
} stream_resume_check;
stream_resume_check stream_replay_check(stream_replay *replay, guint64 after);

#endif /* STREAM_REPLAY_H */
