/*
 * test-worker.c - the worker pool: work on pool threads, done callbacks on the
 * main loop after the work, per-owner waiting.
 */
#include <stdatomic.h>

#include "worker.h"

typedef struct job {
    GThread *main_thread;
    GThread *work_thread;
    atomic_int work_finished;
    gboolean done_after_work;
    gboolean done_on_main;
    int done_calls;
    gulong sleep_us;
    atomic_int *gate; /* when set, the work waits until it is non-zero */
} job;

static void job_work(void *ud)
{
    job *j = ud;
    j->work_thread = g_thread_self();
    g_usleep(j->sleep_us);
    while (j->gate != NULL && atomic_load(j->gate) == 0)
        g_usleep(1000);
    atomic_store(&j->work_finished, 1);
}

static void job_done(void *ud)
{
    job *j = ud;
    j->done_after_work = atomic_load(&j->work_finished) == 1;
    j->done_on_main = g_thread_self() == j->main_thread;
    j->done_calls++;
}

static void test_done_on_main_after_work(void)
{
    core_workers *w = core_workers_new(NULL, 2);
    job j = {.main_thread = g_thread_self(), .sleep_us = 1000};
    g_assert_cmpint(core_workers_submit(w, "mod", job_work, job_done, &j), ==, UCD_OK);
    while (j.done_calls == 0)
        g_main_context_iteration(NULL, TRUE);
    g_assert_true(j.work_thread != g_thread_self());
    g_assert_true(j.done_after_work);
    g_assert_true(j.done_on_main);
    g_assert_cmpint(j.done_calls, ==, 1);
    g_assert_cmpuint(core_workers_pending(w), ==, 0);
    core_workers_free(w);
}

static void test_wait_owner(void)
{
    core_workers *w = core_workers_new(NULL, 4);
    atomic_int gate = 0;
    job a[5], b = {.main_thread = g_thread_self(), .gate = &gate};
    for (int i = 0; i < 5; i++) {
        a[i] = (job){.main_thread = g_thread_self(), .sleep_us = 5000 * (i + 1)};
        core_workers_submit(w, "mod-a", job_work, job_done, &a[i]);
    }
    core_workers_submit(w, "mod-b", job_work, job_done, &b);
    g_assert_cmpuint(core_workers_pending(w), >=, 1);
    core_workers_wait_owner(w, "mod-a");
    for (int i = 0; i < 5; i++) {
        g_assert_cmpint(a[i].done_calls, ==, 1);
        g_assert_true(a[i].done_after_work);
        g_assert_true(a[i].done_on_main);
    }
    core_workers_wait_owner(w, "nobody");             /* nothing pending: returns at once */
    g_assert_cmpuint(core_workers_pending(w), ==, 1); /* mod-b is held by its gate */
    g_assert_cmpint(b.done_calls, ==, 0);
    atomic_store(&gate, 1);
    core_workers_free(w); /* waits for mod-b and runs its done */
    g_assert_cmpint(b.done_calls, ==, 1);
    g_assert_true(b.done_after_work);
}

static atomic_int no_done_runs;

static void count_work(void *ud)
{
    atomic_fetch_add(&no_done_runs, 1);
}

static void test_without_done_and_invalid(void)
{
    core_workers *w = core_workers_new(NULL, 0);
    g_assert_cmpint(core_workers_submit(w, "mod", NULL, job_done, NULL), ==, UCD_E_INVALID);
    for (int i = 0; i < 20; i++)
        g_assert_cmpint(core_workers_submit(w, "mod", count_work, NULL, NULL), ==, UCD_OK);
    core_workers_wait_owner(w, "mod");
    g_assert_cmpint(atomic_load(&no_done_runs), ==, 20);
    g_assert_cmpuint(core_workers_pending(w), ==, 0);
    core_workers_free(w);
}

/* A done callback that waits for its module's other items (a module stopping
 * from a completion) must not deadlock. */
typedef struct nested {
    core_workers *w;
    job inner;
    gboolean waited;
} nested;

static void nested_done(void *ud)
{
    nested *n = ud;
    core_workers_submit(n->w, "other", job_work, job_done, &n->inner);
    core_workers_wait_owner(n->w, "other");
    n->waited = n->inner.done_calls == 1;
}

static void test_wait_inside_done(void)
{
    core_workers *w = core_workers_new(NULL, 2);
    nested n = {.w = w, .inner = {.main_thread = g_thread_self(), .sleep_us = 1000}};
    core_workers_submit(w, "outer", count_work, nested_done, &n);
    core_workers_wait_owner(w, "outer");
    g_assert_true(n.waited);
    core_workers_free(w);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/workers/done-on-main-after-work", test_done_on_main_after_work);
    g_test_add_func("/workers/wait-owner", test_wait_owner);
    g_test_add_func("/workers/without-done-and-invalid", test_without_done_and_invalid);
    g_test_add_func("/workers/wait-inside-done", test_wait_inside_done);
    return g_test_run();
}
