/*
 * ldap-tls-diagnose.c - a second handshake that reads why the first failed
 * (ldap-tls-diagnose.h).
 *
 * It runs only after libldap's TLS failed, so it costs nothing while things
 * work. It trusts nothing: its only output is a sentence.
 */
#include <string.h>

#include <gio/gio.h>
#include <ldap.h>

#include "ldap-tls-diagnose.h"

/* The StartTLS extended request (RFC 4511 4.14.1), message id 1: a
 * SEQUENCE of the id and [APPLICATION 23] with requestName [0] = the OID. */
static const guint8 ul_starttls_request[] = {
    0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16, '1', '.', '3', '.', '6', '.', '1',
    '.',  '4',  '.',  '1',  '.',  '1',  '4',  '6',  '6',  '.', '2', '0', '0', '3', '7'};

/* Sends StartTLS and reads the answer: TRUE when its resultCode is 0. The
 * answer is small (a few dozen bytes): one read, then a check of the code,
 * which follows the message id and the [APPLICATION 24] tag. */
static gboolean ul_start_tls(GIOStream *stream)
{
    GOutputStream *out = g_io_stream_get_output_stream(stream);
    GInputStream *in = g_io_stream_get_input_stream(stream);
    if (!g_output_stream_write_all(out, ul_starttls_request, sizeof ul_starttls_request, NULL, NULL,
                                   NULL))
        return FALSE;
    guint8 answer[256];
    gssize n = g_input_stream_read(in, answer, sizeof answer, NULL, NULL);
    /* 30 LL 02 01 01 78 LL 0a 01 CODE ... (short lengths: a server answering
     * StartTLS with a long form here would be unusual; then no diagnosis) */
    return n >= 10 && answer[0] == 0x30 && answer[2] == 0x02 && answer[5] == 0x78 &&
           answer[7] == 0x0a && answer[8] == 0x01 && answer[9] == 0;
}

static gboolean ul_on_certificate(GTlsConnection *connection, GTlsCertificate *certificate,
                                  GTlsCertificateFlags errors, gpointer data)
{
    *(GTlsCertificateFlags *)data = errors;
    return FALSE;
}

static char *ul_certificate_faults(GTlsCertificateFlags errors, const char *host,
                                   const char *ca_file)
{
    GString *text = g_string_new(NULL);
    if (errors & G_TLS_CERTIFICATE_UNKNOWN_CA)
        g_string_append_printf(text, "; the server's certificate is not signed by a CA %s%s",
                               ca_file != NULL ? "of ca_file " : "the system trusts",
                               ca_file != NULL ? ca_file : "");
    if (errors & G_TLS_CERTIFICATE_BAD_IDENTITY)
        g_string_append_printf(text,
                               "; the server's certificate is not for \"%s\" (the host of the "
                               "URI must be a name or address the certificate names)",
                               host);
    if (errors & G_TLS_CERTIFICATE_EXPIRED)
        g_string_append(text, "; the server's certificate has expired");
    if (errors & G_TLS_CERTIFICATE_NOT_ACTIVATED)
        g_string_append(text, "; the server's certificate is not valid yet");
    if (errors & G_TLS_CERTIFICATE_REVOKED)
        g_string_append(text, "; the server's certificate has been revoked");
    if (errors & G_TLS_CERTIFICATE_INSECURE)
        g_string_append(text, "; the server's certificate uses an insecure algorithm");
    if (text->len == 0)
        g_string_append(text, "; the server's certificate was not accepted");
    g_string_erase(text, 0, 2);
    return g_string_free(text, FALSE);
}

char *ul_tls_diagnose(const char *uri, const char *ca_file, int timeout_s)
{
    LDAPURLDesc *url = NULL;
    if (ldap_url_parse(uri, &url) != LDAP_URL_SUCCESS)
        return NULL;
    gboolean ldaps = g_ascii_strcasecmp(url->lud_scheme, "ldaps") == 0;
    char *host =
        g_strdup(url->lud_host != NULL && *url->lud_host != '\0' ? url->lud_host : "localhost");
    guint16 port = (guint16)(url->lud_port > 0 ? url->lud_port : ldaps ? 636 : 389);
    ldap_free_urldesc(url);

    char *result = NULL;
    GError *error = NULL;
    GSocketClient *client = g_socket_client_new();
    g_socket_client_set_timeout(client, (guint)timeout_s);
    GSocketConnection *tcp = g_socket_client_connect_to_host(client, host, port, NULL, NULL);
    GTlsDatabase *database = ca_file != NULL ? g_tls_file_database_new(ca_file, NULL) : NULL;
    GSocketConnectable *identity = g_network_address_new(host, port);
    GIOStream *tls = NULL;
    if (tcp != NULL && (ldaps || ul_start_tls(G_IO_STREAM(tcp))))
        tls = g_tls_client_connection_new(G_IO_STREAM(tcp), identity, NULL);
    if (tls != NULL) {
        GTlsCertificateFlags faults = 0;
        if (database != NULL)
            g_tls_connection_set_database(G_TLS_CONNECTION(tls), database);
        g_signal_connect(tls, "accept-certificate", G_CALLBACK(ul_on_certificate), &faults);
        if (!g_tls_connection_handshake(G_TLS_CONNECTION(tls), NULL, &error)) {
            if (faults != 0)
                result = ul_certificate_faults(faults, host, ca_file);
            else if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
                result = g_strdup_printf("the TLS handshake got no answer within %d s", timeout_s);
            else
                result = g_strdup_printf("the TLS handshake failed: %s", error->message);
        }
        g_clear_error(&error);
        g_object_unref(tls);
    }
    g_clear_object(&database);
    g_object_unref(identity);
    g_clear_object(&tcp);
    g_object_unref(client);
    g_free(host);
    return result;
}
