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
 * while it replaces) and while a numbering plan is attached (its describe()
 * runs, counted so that detaching waits for it). docs/admin/numbers.md says
 * how numbers are read. */
int core_numbers_normalize(core_numbers *numbers, const char *context, const char *raw,
                           ucd_number_info *out);

/* Same as the interface's normalize_rules(): normalize() without the
 * attached plan, lock-free and allocation-free as without one. */
int core_numbers_normalize_rules(core_numbers *numbers, const char *context, const char *raw,
                                 ucd_number_info *out);

/* The same at the location named `location_name` (NULL: the default one, as
 * for a NULL context), for `ucctl number`. UCD_E_NOT_FOUND, with `out`
 * untouched, when no location has that name; *used (may be NULL) gets the
 * name of the location used, owned by `numbers`. */
int core_numbers_normalize_in(core_numbers *numbers, const char *location_name, const char *raw,
                              ucd_number_info *out, const char **used);

/* "name, name, ..." of every [location NAME], or "none" (g_free). */
char *core_numbers_location_names(core_numbers *numbers);

/* "internal", "local", ... for a ucd_number_kind. */
const char *core_numbers_kind_name(uint32_t kind);

/* "fixed line", "mobile", "toll-free", ... for a ucd_number_type. */
const char *core_numbers_type_name(uint32_t type);

/* "unchecked", "valid" or "invalid" for a ucd_number_validity. */
const char *core_numbers_validity_name(uint32_t validity);

/* Attaches a numbering plan for every core_numbers of the process (SDK:
 * ucd_numbers_v1.attach_plan): from then on, normalize() hands each number
 * its rules placed to plan->describe(). UCD_E_BUSY when a plan is attached,
 * UCD_E_INVALID for a plan without describe(). */
int core_numbers_attach_plan(const ucd_numbers_plan_v1 *plan, void *plan_impl);

/* Detaches the plan attached with `plan_impl` (nothing otherwise) and
 * returns once no describe() runs any more in any thread. */
void core_numbers_detach_plan(void *plan_impl);

/* The two above in the interface's shape (impl unused), for the daemon's
 * registration of the service. */
int core_numbers_iface_attach_plan(void *impl, const ucd_numbers_plan_v1 *plan, void *plan_impl);
void core_numbers_iface_detach_plan(void *impl, void *plan_impl);

#endif /* CORE_NUMBERS_H */
