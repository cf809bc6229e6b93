/*
 * hello-plugin.c - runs the example plugin (sdk/examples/hello) against a fake
 * host table, so that the example integrators copy is known to do what its
 * README promises: read its keys, subscribe to line and call events, log every
 * Nth call event with the greeting, count, and answer `ucctl hello`.
 *
 * argv[1] is the path of example-hello.so. The fake host records what the
 * plugin asks of it; the daemon tests (tests/daemon) run it in the real core.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <string.h>

#include <glib.h>
#include <ucd/ucd.h>

/* ucd_plugin is opaque to plugins; the fake host may give it any shape. */
struct ucd_plugin {
    const char *id;
};

/* What the plugin did to the fake host, and what the fake host answers. */
typedef struct fake_world {
    const char *greeting; /* the section's values; NULL = not set (default applies) */
    const char *every;
    char *config_error_key;
    GPtrArray *log_lines;
    int counter_value;
    ucd_command_fn command;
    void *command_data;
    char *command_name;
    ucd_event_cb event_cb;
    void *event_data;
    ucd_event_filter filter;
} fake_world;

static fake_world world;
static const char *plugin_path;

/* A reply, as a list of "columns:a,b", "row:x,y", "field:k=v" and "error:..." lines. */
struct ucd_reply {
    GPtrArray *lines;
    size_t columns;
};

static const ucd_config_key *find_key(const ucd_plugin_descriptor *desc, const char *name)
{
    for (const ucd_config_key *key = desc->config_keys; key->name != NULL; key++) {
        if (strcmp(key->name, name) == 0)
            return key;
    }
    return NULL;
}

static const ucd_plugin_descriptor *descriptor;

/* The value as the core would give it: the section's, else the key's default. */
static const char *fake_value(const char *key)
{
    const char *set = strcmp(key, "greeting") == 0 ? world.greeting
                      : strcmp(key, "every") == 0  ? world.every
                                                   : NULL;
    if (set != NULL)
        return set;
    const ucd_config_key *decl = find_key(descriptor, key);
    return decl != NULL ? decl->default_value : NULL;
}

static void fake_log(ucd_plugin *self, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_ptr_array_add(world.log_lines, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

static void fake_set_error(ucd_plugin *self, const char *fmt, ...)
{
}

static int fake_config_string(ucd_plugin *self, const char *key, const char **value)
{
    const ucd_config_key *decl = find_key(descriptor, key);
    if (decl == NULL || decl->type != UCD_CONFIG_STRING)
        return UCD_E_INVALID;
    *value = fake_value(key);
    return *value != NULL ? UCD_OK : UCD_E_NOT_FOUND;
}

static int fake_config_int(ucd_plugin *self, const char *key, int64_t *value)
{
    const ucd_config_key *decl = find_key(descriptor, key);
    if (decl == NULL || decl->type != UCD_CONFIG_INT)
        return UCD_E_INVALID;
    const char *text = fake_value(key);
    if (text == NULL)
        return UCD_E_NOT_FOUND;
    *value = g_ascii_strtoll(text, NULL, 10);
    return UCD_OK;
}

static int fake_config_error(ucd_plugin *self, const char *key, const char *fmt, ...)
{
    g_free(world.config_error_key);
    world.config_error_key = g_strdup(key);
    return UCD_FAIL;
}

static int fake_subscribe(ucd_plugin *self, const ucd_event_filter *filter, ucd_event_cb cb,
                          void *user_data, ucd_subscription **out)
{
    g_assert_nonnull(filter);
    world.filter = *filter;
    world.event_cb = cb;
    world.event_data = user_data;
    return UCD_OK;
}

static int fake_counter_storage;

static ucd_counter *fake_counter_new(ucd_plugin *self, const char *name, uint32_t kind,
                                     const char *help)
{
    g_assert_cmpstr(name, ==, "call_events_logged");
    return (ucd_counter *)&fake_counter_storage;
}

static void fake_counter_add(ucd_counter *counter, int64_t delta)
{
    g_assert_true(counter == (ucd_counter *)&fake_counter_storage);
    world.counter_value += (int)delta;
}

static int fake_command_register(ucd_plugin *self, const char *name, const char *usage,
                                 const char *help, ucd_command_fn fn, void *user_data)
{
    world.command_name = g_strdup(name);
    world.command = fn;
    world.command_data = user_data;
    return UCD_OK;
}

static void fake_reply_columns(ucd_reply *reply, size_t count, const char *const *names)
{
    reply->columns = count;
    gchar *joined = g_strjoinv(",", (gchar **)(const void *)names);
    g_ptr_array_add(reply->lines, g_strconcat("columns:", joined, NULL));
    g_free(joined);
}

static void fake_reply_row(ucd_reply *reply, const char *const *values)
{
    GString *line = g_string_new("row:");
    for (size_t i = 0; i < reply->columns; i++)
        g_string_append_printf(line, "%s%s", i ? "," : "", values[i]);
    g_ptr_array_add(reply->lines, g_string_free(line, FALSE));
}

static void fake_reply_field(ucd_reply *reply, const char *name, const char *value)
{
    g_ptr_array_add(reply->lines, g_strdup_printf("field:%s=%s", name, value));
}

static void fake_reply_error(ucd_reply *reply, const char *fmt, ...)
{
    g_ptr_array_add(reply->lines, g_strdup("error"));
}

static const ucd_host fake_host = {
    .struct_size = sizeof(ucd_host),
    .abi_major = UCD_ABI_MAJOR,
    .abi_minor = UCD_ABI_MINOR,
    .core_version = "test",
    .log = fake_log,
    .set_error = fake_set_error,
    .config_string = fake_config_string,
    .config_int = fake_config_int,
    .config_error = fake_config_error,
    .subscribe = fake_subscribe,
    .counter_new = fake_counter_new,
    .counter_add = fake_counter_add,
    .command_register = fake_command_register,
    .reply_columns = fake_reply_columns,
    .reply_row = fake_reply_row,
    .reply_field = fake_reply_field,
    .reply_error = fake_reply_error,
};

static void *plugin_handle;

static void world_reset(void)
{
    g_free(world.config_error_key);
    g_free(world.command_name);
    if (world.log_lines != NULL)
        g_ptr_array_unref(world.log_lines);
    memset(&world, 0, sizeof(world));
    world.log_lines = g_ptr_array_new_with_free_func(g_free);
}

static void load_plugin(void)
{
    plugin_handle = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);
    if (plugin_handle == NULL)
        g_error("dlopen %s: %s", plugin_path, dlerror());
    ucd_plugin_entry_fn entry = NULL;
    *(void **)&entry = dlsym(plugin_handle, UCD_PLUGIN_ENTRY_SYMBOL);
    g_assert_nonnull(entry);
    descriptor = entry();
    g_assert_cmpstr(descriptor->name, ==, "example-hello");
    g_assert_cmpuint(descriptor->abi_major, ==, UCD_ABI_MAJOR);
}

static void deliver_call(uint32_t state, const char *call_id)
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
    world.event_cb(&event, world.event_data);
}

static void deliver_line(void)
{
    const ucd_line_state_event line = {
        .struct_size = sizeof(line), .state = UCD_LINE_RINGING, .line = "201"};
    const ucd_event event = {
        .struct_size = sizeof(event), .type = UCD_EVENT_LINE_STATE, .payload = &line};
    world.event_cb(&event, world.event_data);
}

static gboolean reply_has(const ucd_reply *reply, const char *line)
{
    for (guint i = 0; i < reply->lines->len; i++) {
        if (strcmp(g_ptr_array_index(reply->lines, i), line) == 0)
            return TRUE;
    }
    return FALSE;
}

static void test_logs_every_nth_call_event_and_counts(void)
{
    ucd_plugin self = {"example-hello"};
    void *state = NULL;

    world_reset();
    world.greeting = "hi there";
    world.every = "2";
    g_assert_cmpint(descriptor->init(&self, &fake_host, &state), ==, UCD_OK);
    g_assert_nonnull(state);
    g_assert_cmpstr(world.command_name, ==, "hello");
    g_assert_cmpint(descriptor->start(state), ==, UCD_OK);
    g_assert_nonnull(world.event_cb);
    g_assert_cmpuint(world.filter.type_mask, ==,
                     UCD_EVENT_MASK(UCD_EVENT_LINE_STATE) | UCD_EVENT_MASK(UCD_EVENT_CALL_STATE));
    g_ptr_array_set_size(world.log_lines, 0); /* forget start's own line */

    deliver_call(UCD_CALL_OFFERING, "c1");
    deliver_line();
    deliver_call(UCD_CALL_CONNECTED, "c1");
    deliver_call(UCD_CALL_DISCONNECTED, "c1");

    /* every = 2: the 1st and the 3rd call event are logged, with the greeting. */
    g_assert_cmpuint(world.log_lines->len, ==, 2);
    const char *first = g_ptr_array_index(world.log_lines, 0);
    const char *second = g_ptr_array_index(world.log_lines, 1);
    g_assert_true(g_str_has_prefix(first, "hi there: "));
    g_assert_nonnull(strstr(first, "offering"));
    g_assert_nonnull(strstr(second, "disconnected"));
    g_assert_cmpint(world.counter_value, ==, 2);

    ucd_reply reply = {g_ptr_array_new_with_free_func(g_free), 0};
    const char *argv[] = {"hello", NULL};
    g_assert_cmpint(world.command(1, argv, &reply, world.command_data), ==, UCD_OK);
    g_assert_true(reply_has(&reply, "columns:event,count"));
    g_assert_true(reply_has(&reply, "row:line_state,1"));
    g_assert_true(reply_has(&reply, "row:call_state,3"));
    g_assert_true(reply_has(&reply, "field:greeting=hi there"));
    g_assert_true(reply_has(&reply, "field:call_events_logged=2"));
    g_ptr_array_unref(reply.lines);

    descriptor->fini(state);
    world_reset();
}

static void test_defaults_and_bad_arguments(void)
{
    ucd_plugin self = {"example-hello"};
    void *state = NULL;

    world_reset();
    g_assert_cmpint(descriptor->init(&self, &fake_host, &state), ==, UCD_OK);
    g_assert_cmpint(descriptor->start(state), ==, UCD_OK);
    deliver_call(UCD_CALL_DIALING, NULL); /* NULL strings must not crash it */
    deliver_call(UCD_CALL_RINGBACK, "c2");
    g_assert_cmpuint(world.log_lines->len, ==, 3); /* start + both (every = 1) */
    g_assert_true(g_str_has_prefix(g_ptr_array_index(world.log_lines, 1), "hello: call ?"));

    ucd_reply reply = {g_ptr_array_new_with_free_func(g_free), 0};
    const char *argv[] = {"hello", "extra", NULL};
    g_assert_cmpint(world.command(2, argv, &reply, world.command_data), ==, UCD_E_INVALID);
    g_assert_true(reply_has(&reply, "error"));
    g_ptr_array_unref(reply.lines);

    descriptor->fini(state);
    world_reset();
}

static void test_rejects_every_below_one(void)
{
    ucd_plugin self = {"example-hello"};
    void *state = NULL;

    world_reset();
    world.every = "0";
    g_assert_cmpint(descriptor->init(&self, &fake_host, &state), ==, UCD_FAIL);
    g_assert_cmpstr(world.config_error_key, ==, "every");
    g_assert_null(state);
    g_assert_null(world.command);
    world_reset();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 2) {
        g_printerr("usage: %s PATH/example-hello.so\n", argv[0]);
        return 2;
    }
    plugin_path = argv[1];
    load_plugin();
    g_test_add_func("/sdk/hello/every-nth", test_logs_every_nth_call_event_and_counts);
    g_test_add_func("/sdk/hello/defaults", test_defaults_and_bad_arguments);
    g_test_add_func("/sdk/hello/bad-every", test_rejects_every_below_one);
    int result = g_test_run();
    world_reset();
    g_ptr_array_unref(world.log_lines);
    dlclose(plugin_handle);
    return result;
}
