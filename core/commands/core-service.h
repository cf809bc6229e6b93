/*
 * core-service.h - what every file of core/commands shares: the commands'
 * context and the one way they find the core's services. Below both
 * model-commands.c (which registers the handlers) and the handler files, so
 * neither needs the other.
 */
#ifndef CORE_COMMANDS_CORE_SERVICE_H
#define CORE_COMMANDS_CORE_SERVICE_H

#include <glib.h>
#include <ucd/ucd.h>

#include "modules.h"
#include "worker.h"

/* Also declared in model-commands.h, where it is an opaque handle. */
typedef struct core_model_commands core_model_commands;

struct core_model_commands {
    core_modules *mods;
    core_workers *workers;
    /* users-backend.c: the last sync of each backend, provider -> sync_state */
    GHashTable *syncs;
};

/* The core's service `name` at `major` (provider "core"); FALSE after
 * replying why not. */
gboolean core_service(core_model_commands *c, const char *name, uint32_t major, ucd_service *s,
                      ucd_reply *r);

#endif /* CORE_COMMANDS_CORE_SERVICE_H */
