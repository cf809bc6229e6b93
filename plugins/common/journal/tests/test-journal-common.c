/*
 * test-journal-common.c - plugins/common/journal alone: the journal record
 * sanitizer, privacy, number keys, the enums and their words (journal 1.1),
 * the serialized form, and the durable spool
 * with a torn tail, a damaged frame in the middle and a restart mid-replay.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <ucd/event.h>

#include "jrec.h"
#include "spool.h"

#define NOW 1700000000000LL

static ucd_journal_participant parts[2];

static ucd_journal_record sample(void)
{
    parts[0] = (ucd_journal_participant){.struct_size = sizeof(parts[0]),
                                         .role = 1,
                                         .user_id = "u1",
                                         .line = "201",
                                         .joined_ms = NOW - 9000,
                                         .answered_ms = NOW - 8000,
                                         .left_ms = NOW - 1000};
    parts[1] = parts[0];
    parts[1].user_id = NULL;
    return (ucd_journal_record){.struct_size = sizeof(ucd_journal_record),
                                .direction = 1,
                                .uuid = "c-1",
                                .start_ms = NOW - 10000,
                                .answer_ms = NOW - 8000,
                                .end_ms = NOW - 1000,
                                .source_number = "0891234567",
                                .source_e164 = "+49891234567",
                                .source_name = "Anna",
                                .memo = "line one\nline two",
                                .participants = parts,
                                .participant_count = 2,
                                .participant_size = sizeof(ucd_journal_participant)};
}

static jrec_record *copy_with(const ucd_journal_record *r, GString *problems)
{
    return jrec_copy(r, JREC_PRIVATE_KEEP, NOW, problems);
}

static void test_clean_record_unchanged(void)
{
    ucd_journal_record r = sample();
    GString *problems = g_string_new(NULL);
    jrec_record *c = copy_with(&r, problems);
    g_assert_false(c->rejected);
    g_assert_cmpstr(problems->str, ==, "");
    g_assert_cmpstr(c->rec.memo, ==, "line one\nline two");
    g_assert_cmpuint(c->rec.participant_count, ==, 2);
    g_assert_cmpstr(c->rec.participants[0].line, ==, "201");
    g_assert_null(c->rec.participants[1].user_id);
    jrec_free(c);
    g_string_free(problems, TRUE);
}

static void test_texts_sanitized(void)
{
    ucd_journal_record r = sample();
    char *long_name = g_strnfill(300, 'n');
    r.source_number = "089\x01"
                      "12\n34";
    r.source_name = long_name;
    r.destination_name = "bad \xff\xfe utf8";
    r.memo = "keeps\nnewline\tand tab but not \x07 bell";
    GString *problems = g_string_new(NULL);
    jrec_record *c = copy_with(&r, problems);
    g_assert_false(c->rejected);
    g_assert_cmpstr(c->rec.source_number, ==, "0891234");
    g_assert_cmpuint(strlen(c->rec.source_name), ==, JREC_LEN_NAME);
    g_assert_true(g_utf8_validate(c->rec.destination_name, -1, NULL));
    g_assert_cmpstr(c->rec.memo, ==, "keeps\nnewline\tand tab but not  bell");
    g_assert_nonnull(strstr(problems->str, "source_number: control characters removed"));
    g_assert_nonnull(strstr(problems->str, "source_name: cut to 128"));
    g_assert_nonnull(strstr(problems->str, "destination_name: invalid UTF-8"));
    jrec_free(c);
    g_string_free(problems, TRUE);
    g_free(long_name);
}

static void test_cut_counts_utf16_units(void)
{
    ucd_journal_record r = sample();
    /* 40 emoji (4 UTF-8 bytes, 2 UTF-16 units each) into a 64-unit column. */
    GString *number = g_string_new(NULL);
    for (int i = 0; i < 40; i++)
        g_string_append(number, "\xf0\x9f\x98\x80");
    r.source_number = number->str;
    jrec_record *c = copy_with(&r, NULL);
    g_assert_cmpuint(g_utf8_strlen(c->rec.source_number, -1), ==, 32);
    jrec_free(c);
    g_string_free(number, TRUE);
}

static void test_times(void)
{
    ucd_journal_record r = sample();
    r.end_ms = r.start_ms - 5000; /* end before start */
    GString *problems = g_string_new(NULL);
    jrec_record *c = copy_with(&r, problems);
    g_assert_false(c->rejected);
    g_assert_cmpint(c->rec.end_ms, ==, c->rec.answer_ms);
    g_assert_nonnull(strstr(problems->str, "end_ms before start_ms"));
    jrec_free(c);

    r = sample();
    r.start_ms = NOW + JREC_FUTURE_SLACK_MS + 1; /* far future */
    g_string_truncate(problems, 0);
    c = copy_with(&r, problems);
    g_assert_true(c->rejected);
    g_assert_nonnull(strstr(problems->str, "far future"));
    jrec_free(c);

    r = sample();
    r.start_ms = -5;
    c = copy_with(&r, NULL);
    g_assert_true(c->rejected);
    jrec_free(c);

    r = sample();
    r.answer_ms = -1;
    parts[0].left_ms = parts[0].joined_ms - 10;
    c = copy_with(&r, NULL);
    g_assert_false(c->rejected);
    g_assert_cmpint(c->rec.answer_ms, ==, 0);
    g_assert_cmpint(c->rec.participants[0].left_ms, ==, c->rec.participants[0].joined_ms);
    jrec_free(c);
    g_string_free(problems, TRUE);
}

static void test_bad_uuid_refused(void)
{
    ucd_journal_record r = sample();
    r.uuid = "abc\ndef";
    jrec_record *c = copy_with(&r, NULL);
    g_assert_true(c->rejected);
    g_assert_true(g_utf8_validate(c->rec.uuid, -1, NULL));
    jrec_free(c);
    r.uuid = "";
    g_assert_null(copy_with(&r, NULL));
}

static void test_privacy(void)
{
    ucd_journal_record r = sample();
    r.flags = UCD_JOURNAL_FLAG_PRIVATE;
    jrec_record *c = jrec_copy(&r, JREC_PRIVATE_MASK, NOW, NULL);
    g_assert_cmpstr(c->rec.source_e164, ==, "+4989123xxxx");
    g_assert_null(c->rec.source_name);
    g_assert_cmpint(jrec_number_key(c->rec.source_e164), ==, -1);
    jrec_free(c);
    c = jrec_copy(&r, JREC_PRIVATE_DROP, NOW, NULL);
    g_assert_null(c->rec.source_number);
    jrec_free(c);
    g_assert_cmpint(jrec_privacy_parse("bogus"), ==, -1);
}

static void test_number_key(void)
{
    g_assert_cmpint(jrec_number_key("0891234567"), ==, jrec_number_key("+49891234567"));
    g_assert_cmpint(jrec_number_key("201"), !=, jrec_number_key("0201"));
    g_assert_cmpint(jrec_number_key("abc"), ==, -1);
}

static void test_variant_round_trip(void)
{
    ucd_journal_record r = sample();
    jrec_record *c = copy_with(&r, NULL);
    GVariant *v = g_variant_ref_sink(jrec_to_variant(&c->rec));
    jrec_record *back = jrec_from_variant(v);
    g_assert_cmpstr(back->rec.uuid, ==, "c-1");
    g_assert_cmpstr(back->rec.memo, ==, c->rec.memo);
    g_assert_cmpint(back->rec.end_ms, ==, c->rec.end_ms);
    g_assert_cmpuint(back->rec.participant_count, ==, 2);
    g_assert_cmpint(back->rec.participants[0].answered_ms, ==, parts[0].answered_ms);
    g_variant_unref(v);
    jrec_free(back);
    jrec_free(c);
}

/* ---- the enums of journal 1.1 and their words ---- */

/* end_reason is the word of end_cause, like the other words event.h's,
 * and each gives its value back. */
static void test_words_both_ways(void)
{
    g_assert_null(jrec_end_reason_word(UCD_CAUSE_NONE));
    g_assert_cmpstr(jrec_end_reason_word(UCD_CAUSE_LINK_LOST), ==, "link_lost");
    g_assert_cmpstr(jrec_end_reason_word(UCD_CAUSE_NORMAL), ==, "normal");
    g_assert_cmpstr(jrec_end_reason_word(UCD_CAUSE_BUSY), ==, "busy");
    g_assert_cmpstr(jrec_end_reason_word(UCD_CAUSE_REJECTED), ==, "rejected");
    g_assert_cmpstr(jrec_end_reason_word(UCD_CAUSE_BLOCKED + 1), ==, "unknown");

    for (uint32_t c = UCD_CAUSE_NONE; c <= UCD_CAUSE_BLOCKED; c++)
        g_assert_cmpint(ucd_call_cause_from_word(ucd_call_cause_word(c)), ==, (int)c);
    g_assert_cmpstr(ucd_call_cause_word(UCD_CAUSE_NONE), ==, "none");
    g_assert_cmpstr(ucd_call_cause_word(UCD_CAUSE_PICKED_UP), ==, "picked_up");
    g_assert_cmpstr(ucd_call_cause_word(UCD_CAUSE_BLOCKED + 1), ==, "unknown");
    g_assert_cmpint(ucd_call_cause_from_word("unknown"), ==, -1);
    g_assert_cmpint(ucd_call_cause_from_word("no such word"), ==, -1);
    g_assert_cmpint(ucd_call_cause_from_word(NULL), ==, -1);

    g_assert_null(ucd_forward_reason_word(UCD_FORWARD_REASON_NONE));
    for (uint32_t r = UCD_FORWARD_REASON_UNCONDITIONAL; r <= UCD_FORWARD_REASON_DEFLECT; r++)
        g_assert_cmpint(ucd_forward_reason_from_word(ucd_forward_reason_word(r)), ==, (int)r);
    g_assert_cmpstr(ucd_forward_reason_word(UCD_FORWARD_REASON_NO_ANSWER), ==, "no_answer");
    g_assert_null(ucd_forward_reason_word(UCD_FORWARD_REASON_DEFLECT + 1));
    g_assert_cmpint(ucd_forward_reason_from_word(NULL), ==, -1);
    g_assert_cmpint(ucd_forward_reason_from_word("none"), ==, -1);

    g_assert_cmpstr(ucd_call_state_word(UCD_CALL_RINGBACK), ==, "ringback");
    g_assert_cmpstr(ucd_call_state_word(UCD_CALL_DISCONNECTED), ==, "disconnected");
    g_assert_cmpstr(ucd_call_state_word(UCD_CALL_DISCONNECTED + 1), ==, "unknown");
    g_assert_cmpstr(ucd_call_direction_word(UCD_DIR_INTERNAL), ==, "internal");
    g_assert_cmpstr(ucd_call_direction_word(UCD_DIR_INTERNAL + 1), ==, "unknown");
    g_assert_cmpstr(ucd_line_state_word(UCD_LINE_OUT_OF_SERVICE), ==, "out_of_service");
    g_assert_cmpstr(ucd_line_state_word(UCD_LINE_OUT_OF_SERVICE + 1), ==, "unknown");
}

/* What the core gives as end_cause (core/model/calls.c: LINK_LOST when
 * lost, else the cause that decided an unanswered call, else NORMAL), with
 * the outcome it derives from that cause and the word it writes as
 * end_reason, and what comes back from the stored word and outcome: the
 * cause itself, except NORMAL without an answer (the caller gave up), which
 * reads like a row of before (rows_before) and comes back NO_ANSWER. */
static const struct {
    uint32_t outcome;
    const char *end_reason;
    uint32_t core_cause; /* what the core put into end_cause */
    uint32_t back;       /* what jrec_end_cause_of gives */
} core_records[] = {
    {UCD_OUTCOME_ANSWERED, "normal", UCD_CAUSE_NORMAL, UCD_CAUSE_NORMAL},
    {UCD_OUTCOME_ANSWERED, "link_lost", UCD_CAUSE_LINK_LOST, UCD_CAUSE_LINK_LOST},
    {UCD_OUTCOME_NO_ANSWER, "no_answer", UCD_CAUSE_NO_ANSWER, UCD_CAUSE_NO_ANSWER},
    {UCD_OUTCOME_NO_ANSWER, "link_lost", UCD_CAUSE_LINK_LOST, UCD_CAUSE_LINK_LOST},
    {UCD_OUTCOME_BUSY, "busy", UCD_CAUSE_BUSY, UCD_CAUSE_BUSY},
    {UCD_OUTCOME_BUSY, "rejected", UCD_CAUSE_REJECTED, UCD_CAUSE_REJECTED},
    {UCD_OUTCOME_FAILED, "failed", UCD_CAUSE_FAILED, UCD_CAUSE_FAILED},
    {UCD_OUTCOME_VOICEMAIL, "voicemail", UCD_CAUSE_VOICEMAIL, UCD_CAUSE_VOICEMAIL},
    {UCD_OUTCOME_BLOCKED, "blocked", UCD_CAUSE_BLOCKED, UCD_CAUSE_BLOCKED},
    {UCD_OUTCOME_NO_ANSWER, "forwarded", UCD_CAUSE_FORWARDED, UCD_CAUSE_FORWARDED},
    {UCD_OUTCOME_NO_ANSWER, "picked_up", UCD_CAUSE_PICKED_UP, UCD_CAUSE_PICKED_UP},
    {UCD_OUTCOME_NO_ANSWER, "transferred", UCD_CAUSE_TRANSFERRED, UCD_CAUSE_TRANSFERRED},
    {UCD_OUTCOME_NO_ANSWER, "normal", UCD_CAUSE_NORMAL, UCD_CAUSE_NO_ANSWER},
};

/* Rows stored before the core wrote the cause's word: "normal" for every
 * call not lost with its link. The outcome gives the cause back as far as
 * it tells it. */
static const struct {
    uint32_t outcome;
    uint32_t back;
} rows_before[] = {
    {UCD_OUTCOME_ANSWERED, UCD_CAUSE_NORMAL},     {UCD_OUTCOME_NO_ANSWER, UCD_CAUSE_NO_ANSWER},
    {UCD_OUTCOME_BUSY, UCD_CAUSE_BUSY},           {UCD_OUTCOME_FAILED, UCD_CAUSE_FAILED},
    {UCD_OUTCOME_VOICEMAIL, UCD_CAUSE_VOICEMAIL}, {UCD_OUTCOME_BLOCKED, UCD_CAUSE_BLOCKED},
};

static void test_end_cause_of_outcome(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(core_records); i++) {
        g_test_message("row %zu", i);
        g_assert_cmpstr(jrec_end_reason_word(core_records[i].core_cause), ==,
                        core_records[i].end_reason);
        g_assert_cmpuint(jrec_end_cause_of(core_records[i].end_reason, core_records[i].outcome), ==,
                         core_records[i].back);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(rows_before); i++)
        g_assert_cmpuint(jrec_end_cause_of("normal", rows_before[i].outcome), ==,
                         rows_before[i].back);
    /* The word wins over the outcome; NULL is none; an unknown word is
     * taken as not lost. */
    g_assert_cmpuint(jrec_end_cause_of("busy", UCD_OUTCOME_ANSWERED), ==, UCD_CAUSE_BUSY);
    g_assert_cmpuint(jrec_end_cause_of(NULL, UCD_OUTCOME_BUSY), ==, UCD_CAUSE_NONE);
    g_assert_cmpuint(jrec_end_cause_of("eaten_by_grue", UCD_OUTCOME_FAILED), ==, UCD_CAUSE_FAILED);
    g_assert_cmpuint(jrec_end_cause_of("normal", UCD_OUTCOME_BLOCKED + 1), ==, UCD_CAUSE_NORMAL);
}

/* A 1.1 record's enums are copied, and give the words when those are
 * missing (end_reason: the cause's word); a word and an enum both set stay
 * as given. */
static void test_codes_copied(void)
{
    ucd_journal_record r = sample();
    r.end_cause = UCD_CAUSE_LINK_LOST;
    r.forward_reason_code = UCD_FORWARD_REASON_BUSY;
    GString *problems = g_string_new(NULL);
    jrec_record *c = copy_with(&r, problems);
    g_assert_cmpuint(c->rec.end_cause, ==, UCD_CAUSE_LINK_LOST);
    g_assert_cmpuint(c->rec.forward_reason_code, ==, UCD_FORWARD_REASON_BUSY);
    g_assert_cmpstr(c->rec.end_reason, ==, "link_lost");
    g_assert_cmpstr(c->rec.forward_reason, ==, "busy");
    jrec_free(c);

    r.end_cause = UCD_CAUSE_BUSY;
    r.end_reason = NULL;
    c = copy_with(&r, problems);
    g_assert_cmpuint(c->rec.end_cause, ==, UCD_CAUSE_BUSY);
    g_assert_cmpstr(c->rec.end_reason, ==, "busy");
    jrec_free(c);

    r.end_reason = "link_lost";
    c = copy_with(&r, problems);
    g_assert_cmpuint(c->rec.end_cause, ==, UCD_CAUSE_BUSY);
    g_assert_cmpstr(c->rec.end_reason, ==, "link_lost");
    jrec_free(c);

    r.end_reason = "normal";
    c = copy_with(&r, problems);
    g_assert_cmpuint(c->rec.end_cause, ==, UCD_CAUSE_BUSY);
    g_assert_cmpstr(c->rec.end_reason, ==, "normal");
    jrec_free(c);

    /* A cause newer than this build keeps its value and the word given. */
    r.end_cause = 99;
    r.end_reason = "eaten_by_grue";
    c = copy_with(&r, problems);
    g_assert_cmpuint(c->rec.end_cause, ==, 99);
    g_assert_cmpstr(c->rec.end_reason, ==, "eaten_by_grue");
    jrec_free(c);
    g_assert_cmpstr(problems->str, ==, "");
    g_string_free(problems, TRUE);
}

/* A record built against journal 1.0 ends before the enums: they are not
 * read (whatever lies beyond its struct_size) but derived from its words. */
static void test_codes_of_a_1_0_record(void)
{
    ucd_journal_record r = sample();
    r.struct_size = offsetof(ucd_journal_record, end_cause);
    r.end_reason = "link_lost";
    r.forward_reason = "deflect";
    r.end_cause = UCD_CAUSE_BLOCKED; /* beyond struct_size: must not be read */
    r.forward_reason_code = UCD_FORWARD_REASON_BUSY;
    jrec_record *c = copy_with(&r, NULL);
    g_assert_cmpuint(c->rec.struct_size, ==, sizeof(ucd_journal_record));
    g_assert_cmpuint(c->rec.end_cause, ==, UCD_CAUSE_LINK_LOST);
    g_assert_cmpuint(c->rec.forward_reason_code, ==, UCD_FORWARD_REASON_DEFLECT);
    jrec_free(c);
}

/* What a store that keeps the words gives back, and the serialized form
 * (spool, queue files) that keeps only the words too. */
static void test_codes_from_words(void)
{
    ucd_journal_record r = {
        .struct_size = sizeof(r), .end_reason = "transferred", .forward_reason = "no_answer"};
    jrec_codes_from_words(&r);
    g_assert_cmpuint(r.end_cause, ==, UCD_CAUSE_TRANSFERRED);
    g_assert_cmpuint(r.forward_reason_code, ==, UCD_FORWARD_REASON_NO_ANSWER);
    r.end_reason = NULL;
    r.forward_reason = NULL;
    jrec_codes_from_words(&r);
    g_assert_cmpuint(r.end_cause, ==, UCD_CAUSE_NONE);
    g_assert_cmpuint(r.forward_reason_code, ==, UCD_FORWARD_REASON_NONE);

    ucd_journal_record s = sample();
    s.end_cause = UCD_CAUSE_LINK_LOST;
    s.forward_reason_code = UCD_FORWARD_REASON_BUSY;
    jrec_record *c = copy_with(&s, NULL);
    GVariant *v = g_variant_ref_sink(jrec_to_variant(&c->rec));
    jrec_record *back = jrec_from_variant(v);
    g_assert_cmpuint(back->rec.end_cause, ==, UCD_CAUSE_LINK_LOST);
    g_assert_cmpuint(back->rec.forward_reason_code, ==, UCD_FORWARD_REASON_BUSY);
    g_variant_unref(v);
    jrec_free(back);
    jrec_free(c);

    /* Every record of the core comes back from the serialized form (the
     * spool) with the end_cause the core gave it (core_records: all but an
     * unanswered NORMAL exactly). */
    for (size_t i = 0; i < G_N_ELEMENTS(core_records); i++) {
        s = sample();
        s.outcome = core_records[i].outcome;
        s.end_reason = core_records[i].end_reason;
        s.end_cause = core_records[i].core_cause;
        c = copy_with(&s, NULL);
        g_assert_cmpuint(c->rec.end_cause, ==, core_records[i].core_cause);
        v = g_variant_ref_sink(jrec_to_variant(&c->rec));
        back = jrec_from_variant(v);
        g_assert_cmpuint(back->rec.end_cause, ==, core_records[i].back);
        g_variant_unref(v);
        jrec_free(back);
        jrec_free(c);
    }
}

/* ---- the spool ---- */

static char *spool_dir;
static GString *spool_messages;

static void record_message(void *data, int level, const char *message)
{
    g_string_append_printf(spool_messages, "%d %s\n", level, message);
}

static spool *open_spool(uint64_t segment_bytes)
{
    spool_options options = {.segment_bytes = segment_bytes, .log = record_message};
    char *error = NULL;
    spool *s = spool_open(spool_dir, &options, &error);
    g_assert_no_errno(s == NULL ? -1 : 0);
    g_assert_null(error);
    return s;
}

static void append_numbers(spool *s, int first, int count)
{
    GBytes **payloads = g_new(GBytes *, count);
    for (int i = 0; i < count; i++)
        payloads[i] = g_bytes_new_take(g_strdup_printf("record %06d", first + i), 13);
    char *error = NULL;
    g_assert_cmpint(spool_append(s, payloads, (unsigned)count, &error), ==, 0);
    for (int i = 0; i < count; i++)
        g_bytes_unref(payloads[i]);
    g_free(payloads);
}

/* Reads `count` payloads, checks they are first.., and consumes them. */
static void expect_numbers(spool *s, int first, int count, gboolean consume)
{
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    char *error = NULL;
    g_assert_cmpint(spool_read(s, (unsigned)count, out, &error), ==, count);
    for (int i = 0; i < count; i++) {
        char *want = g_strdup_printf("record %06d", first + i);
        gsize n = 0;
        const char *data = g_bytes_get_data(out->pdata[i], &n);
        g_assert_cmpmem(data, n, want, 13);
        g_free(want);
    }
    if (consume)
        g_assert_cmpint(spool_consume(s, (unsigned)count, &error), ==, 0);
    g_ptr_array_unref(out);
}

static void spool_setup(void)
{
    spool_dir = g_dir_make_tmp("spool-test-XXXXXX", NULL);
    spool_messages = g_string_new(NULL);
}

static void spool_teardown(void)
{
    const char *name;
    GDir *d = g_dir_open(spool_dir, 0, NULL);
    while ((name = g_dir_read_name(d)) != NULL) {
        char *path = g_build_filename(spool_dir, name, NULL);
        g_unlink(path);
        g_free(path);
    }
    g_dir_close(d);
    g_rmdir(spool_dir);
    g_free(spool_dir);
    g_string_free(spool_messages, TRUE);
}

static unsigned count_files(const char *suffix)
{
    unsigned n = 0;
    const char *name;
    GDir *d = g_dir_open(spool_dir, 0, NULL);
    while ((name = g_dir_read_name(d)) != NULL)
        n += g_str_has_suffix(name, suffix);
    g_dir_close(d);
    return n;
}

static void test_spool_order_and_segments(void)
{
    spool_setup();
    spool *s = open_spool(200); /* a few frames per segment */
    for (int i = 0; i < 10; i++)
        append_numbers(s, i * 5, 5);
    g_assert_cmpuint(spool_depth(s), ==, 50);
    g_assert_cmpuint(count_files(".seg"), >, 3);
    expect_numbers(s, 0, 20, TRUE);
    unsigned left = count_files(".seg");
    expect_numbers(s, 20, 30, TRUE);
    g_assert_cmpuint(spool_depth(s), ==, 0);
    g_assert_cmpuint(left, <, 10);
    g_assert_cmpuint(count_files(".seg"), ==, 0); /* drained: nothing left behind */
    append_numbers(s, 100, 2);
    expect_numbers(s, 100, 2, FALSE);
    spool_close(s);
    spool_teardown();
}

static void test_spool_restart_mid_replay(void)
{
    spool_setup();
    spool *s = open_spool(0);
    append_numbers(s, 0, 30);
    expect_numbers(s, 0, 10, TRUE);
    expect_numbers(s, 10, 5, FALSE); /* read but not consumed: the crash came first */
    spool_close(s);
    s = open_spool(0);
    g_assert_cmpuint(spool_depth(s), ==, 20);
    expect_numbers(s, 10, 20, TRUE);
    spool_close(s);
    spool_teardown();
}

static char *only_segment(void)
{
    const char *name;
    char *path = NULL;
    GDir *d = g_dir_open(spool_dir, 0, NULL);
    while ((name = g_dir_read_name(d)) != NULL)
        if (g_str_has_suffix(name, ".seg"))
            path = g_build_filename(spool_dir, name, NULL);
    g_dir_close(d);
    return path;
}

static void test_spool_torn_tail(void)
{
    spool_setup();
    spool *s = open_spool(0);
    append_numbers(s, 0, 10);
    spool_close(s);
    /* A write cut short: half a frame at the end. */
    char *path = only_segment();
    int fd = open(path, O_WRONLY | O_APPEND);
    g_assert_cmpint(write(fd, "UcSp\x20\x00\x00\x00garb", 12), ==, 12);
    close(fd);
    s = open_spool(0);
    g_assert_cmpuint(spool_depth(s), ==, 10);
    g_assert_nonnull(strstr(spool_messages->str, "torn tail of 12 bytes"));
    g_assert_cmpuint(spool_damaged_bytes(s), ==, 0);
    append_numbers(s, 10, 5); /* appends after the cut, not after the garbage */
    expect_numbers(s, 0, 15, TRUE);
    spool_close(s);
    g_free(path);
    spool_teardown();
}

static void test_spool_damage_in_the_middle(void)
{
    spool_setup();
    spool *s = open_spool(0);
    append_numbers(s, 0, 10);
    spool_close(s);
    /* Frames are 12 + 13 bytes: garble a byte of the third payload. */
    char *path = only_segment();
    int fd = open(path, O_WRONLY);
    g_assert_cmpint(pwrite(fd, "#", 1, 2 * 25 + 12 + 3), ==, 1);
    close(fd);
    s = open_spool(0);
    g_assert_cmpuint(spool_depth(s), ==, 9);
    g_assert_cmpuint(spool_damaged_bytes(s), ==, 25);
    g_assert_nonnull(strstr(spool_messages->str, "skipped 25 bytes"));
    expect_numbers(s, 0, 2, TRUE);
    expect_numbers(s, 3, 7, TRUE);
    spool_close(s);
    g_free(path);
    spool_teardown();
}

static void test_crc(void)
{
    /* The check value of CRC-32/ISO-HDLC. */
    g_assert_cmphex(spool_crc32(0, "123456789", 9), ==, 0xcbf43926);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/jrec/clean", test_clean_record_unchanged);
    g_test_add_func("/jrec/texts", test_texts_sanitized);
    g_test_add_func("/jrec/utf16-cut", test_cut_counts_utf16_units);
    g_test_add_func("/jrec/times", test_times);
    g_test_add_func("/jrec/bad-uuid", test_bad_uuid_refused);
    g_test_add_func("/jrec/privacy", test_privacy);
    g_test_add_func("/jrec/number-key", test_number_key);
    g_test_add_func("/jrec/variant", test_variant_round_trip);
    g_test_add_func("/jrec/codes/words", test_words_both_ways);
    g_test_add_func("/jrec/codes/end-cause-of-outcome", test_end_cause_of_outcome);
    g_test_add_func("/jrec/codes/copied", test_codes_copied);
    g_test_add_func("/jrec/codes/journal-1.0", test_codes_of_a_1_0_record);
    g_test_add_func("/jrec/codes/from-words", test_codes_from_words);
    g_test_add_func("/spool/crc", test_crc);
    g_test_add_func("/spool/order-and-segments", test_spool_order_and_segments);
    g_test_add_func("/spool/restart-mid-replay", test_spool_restart_mid_replay);
    g_test_add_func("/spool/torn-tail", test_spool_torn_tail);
    g_test_add_func("/spool/damage-in-the-middle", test_spool_damage_in_the_middle);
    return g_test_run();
}
