/*
 * worker.c - the worker pool: blocking work on pool threads, completions on
 * the main loop.
 *
 * A finished item goes to a completion queue that a GSource on the main
 * context drains; the loop is woken only when that queue goes from empty to
 * non-empty. An item counts for its owner from submit until its done callback
 * has returned (even when it has none), which is what a module's fini must
 * wait for: after that nothing of the module runs on its behalf.
 *
 * A work queue keeps at most one of its items in the pool at a time: the
 * others wait in the queue, and the pool thread that finishes one item's work
 * pushes the next after it has handed the finished one to the completion
 * queue. So the work of a queue's items runs in order and never overlaps, and
 * their done callbacks, drained from one FIFO, run in the same order. Each
 * item goes back through the pool (rather than the thread running the whole
 * queue), so a long queue does not keep a thread from other work.
 */
#include "worker.h"

typedef struct work_item {
    core_workers *workers;
    char *owner;
    ucd_work_fn work;
    ucd_done_fn done;
    void *user_data;
    core_work_queue *queue; /* NULL for a plain item */
} work_item;

struct core_work_queue {
    core_workers *workers;
    char *owner;
    char *name;
    GQueue waiting;    /* work_item *, behind the one in the pool; under workers->lock */
    gboolean busy;     /* one item is in the pool (queued or running); under workers->lock */
    guint outstanding; /* submitted, done callback not started; under workers->lock */
};

/* The queues not yet freed, so that a submit to a freed queue (a plugin bug
 * the SDK promises to answer with UCD_E_INVALID) is refused instead of
 * touching freed memory. Process-wide: a submit names only the queue. Taken
 * before a pool's lock, never after. */
static GMutex live_queues_lock;
static GHashTable *live_queues; /* core_work_queue * set; under live_queues_lock */

struct core_workers {
    GMainContext *ctx;
    GThreadPool *pool;
    GSource *source;

    GMutex lock;
    GQueue completed;   /* work_item *, work done, awaiting done(); under lock */
    GHashTable *owners; /* owner -> items not finished yet (GUINT_TO_POINTER); under lock */
    guint running;      /* items queued or running their work; under lock */
    guint queues;       /* work queues not yet freed; under lock */
};

typedef struct completion_source {
    GSource base;
    core_workers *workers;
} completion_source;

static void work_item_free(work_item *item)
{
    g_free(item->owner);
    g_free(item);
}

/* Adds `delta` to the owner's count; the entry goes when it reaches 0. Lock held. */
static void owner_count_add_locked(core_workers *workers, const char *owner, int delta)
{
    guint count = GPOINTER_TO_UINT(g_hash_table_lookup(workers->owners, owner));
    count = (guint)((int)count + delta);
    if (count == 0)
        g_hash_table_remove(workers->owners, owner);
    else
        g_hash_table_replace(workers->owners, g_strdup(owner), GUINT_TO_POINTER(count));
}

/* Pool thread: runs the work, hands the item to the main loop and, for a
 * queue's item, sends the queue's next one to the pool. The item is the main
 * loop's once the lock is released: it is not touched after that. */
static void pool_run(gpointer data, gpointer pool_data)
{
    work_item *item = data;
    core_workers *workers = pool_data;
    work_item *next = NULL;
    item->work(item->user_data);

    g_mutex_lock(&workers->lock);
    gboolean was_empty = g_queue_is_empty(&workers->completed);
    g_queue_push_tail(&workers->completed, item);
    workers->running--;
    if (item->queue != NULL) {
        next = g_queue_pop_head(&item->queue->waiting);
        item->queue->busy = next != NULL;
    }
    g_mutex_unlock(&workers->lock);
    if (was_empty)
        g_main_context_wakeup(workers->ctx);
    if (next != NULL)
        g_thread_pool_push(workers->pool, next, NULL);
}

/* Runs done callbacks until the completion queue is empty. One item at a time,
 * so a done callback may itself wait (core_workers_wait_owner) and re-enter. */
static void run_completions(core_workers *workers)
{
    for (;;) {
        g_mutex_lock(&workers->lock);
        work_item *item = g_queue_pop_head(&workers->completed);
        g_mutex_unlock(&workers->lock);
        if (item == NULL)
            return;
        if (item->queue != NULL) {
            /* Before done: a done callback may free its own queue. */
            g_mutex_lock(&workers->lock);
            item->queue->outstanding--;
            g_mutex_unlock(&workers->lock);
        }
        if (item->done != NULL)
            item->done(item->user_data);
        g_mutex_lock(&workers->lock);
        owner_count_add_locked(workers, item->owner, -1);
        g_mutex_unlock(&workers->lock);
        work_item_free(item);
    }
}

static gboolean completion_ready(GSource *source)
{
    core_workers *workers = ((completion_source *)source)->workers;
    g_mutex_lock(&workers->lock);
    gboolean ready = !g_queue_is_empty(&workers->completed);
    g_mutex_unlock(&workers->lock);
    return ready;
}

static gboolean completion_prepare(GSource *source, gint *timeout)
{
    *timeout = -1;
    return completion_ready(source);
}

static gboolean completion_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
    run_completions(((completion_source *)source)->workers);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs completion_funcs = {
    .prepare = completion_prepare,
    .check = completion_ready,
    .dispatch = completion_dispatch,
};

core_workers *core_workers_new(GMainContext *ctx, int threads)
{
    core_workers *workers = g_new0(core_workers, 1);
    workers->ctx = ctx ? g_main_context_ref(ctx) : g_main_context_ref_thread_default();
    g_mutex_init(&workers->lock);
    g_queue_init(&workers->completed);
    workers->owners = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (threads <= 0)
        threads = (int)MAX(2u, g_get_num_processors());
    /* Not exclusive: threads are created on demand, and push never fails. */
    workers->pool = g_thread_pool_new(pool_run, workers, threads, FALSE, NULL);
    /* Idle pool threads (GIO's included: the setting is process-wide) stay
     * instead of ending. By default GLib ends all but 2 when a pool is freed,
     * so at shutdown some were still ending while ucd exited; glibc clears a
     * thread's key slot before it calls the key's destructor, so libxml2's
     * per-thread state (968 bytes in a thread that parsed) was unreachable
     * but not yet freed when LeakSanitizer's exit check ran, and ucd aborted
     * under ASan (about 1 telephony run in 5). The number of threads stays
     * what the busiest moment needed. */
    g_thread_pool_set_max_unused_threads(-1);
    g_thread_pool_set_max_idle_time(0);

    workers->source = g_source_new(&completion_funcs, sizeof(completion_source));
    ((completion_source *)workers->source)->workers = workers;
    g_source_set_name(workers->source, "ucd worker completions");
    /* A done callback may wait for its module's other items. */
    g_source_set_can_recurse(workers->source, TRUE);
    g_source_attach(workers->source, workers->ctx);
    return workers;
}

void core_workers_free(core_workers *workers)
{
    if (workers == NULL)
        return;
    /* A queue's next item is pushed by the pool thread that ran the one
     * before, which a pool being freed refuses: queues go first (modules'
     * queues go when the modules stop). */
    g_warn_if_fail(workers->queues == 0);
    /* Waits for queued and running work, then runs what is left to complete. */
    g_thread_pool_free(workers->pool, FALSE, TRUE);
    run_completions(workers);
    g_source_destroy(workers->source);
    g_source_unref(workers->source);
    g_main_context_unref(workers->ctx);
    g_hash_table_destroy(workers->owners);
    g_mutex_clear(&workers->lock);
    g_free(workers);
}

int core_workers_submit(core_workers *workers, const char *owner, ucd_work_fn work,
                        ucd_done_fn done, void *user_data)
{
    if (work == NULL)
        return UCD_E_INVALID;
    work_item *item = g_new(work_item, 1);
    *item = (work_item){workers, g_strdup(owner ? owner : "core"), work, done, user_data, NULL};

    g_mutex_lock(&workers->lock);
    owner_count_add_locked(workers, item->owner, +1);
    workers->running++;
    g_mutex_unlock(&workers->lock);
    g_thread_pool_push(workers->pool, item, NULL);
    return UCD_OK;
}

static guint owner_pending(core_workers *workers, const char *owner)
{
    g_mutex_lock(&workers->lock);
    guint count = GPOINTER_TO_UINT(g_hash_table_lookup(workers->owners, owner ? owner : "core"));
    g_mutex_unlock(&workers->lock);
    return count;
}

void core_workers_wait_owner(core_workers *workers, const char *owner)
{
    while (owner_pending(workers, owner) > 0)
        g_main_context_iteration(workers->ctx, TRUE);
}

guint core_workers_pending(core_workers *workers)
{
    g_mutex_lock(&workers->lock);
    guint running = workers->running;
    g_mutex_unlock(&workers->lock);
    return running;
}

/* ---- ordered work queues ------------------------------------------------------ */

core_work_queue *core_work_queue_new(core_workers *workers, const char *owner, const char *name)
{
    core_work_queue *queue = g_new0(core_work_queue, 1);
    queue->workers = workers;
    queue->owner = g_strdup(owner ? owner : "core");
    queue->name = g_strdup(name ? name : "");
    g_queue_init(&queue->waiting);

    g_mutex_lock(&workers->lock);
    workers->queues++;
    g_mutex_unlock(&workers->lock);
    g_mutex_lock(&live_queues_lock);
    if (live_queues == NULL)
        live_queues = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_hash_table_add(live_queues, queue);
    g_mutex_unlock(&live_queues_lock);
    return queue;
}

int core_work_queue_submit(core_work_queue *queue, ucd_work_fn work, ucd_done_fn done,
                           void *user_data)
{
    if (work == NULL)
        return UCD_E_INVALID;
    g_mutex_lock(&live_queues_lock);
    if (live_queues == NULL || !g_hash_table_contains(live_queues, queue)) {
        g_mutex_unlock(&live_queues_lock);
        return UCD_E_INVALID;
    }
    core_workers *workers = queue->workers;
    work_item *item = g_new(work_item, 1);
    *item = (work_item){workers, g_strdup(queue->owner), work, done, user_data, queue};

    g_mutex_lock(&workers->lock);
    owner_count_add_locked(workers, item->owner, +1);
    workers->running++;
    queue->outstanding++;
    gboolean start = !queue->busy;
    if (start)
        queue->busy = TRUE;
    else
        g_queue_push_tail(&queue->waiting, item);
    g_mutex_unlock(&workers->lock);
    g_mutex_unlock(&live_queues_lock);
    /* The queue cannot be freed meanwhile: its free waits for this item. */
    if (start)
        g_thread_pool_push(workers->pool, item, NULL);
    return UCD_OK;
}

static guint queue_outstanding(core_work_queue *queue)
{
    g_mutex_lock(&queue->workers->lock);
    guint outstanding = queue->outstanding;
    g_mutex_unlock(&queue->workers->lock);
    return outstanding;
}

guint core_work_queue_free(core_work_queue *queue)
{
    if (queue == NULL)
        return 0;
    g_mutex_lock(&live_queues_lock);
    g_hash_table_remove(live_queues, queue);
    g_mutex_unlock(&live_queues_lock);

    guint pending = queue_outstanding(queue);
    while (queue_outstanding(queue) > 0)
        g_main_context_iteration(queue->workers->ctx, TRUE);
    g_mutex_lock(&queue->workers->lock);
    queue->workers->queues--;
    g_mutex_unlock(&queue->workers->lock);
    g_free(queue->owner);
    g_free(queue->name);
    g_free(queue);
    return pending;
}

const char *core_work_queue_name(const core_work_queue *queue)
{
    return queue->name;
}
