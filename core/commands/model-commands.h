/*
 * model-commands.h - ucctl's model commands: users, groups, lines, calls,
 * presence, journal, caps and the call-control test dialer (dial, answer,
 * hangup, hold, retrieve, transfer, consult-transfer, deflect, pickup, dtmf,
 * forward, dnd).
 *
 * They are a front end like any plugin: they reach the model only through
 * the SDK services in the registry (directory, calls, presence from the core;
 * users and journal from the plugins that provide them), never through the
 * model's own structures, so what ucctl shows is what a plugin can see.
 * (`ucctl trace` reads the model's private trace ring: the model registers
 * it itself.)
 */
#ifndef CORE_MODEL_COMMANDS_H
#define CORE_MODEL_COMMANDS_H

#include "control.h"
#include "modules.h"
#include "worker.h"

typedef struct core_model_commands core_model_commands;

/* Registers the commands as owner "core". Blocking plugin calls (a journal
 * query, a users import or move) run on `workers` and answer through a
 * deferred reply. */
core_model_commands *core_model_commands_register(core_control *ctl, core_modules *mods,
                                                  core_workers *workers);

/* Frees what the commands keep (the progress of users syncs). Unregister
 * the commands first (core_control_unregister_owner(ctl, "core")), or free
 * the control server. */
void core_model_commands_free(core_model_commands *c);

#endif /* CORE_MODEL_COMMANDS_H */
