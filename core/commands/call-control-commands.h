/*
 * call-control-commands.h - ucctl's call-control test dialer: dial, answer,
 * hangup, hold, retrieve, transfer, consult-transfer, deflect, pickup, dtmf,
 * forward, dnd, through the core's calls service.
 */
#ifndef CORE_COMMANDS_CALL_CONTROL_COMMANDS_H
#define CORE_COMMANDS_CALL_CONTROL_COMMANDS_H

#include "control.h"
#include "core-service.h"

/* Registers the commands as owner "core"; `c` must outlive them. */
void call_control_register(core_control *ctl, core_model_commands *c);

#endif /* CORE_COMMANDS_CALL_CONTROL_COMMANDS_H */
