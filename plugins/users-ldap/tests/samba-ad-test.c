/*
 * samba-ad-test.c - the users-ldap plugin against a real Active Directory:
 * a Samba AD domain controller (tests/peers/samba-ad.sh), through the fake
 * host (tests/fake-host).
 *
 * argv[1]: users-ldap.so, argv[2]: tests/peers/samba-ad.sh.
 *
 * Samba's LDAP server listens on fixed ports (389, 636, 3268, 3269) and runs
 * as root, so the script gives it loopback addresses of its own; this
 * program holds 127.0.0.1:389 and :636 while it runs (when they are free) to
 * show that another LDAP server there is no obstacle (issue 12 item 35).
 * Without root it skips, with CI=true it fails, saying why.
 *
 * One DC serves every test: 50 users in OU=Staff, the groups Agents, Sales
 * and Phones (Agents is a member of Phones), Support in All-Support in
 * Company (three levels), user2 homed on pbx2 and user3 on pbx1 by
 * extensionName, the last user disabled (see the script). The module
 * runs with the plugin's AD defaults; only the connection, the bases and this
 * server's name are configured. The fake host runs work items at once, so
 * sync() returns after the sync was judged; the main loop never runs.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "fake-host.h"

#define AGENTS_DN      "cn=agents,ou=groups,dc=example,dc=test"
#define SALES_DN       "cn=sales,ou=groups,dc=example,dc=test"
#define PHONES_DN      "cn=phones,ou=groups,dc=example,dc=test"
#define SUPPORT_DN     "cn=support,ou=groups,dc=example,dc=test"
#define ALL_SUPPORT_DN "cn=all-support,ou=groups,dc=example,dc=test"
#define COMPANY_DN     "cn=company,ou=groups,dc=example,dc=test"
/* Support's members are in all three, sorted as groups_text sorts. */
#define SUPPORT_ALL ALL_SUPPORT_DN " " COMPANY_DN " " SUPPORT_DN

static const ucd_plugin_descriptor *descriptor;
static const char *peer_script;
static GHashTable *dc; /* the DC's exports */
static int dc_users;   /* SAMBA_USERS: user1 .. userN, the last one disabled */

/* ---- the DC ------------------------------------------------------------------------ */

/* Runs the peer script with `args`; its standard output goes to `*out` when
 * `out` is not NULL, its error output to `*err`. TRUE when it exits with 0. */
static gboolean run_script(const char *const *args, char **out, char **err)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, "bash");
    g_ptr_array_add(argv, (char *)peer_script);
    for (const char *const *a = args; *a != NULL; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    int status = 0;
    GError *error = NULL;
    gboolean ok = g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               out, err, &status, &error) &&
                  g_spawn_check_wait_status(status, NULL);
    if (error != NULL && err != NULL) {
        g_free(*err);
        *err = g_strdup(error->message);
    }
    g_clear_error(&error);
    g_ptr_array_unref(argv);
    return ok;
}

/* A guard process that stops the DC when this program ends in any way, an
 * abort included: it waits for the end of a pipe only we hold. */
static void dc_guard(const char *dir)
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

/* Starts the DC and reads its exports; NULL when it cannot. */
static GHashTable *dc_start(void)
{
    const char *const args[] = {"start", NULL};
    char *out = NULL, *err = NULL;
    if (!run_script(args, &out, &err)) {
        g_printerr("samba-ad.sh start failed: %s\n", err != NULL ? err : "");
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
    g_assert_nonnull(g_hash_table_lookup(env, "SAMBA_DIR"));
    dc_guard(g_hash_table_lookup(env, "SAMBA_DIR"));
    return env;
}

static const char *dc_get(const char *name)
{
    const char *value = g_hash_table_lookup(dc, name);
    g_assert_nonnull(value);
    return value;
}

static void dc_stop(void)
{
    const char *const args[] = {"stop", dc_get("SAMBA_DIR"), NULL};
    run_script(args, NULL, NULL);
    g_hash_table_unref(dc);
}

/* Changes the entry `dn` as Administrator with ldapmodify over StartTLS (the
 * DC refuses simple binds without TLS). */
static void dc_modify(const char *dn, const char *changes)
{
    GError *error = NULL;
    GSubprocessLauncher *launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                                              G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
    g_subprocess_launcher_setenv(launcher, "LDAPTLS_CACERT", dc_get("SAMBA_CACERT"), TRUE);
    GSubprocess *process = g_subprocess_launcher_spawn(
        launcher, &error, "ldapmodify", "-ZZ", "-x", "-H", dc_get("SAMBA_URI"), "-D",
        dc_get("SAMBA_ADMIN_DN"), "-w", dc_get("SAMBA_ADMIN_PW"), NULL);
    g_assert_no_error(error);
    char *ldif = g_strdup_printf("dn: %s\nchangetype: modify\n%s", dn, changes);
    g_subprocess_communicate_utf8(process, ldif, NULL, NULL, NULL, &error);
    g_assert_no_error(error);
    g_assert_true(g_subprocess_get_successful(process));
    g_free(ldif);
    g_object_unref(process);
    g_object_unref(launcher);
}

/* login -> objectGUID as Samba itself writes it, for every user. */
static GHashTable *dc_guids(void)
{
    const char *const args[] = {"guids", dc_get("SAMBA_DIR"), NULL};
    char *out = NULL;
    g_assert_true(run_script(args, &out, NULL));
    GHashTable *guids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    char **lines = g_strsplit(out, "\n", -1);
    for (char **line = lines; *line != NULL; line++) {
        char **fields = g_strsplit(*line, " ", 2);
        if (fields[0] != NULL && fields[1] != NULL)
            g_hash_table_insert(guids, g_strdup(fields[0]), g_strdup(fields[1]));
        g_strfreev(fields);
    }
    g_strfreev(lines);
    g_free(out);
    return guids;
}

/* ---- the module ----------------------------------------------------------------------- */

typedef struct world {
    fake_module *module;
    const ucd_users_v1 *iface;
    void *impl;
    char *state_dir;
} world;

/* A started module reading the DC with the plugin's AD defaults, StartTLS
 * verified against the test CA, bound as the service account, this server
 * being pbx1; `extra` ({key, value, ..., NULL}) on top. */
static world *world_start(const char *const *extra)
{
    world *w = g_new0(world, 1);
    w->module = fake_module_new(descriptor, "users-ldap:ad");
    const char *const settings[] = {
        "uris",
        dc_get("SAMBA_URI"),
        "starttls",
        "true",
        "ca_file",
        dc_get("SAMBA_CACERT"),
        "bind_dn",
        dc_get("SAMBA_BIND_DN"),
        "bind_password",
        dc_get("SAMBA_BIND_PW"),
        "base_dn",
        dc_get("SAMBA_USERS_DN"),
        "group_base_dn",
        dc_get("SAMBA_GROUPS_DN"),
        "timeout",
        "30s", /* headroom for ASan and valgrind runs on a loaded machine */
        NULL,
    };
    fake_module_set_pairs(w->module, settings);
    fake_module_set_pairs(w->module, extra);
    w->state_dir = g_dir_make_tmp("samba-ad-test-XXXXXX", NULL);
    fake_module_set_state_dir(w->module, w->state_dir);
    fake_module_start(w->module); /* start runs the first full sync */
    w->iface = fake_module_service(w->module, UCD_USERS_SERVICE, UCD_USERS_MAJOR, &w->impl);
    g_assert_nonnull(w->iface);
    return w;
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

static void world_free(world *w)
{
    fake_module_stop(w->module);
    fake_module_free(w->module);
    remove_tree(w->state_dir);
    g_free(w->state_dir);
    g_free(w);
}

/* login -> fake_user of the module's current set. */
static GHashTable *users_of(world *w)
{
    return fake_users_by_login(w->iface, w->impl);
}

static fake_user *find_user(GHashTable *users, const char *login)
{
    fake_user *u = g_hash_table_lookup(users, login);
    if (u == NULL)
        g_error("user %s is missing", login);
    return u;
}

static int collect_group(const ucd_group *group, void *data)
{
    g_assert_nonnull(group->name);
    g_hash_table_insert(data, g_strdup(group->id), g_strdup(group->name));
    return 0;
}

/* group id -> name of the module's current set. */
static GHashTable *groups_of(world *w)
{
    GHashTable *groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_assert_cmpint(w->iface->foreach_group(w->impl, collect_group, groups), ==, UCD_OK);
    return groups;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The user's groups, sorted and joined with ' ' ("" for none). */
static char *groups_text(const fake_user *u)
{
    guint n = u->groups != NULL ? g_strv_length(u->groups) : 0;
    const char **sorted = g_new0(const char *, n + 1);
    for (guint i = 0; i < n; i++)
        sorted[i] = u->groups[i];
    qsort(sorted, n, sizeof *sorted, compare_strings);
    char *text = g_strjoinv(" ", (char **)sorted);
    g_free(sorted);
    return text;
}

static void assert_groups(GHashTable *users, const char *login, const char *expected)
{
    char *text = groups_text(find_user(users, login));
    g_assert_cmpstr(text, ==, expected);
    g_free(text);
}

typedef struct sync_result {
    gboolean done;
    int result;
    char *message;
    guint64 last_done;
} sync_result;

static void on_sync_progress(uint64_t done, uint64_t total, void *data)
{
    (void)total;
    ((sync_result *)data)->last_done = done;
}

static void on_sync_done(int result, const char *message, void *data)
{
    sync_result *r = data;
    r->done = TRUE;
    r->result = result;
    r->message = g_strdup(message);
}

/* Runs a sync to its end (the fake host runs it at once); returns its result
 * and its message in `*message` (free it). */
static int world_sync(world *w, uint32_t flags, char **message)
{
    sync_result r = {0};
    g_assert_cmpint(w->iface->sync(w->impl, flags, on_sync_progress, on_sync_done, &r), ==, UCD_OK);
    g_assert_true(r.done);
    if (r.result == UCD_OK)
        g_assert_cmpuint(r.last_done, >, 0);
    *message = r.message;
    return r.result;
}

static unsigned count_log_lines(world *w, const char *needle)
{
    unsigned n = 0;
    for (guint i = 0; i < w->module->log_lines->len; i++)
        if (strstr(g_ptr_array_index(w->module->log_lines, i), needle) != NULL)
            n++;
    return n;
}

/* ---- the tests -------------------------------------------------------------------------- */

/* Every user arrives, with AD's objectGUID (as Samba writes it) as its id,
 * its names, mail, number, department and title. */
static void test_users(void)
{
    world *w = world_start(NULL);
    g_assert_cmpint(fake_module_counter(w->module, "failed_syncs"), <=, 0);
    GHashTable *users = users_of(w);
    g_assert_cmpuint(g_hash_table_size(users), ==, (guint)dc_users);
    g_assert_cmpint(fake_module_counter(w->module, "users"), ==, dc_users);

    GHashTable *guids = dc_guids();
    g_assert_cmpuint(g_hash_table_size(guids), ==, (guint)dc_users);
    GHashTableIter iter;
    gpointer login, guid;
    g_hash_table_iter_init(&iter, guids);
    while (g_hash_table_iter_next(&iter, &login, &guid))
        g_assert_cmpstr(find_user(users, login)->id, ==, guid);
    g_hash_table_unref(guids);

    fake_user *u = find_user(users, "user7");
    g_assert_cmpstr(u->display_name, ==, "Test User7");
    g_assert_cmpstr(u->given_name, ==, "Test");
    g_assert_cmpstr(u->surname, ==, "User7");
    g_assert_cmpstr(u->email, ==, "user7@example.test");
    g_assert_cmpstr(u->department, ==, "Sales");
    g_assert_cmpstr(u->title, ==, "Agent");
    g_assert_nonnull(u->numbers);
    g_assert_cmpstr(u->numbers[0], ==, "+1 555 017");
    g_assert_null(u->numbers[1]);
    g_assert_true(u->enabled);
    g_assert_null(u->home_server);
    g_hash_table_unref(users);
    world_free(w);
}

/* Groups come from the users' memberOf; without nested_groups a member of
 * Agents is not a member of Phones, which Agents belongs to. */
static void test_groups(void)
{
    world *w = world_start(NULL);
    GHashTable *groups = groups_of(w);
    g_assert_cmpuint(g_hash_table_size(groups), ==, 6);
    g_assert_cmpstr(g_hash_table_lookup(groups, AGENTS_DN), ==, "Agents");
    g_assert_cmpstr(g_hash_table_lookup(groups, SALES_DN), ==, "Sales");
    g_assert_cmpstr(g_hash_table_lookup(groups, PHONES_DN), ==, "Phones");
    g_hash_table_unref(groups);

    GHashTable *users = users_of(w);
    assert_groups(users, "user5", AGENTS_DN);
    assert_groups(users, "user15", SALES_DN);
    assert_groups(users, "user42", PHONES_DN);
    assert_groups(users, "user30", "");
    assert_groups(users, "user22", SUPPORT_DN);
    g_hash_table_unref(users);
    world_free(w);
}

/* With nested_groups a user is in the groups its groups are in, at any
 * depth: resolved from the groups' own memberOf (read with the groups, once
 * per group), not asked of the DC per group or user. */
static void test_nested_groups(void)
{
    const char *const extra[] = {"nested_groups", "true", NULL};
    world *w = world_start(extra);
    g_assert_false(fake_module_log_has(w->module, 0, "direct memberships only"));
    GHashTable *users = users_of(w);
    assert_groups(users, "user5", AGENTS_DN " " PHONES_DN);
    assert_groups(users, "user1", AGENTS_DN " " PHONES_DN);
    assert_groups(users, "user42", PHONES_DN);
    assert_groups(users, "user15", SALES_DN);
    assert_groups(users, "user30", "");
    assert_groups(users, "user22", SUPPORT_ALL);
    assert_groups(users, "user26", COMPANY_DN);
    g_hash_table_unref(users);
    world_free(w);
}

static void assert_groups_now(world *w, const char *login, const char *expected)
{
    GHashTable *users = users_of(w);
    assert_groups(users, login, expected);
    g_hash_table_unref(users);
}

static void incremental_sync(world *w)
{
    char *message = NULL;
    g_assert_cmpint(world_sync(w, 0, &message), ==, UCD_OK);
    g_assert_nonnull(strstr(message, "incremental"));
    g_free(message);
}

/* Issue 12 item 5: an incremental sync that re-reads a user (its phone
 * changed) keeps its nested groups. Item 6: a member added to a nested group
 * changes the group's uSNChanged, not the user's: the next incremental sync
 * gives the user the group and the groups above it, and takes them away
 * when the member is removed. */
static void test_nested_incremental(void)
{
    const char *const extra[] = {"nested_groups", "true", NULL};
    world *w = world_start(extra);
    assert_groups_now(w, "user23", SUPPORT_ALL);

    dc_modify("CN=user23,OU=Staff,DC=example,DC=test",
              "replace: telephoneNumber\ntelephoneNumber: +1 555 2323\n");
    incremental_sync(w);
    GHashTable *users = users_of(w);
    g_assert_cmpstr(find_user(users, "user23")->numbers[0], ==, "+1 555 2323");
    assert_groups(users, "user23", SUPPORT_ALL);
    assert_groups(users, "user5", AGENTS_DN " " PHONES_DN);
    g_hash_table_unref(users);

    dc_modify("CN=Support,OU=Groups,DC=example,DC=test",
              "add: member\nmember: CN=user31,OU=Staff,DC=example,DC=test\n");
    incremental_sync(w);
    assert_groups_now(w, "user31", SUPPORT_ALL);
    assert_groups_now(w, "user23", SUPPORT_ALL);

    dc_modify("CN=Support,OU=Groups,DC=example,DC=test",
              "delete: member\nmember: CN=user31,OU=Staff,DC=example,DC=test\n");
    incremental_sync(w);
    assert_groups_now(w, "user31", "");
    assert_groups_now(w, "user23", SUPPORT_ALL);

    /* A group nested anew: Sales joins All-Support; its members follow. */
    dc_modify("CN=All-Support,OU=Groups,DC=example,DC=test",
              "add: member\nmember: CN=Sales,OU=Groups,DC=example,DC=test\n");
    incremental_sync(w);
    assert_groups_now(w, "user15", ALL_SUPPORT_DN " " COMPANY_DN " " SALES_DN);
    dc_modify("CN=All-Support,OU=Groups,DC=example,DC=test",
              "delete: member\nmember: CN=Sales,OU=Groups,DC=example,DC=test\n");
    incremental_sync(w);
    assert_groups_now(w, "user15", SALES_DN);
    g_assert_cmpint(fake_module_counter(w->module, "failed_syncs"), <=, 0);
    world_free(w);
}

/* userAccountControl 514 (ACCOUNTDISABLE): reported disabled, and AD refuses
 * its logins. */
static void test_disabled_account(void)
{
    world *w = world_start(NULL);
    char *last = g_strdup_printf("user%d", dc_users);
    GHashTable *users = users_of(w);
    g_assert_false(find_user(users, last)->enabled);
    g_assert_true(find_user(users, "user1")->enabled);
    g_hash_table_unref(users);
    g_assert_cmpint(w->iface->authenticate(w->impl, last, dc_get("SAMBA_USER_PW")), ==,
                    UCD_E_DENIED);
    g_free(last);
    world_free(w);
}

/* extensionName "<16,pbx2>" homes user2 on pbx2, "<16,pbx1>" user3 on pbx1;
 * "4711" beside it is no home server. The plugin reports them with their
 * account state (enabled); the core compares them with [core] server_name. */
static void test_home_server(void)
{
    world *w = world_start(NULL);
    GHashTable *users = users_of(w);
    fake_user *u = find_user(users, "user2");
    g_assert_cmpstr(u->home_server, ==, "pbx2");
    g_assert_true(u->enabled); /* homed elsewhere: the core's comparison, not ours */
    u = find_user(users, "user3");
    g_assert_cmpstr(u->home_server, ==, "pbx1");
    g_assert_true(u->enabled);
    u = find_user(users, "user4");
    g_assert_null(u->home_server);
    g_assert_true(u->enabled);
    g_hash_table_unref(users);
    world_free(w);

    /* The plugin's own server_name is deprecated: a warning, and the same
     * users (the core's [core] server_name decides who is here). */
    const char *const pbx2[] = {"server_name", "PBX2", NULL};
    w = world_start(pbx2);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "deprecated and ignored"));
    users = users_of(w);
    g_assert_true(find_user(users, "user2")->enabled);
    g_assert_true(find_user(users, "user3")->enabled);
    g_assert_cmpstr(find_user(users, "user3")->home_server, ==, "pbx1");
    g_hash_table_unref(users);
    world_free(w);
}

/* Pages of 7 entries: the whole set arrives over many pages. */
static void test_paged(void)
{
    const char *const extra[] = {"page_size", "7", NULL};
    world *w = world_start(extra);
    g_assert_cmpint(fake_module_counter(w->module, "users"), ==, dc_users);
    g_assert_cmpuint(count_log_lines(w, "page read"), >=, (unsigned)(dc_users + 6) / 7);
    world_free(w);
}

/* An incremental sync (by uSNChanged) picks up changes made with ldapmodify:
 * new values and an account disabled, the others untouched. */
static void test_incremental(void)
{
    world *w = world_start(NULL);
    GHashTable *before = users_of(w);
    char *id9 = g_strdup(find_user(before, "user9")->id);
    g_hash_table_unref(before);

    dc_modify("CN=user9,OU=Staff,DC=example,DC=test",
              "replace: displayName\ndisplayName: Changed Nine\n-\n"
              "replace: telephoneNumber\ntelephoneNumber: +1 555 999\n-\n"
              "add: mobile\nmobile: +1 555 998\n");
    dc_modify("CN=user8,OU=Staff,DC=example,DC=test",
              "replace: userAccountControl\nuserAccountControl: 514\n");
    char *message = NULL;
    g_assert_cmpint(world_sync(w, 0, &message), ==, UCD_OK);
    g_assert_nonnull(strstr(message, "incremental"));
    g_free(message);

    GHashTable *users = users_of(w);
    g_assert_cmpuint(g_hash_table_size(users), ==, (guint)dc_users);
    fake_user *u = find_user(users, "user9");
    g_assert_cmpstr(u->id, ==, id9);
    g_assert_cmpstr(u->display_name, ==, "Changed Nine");
    g_assert_cmpstr(u->numbers[0], ==, "+1 555 999");
    g_assert_cmpstr(u->numbers[1], ==, "+1 555 998");
    g_assert_null(u->numbers[2]);
    assert_groups(users, "user9", AGENTS_DN);
    g_assert_false(find_user(users, "user8")->enabled);
    g_assert_cmpstr(find_user(users, "user10")->display_name, ==, "Test User10");
    g_hash_table_unref(users);
    g_free(id9);
    world_free(w);

    dc_modify("CN=user8,OU=Staff,DC=example,DC=test",
              "replace: userAccountControl\nuserAccountControl: 512\n");
}

/* Logins are checked by binding as the user at the DC. */
static void test_logins(void)
{
    world *w = world_start(NULL);
    const char *password = dc_get("SAMBA_USER_PW");
    g_assert_cmpint(w->iface->authenticate(w->impl, "user5", password), ==, UCD_OK);
    g_assert_cmpint(w->iface->authenticate(w->impl, "user5", "wrong"), ==, UCD_E_DENIED);
    g_assert_cmpint(w->iface->authenticate(w->impl, "user5", ""), ==, UCD_E_DENIED);
    g_assert_cmpint(w->iface->authenticate(w->impl, "nobody", password), ==, UCD_E_NOT_FOUND);
    g_assert_cmpint(w->iface->authenticate(w->impl, "*", password), ==, UCD_E_NOT_FOUND);
    g_assert_false(fake_module_log_has(w->module, 0, password));
    world_free(w);
}

/* TLS against the DC: ldaps works with the CA; without TLS the DC refuses the
 * simple bind (it requires strong auth), and a name the certificate does not
 * cover (::1) is refused by the plugin. */
static void test_tls(void)
{
    const char *const ldaps[] = {"uris", dc_get("SAMBA_LDAPS_URI"), "starttls", "false", NULL};
    world *w = world_start(ldaps);
    g_assert_cmpint(fake_module_counter(w->module, "users"), ==, dc_users);
    world_free(w);

    const char *const plain[] = {"starttls", "false", NULL};
    w = world_start(plain);
    g_assert_cmpint(fake_module_counter(w->module, "users"), <=, 0);
    g_assert_cmpint(fake_module_counter(w->module, "failed_syncs"), ==, 1);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "authentication required"));
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING,
                                      "the server requires TLS before a simple bind"));
    world_free(w);

    const char *const wrong_name[] = {"uris", dc_get("SAMBA_OTHER_LDAPS_URI"), "starttls", "false",
                                      NULL};
    w = world_start(wrong_name);
    g_assert_cmpint(fake_module_counter(w->module, "users"), <=, 0);
    g_assert_cmpint(fake_module_counter(w->module, "failed_syncs"), ==, 1);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING,
                                      "TLS failed: the server's certificate is not for"));
    g_assert_false(fake_module_log_has(w->module, UCD_LOG_WARNING, "refused"));
    world_free(w);

    /* The DC does answer on its second address: it was the name check that
     * refused. */
    const char *const unchecked[] = {
        "uris", dc_get("SAMBA_OTHER_LDAPS_URI"), "starttls", "false", "tls_verify", "false", NULL};
    w = world_start(unchecked);
    g_assert_true(fake_module_log_has(w->module, UCD_LOG_WARNING, "NOT checked"));
    g_assert_cmpint(fake_module_counter(w->module, "users"), ==, dc_users);
    world_free(w);
}

/* Listens on 127.0.0.1:389 (as an LDAP server of the machine would) for as
 * long as the program runs, when that port is free: the DC must not need it
 * (item 35). Returns the socket, or -1 when something else holds the port,
 * which proves the same. */
static int hold_ldap_ports(void)
{
    GError *error = NULL;
    GSocket *socket =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
    g_assert_no_error(error);
    GInetAddress *loopback = g_inet_address_new_from_string("127.0.0.1");
    GSocketAddress *address = g_inet_socket_address_new(loopback, 389);
    int fd = -1;
    if (g_socket_bind(socket, address, TRUE, NULL) && g_socket_listen(socket, NULL))
        fd = dup(g_socket_get_fd(socket));
    else
        g_printerr("127.0.0.1:389 is already taken: the DC runs beside it\n");
    g_object_unref(address);
    g_object_unref(loopback);
    g_object_unref(socket);
    return fd;
}

/* Skips (exit 77) or, with CI=true, fails (exit 1) saying `why`. */
static int cannot_run(const char *why)
{
    if (g_strcmp0(g_getenv("CI"), "true") == 0) {
        g_printerr("CI=true: the Samba AD DC cannot run here: %s\n", why);
        return 1;
    }
    g_printerr("skipped: the Samba AD DC cannot run here: %s\n", why);
    return 77;
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 3)
        g_error("usage: samba-ad-test users-ldap.so samba-ad.sh");
    void *handle = NULL;
    descriptor = fake_load_plugin(argv[1], "users-ldap", &handle);
    peer_script = argv[2];
    /* The plugin must take its CA from its configuration, nothing else. */
    g_unsetenv("LDAPTLS_CACERT");
    g_unsetenv("LDAPTLS_REQCERT");

    int held = hold_ldap_ports();
    const char *const check[] = {"check", NULL};
    char *why = NULL;
    if (!run_script(check, NULL, &why)) {
        g_strstrip(why);
        int result = cannot_run(why);
        g_free(why);
        return result;
    }
    g_free(why);
    dc = dc_start();
    if (dc == NULL)
        return 1;
    dc_users = atoi(dc_get("SAMBA_USERS"));
    g_assert_cmpint(dc_users, >, 20);

    g_test_add_func("/samba-ad/users", test_users);
    g_test_add_func("/samba-ad/groups", test_groups);
    g_test_add_func("/samba-ad/groups/nested", test_nested_groups);
    g_test_add_func("/samba-ad/groups/nested-incremental", test_nested_incremental);
    g_test_add_func("/samba-ad/disabled", test_disabled_account);
    g_test_add_func("/samba-ad/home-server", test_home_server);
    g_test_add_func("/samba-ad/paged", test_paged);
    g_test_add_func("/samba-ad/incremental", test_incremental);
    g_test_add_func("/samba-ad/logins", test_logins);
    g_test_add_func("/samba-ad/tls", test_tls);
    int result = g_test_run();
    dc_stop();
    if (held > 0)
        close(held);
    return result;
}
