/*
 * api-pending.h - requests whose answer another module gives later: a route
 * hands the work to a service (the analytics exporter, the core's control
 * service) and that service calls back when it is done.
 *
 * The callback may come after api-http stopped: an export still running at
 * shutdown ends while analytics-export stops, and a POST /admin/reload that
 * restarts api-http itself is answered after api-http's stop and fini
 * (ucd/control.h). By then the request's connection is closed and the
 * module's context may be freed. So a route registers each such job here,
 * and its callback asks for the call and the context instead of keeping
 * them: after api-http's stop both are NULL, and the callback only frees
 * its own memory (and files). Main loop only.
 */
#ifndef API_PENDING_H
#define API_PENDING_H

#include "api-call.h"

typedef struct api_pending api_pending;

/* Defers `call` and registers a job of it for `ctx`. */
api_pending *api_pending_start(api_ctx *ctx, api_call *call);
/* The job's call, NULL once orphaned (api-http stopped). */
api_call *api_pending_call(api_pending *job);
/* The module's context, NULL once orphaned. */
api_ctx *api_pending_ctx(api_pending *job);
/* The callback came: unregisters and frees `job` (the call is left as it
 * is: answer it first). */
void api_pending_end(api_pending *job);
/* api-http's stop: every job of `ctx` is orphaned, its call answered 503
 * (a client whose connection is still open reads that the API stopped) and
 * released. The jobs stay registered until their callbacks end them. */
void api_pending_orphan_all(api_ctx *ctx);
/* Jobs of `ctx` whose callback has not come yet (tests, logs). */
guint api_pending_count(api_ctx *ctx);

#endif /* API_PENDING_H */
