/*
 * test-bus.c - the event bus: content and order of every event type, deep
 * copies, filters, bounded queues, concurrent publishers, own-thread
 * subscribers and unsubscribe semantics.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "bus.h"

/* Records every delivered event as one line of text, so a test compares what
 * arrived with what it expects, whatever the type. */
typedef struct recorder {
    GPtrArray *lines;
    uint64_t last_seq;
    gboolean seq_increasing;
    GThread *thread; /* the thread the last callback ran on */
    int stop_after;  /* unsubscribe itself after this many events, 0 = never */
    core_bus *bus;
    ucd_subscription *sub;
} recorder;

static void recorder_init(recorder *rec, core_bus *bus)
{
    *rec = (recorder){
        .lines = g_ptr_array_new_with_free_func(g_free), .seq_increasing = TRUE, .bus = bus};
}

static void recorder_clear(recorder *rec)
{
    g_ptr_array_free(rec->lines, TRUE);
}

static const char *s(const char *str)
{
    return str ? str : "(null)";
}

static char *describe_payload(const ucd_event *ev)
{
    switch (ev->type) {
    case UCD_EVENT_LINE_STATE: {
        const ucd_line_state_event *p = ev->payload;
        return g_strdup_printf("line %u %s %s %u %s", p->state, s(p->driver_instance), s(p->line),
                               p->dnd, s(p->forward_to));
    }
    case UCD_EVENT_CALL_STATE: {
        const ucd_call_state_event *p = ev->payload;
        return g_strdup_printf(
            "call %u %u %u %u %u %s %s %s %s %s %s %s %s %u %u", p->state, p->prev_state,
            p->direction, p->cause, p->flags, s(p->driver_instance), s(p->line), s(p->call_id),
            s(p->conversation_id), s(p->remote_number), s(p->remote_name), s(p->requested_number),
            s(p->related_line), p->forward_reason, p->reserved);
    }
    case UCD_EVENT_PRESENCE: {
        const ucd_presence_event *p = ev->payload;
        return g_strdup_printf("presence %u %u %u %u %u %s %s %" G_GINT64_FORMAT " %s|%s", p->state,
                               p->prev_state, p->manual_state, p->line_state, p->calendar_state,
                               s(p->user_id), s(p->note), p->until_ms, s(p->party_name),
                               s(p->party_company));
    }
    case UCD_EVENT_USER_CHANGED: {
        const ucd_user_changed_event *p = ev->payload;
        return g_strdup_printf("user %u %s %s", p->change, s(p->user_id), s(p->backend));
    }
    case UCD_EVENT_APPOINTMENT: {
        const ucd_appointment_event *p = ev->payload;
        return g_strdup_printf("appointment %u %u %s %s %s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
                               " %s",
                               p->change, p->show_as, s(p->user_id), s(p->uid), s(p->subject),
                               p->start_ms, p->end_ms, s(p->source));
    }
    case UCD_EVENT_MODULE_STATE: {
        const ucd_module_state_event *p = ev->payload;
        return g_strdup_printf("module %u %s %s", p->state, s(p->module), s(p->message));
    }
    case UCD_EVENT_CUSTOM: {
        const ucd_custom_event *p = ev->payload;
        char *hex = p->data ? g_strndup(p->data, p->length) : g_strdup("(null)");
        char *out =
            g_strdup_printf("custom %s %" G_GUINT64_FORMAT " %s", s(p->name), p->length, hex);
        g_free(hex);
        return out;
    }
    default:
        return g_strdup("unknown");
    }
}

static void record_cb(const ucd_event *ev, void *user_data)
{
    recorder *rec = user_data;
    if (ev->seq <= rec->last_seq)
        rec->seq_increasing = FALSE;
    rec->last_seq = ev->seq;
    rec->thread = g_thread_self();
    /* Every payload starts with struct_size: this core's size, whatever was sent. */
    char *payload = describe_payload(ev);
    g_ptr_array_add(rec->lines, g_strdup_printf("[%s|%s] %s", ev->source, s(ev->subject), payload));
    g_free(payload);
    if (rec->stop_after > 0 && (int)rec->lines->len == rec->stop_after)
        core_bus_unsubscribe(rec->bus, rec->sub);
}

static void assert_lines(recorder *rec, const char *const *expected)
{
    guint n = g_strv_length((char **)expected);
    for (guint i = 0; i < MIN(n, rec->lines->len); i++)
        g_assert_cmpstr(rec->lines->pdata[i], ==, expected[i]);
    g_assert_cmpuint(rec->lines->len, ==, n);
}

/* A publisher that frees (and scribbles over) its strings right after publishing. */
static int publish_then_free(core_bus *bus, const char *source, ucd_event *ev, char **strings)
{
    int rc = core_bus_publish(bus, source, ev);
    for (char **p = strings; *p; p++)
        memset(*p, 'X', strlen(*p));
    g_strfreev(strings);
    return rc;
}

static char **strv(const char *first, ...) G_GNUC_NULL_TERMINATED;
static char **strv(const char *first, ...)
{
    GStrvBuilder *b = g_strv_builder_new();
    va_list ap;
    va_start(ap, first);
    for (const char *p = first; p; p = va_arg(ap, const char *))
        g_strv_builder_add(b, p);
    va_end(ap);
    char **out = g_strv_builder_end(b);
    g_strv_builder_unref(b);
    return out;
}

static ucd_event header(uint32_t type, const void *payload)
{
    return (ucd_event){.struct_size = sizeof(ucd_event), .type = type, .payload = payload};
}

static void publish_every_type(core_bus *bus)
{
    char **v = strv("pbx-sim:office", "201", "300", NULL);
    ucd_line_state_event line = {sizeof(line), UCD_LINE_BUSY, v[0], v[1], 1, v[2]};
    ucd_event ev = header(UCD_EVENT_LINE_STATE, &line);
    g_assert_cmpint(publish_then_free(bus, "pbx-sim:office", &ev, v), ==, UCD_OK);

    v = strv("pbx-sim:office", "202", "c1", "conv1", "+4930123", "Alice", "555", "203", NULL);
    ucd_call_state_event call = {sizeof(call),
                                 UCD_CALL_CONNECTED,
                                 UCD_CALL_OFFERING,
                                 UCD_DIR_INBOUND,
                                 UCD_CAUSE_NORMAL,
                                 UCD_CALL_FLAG_PRIVATE,
                                 v[0],
                                 v[1],
                                 v[2],
                                 v[3],
                                 v[4],
                                 v[5],
                                 v[6],
                                 v[7],
                                 UCD_FORWARD_REASON_BUSY,
                                 0};
    ev = header(UCD_EVENT_CALL_STATE, &call);
    g_assert_cmpint(publish_then_free(bus, "pbx-sim:office", &ev, v), ==, UCD_OK);

    v = strv("alice", "at lunch", "Hans M\xc3\xbcller", "M\xc3\xbcller GmbH", NULL);
    ucd_presence_event presence = {sizeof(presence),
                                   UCD_PRESENCE_AWAY,
                                   UCD_PRESENCE_AVAILABLE,
                                   UCD_PRESENCE_AWAY,
                                   UCD_PRESENCE_AVAILABLE,
                                   UCD_PRESENCE_UNKNOWN,
                                   v[0],
                                   v[1],
                                   1700000000000,
                                   v[2],
                                   v[3]};
    ev = header(UCD_EVENT_PRESENCE, &presence);
    g_assert_cmpint(publish_then_free(bus, NULL, &ev, v), ==, UCD_OK);

    v = strv("bob", "users-ldap", NULL);
    ucd_user_changed_event user = {sizeof(user), UCD_CHANGE_MODIFIED, v[0], v[1]};
    ev = header(UCD_EVENT_USER_CHANGED, &user);
    g_assert_cmpint(publish_then_free(bus, "users-ldap", &ev, v), ==, UCD_OK);

    v = strv("carol", "uid-7", "Review", "cal-ews", NULL);
    ucd_appointment_event appt = {
        sizeof(appt), UCD_CHANGE_ADDED, UCD_SHOW_BUSY, v[0], v[1], v[2], 1000, 2000, v[3]};
    ev = header(UCD_EVENT_APPOINTMENT, &appt);
    g_assert_cmpint(publish_then_free(bus, "cal-ews", &ev, v), ==, UCD_OK);

    v = strv("journal-sqlite", "disk full", NULL);
    ucd_module_state_event mod = {sizeof(mod), UCD_MODULE_FAILED, v[0], v[1]};
    ev = header(UCD_EVENT_MODULE_STATE, &mod);
    g_assert_cmpint(publish_then_free(bus, "core", &ev, v), ==, UCD_OK);

    v = strv("acme.crm.lookup", "payload-bytes", "explicit-subject", NULL);
    ucd_custom_event custom = {sizeof(custom), 0, v[0], v[1], strlen(v[1])};
    ev = header(UCD_EVENT_CUSTOM, &custom);
    ev.subject = v[2];
    g_assert_cmpint(publish_then_free(bus, "acme", &ev, v), ==, UCD_OK);
}

static const char *const every_type_expected[] = {
    "[pbx-sim:office|201] line 4 pbx-sim:office 201 1 300",
    "[pbx-sim:office|202] call 4 3 1 1 1 pbx-sim:office 202 c1 conv1 +4930123 Alice 555 203 2 0",
    "[core|alice] presence 2 1 2 1 0 alice at lunch 1700000000000 Hans M\xc3\xbcller|M\xc3\xbcller "
    "GmbH",
    "[users-ldap|bob] user 2 bob users-ldap",
    "[cal-ews|carol] appointment 1 2 carol uid-7 Review 1000 2000 cal-ews",
    "[core|journal-sqlite] module 5 journal-sqlite disk full",
    "[acme|explicit-subject] custom acme.crm.lookup 13 payload-bytes",
    NULL,
};

static void test_every_type(void)
{
    core_bus *bus = core_bus_new(NULL, 64);
    recorder rec;
    recorder_init(&rec, bus);
    core_bus_subscribe(bus, "test", NULL, record_cb, &rec);
    publish_every_type(bus);
    g_assert_cmpuint(rec.lines->len, ==, 0); /* nothing before the loop runs */
    core_bus_flush(bus);
    assert_lines(&rec, every_type_expected);
    g_assert_true(rec.seq_increasing);
    g_assert_cmpuint(core_bus_published(bus), ==, 7);
    recorder_clear(&rec);
    core_bus_free(bus);
}

static void check_header_cb(const ucd_event *ev, void *user_data)
{
    int *calls = user_data;
    const ucd_custom_event *c = ev->payload;
    g_assert_cmpuint(ev->struct_size, ==, sizeof(ucd_event));
    g_assert_cmpuint(c->struct_size, ==, sizeof(ucd_custom_event));
    if (c->length == 0) {
        g_assert_null(c->data);
        g_assert_cmpint(ev->time_ms, ==, 42); /* given: kept */
    } else {
        int64_t now = g_get_real_time() / 1000;
        g_assert_cmpint(ev->time_ms, >, now - 60000); /* 0: set to now (UTC ms) */
        g_assert_cmpint(ev->time_ms, <=, now);
        g_assert_true(((uintptr_t)c->data % sizeof(uint64_t)) == 0);
        g_assert_cmpmem(c->data, c->length, "\0\1\2\3\4", 5);
    }
    (*calls)++;
}

static void test_header_fields(void)
{
    core_bus *bus = core_bus_new(NULL, 64);
    int calls = 0;
    core_bus_subscribe(bus, "test", NULL, check_header_cb, &calls);
    ucd_custom_event binary = {sizeof(binary), 0, "bin", "\0\1\2\3\4", 5};
    ucd_event ev = header(UCD_EVENT_CUSTOM, &binary);
    g_assert_cmpint(core_bus_publish(bus, "x", &ev), ==, UCD_OK);
    ucd_custom_event empty = {sizeof(empty), 0, "empty", "ignored", 0};
    ev = header(UCD_EVENT_CUSTOM, &empty);
    ev.time_ms = 42;
    g_assert_cmpint(core_bus_publish(bus, "x", &ev), ==, UCD_OK);
    core_bus_flush(bus);
    g_assert_cmpint(calls, ==, 2);
    core_bus_free(bus);
}

/* ---- filters --------------------------------------------------------------- */

static void publish_module_state(core_bus *bus, const char *source, const char *module)
{
    ucd_module_state_event m = {sizeof(m), UCD_MODULE_RUNNING, module, NULL};
    ucd_event ev = header(UCD_EVENT_MODULE_STATE, &m);
    g_assert_cmpint(core_bus_publish(bus, source, &ev), ==, UCD_OK);
}

static void publish_user(core_bus *bus, const char *source, const char *user)
{
    ucd_user_changed_event u = {sizeof(u), UCD_CHANGE_ADDED, user, source};
    ucd_event ev = header(UCD_EVENT_USER_CHANGED, &u);
    g_assert_cmpint(core_bus_publish(bus, source, &ev), ==, UCD_OK);
}

static void test_filters(void)
{
    core_bus *bus = core_bus_new(NULL, 64);
    recorder by_type, by_subject, by_source, combined, all;
    recorder *recs[] = {&by_type, &by_subject, &by_source, &combined, &all};
    for (guint i = 0; i < G_N_ELEMENTS(recs); i++)
        recorder_init(recs[i], bus);

    ucd_event_filter f = {.struct_size = sizeof(f)};
    f.type_mask = UCD_EVENT_MASK(UCD_EVENT_USER_CHANGED);
    core_bus_subscribe(bus, "t", &f, record_cb, &by_type);
    f = (ucd_event_filter){.struct_size = sizeof(f), .subject = "m1"};
    core_bus_subscribe(bus, "t", &f, record_cb, &by_subject);
    f = (ucd_event_filter){.struct_size = sizeof(f), .source = "src-b"};
    core_bus_subscribe(bus, "t", &f, record_cb, &by_source);
    f = (ucd_event_filter){.struct_size = sizeof(f),
                           .type_mask = UCD_EVENT_MASK(UCD_EVENT_USER_CHANGED) |
                                        UCD_EVENT_MASK(UCD_EVENT_PRESENCE),
                           .subject = "u1",
                           .source = "src-a"};
    core_bus_subscribe(bus, "t", &f, record_cb, &combined);
    core_bus_subscribe(bus, "t", NULL, record_cb, &all);

    publish_module_state(bus, "src-a", "m1");
    publish_module_state(bus, "src-b", "m2");
    publish_user(bus, "src-a", "u1");
    publish_user(bus, "src-b", "u1");
    publish_user(bus, "src-a", "u2");
    core_bus_flush(bus);

    assert_lines(&by_type,
                 (const char *const[]){"[src-a|u1] user 1 u1 src-a", "[src-b|u1] user 1 u1 src-b",
                                       "[src-a|u2] user 1 u2 src-a", NULL});
    assert_lines(&by_subject, (const char *const[]){"[src-a|m1] module 2 m1 (null)", NULL});
    assert_lines(&by_source, (const char *const[]){"[src-b|m2] module 2 m2 (null)",
                                                   "[src-b|u1] user 1 u1 src-b", NULL});
    assert_lines(&combined, (const char *const[]){"[src-a|u1] user 1 u1 src-a", NULL});
    g_assert_cmpuint(all.lines->len, ==, 5);
    for (guint i = 0; i < G_N_ELEMENTS(recs); i++)
        recorder_clear(recs[i]);
    core_bus_free(bus);
}

/* ---- bounded queues ------------------------------------------------------- */

typedef struct stats_seen {
    guint count;
    uint64_t dropped_small;
    uint32_t capacity_small;
} stats_seen;

static void collect_stats(const core_bus_sub_stats *st, void *ud)
{
    stats_seen *seen = ud;
    seen->count++;
    if (g_strcmp0(st->owner, "small") == 0) {
        seen->dropped_small = st->dropped;
        seen->capacity_small = st->capacity;
    }
}

static void test_full_queue_drops(void)
{
    core_bus *bus = core_bus_new(NULL, 64);
    recorder small, large;
    recorder_init(&small, bus);
    recorder_init(&large, bus);
    ucd_event_filter f = {.struct_size = sizeof(f), .queue_size = 4};
    ucd_subscription *small_sub = core_bus_subscribe(bus, "small", &f, record_cb, &small);
    ucd_subscription *large_sub = core_bus_subscribe(bus, "large", NULL, record_cb, &large);

    /* The loop does not run meanwhile: each publish returns at once anyway. */
    for (int i = 0; i < 10; i++) {
        char *id = g_strdup_printf("u%d", i);
        publish_user(bus, "src", id);
        g_free(id);
    }
    g_assert_cmpuint(core_bus_dropped(small_sub), ==, 6);
    g_assert_cmpuint(core_bus_dropped(large_sub), ==, 0);
    stats_seen seen = {0};
    core_bus_foreach(bus, collect_stats, &seen);
    g_assert_cmpuint(seen.count, ==, 2);
    g_assert_cmpuint(seen.dropped_small, ==, 6);
    g_assert_cmpuint(seen.capacity_small, ==, 4);

    core_bus_flush(bus);
    /* The first four were kept, in order; later ones were lost. */
    assert_lines(&small,
                 (const char *const[]){"[src|u0] user 1 u0 src", "[src|u1] user 1 u1 src",
                                       "[src|u2] user 1 u2 src", "[src|u3] user 1 u3 src", NULL});
    g_assert_cmpuint(large.lines->len, ==, 10);

    /* Room again after delivery. */
    publish_user(bus, "src", "again");
    core_bus_flush(bus);
    g_assert_cmpuint(small.lines->len, ==, 5);
    g_assert_cmpuint(core_bus_dropped(small_sub), ==, 6);
    recorder_clear(&small);
    recorder_clear(&large);
    core_bus_free(bus);
}

/* ---- concurrent publishers ------------------------------------------------ */

#define PUBLISHERS      4
#define PER_PUBLISHER   20000
#define CONCURRENT_SUBS 2

typedef struct concurrent_sub {
    uint32_t next[PUBLISHERS]; /* the counter expected next from each publisher */
    uint64_t last_seq;
    guint received;
    gboolean in_order;
} concurrent_sub;

typedef struct concurrent_run {
    core_bus *bus;
    int index;
} concurrent_run;

static gpointer publisher_thread(gpointer data)
{
    concurrent_run *run = data;
    for (uint32_t i = 0; i < PER_PUBLISHER; i++) {
        uint32_t body[2] = {(uint32_t)run->index, i};
        ucd_custom_event c = {sizeof(c), 0, "count", body, sizeof(body)};
        ucd_event ev = header(UCD_EVENT_CUSTOM, &c);
        g_assert_cmpint(core_bus_publish(run->bus, "pub", &ev), ==, UCD_OK);
    }
    return NULL;
}

static void concurrent_cb(const ucd_event *ev, void *user_data)
{
    concurrent_sub *cs = user_data;
    const ucd_custom_event *c = ev->payload;
    uint32_t body[2];
    memcpy(body, c->data, sizeof(body));
    if (ev->seq <= cs->last_seq || body[0] >= PUBLISHERS || body[1] != cs->next[body[0]])
        cs->in_order = FALSE;
    else
        cs->next[body[0]]++;
    cs->last_seq = ev->seq;
    cs->received++;
}

static void test_concurrent_publishers(void)
{
    core_bus *bus = core_bus_new(NULL, PUBLISHERS * PER_PUBLISHER);
    concurrent_sub subs[CONCURRENT_SUBS] = {0};
    ucd_subscription *handles[CONCURRENT_SUBS];
    for (int i = 0; i < CONCURRENT_SUBS; i++) {
        subs[i].in_order = TRUE;
        handles[i] = core_bus_subscribe(bus, "t", NULL, concurrent_cb, &subs[i]);
    }
    concurrent_run runs[PUBLISHERS];
    GThread *threads[PUBLISHERS];
    for (int i = 0; i < PUBLISHERS; i++) {
        runs[i] = (concurrent_run){bus, i};
        threads[i] = g_thread_new("publisher", publisher_thread, &runs[i]);
    }
    /* Deliver while they publish: the bus must wake the loop by itself. */
    while (subs[CONCURRENT_SUBS - 1].received < PUBLISHERS * PER_PUBLISHER)
        g_main_context_iteration(NULL, TRUE);
    for (int i = 0; i < PUBLISHERS; i++)
        g_thread_join(threads[i]);
    core_bus_flush(bus);

    g_assert_cmpuint(core_bus_published(bus), ==, PUBLISHERS * PER_PUBLISHER);
    for (int i = 0; i < CONCURRENT_SUBS; i++) {
        g_assert_true(subs[i].in_order);
        g_assert_cmpuint(subs[i].received, ==, PUBLISHERS * PER_PUBLISHER);
        g_assert_cmpuint(core_bus_dropped(handles[i]), ==, 0);
        for (int p = 0; p < PUBLISHERS; p++)
            g_assert_cmpuint(subs[i].next[p], ==, PER_PUBLISHER);
    }
    core_bus_free(bus);
}

/* ---- own-thread subscribers ----------------------------------------------- */

typedef struct slow_sub {
    atomic_int in_callback;
    atomic_int calls;
    GThread *thread;
    gulong sleep_us;
} slow_sub;

static void slow_cb(const ucd_event *ev, void *user_data)
{
    slow_sub *ss = user_data;
    atomic_store(&ss->in_callback, 1);
    ss->thread = g_thread_self();
    g_usleep(ss->sleep_us);
    atomic_fetch_add(&ss->calls, 1);
    atomic_store(&ss->in_callback, 0);
}

static void test_own_thread(void)
{
    core_bus *bus = core_bus_new(NULL, 64);
    recorder rec;
    recorder_init(&rec, bus);
    ucd_event_filter f = {.struct_size = sizeof(f), .flags = UCD_SUBSCRIBE_OWN_THREAD};
    ucd_subscription *sub = core_bus_subscribe(bus, "own", &f, record_cb, &rec);
    g_assert_nonnull(sub);
    publish_every_type(bus);
    core_bus_flush(bus); /* waits for the subscriber's thread to drain */
    assert_lines(&rec, every_type_expected);
    g_assert_true(rec.seq_increasing);
    g_assert_true(rec.thread != g_thread_self());
    core_bus_unsubscribe(bus, sub);
    publish_user(bus, "src", "late");
    core_bus_flush(bus);
    g_assert_cmpuint(rec.lines->len, ==, 7);
    recorder_clear(&rec);
    core_bus_free(bus);
}

static void test_own_thread_unsubscribe_waits(void)
{
    core_bus *bus = core_bus_new(NULL, 64);
    slow_sub ss = {.sleep_us = 20000};
    ucd_event_filter f = {.struct_size = sizeof(f), .flags = UCD_SUBSCRIBE_OWN_THREAD};
    ucd_subscription *sub = core_bus_subscribe(bus, "own", &f, slow_cb, &ss);
    for (int i = 0; i < 10; i++)
        publish_user(bus, "src", "u");
    while (atomic_load(&ss.calls) == 0 && !atomic_load(&ss.in_callback))
        g_usleep(1000);
    core_bus_unsubscribe(bus, sub);
    /* Returned: the callback is not running and will not run again. */
    g_assert_cmpint(atomic_load(&ss.in_callback), ==, 0);
    int calls = atomic_load(&ss.calls);
    g_assert_cmpint(calls, <, 10); /* queued events were discarded */
    g_usleep(50000);
    g_assert_cmpint(atomic_load(&ss.calls), ==, calls);
    core_bus_free(bus);
}

static void test_own_thread_self_unsubscribe(void)
{
    core_bus *bus = core_bus_new(NULL, 64);
    recorder rec;
    recorder_init(&rec, bus);
    rec.stop_after = 3;
    ucd_event_filter f = {.struct_size = sizeof(f), .flags = UCD_SUBSCRIBE_OWN_THREAD};
    rec.sub = core_bus_subscribe(bus, "own", &f, record_cb, &rec);
    for (int i = 0; i < 10; i++)
        publish_user(bus, "src", "u");
    core_bus_flush(bus);
    /* The thread may still be finishing its last callback: free joins it. */
    core_bus_free(bus);
    g_assert_cmpuint(rec.lines->len, ==, 3);
    recorder_clear(&rec);
}

/* ---- unsubscribe from callbacks ------------------------------------------- */

typedef struct killer {
    core_bus *bus;
    ucd_subscription *victim;
    guint calls;
} killer;

static void killer_cb(const ucd_event *ev, void *user_data)
{
    killer *k = user_data;
    if (++k->calls == 2)
        core_bus_unsubscribe(k->bus, k->victim);
}

static void test_unsubscribe_in_callback(void)
{
    core_bus *bus = core_bus_new(NULL, 64);
    recorder self, victim;
    recorder_init(&self, bus);
    recorder_init(&victim, bus);
    self.stop_after = 3;
    self.sub = core_bus_subscribe(bus, "self", NULL, record_cb, &self);
    killer k = {.bus = bus};
    core_bus_subscribe(bus, "killer", NULL, killer_cb, &k);
    k.victim = core_bus_subscribe(bus, "victim", NULL, record_cb, &victim);

    for (int i = 0; i < 10; i++)
        publish_user(bus, "src", "u");
    core_bus_flush(bus);
    g_assert_cmpuint(self.lines->len, ==, 3);
    g_assert_cmpuint(k.calls, ==, 10);
    /* Each subscription drains its queue in turn, and the killer comes
     * before the victim: the victim was gone before its turn. */
    g_assert_cmpuint(victim.lines->len, ==, 0);
    stats_seen seen = {0};
    core_bus_foreach(bus, collect_stats, &seen);
    g_assert_cmpuint(seen.count, ==, 1);
    recorder_clear(&self);
    recorder_clear(&victim);
    core_bus_free(bus);
}

static void test_unsubscribe_owner(void)
{
    core_bus *bus = core_bus_new(NULL, 64);
    recorder a, b;
    recorder_init(&a, bus);
    recorder_init(&b, bus);
    ucd_event_filter own = {.struct_size = sizeof(own), .flags = UCD_SUBSCRIBE_OWN_THREAD};
    core_bus_subscribe(bus, "mod-a", NULL, record_cb, &a);
    core_bus_subscribe(bus, "mod-a", &own, record_cb, &a);
    core_bus_subscribe(bus, "mod-b", NULL, record_cb, &b);
    core_bus_unsubscribe_owner(bus, "mod-a");
    publish_user(bus, "src", "u");
    core_bus_flush(bus);
    g_assert_cmpuint(a.lines->len, ==, 0);
    g_assert_cmpuint(b.lines->len, ==, 1);
    recorder_clear(&a);
    recorder_clear(&b);
    core_bus_free(bus);
}

/* A callback that publishes: its event is delivered after the current ones. */
static void republish_cb(const ucd_event *ev, void *user_data)
{
    recorder *rec = user_data;
    record_cb(ev, rec);
    const ucd_user_changed_event *u = ev->payload;
    if (g_strcmp0(u->user_id, "first") == 0)
        publish_user(rec->bus, "cb", "from-callback");
}

static void test_publish_from_callback(void)
{
    core_bus *bus = core_bus_new(NULL, 64);
    recorder rec;
    recorder_init(&rec, bus);
    core_bus_subscribe(bus, "t", NULL, republish_cb, &rec);
    publish_user(bus, "src", "first");
    publish_user(bus, "src", "second");
    core_bus_flush(bus);
    assert_lines(&rec, (const char *const[]){"[src|first] user 1 first src",
                                             "[src|second] user 1 second src",
                                             "[cb|from-callback] user 1 from-callback cb", NULL});
    g_assert_true(rec.seq_increasing);
    recorder_clear(&rec);
    core_bus_free(bus);
}

/* ---- payload validation --------------------------------------------------- */

static void test_invalid_rejected(void)
{
    core_bus *bus = core_bus_new(NULL, 64);
    recorder rec;
    recorder_init(&rec, bus);
    core_bus_subscribe(bus, "t", NULL, record_cb, &rec);

    ucd_user_changed_event u = {sizeof(u) - 1, UCD_CHANGE_ADDED, "u", "b"};
    ucd_event ev = header(UCD_EVENT_USER_CHANGED, &u);
    g_assert_cmpint(core_bus_publish(bus, "x", &ev), ==, UCD_E_INVALID); /* payload too small */
    u.struct_size = 0;
    g_assert_cmpint(core_bus_publish(bus, "x", &ev), ==, UCD_E_INVALID);
    u.struct_size = sizeof(u);
    ev.type = UCD_EVENT_TYPE_COUNT_;
    g_assert_cmpint(core_bus_publish(bus, "x", &ev), ==, UCD_E_INVALID); /* unknown type */
    ev.type = UCD_EVENT_USER_CHANGED;
    ev.payload = NULL;
    g_assert_cmpint(core_bus_publish(bus, "x", &ev), ==, UCD_E_INVALID);
    ev.payload = &u;
    ev.struct_size = offsetof(ucd_event, payload); /* header too small */
    g_assert_cmpint(core_bus_publish(bus, "x", &ev), ==, UCD_E_INVALID);
    g_assert_cmpint(core_bus_publish(bus, "x", NULL), ==, UCD_E_INVALID);
    ucd_custom_event c = {sizeof(c), 0, "n", NULL, 10};
    ev = header(UCD_EVENT_CUSTOM, &c);
    g_assert_cmpint(core_bus_publish(bus, "x", &ev), ==, UCD_E_INVALID); /* data missing */

    ucd_event_filter f = {.struct_size = offsetof(ucd_event_filter, queue_size)};
    g_assert_null(core_bus_subscribe(bus, "t", &f, record_cb, &rec));

    core_bus_flush(bus);
    g_assert_cmpuint(rec.lines->len, ==, 0);
    g_assert_cmpuint(core_bus_published(bus), ==, 0);
    recorder_clear(&rec);
    core_bus_free(bus);
}

/* A call-state payload from a 1.0 plugin ends before forward_reason (added in
 * 1.1): the bus must not read past its struct_size, and the member reads 0. */
static void test_older_payload_zero_filled(void)
{
    core_bus *bus = core_bus_new(NULL, 64);
    recorder rec;
    recorder_init(&rec, bus);
    /* A 1.0 filter (no `reserved` tail) is accepted too. */
    ucd_event_filter f = {.struct_size = offsetof(ucd_event_filter, reserved),
                          .type_mask = UCD_EVENT_MASK(UCD_EVENT_CALL_STATE)};
    g_assert_nonnull(core_bus_subscribe(bus, "t", &f, record_cb, &rec));

    /* The bytes past the 1.0 struct hold garbage the bus must ignore. */
    ucd_call_state_event old = {offsetof(ucd_call_state_event, forward_reason),
                                UCD_CALL_OFFERING,
                                UCD_CALL_IDLE,
                                UCD_DIR_INBOUND,
                                UCD_CAUSE_FORWARDED,
                                0,
                                "pbx",
                                "201",
                                "c9",
                                "c9",
                                "555",
                                NULL,
                                NULL,
                                NULL,
                                0xdead,
                                0xbeef};
    ucd_event ev = header(UCD_EVENT_CALL_STATE, &old);
    g_assert_cmpint(core_bus_publish(bus, "pbx", &ev), ==, UCD_OK);
    old.struct_size = offsetof(ucd_call_state_event, related_line); /* older than 1.0 */
    g_assert_cmpint(core_bus_publish(bus, "pbx", &ev), ==, UCD_E_INVALID);
    core_bus_flush(bus);
    assert_lines(&rec,
                 (const char *const[]){
                     "[pbx|201] call 3 0 1 6 0 pbx 201 c9 c9 555 (null) (null) (null) 0 0", NULL});
    recorder_clear(&rec);
    core_bus_free(bus);
}

/* A payload from a newer plugin: members this core does not know are cut. */
typedef struct newer_module_state {
    ucd_module_state_event known;
    uint64_t added_later;
} newer_module_state;

static void newer_cb(const ucd_event *ev, void *user_data)
{
    const ucd_module_state_event *m = ev->payload;
    g_assert_cmpuint(m->struct_size, ==, sizeof(ucd_module_state_event));
    g_assert_cmpstr(m->module, ==, "newer");
    g_assert_cmpstr(m->message, ==, "msg");
    (*(int *)user_data)++;
}

static void test_larger_payload_truncated(void)
{
    core_bus *bus = core_bus_new(NULL, 64);
    int calls = 0;
    core_bus_subscribe(bus, "t", NULL, newer_cb, &calls);
    newer_module_state n = {{sizeof(n), UCD_MODULE_RUNNING, "newer", "msg"}, 99};
    ucd_event ev = header(UCD_EVENT_MODULE_STATE, &n);
    ev.struct_size = sizeof(ucd_event) + 16; /* a newer header too */
    g_assert_cmpint(core_bus_publish(bus, "x", &ev), ==, UCD_OK);
    core_bus_flush(bus);
    g_assert_cmpint(calls, ==, 1);
    core_bus_free(bus);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bus/every-type", test_every_type);
    g_test_add_func("/bus/header-fields", test_header_fields);
    g_test_add_func("/bus/filters", test_filters);
    g_test_add_func("/bus/full-queue-drops", test_full_queue_drops);
    g_test_add_func("/bus/concurrent-publishers", test_concurrent_publishers);
    g_test_add_func("/bus/own-thread", test_own_thread);
    g_test_add_func("/bus/own-thread-unsubscribe-waits", test_own_thread_unsubscribe_waits);
    g_test_add_func("/bus/own-thread-self-unsubscribe", test_own_thread_self_unsubscribe);
    g_test_add_func("/bus/unsubscribe-in-callback", test_unsubscribe_in_callback);
    g_test_add_func("/bus/unsubscribe-owner", test_unsubscribe_owner);
    g_test_add_func("/bus/publish-from-callback", test_publish_from_callback);
    g_test_add_func("/bus/invalid-rejected", test_invalid_rejected);
    g_test_add_func("/bus/older-payload-zero-filled", test_older_payload_zero_filled);
    g_test_add_func("/bus/larger-payload-truncated", test_larger_payload_truncated);
    return g_test_run();
}
