/*
 * words.h - the words for the SDK's call and line enums, as ucctl, the trace
 * ring and the journal records write them ("connected", "link_lost" ...).
 * A leaf: it knows nothing of the model.
 */
#ifndef CORE_MODEL_WORDS_H
#define CORE_MODEL_WORDS_H

#include <stdint.h>

/* "unknown" for a value this core does not know. */
const char *core_call_state_word(uint32_t state);
const char *core_line_state_word(uint32_t state);
const char *core_direction_word(uint32_t direction);
const char *core_cause_word(uint32_t cause);
/* NULL for UCD_FORWARD_REASON_NONE or a value this core does not know: a
 * record's forward_reason is NULL when the call was not forwarded. */
const char *core_forward_reason_word(uint32_t reason);

#endif /* CORE_MODEL_WORDS_H */
