/*
 * hello-plugin.c - runs the example plugin (sdk/examples/hello) against the
 * fake host (tests/fake-host), so that the example integrators copy is known
 * to do what its README promises: read its keys, subscribe to line and call
 * events, log every Nth call event with the greeting, count, and answer
 * `ucctl hello`.
 *
 * argv[1] is the path of example-hello.so. The fake host records what the
 * plugin asks of it; the daemon tests (tests/daemon) run it in the real core.
 */
#include <dlfcn.h>
#include <string.h>

#include "fake-host.h"

static const ucd_plugin_descriptor *descriptor;

/* A module with the section's values; NULL = not set (the default applies). */
static fake_module *hello_new(const char *greeting, const char *every)
{
    fake_module *m = fake_module_new(descriptor, "example-hello");
    fake_module_set(m, "greeting", greeting);
    fake_module_set(m, "every", every);
    return m;
}

static void deliver_call(fake_module *m, uint32_t state, const char *call_id)
{
    const ucd_call_state_event call = {
        .struct_size = sizeof(call),
        .state = state,
        .prev_state = UCD_CALL_IDLE,
        .line = "201",
        .call_id = call_id,
        .remote_number = "+4930123",
    };
    const ucd_event event = {
        .struct_size = sizeof(event),
        .type = UCD_EVENT_CALL_STATE,
        .payload = &call,
    };
    fake_module_deliver(m, &event);
}

static void deliver_line(fake_module *m)
{
    const ucd_line_state_event line = {
        .struct_size = sizeof(line), .state = UCD_LINE_RINGING, .line = "201"};
    const ucd_event event = {
        .struct_size = sizeof(event), .type = UCD_EVENT_LINE_STATE, .payload = &line};
    fake_module_deliver(m, &event);
}

static void test_logs_every_nth_call_event_and_counts(void)
{
    fake_module *m = hello_new("hi there", "2");
    g_assert_cmpint(fake_module_init(m), ==, UCD_OK);
    g_assert_nonnull(m->state);
    g_assert_cmpstr(fake_module_command_name(m), ==, "hello");
    g_assert_cmpint(descriptor->start(m->state), ==, UCD_OK);
    g_assert_cmpuint(m->subscriptions->len, ==, 1);
    const ucd_subscription *sub = g_ptr_array_index(m->subscriptions, 0);
    g_assert_cmpuint(sub->filter.type_mask, ==,
                     UCD_EVENT_MASK(UCD_EVENT_LINE_STATE) | UCD_EVENT_MASK(UCD_EVENT_CALL_STATE));
    fake_module_log_clear(m); /* forget start's own line */

    deliver_call(m, UCD_CALL_OFFERING, "c1");
    deliver_line(m);
    deliver_call(m, UCD_CALL_CONNECTED, "c1");
    deliver_call(m, UCD_CALL_DISCONNECTED, "c1");

    /* every = 2: the 1st and the 3rd call event are logged, with the greeting. */
    g_assert_cmpuint(m->log_lines->len, ==, 2);
    const char *first = g_ptr_array_index(m->log_lines, 0);
    const char *second = g_ptr_array_index(m->log_lines, 1);
    g_assert_true(g_str_has_prefix(first, "hi there: "));
    g_assert_nonnull(strstr(first, "offering"));
    g_assert_nonnull(strstr(second, "disconnected"));
    g_assert_cmpint(fake_module_counter(m, "call_events_logged"), ==, 2);

    int rc;
    char **reply = fake_module_run_command(m, &rc, NULL);
    g_assert_cmpint(rc, ==, UCD_OK);
    g_assert_true(g_strv_contains((const char *const *)reply, "columns:event,count"));
    g_assert_true(g_strv_contains((const char *const *)reply, "row:line_state,1"));
    g_assert_true(g_strv_contains((const char *const *)reply, "row:call_state,3"));
    g_assert_true(g_strv_contains((const char *const *)reply, "greeting=hi there"));
    g_assert_true(g_strv_contains((const char *const *)reply, "call_events_logged=2"));
    g_strfreev(reply);

    fake_module_stop(m);
    fake_module_free(m);
}

static void test_defaults_and_bad_arguments(void)
{
    fake_module *m = hello_new(NULL, NULL);
    fake_module_start(m);
    deliver_call(m, UCD_CALL_DIALING, NULL); /* NULL strings must not crash it */
    deliver_call(m, UCD_CALL_RINGBACK, "c2");
    g_assert_cmpuint(m->log_lines->len, ==, 3); /* start + both (every = 1) */
    g_assert_true(g_str_has_prefix(g_ptr_array_index(m->log_lines, 1), "hello: call ?"));

    int rc;
    const char *const args[] = {"extra", NULL};
    char **reply = fake_module_run_command(m, &rc, args);
    g_assert_cmpint(rc, ==, UCD_E_INVALID);
    g_assert_true(g_strv_contains((const char *const *)reply, "error"));
    g_strfreev(reply);

    fake_module_stop(m);
    fake_module_free(m);
}

static void test_rejects_every_below_one(void)
{
    fake_module *m = hello_new(NULL, "0");
    g_assert_cmpint(fake_module_init(m), ==, UCD_FAIL);
    g_assert_cmpstr(m->config_error_key, ==, "every");
    g_assert_null(m->state);
    g_assert_null(fake_module_command_name(m));
    fake_module_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 2) {
        g_printerr("usage: %s PATH/example-hello.so\n", argv[0]);
        return 2;
    }
    void *handle = NULL;
    descriptor = fake_load_plugin(argv[1], "example-hello", &handle);
    g_test_add_func("/sdk/hello/every-nth", test_logs_every_nth_call_event_and_counts);
    g_test_add_func("/sdk/hello/defaults", test_defaults_and_bad_arguments);
    g_test_add_func("/sdk/hello/bad-every", test_rejects_every_below_one);
    int result = g_test_run();
    dlclose(handle);
    return result;
}
