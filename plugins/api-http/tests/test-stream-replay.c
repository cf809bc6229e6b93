/*
 * test-stream-replay.c - the event stream's ring: numbering kept across the
 * wrap, the oldest event leaves (and is freed) when the ring is full, and
 * the resume check at each boundary of the window.
 */
#include <string.h>

#include "stream-replay.h"

static stream_event *event(guint64 seq)
{
    char *text = g_strdup_printf("{\"seq\":%" G_GUINT64_FORMAT "}", seq);
    GBytes *full = g_bytes_new_take(text, strlen(text));
    return stream_event_new(STREAM_KIND_PRESENCE, seq, 1000 + (gint64)seq, full, g_bytes_ref(full));
}

static void push(stream_replay *r, guint64 seq)
{
    stream_event *e = event(seq);
    stream_replay_push(r, e);
    stream_event_unref(e);
}

static void test_empty(void)
{
    stream_replay *r = stream_replay_new(4);
    g_assert_cmpuint(stream_replay_last(r), ==, 0);
    g_assert_cmpuint(stream_replay_oldest(r), ==, 0);
    g_assert_cmpuint(stream_replay_count(r), ==, 0);
    g_assert_null(stream_replay_get(r, 0));
    g_assert_null(stream_replay_get(r, 1));
    /* Nothing sent yet: a client that saw nothing is up to date, one that
     * claims seq 1 speaks of another run. */
    g_assert_cmpint(stream_replay_check(r, 0), ==, STREAM_RESUME_OK);
    g_assert_cmpint(stream_replay_check(r, 1), ==, STREAM_RESUME_FUTURE);
    stream_replay_free(r);
}

static void test_wrap(void)
{
    stream_replay *r = stream_replay_new(4);
    stream_event *first = event(1);
    stream_replay_push(r, first);
    g_assert_cmpuint(first->refs, ==, 2);
    for (guint64 seq = 2; seq <= 10; seq++)
        push(r, seq);
    /* Event 1 left the ring long ago: only our reference is left. */
    g_assert_cmpuint(first->refs, ==, 1);
    stream_event_unref(first);

    g_assert_cmpuint(stream_replay_last(r), ==, 10);
    g_assert_cmpuint(stream_replay_oldest(r), ==, 7);
    g_assert_cmpuint(stream_replay_count(r), ==, 4);
    g_assert_null(stream_replay_get(r, 6));
    g_assert_null(stream_replay_get(r, 11));
    for (guint64 seq = 7; seq <= 10; seq++) {
        stream_event *e = stream_replay_get(r, seq);
        g_assert_nonnull(e);
        g_assert_cmpuint(e->seq, ==, seq);
        g_assert_cmpint(e->time_ms, ==, 1000 + (gint64)seq);
        char *want = g_strdup_printf("{\"seq\":%" G_GUINT64_FORMAT "}", seq);
        gsize n = 0;
        const char *text = g_bytes_get_data(stream_event_bytes(e, STREAM_VIEW_FULL), &n);
        g_assert_cmpmem(text, n, want, strlen(want));
        g_free(want);
    }
    stream_replay_free(r);
}

static void test_resume_boundaries(void)
{
    stream_replay *r = stream_replay_new(4);
    for (guint64 seq = 1; seq <= 10; seq++)
        push(r, seq);
    /* Held: 7..10. After 6 needs 7..10: all there. After 5 needs 6: gone. */
    g_assert_cmpint(stream_replay_check(r, 10), ==, STREAM_RESUME_OK);
    g_assert_cmpint(stream_replay_check(r, 9), ==, STREAM_RESUME_OK);
    g_assert_cmpint(stream_replay_check(r, 6), ==, STREAM_RESUME_OK);
    g_assert_cmpint(stream_replay_check(r, 5), ==, STREAM_RESUME_TOO_OLD);
    g_assert_cmpint(stream_replay_check(r, 0), ==, STREAM_RESUME_TOO_OLD);
    g_assert_cmpint(stream_replay_check(r, 11), ==, STREAM_RESUME_FUTURE);
    /* One more event moves the boundary by one. */
    push(r, 11);
    g_assert_cmpint(stream_replay_check(r, 6), ==, STREAM_RESUME_TOO_OLD);
    g_assert_cmpint(stream_replay_check(r, 7), ==, STREAM_RESUME_OK);
    g_assert_cmpint(stream_replay_check(r, 11), ==, STREAM_RESUME_OK);
    stream_replay_free(r);
}

/* A window of one still replays the last event. */
static void test_window_of_one(void)
{
    stream_replay *r = stream_replay_new(1);
    push(r, 1);
    push(r, 2);
    g_assert_cmpuint(stream_replay_oldest(r), ==, 2);
    g_assert_null(stream_replay_get(r, 1));
    g_assert_cmpuint(stream_replay_get(r, 2)->seq, ==, 2);
    g_assert_cmpint(stream_replay_check(r, 1), ==, STREAM_RESUME_OK);
    g_assert_cmpint(stream_replay_check(r, 0), ==, STREAM_RESUME_TOO_OLD);
    stream_replay_free(r);
}

/* The views share the bytes when nothing is hidden. */
static void test_views(void)
{
    GBytes *full = g_bytes_new_static("F", 1);
    GBytes *reduced = g_bytes_new_static("R", 1);
    stream_event *e = stream_event_new(STREAM_KIND_CALL, 1, 0, full, reduced);
    g_assert_true(stream_event_bytes(e, STREAM_VIEW_FULL) == full);
    g_assert_true(stream_event_bytes(e, STREAM_VIEW_REDUCED) == reduced);
    stream_event_unref(e);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/stream-replay/empty", test_empty);
    g_test_add_func("/stream-replay/wrap", test_wrap);
    g_test_add_func("/stream-replay/resume-boundaries", test_resume_boundaries);
    g_test_add_func("/stream-replay/window-of-one", test_window_of_one);
    g_test_add_func("/stream-replay/views", test_views);
    return g_test_run();
}
