/*
 * test-work-queue.c - ordered work queues (host 1.4): core/worker.c's queues
 * on their own, and the queue-order fixture plugin in the real module
 * manager: 200 items per queue in strict order of work and of done, two
 * queues side by side, and a queue left at stop freed by the core after
 * running what it held, before fini.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdatomic.h>
#include <string.h>

#include "log.h"
#include "module-fixture.h"

/* ---- core/worker.c alone ------------------------------------------------------- */

typedef struct ticket {
    atomic_int *next_work;
    int *next_done;
    int index;
    int work_errors, done_errors;
    core_work_queue **free_in_done; /* set: the done frees this queue */
} ticket;

static void ticket_work(void *data)
{
    ticket *t = data;
    g_usleep(g_random_int_range(0, 300));
    if (atomic_load(t->next_work) != t->index)
        t->work_errors++;
    atomic_store(t->next_work, t->index + 1);
}

static void ticket_done(void *data)
{
    ticket *t = data;
    if (*t->next_done != t->index)
        t->done_errors++;
    (*t->next_done)++;
    if (t->free_in_done != NULL)
        g_clear_pointer(t->free_in_done, core_work_queue_free);
}

/* Submits tickets 0..n-1 to `*q`; the done of ticket `free_at` (-1: none)
 * frees the queue and clears *q. */
static void submit_tickets(core_work_queue **q, ticket *t, int n, atomic_int *next_work,
                           int *next_done, int free_at)
{
    for (int i = 0; i < n; i++) {
        t[i] = (ticket){next_work, next_done, i, 0, 0, i == free_at ? q : NULL};
        g_assert_cmpint(core_work_queue_submit(*q, ticket_work, ticket_done, &t[i]), ==, UCD_OK);
    }
}

/* Freeing a queue runs what it holds first, in order; a submit afterwards is
 * refused, not run. */
static void test_free_runs_pending(void)
{
    core_workers *w = core_workers_new(NULL, 3);
    core_work_queue *q = core_work_queue_new(w, "mod", "files");
    atomic_int next_work = 0;
    int next_done = 0;
    ticket t[50];
    submit_tickets(&q, t, 50, &next_work, &next_done, -1);
    g_assert_cmpstr(core_work_queue_name(q), ==, "files");
    guint pending = core_work_queue_free(q);
    g_assert_cmpuint(pending, >, 0);
    g_assert_cmpuint(pending, <=, 50);
    g_assert_cmpint(next_done, ==, 50); /* every done ran before free returned */
    for (int i = 0; i < 50; i++) {
        g_assert_cmpint(t[i].work_errors, ==, 0);
        g_assert_cmpint(t[i].done_errors, ==, 0);
    }
    g_assert_cmpint(core_work_queue_submit(q, ticket_work, ticket_done, &t[0]), ==, UCD_E_INVALID);
    g_assert_cmpint(next_done, ==, 50);
    g_assert_cmpuint(core_workers_pending(w), ==, 0);
    core_workers_free(w);
}

/* A done callback may free its own queue: the items after it still run. */
static void test_free_from_own_done(void)
{
    core_workers *w = core_workers_new(NULL, 2);
    core_work_queue *q = core_work_queue_new(w, "mod", "self");
    atomic_int next_work = 0;
    int next_done = 0;
    ticket t[10];
    submit_tickets(&q, t, 10, &next_work, &next_done, 3);
    while (q != NULL)
        g_main_context_iteration(NULL, TRUE);
    g_assert_cmpint(next_done, ==, 10);
    for (int i = 0; i < 10; i++)
        g_assert_cmpint(t[i].work_errors + t[i].done_errors, ==, 0);
    core_workers_wait_owner(w, "mod");
    core_workers_free(w);
}

/* ---- the queue-order plugin in the module manager ------------------------------ */

/* Done callbacks run on the fixture's loop: the test runs it. */
static void test_plugin_queues(void)
{
    module_fixture fx, *f = &fx;
    module_fixture_set_up(f, 4);
    int n = module_fixture_start(f, "[module queue-order]\nitems = 200\nstop_items = 20\n");
    g_assert_cmpint(n, ==, 0);
    g_assert_cmpstr(module_fixture_state(f, "queue-order"), ==, "running");

    while (module_fixture_counter(f, "queue-order", "done") < 400)
        g_main_context_iteration(f->ctx, TRUE);
    g_assert_cmpint(module_fixture_counter(f, "queue-order", "order_errors"), ==, 0);
    g_assert_cmpint(module_fixture_counter(f, "queue-order", "done_errors"), ==, 0);
    g_assert_cmpint(module_fixture_counter(f, "queue-order", "parallel"), ==, 2);

    /* Stop leaves queue "c" with 20 items: the core runs them, then frees the
     * queue, before fini; a submit to it afterwards is refused. */
    core_modules_stop_all(f->mods);
    g_assert_cmpint(module_fixture_counter(f, "queue-order", "stop_done"), ==, 20);
    g_assert_cmpint(module_fixture_counter(f, "queue-order", "stop_errors"), ==, 0);
    g_assert_cmpint(module_fixture_counter(f, "queue-order", "order_errors"), ==, 0);
    g_assert_cmpint(module_fixture_counter(f, "queue-order", "late_submit"), ==, UCD_E_INVALID);
    g_assert_cmpuint(core_workers_pending(f->rt.workers), ==, 0);
    module_fixture_tear_down(f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    core_log_configure(CORE_LOG_STDERR, g_test_verbose() ? UCD_LOG_DEBUG : UCD_LOG_WARNING, 0);
    g_assert_true(core_loader_init());
    g_test_add_func("/work-queue/free-runs-pending", test_free_runs_pending);
    g_test_add_func("/work-queue/free-from-own-done", test_free_from_own_done);
    g_test_add_func("/work-queue/plugin", test_plugin_queues);
    int rc = g_test_run();
    core_loader_shutdown();
    core_log_shutdown();
    return rc;
}
