/*
 * numbers-phonenumber-daemon-test.c - the plugin in the real ucd: `ucctl
 * number` with libphonenumber's plan attached, the plan detached again when
 * a reload disables the module (the core's rules alone answer again), and a
 * bad `language` named with its key.
 */
#include <string.h>

#include "harness.h"

static const char munich[] = "[location default]\n"
                             "country_code = 49\n"
                             "area_code = 89\n"
                             "outside_line_prefix = 0\n"
                             "extension_lengths = 3\n";

static char *config_with(const char *module_section)
{
    return g_strconcat(munich, module_section, NULL);
}

/* `ucctl reload`, with ucd's log in the failure message. */
static void reload(harness *h)
{
    /* --force: disabling the only module is what this test wants. */
    const char *argv[] = {"reload", "--force", NULL};
    JsonNode *r = harness_request(h, argv);
    if (!json_object_get_boolean_member(json_node_get_object(r), "ok")) {
        char *log = harness_log(h);
        g_error("reload refused:\n%s", log);
    }
    json_node_free(r);
}

static JsonNode *number(harness *h, const char *raw)
{
    const char *argv[] = {"number", raw, NULL};
    return harness_ok(h, argv);
}

static void test_number_command(void)
{
    char *conf = config_with("[module numbers-phonenumber]\nlanguage = it\n");
    harness *h = harness_new(conf);
    g_free(conf);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "numbers-phonenumber", "running"));

    JsonNode *r = number(h, "0301234567");
    g_assert_cmpstr(harness_field(r, "kind"), ==, "national");
    g_assert_cmpstr(harness_field(r, "e164"), ==, "+49301234567");
    g_assert_cmpstr(harness_field(r, "dialable"), ==, "00301234567");
    g_assert_cmpstr(harness_field(r, "canonical"), ==, "+49 (30) 1234567");
    g_assert_cmpstr(harness_field(r, "international"), ==, "+49 30 1234567");
    g_assert_cmpstr(harness_field(r, "national"), ==, "030 1234567");
    g_assert_cmpstr(harness_field(r, "valid"), ==, "valid");
    g_assert_cmpstr(harness_field(r, "type"), ==, "fixed line");
    g_assert_cmpstr(harness_field(r, "region"), ==, "DE");
    /* The geocoder has no Italian names for Germany: English, as documented. */
    g_assert_cmpstr(harness_field(r, "place"), ==, "Berlin");
    json_node_free(r);

    /* the real ucctl, with a number from abroad */
    const char *cli[] = {harness_env("UCCTL_BIN"), "number", "+39 02 12345678", NULL};
    char *out = NULL, *err = NULL;
    g_assert_cmpint(harness_run(h, cli, &out, &err), ==, 0);
    g_assert_nonnull(strstr(out, "international: +39 02 1234 5678\n"));
    g_assert_nonnull(strstr(out, "type: fixed line\n"));
    g_assert_nonnull(strstr(out, "place: Milano\n"));
    g_free(out);
    g_free(err);

    /* Disabled by a reload: the module stops, the plan is detached, and the
     * core's rules answer alone, without the fields only a plan knows. */
    conf = config_with("[module numbers-phonenumber]\nenabled = false\n");
    harness_write_config(h, conf);
    g_free(conf);
    reload(h);
    r = number(h, "0301234567");
    g_assert_cmpstr(harness_field(r, "canonical"), ==, "+49 301234567");
    g_assert_cmpstr(harness_field(r, "international"), ==, "+49 301234567");
    g_assert_null(harness_field(r, "valid"));
    g_assert_null(harness_field(r, "place"));
    json_node_free(r);

    /* Enabled again: attached again. */
    conf = config_with("[module numbers-phonenumber]\n");
    harness_write_config(h, conf);
    g_free(conf);
    reload(h);
    g_assert_true(harness_wait_state(h, "numbers-phonenumber", "running"));
    r = number(h, "0301234567");
    g_assert_cmpstr(harness_field(r, "place"), ==, "Berlin");
    json_node_free(r);
    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
}

/* A language that is no ISO 639 code: the module fails at init, its error
 * names the key, and ucd runs on with the core's rules. */
static void test_bad_language(void)
{
    char *conf = config_with("[module numbers-phonenumber]\nlanguage = Deutsch\n");
    harness *h = harness_new(conf);
    g_free(conf);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "numbers-phonenumber", "failed"));
    const char *modules[] = {"modules", "numbers-phonenumber", NULL};
    JsonNode *r = harness_ok(h, modules);
    const char *error = harness_field(r, "error");
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error, "language"));
    g_assert_nonnull(strstr(error, "\"Deutsch\" is no language code"));
    json_node_free(r);
    r = number(h, "0301234567");
    g_assert_cmpstr(harness_field(r, "canonical"), ==, "+49 301234567");
    json_node_free(r);
    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/numbers-phonenumber/daemon/number-command", test_number_command);
    g_test_add_func("/numbers-phonenumber/daemon/bad-language", test_bad_language);
    return g_test_run();
}
