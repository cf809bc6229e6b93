/*
 * api-address.c - who the client is, by address (api-address.h).
 */
#include "api-address.h"

static gboolean trusted(const api_config *config, const char *address)
{
    return address && config->trusted_proxies && g_strv_contains(config->trusted_proxies, address);
}

char *api_client_address(const api_config *config, SoupServerMessage *msg)
{
    const char *peer = soup_server_message_get_remote_host(msg);
    if (!trusted(config, peer))
        return g_strdup(peer);
    const char *xff = soup_message_headers_get_list(soup_server_message_get_request_headers(msg),
                                                    "X-Forwarded-For");
    if (xff == NULL)
        return g_strdup(peer);
    /* Right to left: each proxy appends the address it saw, so the first
     * one not ours is the client as far as we can believe. */
    char **hops = g_strsplit(xff, ",", -1);
    char *found = NULL;
    for (guint i = g_strv_length(hops); i-- > 0 && found == NULL;) {
        const char *hop = g_strstrip(hops[i]);
        GInetAddress *a = g_inet_address_new_from_string(hop);
        if (a == NULL)
            break; /* garbage: believe no further */
        g_object_unref(a);
        if (!trusted(config, hop) || i == 0)
            found = g_strdup(hop);
    }
    g_strfreev(hops);
    return found ? found : g_strdup(peer);
}
