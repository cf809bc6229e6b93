/*
 * pami-fuzz.c - the fuzz harness for the AMI reader and message.
 *
 * Each input is one stream from a server (banner first). It is read three
 * ways: whole; in pieces whose sizes come from the input's own bytes; and
 * whole again with tiny limits (64-byte lines, 8 headers). The first two
 * must give exactly the same messages (a difference aborts: the reader may
 * not depend on how TCP splits the stream); every message must be valid
 * UTF-8 in every name and value and survive pami_message_to_wire. Built into
 * libFuzzer by clang (run-fuzz.sh) and into pami-corpus for any compiler.
 */
#include "ami-parse.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks a message and appends its wire form to the GString. */
static void check_message(pami_message *m, void *user_data)
{
    GString *out = user_data;
    for (guint i = 0; i < pami_message_count(m); i++) {
        const char *name = pami_message_name_at(m, i);
        const char *value = pami_message_value_at(m, i);
        if (!g_utf8_validate(name, -1, NULL) || !g_utf8_validate(value, -1, NULL) ||
            name[0] == '\0' || strpbrk(name, "\r\n") != NULL || strpbrk(value, "\r\n") != NULL) {
            abort();
        }
        (void)pami_message_get_known(m, name);
    }
    (void)pami_message_kind(m);
    (void)pami_message_event(m);
    (void)pami_message_action_id(m);
    char *wire = pami_message_to_wire(m);
    g_string_append(out, wire);
    g_free(wire);
}

static void check_banner(const char *line, void *user_data)
{
    GString *out = user_data;
    if (!g_utf8_validate(line, -1, NULL)) {
        abort();
    }
    g_string_append_printf(out, "banner %s\n", line);
}

/* Reads the input with `limits` (0 = defaults) in pieces of sizes taken
 * from the input (or whole); returns what came out. */
static GString *read_stream(const uint8_t *data, size_t size, gboolean pieces, gsize max_line,
                            guint max_headers)
{
    GString *out = g_string_new(NULL);
    pami_parse_callbacks cb = {.banner = check_banner, .message = check_message, .user_data = out};
    pami_parser *p = pami_parser_new(&cb, TRUE, max_line, max_headers);
    size_t at = 0;
    while (at < size) {
        size_t piece = pieces ? (size_t)(1 + data[at] % 97) : size;
        piece = piece < size - at ? piece : size - at;
        pami_parser_feed(p, (const char *)data + at, piece);
        at += piece;
    }
    (void)pami_parser_pending(p);
    (void)pami_parser_stats(p);
    pami_parser_free(p);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GString *whole = read_stream(data, size, FALSE, 0, 0);
    GString *split = read_stream(data, size, TRUE, 0, 0);
    if (!g_string_equal(whole, split)) {
        abort();
    }
    g_string_free(read_stream(data, size, FALSE, 64, 8), TRUE);
    g_string_free(whole, TRUE);
    g_string_free(split, TRUE);
    return 0;
}
