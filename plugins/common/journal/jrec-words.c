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
 * forward_reason is the word of forward_reason_code, and end_reason the
 * word of end_cause (ucd_call_cause_word: "busy", "rejected", "no_answer",
 * "link_lost" ...), so both enums come back whole from what a store keeps,
 * with one exception. Records stored before the core wrote the cause's word
 * say "normal" for every call not lost with its link, answered or not; for
 * those the cause of an unanswered call is read from the outcome, which the
 * core derived from that same cause (core/model/calls.c): BUSY, NO_ANSWER,
 * FAILED, VOICEMAIL or BLOCKED (a REJECTED call of then comes back BUSY; a
 * FORWARDED, PICKED_UP or TRANSFERRED one NO_ANSWER). A new record cannot be
 * told from such an old one when it says "normal" without an answer (the
 * caller gave up and the PBX named no other cause): it too comes back with
 * its outcome's cause, NO_ANSWER. The exact cause is always in the record
 * handed to store() and in UCD_EVENT_CONVERSATION_ENDED.
 */
#include "jrec.h"

#include <ucd/event.h>

const char *jrec_end_reason_word(uint32_t cause)
{
    return cause == UCD_CAUSE_NONE ? NULL : ucd_call_cause_word(cause);
}

/* The cause behind `outcome` for a row that says only "normal" (see
 * core/model/calls.c, outcome_of and end_cause_of). */
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
    /* The core writes the cause's word; "normal" of an unanswered call (or
     * a word nobody knows) is a row of before, read from its outcome. */
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
 * given, even when they disagree (a plugin's own pair is its business). */
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
