/*
 * psip-fuzz.c - the fuzz harness for the dialog-info parser and line state.
 *
 * Each input is parsed; a document that parses is applied to a line twice
 * (once as itself, once as a partial on top), so the line's version checks,
 * call-id picking and sweeps run on whatever the parser accepts. Built into
 * libFuzzer by clang (run-fuzz.sh) and into psip-corpus-driver for any compiler.
 */
#include "sip-line.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    psip_doc *doc = psip_dialoginfo_parse((const char *)data, size, NULL);
    if (doc == NULL) {
        return 0;
    }
    psip_line *line = psip_line_new();
    GPtrArray *changes = psip_line_changes_new();
    psip_line_apply(line, doc, changes);
    doc->state = PSIP_DOC_PARTIAL;
    doc->version++;
    psip_line_apply(line, doc, changes);
    psip_line_end_all(line, changes);
    g_ptr_array_unref(changes);
    psip_line_free(line);
    psip_doc_free(doc);
    return 0;
}
