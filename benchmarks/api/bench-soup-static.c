/*
 * bench-soup-static.c - libsoup alone, the ceiling of any server built on
 * it: a SoupServer on one main loop that answers every GET with the bytes
 * of one file, held in memory, and nothing else (no routing, no auth, no
 * JSON). bench-api-rest runs it beside ucd and nginx, so the figures say how
 * much of the distance to nginx is libsoup's own cost per request (its
 * message objects and I/O sources on GLib's loop) and how much is ucd's.
 *
 *   bench-soup-static PORT FILE
 *
 * Listens on 127.0.0.1:PORT with a backlog of 4096, as api-http does (GLib's
 * default is 10), and prints "ready" once it accepts.
 */
#include <stdio.h>
#include <stdlib.h>

#include <gio/gio.h>
#include <libsoup/soup.h>

static void answer(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                   gpointer data)
{
    GBytes *body = data;
    soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Content-Type",
                                 "application/json");
    soup_message_body_append_bytes(soup_server_message_get_response_body(msg), body);
}

int main(int argc, char **argv)
{
    if (argc != 3 || atoi(argv[1]) <= 0) {
        fprintf(stderr, "usage: bench-soup-static PORT FILE\n");
        return 2;
    }
    GError *err = NULL;
    GMappedFile *file = g_mapped_file_new(argv[2], FALSE, &err);
    if (file == NULL) {
        fprintf(stderr, "bench-soup-static: %s\n", err->message);
        return 1;
    }
    GBytes *body = g_mapped_file_get_bytes(file);

    GSocket *sock =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &err);
    GInetAddress *loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *addr = g_inet_socket_address_new(loopback, (guint16)atoi(argv[1]));
    g_socket_set_listen_backlog(sock, 4096);
    if (sock == NULL || !g_socket_bind(sock, addr, TRUE, &err) || !g_socket_listen(sock, &err)) {
        fprintf(stderr, "bench-soup-static: 127.0.0.1:%s: %s\n", argv[1], err->message);
        return 1;
    }
    SoupServer *server = soup_server_new(NULL, NULL);
    soup_server_add_handler(server, NULL, answer, body, NULL);
    if (!soup_server_listen_socket(server, sock, 0, &err)) {
        fprintf(stderr, "bench-soup-static: %s\n", err->message);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    g_main_loop_run(loop); /* until the bench kills it */
    return 0;
}
