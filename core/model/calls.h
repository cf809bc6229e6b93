/*
 * calls.h - the calls part of the model: legs (one call on one line, as a PBX
 * driver reports it) grouped into conversations, and the journal record of
 * each finished one. Reads the directory (whose line, whose number) and
 * identifies remote parties (party.h); tells
 * presence through m->user_lines_changed; includes no later part.
 */
#ifndef CORE_MODEL_CALLS_H
#define CORE_MODEL_CALLS_H

#include "directory.h"
#include "party.h"

void core_calls_init(core_model *m);
/* Frees every conversation still open (and its legs), without records: the
 * model ends them first (core_model_stop). Before the drivers go. */
void core_calls_free(core_model *m);
void core_calls_on_event(core_model *m, const ucd_call_state_event *ev, int64_t time_ms);
/* Ends every live leg of `driver` with cause LINK_LOST at `time_ms`. */
void core_calls_link_lost(core_model *m, core_driver *driver, int64_t time_ms);

/* A live leg, for listings and call control. */
typedef struct core_leg_view {
    const core_line *line;
    const char *call_id;
    const char *conversation_id;
    const char *uuid;
    uint32_t state, direction;
    const char *remote_number;
    const char *remote_name;
    const core_party *party; /* who remote_number is (members NULL: unknown) */
    int64_t since_ms;        /* when the leg reached its current state */
    uint32_t flags;          /* UCD_CALL_FLAG_* */
} core_leg_view;
/* Calls `cb` for every live leg, in no particular order. */
void core_calls_foreach_leg(core_model *m, void (*cb)(const core_leg_view *leg, void *ud),
                            void *ud);
/* Calls `cb` with the record of every open conversation (end_ms and
 * end_cause 0) that `user` (NULL: anybody) has a line in, by start time;
 * non-zero stops. */
void core_calls_foreach_open(core_model *m, const core_user *user,
                             int (*cb)(const ucd_journal_record *record, void *ud), void *ud);

#endif /* CORE_MODEL_CALLS_H */
