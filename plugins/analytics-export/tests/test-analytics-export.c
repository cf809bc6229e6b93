/*
 * test-analytics-export.c - the analytics-export plugin and its report code.
 *
 * The KPIs are checked against a fixture of calls on Tuesday 2024-03-05 in
 * Europe/Berlin whose expected numbers are worked out by hand below (never by
 * the code under test); each export format is parsed back with its own parser;
 * the HTML page is rendered in headless Chromium; cron schedules and periods
 * are driven with fixed dates (DST included); the plugin runs in the fake
 * host with a fake journal and directory, then with the real journal-sqlite
 * plugin as its journal: the command with its deferred reply, a scheduled run
 * fired by hand, the catch-up of a missed run and bad configurations.
 *
 * argv[1]: analytics-export.so; argv[2]: journal-sqlite.so.
 */
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "export-schedule.h"
#include "fake-host.h"
#include "report-kpis.h"
#include "report-writers.h"

static const char *plugin_path, *journal_path;
static GTimeZone *berlin;

/* ---- the fixture ------------------------------------------------------------------------- */

/* 2024-03-05 00:00 in Berlin (UTC+1) is 2024-03-04 23:00 UTC. */
#define DAY_MS     INT64_C(1709593200000)
#define T(h, m, s) (DAY_MS + ((int64_t)(h)*3600 + (m)*60 + (s)) * 1000)
#define PREV(h)    (T(h, 0, 0) - INT64_C(86400000))

enum {
    CALLER = UCD_ROLE_CALLER,
    CALLEE = UCD_ROLE_CALLEE,
    XFER = UCD_ROLE_TRANSFER_TARGET,
    PICKUP = UCD_ROLE_PICKUP,
    FWD = UCD_ROLE_FORWARD_TARGET
};
enum { IN = UCD_DIR_INBOUND, OUT = UCD_DIR_OUTBOUND, INT = UCD_DIR_INTERNAL };

#define P(role, user, line, joined, answered, left)                                                \
    {                                                                                              \
        sizeof(ucd_journal_participant), role, user, line, joined, answered, left                  \
    }

static const ucd_journal_participant p1[] = {
    P(CALLEE, "alice", "201", T(9, 0, 0), T(9, 0, 10), T(9, 5, 10))};
static const ucd_journal_participant p2[] = {
    P(CALLEE, "bob", "202", T(9, 10, 0), 0, T(9, 10, 30)),
    P(PICKUP, "carol", "203", T(9, 10, 30), T(9, 10, 30), T(9, 12, 30))};
static const ucd_journal_participant p3[] = {
    P(CALLEE, "alice", "201", T(10, 0, 0), 0, T(10, 0, 40)),
    P(CALLEE, "bob", "202", T(10, 0, 0), 0, T(10, 0, 40))};
static const ucd_journal_participant p4[] = {
    P(CALLEE, "alice", "201", T(11, 0, 0), T(11, 0, 5), T(11, 1, 5)),
    P(XFER, "bob", "202", T(11, 1, 5), T(11, 1, 15), T(11, 3, 15))};
static const ucd_journal_participant p5[] = {
    P(CALLER, "bob", "202", T(12, 0, 0), 0, T(12, 10, 20))};
static const ucd_journal_participant p6[] = {
    P(CALLER, "alice", "201", T(13, 0, 0), 0, T(13, 0, 5))};
static const ucd_journal_participant p7[] = {
    P(CALLER, "carol", NULL, T(13, 30, 0), 0, T(13, 30, 1))};
static const ucd_journal_participant p8[] = {
    P(CALLEE, "alice", "201", T(14, 0, 0), 0, T(14, 0, 15)),
    P(FWD, "carol", "203", T(14, 0, 15), T(14, 0, 45), T(14, 2, 45))};
static const ucd_journal_participant p9[] = {
    P(CALLER, "alice", "201", T(15, 0, 0), T(15, 0, 3), T(15, 1, 3)),
    P(CALLEE, "carol", "203", T(15, 0, 0), T(15, 0, 3), T(15, 1, 3))};
static const ucd_journal_participant p10[] = {
    P(CALLEE, "carol", "203", T(16, 0, 0), T(16, 0, 8), T(16, 1, 30)),
    P(XFER, "alice", "201", T(16, 1, 0), T(16, 1, 10), T(16, 4, 30))};
static const ucd_journal_participant p11[] = {
    P(CALLEE, "bob", "202", T(17, 0, 0), 0, T(17, 0, 20))};
static const ucd_journal_participant p12[] = {
    P(CALLEE, "alice", "201", T(23, 50, 0), T(23, 50, 10), T(24, 20, 10))};

#define R(id_, dir_, outcome_, start_, answer_, end_, parts_, tags_)                               \
    {                                                                                              \
        .struct_size = sizeof(ucd_journal_record), .direction = dir_, .outcome = outcome_,         \
        .uuid = id_, .driver_instance = "pbx-sim", .start_ms = start_, .answer_ms = answer_,       \
        .end_ms = end_, .source_number = "+4930123", .tags = tags_, .participants = parts_,        \
        .participant_count = G_N_ELEMENTS(parts_),                                                 \
        .participant_size = sizeof(ucd_journal_participant)                                        \
    }
#define R0(id_, dir_, outcome_, start_, answer_, end_)                                             \
    {                                                                                              \
        .struct_size = sizeof(ucd_journal_record), .direction = dir_, .outcome = outcome_,         \
        .uuid = id_, .start_ms = start_, .answer_ms = answer_, .end_ms = end_                      \
    }

/* C1 answered at once; C2 rang bob, carol picked it up; C3 rang alice and bob,
 * nobody answered; C4 alice answered, blind transfer to bob; C5 bob called
 * out; C6 alice called out, busy; C7 carol called out, failed (no line); C8
 * alice did not answer, forwarded to carol, private caller; C9 internal alice
 * to carol; C10 carol answered, consulted alice, transferred; C11 voicemail
 * took it; C12 runs past midnight; C13-C15 are absurd; P1/P2 are the previous
 * day; N1 is the next day (outside). */
static ucd_journal_record fixture[] = {
    R("c1", IN, UCD_OUTCOME_ANSWERED, T(9, 0, 0), T(9, 0, 10), T(9, 5, 10), p1, "sales;promo"),
    R("c2", IN, UCD_OUTCOME_ANSWERED, T(9, 10, 0), T(9, 10, 30), T(9, 12, 30), p2,
      " sales ; sales"),
    R("c3", IN, UCD_OUTCOME_NO_ANSWER, T(10, 0, 0), 0, T(10, 0, 40), p3, NULL),
    R("c4", IN, UCD_OUTCOME_ANSWERED, T(11, 0, 0), T(11, 0, 5), T(11, 3, 15), p4, "support"),
    R("c5", OUT, UCD_OUTCOME_ANSWERED, T(12, 0, 0), T(12, 0, 20), T(12, 10, 20), p5, NULL),
    R("c6", OUT, UCD_OUTCOME_BUSY, T(13, 0, 0), 0, T(13, 0, 5), p6, NULL),
    R("c7", OUT, UCD_OUTCOME_FAILED, T(13, 30, 0), 0, T(13, 30, 1), p7, NULL),
    R("c8", IN, UCD_OUTCOME_ANSWERED, T(14, 0, 0), T(14, 0, 45), T(14, 2, 45), p8, NULL),
    R("c9", INT, UCD_OUTCOME_ANSWERED, T(15, 0, 0), T(15, 0, 3), T(15, 1, 3), p9, NULL),
    R("c10", IN, UCD_OUTCOME_ANSWERED, T(16, 0, 0), T(16, 0, 8), T(16, 4, 30), p10, ""),
    R("c11", IN, UCD_OUTCOME_VOICEMAIL, T(17, 0, 0), T(17, 0, 20), T(17, 1, 0), p11, NULL),
    R("c12", IN, UCD_OUTCOME_ANSWERED, T(23, 50, 0), T(23, 50, 10), T(24, 20, 10), p12, NULL),
    R0("c13", IN, UCD_OUTCOME_ANSWERED, T(18, 0, 0), 0, T(17, 59, 0)),
    R0("c14", IN, 42, T(18, 0, 0), 0, T(18, 1, 0)),
    R0("c15", OUT, UCD_OUTCOME_ANSWERED, T(19, 0, 0), T(19, 5, 0), T(19, 1, 0)),
    R0("p1", IN, UCD_OUTCOME_ANSWERED, PREV(10), PREV(10) + 5000, PREV(10) + 105000),
    R0("p2", IN, UCD_OUTCOME_NO_ANSWER, PREV(11), 0, PREV(11) + 30000),
    R0("n1", IN, UCD_OUTCOME_ANSWERED, T(34, 0, 0), T(34, 0, 1), T(34, 1, 0)),
};

/* Carol's name needs escaping in every format. */
#define CAROL_NAME "Carol \"CJ\" O\\Neil, <ops>"

static ax_directory *fixture_directory(void)
{
    static const char *const sales[] = {"sales", NULL}, *const support[] = {"support", NULL};
    ax_directory *d = ax_directory_new();
    ax_directory_add_group(d, "sales", "Sales team");
    ax_directory_add_group(d, "support", "Support");
    ax_directory_add_user(d, "alice", "Alice Smith", sales);
    ax_directory_add_user(d, "bob", "Bob Jones", sales);
    ax_directory_add_user(d, "carol", CAROL_NAME, support);
    return d;
}

/* The report of 2024-03-05 with every fixture record offered to both periods,
 * as a journal queried with [from, to) would not: the report must sort them. */
static ax_report *fixture_report(const ax_directory *directory)
{
    ax_report *r = ax_report_new(T(0, 0, 0), T(24, 0, 0), berlin, 20, directory);
    g_assert_nonnull(r);
    for (size_t i = 0; i < G_N_ELEMENTS(fixture); i++) {
        const ucd_journal_record *rec = &fixture[i];
        if (rec->start_ms >= T(0, 0, 0))
            ax_report_add(r, rec);
        else
            ax_report_add_previous(r, rec);
    }
    return r;
}

static const ax_row *find_row(ax_report *r, ax_dimension d, const char *key)
{
    GPtrArray *rows = ax_report_rows(r, d);
    for (guint i = 0; i < rows->len; i++) {
        const ax_row *row = g_ptr_array_index(rows, i);
        if (strcmp(row->key, key) == 0)
            return row;
    }
    g_error("no %s row %s", ax_dimension_name(d), key);
}

#define assert_kpi(k, calls_, answered_, missed_, inbound_, in_sl_, busy_, failed_, wait_s, max_s, \
                   talk_s)                                                                         \
    do {                                                                                           \
        g_assert_cmpuint((k)->calls, ==, calls_);                                                  \
        g_assert_cmpuint((k)->answered, ==, answered_);                                            \
        g_assert_cmpuint((k)->missed, ==, missed_);                                                \
        g_assert_cmpuint((k)->inbound, ==, inbound_);                                              \
        g_assert_cmpuint((k)->inbound_in_sl, ==, in_sl_);                                          \
        g_assert_cmpuint((k)->busy, ==, busy_);                                                    \
        g_assert_cmpuint((k)->failed, ==, failed_);                                                \
        g_assert_cmpint((k)->wait_sum_ms, ==, (int64_t)(wait_s)*1000);                             \
        g_assert_cmpint((k)->wait_max_ms, ==, (int64_t)(max_s)*1000);                              \
        g_assert_cmpint((k)->talk_sum_ms, ==, (int64_t)(talk_s)*1000);                             \
    } while (0)

static void test_kpis(void)
{
    ax_directory *d = fixture_directory();
    ax_report *r = fixture_report(d);
    /* Totals, C1-C12 (C13-C15 left out, N1 outside):
     * answered = C1 C2 C4 C5 C8 C9 C10 C12 = 8 (C11 is voicemail: nobody talked);
     * inbound = C1 C2 C3 C4 C8 C10 C11 C12 = 8; missed = C3 C11 = 2;
     * within 20 s: C1 10 s, C4 5, C10 8, C12 10 = 4 (C2 30 s, C8 45 s are not);
     * wait = 10+30+5+20+45+3+8+10 = 131 s, max 45;
     * talk = 300+120+190+600+120+60+262+1800 = 3452 s; busy C6, failed C7. */
    assert_kpi(ax_report_total(r), 12, 8, 2, 8, 4, 1, 1, 131, 45, 3452);
    g_assert_cmpfloat_with_epsilon(ax_kpi_service_level(ax_report_total(r)), 0.5, 1e-9);
    g_assert_cmpfloat_with_epsilon(ax_kpi_wait_avg_s(ax_report_total(r)), 16.375, 1e-9);
    g_assert_cmpfloat_with_epsilon(ax_kpi_talk_avg_s(ax_report_total(r)), 431.5, 1e-9);
    /* Previous day: P1 answered after 5 s, talked 100 s; P2 missed. */
    assert_kpi(ax_report_previous(r), 2, 1, 1, 2, 1, 0, 0, 5, 5, 100);

    /* alice: C1 (10 s, 300 s), C3 missed, C4 (5 s, 60 s until her transfer),
     * C6 busy, C8 rang but carol took it (not missed), C9 caller (3 s, 60 s),
     * C10 consulted (10 s, 200 s), C12 (10 s, 1800 s). Inbound: C1 C3 C4 C8
     * C10 C12 = 6, within 20 s: C1 C4 C10 C12 = 4. */
    assert_kpi(&find_row(r, AX_DIM_USER, "alice")->kpi, 8, 5, 1, 6, 4, 1, 0, 38, 10, 2420);
    /* bob: C2 rang (picked up by carol: not missed), C3 missed, C4 transfer
     * target (10 s, 120 s), C5 caller (20 s of ringback, 600 s), C11 missed. */
    assert_kpi(&find_row(r, AX_DIM_USER, "bob")->kpi, 5, 2, 2, 4, 1, 0, 0, 30, 20, 720);
    /* carol: C2 pickup (0 s, 120 s), C7 failed, C8 forward target (30 s from
     * her first ring, 120 s), C9 (3 s, 60 s), C10 (8 s, 82 s until transfer). */
    assert_kpi(&find_row(r, AX_DIM_USER, "carol")->kpi, 5, 4, 0, 3, 2, 0, 1, 41, 30, 382);
    g_assert_cmpstr(find_row(r, AX_DIM_USER, "carol")->name, ==, CAROL_NAME);
    /* Sales (alice, bob): every conversation but C7 = 11, counted once each;
     * answered by one of them: C1 C4 (alice first: 5 s, 60+120 s) C5 C9 C10
     * C12 = 6; missed C3 (once, though both rang) and C11. Wait 10+5+20+3+10+10
     * = 58 s, talk 300+180+600+60+200+1800 = 3140 s. */
    assert_kpi(&find_row(r, AX_DIM_GROUP, "sales")->kpi, 11, 6, 2, 8, 4, 1, 0, 58, 20, 3140);
    g_assert_cmpstr(find_row(r, AX_DIM_GROUP, "sales")->name, ==, "Sales team");
    /* Line 203 is carol's but for C7, which has no line. */
    assert_kpi(&find_row(r, AX_DIM_LINE, "203")->kpi, 4, 4, 0, 3, 2, 0, 0, 41, 30, 382);
    /* Directions: outbound C5 C6 C7; internal C9. */
    assert_kpi(&find_row(r, AX_DIM_DIRECTION, "outbound")->kpi, 3, 1, 0, 0, 0, 1, 1, 20, 20, 600);
    assert_kpi(&find_row(r, AX_DIM_DIRECTION, "internal")->kpi, 1, 1, 0, 0, 0, 0, 0, 3, 3, 60);
    g_assert_cmpuint(find_row(r, AX_DIM_DIRECTION, "inbound")->kpi.calls, ==, 8);
    /* Tags: sales on C1 and C2 (C2's repeated, spaced tag counts once). */
    g_assert_cmpuint(find_row(r, AX_DIM_TAG, "sales")->kpi.calls, ==, 2);
    g_assert_cmpuint(find_row(r, AX_DIM_TAG, "promo")->kpi.calls, ==, 1);
    g_assert_cmpuint(find_row(r, AX_DIM_TAG, "support")->kpi.calls, ==, 1);
    g_assert_cmpuint(ax_report_rows(r, AX_DIM_TAG)->len, ==, 3);
    /* Time: 24 local hours, one day, ISO week 10, March; 09h has C1 and C2. */
    g_assert_cmpuint(ax_report_rows(r, AX_DIM_HOUR)->len, ==, 24);
    g_assert_cmpuint(find_row(r, AX_DIM_HOUR, "2024-03-05T09")->kpi.calls, ==, 2);
    g_assert_cmpuint(find_row(r, AX_DIM_DAY, "2024-03-05")->kpi.calls, ==, 12);
    g_assert_cmpuint(find_row(r, AX_DIM_WEEK, "2024-W10")->kpi.calls, ==, 12);
    g_assert_cmpuint(find_row(r, AX_DIM_MONTH, "2024-03")->kpi.calls, ==, 12);
    /* Heat map: Tuesday (1) 09h C1 C2, 13h C6 C7, 23h C12, Monday nothing. */
    g_assert_cmpuint(ax_report_heat(r, 1, 9), ==, 2);
    g_assert_cmpuint(ax_report_heat(r, 1, 13), ==, 2);
    g_assert_cmpuint(ax_report_heat(r, 1, 23), ==, 1);
    g_assert_cmpuint(ax_report_heat(r, 0, 9), ==, 0);
    /* C13 ends before it starts, C14 has outcome 42, C15 answered after its
     * end; N1 is outside the period. */
    g_assert_cmpuint(ax_report_skipped(r, AX_SKIP_END_BEFORE_START), ==, 1);
    g_assert_cmpuint(ax_report_skipped(r, AX_SKIP_UNKNOWN_OUTCOME), ==, 1);
    g_assert_cmpuint(ax_report_skipped(r, AX_SKIP_ANSWER_OUTSIDE_CALL), ==, 1);
    g_assert_cmpuint(ax_report_skipped(r, AX_SKIP_OUTSIDE_PERIOD), ==, 1);
    ax_report_free(r);
    ax_directory_free(d);
}

/* Without a directory: rows by user id, no groups. */
static void test_without_users(void)
{
    ax_report *r = fixture_report(NULL);
    g_assert_cmpstr(find_row(r, AX_DIM_USER, "carol")->name, ==, "carol");
    g_assert_cmpuint(ax_report_rows(r, AX_DIM_GROUP)->len, ==, 0);
    ax_report_free(r);
}

/* A record with NULL strings everywhere, no participants, a participant
 * array with a NULL user and line, a huge participant count with no array. */
static void test_null_strings(void)
{
    ax_report *r = ax_report_new(T(0, 0, 0), T(24, 0, 0), berlin, 20, NULL);
    ucd_journal_participant anon[] = {P(CALLEE, NULL, NULL, T(8, 0, 0), T(8, 0, 1), T(8, 1, 0))};
    ucd_journal_record a = R0(NULL, IN, UCD_OUTCOME_ANSWERED, T(8, 0, 0), T(8, 0, 1), T(8, 1, 0));
    ucd_journal_record b = a;
    b.participants = anon;
    b.participant_count = 1;
    ucd_journal_record c = a;
    c.participant_count = 1000;
    c.direction = 9;
    g_assert_true(ax_report_add(r, &a));
    g_assert_true(ax_report_add(r, &b));
    g_assert_false(ax_report_add(r, &c));
    g_assert_cmpuint(ax_report_total(r)->calls, ==, 2);
    g_assert_cmpuint(ax_report_rows(r, AX_DIM_USER)->len, ==, 0);
    g_assert_cmpuint(ax_report_skipped(r, AX_SKIP_UNKNOWN_DIRECTION), ==, 1);
    ax_report_free(r);
}

/* ---- formats parsed back ----------------------------------------------------------------- */

static char *render(ax_format f)
{
    ax_directory *d = fixture_directory();
    ax_report *r = fixture_report(d);
    char *text = ax_export_render(r, f, "test");
    ax_report_free(r);
    ax_directory_free(d);
    return text;
}

/* Splits one RFC 4180 line into fields. */
static GPtrArray *csv_fields(const char *line)
{
    GPtrArray *fields = g_ptr_array_new_with_free_func(g_free);
    GString *field = g_string_new(NULL);
    gboolean quoted = FALSE;
    for (const char *c = line;; c++) {
        if (quoted && *c == '"' && c[1] == '"')
            g_string_append_c(field, *c++);
        else if (*c == '"')
            quoted = !quoted;
        else if ((*c == ',' && !quoted) || *c == '\0') {
            g_ptr_array_add(fields, g_string_free(field, FALSE));
            if (*c == '\0')
                break;
            field = g_string_new(NULL);
        } else
            g_string_append_c(field, *c);
    }
    return fields;
}

static void test_csv(void)
{
    char *text = render(AX_FORMAT_CSV);
    char **lines = g_strsplit(text, "\r\n", -1);
    GPtrArray *header = csv_fields(lines[0]);
    g_assert_cmpuint(header->len, ==, 14);
    g_assert_cmpstr(g_ptr_array_index(header, 3), ==, "calls");
    g_assert_cmpstr(g_ptr_array_index(header, 8), ==, "service_level");
    gboolean saw_total = FALSE, saw_carol = FALSE, saw_heat = FALSE;
    for (guint i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++) {
        GPtrArray *f = csv_fields(lines[i]);
        g_assert_cmpuint(f->len, ==, 14);
        const char *section = g_ptr_array_index(f, 0), *key = g_ptr_array_index(f, 1);
        if (strcmp(section, "total") == 0) {
            saw_total = TRUE;
            g_assert_cmpstr(g_ptr_array_index(f, 3), ==, "12");
            g_assert_cmpstr(g_ptr_array_index(f, 8), ==, "0.5000");
            g_assert_cmpstr(g_ptr_array_index(f, 9), ==, "16.4"); /* 16.375 s */
            g_assert_cmpstr(g_ptr_array_index(f, 10), ==, "45.0");
        }
        if (strcmp(section, "user") == 0 && strcmp(key, "carol") == 0) {
            saw_carol = TRUE;
            g_assert_cmpstr(g_ptr_array_index(f, 2), ==, CAROL_NAME); /* quoted, comma inside */
            g_assert_cmpstr(g_ptr_array_index(f, 5), ==, "0");        /* missed */
            g_assert_cmpstr(g_ptr_array_index(f, 13), ==, "1");       /* failed */
        }
        if (strcmp(section, "heatmap") == 0 && strcmp(key, "2-09") == 0) {
            saw_heat = TRUE;
            g_assert_cmpstr(g_ptr_array_index(f, 3), ==, "2");
        }
        g_ptr_array_unref(f);
    }
    g_assert_true(saw_total && saw_carol && saw_heat);
    g_ptr_array_unref(header);
    g_strfreev(lines);
    g_free(text);
}

static char *xpath_string(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr obj = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    g_assert_nonnull(obj);
    xmlChar *value = xmlXPathCastToString(obj);
    char *copy = g_strdup((const char *)value);
    xmlFree(value);
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    return copy;
}

static void assert_xpath(xmlDocPtr doc, const char *expr, const char *expected)
{
    char *value = xpath_string(doc, expr);
    g_assert_cmpstr(value, ==, expected);
    g_free(value);
}

static void test_xml(void)
{
    char *text = render(AX_FORMAT_XML);
    xmlDocPtr doc = xmlReadMemory(text, (int)strlen(text), "report.xml", NULL, XML_PARSE_NONET);
    g_assert_nonnull(doc); /* well-formed */
    assert_xpath(doc, "string(/analytics-report/@from)", "2024-03-05T00:00:00+01");
    assert_xpath(doc, "string(/analytics-report/@timezone)", "Europe/Berlin");
    assert_xpath(doc, "string(/analytics-report/total/@calls)", "12");
    assert_xpath(doc, "string(/analytics-report/total/@talk_avg_s)", "431.5");
    assert_xpath(doc, "string(/analytics-report/previous/@missed)", "1");
    assert_xpath(doc, "string(//breakdown[@by='user']/row[@key='alice']/@missed)", "1");
    assert_xpath(doc, "string(//breakdown[@by='user']/row[@key='carol']/@name)", CAROL_NAME);
    assert_xpath(doc, "string(//breakdown[@by='group']/row[@key='sales']/@answered)", "6");
    assert_xpath(doc, "string(//heatmap/day[@name='Tue']/hour[@h='13']/@calls)", "2");
    assert_xpath(doc, "string(//skipped/reason[@name='unknown_outcome']/@records)", "1");
    xmlFreeDoc(doc);
    g_free(text);
}

static JsonObject *json_row(JsonObject *root, const char *dimension, const char *key)
{
    JsonArray *rows =
        json_object_get_array_member(json_object_get_object_member(root, "breakdowns"), dimension);
    for (guint i = 0; i < json_array_get_length(rows); i++) {
        JsonObject *row = json_array_get_object_element(rows, i);
        if (strcmp(json_object_get_string_member(row, "key"), key) == 0)
            return row;
    }
    g_error("no %s row %s in the JSON", dimension, key);
}

static void check_json(const char *text, int64_t calls)
{
    JsonParser *parser = json_parser_new();
    g_assert_true(json_parser_load_from_data(parser, text, -1, NULL));
    JsonObject *root = json_node_get_object(json_parser_get_root(parser));
    JsonObject *total = json_object_get_object_member(root, "total");
    g_assert_cmpint(json_object_get_int_member(total, "calls"), ==, calls);
    if (calls == 12) {
        g_assert_cmpfloat(json_object_get_double_member(total, "service_level"), ==, 0.5);
        g_assert_cmpfloat(json_object_get_double_member(total, "wait_avg_s"), ==, 16.375);
        /* Change against the previous day: 12 - 2 calls, 2 - 1 missed. */
        JsonObject *change = json_object_get_object_member(root, "change");
        g_assert_cmpint(json_object_get_int_member(change, "calls"), ==, 10);
        g_assert_cmpint(json_object_get_int_member(change, "missed"), ==, 1);
        /* bob talked 720 s in 2 answered calls. */
        g_assert_cmpfloat(
            json_object_get_double_member(json_row(root, "user", "bob"), "talk_avg_s"), ==, 360.0);
        JsonArray *heat =
            json_object_get_array_member(json_object_get_object_member(root, "heatmap"), "calls");
        g_assert_cmpint(json_array_get_int_element(json_array_get_array_element(heat, 1), 9), ==,
                        2);
    }
    g_object_unref(parser);
}

static void test_json(void)
{
    char *text = render(AX_FORMAT_JSON);
    check_json(text, 12);
    g_free(text);
}

/* Every line is a HELP or TYPE comment or a sample of the exposition format;
 * every sample's metric had its TYPE line first. */
static void check_prometheus(const char *text)
{
    GRegex *sample =
        g_regex_new("^(ucd_analytics_[a-z_]+)\\{([a-z_]+=\"(\\\\[\\\\\"n]|[^\"\\\\])*\","
                    ")*[a-z_]+=\"(\\\\[\\\\\"n]|[^\"\\\\])*\"\\} -?[0-9]+(\\.[0-9]+)?$",
                    0, 0, NULL);
    GRegex *comment = g_regex_new(
        "^# (HELP (ucd_analytics_[a-z_]+) .+|TYPE (ucd_analytics_[a-z_]+) gauge)$", 0, 0, NULL);
    GHashTable *typed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char **lines = g_strsplit(text, "\n", -1);
    guint samples = 0;
    for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++) {
        GMatchInfo *m = NULL;
        if (g_regex_match(comment, lines[i], 0, &m)) {
            char *name = g_match_info_fetch(m, 3);
            if (name[0])
                g_hash_table_add(typed, name);
            else
                g_free(name);
        } else {
            g_match_info_free(m);
            if (!g_regex_match(sample, lines[i], 0, &m))
                g_error("not a Prometheus line: %s", lines[i]);
            char *name = g_match_info_fetch(m, 1);
            g_assert_true(g_hash_table_contains(typed, name));
            g_free(name);
            samples++;
        }
        g_match_info_free(m);
    }
    g_assert_cmpuint(samples, >, 20);
    g_strfreev(lines);
    g_hash_table_unref(typed);
    g_regex_unref(sample);
    g_regex_unref(comment);
}

static void test_prometheus(void)
{
    char *text = render(AX_FORMAT_PROMETHEUS);
    check_prometheus(text);
    g_assert_nonnull(strstr(text, "ucd_analytics_calls{report=\"test\",period=\"current\","
                                  "dimension=\"total\",key=\"\",name=\"\"} 12\n"));
    g_assert_nonnull(strstr(text, "ucd_analytics_missed{report=\"test\",period=\"previous\","
                                  "dimension=\"total\",key=\"\",name=\"\"} 1\n"));
    g_assert_nonnull(strstr(text, "ucd_analytics_service_level_ratio{report=\"test\",period="
                                  "\"current\",dimension=\"total\",key=\"\",name=\"\"} 0.5000\n"));
    /* The name's quote and backslash are escaped. */
    g_assert_nonnull(strstr(text, "ucd_analytics_calls{report=\"test\",period=\"current\","
                                  "dimension=\"user\",key=\"carol\",name=\"Carol \\\"CJ\\\" "
                                  "O\\\\Neil, <ops>\"} 5\n"));
    g_free(text);
}

/* ---- HTML in Chromium -------------------------------------------------------------------- */

static gboolean in_ci(void)
{
    return g_strcmp0(g_getenv("CI"), "true") == 0;
}

/* Runs headless Chromium on `url` with `mode` (--dump-dom or --screenshot=F). */
static char *chromium(const char *chrome, const char *profile, const char *mode, const char *url)
{
    char *profile_arg = g_strconcat("--user-data-dir=", profile, NULL);
    const char *argv[] = {chrome,
                          "--headless",
                          "--no-sandbox",
                          "--disable-gpu",
                          "--disable-quic",
                          "--no-first-run",
                          "--disable-background-networking",
                          "--disable-component-update",
                          "--disable-sync",
                          profile_arg,
                          "--window-size=1200,2000",
                          mode,
                          url,
                          NULL};
    char *out = NULL;
    int status = 0;
    GError *error = NULL;
    gboolean ok = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                               &out, NULL, &status, &error);
    g_assert_no_error(error);
    g_assert_true(ok && g_spawn_check_wait_status(status, NULL));
    g_free(profile_arg);
    return out;
}

static guint count(const char *text, const char *needle)
{
    guint n = 0;
    for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle))
        n++;
    return n;
}

static guint32 be32(const guchar *p)
{
    return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

static void test_html_chromium(void)
{
    const char *chrome = "/usr/bin/chromium";
    if (!g_file_test(chrome, G_FILE_TEST_IS_EXECUTABLE)) {
        if (in_ci())
            g_error("CI=true and %s is missing (install the chromium package)", chrome);
        g_test_skip("no /usr/bin/chromium");
        return;
    }
    char *dir = g_dir_make_tmp("analytics-html-XXXXXX", NULL);
    char *profile = g_build_filename(dir, "profile", NULL);
    char *page = render(AX_FORMAT_HTML);
    g_assert_null(strstr(page, "<script"));
    g_assert_null(strstr(page, "http"));
    char *html = g_build_filename(dir, "report.html", NULL);
    g_assert_true(g_file_set_contents(html, page, -1, NULL));
    char *url = g_filename_to_uri(html, NULL, NULL);

    /* What the browser built: the three charts with their bars and cells. */
    char *dom = chromium(chrome, profile, "--dump-dom", url);
    g_assert_nonnull(strstr(dom, "id=\"chart-time\""));
    g_assert_nonnull(strstr(dom, "id=\"heatmap\""));
    g_assert_nonnull(strstr(dom, "id=\"chart-users\""));
    g_assert_cmpuint(count(dom, "<rect class=\"cell\""), ==, 7 * 24);
    g_assert_cmpuint(count(dom, "<rect class=\"bar answered\""), >=, 9); /* hours + users */
    g_assert_nonnull(strstr(dom, "Carol \"CJ\" O\\Neil, &lt;ops&gt;"));

    char *png = g_build_filename(dir, "report.png", NULL);
    char *shot = g_strconcat("--screenshot=", png, NULL);
    g_free(chromium(chrome, profile, shot, url));
    char *bytes = NULL;
    gsize length = 0;
    g_assert_true(g_file_get_contents(png, &bytes, &length, NULL));
    g_assert_cmpuint(length, >, 24);
    g_assert_cmpmem(bytes + 1, 3, "PNG", 3);
    g_assert_cmpuint(be32((guchar *)bytes + 16), ==, 1200); /* IHDR width, height */
    g_assert_cmpuint(be32((guchar *)bytes + 20), ==, 2000);
    g_assert_cmpuint(length, >, 30000); /* a blank page's PNG is a few kB */
    g_test_message("screenshot: %s (%" G_GSIZE_FORMAT " bytes)", png, length);
    if (g_getenv("UCD_TEST_KEEP"))
        g_printerr("# HTML report screenshot: %s\n", png);
    g_free(bytes);
    g_free(shot);
    g_free(png);
    g_free(dom);
    g_free(url);
    g_free(html);
    g_free(page);
    g_free(profile);
    /* The screenshot is the evidence a person looks at: kept with
     * UCD_TEST_KEEP (as the daemon tests keep theirs), else every run
     * would leave a browser profile behind in the temp dir. */
    if (!g_getenv("UCD_TEST_KEEP")) {
        const char *const rm[] = {"rm", "-rf", dir, NULL};
        g_assert_true(g_spawn_sync(NULL, (char **)rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                                   NULL, NULL, NULL));
    }
    g_free(dir);
}

/* ---- schedules and periods --------------------------------------------------------------- */

static int64_t berlin_ms(int y, int mo, int d, int h, int mi)
{
    GDateTime *dt = g_date_time_new(berlin, y, mo, d, h, mi, 0);
    int64_t ms = g_date_time_to_unix(dt) * 1000;
    g_date_time_unref(dt);
    return ms;
}

static void assert_next(const char *cron, int64_t after, int64_t expected)
{
    char *error = NULL;
    ax_schedule *s = ax_schedule_parse(cron, &error);
    g_assert_no_errno(s == NULL ? -1 : 0);
    g_assert_cmpint(ax_schedule_next(s, after, berlin), ==, expected);
    ax_schedule_free(s);
}

static void test_schedule(void)
{
    /* Friday 17:50 -> Monday 09:00 (weekdays 9-17, every quarter hour). */
    assert_next("*/15 9-17 * * 1-5", berlin_ms(2024, 3, 8, 17, 50), berlin_ms(2024, 3, 11, 9, 0));
    assert_next("0 6 1 * *", berlin_ms(2024, 3, 5, 12, 0), berlin_ms(2024, 4, 1, 6, 0));
    /* Either day field when both are restricted: the 10th or a Sunday (7). */
    assert_next("0 0 10 * 7", berlin_ms(2024, 3, 5, 12, 0), berlin_ms(2024, 3, 10, 0, 0));
    assert_next("0 0 13 * 7", berlin_ms(2024, 3, 11, 12, 0), berlin_ms(2024, 3, 13, 0, 0));
    /* 02:30 does not exist on 2024-03-31 in Berlin: the next run is April 1st. */
    assert_next("30 2 * * *", berlin_ms(2024, 3, 30, 12, 0), berlin_ms(2024, 4, 1, 2, 30));
    assert_next("5,35 * * * *", berlin_ms(2024, 3, 5, 12, 5), berlin_ms(2024, 3, 5, 12, 35));
    const char *bad[] = {"61 * * * *",  "* * *",       "a b c d e", "* * 0 * *",
                         "*/0 * * * *", "5-1 * * * *", "",          "* * * * * *"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        char *error = NULL;
        g_assert_null(ax_schedule_parse(bad[i], &error));
        g_assert_nonnull(error);
        g_free(error);
    }
    char *error = NULL;
    ax_schedule *never = ax_schedule_parse("0 0 31 2 *", &error);
    g_assert_cmpint(ax_schedule_next(never, berlin_ms(2024, 3, 5, 0, 0), berlin), ==, -1);
    ax_schedule_free(never);
}

static void assert_period(ax_period p, int64_t at, int64_t from, int64_t to)
{
    int64_t f = 0, t = 0;
    ax_period_range(p, at, berlin, &f, &t);
    g_assert_cmpint(f, ==, from);
    g_assert_cmpint(t, ==, to);
}

static void test_periods(void)
{
    int64_t wed = berlin_ms(2024, 3, 6, 10, 17);
    assert_period(AX_PERIOD_PREVIOUS_HOUR, wed, berlin_ms(2024, 3, 6, 9, 0),
                  berlin_ms(2024, 3, 6, 10, 0));
    assert_period(AX_PERIOD_PREVIOUS_DAY, wed, berlin_ms(2024, 3, 5, 0, 0),
                  berlin_ms(2024, 3, 6, 0, 0));
    assert_period(AX_PERIOD_PREVIOUS_WEEK, wed, berlin_ms(2024, 2, 26, 0, 0),
                  berlin_ms(2024, 3, 4, 0, 0));
    assert_period(AX_PERIOD_PREVIOUS_MONTH, wed, berlin_ms(2024, 2, 1, 0, 0),
                  berlin_ms(2024, 3, 1, 0, 0));
    assert_period(AX_PERIOD_PREVIOUS_YEAR, wed, berlin_ms(2023, 1, 1, 0, 0),
                  berlin_ms(2024, 1, 1, 0, 0));
    assert_period(AX_PERIOD_TODAY, wed, berlin_ms(2024, 3, 6, 0, 0), wed);
    assert_period(AX_PERIOD_THIS_WEEK, wed, berlin_ms(2024, 3, 4, 0, 0), wed);
    assert_period(AX_PERIOD_THIS_MONTH, wed, berlin_ms(2024, 3, 1, 0, 0), wed);
    /* The DST day is 23 hours long and has 23 hour rows. */
    int64_t from, to;
    ax_period_range(AX_PERIOD_PREVIOUS_DAY, berlin_ms(2024, 4, 1, 6, 0), berlin, &from, &to);
    g_assert_cmpint(to - from, ==, INT64_C(23) * 3600000);
    ax_report *r = ax_report_new(from, to, berlin, 20, NULL);
    g_assert_cmpuint(ax_report_rows(r, AX_DIM_HOUR)->len, ==, 23);
    char *label = ax_period_label(from, to, berlin);
    g_assert_cmpstr(label, ==, "2024-03-31");
    g_free(label);
    ax_report_free(r);
    label = ax_period_label(berlin_ms(2024, 3, 1, 0, 0), berlin_ms(2024, 4, 1, 0, 0), berlin);
    g_assert_cmpstr(label, ==, "2024-03-01_2024-03-31");
    g_free(label);
    int64_t ms = 0;
    g_assert_true(ax_parse_time("2024-03-05", berlin, &ms));
    g_assert_cmpint(ms, ==, DAY_MS);
    g_assert_true(ax_parse_time("2024-03-05T09:00", berlin, &ms));
    g_assert_cmpint(ms, ==, T(9, 0, 0));
    g_assert_true(ax_parse_time("2024-03-05T08:00:00Z", berlin, &ms));
    g_assert_cmpint(ms, ==, T(9, 0, 0));
    g_assert_false(ax_parse_time("2024-02-30", berlin, &ms));
    g_assert_false(ax_parse_time("yesterday", berlin, &ms));
}

/* ---- the plugin in the fake host --------------------------------------------------------- */

/* A journal over the fixture: [from, to) newest first, pages by index. */
typedef struct fake_journal {
    const ucd_journal_record *records;
    size_t count;
    unsigned queries;
} fake_journal;

static gint newest_first(gconstpointer a, gconstpointer b)
{
    const ucd_journal_record *x = *(const ucd_journal_record *const *)a;
    const ucd_journal_record *y = *(const ucd_journal_record *const *)b;
    return x->start_ms < y->start_ms ? 1 : x->start_ms > y->start_ms ? -1 : 0;
}

static int fake_query(void *impl, const ucd_journal_query *q, ucd_journal_record_cb cb, void *data,
                      char *next, size_t next_size)
{
    fake_journal *j = impl;
    j->queries++;
    GPtrArray *match = g_ptr_array_new();
    for (size_t i = 0; i < j->count; i++) {
        const ucd_journal_record *r = &j->records[i];
        if (r->start_ms >= q->from_ms && (q->to_ms == 0 || r->start_ms < q->to_ms))
            g_ptr_array_add(match, (gpointer)r);
    }
    g_ptr_array_sort(match, newest_first);
    guint start = q->after ? (guint)atoi(q->after) : 0, limit = q->limit ? q->limit : 100;
    guint end = MIN(match->len, start + limit);
    for (guint i = start; i < end; i++)
        cb(g_ptr_array_index(match, i), data);
    g_snprintf(next, next_size, "%s", end < match->len ? "" : "");
    if (end < match->len)
        g_snprintf(next, next_size, "%u", end);
    g_ptr_array_unref(match);
    return UCD_OK;
}

static const ucd_journal_v1 fake_journal_iface = {.struct_size = sizeof(ucd_journal_v1),
                                                  .query = fake_query};

/* The core's directory as two users backends fill it: alice and bob from
 * one, carol from the other. */
static int fake_foreach_user(void *impl, uint32_t flags, ucd_directory_user_cb cb, void *data)
{
    static const char *const none[] = {NULL};
    static const char *const sales[] = {"sales", NULL}, *const support[] = {"support", NULL};
#define U(id_, name_, groups_, backend_)                                                           \
    {                                                                                              \
        .struct_size = sizeof(ucd_directory_user), .enabled = 1, .active_here = 1, .id = id_,      \
        .login = id_, .display_name = name_, .backend = backend_, .numbers = none, .e164 = none,   \
        .groups = groups_, .lines = none                                                           \
    }
    const ucd_directory_user users[] = {
        U("alice", "Alice Smith", sales, "users-a"),
        U("bob", NULL, sales, "users-a"),
        U("carol", CAROL_NAME, support, "users-b"),
    };
#undef U
    for (size_t i = 0; i < G_N_ELEMENTS(users); i++)
        if (cb(&users[i], data) != 0)
            break;
    return UCD_OK;
}

static int fake_foreach_group(void *impl, ucd_directory_group_cb cb, void *data)
{
    static const char *const none[] = {NULL};
    const ucd_directory_group groups[] = {
        {sizeof(ucd_directory_group), 0, "sales", "Sales team", NULL, "users-a", none},
        {sizeof(ucd_directory_group), 0, "support", "Support", NULL, "users-b", none}};
    for (size_t i = 0; i < G_N_ELEMENTS(groups); i++)
        if (cb(&groups[i], data) != 0)
            break;
    return UCD_OK;
}

static const ucd_directory_v1 fake_directory_iface = {.struct_size = sizeof(ucd_directory_v1),
                                                      .foreach_user = fake_foreach_user,
                                                      .foreach_group = fake_foreach_group};

typedef struct world {
    const ucd_plugin_descriptor *descriptor;
    fake_module *module;
    fake_journal journal;
    char *dir, *out, *prom, *state;
} world;

static void world_init(world *w, const char *id, const ucd_journal_record *records, size_t count)
{
    void *handle;
    w->descriptor = fake_load_plugin(plugin_path, "analytics-export", &handle);
    w->journal = (fake_journal){records, count, 0};
    w->dir = g_dir_make_tmp("analytics-XXXXXX", NULL);
    w->out = g_build_filename(w->dir, "out", NULL);
    w->prom = g_build_filename(w->dir, "prom", NULL);
    w->state = g_build_filename(w->dir, "state", NULL);
    g_mkdir(w->state, 0700);
    fake_provide_service("journal-fake", UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR,
                         &fake_journal_iface, &w->journal);
    fake_provide_service("core", UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, &fake_directory_iface,
                         NULL);
    w->module = fake_module_new(w->descriptor, id);
    fake_module_set_state_dir(w->module, w->state);
    fake_module_set(w->module, "timezone", "Europe/Berlin");
    fake_module_set(w->module, "page_size", "3"); /* many pages */
}

static void remove_tree(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    for (const char *name; d != NULL && (name = g_dir_read_name(d)) != NULL;) {
        char *child = g_build_filename(path, name, NULL);
        if (g_file_test(child, G_FILE_TEST_IS_DIR))
            remove_tree(child);
        else
            g_unlink(child);
        g_free(child);
    }
    if (d != NULL)
        g_dir_close(d);
    g_rmdir(path);
}

static void world_clear(world *w)
{
    if (w->module->state != NULL)
        fake_module_stop(w->module);
    fake_module_free(w->module);
    fake_withdraw_services();
    remove_tree(w->dir);
    g_free(w->dir);
    g_free(w->out);
    g_free(w->prom);
    g_free(w->state);
}

static char *read_text(const char *path)
{
    char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

static GPtrArray *list_dir(const char *path)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    GDir *d = g_dir_open(path, 0, NULL);
    for (const char *name; d != NULL && (name = g_dir_read_name(d)) != NULL;)
        g_ptr_array_add(names, g_strdup(name));
    if (d != NULL)
        g_dir_close(d);
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    return names;
}

static void test_command(void)
{
    world w;
    world_init(&w, "analytics-export:daily", fixture, G_N_ELEMENTS(fixture));
    fake_module_set(w.module, "prometheus_dir", w.prom);
    fake_module_start(w.module);
    g_assert_cmpstr(fake_module_command_name(w.module), ==, "analytics-daily");

    char *reply = fake_module_command(w.module, UCD_OK, "export", "--from", "2024-03-05", "--to",
                                      "2024-03-06", "--format", "json,prometheus,csv", "--output",
                                      w.out, NULL);
    char *json = g_build_filename(w.out, "analytics-daily-2024-03-05.json", NULL);
    char *csv = g_build_filename(w.out, "analytics-daily-2024-03-05.csv", NULL);
    char *prom = g_build_filename(w.prom, "ucd_analytics_analytics-daily.prom", NULL);
    char *expected = g_strdup_printf(
        "file=%s, file=%s, file=%s, calls=12, answered=8, missed=2, service_level_percent=50.0, "
        "wait_avg_s=16.4, talk_avg_s=431.5, skipped_records=3",
        csv, json, prom);
    g_assert_cmpstr(reply, ==, expected);
    /* 15 records of the day in pages of 3, then the previous day's 2. */
    g_assert_cmpuint(w.journal.queries, ==, 5 + 1);
    char *text = read_text(json);
    check_json(text, 12);
    g_free(text);
    text = read_text(prom);
    check_prometheus(text);
    g_assert_nonnull(strstr(text, "name=\"Sales team\""));
    g_free(text);
    g_assert_cmpint(fake_module_counter(w.module, "exports"), ==, 1);
    g_assert_cmpint(fake_module_counter(w.module, "records_skipped"), ==, 3);
    g_assert_true(fake_module_log_has(w.module, UCD_LOG_WARNING, "unknown_outcome=1"));

    /* Bad requests are refused at once, without a deferred reply. */
    const char *const bad[][8] = {
        {"export", "--from", "2024-03-05", NULL},
        {"export", "--from", "2024-03-06", "--to", "2024-03-05", NULL},
        {"export", "--period", "previous-day", "--format", "pdf", NULL},
        {"export", "--period", "fortnight", NULL},
        {"export", "--period", "today", "--output", "relative/dir", NULL},
        {"export", "--period", "today", "--from", "2024-03-05", NULL},
        {"import", NULL},
        {"export", "--period", "today", "stray", NULL},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        int rc = 0;
        char **lines = fake_module_run_command(w.module, &rc, bad[i]);
        g_assert_cmpint(rc, ==, UCD_E_INVALID);
        g_assert_cmpstr(lines[0], ==, "error");
        g_strfreev(lines);
    }
    /* Without a journal the command says so. */
    fake_withdraw_services();
    char *none = fake_module_command(w.module, UCD_E_INVALID, "export", "--period", "today",
                                     "--output", w.out, NULL);
    g_assert_cmpstr(none, ==, "error");
    g_free(none);
    g_free(expected);
    g_free(prom);
    g_free(csv);
    g_free(json);
    g_free(reply);
    world_clear(&w);
}

/* What export_now()'s done callback was told. */
typedef struct export_result {
    int calls;
    int result;
    char *text;
} export_result;

static void on_exported(int result, const char *path_or_message, void *data)
{
    export_result *r = data;
    r->calls++;
    r->result = result;
    g_free(r->text);
    r->text = g_strdup(path_or_message);
}

/* The "exporter" service, found through the registry as another plugin
 * finds it: export_now() writes one format of the same report the command
 * writes, says where through `done`, and refuses what it cannot do at once,
 * without calling `done`. Users from both backends of the directory are
 * named in the report. */
static void test_exporter_service(void)
{
    world w;
    world_init(&w, "analytics-export:daily", fixture, G_N_ELEMENTS(fixture));
    fake_module_start(w.module);
    ucd_service s = {.struct_size = sizeof(s)};
    g_assert_cmpint(
        fake_host.service_get(w.module, UCD_EXPORTER_SERVICE, UCD_EXPORTER_MAJOR, NULL, &s), ==,
        UCD_OK);
    g_assert_cmpstr(s.provider, ==, "analytics-export:daily");
    const ucd_exporter_v1 *exporter = s.iface;
    char *formats = g_strjoinv(",", (char **)exporter->formats(s.impl));
    g_assert_cmpstr(formats, ==, "csv,xml,json,html,prometheus");
    g_free(formats);

    ucd_export_request request = {.struct_size = sizeof(request),
                                  .format = "json",
                                  .from_ms = DAY_MS,
                                  .to_ms = DAY_MS + INT64_C(86400000),
                                  .group_by = "user",
                                  .output_dir = w.out};
    export_result done = {0};
    g_assert_cmpint(exporter->export_now(s.impl, &request, on_exported, &done), ==, UCD_OK);
    while (done.calls == 0)
        g_main_context_iteration(NULL, TRUE);
    g_assert_cmpint(done.calls, ==, 1);
    g_assert_cmpint(done.result, ==, UCD_OK);
    char *json = g_build_filename(w.out, "analytics-daily-2024-03-05.json", NULL);
    g_assert_cmpstr(done.text, ==, json);
    GPtrArray *files = list_dir(w.out); /* one file, no temporary left */
    g_assert_cmpuint(files->len, ==, 1);
    g_ptr_array_unref(files);
    char *text = read_text(json);
    check_json(text, 12);
    JsonParser *parser = json_parser_new();
    g_assert_true(json_parser_load_from_data(parser, text, -1, NULL));
    JsonObject *root = json_node_get_object(json_parser_get_root(parser));
    g_assert_cmpstr(json_object_get_string_member(json_row(root, "user", "alice"), "name"), ==,
                    "Alice Smith");
    g_assert_cmpstr(json_object_get_string_member(json_row(root, "user", "carol"), "name"), ==,
                    CAROL_NAME);
    g_assert_cmpstr(json_object_get_string_member(json_row(root, "group", "support"), "name"), ==,
                    "Support");
    g_object_unref(parser);
    g_free(text);
    g_assert_cmpint(fake_module_counter(w.module, "exports"), ==, 1);

    /* Refused at once; done is not called. */
    const struct {
        const char *format, *group_by, *dir;
        int64_t to_ms;
        int rc;
    } bad[] = {
        {"pdf", NULL, w.out, request.to_ms, UCD_E_UNSUPPORTED},
        {"csv", NULL, w.out, DAY_MS, UCD_E_INVALID},
        {"csv", "planet", w.out, request.to_ms, UCD_E_INVALID},
        {"csv", NULL, "relative", request.to_ms, UCD_E_INVALID},
        {"csv", NULL, NULL, request.to_ms, UCD_E_INVALID}, /* no directory configured */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        ucd_export_request r = request;
        r.format = bad[i].format;
        r.group_by = bad[i].group_by;
        r.output_dir = bad[i].dir;
        r.to_ms = bad[i].to_ms;
        g_assert_cmpint(exporter->export_now(s.impl, &r, on_exported, &done), ==, bad[i].rc);
    }
    g_assert_cmpint(exporter->export_now(s.impl, NULL, on_exported, &done), ==, UCD_E_INVALID);
    g_assert_cmpint(exporter->export_now(s.impl, &request, NULL, NULL), ==, UCD_E_INVALID);
    fake_withdraw_services(); /* no journal */
    g_assert_cmpint(exporter->export_now(s.impl, &request, on_exported, &done), ==,
                    UCD_E_UNAVAILABLE);
    g_assert_cmpint(done.calls, ==, 1);
    g_free(done.text);
    g_free(json);
    world_clear(&w);
}

/* An older core has no deferred replies: the command says so. */
static void test_old_core(void)
{
    world w;
    world_init(&w, "analytics-export", fixture, G_N_ELEMENTS(fixture));
    ucd_host old = fake_host;
    old.struct_size = offsetof(ucd_host, reply_defer);
    g_assert_cmpint(w.descriptor->init(w.module, &old, &w.module->state), ==, UCD_OK);
    g_assert_cmpstr(fake_module_command_name(w.module), ==, "analytics");
    char *reply = fake_module_command(w.module, UCD_E_UNSUPPORTED, "export", "--period", "today",
                                      "--output", w.out, NULL);
    g_assert_cmpstr(reply, ==, "error");
    g_free(reply);
    world_clear(&w);
}

static int64_t iso_ms(JsonObject *o, const char *member)
{
    GDateTime *dt = g_date_time_new_from_iso8601(json_object_get_string_member(o, member), NULL);
    int64_t ms = g_date_time_to_unix(dt) * 1000;
    g_date_time_unref(dt);
    return ms;
}

/* The scheduled run: fired by hand; writes today's report (so far) with the
 * records the fake journal has in the period the file itself names. */
static void test_scheduled(void)
{
    int64_t now = g_get_real_time() / 1000;
    ucd_journal_record recent[] = {
        R0("r1", IN, UCD_OUTCOME_ANSWERED, now - 1000, now - 900, now - 500),
        R0("r2", IN, UCD_OUTCOME_NO_ANSWER, now - 3 * 3600000, 0, now - 3 * 3600000 + 9000),
        R0("r3", IN, UCD_OUTCOME_NO_ANSWER, now - 30 * 3600000, 0, now - 30 * 3600000 + 9000),
    };
    world w;
    world_init(&w, "analytics-export:live", recent, G_N_ELEMENTS(recent));
    fake_module_set(w.module, "schedule", "* * * * *");
    fake_module_set(w.module, "period", "today");
    fake_module_set(w.module, "formats", "json");
    fake_module_set(w.module, "directory", w.out);
    fake_module_start(w.module);
    g_assert_cmpuint(w.module->timers->len, ==, 1);
    struct ucd_timer *timer = g_ptr_array_index(w.module->timers, 0);
    g_assert_cmpuint(timer->interval_ms, <=, 60000);
    fake_timer_fire(timer);

    /* One file, no temporary left behind; re-armed for the next minute. */
    GPtrArray *files = list_dir(w.out);
    g_assert_cmpuint(files->len, ==, 1);
    const char *name = g_ptr_array_index(files, 0);
    g_assert_true(g_str_has_prefix(name, "analytics-live-") && g_str_has_suffix(name, ".json"));
    g_assert_cmpuint(w.module->timers->len, ==, 1);
    char *path = g_build_filename(w.out, name, NULL);
    char *text = read_text(path);
    JsonParser *parser = json_parser_new();
    g_assert_true(json_parser_load_from_data(parser, text, -1, NULL));
    JsonObject *root = json_node_get_object(json_parser_get_root(parser));
    int64_t from = iso_ms(root, "from"), to = iso_ms(root, "to");
    g_assert_cmpint(to - from, <=, INT64_C(25) * 3600000);
    int64_t expected = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(recent); i++)
        expected += recent[i].start_ms >= from && recent[i].start_ms < to;
    g_assert_cmpint(expected, >=, 1); /* r1 is a second old: in "today" but just past midnight */
    g_assert_cmpint(
        json_object_get_int_member(json_object_get_object_member(root, "total"), "calls"), ==,
        expected);
    /* The run is remembered for the catch-up after a restart. */
    char *last = g_build_filename(w.state, "last-run", NULL);
    g_assert_true(g_file_test(last, G_FILE_TEST_EXISTS));
    g_free(last);
    g_object_unref(parser);
    g_free(text);
    g_free(path);
    g_ptr_array_unref(files);
    world_clear(&w);
}

/* Down for three days: at start, only the last missed daily run is made. */
static void test_catch_up(void)
{
    world w;
    world_init(&w, "analytics-export:daily", fixture, G_N_ELEMENTS(fixture));
    fake_module_set(w.module, "schedule", "0 6 * * *");
    fake_module_set(w.module, "formats", "csv");
    fake_module_set(w.module, "directory", w.out);
    char *last = g_build_filename(w.state, "last-run", NULL);
    int64_t old = g_get_real_time() / 1000 - INT64_C(3) * 86400000;
    char *text = g_strdup_printf("%" G_GINT64_FORMAT "\n", old);
    g_assert_true(g_file_set_contents(last, text, -1, NULL));
    g_free(text);
    fake_module_start(w.module);
    GPtrArray *files = list_dir(w.out);
    g_assert_cmpuint(files->len, ==, 1);
    g_assert_true(fake_module_log_has(w.module, UCD_LOG_NOTICE, "missed"));
    text = read_text(last);
    g_assert_cmpint(g_ascii_strtoll(text, NULL, 10), >, old);
    g_free(text);
    g_ptr_array_unref(files);
    g_free(last);
    world_clear(&w);
}

static void test_bad_config(void)
{
    const char *const cases[][5] = {
        {"schedule", "61 * * * *", "directory", "/tmp", "schedule"},
        {"schedule", "0 6 * * *", NULL, NULL, "schedule"}, /* no directory */
        {"formats", "csv;pdf", NULL, NULL, "formats"},
        {"period", "fortnight", NULL, NULL, "period"},
        {"timezone", "Mars/Olympus_Mons", NULL, NULL, "timezone"},
        {"service_level_seconds", "0", NULL, NULL, "service_level_seconds"},
        {"directory", "relative", NULL, NULL, "directory"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        world w;
        world_init(&w, "analytics-export", fixture, G_N_ELEMENTS(fixture));
        fake_module_set(w.module, cases[i][0], cases[i][1]);
        if (cases[i][2] != NULL)
            fake_module_set(w.module, cases[i][2], cases[i][3]);
        g_assert_cmpint(fake_module_init(w.module), ==, UCD_FAIL);
        g_assert_cmpstr(w.module->config_error_key, ==, cases[i][4]);
        w.module->state = NULL;
        world_clear(&w);
    }
}

/* The real journal-sqlite as the journal: same KPIs through its query(). */
static void test_real_journal(void)
{
    if (journal_path == NULL) {
        g_test_skip("no journal-sqlite.so given");
        return;
    }
    void *handle;
    const ucd_plugin_descriptor *jd = fake_load_plugin(journal_path, "journal-sqlite", &handle);
    world w;
    world_init(&w, "analytics-export", NULL, 0);
    fake_withdraw_services(); /* only the real journal, and no directory */
    fake_module *journal = fake_module_new(jd, "journal-sqlite");
    char *db = g_build_filename(w.dir, "journal.db", NULL);
    fake_module_set_state_dir(journal, w.state);
    fake_module_set(journal, "database", db);
    fake_module_set(journal, "private_numbers", "keep");
    fake_module_start(journal);
    void *impl = NULL;
    const ucd_journal_v1 *iface =
        fake_module_service(journal, UCD_JOURNAL_SERVICE, UCD_JOURNAL_MAJOR, &impl);
    /* journal-sqlite sanitizes absurd records when it stores them (README of
     * journal-sqlite), so C13-C15 would come back as plausible calls: the
     * fake journal above checks how they are left out. */
    for (size_t i = 0; i < G_N_ELEMENTS(fixture); i++) {
        static const char *const absurd[] = {"c13", "c14", "c15", NULL};
        if (!g_strv_contains(absurd, fixture[i].uuid))
            g_assert_cmpint(iface->store(impl, &fixture[i]), ==, UCD_OK);
    }
    g_assert_cmpint(iface->flush(impl, 10000), ==, UCD_OK);

    fake_module_start(w.module);
    char *reply = fake_module_command(w.module, UCD_OK, "export", "--from", "2024-03-05", "--to",
                                      "2024-03-06", "--format", "json", "--output", w.out, NULL);
    g_assert_nonnull(strstr(reply, "calls=12, answered=8, missed=2, service_level_percent=50.0, "
                                   "wait_avg_s=16.4, talk_avg_s=431.5, skipped_records=0"));
    char *json = g_build_filename(w.out, "analytics-2024-03-05.json", NULL);
    char *text = read_text(json);
    JsonParser *parser = json_parser_new();
    g_assert_true(json_parser_load_from_data(parser, text, -1, NULL));
    JsonObject *root = json_node_get_object(json_parser_get_root(parser));
    JsonObject *bob = json_row(root, "user", "bob");
    g_assert_cmpint(json_object_get_int_member(bob, "missed"), ==, 2);
    g_assert_cmpstr(json_object_get_string_member(bob, "name"), ==, "bob"); /* no directory */
    g_object_unref(parser);
    g_free(text);
    g_free(json);
    g_free(reply);
    fake_module_stop(journal);
    fake_module_free(journal);
    g_free(db);
    world_clear(&w);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 2)
        g_error("usage: %s analytics-export.so [journal-sqlite.so]", argv[0]);
    plugin_path = argv[1];
    journal_path = argc > 2 ? argv[2] : NULL;
    berlin = g_time_zone_new_identifier("Europe/Berlin");
    g_assert_nonnull(berlin);
    g_test_add_func("/analytics/kpis", test_kpis);
    g_test_add_func("/analytics/without-users", test_without_users);
    g_test_add_func("/analytics/null-strings", test_null_strings);
    g_test_add_func("/analytics/csv", test_csv);
    g_test_add_func("/analytics/xml", test_xml);
    g_test_add_func("/analytics/json", test_json);
    g_test_add_func("/analytics/prometheus", test_prometheus);
    g_test_add_func("/analytics/html-chromium", test_html_chromium);
    g_test_add_func("/analytics/schedule", test_schedule);
    g_test_add_func("/analytics/periods", test_periods);
    g_test_add_func("/analytics/command", test_command);
    g_test_add_func("/analytics/exporter-service", test_exporter_service);
    g_test_add_func("/analytics/old-core", test_old_core);
    g_test_add_func("/analytics/scheduled", test_scheduled);
    g_test_add_func("/analytics/catch-up", test_catch_up);
    g_test_add_func("/analytics/bad-config", test_bad_config);
    g_test_add_func("/analytics/real-journal", test_real_journal);
    int rc = g_test_run();
    g_time_zone_unref(berlin);
    return rc;
}
