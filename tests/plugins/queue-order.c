/*
 * queue-order - exercises the host 1.4 ordered work queues and reports what
 * it saw in counters, which the tests read:
 *
 * At start it makes queues "a" and "b" and submits `items` (key, default 200)
 * items to each. A work function sleeps a random while (up to 500 us) and
 * checks that it is its queue's next item and that no other item of its queue
 * is running; a done callback checks that it is its queue's next done and
 * that its work has finished. The first item of each queue waits (at most
 * 10 s) for the first item of the other to be running: both see it only when
 * two queues really run side by side.
 *   done            done callbacks run, both queues
 *   order_errors    work out of order or overlapping within a queue (0)
 *   done_errors     done out of order, or before its work (0)
 *   parallel        first items that saw the other queue's running (2)
 *
 * Stop frees "a" and "b" itself (work_queue_free), then submits `stop_items`
 * (default 20) items to queue "c" and leaves it: the core must free it after
 * stop, running those items first, in order, before fini.
 *   stop_done       done callbacks of "c" run before fini
 *   stop_errors     "c" items out of order (0)
 *   late_submit     what work_queue_submit to "c" returned in fini: -2,
 *                   UCD_E_INVALID, since the core freed it
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <ucd/host.h>
#include <ucd/plugin.h>

enum { QUEUES = 3, MAX_ITEMS = 4096 };

typedef struct lane {
    ucd_work_queue *queue;
    atomic_int next_work; /* index of the next item whose work may start */
    atomic_int running;   /* items of this lane running their work */
    atomic_int started;   /* the first item is running */
    int next_done;        /* main loop only */
    atomic_int work_finished[MAX_ITEMS];
} lane;

typedef struct item {
    struct qo *qo;
    int lane;
    int index;
} item;

typedef struct qo {
    ucd_plugin *self;
    const ucd_host *host;
    int64_t items, stop_items;
    lane lanes[QUEUES];
    item *all; /* lanes 0 and 1: items each; lane 2: stop_items */
    atomic_int order_errors;
    atomic_int parallel;
    ucd_counter *done, *order_counter, *done_errors, *parallel_counter, *stop_done, *stop_errors;
    ucd_counter *late_submit;
} qo;

static const ucd_config_key qo_keys[] = {
    {"items", UCD_CONFIG_INT, 0, "200", "items per queue at start"},
    {"stop_items", UCD_CONFIG_INT, 0, "20", "items left in queue c at stop"},
    {NULL, 0, 0, NULL, NULL},
};

static void sleep_us(long us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static void item_work(void *data)
{
    item *it = data;
    lane *l = &it->qo->lanes[it->lane];
    if (atomic_fetch_add(&l->running, 1) != 0 || atomic_load(&l->next_work) != it->index)
        atomic_fetch_add(&it->qo->order_errors, 1);
    if (it->index == 0 && it->lane < 2) {
        atomic_store(&l->started, 1);
        lane *other = &it->qo->lanes[1 - it->lane];
        for (int i = 0; i < 10000 && !atomic_load(&other->started); i++)
            sleep_us(1000);
        if (atomic_load(&other->started))
            atomic_fetch_add(&it->qo->parallel, 1);
    }
    unsigned seed = (unsigned)(it->index * 7919 + it->lane);
    sleep_us(rand_r(&seed) % 500);
    atomic_store(&l->work_finished[it->index], 1);
    atomic_store(&l->next_work, it->index + 1);
    atomic_fetch_sub(&l->running, 1);
}

static void item_done(void *data)
{
    item *it = data;
    qo *q = it->qo;
    lane *l = &q->lanes[it->lane];
    int in_order = l->next_done == it->index && atomic_load(&l->work_finished[it->index]);
    l->next_done++;
    if (it->lane < 2) {
        q->host->counter_add(q->done, 1);
        if (!in_order)
            q->host->counter_add(q->done_errors, 1);
    } else {
        q->host->counter_add(q->stop_done, 1);
        if (!in_order)
            q->host->counter_add(q->stop_errors, 1);
    }
    q->host->counter_set(q->order_counter, atomic_load(&q->order_errors));
    q->host->counter_set(q->parallel_counter, atomic_load(&q->parallel));
}

static ucd_counter *gauge(qo *q, const char *name)
{
    return q->host->counter_new(q->self, name, UCD_COUNTER_GAUGE, name);
}

static int qo_init(ucd_plugin *self, const ucd_host *host, void **state)
{
    qo *q = calloc(1, sizeof(*q));
    q->self = self;
    q->host = host;
    host->config_int(self, "items", &q->items);
    host->config_int(self, "stop_items", &q->stop_items);
    if (q->items < 1 || q->items > MAX_ITEMS || q->stop_items < 0 || q->stop_items > MAX_ITEMS) {
        free(q);
        return host->config_error(self, "items", "must be 1..%d", MAX_ITEMS);
    }
    q->all = calloc((size_t)(2 * q->items + q->stop_items), sizeof(item));
    q->done = gauge(q, "done");
    q->order_counter = gauge(q, "order_errors");
    q->done_errors = gauge(q, "done_errors");
    q->parallel_counter = gauge(q, "parallel");
    q->stop_done = gauge(q, "stop_done");
    q->stop_errors = gauge(q, "stop_errors");
    q->late_submit = gauge(q, "late_submit");
    *state = q;
    return UCD_OK;
}

static int qo_start(void *state)
{
    qo *q = state;
    static const char *const names[] = {"a", "b", "c"};
    for (int l = 0; l < QUEUES; l++)
        q->lanes[l].queue = q->host->work_queue_new(q->self, names[l]);
    for (int i = 0; i < q->items; i++) {
        for (int l = 0; l < 2; l++) {
            item *it = &q->all[l * q->items + i];
            *it = (item){q, l, i};
            if (q->host->work_queue_submit(q->lanes[l].queue, item_work, item_done, it) != UCD_OK)
                return UCD_FAIL;
        }
    }
    return UCD_OK;
}

static void qo_stop(void *state)
{
    qo *q = state;
    q->host->work_queue_free(q->self, q->lanes[0].queue);
    q->host->work_queue_free(q->self, q->lanes[1].queue);
    for (int i = 0; i < q->stop_items; i++) {
        item *it = &q->all[2 * q->items + i];
        *it = (item){q, 2, i};
        q->host->work_queue_submit(q->lanes[2].queue, item_work, item_done, it);
    }
}

static void qo_fini(void *state)
{
    qo *q = state;
    /* The core freed "c" after stop; the handle is stale, which the host
     * must answer without touching it. */
    q->host->counter_set(q->late_submit, q->host->work_queue_submit(q->lanes[2].queue, item_work,
                                                                    item_done, &q->all[0]));
    free(q->all);
    free(q);
}

UCD_PLUGIN_DEFINE(.name = "queue-order", .version = "1.0.0", .license = "MIT",
                  .description = "ordered work queues, checked", .config_keys = qo_keys,
                  .init = qo_init, .start = qo_start, .stop = qo_stop, .fini = qo_fini);
