/*
 * jrec-words.c - the words a journal record carries for its enums, and back.
 *
 * Records since journal 1.1 carry end_cause and forward_reason_code beside
 * the words end_reason and forward_reason (journal.h). The SQL stores and
 * the spool keep only the words and the outcome (their columns and format
 * predate the enums, and a word is what an admin reads in the database), so
 * this is the one place both directions use: the sanitizer fills a missing
 * side from the other, and a store's query() and the spool reader get the
 * enums back. The words themselves are event.h's (ucd_call_cause_word ...),
 * the ones the core's trace and ucctl write.
 *
 * forward_reason is the word of forward_reason_code, so that enum comes back
 * whole. end_reason keeps journal 1.0's two words, so end_cause is derived
 * the way the core computes it (core/model/calls.c): LINK_LOST when a leg
 * lost its link, else the cause that decided an unanswered call, else
 * NORMAL; an unanswered call's cause is read from the outcome the core
 * derived from that same cause. Where one outcome stands for several causes
 * the outcome's own cause comes back: BUSY for a REJECTED call (both are
 * outcome BUSY); NO_ANSWER for an unanswered call that ended with NORMAL or
 * no cause (the caller gave up), FORWARDED, PICKED_UP, TRANSFERRED or a
 * cause newer than this build (all outcome NO_ANSWER). The exact cause is in
 * the record handed to store() and in UCD_EVENT_CONVERSATION_ENDED.
 */
#include "jrec.h"

#include <ucd/event.h>

const char *jrec_end_reason_word(uint32_t cause)
{
    if (cause == UCD_CAUSE_NONE)
        return NULL;
    return cause == UCD_CAUSE_LINK_LOST ? "link_lost" : "normal";
}

/* The cause the core gives a call that was not lost with its link and ended
 * with `outcome` (see core/model/calls.c, outcome_of and end_cause_of). */
static uint32_t cause_of_outcome(uint32_t outcome)
{
    switch (outcome) {
    case UCD_OUTCOME_NO_ANSWER:
        return UCD_CAUSE_NO_ANSWER;
    case UCD_OUTCOME_BUSY:
        return UCD_CAUSE_BUSY;
    case UCD_OUTCOME_FAILED:
        return UCD_CAUSE_FAILED;
    case UCD_OUTCOME_VOICEMAIL:
        return UCD_CAUSE_VOICEMAIL;
    case UCD_OUTCOME_BLOCKED:
        return UCD_CAUSE_BLOCKED;
    default: /* answered, or an outcome newer than this build */
        return UCD_CAUSE_NORMAL;
    }
}

uint32_t jrec_end_cause_of(const char *end_reason, uint32_t outcome)
{
    if (end_reason == NULL)
        return UCD_CAUSE_NONE;
    /* "link_lost", or a cause's word that a driver or an older tool wrote
     * (the core writes only "normal" and "link_lost"). */
    int named = ucd_call_cause_from_word(end_reason);
    if (named > UCD_CAUSE_NORMAL)
        return (uint32_t)named;
    return cause_of_outcome(outcome);
}

static uint32_t forward_reason_code_of(const char *word)
{
    int reason = ucd_forward_reason_from_word(word);
    return reason < 0 ? UCD_FORWARD_REASON_NONE : (uint32_t)reason;
}

void jrec_codes_from_words(ucd_journal_record *rec)
{
    rec->end_cause = jrec_end_cause_of(rec->end_reason, rec->outcome);
    rec->forward_reason_code = forward_reason_code_of(rec->forward_reason);
}

/* A missing side is filled from the other; two that are both set stay as
 * given (the core's "normal" beside the BUSY of an unanswered call). */
void jrec_reconcile_codes(ucd_journal_record *rec)
{
    if (rec->end_cause == UCD_CAUSE_NONE)
        rec->end_cause = jrec_end_cause_of(rec->end_reason, rec->outcome);
    else if (rec->end_reason == NULL)
        rec->end_reason = jrec_end_reason_word(rec->end_cause);
    if (rec->forward_reason_code == UCD_FORWARD_REASON_NONE)
        rec->forward_reason_code = forward_reason_code_of(rec->forward_reason);
    else if (rec->forward_reason == NULL)
        /* NULL for a reason newer than this build */
        rec->forward_reason = ucd_forward_reason_word(rec->forward_reason_code);
}
