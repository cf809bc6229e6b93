/*
 * test-model-services.c - the model's four services (directory, calls,
 * presence, permissions) as a plugin reaches them: through the service
 * registry, provider "core", against a model fed by real bus events from
 * fake users backends and drivers (fake-registry.h), with a real permissions
 * object from a configuration file.
 */
#include <glib/gstdio.h>
#include <stddef.h>
#include <string.h>

#include "conf-permissions.h"
#include "fake-registry.h"
#include "fake-users.h"
#include "model/model.h"
#include "model/permissions.h"

/* ---- fake drivers -------------------------------------------------------------- */

typedef struct fake_pbx {
    const char *const *lines;
    int listed; /* list_lines calls */
} fake_pbx;

static const char *const pbx_a_lines[] = {"209", "201", "202", "203", NULL};
static const char *const pbx_b_lines[] = {"201", NULL};

static int pbx_list(void *impl, ucd_pbx_line_cb cb, void *ud)
{
    ((fake_pbx *)impl)->listed++;
    for (const char *const *l = ((fake_pbx *)impl)->lines; *l; l++) {
        ucd_pbx_line line = {.struct_size = sizeof line,
                             .state = UCD_LINE_IDLE,
                             .address = *l,
                             .number = *l,
                             .capabilities = UCD_PBX_CAP_DIAL};
        cb(&line, ud);
    }
    return UCD_OK;
}

static uint64_t pbx_caps(void *impl, const char *address)
{
    return UCD_PBX_CAP_DIAL;
}

static int pbx_dial(void *impl, const char *line, const char *number, char *call_id, size_t size)
{
    g_strlcpy(call_id, "d1", size);
    return UCD_OK;
}

static const ucd_pbx_v1 pbx_iface = {
    .struct_size = sizeof(ucd_pbx_v1),
    .list_lines = pbx_list,
    .capabilities = pbx_caps,
    .dial = pbx_dial,
};

/* ---- fake users backends: "users-a" and "users-b" ------------------------------- */

static const char *const none[] = {NULL};
static const char *const sales[] = {"sales", NULL};
static const char *const support[] = {"support", NULL};
static const char *const alice_numbers[] = {"+49895550201", NULL};
static const char *const dave_numbers[] = {"0895550299", NULL};
static const char *const alice_lines[] = {"pbx-a/201", NULL};
static const char *const bob_lines[] = {"pbx-a/202", NULL};
static const char *const carol_lines[] = {"203", NULL}; /* bare: on any driver */
static const char *const dave_lines[] = {"pbx-b/201", NULL};

static const ucd_user users_a[] = {
    {sizeof(ucd_user), 1, "u-carol", "carol", "Carol Singer", .numbers = none, .groups = none,
     .lines = carol_lines},
    {sizeof(ucd_user), 1, "u-alice", "alice", "Alice Example", .numbers = alice_numbers,
     .groups = sales, .lines = alice_lines},
    {sizeof(ucd_user), 1, "u-bob", "bob", "Bob Builder", .numbers = none, .groups = sales,
     .lines = bob_lines},
    {sizeof(ucd_user), 0, "u-erin", "erin", "Erin Gone", .numbers = none, .groups = sales,
     .lines = none},
};

/* Both backends' groups are led by alice. */
static const char *const alice_leads[] = {"u-alice", NULL};

/* Adds (or, for an id already added, replaces) a user of backend `b`. */
static void put_user(fake_users *b, const char *id, const char *display, const char *const *lines)
{
    ucd_user *u = NULL;
    for (guint i = 0; i < b->extra->len && !u; i++)
        if (strcmp(((ucd_user *)b->extra->pdata[i])->id, id) == 0)
            u = b->extra->pdata[i];
    if (!u) {
        u = g_new0(ucd_user, 1);
        g_ptr_array_add(b->extra, u);
    }
    *u = (ucd_user){.struct_size = sizeof *u,
                    .enabled = 1,
                    .id = fake_users_keep(b, id),
                    .login = fake_users_keep(b, id + 2),
                    .display_name = fake_users_keep(b, display),
                    .numbers = none,
                    .groups = none,
                    .lines = lines ? lines : none};
}

static void drop_user(fake_users *b, const char *id)
{
    for (guint i = 0; i < b->extra->len; i++)
        if (strcmp(((ucd_user *)b->extra->pdata[i])->id, id) == 0)
            g_ptr_array_remove_index(b->extra, i);
}

/* ---- a fake numbers service: "0..." is national, "+..." E.164 -------------------- */

static int normalize(void *impl, const char *context, const char *raw, ucd_number_info *out)
{
    out->e164[0] = '\0';
    if (raw[0] == '+')
        g_strlcpy(out->e164, raw, sizeof out->e164);
    else if (raw[0] == '0') /* pbx-b stands in Austria, everything else in Germany */
        g_snprintf(out->e164, sizeof out->e164, "%s%s",
                   g_strcmp0(context, "pbx-b") == 0 ? "+43" : "+49", raw + 1);
    return out->e164[0] ? UCD_OK : UCD_E_NOT_FOUND;
}

static const ucd_numbers_v1 numbers_iface = {.struct_size = sizeof numbers_iface,
                                             .normalize = normalize};

/* ---- records as text, field by field ----------------------------------------------- */

static const char *s(const char *str)
{
    return str ? str : "-";
}

static char *record_text(const ucd_journal_record *r)
{
    GString *t = g_string_new(NULL);
    g_string_append_printf(
        t,
        "size=%u dir=%u outcome=%u flags=%u uuid=%s drv=%s start=%" G_GINT64_FORMAT
        " answer=%" G_GINT64_FORMAT " end=%" G_GINT64_FORMAT " src=%s/%s/%s req=%s/%s "
        "dst=%s/%s/%s xfer=%s fwd=%s pickup=%s reason=%s tags=%s memo=%s cause=%u fwdcode=%u "
        "parts=",
        r->struct_size, r->direction, r->outcome, r->flags, s(r->uuid), s(r->driver_instance),
        r->start_ms, r->answer_ms, r->end_ms, s(r->source_number), s(r->source_e164),
        s(r->source_name), s(r->requested_number), s(r->requested_e164), s(r->destination_number),
        s(r->destination_e164), s(r->destination_name), s(r->transferred_by), s(r->forward_reason),
        s(r->picked_up_by), s(r->end_reason), s(r->tags), s(r->memo), r->end_cause,
        r->forward_reason_code);
    for (uint32_t i = 0; i < r->participant_count; i++) {
        const ucd_journal_participant *p = &r->participants[i];
        g_string_append_printf(
            t, "%s%u:%s:%s:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT,
            i ? "," : "", p->role, s(p->user_id), s(p->line), p->joined_ms, p->answered_ms,
            p->left_ms);
    }
    return g_string_free(t, FALSE);
}

static int journal_store(void *impl, const ucd_journal_record *r)
{
    g_ptr_array_add(impl, record_text(r));
    return UCD_OK;
}

static const ucd_journal_v1 journal_iface = {.struct_size = sizeof journal_iface,
                                             .store = journal_store};

/* ---- the fixture --------------------------------------------------------------------- */

typedef struct fixture {
    char *dir;
    GMainContext *ctx;
    core_runtime rt;
    core_modules *mods;
    core_model *model;
    core_config *cfg;
    core_permissions *perms;
    GPtrArray *providers;
    ucd_plugin *users_b_module, *pbx_b_module, *journal_module;
    fake_pbx pbx_a, pbx_b;
    fake_users users_a, users_b;
    GPtrArray *stored;     /* record_text of each record the journal got */
    GPtrArray *ended;      /* record_text of each UCD_EVENT_CONVERSATION_ENDED */
    GPtrArray *dir_events; /* "CHANGE KIND ID" of each UCD_EVENT_DIRECTORY */
    GPtrArray *parties;    /* "CALL NAME|SOURCE|USER" of each UCD_EVENT_CALL_PARTY */
    ucd_subscription *sub;
} fixture;

static void on_event(const ucd_event *e, void *ud)
{
    fixture *f = ud;
    if (e->type == UCD_EVENT_CONVERSATION_ENDED) {
        const ucd_conversation_event *ce = e->payload;
        g_assert_cmpstr(e->subject, ==, ce->record->uuid);
        g_ptr_array_add(f->ended, record_text(ce->record));
    } else if (e->type == UCD_EVENT_DIRECTORY) {
        const ucd_directory_event *de = e->payload;
        g_assert_cmpstr(e->subject, ==, de->id);
        g_ptr_array_add(f->dir_events,
                        g_strdup_printf("%u %u %s", de->change, de->kind, s(de->id)));
    } else if (e->type == UCD_EVENT_CALL_PARTY) {
        const ucd_call_party_event *pe = e->payload;
        g_assert_cmpstr(e->subject, ==, pe->line);
        g_ptr_array_add(f->parties, g_strdup_printf("%s %s|%s|%s", pe->call_id, s(pe->party_name),
                                                    s(pe->party_source), s(pe->party_user_id)));
    }
}

/* Runs the loop until nothing is pending: debounced pulls, then the events
 * they published. */
static void settle(fixture *f)
{
    for (int round = 0; round < 4; round++) {
        core_bus_flush(f->rt.bus);
        while (g_main_context_iteration(f->ctx, FALSE))
            ;
    }
}

static void set_up(fixture *f, gconstpointer data)
{
    GError *err = NULL;
    f->dir = g_dir_make_tmp("ucd-services-XXXXXX", &err);
    g_assert_no_error(err);
    f->ctx = g_main_context_new();
    f->rt.ctx = f->ctx;
    f->rt.bus = core_bus_new(f->ctx, 65536);
    f->rt.server_name = g_strdup("here");
    f->mods = core_modules_new(&f->rt);
    f->providers = g_ptr_array_new_with_free_func(fake_provider_free);
    f->stored = g_ptr_array_new_with_free_func(g_free);
    f->ended = g_ptr_array_new_with_free_func(g_free);
    f->dir_events = g_ptr_array_new_with_free_func(g_free);
    f->parties = g_ptr_array_new_with_free_func(g_free);
    f->pbx_a.lines = pbx_a_lines;
    f->pbx_b.lines = pbx_b_lines;
    fake_users_init(&f->users_a, users_a, G_N_ELEMENTS(users_a), "sales", "sales", "a team",
                    alice_leads);
    fake_users_init(&f->users_b, NULL, 0, "support", "support", "a team", alice_leads);
    ucd_user dave = {sizeof dave,       1,
                     "u-dave",          "dave",
                     "Dave Remote",     .numbers = dave_numbers,
                     .groups = support, .lines = dave_lines};
    ucd_user *d = g_memdup2(&dave, sizeof dave);
    g_ptr_array_add(f->users_b.extra, d);

    f->perms = conf_permissions_load(
        f->dir, "[permissions]\ndefault = public\ngroups = sales=personal\n", &f->cfg);

    /* As the daemon: the model and its services first, then the modules. */
    core_modules_add_core_service(f->mods, UCD_NUMBERS_SERVICE, UCD_NUMBERS_MAJOR,
                                  UCD_NUMBERS_MINOR, &numbers_iface, NULL);
    f->model = core_model_new(&f->rt, f->mods);
    core_model_set_permissions(f->model, f->perms);
    core_model_register_services(f->model, f->mods);
    ucd_event_filter filter = {.struct_size = sizeof filter,
                               .type_mask = UCD_EVENT_MASK(UCD_EVENT_CONVERSATION_ENDED) |
                                            UCD_EVENT_MASK(UCD_EVENT_DIRECTORY) |
                                            UCD_EVENT_MASK(UCD_EVENT_CALL_PARTY)};
    f->sub = core_bus_subscribe(f->rt.bus, "test", &filter, on_event, f);
    core_model_start(f->model);

    fake_provider_add(f->mods, f->providers, "pbx-a", UCD_PBX_SERVICE, &pbx_iface, &f->pbx_a);
    f->pbx_b_module =
        fake_provider_add(f->mods, f->providers, "pbx-b", UCD_PBX_SERVICE, &pbx_iface, &f->pbx_b);
    fake_provider_add(f->mods, f->providers, "users-a", UCD_USERS_SERVICE, &fake_users_iface,
                      &f->users_a);
    f->users_b_module = fake_provider_add(f->mods, f->providers, "users-b", UCD_USERS_SERVICE,
                                          &fake_users_iface, &f->users_b);
    f->journal_module = fake_provider_add(f->mods, f->providers, "journal-t", UCD_JOURNAL_SERVICE,
                                          &journal_iface, f->stored);
    core_model_start(f->model);
    settle(f);
}

static void tear_down(fixture *f, gconstpointer data)
{
    core_model_stop(f->model);
    core_bus_unsubscribe(f->rt.bus, f->sub);
    core_modules_free(f->mods);
    core_model_free(f->model);
    core_permissions_free(f->perms);
    core_config_free(f->cfg);
    g_ptr_array_free(f->parties, TRUE);
    g_ptr_array_free(f->providers, TRUE);
    core_bus_free(f->rt.bus);
    while (g_main_context_iteration(f->ctx, FALSE))
        ;
    g_main_context_unref(f->ctx);
    g_ptr_array_free(f->stored, TRUE);
    g_ptr_array_free(f->ended, TRUE);
    g_ptr_array_free(f->dir_events, TRUE);
    fake_users_clear(&f->users_a);
    fake_users_clear(&f->users_b);
    char *conf = g_build_filename(f->dir, "ucd.conf", NULL);
    g_remove(conf);
    g_free(conf);
    g_rmdir(f->dir);
    g_free(f->rt.server_name);
    g_free(f->dir);
}

/* A core service from the registry, as a plugin's service_get finds it. */
static const void *service(fixture *f, const char *name, void **impl)
{
    ucd_service sv = {.struct_size = sizeof sv};
    g_assert_cmpint(core_modules_service_get(f->mods, name, 1, "core", &sv), ==, UCD_OK);
    g_assert_cmpstr(sv.provider, ==, "core");
    *impl = sv.impl;
    return sv.iface;
}

/* ---- directory --------------------------------------------------------------------- */

/* What a callback saw, one line per record. */
static int user_line(const ucd_directory_user *u, void *ud)
{
    GString *t = g_string_new(NULL);
    g_string_append_printf(t, "%s %s %s e=%u here=%u", u->id, s(u->login), s(u->backend),
                           u->enabled, u->active_here);
    for (const char *const *n = u->numbers, *const *e = u->e164; *n; n++, e++)
        g_string_append_printf(t, " %s=%s", *n, *e);
    for (const char *const *l = u->lines; *l; l++)
        g_string_append_printf(t, " L:%s", *l);
    for (const char *const *g = u->groups; *g; g++)
        g_string_append_printf(t, " G:%s", *g);
    g_ptr_array_add(ud, g_string_free(t, FALSE));
    return 0;
}

static int line_line(const ucd_directory_line *l, void *ud)
{
    g_ptr_array_add(ud, g_strdup_printf("%s/%s %s", l->driver, l->address, s(l->user_id)));
    return 0;
}

static int group_line(const ucd_directory_group *g, void *ud)
{
    g_ptr_array_add(ud, g_strdup_printf("%s %s %s", g->id, s(g->backend), g->leaders[0]));
    return 0;
}

static int stop_after_one(const ucd_directory_user *u, void *ud)
{
    g_ptr_array_add(ud, g_strdup(u->id));
    return 1;
}

/* Compares what the callbacks saw with `expected` (NULL-terminated) and
 * empties `got` for the next question. */
static void assert_seen(GPtrArray *got, const char *const *expected)
{
    guint n = g_strv_length((char **)expected);
    for (guint i = 0; i < MIN(n, got->len); i++)
        g_assert_cmpstr(got->pdata[i], ==, expected[i]);
    g_assert_cmpuint(got->len, ==, n);
    g_ptr_array_set_size(got, 0);
}

#define SEEN(got, ...) assert_seen((got), (const char *const[]){__VA_ARGS__, NULL})

static void test_directory_lookups(fixture *f, gconstpointer data)
{
    void *impl;
    const ucd_directory_v1 *dir = service(f, UCD_DIRECTORY_SERVICE, &impl);
    GPtrArray *got = g_ptr_array_new_with_free_func(g_free);

    g_assert_cmpint(dir->get_user(impl, "alice", user_line, got), ==, UCD_OK);
    g_assert_cmpint(dir->get_user(impl, "u-alice", user_line, got), ==, UCD_OK);
    SEEN(got, "u-alice alice users-a e=1 here=1 +49895550201=+49895550201 L:pbx-a/201 G:sales",
         "u-alice alice users-a e=1 here=1 +49895550201=+49895550201 L:pbx-a/201 G:sales");
    g_assert_cmpint(dir->get_user(impl, "nobody", user_line, got), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(dir->get_user(impl, "", user_line, got), ==, UCD_E_INVALID);
    g_assert_cmpint(dir->get_user(impl, NULL, user_line, got), ==, UCD_E_INVALID);

    /* By number: as stored, E.164, and raw as a PBX sends it, normalized in
     * the driver's location (pbx-b's is another country). */
    g_assert_cmpint(dir->user_by_number(impl, "+49895550201", NULL, stop_after_one, got), ==,
                    UCD_OK);
    g_assert_cmpint(dir->user_by_number(impl, "0895550201", NULL, stop_after_one, got), ==, UCD_OK);
    g_assert_cmpint(dir->user_by_number(impl, "0895550201", "pbx-a", stop_after_one, got), ==,
                    UCD_OK);
    g_assert_cmpint(dir->user_by_number(impl, "+49895550299", NULL, stop_after_one, got), ==,
                    UCD_OK);
    SEEN(got, "u-alice", "u-alice", "u-alice", "u-dave");
    g_assert_cmpint(dir->user_by_number(impl, "0895550201", "pbx-b", stop_after_one, got), ==,
                    UCD_E_NOT_FOUND);
    g_assert_cmpint(dir->user_by_number(impl, "", NULL, stop_after_one, got), ==, UCD_E_INVALID);

    /* Both backends, by login; the disabled user is there, not active here. */
    g_assert_cmpint(dir->foreach_user(impl, 0, user_line, got), ==, UCD_OK);
    SEEN(got, "u-alice alice users-a e=1 here=1 +49895550201=+49895550201 L:pbx-a/201 G:sales",
         "u-bob bob users-a e=1 here=1 L:pbx-a/202 G:sales",
         "u-carol carol users-a e=1 here=1 L:pbx-a/203",
         "u-dave dave users-b e=1 here=1 0895550299=+49895550299 L:pbx-b/201 G:support",
         "u-erin erin users-a e=0 here=0 G:sales");
    g_assert_cmpint(dir->foreach_user(impl, UCD_DIRECTORY_ACTIVE_HERE, stop_after_one, got), ==,
                    UCD_OK);
    SEEN(got, "u-alice"); /* stopped by the callback, still UCD_OK */

    g_assert_cmpint(dir->foreach_group(impl, group_line, got), ==, UCD_OK);
    SEEN(got, "sales users-a u-alice", "support users-b u-alice");
    g_assert_cmpint(dir->get_group(impl, "support", group_line, got), ==, UCD_OK);
    SEEN(got, "support users-b u-alice");
    g_assert_cmpint(dir->get_group(impl, "nope", group_line, got), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(dir->foreach_member(impl, "sales", stop_after_one, got), ==, UCD_OK);
    g_assert_cmpint(dir->foreach_member(impl, "support", stop_after_one, got), ==, UCD_OK);
    SEEN(got, "u-alice", "u-dave");
    g_assert_cmpint(dir->foreach_member(impl, "nope", stop_after_one, got), ==, UCD_E_NOT_FOUND);

    /* Lines: by driver, then address; 201 is on both drivers. */
    g_assert_cmpint(dir->foreach_line(impl, NULL, line_line, got), ==, UCD_OK);
    SEEN(got, "pbx-a/201 u-alice", "pbx-a/202 u-bob", "pbx-a/203 u-carol", "pbx-a/209 -",
         "pbx-b/201 u-dave");
    g_assert_cmpint(dir->foreach_line(impl, "pbx-b", line_line, got), ==, UCD_OK);
    SEEN(got, "pbx-b/201 u-dave");
    g_assert_cmpint(dir->foreach_line(impl, "pbx-z", line_line, got), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(dir->get_line(impl, NULL, "202", line_line, got), ==, UCD_OK);
    SEEN(got, "pbx-a/202 u-bob");
    g_assert_cmpint(dir->get_line(impl, NULL, "201", line_line, got), ==, UCD_E_INVALID);
    g_assert_cmpint(dir->get_line(impl, "pbx-b", "201", line_line, got), ==, UCD_OK);
    SEEN(got, "pbx-b/201 u-dave");
    g_assert_cmpint(dir->line_user(impl, "pbx-b", "201", stop_after_one, got), ==, UCD_OK);
    g_assert_cmpint(dir->line_user(impl, NULL, "203", stop_after_one, got), ==, UCD_OK);
    SEEN(got, "u-dave", "u-carol");
    g_assert_cmpint(dir->line_user(impl, "pbx-a", "209", stop_after_one, got), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(dir->line_user(impl, "pbx-a", "999", stop_after_one, got), ==, UCD_E_NOT_FOUND);
    g_assert_cmpstr(dir->server_name(impl), ==, "here");
    g_ptr_array_free(got, TRUE);
}

static void publish(fixture *f, const char *source, uint32_t type, const void *payload)
{
    ucd_event e = {.struct_size = sizeof e, .type = type, .payload = payload};
    g_assert_cmpint(core_bus_publish(f->rt.bus, source, &e), ==, UCD_OK);
    settle(f);
}

static void users_changed(fixture *f, const char *backend)
{
    ucd_user_changed_event uc = {sizeof uc, UCD_CHANGE_RESYNCED, NULL, backend};
    publish(f, backend, UCD_EVENT_USER_CHANGED, &uc);
}

static void module_state(fixture *f, ucd_plugin *module, ucd_module_state state)
{
    module->state = state;
    ucd_module_state_event ms = {sizeof ms, state, module->id, NULL};
    publish(f, "core", UCD_EVENT_MODULE_STATE, &ms);
}

static gint strcmp_ptr(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_directory_events(fixture *f, gconstpointer data)
{
    void *impl;
    const ucd_directory_v1 *dir = service(f, UCD_DIRECTORY_SERVICE, &impl);
    GPtrArray *got = g_ptr_array_new_with_free_func(g_free);
    /* The start: everything was added. */
    g_ptr_array_sort(f->dir_events, strcmp_ptr);
    SEEN(f->dir_events, "1 1 u-alice", "1 1 u-bob", "1 1 u-carol", "1 1 u-dave", "1 1 u-erin",
         "1 2 sales", "1 2 support", "1 3 pbx-a/201", "1 3 pbx-a/202", "1 3 pbx-a/203",
         "1 3 pbx-a/209", "1 3 pbx-b/201");

    put_user(&f->users_b, "u-frank", "Frank", NULL);
    users_changed(f, "users-b");
    SEEN(f->dir_events, "1 1 u-frank");
    put_user(&f->users_b, "u-frank", "Frank Renamed", NULL);
    users_changed(f, "users-b");
    SEEN(f->dir_events, "2 1 u-frank");
    users_changed(f, "users-b"); /* nothing changed: nothing said */
    g_assert_cmpuint(f->dir_events->len, ==, 0);
    drop_user(&f->users_b, "u-frank");
    users_changed(f, "users-b");
    SEEN(f->dir_events, "3 1 u-frank");

    /* A line appears (an event names it), then a user takes it. */
    ucd_line_state_event ls = {sizeof ls, UCD_LINE_IDLE, "pbx-a", "299", 0, NULL};
    publish(f, "pbx-a", UCD_EVENT_LINE_STATE, &ls);
    SEEN(f->dir_events, "1 3 pbx-a/299");
    static const char *const gina_lines[] = {"pbx-a/299", NULL};
    put_user(&f->users_b, "u-gina", "Gina", gina_lines);
    users_changed(f, "users-b");
    SEEN(f->dir_events, "1 1 u-gina", "2 3 pbx-a/299");
    g_assert_cmpint(dir->line_user(impl, "pbx-a", "299", stop_after_one, got), ==, UCD_OK);
    SEEN(got, "u-gina");

    /* A driver stops: its lines go from the directory; it runs again: back. */
    module_state(f, f->pbx_b_module, UCD_MODULE_STOPPED);
    SEEN(f->dir_events, "3 3 pbx-b/201");
    g_assert_cmpint(dir->foreach_line(impl, "pbx-b", line_line, got), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(dir->get_line(impl, NULL, "201", line_line, got), ==, UCD_OK);
    SEEN(got, "pbx-a/201 u-alice");
    module_state(f, f->pbx_b_module, UCD_MODULE_RUNNING);
    SEEN(f->dir_events, "1 3 pbx-b/201");

    /* A users backend stops: its users and groups go, its users' lines
     * belong to nobody. */
    module_state(f, f->users_b_module, UCD_MODULE_STOPPED);
    g_ptr_array_sort(f->dir_events, strcmp_ptr);
    SEEN(f->dir_events, "2 3 pbx-a/299", "2 3 pbx-b/201", "3 1 u-dave", "3 1 u-gina",
         "3 2 support");
    g_assert_cmpint(dir->get_user(impl, "dave", user_line, got), ==, UCD_E_NOT_FOUND);
    module_state(f, f->users_b_module, UCD_MODULE_RUNNING);
    g_assert_cmpint(dir->get_user(impl, "dave", stop_after_one, got), ==, UCD_OK);
    SEEN(got, "u-dave");
    g_ptr_array_set_size(f->dir_events, 0);

    /* Too many changes in one pass: one RESYNCED. */
    for (int i = 0; i <= 1000; i++) {
        char id[32];
        g_snprintf(id, sizeof id, "u-many%04d", i);
        put_user(&f->users_b, id, "Many", NULL);
    }
    users_changed(f, "users-b");
    SEEN(f->dir_events, "4 0 -");
    g_ptr_array_free(got, TRUE);
}

/* At start-up the daemon pulls everything once every module started; the
 * modules' RUNNING events, queued meanwhile, must not pull each again (a
 * directory of 100,000 users would be read twice). A RUNNING event after the
 * pull is news and pulls. */
static void test_start_pulls_once(fixture *f, gconstpointer data)
{
    g_assert_cmpint(f->pbx_a.listed, ==, 1);
    ucd_module_state_event ms = {sizeof ms, UCD_MODULE_RUNNING, "pbx-a", NULL};
    ucd_event e = {.struct_size = sizeof e, .type = UCD_EVENT_MODULE_STATE, .payload = &ms};
    g_assert_cmpint(core_bus_publish(f->rt.bus, "core", &e), ==, UCD_OK);
    core_model_start(f->model);
    settle(f);
    g_assert_cmpint(f->pbx_a.listed, ==, 2);
    g_assert_cmpint(core_bus_publish(f->rt.bus, "core", &e), ==, UCD_OK);
    settle(f);
    g_assert_cmpint(f->pbx_a.listed, ==, 3);
}

/* ---- calls and the conversation-ended event ------------------------------------------ */

static void call(fixture *f, ucd_call_state_event ev)
{
    ev.struct_size = sizeof ev;
    ev.driver_instance = ev.driver_instance ? ev.driver_instance : "pbx-a";
    publish(f, ev.driver_instance, UCD_EVENT_CALL_STATE, &ev);
}

#define CALL(f, ...) call((f), (ucd_call_state_event){__VA_ARGS__})

static int leg_line(const ucd_call_leg *l, void *ud)
{
    g_ptr_array_add(ud, g_strdup_printf("%s/%s %s %s %u %s %u", l->driver, l->line, s(l->user_id),
                                        l->call_id, l->state, s(l->remote_number), l->flags));
    return 0;
}

static int open_record(const ucd_journal_record *r, void *ud)
{
    g_ptr_array_add(ud, record_text(r));
    return 0;
}

static void test_conversation_event(fixture *f, gconstpointer data)
{
    void *impl;
    const ucd_calls_v1 *calls = service(f, UCD_CALLS_SERVICE, &impl);
    GPtrArray *got = g_ptr_array_new_with_free_func(g_free);

    /* Bob's line is busy, so the call goes on to carol's. */
    CALL(f, .line = "202", .call_id = "c1", .conversation_id = "k1", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND, .remote_number = "0301234", .flags = UCD_CALL_FLAG_PRIVATE);
    CALL(f, .line = "203", .call_id = "c2", .conversation_id = "k1", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND, .remote_number = "0301234", .cause = UCD_CAUSE_FORWARDED,
         .forward_reason = UCD_FORWARD_REASON_BUSY, .related_line = "202");
    CALL(f, .line = "202", .call_id = "c1", .conversation_id = "k1", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_FORWARDED);
    CALL(f, .line = "203", .call_id = "c2", .conversation_id = "k1", .state = UCD_CALL_CONNECTED,
         .direction = UCD_DIR_INBOUND);
    CALL(f, .driver_instance = "pbx-b", .line = "201", .call_id = "x1", .state = UCD_CALL_DIALING,
         .direction = UCD_DIR_OUTBOUND, .remote_number = "004311");

    g_assert_cmpint(calls->foreach_leg(impl, NULL, leg_line, got), ==, UCD_OK);
    SEEN(got, "pbx-a/203 u-carol c2 4 0301234 1", "pbx-b/201 u-dave x1 1 004311 0");
    g_assert_cmpint(calls->foreach_leg(impl, "dave", leg_line, got), ==, UCD_OK);
    SEEN(got, "pbx-b/201 u-dave x1 1 004311 0");
    g_assert_cmpint(calls->foreach_leg(impl, "nobody", leg_line, got), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(calls->foreach_conversation(impl, "carol", open_record, got), ==, UCD_OK);
    g_assert_cmpuint(got->len, ==, 1);
    char *open = g_strdup(got->pdata[0]);
    g_ptr_array_set_size(got, 0);
    g_assert_nonnull(strstr(open, " end=0 "));
    g_assert_nonnull(strstr(open, " reason=- "));
    g_assert_nonnull(strstr(open, " cause=0 fwdcode=2 "));

    CALL(f, .line = "203", .call_id = "c2", .conversation_id = "k1", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_NORMAL);
    CALL(f, .driver_instance = "pbx-b", .line = "201", .call_id = "x1",
         .state = UCD_CALL_DISCONNECTED, .direction = UCD_DIR_OUTBOUND, .cause = UCD_CAUSE_BUSY);

    /* The event carries the very record each journal got, field for field. */
    g_assert_cmpuint(f->stored->len, ==, 2);
    g_assert_cmpuint(f->ended->len, ==, 2);
    for (guint i = 0; i < 2; i++)
        g_assert_cmpstr(f->ended->pdata[i], ==, f->stored->pdata[i]);
    /* What the open record said still holds, besides the end. */
    char *uuid = g_strndup(strstr(open, "uuid="), 41);
    g_assert_nonnull(strstr(f->ended->pdata[0], uuid));
    g_assert_nonnull(strstr(f->ended->pdata[0], " fwd=busy pickup=- reason=normal "));
    g_assert_nonnull(strstr(f->ended->pdata[0], " cause=1 fwdcode=2 parts="));
    g_assert_nonnull(strstr(f->ended->pdata[0], " flags=1 "));
    /* An unanswered call: end_cause says why, end_reason is its word. */
    g_assert_nonnull(strstr(f->ended->pdata[1], " outcome=2 "));
    g_assert_nonnull(strstr(f->ended->pdata[1], " reason=busy tags=- memo=- cause=2 fwdcode=0 "));
    g_free(uuid);
    g_free(open);

    /* No journal runs: the event still comes. A call still open when the
     * model stops ends as link_lost. */
    f->journal_module->state = UCD_MODULE_STOPPED;
    CALL(f, .line = "201", .call_id = "c3", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND, .remote_number = "0301234");
    core_model_stop(f->model);
    settle(f);
    g_assert_cmpuint(f->stored->len, ==, 2);
    g_assert_cmpuint(f->ended->len, ==, 3);
    g_assert_nonnull(strstr(f->ended->pdata[2], " reason=link_lost tags=- memo=- cause=10 "));
    /* Stopped, the services still answer, from what is left. */
    g_assert_cmpint(calls->foreach_leg(impl, NULL, leg_line, got), ==, UCD_OK);
    g_assert_cmpuint(got->len, ==, 0);
    g_ptr_array_free(got, TRUE);
}

/* ---- a fake contact store: one contact behind Berlin 555 ------------------------- */

static int contacts_lookup(void *impl, const char *context, const char *number,
                           const char *const *sources, ucd_contact_hit_cb cb, void *ud)
{
    (*(int *)impl)++;
    if (g_strcmp0(number, "030555") != 0)
        return UCD_E_NOT_FOUND;
    ucd_contact c = {.struct_size = sizeof c,
                     .source_id = "42",
                     .display_name = "Hans M\xc3\xbcller",
                     .company = "M\xc3\xbcller GmbH"};
    ucd_contact_hit hit = {
        .struct_size = sizeof hit, .priority = 100, .source = "contacts-csv:crm", .contact = &c};
    cb(&hit, ud);
    return UCD_OK;
}

static const ucd_contacts_v1 contacts_iface = {.struct_size = sizeof contacts_iface,
                                               .lookup = contacts_lookup};

static gint by_text(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int leg_party(const ucd_call_leg *l, void *ud)
{
    g_assert_cmpuint(l->struct_size, >=, offsetof(ucd_call_leg, party_user_id) + sizeof(char *));
    g_ptr_array_add(ud,
                    g_strdup_printf("%s %s|%s|%s|%s", l->call_id, s(l->party_name),
                                    s(l->party_company), s(l->party_source), s(l->party_user_id)));
    return 0;
}

static int presence_party(const ucd_presence_info *p, void *ud)
{
    *(char **)ud = g_strdup_printf("%s %s|%s", ucd_presence_word(p->state), s(p->party_name),
                                   s(p->party_company));
    return 0;
}

/* "STATE NAME|COMPANY" of `user`'s presence (g_free). */
static char *party_of(fixture *f, const char *user)
{
    void *impl;
    const ucd_presence_v1 *pr = service(f, UCD_PRESENCE_SERVICE, &impl);
    char *text = NULL;
    g_assert_cmpint(pr->get(impl, user, presence_party, &text), ==, UCD_OK);
    return text;
}

#define ASSERT_PARTY(f, user, want)                                                                \
    do {                                                                                           \
        char *got_ = party_of(f, user);                                                            \
        g_assert_cmpstr(got_, ==, want);                                                           \
        g_free(got_);                                                                              \
    } while (0)

/* Issue 15: every leg's remote party is identified, users first, then the
 * contact store, once per remote number; the journal keeps the name when
 * the PBX sent none. */
static void test_call_party(fixture *f, gconstpointer data)
{
    void *impl;
    const ucd_calls_v1 *calls = service(f, UCD_CALLS_SERVICE, &impl);
    GPtrArray *got = g_ptr_array_new_with_free_func(g_free);
    int lookups = 0;
    fake_provider_add(f->mods, f->providers, "contacts-store", UCD_CONTACTS_SERVICE,
                      &contacts_iface, &lookups);

    /* A contact; a colleague by her number (never asked of the store); an
     * internal call to bob's line; a withheld number; a name from the PBX. */
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND, .remote_number = "030555");
    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_CONNECTED,
         .direction = UCD_DIR_INBOUND, .remote_number = "030555");
    CALL(f, .line = "203", .call_id = "c2", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND, .remote_number = "+49895550201");
    CALL(f, .line = "209", .call_id = "c3", .state = UCD_CALL_DIALING,
         .direction = UCD_DIR_OUTBOUND, .remote_number = "202");
    CALL(f, .driver_instance = "pbx-b", .line = "201", .call_id = "c4", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND, .remote_number = "030555", .flags = UCD_CALL_FLAG_PRIVATE);
    CALL(f, .line = "202", .call_id = "c5", .state = UCD_CALL_OFFERING,
         .direction = UCD_DIR_INBOUND, .remote_number = "030555", .remote_name = "Hans (PBX)");
    g_assert_cmpint(calls->foreach_leg(impl, NULL, leg_party, got), ==, UCD_OK);
    g_ptr_array_sort(got, by_text);
    g_assert_cmpuint(got->len, ==, 5);
    g_assert_cmpstr(got->pdata[0], ==,
                    "c1 Hans M\xc3\xbcller|M\xc3\xbcller GmbH|contacts-csv:crm|-");
    g_assert_cmpstr(got->pdata[1], ==, "c2 Alice Example|-|directory|u-alice");
    g_assert_cmpstr(got->pdata[2], ==, "c3 Bob Builder|-|directory|u-bob");
    g_assert_cmpstr(got->pdata[3], ==, "c4 -|-|-|-");
    g_assert_cmpstr(got->pdata[4], ==,
                    "c5 Hans M\xc3\xbcller|M\xc3\xbcller GmbH|contacts-csv:crm|-");
    /* c1 (once, not per event) and c5; c3 was found among the lines */
    g_assert_cmpint(lookups, ==, 2);
    /* on the bus once per leg whose party is known, none for the
     * withheld c4 */
    settle(f);
    g_ptr_array_sort(f->parties, by_text);
    g_assert_cmpuint(f->parties->len, ==, 4);
    g_assert_cmpstr(f->parties->pdata[0], ==, "c1 Hans M\xc3\xbcller|contacts-csv:crm|-");
    g_assert_cmpstr(f->parties->pdata[1], ==, "c2 Alice Example|directory|u-alice");
    g_assert_cmpstr(f->parties->pdata[2], ==, "c3 Bob Builder|directory|u-bob");
    g_assert_cmpstr(f->parties->pdata[3], ==, "c5 Hans M\xc3\xbcller|contacts-csv:crm|-");
    /* presence says whom each is on the phone with: alice talks to Hans,
     * carol's phone rings with alice's call */
    ASSERT_PARTY(f, "alice", "on_phone Hans M\xc3\xbcller|M\xc3\xbcller GmbH");
    ASSERT_PARTY(f, "carol", "ringing Alice Example|-");

    CALL(f, .line = "201", .call_id = "c1", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_NORMAL);
    CALL(f, .line = "202", .call_id = "c5", .state = UCD_CALL_DISCONNECTED,
         .direction = UCD_DIR_INBOUND, .cause = UCD_CAUSE_NO_ANSWER);
    settle(f);
    g_assert_cmpuint(f->stored->len, ==, 2);
    ASSERT_PARTY(f, "alice", "available -|-"); /* the call ended */
    g_assert_nonnull(strstr(f->stored->pdata[0], " src=030555/+4930555/Hans M\xc3\xbcller "));
    g_assert_nonnull(strstr(f->stored->pdata[1], " src=030555/+4930555/Hans (PBX) "));
    /* a transfer brings a number that names nobody: the party is cleared,
     * and said so */
    g_ptr_array_set_size(f->parties, 0);
    CALL(f, .line = "203", .call_id = "c2", .state = UCD_CALL_CONNECTED,
         .direction = UCD_DIR_INBOUND, .remote_number = "0309999");
    settle(f);
    g_assert_cmpuint(f->parties->len, ==, 1);
    g_assert_cmpstr(f->parties->pdata[0], ==, "c2 -|-|-");
    ASSERT_PARTY(f, "carol", "on_phone -|-");
    g_ptr_array_free(got, TRUE);
}

static void test_calls_control(fixture *f, gconstpointer data)
{
    void *impl;
    const ucd_calls_v1 *calls = service(f, UCD_CALLS_SERVICE, &impl);
    ucd_call_request req = {
        .struct_size = sizeof req, .action = UCD_CALL_DIAL, .user = "alice", .number = "0301234"};
    ucd_call_result res = {.struct_size = sizeof res};
    g_assert_cmpint(calls->control(impl, &req, &res), ==, UCD_OK);
    g_assert_cmpstr(res.driver, ==, "pbx-a");
    g_assert_cmpstr(res.line, ==, "201");
    g_assert_cmpstr(res.call_id, ==, "d1");
    /* Carol is not in sales: she may not dial from alice's line. */
    req.actor = "carol";
    g_assert_cmpint(calls->control(impl, &req, &res), ==, UCD_E_DENIED);
    g_assert_cmpstr(res.message, !=, "");
}

/* ---- presence ------------------------------------------------------------------------ */

static int presence_line(const ucd_presence_info *p, void *ud)
{
    g_ptr_array_add(ud, g_strdup_printf("%s %s m=%s %s", p->user_id, ucd_presence_word(p->state),
                                        ucd_presence_word(p->manual_state), s(p->note)));
    return 0;
}

static void test_presence(fixture *f, gconstpointer data)
{
    void *impl;
    const ucd_presence_v1 *pr = service(f, UCD_PRESENCE_SERVICE, &impl);
    GPtrArray *got = g_ptr_array_new_with_free_func(g_free);

    g_assert_cmpint(pr->foreach (impl, presence_line, got), ==, UCD_OK);
    SEEN(got, "u-alice available m=unknown -", "u-bob available m=unknown -",
         "u-carol available m=unknown -", "u-dave available m=unknown -");
    /* bob shares sales with alice (PERSONAL): he may. */
    g_assert_cmpint(pr->set_manual(impl, "bob", "alice", UCD_PRESENCE_AWAY, "lunch", 0), ==,
                    UCD_OK);
    /* carol sees alice at PUBLIC only; an unknown actor is refused alike. */
    g_assert_cmpint(pr->set_manual(impl, "carol", "alice", UCD_PRESENCE_BUSY, NULL, 0), ==,
                    UCD_E_DENIED);
    g_assert_cmpint(pr->set_manual(impl, "mallory", "alice", UCD_PRESENCE_BUSY, NULL, 0), ==,
                    UCD_E_DENIED);
    g_assert_cmpint(pr->clear_manual(impl, "u-carol", "alice"), ==, UCD_E_DENIED);
    g_assert_cmpint(pr->get(impl, "alice", presence_line, got), ==, UCD_OK);
    SEEN(got, "u-alice away m=away lunch");

    /* Oneself, and the system, may. */
    g_assert_cmpint(pr->set_manual(impl, "carol", "carol", UCD_PRESENCE_DND, NULL, 0), ==, UCD_OK);
    g_assert_cmpint(pr->set_manual(impl, NULL, "dave", UCD_PRESENCE_BUSY, "meeting", 0), ==,
                    UCD_OK);
    g_assert_cmpint(pr->clear_manual(impl, "bob", "u-alice"), ==, UCD_OK);
    g_assert_cmpint(pr->foreach (impl, presence_line, got), ==, UCD_OK);
    SEEN(got, "u-alice available m=unknown -", "u-bob available m=unknown -", "u-carol dnd m=dnd -",
         "u-dave busy m=busy meeting");

    /* Bad requests: the user (erin is disabled: no presence here), the state,
     * the end time. */
    g_assert_cmpint(pr->get(impl, "erin", presence_line, got), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(pr->set_manual(impl, NULL, "erin", UCD_PRESENCE_AWAY, NULL, 0), ==,
                    UCD_E_NOT_FOUND);
    g_assert_cmpint(pr->set_manual(impl, NULL, "alice", UCD_PRESENCE_UNKNOWN, NULL, 0), ==,
                    UCD_E_INVALID);
    g_assert_cmpint(pr->set_manual(impl, NULL, "alice", UCD_PRESENCE_ON_PHONE, NULL, 0), ==,
                    UCD_E_INVALID);
    g_assert_cmpint(pr->set_manual(impl, NULL, "alice", UCD_PRESENCE_AWAY, NULL, 1000), ==,
                    UCD_E_INVALID);
    g_assert_cmpint(pr->set_manual(impl, NULL, "alice", UCD_PRESENCE_AWAY, "\xff", 0), ==,
                    UCD_E_INVALID);
    g_assert_cmpint(pr->get(impl, "alice", presence_line, got), ==, UCD_OK);
    SEEN(got, "u-alice available m=unknown -");
    g_ptr_array_free(got, TRUE);
}

/* ---- permissions ---------------------------------------------------------------------- */

static int decision_line(const ucd_perm_decision *d, void *ud)
{
    g_ptr_array_add(ud, g_strdup_printf("%s %u %s %s", ucd_perm_level_name(d->level), d->source,
                                        s(d->group), d->where ? strrchr(d->where, ':') : "-"));
    return 0;
}

static void test_permissions(fixture *f, gconstpointer data)
{
    void *impl;
    const ucd_permissions_v1 *perm = service(f, UCD_PERMISSIONS_SERVICE, &impl);
    GPtrArray *got = g_ptr_array_new_with_free_func(g_free);
    uint32_t level = 99;

    g_assert_cmpint(perm->level(impl, "bob", "u-alice", &level), ==, UCD_OK);
    g_assert_cmpuint(level, ==, UCD_PERM_PERSONAL);
    g_assert_cmpint(perm->level(impl, "carol", "alice", &level), ==, UCD_OK);
    g_assert_cmpuint(level, ==, UCD_PERM_PUBLIC);
    g_assert_cmpint(perm->level(impl, "nobody", "alice", &level), ==, UCD_OK);
    g_assert_cmpuint(level, ==, UCD_PERM_BLOCKED);
    g_assert_cmpint(perm->level(impl, NULL, "alice", &level), ==, UCD_E_INVALID);

    g_assert_cmpint(perm->allows(impl, "carol", "alice", UCD_PERM_SEE_PRESENCE), ==, UCD_OK);
    g_assert_cmpint(perm->allows(impl, "carol", "alice", UCD_PERM_PICKUP), ==, UCD_E_DENIED);
    g_assert_cmpint(perm->allows(impl, "bob", "alice", UCD_PERM_SET_FORWARDING), ==, UCD_OK);
    g_assert_cmpint(perm->allows(impl, "bob", "alice", 7), ==, UCD_E_INVALID);

    g_assert_cmpint(perm->explain(impl, "bob", "alice", decision_line, got), ==, UCD_OK);
    g_assert_cmpint(perm->explain(impl, "carol", "alice", decision_line, got), ==, UCD_OK);
    g_assert_cmpint(perm->explain(impl, "alice", "u-alice", decision_line, got), ==, UCD_OK);
    g_assert_cmpint(perm->explain(impl, "nobody", "alice", decision_line, got), ==, UCD_OK);
    SEEN(got, "personal 1 sales :3", "public 0 - :2", "personal 5 - -", "blocked 6 - -");

    /* A user who arrives later is known at the next question. */
    put_user(&f->users_b, "u-frank", "Frank", NULL);
    users_changed(f, "users-b");
    g_assert_cmpint(perm->level(impl, "frank", "alice", &level), ==, UCD_OK);
    g_assert_cmpuint(level, ==, UCD_PERM_PUBLIC);

    /* Without a permissions object the service cannot answer. */
    core_model_set_permissions(f->model, NULL);
    g_assert_cmpint(perm->level(impl, "bob", "alice", &level), ==, UCD_E_UNAVAILABLE);
    g_ptr_array_free(got, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/model/services/" name, fixture, NULL, set_up, fn, tear_down)
    ADD("directory-lookups", test_directory_lookups);
    ADD("directory-events", test_directory_events);
    ADD("start-pulls-once", test_start_pulls_once);
    ADD("conversation-event", test_conversation_event);
    ADD("call-party", test_call_party);
    ADD("calls-control", test_calls_control);
    ADD("presence", test_presence);
    ADD("permissions", test_permissions);
    return g_test_run();
}
