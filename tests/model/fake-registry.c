/*
 * fake-registry.c - services of modules that are not there (fake-registry.h).
 */
#include "fake-registry.h"

ucd_plugin *fake_provider_add(core_modules *mods, GPtrArray *providers, const char *id,
                              const char *name, const void *iface, void *impl)
{
    ucd_plugin *p = g_new0(ucd_plugin, 1);
    p->mods = mods;
    p->id = g_strdup(id);
    p->state = UCD_MODULE_RUNNING;
    core_service_entry *e = g_new0(core_service_entry, 1);
    e->provider = p;
    e->name = g_strdup(name);
    e->major = 1;
    e->iface = iface;
    e->impl = impl;
    g_ptr_array_add(mods->services, e);
    g_ptr_array_add(providers, p);
    return p;
}

void fake_provider_free(gpointer provider)
{
    ucd_plugin *p = provider;
    g_free(p->id);
    g_free(p);
}
