/*
 * ucd/numbers.h - the number service, "numbers" major 1, provided by the core.
 *
 * Phone numbers arrive from PBXes in every shape: "0891234567", "0049891234567",
 * "+49 89 1234567", "L0#0891234567" (an outside-line marker), "201" (an internal
 * extension). The core knows each PBX's location (country and area code,
 * prefixes, outside-line digit, extension lengths, rewrite rules: the
 * "[location NAME]" sections of the configuration, chosen per driver module
 * with its `location` key) and turns any raw number into the forms below.
 *
 * Every plugin may use it, without declaring anything:
 *     ucd_service s = {.struct_size = sizeof s};
 *     host->service_get(self, UCD_NUMBERS_SERVICE, UCD_NUMBERS_MAJOR, NULL, &s);
 *     const ucd_numbers_v1 *numbers = s.iface;
 *     ucd_number_info info = {.struct_size = sizeof info};
 *     numbers->normalize(s.impl, host->module_id(self), raw, &info);
 * normalize() is thread-safe: call it from any thread. It allocates nothing,
 * except for a location with rewrite rules (each rule's replacement does).
 *
 * Since 1.1 a plugin may attach a numbering plan (the "numbers-phonenumber"
 * plugin attaches libphonenumber's): the core still applies the location's
 * rules first (outside line, extensions, rewrite rules, special numbers), then
 * hands every number of the public network to the plan, which splits area
 * codes of every country, checks validity and fills the number's type and
 * place. Without a plan, normalize() answers from the core's rules alone, as
 * in 1.0. With one, normalize() allocates and takes tens of microseconds;
 * normalize_rules() answers from the core's rules alone, at their speed.
 */
#ifndef UCD_NUMBERS_H
#define UCD_NUMBERS_H

#include <ucd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCD_NUMBERS_SERVICE "numbers"
#define UCD_NUMBERS_MAJOR   1
#define UCD_NUMBERS_MINOR   1

typedef enum ucd_number_kind {
    UCD_NUMBER_UNKNOWN = 0,       /* empty, withheld, or not a phone number */
    UCD_NUMBER_INTERNAL = 1,      /* an extension of this PBX */
    UCD_NUMBER_LOCAL = 2,         /* same country and area as the location */
    UCD_NUMBER_NATIONAL = 3,      /* same country, another area */
    UCD_NUMBER_INTERNATIONAL = 4, /* another country */
    UCD_NUMBER_SPECIAL = 5,       /* short or service numbers (112, 911, 116117) */
} ucd_number_kind;

/* The forms of one number. Strings are NUL-terminated and empty when a form
 * does not apply (an internal extension has no E.164 form). */
typedef struct ucd_number_info {
    uint32_t struct_size;
    uint32_t kind;      /* ucd_number_kind */
    char e164[24];      /* "+49891234567" */
    char canonical[40]; /* super-canonical "+49 (89) 1234567" */
    char dialable[40];  /* what to dial from this location, outside-line prefix included */
    char display[40];   /* for people: "089 1234567" nationally, "+1 212 5550100" abroad */
    char extension[16]; /* the extension, when internal */

    /* Since 1.1 (filled only when struct_size covers them). The core fills
     * `international` and, for numbers of its own country, `national` from
     * its rules (the area code split where it knows it); a numbering plan
     * (ucd_numbers_plan_v1) fills all of them for every country. */
    uint32_t type;          /* ucd_number_type; UNKNOWN without a plan */
    uint32_t validity;      /* ucd_number_validity; UNCHECKED without a plan */
    char region[4];         /* ISO 3166 code of the number's country ("DE"), plan only */
    char international[40]; /* "+49 30 1234567" */
    char national[40];      /* "030 1234567": as dialled inside the number's country */
    char place[64];         /* "Berlin", "Milano" (UTF-8), or the country; plan only */
} ucd_number_info;

/* What kind of line a number reaches, by its country's numbering plan
 * (libphonenumber's categories). */
typedef enum ucd_number_type {
    UCD_NUMBER_TYPE_UNKNOWN = 0,
    UCD_NUMBER_TYPE_FIXED_LINE = 1,
    UCD_NUMBER_TYPE_MOBILE = 2,
    UCD_NUMBER_TYPE_FIXED_LINE_OR_MOBILE = 3, /* the plan cannot tell (US, CA) */
    UCD_NUMBER_TYPE_TOLL_FREE = 4,
    UCD_NUMBER_TYPE_PREMIUM_RATE = 5,
    UCD_NUMBER_TYPE_SHARED_COST = 6,
    UCD_NUMBER_TYPE_VOIP = 7,
    UCD_NUMBER_TYPE_PERSONAL = 8,
    UCD_NUMBER_TYPE_PAGER = 9,
    UCD_NUMBER_TYPE_UAN = 10, /* universal access number (a company's single number) */
    UCD_NUMBER_TYPE_VOICEMAIL = 11,
} ucd_number_type;

typedef enum ucd_number_validity {
    UCD_NUMBER_UNCHECKED = 0, /* no numbering plan attached, or not a public number */
    UCD_NUMBER_VALID = 1,     /* a number its country's plan assigns */
    UCD_NUMBER_INVALID = 2,   /* right country code, but no such number (too short, no such area) */
} ucd_number_validity;

/* ---- The numbering plan (since 1.1) ------------------------------------------
 *
 * What a plan plugin attaches with ucd_numbers_v1.attach_plan(). The core
 * calls describe() from any thread, for every number its rules placed (those
 * with an E.164 form), with `info` filled by the rules and `country_code` the
 * location's ("49"). describe() completes `info`: canonical, display,
 * international and national with the area code split, type, validity,
 * region and place; it leaves kind, e164, dialable and extension alone (the
 * PBX layer is the core's) and writes only what info->struct_size covers.
 * A number the plan does not know as valid keeps the core's forms and gets
 * UCD_NUMBER_INVALID. describe() returns UCD_OK, or UCD_E_INVALID when it
 * could not read the number at all (the core's forms then stand as they are). */
typedef struct ucd_numbers_plan_v1 {
    uint32_t struct_size;
    int (*describe)(void *impl, const char *country_code, ucd_number_info *info);
} ucd_numbers_plan_v1;

typedef struct ucd_numbers_v1 {
    uint32_t struct_size;

    /* Normalizes `raw` as sent by (or to be dialled on) the PBX driver module
     * `context` (its module id; NULL = the default location). UCD_OK,
     * UCD_E_INVALID when `raw` holds no number (the info is then UNKNOWN with
     * empty strings), UCD_E_NOT_FOUND for an unknown context (the default
     * location is used and the info filled anyway). */
    int (*normalize)(void *impl, const char *context, const char *raw, ucd_number_info *out);

    /* Since 1.1. Attaches a numbering plan (one at a time: UCD_E_BUSY when
     * another is attached). Call from the plan plugin's start hook; `plan`
     * and `plan_impl` must stay valid until detach_plan() returns. */
    int (*attach_plan)(void *impl, const ucd_numbers_plan_v1 *plan, void *plan_impl);
    /* Since 1.1. Detaches the plan attached with `plan_impl` (nothing
     * otherwise); returns after every describe() still running in other
     * threads has returned, so the plugin may then free `plan_impl`. Call
     * from the stop hook. */
    void (*detach_plan)(void *impl, void *plan_impl);

    /* Since 1.1. normalize() by the core's rules alone, never asking an
     * attached plan: lock-free and allocation-free as in 1.0, hundreds of
     * times faster than with libphonenumber's plan (docs/PERFORMANCE.md),
     * and with the same kind, e164, dialable and extension (a plan never
     * changes those). For bulk work that needs only E.164: indexing a
     * directory, reverse lookups. */
    int (*normalize_rules)(void *impl, const char *context, const char *raw, ucd_number_info *out);
} ucd_numbers_v1;

#ifdef __cplusplus
}
#endif
#endif /* UCD_NUMBERS_H */
