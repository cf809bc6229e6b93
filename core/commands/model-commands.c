/*
 * model-commands.c - registers the model's ucctl commands (model-commands.h).
 * It calls down into the handler files; they never call back into it (what
 * they share is in core-service.h and model-commands-internal.h).
 */
#include "call-control-commands.h"
#include "control.h"
#include "model-commands-internal.h"

core_model_commands *core_model_commands_register(core_control *ctl, core_modules *mods,
                                                  core_workers *workers)
{
    core_model_commands *c = g_new0(core_model_commands, 1);
    c->mods = mods;
    c->workers = workers;
    c->syncs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, users_sync_state_unref);
    static const struct {
        const char *name, *usage, *help;
        ucd_command_fn fn;
    } cmds[] = {
        {"users", USERS_USAGE, "users and their lines, from every users backend", cmd_users},
        {"groups", "groups [--limit N] [--after ID]", "user groups", cmd_groups},
        {"lines", "lines [--limit N] [--after DRIVER/ADDRESS]",
         "lines of every PBX driver, their state and user", cmd_lines},
        {"calls", "calls [--limit N] [--after DRIVER/ADDRESS]", "live call legs", cmd_calls},
        {"presence",
         "presence [--all] [--limit N] [--after LOGIN] | presence USER | presence set USER STATE "
         "[--note TEXT] [--until ISO8601|DURATION] | presence clear USER",
         "presence of the users active here (--all: every user); set or clear a manual state",
         cmd_presence},
        {"journal",
         "journal tail [N] | journal status | journal query [--user U] [--uuid ID] [--number N] "
         "[--from T] [--to T] [--outcome O] [--limit N] [--after CURSOR]",
         "finished conversations; each journal's state, backlog and spool", cmd_journal},
        {"caps", "caps LINE", "what a line can do", cmd_caps},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++)
        core_control_register(ctl, "core", cmds[i].name, cmds[i].usage, cmds[i].help, cmds[i].fn,
                              c);
    call_control_register(ctl, c);
    return c;
}

void core_model_commands_free(core_model_commands *c)
{
    if (!c)
        return;
    g_hash_table_destroy(c->syncs);
    g_free(c);
}
