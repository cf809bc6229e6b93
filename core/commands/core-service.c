/*
 * core-service.c - the core's services as the model commands find them
 * (core-service.h).
 */
#include "core-service.h"
#include "control.h"

gboolean core_service(core_model_commands *c, const char *name, uint32_t major, ucd_service *s,
                      ucd_reply *r)
{
    *s = (ucd_service){.struct_size = sizeof *s};
    if (core_modules_service_get(c->mods, name, major, "core", s) == UCD_OK)
        return TRUE;
    core_reply_error(r, "the core's %s service is not running", name);
    return FALSE;
}
