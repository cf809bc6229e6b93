/*
 * test-api-tls.c - api-http over HTTPS in the real ucd, with certificates
 * made by openssl in the test: the configured certificate is the one
 * served; TLS 1.1 is refused while TLS 1.2 is taken (openssl s_client);
 * after SIGHUP the reload hook serves a renewed certificate to new
 * connections; a key that does not belong to the certificate fails init
 * with a message naming private_key and both files; a client_ca makes the
 * server ask for client certificates and refuse one from another CA.
 */
#include <string.h>

#include <glib/gstdio.h>

#include "api-util.h"

typedef struct tls_files {
    char *dir;
    char *cert, *key;
} tls_files;

/* Runs a program; TRUE when it exits 0. Its output into *out (may be NULL). */
static gboolean run(const char *const *argv, const char *input, char **out)
{
    GError *error = NULL;
    GSubprocess *p =
        g_subprocess_newv(argv,
                          G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                              G_SUBPROCESS_FLAGS_STDERR_MERGE,
                          &error);
    g_assert_no_error(error);
    char *text = NULL;
    g_assert_true(g_subprocess_communicate_utf8(p, input ? input : "", NULL, &text, NULL, &error));
    g_assert_no_error(error);
    gboolean ok = g_subprocess_get_if_exited(p) && g_subprocess_get_exit_status(p) == 0;
    if (out)
        *out = text;
    else
        g_free(text);
    g_object_unref(p);
    return ok;
}

/* A self-signed certificate for 127.0.0.1 (CN `name`) and its key, in `dir`
 * as NAME.pem and NAME.key. */
static tls_files make_cert(const char *dir, const char *name)
{
    tls_files f = {g_strdup(dir), g_strdup_printf("%s/%s.pem", dir, name),
                   g_strdup_printf("%s/%s.key", dir, name)};
    char *subject = g_strdup_printf("/CN=%s", name);
    const char *argv[] = {"openssl",
                          "req",
                          "-x509",
                          "-newkey",
                          "ec",
                          "-pkeyopt",
                          "ec_paramgen_curve:prime256v1",
                          "-nodes",
                          "-keyout",
                          f.key,
                          "-out",
                          f.cert,
                          "-days",
                          "2",
                          "-subj",
                          subject,
                          "-addext",
                          "subjectAltName=IP:127.0.0.1",
                          NULL};
    char *out = NULL;
    if (!run(argv, NULL, &out))
        g_error("openssl req: %s", out);
    g_free(out);
    g_free(subject);
    return f;
}

static void files_clear(tls_files *f)
{
    g_free(f->dir);
    g_free(f->cert);
    g_free(f->key);
}

/* GET https://127.0.0.1:PORT/api/v1/health trusting `ca` only: the status
 * (0 when the handshake failed) and the certificate seen. */
static guint get_health(guint16 port, const char *ca, GTlsCertificate **seen,
                        GTlsCertificate *client)
{
    GError *error = NULL;
    GTlsDatabase *db = g_tls_file_database_new(ca, &error);
    g_assert_no_error(error);
    SoupSession *session = soup_session_new_with_options("tls-database", db, "timeout", 20, NULL);
    char *url = g_strdup_printf("https://127.0.0.1:%u/api/v1/health", port);
    SoupMessage *msg = soup_message_new("GET", url);
    if (client)
        soup_message_set_tls_client_certificate(msg, client);
    GBytes *body = soup_session_send_and_read(session, msg, NULL, &error);
    guint status = body ? soup_message_get_status(msg) : 0;
    if (seen)
        *seen = body ? g_object_ref(soup_message_get_tls_peer_certificate(msg)) : NULL;
    if (body)
        g_bytes_unref(body);
    g_clear_error(&error);
    g_object_unref(msg);
    g_object_unref(session);
    g_object_unref(db);
    g_free(url);
    return status;
}

static gboolean same_cert(GTlsCertificate *seen, const char *path)
{
    GTlsCertificate *file = g_tls_certificate_new_from_file(path, NULL);
    gboolean same = seen && file && g_tls_certificate_is_same(seen, file);
    g_clear_object(&file);
    return same;
}

static api_env *start_https(const tls_files *f, guint16 port, const char *more)
{
    char *extra = g_strdup_printf("https_listen = 127.0.0.1:%u\ncertificate = %s\n"
                                  "private_key = %s\n%s",
                                  port, f->cert, f->key, more ? more : "");
    api_env *e = api_env_start(extra);
    g_free(extra);
    return e;
}

/* `openssl s_client` with one protocol version: TRUE when a session was
 * made. */
static gboolean handshake(guint16 port, const char *version)
{
    char *connect = g_strdup_printf("127.0.0.1:%u", port);
    /* SECLEVEL=0: this openssl would not even offer TLS 1.1 otherwise, and
     * the test is about what the server takes */
    const char *argv[] = {"openssl", "s_client", "-connect",           connect,
                          version,   "-cipher",  "DEFAULT@SECLEVEL=0", NULL};
    char *out = NULL;
    gboolean ok = run(argv, "Q\n", &out);
    gboolean session = ok && strstr(out, "Cipher is (NONE)") == NULL &&
                       strstr(out, "-----BEGIN CERTIFICATE-----") != NULL;
    g_free(out);
    g_free(connect);
    return session;
}

static void test_served_and_versions(void)
{
    char *dir = g_dir_make_tmp("api-tls-XXXXXX", NULL);
    tls_files f = make_cert(dir, "first");
    guint16 port = api_free_port();
    api_env *e = start_https(&f, port, NULL);

    GTlsCertificate *seen = NULL;
    g_assert_cmpuint(get_health(port, f.cert, &seen, NULL), ==, 200);
    g_assert_true(same_cert(seen, f.cert));
    g_clear_object(&seen);

    /* a client that trusts another CA fails the handshake */
    tls_files other = make_cert(dir, "other");
    g_assert_cmpuint(get_health(port, other.cert, NULL, NULL), ==, 0);

    g_assert_true(handshake(port, "-tls1_2"));
    g_assert_false(handshake(port, "-tls1_1"));
    g_assert_false(handshake(port, "-tls1"));

    /* plain HTTP on the HTTPS port is no way in */
    char *url = g_strdup_printf("http://127.0.0.1:%u/api/v1/health", port);
    SoupSession *plain = soup_session_new_with_options("timeout", 10, NULL);
    SoupMessage *msg = soup_message_new("GET", url);
    GBytes *b = soup_session_send_and_read(plain, msg, NULL, NULL);
    g_assert_true(b == NULL || soup_message_get_status(msg) != 200);
    if (b)
        g_bytes_unref(b);
    g_object_unref(msg);
    g_object_unref(plain);
    g_free(url);

    api_env_stop(e);
    files_clear(&other);
    files_clear(&f);
    g_free(dir);
}

static void replace_file(const char *from, const char *to)
{
    char *text = NULL;
    gsize n = 0;
    g_assert_true(g_file_get_contents(from, &text, &n, NULL));
    g_assert_true(g_file_set_contents(to, text, (gssize)n, NULL));
    g_free(text);
}

static void test_reload(void)
{
    char *dir = g_dir_make_tmp("api-tls-XXXXXX", NULL);
    tls_files f = make_cert(dir, "served");
    guint16 port = api_free_port();
    api_env *e = start_https(&f, port, NULL);
    harness *h = api_env_harness(e);

    /* renewed: the same paths, a new certificate */
    tls_files renewed = make_cert(dir, "renewed");
    replace_file(renewed.cert, f.cert);
    replace_file(renewed.key, f.key);
    harness_signal(h, SIGHUP);
    g_assert_true(harness_wait_log(h, "read again"));
    GTlsCertificate *seen = NULL;
    g_assert_cmpuint(get_health(port, renewed.cert, &seen, NULL), ==, 200);
    g_assert_true(same_cert(seen, renewed.cert));
    g_clear_object(&seen);

    /* a broken renewal keeps the old one, and says why */
    g_assert_true(g_file_set_contents(f.key, "not a key\n", -1, NULL));
    const char *reload[] = {"reload", NULL};
    JsonNode *r = harness_request(h, reload);
    char *text = json_to_string(r, FALSE);
    json_node_free(r);
    g_assert_nonnull(strstr(text, "keeping the old certificate"));
    g_assert_nonnull(strstr(text, "private_key"));
    g_free(text);
    g_assert_cmpuint(get_health(port, renewed.cert, &seen, NULL), ==, 200);
    g_assert_true(same_cert(seen, renewed.cert));
    g_clear_object(&seen);
    /* the next start must find a good pair again */
    replace_file(renewed.key, f.key);

    api_env_stop(e);
    files_clear(&renewed);
    files_clear(&f);
    g_free(dir);
}

static void test_wrong_key(void)
{
    char *dir = g_dir_make_tmp("api-tls-XXXXXX", NULL);
    tls_files f = make_cert(dir, "cert");
    tls_files other = make_cert(dir, "other");
    char *extra = g_strdup_printf("https_listen = 127.0.0.1:%u\ncertificate = %s\n"
                                  "private_key = %s\n",
                                  api_free_port(), f.cert, other.key);
    api_env *e = api_env_new(extra);
    harness *h = api_env_harness(e);
    g_assert_true(harness_wait_state(h, "api-http", "failed"));
    const char *modules[] = {"modules", NULL};
    JsonNode *r = harness_request(h, modules);
    const char *error = harness_cell(r, "api-http", "error");
    char *expected =
        g_strdup_printf("private_key %s does not belong to certificate %s", other.key, f.cert);
    if (error == NULL || strstr(error, expected) == NULL)
        g_error("error \"%s\", expected \"%s\"", error ? error : "(none)", expected);
    json_node_free(r);
    char *log = harness_log(h);
    g_assert_nonnull(strstr(log, "private_key"));
    g_free(log);
    api_env_stop(e);
    g_free(expected);
    g_free(extra);

    /* https_listen without a certificate: the key is named */
    extra = g_strdup_printf("https_listen = 127.0.0.1:%u\n", api_free_port());
    e = api_env_new(extra);
    h = api_env_harness(e);
    g_assert_true(harness_wait_state(h, "api-http", "failed"));
    log = harness_log(h);
    g_assert_nonnull(strstr(log, "certificate: is needed for https_listen"));
    g_free(log);
    api_env_stop(e);
    g_free(extra);
    files_clear(&other);
    files_clear(&f);
    g_free(dir);
}

/* A CA and a client certificate it signed, in `dir`. */
static void make_client(const char *dir, char **ca, char **client_pem)
{
    tls_files authority = make_cert(dir, "ca"); /* self-signed: a CA (CA:TRUE) */
    *ca = g_strdup(authority.cert);
    char *key = g_strdup_printf("%s/client.key", dir);
    char *csr = g_strdup_printf("%s/client.csr", dir);
    char *cert = g_strdup_printf("%s/client.pem", dir);
    const char *request[] = {
        "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key,   "-out",    csr,  "-subj",    "/CN=crm.example.com",          NULL};
    const char *sign[] = {"openssl", "x509",         "-req",   "-in",         csr,
                          "-CA",     authority.cert, "-CAkey", authority.key, "-CAcreateserial",
                          "-out",    cert,           "-days",  "2",           NULL};
    g_assert_true(run(request, NULL, NULL));
    g_assert_true(run(sign, NULL, NULL));
    /* key and certificate in one file, as GTlsCertificate reads them */
    char *k = NULL, *p = NULL;
    g_assert_true(g_file_get_contents(key, &k, NULL, NULL));
    g_assert_true(g_file_get_contents(cert, &p, NULL, NULL));
    *client_pem = g_strdup_printf("%s/client-both.pem", dir);
    char *both = g_strconcat(p, k, NULL);
    g_assert_true(g_file_set_contents(*client_pem, both, -1, NULL));
    g_free(both);
    g_free(k);
    g_free(p);
    g_free(key);
    g_free(csr);
    g_free(cert);
    files_clear(&authority);
}

static void test_client_ca(void)
{
    char *dir = g_dir_make_tmp("api-tls-XXXXXX", NULL);
    tls_files f = make_cert(dir, "server");
    char *ca = NULL, *client_pem = NULL;
    make_client(dir, &ca, &client_pem);
    tls_files stranger = make_cert(dir, "stranger");
    guint16 port = api_free_port();
    char *more = g_strdup_printf("client_ca = %s\n", ca);
    api_env *e = start_https(&f, port, more);

    /* asked, not required: no certificate is fine, the token decides */
    g_assert_cmpuint(get_health(port, f.cert, NULL, NULL), ==, 200);
    GError *error = NULL;
    GTlsCertificate *mine = g_tls_certificate_new_from_file(client_pem, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(get_health(port, f.cert, NULL, mine), ==, 200);
    /* one the CA did not sign is refused in the handshake */
    char *both = g_strdup_printf("%s/stranger-both.pem", dir);
    char *k = NULL, *p = NULL;
    g_assert_true(g_file_get_contents(stranger.key, &k, NULL, NULL));
    g_assert_true(g_file_get_contents(stranger.cert, &p, NULL, NULL));
    char *text = g_strconcat(p, k, NULL);
    g_assert_true(g_file_set_contents(both, text, -1, NULL));
    GTlsCertificate *strange = g_tls_certificate_new_from_file(both, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(get_health(port, f.cert, NULL, strange), ==, 0);
    g_object_unref(strange);
    g_object_unref(mine);
    api_env_stop(e);
    g_free(text);
    g_free(k);
    g_free(p);
    g_free(both);
    g_free(more);
    g_free(ca);
    g_free(client_pem);
    files_clear(&stranger);
    files_clear(&f);
    g_free(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api/tls/served-and-versions", test_served_and_versions);
    g_test_add_func("/api/tls/reload", test_reload);
    g_test_add_func("/api/tls/wrong-key", test_wrong_key);
    g_test_add_func("/api/tls/client-ca", test_client_ca);
    return g_test_run();
}
