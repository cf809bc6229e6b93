/*
 * worker.h - the worker pool for blocking work, with completions on the main loop.
 *
 * Each item belongs to an owner (a module id) so that a module's fini can wait
 * until none of its items is queued, running or awaiting its done callback.
 */
#ifndef CORE_WORKER_H
#define CORE_WORKER_H

#include <glib.h>
#include <ucd/host.h>

typedef struct core_workers core_workers;

/* Creates a pool of at most `threads` threads (<= 0: the number of CPUs, at
 * least 2) whose done callbacks run on `ctx` (NULL: the thread-default
 * context). */
core_workers *core_workers_new(GMainContext *ctx, int threads);
/* Waits for every item (running done callbacks) and frees the pool. */
void core_workers_free(core_workers *workers);

/* Queues work(ud) on a pool thread, then done(ud) on `ctx`. Any thread.
 * UCD_OK or UCD_E_INVALID (work NULL). */
int core_workers_submit(core_workers *workers, const char *owner, ucd_work_fn work,
                        ucd_done_fn done, void *user_data);
/* Blocks until `owner` has no item left, dispatching `ctx` meanwhile so done
 * callbacks run. Main loop thread only. May be called from a done callback,
 * but not for that callback's own owner (it counts until it returns). */
void core_workers_wait_owner(core_workers *workers, const char *owner);
/* Items queued or running now, all owners. */
guint core_workers_pending(core_workers *workers);

#endif /* CORE_WORKER_H */
