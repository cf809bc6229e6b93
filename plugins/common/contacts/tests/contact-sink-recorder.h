/*
 * contact-sink-recorder.h - a contact sink for the tests of contact sources:
 * it records what a source's replicate() hands over, as text a test
 * compares exactly, and can play a store that cancels or refuses.
 */
#ifndef UCD_CONTACT_SINK_RECORDER_H
#define UCD_CONTACT_SINK_RECORDER_H

#include <glib.h>
#include <ucd/contacts.h>

typedef struct contact_sink_recorder {
    /* What the source handed over. A contact is one line:
     * "source_id|display_name|given|surname|company|department|email|address|crm_link|"
     * then its numbers as "kind:raw" joined by ',' (kind: business, mobile,
     * home, fax, other); "-" for a NULL field. */
    GPtrArray *contacts;
    GPtrArray *skipped; /* "where: problem" */
    GArray *progress;   /* guint64 pairs: done, total */
    guint64 checks;     /* calls of cancelled() */
    /* Set by the test. */
    guint64 cancel_after; /* cancelled() is true once this many were added; 0: never */
    guint64 fail_after;   /* add() returns fail_code once this many were added; 0: never */
    int fail_code;
} contact_sink_recorder;

/* The sink's functions; the recorder is the sink_impl. */
extern const ucd_contact_sink contact_sink_recorder_iface;

void contact_sink_recorder_init(contact_sink_recorder *recorder);
void contact_sink_recorder_clear(contact_sink_recorder *recorder);

/* Runs `iface->replicate(impl, ...)` into the recorder, as the store
 * would, and checks the contract: an error message exactly when the result
 * is not UCD_OK. Returns the result; the message (or NULL) goes to
 * `*error` (g_free). */
int contact_sink_recorder_run(contact_sink_recorder *recorder, const ucd_contact_source_v1 *iface,
                              void *impl, char **error);

/* The first line of `lines` that starts with `prefix`, or NULL. */
const char *contact_sink_recorder_find(GPtrArray *lines, const char *prefix);

/* Asserts that `lines` (contacts or skipped) are exactly `expected`
 * (NULL-terminated), in order. */
void contact_sink_recorder_assert_lines(GPtrArray *lines, const char *const *expected);

#endif /* UCD_CONTACT_SINK_RECORDER_H */
