/*
 * test-daemon.c - the real ucd binary, end to end: module life cycle, every
 * loader error as an admin sees it, dependency decline, reload (good and
 * broken), check-config, the control socket under abuse, log levels and the
 * support bundle, and dropping root.
 */
#include <gio/gunixsocketaddress.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include <ucd/control.h>
#include <ucd/ucd.h>

#include "harness.h"

static const char *const MODULES[] = {"modules", NULL};

static void assert_contains(const char *haystack, const char *needle)
{
    if (!haystack || !strstr(haystack, needle))
        g_error("expected to find \"%s\" in:\n%s", needle, haystack ? haystack : "(null)");
}

static char *module_error(harness *h, const char *id)
{
    JsonNode *r = harness_ok(h, MODULES);
    char *e = g_strdup(harness_cell(r, id, "error"));
    json_node_free(r);
    return e;
}

static char *module_state(harness *h, const char *id)
{
    JsonNode *r = harness_ok(h, MODULES);
    char *s = g_strdup(harness_cell(r, id, "state"));
    json_node_free(r);
    return s;
}

static long probe_value(harness *h, const char *what)
{
    const char *argv[] = {"probe", NULL};
    JsonNode *r = harness_ok(h, argv);
    const char *v = harness_cell(r, what, "value");
    long n = v ? strtol(v, NULL, 10) : -1;
    json_node_free(r);
    return n;
}

/* A good plugin and its dependent start in order and stop in reverse. */
static void test_lifecycle(void)
{
    harness *h = harness_new("[module good-dep]\n[module good-basic]\ngreeting = bonjour\n");
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "good-basic", "running"));
    g_assert_true(harness_wait_state(h, "good-dep", "running"));
    g_assert_true(harness_wait_log(h, "good-basic init greeting=bonjour"));

    g_assert_cmpint(harness_stop(h), ==, 0);
    char *log = harness_log(h);
    /* providers start first even when listed later, and stop last */
    char *basic_start = strstr(log, "good-basic start");
    char *basic_stop = strstr(log, "good-basic stop");
    char *dep_stop = strstr(log, "module good-dep stopped");
    g_assert_nonnull(basic_start);
    g_assert_nonnull(basic_stop);
    g_assert_nonnull(dep_stop);
    g_assert_true(dep_stop < basic_stop);
    g_free(log);
    harness_free(h);
}

/* A plugin command answering through a deferred reply (ABI 1.3): while its
 * work runs on the pool, the daemon answers other clients; then the reply
 * arrives, filled in the done callback. */
static void test_deferred_plugin_reply(void)
{
    harness *h = harness_new("[module probe]\n");
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "probe", "running"));

    const char *ucctl = harness_env("UCCTL_BIN");
    GSubprocessLauncher *l =
        g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
    g_subprocess_launcher_setenv(l, "UCD_SOCKET", h->sock, TRUE);
    GError *error = NULL;
    GSubprocess *slow =
        g_subprocess_launcher_spawn(l, &error, ucctl, "probe", "slow", "1500", NULL);
    g_assert_no_error(error);
    /* The slow command is in flight and the main loop still answers. */
    long in_flight = 0;
    for (int i = 0; i < 500 && (in_flight = probe_value(h, "slow_in_flight")) == 0; i++)
        g_usleep(10000);
    g_assert_cmpint(in_flight, ==, 1);

    char *out = NULL;
    g_assert_true(g_subprocess_communicate_utf8(slow, NULL, NULL, &out, NULL, &error));
    g_assert_no_error(error);
    g_assert_true(g_subprocess_get_successful(slow));
    g_assert_nonnull(strstr(out, "slept 1500 ms on a pool thread: yes"));
    g_assert_cmpint(probe_value(h, "slow_in_flight"), ==, 0);
    g_free(out);
    g_object_unref(slow);
    g_object_unref(l);
    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
}

/* Every part of the host table, used by the probe fixture for real. */
static void test_host_table(void)
{
    harness *h = harness_new("[module probe]\ngreeting = salut\npassword = s3cret-value\n");
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "probe", "running"));
    for (int i = 0; i < 200 && probe_value(h, "seen") < 5; i++)
        g_usleep(20000);
    g_assert_cmpint(probe_value(h, "published"), ==, 5);
    g_assert_cmpint(probe_value(h, "seen"), ==, 5);
    g_assert_cmpint(probe_value(h, "watch_reads"), >=, 1);
    g_assert_cmpint(probe_value(h, "work_done"), ==, 1);
    g_assert_cmpint(probe_value(h, "state_dir_mode"), ==, 0700);

    const char *counters[] = {"counters", NULL};
    JsonNode *r = harness_ok(h, counters);
    g_assert_cmpstr(harness_cell(r, "probe.events_seen", "value"), ==, "5");
    json_node_free(r);

    g_assert_cmpint(harness_stop(h), ==, 0);
    char *log = harness_log(h);
    g_assert_null(strstr(log, "s3cret-value")); /* the secret never reaches the log */
    g_assert_true(strstr(log, "probe stop") < strstr(log, "probe fini"));
    g_free(log);
    harness_free(h);
}

/* Each broken plugin is refused with its own message; the daemon runs on. */
static void test_loader_errors(void)
{
    harness *h = harness_new(
        "[module bad-notelf]\n[module bad-noentry]\n[module bad-abi-newer]\n"
        "[module bad-abi-major]\n[module bad-abi-old-major]\n[module bad-missing-symbol]\n"
        "[module bad-init-fails]\n[module cycle-a]\n[module cycle-b]\n"
        "[module excl-a]\n[module excl-b]\n[module no-such-plugin]\n"
        "[module good-basic]\n");
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "good-basic", "running"));

    static const struct {
        const char *id, *needle;
    } cases[] = {
        {"bad-notelf", "not a shared object"},
        {"bad-noentry", "not a ucd plugin"},
        {"bad-abi-newer", "needs a newer ucd"},
        {"bad-abi-major", "ABI 2.0"},
        {"bad-abi-old-major", "ABI 0.9"},
        {"bad-missing-symbol", "missing symbol"},
        {"bad-init-fails", "the bad-init-fails fixture always fails to initialize"},
        {"cycle-a", "cycle-a -> cycle-b -> cycle-a"},
        {"excl-a", "excl-b"},
        {"no-such-plugin", "not found"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *state = module_state(h, cases[i].id);
        char *err = module_error(h, cases[i].id);
        g_assert_cmpstr(state, ==, "failed");
        assert_contains(err, cases[i].needle);
        g_free(state);
        g_free(err);
    }
    /* both versions named: the fixture needs this core's host minor + 1 */
    char *err = module_error(h, "bad-abi-newer");
    char *plugin_abi =
        g_strdup_printf("needs host interface %d.%d", UCD_ABI_MAJOR, UCD_HOST_MINOR + 1);
    char *core_abi =
        g_strdup_printf("this ucd has host interface %d.%d", UCD_ABI_MAJOR, UCD_HOST_MINOR);
    assert_contains(err, plugin_abi);
    assert_contains(err, core_abi);
    g_free(plugin_abi);
    g_free(core_abi);
    g_free(err);
    err = module_error(h, "bad-missing-symbol");
    g_assert_null(strstr(err, "file not found")); /* libltdl's misleading word is not passed on */
    g_free(err);

    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
}

/* The value of field `name` of a fields reply, or NULL. */
static const char *field_of(JsonNode *r, const char *name)
{
    JsonArray *fields = json_object_get_array_member(json_node_get_object(r), "fields");
    for (guint i = 0; fields && i < json_array_get_length(fields); i++) {
        JsonObject *f = json_array_get_object_element(fields, i);
        if (strcmp(json_object_get_string_member(f, "name"), name) == 0)
            return json_object_get_string_member(f, "value");
    }
    return NULL;
}

/* Versions as an admin sees them: a module whose required service is older
 * fails with both versions named; `ucctl modules` shows the host interface
 * each module needs ("host 1.1") and what it provides, `modules MODULE`
 * each service with its version, `status` the core's host interface. */
static void test_versions(void)
{
    harness *h = harness_new("[module ver-req-3]\n[module ver-use-3]\n[module ver-svc-2]\n"
                             "[module ver-target-1]\n[module ver-req-dir]\n");
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "ver-use-3", "running"));
    g_assert_true(harness_wait_state(h, "ver-target-1", "running"));
    char *state = module_state(h, "ver-req-3");
    g_assert_cmpstr(state, ==, "failed");
    g_free(state);
    char *err = module_error(h, "ver-req-3");
    g_assert_cmpstr(err, ==, "requires service 'test.svc' 1.3, but ver-svc-2 provides 1.2");
    g_free(err);
    /* The core's own directory service, 1.0, for a module that asks 1.99. */
    err = module_error(h, "ver-req-dir");
    g_assert_cmpstr(err, ==, "requires service 'directory' 1.99, but core provides 1.0");
    g_free(err);

    JsonNode *r = harness_ok(h, MODULES);
    g_assert_cmpstr(harness_cell(r, "ver-target-1", "host"), ==, "host 1.1");
    g_assert_cmpstr(harness_cell(r, "ver-target-1", "abi"), ==, "1.1");
    char *current = g_strdup_printf("host %d.%d", UCD_ABI_MAJOR, UCD_HOST_MINOR);
    g_assert_cmpstr(harness_cell(r, "ver-svc-2", "host"), ==, current);
    g_assert_cmpstr(harness_cell(r, "ver-svc-2", "provides"), ==, "test.svc 1.2");
    json_node_free(r);

    const char *detail[] = {"modules", "ver-use-3", NULL};
    r = harness_ok(h, detail);
    g_assert_cmpstr(field_of(r, "uses"), ==, "test.svc 1.3");
    g_assert_cmpstr(field_of(r, "requires"), ==, "");
    g_assert_cmpstr(field_of(r, "needs"), ==, current);
    json_node_free(r);
    /* The core is the built-in module providing its own services at their
     * headers' versions. */
    const char *core[] = {"modules", "core", NULL};
    r = harness_ok(h, core);
    g_assert_cmpstr(field_of(r, "path"), ==, "built-in");
    char *model = g_strdup_printf("directory %d.%d, calls %d.%d, presence %d.%d, permissions %d.%d",
                                  UCD_DIRECTORY_MAJOR, UCD_DIRECTORY_MINOR, UCD_CALLS_MAJOR,
                                  UCD_CALLS_MINOR, UCD_PRESENCE_MAJOR, UCD_PRESENCE_MINOR,
                                  UCD_PERMISSIONS_MAJOR, UCD_PERMISSIONS_MINOR);
    g_assert_nonnull(strstr(field_of(r, "provides"), "numbers 1.1"));
    g_assert_nonnull(strstr(field_of(r, "provides"), model));
    g_free(model);
    json_node_free(r);
    const char *status[] = {"status", NULL};
    r = harness_ok(h, status);
    g_assert_cmpstr(field_of(r, "host"), ==, current + strlen("host "));
    json_node_free(r);
    const char *unknown[] = {"modules", "no-such-module", NULL};
    r = harness_request(h, unknown);
    g_assert_false(json_object_get_boolean_member(json_node_get_object(r), "ok"));
    json_node_free(r);
    g_free(current);

    g_assert_cmpint(harness_stop(h), ==, 0);
    char *log = harness_log(h);
    assert_contains(log, "module ver-use-3 uses service 'test.svc' 1.3, but ver-svc-2 provides "
                         "1.2: not used (as if absent)");
    g_free(log);
    harness_free(h);
}

/* A provider that declines takes its dependents with it, by name. */
static void test_decline_chain(void)
{
    harness *h = harness_new("[module needs-decl]\n[module decliner]\n[module good-basic]\n");
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "good-basic", "running"));
    char *s = module_state(h, "decliner");
    g_assert_cmpstr(s, ==, "declined");
    g_free(s);
    s = module_state(h, "needs-decl");
    g_assert_cmpstr(s, ==, "declined");
    g_free(s);
    char *e = module_error(h, "needs-decl");
    assert_contains(e, "decliner");
    g_free(e);
    e = module_error(h, "decliner");
    assert_contains(e, "no hardware present");
    g_free(e);
    char *log = harness_log(h);
    g_assert_null(strstr(log, "needs-decl init must not run"));
    g_free(log);
    /* decliner's fini aborts the process if it is ever called */
    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
}

/* A required module that fails stops start-up with the reason. */
static void test_required_failure(void)
{
    harness *h = harness_new("[module good-basic]\n[module bad-init-fails]\nrequired = true\n");
    g_assert_false(harness_start(h));
    g_assert_cmpint(harness_wait(h), ==, 1);
    char *log = harness_log(h);
    assert_contains(log, "required module bad-init-fails");
    assert_contains(log, "always fails to initialize");
    g_free(log);
    harness_free(h);
}

/* --check-config lists every error with file:line and exits non-zero. */
static void test_check_config(void)
{
    harness *h = harness_new("[module good-basic]\ncount = many\ncolour = blue\n"
                             "[module bad-abi-major]\n[module probe]\n");
    const char *argv[] = {harness_env("UCD_BIN"), "-c", h->conf, "--check-config", NULL};
    char *out = NULL, *err = NULL;
    int rc = harness_run(h, argv, &out, &err);
    g_assert_cmpint(rc, ==, 1);
    char *where = g_strdup_printf("%s:11:", h->conf); /* count = many */
    assert_contains(err, where);
    g_free(where);
    assert_contains(err, "colour");
    assert_contains(err, "bad-abi-major");
    assert_contains(err, "3 errors");
    g_free(out);
    g_free(err);

    harness_write_config(h, "[module good-basic]\n");
    rc = harness_run(h, argv, &out, &err);
    g_assert_cmpint(rc, ==, 0);
    assert_contains(out, "configuration OK");
    g_free(out);
    g_free(err);
    harness_free(h);
}

/* SIGHUP: a broken file is refused and the old configuration keeps running;
 * a changed section restarts only its module. */
static void test_reload(void)
{
    harness *h = harness_new("[module good-basic]\ngreeting = one\n[module probe]\n"
                             "[module excl-a]\n");
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "probe", "running"));
    g_assert_true(harness_wait_state(h, "excl-a", "running"));

    harness_write_config(h, "[module good-basic\ngreeting = broken\n");
    harness_signal(h, SIGHUP);
    g_assert_true(harness_wait_log(h, "reload refused"));
    char *s = module_state(h, "good-basic");
    g_assert_cmpstr(s, ==, "running");
    g_free(s);

    harness_write_config(h, "[module good-basic]\ngreeting = two\n[module probe]\n"
                            "[module excl-a]\n");
    harness_signal(h, SIGHUP);
    g_assert_true(harness_wait_log(h, "good-basic init greeting=two"));
    g_assert_true(harness_wait_log(h, "configuration reloaded"));
    char *log = harness_log(h);
    assert_contains(log, "restarting module good-basic");
    /* probe uses good-basic's service and may hold its function table, so it
     * restarts too; excl-a depends on nothing that changed and runs on */
    assert_contains(log, "restarting module probe");
    g_assert_null(strstr(log, "restarting module excl-a"));
    g_assert_null(strstr(log, "module excl-a stopped"));
    g_free(log);

    /* the same through ucctl reload, with a drop-in that adds a module */
    harness_write_dropin(h, "50-extra.conf", "[module good-dep]\n");
    const char *reload[] = {"reload", NULL};
    json_node_free(harness_ok(h, reload));
    g_assert_true(harness_wait_state(h, "good-dep", "running"));

    harness_write_dropin(h, "60-bad.conf", "[module good-dep]\nno_such_key = 1\n");
    JsonNode *r = harness_request(h, reload);
    JsonObject *o = json_node_get_object(r);
    g_assert_false(json_object_get_boolean_member(o, "ok"));
    assert_contains(json_object_get_string_member(o, "error"), "60-bad.conf:2");
    json_node_free(r);
    s = module_state(h, "good-dep");
    g_assert_cmpstr(s, ==, "running");
    g_free(s);

    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
}

/* `ucctl as-admin CMD...` (the control-user fixture) runs CMD through the
 * core's control service; its fields are the service's result and JSON. */
static JsonNode *as_admin(harness *h, const char *const *words, int *result, JsonNode **json)
{
    const char *argv[16] = {"as-admin"};
    size_t n = 1;
    for (; words[n - 1]; n++) {
        g_assert_cmpuint(n, <, G_N_ELEMENTS(argv) - 1);
        argv[n] = words[n - 1];
    }
    argv[n] = NULL;
    JsonNode *r = harness_ok(h, argv);
    const char *code = field_of(r, "result");
    g_assert_nonnull(code);
    *result = atoi(code);
    if (json) {
        const char *text = field_of(r, "json");
        g_assert_nonnull(text);
        JsonParser *parser = json_parser_new();
        GError *error = NULL;
        json_parser_load_from_data(parser, text, -1, &error);
        g_assert_no_error(error);
        *json = json_node_copy(json_parser_get_root(parser));
        g_object_unref(parser);
    }
    return r;
}

/* The control service (ucd/control.h) answers what the control socket
 * answers, for core and plugin commands, at once or deferred, and for
 * errors; an unknown command or an empty argv is refused by run() itself;
 * who asked is logged. */
static void test_control_service(void)
{
    harness *h = harness_new("[module control-user]\n[module probe]\n");
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "control-user", "running"));
    g_assert_true(harness_wait_state(h, "probe", "running"));
    int result;
    JsonNode *json, *r;

    const char *status[] = {"status", NULL};
    r = as_admin(h, status, &result, &json);
    g_assert_cmpint(result, ==, UCD_OK);
    g_assert_true(json_object_get_boolean_member(json_node_get_object(json), "ok"));
    JsonNode *direct = harness_ok(h, status);
    g_assert_cmpstr(field_of(json, "version"), ==, field_of(direct, "version"));
    json_node_free(direct);
    char *host = g_strdup_printf("%d.%d", UCD_ABI_MAJOR, UCD_HOST_MINOR);
    g_assert_cmpstr(field_of(json, "host"), ==, host);
    g_free(host);
    json_node_free(json);
    json_node_free(r);
    g_assert_true(harness_wait_log(h, "control-user: test admin runs \"status\""));

    /* The same JSON the socket gives ucctl. */
    r = as_admin(h, MODULES, &result, &json);
    g_assert_cmpint(result, ==, UCD_OK);
    direct = harness_ok(h, MODULES);
    g_assert_true(json_node_equal(json, direct));
    g_assert_cmpstr(harness_cell(json, "control-user", "state"), ==, "running");
    json_node_free(direct);
    json_node_free(json);
    json_node_free(r);

    /* A plugin's command that defers its reply to a work item. */
    const char *slow[] = {"probe", "slow", "50", NULL};
    r = as_admin(h, slow, &result, &json);
    g_assert_cmpint(result, ==, UCD_OK);
    assert_contains(json_object_get_string_member(json_node_get_object(json), "text"),
                    "slept 50 ms on a pool thread: yes");
    json_node_free(json);
    json_node_free(r);

    /* A command that fails: its error code and its message. */
    const char *missing[] = {"modules", "no-such-module", NULL};
    r = as_admin(h, missing, &result, &json);
    g_assert_cmpint(result, ==, UCD_E_NOT_FOUND);
    JsonObject *o = json_node_get_object(json);
    g_assert_false(json_object_get_boolean_member(o, "ok"));
    assert_contains(json_object_get_string_member(o, "error"), "no module 'no-such-module'");
    json_node_free(json);
    json_node_free(r);

    /* Refused by run(): nothing runs, no JSON. */
    const char *unknown[] = {"no-such-command", NULL};
    r = as_admin(h, unknown, &result, NULL);
    g_assert_cmpint(result, ==, UCD_E_NOT_FOUND);
    g_assert_null(field_of(r, "json"));
    json_node_free(r);
    const char *empty[] = {NULL};
    r = as_admin(h, empty, &result, NULL);
    g_assert_cmpint(result, ==, UCD_E_INVALID);
    json_node_free(r);

    /* ucctl modules core lists it. */
    const char *core[] = {"modules", "core", NULL};
    r = harness_ok(h, core);
    char *control = g_strdup_printf("control %d.%d", UCD_CONTROL_MAJOR, UCD_CONTROL_MINOR);
    assert_contains(field_of(r, "provides"), control);
    g_free(control);
    json_node_free(r);

    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
}

static guint count_in_log(harness *h, const char *needle)
{
    char *log = harness_log(h);
    guint n = 0;
    for (const char *p = log; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    g_free(log);
    return n;
}

/* The reloader fixture reading `file` (with `extra` lines in its section)
 * beside good-basic saying `greeting`. */
static void write_reloader_config(harness *h, const char *file, const char *extra,
                                  const char *greeting)
{
    char *conf = g_strdup_printf("[module reloader]\nfile = %s\n%s[module good-basic]\n"
                                 "greeting = %s\n",
                                 file, extra, greeting);
    harness_write_config(h, conf);
    g_free(conf);
}

/* The reload hook (host 1.5): a running module whose section did not change
 * re-reads its files at every reload, SIGHUP or ucctl; one whose section
 * changed restarts instead; a failing hook keeps the module running and
 * makes the reload say why. */
static void test_reload_hook(void)
{
    harness *h = harness_new("");
    char *file = g_build_filename(h->dir, "reloader.txt", NULL);
    g_assert_true(g_file_set_contents(file, "one\n", -1, NULL));
    write_reloader_config(h, file, "", "a");
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "reloader", "running"));
    g_assert_true(harness_wait_log(h, "reloader init read one"));

    /* SIGHUP, nothing changed in the configuration: the file is read again. */
    g_assert_true(g_file_set_contents(file, "two\n", -1, NULL));
    harness_signal(h, SIGHUP);
    g_assert_true(harness_wait_log(h, "reloader reload 1 read two"));

    /* Another module's section changed: that one restarts, this one reloads. */
    write_reloader_config(h, file, "", "b");
    const char *reload[] = {"reload", NULL};
    json_node_free(harness_ok(h, reload));
    g_assert_true(harness_wait_log(h, "reloader reload 2 read two"));
    g_assert_true(harness_wait_log(h, "good-basic init greeting=b"));
    g_assert_cmpuint(count_in_log(h, "module reloader stopped"), ==, 0);

    /* A failing hook: the reload says which module and why, the module runs
     * on and shows the error until a reload goes well. */
    g_assert_true(g_file_set_contents(file, "fail\n", -1, NULL));
    JsonNode *r = harness_request(h, reload);
    JsonObject *o = json_node_get_object(r);
    g_assert_false(json_object_get_boolean_member(o, "ok"));
    assert_contains(json_object_get_string_member(o, "error"),
                    "module reloader: reload failed: bad content");
    json_node_free(r);
    char *s = module_state(h, "reloader");
    g_assert_cmpstr(s, ==, "running");
    g_free(s);
    char *err = module_error(h, "reloader");
    g_assert_cmpstr(err, ==, "reload failed: bad content");
    g_free(err);
    g_assert_true(g_file_set_contents(file, "three\n", -1, NULL));
    json_node_free(harness_ok(h, reload));
    g_assert_true(harness_wait_log(h, "reloader reload 4 read three"));
    err = module_error(h, "reloader");
    g_assert_cmpstr(err, ==, "");
    g_free(err);

    /* Its own section changed: restarted (init reads), no reload call. */
    write_reloader_config(h, file, "label = x\n", "b");
    json_node_free(harness_ok(h, reload));
    g_assert_true(harness_wait_log(h, "reloader init read three"));
    g_assert_cmpuint(count_in_log(h, "module reloader stopped"), ==, 1);
    g_assert_cmpuint(count_in_log(h, "reloader reload 5"), ==, 0);
    g_assert_cmpuint(count_in_log(h, "reloader reload 1 "), ==, 1);

    g_assert_cmpint(harness_stop(h), ==, 0);
    g_free(file);
    harness_free(h);
}

/* A second ucd on the same control socket says so and exits 1, without the
 * CRITICAL of a loader shut down that was never started (issue 12 item 2). */
static void test_second_daemon(void)
{
    harness *h = harness_new("[module good-basic]\n");
    g_assert_true(harness_start(h));
    const char *argv[] = {harness_env("UCD_BIN"), "-c", h->conf, NULL};
    char *out = NULL, *err = NULL;
    int rc = harness_run(h, argv, &out, &err);
    g_assert_cmpint(rc, ==, 1);
    assert_contains(err, "in use by a running process");
    if (strstr(err, "CRITICAL") || strstr(err, "assertion"))
        g_error("a second ucd printed a GLib critical:\n%s", err);
    g_free(out);
    g_free(err);
    /* the first one is untouched */
    char *s = module_state(h, "good-basic");
    g_assert_cmpstr(s, ==, "running");
    g_free(s);
    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
}

/* What start would refuse, --check-config refuses first: a control socket
 * path longer than sun_path, a UCD_KEY_FILE that is missing, a UCD_KEY_NAME
 * that is no plain name; the start refuses them the same way, cleanly. */
static void test_check_config_what_start_needs(void)
{
    harness *h = harness_new("[module probe]\n");
    char *long_sock = g_strdup_printf("%s/%s", h->dir,
                                      "s-123456789-123456789-123456789-"
                                      "123456789-123456789-123456789-"
                                      "123456789-123456789-123456789.sock");
    char *body = g_strdup_printf("[core]\ncontrol_socket = %s\n[module probe]\n"
                                 "data_file = %s/no-such.xml\ntable = x;y\n",
                                 long_sock, h->dir);
    /* the harness preamble sets control_socket: a drop-in overrides it */
    harness_write_dropin(h, "50-bad.conf", body);
    const char *check[] = {harness_env("UCD_BIN"), "-c", h->conf, "--check-config", NULL};
    char *out = NULL, *err = NULL;
    g_assert_cmpint(harness_run(h, check, &out, &err), ==, 1);
    assert_contains(err, "50-bad.conf:2: [core] control_socket:");
    assert_contains(err, "a unix socket path may have at most 107");
    assert_contains(err, "50-bad.conf:4: [module probe] data_file:");
    assert_contains(err, "No such file");
    assert_contains(err, "50-bad.conf:5: [module probe] table: 'x;y': not a plain name");
    assert_contains(err, "3 errors");
    g_free(out);
    g_free(err);
    const char *start[] = {harness_env("UCD_BIN"), "-c", h->conf, NULL};
    g_assert_cmpint(harness_run(h, start, &out, &err), ==, 1);
    assert_contains(err, "a unix socket path may have at most 107");
    g_assert_null(strstr(err, "CRITICAL"));
    g_free(out);
    g_free(err);
    g_free(body);
    g_free(long_sock);
    harness_free(h);
}

/* The key checks run at reload too: a missing data_file is refused with
 * file:line and the running module stays. */
static void test_reload_checks_file_keys(void)
{
    harness *h = harness_new("[module probe]\n");
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "probe", "running"));
    char *body = g_strdup_printf("[module probe]\ndata_file = %s/gone.xml\n", h->dir);
    harness_write_config(h, body);
    g_free(body);
    const char *reload[] = {"reload", NULL};
    JsonNode *r = harness_request(h, reload);
    JsonObject *o = json_node_get_object(r);
    g_assert_false(json_object_get_boolean_member(o, "ok"));
    assert_contains(json_object_get_string_member(o, "error"),
                    "ucd.conf:11: [module probe] data_file");
    json_node_free(r);
    char *s = module_state(h, "probe");
    g_assert_cmpstr(s, ==, "running");
    g_free(s);
    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
}

/* A reload that would stop every module (an emptied file) is refused unless
 * forced; an empty main file is an error at start and at check-config. */
static void test_reload_to_nothing(void)
{
    harness *h = harness_new("[module good-basic]\n");
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "good-basic", "running"));
    harness_write_config(h, "");
    const char *reload[] = {"reload", NULL};
    JsonNode *r = harness_request(h, reload);
    JsonObject *o = json_node_get_object(r);
    g_assert_false(json_object_get_boolean_member(o, "ok"));
    assert_contains(json_object_get_string_member(o, "error"), "enables no module");
    assert_contains(json_object_get_string_member(o, "error"), "reload --force");
    json_node_free(r);
    char *s = module_state(h, "good-basic");
    g_assert_cmpstr(s, ==, "running");
    g_free(s);
    /* SIGHUP cannot force */
    harness_signal(h, SIGHUP);
    g_assert_true(harness_wait_log(h, "enables no module"));
    s = module_state(h, "good-basic");
    g_assert_cmpstr(s, ==, "running");
    g_free(s);
    const char *force[] = {"reload", "--force", NULL};
    json_node_free(harness_ok(h, force));
    s = module_state(h, "good-basic");
    g_assert_null(s);
    g_assert_cmpint(harness_stop(h), ==, 0);

    /* truly empty: no section anywhere */
    g_assert_true(g_file_set_contents(h->conf, "", 0, NULL));
    const char *check[] = {harness_env("UCD_BIN"), "-c", h->conf, "--check-config", NULL};
    char *out = NULL, *err = NULL;
    g_assert_cmpint(harness_run(h, check, &out, &err), ==, 1);
    assert_contains(err, "the configuration is empty");
    g_free(out);
    g_free(err);
    const char *start[] = {harness_env("UCD_BIN"), "-c", h->conf, NULL};
    g_assert_cmpint(harness_run(h, start, &out, &err), ==, 1);
    assert_contains(err, "the configuration is empty");
    g_free(out);
    g_free(err);
    harness_free(h);
}

/* A FIFO as the configuration: --check-config answers at once (it used to
 * block forever). */
static void test_fifo_config(void)
{
    harness *h = harness_new("");
    char *fifo = g_build_filename(h->dir, "fifo.conf", NULL);
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    const char *check[] = {harness_env("UCD_BIN"), "-c", fifo, "--check-config", NULL};
    char *out = NULL, *err = NULL;
    g_assert_cmpint(harness_run(h, check, &out, &err), ==, 1);
    assert_contains(err, "not a regular file (a FIFO)");
    g_free(out);
    g_free(err);
    g_unlink(fifo);
    g_free(fifo);
    harness_free(h);
}

static const char *field(JsonNode *r, const char *name)
{
    JsonArray *fields = json_object_get_array_member(json_node_get_object(r), "fields");
    for (guint i = 0; i < json_array_get_length(fields); i++) {
        JsonObject *f = json_array_get_object_element(fields, i);
        if (strcmp(json_object_get_string_member(f, "name"), name) == 0)
            return json_object_get_string_member(f, "value");
    }
    return NULL;
}

/* `ucctl number RAW [--location NAME]` shows what the number service makes
 * of a number at a location, without a PBX (issue 12 item 4). */
static void test_number_command(void)
{
    harness *h = harness_new("[location default]\ncountry_code = 49\narea_code = 89\n"
                             "outside_line_prefix = 0\nextension_lengths = 3\n"
                             "[location berlin]\ncountry_code = 49\narea_code = 30\n"
                             "outside_line_prefix = 0\nextension_lengths = 3\n"
                             "[module good-basic]\n");
    g_assert_true(harness_start(h));
    const char *munich[] = {"number", "+49 30 1234567", NULL};
    JsonNode *r = harness_ok(h, munich);
    g_assert_cmpstr(field(r, "location"), ==, "default");
    g_assert_cmpstr(field(r, "kind"), ==, "national");
    g_assert_cmpstr(field(r, "e164"), ==, "+49301234567");
    g_assert_cmpstr(field(r, "dialable"), ==, "00301234567"); /* outside line, then 030 */
    json_node_free(r);
    const char *berlin[] = {"number", "--location", "berlin", "+49 30 1234567", NULL};
    r = harness_ok(h, berlin);
    g_assert_cmpstr(field(r, "location"), ==, "berlin");
    g_assert_cmpstr(field(r, "kind"), ==, "local");
    g_assert_cmpstr(field(r, "e164"), ==, "+49301234567");
    json_node_free(r);
    const char *ext[] = {"number", "201", NULL};
    r = harness_ok(h, ext);
    g_assert_cmpstr(field(r, "kind"), ==, "internal");
    g_assert_cmpstr(field(r, "extension"), ==, "201");
    g_assert_cmpstr(field(r, "e164"), ==, "");
    json_node_free(r);

    /* the real ucctl, options after the number */
    const char *cli[] = {
        harness_env("UCCTL_BIN"), "number", "+49 30 1234567", "--location", "berlin", NULL};
    char *out = NULL, *err = NULL;
    g_assert_cmpint(harness_run(h, cli, &out, &err), ==, 0);
    assert_contains(out, "kind: local\n");
    assert_contains(out, "e164: +49301234567\n");
    g_free(out);
    g_free(err);
    const char *nowhere[] = {
        harness_env("UCCTL_BIN"), "number", "1", "--location", "nowhere", NULL};
    g_assert_cmpint(harness_run(h, nowhere, &out, &err), ==, 1);
    assert_contains(err, "no location \"nowhere\" (the locations: default, berlin)");
    g_free(out);
    g_free(err);
    /* Not a number at all: an error and ucctl's non-zero exit, not "kind
     * unknown" and 0 (issue 12 review finding 14). */
    const char *letters[] = {harness_env("UCCTL_BIN"), "number", "abc", NULL};
    g_assert_cmpint(harness_run(h, letters, &out, &err), ==, 1);
    assert_contains(err, "not a number: \"abc\"");
    g_free(out);
    g_free(err);
    const char *usage[] = {"number", NULL};
    r = harness_request(h, usage);
    assert_contains(json_object_get_string_member(json_node_get_object(r), "error"),
                    "usage: number RAW [--location NAME]");
    json_node_free(r);
    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
}

static void send_raw(harness *h, const char *data, gsize len, gboolean expect_reply)
{
    GSocketClient *c = g_socket_client_new();
    GSocketAddress *addr = g_unix_socket_address_new(h->sock);
    GSocketConnection *conn = g_socket_client_connect(c, G_SOCKET_CONNECTABLE(addr), NULL, NULL);
    g_assert_nonnull(conn);
    GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
    g_output_stream_write_all(out, data, len, NULL, NULL, NULL); /* may fail when closed early */
    if (expect_reply) {
        GDataInputStream *in =
            g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));
        char *line = g_data_input_stream_read_line(in, NULL, NULL, NULL);
        g_assert_nonnull(line);
        assert_contains(line, "\"ok\":false");
        g_free(line);
        g_object_unref(in);
    }
    g_object_unref(conn);
    g_object_unref(addr);
    g_object_unref(c);
}

/* Garbage, oversized and half-sent requests never hurt the daemon. */
static void test_control_abuse(void)
{
    harness *h = harness_new("[module good-basic]\n");
    g_assert_true(harness_start(h));
    send_raw(h, "\x01\x02garbage\xff\n", 11, TRUE);
    send_raw(h, "{\"argv\": 12}\n", 13, TRUE);
    send_raw(h, "{\"argv\": [\"no-such-command\"]}\n", 30, TRUE);
    gsize big = 1024 * 1024;
    char *huge = g_malloc(big);
    memset(huge, 'A', big);
    send_raw(h, huge, big, FALSE);
    g_free(huge);
    send_raw(h, "{\"argv\": [\"sta", 14, FALSE); /* disconnect mid-request */
    char *s = module_state(h, "good-basic");
    g_assert_cmpstr(s, ==, "running");
    g_free(s);
    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
}

/* Log levels change at run time; the support bundle redacts secrets. */
static void test_log_level_and_export(void)
{
    harness *h = harness_new("[module probe]\npassword = hunter2-secret\n"
                             "[module good-basic]\ntoken = tok-secret\n");
    g_assert_true(harness_start(h));
    const char *set[] = {"log", "level", "probe", "error", NULL};
    json_node_free(harness_ok(h, set));
    const char *show[] = {"log", "level", NULL};
    JsonNode *r = harness_ok(h, show);
    g_assert_cmpstr(harness_cell(r, "probe", "level"), ==, "error");
    g_assert_cmpstr(harness_cell(r, "good-basic", "level"), ==, "debug");
    json_node_free(r);
    const char *bad[] = {"log", "level", "probe", "loud", NULL};
    r = harness_request(h, bad);
    g_assert_false(json_object_get_boolean_member(json_node_get_object(r), "ok"));
    json_node_free(r);

    char *file = g_build_filename(h->dir, "bundle.txt", NULL);
    const char *argv[] = {harness_env("UCCTL_BIN"), "log", "export", file, NULL};
    g_assert_cmpint(harness_run(h, argv, NULL, NULL), ==, 0);
    char *bundle = NULL;
    g_assert_true(g_file_get_contents(file, &bundle, NULL, NULL));
    assert_contains(bundle, "[module probe]");
    assert_contains(bundle, "<redacted>");
    assert_contains(bundle, "good-basic");
    assert_contains(bundle, "== recent log ==");
    g_assert_null(strstr(bundle, "hunter2-secret"));
    g_assert_null(strstr(bundle, "tok-secret"));
    g_free(bundle);
    g_free(file);
    /* "-": the same bundle on standard output, no file named "-" */
    const char *to_stdout[] = {harness_env("UCCTL_BIN"), "log", "export", "-", NULL};
    char *out = NULL;
    g_assert_cmpint(harness_run(h, to_stdout, &out, NULL), ==, 0);
    assert_contains(out, "== recent log ==");
    g_assert_null(strstr(out, "hunter2-secret"));
    g_assert_false(g_file_test("-", G_FILE_TEST_EXISTS));
    g_free(out);
    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
}

/* Plugins from outside this tree: one built against the frozen 1.0 headers,
 * and the SDK example built out of tree against an installed SDK, the way the
 * tutorial tells an integrator, then enabled with `path =`. */
static char *build_example_out_of_tree(harness *h)
{
    char *work = g_build_filename(h->dir, "oot", NULL);
    const char *argv[] = {harness_env("UCD_OOT_SCRIPT"),
                          harness_env("UCD_MESON"),
                          harness_env("UCD_PLUGIN_PC"),
                          harness_env("UCD_SDK_INCLUDE"),
                          harness_env("UCD_EXAMPLE_SRC"),
                          work,
                          NULL};
    char *out = NULL, *err = NULL;
    int rc = harness_run(h, argv, &out, &err);
    if (rc != 0)
        g_error("out-of-tree build failed (%d):\n%s\n%s", rc, out, err);
    char *built = strstr(out, "built: ");
    g_assert_nonnull(built);
    char *path = g_strstrip(g_strdup(built + strlen("built: ")));
    g_free(out);
    g_free(err);
    g_free(work);
    return path;
}

static void test_foreign_plugins(void)
{
    harness *h = harness_new("");
    char *so = build_example_out_of_tree(h);
    char *body = g_strdup_printf("[module abi10-plugin]\n[module example-hello]\n"
                                 "path = %s\ngreeting = ahoy\n",
                                 so);
    harness_write_config(h, body);
    g_free(body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "abi10-plugin", "running"));
    g_assert_true(harness_wait_state(h, "example-hello", "running"));
    JsonNode *r = harness_ok(h, MODULES);
    g_assert_cmpstr(harness_cell(r, "abi10-plugin", "abi"), ==, "1.0");
    g_assert_cmpstr(harness_cell(r, "example-hello", "path"), ==, so);
    json_node_free(r);
    g_assert_cmpint(harness_stop(h), ==, 0);
    g_free(so);
    harness_free(h);
}

/* As root, ucd drops to [core] user before any plugin runs; not as root, a
 * user switch is refused with a message that says why. */
static void test_drop_root(void)
{
    harness *h = harness_new("[module probe]\n");
    harness_write_dropin(h, "10-user.conf", "[core]\nuser = nobody\n");
    if (geteuid() == 0) {
        g_assert_true(harness_start(h));
        const char *status[] = {"status", NULL};
        JsonNode *r = harness_ok(h, status);
        JsonArray *fields = json_object_get_array_member(json_node_get_object(r), "fields");
        const char *pid = NULL;
        for (guint i = 0; i < json_array_get_length(fields); i++) {
            JsonObject *f = json_array_get_object_element(fields, i);
            if (strcmp(json_object_get_string_member(f, "name"), "pid") == 0)
                pid = json_object_get_string_member(f, "value");
        }
        char *proc = g_strdup_printf("/proc/%s", pid);
        struct stat st;
        g_assert_cmpint(stat(proc, &st), ==, 0);
        g_assert_cmpuint(st.st_uid, !=, 0); /* the daemon no longer runs as root */
        g_free(proc);
        json_node_free(r);
        g_assert_cmpint(harness_stop(h), ==, 0);
    } else {
        g_assert_false(harness_start(h));
        g_assert_cmpint(harness_wait(h), ==, 1);
        char *log = harness_log(h);
        assert_contains(log, "is not root");
        g_free(log);
    }
    harness_free(h);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/daemon/lifecycle", test_lifecycle);
    g_test_add_func("/daemon/host-table", test_host_table);
    g_test_add_func("/daemon/deferred-plugin-reply", test_deferred_plugin_reply);
    g_test_add_func("/daemon/loader-errors", test_loader_errors);
    g_test_add_func("/daemon/versions", test_versions);
    g_test_add_func("/daemon/decline-chain", test_decline_chain);
    g_test_add_func("/daemon/required-failure", test_required_failure);
    g_test_add_func("/daemon/check-config", test_check_config);
    g_test_add_func("/daemon/reload", test_reload);
    g_test_add_func("/daemon/control-abuse", test_control_abuse);
    g_test_add_func("/daemon/control-service", test_control_service);
    g_test_add_func("/daemon/reload-hook", test_reload_hook);
    g_test_add_func("/daemon/second-daemon", test_second_daemon);
    g_test_add_func("/daemon/check-config-what-start-needs", test_check_config_what_start_needs);
    g_test_add_func("/daemon/reload-checks-file-keys", test_reload_checks_file_keys);
    g_test_add_func("/daemon/reload-to-nothing", test_reload_to_nothing);
    g_test_add_func("/daemon/fifo-config", test_fifo_config);
    g_test_add_func("/daemon/number-command", test_number_command);
    g_test_add_func("/daemon/log-level-and-export", test_log_level_and_export);
    g_test_add_func("/daemon/foreign-plugins", test_foreign_plugins);
    g_test_add_func("/daemon/drop-root", test_drop_root);
    return g_test_run();
}
