/*
 * test-numbers.c - core/numbers.c: real numbering plans of eight countries,
 * outside-line prefixes, rewrite rules, garbage, context resolution, the ABI
 * size rule, concurrent use, and configuration errors with file:line.
 *
 * Each test writes its configuration into a fresh g_dir_make_tmp() directory,
 * so the expected line numbers can be read off the text right above the
 * assertions. The expected forms are written out by hand from each country's
 * numbering plan, not computed.
 */
#include "numbers.h"

#include <glib/gstdio.h>
#include <string.h>

/* ---- Configuration in a temporary directory -------------------------------- */

typedef struct tmpconf {
    char *dir;
    char *file; /* DIR/ucd.conf */
    GPtrArray *errors;
    core_config *cfg;
    core_numbers *numbers;
} tmpconf;

/* Writes `text` as the main file and builds the service from it; the service
 * is NULL (and t->errors filled) when the configuration is wrong. */
static void tmpconf_load(tmpconf *t, const char *text)
{
    GError *err = NULL;

    memset(t, 0, sizeof(*t));
    t->dir = g_dir_make_tmp("ucd-numbers-XXXXXX", &err);
    g_assert_no_error(err);
    t->file = g_build_filename(t->dir, "ucd.conf", NULL);
    g_file_set_contents(t->file, text, -1, &err);
    g_assert_no_error(err);
    t->errors = g_ptr_array_new_with_free_func(g_free);
    t->cfg = core_config_load(t->file, NULL, t->errors);
    g_assert_nonnull(t->cfg);
    g_assert_cmpuint(t->errors->len, ==, 0);
    t->numbers = core_numbers_new(t->cfg, t->errors);
}

static void tmpconf_clear(tmpconf *t)
{
    core_numbers_free(t->numbers);
    core_config_free(t->cfg);
    g_remove(t->file);
    g_rmdir(t->dir);
    g_ptr_array_unref(t->errors);
    g_free(t->file);
    g_free(t->dir);
}

/* ---- Expected forms ---------------------------------------------------------- */

typedef struct expect {
    const char *context; /* module id */
    const char *raw;
    int rc;
    ucd_number_kind kind;
    const char *e164;
    const char *canonical;
    const char *dialable;
    const char *display;
    const char *extension;
} expect;

static const char *kind_name(uint32_t kind)
{
    static const char *const names[] = {"UNKNOWN",  "INTERNAL",      "LOCAL",
                                        "NATIONAL", "INTERNATIONAL", "SPECIAL"};

    return kind < G_N_ELEMENTS(names) ? names[kind] : "?";
}

/* One line with everything, so a failure shows the whole picture. */
static char *describe(const char *raw, int rc, uint32_t kind, const char *e164,
                      const char *canonical, const char *dialable, const char *display,
                      const char *extension)
{
    return g_strdup_printf("'%s' -> rc %d %s e164 '%s' canonical '%s' dialable '%s' "
                           "display '%s' extension '%s'",
                           raw ? raw : "(null)", rc, kind_name(kind), e164, canonical, dialable,
                           display, extension);
}

static void check_one(core_numbers *numbers, const expect *e)
{
    ucd_number_info info;
    int rc;
    char *want, *got;

    /* Garbage in the struct first: every form must be written, even empty. */
    memset(&info, 'Z', sizeof info);
    info.struct_size = sizeof info;
    rc = core_numbers_normalize(numbers, e->context, e->raw, &info);
    g_assert_nonnull(memchr(info.e164, '\0', sizeof info.e164));
    g_assert_nonnull(memchr(info.canonical, '\0', sizeof info.canonical));
    g_assert_nonnull(memchr(info.dialable, '\0', sizeof info.dialable));
    g_assert_nonnull(memchr(info.display, '\0', sizeof info.display));
    g_assert_nonnull(memchr(info.extension, '\0', sizeof info.extension));
    want = describe(e->raw, e->rc, e->kind, e->e164, e->canonical, e->dialable, e->display,
                    e->extension);
    got = describe(e->raw, rc, info.kind, info.e164, info.canonical, info.dialable, info.display,
                   info.extension);
    g_assert_cmpstr(got, ==, want);
    g_free(want);
    g_free(got);
}

static void check_all(core_numbers *numbers, const expect *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_one(numbers, &cases[i]);
}

#define OK       UCD_OK
#define INTERNAL UCD_NUMBER_INTERNAL
#define LOCAL    UCD_NUMBER_LOCAL
#define NATIONAL UCD_NUMBER_NATIONAL
#define INTL     UCD_NUMBER_INTERNATIONAL
#define SPECIAL  UCD_NUMBER_SPECIAL
#define UNKNOWN  UCD_NUMBER_UNKNOWN

/* One location per country, each used by one PBX module. */
static const char plans_conf[] = "[location munich]\n"
                                 "country_code = 49\n"
                                 "area_code = 89\n"
                                 "outside_line_prefix = 0\n"
                                 "\n"
                                 "[location munich-direct]\n"
                                 "country_code = 49\n"
                                 "area_code = 89\n"
                                 "outside_line_prefix = 0\n"
                                 "strip_outside_line = false\n"
                                 "\n"
                                 "[location hamburg]\n"
                                 "country_code = 49\n"
                                 "area_code = 40\n"
                                 "outside_line_prefix = 0\n"
                                 "rewrite = ^L\\\\d#(\\\\d+)$ => \\\\1;^\\\\*31#(.*) => \\\\1\n"
                                 "\n"
                                 "[location rome]\n"
                                 "country_code = 39\n"
                                 "area_code = 06\n"
                                 "\n"
                                 "[location nyc]\n"
                                 "country_code = 1\n"
                                 "area_code = 212\n"
                                 "outside_line_prefix = 9\n"
                                 "\n"
                                 "[location london]\n"
                                 "country_code = 44\n"
                                 "area_code = 20\n"
                                 "outside_line_prefix = 9\n"
                                 "\n"
                                 "[location paris]\n"
                                 "country_code = 33\n"
                                 "area_code = 1\n"
                                 "\n"
                                 "[location zurich]\n"
                                 "country_code = 41\n"
                                 "area_code = 44\n"
                                 "outside_line_prefix = 0\n"
                                 "\n"
                                 "[location vienna]\n"
                                 "country_code = 43\n"
                                 "area_code = 1\n"
                                 "dial_local_without_area_code = true\n"
                                 "\n"
                                 "[location amsterdam]\n"
                                 "country_code = 31\n"
                                 "area_code = 20\n"
                                 "extension_lengths = 3\n"
                                 "internal_prefixes = 2;3\n"
                                 "\n"
                                 "[module pbx-sim:munich]\nlocation = munich\n"
                                 "[module pbx-sim:munich-direct]\nlocation = munich-direct\n"
                                 "[module pbx-sim:hamburg]\nlocation = hamburg\n"
                                 "[module pbx-sim:rome]\nlocation = rome\n"
                                 "[module pbx-sim:nyc]\nlocation = nyc\n"
                                 "[module pbx-sim:london]\nlocation = london\n"
                                 "[module pbx-sim:paris]\nlocation = paris\n"
                                 "[module pbx-sim:zurich]\nlocation = zurich\n"
                                 "[module pbx-sim:vienna]\nlocation = vienna\n"
                                 "[module pbx-sim:amsterdam]\nlocation = amsterdam\n"
                                 "[module pbx-sim:plain]\n"
                                 "enabled = true\n";

static void with_plans(const expect *cases, size_t n)
{
    tmpconf t;

    tmpconf_load(&t, plans_conf);
    g_assert_cmpuint(t.errors->len, ==, 0);
    g_assert_nonnull(t.numbers);
    check_all(t.numbers, cases, n);
    tmpconf_clear(&t);
}

#define M "pbx-sim:munich"
#define D "pbx-sim:munich-direct"

static void test_germany(void)
{
    static const expect cases[] = {
        /* National form, with and without the outside line; +49 with "(0)". */
        {M, "0891234567", OK, LOCAL, "+49891234567", "+49 (89) 1234567", "00891234567",
         "089 1234567", ""},
        {M, "0 089 1234567", OK, LOCAL, "+49891234567", "+49 (89) 1234567", "00891234567",
         "089 1234567", ""},
        {M, "+49 89 1234567", OK, LOCAL, "+49891234567", "+49 (89) 1234567", "00891234567",
         "089 1234567", ""},
        {M, "+49 (0)89 123 45-67", OK, LOCAL, "+49891234567", "+49 (89) 1234567", "00891234567",
         "089 1234567", ""},
        {M, "00049891234567", OK, LOCAL, "+49891234567", "+49 (89) 1234567", "00891234567",
         "089 1234567", ""},
        /* A subscriber number alone gets the own area code. */
        {M, "1234567", OK, LOCAL, "+49891234567", "+49 (89) 1234567", "00891234567", "089 1234567",
         ""},
        /* Another area: no split without a numbering-plan table. */
        {M, "030/1234567", OK, NATIONAL, "+49301234567", "+49 301234567", "00301234567",
         "0301234567", ""},
        {M, "00301234567", OK, NATIONAL, "+49301234567", "+49 301234567", "00301234567",
         "0301234567", ""},
        /* Mobile. */
        {M, "0171 1234567", OK, NATIONAL, "+491711234567", "+49 1711234567", "001711234567",
         "01711234567", ""},
        /* Abroad, with the outside line in front of 00. */
        {M, "000442071234567", OK, INTL, "+442071234567", "+44 2071234567", "000442071234567",
         "+44 2071234567", ""},
        {M, "+1 212 555 0100", OK, INTL, "+12125550100", "+1 (212) 5550100", "00012125550100",
         "+1 212 5550100", ""},
        /* The documented ambiguity: with outside line 0 and stripping on,
         * 0049... is outside line + national 049... */
        {M, "0049891234567", OK, NATIONAL, "+4949891234567", "+49 49891234567", "0049891234567",
         "049891234567", ""},
        /* Extensions, special numbers, service codes. */
        {M, "201", OK, INTERNAL, "", "", "201", "201", "201"},
        {M, "47", OK, INTERNAL, "", "", "47", "47", "47"},
        {M, "110", OK, SPECIAL, "", "", "110", "110", ""},
        {M, "0110", OK, SPECIAL, "", "", "110", "110", ""},
        {M, "112", OK, SPECIAL, "", "", "112", "112", ""},
        {M, "116117", OK, SPECIAL, "", "", "116117", "116117", ""},
        {M, "11833", OK, SPECIAL, "", "", "11833", "11833", ""},
        {M, "*21#", OK, SPECIAL, "", "", "*21#", "*21#", ""},
        /* A PBX that never prepends the outside line. */
        {D, "0049891234567", OK, LOCAL, "+49891234567", "+49 (89) 1234567", "00891234567",
         "089 1234567", ""},
        {D, "0891234567", OK, LOCAL, "+49891234567", "+49 (89) 1234567", "00891234567",
         "089 1234567", ""},
        {D, "0044 20 7123 4567", OK, INTL, "+442071234567", "+44 2071234567", "000442071234567",
         "+44 2071234567", ""},
        /* ... so 00 + 89 is an international number, and 89 is no country. */
        {D, "00891234567", UCD_E_INVALID, UNKNOWN, "", "", "", "", ""},
    };

    with_plans(cases, G_N_ELEMENTS(cases));
}

#define H "pbx-sim:hamburg"

static void test_rewrite_rules(void)
{
    static const expect cases[] = {
        /* "L0#": the line marker some PBXes put in front of the number. */
        {H, "L0#0401234567", OK, LOCAL, "+49401234567", "+49 (40) 1234567", "00401234567",
         "040 1234567", ""},
        {H, "L1#201", OK, INTERNAL, "", "", "201", "201", "201"},
        /* The second rule sees the first one's result; formatting goes
         * before the rules. */
        {H, "*31#0 040 123 45 67", OK, LOCAL, "+49401234567", "+49 (40) 1234567", "00401234567",
         "040 1234567", ""},
        {H, "0891234567", OK, NATIONAL, "+49891234567", "+49 891234567", "00891234567",
         "0891234567", ""},
        /* Anchored with $: a trailing letter stays, and the number is
         * garbage. */
        {H, "L0#0401234567x", UCD_E_INVALID, UNKNOWN, "", "", "", "", ""},
        /* Without rules the marker is garbage. */
        {M, "L0#0401234567", UCD_E_INVALID, UNKNOWN, "", "", "", "", ""},
    };

    with_plans(cases, G_N_ELEMENTS(cases));
}

#define R "pbx-sim:rome"

static void test_italy(void)
{
    /* No trunk prefix: the 0 belongs to the number, in Italy and from abroad. */
    static const expect cases[] = {
        {R, "06 1234 5678", OK, LOCAL, "+390612345678", "+39 (06) 12345678", "0612345678",
         "06 12345678", ""},
        {R, "+39 06 12345678", OK, LOCAL, "+390612345678", "+39 (06) 12345678", "0612345678",
         "06 12345678", ""},
        {R, "0039 06 12345678", OK, LOCAL, "+390612345678", "+39 (06) 12345678", "0612345678",
         "06 12345678", ""},
        {R, "02 1234 5678", OK, NATIONAL, "+390212345678", "+39 0212345678", "0212345678",
         "0212345678", ""},
        {R, "347 123 4567", OK, NATIONAL, "+393471234567", "+39 3471234567", "3471234567",
         "3471234567", ""},
        {R, "0049 89 1234567", OK, INTL, "+49891234567", "+49 891234567", "0049891234567",
         "+49 891234567", ""},
        {R, "113", OK, SPECIAL, "", "", "113", "113", ""},
        {R, "2001", OK, INTERNAL, "", "", "2001", "2001", "2001"},
    };

    with_plans(cases, G_N_ELEMENTS(cases));
}

#define N "pbx-sim:nyc"

static void test_nanp(void)
{
    static const expect cases[] = {
        {N, "2125550100", OK, LOCAL, "+12125550100", "+1 (212) 5550100", "912125550100",
         "(212) 555-0100", ""},
        {N, "555-0100", OK, LOCAL, "+12125550100", "+1 (212) 5550100", "912125550100",
         "(212) 555-0100", ""},
        {N, "1 (212) 555-0100", OK, LOCAL, "+12125550100", "+1 (212) 5550100", "912125550100",
         "(212) 555-0100", ""},
        {N, "9 1 212 555 0100", OK, LOCAL, "+12125550100", "+1 (212) 5550100", "912125550100",
         "(212) 555-0100", ""},
        {N, "9 555 0100", OK, LOCAL, "+12125550100", "+1 (212) 5550100", "912125550100",
         "(212) 555-0100", ""},
        {N, "+1 415 555 0199", OK, NATIONAL, "+14155550199", "+1 (415) 5550199", "914155550199",
         "(415) 555-0199", ""},
        {N, "9 415 555 0199", OK, NATIONAL, "+14155550199", "+1 (415) 5550199", "914155550199",
         "(415) 555-0199", ""},
        {N, "415.555.0199", OK, NATIONAL, "+14155550199", "+1 (415) 5550199", "914155550199",
         "(415) 555-0199", ""},
        {N, "011 44 20 7123 4567", OK, INTL, "+442071234567", "+44 2071234567", "9011442071234567",
         "+44 2071234567", ""},
        {N, "911", OK, SPECIAL, "", "", "911", "911", ""},
        {N, "9911", OK, SPECIAL, "", "", "911", "911", ""},
        {N, "4711", OK, INTERNAL, "", "", "4711", "4711", "4711"},
    };

    with_plans(cases, G_N_ELEMENTS(cases));
}

#define L "pbx-sim:london"

static void test_uk(void)
{
    static const expect cases[] = {
        {L, "020 7123 4567", OK, LOCAL, "+442071234567", "+44 (20) 71234567", "902071234567",
         "020 71234567", ""},
        {L, "7123 4567", OK, LOCAL, "+442071234567", "+44 (20) 71234567", "902071234567",
         "020 71234567", ""},
        {L, "9 020 7123 4567", OK, LOCAL, "+442071234567", "+44 (20) 71234567", "902071234567",
         "020 71234567", ""},
        {L, "+44 (0)20 7123 4567", OK, LOCAL, "+442071234567", "+44 (20) 71234567", "902071234567",
         "020 71234567", ""},
        {L, "07700 900123", OK, NATIONAL, "+447700900123", "+44 7700900123", "907700900123",
         "07700900123", ""},
        {L, "0161 496 0000", OK, NATIONAL, "+441614960000", "+44 1614960000", "901614960000",
         "01614960000", ""},
        {L, "+1 212 555 0100", OK, INTL, "+12125550100", "+1 (212) 5550100", "90012125550100",
         "+1 212 5550100", ""},
        {L, "999", OK, SPECIAL, "", "", "999", "999", ""},
        {L, "118 118", OK, SPECIAL, "", "", "118118", "118118", ""},
        {L, "2345", OK, INTERNAL, "", "", "2345", "2345", "2345"},
    };

    with_plans(cases, G_N_ELEMENTS(cases));
}

#define P "pbx-sim:paris"

static void test_france(void)
{
    static const expect cases[] = {
        {P, "01 23 45 67 89", OK, LOCAL, "+33123456789", "+33 (1) 23456789", "0123456789",
         "01 23456789", ""},
        {P, "+33 1 23 45 67 89", OK, LOCAL, "+33123456789", "+33 (1) 23456789", "0123456789",
         "01 23456789", ""},
        {P, "06 12 34 56 78", OK, NATIONAL, "+33612345678", "+33 612345678", "0612345678",
         "0612345678", ""},
        {P, "00 49 89 1234567", OK, INTL, "+49891234567", "+49 891234567", "0049891234567",
         "+49 891234567", ""},
        /* SAMU and police are 2 digits, like extensions: special wins. */
        {P, "15", OK, SPECIAL, "", "", "15", "15", ""},
        {P, "17", OK, SPECIAL, "", "", "17", "17", ""},
        {P, "42", OK, INTERNAL, "", "", "42", "42", "42"},
    };

    with_plans(cases, G_N_ELEMENTS(cases));
}

#define Z "pbx-sim:zurich"

static void test_switzerland(void)
{
    static const expect cases[] = {
        {Z, "044 668 18 00", OK, LOCAL, "+41446681800", "+41 (44) 6681800", "00446681800",
         "044 6681800", ""},
        {Z, "0 044 668 18 00", OK, LOCAL, "+41446681800", "+41 (44) 6681800", "00446681800",
         "044 6681800", ""},
        {Z, "+41 44 668 18 00", OK, LOCAL, "+41446681800", "+41 (44) 6681800", "00446681800",
         "044 6681800", ""},
        {Z, "079 123 45 67", OK, NATIONAL, "+41791234567", "+41 791234567", "00791234567",
         "0791234567", ""},
        {Z, "0 0049 89 1234567", OK, INTL, "+49891234567", "+49 891234567", "00049891234567",
         "+49 891234567", ""},
        {Z, "117", OK, SPECIAL, "", "", "117", "117", ""},
        {Z, "1414", OK, SPECIAL, "", "", "1414", "1414", ""},
        {Z, "1415", OK, SPECIAL, "", "", "1415", "1415", ""},
        {Z, "1416", OK, INTERNAL, "", "", "1416", "1416", "1416"},
    };

    with_plans(cases, G_N_ELEMENTS(cases));
}

#define V "pbx-sim:vienna"
#define A "pbx-sim:amsterdam"

static void test_austria_netherlands(void)
{
    static const expect cases[] = {
        /* Vienna dials its own area without 01. */
        {V, "01 5124567", OK, LOCAL, "+4315124567", "+43 (1) 5124567", "5124567", "01 5124567", ""},
        {V, "0664 1234567", OK, NATIONAL, "+436641234567", "+43 6641234567", "06641234567",
         "06641234567", ""},
        {V, "133", OK, SPECIAL, "", "", "133", "133", ""},
        {A, "020 123 4567", OK, LOCAL, "+31201234567", "+31 (20) 1234567", "0201234567",
         "020 1234567", ""},
        {A, "06 12345678", OK, NATIONAL, "+31612345678", "+31 612345678", "0612345678",
         "0612345678", ""},
        /* Extensions are 3 digits starting with 2 or 3 here. */
        {A, "234", OK, INTERNAL, "", "", "234", "234", "234"},
        {A, "345", OK, INTERNAL, "", "", "345", "345", "345"},
        {A, "4567", OK, LOCAL, "+31204567", "+31 (20) 4567", "0204567", "020 4567", ""},
        {A, "112", OK, SPECIAL, "", "", "112", "112", ""},
    };

    with_plans(cases, G_N_ELEMENTS(cases));
}

static void test_garbage(void)
{
    char overlong[300];
    const struct {
        const char *context, *raw;
    } invalid[] = {
        {M, NULL},
        {M, ""},
        {M, "   "},
        {M, "anonymous"},
        {M, "Anonymous"},
        {M, "unknown"},
        {M, "+"},
        {M, "+49 (0)"},
        {M, "12ab34"},
        {M, "089 123 4567 ext. 5"},
        {M, "+999 1234567"},           /* no such country code */
        {M, "+49 12"},                 /* too short to be a number */
        {M, "+49 8912345678901234"},   /* 18 digits: longer than E.164 allows */
        {D, "0049 89 1234 5678 9012"}, /* 17 digits */
        {M, "1234567890123456"},       /* 89 + 16 digits */
        {M, overlong},
        {M, "+4+9891234567"},
    };

    memset(overlong, '1', sizeof overlong - 1);
    overlong[sizeof overlong - 1] = '\0';
    for (size_t i = 0; i < G_N_ELEMENTS(invalid); i++) {
        const expect e = {
            invalid[i].context, invalid[i].raw, UCD_E_INVALID, UNKNOWN, "", "", "", "", ""};

        with_plans(&e, 1);
    }
}

/* The longest number E.164 allows, with the longest prefixes: every form
 * fits. */
static void test_longest(void)
{
    static const expect cases[] = {
        {M, "+49 1234567890123", OK, NATIONAL, "+491234567890123", "+49 1234567890123",
         "001234567890123", "01234567890123", ""},
        {M, "000 880 123456789012", OK, INTL, "+880123456789012", "+880 123456789012",
         "000880123456789012", "+880 123456789012", ""},
    };

    with_plans(cases, G_N_ELEMENTS(cases));
}

/* Contexts: a module without a location, NULL and an unknown module. With
 * several locations and none named "default" that is the neutral location,
 * which places only "+..." numbers. */
static void test_contexts_neutral(void)
{
    static const expect cases[] = {
        {"pbx-sim:plain", "+49 89 1234567", OK, INTL, "+49891234567", "+49 891234567",
         "+49891234567", "+49 891234567", ""},
        {"pbx-sim:plain", "201", OK, INTERNAL, "", "", "201", "201", "201"},
        {"pbx-sim:plain", "0891234567", OK, UNKNOWN, "", "", "0891234567", "0891234567", ""},
        {NULL, "+1 212 555 0100", OK, INTL, "+12125550100", "+1 (212) 5550100", "+12125550100",
         "+1 212 5550100", ""},
        {"no-such-module", "201", UCD_E_NOT_FOUND, INTERNAL, "", "", "201", "201", "201"},
        {"no-such-module", "anonymous", UCD_E_INVALID, UNKNOWN, "", "", "", "", ""},
    };

    with_plans(cases, G_N_ELEMENTS(cases));
}

static void test_contexts_default(void)
{
    static const expect cases[] = {
        {NULL, "0891234567", OK, NATIONAL, "+49891234567", "+49 891234567", "00891234567",
         "0891234567", ""},
        {"pbx-sim:a", "0891234567", OK, NATIONAL, "+49891234567", "+49 891234567", "00891234567",
         "0891234567", ""},
        {"pbx-sim:b", "0891234567", OK, LOCAL, "+49891234567", "+49 (89) 1234567", "0891234567",
         "089 1234567", ""},
        {"other", "0301234567", UCD_E_NOT_FOUND, LOCAL, "+49301234567", "+49 (30) 1234567",
         "00301234567", "030 1234567", ""},
    };
    static const expect only_one[] = {
        {NULL, "1234567", OK, LOCAL, "+49891234567", "+49 (89) 1234567", "0891234567",
         "089 1234567", ""},
    };
    tmpconf t;

    tmpconf_load(&t, "[location munich]\ncountry_code = 49\narea_code = 89\n"
                     "[location default]\ncountry_code = 49\narea_code = 30\n"
                     "outside_line_prefix = 0\n"
                     "[module pbx-sim:a]\n"
                     "[module pbx-sim:b]\nlocation = munich\n");
    g_assert_nonnull(t.numbers);
    check_all(t.numbers, cases, G_N_ELEMENTS(cases));
    tmpconf_clear(&t);

    tmpconf_load(&t, "[location munich]\ncountry_code = 49\narea_code = 89\n");
    g_assert_nonnull(t.numbers);
    check_all(t.numbers, only_one, G_N_ELEMENTS(only_one));
    tmpconf_clear(&t);

    /* No location at all: the neutral one. */
    tmpconf_load(&t, "[core]\n");
    g_assert_nonnull(t.numbers);
    check_one(t.numbers,
              &(expect){NULL, "0891234567", OK, UNKNOWN, "", "", "0891234567", "0891234567", ""});
    tmpconf_clear(&t);
}

/* Special numbers replaced, extension lengths, and a US PBX that needs no
 * trunk 1 (dialing plans vary). */
static void test_overrides(void)
{
    static const expect cases[] = {
        {NULL, "110", OK, INTERNAL, "", "", "110", "110", "110"},
        {NULL, "112", OK, SPECIAL, "", "", "112", "112", ""},
        {NULL, "19222", OK, SPECIAL, "", "", "19222", "19222", ""},
        {NULL, "12345", OK, INTERNAL, "", "", "12345", "12345", "12345"},
        {NULL, "1234", OK, LOCAL, "+49891234", "+49 (89) 1234", "0891234", "089 1234", ""},
    };
    tmpconf t;

    tmpconf_load(&t, "[location office]\ncountry_code = 49\narea_code = 89\n"
                     "extension_lengths = 3;5\nspecial_numbers = 112;19xxx\n");
    g_assert_nonnull(t.numbers);
    check_all(t.numbers, cases, G_N_ELEMENTS(cases));
    tmpconf_clear(&t);

    /* An empty list means no special numbers at all. */
    tmpconf_load(&t, "[location office]\ncountry_code = 49\nspecial_numbers =\n");
    g_assert_nonnull(t.numbers);
    check_one(t.numbers, &(expect){NULL, "112", OK, INTERNAL, "", "", "112", "112", "112"});
    /* Without an area code a subscriber number cannot be placed. */
    check_one(t.numbers, &(expect){NULL, "1234567", OK, LOCAL, "", "", "1234567", "1234567", ""});
    tmpconf_clear(&t);
}

/* ---- The ABI size rule and threads ------------------------------------------ */

static void test_struct_size(void)
{
    tmpconf t;
    ucd_number_info info;

    tmpconf_load(&t, plans_conf);
    /* An older, smaller struct: what lies beyond it stays untouched. */
    memset(&info, 'Z', sizeof info);
    info.struct_size = offsetof(ucd_number_info, extension);
    g_assert_cmpint(core_numbers_normalize(t.numbers, M, "201", &info), ==, UCD_OK);
    g_assert_cmpuint(info.kind, ==, UCD_NUMBER_INTERNAL);
    g_assert_cmpstr(info.display, ==, "201");
    g_assert_cmpint(info.extension[0], ==, 'Z');
    /* Too small to hold even the kind. */
    info.struct_size = 4;
    g_assert_cmpint(core_numbers_normalize(t.numbers, M, "201", &info), ==, UCD_E_INVALID);
    g_assert_cmpint(core_numbers_normalize(t.numbers, M, "201", NULL), ==, UCD_E_INVALID);
    /* Through the interface, as a plugin calls it. */
    info.struct_size = sizeof info;
    g_assert_cmpuint(core_numbers_iface()->struct_size, ==, sizeof(ucd_numbers_v1));
    g_assert_cmpint(core_numbers_iface()->normalize(t.numbers, H, "L0#0401234567", &info), ==,
                    UCD_OK);
    g_assert_cmpstr(info.e164, ==, "+49401234567");
    tmpconf_clear(&t);
}

typedef struct thread_job {
    core_numbers *numbers;
    int mismatches;
} thread_job;

static const char *const thread_inputs[][2] = {
    {H, "L0#0401234567"},
    {M, "0891234567"},
    {N, "9 555 0100"},
    {R, "06 1234 5678"},
    {L, "201"},
    {Z, "117"},
    {M, "anonymous"},
    {H, "*31#00401234567"},
    {P, "+33 1 23 45 67 89"},
};

static gpointer thread_run(gpointer data)
{
    thread_job *job = data;
    ucd_number_info first[G_N_ELEMENTS(thread_inputs)];

    for (size_t i = 0; i < G_N_ELEMENTS(thread_inputs); i++) {
        first[i] = (ucd_number_info){.struct_size = sizeof first[i]};
        core_numbers_normalize(job->numbers, thread_inputs[i][0], thread_inputs[i][1], &first[i]);
    }
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < G_N_ELEMENTS(thread_inputs); i++) {
            ucd_number_info info = {.struct_size = sizeof info};

            core_numbers_normalize(job->numbers, thread_inputs[i][0], thread_inputs[i][1], &info);
            if (memcmp(&info, &first[i], sizeof info) != 0)
                job->mismatches++;
        }
    }
    return NULL;
}

static void test_threads(void)
{
    tmpconf t;
    thread_job jobs[4];
    GThread *threads[4];
    ucd_number_info info = {.struct_size = sizeof info};

    tmpconf_load(&t, plans_conf);
    for (int i = 0; i < 4; i++) {
        jobs[i] = (thread_job){t.numbers, 0};
        threads[i] = g_thread_new("numbers", thread_run, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        g_thread_join(threads[i]);
        g_assert_cmpint(jobs[i].mismatches, ==, 0);
    }
    /* And the results are the right ones, not merely stable. */
    g_assert_cmpint(core_numbers_normalize(t.numbers, N, "9 555 0100", &info), ==, UCD_OK);
    g_assert_cmpstr(info.e164, ==, "+12125550100");
    tmpconf_clear(&t);
}

/* ---- Configuration errors ------------------------------------------------------ */

/* Loads `text` and checks that building fails with exactly `expected` (each
 * "LINE: message", the file name is added). */
static void expect_errors(const char *text, const char *const *expected)
{
    tmpconf t;
    guint n = 0;

    tmpconf_load(&t, text);
    g_assert_null(t.numbers);
    for (; expected[n]; n++) {
        char *want = g_strdup_printf("%s:%s", t.file, expected[n]);

        g_assert_cmpuint(n, <, t.errors->len);
        g_assert_cmpstr(g_ptr_array_index(t.errors, n), ==, want);
        g_free(want);
    }
    g_assert_cmpuint(t.errors->len, ==, n);
    tmpconf_clear(&t);
}

static void test_config_errors(void)
{
    expect_errors("[location office]\n"
                  "country_code = 4x9\n",
                  (const char *const[]){"2: [location office] country_code: '4x9' is not a "
                                        "country calling code (1 to 3 digits such as 49, 39 or "
                                        "1)",
                                        NULL});
    expect_errors("[location office]\n"
                  "\n"
                  "country_code = 999\n",
                  (const char *const[]){"3: [location office] country_code: '999' is not a "
                                        "country calling code (1 to 3 digits such as 49, 39 or "
                                        "1)",
                                        NULL});
    expect_errors("[core]\n"
                  "[location office]\n"
                  "area_code = 89\n",
                  (const char *const[]){"2: [location office] missing required key "
                                        "'country_code' (string)",
                                        NULL});
    expect_errors("[location office]\n"
                  "country_code = 49\n"
                  "area_code = 089\n",
                  (const char *const[]){"3: [location office] area_code: '089' starts with the "
                                        "national prefix '0': write the area code without it "
                                        "('89')",
                                        NULL});
    expect_errors("[location office]\n"
                  "country_code = 49\n"
                  "outside_line_prefix = 9a\n",
                  (const char *const[]){"3: [location office] outside_line_prefix: '9a' is not "
                                        "a digit string of at most 8 digits",
                                        NULL});
    expect_errors("[location office]\n"
                  "country_code = 49\n"
                  "extension_lengths = 3;x\n",
                  (const char *const[]){"3: [location office] extension_lengths: 'x' is not a "
                                        "length from 1 to 15 (write e.g. 2;3;4)",
                                        NULL});
    expect_errors("[location office]\n"
                  "country_code = 49\n"
                  "special_numbers = 112;11a\n",
                  (const char *const[]){"3: [location office] special_numbers: '11a' is not "
                                        "made of digits and x, 1 to 15 long",
                                        NULL});
    expect_errors("[location office]\n"
                  "country_code = 1\n"
                  "area_code = 2125\n",
                  (const char *const[]){"3: [location office] area_code: '2125': NANP area "
                                        "codes have 3 digits",
                                        NULL});
}

/* Like expect_errors() for one error whose end is GLib's own wording. */
static void expect_error_start(const char *text, const char *start)
{
    tmpconf t;
    char *want;

    tmpconf_load(&t, text);
    g_assert_null(t.numbers);
    g_assert_cmpuint(t.errors->len, ==, 1);
    want = g_strdup_printf("%s:%s", t.file, start);
    if (!g_str_has_prefix(g_ptr_array_index(t.errors, 0), want))
        g_assert_cmpstr(g_ptr_array_index(t.errors, 0), ==, want);
    g_free(want);
    tmpconf_clear(&t);
}

static void test_config_rule_errors(void)
{
    expect_error_start("[location office]\n"
                       "country_code = 49\n"
                       "# rules\n"
                       "rewrite = ^L0# => ;^L0#(( => x\n",
                       "4: [location office] rewrite: rule 2: '^L0#((' is not a valid regular "
                       "expression: ");
    expect_error_start("[location office]\n"
                       "country_code = 49\n"
                       "rewrite = ^(1) => x\\\\g<\n",
                       "3: [location office] rewrite: rule 1: 'x\\g<' is not a valid "
                       "replacement: ");
    expect_errors("[location office]\n"
                  "country_code = 49\n"
                  "rewrite = ^L0#\n",
                  (const char *const[]){"3: [location office] rewrite: rule 1: '^L0#' is not a "
                                        "rule: write REGEX => REPLACEMENT",
                                        NULL});
}

static void test_config_keys_and_modules(void)
{
    tmpconf t;

    /* Unknown keys and wrong types come from the binding, with file:line. */
    tmpconf_load(&t, "[location office]\n"
                     "country_code = 49\n"
                     "areacode = 89\n"
                     "strip_outside_line = maybe\n");
    g_assert_null(t.numbers);
    g_assert_cmpuint(t.errors->len, ==, 2);
    g_assert_true(g_str_has_prefix(g_ptr_array_index(t.errors, 0), t.file));
    g_assert_nonnull(strstr(g_ptr_array_index(t.errors, 0),
                            ":3: [location office] unknown key 'areacode' (known: country_code, "
                            "area_code, "));
    g_assert_nonnull(strstr(g_ptr_array_index(t.errors, 1),
                            ":4: [location office] strip_outside_line: 'maybe' is not a "
                            "boolean"));
    tmpconf_clear(&t);

    /* A module naming a location that does not exist; every error at once. */
    expect_errors("[location office]\n"
                  "country_code = 49\n"
                  "\n"
                  "[location lab]\n"
                  "country_code = 4x\n"
                  "\n"
                  "[module pbx-sim]\n"
                  "location = nowhere\n",
                  (const char *const[]){"5: [location lab] country_code: '4x' is not a country "
                                        "calling code (1 to 3 digits such as 49, 39 or 1)",
                                        "8: [module pbx-sim] location: no [location nowhere] "
                                        "section (the locations are: office)",
                                        NULL});
    /* A module naming a location that is there but wrong: one error, at the
     * location. */
    expect_errors("[location lab]\n"
                  "country_code = 4x\n"
                  "[module pbx-sim]\n"
                  "location = lab\n",
                  (const char *const[]){"2: [location lab] country_code: '4x' is not a country "
                                        "calling code (1 to 3 digits such as 49, 39 or 1)",
                                        NULL});
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/numbers/germany", test_germany);
    g_test_add_func("/numbers/rewrite-rules", test_rewrite_rules);
    g_test_add_func("/numbers/italy", test_italy);
    g_test_add_func("/numbers/nanp", test_nanp);
    g_test_add_func("/numbers/uk", test_uk);
    g_test_add_func("/numbers/france", test_france);
    g_test_add_func("/numbers/switzerland", test_switzerland);
    g_test_add_func("/numbers/austria-netherlands", test_austria_netherlands);
    g_test_add_func("/numbers/garbage", test_garbage);
    g_test_add_func("/numbers/longest", test_longest);
    g_test_add_func("/numbers/contexts-neutral", test_contexts_neutral);
    g_test_add_func("/numbers/contexts-default", test_contexts_default);
    g_test_add_func("/numbers/overrides", test_overrides);
    g_test_add_func("/numbers/struct-size", test_struct_size);
    g_test_add_func("/numbers/threads", test_threads);
    g_test_add_func("/numbers/config-errors", test_config_errors);
    g_test_add_func("/numbers/config-rule-errors", test_config_rule_errors);
    g_test_add_func("/numbers/config-keys-and-modules", test_config_keys_and_modules);
    return g_test_run();
}
