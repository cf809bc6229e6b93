/*
 * api-pending.c - requests answered by another module's callback
 * (api-pending.h).
 *
 * The jobs live in one list for the process, not in the module's context,
 * because a job outlives the context that started it (a reload frees the
 * old api-http and starts a new one while the control service still holds
 * the job). The plugin file stays mapped until the process exits, so the
 * list and the callbacks' code stay valid too. A job knows its context
 * only until it is orphaned. The list is short: the exporter and the
 * control service run a few commands at a time.
 */
#include "api-pending.h"

struct api_pending {
    api_ctx *ctx;   /* NULL once orphaned */
    api_call *call; /* holds the deferral; NULL once orphaned */
};

static GList *jobs; /* api_pending *, main loop only */

api_pending *api_pending_start(api_ctx *ctx, api_call *call)
{
    api_pending *job = g_new0(api_pending, 1);
    job->ctx = ctx;
    job->call = call;
    api_call_defer(call);
    jobs = g_list_prepend(jobs, job);
    return job;
}

api_call *api_pending_call(api_pending *job)
{
    return job->call;
}

api_ctx *api_pending_ctx(api_pending *job)
{
    return job->ctx;
}

void api_pending_end(api_pending *job)
{
    jobs = g_list_remove(jobs, job);
    g_free(job);
}

void api_pending_orphan_all(api_ctx *ctx)
{
    guint n = api_pending_count(ctx);
    if (n > 0)
        ucd_info(ctx->host, ctx->self,
                 "stopping with %u request%s waiting for another module (an export, a "
                 "control command): answered 503",
                 n, n == 1 ? "" : "s");
    for (GList *l = jobs; l; l = l->next) {
        api_pending *job = l->data;
        if (job->ctx != ctx)
            continue;
        /* Answering drops the deferral's reference: the call, its message
         * and connection go now, not when the callback comes. */
        api_call *call = job->call;
        job->call = NULL;
        job->ctx = NULL;
        api_call_error(call, 503, API_ERR_UNAVAILABLE,
                       "api-http stopped before this request was answered");
    }
}

guint api_pending_count(api_ctx *ctx)
{
    guint n = 0;
    for (GList *l = jobs; l; l = l->next)
        n += ((api_pending *)l->data)->ctx == ctx;
    return n;
}
