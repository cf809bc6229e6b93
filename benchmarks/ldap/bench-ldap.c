/*
 * bench-ldap.c - users-ldap against a real directory of N users in nested
 * groups, side by side with a paged ldapsearch of the same entries.
 *
 * argv: users-ldap.so PEER-SCRIPT [N]. PEER-SCRIPT is tests/peers/slapd.sh
 * (OpenLDAP, 14 groups nested three deep: grpG in deptD in company) or
 * tests/peers/samba-ad.sh (a Samba AD DC: Support in All-Support in Company,
 * Agents in Phones; needs root). With LDAP_URI (slapd) or SAMBA_URI (Samba)
 * and the rest of the script's exports in the environment, a running peer
 * is used and left running (slapd's 100,000 users take a minute to load).
 *
 * Printed, each beside its reference (issue 12 items 7 and 27):
 *   - the limit: `ldapsearch -E pr=1000/noprompt` of the users' attributes
 *     plus the groups' (name, description, memberOf, stamp), to /dev/null;
 *   - the plugin's full sync with nested_groups = true (AD defaults:
 *     memberships from memberOf, nesting from the groups' memberOf): the
 *     first one, then BENCH_ROUNDS (default 5) re-syncs alternating with the
 *     limit; median, min and max of each, and the ratio of the medians
 *     (target 1.5x);
 *   - BENCH_ROUNDS incremental syncs of 100 changes each, beside ldapsearch
 *     with the same kind of filter (changed since a stamp) on the same server:
 *     median and spread;
 *   - memory per user, and lookups by login and number in an index built
 *     with foreach_user (what the core does).
 * A sync is timed to the moment its users are published (the core can read
 * them); the cache file is written after that (on a worker in the daemon,
 * inline in the fake host: shown separately).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "fake-host.h"

/* Runs `command` with sh and returns its output. G_SPAWN_LEAVE_DESCRIPTORS_OPEN
 * lets GLib use posix_spawn (vfork) instead of fork: after a fork every page
 * of this process is copy-on-write, and the next sync paid a page fault for
 * each page of the user set it touched (measured: a 100,000-user re-sync 2x
 * slower, an incremental sync 10x), which the daemon, forking nothing, does
 * not pay. */
static char *run(const char *command)
{
    char *out = NULL;
    int status = 0;
    GError *error = NULL;
    const char *argv[] = {"/bin/sh", "-c", command, NULL};
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_LEAVE_DESCRIPTORS_OPEN, NULL, NULL, &out,
                      NULL, &status, &error) ||
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

/* ---- the peer -------------------------------------------------------------------- */

/* What differs between slapd and a Samba DC. */
typedef struct peer {
    gboolean samba;
    GHashTable *env; /* the script's exports */
    const char *uri;
    const char *admin_dn, *admin_pw;
    const char *users_dn, *groups_dn;
    char *ldap_tool_prefix; /* env and TLS flags for ldapsearch/ldapmodify */
    const char *user_filter, *group_filter, *change;
    int users;
} peer;

static GHashTable *parse_exports(const char *text)
{
    GHashTable *env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    char **words = g_strsplit_set(text, " \n", -1);
    for (char **w = words; *w != NULL; w++) {
        char *eq = strchr(*w, '=');
        if (eq != NULL)
            g_hash_table_insert(env, g_strndup(*w, (gsize)(eq - *w)), g_strdup(eq + 1));
    }
    g_strfreev(words);
    return env;
}

static const char *need(peer *p, const char *name)
{
    const char *value = g_hash_table_lookup(p->env, name);
    if (value == NULL)
        value = g_getenv(name);
    if (value == NULL)
        g_error("%s is not set", name);
    return value;
}

/* The exports of a running peer named in the environment, or of one started
 * now (`*started`). */
static void peer_open(peer *p, const char *script, int n, gboolean *started)
{
    p->samba = strstr(script, "samba") != NULL;
    const char *running = g_getenv(p->samba ? "SAMBA_URI" : "LDAP_URI");
    *started = running == NULL;
    if (running != NULL) {
        p->env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    } else {
        gint64 t0 = g_get_monotonic_time();
        char *start = g_strdup_printf("bash %s start %d", script, n);
        char *out = run(start);
        p->env = parse_exports(out);
        g_free(out);
        g_free(start);
        printf("%s with %d users ready in %.1f s\n", p->samba ? "Samba AD DC" : "slapd", n,
               (g_get_monotonic_time() - t0) / 1e6);
    }
    if (p->samba) {
        p->uri = need(p, "SAMBA_URI");
        p->admin_dn = need(p, "SAMBA_ADMIN_DN");
        p->admin_pw = need(p, "SAMBA_ADMIN_PW");
        p->users_dn = need(p, "SAMBA_USERS_DN");
        p->groups_dn = need(p, "SAMBA_GROUPS_DN");
        p->ldap_tool_prefix = g_strdup_printf("env LDAPTLS_CACERT=%s", need(p, "SAMBA_CACERT"));
        p->user_filter = "(&(objectCategory=person)(objectClass=user))";
        p->group_filter = "(objectClass=group)";
        p->change = "uSNChanged";
        p->users = atoi(need(p, "SAMBA_USERS"));
    } else {
        p->uri = need(p, "LDAP_URI");
        p->admin_dn = "cn=admin,dc=example,dc=test";
        p->admin_pw = "secret";
        p->users_dn = "ou=Users,dc=example,dc=test";
        p->groups_dn = "ou=Groups,dc=example,dc=test";
        p->ldap_tool_prefix = g_strdup("env");
        p->user_filter = "(objectClass=inetOrgPerson)";
        p->group_filter = "(objectClass=groupOfNames)";
        p->change = "modifyTimestamp";
        p->users = n;
    }
}

/* ldapsearch (or ldapmodify, `tool`) as the admin, StartTLS on Samba. */
static char *ldap_tool(const peer *p, const char *tool)
{
    return g_strdup_printf("%s %s -x %s -H %s -D '%s' -w '%s'", p->ldap_tool_prefix, tool,
                           p->samba ? "-ZZ" : "", p->uri, p->admin_dn, p->admin_pw);
}

static const char *const user_attrs =
    "objectGUID sAMAccountName displayName givenName sn mail department title "
    "telephoneNumber mobile ipPhone memberOf userAccountControl";

/* The limit: the users' and the groups' entries the plugin reads, paged. */
static char *dump_command(const peer *p, const char *user_filter)
{
    char *search = ldap_tool(p, "ldapsearch");
    char *command = g_strdup_printf(
        "sh -c \"%s -LLL -E pr=1000/noprompt -b '%s' '%s' %s %s extensionName > /dev/null && "
        "%s -LLL -E pr=1000/noprompt -b '%s' '%s' cn description memberOf %s > /dev/null\"",
        search, p->users_dn, user_filter, user_attrs, p->change, search, p->groups_dn,
        p->group_filter, p->change);
    g_free(search);
    return command;
}

/* ---- timing -------------------------------------------------------------------------- */

static void done_cb(int result, const char *message, void *data)
{
    *(int *)data = result;
    if (g_getenv("BENCH_VERBOSE") != NULL)
        printf("  %s\n", message);
}

/* When the last UCD_CHANGE_RESYNCED was published: the moment the core can
 * read the new users. */
static gint64 published_at;

static void on_publish(fake_module *module, const ucd_event *event, void *data)
{
    if (event->type == UCD_EVENT_USER_CHANGED)
        published_at = g_get_monotonic_time();
}

static double time_command(const char *command)
{
    gint64 t0 = g_get_monotonic_time();
    g_free(run(command));
    return (g_get_monotonic_time() - t0) / 1e6;
}

/* Seconds until the users were published; `*with_cache`: until the call
 * returned, the cache written too. */
static double time_sync(const ucd_users_v1 *iface, void *impl, uint32_t flags, double *with_cache)
{
    int result = -1;
    published_at = 0;
    gint64 t0 = g_get_monotonic_time();
    iface->sync(impl, flags, NULL, done_cb, &result);
    *with_cache = (g_get_monotonic_time() - t0) / 1e6;
    if (result != 0 || published_at == 0)
        g_error("sync failed (result %d) or published nothing", result);
    return (published_at - t0) / 1e6;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct spread {
    double median, min, max;
} spread;

static spread spread_of(const double *values, int n)
{
    double *sorted = g_memdup2(values, sizeof(double) * (gsize)n);
    qsort(sorted, (size_t)n, sizeof(double), compare_doubles);
    spread s = {n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2, sorted[0],
                sorted[n - 1]};
    g_free(sorted);
    return s;
}

static void print_spread(const char *what, const double *values, int n)
{
    spread s = spread_of(values, n);
    printf("  %-44s median %.3f s (min %.3f, max %.3f; %d runs)\n", what, s.median, s.min, s.max,
           n);
}

/* ---- incremental changes --------------------------------------------------------------- */

/* The change stamp of now, as the directory writes it: a generalized time
 * (slapd) or the DC's highest USN. */
static char *current_stamp(const peer *p)
{
    if (!p->samba) {
        GDateTime *now = g_date_time_new_now_utc();
        char *stamp = g_date_time_format(now, "%Y%m%d%H%M%SZ");
        g_date_time_unref(now);
        return stamp;
    }
    char *search = ldap_tool(p, "ldapsearch");
    char *command = g_strdup_printf("%s -LLL -b '' -s base highestCommittedUSN", search);
    char *out = run(command);
    const char *line = strstr(out, "highestCommittedUSN: ");
    char *stamp = g_strdup_printf("%lld", line != NULL ? atoll(line + 21) + 1 : 0LL);
    g_free(out);
    g_free(command);
    g_free(search);
    return stamp;
}

/* Changes the title of 100 users spread over the set; `round` makes each
 * round's value new. */
static void change_100(const peer *p, int round)
{
    GString *ldif = g_string_new(NULL);
    for (int i = 1; i <= 100; i++) {
        int user = (i * (p->users / 100) + round) % p->users + 1;
        if (p->samba)
            g_string_append_printf(ldif, "dn: CN=user%d,%s\n", user, p->users_dn);
        else
            g_string_append_printf(ldif, "dn: cn=user%d,%s\n", user, p->users_dn);
        g_string_append_printf(ldif, "changetype: modify\nreplace: title\ntitle: Changed %d\n\n",
                               round);
    }
    char *path = g_build_filename(g_get_tmp_dir(), "bench-ldap.ldif", NULL);
    g_file_set_contents(path, ldif->str, -1, NULL);
    char *modify = ldap_tool(p, "ldapmodify");
    char *command = g_strdup_printf("%s -f %s", modify, path);
    g_free(run(command));
    g_unlink(path);
    g_free(command);
    g_free(modify);
    g_free(path);
    g_string_free(ldif, TRUE);
}

/* ---- main ------------------------------------------------------------------------------ */

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

static void measure_lookups(const ucd_users_v1 *iface, void *impl, int n)
{
    GHashTable *tables[2] = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
                             g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
    iface->foreach_user(impl, index_user, tables);
    char **logins = g_new0(char *, (gsize)n + 1);
    for (int i = 0; i < n; i++)
        logins[i] = g_strdup_printf("user%d", i + 1);
    const int rounds = 10;
    gsize found = 0;
    gint64 t0 = g_get_monotonic_time();
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < n; i++)
            found += g_hash_table_contains(tables[0], logins[i]);
    double login_ns = (g_get_monotonic_time() - t0) * 1000.0 / ((double)n * rounds);
    printf("lookup by login: %.0f ns/op (%zu of %d found), %u numbers indexed\n", login_ns,
           found / rounds, n, g_hash_table_size(tables[1]));
    g_strfreev(logins);
    g_hash_table_unref(tables[0]);
    g_hash_table_unref(tables[1]);
}

static fake_module *module_new(const ucd_plugin_descriptor *descriptor, const peer *p,
                               const char *state_dir)
{
    fake_module *module = fake_module_new(descriptor, "users-ldap:bench");
    const char *const common[] = {
        "uris",      p->uri,      "bind_dn",       p->admin_dn,  "bind_password",      p->admin_pw,
        "base_dn",   p->users_dn, "group_base_dn", p->groups_dn, "nested_groups",      "true",
        "page_size", "1000",      "timeout",       "120s",       "full_sync_interval", "24h",
        NULL};
    fake_module_set_pairs(module, common);
    if (p->samba) {
        const char *ca = g_hash_table_lookup(p->env, "SAMBA_CACERT");
        const char *const ad[] = {"starttls", "true", "ca_file",
                                  ca != NULL ? ca : g_getenv("SAMBA_CACERT"), NULL};
        fake_module_set_pairs(module, ad);
    } else {
        const char *const openldap[] = {
            "filter",      p->user_filter, "group_filter",          p->group_filter,
            "attr_change", p->change,      "home_server_attribute", "",
            NULL};
        fake_module_set_pairs(module, openldap);
    }
    /* A state directory, as the daemon gives: the cache is written too. */
    fake_module_set_state_dir(module, state_dir);
    if (g_getenv("BENCH_LDAP_PHASES") != NULL)
        module->log_echo_level = UCD_LOG_DEBUG;
    module->on_publish = on_publish;
    return module;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        g_error("usage: bench-ldap users-ldap.so PEER-SCRIPT [N]");
    int n = argc > 3 ? atoi(argv[3]) : 100000;
    int rounds = g_getenv("BENCH_ROUNDS") != NULL ? atoi(g_getenv("BENCH_ROUNDS")) : 5;
    if (rounds < 1)
        rounds = 1;
    void *handle = NULL;
    const ucd_plugin_descriptor *descriptor = fake_load_plugin(argv[1], "users-ldap", &handle);
    peer p = {0};
    gboolean started = FALSE;
    peer_open(&p, argv[2], n, &started);
    n = p.users;
    char *dump = dump_command(&p, p.user_filter);

    char *state_dir = g_dir_make_tmp("bench-ldap-XXXXXX", NULL);
    fake_module *module = module_new(descriptor, &p, state_dir);
    double first_dump = time_command(dump);
    long rss_before = rss_kib();
    gint64 t0 = g_get_monotonic_time();
    published_at = 0;
    fake_module_start(module); /* the first full sync runs in start */
    double first_cached = (g_get_monotonic_time() - t0) / 1e6;
    double first_full = (published_at - t0) / 1e6;
    malloc_trim(0);
    long rss_after = rss_kib();
    if (fake_module_counter(module, "users") != n)
        g_error("the first sync read %" G_GINT64_FORMAT " users, not %d",
                fake_module_counter(module, "users"), n);
    void *impl = NULL;
    const ucd_users_v1 *iface = fake_module_service(module, UCD_USERS_SERVICE, 1, &impl);

    double *limit = g_new0(double, (gsize)rounds);
    double *full = g_new0(double, (gsize)rounds);
    double *full_cached = g_new0(double, (gsize)rounds);
    for (int r = 0; r < rounds; r++) {
        limit[r] = time_command(dump);
        full[r] = time_sync(iface, impl, UCD_SYNC_FULL, &full_cached[r]);
    }

    double *inc_limit = g_new0(double, (gsize)rounds);
    double *inc = g_new0(double, (gsize)rounds);
    double *inc_cached = g_new0(double, (gsize)rounds);
    for (int r = 0; r < rounds; r++) {
        char *stamp = current_stamp(&p);
        change_100(&p, r + 1);
        char *filter = g_strdup_printf("(&%s(%s>=%s))", p.user_filter, p.change, stamp);
        char *changed_dump = dump_command(&p, filter);
        inc_limit[r] = time_command(changed_dump);
        inc[r] = time_sync(iface, impl, 0, &inc_cached[r]);
        g_free(changed_dump);
        g_free(filter);
        g_free(stamp);
    }

    printf("users-ldap against %s, %d users in nested groups (nested_groups = true)\n",
           p.samba ? "a Samba AD DC" : "slapd", n);
    printf("  limit: ldapsearch -E pr=1000/noprompt of the users and the groups\n");
    printf("  first full sync: %.3f s to the users published (%.3f s with the cache written); "
           "limit beside it %.3f s = %.2fx\n",
           first_full, first_cached, first_dump, first_full / first_dump);
    print_spread("limit (ldapsearch users + groups):", limit, rounds);
    print_spread("full re-sync, users published:", full, rounds);
    print_spread("full re-sync, cache written too:", full_cached, rounds);
    spread l = spread_of(limit, rounds), f = spread_of(full, rounds);
    printf("  full re-sync / limit (medians): %.2fx (target 1.5x)\n", f.median / l.median);
    print_spread("limit: ldapsearch of 100 changed users:", inc_limit, rounds);
    print_spread("incremental sync of 100 changes, published:", inc, rounds);
    print_spread("incremental sync, cache written too:", inc_cached, rounds);
    spread il = spread_of(inc_limit, rounds), is = spread_of(inc, rounds);
    printf("  incremental / its limit (medians): %.2fx\n", is.median / il.median);
    printf("memory: %.0f bytes per user (RSS growth after the first sync)\n",
           (rss_after - rss_before) * 1024.0 / (double)n);
    measure_lookups(iface, impl, n);

    fake_module_stop(module);
    fake_module_free(module);
    if (started) {
        char *stop = g_strdup_printf(
            "bash %s stop %s", argv[2],
            (const char *)g_hash_table_lookup(p.env, p.samba ? "SAMBA_DIR" : "LDAP_DIR"));
        g_free(run(stop));
        g_free(stop);
    }
    char *cache = g_build_filename(state_dir, "users.cache", NULL);
    g_unlink(cache);
    g_rmdir(state_dir);
    g_free(cache);
    g_free(state_dir);
    g_free(dump);
    return 0;
}
