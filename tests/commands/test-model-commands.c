/*
 * test-model-commands.c - ucctl's model commands (core/commands/) against
 * fake core services and no model: two users backends' users in one
 * directory, lines of two drivers, a call, presence; and a fake calls
 * control() that records the request each call-control command makes.
 *
 * There is no core_model in this program: a command that reached into the
 * model instead of the services would not link or would find nothing.
 */
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "commands/model-commands.h"
#include "control-reply.h"
#include "instance.h"

/* ---- the fake directory ------------------------------------------------------------- */

static const char *const none[] = {NULL};
static const char *const sales[] = {"sales", NULL};
static const char *const alice_numbers[] = {"201", NULL}, *const alice_e164[] = {"+4989201", NULL};
static const char *const alice_lines[] = {"pbx-a/201", NULL};
static const char *const bob_lines[] = {"pbx-b/201", NULL};
static const char *const leaders[] = {"u-alice", NULL};

/* By login, as directory.h orders them; two backends. */
static const ucd_directory_user users[] = {
    {.struct_size = sizeof(ucd_directory_user),
     .enabled = 1,
     .active_here = 1,
     .id = "u-alice",
     .login = "alice",
     .display_name = "Alice A",
     .backend = "users-a",
     .numbers = alice_numbers,
     .e164 = alice_e164,
     .groups = sales,
     .lines = alice_lines},
    {.struct_size = sizeof(ucd_directory_user),
     .enabled = 1,
     .active_here = 1,
     .id = "u-bob",
     .login = "bob",
     .display_name = "Bob B",
     .backend = "users-b",
     .numbers = none,
     .e164 = none,
     .groups = sales,
     .lines = bob_lines},
    {.struct_size = sizeof(ucd_directory_user),
     .enabled = 0,
     .active_here = 0,
     .id = "u-dora",
     .login = "dora",
     .home_server = "elsewhere",
     .backend = "users-b",
     .numbers = none,
     .e164 = none,
     .groups = none,
     .lines = none},
};

static const ucd_directory_group groups[] = {
    {.struct_size = sizeof(ucd_directory_group),
     .id = "sales",
     .name = "Sales",
     .backend = "users-a",
     .leaders = leaders},
};

#define CAPS_201 (UCD_PBX_CAP_DIAL | UCD_PBX_CAP_HOLD)
/* By driver, then address. */
static const ucd_directory_line lines[] = {
    {.struct_size = sizeof(ucd_directory_line),
     .state = UCD_LINE_BUSY,
     .driver = "pbx-a",
     .address = "201",
     .number = "201",
     .capabilities = CAPS_201,
     .user_id = "u-alice"},
    {.struct_size = sizeof(ucd_directory_line),
     .state = UCD_LINE_IDLE,
     .driver = "pbx-a",
     .address = "202",
     .dnd = 1},
    {.struct_size = sizeof(ucd_directory_line),
     .state = UCD_LINE_IDLE,
     .driver = "pbx-b",
     .address = "201",
     .forward_to = "555",
     .user_id = "u-bob"},
};

static int get_user(void *impl, const char *key, ucd_directory_user_cb cb, void *ud)
{
    for (size_t i = 0; i < G_N_ELEMENTS(users); i++)
        if (strcmp(users[i].id, key) == 0 || strcmp(users[i].login, key) == 0) {
            cb(&users[i], ud);
            return UCD_OK;
        }
    return UCD_E_NOT_FOUND;
}

static int foreach_user(void *impl, uint32_t flags, ucd_directory_user_cb cb, void *ud)
{
    for (size_t i = 0; i < G_N_ELEMENTS(users); i++)
        if ((!(flags & UCD_DIRECTORY_ACTIVE_HERE) || users[i].active_here) && cb(&users[i], ud))
            break;
    return UCD_OK;
}

static int foreach_group(void *impl, ucd_directory_group_cb cb, void *ud)
{
    cb(&groups[0], ud);
    return UCD_OK;
}

static int foreach_member(void *impl, const char *group, ucd_directory_user_cb cb, void *ud)
{
    for (size_t i = 0; i < G_N_ELEMENTS(users); i++)
        if (g_strv_contains(users[i].groups, group) && cb(&users[i], ud))
            break;
    return UCD_OK;
}

static int get_line(void *impl, const char *driver, const char *address, ucd_directory_line_cb cb,
                    void *ud)
{
    for (size_t i = 0; i < G_N_ELEMENTS(lines); i++)
        if ((!driver || strcmp(lines[i].driver, driver) == 0) &&
            strcmp(lines[i].address, address) == 0) {
            cb(&lines[i], ud);
            return UCD_OK;
        }
    return UCD_E_NOT_FOUND;
}

static int foreach_line(void *impl, const char *driver, ucd_directory_line_cb cb, void *ud)
{
    for (size_t i = 0; i < G_N_ELEMENTS(lines); i++)
        if ((!driver || strcmp(lines[i].driver, driver) == 0) && cb(&lines[i], ud))
            break;
    return UCD_OK;
}

static const ucd_directory_v1 directory_iface = {
    .struct_size = sizeof(ucd_directory_v1),
    .get_user = get_user,
    .foreach_user = foreach_user,
    .foreach_group = foreach_group,
    .foreach_member = foreach_member,
    .get_line = get_line,
    .foreach_line = foreach_line,
};

/* ---- the fake calls service ------------------------------------------------------------ */

typedef struct fake_calls {
    int rc;              /* what control() answers */
    const char *message; /* and says on failure */
    guint requests;
    /* the last request, its strings copied */
    uint32_t action, forward_type, on;
    char *actor, *line, *call_id, *other_call_id, *number, *target, *digits;
} fake_calls;

static int foreach_leg(void *impl, const char *user, ucd_call_leg_cb cb, void *ud)
{
    const ucd_call_leg leg = {.struct_size = sizeof leg,
                              .state = UCD_CALL_CONNECTED,
                              .direction = UCD_DIR_INBOUND,
                              .driver = "pbx-a",
                              .line = "201",
                              .user_id = "u-alice",
                              .call_id = "c1",
                              .uuid = "conv-1",
                              .remote_number = "0301234"};
    cb(&leg, ud);
    return UCD_OK;
}

static int foreach_conversation(void *impl, const char *user, ucd_journal_record_cb cb, void *ud)
{
    const ucd_journal_record rec = {.struct_size = sizeof rec, .uuid = "conv-1"};
    cb(&rec, ud);
    return UCD_OK;
}

static void keep(char **slot, const char *value)
{
    g_free(*slot);
    *slot = g_strdup(value);
}

static int control(void *impl, const ucd_call_request *req, ucd_call_result *res)
{
    fake_calls *fc = impl;
    fc->requests++;
    fc->action = req->action;
    fc->forward_type = req->forward_type;
    fc->on = req->on;
    keep(&fc->actor, req->actor);
    keep(&fc->line, req->line);
    keep(&fc->call_id, req->call_id);
    keep(&fc->other_call_id, req->other_call_id);
    keep(&fc->number, req->number);
    keep(&fc->target, req->target);
    keep(&fc->digits, req->digits);
    g_strlcpy(res->driver, "pbx-a", sizeof res->driver);
    if (req->action == UCD_CALL_DIAL)
        g_strlcpy(res->call_id, "d1", sizeof res->call_id);
    if (fc->rc != UCD_OK)
        g_strlcpy(res->message, fc->message, sizeof res->message);
    return fc->rc;
}

static const ucd_calls_v1 calls_iface = {.struct_size = sizeof(ucd_calls_v1),
                                         .foreach_leg = foreach_leg,
                                         .foreach_conversation = foreach_conversation,
                                         .control = control};

/* ---- the fake presence service ---------------------------------------------------------- */

typedef struct fake_presence {
    char *set; /* "ACTOR USER STATE NOTE" of the last set_manual */
} fake_presence;

static int presence_get(void *impl, const char *user, ucd_presence_info_cb cb, void *ud)
{
    if (strcmp(user, "u-alice") != 0 && strcmp(user, "u-bob") != 0)
        return UCD_E_NOT_FOUND;
    ucd_presence_info info = {.struct_size = sizeof info,
                              .state = UCD_PRESENCE_ON_PHONE,
                              .manual_state = UCD_PRESENCE_AWAY,
                              .line_state = UCD_PRESENCE_ON_PHONE,
                              .user_id = user,
                              .note = "lunch"};
    cb(&info, ud);
    return UCD_OK;
}

static int set_manual(void *impl, const char *actor, const char *user, uint32_t state,
                      const char *note, int64_t until_ms)
{
    fake_presence *fp = impl;
    g_free(fp->set);
    fp->set = g_strdup_printf("%s %s %s %s", actor ? actor : "-", user, ucd_presence_word(state),
                              note ? note : "-");
    return UCD_OK;
}

static int clear_manual(void *impl, const char *actor, const char *user)
{
    return set_manual(impl, actor, user, UCD_PRESENCE_UNKNOWN, NULL, 0);
}

static const ucd_presence_v1 presence_iface = {.struct_size = sizeof(ucd_presence_v1),
                                               .get = presence_get,
                                               .set_manual = set_manual,
                                               .clear_manual = clear_manual};

/* ---- a users backend: users-b, which can move users ---------------------------------- */

static char *moved; /* "USER_ID SERVER" */

static int set_home_server(void *impl, const char *user_id, const char *server)
{
    g_free(moved);
    moved = g_strdup_printf("%s %s", user_id, server); /* on a pool thread; read after */
    return UCD_OK;
}

static const ucd_users_v1 users_b_iface = {.struct_size = sizeof(ucd_users_v1),
                                           .set_home_server = set_home_server};

/* ---- the fixture ------------------------------------------------------------------------ */

typedef struct fixture {
    char *dir, *socket;
    GMainContext *ctx;
    core_runtime rt;
    core_modules *mods;
    core_model_commands *commands;
    fake_calls calls;
    fake_presence presence;
    ucd_plugin users_b;
} fixture;

static void fixture_set_up(fixture *f, gconstpointer data)
{
    GError *err = NULL;
    f->dir = g_dir_make_tmp("ucd-commands-XXXXXX", &err);
    g_assert_no_error(err);
    f->ctx = g_main_context_new();
    f->rt.ctx = f->ctx;
    f->rt.workers = core_workers_new(f->ctx, 1);
    f->socket = g_build_filename(f->dir, "ucd.sock", NULL);
    f->rt.control = core_control_new(f->ctx, f->socket, &err);
    g_assert_no_error(err);
    f->mods = core_modules_new(&f->rt);
    core_modules_add_core_service(f->mods, UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR,
                                  UCD_DIRECTORY_MINOR, &directory_iface, NULL);
    core_modules_add_core_service(f->mods, UCD_CALLS_SERVICE, UCD_CALLS_MAJOR, UCD_CALLS_MINOR,
                                  &calls_iface, &f->calls);
    core_modules_add_core_service(f->mods, UCD_PRESENCE_SERVICE, UCD_PRESENCE_MAJOR,
                                  UCD_PRESENCE_MINOR, &presence_iface, &f->presence);
    /* users-b as a running module providing users, as the manager records it */
    f->users_b = (ucd_plugin){.mods = f->mods, .id = "users-b", .state = UCD_MODULE_RUNNING};
    core_service_entry *e = g_new0(core_service_entry, 1);
    *e = (core_service_entry){&f->users_b,     g_strdup(UCD_USERS_SERVICE),
                              UCD_USERS_MAJOR, UCD_USERS_MINOR,
                              &users_b_iface,  NULL};
    g_ptr_array_add(f->mods->services, e);
    f->commands = core_model_commands_register(f->rt.control, f->mods, f->rt.workers);
}

static void fixture_tear_down(fixture *f, gconstpointer data)
{
    core_control_unregister_owner(f->rt.control, "core");
    core_model_commands_free(f->commands);
    core_modules_free(f->mods);
    core_control_free(f->rt.control);
    core_workers_free(f->rt.workers);
    while (g_main_context_iteration(f->ctx, FALSE))
        ;
    g_main_context_unref(f->ctx);
    fake_calls *fc = &f->calls;
    char **strings[] = {&fc->actor,         &fc->line,        &fc->call_id,
                        &fc->other_call_id, &fc->number,      &fc->target,
                        &fc->digits,        &f->presence.set, &moved};
    for (size_t i = 0; i < G_N_ELEMENTS(strings); i++)
        g_clear_pointer(strings[i], g_free);
    g_remove(f->socket);
    g_rmdir(f->dir);
    g_free(f->socket);
    g_free(f->dir);
}

/* ---- replies ---------------------------------------------------------------------------- */

static reply run(fixture *f, const char *command)
{
    return reply_run(f->rt.control, command);
}

/* Column `col` of every row, joined with ",", then "|" and the next cursor or "-". */
static char *column(const reply *r, guint col)
{
    JsonArray *rows = reply_rows(r);
    GString *text = g_string_new(NULL);
    for (guint i = 0; rows && i < json_array_get_length(rows); i++)
        g_string_append_printf(text, "%s%s", i ? "," : "", reply_cell(rows, i, col));
    const char *next = reply_field(r, "next");
    g_string_append_printf(text, "|%s", next ? next : "-");
    return g_string_free(text, FALSE);
}

/* `command` succeeds and column `col` of its rows is `expected`. */
static void assert_column(fixture *f, const char *command, guint col, const char *expected)
{
    reply r = run(f, command);
    if (reply_error(&r))
        g_error("%s: %s", command, reply_error(&r));
    char *got = column(&r, col);
    g_assert_cmpstr(got, ==, expected);
    g_free(got);
    reply_free(&r);
}

/* `command` fails with exactly `expected`. */
static void assert_error(fixture *f, const char *command, const char *expected)
{
    reply r = run(f, command);
    g_assert_false(json_object_get_boolean_member(r.root, "ok"));
    g_assert_cmpstr(reply_error(&r), ==, expected);
    reply_free(&r);
}

/* `command` succeeds and field `name` is `expected`. */
static void assert_field(fixture *f, const char *command, const char *name, const char *expected)
{
    reply r = run(f, command);
    if (reply_error(&r))
        g_error("%s: %s", command, reply_error(&r));
    g_assert_cmpstr(reply_field(&r, name), ==, expected);
    reply_free(&r);
}

/* ---- the tests ------------------------------------------------------------------------------ */

/* Users of both backends, in pages; one user in full; groups and members. */
static void test_users(fixture *f, gconstpointer data)
{
    assert_column(f, "users", 1, "alice,bob,dora|-");
    assert_column(f, "users", 7, "users-a,users-b,users-b|-");
    assert_column(f, "users", 5, "pbx-a/201,pbx-b/201,|-");
    assert_column(f, "users --limit 1", 1, "alice|alice");
    assert_column(f, "users --limit 1 --after alice", 1, "bob|bob");
    assert_column(f, "users list --group sales", 0, "u-alice,u-bob|-");
    assert_field(f, "users show bob", "line", "pbx-b/201 (idle)");
    assert_field(f, "users show alice", "number", "201 (+4989201)");
    assert_field(f, "users show alice", "presence", "on_phone");
    assert_field(f, "users show dora", "presence", "unknown");
    assert_error(f, "users show nobody", "unknown user 'nobody' (see ucctl users)");
    assert_error(f, "users --limit 0", "--limit must be 1 to 10000 (got 0)");
    assert_column(f, "groups", 2, "2|-");
    assert_column(f, "groups", 3, "u-alice|-");
}

/* `users move` goes to the backend the user came from (users-b for bob),
 * on the pool, answering later. */
static void test_users_move(fixture *f, gconstpointer data)
{
    reply r = run(f, "users move bob --to pbx2");
    g_assert_null(reply_error(&r));
    g_assert_cmpstr(moved, ==, "u-bob pbx2");
    reply_free(&r);
    assert_error(f, "users move alice --to pbx2",
                 "users move: backend users-a of u-alice is not running");
    assert_error(f, "users move nobody --to pbx2", "users move: no user 'nobody'");
}

/* Lines with their user and calls; caps from the directory's capabilities;
 * a bare address two drivers have is refused with both named. */
static void test_lines_and_caps(fixture *f, gconstpointer data)
{
    assert_column(f, "lines", 0, "pbx-a,pbx-a,pbx-b|-");
    assert_column(f, "lines", 4, "busy,idle,idle|-");
    assert_column(f, "lines", 5, "alice,,bob|-");
    assert_column(f, "lines", 6, "off,on,off|-");
    assert_column(f, "lines", 7, ",,555|-");
    assert_column(f, "lines", 8, "1,0,0|-");
    assert_column(f, "lines --limit 2", 1, "201,202|pbx-a/202");
    assert_column(f, "lines --after pbx-a/202", 1, "201|-");
    assert_column(f, "caps pbx-a/201", 1, "no,yes,no,no,yes,no,no,no,no,no,no,no,no|-");
    assert_field(f, "caps 202", "driver", "pbx-a");
    assert_error(f, "caps 201",
                 "line '201' is on several drivers: pbx-a/201, pbx-b/201 (name one as "
                 "DRIVER/ADDRESS)");
    assert_error(f, "caps 999", "unknown line '999' (see ucctl lines)");
}

static void test_calls(fixture *f, gconstpointer data)
{
    assert_column(f, "calls", 2, "c1|-");
    assert_column(f, "calls", 4, "connected|-");
    assert_field(f, "calls", "live_legs", "1");
    assert_field(f, "calls", "open_conversations", "1");
}

/* Each call-control command asks control() on the line, for the system
 * (actor NULL), and says its message word for word when it fails. */
static void test_call_control(fixture *f, gconstpointer data)
{
    fake_calls *fc = &f->calls;
    reply r = run(f, "hold pbx-a/201 c1");
    g_assert_null(reply_error(&r));
    g_assert_cmpuint(fc->action, ==, UCD_CALL_HOLD);
    g_assert_null(fc->actor);
    g_assert_cmpstr(fc->line, ==, "pbx-a/201");
    g_assert_cmpstr(fc->call_id, ==, "c1");
    g_assert_cmpstr(json_object_get_string_member(r.root, "text"), ==, "hold: accepted by pbx-a");
    reply_free(&r);

    assert_field(f, "dial 202 0301", "call_id", "d1");
    g_assert_cmpstr(fc->number, ==, "0301");
    assert_field(f, "consult-transfer 201 h1 a1", "call_id", NULL);
    g_assert_cmpuint(fc->action, ==, UCD_CALL_CONSULT_TRANSFER);
    g_assert_cmpstr(fc->call_id, ==, "h1");
    g_assert_cmpstr(fc->other_call_id, ==, "a1");
    assert_field(f, "forward 201 busy off", "call_id", NULL);
    g_assert_cmpuint(fc->action, ==, UCD_CALL_FORWARD);
    g_assert_cmpuint(fc->forward_type, ==, UCD_FORWARD_BUSY);
    g_assert_null(fc->number);
    assert_field(f, "pickup 203 pbx-a/202", "call_id", NULL);
    g_assert_cmpstr(fc->target, ==, "pbx-a/202");
    assert_field(f, "dnd 202 on", "call_id", NULL);
    g_assert_cmpuint(fc->on, ==, 1);
    assert_field(f, "dtmf 201 c1 12#", "call_id", NULL);
    g_assert_cmpstr(fc->digits, ==, "12#");

    /* ucctl's own words are checked before control() is asked */
    guint asked = fc->requests;
    assert_error(f, "forward 201 sideways 555",
                 "forward: type 'sideways' is none of unconditional, busy, no_answer");
    assert_error(f, "dnd 201 maybe", "dnd: say on or off, not 'maybe'");
    assert_error(f, "hold 201", "usage: hold LINE CALL");
    g_assert_cmpuint(fc->requests, ==, asked);

    fc->rc = UCD_E_UNSUPPORTED;
    fc->message = "line 209 (pbx-a) does not support hold (capability 'hold')";
    assert_error(f, "hold 209 c1", "line 209 (pbx-a) does not support hold (capability 'hold')");
}

/* Presence of the users active here (all with --all), set for the system. */
static void test_presence(fixture *f, gconstpointer data)
{
    assert_column(f, "presence", 1, "alice,bob|-");
    assert_column(f, "presence", 3, "away,away|-");
    assert_column(f, "presence --all", 9, "yes,yes,no|-");
    assert_column(f, "presence --all", 10, ",,elsewhere|-");
    assert_column(f, "presence dora", 2, "unknown|-");
    assert_error(f, "presence set dora away",
                 "user 'dora' is not active on this server (disabled, or homed on another "
                 "server): no presence here");
    assert_error(f, "presence set alice sleeping",
                 "unknown state 'sleeping': available, away, busy, dnd or out_of_office");
    g_assert_null(f->presence.set);
    assert_column(f, "presence set alice busy --note meeting", 6, "lunch|-");
    g_assert_cmpstr(f->presence.set, ==, "- alice busy meeting");
    assert_column(f, "presence clear bob", 1, "bob|-");
    g_assert_cmpstr(f->presence.set, ==, "- bob unknown -");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn)                                                                              \
    g_test_add("/commands/" name, fixture, NULL, fixture_set_up, fn, fixture_tear_down)
    ADD("users", test_users);
    ADD("users-move", test_users_move);
    ADD("lines-and-caps", test_lines_and_caps);
    ADD("calls", test_calls);
    ADD("call-control", test_call_control);
    ADD("presence", test_presence);
    return g_test_run();
}
