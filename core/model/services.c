/*
 * services.c - the model's four services in the registry, provider "core".
 * One place for the daemon and the tests, so they register the same tables.
 */
#include "calls-service.h"
#include "directory-service.h"
#include "model.h"
#include "permissions-service.h"
#include "presence-service.h"

void core_model_register_services(core_model *m, core_modules *mods)
{
    core_modules_add_core_service(mods, UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR,
                                  UCD_DIRECTORY_MINOR, core_directory_service_iface(), m);
    core_modules_add_core_service(mods, UCD_CALLS_SERVICE, UCD_CALLS_MAJOR, UCD_CALLS_MINOR,
                                  core_calls_service_iface(), m);
    core_modules_add_core_service(mods, UCD_PRESENCE_SERVICE, UCD_PRESENCE_MAJOR,
                                  UCD_PRESENCE_MINOR, core_presence_service_iface(), m);
    core_modules_add_core_service(mods, UCD_PERMISSIONS_SERVICE, UCD_PERMISSIONS_MAJOR,
                                  UCD_PERMISSIONS_MINOR, core_permissions_service_iface(), m);
}
