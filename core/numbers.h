/*
 * numbers.h - the core's number service (sdk/include/ucd/numbers.h) behind
 * the "numbers" major 1 interface.
 *
 * Locations come from "[location NAME]" sections; each PBX driver module
 * names its location with the module key `location` (config.h). A context
 * (module id) without one uses the location named "default", else the only
 * location, else a neutral location that only understands "+..." numbers and
 * extensions.
 */
#ifndef CORE_NUMBERS_H
#define CORE_NUMBERS_H

#include <glib.h>
#include <ucd/numbers.h>

#include "config.h"

typedef struct core_numbers core_numbers;

/* Builds the service from every [location NAME] section of `cfg` (keys checked
 * with file:line, rewrite rules compiled) and the `location` key of every
 * module section (an unknown location name is an error at that key). Returns
 * NULL after appending errors. */
core_numbers *core_numbers_new(core_config *cfg, GPtrArray *errors);
void core_numbers_free(core_numbers *numbers);

/* The interface to register with core_modules_add_core_service(); its impl
 * argument is the core_numbers. */
const ucd_numbers_v1 *core_numbers_iface(void);

/* Same as the interface's normalize(). Thread-safe, lock-free, and
 * allocation-free except for locations with rewrite rules (GRegex allocates
 * while it replaces). docs/admin/numbers.md says how numbers are read. */
int core_numbers_normalize(core_numbers *numbers, const char *context, const char *raw,
                           ucd_number_info *out);

#endif /* CORE_NUMBERS_H */
