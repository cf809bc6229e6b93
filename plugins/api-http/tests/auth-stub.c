/*
 * auth-stub.c - the auth gate's resolver for the unit tests of the router
 * and the calls: a few fixed tokens instead of the sessions store, so the
 * tests reach every branch of the gate without logging in. Linked before
 * the plugin's library, so auth-resolve.o is not taken from it.
 */
#include <string.h>

#include "api-auth.h"

gboolean api_auth_resolve(api_auth *auth, const char *token, const char *address,
                          api_principal *out, const char **code, char **message)
{
    (void)auth;
    memset(out, 0, sizeof *out);
    static const struct {
        const char *token, *user, *login;
        guint role;
    } users[] = {
        {"tok-user", "u:carol", "carol", UCD_HTTP_ROLE_USER},
        {"tok-leader", "u:bob", "bob", UCD_HTTP_ROLE_LEADER},
        {"tok-admin", "u:alice", "alice", UCD_HTTP_ROLE_ADMIN},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(users); i++) {
        if (strcmp(token, users[i].token) != 0)
            continue;
        out->role = users[i].role;
        out->user_id = g_strdup(users[i].user);
        out->login = g_strdup(users[i].login);
        out->session_id = g_strdup("s1");
        out->address = g_strdup(address);
        return TRUE;
    }
    if (strcmp(token, "tok-key") == 0) {
        const char *scopes[] = {"things:read", NULL};
        const char *listed[] = {"u:dave", NULL};
        out->role = UCD_HTTP_ROLE_USER;
        out->key_name = g_strdup("crm");
        out->scopes = g_strdupv((char **)scopes);
        out->users = g_strdupv((char **)listed);
        out->address = g_strdup(address);
        return TRUE;
    }
    if (strcmp(token, "tok-expired") == 0) {
        *code = API_ERR_TOKEN_EXPIRED;
        *message = g_strdup("the token expired");
        return FALSE;
    }
    *code = API_ERR_UNAUTHENTICATED;
    *message = g_strdup("unknown token");
    return FALSE;
}
