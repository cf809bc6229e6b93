/*
 * sip-util.c - see sip-util.h. Polls are 20 ms apart; their bounds are
 * generous because the suite also runs with ucd under valgrind.
 */
#include "sip-util.h"

#include <string.h>

#include "e2e-util.h"

#define POLL_US     20000
#define POLLS_PER_S (1000000 / POLL_US)

harness_peer *sip_peer_start(const char *auth)
{
    /* the argument, not KAMAILIO_AUTH: setenv() is unsafe once GLib has
     * started threads */
    const char *const args[] = {"--auth", auth, NULL};
    return harness_peer_start(harness_env("UCD_KAMAILIO_SCRIPT"), "SIP_DIR",
                              auth != NULL ? args : NULL);
}

/* Runs a kamailio.sh verb, which must succeed; returns its output (g_free it). */
static char *run_script(const char *const *argv)
{
    int status = 0;
    char *out = NULL, *err = NULL;
    g_assert_true(
        g_spawn_sync(NULL, (char **)argv, NULL, 0, NULL, NULL, &out, &err, &status, NULL));
    if (!g_spawn_check_wait_status(status, NULL))
        g_error("%s %s failed: %s%s", argv[0], argv[1], out, err);
    g_free(err);
    return out;
}

void sip_peer_verb(harness_peer *peer, const char *verb)
{
    const char *argv[] = {harness_env("UCD_KAMAILIO_SCRIPT"), verb,
                          harness_peer_get(peer, "SIP_DIR"), NULL};
    g_free(run_script(argv));
}

void sip_phone(harness_peer *peer, const char *who, const char *command, const char *params)
{
    const char *argv[] = {harness_env("UCD_KAMAILIO_SCRIPT"),
                          "ua",
                          harness_peer_get(peer, "SIP_DIR"),
                          who,
                          command,
                          params,
                          NULL};
    char *answer = run_script(argv);
    /* in the test log: what the phone said (and did meanwhile) */
    g_test_message("phone %s %s %s: %s", who, command, params, g_strstrip(answer));
    if (strstr(answer, "\"ok\":true") == NULL)
        g_error("phone %s refused %s: %s", who, command, answer);
    g_free(answer);
}

void sip_phone_dial(harness_peer *peer, const char *who, const char *user)
{
    char *uri = g_strdup_printf("sip:%s@%s", user, harness_peer_get(peer, "SIP_DOMAIN"));
    sip_phone(peer, who, "dial", uri);
    g_free(uri);
}

char *sip_section(const char *instance, harness_peer *peer, const char *lines, const char *extra)
{
    return g_strdup_printf("[module pbx-sip:%s]\n"
                           "server = %s:%s\n"
                           "domain = %s\n"
                           "lines = %s\n"
                           "%s",
                           instance, harness_peer_get(peer, "SIP_HOST"),
                           harness_peer_get(peer, "SIP_PORT"), harness_peer_get(peer, "SIP_DOMAIN"),
                           lines, extra ? extra : "");
}

harness *sip_ucd_start(const char *users_xml, const char *sections, const char *const *modules)
{
    harness *h = e2e_ucd_start(users_xml, sections);
    for (const char *const *m = modules; *m != NULL; m++)
        g_assert_true(harness_wait_state(h, *m, "running"));
    return h;
}

void sip_stop(harness *h, harness_peer *peer)
{
    g_assert_cmpint(harness_stop(h), ==, 0);
    harness_free(h);
    harness_peer_stop(peer);
}

void sip_wait_journal(harness *h, const char *sql, const char *expected)
{
    char *got = NULL;
    for (int i = 0; i < 30 * POLLS_PER_S; i++) {
        g_free(got);
        got = e2e_journal_sql(h, sql);
        if (g_strcmp0(got, expected) == 0)
            break;
        g_usleep(POLL_US);
    }
    g_assert_cmpstr(got, ==, expected);
    g_free(got);
}

/* The cell in column `want` of the first row of a table request whose driver
 * and line columns match, NULL if none (g_free it). */
static char *table_cell(harness *h, const char *request, const char *driver, const char *address,
                        const char *match_column, const char *match, const char *want)
{
    JsonNode *r = e2e_ctl(h, request, NULL, NULL, NULL);
    JsonObject *o = json_node_get_object(r);
    int cd = e2e_column(o, "driver"), cl = e2e_column(o, "line"), cw = e2e_column(o, want);
    int cm = match_column ? e2e_column(o, match_column) : -1;
    JsonArray *rows = json_object_get_array_member(o, "rows");
    char *found = NULL;
    for (guint j = 0; j < json_array_get_length(rows) && !found; j++) {
        JsonArray *row = json_array_get_array_element(rows, j);
        if (strcmp(json_array_get_string_element(row, cd), driver) == 0 &&
            strcmp(json_array_get_string_element(row, cl), address) == 0 &&
            (cm < 0 || strcmp(json_array_get_string_element(row, cm), match) == 0))
            found = g_strdup(json_array_get_string_element(row, cw));
    }
    json_node_free(r);
    return found;
}

char *sip_line_state(harness *h, const char *driver, const char *address)
{
    return table_cell(h, "lines", driver, address, NULL, NULL, "state");
}

void sip_wait_line_state(harness *h, const char *driver, const char *address, const char *state,
                         int seconds)
{
    char *got = NULL;
    for (int i = 0; i < seconds * POLLS_PER_S; i++) {
        g_free(got);
        got = sip_line_state(h, driver, address);
        if (g_strcmp0(got, state) == 0)
            break;
        g_usleep(POLL_US);
    }
    if (g_strcmp0(got, state) != 0)
        g_error("line %s/%s: expected %s within %d s, got %s", driver, address, state, seconds,
                got);
    g_free(got);
}

char *sip_leg_on(harness *h, const char *driver, const char *address, const char *state)
{
    /* 30 s: a NOTIFY lost on a loaded machine waits for SIP retransmission
     * (up to 4 s each), and CI runs several Kamailio suites side by side. */
    for (int i = 0; i < 30 * POLLS_PER_S; i++) {
        char *call = table_cell(h, "calls", driver, address, "state", state, "call");
        if (call != NULL)
            return call;
        g_usleep(POLL_US);
    }
    g_error("no %s leg on line %s/%s", state, driver, address);
}

char *sip_trace(harness *h, const char *line)
{
    return e2e_trace_words(h, line, 1000);
}
