/*
 * fake-registry.h - services of modules that are not there: an entry in the
 * module manager's service table whose provider is a bare module record, so
 * the registry (and so the model) treats a test's fake services like a
 * plugin's. Shared by the model's tests.
 */
#ifndef TESTS_MODEL_FAKE_REGISTRY_H
#define TESTS_MODEL_FAKE_REGISTRY_H

#include "instance.h"

/* Registers `iface`/`impl` as service `name` major 1 of module `id`, running.
 * The module record goes into `providers` (made with
 * g_ptr_array_new_with_free_func(fake_provider_free)); set its state to fake
 * a stop. */
ucd_plugin *fake_provider_add(core_modules *mods, GPtrArray *providers, const char *id,
                              const char *name, const void *iface, void *impl);
void fake_provider_free(gpointer provider);

#endif /* TESTS_MODEL_FAKE_REGISTRY_H */
