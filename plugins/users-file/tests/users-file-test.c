/*
 * users-file-test.c - the users-file plugin against a fake host table, and
 * its export (file-export.c: the whole directory as a document) against the
 * plugin's reader.
 *
 * argv[1]: users-file.so, argv[2]: users.xsd, argv[3]: config/demo-users.xml.
 *
 * The fake host (tests/fake-host) runs work items at once (work then done)
 * and records published events, log lines and the last set_error text. The
 * tests never run the main loop: they drive the plugin's one fd watch and its
 * debounce timer by hand (wait for the inotify fd to become readable, call
 * the watch callback, fire the timer). So a reload test depends on the
 * kernel's inotify, never on wall-clock timing.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include "fake-host.h"
#include "file-export.h"

/* The module of the running test, and the RESYNCED events it published. */
typedef struct test_world {
    fake_module *module;
    const ucd_users_v1 *iface;
    void *impl;
    unsigned resynced_events;
    char *last_event_backend;
} test_world;

static test_world world;
static const ucd_plugin_descriptor *descriptor;
static const char *schema_path;
static const char *demo_path;

/* The plugin publishes only "the directory changed, pull it again". */
static void record_resynced(fake_module *module, const ucd_event *event, void *data)
{
    g_assert_cmpuint(event->type, ==, UCD_EVENT_USER_CHANGED);
    const ucd_user_changed_event *changed = event->payload;
    g_assert_cmpuint(changed->struct_size, ==, sizeof(*changed));
    g_assert_cmpuint(changed->change, ==, UCD_CHANGE_RESYNCED);
    g_assert_null(changed->user_id);
    world.resynced_events++;
    g_free(world.last_event_backend);
    world.last_event_backend = g_strdup(changed->backend);
}

/* A new module with an empty section; the previous one is freed. */
static void world_reset(void)
{
    if (world.module != NULL)
        fake_module_free(world.module);
    g_free(world.last_event_backend);
    memset(&world, 0, sizeof(world));
    world.module = fake_module_new(descriptor, "users-file:test");
    world.module->on_publish = record_resynced;
}

/* ---- files ------------------------------------------------------------------- */

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<users xmlns=\"urn:ucd:users:1\">\n"
#define TAIL "</users>\n"

static char *temp_dir(void)
{
    GError *error = NULL;
    char *dir = g_dir_make_tmp("users-file-test-XXXXXX", &error);
    g_assert_no_error(error);
    return dir;
}

static void remove_dir(char *dir)
{
    GDir *listing = g_dir_open(dir, 0, NULL);
    const char *name;
    while (listing != NULL && (name = g_dir_read_name(listing)) != NULL) {
        char *path = g_build_filename(dir, name, NULL);
        g_unlink(path);
        g_free(path);
    }
    if (listing != NULL)
        g_dir_close(listing);
    g_rmdir(dir);
    g_free(dir);
}

static void write_file(const char *path, const char *content)
{
    GError *error = NULL;
    g_file_set_contents(path, content, -1, &error); /* temp + rename */
    g_assert_no_error(error);
}

/* Truncate and write in place: what `cat new > users.xml` does. */
static void write_in_place(const char *path, const char *content)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    g_assert_cmpint(fd, >=, 0);
    size_t length = strlen(content);
    g_assert_cmpint(write(fd, content, length), ==, (ssize_t)length);
    g_assert_cmpint(close(fd), ==, 0);
}

static char *read_file(const char *path)
{
    char *content = NULL;
    GError *error = NULL;
    g_file_get_contents(path, &content, NULL, &error);
    g_assert_no_error(error);
    return content;
}

static guint count_entries(const char *dir)
{
    GDir *listing = g_dir_open(dir, 0, NULL);
    guint count = 0;
    while (g_dir_read_name(listing) != NULL)
        count++;
    g_dir_close(listing);
    return count;
}

static gboolean log_has(const char *needle)
{
    return fake_module_log_has(world.module, 0, needle);
}

/* ---- the plugin ------------------------------------------------------------- */

static int plugin_init(const char *file, const char *watch, void **state)
{
    world_reset();
    fake_module_set(world.module, "file", file);
    fake_module_set(world.module, "watch", watch);
    int rc = fake_module_init(world.module);
    *state = world.module->state;
    world.iface =
        fake_module_service(world.module, UCD_USERS_SERVICE, UCD_USERS_MAJOR, &world.impl);
    return rc;
}

static void *plugin_start(const char *file, const char *watch)
{
    void *state = NULL;
    g_assert_cmpint(plugin_init(file, watch, &state), ==, UCD_OK);
    g_assert_nonnull(state);
    g_assert_nonnull(world.iface);
    g_assert_true(world.impl == state);
    g_assert_cmpint(descriptor->start(state), ==, UCD_OK);
    /* The first load runs on the worker pool (here: during start) and says
     * when it is done, as every reload does; counting starts after it. */
    g_assert_cmpuint(world.resynced_events, ==, 1);
    world.resynced_events = 0;
    return state;
}

/* The plugin must remove its own fd watch when it stops. */
static void plugin_stop(void *state)
{
    g_assert_true(state == world.module->state);
    fake_module_stop(world.module);
    g_assert_cmpuint(world.module->leftover_watches, ==, 0);
}

static void strv_append(GString *out, const char *name, const char *const *values)
{
    g_string_append_printf(out, "|%s:", name);
    for (size_t i = 0; values != NULL && values[i] != NULL; i++)
        g_string_append_printf(out, "%s%s", i ? "," : "", values[i]);
}

#define OR_DASH(s) ((s) != NULL ? (s) : "-")

/* Every field of a user as one line, so tests compare whole records. */
static char *user_summary(const ucd_user *user)
{
    GString *out = g_string_new(NULL);
    g_assert_cmpuint(user->struct_size, ==, sizeof(ucd_user));
    g_string_append_printf(out, "%s|%s|%s|%s|%s|%s|%s|%s|%s|%s", user->id, user->login,
                           user->enabled ? "enabled" : "disabled", OR_DASH(user->display_name),
                           OR_DASH(user->given_name), OR_DASH(user->surname), OR_DASH(user->email),
                           OR_DASH(user->department), OR_DASH(user->title),
                           OR_DASH(user->home_server));
    strv_append(out, "numbers", user->numbers);
    strv_append(out, "groups", user->groups);
    strv_append(out, "lines", user->lines);
    return g_string_free(out, FALSE);
}

static char *group_summary(const ucd_group *group)
{
    GString *out = g_string_new(NULL);
    g_assert_cmpuint(group->struct_size, ==, sizeof(ucd_group));
    g_string_append_printf(out, "%s|%s|%s", group->id, OR_DASH(group->name),
                           OR_DASH(group->description));
    strv_append(out, "leaders", group->leaders);
    return g_string_free(out, FALSE);
}

static int collect_user(const ucd_user *user, void *data)
{
    g_ptr_array_add(data, user_summary(user));
    return 0;
}

static int collect_group(const ucd_group *group, void *data)
{
    g_ptr_array_add(data, group_summary(group));
    return 0;
}

static GPtrArray *users_of(void *state)
{
    GPtrArray *users = g_ptr_array_new_with_free_func(g_free);
    g_assert_cmpint(world.iface->foreach_user(state, collect_user, users), ==, UCD_OK);
    return users;
}

static GPtrArray *groups_of(void *state)
{
    GPtrArray *groups = g_ptr_array_new_with_free_func(g_free);
    g_assert_cmpint(world.iface->foreach_group(state, collect_group, groups), ==, UCD_OK);
    return groups;
}

/* The users' ids joined with ',', in file order. */
static char *user_ids_of(void *state)
{
    GPtrArray *users = users_of(state);
    GString *ids = g_string_new(NULL);
    for (guint i = 0; i < users->len; i++) {
        const char *summary = g_ptr_array_index(users, i);
        g_string_append_printf(ids, "%s%.*s", i ? "," : "", (int)strcspn(summary, "|"), summary);
    }
    g_ptr_array_unref(users);
    return g_string_free(ids, FALSE);
}

static void assert_user_ids(void *state, const char *expected)
{
    char *ids = user_ids_of(state);
    g_assert_cmpstr(ids, ==, expected);
    g_free(ids);
}

/* The first load fails (line 0: on any line): the module runs without users,
 * nothing is published, the load is counted as rejected, and the first error
 * logged starts with "PATH:LINE:". */
static void assert_rejected_at(const char *path, long line, const char *fragment)
{
    void *state = NULL;
    g_assert_cmpint(plugin_init(path, "false", &state), ==, UCD_OK);
    g_assert_cmpint(descriptor->start(state), ==, UCD_OK);
    g_assert_cmpuint(world.resynced_events, ==, 0);
    assert_user_ids(state, "");
    g_assert_cmpint(fake_module_counter(world.module, "rejected_loads"), ==, 1);
    const char *first = NULL;
    for (guint i = 0; i < world.module->log_lines->len && first == NULL; i++)
        if (g_array_index(world.module->log_levels, int, i) == UCD_LOG_ERROR)
            first = g_ptr_array_index(world.module->log_lines, i);
    g_assert_nonnull(first);
    char *prefix =
        line > 0 ? g_strdup_printf("%s:%ld: ", path, line) : g_strdup_printf("%s:", path);
    if (!g_str_has_prefix(first, prefix))
        g_error("expected an error at %s, got: %s", prefix, first);
    if (fragment != NULL && strstr(first, fragment) == NULL)
        g_error("expected \"%s\" in: %s", fragment, first);
    g_free(prefix);
    plugin_stop(state);
}

/* Waits for the inotify fd, feeds the plugin its events, fires the debounce
 * timer, until the plugin published `events` RESYNCED events or rejected the
 * file (a log line with `rejected`). */
static void pump_until(unsigned events, gboolean expect_rejection)
{
    for (int round = 0; round < 100; round++) {
        if (world.resynced_events >= events && (!expect_rejection || log_has("rejected")))
            return;
        if (expect_rejection && log_has("rejected"))
            return;
        g_assert_cmpuint(world.module->watches->len, ==, 1);
        if (fake_module_poll_watches(world.module, 100) == 0 && world.module->timers->len > 0) {
            struct ucd_timer *debounce = g_ptr_array_index(world.module->timers, 0);
            g_assert_cmpuint(debounce->flags, ==, 0); /* one-shot */
            g_assert_cmpuint(debounce->interval_ms, >, 0);
            fake_timer_fire(debounce);
        }
    }
    g_error("the plugin did not reload (events %u)", world.resynced_events);
}

/* ---- documents -------------------------------------------------------------- */

static const char full_doc[] =
    HEAD "  <!-- a comment the plugin must keep when it rewrites the file -->\n"
         "  <group id=\"file:sales\">\n"
         "    <name>Sales</name>\n"
         "    <description>  Sells things.  </description>\n"
         "    <leader>file:anna</leader>\n"
         "  </group>\n"
         "  <group id=\"file:empty\"/>\n"
         "  <user id=\"file:anna\">\n"
         "    <login>anna</login>\n"
         "    <displayName>Anna Berger</displayName>\n"
         "    <givenName>Anna</givenName>\n"
         "    <surname>Berger</surname>\n"
         "    <email>anna@example.com</email>\n"
         "    <department>Sales</department>\n"
         "    <title>Head of Sales</title>\n"
         "    <homeServer>ucd-munich</homeServer>\n"
         "    <phone type=\"work\">+49 89 452133-201</phone>\n"
         "    <phone type=\"mobile\">\n      +49 151 1234567\n    </phone>\n"
         "    <memberOf>file:sales</memberOf>\n"
         "    <memberOf>file:empty</memberOf>\n"
         "    <line>201</line>\n"
         "    <line driver=\"pbx-sim:office\">221</line>\n"
         "  </user>\n"
         "  <user id=\"file:ben\" enabled=\"false\">\n"
         "    <login>ben</login>\n"
         "  </user>\n" TAIL;

static const char *const full_doc_users[] = {
    "file:anna|anna|enabled|Anna Berger|Anna|Berger|anna@example.com|Sales|Head of Sales|"
    "ucd-munich|numbers:+49 89 452133-201,+49 151 1234567|groups:file:sales,file:empty"
    "|lines:201,pbx-sim:office/221",
    "file:ben|ben|disabled|-|-|-|-|-|-|-|numbers:|groups:|lines:",
};

static const char *const full_doc_groups[] = {
    "file:sales|Sales|Sells things.|leaders:file:anna",
    "file:empty|-|-|leaders:",
};

static void assert_summaries(GPtrArray *got, const char *const *expected, size_t count)
{
    g_assert_cmpuint(got->len, ==, count);
    for (size_t i = 0; i < count; i++)
        g_assert_cmpstr(g_ptr_array_index(got, i), ==, expected[i]);
    g_ptr_array_unref(got);
}

/* ---- tests: loading ---------------------------------------------------------- */

static void test_loads_every_field(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);
    write_file(path, full_doc);

    void *state = plugin_start(path, "false");
    g_assert_cmpuint(world.module->watches->len, ==, 0); /* watch = false */
    assert_summaries(users_of(state), full_doc_users, G_N_ELEMENTS(full_doc_users));
    assert_summaries(groups_of(state), full_doc_groups, G_N_ELEMENTS(full_doc_groups));
    g_assert_true(log_has("loaded 2 users and 2 groups"));
    /* No <password>: nobody logs in, and without hashes a readable file is fine. */
    g_assert_cmpint(world.iface->authenticate(state, "anna", "secret"), ==, UCD_E_DENIED);
    g_assert_false(log_has("chmod o-r"));
    plugin_stop(state);

    g_free(path);
    remove_dir(dir);
}

static int stop_after_first(const ucd_user *user, void *data)
{
    (*(int *)data)++;
    return 1;
}

/* kB of a "Field:   123 kB" line of /proc/self/status. */
static long status_kb(const char *field)
{
    char *text = NULL;
    long kb = -1;
    g_assert_true(g_file_get_contents("/proc/self/status", &text, NULL, NULL));
    const char *at = strstr(text, field);
    if (at != NULL)
        kb = strtol(at + strlen(field), NULL, 10);
    g_free(text);
    return kb;
}

/* A large file's load gives back the heap of its parse: the document is many
 * times the set built from it, and glibc would keep all of it (at 50,000
 * users 200 MB of a 337 MB daemon). Measured by the process's resident size
 * against its peak during the load (the peak is reset first), not by time. */
static void test_load_returns_heap(void)
{
#if defined(__SANITIZE_ADDRESS__)
    g_test_skip("AddressSanitizer's allocator keeps freed memory in quarantine");
    return;
#endif
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);
    GString *xml = g_string_new(HEAD);
    for (int i = 0; i < 20000; i++)
        g_string_append_printf(xml,
                               "  <user id=\"file:u%05d\">\n    <login>user%05d</login>\n"
                               "    <displayName>Jürgen Müller %05d</displayName>\n"
                               "    <email>user%05d@example.com</email>\n"
                               "    <phone>+49 89 4521%05d</phone>\n    <line>%d</line>\n"
                               "  </user>\n",
                               i, i, i, i, i, 100000 + i);
    g_string_append(xml, TAIL);
    write_file(path, xml->str);
    g_string_free(xml, TRUE);

    void *state = NULL;
    g_assert_cmpint(plugin_init(path, "false", &state), ==, UCD_OK);
    /* Init does not parse: the users come with the first load, at start. */
    assert_user_ids(state, "");
    int refs = open("/proc/self/clear_refs", O_WRONLY);
    g_assert_cmpint(refs, >=, 0);
    g_assert_cmpint(write(refs, "5", 1), ==, 1); /* the peak (VmHWM) := now */
    close(refs);
    long before = status_kb("VmRSS:");
    g_assert_cmpint(descriptor->start(state), ==, UCD_OK);
    long peak = status_kb("VmHWM:"), after = status_kb("VmRSS:");
    g_assert_cmpuint(world.resynced_events, ==, 1);
    g_assert_true(log_has("loaded 20000 users"));
    g_test_message("RSS before %ld kB, peak %ld kB, after %ld kB", before, peak, after);
    /* What stays is the set, well under half of what the parse took. */
    g_assert_cmpint(after - before, <, (peak - before) / 2);
    plugin_stop(state);
    g_free(path);
    remove_dir(dir);
}

static void test_foreach_stops(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);
    write_file(path, full_doc);
    void *state = plugin_start(path, "false");
    int calls = 0;
    g_assert_cmpint(world.iface->foreach_user(state, stop_after_first, &calls), ==, UCD_OK);
    g_assert_cmpint(calls, ==, 1);
    plugin_stop(state);
    g_free(path);
    remove_dir(dir);
}

static void test_config_errors(void)
{
    void *state = NULL;
    world_reset();
    fake_module_set(world.module, "file", "/nonexistent/users.xml");
    fake_module_set(world.module, "max_size", "0");
    g_assert_cmpint(fake_module_init(world.module), ==, UCD_FAIL);
    g_assert_cmpstr(world.module->config_error_key, ==, "max_size");

    /* A missing file is refused at init (the core refuses it before, as
     * UCD_KEY_FILE); its parse waits for the first load. */
    g_assert_cmpint(plugin_init("/nonexistent/users.xml", "false", &state), ==, UCD_FAIL);
    g_assert_cmpstr(world.module->config_error_key, ==, "file");
}

static void test_schema_violation_has_line(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);

    /* a user without <login>: reported where <login> was expected, line 4 */
    write_file(path, HEAD "  <user id=\"file:a\">\n    <displayName>A</displayName>\n"
                          "  </user>\n" TAIL);
    assert_rejected_at(path, 4, "login");

    /* line 6: an element the schema does not know */
    write_file(path, HEAD "  <user id=\"file:a\">\n    <login>a</login>\n\n"
                          "    <nickname>x</nickname>\n  </user>\n" TAIL);
    assert_rejected_at(path, 6, "nickname");

    /* line 5: a phone type outside the enumeration */
    write_file(path, HEAD "  <user id=\"file:a\">\n    <login>a</login>\n"
                          "    <phone type=\"pager\">1</phone>\n  </user>\n" TAIL);
    assert_rejected_at(path, 5, "pager");

    /* line 1: the wrong namespace */
    write_file(path, "<users xmlns=\"urn:somebody:else\"/>\n");
    assert_rejected_at(path, 1, NULL);

    g_free(path);
    remove_dir(dir);
}

static void test_malformed_xml_has_line(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);

    write_file(path, HEAD "  <user id=\"file:a\">\n    <login>a</login>\n"
                          "    <email>a@example.com</mail>\n  </user>\n" TAIL);
    assert_rejected_at(path, 5, NULL); /* the mismatched end tag is on line 5 */

    write_file(path, "");
    assert_rejected_at(path, 0, NULL);

    g_free(path);
    remove_dir(dir);
}

static void test_entities_refused(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);
    char *secret_path = g_build_filename(dir, "secret.txt", NULL);
    write_file(secret_path, "TOP-SECRET-CONTENT");

    /* An external entity naming a local file. */
    char *xxe = g_strdup_printf("<?xml version=\"1.0\"?>\n"
                                "<!DOCTYPE users [ <!ENTITY s SYSTEM \"file://%s\"> ]>\n"
                                "<users xmlns=\"urn:ucd:users:1\">\n"
                                "  <user id=\"file:a\"><login>a</login>"
                                "<displayName>&s;</displayName></user>\n" TAIL,
                                secret_path);
    write_file(path, xxe);
    assert_rejected_at(path, 2, "DOCTYPE");
    for (guint i = 0; i < world.module->log_lines->len; i++)
        g_assert_null(strstr(g_ptr_array_index(world.module->log_lines, i), "TOP-SECRET"));
    g_assert_true(world.module->last_error == NULL ||
                  strstr(world.module->last_error, "TOP-SECRET") == NULL);

    /* The billion laughs: nested internal entities. */
    GString *laughs = g_string_new("<?xml version=\"1.0\"?>\n<!DOCTYPE users [\n"
                                   " <!ENTITY l0 \"lol\">\n");
    for (int i = 1; i < 10; i++)
        g_string_append_printf(laughs, " <!ENTITY l%d \"&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;\">\n",
                               i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    g_string_append(laughs, "]>\n<users xmlns=\"urn:ucd:users:1\">\n"
                            "  <user id=\"&l9;\"><login>&l9;</login></user>\n" TAIL);
    write_file(path, laughs->str);
    assert_rejected_at(path, 2, "DOCTYPE");

    /* An entity without a DOCTYPE is just undefined. */
    write_file(path, HEAD "  <user id=\"file:a\"><login>&s;</login></user>\n" TAIL);
    assert_rejected_at(path, 3, NULL);

    g_string_free(laughs, TRUE);
    g_free(xxe);
    g_free(secret_path);
    g_free(path);
    remove_dir(dir);
}

static void test_non_utf8_refused(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);

    /* "Jürgen" in Latin-1 on line 5 */
    write_file(path, HEAD "  <user id=\"file:j\">\n    <login>j</login>\n"
                          "    <displayName>J\xfcrgen</displayName>\n  </user>\n" TAIL);
    assert_rejected_at(path, 5, "UTF-8");

    /* A legacy encoding declared, even with ASCII-only content. */
    write_file(path, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
                     "<users xmlns=\"urn:ucd:users:1\"/>\n");
    assert_rejected_at(path, 1, "ISO-8859-1");

    g_free(path);
    remove_dir(dir);
}

static void test_duplicates_refused(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);

    write_file(path, HEAD "  <user id=\"file:a\"><login>a</login></user>\n"
                          "  <user id=\"file:a\"><login>b</login></user>\n" TAIL);
    assert_rejected_at(path, 4, "duplicate user id \"file:a\" (first on line 3)");

    write_file(path, HEAD "  <user id=\"file:a\"><login>anna</login></user>\n"
                          "  <user id=\"file:b\"><login>Anna</login></user>\n" TAIL);
    assert_rejected_at(path, 4, "duplicate login \"Anna\" (also used by \"file:a\")");

    write_file(path, HEAD "  <group id=\"file:g\"/>\n  <group id=\"file:g\"/>\n" TAIL);
    assert_rejected_at(path, 4, "duplicate group id");

    write_file(path, HEAD "  <user id=\"file:a\"><login>a</login><line>201</line></user>\n"
                          "  <user id=\"file:b\"><login>b</login><line>201</line></user>\n" TAIL);
    assert_rejected_at(path, 4, "duplicate line \"201\" (also assigned to \"file:a\")");

    g_free(path);
    remove_dir(dir);
}

static void test_unknown_references_refused(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);

    write_file(path, HEAD "  <group id=\"file:sales\"/>\n"
                          "  <user id=\"file:a\"><login>a</login>\n"
                          "    <memberOf>file:support</memberOf></user>\n" TAIL);
    assert_rejected_at(path, 4, "unknown group \"file:support\"");

    write_file(path, HEAD "  <group id=\"file:sales\"><leader>file:nobody</leader></group>\n" TAIL);
    assert_rejected_at(path, 3, "leader \"file:nobody\"");

    g_free(path);
    remove_dir(dir);
}

static void test_max_size(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);
    write_file(path, full_doc);

    world_reset();
    fake_module_set(world.module, "file", path);
    fake_module_set(world.module, "watch", "false");
    fake_module_set(world.module, "max_size", "100");
    g_assert_cmpint(fake_module_init(world.module), ==, UCD_FAIL);
    g_assert_cmpstr(world.module->config_error_key, ==, "max_size");

    g_free(path);
    remove_dir(dir);
}

/* ---- tests: passwords -------------------------------------------------------- */

/* Made with Python's hashlib.pbkdf2_hmac: "pw-anna" and "pw-ben". */
#define HASH_ANNA                                                                                  \
    "pbkdf2-sha256$1000$dXNlcnMtZmlsZS1hbm5hIQ==$4bDR+LcYOned7gIxpv8QPRlAo8fEja5SblGQ0Cdr+6E="
#define HASH_BEN                                                                                   \
    "pbkdf2-sha256$1000$dXNlcnMtZmlsZS1iZW4hIQ==$56K+T4/2M3LZxntIUO81+ZLoxkt348A7GRrpiHIeQ1c="

static const char password_doc[] =
    HEAD "  <user id=\"file:anna\"><login>anna</login>\n"
         "    <password>\n      " HASH_ANNA "\n    </password></user>\n"
         "  <user id=\"file:ben\" enabled=\"false\"><login>ben</login>\n"
         "    <password>" HASH_BEN "</password></user>\n"
         "  <user id=\"file:carl\"><login>carl</login></user>\n" TAIL;

/* Which password a login takes, and what each failure answers: an unknown
 * login NOT_FOUND, everything else DENIED. The password never reaches the
 * log. */
static void test_password_authenticate(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);
    write_file(path, password_doc);
    g_assert_cmpint(g_chmod(path, 0600), ==, 0);

    void *state = plugin_start(path, "false");
    const ucd_users_v1 *f = world.iface;
    g_assert_cmpint(f->authenticate(state, "anna", "pw-anna"), ==, UCD_OK);
    g_assert_cmpint(f->authenticate(state, "ANNA", "pw-anna"), ==, UCD_OK); /* logins fold */
    g_assert_cmpint(f->authenticate(state, "anna", "pw-Anna"), ==, UCD_E_DENIED);
    g_assert_cmpint(f->authenticate(state, "anna", ""), ==, UCD_E_DENIED);
    g_assert_cmpint(f->authenticate(state, "anna", NULL), ==, UCD_E_DENIED);
    g_assert_cmpint(f->authenticate(state, "anna", HASH_ANNA), ==, UCD_E_DENIED);
    g_assert_cmpint(f->authenticate(state, "ben", "pw-ben"), ==, UCD_E_DENIED); /* disabled */
    g_assert_cmpint(f->authenticate(state, "carl", ""), ==, UCD_E_DENIED);      /* no password */
    g_assert_cmpint(f->authenticate(state, "nobody", "pw-anna"), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(f->authenticate(state, "file:anna", "pw-anna"), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(f->authenticate(state, NULL, "pw-anna"), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(f->authenticate(state, "\xff\xfe", "pw-anna"), ==, UCD_E_NOT_FOUND);
    g_assert_false(log_has("pw-anna"));
    g_assert_false(log_has("chmod o-r")); /* mode 0600 */

    /* A reload with another hash takes effect. */
    write_file(path, HEAD "  <user id=\"file:anna\"><login>anna</login>\n"
                          "    <password>" HASH_BEN "</password></user>\n" TAIL);
    g_assert_cmpint(f->sync(state, 0, NULL, NULL, NULL), ==, UCD_OK);
    g_assert_cmpint(f->authenticate(state, "anna", "pw-anna"), ==, UCD_E_DENIED);
    g_assert_cmpint(f->authenticate(state, "anna", "pw-ben"), ==, UCD_OK);
    plugin_stop(state);

    g_free(path);
    remove_dir(dir);
}

/* Anything but a hash in a supported form refuses the file, with its line
 * and never its value. */
static void test_password_clear_text_refused(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);

    write_file(path, HEAD "  <user id=\"file:a\"><login>a</login>\n"
                          "    <password>Sommer2024!</password>\n"
                          "  </user>\n" TAIL);
    assert_rejected_at(path, 4, "the password of user \"file:a\" is refused");
    g_assert_false(log_has("Sommer2024!"));
    g_assert_true(log_has("ucd-passwd"));

    write_file(path, HEAD
               "  <user id=\"file:a\"><login>a</login>\n"
               "    <password>pbkdf2-sha256$10$c2FsdHNhbHQ=$c2FsdHNhbHRzYWx0c2FsdA==</password>\n"
               "  </user>\n" TAIL);
    assert_rejected_at(path, 4, "iterations");

    write_file(path, HEAD "  <user id=\"file:a\"><login>a</login>\n"
                          "    <password></password>\n"
                          "  </user>\n" TAIL);
    assert_rejected_at(path, 4, "no password hash stored");

    /* The schema allows one, right after the login. */
    write_file(path, HEAD "  <user id=\"file:a\"><login>a</login>\n"
                          "    <password>" HASH_ANNA "</password>\n"
                          "    <password>" HASH_ANNA "</password>\n"
                          "  </user>\n" TAIL);
    assert_rejected_at(path, 5, "password");

    g_free(path);
    remove_dir(dir);
}

/* Hashes can be attacked offline by whoever reads them: a file with any is
 * named in a warning while others may read it. */
static void test_password_file_readable_warns(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);
    write_file(path, password_doc);
    g_assert_cmpint(g_chmod(path, 0644), ==, 0);

    void *state = plugin_start(path, "false");
    char *expected = g_strdup_printf("%s holds 2 password hashes", path);
    g_assert_true(fake_module_log_has(world.module, UCD_LOG_WARNING, expected));
    g_assert_true(log_has("chmod o-r"));
    g_assert_cmpint(world.iface->authenticate(state, "anna", "pw-anna"), ==, UCD_OK);
    plugin_stop(state);

    g_free(expected);
    g_free(path);
    remove_dir(dir);
}

/* ---- tests: reloading -------------------------------------------------------- */

static const char two_users[] = HEAD "  <user id=\"file:a\"><login>a</login></user>\n"
                                     "  <user id=\"file:b\"><login>b</login></user>\n" TAIL;
static const char three_users[] = HEAD "  <user id=\"file:a\"><login>a</login></user>\n"
                                       "  <user id=\"file:b\"><login>b</login></user>\n"
                                       "  <user id=\"file:c\"><login>c</login></user>\n" TAIL;

static void test_reload_rename_replace(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);
    write_file(path, two_users);
    void *state = plugin_start(path, "true");
    g_assert_cmpuint(world.module->watches->len, ==, 1);

    /* Another file in the directory changing is no reason to reload. */
    char *other = g_build_filename(dir, "other.xml", NULL);
    write_file(other, "x");
    write_file(path, three_users); /* g_file_set_contents: temp + rename */
    pump_until(1, FALSE);
    assert_user_ids(state, "file:a,file:b,file:c");
    g_assert_cmpuint(world.resynced_events, ==, 1);
    g_assert_cmpstr(world.last_event_backend, ==, "users-file:test");

    plugin_stop(state);
    g_free(other);
    g_free(path);
    remove_dir(dir);
}

static void test_reload_in_place(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);
    write_file(path, two_users);
    void *state = plugin_start(path, "true");

    write_in_place(path, three_users);
    pump_until(1, FALSE);
    assert_user_ids(state, "file:a,file:b,file:c");

    plugin_stop(state);
    g_free(path);
    remove_dir(dir);
}

static void test_broken_edit_keeps_users(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);
    write_file(path, two_users);
    void *state = plugin_start(path, "true");

    /* An edit that breaks the file on line 4: logged, users kept. */
    write_in_place(path, HEAD "  <user id=\"file:a\"><login>a</login></user>\n"
                              "  <user id=\"file:b\"><login>b</login>\n" TAIL);
    pump_until(0, TRUE);
    char *where = g_strdup_printf("%s:5: ", path);
    g_assert_true(log_has(where));
    g_assert_true(log_has("keeping the previous 2 users"));
    g_assert_cmpuint(world.resynced_events, ==, 0);
    assert_user_ids(state, "file:a,file:b");

    /* A schema-valid file with a duplicate is just as bad. */
    fake_module_log_clear(world.module);
    write_file(path, HEAD "  <user id=\"file:a\"><login>a</login></user>\n"
                          "  <user id=\"file:a\"><login>x</login></user>\n" TAIL);
    pump_until(0, TRUE);
    assert_user_ids(state, "file:a,file:b");

    /* A removed file too. */
    fake_module_log_clear(world.module);
    g_assert_cmpint(g_unlink(path), ==, 0);
    pump_until(0, TRUE);
    assert_user_ids(state, "file:a,file:b");

    /* The fixed file loads. */
    write_file(path, three_users);
    pump_until(1, FALSE);
    assert_user_ids(state, "file:a,file:b,file:c");

    plugin_stop(state);
    g_free(where);
    g_free(path);
    remove_dir(dir);
}

/* The first load is not waited for, so a file that does not load leaves the
 * module running without users: `ucctl modules` shows why (set_error) until
 * a load succeeds, and a later broken edit shows it again. */
static void test_first_load_error_shown(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);
    write_file(path, HEAD "  <user id=\"file:a\"><login>a</login>\n" TAIL);
    void *state = NULL;
    g_assert_cmpint(plugin_init(path, "true", &state), ==, UCD_OK);
    g_assert_cmpint(descriptor->start(state), ==, UCD_OK);
    assert_user_ids(state, "");
    char *expected = g_strdup_printf("users file rejected, 0 users kept: %s:4: ", path);
    g_assert_nonnull(world.module->last_error);
    if (!g_str_has_prefix(world.module->last_error, expected))
        g_error("expected \"%s\", got: %s", expected, world.module->last_error);
    g_free(expected);

    write_file(path, two_users);
    pump_until(1, FALSE);
    assert_user_ids(state, "file:a,file:b");
    g_assert_cmpstr(world.module->last_error, ==, "");

    fake_module_log_clear(world.module);
    write_in_place(path, HEAD "  <user id=\"file:a\"><login>a</login></user>\n"
                              "  <user id=\"file:b\"><login>b</login>\n" TAIL);
    pump_until(1, TRUE);
    expected = g_strdup_printf("users file rejected, 2 users kept: %s:5: ", path);
    if (!g_str_has_prefix(world.module->last_error, expected))
        g_error("expected \"%s\", got: %s", expected, world.module->last_error);
    g_free(expected);

    plugin_stop(state);
    g_free(path);
    remove_dir(dir);
}

typedef struct sync_result {
    int calls;
    int result;
    char *message;
} sync_result;

static void on_sync_done(int result, const char *message, void *data)
{
    sync_result *out = data;
    out->calls++;
    out->result = result;
    g_free(out->message);
    out->message = g_strdup(message);
}

static void test_sync(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);
    write_file(path, two_users);
    void *state = plugin_start(path, "false");
    sync_result done = {0};

    g_assert_cmpint(world.iface->sync(state, UCD_SYNC_FULL, NULL, on_sync_done, &done), ==, UCD_OK);
    g_assert_cmpint(done.calls, ==, 1);
    g_assert_cmpint(done.result, ==, UCD_OK);
    g_assert_nonnull(strstr(done.message, "unchanged: 2 users"));
    g_assert_cmpuint(world.resynced_events, ==, 0);

    write_file(path, three_users);
    g_assert_cmpint(world.iface->sync(state, 0, NULL, on_sync_done, &done), ==, UCD_OK);
    g_assert_cmpint(done.result, ==, UCD_OK);
    g_assert_true(g_str_has_prefix(done.message, "3 users"));
    g_assert_cmpuint(world.resynced_events, ==, 1);
    assert_user_ids(state, "file:a,file:b,file:c");

    write_file(path, "<users");
    g_assert_cmpint(world.iface->sync(state, 0, NULL, on_sync_done, &done), ==, UCD_OK);
    g_assert_cmpint(done.result, ==, UCD_E_INVALID);
    g_assert_true(g_str_has_prefix(done.message, path));
    assert_user_ids(state, "file:a,file:b,file:c");

    g_free(done.message);
    plugin_stop(state);
    g_free(path);
    remove_dir(dir);
}

/* ---- tests: writing ------------------------------------------------------------ */

static ino_t inode_of(const char *path)
{
    struct stat st;
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    return st.st_ino;
}

static const char import_doc[] =
    HEAD "  <group id=\"file:support\"><name>Support</name></group>\n"
         "  <user id=\"file:anna\">\n    <login>anna</login>\n"
         "    <displayName>Anna Berger-Huber</displayName>\n"
         "    <memberOf>file:sales</memberOf>\n    <line>201</line>\n  </user>\n"
         "  <user id=\"file:carl\">\n    <login>carl</login>\n"
         "    <memberOf>file:support</memberOf>\n    <line>203</line>\n  </user>\n"
         "  <user id=\"file:dora\">\n    <login>dora</login>\n  </user>\n" TAIL;

static void test_import_merges(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);
    char *import = g_build_filename(dir, "import.xml", NULL);
    write_file(path, full_doc);
    write_file(import, import_doc);
    g_assert_cmpint(g_chmod(path, 0640), ==, 0);
    ino_t before = inode_of(path);
    void *state = plugin_start(path, "false");
    char message[256];

    g_assert_cmpint(world.iface->import_users(state, import, message, sizeof(message)), ==, UCD_OK);
    g_assert_true(
        g_str_has_prefix(message, "users: 2 added, 1 updated; groups: 1 added, 0 updated (from "));
    g_assert_cmpuint(world.resynced_events, ==, 1);
    assert_user_ids(state, "file:anna,file:ben,file:carl,file:dora");
    GPtrArray *users = users_of(state);
    g_assert_cmpstr(g_ptr_array_index(users, 0), ==,
                    "file:anna|anna|enabled|Anna Berger-Huber|-|-|-|-|-|-|numbers:"
                    "|groups:file:sales|lines:201");
    g_ptr_array_unref(users);
    GPtrArray *groups = groups_of(state);
    g_assert_cmpuint(groups->len, ==, 3);
    g_assert_cmpstr(g_ptr_array_index(groups, 2), ==, "file:support|Support|-|leaders:");
    g_ptr_array_unref(groups);

    /* Written by rename (a new inode), nothing left behind, mode kept, the
     * comment kept, and without a namespace declaration per copied element. */
    g_assert_cmpuint(inode_of(path), !=, before);
    g_assert_cmpuint(count_entries(dir), ==, 2);
    struct stat st;
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0640);
    char *content = read_file(path);
    if (g_test_verbose())
        g_printerr("%s", content);
    g_assert_nonnull(strstr(content, "a comment the plugin must keep"));
    g_assert_null(strstr(content, "<user xmlns"));
    g_free(content);

    /* Importing the same file again changes nothing but counts updates. */
    g_assert_cmpint(world.iface->import_users(state, import, message, sizeof(message)), ==, UCD_OK);
    g_assert_true(g_str_has_prefix(message, "users: 0 added, 3 updated; groups: 0 added, 1"));

    plugin_stop(state);
    g_free(import);
    g_free(path);
    remove_dir(dir);
}

static void assert_import_refused(void *state, const char *path, const char *import,
                                  const char *fragment)
{
    char *before = read_file(path);
    ino_t inode = inode_of(path);
    unsigned events = world.resynced_events;
    char message[512];
    g_assert_cmpint(world.iface->import_users(state, import, message, sizeof(message)), ==,
                    UCD_E_INVALID);
    if (strstr(message, fragment) == NULL)
        g_error("expected \"%s\" in: %s", fragment, message);
    g_assert_true(g_str_has_prefix(message, "import refused"));
    char *after = read_file(path);
    g_assert_cmpstr(after, ==, before);
    g_assert_cmpuint(inode_of(path), ==, inode);
    g_assert_cmpuint(world.resynced_events, ==, events);
    g_free(before);
    g_free(after);
}

static void test_import_refused_keeps_file(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);
    char *import = g_build_filename(dir, "import.xml", NULL);
    write_file(path, full_doc);
    void *state = plugin_start(path, "false");

    write_file(import, HEAD "  <user id=\"file:x\">\n  </user>\n" TAIL);
    char *where = g_strdup_printf("%s:3:", import);
    assert_import_refused(state, path, import, where);

    write_file(import, HEAD "  <user id=\"file:x\"><login>x</login>"
                            "<memberOf>file:nowhere</memberOf></user>\n" TAIL);
    assert_import_refused(state, path, import, "unknown group \"file:nowhere\"");

    /* A new id with a login an existing user has. */
    write_file(import, HEAD "  <user id=\"file:x\"><login>ANNA</login></user>\n" TAIL);
    assert_import_refused(state, path, import, "duplicate login");

    /* Duplicates within the imported file itself. */
    write_file(import, HEAD "  <user id=\"file:x\"><login>x</login></user>\n"
                            "  <user id=\"file:x\"><login>y</login></user>\n" TAIL);
    assert_import_refused(state, path, import, "duplicate user id");

    write_file(import, "<!DOCTYPE users SYSTEM \"http://example.com/x.dtd\"><users/>");
    assert_import_refused(state, path, import, "DOCTYPE");

    assert_import_refused(state, path, "/nonexistent/import.xml", "cannot open");
    assert_user_ids(state, "file:anna,file:ben");

    plugin_stop(state);
    g_free(where);
    g_free(import);
    g_free(path);
    remove_dir(dir);
}

static void test_set_home_server(void)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "users.xml", NULL);
    write_file(path, full_doc);
    void *state = plugin_start(path, "false");

    g_assert_cmpint(world.iface->set_home_server(state, "file:ben", "ucd-berlin"), ==, UCD_OK);
    GPtrArray *users = users_of(state);
    g_assert_cmpstr(g_ptr_array_index(users, 1), ==,
                    "file:ben|ben|disabled|-|-|-|-|-|-|ucd-berlin|numbers:|groups:|lines:");
    g_ptr_array_unref(users);
    g_assert_cmpuint(world.resynced_events, ==, 1);

    /* anna has phones after the homeServer: the element is replaced in place. */
    g_assert_cmpint(world.iface->set_home_server(state, "file:anna", "ucd-hamburg"), ==, UCD_OK);
    g_assert_cmpint(world.iface->set_home_server(state, "file:ben", NULL), ==, UCD_OK);
    users = users_of(state);
    g_assert_nonnull(strstr(g_ptr_array_index(users, 0), "|ucd-hamburg|numbers:+49 89"));
    g_assert_cmpstr(g_ptr_array_index(users, 1), ==,
                    "file:ben|ben|disabled|-|-|-|-|-|-|-|numbers:|groups:|lines:");
    g_ptr_array_unref(users);

    g_assert_cmpint(world.iface->set_home_server(state, "file:nobody", "x"), ==, UCD_E_NOT_FOUND);
    char *content = read_file(path);
    g_assert_nonnull(strstr(content, "a comment the plugin must keep"));
    g_free(content);

    plugin_stop(state);
    g_free(path);
    remove_dir(dir);
}

/* ---- tests: the export writer and the demo file --------------------------- */

static gboolean validates_against_schema(const char *xml)
{
    xmlSchemaParserCtxt *pctxt = xmlSchemaNewParserCtxt(schema_path);
    xmlSchema *schema = xmlSchemaParse(pctxt);
    xmlSchemaFreeParserCtxt(pctxt);
    g_assert_nonnull(schema);
    xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "export.xml", NULL, XML_PARSE_NONET);
    g_assert_nonnull(doc);
    xmlSchemaValidCtxt *vctxt = xmlSchemaNewValidCtxt(schema);
    int result = xmlSchemaValidateDoc(vctxt, doc);
    xmlSchemaFreeValidCtxt(vctxt);
    xmlFreeDoc(doc);
    xmlSchemaFree(schema);
    return result == 0;
}

/* ---- the directory the export reads (ucd/directory.h) ---- */

typedef struct fake_directory {
    const ucd_directory_user *const *users;
    size_t n_users;
    const ucd_directory_group *const *groups;
    size_t n_groups;
} fake_directory;

static int directory_foreach_user(void *impl, uint32_t flags, ucd_directory_user_cb cb, void *data)
{
    const fake_directory *d = impl;
    g_assert_cmpuint(flags, ==, 0); /* every user, not only those homed here */
    for (size_t i = 0; i < d->n_users; i++) {
        if (cb(d->users[i], data) != 0)
            break;
    }
    return UCD_OK;
}

static int directory_foreach_group(void *impl, ucd_directory_group_cb cb, void *data)
{
    const fake_directory *d = impl;
    for (size_t i = 0; i < d->n_groups; i++) {
        if (cb(d->groups[i], data) != 0)
            break;
    }
    return UCD_OK;
}

static const ucd_directory_v1 directory_iface = {
    .struct_size = sizeof(ucd_directory_v1),
    .foreach_user = directory_foreach_user,
    .foreach_group = directory_foreach_group,
};

/* Runs `users-file-test export ARG` in a users-file module (on a file of
 * its own, with one user) while `directory` is the core's directory
 * service (NULL: there is none). Returns the reply's lines. */
static char **run_export(fake_directory *directory, const char *arg, int *rc)
{
    char *dir = temp_dir();
    char *path = g_build_filename(dir, "own.xml", NULL);
    write_file(path, HEAD "  <user id=\"file:own\"><login>own</login></user>\n" TAIL);
    if (directory != NULL)
        fake_provide_service("core", UCD_DIRECTORY_SERVICE, UCD_DIRECTORY_MAJOR, &directory_iface,
                             directory);
    void *state = plugin_start(path, "false");
    g_assert_cmpstr(fake_module_command_name(world.module), ==, "users-file-test");
    const char *const args[] = {"export", arg, NULL};
    char **lines = fake_module_run_command(world.module, rc, args);
    plugin_stop(state);
    fake_withdraw_services();
    g_free(path);
    remove_dir(dir);
    return lines;
}

/* The document of a successful export. */
static char *export_document(fake_directory *directory)
{
    int rc = UCD_FAIL;
    char **lines = run_export(directory, NULL, &rc);
    g_assert_cmpint(rc, ==, UCD_OK);
    g_assert_cmpuint(g_strv_length(lines), ==, 1);
    g_assert_true(g_str_has_prefix(lines[0], "xml=<?xml"));
    char *xml = g_strdup(lines[0] + strlen("xml="));
    g_strfreev(lines);
    return xml;
}

/* A directory record as the users service hands one out, to compare. */
static ucd_user as_user(const ucd_directory_user *u)
{
    return (ucd_user){.struct_size = sizeof(ucd_user),
                      .enabled = u->enabled,
                      .id = u->id,
                      .login = u->login,
                      .display_name = u->display_name,
                      .given_name = u->given_name,
                      .surname = u->surname,
                      .email = u->email,
                      .department = u->department,
                      .title = u->title,
                      .home_server = u->home_server,
                      .numbers = u->numbers,
                      .groups = u->groups,
                      .lines = u->lines};
}

static const char *const none[] = {NULL};
static const char *const anna_numbers[] = {"+49 89 452133-201", "+49 151 1234567", NULL};
static const char *const anna_groups[] = {"file:sales", "ldap:{4f2a}", NULL};
static const char *const anna_lines[] = {"201", "pbx-sim:office/221", "PJSIP/anna", NULL};
static const char *const leaders[] = {"file:anna", NULL};

/* Users and groups of two backends (users-file and users-ldap) in one
 * export, read back by the plugin to the same records. */
static void test_export_round_trip(void)
{
    const ucd_directory_user anna = {
        .struct_size = sizeof(ucd_directory_user),
        .enabled = 1,
        .id = "file:anna",
        .login = "anna",
        .display_name = "Anna \"Annie\" Berger & <Co>",
        .given_name = "Anna",
        .surname = "Berger",
        .email = "anna@example.com",
        .department = "Sales",
        .title = "Head of Sales",
        .home_server = "ucd-munich",
        .backend = "users-file:a",
        .numbers = anna_numbers,
        .e164 = none,
        .groups = anna_groups,
        .lines = anna_lines,
    };
    const ucd_directory_user jurgen = {
        .struct_size = sizeof(ucd_directory_user),
        .enabled = 0,
        .id = "7f1c9a2e-0b3d-4c55-9e61-2a8f0d4b6c11",
        .login = "juergen",
        .display_name = "Jürgen Weiß",
        .backend = "users-ldap",
        .numbers = none,
        .e164 = none,
        .groups = none,
        .lines = none,
    };
    const ucd_directory_group sales = {.struct_size = sizeof(ucd_directory_group),
                                       .id = "file:sales",
                                       .name = "Sales",
                                       .description = "Line one\nline two",
                                       .backend = "users-file:a",
                                       .leaders = leaders};
    const ucd_directory_group directory_group = {.struct_size = sizeof(ucd_directory_group),
                                                 .id = "ldap:{4f2a}",
                                                 .backend = "users-ldap",
                                                 .leaders = none};
    const ucd_directory_user *const users[] = {&anna, &jurgen};
    const ucd_directory_group *const groups[] = {&sales, &directory_group};
    fake_directory directory = {users, 2, groups, 2};

    char *xml = export_document(&directory);
    g_assert_true(validates_against_schema(xml));

    char *dir = temp_dir();
    char *path = g_build_filename(dir, "export.xml", NULL);
    write_file(path, xml);
    void *state = plugin_start(path, "false");
    GPtrArray *got = users_of(state);
    g_assert_cmpuint(got->len, ==, 2);
    for (guint i = 0; i < 2; i++) {
        ucd_user want_user = as_user(users[i]);
        char *want = user_summary(&want_user);
        g_assert_cmpstr(g_ptr_array_index(got, i), ==, want);
        g_free(want);
    }
    g_ptr_array_unref(got);
    got = groups_of(state);
    g_assert_cmpuint(got->len, ==, 2);
    for (guint i = 0; i < 2; i++) {
        const ucd_group want_group = {.struct_size = sizeof(ucd_group),
                                      .id = groups[i]->id,
                                      .name = groups[i]->name,
                                      .description = groups[i]->description,
                                      .leaders = groups[i]->leaders};
        char *want = group_summary(&want_group);
        g_assert_cmpstr(g_ptr_array_index(got, i), ==, want);
        g_free(want);
    }
    g_ptr_array_unref(got);
    plugin_stop(state);

    g_free(xml);
    g_free(path);
    remove_dir(dir);
}

/* An empty directory is a valid, empty document; no directory service, or
 * a FILE sent to the daemon, is a clear error. */
static void test_export_command_errors(void)
{
    fake_directory empty = {NULL, 0, NULL, 0};
    char *xml = export_document(&empty);
    g_assert_true(validates_against_schema(xml));
    g_assert_null(strstr(xml, "<user "));
    g_free(xml);

    int rc = UCD_OK;
    char **lines = run_export(NULL, NULL, &rc);
    g_assert_cmpint(rc, ==, UCD_E_UNAVAILABLE);
    g_assert_cmpstr(lines[0], ==, "error");
    g_strfreev(lines);

    lines = run_export(&empty, "/tmp/x.xml", &rc);
    g_assert_cmpint(rc, ==, UCD_E_INVALID);
    g_assert_cmpstr(lines[0], ==, "error");
    g_strfreev(lines);

    /* A record that cannot be written fails the whole export. */
    const ucd_directory_user bell = {.struct_size = sizeof(ucd_directory_user),
                                     .enabled = 1,
                                     .id = "file:c",
                                     .login = "c",
                                     .display_name = "bell\a"};
    const ucd_directory_user *const one[] = {&bell};
    fake_directory bad = {one, 1, NULL, 0};
    lines = run_export(&bad, NULL, &rc);
    g_assert_cmpint(rc, ==, UCD_E_INVALID);
    g_assert_cmpstr(lines[0], ==, "error");
    g_strfreev(lines);
}

/* The writer alone (file-export.c compiled in): what it refuses, and why. */
static void test_export_refuses_unwritable(void)
{
    const ucd_directory_user control = {.struct_size = sizeof(ucd_directory_user),
                                        .enabled = 1,
                                        .id = "file:c",
                                        .login = "c",
                                        .display_name = "bell\a"};
    const ucd_directory_user no_login = {
        .struct_size = sizeof(ucd_directory_user), .enabled = 1, .id = "file:n"};
    const ucd_directory_user latin1 = {.struct_size = sizeof(ucd_directory_user),
                                       .enabled = 1,
                                       .id = "file:l",
                                       .login = "J\xfcrgen"};
    const ucd_directory_user *const cases[] = {&control, &no_login, &latin1};
    const char *const expected[] = {"user \"file:c\": displayName", "user \"file:n\": login",
                                    "user \"file:l\": login: not UTF-8"};

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        file_export *export = file_export_new();
        g_assert_false(file_export_user(export, cases[i]));
        char *error = NULL;
        g_assert_null(file_export_finish(export, &error));
        g_assert_nonnull(error);
        if (!g_str_has_prefix(error, expected[i]))
            g_error("expected \"%s...\", got: %s", expected[i], error);
        g_free(error);
    }

    /* A failed document stays failed: later records are not written. */
    const ucd_directory_user ok = {
        .struct_size = sizeof(ucd_directory_user), .enabled = 1, .id = "file:o", .login = "o"};
    file_export *export = file_export_new();
    g_assert_false(file_export_user(export, &no_login));
    g_assert_false(file_export_user(export, &ok));
    char *error = NULL;
    g_assert_null(file_export_finish(export, &error));
    g_assert_cmpstr(error, ==, "user \"file:n\": login: missing");
    g_free(error);

    /* Nothing at all is a valid, empty export. */
    export = file_export_new();
    char *xml = file_export_finish(export, &error);
    g_assert_nonnull(xml);
    g_assert_true(validates_against_schema(xml));
    g_free(xml);
}

static int count_with_lines(const ucd_user *user, void *data)
{
    if (user->lines[0] != NULL && user->email != NULL && user->numbers[0] != NULL)
        (*(int *)data)++;
    return 0;
}

static void test_demo_file(void)
{
    void *state = plugin_start(demo_path, "false");
    GPtrArray *users = users_of(state);
    GPtrArray *groups = groups_of(state);
    g_assert_cmpuint(users->len, >=, 18);
    g_assert_cmpuint(users->len, <=, 25);
    g_assert_cmpuint(groups->len, ==, 3);
    int complete = 0;
    world.iface->foreach_user(state, count_with_lines, &complete);
    g_assert_cmpint(complete, ==, (int)users->len);
    gboolean has_leader = FALSE;
    for (guint i = 0; i < groups->len; i++)
        has_leader |= strstr(g_ptr_array_index(groups, i), "leaders:file:") != NULL;
    g_assert_true(has_leader);
    /* Every demo user's password is "demo" (config/demo.conf says so). */
    g_assert_cmpint(world.iface->authenticate(state, "markus.obermaier", "demo"), ==, UCD_OK);
    g_assert_cmpint(world.iface->authenticate(state, "markus.obermaier", "Demo"), ==, UCD_E_DENIED);
    g_ptr_array_unref(users);
    g_ptr_array_unref(groups);
    plugin_stop(state);

    char *xml = read_file(demo_path);
    g_assert_true(validates_against_schema(xml));
    g_free(xml);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 4) {
        g_printerr("usage: %s users-file.so users.xsd demo-users.xml\n", argv[0]);
        return 2;
    }
    schema_path = argv[2];
    demo_path = argv[3];
    void *handle = NULL;
    descriptor = fake_load_plugin(argv[1], "users-file", &handle);

    g_test_add_func("/users-file/load/every-field", test_loads_every_field);
    g_test_add_func("/users-file/load/returns-heap", test_load_returns_heap);
    g_test_add_func("/users-file/load/foreach-stops", test_foreach_stops);
    g_test_add_func("/users-file/load/config-errors", test_config_errors);
    g_test_add_func("/users-file/load/schema-violation", test_schema_violation_has_line);
    g_test_add_func("/users-file/load/malformed", test_malformed_xml_has_line);
    g_test_add_func("/users-file/load/entities-refused", test_entities_refused);
    g_test_add_func("/users-file/load/not-utf8", test_non_utf8_refused);
    g_test_add_func("/users-file/load/duplicates", test_duplicates_refused);
    g_test_add_func("/users-file/load/unknown-references", test_unknown_references_refused);
    g_test_add_func("/users-file/load/max-size", test_max_size);
    g_test_add_func("/users-file/password/authenticate", test_password_authenticate);
    g_test_add_func("/users-file/password/clear-text-refused", test_password_clear_text_refused);
    g_test_add_func("/users-file/password/readable-warns", test_password_file_readable_warns);
    g_test_add_func("/users-file/reload/rename-replace", test_reload_rename_replace);
    g_test_add_func("/users-file/reload/in-place", test_reload_in_place);
    g_test_add_func("/users-file/reload/broken-edit-keeps-users", test_broken_edit_keeps_users);
    g_test_add_func("/users-file/reload/first-load-error-shown", test_first_load_error_shown);
    g_test_add_func("/users-file/sync", test_sync);
    g_test_add_func("/users-file/import/merges", test_import_merges);
    g_test_add_func("/users-file/import/refused-keeps-file", test_import_refused_keeps_file);
    g_test_add_func("/users-file/home-server", test_set_home_server);
    g_test_add_func("/users-file/export/round-trip", test_export_round_trip);
    g_test_add_func("/users-file/export/command-errors", test_export_command_errors);
    g_test_add_func("/users-file/export/refuses-unwritable", test_export_refuses_unwritable);
    g_test_add_func("/users-file/demo", test_demo_file);
    int result = g_test_run();
    if (world.module != NULL)
        fake_module_free(world.module);
    g_free(world.last_event_backend);
    dlclose(handle);
    return result;
}
