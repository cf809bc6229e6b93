/*
 * line-trace.c - the model's trace ring by line name (model.h,
 * core_model_trace_line), for `ucctl trace`: the ring is no service, so the
 * command in core/commands reads it through these accessors and needs none
 * of the model's private parts.
 */
#include "directory.h"
#include "model-state.h"
#include "trace.h"

int core_model_trace_line(core_model *m, const char *driver, const char *address, uint64_t after,
                          guint limit, gboolean newest, core_model_trace_fn cb, void *ud,
                          uint64_t *last)
{
    const core_line *line = core_model_line(m, driver, address);
    if (!line)
        return UCD_E_NOT_FOUND;
    *last = core_trace_query(m->trace, line, after, limit, newest, cb, ud);
    return UCD_OK;
}

core_modules *core_model_modules(core_model *m)
{
    return m->mods;
}
