/*
 * numbers-phonenumber-test.c - the core's rules (core/numbers.c) with
 * libphonenumber's plan (phonenumber-shim.cc) attached, as the plugin
 * attaches it, without a daemon.
 *
 * The expected forms are written out by hand from each country's numbering
 * plan and libphonenumber's conventions for it (Germany's area codes, Italy's
 * 0 inside the number, France's pairs, London's 20 + 8 digits, NANP's
 * dashes, Vienna's 1 and Zurich's 44), not computed. Each row would fail
 * without the plan: the core alone knows no area code outside its own area
 * ("+49 301234567" for Berlin from Munich), no type and no place.
 */
#include <string.h>

#include "numbers-fixture.h"
#include "phonenumber-shim.h"

static const char conf_text[] = "[location munich]\n"
                                "country_code = 49\n"
                                "area_code = 89\n"
                                "outside_line_prefix = 0\n"
                                "extension_lengths = 3\n"
                                "\n"
                                "[location milan]\n"
                                "country_code = 39\n"
                                "area_code = 02\n"
                                "\n"
                                "[location nyc]\n"
                                "country_code = 1\n"
                                "area_code = 212\n"
                                "outside_line_prefix = 9\n";

static const ucd_numbers_plan_v1 plan = {
    .struct_size = sizeof(ucd_numbers_plan_v1),
    .describe = phonenumber_shim_describe,
};

typedef struct fixture {
    numbers_fixture base;
    core_numbers *numbers;
    phonenumber_shim *shim;
} fixture;

static void fixture_open(fixture *f, const char *language)
{
    numbers_fixture_open(&f->base, conf_text);
    f->numbers = f->base.numbers;
    f->shim = phonenumber_shim_new(language);
    g_assert_nonnull(f->shim);
    g_assert_cmpint(core_numbers_attach_plan(&plan, f->shim), ==, UCD_OK);
}

static void fixture_close(fixture *f)
{
    core_numbers_detach_plan(f->shim);
    phonenumber_shim_free(f->shim);
    numbers_fixture_close(&f->base);
}

typedef struct row {
    const char *location, *raw;
    const char *kind;          /* core_numbers_kind_name */
    const char *e164;          /* the core's */
    const char *dialable;      /* the core's, outside line included */
    const char *canonical;     /* the plan's, area code in parentheses */
    const char *display;       /* the plan's */
    const char *international; /* the plan's */
    const char *national;      /* the plan's */
    const char *validity, *type, *region, *place;
} row;

static char *row_text(const row *r)
{
    return g_strdup_printf("%s@%s: %s e164 '%s' dialable '%s' canonical '%s' display '%s' "
                           "international '%s' national '%s' %s %s '%s' '%s'",
                           r->raw, r->location, r->kind, r->e164, r->dialable, r->canonical,
                           r->display, r->international, r->national, r->validity, r->type,
                           r->region, r->place);
}

static void check_rows(core_numbers *numbers, const row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ucd_number_info info;

        memset(&info, 'Z', sizeof info); /* every field must be written */
        info.struct_size = sizeof info;
        g_assert_cmpint(
            core_numbers_normalize_in(numbers, rows[i].location, rows[i].raw, &info, NULL), ==,
            UCD_OK);
        row got = {rows[i].location,
                   rows[i].raw,
                   core_numbers_kind_name(info.kind),
                   info.e164,
                   info.dialable,
                   info.canonical,
                   info.display,
                   info.international,
                   info.national,
                   core_numbers_validity_name(info.validity),
                   core_numbers_type_name(info.type),
                   info.region,
                   info.place};
        char *want_text = row_text(&rows[i]), *got_text = row_text(&got);
        g_assert_cmpstr(got_text, ==, want_text);
        g_free(want_text);
        g_free(got_text);
    }
}

/* Germany seen from Munich: other areas split (the core alone gives
 * "+49 301234567"), mobile, toll-free, premium and shared-cost numbers,
 * while the outside line stays in the dialable form. */
static const row germany_rows[] = {
    {"munich", "0301234567", "national", "+49301234567", "00301234567", "+49 (30) 1234567",
     "030 1234567", "+49 30 1234567", "030 1234567", "valid", "fixed line", "DE", "Berlin"},
    {"munich", "00301234567", "national", "+49301234567", "00301234567", "+49 (30) 1234567",
     "030 1234567", "+49 30 1234567", "030 1234567", "valid", "fixed line", "DE", "Berlin"},
    {"munich", "+49 40 123456789", "national", "+4940123456789", "0040123456789",
     "+49 (40) 123456789", "040 123456789", "+49 40 123456789", "040 123456789", "valid",
     "fixed line", "DE", "Hamburg"},
    {"munich", "0221 123456", "national", "+49221123456", "00221123456", "+49 (221) 123456",
     "0221 123456", "+49 221 123456", "0221 123456", "valid", "fixed line", "DE", "Cologne"},
    {"munich", "0331 23456789", "national", "+4933123456789", "0033123456789", "+49 (331) 23456789",
     "0331 23456789", "+49 331 23456789", "0331 23456789", "valid", "fixed line", "DE", "Potsdam"},
    {"munich", "12345678", "local", "+498912345678", "008912345678", "+49 (89) 12345678",
     "089 12345678", "+49 89 12345678", "089 12345678", "valid", "fixed line", "DE", "Munich"},
    {"munich", "0176 1234567", "national", "+491761234567", "001761234567", "+49 (176) 1234567",
     "0176 1234567", "+49 176 1234567", "0176 1234567", "valid", "mobile", "DE", "Germany"},
    {"munich", "0800 1234567", "national", "+498001234567", "008001234567", "+49 (800) 1234567",
     "0800 1234567", "+49 800 1234567", "0800 1234567", "valid", "toll-free", "DE", "Germany"},
    {"munich", "0900 1234567", "national", "+499001234567", "009001234567", "+49 (900) 1234567",
     "0900 1 234567", "+49 900 1 234567", "0900 1 234567", "valid", "premium rate", "DE",
     "Germany"},
    {"munich", "0180 11234567", "national", "+4918011234567", "0018011234567", "+49 (180) 11234567",
     "0180 1 1234567", "+49 180 1 1234567", "0180 1 1234567", "valid", "shared cost", "DE",
     "Germany"},
};

/* Other countries seen from Munich: the national form is the number's own
 * country's, the display the international one. */
static const row abroad_rows[] = {
    {"munich", "+39 02 12345678", "international", "+390212345678", "000390212345678",
     "+39 (02) 12345678", "+39 02 1234 5678", "+39 02 1234 5678", "02 1234 5678", "valid",
     "fixed line", "IT", "Milan"},
    {"munich", "+39 312 3456789", "international", "+393123456789", "000393123456789",
     "+39 (312) 3456789", "+39 312 345 6789", "+39 312 345 6789", "312 345 6789", "valid", "mobile",
     "IT", "Italy"},
    {"munich", "+33 1 23 45 67 89", "international", "+33123456789", "00033123456789",
     "+33 (1) 23456789", "+33 1 23 45 67 89", "+33 1 23 45 67 89", "01 23 45 67 89", "valid",
     "fixed line", "FR", "France"},
    {"munich", "+33 6 12 34 56 78", "international", "+33612345678", "00033612345678",
     "+33 (6) 12345678", "+33 6 12 34 56 78", "+33 6 12 34 56 78", "06 12 34 56 78", "valid",
     "mobile", "FR", "France"},
    {"munich", "+44 20 7946 0958", "international", "+442079460958", "000442079460958",
     "+44 (20) 79460958", "+44 20 7946 0958", "+44 20 7946 0958", "020 7946 0958", "valid",
     "fixed line", "GB", "London"},
    {"munich", "+44 7400 123456", "international", "+447400123456", "000447400123456",
     "+44 (7400) 123456", "+44 7400 123456", "+44 7400 123456", "07400 123456", "valid", "mobile",
     "GB", "United Kingdom"},
    {"munich", "+1 212 736 5000", "international", "+12127365000", "00012127365000",
     "+1 (212) 7365000", "+1 212-736-5000", "+1 212-736-5000", "(212) 736-5000", "valid",
     "fixed line or mobile", "US", "New York, NY"},
    {"munich", "+43 1 58880", "international", "+43158880", "00043158880", "+43 (1) 58880",
     "+43 1 58880", "+43 1 58880", "01 58880", "valid", "fixed line", "AT", "Vienna"},
    {"munich", "+43 512 123456", "international", "+43512123456", "00043512123456",
     "+43 (512) 123456", "+43 512 123456", "+43 512 123456", "0512 123456", "valid", "fixed line",
     "AT", "Innsbruck"},
    {"munich", "+43 664 1234567", "international", "+436641234567", "000436641234567",
     "+43 (664) 1234567", "+43 664 1234567", "+43 664 1234567", "0664 1234567", "valid", "mobile",
     "AT", "Austria"},
    {"munich", "+41 44 668 18 00", "international", "+41446681800", "00041446681800",
     "+41 (44) 6681800", "+41 44 668 18 00", "+41 44 668 18 00", "044 668 18 00", "valid",
     "fixed line", "CH", "Zurich"},
    {"munich", "+800 1234 5678", "international", "+80012345678", "00080012345678",
     "+800 (1234) 5678", "+800 1234 5678", "+800 1234 5678", "1234 5678", "valid", "toll-free",
     "001", ""},
};

/* Seen from Milan (no trunk prefix: the 0 belongs to the number) and from
 * New York (NANP, outside line 9). */
static const row home_rows[] = {
    {"milan", "0212345678", "local", "+390212345678", "0212345678", "+39 (02) 12345678",
     "02 1234 5678", "+39 02 1234 5678", "02 1234 5678", "valid", "fixed line", "IT", "Milan"},
    {"milan", "0612345678", "national", "+390612345678", "0612345678", "+39 (06) 12345678",
     "06 1234 5678", "+39 06 1234 5678", "06 1234 5678", "valid", "fixed line", "IT", "Rome"},
    {"milan", "800123456", "national", "+39800123456", "800123456", "+39 (800) 123456",
     "800 123 456", "+39 800 123 456", "800 123 456", "valid", "toll-free", "IT", "Italy"},
    {"milan", "0049301234567", "international", "+49301234567", "0049301234567", "+49 (30) 1234567",
     "+49 30 1234567", "+49 30 1234567", "030 1234567", "valid", "fixed line", "DE", "Berlin"},
    {"nyc", "7365000", "local", "+12127365000", "912127365000", "+1 (212) 7365000",
     "(212) 736-5000", "+1 212-736-5000", "(212) 736-5000", "valid", "fixed line or mobile", "US",
     "New York, NY"},
    {"nyc", "8005551234", "national", "+18005551234", "918005551234", "+1 (800) 5551234",
     "(800) 555-1234", "+1 800-555-1234", "(800) 555-1234", "valid", "toll-free", "US",
     "United States"},
    {"nyc", "4165550123", "national", "+14165550123", "914165550123", "+1 (416) 5550123",
     "(416) 555-0123", "+1 416-555-0123", "(416) 555-0123", "valid", "fixed line or mobile", "CA",
     "Ontario"},
    {"nyc", "9011493012345678", "international", "+493012345678", "9011493012345678",
     "+49 (30) 12345678", "+49 30 12345678", "+49 30 12345678", "030 12345678", "valid",
     "fixed line", "DE", "Berlin"},
};

/* A number with a country code but no such number: the core's forms stand,
 * marked invalid; libphonenumber's guess at a split is not shown. */
static const row invalid_rows[] = {
    {"munich", "+49 3012", "national", "+493012", "003012", "+49 3012", "03012", "+49 3012",
     "03012", "invalid", "unknown", "DE", ""},
    {"munich", "+1 012 345 6789", "international", "+10123456789", "00010123456789",
     "+1 (012) 3456789", "+1 012 3456789", "+1 012 3456789", "", "invalid", "unknown", "US", ""},
};

/* Each table in a fresh fixture with English places. */
static void check_table(const row *rows, size_t n)
{
    fixture f;

    fixture_open(&f, "en");
    check_rows(f.numbers, rows, n);
    fixture_close(&f);
}

#define TABLE_TEST(name, rows)                                                                     \
    static void name(void)                                                                         \
    {                                                                                              \
        check_table(rows, G_N_ELEMENTS(rows));                                                     \
    }
TABLE_TEST(test_germany, germany_rows)
TABLE_TEST(test_abroad, abroad_rows)
TABLE_TEST(test_home_countries, home_rows)
TABLE_TEST(test_invalid, invalid_rows)

/* Places in the configured language, where the geocoder has them. */
static void test_language(void)
{
    fixture f;
    ucd_number_info info = {.struct_size = sizeof info};

    fixture_open(&f, "it");
    core_numbers_normalize_in(f.numbers, "munich", "+39 02 12345678", &info, NULL);
    g_assert_cmpstr(info.place, ==, "Milano");
    core_numbers_normalize_in(f.numbers, "munich", "+41 44 668 18 00", &info, NULL);
    g_assert_cmpstr(info.place, ==, "Zurigo");
    fixture_close(&f);
    g_assert_null(phonenumber_shim_new("DE"));
    g_assert_null(phonenumber_shim_new("english"));
    g_assert_null(phonenumber_shim_new(""));
}

/* Without places (the plugin's `places = false`) the rest is filled. */
static void test_no_places(void)
{
    fixture f;
    ucd_number_info info = {.struct_size = sizeof info};

    fixture_open(&f, NULL);
    core_numbers_normalize_in(f.numbers, "munich", "0301234567", &info, NULL);
    g_assert_cmpstr(info.international, ==, "+49 30 1234567");
    g_assert_cmpuint(info.type, ==, UCD_NUMBER_TYPE_FIXED_LINE);
    g_assert_cmpstr(info.place, ==, "");
    fixture_close(&f);
}

/* The PBX layer stays the core's: extensions and special numbers never
 * reach the plan; a 1.0 caller's struct gets the split forms it has fields
 * for and nothing beyond them; normalize_rules() skips the plan. */
static void test_pbx_layer_and_old_callers(void)
{
    fixture f;
    ucd_number_info info = {.struct_size = sizeof info};

    fixture_open(&f, "en");
    core_numbers_normalize_in(f.numbers, "munich", "201", &info, NULL);
    g_assert_cmpuint(info.kind, ==, UCD_NUMBER_INTERNAL);
    g_assert_cmpuint(info.validity, ==, UCD_NUMBER_UNCHECKED);
    g_assert_cmpstr(info.extension, ==, "201");
    core_numbers_normalize_in(f.numbers, "munich", "110", &info, NULL);
    g_assert_cmpuint(info.kind, ==, UCD_NUMBER_SPECIAL);
    g_assert_cmpuint(info.validity, ==, UCD_NUMBER_UNCHECKED);

    size_t old_size = offsetof(ucd_number_info, extension) + sizeof info.extension;
    unsigned char buf[sizeof(ucd_number_info)];
    memset(buf, 0xA5, sizeof buf);
    ucd_number_info *old = (ucd_number_info *)buf;
    old->struct_size = (uint32_t)old_size;
    g_assert_cmpint(core_numbers_normalize_in(f.numbers, "munich", "0301234567", old, NULL), ==,
                    UCD_OK);
    g_assert_cmpstr(old->canonical, ==, "+49 (30) 1234567");
    g_assert_cmpstr(old->display, ==, "030 1234567");
    for (size_t i = old_size; i < sizeof buf; i++)
        g_assert_cmpuint(buf[i], ==, 0xA5);

    /* normalize_rules(): the core's rules alone while the plan is attached,
     * the same E.164. */
    ucd_number_info rules = {.struct_size = sizeof rules};
    g_assert_cmpint(core_numbers_normalize_rules(f.numbers, NULL, "+49 30 1234567", &rules), ==,
                    UCD_OK);
    g_assert_cmpstr(rules.e164, ==, "+49301234567");
    g_assert_cmpstr(rules.canonical, ==, "+49 301234567");
    g_assert_cmpstr(rules.international, ==, "+49 301234567");
    g_assert_cmpuint(rules.validity, ==, UCD_NUMBER_UNCHECKED);
    g_assert_cmpstr(rules.place, ==, "");
    fixture_close(&f);
}

/* Many threads normalize while the plan is detached and attached again
 * under them (the plugin's stop and start): every answer is either the
 * core's alone or the plan's, never half of each, and detach waits for the
 * threads inside describe() (ASan/TSan would see a use after free). */
typedef struct race {
    core_numbers *numbers;
    gint stop;
    guint with_plan, without_plan;
} race;

static gpointer race_run(gpointer data)
{
    race *r = data;

    while (!g_atomic_int_get(&r->stop)) {
        ucd_number_info info = {.struct_size = sizeof info};

        core_numbers_normalize_in(r->numbers, "munich", "0301234567", &info, NULL);
        g_assert_cmpstr(info.e164, ==, "+49301234567");
        if (info.validity == UCD_NUMBER_VALID) {
            g_assert_cmpstr(info.canonical, ==, "+49 (30) 1234567");
            g_assert_cmpstr(info.place, ==, "Berlin");
            g_atomic_int_inc(&r->with_plan);
        } else {
            g_assert_cmpstr(info.canonical, ==, "+49 301234567");
            g_assert_cmpstr(info.place, ==, "");
            g_atomic_int_inc(&r->without_plan);
        }
    }
    return NULL;
}

static void test_detach_under_load(void)
{
    fixture f;
    race r = {0};
    GThread *threads[4];

    fixture_open(&f, "en");
    r.numbers = f.numbers;
    for (size_t i = 0; i < G_N_ELEMENTS(threads); i++)
        threads[i] = g_thread_new("normalize", race_run, &r);
    for (int round = 0; round < 200; round++) {
        core_numbers_detach_plan(f.shim);
        phonenumber_shim_free(f.shim);
        g_thread_yield();
        f.shim = phonenumber_shim_new("en");
        g_assert_cmpint(core_numbers_attach_plan(&plan, f.shim), ==, UCD_OK);
        g_thread_yield();
    }
    /* Both kinds of answer must have been seen, or the test proved nothing. */
    while (g_atomic_int_get(&r.with_plan) == 0 || g_atomic_int_get(&r.without_plan) == 0) {
        core_numbers_detach_plan(f.shim);
        g_usleep(1000);
        g_assert_cmpint(core_numbers_attach_plan(&plan, f.shim), ==, UCD_OK);
        g_usleep(1000);
    }
    g_atomic_int_set(&r.stop, 1);
    for (size_t i = 0; i < G_N_ELEMENTS(threads); i++)
        g_thread_join(threads[i]);
    fixture_close(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/numbers-phonenumber/germany", test_germany);
    g_test_add_func("/numbers-phonenumber/abroad", test_abroad);
    g_test_add_func("/numbers-phonenumber/home-countries", test_home_countries);
    g_test_add_func("/numbers-phonenumber/invalid", test_invalid);
    g_test_add_func("/numbers-phonenumber/language", test_language);
    g_test_add_func("/numbers-phonenumber/no-places", test_no_places);
    g_test_add_func("/numbers-phonenumber/pbx-layer", test_pbx_layer_and_old_callers);
    g_test_add_func("/numbers-phonenumber/detach-under-load", test_detach_under_load);
    return g_test_run();
}
