/*
 * stream-replay.c - the numbered events and their ring.
 *
 * The ring is an array indexed by seq modulo its capacity: finding an event
 * by number costs one division, and the invariant "the ring holds every seq
 * from oldest to last, nothing else" makes the bounds the whole state.
 */
#include "stream-replay.h"

stream_event *stream_event_new(stream_kind kind, guint64 seq, gint64 time_ms, GBytes *full,
                               GBytes *reduced)
{
    stream_event *e = g_new0(stream_event, 1);
    e->refs = 1;
    e->kind = kind;
    e->seq = seq;
    e->time_ms = time_ms;
    e->full = full;
    e->reduced = reduced;
    return e;
}

stream_event *stream_event_ref(stream_event *event)
{
    event->refs++;
    return event;
}

void stream_event_unref(stream_event *event)
{
    if (event == NULL || --event->refs > 0)
        return;
    g_bytes_unref(event->full);
    g_bytes_unref(event->reduced);
    g_free(event->participants);
    g_free(event->leaders);
    g_free(event);
}

GBytes *stream_event_bytes(const stream_event *event, stream_view view)
{
    return view == STREAM_VIEW_FULL ? event->full : event->reduced;
}

struct stream_replay {
    stream_event **slots;
    guint capacity;
    guint64 oldest; /* 0 while empty */
    guint64 last;
};

stream_replay *stream_replay_new(guint capacity)
{
    stream_replay *r = g_new0(stream_replay, 1);
    r->capacity = MAX(capacity, 1);
    r->slots = g_new0(stream_event *, r->capacity);
    return r;
}

void stream_replay_free(stream_replay *replay)
{
    if (replay == NULL)
        return;
    for (guint i = 0; i < replay->capacity; i++)
        stream_event_unref(replay->slots[i]);
    g_free(replay->slots);
    g_free(replay);
}

void stream_replay_push(stream_replay *replay, stream_event *event)
{
    g_return_if_fail(replay->oldest == 0 || event->seq == replay->last + 1);
    guint slot = event->seq % replay->capacity;
    if (replay->oldest == 0) {
        replay->oldest = event->seq;
    } else if (replay->last - replay->oldest + 1 == replay->capacity) {
        /* The slot is the oldest event's: it goes. */
        replay->oldest++;
    }
    stream_event_unref(replay->slots[slot]);
    replay->slots[slot] = stream_event_ref(event);
    replay->last = event->seq;
}

stream_event *stream_replay_get(stream_replay *replay, guint64 seq)
{
    if (replay->oldest == 0 || seq < replay->oldest || seq > replay->last)
        return NULL;
    return replay->slots[seq % replay->capacity];
}

guint64 stream_replay_last(stream_replay *replay)
{
    return replay->last;
}

guint64 stream_replay_oldest(stream_replay *replay)
{
    return replay->oldest;
}

guint stream_replay_count(stream_replay *replay)
{
    return replay->oldest ? (guint)(replay->last - replay->oldest + 1) : 0;
}

stream_resume_check stream_replay_check(stream_replay *replay, guint64 after)
{
    if (after > replay->last)
        return STREAM_RESUME_FUTURE;
    if (after == replay->last)
        return STREAM_RESUME_OK;
    return after + 1 >= replay->oldest ? STREAM_RESUME_OK : STREAM_RESUME_TOO_OLD;
}
