/*
 * words.c - the words of the SDK's call and line enums (words.h).
 */
#include <glib.h>

#include "words.h"

#define WORD(table, v) ((size_t)(v) < G_N_ELEMENTS(table) ? table[v] : "unknown")

const char *core_call_state_word(uint32_t state)
{
    static const char *const w[] = {"idle",        "dialing",     "ringback",
                                    "offering",    "connected",   "held",
                                    "conferenced", "transferred", "disconnected"};
    return WORD(w, state);
}

const char *core_line_state_word(uint32_t state)
{
    static const char *const w[] = {"unknown", "idle", "ringing",       "dialing",
                                    "busy",    "held", "out_of_service"};
    return WORD(w, state);
}

const char *core_direction_word(uint32_t direction)
{
    static const char *const w[] = {"unknown", "inbound", "outbound", "internal"};
    return WORD(w, direction);
}

const char *core_cause_word(uint32_t cause)
{
    static const char *const w[] = {"none",        "normal",    "busy",      "no_answer",
                                    "rejected",    "failed",    "forwarded", "picked_up",
                                    "transferred", "voicemail", "link_lost", "blocked"};
    return WORD(w, cause);
}

const char *core_forward_reason_word(uint32_t reason)
{
    static const char *const w[] = {NULL, "unconditional", "busy", "no_answer", "deflect"};
    return (size_t)reason < G_N_ELEMENTS(w) ? w[reason] : NULL;
}
