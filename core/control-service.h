/*
 * control-service.h - the control service (sdk/include/ucd/control.h): the
 * control socket's commands run for a plugin, registered as core service
 * "control" with the core_control as its impl.
 */
#ifndef CORE_CONTROL_SERVICE_H
#define CORE_CONTROL_SERVICE_H

#include "control.h"
#include "modules.h"

/* The table; static, valid for the process's life. */
const ucd_control_v1 *core_control_service_iface(void);

/* Registers "control" 1.0, provider "core", over `ctl` (which must outlive
 * `mods`' modules). Call before core_modules_check(), as for every core
 * service. */
void core_control_register_service(core_control *ctl, core_modules *mods);

#endif /* CORE_CONTROL_SERVICE_H */
