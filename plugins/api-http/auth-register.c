/*
 * auth-register.c - puts the auth routes (auth-login.c) and `ucctl api`
 * (auth-commands.c) in place: api_auth_register of api-auth.h. A file of
 * its own so that the resolver, which both use, depends on neither.
 */
#include "auth-internal.h"

gboolean api_auth_register(api_auth *auth, api_router *router, GError **error)
{
    return auth_login_register(auth, router, error) && auth_commands_register(auth, error);
}
