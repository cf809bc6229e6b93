/*
 * commands.h - the core's own ucctl commands: status, modules, reload,
 * check-config, log, counters, number, bus.
 *
 * The daemon owns these commands and calls down into this file; this file
 * never reaches back into the daemon. What it reads and what it asks the
 * daemon to do come in a core_commands_ctx that the daemon fills.
 */
#ifndef CORE_COMMANDS_H
#define CORE_COMMANDS_H

#include <glib.h>

#include "config.h"
#include "modules.h"
#include "numbers.h"

typedef struct core_commands_ctx {
    core_runtime *rt;               /* bus, workers, control socket, state dir, server name */
    core_modules *mods;             /* every module, for modules, log, counters, status */
    gint64 started_us;              /* monotonic start time, for the uptime */
    core_config **cfg;              /* the configuration in force; a reload swaps it */
    const guint *reloads;           /* how many reloads were applied */
    core_numbers *_Atomic *numbers; /* the number plan in force; a reload swaps it */

    /* Re-reads and applies the configuration, or refuses it (as
     * core_daemon_reload); reasons go to `errors`. TRUE when applied. */
    gboolean (*reload)(void *user_data, gboolean force, GPtrArray *errors);
    /* Checks the configuration files on disk without applying them; returns
     * the number of errors, appended to `errors`. */
    int (*check)(void *user_data, GPtrArray *errors);
    void *user_data; /* handed to reload and check */
} core_commands_ctx;

/* Registers the core's commands on ctx->rt->control under the owner "core".
 * `ctx` is kept, not copied: it must live until the commands are
 * unregistered. */
void core_commands_register(core_commands_ctx *ctx);

#endif /* CORE_COMMANDS_H */
