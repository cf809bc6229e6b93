/*
 * jrec-words.c - the words a journal record carries for its enums, and back.
 *
 * Records since journal 1.1 carry end_cause and forward_reason_code beside
 * the words end_reason and forward_reason. The SQL stores keep only the
 * words (their columns predate the enums, and a word is what an admin reads
 * in the database), so this is the one table both directions use: the
 * sanitizer fills a missing side from the other, and a store's query() gets
 * the enums back from the stored words. The words are the core's
 * (core/model/words.c), which the README of each journal store lists.
 */
#include "jrec.h"

#include <string.h>

#include <ucd/event.h>

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

const char *jrec_cause_word(uint32_t cause)
{
    return cause < G_N_ELEMENTS(cause_words) ? cause_words[cause] : NULL;
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
 * disagree are both kept (the core writes end_reason "normal" for every
 * conversation not lost with its link, and end_cause says why an unanswered
 * one ended). */
static void reconcile(uint32_t *code, const char **word, const char *(*word_of)(uint32_t),
                      uint32_t (*code_of)(const char *))
{
    if (*code == 0)
        *code = code_of(*word);
    else if (*word == NULL)
        *word = word_of(*code); /* NULL for a value newer than this build */
}

void jrec_reconcile_codes(ucd_journal_record *rec)
{
    reconcile(&rec->end_cause, &rec->end_reason, jrec_cause_word, jrec_cause_from_word);
    reconcile(&rec->forward_reason_code, &rec->forward_reason, jrec_forward_reason_word,
              jrec_forward_reason_from_word);
}
