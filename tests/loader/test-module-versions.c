/*
 * test-module-versions.c - per-interface versions through the real loader
 * and module manager, with the fixture plugins of tests/plugins: the host
 * minor a plugin needs (older, equal, newer than this core), a required
 * service older, equal or newer than asked for (a plugin's and the core's),
 * a used one likewise, a plugin that targets an older host on purpose, and
 * the stride of pre-1.4 service declarations.
 *
 * Each test writes a configuration, checks and starts the modules as the
 * daemon does (core_modules_check, core_modules_start) and reads the states,
 * errors and the counters the fixtures set with what they saw.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "log.h"
#include "module-fixture.h"

/* A "directory" 1.0 and a "test.core" 1.7 provided by the core; the tables
 * are never called. */
static const uint32_t core_iface = sizeof(uint32_t);

static void fixture_set_up(module_fixture *f, gconstpointer data)
{
    module_fixture_set_up(f, 2);
    core_modules_add_core_service(f->mods, "directory", 1, 0, &core_iface, NULL);
    core_modules_add_core_service(f->mods, "test.core", 1, 7, &core_iface, NULL);
}

static void fixture_tear_down(module_fixture *f, gconstpointer data)
{
    module_fixture_tear_down(f);
}

#define start_config module_fixture_start
#define state_of     module_fixture_state
#define counter      module_fixture_counter

static char *error_of(module_fixture *f, const char *id)
{
    char *error = NULL;
    module_fixture_info(f, id, &error);
    return error;
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (haystack == NULL || strstr(haystack, needle) == NULL)
        g_error("expected \"%s\" in \"%s\"", needle, haystack ? haystack : "(null)");
}

/* How many lines of the log ring contain `needle`. */
static guint log_count(const char *needle)
{
    char **lines = core_log_recent();
    guint n = 0;
    for (char **l = lines; l && *l; l++)
        n += strstr(*l, needle) != NULL;
    g_strfreev(lines);
    return n;
}

/* ---- the host interface ------------------------------------------------------ */

/* Needs an older host on purpose (ver-target-1), the same host (good-basic),
 * a newer one (bad-abi-newer): only the newer one is refused, saying what. */
static void test_host_minor(module_fixture *f, gconstpointer data)
{
    int n = start_config(f, "[module ver-target-1]\n[module good-basic]\n[module bad-abi-newer]\n");
    g_assert_cmpint(n, ==, 1);
    g_assert_cmpstr(state_of(f, "ver-target-1"), ==, "running");
    g_assert_cmpstr(state_of(f, "good-basic"), ==, "running");
    g_assert_cmpstr(state_of(f, "bad-abi-newer"), ==, "failed");

    core_module_info info = module_fixture_info(f, "ver-target-1", NULL);
    g_assert_cmpuint(info.abi_major, ==, 1);
    g_assert_cmpuint(info.abi_minor, ==, 1); /* what its descriptor asks for */
    /* Built with the current headers, it finds the 1.4 queues at run time. */
    g_assert_cmpint(counter(f, "ver-target-1", "host_has_queues"), ==, 1);

    g_autofree char *newer = error_of(f, "bad-abi-newer");
    g_autofree char *both =
        g_strdup_printf("needs host interface 1.%d, this ucd has host interface 1.%d",
                        UCD_HOST_MINOR + 1, UCD_HOST_MINOR);
    assert_contains(newer, both);
    assert_contains(newer, "UCD_TARGET_HOST_MINOR");
}

/* ---- required services ----------------------------------------------------- */

/* test.svc 1.2 serves who requires 1.1 or 1.2; who requires 1.3 is refused
 * (failed, not declined) with the service and both versions named. */
static void test_required_minor(module_fixture *f, gconstpointer data)
{
    int n = start_config(f, "[module ver-req-1]\n[module ver-req-2]\n[module ver-req-3]\n"
                            "[module ver-svc-2]\n");
    g_assert_cmpint(n, ==, 1);
    g_assert_cmpstr(state_of(f, "ver-svc-2"), ==, "running");
    g_assert_cmpstr(state_of(f, "ver-req-1"), ==, "running");
    g_assert_cmpstr(state_of(f, "ver-req-2"), ==, "running");
    g_assert_cmpstr(state_of(f, "ver-req-3"), ==, "failed");
    g_autofree char *error = error_of(f, "ver-req-3");
    g_assert_cmpstr(error, ==, "requires service 'test.svc' 1.3, but ver-svc-2 provides 1.2");
    for (int i = 1; i <= 2; i++) {
        g_autofree char *id = g_strdup_printf("ver-req-%d", i);
        g_assert_cmpint(counter(f, id, "svc_found"), ==, 1);
        g_assert_cmpint(counter(f, id, "svc_minor"), ==, 2);
        g_assert_cmpint(counter(f, id, "svc_providers"), ==, 1);
    }
}

/* The core's own services carry their minor too. */
static void test_required_core_service(module_fixture *f, gconstpointer data)
{
    int n = start_config(f, "[module ver-req-dir]\n");
    g_assert_cmpint(n, ==, 1);
    g_assert_cmpstr(state_of(f, "ver-req-dir"), ==, "failed");
    g_autofree char *error = error_of(f, "ver-req-dir");
    g_assert_cmpstr(error, ==, "requires service 'directory' 1.99, but core provides 1.0");
}

/* ---- used services ----------------------------------------------------------- */

/* Who uses test.svc 1.3 runs, but is not handed the 1.2 provider (one notice
 * says so); who uses 1.1 or 1.2 gets it, with its minor. A service the
 * module did not declare is found whatever its minor. */
static void test_used_minor(module_fixture *f, gconstpointer data)
{
    int n = start_config(f, "[module ver-use-1]\n[module ver-use-2]\n[module ver-use-3]\n"
                            "[module ver-svc-2]\n");
    g_assert_cmpint(n, ==, 0);
    for (int i = 1; i <= 3; i++) {
        g_autofree char *id = g_strdup_printf("ver-use-%d", i);
        g_assert_cmpstr(state_of(f, id), ==, "running");
        g_assert_cmpint(counter(f, id, "core_found"), ==, 1);
    }
    g_assert_cmpint(counter(f, "ver-use-3", "svc_found"), ==, 0);
    g_assert_cmpint(counter(f, "ver-use-3", "svc_minor"), ==, -1);
    g_assert_cmpint(counter(f, "ver-use-3", "svc_providers"), ==, 0);
    g_assert_cmpuint(log_count("module ver-use-3 uses service 'test.svc' 1.3, but ver-svc-2 "
                               "provides 1.2: not used"),
                     ==, 1);
    for (int i = 1; i <= 2; i++) {
        g_autofree char *id = g_strdup_printf("ver-use-%d", i);
        g_assert_cmpint(counter(f, id, "svc_found"), ==, 1);
        g_assert_cmpint(counter(f, id, "svc_minor"), ==, 2);
        g_assert_cmpint(counter(f, id, "svc_providers"), ==, 1);
        g_autofree char *notice = g_strdup_printf("module %s uses service", id);
        g_assert_cmpuint(log_count(notice), ==, 0);
    }
}

/* A module that uses a service nobody provides runs without it, as before. */
static void test_used_absent(module_fixture *f, gconstpointer data)
{
    int n = start_config(f, "[module ver-use-1]\n");
    g_assert_cmpint(n, ==, 0);
    g_assert_cmpstr(state_of(f, "ver-use-1"), ==, "running");
    g_assert_cmpint(counter(f, "ver-use-1", "svc_found"), ==, 0);
}

/* ---- pre-1.4 declarations ---------------------------------------------------- */

/* A plugin built before host 1.4 (16-byte declarations, minor 0) provides
 * what it declares: a module requiring test.old 1.0 starts after it. */
static void test_old_declarations_provide(module_fixture *f, gconstpointer data)
{
    int n = start_config(f, "[module old-decls]\n[module ver-svc-2]\n");
    g_assert_cmpint(n, ==, 0);
    g_assert_cmpstr(state_of(f, "old-decls"), ==, "running");
    core_module_info info = module_fixture_info(f, "old-decls", NULL);
    g_assert_cmpstr(info.provides[1].name, ==, "test.older");
    g_assert_cmpuint(info.provides[1].major, ==, 2);
    g_assert_cmpuint(info.provides[1].minor, ==, 0);
    g_assert_null(info.provides[2].name);
    g_assert_cmpstr(info.uses[0].name, ==, "test.svc");
    g_assert_null(info.uses[1].name);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* The ring keeps what is enabled: the core's notices are part of the test. */
    core_log_configure(CORE_LOG_STDERR, g_test_verbose() ? UCD_LOG_DEBUG : UCD_LOG_ERROR, 256);
    core_log_set_level("core", UCD_LOG_NOTICE);
    g_assert_true(core_loader_init());
#define ADD(path, fn) g_test_add(path, module_fixture, NULL, fixture_set_up, fn, fixture_tear_down)
    ADD("/modules/versions/host-minor", test_host_minor);
    ADD("/modules/versions/required", test_required_minor);
    ADD("/modules/versions/required-core-service", test_required_core_service);
    ADD("/modules/versions/used", test_used_minor);
    ADD("/modules/versions/used-absent", test_used_absent);
    ADD("/modules/versions/old-declarations", test_old_declarations_provide);
    int rc = g_test_run();
    core_loader_shutdown();
    core_log_shutdown();
    return rc;
}
