/*
 * numbers.c - the core's number service (numbers.h; the contract is the SDK's
 * ucd/numbers.h). docs/admin/numbers.md is the admin's side of this file.
 *
 * Two halves. Building reads the "[location NAME]" sections once, checks every
 * key with file:line and turns each into a `location` of fixed-size fields.
 * normalize() runs for every number of every call event, from any thread: it
 * only reads the locations and writes into fixed buffers on its stack, so it
 * needs no lock and allocates nothing. The one exception is a location with
 * rewrite rules: GRegex allocates while it replaces, so rules cost speed and
 * are applied only where configured.
 *
 * normalize() works in three steps:
 *   clean     strip formatting characters, apply rewrite rules, check that
 *             what is left is "+digits", digits, or a "*21#"-style code;
 *   classify  decide the kind and, for numbers outside the PBX, the country
 *             code and the national significant number (NSN: the digits after
 *             the country code, area code included, trunk prefix excluded);
 *   format    write the E.164, canonical, dialable and display forms.
 */
#include "numbers.h"

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#define LOCATION_PREFIX "location "
#define DEFAULT_NAME    "default"

/* E.164: at most 15 digits, country code included. */
#define E164_MAX_DIGITS 15
/* The shortest NSN of any country (Niue, Saint Helena: 4 digits). Shorter
 * digit strings after a prefix are not numbers of the public network. */
#define MIN_NSN 4
/* Shorter digit strings that are neither extensions nor special numbers
 * (an operator's "0", a stray digit) are kept as dialled, without a kind. */
#define MIN_SUBSCRIBER 3
/* Raw input longer than this after formatting is stripped is not a number. */
#define CLEAN_SIZE 64
/* Limits on configured digit strings; they keep every form within the
 * buffers of ucd_number_info (outside line + international prefix + 15 digits
 * fit "dialable" with room to spare). */
#define MAX_PREFIX_DIGITS    8
#define MAX_AREA_DIGITS      7
#define MAX_EXTENSION_DIGITS 15
#define MAX_SPECIAL_DIGITS   15

/* ---- Country codes --------------------------------------------------------
 *
 * Every ITU-T E.164 country code in use, including the global ones (800
 * freephone, 870 Inmarsat, 881-883 networks). Country codes form a prefix-free
 * code: no code is the beginning of another, so the first 1, 2 or 3 digits
 * that appear here are the country code. Values of different lengths cannot
 * collide (1-9, 20-99, 200-999), so one sorted array serves all lengths. */
static const uint16_t country_codes[] = {
    1,   7,   20,  27,  30,  31,  32,  33,  34,  36,  39,  40,  41,  43,  44,  45,  46,  47,
    48,  49,  51,  52,  53,  54,  55,  56,  57,  58,  60,  61,  62,  63,  64,  65,  66,  81,
    82,  84,  86,  90,  91,  92,  93,  94,  95,  98,  211, 212, 213, 216, 218, 220, 221, 222,
    223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240,
    241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255, 256, 257, 258,
    260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290, 291, 297, 298, 299, 350, 351, 352,
    353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374, 375, 376, 377, 378, 379, 380,
    381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 500, 501, 502, 503, 504, 505, 506, 507,
    508, 509, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599, 670, 672, 673, 674, 675, 676,
    677, 678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 800, 808, 850,
    852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888, 960, 961, 962, 963, 964, 965,
    966, 967, 968, 970, 971, 972, 973, 974, 975, 976, 977, 979, 992, 993, 994, 995, 996, 998,
};

static gboolean country_code_known(unsigned value)
{
    size_t lo = 0, hi = G_N_ELEMENTS(country_codes);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (country_codes[mid] == value)
            return TRUE;
        if (country_codes[mid] < value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return FALSE;
}

/* How many leading digits of `digits` are a country code: 1 to 3, or 0. */
static size_t country_code_length(const char *digits)
{
    unsigned value = 0;

    for (size_t n = 1; n <= 3 && g_ascii_isdigit(digits[n - 1]); n++) {
        value = value * 10 + (unsigned)(digits[n - 1] - '0');
        if (value != 0 && country_code_known(value))
            return n;
    }
    return 0;
}

/* ---- What each country does by default ----------------------------------- */

/* Emergency and service numbers: digits, 'x' for any digit. Checked before
 * extensions, because a call to 110 must never be shown as extension 110 (a
 * PBX with such extensions sets special_numbers). */
static const char *const specials_generic[] = {"112", "116xxx", NULL};
static const char *const specials_nanp[] = {"211", "311", "411", "511", "611",
                                            "711", "811", "911", "988", NULL};
static const char *const specials_de[] = {"110", "112", "115", "116xxx", "118xx", "19222", NULL};
static const char *const specials_at[] = {"112", "122", "128",    "133",    "140",
                                          "141", "144", "116xxx", "118xxx", NULL};
static const char *const specials_ch[] = {"112", "117",  "118",  "143",    "144",  "145",
                                          "147", "1414", "1415", "116xxx", "18xx", NULL};
static const char *const specials_it[] = {"112",  "113",  "115",  "117",    "118",
                                          "1515", "1518", "1530", "116xxx", NULL};
static const char *const specials_uk[] = {"999", "112",    "101",    "105",
                                          "111", "116xxx", "118xxx", NULL};
static const char *const specials_fr[] = {"15",  "17",  "18",  "112",    "114",    "115", "119",
                                          "191", "196", "197", "116xxx", "118xxx", NULL};
static const char *const specials_nl[] = {"112", "144", "116xxx", NULL};

typedef struct country_defaults {
    const char *country_code;
    const char *national_prefix;      /* NULL: "0" */
    const char *international_prefix; /* NULL: "00" */
    const char *const *specials;      /* NULL: specials_generic */
} country_defaults;

/* Countries that differ from "0" and "00". A national prefix of "" means the
 * country has no trunk prefix: numbers are always dialled in full, and a
 * leading 0 belongs to the number (Italy's 06 ...). */
/* clang-format off */
static const country_defaults country_table[] = {
    {"1",   "1",  "011",  specials_nanp},
    {"7",   "8",  "810",  NULL},
    {"30",  "",   NULL,   NULL},
    {"31",  NULL, NULL,   specials_nl},
    {"33",  NULL, NULL,   specials_fr},
    {"34",  "",   NULL,   NULL},
    {"39",  "",   NULL,   specials_it},
    {"41",  NULL, NULL,   specials_ch},
    {"43",  NULL, NULL,   specials_at},
    {"44",  NULL, NULL,   specials_uk},
    {"45",  "",   NULL,   NULL},
    {"47",  "",   NULL,   NULL},
    {"49",  NULL, NULL,   specials_de},
    {"61",  NULL, "0011", NULL},
    {"65",  "",   "000",  NULL},
    {"81",  NULL, "010",  NULL},
    {"298", "",   NULL,   NULL},
    {"299", "",   NULL,   NULL},
    {"351", "",   NULL,   NULL},
    {"352", "",   NULL,   NULL},
    {"354", "",   NULL,   NULL},
    {"356", "",   NULL,   NULL},
    {"357", "",   NULL,   NULL},
    {"371", "",   NULL,   NULL},
    {"372", "",   NULL,   NULL},
    {"377", "",   NULL,   NULL},
    {"378", "",   NULL,   NULL},
    {"852", "",   "001",  NULL},
    {"853", "",   NULL,   NULL},
};
/* clang-format on */

static const country_defaults *country_defaults_for(const char *country_code)
{
    static const country_defaults fallback = {NULL, NULL, NULL, NULL};

    for (size_t i = 0; i < G_N_ELEMENTS(country_table); i++)
        if (strcmp(country_table[i].country_code, country_code) == 0)
            return &country_table[i];
    return &fallback;
}

/* ---- Locations ------------------------------------------------------------ */

typedef struct rewrite_rule {
    GRegex *regex;
    char *replacement;
} rewrite_rule;

/* One numbering plan. Digit strings are short fixed arrays so the hot path
 * reads them without chasing pointers; "" means not set. */
typedef struct location {
    char *name;
    char country_code[4];
    char area_code[MAX_AREA_DIGITS + 1];
    char international_prefix[MAX_PREFIX_DIGITS + 1];
    char national_prefix[MAX_PREFIX_DIGITS + 1];
    char outside_line_prefix[MAX_PREFIX_DIGITS + 1];
    /* strlen() of the five above, for the hot path. */
    size_t country_code_len, area_code_len, international_len, national_len, outside_line_len;
    gboolean strip_outside_line;
    gboolean dial_local_without_area_code;
    gboolean nanp;            /* country code 1: fixed 3-digit areas, 7-digit subscribers */
    uint32_t extension_sizes; /* bit n set: n-digit extensions exist */
    size_t longest_extension;
    char **internal_prefixes; /* NULL: any leading digit */
    char **specials;          /* patterns of digits and 'x' */
    rewrite_rule *rules;
    guint n_rules;
} location;

struct core_numbers {
    GPtrArray *locations;     /* location *, in order of first appearance */
    location *neutral;        /* for when no location can be the default */
    const location *fallback; /* NULL context, and modules without a location */
    GHashTable *by_module;    /* module id -> const location * */
};

static void location_free(gpointer p)
{
    location *loc = p;

    if (!loc)
        return;
    for (guint i = 0; i < loc->n_rules; i++) {
        if (loc->rules[i].regex)
            g_regex_unref(loc->rules[i].regex);
        g_free(loc->rules[i].replacement);
    }
    g_free(loc->rules);
    g_strfreev(loc->internal_prefixes);
    g_strfreev(loc->specials);
    g_free(loc->name);
    g_free(loc);
}

/* The location of a configuration without usable locations: it knows no
 * country, so it places only "+..." numbers, and it knows 2- to 4-digit
 * extensions. */
static location *location_new_neutral(void)
{
    location *loc = g_new0(location, 1);

    loc->name = g_strdup("(neutral)");
    loc->extension_sizes = (1u << 2) | (1u << 3) | (1u << 4);
    loc->longest_extension = 4;
    loc->specials = g_new0(char *, 1);
    return loc;
}

/* ---- Reading a [location NAME] section ------------------------------------ */

static const ucd_config_key location_keys[] = {
    {"country_code", UCD_CONFIG_STRING, UCD_KEY_REQUIRED, NULL,
     "the country's calling code, digits only: 49, 39, 1, 44"},
    {"area_code", UCD_CONFIG_STRING, 0, "",
     "the area code without trunk prefix (89 for Munich; 06 for Rome, where the 0 is part "
     "of the number); empty: none"},
    {"international_prefix", UCD_CONFIG_STRING, 0, NULL,
     "digits dialled before a country code (default by country: 00, 011 in NANP)"},
    {"national_prefix", UCD_CONFIG_STRING, 0, NULL,
     "the trunk prefix dialled before an area code (default by country: 0, 1 in NANP, none "
     "in Italy)"},
    {"outside_line_prefix", UCD_CONFIG_STRING, 0, "",
     "digits the PBX needs to get an outside line (0 or 9); empty: none"},
    {"strip_outside_line", UCD_CONFIG_BOOL, 0, "true",
     "a number starting with outside_line_prefix followed by a national or international "
     "number loses the prefix"},
    {"extension_lengths", UCD_CONFIG_LIST, 0, "2;3;4", "how many digits extensions have"},
    {"internal_prefixes", UCD_CONFIG_LIST, 0, NULL,
     "extensions start with one of these digit strings; unset: with any digit"},
    {"special_numbers", UCD_CONFIG_LIST, 0, NULL,
     "emergency and service numbers, x for any digit (default by country: 110;112;116xxx...)"},
    {"rewrite", UCD_CONFIG_LIST, 0, NULL,
     "REGEX => REPLACEMENT rules applied in order to each raw number before anything else"},
    {"dial_local_without_area_code", UCD_CONFIG_BOOL, 0, "false",
     "dial numbers of the own area without trunk prefix and area code"},
    {NULL, 0, 0, NULL, NULL},
};

/* One section being read: where errors go and what they name. */
typedef struct reader {
    core_section *sec;
    const char *section; /* "location office" */
    GPtrArray *errors;
} reader;

/* Appends "FILE:LINE: [location NAME] key: message". */
static void G_GNUC_PRINTF(3, 4) key_error(reader *r, const char *key, const char *fmt, ...)
{
    char *where = core_section_where(r->sec, key);
    va_list ap;
    char *msg;

    char *shown;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    /* the message quotes the value, which may be a megabyte long */
    shown = core_config_clip_message(msg);
    g_ptr_array_add(r->errors, g_strdup_printf("%s: [%s] %s: %s", where, r->section, key, shown));
    g_free(shown);
    g_free(msg);
    g_free(where);
}

static gboolean all_digits(const char *s)
{
    for (; *s; s++)
        if (!g_ascii_isdigit(*s))
            return FALSE;
    return TRUE;
}

/* Reads a digit-string key into `out` (size max_digits + 1); `fallback` when
 * the key is not set. */
static gboolean read_digits(reader *r, const char *key, const char *fallback, size_t max_digits,
                            char *out)
{
    const char *value = NULL;

    if (core_section_string(r->sec, key, &value) != UCD_OK || !value)
        value = fallback;
    if (!all_digits(value) || strlen(value) > max_digits) {
        key_error(r, key, "'%s' is not a digit string of at most %zu digits", value, max_digits);
        return FALSE;
    }
    g_strlcpy(out, value, max_digits + 1);
    return TRUE;
}

static gboolean read_country(reader *r, location *loc)
{
    const char *value = "";

    core_section_string(r->sec, "country_code", &value);
    if (!all_digits(value) || strlen(value) < 1 || strlen(value) > 3 ||
        country_code_length(value) != strlen(value)) {
        key_error(r, "country_code",
                  "'%s' is not a country calling code (1 to 3 digits such as 49, 39 or 1)", value);
        return FALSE;
    }
    g_strlcpy(loc->country_code, value, sizeof loc->country_code);
    loc->nanp = strcmp(value, "1") == 0;
    return TRUE;
}

static gboolean read_prefixes(reader *r, location *loc)
{
    const country_defaults *def = country_defaults_for(loc->country_code);
    gboolean ok = TRUE;

    ok &= read_digits(r, "international_prefix",
                      def->international_prefix ? def->international_prefix : "00",
                      MAX_PREFIX_DIGITS, loc->international_prefix);
    ok &= read_digits(r, "national_prefix", def->national_prefix ? def->national_prefix : "0",
                      MAX_PREFIX_DIGITS, loc->national_prefix);
    ok &= read_digits(r, "outside_line_prefix", "", MAX_PREFIX_DIGITS, loc->outside_line_prefix);
    if (ok && loc->international_prefix[0] == '\0') {
        key_error(r, "international_prefix", "must not be empty");
        ok = FALSE;
    }
    return ok;
}

/* The most common mistake is writing the area code as dialled ("089"). */
static gboolean read_area(reader *r, location *loc)
{
    size_t np_len = strlen(loc->national_prefix);

    if (!read_digits(r, "area_code", "", MAX_AREA_DIGITS, loc->area_code))
        return FALSE;
    if (np_len > 0 && g_str_has_prefix(loc->area_code, loc->national_prefix)) {
        key_error(r, "area_code",
                  "'%s' starts with the national prefix '%s': write the area code without it "
                  "('%s')",
                  loc->area_code, loc->national_prefix, loc->area_code + np_len);
        return FALSE;
    }
    if (loc->nanp && loc->area_code[0] && strlen(loc->area_code) != 3) {
        key_error(r, "area_code", "'%s': NANP area codes have 3 digits", loc->area_code);
        return FALSE;
    }
    return TRUE;
}

static gboolean read_extension_lengths(reader *r, location *loc)
{
    const char *const *items = NULL;
    size_t count = 0;

    core_section_list(r->sec, "extension_lengths", &items, &count);
    for (size_t i = 0; i < count; i++) {
        char *item = g_strstrip(g_strdup(items[i]));
        guint64 n = 0;
        gboolean ok = g_ascii_string_to_unsigned(item, 10, 1, MAX_EXTENSION_DIGITS, &n, NULL);

        if (!ok)
            key_error(r, "extension_lengths",
                      "'%s' is not a length from 1 to %d (write e.g. 2;3;4)", item,
                      MAX_EXTENSION_DIGITS);
        g_free(item);
        if (!ok)
            return FALSE;
        loc->extension_sizes |= 1u << n;
        loc->longest_extension = MAX(loc->longest_extension, (size_t)n);
    }
    return TRUE;
}

/* A list of strings made of the characters in `allowed`, 1 to max_len long,
 * into *out (NULL when the key is not set). */
static gboolean read_pattern_list(reader *r, const char *key, const char *allowed, size_t max_len,
                                  const char *what, char ***out)
{
    const char *const *items = NULL;
    size_t count = 0;

    *out = NULL;
    if (core_section_list(r->sec, key, &items, &count) != UCD_OK)
        return TRUE;
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(items[i]);

        if (len == 0 || len > max_len || strspn(items[i], allowed) != len) {
            key_error(r, key, "'%s' is not %s, 1 to %zu long", items[i], what, max_len);
            return FALSE;
        }
    }
    *out = g_strdupv((char **)items);
    return TRUE;
}

/* "REGEX => REPLACEMENT", blanks around the arrow ignored (formatting is
 * stripped before rules apply, so blanks never matter in a number). */
static gboolean parse_rule(const char *text, rewrite_rule *rule, char **problem)
{
    const char *arrow = strstr(text, "=>");
    GError *err = NULL;
    char *pattern;

    if (!arrow) {
        *problem = g_strdup_printf("'%s' is not a rule: write REGEX => REPLACEMENT", text);
        return FALSE;
    }
    pattern = g_strstrip(g_strndup(text, arrow - text));
    rule->replacement = g_strstrip(g_strdup(arrow + 2));
    rule->regex = g_regex_new(pattern, G_REGEX_OPTIMIZE, 0, &err);
    if (!rule->regex) {
        *problem =
            g_strdup_printf("'%s' is not a valid regular expression: %s", pattern, err->message);
    } else if (!g_regex_check_replacement(rule->replacement, NULL, &err)) {
        *problem =
            g_strdup_printf("'%s' is not a valid replacement: %s", rule->replacement, err->message);
    }
    g_clear_error(&err);
    g_free(pattern);
    return *problem == NULL;
}

static gboolean read_rules(reader *r, location *loc)
{
    const char *const *items = NULL;
    size_t count = 0;

    if (core_section_list(r->sec, "rewrite", &items, &count) != UCD_OK || count == 0)
        return TRUE;
    loc->rules = g_new0(rewrite_rule, count);
    for (size_t i = 0; i < count; i++) {
        char *problem = NULL;
        gboolean ok = parse_rule(items[i], &loc->rules[loc->n_rules], &problem);

        /* Counted before the check so location_free() releases a half-built
         * rule too. */
        loc->n_rules++;
        if (!ok) {
            key_error(r, "rewrite", "rule %zu: %s", i + 1, problem);
            g_free(problem);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean read_lists(reader *r, location *loc)
{
    const country_defaults *def = country_defaults_for(loc->country_code);
    gboolean ok = read_extension_lengths(r, loc);

    ok &= read_pattern_list(r, "internal_prefixes", "0123456789", MAX_EXTENSION_DIGITS,
                            "a digit string", &loc->internal_prefixes);
    ok &= read_pattern_list(r, "special_numbers", "0123456789x", MAX_SPECIAL_DIGITS,
                            "made of digits and x", &loc->specials);
    /* Not set: the country's own; set empty: none at all. */
    if (!loc->specials && core_section_list(r->sec, "special_numbers", NULL, NULL) != UCD_OK)
        loc->specials = g_strdupv((char **)(def->specials ? def->specials : specials_generic));
    if (!loc->specials)
        loc->specials = g_new0(char *, 1);
    ok &= read_rules(r, loc);
    return ok;
}

static void location_measure(location *loc)
{
    loc->country_code_len = strlen(loc->country_code);
    loc->area_code_len = strlen(loc->area_code);
    loc->international_len = strlen(loc->international_prefix);
    loc->national_len = strlen(loc->national_prefix);
    loc->outside_line_len = strlen(loc->outside_line_prefix);
}

static location *location_from_section(core_config *cfg, const char *section, GPtrArray *errors)
{
    reader r = {NULL, section, errors};
    location *loc;
    gboolean ok;
    int b = 0;

    r.sec = core_section_bind(cfg, section, location_keys, sizeof(ucd_config_key), NULL, errors);
    if (!r.sec)
        return NULL;
    loc = g_new0(location, 1);
    loc->name = g_strdup(section + strlen(LOCATION_PREFIX));
    ok = read_country(&r, loc);
    ok = ok && read_prefixes(&r, loc);
    ok = ok && read_area(&r, loc);
    ok = read_lists(&r, loc) && ok;
    core_section_bool(r.sec, "strip_outside_line", &b);
    loc->strip_outside_line = b;
    b = 0;
    core_section_bool(r.sec, "dial_local_without_area_code", &b);
    loc->dial_local_without_area_code = b;
    core_section_free(r.sec);
    location_measure(loc);
    if (!ok) {
        location_free(loc);
        return NULL;
    }
    return loc;
}

/* ---- Building the service -------------------------------------------------- */

static const location *location_named(core_numbers *numbers, const char *name)
{
    for (guint i = 0; i < numbers->locations->len; i++) {
        const location *loc = g_ptr_array_index(numbers->locations, i);

        if (strcmp(loc->name, name) == 0)
            return loc;
    }
    return NULL;
}

static char *location_names(core_numbers *numbers)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < numbers->locations->len; i++) {
        const location *loc = g_ptr_array_index(numbers->locations, i);

        g_string_append_printf(s, "%s%s", i ? ", " : "", loc->name);
    }
    if (s->len == 0)
        g_string_append(s, "none");
    return g_string_free(s, FALSE);
}

/* numbers.h: "default", else the only location, else the neutral one. */
static const location *choose_fallback(core_numbers *numbers)
{
    const location *named = location_named(numbers, DEFAULT_NAME);

    if (named)
        return named;
    if (numbers->locations->len == 1)
        return g_ptr_array_index(numbers->locations, 0);
    return numbers->neutral;
}

static gboolean location_section_exists(core_config *cfg, const char *name)
{
    char *section = g_strconcat(LOCATION_PREFIX, name, NULL);
    char *where = core_config_where(cfg, section, NULL);
    gboolean exists = where != NULL;

    g_free(section);
    g_free(where);
    return exists;
}

static gboolean map_modules(core_numbers *numbers, core_config *cfg, GPtrArray *errors)
{
    GPtrArray *modules = core_config_modules(cfg);
    gboolean ok = TRUE;

    for (guint i = 0; i < modules->len; i++) {
        const core_module_conf *m = g_ptr_array_index(modules, i);
        const location *loc = m->location ? location_named(numbers, m->location) : NULL;

        if (m->location && !loc && location_section_exists(cfg, m->location)) {
            ok = FALSE; /* the section is there but wrong: already reported */
            continue;
        }
        if (m->location && !loc) {
            char *where = core_config_where(cfg, m->section, "location");
            char *known = location_names(numbers);

            g_ptr_array_add(errors, g_strdup_printf("%s: [%s] location: no [location %s] section "
                                                    "(the locations are: %s)",
                                                    where, m->section, m->location, known));
            g_free(known);
            g_free(where);
            ok = FALSE;
            continue;
        }
        g_hash_table_replace(numbers->by_module, g_strdup(m->id),
                             (gpointer)(loc ? loc : numbers->fallback));
    }
    return ok;
}

core_numbers *core_numbers_new(core_config *cfg, GPtrArray *errors)
{
    core_numbers *numbers = g_new0(core_numbers, 1);
    char **sections = core_config_sections(cfg, LOCATION_PREFIX);
    gboolean ok = TRUE;

    numbers->locations = g_ptr_array_new_with_free_func(location_free);
    numbers->neutral = location_new_neutral();
    numbers->by_module = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (int i = 0; sections[i]; i++) {
        location *loc = location_from_section(cfg, sections[i], errors);

        if (loc)
            g_ptr_array_add(numbers->locations, loc);
        else
            ok = FALSE;
    }
    g_strfreev(sections);
    numbers->fallback = choose_fallback(numbers);
    ok = map_modules(numbers, cfg, errors) && ok;
    if (!ok) {
        core_numbers_free(numbers);
        return NULL;
    }
    return numbers;
}

void core_numbers_free(core_numbers *numbers)
{
    if (!numbers)
        return;
    g_hash_table_destroy(numbers->by_module);
    g_ptr_array_unref(numbers->locations);
    location_free(numbers->neutral);
    g_free(numbers);
}

/* ---- Bounded strings -------------------------------------------------------
 *
 * Every form is written through this: it truncates instead of overflowing
 * and keeps the buffer NUL-terminated after every step. */

typedef struct sbuf {
    char *p;
    size_t size;
    size_t len;
} sbuf;

static void sb_init(sbuf *b, char *p, size_t size)
{
    b->p = p;
    b->size = size;
    b->len = 0;
    p[0] = '\0';
}

static void sb_addn(sbuf *b, const char *s, size_t n)
{
    size_t room = b->size - 1 - b->len;

    if (n > room)
        n = room;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_add(sbuf *b, const char *s)
{
    sb_addn(b, s, strlen(s));
}

static void sb_set(char *dest, size_t size, const char *s)
{
    sbuf b;

    sb_init(&b, dest, size);
    sb_add(&b, s);
}

/* ---- Clean ---------------------------------------------------------------- */

static gboolean is_formatting(char c)
{
    return c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')' || c == '\t';
}

/* Copies `raw` into `out` without formatting characters. "(0)" after a
 * leading '+' is the trunk prefix some countries write into international
 * numbers ("+49 (0)89 1234567"): it is never dialled, so it goes too. FALSE
 * when the result does not fit (no phone number is that long). */
static gboolean strip_formatting(const char *raw, char *out, size_t size)
{
    size_t n = 0;

    for (const char *p = raw; *p; p++) {
        if (n > 0 && out[0] == '+' && p[0] == '(' && p[1] == '0' && p[2] == ')') {
            p += 2;
            continue;
        }
        if (is_formatting(*p))
            continue;
        if (n + 1 >= size)
            return FALSE;
        out[n++] = *p;
    }
    out[n] = '\0';
    return TRUE;
}

/* Applies the rules in order, each to the result of the one before. GRegex
 * is immutable once compiled, so this is thread-safe; it allocates. */
static gboolean apply_rewrites(const location *loc, char *text, size_t size)
{
    for (guint i = 0; i < loc->n_rules; i++) {
        char *result =
            g_regex_replace(loc->rules[i].regex, text, -1, 0, loc->rules[i].replacement, 0, NULL);
        gboolean fits = result && strlen(result) < size;

        if (fits)
            memcpy(text, result, strlen(result) + 1);
        g_free(result);
        if (!fits)
            return FALSE;
    }
    return TRUE;
}

typedef enum text_kind {
    TEXT_INVALID,
    TEXT_DIGITS,        /* "0891234567" */
    TEXT_INTERNATIONAL, /* "+49891234567" */
    TEXT_SERVICE_CODE,  /* "*21#", "#31#0891234567": PBX and network feature codes */
} text_kind;

static text_kind text_kind_of(const char *text)
{
    size_t len = strlen(text);

    if (len == 0)
        return TEXT_INVALID;
    if (text[0] == '*' || text[0] == '#')
        return strspn(text, "0123456789*#") == len ? TEXT_SERVICE_CODE : TEXT_INVALID;
    if (text[0] == '+')
        return len > 1 && strspn(text + 1, "0123456789") == len - 1 ? TEXT_INTERNATIONAL
                                                                    : TEXT_INVALID;
    return strspn(text, "0123456789") == len ? TEXT_DIGITS : TEXT_INVALID;
}

/* Strips, rewrites and strips again (a replacement may bring formatting). */
static text_kind clean(const location *loc, const char *raw, char *text, size_t size)
{
    char rewritten[CLEAN_SIZE];

    if (!strip_formatting(raw, text, size))
        return TEXT_INVALID;
    if (loc->n_rules > 0) {
        if (!apply_rewrites(loc, text, size))
            return TEXT_INVALID;
        if (!strip_formatting(text, rewritten, sizeof rewritten))
            return TEXT_INVALID;
        memcpy(text, rewritten, strlen(rewritten) + 1);
    }
    return text_kind_of(text);
}

/* ---- Classify ------------------------------------------------------------- */

/* A classified number. For numbers of the public network: country code and
 * NSN; for the rest (extensions, special numbers, what cannot be placed):
 * the digits as dialled. */
typedef struct number {
    ucd_number_kind kind;
    gboolean placed; /* country_code and nsn are valid */
    char country_code[4];
    char nsn[E164_MAX_DIGITS + 1];
    size_t area_len; /* leading NSN digits known to be the area code; 0: unknown */
    char dialled[CLEAN_SIZE];
} number;

/* TRUE when `s` starts with the non-empty `prefix`. */
static gboolean has_prefix(const char *s, const char *prefix)
{
    if (*prefix == '\0')
        return FALSE;
    for (; *prefix; s++, prefix++)
        if (*s != *prefix)
            return FALSE;
    return TRUE;
}

static gboolean pattern_matches(const char *pattern, const char *digits)
{
    for (; *pattern && *digits; pattern++, digits++)
        if (*pattern != 'x' && *pattern != *digits)
            return FALSE;
    return *pattern == '\0' && *digits == '\0';
}

static gboolean is_special(const location *loc, const char *digits)
{
    for (char **p = loc->specials; *p; p++)
        if (pattern_matches(*p, digits))
            return TRUE;
    return FALSE;
}

static gboolean is_extension(const location *loc, const char *digits, size_t len)
{
    if (len > MAX_EXTENSION_DIGITS || !(loc->extension_sizes & (1u << len)))
        return FALSE;
    if (!loc->internal_prefixes)
        return TRUE;
    for (char **p = loc->internal_prefixes; *p; p++)
        if (has_prefix(digits, *p))
            return TRUE;
    return FALSE;
}

/* Digits that, dialled with the outside line, reach the public network: an
 * international or national number (by its prefix), a special number, and for
 * NANP a bare 7- or 10-digit number. In countries without trunk prefix every
 * number longer than an extension counts as national. */
static gboolean is_outside_number(const location *loc, const char *digits)
{
    size_t len = strlen(digits);
    size_t np_len = loc->national_len;

    if (is_special(loc, digits))
        return TRUE;
    if (has_prefix(digits, loc->international_prefix))
        return len > loc->international_len;
    if (np_len > 0 && has_prefix(digits, loc->national_prefix))
        return len >= np_len + MIN_NSN;
    if (loc->nanp)
        return len == 7 || len == 10;
    return np_len == 0 && loc->country_code[0] && len >= MIN_NSN && len > loc->longest_extension;
}

/* Numbers of the own country are LOCAL when they start with the own area
 * code; the area code is known for those and for every NANP number. */
static void place_area(const location *loc, number *num)
{
    size_t nsn_len = strlen(num->nsn);
    size_t area_len = loc->area_code_len;
    gboolean same_country = strcmp(num->country_code, loc->country_code) == 0;
    gboolean local =
        same_country && area_len > 0 && nsn_len > area_len && has_prefix(num->nsn, loc->area_code);

    num->area_len = 0;
    if (local)
        num->area_len = area_len;
    else if (strcmp(num->country_code, "1") == 0 && nsn_len == 10)
        num->area_len = 3; /* NANP: always NPA (3) + exchange (3) + line (4) */
    num->kind = !same_country ? UCD_NUMBER_INTERNATIONAL
                : local       ? UCD_NUMBER_LOCAL
                              : UCD_NUMBER_NATIONAL;
}

/* Country code + NSN from its parts; INVALID when the NSN is too short or the
 * whole too long for E.164. */
static int place(const location *loc, const char *country_code, size_t cc_len, const char *area,
                 const char *subscriber, number *num)
{
    size_t area_len = strlen(area), sub_len = strlen(subscriber);

    if (area_len + sub_len < MIN_NSN || cc_len + area_len + sub_len > E164_MAX_DIGITS)
        return UCD_E_INVALID;
    memcpy(num->country_code, country_code, cc_len);
    num->country_code[cc_len] = '\0';
    memcpy(num->nsn, area, area_len);
    memcpy(num->nsn + area_len, subscriber, sub_len + 1);
    num->placed = TRUE;
    place_area(loc, num);
    return UCD_OK;
}

/* `digits` start with a country code. */
static int classify_international(const location *loc, const char *digits, number *num)
{
    size_t cc_len = country_code_length(digits);

    if (cc_len == 0)
        return UCD_E_INVALID;
    return place(loc, digits, cc_len, "", digits + cc_len, num);
}

static int classify_national(const location *loc, const char *nsn, number *num)
{
    return place(loc, loc->country_code, loc->country_code_len, "", nsn, num);
}

/* A subscriber number of the own area. Without a configured area code it
 * cannot be placed: LOCAL, but without E.164. */
static int classify_local(const location *loc, const char *subscriber, number *num)
{
    if (loc->area_code[0] == '\0') {
        num->kind = UCD_NUMBER_LOCAL;
        return UCD_OK;
    }
    return place(loc, loc->country_code, loc->country_code_len, loc->area_code, subscriber, num);
}

/* The outside-line prefix goes when what follows is a number of the public
 * network (docs/admin/numbers.md, "The outside-line prefix"). */
static const char *skip_outside_line(const location *loc, const char *digits)
{
    const char *rest = digits + loc->outside_line_len;

    if (loc->strip_outside_line && has_prefix(digits, loc->outside_line_prefix) &&
        is_outside_number(loc, rest))
        return rest;
    return digits;
}

static int classify_digits(const location *loc, const char *text, number *num)
{
    const char *digits = skip_outside_line(loc, text);
    size_t len = strlen(digits);
    size_t np_len = loc->national_len;

    sb_set(num->dialled, sizeof num->dialled, digits);
    if (is_special(loc, digits)) {
        num->kind = UCD_NUMBER_SPECIAL;
        return UCD_OK;
    }
    if (has_prefix(digits, loc->international_prefix))
        return classify_international(loc, digits + loc->international_len, num);
    if (np_len > 0 && has_prefix(digits, loc->national_prefix) && len >= np_len + MIN_NSN)
        return classify_national(loc, digits + np_len, num);
    if (is_extension(loc, digits, len)) {
        num->kind = UCD_NUMBER_INTERNAL;
        return UCD_OK;
    }
    if (loc->country_code[0] == '\0' || len < MIN_SUBSCRIBER)
        return UCD_OK; /* kept as dialled, kind UNKNOWN */
    if (loc->nanp)
        return len == 10  ? classify_national(loc, digits, num)
               : len == 7 ? classify_local(loc, digits, num)
                          : UCD_OK;
    /* Without trunk prefix (Italy) every number is dialled in full. */
    if (np_len == 0)
        return len >= MIN_NSN ? classify_national(loc, digits, num) : UCD_OK;
    return classify_local(loc, digits, num);
}

static int classify(const location *loc, const char *text, text_kind kind, number *num)
{
    switch (kind) {
    case TEXT_INTERNATIONAL:
        sb_set(num->dialled, sizeof num->dialled, text);
        return classify_international(loc, text + 1, num);
    case TEXT_SERVICE_CODE:
        sb_set(num->dialled, sizeof num->dialled, text);
        num->kind = UCD_NUMBER_SPECIAL;
        return UCD_OK;
    case TEXT_DIGITS:
        return classify_digits(loc, text, num);
    default:
        return UCD_E_INVALID;
    }
}

/* ---- Format --------------------------------------------------------------- */

/* "+CC (AREA) SUBSCRIBER" when the area code is known, else "+CC NSN". */
static void format_canonical(const number *num, char *out, size_t size)
{
    sbuf b;

    sb_init(&b, out, size);
    sb_add(&b, "+");
    sb_add(&b, num->country_code);
    if (num->area_len > 0) {
        sb_add(&b, " (");
        sb_addn(&b, num->nsn, num->area_len);
        sb_add(&b, ") ");
        sb_add(&b, num->nsn + num->area_len);
    } else {
        sb_add(&b, " ");
        sb_add(&b, num->nsn);
    }
}

/* The NSN with a blank after a known area code. */
static void add_nsn_split(sbuf *b, const number *num)
{
    sb_addn(b, num->nsn, num->area_len);
    if (num->area_len > 0)
        sb_add(b, " ");
    sb_add(b, num->nsn + num->area_len);
}

/* Nationally: "089 1234567", "(212) 555-0100"; abroad: "+44 2071234567". */
static void format_display(const location *loc, const number *num, char *out, size_t size)
{
    sbuf b;

    sb_init(&b, out, size);
    if (strcmp(num->country_code, loc->country_code) != 0) {
        sb_add(&b, "+");
        sb_add(&b, num->country_code);
        sb_add(&b, " ");
        add_nsn_split(&b, num);
    } else if (loc->nanp && num->area_len == 3 && strlen(num->nsn) == 10) {
        sb_add(&b, "(");
        sb_addn(&b, num->nsn, 3);
        sb_add(&b, ") ");
        sb_addn(&b, num->nsn + 3, 3);
        sb_add(&b, "-");
        sb_add(&b, num->nsn + 6);
    } else {
        sb_add(&b, loc->national_prefix);
        add_nsn_split(&b, num);
    }
}

/* What the PBX must be sent: outside line, then the national form with trunk
 * prefix (or the subscriber alone, when the location says so), or the
 * international prefix and the country code. */
static void format_dialable(const location *loc, const number *num, const char *e164, char *out,
                            size_t size)
{
    sbuf b;

    sb_init(&b, out, size);
    if (loc->international_prefix[0] == '\0') {
        sb_add(&b, e164); /* the neutral location knows no prefixes */
        return;
    }
    sb_add(&b, loc->outside_line_prefix);
    if (strcmp(num->country_code, loc->country_code) != 0) {
        sb_add(&b, loc->international_prefix);
        sb_add(&b, num->country_code);
        sb_add(&b, num->nsn);
    } else if (num->kind == UCD_NUMBER_LOCAL && loc->dial_local_without_area_code) {
        sb_add(&b, num->nsn + num->area_len);
    } else {
        sb_add(&b, loc->national_prefix);
        sb_add(&b, num->nsn);
    }
}

/* "+49 89 1234567": the area code split off where the rules know it. */
static void format_international(const number *num, char *out, size_t size)
{
    sbuf b;

    sb_init(&b, out, size);
    sb_add(&b, "+");
    sb_add(&b, num->country_code);
    sb_add(&b, " ");
    add_nsn_split(&b, num);
}

static void format_placed(const location *loc, const number *num, ucd_number_info *out)
{
    sbuf b;

    sb_init(&b, out->e164, sizeof out->e164);
    sb_add(&b, "+");
    sb_add(&b, num->country_code);
    sb_add(&b, num->nsn);
    format_canonical(num, out->canonical, sizeof out->canonical);
    format_display(loc, num, out->display, sizeof out->display);
    format_dialable(loc, num, out->e164, out->dialable, sizeof out->dialable);
    format_international(num, out->international, sizeof out->international);
    /* The rules know only the own country's trunk prefix; a plan fills the
     * national form of other countries. */
    if (strcmp(num->country_code, loc->country_code) == 0)
        sb_set(out->national, sizeof out->national, out->display);
}

/* Extensions, special numbers and what cannot be placed keep their digits. */
static void format_as_dialled(const location *loc, const number *num, ucd_number_info *out)
{
    sb_set(out->display, sizeof out->display, num->dialled);
    if (num->kind == UCD_NUMBER_INTERNAL)
        sb_set(out->extension, sizeof out->extension, num->dialled);
    if (num->kind == UCD_NUMBER_LOCAL) {
        sbuf b; /* a subscriber number of an area we do not know */

        sb_init(&b, out->dialable, sizeof out->dialable);
        sb_add(&b, loc->outside_line_prefix);
        sb_add(&b, num->dialled);
    } else {
        sb_set(out->dialable, sizeof out->dialable, num->dialled);
    }
}

/* ---- The attached numbering plan -------------------------------------------
 *
 * One per process (the plan describes the world's numbers, not a
 * configuration), so it outlives the core_numbers that reloads replace.
 * Without a plan, normalize() pays one atomic load. A reader-writer lock
 * would let a steady stream of normalize() calls (a contact replication on
 * every worker) starve the plugin's stop, so the hand-off is a counted
 * pointer instead: a caller counts itself in `inside`, then loads `current`;
 * detach clears `current`, then waits until `inside` drops to zero. With
 * sequentially consistent atomics either the caller sees NULL or detach sees
 * the caller counted, so no describe() can run once detach returns, and new
 * callers never wait. */
typedef struct plan_binding {
    const ucd_numbers_plan_v1 *plan;
    void *impl;
} plan_binding;

static struct {
    _Atomic(plan_binding *) current;
    atomic_uint inside;
    GMutex change; /* serializes attach and detach; static: needs no init */
} numbers_plan;

int core_numbers_attach_plan(const ucd_numbers_plan_v1 *plan, void *plan_impl)
{
    int rc = UCD_OK;

    if (!plan ||
        plan->struct_size < offsetof(ucd_numbers_plan_v1, describe) + sizeof plan->describe ||
        !plan->describe)
        return UCD_E_INVALID;
    g_mutex_lock(&numbers_plan.change);
    if (atomic_load(&numbers_plan.current)) {
        rc = UCD_E_BUSY;
    } else {
        plan_binding *b = g_new(plan_binding, 1);

        b->plan = plan;
        b->impl = plan_impl;
        atomic_store(&numbers_plan.current, b);
    }
    g_mutex_unlock(&numbers_plan.change);
    return rc;
}

void core_numbers_detach_plan(void *plan_impl)
{
    g_mutex_lock(&numbers_plan.change);
    plan_binding *b = atomic_load(&numbers_plan.current);
    if (b && b->impl == plan_impl) {
        atomic_store(&numbers_plan.current, NULL);
        while (atomic_load(&numbers_plan.inside) > 0)
            g_usleep(100); /* a describe() takes microseconds */
        g_free(b);
    }
    g_mutex_unlock(&numbers_plan.change);
}

/* Lets the plan complete a number the rules placed. describe() receives the
 * caller's struct_size, so it writes no field the caller lacks. */
static void describe_with_plan(const location *loc, ucd_number_info *info)
{
    if (!atomic_load(&numbers_plan.current) || info->e164[0] == '\0')
        return;
    atomic_fetch_add(&numbers_plan.inside, 1);
    plan_binding *b = atomic_load(&numbers_plan.current);
    if (b)
        b->plan->describe(b->impl, loc->country_code, info);
    atomic_fetch_sub(&numbers_plan.inside, 1);
}

/* ---- Normalize ------------------------------------------------------------ */

static const location *location_for(const core_numbers *numbers, const char *context, int *rc)
{
    const location *loc;

    *rc = UCD_OK;
    if (!context)
        return numbers->fallback;
    loc = g_hash_table_lookup(numbers->by_module, context);
    if (loc)
        return loc;
    *rc = UCD_E_NOT_FOUND;
    return numbers->fallback;
}

static int normalize_into(const location *loc, const char *raw, ucd_number_info *info)
{
    char text[CLEAN_SIZE];
    number num;
    int rc;

    text_kind kind = clean(loc, raw, text, sizeof text);

    memset(&num, 0, sizeof num);
    rc = classify(loc, text, kind, &num);
    if (rc != UCD_OK)
        return rc;
    info->kind = num.kind;
    if (num.placed)
        format_placed(loc, &num, info);
    else
        format_as_dialled(loc, &num, info);
    return UCD_OK;
}

/* Normalizes `raw` at `loc` (NULL: no number service) into `out`; a found
 * number returns `found_rc`. The plan, when attached, completes it unless
 * `rules_only`. */
static int normalize_at(const location *loc, int found_rc, const char *raw, ucd_number_info *out,
                        gboolean rules_only)
{
    ucd_number_info info;
    int rc;

    /* ABI rule (plugin.h): fill only what the caller's struct has. */
    if (!out || out->struct_size < offsetof(ucd_number_info, kind) + sizeof out->kind)
        return UCD_E_INVALID;
    memset(&info, 0, sizeof info);
    info.struct_size = out->struct_size;
    rc = UCD_E_INVALID;
    if (loc && raw) {
        rc = normalize_into(loc, raw, &info);
        if (rc == UCD_OK) {
            if (!rules_only)
                describe_with_plan(loc, &info);
            rc = found_rc;
        } else
            memset(&info, 0, sizeof info); /* a half-classified number leaves nothing */
    }
    if (rc == UCD_E_INVALID) {
        memset(&info, 0, sizeof info);
        info.kind = UCD_NUMBER_UNKNOWN;
    }
    info.struct_size = out->struct_size;
    memcpy(out, &info, MIN((size_t)out->struct_size, sizeof info));
    return rc;
}

int core_numbers_normalize(core_numbers *numbers, const char *context, const char *raw,
                           ucd_number_info *out)
{
    int context_rc = UCD_OK;
    const location *loc = numbers ? location_for(numbers, context, &context_rc) : NULL;

    return normalize_at(loc, context_rc, raw, out, FALSE);
}

int core_numbers_normalize_rules(core_numbers *numbers, const char *context, const char *raw,
                                 ucd_number_info *out)
{
    int context_rc = UCD_OK;
    const location *loc = numbers ? location_for(numbers, context, &context_rc) : NULL;

    return normalize_at(loc, context_rc, raw, out, TRUE);
}

int core_numbers_normalize_in(core_numbers *numbers, const char *location_name, const char *raw,
                              ucd_number_info *out, const char **used)
{
    const location *loc;

    if (!numbers)
        return UCD_E_INVALID;
    loc = location_name ? location_named(numbers, location_name) : numbers->fallback;
    if (!loc)
        return UCD_E_NOT_FOUND;
    if (used)
        *used = loc->name;
    return normalize_at(loc, UCD_OK, raw, out, FALSE);
}

char *core_numbers_location_names(core_numbers *numbers)
{
    return location_names(numbers);
}

const char *core_numbers_kind_name(uint32_t kind)
{
    static const char *const names[] = {"unknown",  "internal",      "local",
                                        "national", "international", "special"};

    return kind < G_N_ELEMENTS(names) ? names[kind] : "unknown";
}

const char *core_numbers_type_name(uint32_t type)
{
    static const char *const names[] = {
        "unknown",   "fixed line",   "mobile",      "fixed line or mobile",
        "toll-free", "premium rate", "shared cost", "VoIP",
        "personal",  "pager",        "UAN",         "voicemail"};

    return type < G_N_ELEMENTS(names) ? names[type] : "unknown";
}

const char *core_numbers_validity_name(uint32_t validity)
{
    static const char *const names[] = {"unchecked", "valid", "invalid"};

    return validity < G_N_ELEMENTS(names) ? names[validity] : "unchecked";
}

static int iface_normalize(void *impl, const char *context, const char *raw, ucd_number_info *out)
{
    return core_numbers_normalize(impl, context, raw, out);
}

static int iface_normalize_rules(void *impl, const char *context, const char *raw,
                                 ucd_number_info *out)
{
    return core_numbers_normalize_rules(impl, context, raw, out);
}

int core_numbers_iface_attach_plan(void *impl, const ucd_numbers_plan_v1 *plan, void *plan_impl)
{
    (void)impl;
    return core_numbers_attach_plan(plan, plan_impl);
}

void core_numbers_iface_detach_plan(void *impl, void *plan_impl)
{
    (void)impl;
    core_numbers_detach_plan(plan_impl);
}

const ucd_numbers_v1 *core_numbers_iface(void)
{
    static const ucd_numbers_v1 iface = {
        .struct_size = sizeof(ucd_numbers_v1),
        .normalize = iface_normalize,
        .attach_plan = core_numbers_iface_attach_plan,
        .detach_plan = core_numbers_iface_detach_plan,
        .normalize_rules = iface_normalize_rules,
    };

    return &iface;
}
