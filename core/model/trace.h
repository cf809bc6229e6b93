/*
 * trace.h - a bounded ring of the most recent line and call events, for
 * `ucctl trace LINE`. A leaf: lines are only identities to it (what to filter
 * on), so it needs no part of the model.
 */
#ifndef CORE_MODEL_TRACE_H
#define CORE_MODEL_TRACE_H

#include <glib.h>
#include <ucd/event.h>

/* How many line and call events `ucctl trace` can look back on. */
#define CORE_TRACE_CAPACITY 10000

typedef struct core_trace core_trace;
typedef struct core_line core_line; /* directory.h; compared by address only */

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

#endif /* CORE_MODEL_TRACE_H */
