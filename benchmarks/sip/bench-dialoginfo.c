/*
 * bench-dialoginfo.c - dialog-info documents parsed and applied per second.
 *
 * One line, one thread, the NOTIFY bodies a Kamailio BLF subscription sends
 * for one call (idle dummy, caller Trying, early, confirmed, terminated with
 * the ended dialog lingering beside the dummy), versions counting up, cycled
 * for a fixed number of rounds. Each document is parsed from its text and
 * applied, as the driver will do per NOTIFY; only that is timed (each body is
 * made just before, outside the clock). Prints documents/s.
 */
#include "sip-line.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define ROUNDS 40000

static const char *const dialog_states[] = {NULL, "Trying", "early", "confirmed", "terminated"};

/* The body of step `step` of the call cycle, with version `version`. */
static char *cycle_document(guint64 version, guint step)
{
    const char *dummy = "<dialog id=\"615293b33c62dec073e05d9421e9f48b\" direction=\"recipient\">"
                        "<state>terminated</state></dialog>";
    g_autofree char *dialog =
        dialog_states[step] == NULL
            ? g_strdup(dummy)
            : g_strdup_printf(
                  "%s<dialog id=\"a84b4c76e66710\" call-id=\"a84b4c76e66710@pc33.example.com\" "
                  "local-tag=\"1928301774\" remote-tag=\"456248\" direction=\"initiator\">"
                  "<state>%s</state><local><identity display=\"Alice\">sip:alice@127.0.0.1"
                  "</identity><target uri=\"sip:alice@127.0.0.1:5061;transport=udp\"/></local>"
                  "<remote><identity display=\"Bob\">sip:bob@127.0.0.1</identity>"
                  "<target uri=\"sip:bob@127.0.0.1:5064\"/></remote></dialog>",
                  step == 4 ? dummy : "", dialog_states[step]);
    return g_strdup_printf(
        "<?xml version=\"1.0\"?>\n<dialog-info "
        "xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"%" G_GUINT64_FORMAT
        "\" state=\"full\" entity=\"sip:alice@127.0.0.1\">%s</dialog-info>",
        version, dialog);
}

static gint64 now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(void)
{
    guint steps = G_N_ELEMENTS(dialog_states);
    guint total = ROUNDS * steps;
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    guint64 change_count = 0;
    gint64 busy_ns = 0;
    for (guint i = 0; i < total; i++) {
        /* Each body is made outside the timed part, as a NOTIFY arrives ready. */
        g_autofree char *body = cycle_document(i + 1, i % steps);
        gsize len = strlen(body);
        gint64 start = now_ns();
        psip_doc *doc = psip_dialoginfo_parse(body, len, NULL);
        if (doc == NULL || psip_line_apply(line, doc, changes) != PSIP_LINE_APPLIED) {
            fprintf(stderr, "document %u was not applied\n", i);
            return 1;
        }
        change_count += changes->len;
        g_ptr_array_set_size(changes, 0);
        psip_doc_free(doc);
        busy_ns += now_ns() - start;
    }
    double seconds = busy_ns / 1e9;
    /* Each cycle makes exactly four changes (none -> trying ... -> terminated). */
    if (change_count != (guint64)ROUNDS * 4) {
        fprintf(stderr, "expected %u changes, got %" G_GUINT64_FORMAT "\n", ROUNDS * 4,
                change_count);
        return 1;
    }
    printf("dialog-info documents parsed and applied: %u in %.3f s = %.0f documents/s "
           "(target >= 50000/s)\n",
           total, seconds, total / seconds);
    g_ptr_array_unref(changes);
    psip_line_free(line);
    return 0;
}
