/*
 * trace-command.h - `ucctl trace LINE`: the model's ring of recent events of
 * one line. The one command that reads the model's own state (the trace ring
 * is no service), through core_model_trace_line() in model.h; the line is
 * named through the directory service as for every other command.
 */
#ifndef CORE_COMMANDS_TRACE_COMMAND_H
#define CORE_COMMANDS_TRACE_COMMAND_H

#include "control.h"
#include "model/model.h"

/* Registers "trace" as owner "core". `m` must outlive the registration. */
void core_model_register_trace_command(core_model *m, core_control *ctl);

#endif /* CORE_COMMANDS_TRACE_COMMAND_H */
