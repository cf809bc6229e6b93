/*
 * control-service.c - the control service (control-service.h). A thin
 * layer: the command runs through core_control_run(), the path a ucctl
 * request takes, so a front end gets exactly the console's answer.
 */
#include "control-service.h"

#include "log.h"

/* The command as one line for the log. Every word is logged: a command that
 * took a secret as an argument would already leak it to ps through ucctl. */
static char *command_line(int argc, const char *const *argv)
{
    GString *line = g_string_new(NULL);

    for (int i = 0; i < argc; i++)
        g_string_append_printf(line, "%s%s", i ? " " : "", argv[i] ? argv[i] : "(null)");
    return g_string_free(line, FALSE);
}

static int control_run(void *impl, const char *actor, int argc, const char *const *argv,
                       ucd_control_done_cb done, void *user_data)
{
    if (argc < 1 || !argv)
        return UCD_E_INVALID;
    /* Logged before the command runs, so it is there whatever the command
     * does: the service runs with full rights, and who used them matters. */
    char *line = command_line(argc, argv);
    core_info("control service: %s runs \"%s\"", actor && *actor ? actor : "(unnamed)", line);
    g_free(line);
    return core_control_run(impl, argc, argv, done, user_data);
}

static const ucd_control_v1 control_iface = {
    .struct_size = sizeof(ucd_control_v1),
    .run = control_run,
};

const ucd_control_v1 *core_control_service_iface(void)
{
    return &control_iface;
}

void core_control_register_service(core_control *ctl, core_modules *mods)
{
    core_modules_add_core_service(mods, UCD_CONTROL_SERVICE, UCD_CONTROL_MAJOR, UCD_CONTROL_MINOR,
                                  &control_iface, ctl);
}
