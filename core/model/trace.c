/*
 * trace.c - a bounded ring of the most recent line and call events, for
 * `ucctl trace LINE` (the live event stream of one line that admins use to
 * debug a CTI link).
 *
 * Recording is on the event path of every call, so it stores the raw fields
 * into a preallocated slot (no allocation, no formatting); the one-line text
 * is written only when somebody asks. Strings longer than a slot's field are
 * cut: the trace is for reading, the journal is the record. The oldest entry
 * is overwritten when the ring is full; seq numbers keep growing, so a client
 * polling with --after SEQ sees a gap rather than duplicates.
 */
#include <string.h>

#include <ucd/event.h>

#include "trace.h"

enum { TRACE_CALL, TRACE_LINE, TRACE_NOTE };

typedef struct trace_entry {
    uint64_t seq; /* 0 = empty slot */
    int64_t time_ms;
    const core_line *line;
    uint8_t kind;
    uint8_t state, prev_state, direction, cause, forward_reason;
    uint8_t dnd, is_private;
    char call_id[40];
    char conv_id[40];
    char remote[32];
    char extra[48]; /* related line, forward destination, or a note */
} trace_entry;

struct core_trace {
    trace_entry *ring;
    guint capacity;
    guint next; /* slot the next entry goes to */
    uint64_t seq;
};

core_trace *core_trace_new(guint capacity)
{
    core_trace *t = g_new0(core_trace, 1);
    t->capacity = capacity ? capacity : 1;
    t->ring = g_new0(trace_entry, t->capacity);
    return t;
}

void core_trace_free(core_trace *t)
{
    if (!t)
        return;
    g_free(t->ring);
    g_free(t);
}

static trace_entry *slot(core_trace *t, const core_line *line, int kind, int64_t time_ms)
{
    trace_entry *e = &t->ring[t->next];
    t->next = (t->next + 1) % t->capacity;
    e->seq = ++t->seq;
    e->time_ms = time_ms;
    e->line = line;
    e->kind = (uint8_t)kind;
    return e;
}

static void copy(char *dst, size_t size, const char *src)
{
    g_strlcpy(dst, src ? src : "", size);
}

void core_trace_call(core_trace *t, const core_line *line, const ucd_call_state_event *ev,
                     int64_t time_ms)
{
    trace_entry *e = slot(t, line, TRACE_CALL, time_ms);
    e->state = (uint8_t)ev->state;
    e->prev_state = (uint8_t)ev->prev_state;
    e->direction = (uint8_t)ev->direction;
    e->cause = (uint8_t)ev->cause;
    e->forward_reason = (uint8_t)ev->forward_reason;
    e->is_private = (ev->flags & UCD_CALL_FLAG_PRIVATE) != 0;
    copy(e->call_id, sizeof e->call_id, ev->call_id);
    copy(e->conv_id, sizeof e->conv_id, ev->conversation_id);
    copy(e->remote, sizeof e->remote, ev->remote_number);
    copy(e->extra, sizeof e->extra, ev->related_line);
}

void core_trace_line(core_trace *t, const core_line *line, const ucd_line_state_event *ev,
                     int64_t time_ms)
{
    trace_entry *e = slot(t, line, TRACE_LINE, time_ms);
    e->state = (uint8_t)ev->state;
    e->dnd = ev->dnd != 0;
    copy(e->extra, sizeof e->extra, ev->forward_to);
}

void core_trace_note(core_trace *t, const core_line *line, const char *text, int64_t time_ms)
{
    trace_entry *e = slot(t, line, TRACE_NOTE, time_ms);
    copy(e->extra, sizeof e->extra, text);
}

static void describe_call(GString *s, const trace_entry *e)
{
    g_string_printf(s, "call %s %s (was %s) %s", e->call_id, ucd_call_state_word(e->state),
                    ucd_call_state_word(e->prev_state), ucd_call_direction_word(e->direction));
    if (e->remote[0])
        g_string_append_printf(s, " remote %s", e->remote);
    if (e->is_private)
        g_string_append(s, " private");
    if (e->conv_id[0] && strcmp(e->conv_id, e->call_id) != 0)
        g_string_append_printf(s, " conversation %s", e->conv_id);
    if (e->cause != UCD_CAUSE_NONE)
        g_string_append_printf(s, " cause %s", ucd_call_cause_word(e->cause));
    if (ucd_forward_reason_word(e->forward_reason))
        g_string_append_printf(s, " reason %s", ucd_forward_reason_word(e->forward_reason));
    if (e->extra[0])
        g_string_append_printf(s, " related %s", e->extra);
}

static void describe(GString *s, const trace_entry *e)
{
    switch (e->kind) {
    case TRACE_CALL:
        describe_call(s, e);
        break;
    case TRACE_LINE:
        g_string_printf(s, "line %s", ucd_line_state_word(e->state));
        if (e->dnd)
            g_string_append(s, " dnd");
        if (e->extra[0])
            g_string_append_printf(s, " forward %s", e->extra);
        break;
    default:
        g_string_assign(s, e->extra);
        break;
    }
}

static gboolean matches(const trace_entry *e, const core_line *line, uint64_t after)
{
    return e->seq != 0 && e->seq > after && e->line == line;
}

uint64_t core_trace_query(core_trace *t, const core_line *line, uint64_t after, guint limit,
                          gboolean newest,
                          void (*cb)(uint64_t seq, int64_t time_ms, const char *text, void *ud),
                          void *ud)
{
    /* t->next is the oldest slot once the ring has wrapped. */
    guint skip = 0;
    if (newest && limit) {
        guint total = 0;
        for (guint i = 0; i < t->capacity; i++)
            total += matches(&t->ring[i], line, after);
        skip = total > limit ? total - limit : 0;
    }
    GString *text = g_string_new(NULL);
    guint sent = 0;
    for (guint i = 0; i < t->capacity && (limit == 0 || sent < limit); i++) {
        const trace_entry *e = &t->ring[(t->next + i) % t->capacity];
        if (!matches(e, line, after))
            continue;
        if (skip) {
            skip--;
            continue;
        }
        describe(text, e);
        cb(e->seq, e->time_ms, text->str, ud);
        sent++;
    }
    g_string_free(text, TRUE);
    return t->seq;
}
