/*
 * test-call-control.c - call control through the model (core/model/call-control.c):
 * a real model on a real bus, fed by call events as a driver publishes them,
 * with fake pbx and users services in the service registry and a real
 * permissions object.
 *
 * Every fake driver function writes what it was asked, with its own name
 * ("hold 201 c1"), so a request that reached the wrong function or the wrong
 * line, or that should have been refused, shows in f->asked.
 *
 * The office: pbx-a has lines 201 (alice), 202 (bob), 203 (carol), 205
 * (alice's first line: no dial, no pickup), 208 (frank: dial only) and 209
 * (nobody's); pbx-b, a driver built with an older, shorter table (up to
 * deflect), has 201 too; pbx-c (erin's 301) is stopped; pbx-d has alice's
 * second line, 401, and 402 (nobody's). Permissions: public by default, team
 * within sales (alice, bob).
 */
#include <glib/gstdio.h>
#include <string.h>

#include "fake-lines.h"
#include "conf-permissions.h"
#include "fake-registry.h"
#include "fake-users.h"
#include "instance.h"
#include "model/call-control.h"
#include "model/directory.h"
#include "model/permissions.h"

/* ---- the fake drivers -------------------------------------------------------------- */

static const fake_line pbx_a_lines[] = {
    {"201", FAKE_ALL_CAPS},
    {"202", FAKE_ALL_CAPS},
    {"203", FAKE_ALL_CAPS},
    {"205", UCD_PBX_CAP_MONITOR | UCD_PBX_CAP_ANSWER | UCD_PBX_CAP_HOLD | UCD_PBX_CAP_FORWARD |
                UCD_PBX_CAP_DND},
    {"208", UCD_PBX_CAP_MONITOR | UCD_PBX_CAP_DIAL},
    {"209", UCD_PBX_CAP_MONITOR | UCD_PBX_CAP_DIAL | UCD_PBX_CAP_HANGUP},
    {NULL, 0},
};
static const fake_line pbx_b_lines[] = {{"201", FAKE_ALL_CAPS}, {NULL, 0}};
static const fake_line pbx_c_lines[] = {{"301", FAKE_ALL_CAPS}, {NULL, 0}};
static const fake_line pbx_d_lines[] = {{"401", FAKE_ALL_CAPS}, {"402", FAKE_ALL_CAPS}, {NULL, 0}};

typedef struct fake_pbx {
    const char *id;
    const fake_line *lines;
    GPtrArray *asked; /* shared by all drivers: "pbx-b: hold 201 c1" for pbx-b */
    int rc;           /* what every call-control function answers */
} fake_pbx;

static int pbx_list(void *impl, ucd_pbx_line_cb cb, void *ud)
{
    return fake_lines_list(((fake_pbx *)impl)->lines, cb, ud);
}

static uint64_t pbx_caps(void *impl, const char *address)
{
    return fake_lines_caps(((fake_pbx *)impl)->lines, address);
}

static int asked(fake_pbx *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int asked(fake_pbx *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(p->asked,
                    strcmp(p->id, "pbx-a") == 0 ? what : g_strdup_printf("%s: %s", p->id, what));
    if (strcmp(p->id, "pbx-a") != 0)
        g_free(what);
    return p->rc;
}

static int pbx_dial(void *impl, const char *line, const char *number, char *call_id, size_t size)
{
    fake_pbx *p = impl;
    if (p->rc == UCD_OK)
        g_strlcpy(call_id, "d1", size);
    return asked(p, "dial %s %s", line, number);
}

static int pbx_answer(void *impl, const char *line, const char *call_id)
{
    return asked(impl, "answer %s %s", line, call_id);
}

static int pbx_hangup(void *impl, const char *line, const char *call_id)
{
    return asked(impl, "hangup %s %s", line, call_id);
}

static int pbx_hold(void *impl, const char *line, const char *call_id)
{
    return asked(impl, "hold %s %s", line, call_id);
}

static int pbx_retrieve(void *impl, const char *line, const char *call_id)
{
    return asked(impl, "retrieve %s %s", line, call_id);
}

static int pbx_transfer(void *impl, const char *line, const char *call_id, const char *number)
{
    return asked(impl, "transfer %s %s %s", line, call_id, number);
}

static int pbx_consult(void *impl, const char *line, const char *held, const char *active)
{
    return asked(impl, "consult %s %s %s", line, held, active);
}

static int pbx_deflect(void *impl, const char *line, const char *call_id, const char *number)
{
    return asked(impl, "deflect %s %s %s", line, call_id, number);
}

static int pbx_pickup(void *impl, const char *line, const char *target)
{
    return asked(impl, "pickup %s %s", line, target);
}

static int pbx_dtmf(void *impl, const char *line, const char *call_id, const char *digits)
{
    return asked(impl, "dtmf %s %s %s", line, call_id, digits);
}

static int pbx_forward(void *impl, const char *line, uint32_t type, const char *number)
{
    return asked(impl, "forward %s %u %s", line, type, number ? number : "-");
}

static int pbx_dnd(void *impl, const char *line, int on)
{
    return asked(impl, "dnd %s %d", line, on);
}

static const ucd_pbx_v1 pbx_iface = {
    .struct_size = sizeof(ucd_pbx_v1),
    .list_lines = pbx_list,
    .capabilities = pbx_caps,
    .dial = pbx_dial,
    .answer = pbx_answer,
    .hangup = pbx_hangup,
    .hold = pbx_hold,
    .retrieve = pbx_retrieve,
    .transfer_blind = pbx_transfer,
    .transfer_consult = pbx_consult,
    .deflect = pbx_deflect,
    .pickup = pbx_pickup,
    .send_dtmf = pbx_dtmf,
    .set_forward = pbx_forward,
    .set_dnd = pbx_dnd,
};

/* A driver built when the table ended after deflect: what lies beyond its
 * struct_size must never be called, whatever the memory there holds. */
static const ucd_pbx_v1 pbx_old_iface = {
    .struct_size = offsetof(ucd_pbx_v1, pickup),
    .list_lines = pbx_list,
    .capabilities = pbx_caps,
    .dial = pbx_dial,
    .hold = pbx_hold,
    .pickup = pbx_pickup,
    .set_dnd = pbx_dnd,
};

/* ---- the fake directory ------------------------------------------------------------ */

static const char *const sales[] = {"sales", NULL};
static const char *const none[] = {NULL};
static const char *const alice_lines[] = {"pbx-a/205", "pbx-d/401", "pbx-a/201", NULL};
static const char *const bob_lines[] = {"pbx-a/202", NULL};
static const char *const carol_lines[] = {"203", NULL}; /* bare: on whichever driver has it */
static const char *const erin_lines[] = {"pbx-c/301", NULL};
static const char *const frank_lines[] = {"pbx-a/208", NULL};

static const ucd_user office_users[] = {
    {sizeof(ucd_user), 1, "u-alice", "alice", "Alice", .numbers = none, .groups = sales,
     .lines = alice_lines},
    {sizeof(ucd_user), 1, "u-bob", "bob", "Bob", .numbers = none, .groups = sales,
     .lines = bob_lines},
    {sizeof(ucd_user), 1, "u-carol", "carol", "Carol", .numbers = none, .groups = none,
     .lines = carol_lines},
    {sizeof(ucd_user), 1, "u-dave", "dave", "Dave", .numbers = none, .groups = none, .lines = none},
    {sizeof(ucd_user), 1, "u-erin", "erin", "Erin", .numbers = none, .groups = none,
     .lines = erin_lines},
    {sizeof(ucd_user), 1, "u-frank", "frank", "Frank", .numbers = none, .groups = none,
     .lines = frank_lines},
};

/* ---- the fixture ------------------------------------------------------------------- */

typedef struct fixture {
    char *dir;
    GMainContext *ctx;
    core_runtime rt;
    core_modules *mods;
    core_model *model;
    core_config *cfg;
    core_permissions *perms;
    GPtrArray *providers; /* fake ucd_plugin * */
    GPtrArray *asked;
    fake_pbx pbx_a, pbx_b, pbx_c, pbx_d;
    fake_users users; /* users-t */
    ucd_call_result res;
} fixture;

static ucd_plugin *add_provider(fixture *f, const char *id, const char *service, const void *iface,
                                void *impl)
{
    return fake_provider_add(f->mods, f->providers, id, service, iface, impl);
}

static void fixture_set_up(fixture *f, gconstpointer data)
{
    GError *err = NULL;
    f->dir = g_dir_make_tmp("ucd-call-control-XXXXXX", &err);
    g_assert_no_error(err);
    f->perms = conf_permissions_load(
        f->dir, "[permissions]\ndefault = public\ngroups = sales=team\n", &f->cfg);

    f->ctx = g_main_context_new();
    f->rt.ctx = f->ctx;
    f->rt.bus = core_bus_new(f->ctx, 4096);
    f->rt.workers = core_workers_new(f->ctx, 1);
    f->mods = core_modules_new(&f->rt);
    f->providers = g_ptr_array_new_with_free_func(fake_provider_free);
    f->asked = g_ptr_array_new_with_free_func(g_free);
    f->pbx_a = (fake_pbx){"pbx-a", pbx_a_lines, f->asked, UCD_OK};
    f->pbx_b = (fake_pbx){"pbx-b", pbx_b_lines, f->asked, UCD_OK};
    f->pbx_c = (fake_pbx){"pbx-c", pbx_c_lines, f->asked, UCD_OK};
    f->pbx_d = (fake_pbx){"pbx-d", pbx_d_lines, f->asked, UCD_OK};
    add_provider(f, "pbx-a", UCD_PBX_SERVICE, &pbx_iface, &f->pbx_a);
    add_provider(f, "pbx-b", UCD_PBX_SERVICE, &pbx_old_iface, &f->pbx_b);
    ucd_plugin *pbx_c = add_provider(f, "pbx-c", UCD_PBX_SERVICE, &pbx_iface, &f->pbx_c);
    add_provider(f, "pbx-d", UCD_PBX_SERVICE, &pbx_iface, &f->pbx_d);
    fake_users_init(&f->users, office_users, G_N_ELEMENTS(office_users), "sales", "Sales",
                    "the sales team", none);
    add_provider(f, "users-t", UCD_USERS_SERVICE, &fake_users_iface, &f->users);

    f->model = core_model_new(&f->rt, f->mods);
    core_model_start(f->model);
    core_bus_flush(f->rt.bus);
    /* The permissions' copy of the directory is left empty here: call control
     * must bring it up to date itself, or every user would be unknown. */
    core_model_set_permissions(f->model, f->perms);
    /* pbx-c stopped after its lines were listed: the model still knows 301. */
    pbx_c->state = UCD_MODULE_STOPPED;
    g_assert_nonnull(core_model_line(f->model, "pbx-c", "301"));
}

static void fixture_tear_down(fixture *f, gconstpointer data)
{
    core_model_free(f->model);
    core_modules_free(f->mods);
    g_ptr_array_free(f->providers, TRUE);
    fake_users_clear(&f->users);
    core_workers_free(f->rt.workers);
    core_bus_free(f->rt.bus);
    while (g_main_context_iteration(f->ctx, FALSE))
        ;
    g_main_context_unref(f->ctx);
    core_permissions_free(f->perms);
    core_config_free(f->cfg);
    g_ptr_array_free(f->asked, TRUE);
    g_remove(f->dir);
    g_free(f->dir);
}

/* A call leg as driver `driver` reports it. */
static void leg(fixture *f, const char *driver, const char *line, const char *call_id,
                ucd_call_state state)
{
    ucd_call_state_event ev = {.struct_size = sizeof ev,
                               .driver_instance = driver,
                               .line = line,
                               .call_id = call_id,
                               .conversation_id = call_id,
                               .state = state,
                               .direction = UCD_DIR_INBOUND,
                               .remote_number = "0891234567"};
    ucd_event e = {.struct_size = sizeof e, .type = UCD_EVENT_CALL_STATE, .payload = &ev};
    g_assert_cmpint(core_bus_publish(f->rt.bus, driver, &e), ==, UCD_OK);
    core_bus_flush(f->rt.bus);
}

/* Runs a request (struct_size filled in) into f->res. */
static int control(fixture *f, ucd_call_request req)
{
    req.struct_size = sizeof req;
    memset(&f->res, 0xAA, sizeof f->res);
    f->res.struct_size = sizeof f->res;
    return core_call_control(f->model, &req, &f->res);
}

#define CONTROL(f, ...) control((f), (ucd_call_request){__VA_ARGS__})

/* What the drivers were asked since the last call, "|"-joined, then forgotten. */
static char *drained(fixture *f)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < f->asked->len; i++)
        g_string_append_printf(s, "%s%s", i ? "|" : "", (const char *)f->asked->pdata[i]);
    g_ptr_array_set_size(f->asked, 0);
    return g_string_free(s, FALSE);
}

#define assert_asked(f, expected)                                                                  \
    do {                                                                                           \
        char *got_ = drained(f);                                                                   \
        g_assert_cmpstr(got_, ==, (expected));                                                     \
        g_free(got_);                                                                              \
    } while (0)

/* A refused request: its code and message, and no driver asked. */
#define assert_refused(f, rc, code, text)                                                          \
    do {                                                                                           \
        g_assert_cmpint((rc), ==, (code));                                                         \
        g_assert_cmpstr((f)->res.message, ==, (text));                                             \
        assert_asked((f), "");                                                                     \
    } while (0)

/* ---- each action to its driver function -------------------------------------------- */

static void test_actions(fixture *f, gconstpointer data)
{
    static const struct {
        ucd_call_request req;
        const char *asked;
    } cases[] = {
        {{.action = UCD_CALL_DIAL, .number = "0301"}, "dial 201 0301"},
        {{.action = UCD_CALL_ANSWER, .call_id = "c1"}, "answer 201 c1"},
        {{.action = UCD_CALL_HANGUP, .call_id = "c1"}, "hangup 201 c1"},
        {{.action = UCD_CALL_HOLD, .call_id = "c1"}, "hold 201 c1"},
        {{.action = UCD_CALL_RETRIEVE, .call_id = "c1"}, "retrieve 201 c1"},
        {{.action = UCD_CALL_TRANSFER, .call_id = "c1", .number = "0302"}, "transfer 201 c1 0302"},
        {{.action = UCD_CALL_CONSULT_TRANSFER, .call_id = "c1", .other_call_id = "c2"},
         "consult 201 c1 c2"},
        {{.action = UCD_CALL_DEFLECT, .call_id = "c1", .number = "0303"}, "deflect 201 c1 0303"},
        {{.action = UCD_CALL_PICKUP, .target = "202"}, "pickup 201 202"},
        {{.action = UCD_CALL_PICKUP, .target = "pbx-a/203"}, "pickup 201 203"},
        {{.action = UCD_CALL_DTMF, .call_id = "c1", .digits = "12#"}, "dtmf 201 c1 12#"},
        {{.action = UCD_CALL_FORWARD, .forward_type = UCD_FORWARD_BUSY, .number = "0304"},
         "forward 201 1 0304"},
        {{.action = UCD_CALL_FORWARD, .forward_type = UCD_FORWARD_NO_ANSWER}, "forward 201 2 -"},
        {{.action = UCD_CALL_FORWARD, .forward_type = UCD_FORWARD_NO_ANSWER, .number = ""},
         "forward 201 2 -"},
        {{.action = UCD_CALL_DND, .on = 1}, "dnd 201 1"},
        {{.action = UCD_CALL_DND, .on = 0}, "dnd 201 0"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        ucd_call_request req = cases[i].req;
        req.line = "pbx-a/201";
        g_test_message("case %zu: %s", i, cases[i].asked);
        g_assert_cmpint(control(f, req), ==, UCD_OK);
        assert_asked(f, cases[i].asked);
        g_assert_cmpstr(f->res.driver, ==, "pbx-a");
        g_assert_cmpstr(f->res.line, ==, "201");
        g_assert_cmpstr(f->res.message, ==, "");
        g_assert_cmpstr(f->res.call_id, ==, req.action == UCD_CALL_DIAL ? "d1" : "");
    }
    /* A bare address unique over the drivers; pbx-b's 201 by its full name. */
    g_assert_cmpint(CONTROL(f, .action = UCD_CALL_HOLD, .line = "202", .call_id = "c1"), ==,
                    UCD_OK);
    g_assert_cmpint(CONTROL(f, .action = UCD_CALL_HOLD, .line = "pbx-b/201", .call_id = "c1"), ==,
                    UCD_OK);
    g_assert_cmpstr(f->res.driver, ==, "pbx-b");
    assert_asked(f, "hold 202 c1|pbx-b: hold 201 c1");
    /* No result wanted. */
    ucd_call_request req = {
        .struct_size = sizeof req, .action = UCD_CALL_DIAL, .line = "202", .number = "0305"};
    g_assert_cmpint(core_call_control(f->model, &req, NULL), ==, UCD_OK);
    assert_asked(f, "dial 202 0305");
}

/* ---- by user ----------------------------------------------------------------------- */

static void test_by_user(fixture *f, gconstpointer data)
{
    /* Alice's first line (205) cannot dial: her second can. */
    g_assert_cmpint(CONTROL(f, .action = UCD_CALL_DIAL, .user = "alice", .number = "0301"), ==,
                    UCD_OK);
    assert_asked(f, "pbx-d: dial 401 0301");
    g_assert_cmpstr(f->res.driver, ==, "pbx-d");
    g_assert_cmpstr(f->res.line, ==, "401");
    g_assert_cmpstr(f->res.call_id, ==, "d1");
    /* ... but 205 can do DND, and comes first in her entry (not in address order). */
    g_assert_cmpint(CONTROL(f, .action = UCD_CALL_DND, .user = "u-alice", .on = 1), ==, UCD_OK);
    assert_asked(f, "dnd 205 1");
    /* A bare directory entry (carol's "203"). */
    g_assert_cmpint(CONTROL(f, .action = UCD_CALL_DIAL, .user = "carol", .number = "0302"), ==,
                    UCD_OK);
    assert_asked(f, "dial 203 0302");

    /* Actions on a call go to the line that carries it. */
    leg(f, "pbx-a", "205", "c5", UCD_CALL_OFFERING);
    leg(f, "pbx-a", "201", "c6", UCD_CALL_CONNECTED);
    leg(f, "pbx-a", "202", "c7", UCD_CALL_CONNECTED);
    g_assert_cmpint(CONTROL(f, .action = UCD_CALL_HOLD, .user = "alice", .call_id = "c6"), ==,
                    UCD_OK);
    g_assert_cmpint(CONTROL(f, .action = UCD_CALL_ANSWER, .user = "alice", .call_id = "c5"), ==,
                    UCD_OK);
    assert_asked(f, "hold 201 c6|answer 205 c5");
    /* ... and the line must be able to: 205 cannot hang up. */
    assert_refused(f, CONTROL(f, .action = UCD_CALL_HANGUP, .user = "alice", .call_id = "c5"),
                   UCD_E_UNSUPPORTED,
                   "line 205 (pbx-a) does not support hangup (capability 'hangup')");
    /* Bob's call is not on alice's lines. */
    assert_refused(f, CONTROL(f, .action = UCD_CALL_HOLD, .user = "alice", .call_id = "c7"),
                   UCD_E_NOT_FOUND, "hold: no call 'c7' on the lines of alice");

    /* Line and user together: the line must be the user's. */
    g_assert_cmpint(
        CONTROL(f, .action = UCD_CALL_DIAL, .user = "bob", .line = "202", .number = "0303"), ==,
        UCD_OK);
    assert_asked(f, "dial 202 0303");
    assert_refused(
        f, CONTROL(f, .action = UCD_CALL_DIAL, .user = "bob", .line = "201", .number = "0303"),
        UCD_E_INVALID,
        "line '201' is on several drivers: pbx-a/201, pbx-b/201 (name one as "
        "DRIVER/ADDRESS)");
    assert_refused(
        f,
        CONTROL(f, .action = UCD_CALL_DIAL, .user = "bob", .line = "pbx-a/201", .number = "0303"),
        UCD_E_INVALID, "line 201 (pbx-a) is not a line of bob");

    /* Users without a capable line, without lines, unknown. */
    assert_refused(f, CONTROL(f, .action = UCD_CALL_DND, .user = "frank", .on = 1),
                   UCD_E_UNSUPPORTED, "no line of frank supports dnd (capability 'dnd')");
    assert_refused(f, CONTROL(f, .action = UCD_CALL_DIAL, .user = "dave", .number = "1"),
                   UCD_E_NOT_FOUND, "dial: dave has no line");
    assert_refused(f, CONTROL(f, .action = UCD_CALL_DIAL, .user = "zed", .number = "1"),
                   UCD_E_NOT_FOUND, "unknown user 'zed' (see ucctl users)");
    assert_refused(f, CONTROL(f, .action = UCD_CALL_DIAL, .user = "erin", .number = "1"),
                   UCD_E_UNAVAILABLE,
                   "dial: no running line of erin can (line 301's driver pbx-c is not running)");
}

/* ---- lines, capabilities, drivers -------------------------------------------------- */

static void test_lines_and_drivers(fixture *f, gconstpointer data)
{
    assert_refused(f, CONTROL(f, .action = UCD_CALL_HOLD, .line = "999", .call_id = "c1"),
                   UCD_E_NOT_FOUND, "unknown line '999' (see ucctl lines)");
    assert_refused(f, CONTROL(f, .action = UCD_CALL_HOLD, .line = "201", .call_id = "c1"),
                   UCD_E_INVALID,
                   "line '201' is on several drivers: pbx-a/201, pbx-b/201 (name one as "
                   "DRIVER/ADDRESS)");
    g_assert_cmpstr(f->res.driver, ==, "");
    assert_refused(f, CONTROL(f, .action = UCD_CALL_HOLD, .line = "209", .call_id = "c1"),
                   UCD_E_UNSUPPORTED, "line 209 (pbx-a) does not support hold (capability 'hold')");
    g_assert_cmpstr(f->res.line, ==, "209");
    g_assert_cmpstr(f->res.driver, ==, "");
    /* pbx-b says its 201 can do everything, but its table ends before pickup. */
    assert_refused(f, CONTROL(f, .action = UCD_CALL_DND, .line = "pbx-b/201", .on = 1),
                   UCD_E_UNSUPPORTED, "line 201 (pbx-b) does not support dnd (capability 'dnd')");
    /* ... and lacks retrieve, though it has hold and the capability for both. */
    assert_refused(f, CONTROL(f, .action = UCD_CALL_RETRIEVE, .line = "pbx-b/201", .call_id = "c1"),
                   UCD_E_UNSUPPORTED,
                   "line 201 (pbx-b) does not support retrieve (capability 'hold')");
    assert_refused(f, CONTROL(f, .action = UCD_CALL_HOLD, .line = "pbx-c/301", .call_id = "c1"),
                   UCD_E_UNAVAILABLE, "line 301: its driver pbx-c is not running");

    static const struct {
        int rc;
        const char *words;
    } errors[] = {
        {UCD_E_NOT_FOUND, "the driver knows no such call or line"},
        {UCD_E_UNSUPPORTED, "the line does not support it"},
        {UCD_E_INVALID, "the driver refused an argument as invalid"},
        {UCD_E_BUSY, "the driver is busy, try again"},
        {UCD_E_UNAVAILABLE, "the PBX is unreachable"},
        {UCD_E_DENIED, "the PBX refused it"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(errors); i++) {
        f->pbx_a.rc = errors[i].rc;
        g_assert_cmpint(CONTROL(f, .action = UCD_CALL_HOLD, .line = "202", .call_id = "c9"), ==,
                        errors[i].rc);
        char *expected = g_strdup_printf("hold on line 202 (pbx-a): %s", errors[i].words);
        g_assert_cmpstr(f->res.message, ==, expected);
        g_free(expected);
        g_assert_cmpstr(f->res.driver, ==, "pbx-a");
        assert_asked(f, "hold 202 c9");
    }
    f->pbx_a.rc = UCD_E_DENIED;
    g_assert_cmpint(CONTROL(f, .action = UCD_CALL_DIAL, .line = "202", .number = "1"), ==,
                    UCD_E_DENIED);
    g_assert_cmpstr(f->res.call_id, ==, "");
    assert_asked(f, "dial 202 1");
}

/* ---- the actor --------------------------------------------------------------------- */

static void test_actor_own_lines(fixture *f, gconstpointer data)
{
    g_assert_cmpint(
        CONTROL(f, .actor = "alice", .action = UCD_CALL_HOLD, .line = "pbx-a/201", .call_id = "c1"),
        ==, UCD_OK);
    g_assert_cmpint(
        CONTROL(f, .actor = "u-alice", .action = UCD_CALL_DIAL, .user = "alice", .number = "2"), ==,
        UCD_OK);
    assert_asked(f, "hold 201 c1|pbx-d: dial 401 2");

    assert_refused(
        f, CONTROL(f, .actor = "alice", .action = UCD_CALL_HANGUP, .line = "202", .call_id = "c1"),
        UCD_E_DENIED, "alice may not use 'hangup' on line 202 (pbx-a): it belongs to bob");
    assert_refused(
        f, CONTROL(f, .actor = "alice", .action = UCD_CALL_DIAL, .user = "bob", .number = "1"),
        UCD_E_DENIED, "alice may not use 'dial' on the lines of bob: they belong to bob");
    assert_refused(
        f, CONTROL(f, .actor = "alice", .action = UCD_CALL_HANGUP, .line = "209", .call_id = "c1"),
        UCD_E_DENIED, "alice may not use 'hangup' on line 209 (pbx-a): it is no user's line");
    /* Team level (sales) is not enough for pickup from bob's own line. */
    assert_refused(
        f, CONTROL(f, .actor = "alice", .action = UCD_CALL_PICKUP, .line = "202", .target = "201"),
        UCD_E_DENIED, "alice may not use 'pickup' on line 202 (pbx-a): it belongs to bob");
    assert_refused(
        f, CONTROL(f, .actor = "zed", .action = UCD_CALL_HOLD, .line = "202", .call_id = "c1"),
        UCD_E_DENIED, "hold: the actor 'zed' is no known user");
    /* Denied before anything is said about the other user's calls. */
    assert_refused(
        f,
        CONTROL(f, .actor = "bob", .action = UCD_CALL_HOLD, .user = "alice", .call_id = "nosuch"),
        UCD_E_DENIED, "bob may not use 'hold' on the lines of alice: they belong to alice");
}

static void test_actor_pickup(fixture *f, gconstpointer data)
{
    /* Bob is in alice's team: his line, or his ringing call found by user. */
    g_assert_cmpint(CONTROL(f, .actor = "alice", .action = UCD_CALL_PICKUP, .line = "pbx-a/201",
                            .target = "202"),
                    ==, UCD_OK);
    g_assert_cmpint(CONTROL(f, .actor = "alice", .action = UCD_CALL_PICKUP, .line = "pbx-a/201",
                            .target = "pbx-a/202"),
                    ==, UCD_OK);
    assert_asked(f, "pickup 201 202|pickup 201 202");
    assert_refused(f,
                   CONTROL(f, .actor = "alice", .action = UCD_CALL_PICKUP, .line = "pbx-a/201",
                           .target = "bob"),
                   UCD_E_NOT_FOUND, "pickup: no call is ringing on the lines of bob on pbx-a");
    leg(f, "pbx-a", "202", "c7", UCD_CALL_OFFERING);
    /* By user on both sides: alice's first line that can pick up on bob's
     * driver is 201 (401, before it, is on another driver). */
    g_assert_cmpint(
        CONTROL(f, .actor = "alice", .action = UCD_CALL_PICKUP, .user = "alice", .target = "bob"),
        ==, UCD_OK);
    assert_asked(f, "pickup 201 202");
    g_assert_cmpstr(f->res.line, ==, "201");

    /* A user's call ringing on several drivers: the one on the picking
     * line's; on several lines of it: the first line in address order. */
    leg(f, "pbx-a", "205", "c10", UCD_CALL_OFFERING);
    leg(f, "pbx-a", "201", "c11", UCD_CALL_OFFERING);
    leg(f, "pbx-d", "401", "c12", UCD_CALL_OFFERING);
    g_assert_cmpint(CONTROL(f, .action = UCD_CALL_PICKUP, .line = "pbx-d/402", .target = "alice"),
                    ==, UCD_OK);
    g_assert_cmpint(CONTROL(f, .action = UCD_CALL_PICKUP, .line = "pbx-a/202", .target = "alice"),
                    ==, UCD_OK);
    assert_asked(f, "pbx-d: pickup 402 401|pickup 202 201");
    /* A bare target on several drivers: the one on the picking line's. */
    g_assert_cmpint(CONTROL(f, .action = UCD_CALL_PICKUP, .line = "pbx-a/202", .target = "201"), ==,
                    UCD_OK);
    assert_asked(f, "pickup 202 201");

    /* Carol is only public to alice. */
    leg(f, "pbx-a", "203", "c8", UCD_CALL_OFFERING);
    const char *denied =
        "alice may not pick up calls of carol (needs permission level team, alice has public)";
    assert_refused(f,
                   CONTROL(f, .actor = "alice", .action = UCD_CALL_PICKUP, .line = "pbx-a/201",
                           .target = "203"),
                   UCD_E_DENIED, denied);
    assert_refused(
        f,
        CONTROL(f, .actor = "alice", .action = UCD_CALL_PICKUP, .user = "alice", .target = "carol"),
        UCD_E_DENIED, denied);
    assert_refused(f,
                   CONTROL(f, .actor = "alice", .action = UCD_CALL_PICKUP, .line = "pbx-a/201",
                           .target = "209"),
                   UCD_E_DENIED,
                   "alice may not pick up calls on line 209 (pbx-a): it is no user's line");
    /* Carol grants alice team: allowed now. */
    GError *err = NULL;
    g_assert_true(core_permissions_set(f->perms, "u-carol", CORE_PERM_SRC_USER_GRANT, "u-carol",
                                       "u-alice", CORE_PERM_TEAM, &err));
    g_assert_no_error(err);
    g_assert_cmpint(
        CONTROL(f, .actor = "alice", .action = UCD_CALL_PICKUP, .user = "alice", .target = "carol"),
        ==, UCD_OK);
    assert_asked(f, "pickup 201 203");

    /* A target the model does not know: an admin may (the driver decides),
     * an actor may not. */
    g_assert_cmpint(
        CONTROL(f, .action = UCD_CALL_PICKUP, .line = "pbx-a/201", .target = "pbx-a/299"), ==,
        UCD_OK);
    assert_asked(f, "pickup 201 299");
    assert_refused(f,
                   CONTROL(f, .actor = "alice", .action = UCD_CALL_PICKUP, .line = "pbx-a/201",
                           .target = "299"),
                   UCD_E_NOT_FOUND, "pickup: '299' is no line and no user");
    /* A call ringing on another driver cannot be picked up from this one. */
    assert_refused(
        f, CONTROL(f, .action = UCD_CALL_PICKUP, .line = "pbx-a/201", .target = "pbx-b/201"),
        UCD_E_INVALID, "pickup: the call rings on line 201 (pbx-b), not on pbx-a like line 201");
}

static void test_actor_forwarding(fixture *f, gconstpointer data)
{
    /* Team level is not enough to change bob's forwarding or DND. */
    assert_refused(f,
                   CONTROL(f, .actor = "alice", .action = UCD_CALL_FORWARD, .line = "pbx-a/202",
                           .forward_type = UCD_FORWARD_UNCONDITIONAL, .number = "300"),
                   UCD_E_DENIED,
                   "alice may not use 'forward' on line 202 (pbx-a) (needs permission level "
                   "personal, alice has team)");
    assert_refused(f, CONTROL(f, .actor = "alice", .action = UCD_CALL_DND, .user = "bob", .on = 1),
                   UCD_E_DENIED,
                   "alice may not use 'dnd' on the lines of bob (needs permission level personal, "
                   "alice has team)");
    /* An admin's rule gives alice personal on bob. */
    GError *err = NULL;
    g_assert_true(core_permissions_set(f->perms, NULL, CORE_PERM_SRC_ADMIN_PAIR, "u-bob", "u-alice",
                                       CORE_PERM_PERSONAL, &err));
    g_assert_no_error(err);
    g_assert_cmpint(CONTROL(f, .actor = "alice", .action = UCD_CALL_FORWARD, .line = "pbx-a/202",
                            .forward_type = UCD_FORWARD_UNCONDITIONAL, .number = "300"),
                    ==, UCD_OK);
    g_assert_cmpint(CONTROL(f, .actor = "alice", .action = UCD_CALL_DND, .user = "bob", .on = 1),
                    ==, UCD_OK);
    assert_asked(f, "forward 202 0 300|dnd 202 1");
    /* Personal is about forwarding: still no other action on bob's line. */
    assert_refused(
        f,
        CONTROL(f, .actor = "alice", .action = UCD_CALL_DIAL, .line = "pbx-a/202", .number = "1"),
        UCD_E_DENIED, "alice may not use 'dial' on line 202 (pbx-a): it belongs to bob");
    /* Without a permissions object nothing of anyone else's is allowed. */
    core_model_set_permissions(f->model, NULL);
    assert_refused(
        f, CONTROL(f, .actor = "alice", .action = UCD_CALL_DND, .line = "pbx-a/202", .on = 0),
        UCD_E_DENIED, "alice may not use 'dnd' on line 202 (pbx-a): no permissions are known");
    g_assert_cmpint(
        CONTROL(f, .actor = "bob", .action = UCD_CALL_DND, .line = "pbx-a/202", .on = 0), ==,
        UCD_OK);
    assert_asked(f, "dnd 202 0");
}

/* ---- bad requests ------------------------------------------------------------------ */

static void test_bad_requests(fixture *f, gconstpointer data)
{
    static const struct {
        ucd_call_request req;
        const char *message;
    } cases[] = {
        {{.action = 0, .line = "202"}, "unknown call-control action 0"},
        {{.action = UCD_CALL_DND + 1, .line = "202"}, "unknown call-control action 13"},
        {{.action = UCD_CALL_DIAL, .line = "202"}, "dial: no number"},
        {{.action = UCD_CALL_DIAL, .line = "202", .number = ""}, "dial: no number"},
        {{.action = UCD_CALL_HANGUP, .line = "202"}, "hangup: no call id"},
        {{.action = UCD_CALL_TRANSFER, .line = "202", .call_id = "c1"}, "transfer: no number"},
        {{.action = UCD_CALL_CONSULT_TRANSFER, .line = "202", .call_id = "c1"},
         "consult-transfer: no id of the active call (other_call_id)"},
        {{.action = UCD_CALL_PICKUP, .line = "202"}, "pickup: no target line or user"},
        {{.action = UCD_CALL_DTMF, .line = "202", .call_id = "c1"}, "dtmf: no digits"},
        {{.action = UCD_CALL_FORWARD, .line = "202", .forward_type = 3, .number = "1"},
         "forward: type 3 is none of unconditional (0), busy (1), no_answer (2)"},
        {{.action = UCD_CALL_DND, .line = "202", .on = 2}, "dnd: on is 2, not 1 (on) or 0 (off)"},
        {{.action = UCD_CALL_HOLD, .call_id = "c1"}, "hold: no line and no user"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("case %zu: %s", i, cases[i].message);
        assert_refused(f, control(f, cases[i].req), UCD_E_INVALID, cases[i].message);
    }

    /* An older, smaller request is refused; a newer, larger one is read as far
     * as known here. */
    ucd_call_request req = {.struct_size = sizeof req - sizeof(uint32_t),
                            .action = UCD_CALL_DND,
                            .line = "202",
                            .on = 1};
    f->res.struct_size = sizeof f->res;
    g_assert_cmpint(core_call_control(f->model, &req, &f->res), ==, UCD_E_INVALID);
    char *expected =
        g_strdup_printf("request struct_size %zu is less than %zu, the calls 1.0 request",
                        sizeof req - sizeof(uint32_t), sizeof req);
    g_assert_cmpstr(f->res.message, ==, expected);
    g_free(expected);
    struct {
        ucd_call_request req;
        const char *later_member;
    } newer = {{.struct_size = sizeof newer, .action = UCD_CALL_DND, .line = "202", .on = 1}, "x"};
    struct {
        ucd_call_result res;
        char later_member[64];
    } newer_res = {{.struct_size = sizeof newer_res}, "untouched"};
    g_assert_cmpint(core_call_control(f->model, &newer.req, &newer_res.res), ==, UCD_OK);
    g_assert_cmpstr(newer_res.res.line, ==, "202");
    g_assert_cmpstr(newer_res.later_member, ==, "untouched");
    assert_asked(f, "dnd 202 1");

    /* A result too small for the message is left alone, and nothing runs. */
    ucd_call_result small;
    memset(&small, 0xAA, sizeof small);
    small.struct_size = offsetof(ucd_call_result, message);
    req.struct_size = sizeof req;
    g_assert_cmpint(core_call_control(f->model, &req, &small), ==, UCD_E_INVALID);
    g_assert_cmpuint((unsigned char)small.driver[0], ==, 0xAA);
    assert_asked(f, "");
    g_assert_cmpint(core_call_control(f->model, NULL, &f->res), ==, UCD_E_INVALID);
    g_assert_cmpstr(f->res.message, ==, "no request");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn)                                                                              \
    g_test_add("/call-control/" path, fixture, NULL, fixture_set_up, fn, fixture_tear_down)
    ADD("actions", test_actions);
    ADD("by-user", test_by_user);
    ADD("lines-and-drivers", test_lines_and_drivers);
    ADD("actor/own-lines", test_actor_own_lines);
    ADD("actor/pickup", test_actor_pickup);
    ADD("actor/forwarding", test_actor_forwarding);
    ADD("bad-requests", test_bad_requests);
#undef ADD
    return g_test_run();
}
