/*
 * test-model.c - the core's telephony model (core/model/): conversations and
 * their journal records, presence, persistence, the trace ring and the
 * commands, on a real bus and a real control server.
 *
 * The pbx, users and journal services are fakes implemented here: they stand
 * for plugins and are registered in the module manager's service table as if
 * modules "pbx-a", "pbx-b", "users-t" and "journal-t" provided them (the
 * daemon end-to-end suite runs the real plugins). Call events are published
 * on the bus exactly as a driver would, in the order the driver conventions
 * (docs/admin/model.md) prescribe.
 */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include <ucd/presence.h>

#include "control-reply.h"
#include "fake-lines.h"
#include "fake-registry.h"
#include "fake-users.h"
#include "commands/model-commands.h"
#include "commands/paging.h"
#include "model/calls.h"
#include "model/presence.h"
#include "model/trace.h"
#include "commands/trace-command.h"

/* ---- fake services ------------------------------------------------------------- */

static const fake_line pbx_a_lines[] = {
    {"201", FAKE_ALL_CAPS},
    {"202", FAKE_ALL_CAPS},
    {"203", FAKE_ALL_CAPS},
    {"209", UCD_PBX_CAP_MONITOR | UCD_PBX_CAP_DIAL | UCD_PBX_CAP_HANGUP},
    {NULL, 0},
};
static const fake_line pbx_b_lines[] = {
    {"201", FAKE_ALL_CAPS},
    {NULL, 0},
};

typedef struct fake_pbx {
    const fake_line *lines;
    GPtrArray *calls; /* "op line args" of every call-control request */
} fake_pbx;

static int pbx_list(void *impl, ucd_pbx_line_cb cb, void *ud)
{
    return fake_lines_list(((fake_pbx *)impl)->lines, cb, ud);
}

static uint64_t pbx_caps(void *impl, const char *address)
{
    return fake_lines_caps(((fake_pbx *)impl)->lines, address);
}

static int pbx_hold(void *impl, const char *line, const char *call_id)
{
    fake_pbx *p = impl;
    g_ptr_array_add(p->calls, g_strdup_printf("hold %s %s", line, call_id));
    return strcmp(call_id, "nosuch") == 0 ? UCD_E_NOT_FOUND : UCD_OK;
}

static int pbx_dial(void *impl, const char *line, const char *number, char *call_id, size_t size)
{
    fake_pbx *p = impl;
    g_ptr_array_add(p->calls, g_strdup_printf("dial %s %s", line, number));
    g_strlcpy(call_id, "d1", size);
    return UCD_OK;
}

static const ucd_pbx_v1 pbx_iface = {
    .struct_size = sizeof(ucd_pbx_v1),
    .list_lines = pbx_list,
    .capabilities = pbx_caps,
    .dial = pbx_dial,
    .hold = pbx_hold,
};

static const char *const alice_numbers[] = {"+49895550201", NULL};
static const char *const alice_lines[] = {"pbx-a/201", NULL};
static const char *const bob_lines[] = {"pbx-a/202", NULL};
static const char *const carol_lines[] = {"203", NULL}; /* bare: any driver */
static const char *const sales[] = {"sales", NULL};
static const char *const none[] = {NULL};

static const ucd_user office_users[] = {
    {sizeof(ucd_user), 1, "u-alice", "alice", "Alice Example", .numbers = alice_numbers,
     .groups = sales, .lines = alice_lines},
    {sizeof(ucd_user), 1, "u-bob", "bob", "Bob Builder", .numbers = none, .groups = sales,
     .lines = bob_lines},
    {sizeof(ucd_user), 1, "u-carol", "carol", "Carol Singer", .numbers = none, .groups = none,
     .lines = carol_lines},
};

static const char *const alice_leads[] = {"u-alice", NULL};

/* The users-t backend: office_users, the sales group, and the users a test
 * adds with add_user() (then core_directory_pull()). */
static fake_users users_t;

static void add_user(const char *id, const char *login, gboolean enabled, const char *home)
{
    ucd_user *u = g_new0(ucd_user, 1);
    u->struct_size = sizeof *u;
    u->enabled = enabled;
    u->id = fake_users_keep(&users_t, id);
    u->login = fake_users_keep(&users_t, login);
    u->home_server = fake_users_keep(&users_t, home);
    u->numbers = u->groups = u->lines = none;
    g_ptr_array_add(users_t.extra, u);
}

/* The journal keeps each record as one line of text: what the test compares. */
typedef struct fake_journal {
    GPtrArray *records;
} fake_journal;

static const char *s(const char *str)
{
    return str ? str : "-";
}

static int journal_store(void *impl, const ucd_journal_record *r)
{
    fake_journal *j = impl;
    static const char *const roles[] = {"caller", "callee",  "transfer",
                                        "pickup", "forward", "conference"};
    GString *parts = g_string_new(NULL);
    for (uint32_t i = 0; i < r->participant_count; i++) {
        const ucd_journal_participant *p = &r->participants[i];
        g_string_append_printf(parts, "%s%s:%s:%s%s", i ? "," : "", roles[p->role], s(p->user_id),
                               p->line, p->answered_ms ? "+" : "");
    }
    g_assert_cmpuint(strlen(r->uuid), ==, 36);
    g_assert_cmpint(r->start_ms, >, 0);
    g_assert_cmpint(r->end_ms, >=, r->start_ms);
    g_ptr_array_add(j->records,
                    g_strdup_printf("dir=%u outcome=%u answered=%s from=%s/%s req=%s to=%s/%s "
                                    "xfer=%s pickup=%s fwd=%s end=%s flags=%u parts=%s",
                                    r->direction, r->outcome, r->answer_ms ? "yes" : "no",
                                    s(r->source_number), s(r->source_name), s(r->requested_number),
                                    s(r->destination_number), s(r->destination_name),
                                    s(r->transferred_by), s(r->picked_up_by), s(r->forward_reason),
                                    s(r->end_reason), r->flags, parts->str));
    g_string_free(parts, TRUE);
    return UCD_OK;
}

static const ucd_journal_v1 journal_iface = {
    .struct_size = sizeof(ucd_journal_v1),
    .store = journal_store,
};

/* ---- the fixture --------------------------------------------------------------- */

typedef struct fixture {
    char *dir;
    char *socket;
    GMainContext *ctx;
    core_runtime rt;
    core_modules *mods;
    core_model *model;
    core_model_commands *commands;
    GPtrArray *providers; /* fake ucd_plugin * */
    fake_pbx pbx_a, pbx_b;
    fake_journal journal;
    GPtrArray *presence; /* "user state<-prev m=manual l=line note" */
    ucd_subscription *presence_sub;
} fixture;

static ucd_plugin *add_provider(fixture *f, const char *id, const char *service, const void *iface,
                                void *impl)
{
    return fake_provider_add(f->mods, f->providers, id, service, iface, impl);
}

static void on_presence(const ucd_event *e, void *ud)
{
    fixture *f = ud;
    const ucd_presence_event *p = e->payload;
    g_ptr_array_add(f->presence,
                    g_strdup_printf("%s %s<-%s m=%s l=%s %s", p->user_id,
                                    ucd_presence_word(p->state), ucd_presence_word(p->prev_state),
                                    ucd_presence_word(p->manual_state),
                                    ucd_presence_word(p->line_state), s(p->note)));
}

static void model_up(fixture *f)
{
    f->model = core_model_new(&f->rt, f->mods);
    /* As the daemon does: the model's services (the newest registration is
     * found first), the ucctl commands over them, the model's trace. */
    core_model_register_services(f->model, f->mods);
    f->commands = core_model_commands_register(f->rt.control, f->mods, f->rt.workers);
    core_model_register_trace_command(f->model, f->rt.control);
    core_model_start(f->model);
    core_bus_flush(f->rt.bus);
}

static void model_down(fixture *f)
{
    core_control_unregister_owner(f->rt.control, "core");
    core_model_commands_free(f->commands);
    core_model_free(f->model);
    f->model = NULL;
}

static void fixture_set_up(fixture *f, gconstpointer data)
{
    GError *err = NULL;
    f->dir = g_dir_make_tmp("ucd-model-XXXXXX", &err);
    g_assert_no_error(err);
    f->ctx = g_main_context_new();
    f->rt.ctx = f->ctx;
    f->rt.bus = core_bus_new(f->ctx, 4096);
    f->rt.workers = core_workers_new(f->ctx, 1);
    f->rt.state_dir = g_build_filename(f->dir, "state", NULL);
    f->socket = g_build_filename(f->dir, "ucd.sock", NULL);
    f->rt.control = core_control_new(f->ctx, f->socket, &err);
    g_assert_no_error(err);
    f->mods = core_modules_new(&f->rt);
    f->providers = g_ptr_array_new_with_free_func(fake_provider_free);
    f->pbx_a = (fake_pbx){pbx_a_lines, g_ptr_array_new_with_free_func(g_free)};
    f->pbx_b = (fake_pbx){pbx_b_lines, g_ptr_array_new_with_free_func(g_free)};
    f->journal.records = g_ptr_array_new_with_free_func(g_free);
    fake_users_init(&users_t, office_users, G_N_ELEMENTS(office_users), "sales", "Sales",
                    "the sales team", alice_leads);
    add_provider(f, "pbx-a", UCD_PBX_SERVICE, &pbx_iface, &f->pbx_a);
    add_provider(f, "users-t", UCD_USERS_SERVICE, &fake_users_iface, &users_t);
    add_provider(f, "journal-t", UCD_JOURNAL_SERVICE, &journal_iface, &f->journal);
    f->presence = g_ptr_array_new_with_free_func(g_free);
    ucd_event_filter filter = {.struct_size = sizeof filter,
                               .type_mask = UCD_EVENT_MASK(UCD_EVENT_PRESENCE)};
    f->presence_sub = core_bus_subscribe(f->rt.bus, "test", &filter, on_presence, f);
    model_up(f);
}

static void remove_tree(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    if (d) {
        const char *name;
        while ((name = g_dir_read_name(d))) {
            char *child = g_build_filename(path, name, NULL);
            remove_tree(child);
            g_free(child);
        }
        g_dir_close(d);
    }
    g_remove(path);
}

static void fixture_tear_down(fixture *f, gconstpointer data)
{
    if (f->model)
        model_down(f);
    core_bus_unsubscribe(f->rt.bus, f->presence_sub);
    core_modules_free(f->mods);
    g_ptr_array_free(f->providers, TRUE);
    core_control_free(f->rt.control);
    core_workers_free(f->rt.workers);
    core_bus_free(f->rt.bus);
    while (g_main_context_iteration(f->ctx, FALSE))
        ;
    g_main_context_unref(f->ctx);
    g_ptr_array_free(f->pbx_a.calls, TRUE);
    g_ptr_array_free(f->pbx_b.calls, TRUE);
    g_ptr_array_free(f->journal.records, TRUE);
    g_ptr_array_free(f->presence, TRUE);
    fake_users_clear(&users_t);
    remove_tree(f->dir);
    g_free(f->rt.state_dir);
    g_free(f->rt.server_name);
    g_free(f->socket);
    g_free(f->dir);
}

/* Publishes one call event as driver "pbx-a" (unless the event names another). */
static void call_event(fixture *f, ucd_call_state_event ev)
{
    ev.struct_size = sizeof ev;
    if (!ev.driver_instance)
        ev.driver_instance = "pbx-a";
    if (!ev.conversation_id)
        ev.conversation_id = ev.call_id;
    ucd_event e = {.struct_size = sizeof e, .type = UCD_EVENT_CALL_STATE, .payload = &ev};
    g_assert_cmpint(core_bus_publish(f->rt.bus, ev.driver_instance, &e), ==, UCD_OK);
    core_bus_flush(f->rt.bus);
}

#define CALL(f, ...) call_event((f), (ucd_call_state_event){__VA_ARGS__})

static void assert_one_record(fixture *f, const char *expected)
{
    g_assert_cmpuint(f->journal.records->len, ==, 1);
    g_assert_cmpstr(f->journal.records->pdata[0], ==, expected);
}

/* ---- conversations --------------------------------------------------------------- */

static void test_inbound_answered(fixture *f, gconstpointer data)
{
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND, .remote_number = "0891234567", .remote_name = "Caller");
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_CONNECTED,
         .prev_state = UCD_CALL_OFFERING, .direction = UCD_DIR_INBOUND);
    g_assert_cmpuint(f->journal.records->len, ==, 0); /* still live */
    core_model_stats st;
    core_model_get_stats(f->model, &st);
    g_assert_cmpuint(st.live_legs, ==, 1);
    g_assert_cmpuint(st.open_conversations, ==, 1);
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_DISCONNECTED,
         .prev_state = UCD_CALL_CONNECTED, .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_NORMAL);
    assert_one_record(f, "dir=1 outcome=0 answered=yes from=0891234567/Caller req=201 "
                         "to=201/Alice Example xfer=- pickup=- fwd=- end=normal flags=0 "
                         "parts=callee:u-alice:201+");
    core_model_get_stats(f->model, &st);
    g_assert_cmpuint(st.live_legs, ==, 0);
    g_assert_cmpuint(st.open_conversations, ==, 0);
    g_assert_cmpuint(st.conversations_stored, ==, 1);
}

static void test_no_answer(fixture *f, gconstpointer data)
{
    CALL(f, .line = "202", .call_id = "c1", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND, .remote_number = "0301111", .flags = UCD_CALL_FLAG_PRIVATE);
    CALL(f, .line = "202", .call_id = "c1", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_NO_ANSWER);
    assert_one_record(f, "dir=1 outcome=1 answered=no from=0301111/- req=202 "
                         "to=202/Bob Builder xfer=- pickup=- fwd=- end=no_answer flags=1 "
                         "parts=callee:u-bob:202");
}

static void test_busy(fixture *f, gconstpointer data)
{
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_DIALING,
         .direction = UCD_DIR_OUTBOUND, .remote_number = "0301234");
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_RINGBACK,
         .direction = UCD_DIR_OUTBOUND, .remote_number = "0301234");
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_OUTBOUND, .cause = UCD_CAUSE_BUSY);
    assert_one_record(f, "dir=2 outcome=2 answered=no from=201/Alice Example req=0301234 "
                         "to=0301234/- xfer=- pickup=- fwd=- end=busy flags=0 "
                         "parts=caller:u-alice:201");
}

static void test_internal(fixture *f, gconstpointer data)
{
    CALL(f, .line = "201", .call_id = "c1", .conversation_id = "k", .state = UCD_CALL_DIALING,
         .direction = UCD_DIR_INTERNAL, .remote_number = "202");
    CALL(f, .line = "202", .call_id = "c2", .conversation_id = "k", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INTERNAL, .remote_number = "201");
    CALL(f, .line = "202", .call_id = "c2", .conversation_id = "k", .state = UCD_CALL_CONNECTED,
         .direction = UCD_DIR_INTERNAL);
    CALL(f, .line = "201", .call_id = "c1", .conversation_id = "k", .state = UCD_CALL_CONNECTED,
         .direction = UCD_DIR_INTERNAL);
    CALL(f, .line = "201", .call_id = "c1", .conversation_id = "k", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INTERNAL, .cause = UCD_CAUSE_NORMAL);
    g_assert_cmpuint(f->journal.records->len, ==, 0); /* bob's leg still up */
    CALL(f, .line = "202", .call_id = "c2", .conversation_id = "k", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INTERNAL, .cause = UCD_CAUSE_NORMAL);
    assert_one_record(f, "dir=3 outcome=0 answered=yes from=201/Alice Example req=202 "
                         "to=202/Bob Builder xfer=- pickup=- fwd=- end=normal flags=0 "
                         "parts=caller:u-alice:201+,callee:u-bob:202+");
}

static void inbound_connected(fixture *f, const char *line, const char *call_id)
{
    CALL(f, .line = line, .call_id = call_id, .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND, .remote_number = "0891234567");
    CALL(f, .line = line, .call_id = call_id, .state = UCD_CALL_CONNECTED,
         .direction = UCD_DIR_INBOUND);
}

static void test_blind_transfer(fixture *f, gconstpointer data)
{
    inbound_connected(f, "201", "c1");
    /* The new leg first, then the old one leaves. */
    CALL(f, .line = "202", .call_id = "c2", .conversation_id = "c1", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_TRANSFERRED, .related_line = "201",
         .remote_number = "0891234567");
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_TRANSFERRED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_TRANSFERRED);
    CALL(f, .line = "202", .call_id = "c2", .conversation_id = "c1", .state = UCD_CALL_CONNECTED,
         .direction = UCD_DIR_INBOUND);
    g_assert_cmpuint(f->journal.records->len, ==, 0);
    CALL(f, .line = "202", .call_id = "c2", .conversation_id = "c1", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_NORMAL);
    assert_one_record(f, "dir=1 outcome=0 answered=yes from=0891234567/- req=201 "
                         "to=202/Bob Builder xfer=u-alice pickup=- fwd=- end=normal flags=0 "
                         "parts=callee:u-alice:201+,transfer:u-bob:202+");
}

static void test_consultation_transfer(fixture *f, gconstpointer data)
{
    /* A (201) calls B (202); A holds B and calls C (203) in the same
     * conversation; A transfers and leaves; B and C talk, then hang up. */
    CALL(f, .line = "201", .call_id = "a1", .conversation_id = "k", .state = UCD_CALL_DIALING,
         .direction = UCD_DIR_INTERNAL, .remote_number = "202");
    CALL(f, .line = "202", .call_id = "b1", .conversation_id = "k", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INTERNAL, .remote_number = "201");
    CALL(f, .line = "202", .call_id = "b1", .conversation_id = "k", .state = UCD_CALL_CONNECTED,
         .direction = UCD_DIR_INTERNAL);
    CALL(f, .line = "201", .call_id = "a1", .conversation_id = "k", .state = UCD_CALL_CONNECTED,
         .direction = UCD_DIR_INTERNAL);
    CALL(f, .line = "201", .call_id = "a1", .conversation_id = "k", .state = UCD_CALL_HELD,
         .direction = UCD_DIR_INTERNAL);
    CALL(f, .line = "201", .call_id = "a2", .conversation_id = "k", .state = UCD_CALL_DIALING,
         .direction = UCD_DIR_INTERNAL, .remote_number = "203");
    CALL(f, .line = "203", .call_id = "c1", .conversation_id = "k", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INTERNAL, .remote_number = "201");
    CALL(f, .line = "203", .call_id = "c1", .conversation_id = "k", .state = UCD_CALL_CONNECTED,
         .direction = UCD_DIR_INTERNAL);
    CALL(f, .line = "201", .call_id = "a2", .conversation_id = "k", .state = UCD_CALL_CONNECTED,
         .direction = UCD_DIR_INTERNAL);
    CALL(f, .line = "201", .call_id = "a1", .conversation_id = "k", .state = UCD_CALL_TRANSFERRED,
         .direction = UCD_DIR_INTERNAL, .cause = UCD_CAUSE_TRANSFERRED);
    CALL(f, .line = "201", .call_id = "a2", .conversation_id = "k", .state = UCD_CALL_TRANSFERRED,
         .direction = UCD_DIR_INTERNAL, .cause = UCD_CAUSE_TRANSFERRED);
    CALL(f, .line = "202", .call_id = "b1", .conversation_id = "k", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INTERNAL, .cause = UCD_CAUSE_NORMAL);
    g_assert_cmpuint(f->journal.records->len, ==, 0);
    CALL(f, .line = "203", .call_id = "c1", .conversation_id = "k", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INTERNAL, .cause = UCD_CAUSE_NORMAL);
    assert_one_record(f, "dir=3 outcome=0 answered=yes from=201/Alice Example req=202 "
                         "to=203/Carol Singer xfer=u-alice pickup=- fwd=- end=normal flags=0 "
                         "parts=caller:u-alice:201+,callee:u-bob:202+,caller:u-alice:201+,"
                         "transfer:u-carol:203+");
}

static void test_pickup(fixture *f, gconstpointer data)
{
    CALL(f, .line = "202", .call_id = "c1", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND, .remote_number = "0891234567");
    CALL(f, .line = "203", .call_id = "c2", .conversation_id = "c1", .state = UCD_CALL_CONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_PICKED_UP, .related_line = "202",
         .requested_number = "202", .remote_number = "0891234567");
    CALL(f, .line = "202", .call_id = "c1", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_PICKED_UP);
    CALL(f, .line = "203", .call_id = "c2", .conversation_id = "c1", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_NORMAL);
    assert_one_record(f, "dir=1 outcome=0 answered=yes from=0891234567/- req=202 "
                         "to=203/Carol Singer xfer=- pickup=u-carol fwd=- end=normal flags=0 "
                         "parts=callee:u-bob:202,pickup:u-carol:203+");
}

static void test_forward(fixture *f, gconstpointer data)
{
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND, .remote_number = "0891234567");
    CALL(f, .line = "202", .call_id = "c2", .conversation_id = "c1", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_FORWARDED,
         .forward_reason = UCD_FORWARD_REASON_NO_ANSWER, .related_line = "201",
         .requested_number = "201", .remote_number = "0891234567");
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_FORWARDED);
    CALL(f, .line = "202", .call_id = "c2", .conversation_id = "c1", .state = UCD_CALL_CONNECTED,
         .direction = UCD_DIR_INBOUND);
    CALL(f, .line = "202", .call_id = "c2", .conversation_id = "c1", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_NORMAL);
    assert_one_record(f, "dir=1 outcome=0 answered=yes from=0891234567/- req=201 "
                         "to=202/Bob Builder xfer=- pickup=- fwd=no_answer end=normal flags=0 "
                         "parts=callee:u-alice:201,forward:u-bob:202+");
}

/* Alice (201) dials 202; 203 picks the call up and the PBX tells alice's leg
 * its new remote party (a connected-line update). The requested number stays
 * what alice dialled (issue 12 item 17: the row said 203). */
static void test_requested_after_pickup(fixture *f, gconstpointer data)
{
    CALL(f, .line = "201", .call_id = "a1", .conversation_id = "k", .state = UCD_CALL_DIALING,
         .direction = UCD_DIR_INTERNAL, .remote_number = "202");
    CALL(f, .line = "201", .call_id = "a1", .conversation_id = "k", .state = UCD_CALL_RINGBACK,
         .direction = UCD_DIR_INTERNAL, .remote_number = "202");
    CALL(f, .line = "202", .call_id = "b1", .conversation_id = "k", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INTERNAL, .remote_number = "201");
    CALL(f, .line = "203", .call_id = "c1", .conversation_id = "k", .state = UCD_CALL_CONNECTED,
         .direction = UCD_DIR_INTERNAL, .cause = UCD_CAUSE_PICKED_UP, .related_line = "202",
         .requested_number = "202", .remote_number = "201");
    CALL(f, .line = "202", .call_id = "b1", .conversation_id = "k", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INTERNAL, .cause = UCD_CAUSE_PICKED_UP);
    CALL(f, .line = "201", .call_id = "a1", .conversation_id = "k", .state = UCD_CALL_CONNECTED,
         .direction = UCD_DIR_INTERNAL, .remote_number = "203");
    CALL(f, .line = "201", .call_id = "a1", .conversation_id = "k", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INTERNAL, .cause = UCD_CAUSE_NORMAL, .remote_number = "203");
    CALL(f, .line = "203", .call_id = "c1", .conversation_id = "k", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INTERNAL, .cause = UCD_CAUSE_NORMAL);
    assert_one_record(f, "dir=3 outcome=0 answered=yes from=201/Alice Example req=202 "
                         "to=203/Carol Singer xfer=- pickup=u-carol fwd=- end=normal flags=0 "
                         "parts=caller:u-alice:201+,callee:u-bob:202,pickup:u-carol:203+");
}

/* A click-to-dial alice rejects on her own phone: the driver names the number
 * she asked for as requested while her phone shows her own number; the row
 * says 202, not 201 (issue 12 item 17). */
static void test_requested_click_to_dial(fixture *f, gconstpointer data)
{
    CALL(f, .line = "201", .call_id = "o1", .state = UCD_CALL_DIALING,
         .direction = UCD_DIR_INTERNAL, .remote_number = "201", .requested_number = "202");
    CALL(f, .line = "201", .call_id = "o1", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INTERNAL, .cause = UCD_CAUSE_REJECTED, .remote_number = "201");
    g_assert_cmpuint(f->journal.records->len, ==, 1);
    g_assert_true(strstr(f->journal.records->pdata[0], " req=202 ") != NULL);
    /* Rejected, not busy, though the outcome is BUSY for both. */
    g_assert_true(strstr(f->journal.records->pdata[0], " outcome=2 ") != NULL);
    g_assert_true(strstr(f->journal.records->pdata[0], " end=rejected ") != NULL);
}

/* alice calls bob internally, bob does not answer, and both legs end with
 * the causes given: the caller's leg first, or the callee's. */
static void internal_unanswered(fixture *f, const char *conv, gboolean callee_ends_first,
                                uint32_t caller_cause, uint32_t callee_cause)
{
    char *caller_id = g_strconcat(conv, "-a", NULL), *callee_id = g_strconcat(conv, "-b", NULL);
    CALL(f, .line = "201", .call_id = caller_id, .conversation_id = conv,
         .state = UCD_CALL_RINGBACK, .direction = UCD_DIR_INTERNAL, .remote_number = "202");
    CALL(f, .line = "202", .call_id = callee_id, .conversation_id = conv,
         .state = UCD_CALL_OFFERING, .direction = UCD_DIR_INTERNAL, .remote_number = "201");
    for (int i = 0; i < 2; i++) {
        gboolean callee = (i == 0) == callee_ends_first;
        CALL(f, .line = callee ? "202" : "201", .call_id = callee ? callee_id : caller_id,
             .conversation_id = conv, .state = UCD_CALL_DISCONNECTED, .direction = UCD_DIR_INTERNAL,
             .cause = callee ? callee_cause : caller_cause);
    }
    g_free(caller_id);
    g_free(callee_id);
}

/* The end cause of a conversation does not depend on which leg's end came
 * last: a specific cause beats normal, the called side's beats the caller's. */
static void test_end_cause_any_order(fixture *f, gconstpointer data)
{
    static const struct {
        uint32_t caller, callee;
        const char *end;
        ucd_outcome outcome;
    } cases[] = {
        /* Kamailio's plain "terminated" for both dialogs (the SIP suite's /rejected) */
        {UCD_CAUSE_NORMAL, UCD_CAUSE_NO_ANSWER, "no_answer", UCD_OUTCOME_NO_ANSWER},
        /* only the caller's side heard the 486 */
        {UCD_CAUSE_BUSY, UCD_CAUSE_NORMAL, "busy", UCD_OUTCOME_BUSY},
        {UCD_CAUSE_NONE, UCD_CAUSE_REJECTED, "rejected", UCD_OUTCOME_BUSY},
        /* both specific: the callee's says what happened to the call */
        {UCD_CAUSE_FAILED, UCD_CAUSE_REJECTED, "rejected", UCD_OUTCOME_BUSY},
        {UCD_CAUSE_NO_ANSWER, UCD_CAUSE_BUSY, "busy", UCD_OUTCOME_BUSY},
        {UCD_CAUSE_NONE, UCD_CAUSE_NORMAL, "normal", UCD_OUTCOME_NO_ANSWER},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_ptr_array_set_size(f->journal.records, 0);
        internal_unanswered(f, "k1", FALSE, cases[i].caller, cases[i].callee);
        internal_unanswered(f, "k2", TRUE, cases[i].caller, cases[i].callee);
        g_assert_cmpuint(f->journal.records->len, ==, 2);
        g_assert_cmpstr(f->journal.records->pdata[0], ==, f->journal.records->pdata[1]);
        char *want = g_strdup_printf("dir=3 outcome=%d answered=no from=201/Alice Example req=202 "
                                     "to=202/Bob Builder xfer=- pickup=- fwd=- end=%s flags=0 "
                                     "parts=caller:u-alice:201,callee:u-bob:202",
                                     cases[i].outcome, cases[i].end);
        g_assert_cmpstr(f->journal.records->pdata[0], ==, want);
        g_free(want);
    }
}

/* Any leg that lost its link makes the whole conversation link_lost, whichever
 * leg ended last. */
static void test_end_cause_link_lost_any_order(fixture *f, gconstpointer data)
{
    internal_unanswered(f, "k1", FALSE, UCD_CAUSE_LINK_LOST, UCD_CAUSE_NO_ANSWER);
    internal_unanswered(f, "k2", TRUE, UCD_CAUSE_LINK_LOST, UCD_CAUSE_NO_ANSWER);
    g_assert_cmpuint(f->journal.records->len, ==, 2);
    for (guint i = 0; i < 2; i++)
        g_assert_true(strstr(f->journal.records->pdata[i], " end=link_lost ") != NULL);
    g_assert_cmpstr(f->journal.records->pdata[0], ==, f->journal.records->pdata[1]);
}

static void module_state(fixture *f, const char *module, ucd_module_state state)
{
    for (guint i = 0; i < f->providers->len; i++) {
        ucd_plugin *p = f->providers->pdata[i];
        if (strcmp(p->id, module) == 0)
            p->state = state;
    }
    ucd_module_state_event ev = {.struct_size = sizeof ev, .state = state, .module = module};
    ucd_event e = {.struct_size = sizeof e, .type = UCD_EVENT_MODULE_STATE, .payload = &ev};
    core_bus_publish(f->rt.bus, "core", &e);
    core_bus_flush(f->rt.bus);
}

static void test_link_lost(fixture *f, gconstpointer data)
{
    inbound_connected(f, "201", "c1");
    g_ptr_array_set_size(f->presence, 0);
    module_state(f, "pbx-a", UCD_MODULE_FAILED);
    assert_one_record(f, "dir=1 outcome=0 answered=yes from=0891234567/- req=201 "
                         "to=201/Alice Example xfer=- pickup=- fwd=- end=link_lost flags=0 "
                         "parts=callee:u-alice:201+");
    g_assert_cmpuint(core_model_line(f->model, "pbx-a", "201")->state, ==, UCD_LINE_OUT_OF_SERVICE);
    /* The driver's own end of the leg, queued before it failed, changes nothing. */
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_NORMAL);
    g_assert_cmpuint(f->journal.records->len, ==, 1);
    /* Alice's only line is gone: on the phone, then offline. */
    g_assert_cmpuint(core_model_presence(f->model, "u-alice"), ==, UCD_PRESENCE_OFFLINE);
    g_assert_cmpstr(f->presence->pdata[0], ==,
                    "u-alice available<-on_phone m=unknown l=available -");
    /* The driver comes back and lists its lines again. */
    module_state(f, "pbx-a", UCD_MODULE_RUNNING);
    g_assert_cmpuint(core_model_presence(f->model, "u-alice"), ==, UCD_PRESENCE_AVAILABLE);
}

/* ---- presence ---------------------------------------------------------------------- */

static GPtrArray *presence_of(fixture *f, const char *user)
{
    GPtrArray *mine = g_ptr_array_new();
    for (guint i = 0; i < f->presence->len; i++)
        if (g_str_has_prefix(f->presence->pdata[i], user) &&
            ((char *)f->presence->pdata[i])[strlen(user)] == ' ')
            g_ptr_array_add(mine, f->presence->pdata[i]);
    return mine;
}

static void test_presence_sequence(fixture *f, gconstpointer data)
{
    g_assert_cmpuint(core_model_presence(f->model, "u-alice"), ==, UCD_PRESENCE_AVAILABLE);
    g_ptr_array_set_size(f->presence, 0);
    inbound_connected(f, "201", "c1");
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_NORMAL);
    GPtrArray *alice = presence_of(f, "u-alice");
    g_assert_cmpuint(alice->len, ==, 3);
    g_assert_cmpstr(alice->pdata[0], ==, "u-alice ringing<-available m=unknown l=ringing -");
    g_assert_cmpstr(alice->pdata[1], ==, "u-alice on_phone<-ringing m=unknown l=on_phone -");
    g_assert_cmpstr(alice->pdata[2], ==, "u-alice available<-on_phone m=unknown l=available -");
    g_ptr_array_free(alice, TRUE);
    /* Nobody else was touched. */
    g_assert_cmpuint(f->presence->len, ==, 3);
}

static gboolean timed_out(gpointer data)
{
    *(gboolean *)data = TRUE;
    return G_SOURCE_REMOVE;
}

static void test_manual_precedence_and_expiry(fixture *f, gconstpointer data)
{
    g_assert_cmpint(core_model_set_manual(f->model, "alice", UCD_PRESENCE_AWAY, "lunch", 0), ==,
                    UCD_OK);
    core_bus_flush(f->rt.bus);
    g_assert_cmpuint(core_model_presence(f->model, "u-alice"), ==, UCD_PRESENCE_AWAY);
    /* A ringing line beats away... */
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND);
    g_assert_cmpuint(core_model_presence(f->model, "u-alice"), ==, UCD_PRESENCE_RINGING);
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_NO_ANSWER);
    g_assert_cmpuint(core_model_presence(f->model, "u-alice"), ==, UCD_PRESENCE_AWAY);
    /* ...but not do-not-disturb. */
    g_assert_cmpint(core_model_set_manual(f->model, "u-alice", UCD_PRESENCE_DND, NULL, 0), ==,
                    UCD_OK);
    CALL(f, .line = "201", .call_id = "c2", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND);
    g_assert_cmpuint(core_model_presence(f->model, "u-alice"), ==, UCD_PRESENCE_DND);
    CALL(f, .line = "201", .call_id = "c2", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_NO_ANSWER);
    /* A calendar appointment counts only below manual states. */
    int64_t now = g_get_real_time() / 1000;
    ucd_appointment_event ap = {.struct_size = sizeof ap,
                                .change = UCD_CHANGE_ADDED,
                                .show_as = UCD_SHOW_BUSY,
                                .user_id = "u-bob",
                                .uid = "meeting",
                                .start_ms = now - 60000,
                                .end_ms = now + 3600000};
    ucd_event e = {.struct_size = sizeof e, .type = UCD_EVENT_APPOINTMENT, .payload = &ap};
    core_bus_publish(f->rt.bus, "cal", &e);
    core_bus_flush(f->rt.bus);
    g_assert_cmpuint(core_model_presence(f->model, "u-bob"), ==, UCD_PRESENCE_BUSY);
    core_model_set_manual(f->model, "bob", UCD_PRESENCE_AVAILABLE, NULL, 0);
    g_assert_cmpuint(core_model_presence(f->model, "u-bob"), ==, UCD_PRESENCE_AVAILABLE);

    /* Expiry: a manual state with an end clears itself. The end counts from
     * now, not from `now` above: a slow run (ASan, a loaded machine) may have
     * spent more than 50 ms since. */
    int64_t soon = g_get_real_time() / 1000 + 50;
    g_assert_cmpint(
        core_model_set_manual(f->model, "alice", UCD_PRESENCE_BUSY, "call me later", soon), ==,
        UCD_OK);
    g_assert_cmpuint(core_model_presence(f->model, "u-alice"), ==, UCD_PRESENCE_BUSY);
    gboolean expired = FALSE;
    guint guard = 0;
    GSource *t = g_timeout_source_new_seconds(20);
    g_source_set_callback(t, timed_out, &expired, NULL);
    g_source_attach(t, f->ctx);
    while (!expired && core_model_presence(f->model, "u-alice") != UCD_PRESENCE_AVAILABLE &&
           guard++ < 100000)
        g_main_context_iteration(f->ctx, TRUE);
    g_source_destroy(t);
    g_source_unref(t);
    g_assert_false(expired);
    core_bus_flush(f->rt.bus);
    GPtrArray *alice = presence_of(f, "u-alice");
    g_assert_cmpstr(alice->pdata[alice->len - 1], ==,
                    "u-alice available<-busy m=unknown l=available -");
    g_ptr_array_free(alice, TRUE);
    /* An end in the past is refused; unknown users too. */
    g_assert_cmpint(core_model_set_manual(f->model, "alice", UCD_PRESENCE_AWAY, NULL, now - 1), ==,
                    UCD_E_INVALID);
    g_assert_cmpint(core_model_set_manual(f->model, "nobody", UCD_PRESENCE_AWAY, NULL, 0), ==,
                    UCD_E_NOT_FOUND);
}

static void test_presence_persisted(fixture *f, gconstpointer data)
{
    int64_t until = g_get_real_time() / 1000 + 3600 * 1000;
    g_assert_cmpint(
        core_model_set_manual(f->model, "alice", UCD_PRESENCE_OUT_OF_OFFICE, "back Monday", until),
        ==, UCD_OK);
    model_down(f);
    char *file = g_build_filename(f->rt.state_dir, "core", "presence.ini", NULL);
    g_assert_true(g_file_test(file, G_FILE_TEST_IS_REGULAR));
    g_free(file);
    g_ptr_array_set_size(f->presence, 0);
    model_up(f);
    g_assert_cmpuint(core_model_presence(f->model, "u-alice"), ==, UCD_PRESENCE_OUT_OF_OFFICE);
    core_presence_view v;
    g_assert_true(core_presence_view_get(f->model, "u-alice", &v));
    g_assert_cmpstr(v.note, ==, "back Monday");
    g_assert_cmpint(v.until_ms, ==, until);
    /* Cleared is cleared after a restart too. */
    core_model_set_manual(f->model, "alice", UCD_PRESENCE_UNKNOWN, NULL, 0);
    model_down(f);
    model_up(f);
    g_assert_cmpuint(core_model_presence(f->model, "u-alice"), ==, UCD_PRESENCE_AVAILABLE);
}

/* ---- commands ---------------------------------------------------------------------- */

static reply run(fixture *f, const char *command)
{
    return reply_run(f->rt.control, command);
}

static void test_commands_errors(fixture *f, gconstpointer data)
{
    reply r = run(f, "hold 999 c1");
    g_assert_false(reply_ok(&r));
    g_assert_cmpstr(reply_error(&r), ==, "unknown line '999' (see ucctl lines)");
    reply_free(&r);

    r = run(f, "hold 209 c1");
    g_assert_false(reply_ok(&r));
    g_assert_cmpstr(reply_error(&r), ==,
                    "line 209 (pbx-a) does not support hold (capability 'hold')");
    reply_free(&r);
    g_assert_cmpuint(f->pbx_a.calls->len, ==, 0);

    /* A second driver with a line 201 makes the bare address ambiguous. */
    add_provider(f, "pbx-b", UCD_PBX_SERVICE, &pbx_iface, &f->pbx_b);
    module_state(f, "pbx-b", UCD_MODULE_RUNNING);
    r = run(f, "hold 201 c1");
    g_assert_false(reply_ok(&r));
    g_assert_cmpstr(reply_error(&r), ==,
                    "line '201' is on several drivers: pbx-a/201, pbx-b/201 (name one as "
                    "DRIVER/ADDRESS)");
    reply_free(&r);

    r = run(f, "hold pbx-b/201 c1");
    g_assert_true(reply_ok(&r));
    reply_free(&r);
    g_assert_cmpuint(f->pbx_b.calls->len, ==, 1);
    g_assert_cmpstr(f->pbx_b.calls->pdata[0], ==, "hold 201 c1");
    g_assert_cmpuint(f->pbx_a.calls->len, ==, 0);

    r = run(f, "hold pbx-a/202 nosuch");
    g_assert_false(reply_ok(&r));
    g_assert_cmpstr(reply_error(&r), ==,
                    "hold on line 202 (pbx-a): the driver knows no such call or line");
    reply_free(&r);

    r = run(f, "dial 209 0301234");
    g_assert_true(reply_ok(&r));
    g_assert_cmpstr(reply_field(&r, "call_id"), ==, "d1");
    reply_free(&r);

    /* Carol's bare assignment "203" matches line 203 wherever it is. */
    r = run(f, "users show carol");
    g_assert_true(reply_ok(&r));
    g_assert_cmpstr(reply_field(&r, "line"), ==, "pbx-a/203 (idle)");
    reply_free(&r);
}

static void test_commands_tables(fixture *f, gconstpointer data)
{
    reply r = run(f, "users list --group sales");
    g_assert_true(reply_ok(&r));
    JsonArray *rows = reply_rows(&r);
    g_assert_cmpuint(json_array_get_length(rows), ==, 2);
    g_assert_cmpstr(reply_cell(rows, 0, 1), ==, "alice");
    g_assert_cmpstr(reply_cell(rows, 1, 1), ==, "bob");
    reply_free(&r);

    inbound_connected(f, "201", "c1");
    r = run(f, "calls");
    rows = reply_rows(&r);
    g_assert_cmpuint(json_array_get_length(rows), ==, 1);
    g_assert_cmpstr(reply_cell(rows, 0, 1), ==, "201");
    g_assert_cmpstr(reply_cell(rows, 0, 4), ==, "connected");
    g_assert_cmpstr(reply_cell(rows, 0, 5), ==, "inbound");
    reply_free(&r);

    r = run(f, "presence set alice away --note lunch --until 2h");
    g_assert_true(reply_ok(&r));
    rows = reply_rows(&r);
    g_assert_cmpstr(reply_cell(rows, 0, 2), ==, "on_phone");
    g_assert_cmpstr(reply_cell(rows, 0, 3), ==, "away");
    g_assert_cmpstr(reply_cell(rows, 0, 6), ==, "lunch");
    reply_free(&r);

    r = run(f, "presence set alice sleeping");
    g_assert_false(reply_ok(&r));
    reply_free(&r);

    r = run(f, "caps 209");
    g_assert_true(reply_ok(&r));
    rows = reply_rows(&r);
    g_assert_cmpstr(reply_cell(rows, 1, 0), ==, "dial");
    g_assert_cmpstr(reply_cell(rows, 1, 1), ==, "yes");
    g_assert_cmpstr(reply_cell(rows, 4, 0), ==, "hold");
    g_assert_cmpstr(reply_cell(rows, 4, 1), ==, "no");
    reply_free(&r);
}

/* Column `col` of every row of `command`'s reply, joined with ","; with
 * `next`, the reply's next cursor (or "-") after a "|". */
static char *column_of(fixture *f, const char *command, guint col)
{
    reply r = run(f, command);
    if (!reply_ok(&r))
        g_error("%s: %s", command, reply_error(&r));
    JsonArray *rows = reply_rows(&r);
    GString *text = g_string_new(NULL);
    for (guint i = 0; i < json_array_get_length(rows); i++)
        g_string_append_printf(text, "%s%s", i ? "," : "", reply_cell(rows, i, col));
    const char *next = reply_field(&r, "next");
    g_string_append_printf(text, "|%s", next ? next : "-");
    reply_free(&r);
    return g_string_free(text, FALSE);
}

#define assert_column(f, command, col, expected)                                                   \
    do {                                                                                           \
        char *got_ = column_of((f), (command), (col));                                             \
        g_assert_cmpstr(got_, ==, (expected));                                                     \
        g_free(got_);                                                                              \
    } while (0)

/* Issue 12 item 28: listings come in pages of --limit rows after the cursor
 * --after, with the next page's cursor in "next"; the order is stable, and a
 * user added between two pages neither repeats a row nor hides one. */
static void test_commands_paging(fixture *f, gconstpointer data)
{
    assert_column(f, "users --limit 2", 1, "alice,bob|bob");
    /* between the pages: one user before the cursor, one after it */
    add_user("u-aaron", "aaron", TRUE, NULL);
    add_user("u-bobby", "bobby", TRUE, NULL);
    core_directory_pull(f->model);
    assert_column(f, "users --limit 2 --after bob", 1, "bobby,carol|-");
    assert_column(f, "users list --limit 3", 1, "aaron,alice,bob|bob");
    assert_column(f, "users --group sales --limit 1 --after alice", 1, "bob|-");
    /* two users with one login: a page never ends between them */
    add_user("u-dup2", "dup", TRUE, NULL);
    add_user("u-dup1", "dup", TRUE, NULL);
    core_directory_pull(f->model);
    assert_column(f, "users --limit 1 --after carol", 0, "u-dup1,u-dup2|-");
    assert_column(f, "users --limit 4 --after alice", 1, "bob,bobby,carol,dup,dup|-");
    assert_column(f, "presence --limit 1 --after alice", 1, "bob|bob");

    assert_column(f, "lines --limit 2", 1, "201,202|pbx-a/202");
    assert_column(f, "lines --limit 2 --after pbx-a/202", 1, "203,209|-");
    assert_column(f, "groups --limit 1", 0, "sales|-");
    /* a page holds every leg of a line */
    inbound_connected(f, "201", "c1");
    CALL(f, .line = "201", .call_id = "c2", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND, .remote_number = "0301");
    inbound_connected(f, "202", "c3");
    assert_column(f, "calls --limit 1", 2, "c1,c2|pbx-a/201");
    assert_column(f, "calls --after pbx-a/201", 2, "c3|-");

    const char *const bad[] = {"users --limit 0", "lines --limit 10001", "calls --limit x",
                               "groups --after", "presence --limit -1"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        reply r = run(f, bad[i]);
        g_assert_false(reply_ok(&r));
        g_assert_nonnull(reply_error(&r));
        reply_free(&r);
    }
    reply r = run(f, "users --limit 0");
    g_assert_cmpstr(reply_error(&r), ==, "--limit must be 1 to 10000 (got 0)");
    reply_free(&r);
}

/* Issue 12 item 11: `presence` lists the users active on this server; a
 * disabled user and one homed on another server appear only with --all,
 * which says where each user is. users-ldap reports a user homed elsewhere as
 * not enabled (emil); users-file and users-sql report the home server as it
 * is (gus, enabled): the model compares it with [core] server_name itself
 * (review of issue 12, finding 3), without case like users-ldap, and an
 * empty home server is this one (hedy, as users-sql reads an empty column). */
static void test_presence_active_only(fixture *f, gconstpointer data)
{
    f->rt.server_name = g_strdup("ucd-here");
    add_user("u-dora", "dora", FALSE, NULL);
    add_user("u-emil", "emil", FALSE, "pbx2.example.test");
    add_user("u-finn", "finn", TRUE, "UCD-Here");
    add_user("u-gus", "gus", TRUE, "pbx2.example.test");
    add_user("u-hedy", "hedy", TRUE, "");
    core_directory_pull(f->model);
    assert_column(f, "presence", 1, "alice,bob,carol,finn,hedy|-");
    assert_column(f, "presence --all", 1, "alice,bob,carol,dora,emil,finn,gus,hedy|-");
    assert_column(f, "presence --all", 9, "yes,yes,yes,no,no,yes,no,yes|-");
    assert_column(f, "presence --all", 10, ",,,,pbx2.example.test,UCD-Here,pbx2.example.test,|-");
    assert_column(f, "presence emil", 9, "no|-");
    assert_column(f, "presence gus", 9, "no|-");
    reply r = run(f, "presence set dora away");
    g_assert_false(reply_ok(&r));
    g_assert_nonnull(strstr(reply_error(&r), "not active on this server"));
    reply_free(&r);
    r = run(f, "presence set gus away");
    g_assert_false(reply_ok(&r));
    g_assert_nonnull(strstr(reply_error(&r), "not active on this server"));
    reply_free(&r);
    r = run(f, "presence set finn away");
    g_assert_true(reply_ok(&r));
    reply_free(&r);
    /* A user homed on "ucd-here" is away from any other server: the host
     * name when server_name is unset. */
    g_clear_pointer(&f->rt.server_name, g_free);
    if (g_ascii_strcasecmp(g_get_host_name(), "ucd-here") != 0)
        assert_column(f, "presence", 1, "alice,bob,carol,hedy|-");
}

/* ---- trace --------------------------------------------------------------------------- */

static void test_trace(fixture *f, gconstpointer data)
{
    inbound_connected(f, "201", "c1");
    inbound_connected(f, "202", "c2"); /* another line: not in 201's trace */
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_NORMAL);
    reply r = run(f, "trace 201");
    g_assert_true(reply_ok(&r));
    JsonArray *rows = reply_rows(&r);
    g_assert_cmpuint(json_array_get_length(rows), ==, 3);
    g_assert_nonnull(strstr(reply_cell(rows, 0, 2), "call c1 offering"));
    g_assert_nonnull(strstr(reply_cell(rows, 1, 2), "call c1 connected"));
    g_assert_nonnull(strstr(reply_cell(rows, 2, 2), "cause normal"));
    guint64 first = g_ascii_strtoull(reply_cell(rows, 0, 0), NULL, 10);
    guint64 second = g_ascii_strtoull(reply_cell(rows, 1, 0), NULL, 10);
    guint64 third = g_ascii_strtoull(reply_cell(rows, 2, 0), NULL, 10);
    g_assert_cmpuint(first, <, second);
    g_assert_cmpuint(second, <, third);
    reply_free(&r);

    char *cmd = g_strdup_printf("trace pbx-a/201 --after %" G_GUINT64_FORMAT, first);
    r = run(f, cmd);
    g_free(cmd);
    rows = reply_rows(&r);
    g_assert_cmpuint(json_array_get_length(rows), ==, 2);
    g_assert_cmpuint(g_ascii_strtoull(reply_cell(rows, 0, 0), NULL, 10), ==, second);
    g_assert_cmpuint(g_ascii_strtoull(reply_field(&r, "seq"), NULL, 10), >=, third);
    reply_free(&r);

    r = run(f, "trace 201 --limit 1");
    rows = reply_rows(&r);
    g_assert_cmpuint(json_array_get_length(rows), ==, 1);
    g_assert_cmpuint(g_ascii_strtoull(reply_cell(rows, 0, 0), NULL, 10), ==,
                     third); /* the newest */
    reply_free(&r);
}

static void collect_seq(uint64_t seq, int64_t time_ms, const char *text, void *ud)
{
    g_array_append_val((GArray *)ud, seq);
}

static void test_trace_ring_wraps(void)
{
    core_trace *t = core_trace_new(4);
    core_line a = {.address = (char *)"1"}, b = {.address = (char *)"2"};
    ucd_line_state_event ev = {.struct_size = sizeof ev, .state = UCD_LINE_IDLE};
    for (int i = 0; i < 10; i++)
        core_trace_line(t, i % 3 == 2 ? &b : &a, &ev, 1000 + i);
    /* Seqs 1..10; the ring keeps 7..10, of which 7, 8, 10 are line a's. */
    GArray *seqs = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    g_assert_cmpuint(core_trace_query(t, &a, 0, 0, FALSE, collect_seq, seqs), ==, 10);
    g_assert_cmpuint(seqs->len, ==, 3);
    g_assert_cmpuint(g_array_index(seqs, uint64_t, 0), ==, 7);
    g_assert_cmpuint(g_array_index(seqs, uint64_t, 1), ==, 8);
    g_assert_cmpuint(g_array_index(seqs, uint64_t, 2), ==, 10);
    g_array_set_size(seqs, 0);
    core_trace_query(t, &a, 7, 1, FALSE, collect_seq, seqs);
    g_assert_cmpuint(seqs->len, ==, 1);
    g_assert_cmpuint(g_array_index(seqs, uint64_t, 0), ==, 8);
    g_array_free(seqs, TRUE);
    core_trace_free(t);
}

/* ---- ucctl trace -------------------------------------------------------------------- */

static void child_exited(GPid pid, gint status, gpointer data)
{
    *(gint *)data = status;
    g_spawn_close_pid(pid);
}

/* Serves the fixture's socket until the child `pid` exits; it must succeed. */
static void wait_child(fixture *f, GPid pid)
{
    gint status = -1;
    GSource *watch = g_child_watch_source_new(pid);
    g_source_set_callback(watch, (GSourceFunc)(void (*)(void))child_exited, &status, NULL);
    g_source_attach(watch, f->ctx);
    while (status == -1)
        g_main_context_iteration(f->ctx, TRUE);
    g_source_unref(watch);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
}

/* Runs the built ucctl against the fixture's socket, serving the socket on
 * this thread meanwhile; returns its stdout. */
static char *run_ucctl(fixture *f, const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)g_getenv("UCCTL"));
    g_ptr_array_add(argv, "--socket");
    g_ptr_array_add(argv, f->socket);
    for (; *args; args++)
        g_ptr_array_add(argv, (gpointer)*args);
    g_ptr_array_add(argv, NULL);
    GPid pid;
    int out_fd;
    GError *err = NULL;
    g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv->pdata, NULL,
                                           G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL,
                                           &out_fd, NULL, &err));
    g_assert_no_error(err);
    wait_child(f, pid);
    GIOChannel *ch = g_io_channel_unix_new(out_fd);
    char *text = NULL;
    g_io_channel_read_to_end(ch, &text, NULL, NULL);
    g_io_channel_shutdown(ch, FALSE, NULL);
    g_io_channel_unref(ch);
    g_ptr_array_free(argv, TRUE);
    return text;
}

/* `ucctl --json users` over the socket with 2,507 users: three pages of the
 * default 1,000, which ucctl follows through "next"; every user once, in
 * order (issue 12 item 28). Its output goes to a file: more than a pipe holds
 * while this thread serves the socket. */
static void test_ucctl_users_pages(fixture *f, gconstpointer data)
{
    if (!g_getenv("UCCTL"))
        g_error(
            "UCCTL is not set: run this test through meson test, which passes the ucctl it built");
    for (int i = 0; i < 2500; i++) {
        char id[32], login[32];
        g_snprintf(id, sizeof id, "u-%04d", i);
        g_snprintf(login, sizeof login, "user%04d", i);
        add_user(id, login, TRUE, NULL);
    }
    add_user("u-x1", "x1", TRUE, NULL);
    add_user("u-x2", "x2", TRUE, NULL);
    add_user("u-x3", "x3", TRUE, NULL);
    add_user("u-x4", "x4", TRUE, NULL);
    core_directory_pull(f->model);
    /* the daemon's first page: 1,000 rows and the cursor after them */
    reply first = run(f, "users");
    g_assert_cmpuint(json_array_get_length(reply_rows(&first)), ==, CORE_PAGE_DEFAULT_LIMIT);
    g_assert_cmpstr(reply_field(&first, "next"), ==, "user0996");
    reply_free(&first);
    char *path = g_build_filename(f->dir, "users.json", NULL);
    int out = g_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    g_assert_cmpint(out, >=, 0);
    const char *argv[] = {g_getenv("UCCTL"), "--socket", f->socket, "--json", "users", NULL};
    GPid pid;
    GError *err = NULL;
    g_assert_true(g_spawn_async_with_fds(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                         NULL, &pid, -1, out, -1, &err));
    g_assert_no_error(err);
    close(out);
    wait_child(f, pid);

    JsonParser *parser = json_parser_new();
    g_assert_true(json_parser_load_from_file(parser, path, NULL));
    JsonArray *users = json_node_get_array(json_parser_get_root(parser));
    g_assert_cmpuint(json_array_get_length(users), ==, 2507);
    const char *previous = "";
    for (guint i = 0; i < json_array_get_length(users); i++) {
        const char *login =
            json_object_get_string_member(json_array_get_object_element(users, i), "login");
        g_assert_cmpint(strcmp(previous, login), <, 0); /* sorted, so no repeats */
        previous = login;
    }
    g_object_unref(parser);
    g_free(path);
}

static void test_ucctl_trace(fixture *f, gconstpointer data)
{
    if (!g_getenv("UCCTL"))
        g_error(
            "UCCTL is not set: run this test through meson test, which passes the ucctl it built");
    inbound_connected(f, "201", "c1");
    const char *people[] = {"trace", "201", "--once", NULL};
    char *out = run_ucctl(f, people);
    char **lines = g_strsplit(out, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 3); /* two rows and the empty tail */
    g_assert_nonnull(strstr(lines[0], "call c1 offering"));
    g_assert_nonnull(strstr(lines[1], "call c1 connected"));
    g_strfreev(lines);
    g_free(out);

    const char *json[] = {"--json", "trace", "pbx-a/201", "--once", NULL};
    out = run_ucctl(f, json);
    lines = g_strsplit(out, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 3);
    for (int i = 0; i < 2; i++) {
        JsonParser *p = json_parser_new();
        g_assert_true(json_parser_load_from_data(p, lines[i], -1, NULL));
        JsonObject *o = json_node_get_object(json_parser_get_root(p));
        g_assert_nonnull(strstr(json_object_get_string_member(o, "event"), "call c1"));
        g_assert_cmpint(g_ascii_strtoll(json_object_get_string_member(o, "seq"), NULL, 10), >, 0);
        g_object_unref(p);
    }
    g_strfreev(lines);
    g_free(out);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn)                                                                              \
    g_test_add("/model/" name, fixture, NULL, fixture_set_up, fn, fixture_tear_down)
    ADD("calls/inbound-answered", test_inbound_answered);
    ADD("calls/no-answer", test_no_answer);
    ADD("calls/busy", test_busy);
    ADD("calls/internal", test_internal);
    ADD("calls/blind-transfer", test_blind_transfer);
    ADD("calls/consultation-transfer", test_consultation_transfer);
    ADD("calls/pickup", test_pickup);
    ADD("calls/forward", test_forward);
    ADD("calls/requested-after-pickup", test_requested_after_pickup);
    ADD("calls/requested-click-to-dial", test_requested_click_to_dial);
    ADD("calls/end-cause-any-order", test_end_cause_any_order);
    ADD("calls/end-cause-link-lost-any-order", test_end_cause_link_lost_any_order);
    ADD("calls/link-lost", test_link_lost);
    ADD("presence/sequence", test_presence_sequence);
    ADD("presence/manual-precedence-expiry", test_manual_precedence_and_expiry);
    ADD("presence/persisted", test_presence_persisted);
    ADD("commands/errors", test_commands_errors);
    ADD("commands/tables", test_commands_tables);
    ADD("commands/paging", test_commands_paging);
    ADD("presence/active-only", test_presence_active_only);
    ADD("trace/after", test_trace);
    ADD("trace/ucctl", test_ucctl_trace);
    ADD("commands/ucctl-users-pages", test_ucctl_users_pages);
    g_test_add_func("/model/trace/ring-wraps", test_trace_ring_wraps);
    return g_test_run();
}
