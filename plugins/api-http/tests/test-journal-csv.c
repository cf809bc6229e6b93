/*
 * test-journal-csv.c - the journal's CSV cells and rows (routes-journal-csv.h):
 * quoting by RFC 4180, the formula-injection guard, and a record written
 * and read back (csv-read.h, a strict reader) field by field, masked and not.
 */
#include <string.h>

#include <ucd/event.h>

#include "csv-read.h"
#include "routes-journal-csv.h"

static char *cell(const char *text)
{
    GString *s = g_string_new(NULL);
    journal_csv_cell(s, text);
    return g_string_free(s, FALSE);
}

static void check_cell(const char *text, const char *expected)
{
    char *written = cell(text);
    g_assert_cmpstr(written, ==, expected);
    g_free(written);
}

static void test_quoting(void)
{
    check_cell(NULL, "");
    check_cell("", "");
    check_cell("plain", "plain");
    check_cell("a,b", "\"a,b\"");
    check_cell("say \"hi\"", "\"say \"\"hi\"\"\"");
    check_cell("two\nlines", "\"two\nlines\"");
    check_cell("cr\rhere", "\"cr\rhere\"");
    check_cell("\"", "\"\"\"\"");
    check_cell("it's", "it's");
}

/* What a spreadsheet would evaluate starts with a single quote; the rest
 * of the text stays as it was. */
static void test_formula_injection(void)
{
    check_cell("=1+2", "'=1+2");
    check_cell("+4930123456", "'+4930123456");
    check_cell("-2", "'-2");
    check_cell("@SUM(A1:A9)", "'@SUM(A1:A9)");
    check_cell("\t=cmd", "'\t=cmd");
    check_cell("=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
    check_cell("\r=1", "\"'\r=1\"");
    check_cell("a=1", "a=1");
    check_cell("4930", "4930");
}

static const ucd_journal_participant parts[] = {
    {.struct_size = sizeof(ucd_journal_participant),
     .role = UCD_ROLE_CALLEE,
     .user_id = "file:bob",
     .line = "202",
     .joined_ms = 1772352000000,
     .answered_ms = 1772352003000,
     .left_ms = 1772352063000},
    {.struct_size = sizeof(ucd_journal_participant),
     .role = UCD_ROLE_TRANSFER_TARGET,
     .user_id = NULL,
     .line = "209",
     .joined_ms = 1772352050000,
     .left_ms = 1772352063000},
};

static ucd_journal_record sample(void)
{
    ucd_journal_record r = {
        .struct_size = sizeof r,
        .direction = UCD_DIR_INBOUND,
        .outcome = UCD_OUTCOME_ANSWERED,
        .flags = UCD_JOURNAL_FLAG_PRIVATE,
        .uuid = "6f1c0e4e-1d1b-4c55-9a3e-1f6f8f0f0a01",
        .driver_instance = "pbx-sim",
        .start_ms = 1772352000000, /* 2026-03-01T08:00:00Z */
        .answer_ms = 1772352003250,
        .end_ms = 1772352063000,
        .source_number = "+4930123456",
        .source_e164 = "+4930123456",
        .source_name = "=cmd|' /C calc'!A0",
        .requested_number = "202",
        .destination_number = "202",
        .destination_name = "Bob, \"the\" boss",
        .memo = "line one\r\nline two",
        .tags = "sales;urgent",
        .end_reason = "normal",
        .end_cause = UCD_CAUSE_NORMAL,
        .participants = parts,
        .participant_count = G_N_ELEMENTS(parts),
        .participant_size = sizeof(ucd_journal_participant),
    };
    return r;
}

static GPtrArray *write_and_read(const ucd_journal_record *r, gboolean masked)
{
    GString *s = g_string_new(NULL);
    journal_csv_header(s);
    journal_csv_row(s, r, masked);
    const char *why = NULL;
    GPtrArray *rows = csv_read(s->str, s->len, &why);
    if (rows == NULL)
        g_error("not CSV (%s):\n%s", why, s->str);
    g_string_free(s, TRUE);
    g_assert_cmpuint(rows->len, ==, 2);
    return rows;
}

static const char *field(GPtrArray *rows, const char *name)
{
    int c = csv_column(rows, name);
    if (c < 0)
        g_error("no column %s", name);
    return ((char **)rows->pdata[1])[c];
}

static void test_row_read_back(void)
{
    ucd_journal_record r = sample();
    GPtrArray *rows = write_and_read(&r, FALSE);
    g_assert_cmpstr(field(rows, "uuid"), ==, r.uuid);
    g_assert_cmpstr(field(rows, "start"), ==, "2026-03-01T08:00:00.000Z");
    g_assert_cmpstr(field(rows, "start_ms"), ==, "1772352000000");
    g_assert_cmpstr(field(rows, "answer"), ==, "2026-03-01T08:00:03.250Z");
    g_assert_cmpstr(field(rows, "end"), ==, "2026-03-01T08:01:03.000Z");
    g_assert_cmpstr(field(rows, "duration_s"), ==, "63");
    g_assert_cmpstr(field(rows, "direction"), ==, "inbound");
    g_assert_cmpstr(field(rows, "outcome"), ==, "answered");
    g_assert_cmpstr(field(rows, "private"), ==, "true");
    g_assert_cmpstr(field(rows, "source_number"), ==, "'+4930123456");
    g_assert_cmpstr(field(rows, "source_name"), ==, "'=cmd|' /C calc'!A0");
    g_assert_cmpstr(field(rows, "destination_name"), ==, "Bob, \"the\" boss");
    g_assert_cmpstr(field(rows, "memo"), ==, "line one\r\nline two");
    g_assert_cmpstr(field(rows, "tags"), ==, "sales;urgent");
    g_assert_cmpstr(field(rows, "end_cause"), ==, "normal");
    g_assert_cmpstr(field(rows, "participant_users"), ==, "file:bob;");
    g_assert_cmpstr(field(rows, "participant_lines"), ==, "202;209");
    g_assert_cmpstr(field(rows, "destination_e164"), ==, "");
    g_ptr_array_unref(rows);
}

static void test_row_masked(void)
{
    ucd_journal_record r = sample();
    GPtrArray *rows = write_and_read(&r, TRUE);
    g_assert_cmpstr(field(rows, "source_number"), ==, "anonymous");
    g_assert_cmpstr(field(rows, "source_e164"), ==, "");
    g_assert_cmpstr(field(rows, "source_name"), ==, "");
    g_assert_cmpstr(field(rows, "destination_number"), ==, "202");
    /* Nothing of the withheld number anywhere in the row. */
    for (char **c = rows->pdata[1]; *c; c++)
        g_assert_null(strstr(*c, "30123456"));
    g_ptr_array_unref(rows);
}

/* A 1.0 record (no end_cause member) and an unanswered one: the stored
 * end_reason, empty answer time. */
static void test_row_old_record(void)
{
    ucd_journal_record r = sample();
    r.struct_size = G_STRUCT_OFFSET(ucd_journal_record, end_cause);
    r.answer_ms = 0;
    r.outcome = UCD_OUTCOME_NO_ANSWER;
    r.end_reason = "no_answer";
    r.participants = NULL;
    r.participant_count = 0;
    GPtrArray *rows = write_and_read(&r, FALSE);
    g_assert_cmpstr(field(rows, "answer"), ==, "");
    g_assert_cmpstr(field(rows, "outcome"), ==, "no_answer");
    g_assert_cmpstr(field(rows, "end_cause"), ==, "no_answer");
    g_assert_cmpstr(field(rows, "participant_users"), ==, "");
    g_ptr_array_unref(rows);
}

/* The reader itself refuses what is not CSV, so the tests above can fail. */
static void test_reader_is_strict(void)
{
    const char *bad[] = {"a,b\r\n\"c,d\r\n", "a,b\n",        "a\"b\r\n",
                         "\"a\"b\r\n",       "a,b\r\nc\r\n", "a,b"};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        const char *why = NULL;
        g_assert_null(csv_read(bad[i], strlen(bad[i]), &why));
        g_assert_nonnull(why);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/journal-csv/quoting", test_quoting);
    g_test_add_func("/journal-csv/formula-injection", test_formula_injection);
    g_test_add_func("/journal-csv/row-read-back", test_row_read_back);
    g_test_add_func("/journal-csv/row-masked", test_row_masked);
    g_test_add_func("/journal-csv/row-old-record", test_row_old_record);
    g_test_add_func("/journal-csv/reader-is-strict", test_reader_is_strict);
    return g_test_run();
}
