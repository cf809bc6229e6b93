/*
 * bench-ldap.c - users-ldap against a real slapd of N users.
 *
 * argv: users-ldap.so slapd.sh [N]. Prints: the time of `ldapsearch -E
 * pr=1000/noprompt` dumping the users' attributes (the limit), the plugin's
 * full sync and its ratio to the limit, an incremental sync after 100
 * changes, resident memory per synced user, and ns per lookup by login and
 * by phone number in an index built from foreach_user (what the core does).
 *
 * Both the limit and the full sync are timed ROUNDS times, alternating, and
 * the best of each is compared: the machine is shared, and the best run is
 * the one least disturbed by others. With LDAP_URI in the environment (the
 * exports of `slapd.sh start N`) a running slapd is used and left running,
 * which saves its 40 s start when profiling.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "fake-host.h"

static char *run(const char *command)
{
    char *out = NULL;
    int status = 0;
    GError *error = NULL;
    if (!g_spawn_command_line_sync(command, &out, NULL, &status, &error) ||
        !g_spawn_check_wait_status(status, NULL))
        g_error("%s failed: %s", command, error != NULL ? error->message : "exit status");
    return out;
}

static long rss_kib(void)
{
    char *text = NULL;
    long kib = 0;
    if (g_file_get_contents("/proc/self/status", &text, NULL, NULL)) {
        const char *line = strstr(text, "VmRSS:");
        if (line != NULL)
            kib = strtol(line + 6, NULL, 10);
    }
    g_free(text);
    return kib;
}

static int index_user(const ucd_user *user, void *data)
{
    GHashTable **tables = data;
    char *login = g_strdup(user->login);
    g_hash_table_insert(tables[0], login, login);
    for (const char *const *n = user->numbers; n != NULL && *n != NULL; n++) {
        char *number = g_strdup(*n);
        g_hash_table_insert(tables[1], number, number);
    }
    return 0;
}

static void done_cb(int result, const char *message, void *data)
{
    *(int *)data = result;
    printf("  %s\n", message);
}

/* When the last UCD_CHANGE_RESYNCED was published: the moment the core can
 * read the new users. The cache file is written after it. */
static gint64 published_at;

static void on_publish(fake_module *module, const ucd_event *event, void *data)
{
    if (event->type == UCD_EVENT_USER_CHANGED)
        published_at = g_get_monotonic_time();
}

/* Times of the limit and of the full sync are the best of this many runs. */
#define ROUNDS 3

static double time_dump(const char *command)
{
    gint64 t0 = g_get_monotonic_time();
    g_free(run(command));
    double seconds = (g_get_monotonic_time() - t0) / 1e6;
    printf("ldapsearch -E pr=1000/noprompt: %.3f s\n", seconds);
    return seconds;
}

/* Seconds until the users were published; `*with_cache`: until the call
 * returned, the cache written too. */
static double time_full_sync(const ucd_users_v1 *iface, void *impl, double *with_cache)
{
    int result = -1;
    gint64 t0 = g_get_monotonic_time();
    iface->sync(impl, UCD_SYNC_FULL, NULL, done_cb, &result);
    *with_cache = (g_get_monotonic_time() - t0) / 1e6;
    double seconds = (published_at - t0) / 1e6;
    printf("plugin full sync: %.3f s to the users published, %.3f s with the cache written "
           "(result %d)\n",
           seconds, *with_cache, result);
    if (result != 0)
        g_error("full sync failed");
    return seconds;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        g_error("usage: bench-ldap users-ldap.so slapd.sh [N]");
    int n = argc > 3 ? atoi(argv[3]) : 100000;
    void *handle = NULL;
    const ucd_plugin_descriptor *descriptor = fake_load_plugin(argv[1], "users-ldap", &handle);

    gint64 t0 = g_get_monotonic_time();
    const char *given_uri = g_getenv("LDAP_URI");
    char *exports = NULL;
    if (given_uri != NULL) {
        exports = g_strdup_printf("LDAP_URI=%s", given_uri);
    } else {
        char *start = g_strdup_printf("bash %s start %d", argv[2], n);
        exports = run(start);
        g_free(start);
        printf("slapd with %d users ready in %.1f s\n", n, (g_get_monotonic_time() - t0) / 1e6);
    }
    GHashTable *env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    char **words = g_strsplit_set(exports, " \n", -1);
    for (char **w = words; *w != NULL; w++) {
        char *eq = strchr(*w, '=');
        if (eq != NULL)
            g_hash_table_insert(env, g_strndup(*w, (gsize)(eq - *w)), g_strdup(eq + 1));
    }
    const char *uri = g_hash_table_lookup(env, "LDAP_URI");

    const char *attrs =
        "objectGUID sAMAccountName displayName givenName sn mail department title "
        "telephoneNumber mobile ipPhone memberOf userAccountControl modifyTimestamp";
    char *dump = g_strdup_printf("sh -c 'ldapsearch -x -LLL -H %s -D cn=admin,dc=example,dc=test "
                                 "-w secret -b ou=Users,dc=example,dc=test -E pr=1000/noprompt "
                                 "\"(objectClass=inetOrgPerson)\" %s > /dev/null'",
                                 uri, attrs);
    double limit_s = time_dump(dump);

    fake_module *module = fake_module_new(descriptor, "users-ldap:bench");
    const char *const config[] = {"uris",
                                  uri,
                                  "bind_dn",
                                  "cn=admin,dc=example,dc=test",
                                  "bind_password",
                                  "secret",
                                  "base_dn",
                                  "ou=Users,dc=example,dc=test",
                                  "group_base_dn",
                                  "ou=Groups,dc=example,dc=test",
                                  "filter",
                                  "(objectClass=inetOrgPerson)",
                                  "group_filter",
                                  "(objectClass=groupOfNames)",
                                  "attr_change",
                                  "modifyTimestamp",
                                  "home_server_attribute",
                                  "",
                                  "page_size",
                                  "1000",
                                  NULL};
    fake_module_set_pairs(module, config);
    fake_module_set(module, "group_filter", "(objectClass=groupOfNames)");
    /* A state directory, as the daemon gives: the cache is written too (the
     * fake host runs that work item inline, so it is inside the timed call). */
    char *state_dir = g_dir_make_tmp("bench-ldap-XXXXXX", NULL);
    fake_module_set_state_dir(module, state_dir);
    /* BENCH_LDAP_PHASES=1: the plugin's debug lines, with where each sync's
     * time went. */
    if (g_getenv("BENCH_LDAP_PHASES") != NULL)
        module->log_echo_level = UCD_LOG_DEBUG;
    module->on_publish = on_publish;
    long rss_before = rss_kib();
    t0 = g_get_monotonic_time();
    fake_module_start(module); /* the first full sync runs in start */
    double cached_s = (g_get_monotonic_time() - t0) / 1e6;
    double full_s = (published_at - t0) / 1e6;
    /* What the set keeps, not what the cache's serialization used meanwhile
     * and glibc has not yet given back. */
    malloc_trim(0);
    long rss_after = rss_kib();
    printf("plugin full sync: %.3f s to the users published, %.3f s with the cache written, "
           "%" G_GINT64_FORMAT " users\n",
           full_s, cached_s, fake_module_counter(module, "users"));
    printf("memory: %.0f bytes per user (RSS growth)\n",
           (rss_after - rss_before) * 1024.0 / (double)n);

    void *impl = NULL;
    const ucd_users_v1 *iface = fake_module_service(module, UCD_USERS_SERVICE, 1, &impl);
    for (int round = 1; round < ROUNDS; round++) {
        double with_cache = 0;
        double limit = time_dump(dump), full = time_full_sync(iface, impl, &with_cache);
        limit_s = MIN(limit_s, limit);
        full_s = MIN(full_s, full);
        cached_s = MIN(cached_s, with_cache);
    }
    printf("best of %d: limit %.3f s, plugin full sync %.3f s = %.2fx the limit (target 1.5x); "
           "with the cache written (on a worker in the daemon) %.3f s = %.2fx\n",
           ROUNDS, limit_s, full_s, full_s / limit_s, cached_s, cached_s / limit_s);
    GString *ldif = g_string_new(NULL);
    for (int i = 1; i <= 100; i++)
        g_string_append_printf(ldif,
                               "dn: cn=user%d,ou=Users,dc=example,dc=test\nchangetype: modify\n"
                               "replace: title\ntitle: Changed\n\n",
                               i * (n / 100));
    char *ldif_path = g_build_filename(g_get_tmp_dir(), "bench-ldap.ldif", NULL);
    g_file_set_contents(ldif_path, ldif->str, -1, NULL);
    char *modify = g_strdup_printf("ldapmodify -x -H %s -D cn=admin,dc=example,dc=test -w secret "
                                   "-f %s",
                                   uri, ldif_path);
    g_free(run(modify));
    int result = -1;
    t0 = g_get_monotonic_time();
    iface->sync(impl, 0, NULL, done_cb, &result);
    printf("incremental sync of 100 changes: %.3f s to the users published, %.3f s with the "
           "cache written (result %d)\n",
           (published_at - t0) / 1e6, (g_get_monotonic_time() - t0) / 1e6, result);

    GHashTable *tables[2] = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
                             g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    iface->foreach_user(impl, index_user, tables);
    char **logins = g_new0(char *, (gsize)n);
    char **numbers = g_new0(char *, (gsize)n);
    for (int i = 0; i < n; i++) {
        logins[i] = g_strdup_printf("user%d", i + 1);
        numbers[i] = g_strdup_printf("+1 555 %07d", i + 1);
    }
    const int rounds = 10;
    gsize found = 0;
    t0 = g_get_monotonic_time();
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < n; i++)
            found += g_hash_table_contains(tables[0], logins[i]);
    double login_ns = (g_get_monotonic_time() - t0) * 1000.0 / ((double)n * rounds);
    t0 = g_get_monotonic_time();
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < n; i++)
            found += g_hash_table_contains(tables[1], numbers[i]);
    double number_ns = (g_get_monotonic_time() - t0) * 1000.0 / ((double)n * rounds);
    printf("lookup by login: %.0f ns/op, by number: %.0f ns/op (%zu found)\n", login_ns, number_ns,
           found);

    fake_module_stop(module);
    fake_module_free(module);
    if (given_uri == NULL) {
        char *stop = g_strdup_printf("bash %s stop %s", argv[2],
                                     (const char *)g_hash_table_lookup(env, "LDAP_DIR"));
        g_free(run(stop));
        g_free(stop);
    }
    g_unlink(ldif_path);
    char *cache = g_build_filename(state_dir, "users.cache", NULL);
    g_unlink(cache);
    g_rmdir(state_dir);
    return found == (gsize)n * rounds * 2 ? 0 : 1;
}
