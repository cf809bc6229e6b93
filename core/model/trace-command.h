/*
 * trace-command.h - `ucctl trace LINE`: the model's ring of recent events of
 * one line. The one model command that reads the model's private state
 * (the trace ring is no service), so the model registers it itself; every
 * other model command lives in core/commands and uses the services.
 */
#ifndef CORE_MODEL_TRACE_COMMAND_H
#define CORE_MODEL_TRACE_COMMAND_H

#include "control.h"
#include "model.h"

/* Registers "trace" as owner "core". */
void core_model_register_trace_command(core_model *m, core_control *ctl);

#endif /* CORE_MODEL_TRACE_COMMAND_H */
