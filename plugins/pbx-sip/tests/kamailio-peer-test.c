/*
 * kamailio-peer-test.c - tests/peers/kamailio.sh hands out phones that
 * answer their control commands, even when something else took a phone's
 * control port first.
 *
 * baresip 1.0 runs on, registered, when its ctrl_tcp module cannot bind its
 * port; whatever holds the port (another suite's SIP listener or phone, in
 * CI) accepts the test's connection and says nothing. The script used to take
 * "the port accepts a connection" for "the phone is controllable", so the
 * first command failed 10 s later ("phone alice did not answer 'dial'", the
 * valgrind pass of sip-link under load). Here a silent listener holds
 * alice's control port before she starts (KAMAILIO_ALICE_CTRL_PORT): the
 * script must notice and start her again on a port of her own.
 */
#include <string.h>

#include <gio/gio.h>

#include "harness.h"

static const char *peer_script;

/* The address of this test's peer and its silent listener: its own, so no
 * other suite's ports mix with it. */
#define HOST "127.0.57.3"

/* "kamailio.sh ua DIR NAME COMMAND": the phone's answer, NULL when it failed
 * (g_free it). */
static char *phone_answer(harness_peer *peer, const char *who, const char *command)
{
    const char *argv[] = {"bash", peer_script, "ua", harness_peer_get(peer, "SIP_DIR"),
                          who,    command,     NULL};
    char *out = NULL, *err = NULL;
    int status = 0;
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               &err, &status, NULL));
    g_test_message("ua %s %s: %s%s", who, command, out, err);
    g_free(err);
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_free(out);
        return NULL;
    }
    return out;
}

static void test_ctrl_port_taken(void)
{
    /* a listener that accepts and never answers, like a SIP TCP listener */
    GError *error = NULL;
    GSocketListener *silent = g_socket_listener_new();
    GInetAddress *host = g_inet_address_new_from_string(HOST);
    GSocketAddress *any_port = g_inet_socket_address_new(host, 0), *bound = NULL;
    g_assert_true(g_socket_listener_add_address(silent, any_port, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error));
    g_assert_no_error(error);
    char *port =
        g_strdup_printf("%u", g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound)));
    /* before any thread exists: setenv is safe here */
    g_setenv("KAMAILIO_HOST", HOST, TRUE);
    g_setenv("KAMAILIO_ALICE_CTRL_PORT", port, TRUE);

    harness_peer *peer = harness_peer_start(peer_script, "SIP_DIR", NULL);
    if (peer == NULL)
        goto out;
    g_assert_cmpstr(harness_peer_get(peer, "SIP_HOST"), ==, HOST);
    /* she was started again elsewhere, and answers as herself */
    g_assert_cmpstr(harness_peer_get(peer, "SIP_ALICE_CTRL"), !=, port);
    char *answer = phone_answer(peer, "alice", "reginfo");
    g_assert_nonnull(answer);
    g_assert_nonnull(strstr(answer, "sip:alice@kamailio.test"));
    g_free(answer);
    answer = phone_answer(peer, "bob", "reginfo");
    g_assert_nonnull(answer);
    g_assert_nonnull(strstr(answer, "sip:bob@kamailio.test"));
    g_free(answer);
    harness_peer_stop(peer);
out:
    g_free(port);
    g_object_unref(bound);
    g_object_unref(any_port);
    g_object_unref(host);
    g_socket_listener_close(silent);
    g_object_unref(silent);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 2)
        g_error("usage: %s KAMAILIO_SH", argv[0]);
    peer_script = argv[1];
    g_test_add_func("/kamailio-peer/ctrl-port-taken", test_ctrl_port_taken);
    return g_test_run();
}
