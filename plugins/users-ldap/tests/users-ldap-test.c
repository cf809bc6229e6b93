/*
 * users-ldap-test.c - the users-ldap plugin against a real OpenLDAP slapd
 * (tests/peers/slapd.sh), through the fake host (tests/fake-host).
 *
 * argv[1]: users-ldap.so, argv[2]: tests/peers/slapd.sh.
 *
 * The fake host runs work items at once on the calling thread, so sync()
 * returns after the sync was judged; the tests never run the main loop. One
 * slapd with 5,000 users (five times the 1,000-entry cap) serves the ordinary
 * tests; the fault tests start a second one of their own, which they stop,
 * kill and empty.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "fake-host.h"

#define MAIN_USERS  5000
#define FAULT_USERS 1500

static const ucd_plugin_descriptor *descriptor;
static const char *peer_script;
static GHashTable *slapd; /* the main peer's exports */

/* ---- the peer --------------------------------------------------------------------- */

static void peer_guard(const char *dir);

/* Starts slapd with `users` users; NULL (and a skip or failure) when it
 * cannot. */
static GHashTable *peer_start(int users)
{
    char *count = g_strdup_printf("%d", users);
    const char *argv[] = {"bash", peer_script, "start", count, NULL};
    char *out = NULL, *err = NULL;
    int status = 0;
    GError *error = NULL;
    gboolean spawned = g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                    &out, &err, &status, &error);
    g_free(count);
    if (!spawned || !g_spawn_check_wait_status(status, NULL)) {
        g_printerr("slapd.sh failed: %s%s\n", error != NULL ? error->message : "", err);
        g_clear_error(&error);
        g_free(out);
        g_free(err);
        return NULL;
    }
    GHashTable *env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    char **words = g_strsplit_set(out, " \n", -1);
    for (char **w = words; *w != NULL; w++) {
        char *eq = strchr(*w, '=');
        if (eq != NULL)
            g_hash_table_insert(env, g_strndup(*w, (gsize)(eq - *w)), g_strdup(eq + 1));
    }
    g_strfreev(words);
    g_free(out);
    g_free(err);
    const char *dir = g_hash_table_lookup(env, "LDAP_DIR");
    g_assert_nonnull(dir);
    peer_guard(dir);
    return env;
}

/* A guard process that stops the peer when this program ends in any way,
 * an abort included: it waits for the end of a pipe only we hold. */
static void peer_guard(const char *dir)
{
    int fds[2];
    g_assert_cmpint(pipe(fds), ==, 0);
    pid_t pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        close(fds[1]);
        char byte;
        while (read(fds[0], &byte, 1) > 0) {
        }
        execlp("bash", "bash", peer_script, "stop", dir, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
}

static const char *peer(GHashTable *env, const char *name)
{
    const char *value = g_hash_table_lookup(env, name);
    g_assert_nonnull(value);
    return value;
}

static void peer_stop(GHashTable *env)
{
    const char *argv[] = {"bash", peer_script, "stop", peer(env, "LDAP_DIR"), NULL};
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                 NULL);
    g_hash_table_unref(env);
}

/* Runs ldapmodify (or ldapadd/ldapdelete, `tool`) as the admin with `ldif`. */
static void peer_apply(GHashTable *env, const char *tool, const char *ldif)
{
    GError *error = NULL;
    GSubprocess *process =
        g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                         tool, "-x", "-H", peer(env, "LDAP_URI"), "-D", peer(env, "LDAP_ADMIN_DN"),
                         "-w", peer(env, "LDAP_ADMIN_PW"), NULL);
    g_assert_no_error(error);
    g_subprocess_communicate_utf8(process, ldif, NULL, NULL, NULL, &error);
    g_assert_no_error(error);
    g_assert_true(g_subprocess_get_successful(process));
    g_object_unref(process);
}

/* ---- the module ----------------------------------------------------------------------- */

typedef struct world {
    fake_module *module;
    const ucd_users_v1 *iface;
    void *impl;
    unsigned resynced;
    char *state_dir;
} world;

static void record_resynced(fake_module *module, const ucd_event *event, void *data)
{
    world *w = data;
    g_assert_cmpuint(event->type, ==, UCD_EVENT_USER_CHANGED);
    const ucd_user_changed_event *changed = event->payload;
    g_assert_cmpuint(changed->change, ==, UCD_CHANGE_RESYNCED);
    w->resynced++;
}

/* A module reading the users of `env` as OpenLDAP users, with `extra`
 * settings ({key, value, ..., NULL}) on top; not started. */
static world *world_new(GHashTable *env, const char *const *extra, const char *state_dir)
{
    world *w = g_new0(world, 1);
    w->module = fake_module_new(descriptor, "users-ldap:test");
    w->module->on_publish = record_resynced;
    w->module->publish_data = w;
    const char *const defaults[] = {
        "uris",
        peer(env, "LDAP_URI"),
        "ca_file",
        peer(env, "LDAP_CACERT"),
        "bind_dn",
        peer(env, "LDAP_ADMIN_DN"),
        "bind_password",
        peer(env, "LDAP_ADMIN_PW"),
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
        "300",
        NULL,
    };
    fake_module_set_pairs(w->module, defaults);
    fake_module_set_pairs(w->module, extra);
    w->state_dir = state_dir != NULL ? g_strdup(state_dir) : g_dir_make_tmp("users-ldap-test-XXXXXX", NULL);
    fake_module_set_state_dir(w->module, w->state_dir);
    return w;
}

static void world_start(world *w)
{
    fake_module_start(w->module);
    w->iface = fake_module_service(w->module, UCD_USERS_SERVICE, UCD_USERS_MAJOR, &w->impl);
    g_assert_nonnull(w->iface);
}

static void remove_tree(const char *dir)
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
}

static void world_free(world *w, gboolean keep_state)
{
    fake_module_stop(w->module);
    fake_module_free(w->module);
    if (!keep_state)
        remove_tree(w->state_dir);
    g_free(w->state_dir);
    g_free(w);
}

/* login -> fake_user of the module's current set. */
static GHashTable *users_of(world *w)
{
    return fake_users_by_login(w->iface, w->impl);
}

static int count_group(const ucd_group *group, void *data)
{
    (*(unsigned *)data)++;
    g_assert_nonnull(group->id);
    g_assert_nonnull(group->name);
    return 0;
}

typedef struct sync_result {
    gboolean done;
    int result;
    char *message;
    guint64 last_done, last_total;
} sync_result;

static void on_sync_progress(uint64_t done, uint64_t total, void *data)
{
    sync_result *r = data;
    r->last_done = done;
    r->last_total = total;
}

static void on_sync_done(int result, const char *message, void *data)
{
    sync_result *r = data;
    r->done = TRUE;
    r->result = result;
    r->message = g_strdup(message);
}

/* Runs a sync to its end (the fake host runs it at once); returns its result. */
static int world_sync(world *w, uint32_t flags, char **message)
{
    sync_result r = {0};
    g_assert_cmpint(w->iface->sync(w->impl, flags, on_sync_progress, on_sync_done, &r), ==, UCD_OK);
    g_assert_true(r.done);
    if (r.result == UCD_OK)
        g_assert_cmpuint(r.last_done, >, 0);
    if (message != NULL)
        *message = r.message;
    else
        g_free(r.message);
    return r.result;
}

/* ---- ordinary syncs ---------------------------------------------------------------------- */

static void check_full_set(world *w)
{
    GHashTable *users = users_of(w);
    g_assert_cmpuint(g_hash_table_size(users), ==, MAIN_USERS);
    fake_user *u = g_hash_table_lookup(users, "user4097");
    g_assert_nonnull(u);
    g_assert_cmpstr(u->display_name, ==, "Test User4097");
    g_assert_cmpstr(u->department, ==, "Sales");
    g_assert_true(u->enabled);
    g_assert_cmpstr(u->numbers[0], ==, "+1 555 0004097");
    g_assert_null(u->numbers[1]);
    g_assert_cmpstr(u->groups[0], ==, "cn=grp7,ou=groups,dc=example,dc=test");
    /* objectGUID q1OssqC1kUCrtq3Hus + BAB + A== as AD's text form. */
    g_assert_cmpuint(strlen(u->id), ==, 36);
    g_assert_cmpint(u->id[8], ==, '-');
    g_hash_table_unref(users);
    g_assert_cmpint(fake_module_counter(w->module, "users"), ==, MAIN_USERS);
    unsigned groups = 0;
    w->iface->foreach_group(w->impl, count_group, &groups);
    g_assert_cmpuint(groups, ==, 14); /* grp0..9, dept0..2, company */
}

static void test_sync_plain(void)
{
    world *w = world_new(slapd, NULL, NULL);
    world_start(w); /* start runs the first full sync */
    check_full_set(w);
    g_assert_cmpuint(w->resynced, ==, 1);

    /* Ids are stable from one sync to the next. */
    GHashTable *before = users_of(w);
    g_assert_cmpint(world_sync(w, UCD_SYNC_FULL, NULL), ==, UCD_OK);
    GHashTable *after = users_of(w);
    fake_user *a = g_hash_table_lookup(before, "user17"), *b = g_hash_table_lookup(after, "user17");
    g_assert_cmpstr(a->id, ==, b->id);
    g_hash_table_unref(before);
    g_hash_table_unref(after);
    g_assert_cmpuint(w->resynced, ==, 2);
    world_free(w, FALSE);
}

static void test_sync_starttls(void)
{
    const char *const extra[] = {"starttls", "true", "page_size", "1000", NULL};
    world *w = world_new(slapd, extra, NULL);
    world_start(w);
    check_full_set(w);
    world_free(w, FALSE);
}

static void test_sync_ldaps(void)
{
    const char *const extra[] = {"uris", peer(slapd, "LDAPS_URI"), NULL};
    world *w = world_new(slapd, extra, NULL);
    world_start(w);
    check_full_set(w);
    world_free(w, FALSE);
}

/* The first URI answers nobody: the second serves. */
static void test_failover(void)
{
    char *uris = g_strdup_printf("ldap://127.0.0.1:1;%s", peer(slapd, "LDAP_URI"));
    const char *const extra[] = {"uris", uris, "timeout", "2s", NULL};
    world *w = world_new(slapd, extra, NULL);
    world_start(w);
    check_full_set(w);
    world_free(w, FALSE);
    g_free(uris);
}

static void test_untrusted_certificate(void)
{
    const char *const other[] = {"uris", peer(slapd, "LDAPS_URI"), "ca_file",
                                 peer(slapd, "LDAP_OTHER_CACERT"), NULL};
    world *w = world_new(slapd, other, NULL);
    world_start(w);
    GHashTable *users = users_of(w);
    g_assert_cmpuint(g_hash_table_size(users), ==, 0);
    g_hash_table_unref(users);
    g_assert_cmpint(fake_module_counter(w->module, "failed_syncs"), ==, 1);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "not applied"));
    /* Item 9: said as what it is, not as a refused bind. */
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING,
                                      "TLS failed: the server's certificate is not signed by a "
                                      "CA of ca_file"));
    g_assert_false(fake_module_log_has(w->module, UCD_LOG_WARNING, "refused"));
    world_free(w, FALSE);

    /* StartTLS is refused the same way. */
    const char *const starttls[] = {"starttls", "true", "ca_file", peer(slapd, "LDAP_OTHER_CACERT"),
                                    NULL};
    w = world_new(slapd, starttls, NULL);
    world_start(w);
    g_assert_cmpint(fake_module_counter(w->module, "users"), <=, 0);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "StartTLS failed"));
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "is not signed by a CA"));
    world_free(w, FALSE);

    /* Accepted only when verification is switched off, and said loudly. */
    const char *const off[] = {"uris",       peer(slapd, "LDAPS_URI"),
                               "ca_file",    peer(slapd, "LDAP_OTHER_CACERT"),
                               "tls_verify", "false",
                               NULL};
    w = world_new(slapd, off, NULL);
    world_start(w);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "NOT checked"));
    g_assert_cmpint(fake_module_counter(w->module, "users"), ==, MAIN_USERS);
    world_free(w, FALSE);
}

/* A server certificate signed by the right CA but expired: refused on ldaps
 * and StartTLS, accepted only with verification switched off. */
static void test_expired_certificate(void)
{
    g_setenv("LDAP_CERT_DAYS", "-1", TRUE);
    GHashTable *expired = peer_start(10);
    g_unsetenv("LDAP_CERT_DAYS");
    g_assert_nonnull(expired);

    const char *const ldaps[] = {"uris", peer(expired, "LDAPS_URI"), NULL};
    world *w = world_new(expired, ldaps, NULL);
    world_start(w);
    g_assert_cmpint(fake_module_counter(w->module, "users"), <=, 0);
    g_assert_cmpint(fake_module_counter(w->module, "failed_syncs"), ==, 1);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "not applied"));
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING,
                                      "TLS failed: the server's certificate has expired"));
    g_assert_false(fake_module_log_has(w->module, UCD_LOG_WARNING, "not signed"));
    world_free(w, FALSE);

    const char *const starttls[] = {"starttls", "true", NULL};
    w = world_new(expired, starttls, NULL);
    world_start(w);
    g_assert_cmpint(fake_module_counter(w->module, "users"), <=, 0);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "StartTLS failed"));
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "has expired"));
    world_free(w, FALSE);

    const char *const off[] = {"uris", peer(expired, "LDAPS_URI"), "tls_verify", "false", NULL};
    w = world_new(expired, off, NULL);
    world_start(w);
    g_assert_cmpint(fake_module_counter(w->module, "users"), ==, 10);
    world_free(w, FALSE);
    peer_stop(expired);
}

/* A certificate for another name, and a server that wants TLS before a
 * simple bind (issue 12 item 9): each gets its own sentence. */
static void test_wrong_name_and_tls_required(void)
{
    g_setenv("LDAP_CERT_NAME", "other.example.test", TRUE);
    g_setenv("LDAP_REQUIRE_TLS", "1", TRUE);
    GHashTable *other = peer_start(10);
    g_unsetenv("LDAP_CERT_NAME");
    g_unsetenv("LDAP_REQUIRE_TLS");
    g_assert_nonnull(other);

    const char *const ldaps[] = {"uris", peer(other, "LDAPS_URI"), NULL};
    world *w = world_new(other, ldaps, NULL);
    world_start(w);
    g_assert_cmpint(fake_module_counter(w->module, "failed_syncs"), ==, 1);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING,
                                      "TLS failed: the server's certificate is not for "
                                      "\"127.0.0.1\""));
    g_assert_false(fake_module_log_has(w->module, UCD_LOG_WARNING, "not signed"));
    g_assert_false(fake_module_log_has(w->module, UCD_LOG_WARNING, "refused"));
    world_free(w, FALSE);

    world *plain = world_new(other, NULL, NULL);
    world_start(plain);
    g_assert_cmpint(fake_module_counter(plain->module, "failed_syncs"), ==, 1);
    g_assert_true(fake_module_log_has(plain->module, UCD_LOG_WARNING,
                                      "the server requires TLS before a simple bind"));
    world_free(plain, FALSE);
    peer_stop(other);
}

/* A listener on a loopback address of its own that accepts connections
 * (the kernel does, from the backlog) and never says a word. */
static GSocket *mute_listener(char **uri)
{
    GError *error = NULL;
    GSocket *socket =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
    g_assert_no_error(error);
    char *host = g_strdup_printf("127.%d.%d.%d", g_random_int_range(20, 220),
                                 g_random_int_range(1, 250), g_random_int_range(1, 250));
    GInetAddress *address = g_inet_address_new_from_string(host);
    GSocketAddress *bind_to = g_inet_socket_address_new(address, 0);
    g_assert_true(g_socket_bind(socket, bind_to, TRUE, &error));
    g_assert_no_error(error);
    g_assert_true(g_socket_listen(socket, &error));
    GSocketAddress *bound = g_socket_get_local_address(socket, &error);
    g_assert_no_error(error);
    *uri = g_strdup_printf("ldaps://%s:%u", host,
                           g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound)));
    g_object_unref(bound);
    g_object_unref(bind_to);
    g_object_unref(address);
    g_free(host);
    return socket;
}

/* Issue 12 item 8: an ldaps:// server that accepts the connection and never
 * answers the TLS handshake. The sync ends after `timeout`, counts as
 * failed and says why; with a second URI it fails over to it. */
static void test_handshake_timeout(void)
{
    char *mute = NULL;
    GSocket *listener = mute_listener(&mute);
    const char *const alone[] = {"uris", mute, "timeout", "2s", NULL};
    world *w = world_new(slapd, alone, NULL);
    gint64 start = g_get_monotonic_time();
    world_start(w);
    /* Bounded by the timeout, not by the server: generous for slow runs,
     * but far from "forever" (the hang this was). */
    g_assert_cmpint(g_get_monotonic_time() - start, <, 60 * G_USEC_PER_SEC);
    g_assert_cmpint(fake_module_counter(w->module, "failed_syncs"), ==, 1);
    g_assert_true(
        fake_module_log_has(w->module, UCD_LOG_WARNING, "did not complete the TLS handshake"));
    world_free(w, FALSE);

    char *uris = g_strdup_printf("%s;%s", mute, peer(slapd, "LDAPS_URI"));
    const char *const failover[] = {"uris", uris, "timeout", "2s", NULL};
    w = world_new(slapd, failover, NULL);
    world_start(w);
    g_assert_cmpint(fake_module_counter(w->module, "users"), ==, MAIN_USERS);
    g_assert_cmpint(fake_module_counter(w->module, "failed_syncs"), <=, 0);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "failed over"));
    world_free(w, FALSE);
    g_free(uris);
    g_object_unref(listener);
    g_free(mute);
}

static void test_wrong_service_password(void)
{
    const char *const extra[] = {"bind_password", "not-the-password", NULL};
    world *w = world_new(slapd, extra, NULL);
    world_start(w);
    g_assert_cmpint(fake_module_counter(w->module, "failed_syncs"), ==, 1);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "Invalid credentials"));
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "cn=admin,dc=example,dc=test"));
    g_assert_false(fake_module_log_has(w->module, 0, "not-the-password"));
    char *message = NULL;
    g_assert_cmpint(world_sync(w, UCD_SYNC_FULL, &message), !=, UCD_OK);
    g_assert_nonnull(strstr(message, "Invalid credentials"));
    g_free(message);
    world_free(w, FALSE);
}

static void assert_groups(world *w, const char *login, const char *expected);

static void test_groups_from_objects(void)
{
    /* OpenLDAP style: no memberOf, memberships from groupOfNames member,
     * nested through the member lists (grp3 in dept0 in company). */
    const char *const extra[] = {"attr_member_of", "", "nested_groups", "true", NULL};
    world *w = world_new(slapd, extra, NULL);
    world_start(w);
    GHashTable *users = users_of(w);
    fake_user *u = g_hash_table_lookup(users, "user23");
    g_assert_cmpstr(u->groups[0], ==, "cn=grp3,ou=groups,dc=example,dc=test");
    g_hash_table_unref(users);
    assert_groups(w, "user23",
                  "cn=company,ou=groups,dc=example,dc=test cn=dept0,ou=groups,dc=example,dc=test "
                  "cn=grp3,ou=groups,dc=example,dc=test");
    world_free(w, FALSE);

    /* AD style on slapd: the users' memberOf, nested through the groups'
     * own memberOf (grp7 in dept1 in company). */
    const char *const ad[] = {"nested_groups", "true", NULL};
    w = world_new(slapd, ad, NULL);
    world_start(w);
    assert_groups(w, "user4097",
                  "cn=company,ou=groups,dc=example,dc=test cn=dept1,ou=groups,dc=example,dc=test "
                  "cn=grp7,ou=groups,dc=example,dc=test");
    world_free(w, FALSE);
}

/* ---- nested groups (issue 12 items 5, 6, 7) ----------------------------------------- */

#define SUPPORT_DN     "cn=support,ou=nested,dc=example,dc=test"
#define ALL_SUPPORT_DN "cn=all-support,ou=nested,dc=example,dc=test"
#define COMPANY_DN     "cn=company,ou=nested,dc=example,dc=test"

static int compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The user's groups, sorted and joined with ' ' ("" for none). */
static char *groups_text(GHashTable *users, const char *login)
{
    fake_user *u = g_hash_table_lookup(users, login);
    g_assert_nonnull(u);
    GPtrArray *sorted = g_ptr_array_new();
    for (char **g = u->groups; g != NULL && *g != NULL; g++)
        g_ptr_array_add(sorted, *g);
    g_ptr_array_sort(sorted, compare_strings);
    g_ptr_array_add(sorted, NULL);
    char *text = g_strjoinv(" ", (char **)sorted->pdata);
    g_ptr_array_unref(sorted);
    return text;
}

static void assert_groups(world *w, const char *login, const char *expected)
{
    GHashTable *users = users_of(w);
    char *text = groups_text(users, login);
    g_assert_cmpstr(text, ==, expected);
    g_free(text);
    g_hash_table_unref(users);
}

/* Three levels in ou=Nested of the main slapd (the other tests read
 * ou=Groups only): user1..user3 in Support, Support in All-Support,
 * All-Support in Company. Added once. */
static void add_nested_groups(void)
{
    static gboolean added;
    if (added)
        return;
    added = TRUE;
    peer_apply(slapd, "ldapadd",
               "dn: ou=Nested,dc=example,dc=test\nobjectClass: organizationalUnit\n\n"
               "dn: cn=Support,ou=Nested,dc=example,dc=test\nobjectClass: groupOfNames\n"
               "member: cn=user1,ou=Users,dc=example,dc=test\n"
               "member: cn=user2,ou=Users,dc=example,dc=test\n"
               "member: cn=user3,ou=Users,dc=example,dc=test\n\n"
               "dn: cn=All-Support,ou=Nested,dc=example,dc=test\nobjectClass: groupOfNames\n"
               "member: cn=Support,ou=Nested,dc=example,dc=test\n\n"
               "dn: cn=Company,ou=Nested,dc=example,dc=test\nobjectClass: groupOfNames\n"
               "member: cn=All-Support,ou=Nested,dc=example,dc=test\n"
               "member: cn=user9,ou=Users,dc=example,dc=test\n");
}

static void set_support_member(const char *op, const char *user)
{
    char *ldif = g_strdup_printf("dn: cn=Support,ou=Nested,dc=example,dc=test\n"
                                 "changetype: modify\n%s: member\n"
                                 "member: cn=%s,ou=Users,dc=example,dc=test\n",
                                 op, user);
    peer_apply(slapd, "ldapmodify", ldif);
    g_free(ldif);
}

/* OpenLDAP style (memberships from the groups' member lists, nested
 * through them): a full sync gives every level; an incremental sync that
 * re-reads a user keeps them (item 5); a member added to or removed from a
 * group is seen by the next incremental sync, nested parents included
 * (item 6). */
static void test_nested_groups(void)
{
    add_nested_groups();
    const char *const extra[] = {"attr_member_of",
                                 "",
                                 "nested_groups",
                                 "true",
                                 "group_base_dn",
                                 "ou=Nested,dc=example,dc=test",
                                 NULL};
    world *w = world_new(slapd, extra, NULL);
    world_start(w);
    const char *three = ALL_SUPPORT_DN " " COMPANY_DN " " SUPPORT_DN;
    assert_groups(w, "user1", three);
    assert_groups(w, "user9", COMPANY_DN);
    assert_groups(w, "user7", "");
    unsigned groups = 0;
    w->iface->foreach_group(w->impl, count_group, &groups);
    g_assert_cmpuint(groups, ==, 3);

    /* Item 5: user1 changes (a new number), an incremental sync reads it. */
    peer_apply(slapd, "ldapmodify",
               "dn: cn=user1,ou=Users,dc=example,dc=test\nchangetype: modify\n"
               "replace: mobile\nmobile: +1 555 777\n");
    char *message = NULL;
    g_assert_cmpint(world_sync(w, 0, &message), ==, UCD_OK);
    g_assert_nonnull(strstr(message, "incremental"));
    g_free(message);
    GHashTable *users = users_of(w);
    g_assert_cmpstr(((fake_user *)g_hash_table_lookup(users, "user1"))->numbers[1], ==,
                    "+1 555 777");
    g_hash_table_unref(users);
    assert_groups(w, "user1", three);
    assert_groups(w, "user2", three);

    /* Item 6: user7 joins Support, then leaves it; user7 itself is unchanged. */
    set_support_member("add", "user7");
    g_assert_cmpint(world_sync(w, 0, NULL), ==, UCD_OK);
    assert_groups(w, "user7", three);
    assert_groups(w, "user1", three);
    set_support_member("delete", "user7");
    g_assert_cmpint(world_sync(w, 0, NULL), ==, UCD_OK);
    assert_groups(w, "user7", "");
    assert_groups(w, "user1", three);
    g_assert_cmpint(fake_module_counter(w->module, "failed_syncs"), <=, 0);
    world_free(w, FALSE);

    /* Without nested_groups: direct memberships only. */
    const char *const flat[] = {"attr_member_of", "", "group_base_dn",
                                "ou=Nested,dc=example,dc=test", NULL};
    w = world_new(slapd, flat, NULL);
    world_start(w);
    assert_groups(w, "user1", SUPPORT_DN);
    world_free(w, FALSE);
}

static void set_account_control(const char *user, const char *value)
{
    char *ldif = g_strdup_printf("dn: cn=%s,ou=Users,dc=example,dc=test\nchangetype: modify\n"
                                 "replace: userAccountControl\nuserAccountControl: %s\n",
                                 user, value);
    peer_apply(slapd, "ldapmodify", ldif);
    g_free(ldif);
}

static void test_disabled_account(void)
{
    set_account_control("user3", "514"); /* 512 | ACCOUNTDISABLE */
    world *w = world_new(slapd, NULL, NULL);
    world_start(w);
    GHashTable *users = users_of(w);
    g_assert_false(((fake_user *)g_hash_table_lookup(users, "user3"))->enabled);
    g_assert_true(((fake_user *)g_hash_table_lookup(users, "user4"))->enabled);
    g_hash_table_unref(users);
    world_free(w, FALSE);
    set_account_control("user3", "512");
}

static void test_logins(void)
{
    world *w = world_new(slapd, NULL, NULL);
    world_start(w);
    g_assert_cmpint(w->iface->authenticate(w->impl, "user5", "Passw0rd"), ==, UCD_OK);
    g_assert_cmpint(w->iface->authenticate(w->impl, "user5", "wrong"), ==, UCD_E_DENIED);
    /* An empty password would be an "unauthenticated bind", which succeeds. */
    g_assert_cmpint(w->iface->authenticate(w->impl, "user5", ""), ==, UCD_E_DENIED);
    g_assert_cmpint(w->iface->authenticate(w->impl, "nobody", "Passw0rd"), ==, UCD_E_NOT_FOUND);
    /* Filter injection: each must stay a literal login that nobody has. */
    g_assert_cmpint(w->iface->authenticate(w->impl, "*", "Passw0rd"), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(w->iface->authenticate(w->impl, "*)(uid=*", "Passw0rd"), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(w->iface->authenticate(w->impl, "user5)(|(uid=*", "Passw0rd"), ==,
                    UCD_E_NOT_FOUND);
    g_assert_cmpint(w->iface->authenticate(w->impl, "user\\2a", "Passw0rd"), ==, UCD_E_NOT_FOUND);
    g_assert_false(fake_module_log_has(w->module, 0, "Passw0rd"));
    g_assert_false(fake_module_log_has(w->module, 0, "wrong"));
    world_free(w, FALSE);
}

#define BAD_GUID "objectGUID:: q1OssqC1kUCrtq3HusZZZA==\n"

static void test_bad_input(void)
{
    char *long_name = g_strnfill(5000, 'x');
    char *ldif = g_strdup_printf(
        "dn: cn=badlong,ou=Users,dc=example,dc=test\nobjectClass: inetOrgPerson\n"
        "objectClass: adUser\nsn: x\nsAMAccountName: badlong\ndisplayName: %s\n"
        "objectGUID:: q1OssqC1kUCrtq3HusZZYA==\n\n"
        "dn: cn=badutf8,ou=Users,dc=example,dc=test\nobjectClass: inetOrgPerson\n"
        "objectClass: adUser\nsn: x\nsAMAccountName: badutf8\nblob:: /v8A/w==\n"
        "objectGUID:: q1OssqC1kUCrtq3HusZZXA==\n\n"
        "dn: cn=nologin,ou=Users,dc=example,dc=test\nobjectClass: inetOrgPerson\n"
        "objectClass: adUser\nsn: x\nobjectGUID:: q1OssqC1kUCrtq3HusZZWA==\n\n"
        "dn: cn=noid,ou=Users,dc=example,dc=test\nobjectClass: inetOrgPerson\n"
        "objectClass: adUser\nsn: x\nsAMAccountName: noid\n\n"
        "dn: cn=twotitles,ou=Users,dc=example,dc=test\nobjectClass: inetOrgPerson\n"
        "objectClass: adUser\nsn: x\nsAMAccountName: twotitles\ntitle: First\ntitle: Second\n"
        "objectGUID:: q1OssqC1kUCrtq3HusZZVA==\n",
        long_name);
    peer_apply(slapd, "ldapadd", ldif);
    g_free(ldif);
    g_free(long_name);

    const char *const extra[] = {"attr_department", "blob", NULL};
    world *w = world_new(slapd, extra, NULL);
    world_start(w);
    GHashTable *users = users_of(w);
    /* Kept, without the bad value, with a logged reason. */
    fake_user *u = g_hash_table_lookup(users, "badlong");
    g_assert_nonnull(u);
    g_assert_null(u->display_name);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "longer than 1024"));
    u = g_hash_table_lookup(users, "badutf8");
    g_assert_nonnull(u);
    g_assert_null(u->department);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "not UTF-8"));
    u = g_hash_table_lookup(users, "twotitles");
    g_assert_cmpstr(u->title, ==, "First");
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "2 values where one"));
    /* Skipped: no login, no id. */
    g_assert_false(g_hash_table_contains(users, "noid"));
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "cn=nologin"));
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "no usable login"));
    g_assert_cmpuint(g_hash_table_size(users), ==, MAIN_USERS + 3);
    g_assert_cmpint(fake_module_counter(w->module, "rejected_values"), ==, 5);
    g_hash_table_unref(users);
    world_free(w, FALSE);

    peer_apply(slapd, "ldapdelete",
               "cn=badlong,ou=Users,dc=example,dc=test\ncn=badutf8,ou=Users,dc=example,dc=test\n"
               "cn=nologin,ou=Users,dc=example,dc=test\ncn=noid,ou=Users,dc=example,dc=test\n"
               "cn=twotitles,ou=Users,dc=example,dc=test\n");
}

/* ---- faults, incremental syncs and home servers (a slapd of our own) ------------------- */

static fake_user *find_user(GHashTable *users, const char *login)
{
    return g_hash_table_lookup(users, login);
}

static guint count_users(world *w)
{
    GHashTable *users = users_of(w);
    guint n = g_hash_table_size(users);
    g_hash_table_unref(users);
    return n;
}

typedef struct sync_thread {
    world *w;
    int result;
} sync_thread;

static gpointer run_full_sync(gpointer data)
{
    sync_thread *t = data;
    t->result = world_sync(t->w, UCD_SYNC_FULL, NULL);
    return NULL;
}

static void modify(GHashTable *env, const char *user, const char *attribute, const char *value)
{
    char *ldif = g_strdup_printf("dn: cn=%s,ou=Users,dc=example,dc=test\nchangetype: modify\n"
                                 "replace: %s\n%s: %s\n",
                                 user, attribute, attribute, value);
    peer_apply(env, "ldapmodify", ldif);
    g_free(ldif);
}

static void test_faults(void)
{
    GHashTable *env = peer_start(FAULT_USERS);
    g_assert_nonnull(env);
    /* Users are homed on pbx0/pbx1/pbx2 by I % 3. The plugin reports the home
     * server and the account's state; whether a user is here is the core's
     * comparison with [core] server_name (issue 12 item 11), so the plugin's
     * own, deprecated server_name changes nothing but a warning. */
    const char *const extra[] = {"home_server_attribute",
                                 "homeServer",
                                 "server_name",
                                 "pbx1.example.test",
                                 "page_size",
                                 "100",
                                 "write_back",
                                 "true",
                                 NULL};
    world *w = world_new(env, extra, NULL);
    world_start(w);
    GHashTable *users = users_of(w);
    g_assert_cmpuint(g_hash_table_size(users), ==, FAULT_USERS);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING,
                                      "server_name = pbx1.example.test is deprecated and ignored"));
    g_assert_true(find_user(users, "user4")->enabled);
    g_assert_cmpstr(find_user(users, "user4")->home_server, ==, "pbx1.example.test");
    g_assert_true(find_user(users, "user5")->enabled);
    g_assert_cmpstr(find_user(users, "user5")->home_server, ==, "pbx2.example.test");
    g_hash_table_unref(users);

    /* Incremental: a changed entry arrives, a deletion is only seen by a full sync,
     * a user moved to another server has that home server (and stays enabled:
     * the core, not the plugin, says it is elsewhere). */
    modify(env, "user4", "displayName", "Changed Four");
    modify(env, "user10", "homeServer", "pbx2.example.test");
    peer_apply(env, "ldapdelete", "cn=user7,ou=Users,dc=example,dc=test\n");
    char *message = NULL;
    g_assert_cmpint(world_sync(w, 0, &message), ==, UCD_OK);
    g_assert_nonnull(strstr(message, "incremental"));
    g_free(message);
    users = users_of(w);
    g_assert_cmpstr(find_user(users, "user4")->display_name, ==, "Changed Four");
    g_assert_cmpstr(find_user(users, "user10")->home_server, ==, "pbx2.example.test");
    g_assert_true(find_user(users, "user10")->enabled);
    g_assert_nonnull(find_user(users, "user7"));
    g_hash_table_unref(users);
    g_assert_cmpint(world_sync(w, UCD_SYNC_FULL, NULL), ==, UCD_OK);
    users = users_of(w);
    g_assert_null(find_user(users, "user7"));
    g_assert_cmpstr(find_user(users, "user10")->home_server, ==, "pbx2.example.test");
    g_assert_cmpuint(g_hash_table_size(users), ==, FAULT_USERS - 1);

    /* Write-back: moving user13 (pbx2) to pbx1 shows at once. */
    const char *id13 = find_user(users, "user13")->id;
    g_assert_cmpint(w->iface->set_home_server(w->impl, id13, "pbx1.example.test"), ==, UCD_OK);
    g_assert_cmpint(w->iface->set_home_server(w->impl, id13, NULL), ==, UCD_E_INVALID);
    g_hash_table_unref(users);
    users = users_of(w);
    g_assert_cmpstr(find_user(users, "user13")->home_server, ==, "pbx1.example.test");
    g_hash_table_unref(users);

    /* A sync returning far fewer users is not applied. */
    GString *deletes = g_string_new(NULL);
    for (int i = 1000; i < 1300; i++)
        g_string_append_printf(deletes, "cn=user%d,ou=Users,dc=example,dc=test\n", i);
    peer_apply(env, "ldapdelete", deletes->str);
    g_string_free(deletes, TRUE);
    g_assert_cmpint(world_sync(w, UCD_SYNC_FULL, NULL), ==, UCD_E_INVALID);
    g_assert_cmpuint(count_users(w), ==, FAULT_USERS - 1);
    g_assert_cmpint(fake_module_counter(w->module, "rejected_syncs"), ==, 1);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "not applied"));

    /* slapd dies in the middle of a paged sync: nobody is removed. The
     * sync runs on a thread of the test; when its first page is logged,
     * slapd is frozen and killed (10 entries a page: many pages remain). */
    char *state_dir = g_strdup(w->state_dir);
    world_free(w, TRUE);
    const char *const small_pages[] = {"page_size", "10", NULL};
    w = world_new(env, extra, state_dir);
    fake_module_set_pairs(w->module, small_pages);
    world_start(w); /* the shrunken directory: refused against the cached set */
    g_assert_cmpuint(count_users(w), ==, FAULT_USERS - 1);
    fake_module_log_clear(w->module);
    sync_thread t = {w, UCD_OK};
    GThread *thread = g_thread_new("sync", run_full_sync, &t);
    while (!fake_module_log_has(w->module, UCD_LOG_DEBUG, "page read"))
        g_usleep(1000);
    pid_t pid = (pid_t)atoi(peer(env, "LDAP_PID"));
    kill(pid, SIGSTOP);
    kill(pid, SIGKILL);
    g_thread_join(thread);
    g_assert_cmpint(t.result, !=, UCD_OK);
    g_assert_cmpuint(count_users(w), ==, FAULT_USERS - 1);
    g_assert_cmpint(fake_module_counter(w->module, "failed_syncs"), ==, 1);
    world_free(w, TRUE);

    /* slapd down at start-up: the cached last good set is there. */
    w = world_new(env, extra, state_dir);
    world_start(w);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_INFO, "cached users loaded"));
    g_assert_cmpint(fake_module_counter(w->module, "failed_syncs"), ==, 1);
    users = users_of(w);
    g_assert_cmpuint(g_hash_table_size(users), ==, FAULT_USERS - 1);
    g_assert_cmpstr(find_user(users, "user13")->home_server, ==, "pbx1.example.test");
    g_assert_cmpstr(find_user(users, "user4")->display_name, ==, "Changed Four");
    g_hash_table_unref(users);
    /* A login cannot be checked, and says so. */
    g_assert_cmpint(w->iface->authenticate(w->impl, "user4", "Passw0rd"), ==, UCD_E_UNAVAILABLE);
    world_free(w, FALSE);
    g_free(state_dir);
    peer_stop(env);
}

/* AD's extensionName holds "<16,SERVER>" among other values (extensions). */
static void test_extension_name(void)
{
    peer_apply(slapd, "ldapmodify",
               "dn: cn=user2,ou=Users,dc=example,dc=test\nchangetype: modify\n"
               "add: extensionName\nextensionName: <16,pbx9>\n");
    const char *const extra[] = {"home_server_attribute", "extensionName", NULL};
    world *w = world_new(slapd, extra, NULL);
    world_start(w);
    GHashTable *users = users_of(w);
    g_assert_cmpstr(find_user(users, "user2")->home_server, ==, "pbx9");
    g_assert_true(find_user(users, "user2")->enabled);     /* elsewhere is the core's to say */
    g_assert_null(find_user(users, "user1")->home_server); /* "10001" is an extension */
    g_assert_true(find_user(users, "user1")->enabled);
    g_hash_table_unref(users);
    world_free(w, FALSE);

    /* unhomed_users_enabled = false: only users without any home server value
     * are left out by the plugin; a disabled account stays disabled wherever
     * it is homed. */
    set_account_control("user2", "514");
    const char *const unhomed_off[] = {"home_server_attribute", "extensionName",
                                       "unhomed_users_enabled", "false", NULL};
    w = world_new(slapd, unhomed_off, NULL);
    world_start(w);
    users = users_of(w);
    g_assert_false(find_user(users, "user1")->enabled);
    g_assert_false(find_user(users, "user2")->enabled);
    g_assert_cmpstr(find_user(users, "user2")->home_server, ==, "pbx9");
    g_hash_table_unref(users);
    world_free(w, FALSE);
    set_account_control("user2", "512");
    peer_apply(slapd, "ldapmodify",
               "dn: cn=user2,ou=Users,dc=example,dc=test\nchangetype: modify\n"
               "delete: extensionName\nextensionName: <16,pbx9>\n");
}

/* UCD_SYNC_FORCE (`ucctl users sync --full --force`) applies a set the shrink
 * rule refused; the syncs after it are judged against that set. The
 * "shrinking" is a narrower filter over the shared slapd: 1,111 of its 5,000
 * users (user1, user1X, user1XX, user1XXX) are left out, 22%. */
static void test_forced_sync(void)
{
    world *w = world_new(slapd, NULL, NULL);
    world_start(w);
    g_assert_cmpuint(count_users(w), ==, MAIN_USERS);
    char *state_dir = g_strdup(w->state_dir);
    world_free(w, TRUE);

    const char *const narrower[] = {"filter", "(&(objectClass=inetOrgPerson)(!(cn=user1*)))", NULL};
    w = world_new(slapd, narrower, state_dir);
    world_start(w); /* the cached 5,000, then a full sync that is refused */
    g_assert_cmpuint(count_users(w), ==, MAIN_USERS);
    g_assert_cmpint(fake_module_counter(w->module, "rejected_syncs"), ==, 1);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "sync --full --force"));
    g_assert_cmpint(world_sync(w, UCD_SYNC_FULL, NULL), ==, UCD_E_INVALID);
    g_assert_cmpuint(count_users(w), ==, MAIN_USERS);

    /* FORCE alone implies a full sync (an incremental one would keep all). */
    unsigned resynced = w->resynced;
    char *message = NULL;
    g_assert_cmpint(world_sync(w, UCD_SYNC_FORCE, &message), ==, UCD_OK);
    g_assert_nonnull(strstr(message, "full sync"));
    g_free(message);
    g_assert_cmpuint(count_users(w), ==, MAIN_USERS - 1111);
    g_assert_cmpuint(w->resynced, ==, resynced + 1);
    g_assert_cmpint(fake_module_counter(w->module, "rejected_syncs"), ==, 2);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_NOTICE, "forced full sync"));
    g_assert_cmpint(world_sync(w, UCD_SYNC_FULL, NULL), ==, UCD_OK);
    world_free(w, TRUE);

    /* The forced set is the cached one too. */
    w = world_new(slapd, narrower, state_dir);
    world_start(w);
    g_assert_cmpint(fake_module_counter(w->module, "rejected_syncs"), ==, 0);
    g_assert_cmpuint(count_users(w), ==, MAIN_USERS - 1111);
    world_free(w, FALSE);
    g_free(state_dir);
}

/* ---- the cache: snapshot and deltas ------------------------------------------------ */

static int dump_user(const ucd_user *u, void *data)
{
    char *groups = g_strjoinv(",", (char **)u->groups);
    char *numbers = g_strjoinv(",", (char **)u->numbers);
    g_ptr_array_add(data, g_strdup_printf("%s|%s|%s|%s|%u|%s|%s|%s", u->id, u->login,
                                          u->display_name, u->title, u->enabled,
                                          u->home_server ? u->home_server : "", groups, numbers));
    g_free(groups);
    g_free(numbers);
    return 0;
}

static gint compare_lines(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every user of the module's set as text, sorted: two sets compare equal. */
static char *dump_users(world *w)
{
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
    g_assert_cmpint(w->iface->foreach_user(w->impl, dump_user, lines), ==, UCD_OK);
    g_ptr_array_sort(lines, compare_lines);
    g_ptr_array_add(lines, NULL);
    char *text = g_strjoinv("\n", (char **)lines->pdata);
    g_ptr_array_unref(lines);
    return text;
}

static char *state_file(world *w, const char *name)
{
    return g_build_filename(w->state_dir, name, NULL);
}

/* The bytes of a state file, NULL when it does not exist. */
static GBytes *state_bytes(world *w, const char *name)
{
    char *path = state_file(w, name);
    char *contents = NULL;
    gsize size = 0;
    GBytes *bytes =
        g_file_get_contents(path, &contents, &size, NULL) ? g_bytes_new_take(contents, size) : NULL;
    g_free(path);
    return bytes;
}

static gsize delta_size(world *w)
{
    GBytes *bytes = state_bytes(w, "users.cache.delta");
    g_assert_nonnull(bytes);
    gsize size = g_bytes_get_size(bytes);
    g_bytes_unref(bytes);
    return size;
}

/* Sets the title of users FROM..FROM+COUNT-1 of the shared slapd. */
static void set_titles(int from, int count, const char *title)
{
    GString *ldif = g_string_new(NULL);
    for (int i = from; i < from + count; i++)
        g_string_append_printf(ldif,
                               "dn: cn=user%d,ou=Users,dc=example,dc=test\nchangetype: modify\n"
                               "replace: title\ntitle: %s\n\n",
                               i, title);
    peer_apply(slapd, "ldapmodify", ldif->str);
    g_string_free(ldif, TRUE);
}

/* The module on the cache of `state_dir` alone: the directory is out of
 * reach (a closed port), so the set is what the cache loaded. */
static world *world_offline(const char *state_dir)
{
    const char *const offline[] = {"uris", "ldap://127.0.0.1:9", "timeout", "2s", NULL};
    world *w = world_new(slapd, offline, state_dir);
    world_start(w);
    g_assert_cmpint(fake_module_counter(w->module, "failed_syncs"), ==, 1);
    return w;
}

/* Issue 12 item 27: an incremental sync appends its changes to the cache
 * (users.cache.delta) instead of writing the whole set; a start loads the
 * snapshot and the deltas in order, ignores a record cut short, and the
 * deltas are folded into a snapshot past cache_compact_percent or at a full
 * sync. */
static void test_cache_deltas(void)
{
    /* An incremental sync reads again the users of the last stamp's second
     * (>=): at the end of slapd.sh's load, hundreds. One change in a second
     * of its own leaves that second to one user. */
    g_usleep(1100 * 1000);
    set_titles(4990, 1, "Stamp");
    g_usleep(1100 * 1000);
    world *w = world_new(slapd, NULL, NULL);
    world_start(w);
    GBytes *snapshot = state_bytes(w, "users.cache");
    g_assert_nonnull(snapshot);
    g_assert_null(state_bytes(w, "users.cache.delta"));

    set_titles(100, 3, "Delta One");
    g_assert_cmpint(world_sync(w, 0, NULL), ==, UCD_OK);
    GBytes *now = state_bytes(w, "users.cache");
    g_assert_true(g_bytes_equal(now, snapshot)); /* not rewritten */
    g_bytes_unref(now);
    gsize size1 = delta_size(w);
    g_assert_cmpuint(size1, >, 0);
    g_assert_cmpuint(size1, <, g_bytes_get_size(snapshot) / 100); /* the changes, not the set */
    char *dump1 = dump_users(w);
    g_assert_nonnull(strstr(dump1, "|Delta One|"));

    set_titles(200, 2, "Delta Two");
    g_assert_cmpint(world_sync(w, 0, NULL), ==, UCD_OK);
    gsize size2 = delta_size(w);
    g_assert_cmpuint(size2, >, size1);
    now = state_bytes(w, "users.cache");
    g_assert_true(g_bytes_equal(now, snapshot));
    g_bytes_unref(now);
    char *dump2 = dump_users(w);
    g_assert_nonnull(strstr(dump2, "|Delta Two|"));
    char *state_dir = g_strdup(w->state_dir);
    world_free(w, TRUE);

    /* A start loads the snapshot and both deltas: the same set. */
    w = world_offline(state_dir);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_INFO, "cached users loaded"));
    char *loaded = dump_users(w);
    g_assert_cmpstr(loaded, ==, dump2);
    g_free(loaded);
    world_free(w, TRUE);

    /* A crash in the middle of the second append: its half is ignored with a
     * warning and cut off; the set is the snapshot and the first delta. */
    char *delta_path = g_build_filename(state_dir, "users.cache.delta", NULL);
    g_assert_cmpint(truncate(delta_path, (off_t)(size1 + (size2 - size1) / 2)), ==, 0);
    w = world_offline(state_dir);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "not a whole delta record"));
    loaded = dump_users(w);
    g_assert_cmpstr(loaded, ==, dump1);
    g_free(loaded);
    g_assert_cmpuint(delta_size(w), ==, size1);
    world_free(w, TRUE);

    /* A full sync writes a snapshot and drops the deltas. */
    w = world_new(slapd, NULL, state_dir);
    world_start(w); /* a full sync */
    g_assert_null(state_bytes(w, "users.cache.delta"));
    set_titles(400, 2, "Delta Four");
    g_assert_cmpint(world_sync(w, 0, NULL), ==, UCD_OK);
    g_assert_cmpuint(delta_size(w), >, 0);
    g_assert_cmpint(world_sync(w, UCD_SYNC_FULL, NULL), ==, UCD_OK);
    g_assert_null(state_bytes(w, "users.cache.delta"));
    world_free(w, TRUE);

    /* Compaction: with cache_compact_percent = 2 (100 of 5,000 users), a
     * delta of a few users is appended (an incremental sync also reads again
     * the users changed in the second of the last stamp), one of 150 more
     * makes a snapshot. */
    const char *const compact[] = {"cache_compact_percent", "2", NULL};
    w = world_new(slapd, compact, state_dir);
    world_start(w); /* a full sync: a snapshot, no deltas */
    g_assert_null(state_bytes(w, "users.cache.delta"));
    g_bytes_unref(snapshot);
    snapshot = state_bytes(w, "users.cache");
    set_titles(100, 3, "Delta Three");
    g_assert_cmpint(world_sync(w, 0, NULL), ==, UCD_OK);
    g_assert_cmpuint(delta_size(w), >, 0);
    set_titles(300, 150, "Compacted");
    g_assert_cmpint(world_sync(w, 0, NULL), ==, UCD_OK);
    g_assert_null(state_bytes(w, "users.cache.delta"));
    now = state_bytes(w, "users.cache");
    g_assert_false(g_bytes_equal(now, snapshot));
    g_bytes_unref(now);
    char *compacted = dump_users(w);
    g_assert_nonnull(strstr(compacted, "|Compacted|"));
    world_free(w, TRUE);
    w = world_offline(state_dir);
    loaded = dump_users(w);
    g_assert_cmpstr(loaded, ==, compacted);
    g_free(loaded);
    world_free(w, TRUE);

    /* A cache of the previous version is ignored with a warning. */
    char *cache_path = g_build_filename(state_dir, "users.cache", NULL);
    const guint8 version3[16] = {3, 0, 0, 0};
    g_assert_true(g_file_set_contents(cache_path, (const char *)version3, sizeof version3, NULL));
    w = world_offline(state_dir);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "cache version 3, not 4"));
    g_assert_cmpuint(count_users(w), ==, 0);
    world_free(w, FALSE);

    set_titles(100, 3, "Agent");
    set_titles(200, 2, "Agent");
    set_titles(300, 150, "Agent");
    set_titles(400, 2, "Agent");
    set_titles(4990, 1, "Agent");
    g_bytes_unref(snapshot);
    g_free(cache_path);
    g_free(delta_path);
    g_free(dump1);
    g_free(dump2);
    g_free(compacted);
    g_free(state_dir);
}

static void test_write_back_off(void)
{
    world *w = world_new(slapd, NULL, NULL);
    world_start(w);
    GHashTable *users = users_of(w);
    g_assert_cmpint(w->iface->set_home_server(w->impl, find_user(users, "user1")->id, "x"), ==,
                    UCD_E_UNSUPPORTED);
    g_hash_table_unref(users);
    world_free(w, FALSE);
}

/* Phone write-back: only with write_back and write_back_phones; the numbers
 * reach the directory (a new full sync reads them back), not only memory. */
static void test_write_back_phones(void)
{
    const char *const no_phones[] = {"write_back", "true", NULL};
    world *w = world_new(slapd, no_phones, NULL);
    world_start(w);
    GHashTable *users = users_of(w);
    char *id = g_strdup(find_user(users, "user4999")->id);
    g_hash_table_unref(users);
    const char *const numbers[] = {"+49 89 4521-111", "+49 89 4521-222", NULL};
    g_assert_cmpint(w->iface->set_numbers(w->impl, id, numbers), ==, UCD_E_UNSUPPORTED);
    world_free(w, FALSE);

    const char *const phones[] = {"write_back", "true", "write_back_phones", "true", NULL};
    w = world_new(slapd, phones, NULL);
    world_start(w);
    g_assert_cmpint(w->iface->set_numbers(w->impl, id, numbers), ==, UCD_OK);
    g_assert_cmpint(w->iface->set_numbers(w->impl, "no-such-id", numbers), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(world_sync(w, UCD_SYNC_FULL, NULL), ==, UCD_OK);
    users = users_of(w);
    fake_user *u = find_user(users, "user4999");
    g_assert_cmpstr(u->numbers[0], ==, "+49 89 4521-111");
    g_assert_cmpstr(u->numbers[1], ==, "+49 89 4521-222");
    g_assert_null(u->numbers[2]);
    g_hash_table_unref(users);
    world_free(w, FALSE);
    g_free(id);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 3)
        g_error("usage: users-ldap-test users-ldap.so slapd.sh");
    void *handle = NULL;
    descriptor = fake_load_plugin(argv[1], "users-ldap", &handle);
    peer_script = argv[2];
    /* The plugin must take its CA from its configuration, nothing else. */
    g_unsetenv("LDAPTLS_CACERT");
    g_unsetenv("LDAPTLS_REQCERT");

    char *slapd_path = g_find_program_in_path("slapd");
    gboolean have_slapd = slapd_path != NULL || g_file_test("/usr/sbin/slapd", G_FILE_TEST_EXISTS);
    g_free(slapd_path);
    if (!have_slapd) {
        if (g_strcmp0(g_getenv("CI"), "true") == 0) {
            g_printerr("CI=true: slapd is missing (apt-get install slapd ldap-utils)\n");
            return 1;
        }
        g_printerr("skipped: slapd is missing (apt-get install slapd ldap-utils)\n");
        return 77;
    }
    slapd = peer_start(MAIN_USERS);
    if (slapd == NULL)
        return 1;

    g_test_add_func("/users-ldap/sync/plain", test_sync_plain);
    g_test_add_func("/users-ldap/sync/starttls", test_sync_starttls);
    g_test_add_func("/users-ldap/sync/ldaps", test_sync_ldaps);
    g_test_add_func("/users-ldap/sync/failover", test_failover);
    g_test_add_func("/users-ldap/tls/untrusted", test_untrusted_certificate);
    g_test_add_func("/users-ldap/tls/expired", test_expired_certificate);
    g_test_add_func("/users-ldap/tls/wrong-name", test_wrong_name_and_tls_required);
    g_test_add_func("/users-ldap/tls/handshake-timeout", test_handshake_timeout);
    g_test_add_func("/users-ldap/bind/wrong-service-password", test_wrong_service_password);
    g_test_add_func("/users-ldap/groups/objects", test_groups_from_objects);
    g_test_add_func("/users-ldap/groups/nested", test_nested_groups);
    g_test_add_func("/users-ldap/users/disabled", test_disabled_account);
    g_test_add_func("/users-ldap/login", test_logins);
    g_test_add_func("/users-ldap/bad-input", test_bad_input);
    g_test_add_func("/users-ldap/home-server/write-back-off", test_write_back_off);
    g_test_add_func("/users-ldap/write-back/phones", test_write_back_phones);
    g_test_add_func("/users-ldap/faults", test_faults);
    g_test_add_func("/users-ldap/sync/force", test_forced_sync);
    g_test_add_func("/users-ldap/cache/deltas", test_cache_deltas);
    g_test_add_func("/users-ldap/home-server/extension-name", test_extension_name);
    int result = g_test_run();
    peer_stop(slapd);
    return result;
}
