/*
 * pami-parse-test.c - the AMI message and the incremental reader (suite
 * pbx-ami): the real Asterisk 22 captures in data/ read whole, byte by byte
 * and in random pieces must give the same messages; bad input (truncated
 * blocks, lines without a colon, a 1 MB line, a banner that is not AMI, NUL
 * bytes, Latin-1 caller names, 100,000 headers) is counted, never fatal.
 */
#include "ami-parse.h"
#include "ami-script.h"

#include <string.h>

/* What a parser produced: the banner and every message, in order. */
typedef struct collected {
    char *banner;
    GPtrArray *messages; /* of pami_message * (owned) */
} collected;

static void on_banner(const char *line, void *user_data)
{
    collected *c = user_data;
    g_assert_null(c->banner); /* once per stream */
    c->banner = g_strdup(line);
}

static void on_message(pami_message *m, void *user_data)
{
    collected *c = user_data;
    g_assert_cmpuint(pami_message_count(m), >, 0);
    g_ptr_array_add(c->messages, pami_message_ref(m));
}

static collected *collected_new(void)
{
    collected *c = g_new0(collected, 1);
    c->messages = g_ptr_array_new_with_free_func((GDestroyNotify)pami_message_unref);
    return c;
}

static void collected_free(collected *c)
{
    g_free(c->banner);
    g_ptr_array_unref(c->messages);
    g_free(c);
}

static pami_parser *parser_for(collected *c, gboolean banner, gsize max_line, guint max_headers)
{
    pami_parse_callbacks cb = {.banner = on_banner, .message = on_message, .user_data = c};
    return pami_parser_new(&cb, banner, max_line, max_headers);
}

/* All messages in wire form, one after the other: equal strings mean equal
 * messages (names, values, order). */
static char *collected_wire(const collected *c)
{
    GString *out = g_string_new(c->banner != NULL ? c->banner : "(no banner)");
    g_string_append(out, "\n");
    for (guint i = 0; i < c->messages->len; i++) {
        g_autofree char *wire = pami_message_to_wire(g_ptr_array_index(c->messages, i));
        g_string_append(out, wire);
    }
    return g_string_free(out, FALSE);
}

/* Feeds `stream` in pieces: 0 = whole, 1 = byte by byte, otherwise random
 * pieces of 1..split bytes. */
static collected *parse_split(const char *stream, gsize len, gboolean banner, gsize split,
                              pami_parse_stats *stats)
{
    collected *c = collected_new();
    pami_parser *p = parser_for(c, banner, 0, 0);
    gsize at = 0;
    while (at < len) {
        gsize piece = split == 0   ? len - at
                      : split == 1 ? 1
                                   : (gsize)g_test_rand_int_range(1, (gint32)split + 1);
        piece = MIN(piece, len - at);
        pami_parser_feed(p, stream + at, piece);
        at += piece;
    }
    g_assert_false(pami_parser_pending(p));
    if (stats != NULL) {
        *stats = *pami_parser_stats(p);
    }
    pami_parser_free(p);
    return c;
}

static char *data_path(const char *name)
{
    return g_build_filename(AMI_DATA_DIR, name, NULL);
}

static GPtrArray *load_script(const char *name)
{
    g_autofree char *path = data_path(name);
    GError *error = NULL;
    GPtrArray *steps = ami_script_load(path, &error);
    g_assert_no_error(error);
    return steps;
}

/* Replaces every CRLF by LF (a peer using bare LF line ends). */
static char *to_lf(const char *crlf)
{
    GString *out = g_string_new(NULL);
    for (const char *s = crlf; *s != '\0'; s++) {
        if (!(s[0] == '\r' && s[1] == '\n')) {
            g_string_append_c(out, *s);
        }
    }
    return g_string_free(out, FALSE);
}

static void check_capture(const char *name)
{
    g_autoptr(GPtrArray) steps = load_script(name);
    g_autofree char *stream = ami_script_peer_stream(steps);
    gsize len = strlen(stream);
    gboolean banner = ami_script_count(steps, AMI_STEP_BANNER) == 1;
    pami_parse_stats stats;
    collected *whole = parse_split(stream, len, banner, 0, &stats);
    g_assert_cmpuint(whole->messages->len, ==, ami_script_count(steps, AMI_STEP_RECV));
    g_assert_cmpuint(stats.messages, ==, whole->messages->len);
    g_assert_cmpuint(stats.lines_without_colon + stats.lines_cut + stats.headers_dropped +
                         stats.values_converted,
                     ==, 0);
    if (banner) {
        g_assert_cmpstr(whole->banner, ==, "Asterisk Call Manager/11.0.0");
    }
    g_autofree char *expected = collected_wire(whole);
    g_autofree char *lf_stream = to_lf(stream);
    gsize splits[] = {1, 2, 7, 64, 1500};
    for (guint i = 0; i < G_N_ELEMENTS(splits) + 1; i++) {
        gboolean lf = i == G_N_ELEMENTS(splits);
        const char *input = lf ? lf_stream : stream;
        collected *other = parse_split(input, strlen(input), banner, lf ? 0 : splits[i], NULL);
        g_autofree char *got = collected_wire(other);
        g_assert_cmpstr(got, ==, expected);
        collected_free(other);
    }
    collected_free(whole);
}

static void test_captures(void)
{
    check_capture("capture.txt");
    check_capture("capture_filtered.txt");
    check_capture("capture2.txt");
}

/* The client's own blocks parse as actions (the replay peer reads those). */
static void test_sent_blocks_are_actions(void)
{
    g_autoptr(GPtrArray) steps = load_script("capture.txt");
    collected *c = collected_new();
    pami_parser *p = parser_for(c, FALSE, 0, 0);
    for (guint i = 0; i < steps->len; i++) {
        const ami_step *step = g_ptr_array_index(steps, i);
        if (step->kind == AMI_STEP_SENT) {
            pami_parser_feed(p, step->text, strlen(step->text));
        }
    }
    g_assert_cmpuint(c->messages->len, ==, ami_script_count(steps, AMI_STEP_SENT));
    pami_message *login = g_ptr_array_index(c->messages, 0);
    g_assert_cmpint(pami_message_kind(login), ==, PAMI_KIND_ACTION);
    g_assert_cmpstr(pami_message_get(login, "action"), ==, "Login");
    g_assert_cmpstr(pami_message_get(login, "Secret"), ==, "ucdsecret");
    pami_parser_free(p);
    collected_free(c);
}

/* Finds the first message with header `name` equal to `value`. */
static pami_message *find_message(const collected *c, const char *name, const char *value)
{
    for (guint i = 0; i < c->messages->len; i++) {
        pami_message *m = g_ptr_array_index(c->messages, i);
        if (g_strcmp0(pami_message_get(m, name), value) == 0) {
            return m;
        }
    }
    return NULL;
}

static void test_capture_content(void)
{
    g_autoptr(GPtrArray) steps = load_script("capture.txt");
    g_autofree char *stream = ami_script_peer_stream(steps);
    collected *c = parse_split(stream, strlen(stream), TRUE, 0, NULL);
    pami_message *settings = find_message(c, "AsteriskVersion", "22.10.1");
    g_assert_nonnull(settings);
    g_assert_cmpint(pami_message_kind(settings), ==, PAMI_KIND_RESPONSE);
    g_assert_cmpstr(pami_message_get(settings, "SystemName"), ==, "");
    g_assert_null(pami_message_get_known(settings, "SystemName"));
    pami_message *originate = find_message(c, "Event", "OriginateResponse");
    g_assert_nonnull(originate);
    g_assert_cmpstr(pami_message_action_id(originate), ==, "3");
    g_assert_cmpint(pami_message_kind(originate), ==, PAMI_KIND_EVENT);
    pami_message *newchannel = find_message(c, "Event", "Newchannel");
    g_assert_cmpstr(pami_message_get(newchannel, "CallerIDNum"), ==, "<unknown>");
    g_assert_null(pami_message_get_known(newchannel, "CallerIDNum"));
    g_assert_cmpstr(pami_message_get_known(newchannel, "channel"), ==, "Local/200@test-00000000;1");
    pami_message *command = find_message(c, "ActionID", "5");
    g_assert_cmpstr(pami_message_get(command, "Output"), ==, "Changing alice to INUSE");
    collected_free(c);
}

static void test_message_basics(void)
{
    pami_message *m = pami_message_new();
    g_assert_cmpint(pami_message_kind(m), ==, PAMI_KIND_OTHER);
    pami_message_add(m, "Event", "Hangup");
    pami_message_add(m, "Variable", "A=1");
    pami_message_add(m, "Variable", "B=2");
    pami_message_add(m, "CallerIDName", "<none>");
    pami_message_add(m, "ActionID", "42");
    g_assert_cmpint(pami_message_kind(m), ==, PAMI_KIND_EVENT);
    g_assert_cmpstr(pami_message_event(m), ==, "Hangup");
    g_assert_null(pami_message_response(m));
    g_assert_cmpstr(pami_message_action_id(m), ==, "42");
    g_assert_cmpstr(pami_message_get(m, "VARIABLE"), ==, "A=1");
    g_assert_null(pami_message_get_known(m, "CallerIDName"));
    g_assert_cmpuint(pami_message_count(m), ==, 5);
    g_assert_cmpstr(pami_message_name_at(m, 2), ==, "Variable");
    g_assert_cmpstr(pami_message_value_at(m, 2), ==, "B=2");
    g_autofree char *wire = pami_message_to_wire(m);
    g_assert_cmpstr(wire, ==,
                    "Event: Hangup\r\nVariable: A=1\r\nVariable: B=2\r\n"
                    "CallerIDName: <none>\r\nActionID: 42\r\n\r\n");
    g_assert_true(pami_message_ref(m) == m);
    pami_message_unref(m);
    pami_message_unref(m);
    pami_message_unref(NULL);
}

/* A dialled number or caller name with CR/LF must not add a header. */
static void test_wire_injection(void)
{
    pami_message *m = pami_message_new();
    pami_message_add(m, "Action", "Originate");
    pami_message_add(m, "Exten", "100\r\nAction: Hangup\r\n\r\nAction: Logoff");
    pami_message_add(m, "CallerID", "Eve\nChannel: SIP/x");
    g_autofree char *wire = pami_message_to_wire(m);
    g_assert_null(strstr(wire, "\nAction"));
    g_assert_null(strstr(wire, "\nChannel"));
    collected *c = collected_new();
    pami_parser *p = parser_for(c, FALSE, 0, 0);
    pami_parser_feed(p, wire, strlen(wire));
    g_assert_cmpuint(c->messages->len, ==, 1);
    pami_message *back = g_ptr_array_index(c->messages, 0);
    g_assert_cmpuint(pami_message_count(back), ==, 3);
    g_assert_cmpstr(pami_message_get(back, "Exten"), ==, "100  Action: Hangup    Action: Logoff");
    pami_parser_free(p);
    collected_free(c);
    pami_message_unref(m);
}

/* Parses `text` in one piece with a fresh parser. */
static collected *parse_text(const char *text, gsize len, gboolean banner, pami_parse_stats *stats)
{
    collected *c = collected_new();
    pami_parser *p = parser_for(c, banner, 0, 0);
    pami_parser_feed(p, text, len);
    *stats = *pami_parser_stats(p);
    pami_parser_free(p);
    return c;
}

static void test_truncated_block(void)
{
    const char *text = "Asterisk Call Manager/11.0.0\r\nEvent: Newstate\r\nChannel: PJSIP/al";
    collected *c = collected_new();
    pami_parser *p = parser_for(c, TRUE, 0, 0);
    pami_parser_feed(p, text, strlen(text));
    g_assert_cmpstr(c->banner, ==, "Asterisk Call Manager/11.0.0");
    g_assert_true(pami_parser_pending(p));
    g_assert_cmpuint(c->messages->len, ==, 0);
    pami_parser_feed(p, "ice-1\r\n\r", 8);
    g_assert_true(pami_parser_pending(p));
    g_assert_cmpuint(c->messages->len, ==, 0);
    pami_parser_feed(p, "\n", 1);
    g_assert_false(pami_parser_pending(p));
    g_assert_cmpuint(c->messages->len, ==, 1);
    g_assert_cmpstr(pami_message_get(g_ptr_array_index(c->messages, 0), "Channel"), ==,
                    "PJSIP/alice-1");
    pami_parser_free(p); /* freeing with a half message is fine too */
    collected_free(c);
}

static void test_lines_without_colon(void)
{
    const char *text = "Event: Hangup\r\ngarbage here\r\n:no name\r\nCause: 16\r\n\r\n"
                       "just junk\r\n\r\nEvent: Hold\r\n\r\n";
    pami_parse_stats stats;
    collected *c = parse_text(text, strlen(text), FALSE, &stats);
    g_assert_cmpuint(c->messages->len, ==, 2);
    g_assert_cmpuint(stats.lines_without_colon, ==, 3);
    pami_message *hangup = g_ptr_array_index(c->messages, 0);
    g_assert_cmpuint(pami_message_count(hangup), ==, 2);
    g_assert_cmpstr(pami_message_get(hangup, "Cause"), ==, "16");
    g_assert_cmpstr(pami_message_event(g_ptr_array_index(c->messages, 1)), ==, "Hold");
    collected_free(c);
}

/* A 1 MB value is cut at the line limit; the stream goes on. */
static void check_huge_line(const char *unit, gsize max_line)
{
    GString *text = g_string_new("Event: Newcallerid\r\nCallerIDName: ");
    while (text->len < 1024 * 1024) {
        g_string_append(text, unit);
    }
    g_string_append(text, "\r\nUniqueid: 1.2\r\n\r\nEvent: Hold\r\n\r\n");
    collected *c = collected_new();
    pami_parser *p = parser_for(c, FALSE, max_line, 0);
    for (gsize at = 0; at < text->len; at += 4096) {
        pami_parser_feed(p, text->str + at, MIN(4096, text->len - at));
    }
    const pami_parse_stats *stats = pami_parser_stats(p);
    g_assert_cmpuint(stats->lines_cut, ==, 1);
    g_assert_cmpuint(stats->values_converted, ==, 0);
    g_assert_cmpuint(c->messages->len, ==, 2);
    pami_message *m = g_ptr_array_index(c->messages, 0);
    const char *name = pami_message_get(m, "CallerIDName");
    gsize limit = max_line != 0 ? max_line : PAMI_PARSE_MAX_LINE_DEFAULT;
    g_assert_cmpuint(strlen("CallerIDName: ") + strlen(name), <=, limit);
    g_assert_cmpuint(strlen("CallerIDName: ") + strlen(name), >, limit - 4);
    g_assert_true(g_utf8_validate(name, -1, NULL));
    g_assert_cmpstr(pami_message_get(m, "Uniqueid"), ==, "1.2");
    pami_parser_free(p);
    collected_free(c);
    g_string_free(text, TRUE);
}

static void test_huge_line(void)
{
    check_huge_line("x", 0);
    check_huge_line("\xc3\xa9", 1001);     /* e acute: 2 bytes, cut inside one */
    check_huge_line("\xe2\x82\xac", 1000); /* euro sign: 3 bytes */
}

static void test_banner_not_ami(void)
{
    const char *text = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    pami_parse_stats stats;
    collected *c = parse_text(text, strlen(text), TRUE, &stats);
    g_assert_cmpstr(c->banner, ==, "HTTP/1.1 400 Bad Request");
    g_assert_cmpuint(c->messages->len, ==, 1);
    g_assert_cmpint(pami_message_kind(g_ptr_array_index(c->messages, 0)), ==, PAMI_KIND_OTHER);
    collected_free(c);
    /* Binary junk as a banner still comes out as UTF-8. */
    const char junk[] = "\xff\xfe\x00\x01SSH-2.0\r\n";
    c = parse_text(junk, sizeof junk - 1, TRUE, &stats);
    g_assert_true(g_utf8_validate(c->banner, -1, NULL));
    g_assert_cmpuint(stats.values_converted, >, 0);
    collected_free(c);
}

static void test_nul_bytes(void)
{
    const char text[] = "Event: Newchannel\r\nCallerIDName: Al\0ce\r\nExten: 1\0\r\n\r\n";
    pami_parse_stats stats;
    collected *c = parse_text(text, sizeof text - 1, FALSE, &stats);
    g_assert_cmpuint(c->messages->len, ==, 1);
    pami_message *m = g_ptr_array_index(c->messages, 0);
    g_assert_cmpstr(pami_message_get(m, "CallerIDName"), ==, "Al ce");
    g_assert_cmpstr(pami_message_get(m, "Exten"), ==, "1 ");
    g_assert_cmpuint(stats.values_converted, ==, 2);
    collected_free(c);
}

static void test_latin1_caller_name(void)
{
    const char *text = "Event: NewCallerid\r\nCallerIDName: J\xf6rg M\xfcller\r\n"
                       "ConnectedLineName: J\xc3\xb6rg\r\n\r\n";
    pami_parse_stats stats;
    collected *c = parse_text(text, strlen(text), FALSE, &stats);
    pami_message *m = g_ptr_array_index(c->messages, 0);
    g_assert_cmpstr(pami_message_get(m, "CallerIDName"), ==, "J\xc3\xb6rg M\xc3\xbcller");
    g_assert_cmpstr(pami_message_get(m, "ConnectedLineName"), ==, "J\xc3\xb6rg");
    g_assert_cmpuint(stats.values_converted, ==, 1);
    collected_free(c);
}

static void test_many_headers(void)
{
    GString *text = g_string_new("Response: Success\r\nMessage: Command output follows\r\n");
    for (guint i = 0; i < 100000; i++) {
        g_string_append_printf(text, "Output: line %u\r\n", i);
    }
    g_string_append(text, "\r\nEvent: Hold\r\n\r\n");
    pami_parse_stats stats;
    collected *c = parse_text(text->str, text->len, FALSE, &stats);
    g_assert_cmpuint(c->messages->len, ==, 2);
    pami_message *m = g_ptr_array_index(c->messages, 0);
    g_assert_cmpuint(pami_message_count(m), ==, PAMI_PARSE_MAX_HEADERS_DEFAULT);
    g_assert_cmpuint(stats.headers_dropped, ==, 100002 - PAMI_PARSE_MAX_HEADERS_DEFAULT);
    g_assert_cmpstr(pami_message_value_at(m, 2), ==, "line 0");
    collected_free(c);
    /* A smaller limit of our own. */
    collected *small = collected_new();
    pami_parser *p = parser_for(small, FALSE, 0, 10);
    pami_parser_feed(p, text->str, text->len);
    g_assert_cmpuint(pami_message_count(g_ptr_array_index(small->messages, 0)), ==, 10);
    g_assert_cmpuint(pami_parser_stats(p)->headers_dropped, ==, 100002 - 10);
    pami_parser_free(p);
    collected_free(small);
    g_string_free(text, TRUE);
}

/* Asterisk < 14: raw output lines and "--END COMMAND--" become Output: headers. */
static void test_legacy_command(void)
{
    const char *text = "Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\n"
                       "Channel              Location\r\n"
                       "System uptime: 2 hours\r\n"
                       "\r\n"
                       "1 active channel--END COMMAND--\r\n\r\n"
                       "Response: Follows\r\nPrivilege: Command\r\n"
                       "--END COMMAND--\r\n\r\n"
                       "Event: Hold\r\n\r\n";
    for (gsize split = 0; split <= 3; split++) {
        collected *c = parse_split(text, strlen(text), FALSE, split, NULL);
        g_assert_cmpuint(c->messages->len, ==, 3);
        pami_message *m = g_ptr_array_index(c->messages, 0);
        g_assert_cmpstr(pami_message_action_id(m), ==, "7");
        g_assert_cmpstr(pami_message_get(m, "Privilege"), ==, "Command");
        g_assert_cmpuint(pami_message_count(m), ==, 7);
        g_assert_cmpstr(pami_message_name_at(m, 3), ==, "Output");
        g_assert_cmpstr(pami_message_value_at(m, 3), ==, "Channel              Location");
        g_assert_cmpstr(pami_message_value_at(m, 4), ==, "System uptime: 2 hours");
        g_assert_cmpstr(pami_message_value_at(m, 5), ==, "");
        g_assert_cmpstr(pami_message_value_at(m, 6), ==, "1 active channel");
        pami_message *empty = g_ptr_array_index(c->messages, 1);
        g_assert_cmpuint(pami_message_count(empty), ==, 2);
        g_assert_cmpstr(pami_message_event(g_ptr_array_index(c->messages, 2)), ==, "Hold");
        collected_free(c);
    }
}

/* Mixed line ends, blanks around the colon, blank lines between messages. */
static void test_line_ends(void)
{
    const char *text = "\r\n\nEvent: Hangup\nChannel:PJSIP/bob\r\nCause :  16\n"
                       "Cause\rTxt: Normal\rClearing\r\n\r\n\n\r\n";
    pami_parse_stats stats;
    collected *c = parse_text(text, strlen(text), FALSE, &stats);
    g_assert_cmpuint(c->messages->len, ==, 1);
    pami_message *m = g_ptr_array_index(c->messages, 0);
    g_assert_cmpstr(pami_message_get(m, "Channel"), ==, "PJSIP/bob");
    g_assert_cmpstr(pami_message_get(m, "Cause"), ==, "16");
    /* A lone CR is no line end; it becomes a space. */
    g_assert_cmpstr(pami_message_get(m, "Cause Txt"), ==, "Normal Clearing");
    g_assert_cmpuint(stats.values_converted, ==, 0);
    collected_free(c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pami/message/basics", test_message_basics);
    g_test_add_func("/pami/message/wire-injection", test_wire_injection);
    g_test_add_func("/pami/parse/captures", test_captures);
    g_test_add_func("/pami/parse/capture-content", test_capture_content);
    g_test_add_func("/pami/parse/sent-blocks", test_sent_blocks_are_actions);
    g_test_add_func("/pami/parse/truncated", test_truncated_block);
    g_test_add_func("/pami/parse/no-colon", test_lines_without_colon);
    g_test_add_func("/pami/parse/huge-line", test_huge_line);
    g_test_add_func("/pami/parse/banner-not-ami", test_banner_not_ami);
    g_test_add_func("/pami/parse/nul-bytes", test_nul_bytes);
    g_test_add_func("/pami/parse/latin1", test_latin1_caller_name);
    g_test_add_func("/pami/parse/many-headers", test_many_headers);
    g_test_add_func("/pami/parse/legacy-command", test_legacy_command);
    g_test_add_func("/pami/parse/line-ends", test_line_ends);
    return g_test_run();
}
