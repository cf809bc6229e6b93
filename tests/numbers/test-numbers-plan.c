/*
 * test-numbers-plan.c - core/numbers.c's side of numbers 1.1: the
 * international and national forms from the core's own rules, and the
 * hand-off to an attached numbering plan (attach, detach, one at a time,
 * which numbers reach it, normalize_rules), with a fake plan.
 * plugins/numbers-phonenumber/tests has the real one.
 */
#include <string.h>

#include "numbers-fixture.h"

static const char conf_text[] = "[location default]\n"
                                "country_code = 49\n"
                                "area_code = 89\n"
                                "outside_line_prefix = 0\n"
                                "extension_lengths = 3\n"
                                "[location nyc]\n"
                                "country_code = 1\n"
                                "area_code = 212\n";

static ucd_number_info normalize(numbers_fixture *f, const char *location, const char *raw)
{
    ucd_number_info info;

    memset(&info, 'Z', sizeof info);
    info.struct_size = sizeof info;
    g_assert_cmpint(core_numbers_normalize_in(f->numbers, location, raw, &info, NULL), ==, UCD_OK);
    return info;
}

/* Without a plan: international with the area code split where the rules
 * know it, national for the own country only, nothing only a plan knows. */
static void test_rules_forms(void)
{
    numbers_fixture f;

    numbers_fixture_open(&f, conf_text);
    ucd_number_info i = normalize(&f, NULL, "1234567");
    g_assert_cmpstr(i.international, ==, "+49 89 1234567");
    g_assert_cmpstr(i.national, ==, "089 1234567");
    g_assert_cmpuint(i.validity, ==, UCD_NUMBER_UNCHECKED);
    g_assert_cmpuint(i.type, ==, UCD_NUMBER_TYPE_UNKNOWN);
    g_assert_cmpstr(i.region, ==, "");
    g_assert_cmpstr(i.place, ==, "");
    i = normalize(&f, NULL, "0301234567");
    g_assert_cmpstr(i.international, ==, "+49 301234567"); /* Berlin: unknown to the rules */
    g_assert_cmpstr(i.national, ==, "0301234567");
    i = normalize(&f, NULL, "+44 20 7946 0958");
    g_assert_cmpstr(i.international, ==, "+44 2079460958");
    g_assert_cmpstr(i.national, ==, ""); /* another country's trunk prefix */
    i = normalize(&f, "nyc", "2125550100");
    g_assert_cmpstr(i.international, ==, "+1 212 5550100");
    g_assert_cmpstr(i.national, ==, "(212) 555-0100");
    i = normalize(&f, NULL, "201");
    g_assert_cmpstr(i.international, ==, "");
    g_assert_cmpstr(i.national, ==, "");
    numbers_fixture_close(&f);
}

/* A fake plan: records what it got, writes a marker into every form it
 * may write. */
typedef struct fake {
    int calls;
    char country_code[8];
    uint32_t struct_size;
} fake;

static int fake_describe(void *impl, const char *country_code, ucd_number_info *info)
{
    fake *fk = impl;

    fk->calls++;
    g_strlcpy(fk->country_code, country_code, sizeof fk->country_code);
    fk->struct_size = info->struct_size;
    g_strlcpy(info->canonical, "plan", sizeof info->canonical);
    if (info->struct_size >= offsetof(ucd_number_info, place) + sizeof info->place) {
        info->validity = UCD_NUMBER_VALID;
        info->type = UCD_NUMBER_TYPE_MOBILE;
        g_strlcpy(info->place, "Somewhere", sizeof info->place);
    }
    return UCD_OK;
}

static const ucd_numbers_plan_v1 fake_plan = {
    .struct_size = sizeof(ucd_numbers_plan_v1),
    .describe = fake_describe,
};

static void test_attach_detach(void)
{
    numbers_fixture f;
    fake one = {0}, two = {0};

    numbers_fixture_open(&f, conf_text);
    g_assert_cmpint(core_numbers_attach_plan(&fake_plan, &one), ==, UCD_OK);
    g_assert_cmpint(core_numbers_attach_plan(&fake_plan, &two), ==, UCD_E_BUSY);

    ucd_number_info i = normalize(&f, "nyc", "2125550100");
    g_assert_cmpint(one.calls, ==, 1);
    g_assert_cmpstr(one.country_code, ==, "1"); /* the location's */
    g_assert_cmpuint(one.struct_size, ==, sizeof i);
    g_assert_cmpstr(i.canonical, ==, "plan");
    g_assert_cmpstr(i.e164, ==, "+12125550100"); /* the rules' */
    g_assert_cmpstr(i.place, ==, "Somewhere");
    g_assert_cmpuint(i.type, ==, UCD_NUMBER_TYPE_MOBILE);

    /* The PBX layer: extensions, special numbers and unplaced numbers never
     * reach the plan. */
    normalize(&f, NULL, "201");
    normalize(&f, NULL, "112");
    normalize(&f, NULL, "*21#");
    g_assert_cmpint(one.calls, ==, 1);

    /* normalize_rules() never asks it. */
    ucd_number_info r = {.struct_size = sizeof r};
    g_assert_cmpint(core_numbers_normalize_rules(f.numbers, NULL, "0301234567", &r), ==, UCD_OK);
    g_assert_cmpint(one.calls, ==, 1);
    g_assert_cmpstr(r.canonical, ==, "+49 301234567");

    /* A 1.0 caller's size is what the plan is told. */
    ucd_number_info old;
    memset(&old, 0, sizeof old);
    old.struct_size = offsetof(ucd_number_info, type);
    g_assert_cmpint(core_numbers_normalize(f.numbers, NULL, "0301234567", &old), ==, UCD_OK);
    g_assert_cmpuint(one.struct_size, ==, offsetof(ucd_number_info, type));
    g_assert_cmpstr(old.canonical, ==, "plan");
    g_assert_cmpstr(old.place, ==, "");

    /* Detaching another plan's impl changes nothing; detaching this one
     * does, and then another plan may attach. */
    core_numbers_detach_plan(&two);
    normalize(&f, NULL, "0301234567");
    g_assert_cmpint(one.calls, ==, 3);
    core_numbers_detach_plan(&one);
    i = normalize(&f, NULL, "0301234567");
    g_assert_cmpint(one.calls, ==, 3);
    g_assert_cmpstr(i.canonical, ==, "+49 301234567");
    g_assert_cmpuint(i.validity, ==, UCD_NUMBER_UNCHECKED);
    g_assert_cmpint(core_numbers_attach_plan(&fake_plan, &two), ==, UCD_OK);
    normalize(&f, NULL, "0301234567");
    g_assert_cmpint(two.calls, ==, 1);
    core_numbers_detach_plan(&two);
    numbers_fixture_close(&f);
}

static void test_invalid_plans(void)
{
    static const ucd_numbers_plan_v1 no_describe = {.struct_size = sizeof(ucd_numbers_plan_v1)};
    static const ucd_numbers_plan_v1 too_small = {.struct_size = 4, .describe = fake_describe};
    fake fk = {0};

    g_assert_cmpint(core_numbers_attach_plan(NULL, &fk), ==, UCD_E_INVALID);
    g_assert_cmpint(core_numbers_attach_plan(&no_describe, &fk), ==, UCD_E_INVALID);
    g_assert_cmpint(core_numbers_attach_plan(&too_small, &fk), ==, UCD_E_INVALID);
    /* nothing attached: a valid plan attaches */
    g_assert_cmpint(core_numbers_attach_plan(&fake_plan, &fk), ==, UCD_OK);
    core_numbers_detach_plan(&fk);
}

/* The names `ucctl number` prints. */
static void test_names(void)
{
    g_assert_cmpstr(core_numbers_type_name(UCD_NUMBER_TYPE_TOLL_FREE), ==, "toll-free");
    g_assert_cmpstr(core_numbers_type_name(UCD_NUMBER_TYPE_VOICEMAIL), ==, "voicemail");
    g_assert_cmpstr(core_numbers_type_name(99), ==, "unknown");
    g_assert_cmpstr(core_numbers_validity_name(UCD_NUMBER_INVALID), ==, "invalid");
    g_assert_cmpstr(core_numbers_validity_name(7), ==, "unchecked");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/numbers-plan/rules-forms", test_rules_forms);
    g_test_add_func("/numbers-plan/attach-detach", test_attach_detach);
    g_test_add_func("/numbers-plan/invalid-plans", test_invalid_plans);
    g_test_add_func("/numbers-plan/names", test_names);
    return g_test_run();
}
