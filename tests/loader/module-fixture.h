/*
 * module-fixture.h - the real module manager over the fixture plugins of
 * tests/plugins, for the loader suite's tests that start modules: a runtime
 * (own main context, bus, worker pool, state directory in a temporary
 * directory), a configuration written from a string, checked and started as
 * the daemon does it, and what the modules did read back: states, errors,
 * declarations and counters.
 */
#ifndef TESTS_LOADER_MODULE_FIXTURE_H
#define TESTS_LOADER_MODULE_FIXTURE_H

#include "modules.h"

typedef struct module_fixture {
    char *dir;
    GMainContext *ctx;
    core_runtime rt;
    core_modules *mods;
    core_config *cfg;
    GPtrArray *errors; /* char *: what the check found */
} module_fixture;

/* A runtime whose pool has `threads` threads, plugins from TEST_PLUGIN_DIR,
 * and a manager with nothing configured yet. */
void module_fixture_set_up(module_fixture *f, int threads);
/* Stops and frees the modules, then the runtime; removes the directory. */
void module_fixture_tear_down(module_fixture *f);

/* Writes "[core]" plus `body` as the configuration, checks it and starts what
 * checked (the test fails when the configuration itself does not load or a
 * required module stops start-up). Returns the number of check errors: each
 * module that cannot start is one. */
int module_fixture_start(module_fixture *f, const char *body);

/* Module `id` as `ucctl modules` sees it; its last error (g_free) goes to
 * `*error` when that is not NULL. The test fails when there is no such
 * module. */
core_module_info module_fixture_info(module_fixture *f, const char *id, char **error);
/* Its state word: "running", "failed" ... */
const char *module_fixture_state(module_fixture *f, const char *id);
/* The value of counter MODULE.NAME; the test fails when it does not exist. */
int64_t module_fixture_counter(module_fixture *f, const char *module, const char *name);

#endif /* TESTS_LOADER_MODULE_FIXTURE_H */
