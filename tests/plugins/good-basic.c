/*
 * good-basic - a well-formed plugin: provides "test.alpha" major 1, declares
 * one configuration key of each type, and logs each life-cycle hook so that a
 * test can follow init -> start -> stop -> fini in the log.
 */
#include <stdlib.h>
#include <ucd/host.h>
#include <ucd/plugin.h>

#include "test-alpha.h"

typedef struct basic_state {
    ucd_plugin *self;
    const ucd_host *host;
} basic_state;

static int basic_answer(void *impl)
{
    return 42;
}

static const test_alpha_v1 basic_alpha = {
    .struct_size = sizeof(test_alpha_v1),
    .answer = basic_answer,
};

static int basic_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    const char *greeting = "(unset)";
    host->config_string(self, "greeting", &greeting);
    host->log(self, UCD_LOG_INFO, "good-basic init greeting=%s", greeting);

    basic_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return UCD_E_NOMEM;
    st->self = self;
    st->host = host;
    *state = st;
    return host->service_register(self, TEST_ALPHA_SERVICE, TEST_ALPHA_MAJOR, &basic_alpha, st);
}

static int basic_start(void *state)
{
    basic_state *st = state;
    st->host->log(st->self, UCD_LOG_INFO, "good-basic start");
    return UCD_OK;
}

static void basic_stop(void *state)
{
    basic_state *st = state;
    st->host->log(st->self, UCD_LOG_INFO, "good-basic stop");
}

static void basic_fini(void *state)
{
    basic_state *st = state;
    st->host->log(st->self, UCD_LOG_INFO, "good-basic fini");
    free(st);
}

static const ucd_service_decl basic_provides[] = {
    UCD_PROVIDE(TEST_ALPHA_SERVICE, TEST_ALPHA_MAJOR, 0, 0),
    {NULL},
};

static const ucd_config_key basic_keys[] = {
    {"greeting", UCD_CONFIG_STRING, 0, "hello", "what init logs"},
    {"count", UCD_CONFIG_INT, 0, "3", "a number"},
    {"verbose", UCD_CONFIG_BOOL, 0, "false", "a switch"},
    {"ratio", UCD_CONFIG_DOUBLE, 0, "0.5", "a fraction"},
    {"peers", UCD_CONFIG_LIST, 0, "a;b", "a list of names"},
    {"interval", UCD_CONFIG_DURATION, 0, "5s", "a duration"},
    {"token", UCD_CONFIG_STRING, UCD_KEY_SECRET, NULL, "a secret, never logged"},
    {NULL, 0, 0, NULL, NULL},
};

UCD_PLUGIN_DEFINE(.name = "good-basic", .version = "1.0.0", .license = "MIT",
                  .description = "test fixture: a well-formed plugin", .provides = basic_provides,
                  .config_keys = basic_keys, .init = basic_init, .start = basic_start,
                  .stop = basic_stop, .fini = basic_fini);
