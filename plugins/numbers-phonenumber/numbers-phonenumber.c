/*
 * numbers-phonenumber.c - attaches libphonenumber's numbering plans to the
 * core's number service (README.md).
 *
 * The core keeps the PBX layer (locations, outside line, extensions, rewrite
 * rules, special numbers) and still provides "numbers" itself; this module
 * only attaches a ucd_numbers_plan_v1 at start and detaches it at stop
 * (ucd/numbers.h, since 1.1). Everything C++ is behind phonenumber-shim.h,
 * so ICU and libstdc++ are mapped into ucd only while this module is
 * enabled.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <ucd/ucd.h>

#include "phonenumber-shim.h"

typedef struct numbers_phonenumber {
    ucd_plugin *self;
    const ucd_host *host;
    const ucd_numbers_v1 *numbers;
    void *numbers_impl;
    phonenumber_shim *shim;
    bool attached;
} numbers_phonenumber;

static const ucd_numbers_plan_v1 plan = {
    .struct_size = sizeof(ucd_numbers_plan_v1),
    .describe = phonenumber_shim_describe,
};

static int np_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    const char *language = NULL;
    int places = 1;
    ucd_service s = {.struct_size = sizeof s};

    host->config_string(self, "language", &language);
    host->config_bool(self, "places", &places);
    if (host->service_get(self, UCD_NUMBERS_SERVICE, UCD_NUMBERS_MAJOR, "core", &s) != UCD_OK) {
        host->set_error(self, "the core's number service 1.1 is missing");
        return UCD_FAIL;
    }
    const ucd_numbers_v1 *numbers = s.iface;
    /* attach_plan and detach_plan are all this module needs of 1.1. */
    if (numbers->struct_size <
            offsetof(ucd_numbers_v1, detach_plan) + sizeof numbers->detach_plan ||
        !numbers->attach_plan || !numbers->detach_plan) {
        host->set_error(self, "the core's number service cannot attach a numbering plan (< 1.1)");
        return UCD_FAIL;
    }
    phonenumber_shim *shim = phonenumber_shim_new(places ? (language ? language : "en") : NULL);
    if (!shim)
        return host->config_error(self, "language",
                                  "\"%s\" is no language code (two or three lowercase letters, "
                                  "ISO 639: en, de, it)",
                                  language ? language : "");
    numbers_phonenumber *np = calloc(1, sizeof *np);
    if (!np) {
        phonenumber_shim_free(shim);
        host->set_error(self, "out of memory");
        return UCD_FAIL;
    }
    np->self = self;
    np->host = host;
    np->numbers = numbers;
    np->numbers_impl = s.impl;
    np->shim = shim;
    *state = np;
    return UCD_OK;
}

static int np_start(void *state)
{
    numbers_phonenumber *np = state;
    int rc = np->numbers->attach_plan(np->numbers_impl, &plan, np->shim);

    if (rc != UCD_OK) {
        np->host->set_error(np->self, "another numbering plan is attached already");
        return UCD_FAIL;
    }
    np->attached = true;
    np->host->log(np->self, UCD_LOG_INFO, "libphonenumber's numbering plans attached");
    return UCD_OK;
}

static void np_stop(void *state)
{
    numbers_phonenumber *np = state;

    /* Returns once no thread is inside phonenumber_shim_describe(), so fini
     * may free the shim. */
    if (np->attached)
        np->numbers->detach_plan(np->numbers_impl, np->shim);
    np->attached = false;
}

static void np_fini(void *state)
{
    numbers_phonenumber *np = state;

    phonenumber_shim_free(np->shim);
    free(np);
}

static const ucd_service_decl np_requires[] = {
    UCD_NEED(UCD_NUMBERS_SERVICE, UCD_NUMBERS_MAJOR, 1),
    {NULL},
};

static const ucd_config_key np_keys[] = {
    {"language", UCD_CONFIG_STRING, 0, "en",
     "the language of places (ISO 639: en, de, it, fr); where the geocoder has no name in it, "
     "English"},
    {"places", UCD_CONFIG_BOOL, 0, "true",
     "look up the place of each number (the geocoder's tables cost memory once used)"},
    {NULL, 0, 0, NULL, NULL},
};

UCD_PLUGIN_DEFINE(.name = "numbers-phonenumber", .version = "1.0.0", .license = "MIT",
                  .description = "libphonenumber's numbering plans for the core's number service: "
                                 "area codes, validity, type and place for every country",
                  .requires = np_requires, .config_keys = np_keys, .init = np_init,
                  .start = np_start, .stop = np_stop, .fini = np_fini);
