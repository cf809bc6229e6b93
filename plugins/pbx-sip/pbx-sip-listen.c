/*
 * pbx-sip-listen.c - which local address the SIP stack listens on.
 *
 * The server sends its NOTIFYs to the Contact the stack puts in each
 * SUBSCRIBE, and the stack derives that Contact from the address it is bound
 * to. Binding the wildcard would leave the choice of Contact address to the
 * stack (any interface, perhaps one the server cannot reach); binding
 * loopback only works with a server on this host. So, unless the admin says
 * otherwise (`listen`), the driver binds the address this host uses to reach
 * the server: the local end of a UDP socket "connected" to it, which the
 * kernel picks from the routing table without sending anything.
 */
#include <string.h>

#include <gio/gio.h>

#include "pbx-sip.h"

/* "HOST", "HOST:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 literal -> a sofia
 * URL; no port means any free one ("*"). */
static char *uri_of_listen(const char *listen)
{
    if (listen[0] == '[')
        return strstr(listen, "]:") ? g_strconcat("sip:", listen, NULL)
                                    : g_strconcat("sip:", listen, ":*", NULL);
    const char *colon = strchr(listen, ':');
    if (colon == NULL)
        return g_strconcat("sip:", listen, ":*", NULL);
    if (strchr(colon + 1, ':') != NULL) /* more than one colon: a bare IPv6 address */
        return g_strdup_printf("sip:[%s]:*", listen);
    return g_strconcat("sip:", listen, NULL);
}

/* The local address the kernel would send from to reach `remote`, or NULL. */
static GInetAddress *local_address_to(GSocketAddress *remote)
{
    GInetAddress *local = NULL;
    GSocket *probe = g_socket_new(g_socket_address_get_family(remote), G_SOCKET_TYPE_DATAGRAM,
                                  G_SOCKET_PROTOCOL_UDP, NULL);
    /* connect() on UDP sends nothing: it only fixes the route. */
    if (probe != NULL && g_socket_connect(probe, remote, NULL, NULL)) {
        GSocketAddress *mine = g_socket_get_local_address(probe, NULL);
        if (mine != NULL) {
            local = g_object_ref(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(mine)));
            g_object_unref(mine);
        }
    }
    if (probe != NULL)
        g_object_unref(probe);
    return local;
}

/* The local address facing `server` (host:port): its addresses in turn (an
 * AAAA record without an IPv6 route does not end the search). A name is
 * resolved here, once, at start: an IP address, the usual case for a PBX,
 * needs no DNS. */
static GInetAddress *local_address_towards(const char *server, GError **error)
{
    GSocketConnectable *target = g_network_address_parse(server, 5060, error);
    if (target == NULL)
        return NULL;
    GSocketAddressEnumerator *addresses = g_socket_connectable_enumerate(target);
    GInetAddress *local = NULL;
    GError *last = NULL;
    GSocketAddress *remote;
    while (local == NULL &&
           (remote = g_socket_address_enumerator_next(addresses, NULL, &last)) != NULL) {
        local = local_address_to(remote);
        g_object_unref(remote);
    }
    if (local == NULL) {
        if (last != NULL)
            g_propagate_error(error, last);
        else
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no route to %s", server);
    } else if (last != NULL) {
        g_error_free(last);
    }
    g_object_unref(addresses);
    g_object_unref(target);
    return local;
}

char *sip_listen_uri(const char *listen, const char *server, GError **error)
{
    if (listen != NULL && *listen != '\0')
        return uri_of_listen(listen);
    GInetAddress *local = local_address_towards(server, error);
    if (local == NULL)
        return NULL;
    char *text = g_inet_address_to_string(local);
    char *uri = g_inet_address_get_family(local) == G_SOCKET_FAMILY_IPV6
                    ? g_strdup_printf("sip:[%s]:*", text)
                    : g_strdup_printf("sip:%s:*", text);
    g_free(text);
    g_object_unref(local);
    return uri;
}
