/*
 * line-state.h - the line state every PBX driver derives from its legs
 * (header only: include it, link nothing).
 *
 * When a PBX tells nothing better (a device state), a line's state follows
 * from the calls on it, by one rule all drivers share so presence means the
 * same whichever PBX a user's phone hangs on: a connected call makes the
 * line busy, else a call being set up makes it dialing, else an offered one
 * ringing, else calls on hold make it held, else it is idle.
 *
 *     line_state_tally t = {0};
 *     for each leg: line_state_tally_add(&t, leg->state);
 *     uint32_t state = line_state_of_tally(&t);
 */
#ifndef UCD_PLUGIN_LINE_STATE_H
#define UCD_PLUGIN_LINE_STATE_H

#include <stdint.h>

#include <ucd/event.h>

typedef struct line_state_tally {
    unsigned connected, dialing, offering, held;
} line_state_tally;

/* Counts one leg in ucd_call_state `call_state`. */
static inline void line_state_tally_add(line_state_tally *t, uint32_t call_state)
{
    t->connected += call_state == UCD_CALL_CONNECTED || call_state == UCD_CALL_CONFERENCED;
    t->dialing += call_state == UCD_CALL_DIALING || call_state == UCD_CALL_RINGBACK;
    t->offering += call_state == UCD_CALL_OFFERING;
    t->held += call_state == UCD_CALL_HELD;
}

/* The ucd_line_state of a line with the counted legs. */
static inline uint32_t line_state_of_tally(const line_state_tally *t)
{
    if (t->connected)
        return UCD_LINE_BUSY;
    if (t->dialing)
        return UCD_LINE_DIALING;
    if (t->offering)
        return UCD_LINE_RINGING;
    return t->held ? UCD_LINE_HELD : UCD_LINE_IDLE;
}

#endif /* UCD_PLUGIN_LINE_STATE_H */
