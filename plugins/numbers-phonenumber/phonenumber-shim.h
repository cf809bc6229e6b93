/*
 * phonenumber-shim.h - libphonenumber behind C functions.
 *
 * libphonenumber is C++ (and brings ICU and libstdc++); this header is all
 * the plugin's C code sees of it. phonenumber-shim.cc is the only C++ file.
 */
#ifndef NUMBERS_PHONENUMBER_SHIM_H
#define NUMBERS_PHONENUMBER_SHIM_H

#include <ucd/numbers.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct phonenumber_shim phonenumber_shim;

/* A shim whose places are in `language` (ISO 639: "en", "de", "it"; the
 * geocoder falls back to English where it has no name in that language), or
 * without places when `language` is NULL. Loads libphonenumber's metadata on
 * first use (PhoneNumberUtil is a process-wide singleton). Returns NULL when
 * the language is not two or three lowercase letters. */
phonenumber_shim *phonenumber_shim_new(const char *language);
void phonenumber_shim_free(phonenumber_shim *shim);

/* ucd_numbers_plan_v1.describe() with a phonenumber_shim as impl: completes
 * `info` (its e164 filled by the core's rules) from libphonenumber as the
 * SDK says, `country_code` being the location's ("49"; NULL or "": no home
 * country, so every number is shown in international form). Thread-safe. */
int phonenumber_shim_describe(void *shim, const char *country_code, ucd_number_info *info);

#ifdef __cplusplus
}
#endif
#endif /* NUMBERS_PHONENUMBER_SHIM_H */
