/*
 * test-bus-core-events.c - the bus's copies of the two events only the core
 * publishes (host 1.4): a conversation that ended (a journal record with its
 * strings and participants) and a directory change. The publisher scribbles
 * over and frees everything right after publishing, so a subscriber that sees
 * the values saw copies.
 */
#include <stddef.h>
#include <string.h>
#include <ucd/journal.h>

#include "bus.h"

typedef struct got {
    GPtrArray *lines; /* one line of text per event */
} got;

static const char *s(const char *str)
{
    return str ? str : "(null)";
}

static void describe_record(GString *out, const ucd_journal_record *r)
{
    g_string_append_printf(
        out,
        "size=%u dir=%u outcome=%u flags=%u uuid=%s drv=%s start=%" G_GINT64_FORMAT
        " answer=%" G_GINT64_FORMAT " end=%" G_GINT64_FORMAT
        " src=%s/%s/%s req=%s/%s dst=%s/%s/%s xfer=%s fwd=%s pickup=%s "
        "reason=%s tags=%s memo=%s cause=%u fwdcode=%u psize=%u parts=",
        r->struct_size, r->direction, r->outcome, r->flags, s(r->uuid), s(r->driver_instance),
        r->start_ms, r->answer_ms, r->end_ms, s(r->source_number), s(r->source_e164),
        s(r->source_name), s(r->requested_number), s(r->requested_e164), s(r->destination_number),
        s(r->destination_e164), s(r->destination_name), s(r->transferred_by), s(r->forward_reason),
        s(r->picked_up_by), s(r->end_reason), s(r->tags), s(r->memo), r->end_cause,
        r->forward_reason_code, r->participant_size);
    for (uint32_t i = 0; i < r->participant_count; i++) {
        const ucd_journal_participant *p = &r->participants[i];
        g_string_append_printf(
            out, "%s%u:%u:%s:%s:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT,
            i ? "," : "", p->struct_size, p->role, s(p->user_id), s(p->line), p->joined_ms,
            p->answered_ms, p->left_ms);
    }
}

static void record_cb(const ucd_event *ev, void *ud)
{
    got *g = ud;
    GString *line = g_string_new(NULL);
    g_string_printf(line, "[%s|%s] ", ev->source, s(ev->subject));
    if (ev->type == UCD_EVENT_CONVERSATION_ENDED) {
        const ucd_conversation_event *c = ev->payload;
        g_assert_cmpuint(c->struct_size, ==, sizeof *c);
        describe_record(line, c->record);
    } else if (ev->type == UCD_EVENT_DIRECTORY) {
        const ucd_directory_event *d = ev->payload;
        g_string_append_printf(line, "directory %u %u %u %s", d->struct_size, d->change, d->kind,
                               s(d->id));
    } else if (ev->type == UCD_EVENT_CALL_PARTY) {
        const ucd_call_party_event *p = ev->payload;
        g_string_append_printf(line, "party %s/%s %s %s %s %s %s|%s|%s|%s", s(p->driver_instance),
                               s(p->line), s(p->call_id), s(p->conversation_id), s(p->user_id),
                               s(p->remote_number), s(p->party_name), s(p->party_company),
                               s(p->party_source), s(p->party_user_id));
    }
    g_ptr_array_add(g->lines, g_string_free(line, FALSE));
}

typedef struct fixture {
    core_bus *bus;
    got got;
} fixture;

static void set_up(fixture *f, gconstpointer data)
{
    f->bus = core_bus_new(NULL, 64);
    f->got.lines = g_ptr_array_new_with_free_func(g_free);
    core_bus_subscribe(f->bus, "test", NULL, record_cb, &f->got);
}

static void tear_down(fixture *f, gconstpointer data)
{
    core_bus_free(f->bus);
    g_ptr_array_free(f->got.lines, TRUE);
}

static void assert_got(fixture *f, const char *const *expected)
{
    core_bus_flush(f->bus);
    guint n = g_strv_length((char **)expected);
    for (guint i = 0; i < MIN(n, f->got.lines->len); i++)
        g_assert_cmpstr(f->got.lines->pdata[i], ==, expected[i]);
    g_assert_cmpuint(f->got.lines->len, ==, n);
}

/* Strings the publisher owns, scribbled over and freed after publishing. */
static GPtrArray *owned;

static const char *own(const char *str)
{
    char *copy = g_strdup(str);
    g_ptr_array_add(owned, copy);
    return copy;
}

static void scribble_and_free(void)
{
    for (guint i = 0; i < owned->len; i++)
        memset(owned->pdata[i], 'X', strlen(owned->pdata[i]));
    g_ptr_array_free(owned, TRUE);
    owned = NULL;
}

/* A participant as a newer publisher would build it: a member appended. */
typedef struct newer_participant {
    ucd_journal_participant known;
    uint64_t added_later;
} newer_participant;

static ucd_journal_record *full_record(void *parts_memory, size_t stride)
{
    owned = g_ptr_array_new_with_free_func(g_free);
    ucd_journal_record *r = g_new0(ucd_journal_record, 1);
    *r = (ucd_journal_record){
        .struct_size = sizeof *r,
        .direction = UCD_DIR_INBOUND,
        .outcome = UCD_OUTCOME_ANSWERED,
        .flags = UCD_JOURNAL_FLAG_PRIVATE,
        .uuid = own("6d2c4a1e-0000-4000-8000-000000000001"),
        .driver_instance = own("pbx-sim:office"),
        .start_ms = 1000,
        .answer_ms = 2000,
        .end_ms = 3000,
        .source_number = own("0891234"),
        .source_e164 = own("+49891234"),
        .source_name = own("Caller"),
        .requested_number = own("201"),
        .requested_e164 = own("+4989555201"),
        .destination_number = own("202"),
        .destination_e164 = own("+4989555202"),
        .destination_name = own("Bob"),
        .transferred_by = own("u-alice"),
        .forward_reason = own("busy"),
        .picked_up_by = NULL,
        .end_reason = own("normal"),
        .tags = own("t1;t2"),
        .memo = own("memo"),
        .participant_count = 2,
        .participant_size = (uint32_t)stride,
        .end_cause = UCD_CAUSE_NORMAL,
        .forward_reason_code = UCD_FORWARD_REASON_BUSY,
    };
    for (int i = 0; i < 2; i++) {
        ucd_journal_participant *p =
            (ucd_journal_participant *)((unsigned char *)parts_memory + i * stride);
        *p = (ucd_journal_participant){sizeof *p,
                                       i ? UCD_ROLE_TRANSFER_TARGET : UCD_ROLE_CALLEE,
                                       i ? own("u-bob") : own("u-alice"),
                                       i ? own("202") : own("201"),
                                       1000 + i,
                                       2000 + i,
                                       3000 + i};
    }
    r->participants = parts_memory;
    return r;
}

static int publish_conversation(fixture *f, const char *source, const ucd_journal_record *r)
{
    ucd_conversation_event ce = {.struct_size = sizeof ce, .record = r};
    ucd_event ev = {.struct_size = sizeof ev, .type = UCD_EVENT_CONVERSATION_ENDED, .payload = &ce};
    return core_bus_publish(f->bus, source, &ev);
}

static char *expected_full(uint32_t cause, uint32_t fwdcode)
{
    return g_strdup_printf(
        "[core|6d2c4a1e-0000-4000-8000-000000000001] size=%zu dir=1 outcome=0 flags=1 "
        "uuid=6d2c4a1e-0000-4000-8000-000000000001 drv=pbx-sim:office start=1000 answer=2000 "
        "end=3000 src=0891234/+49891234/Caller req=201/+4989555201 dst=202/+4989555202/Bob "
        "xfer=u-alice fwd=busy pickup=(null) reason=normal tags=t1;t2 memo=memo cause=%u "
        "fwdcode=%u psize=%zu "
        "parts=%zu:1:u-alice:201:1000:2000:3000,%zu:2:u-bob:202:1001:2001:3001",
        sizeof(ucd_journal_record), cause, fwdcode, sizeof(ucd_journal_participant),
        sizeof(ucd_journal_participant), sizeof(ucd_journal_participant));
}

static void test_conversation_copied(fixture *f, gconstpointer data)
{
    ucd_journal_participant parts[2];
    ucd_journal_record *r = full_record(parts, sizeof parts[0]);
    g_assert_cmpint(publish_conversation(f, "core", r), ==, UCD_OK);
    memset(parts, 0x5a, sizeof parts);
    memset(r, 0x5a, sizeof *r);
    g_free(r);
    scribble_and_free();
    char *want = expected_full(UCD_CAUSE_NORMAL, UCD_FORWARD_REASON_BUSY);
    assert_got(f, (const char *const[]){want, NULL});
    g_free(want);
}

/* A journal 1.0 record (no end_cause, forward_reason_code) with garbage past
 * its end, and participants of a newer, longer layout: the copy reads
 * neither past the record nor across the participants' real stride. */
static void test_conversation_sizes_normalized(fixture *f, gconstpointer data)
{
    newer_participant parts[2];
    memset(parts, 0x77, sizeof parts);
    ucd_journal_record *r = full_record(parts, sizeof parts[0]);
    r->struct_size = offsetof(ucd_journal_record, end_cause);
    r->end_cause = 0xdead;
    r->forward_reason_code = 0xbeef;
    g_assert_cmpint(publish_conversation(f, NULL, r), ==, UCD_OK); /* NULL source: the core */
    g_free(r);
    scribble_and_free();
    char *want = expected_full(0, 0);
    assert_got(f, (const char *const[]){want, NULL});
    g_free(want);
}

static void test_conversation_invalid(fixture *f, gconstpointer data)
{
    ucd_journal_participant parts[2];
    ucd_journal_record *r = full_record(parts, sizeof parts[0]);
    /* Only the core says a conversation ended. */
    g_assert_cmpint(publish_conversation(f, "pbx-sim:office", r), ==, UCD_E_INVALID);
    g_assert_cmpint(publish_conversation(f, "core", NULL), ==, UCD_E_INVALID);
    r->struct_size = offsetof(ucd_journal_record, end_cause) - 1;
    g_assert_cmpint(publish_conversation(f, "core", r), ==, UCD_E_INVALID);
    r->struct_size = sizeof *r;
    r->participant_size = sizeof parts[0] - 1;
    g_assert_cmpint(publish_conversation(f, "core", r), ==, UCD_E_INVALID);
    r->participant_size = sizeof parts[0];
    r->participants = NULL;
    g_assert_cmpint(publish_conversation(f, "core", r), ==, UCD_E_INVALID);
    r->participant_count = 1u << 30; /* no conversation has that many: refused, not allocated */
    r->participants = parts;
    g_assert_cmpint(publish_conversation(f, "core", r), ==, UCD_E_INVALID);
    ucd_conversation_event small = {.struct_size = offsetof(ucd_conversation_event, record),
                                    .record = r};
    ucd_event ev = {
        .struct_size = sizeof ev, .type = UCD_EVENT_CONVERSATION_ENDED, .payload = &small};
    g_assert_cmpint(core_bus_publish(f->bus, "core", &ev), ==, UCD_E_INVALID);
    /* No participants at all is a record too. */
    r->participant_count = 0;
    r->participants = NULL;
    r->participant_size = 0;
    g_assert_cmpint(publish_conversation(f, "core", r), ==, UCD_OK);
    g_free(r);
    scribble_and_free();
    core_bus_flush(f->bus);
    g_assert_cmpuint(f->got.lines->len, ==, 1);
    g_assert_true(g_str_has_suffix(f->got.lines->pdata[0], " parts="));
}

static int publish_directory(fixture *f, const char *source, uint32_t struct_size, uint32_t change,
                             uint32_t kind, const char *id)
{
    ucd_directory_event de = {.struct_size = struct_size, .change = change, .kind = kind, .id = id};
    ucd_event ev = {.struct_size = sizeof ev, .type = UCD_EVENT_DIRECTORY, .payload = &de};
    return core_bus_publish(f->bus, source, &ev);
}

static void test_directory_copied(fixture *f, gconstpointer data)
{
    char *id = g_strdup("pbx-sim:office/201");
    g_assert_cmpint(publish_directory(f, "core", sizeof(ucd_directory_event), UCD_CHANGE_ADDED,
                                      UCD_DIRECTORY_LINE, id),
                    ==, UCD_OK);
    memset(id, 'X', strlen(id));
    g_free(id);
    g_assert_cmpint(
        publish_directory(f, "core", sizeof(ucd_directory_event), UCD_CHANGE_RESYNCED, 0, NULL), ==,
        UCD_OK);
    g_assert_cmpint(publish_directory(f, "users-file", sizeof(ucd_directory_event),
                                      UCD_CHANGE_ADDED, UCD_DIRECTORY_USER, "u-1"),
                    ==, UCD_E_INVALID);
    g_assert_cmpint(publish_directory(f, "core", sizeof(ucd_directory_event) - 1, UCD_CHANGE_ADDED,
                                      UCD_DIRECTORY_USER, "u-1"),
                    ==, UCD_E_INVALID);
    char *want_line = g_strdup_printf("[core|pbx-sim:office/201] directory %zu 1 3 "
                                      "pbx-sim:office/201",
                                      sizeof(ucd_directory_event));
    char *want_resync =
        g_strdup_printf("[core|(null)] directory %zu 4 0 (null)", sizeof(ucd_directory_event));
    assert_got(f, (const char *const[]){want_line, want_resync, NULL});
    g_free(want_line);
    g_free(want_resync);
}

/* Who a call's party is: the core's word only, every string copied (the
 * publisher's freed right after), the line its subject. */
static void test_call_party_copied(fixture *f, gconstpointer data)
{
    char *name = g_strdup("Hans M\xc3\xbcller");
    ucd_call_party_event p = {.struct_size = sizeof p,
                              .driver_instance = "pbx-sim:office",
                              .line = "201",
                              .call_id = "c1",
                              .conversation_id = "v1",
                              .user_id = "file:alice",
                              .remote_number = "0301234567",
                              .party_name = name,
                              .party_source = "contacts-csv:crm"};
    ucd_event ev = {.struct_size = sizeof ev, .type = UCD_EVENT_CALL_PARTY, .payload = &p};
    g_assert_cmpint(core_bus_publish(f->bus, "core", &ev), ==, UCD_OK);
    memset(name, 'X', strlen(name));
    g_free(name);
    /* a driver naming a party would be a lie the clients believe */
    g_assert_cmpint(core_bus_publish(f->bus, "pbx-sim:office", &ev), ==, UCD_E_INVALID);
    p.struct_size = sizeof p - 1;
    g_assert_cmpint(core_bus_publish(f->bus, "core", &ev), ==, UCD_E_INVALID);
    assert_got(f, (const char *const[]){"[core|201] party pbx-sim:office/201 c1 v1 file:alice "
                                        "0301234567 Hans M\xc3\xbcller|(null)|contacts-csv:crm|"
                                        "(null)",
                                        NULL});
}

/* A subscriber filtering on a subject gets the events about it only. */
static void test_subject_filter(fixture *f, gconstpointer data)
{
    got mine = {g_ptr_array_new_with_free_func(g_free)};
    ucd_event_filter filter = {.struct_size = sizeof filter,
                               .subject = "6d2c4a1e-0000-4000-8000-000000000001"};
    core_bus_subscribe(f->bus, "uuid-watcher", &filter, record_cb, &mine);
    ucd_journal_participant parts[2];
    ucd_journal_record *r = full_record(parts, sizeof parts[0]);
    g_assert_cmpint(publish_conversation(f, "core", r), ==, UCD_OK);
    r->uuid = "another";
    g_assert_cmpint(publish_conversation(f, "core", r), ==, UCD_OK);
    g_free(r);
    scribble_and_free();
    core_bus_flush(f->bus);
    g_assert_cmpuint(f->got.lines->len, ==, 2);
    g_assert_cmpuint(mine.lines->len, ==, 1);
    g_assert_true(
        g_str_has_prefix(mine.lines->pdata[0], "[core|6d2c4a1e-0000-4000-8000-000000000001] "));
    g_ptr_array_free(mine.lines, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/bus/core-events/" name, fixture, NULL, set_up, fn, tear_down)
    ADD("conversation-copied", test_conversation_copied);
    ADD("conversation-sizes-normalized", test_conversation_sizes_normalized);
    ADD("conversation-invalid", test_conversation_invalid);
    ADD("directory-copied", test_directory_copied);
    ADD("call-party-copied", test_call_party_copied);
    ADD("subject-filter", test_subject_filter);
    return g_test_run();
}
