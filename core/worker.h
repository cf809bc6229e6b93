/*
 * worker.h - the worker pool for blocking work, with completions on the main loop.
 *
 * Each item belongs to an owner (a module id) so that a module's fini can wait
 * until none of its items is queued, running or awaiting its done callback.
 *
 * A work queue (host 1.4) is an ordered lane on the same pool: its items run
 * one after another in submission order, and their done callbacks run on the
 * main loop in the same order; items of other queues and plain items run
 * beside them.
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

/* ---- ordered work queues ---- */

typedef struct core_work_queue core_work_queue;

/* A new queue on `workers` whose items count for `owner` (so
 * core_workers_wait_owner waits for them too). `name` is for log messages. */
core_work_queue *core_work_queue_new(core_workers *workers, const char *owner, const char *name);
/* Appends work(ud), then done(ud) on the main loop, to `queue`: it runs after
 * every item submitted to the queue before it has finished its work, and its
 * done after theirs. Any thread. UCD_E_INVALID when `work` is NULL or `queue`
 * is not a live queue (already freed). */
int core_work_queue_submit(core_work_queue *queue, ucd_work_fn work, ucd_done_fn done,
                           void *user_data);
/* Closes `queue` (later submits are refused), waits until every item already
 * submitted has run its work and its done callback, dispatching the main
 * context meanwhile, and frees it. Returns how many items had not yet started
 * their done callback when it was called. Main loop thread only, never from a
 * work function; it may be called from a done callback, of this queue too. */
guint core_work_queue_free(core_work_queue *queue);
/* The name given to core_work_queue_new. */
const char *core_work_queue_name(const core_work_queue *queue);

#endif /* CORE_WORKER_H */
