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
 */
#ifndef UCD_NUMBERS_H
#define UCD_NUMBERS_H

#include <ucd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCD_NUMBERS_SERVICE "numbers"
#define UCD_NUMBERS_MAJOR   1
#define UCD_NUMBERS_MINOR 0

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
} ucd_number_info;

typedef struct ucd_numbers_v1 {
    uint32_t struct_size;

    /* Normalizes `raw` as sent by (or to be dialled on) the PBX driver module
     * `context` (its module id; NULL = the default location). UCD_OK,
     * UCD_E_INVALID when `raw` holds no number (the info is then UNKNOWN with
     * empty strings), UCD_E_NOT_FOUND for an unknown context (the default
     * location is used and the info filled anyway). */
    int (*normalize)(void *impl, const char *context, const char *raw, ucd_number_info *out);
} ucd_numbers_v1;

#ifdef __cplusplus
}
#endif
#endif /* UCD_NUMBERS_H */
