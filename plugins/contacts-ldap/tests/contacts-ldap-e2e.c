/*
 * contacts-ldap-e2e.c - contacts-ldap in the real ucd with the real
 * contact store, against the slapd that tests/peers/with-peer.sh started
 * (100 users): a replication at start over LDAPS, a caller found by
 * another raw form of their number, and a server that cannot be reached,
 * which `directory sources` reports by name.
 */
#include <string.h>

#include <json-glib/json-glib.h>

#include "harness.h"

static const char *env(const char *name)
{
    const char *value = g_getenv(name);
    if (value == NULL)
        g_error("%s not set: run me through tests/peers/with-peer.sh slapd", name);
    return value;
}

/* The reply of a control command as JSON text must contain `needle`. */
static void reply_has(harness *h, const char *needle, const char *const *argv)
{
    JsonNode *reply = harness_request(h, argv);
    g_assert_nonnull(reply);
    char *text = json_to_string(reply, FALSE);
    if (strstr(text, needle) == NULL)
        g_error("%s %s: expected '%s' in: %s", argv[0], argv[1], needle, text);
    g_free(text);
    json_node_free(reply);
}

static void test_ldap_source(void)
{
    harness *h = harness_new(NULL);
    char *body = g_strdup_printf("[location default]\n"
                                 "country_code = 49\n"
                                 "area_code = 89\n"
                                 "[module contacts-ldap:dir]\n"
                                 "uris = %s\n"
                                 "ca_file = %s\n"
                                 "bind_dn = %s\n"
                                 "bind_password = %s\n"
                                 "base_dn = ou=Users,%s\n"
                                 "filter = (objectClass=inetOrgPerson)\n"
                                 "page_size = 30\n"
                                 "replicate_every = 0s\n"
                                 "[module contacts-ldap:down]\n"
                                 "uris = ldap://127.0.0.1:1\n"
                                 "base_dn = %s\n"
                                 "replicate_every = 0s\n"
                                 "[module contacts-store]\n",
                                 env("LDAPS_URI"), env("LDAP_CACERT"), env("LDAP_ADMIN_DN"),
                                 env("LDAP_ADMIN_PW"), env("LDAP_BASE"), env("LDAP_BASE"));
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "contacts-store", "running"));
    if (!harness_wait_log(h, "source contacts-ldap:dir: generation 1 in use: 100 contacts"))
        g_error("no replication at start; the log:\n%s", harness_log(h));

    const char *const lookup[] = {"directory", "lookup", "+1 555 0000007", NULL};
    reply_has(h, "Test User7", lookup);
    const char *const international[] = {"directory", "lookup", "0015550000042", NULL};
    reply_has(h, "Test User42", international);
    const char *const search[] = {"directory", "search", "user99", NULL};
    reply_has(h, "Test User99", search);
    const char *const sources[] = {"directory", "sources", NULL};
    reply_has(h, "failed: ldap://127.0.0.1:1: cannot reach the server", sources);
    const char *const replicate[] = {"directory", "replicate", "contacts-ldap:dir", NULL};
    JsonNode *reply = harness_ok(h, replicate);
    g_assert_cmpstr(harness_field(reply, "result"), ==, "ok");
    g_assert_cmpstr(harness_field(reply, "generation"), ==, "2");
    g_assert_cmpstr(harness_field(reply, "contacts"), ==, "100");
    g_assert_cmpstr(harness_field(reply, "numbers"), ==, "100");
    json_node_free(reply);
    reply = harness_ok(h, sources);
    g_assert_cmpstr(harness_cell(reply, "contacts-ldap:dir", "contacts"), ==, "100");
    g_assert_cmpstr(harness_cell(reply, "contacts-ldap:dir", "result"), ==, "ok");
    json_node_free(reply);

    /* The password is in no log line. */
    char *log = harness_log(h);
    g_assert_null(strstr(log, env("LDAP_ADMIN_PW")));
    g_free(log);
    g_assert_cmpint(harness_stop(h), ==, 0);
    g_free(body);
    harness_free(h);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/contacts-ldap/e2e/ldap-source", test_ldap_source);
    return g_test_run();
}
