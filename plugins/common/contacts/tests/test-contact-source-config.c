/*
 * test-contact-source-config.c - the keys every contact source shares, read
 * on the fake host through a descriptor that declares only them: defaults,
 * each limit on both sides, the key an error names, and info() copied by
 * struct_size into an older and a newer caller's struct.
 */
#include <string.h>

#include <glib.h>

#include "contact-source-config.h"
#include "fake-host.h"

static const ucd_config_key keys[] = {
    CONTACT_SOURCE_CONFIG_KEYS,
    {NULL, 0, 0, NULL, NULL},
};

static const ucd_plugin_descriptor descriptor = {
    .struct_size = sizeof(ucd_plugin_descriptor),
    .abi_major = UCD_ABI_MAJOR,
    .name = "contacts-test",
    .config_keys = keys,
    .config_key_size = sizeof(ucd_config_key),
};

/* Reads the section made of `pairs`; returns the result, the info and the
 * key a config error named (NULL for none; free with g_free). */
static int read_section(const char *const *pairs, ucd_contact_source_info *info, char **error_key)
{
    fake_module *m = fake_module_new(&descriptor, "contacts-test");
    fake_module_set_pairs(m, pairs);
    int rc = contact_source_config_read(m, &fake_host, info);
    *error_key = g_strdup(m->config_error_key);
    fake_module_free(m);
    return rc;
}

static void test_defaults(void)
{
    ucd_contact_source_info info;
    char *key = NULL;
    g_assert_cmpint(read_section(NULL, &info, &key), ==, UCD_OK);
    g_assert_null(key);
    g_assert_cmpuint(info.struct_size, ==, sizeof(info));
    g_assert_cmpint(info.priority, ==, 100);
    g_assert_cmpuint(info.replicate_every, ==, 3600);
    g_assert_cmpuint(info.min_ratio, ==, 50);
    g_assert_cmpuint(info.switchboard, ==, 0);
}

static void test_values(void)
{
    static const char *const pairs[] = {
        "priority", "-5", "replicate_every", "30m", "min_ratio", "0", "switchboard", "yes", NULL};
    ucd_contact_source_info info;
    char *key = NULL;
    g_assert_cmpint(read_section(pairs, &info, &key), ==, UCD_OK);
    g_assert_null(key);
    g_assert_cmpint(info.priority, ==, -5);
    g_assert_cmpuint(info.replicate_every, ==, 1800);
    g_assert_cmpuint(info.min_ratio, ==, 0);
    g_assert_cmpuint(info.switchboard, ==, 1);

    static const char *const on_demand[] = {"replicate_every", "0", "min_ratio", "100", NULL};
    g_assert_cmpint(read_section(on_demand, &info, &key), ==, UCD_OK);
    g_assert_cmpuint(info.replicate_every, ==, 0);
    g_assert_cmpuint(info.min_ratio, ==, 100);
    static const char *const one_second[] = {"replicate_every", "1000ms", NULL};
    g_assert_cmpint(read_section(one_second, &info, &key), ==, UCD_OK);
    g_assert_cmpuint(info.replicate_every, ==, 1);
}

/* Each value is just past a limit; the error must name its key. */
static void test_limits(void)
{
    static const struct {
        const char *key, *value;
    } bad[] = {
        {"priority", "2147483648"}, {"priority", "-2147483649"},   {"replicate_every", "999ms"},
        {"replicate_every", "-1s"}, {"replicate_every", "49711d"}, /* 4,295,030,400 s: past a uint32
                                                                    */
        {"min_ratio", "101"},       {"min_ratio", "-1"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        const char *pairs[] = {bad[i].key, bad[i].value, NULL};
        ucd_contact_source_info info;
        char *key = NULL;
        g_assert_cmpint(read_section(pairs, &info, &key), ==, UCD_FAIL);
        g_assert_cmpstr(key, ==, bad[i].key);
        g_free(key);
    }
}

/* A store built with an older contacts.h (only priority) gets only that; a
 * newer one gets what this side knows and its own extra bytes untouched. */
static void test_copy(void)
{
    static const char *const pairs[] = {"priority", "7", "min_ratio", "80", NULL};
    ucd_contact_source_info info;
    char *key = NULL;
    g_assert_cmpint(read_section(pairs, &info, &key), ==, UCD_OK);

    struct {
        ucd_contact_source_info info;
        uint32_t newer;
    } big;
    memset(&big, 0xab, sizeof(big));
    big.info.struct_size = sizeof(big);
    contact_source_info_copy(&info, &big.info);
    g_assert_cmpuint(big.info.struct_size, ==, sizeof(big));
    g_assert_cmpint(big.info.priority, ==, 7);
    g_assert_cmpuint(big.info.min_ratio, ==, 80);
    g_assert_cmpuint(big.info.switchboard, ==, 0);
    g_assert_cmpuint(big.newer, ==, 0xabababab);

    ucd_contact_source_info small;
    memset(&small, 0xcd, sizeof(small));
    small.struct_size = offsetof(ucd_contact_source_info, replicate_every);
    contact_source_info_copy(&info, &small);
    g_assert_cmpint(small.priority, ==, 7);
    g_assert_cmpuint(small.replicate_every, ==, 0xcdcdcdcd);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/contact-source-config/defaults", test_defaults);
    g_test_add_func("/contact-source-config/values", test_values);
    g_test_add_func("/contact-source-config/limits", test_limits);
    g_test_add_func("/contact-source-config/copy", test_copy);
    return g_test_run();
}
