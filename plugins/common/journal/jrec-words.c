/*
 * jrec-words.c - the words a journal record carries for its enums, and back.
 *
 * Records since journal 1.1 carry end_cause and forward_reason_code beside
 * the words end_reason and forward_reason (journal.h). The SQL stores keep
 * only the words (their columns predate the enums, and a word is what an
 * admin reads in the database), so this is the one place both directions
 * use: the sanitizer fills a missing side from the other, and a store's
 * query() gets the enums back from the stored words.
 *
 * forward_reason is the word of forward_reason_code, so that enum comes back
 * whole. end_reason keeps journal 1.0's two words, "link_lost" and "normal",
 * so end_cause comes back as LINK_LOST or NORMAL: why an unanswered call
 * ended (BUSY, NO_ANSWER ...) is in the record handed to store() and in
 * UCD_EVENT_CONVERSATION_ENDED, not in a store's answer.
 */
#include "jrec.h"

#include <string.h>

#include <ucd/event.h>

/* The event's words for every cause: what a word in end_reason can be read
 * as (the core writes only "normal" and "link_lost"; a store may hold others
 * written by a driver or an older tool). */
static const char *const cause_words[] = {
    [UCD_CAUSE_NONE] = "none",
    [UCD_CAUSE_NORMAL] = "normal",
    [UCD_CAUSE_BUSY] = "busy",
    [UCD_CAUSE_NO_ANSWER] = "no_answer",
    [UCD_CAUSE_REJECTED] = "rejected",
    [UCD_CAUSE_FAILED] = "failed",
    [UCD_CAUSE_FORWARDED] = "forwarded",
    [UCD_CAUSE_PICKED_UP] = "picked_up",
    [UCD_CAUSE_TRANSFERRED] = "transferred",
    [UCD_CAUSE_VOICEMAIL] = "voicemail",
    [UCD_CAUSE_LINK_LOST] = "link_lost",
    [UCD_CAUSE_BLOCKED] = "blocked",
};

/* UCD_FORWARD_REASON_NONE has no word: a record that was not forwarded has
 * forward_reason NULL. */
static const char *const forward_words[] = {
    [UCD_FORWARD_REASON_NONE] = NULL,         [UCD_FORWARD_REASON_UNCONDITIONAL] = "unconditional",
    [UCD_FORWARD_REASON_BUSY] = "busy",       [UCD_FORWARD_REASON_NO_ANSWER] = "no_answer",
    [UCD_FORWARD_REASON_DEFLECT] = "deflect",
};

static uint32_t lookup(const char *const *words, size_t count, const char *word)
{
    for (size_t i = 0; word != NULL && i < count; i++) {
        if (words[i] != NULL && strcmp(words[i], word) == 0)
            return (uint32_t)i;
    }
    return 0;
}

const char *jrec_end_reason_word(uint32_t cause)
{
    if (cause == UCD_CAUSE_NONE)
        return NULL;
    return cause == UCD_CAUSE_LINK_LOST ? "link_lost" : "normal";
}

uint32_t jrec_cause_from_word(const char *word)
{
    return lookup(cause_words, G_N_ELEMENTS(cause_words), word);
}

const char *jrec_forward_reason_word(uint32_t reason)
{
    return reason < G_N_ELEMENTS(forward_words) ? forward_words[reason] : NULL;
}

uint32_t jrec_forward_reason_from_word(const char *word)
{
    return lookup(forward_words, G_N_ELEMENTS(forward_words), word);
}

void jrec_codes_from_words(ucd_journal_record *rec)
{
    rec->end_cause = jrec_cause_from_word(rec->end_reason);
    rec->forward_reason_code = jrec_forward_reason_from_word(rec->forward_reason);
}

/* One enum and its word: a missing side is filled from the other; two that
 * are both set stay as given. */
static void reconcile(uint32_t *code, const char **word, const char *(*word_of)(uint32_t),
                      uint32_t (*code_of)(const char *))
{
    if (*code == 0)
        *code = code_of(*word);
    else if (*word == NULL)
        *word = word_of(*code); /* NULL for a forward reason newer than this build */
}

void jrec_reconcile_codes(ucd_journal_record *rec)
{
    reconcile(&rec->end_cause, &rec->end_reason, jrec_end_reason_word, jrec_cause_from_word);
    reconcile(&rec->forward_reason_code, &rec->forward_reason, jrec_forward_reason_word,
              jrec_forward_reason_from_word);
}
