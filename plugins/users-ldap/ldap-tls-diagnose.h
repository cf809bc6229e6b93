/*
 * ldap-tls-diagnose.h - why a TLS handshake with an LDAP server fails, in a
 * sentence an admin can act on.
 *
 * libldap (built with GnuTLS on Debian) reports every TLS failure as "Can't
 * contact LDAP server ((unknown error code))": an unknown CA, a certificate
 * for another name and an expired one read the same. After such a failure the
 * plugin repeats the handshake here, with GIO's TLS (the same CA file, host
 * name and timeout), only to read the certificate's faults.
 */
#ifndef USERS_LDAP_TLS_DIAGNOSE_H
#define USERS_LDAP_TLS_DIAGNOSE_H

#include <glib.h>

/* Connects to `uri` (ldaps://, or ldap:// followed by StartTLS), shakes
 * hands trusting `ca_file` (NULL: the system's CAs) within `timeout_s`, and
 * returns what is wrong with the server's certificate ("the server's
 * certificate has expired"), what failed otherwise, or NULL when the
 * handshake succeeds or the server cannot be reached at all. g_free. */
char *ul_tls_diagnose(const char *uri, const char *ca_file, int timeout_s);

#endif /* USERS_LDAP_TLS_DIAGNOSE_H */
