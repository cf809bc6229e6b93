/*
 * ami-test-client.c - a plain AMI client for tests (see ami-test-client.h).
 */
#include "ami-test-client.h"

#include <string.h>

static void on_banner(const char *line, void *user_data)
{
    ami_test_client *c = user_data;
    g_free(c->banner);
    c->banner = g_strdup(line);
}

static void on_message(pami_message *m, void *user_data)
{
    ami_test_client *c = user_data;
    g_ptr_array_add(c->messages, pami_message_ref(m));
}

ami_test_client *ami_test_client_new(GMainContext *context, guint16 port)
{
    ami_test_client *c = g_new0(ami_test_client, 1);
    c->context = context;
    c->messages = g_ptr_array_new_with_free_func((GDestroyNotify)pami_message_unref);
    pami_parse_callbacks cb = {.banner = on_banner, .message = on_message, .user_data = c};
    c->parser = pami_parser_new(&cb, TRUE, 0, 0);
    g_autoptr(GSocketClient) client = g_socket_client_new();
    GError *error = NULL;
    c->conn = g_socket_client_connect_to_host(client, "127.0.0.1", port, NULL, &error);
    g_assert_no_error(error);
    g_socket_set_blocking(g_socket_connection_get_socket(c->conn), FALSE);
    return c;
}

void ami_test_client_free(ami_test_client *c)
{
    if (c == NULL) {
        return;
    }
    GMainContext *context = c->context;
    g_object_unref(c->conn);
    pami_parser_free(c->parser);
    g_ptr_array_unref(c->messages);
    g_free(c->banner);
    g_free(c);
    /* let the peer notice the close */
    for (int i = 0; i < 20; i++) {
        g_main_context_iteration(context, FALSE);
    }
}

void ami_test_client_send(ami_test_client *c, const char *wire)
{
    GSocket *socket = g_socket_connection_get_socket(c->conn);
    gsize len = strlen(wire), done = 0;
    while (done < len) {
        GError *error = NULL;
        gssize n = g_socket_send(socket, wire + done, len - done, NULL, &error);
        if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            g_clear_error(&error);
            g_main_context_iteration(c->context, FALSE);
            continue;
        }
        g_assert_no_error(error);
        done += (gsize)n;
    }
}

/* One round: lets the peer run, then reads what is there. */
static void pump(ami_test_client *c)
{
    while (g_main_context_iteration(c->context, FALSE)) {
    }
    GSocket *socket = g_socket_connection_get_socket(c->conn);
    char buf[8192];
    while (!c->closed) {
        GError *error = NULL;
        gssize n = g_socket_receive(socket, buf, sizeof buf, NULL, &error);
        if (n < 0) {
            gboolean later = g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
            c->closed = !later;
            g_error_free(error);
            return;
        }
        c->closed = n == 0;
        pami_parser_feed(c->parser, buf, (gsize)n);
    }
}

guint ami_test_client_wait(ami_test_client *c, guint count, guint max_ms)
{
    gint64 limit = g_get_monotonic_time() + (gint64)max_ms * 1000;
    pump(c);
    while (c->messages->len < count && !c->closed && g_get_monotonic_time() < limit) {
        g_usleep(1000);
        pump(c);
    }
    return c->messages->len;
}

void ami_test_client_idle(ami_test_client *c, guint ms)
{
    gint64 limit = g_get_monotonic_time() + (gint64)ms * 1000;
    while (!c->closed && g_get_monotonic_time() < limit) {
        g_usleep(1000);
        pump(c);
    }
}
