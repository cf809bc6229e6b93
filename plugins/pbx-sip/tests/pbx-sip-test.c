/*
 * pbx-sip-test.c - pbx-sip.so in the fake host (tests/fake-host), no network
 * peer: its configuration keys and what it publishes.
 *
 *   pbx-sip-test PBX_SIP_SO
 */
#include <dlfcn.h>
#include <string.h>

#include "fake-host.h"

static const ucd_plugin_descriptor *descriptor;

/* A module with the required keys set and `key` = `value` (NULL: unset). */
static fake_module *module_with(const char *key, const char *value)
{
    fake_module *m = fake_module_new(descriptor, "pbx-sip:t");
    const char *const pairs[] = {"server", "127.0.0.1:9", "domain", "example.org",
                                 "lines",  "alice;bob",   NULL};
    fake_module_set_pairs(m, pairs);
    if (key)
        fake_module_set(m, key, value);
    return m;
}

/* init's result for `key` = `value`; a refusal must name the key. */
static int init_with(const char *key, const char *value)
{
    fake_module *m = module_with(key, value);
    int rc = fake_module_init(m);
    if (rc != UCD_OK)
        g_assert_cmpstr(m->config_error_key, ==, key);
    else
        fake_module_stop(m);
    fake_module_free(m);
    return rc;
}

static void test_keepalive_key(void)
{
    g_assert_cmpint(init_with(NULL, NULL), ==, UCD_OK); /* the default, 30 s */
    g_assert_cmpint(init_with("keepalive", "0"), ==, UCD_OK);
    g_assert_cmpint(init_with("keepalive", "1s"), ==, UCD_OK);
    g_assert_cmpint(init_with("keepalive", "5m"), ==, UCD_OK);
    g_assert_cmpint(init_with("keepalive", "999ms"), !=, UCD_OK);
    g_assert_cmpint(init_with("keepalive", "1ms"), !=, UCD_OK);
    g_assert_cmpint(init_with("keepalive", "2d"), !=, UCD_OK);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 2)
        g_error("usage: %s PBX_SIP_SO", argv[0]);
    void *handle = NULL;
    descriptor = fake_load_plugin(argv[1], "pbx-sip", &handle);
    g_test_add_func("/pbx-sip/keepalive-key", test_keepalive_key);
    int rc = g_test_run();
    dlclose(handle);
    return rc;
}
