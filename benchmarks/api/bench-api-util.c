/*
 * bench-api-util.c - see bench-api-util.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string.h>

#include "bench-api-util.h"
#include "harness.h"

int bench_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    close(fd);
    return ntohs(sa.sin_port);
}

char *bench_load_text(void)
{
    char *text = NULL;
    if (!g_file_get_contents("/proc/loadavg", &text, NULL, NULL))
        return g_strdup("?");
    char **f = g_strsplit(g_strstrip(text), " ", 4);
    char *load =
        g_strv_length(f) >= 3 ? g_strdup_printf("%s %s %s", f[0], f[1], f[2]) : g_strdup(text);
    g_strfreev(f);
    g_free(text);
    return load;
}

char *bench_write_users(const char *dir, int first, int count, const char *hash,
                        const char *admin_group, char **lines)
{
    GString *xml = g_string_new("<?xml version='1.0' encoding='UTF-8'?>\n"
                                "<users xmlns='urn:ucd:users:1'>\n");
    GString *list = g_string_new(NULL);
    if (admin_group != NULL)
        g_string_append_printf(xml, "<group id='%s'/>\n", admin_group);
    for (int i = first; i < first + count; i++) {
        g_string_append_printf(xml,
                               "<user id='file:u%d'><login>u%d</login><password>%s</password>"
                               "<displayName>User %d</displayName>"
                               "<phone>+49 89 452133-%d</phone>",
                               i, i, hash, i, i);
        if (admin_group != NULL && i == first)
            g_string_append_printf(xml, "<memberOf>%s</memberOf>", admin_group);
        g_string_append_printf(xml, "<line>%d</line></user>\n", i);
        g_string_append_printf(list, "%s%d", list->len ? ";" : "", i);
    }
    g_string_append(xml, "</users>\n");
    char *path = g_build_filename(dir, "users.xml", NULL);
    g_assert_true(g_file_set_contents(path, xml->str, -1, NULL));
    g_string_free(xml, TRUE);
    *lines = g_string_free(list, FALSE);
    return path;
}

static int cmp_gint64(gconstpointer a, gconstpointer b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return x < y ? -1 : x > y;
}

void bench_sort_us(GArray *us)
{
    g_array_sort(us, cmp_gint64);
}

double bench_percentile_ms(GArray *sorted, double p)
{
    if (sorted->len == 0)
        return 0;
    return g_array_index(sorted, gint64, (guint)(p * (sorted->len - 1))) / 1000.0;
}

/* One request with libsoup (setting up, not measured): the body, or a
 * failure naming the request. */
GBytes *bench_fetch(SoupSession *session, const char *method, const char *url, const char *token,
                    const char *json)
{
    SoupMessage *msg = soup_message_new(method, url);
    if (token != NULL) {
        char *auth = g_strdup_printf("Bearer %s", token);
        soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", auth);
        g_free(auth);
    }
    if (json != NULL) {
        GBytes *req = g_bytes_new(json, strlen(json));
        soup_message_set_request_body_from_bytes(msg, "application/json", req);
        g_bytes_unref(req);
    }
    GError *error = NULL;
    GBytes *resp = soup_session_send_and_read(session, msg, NULL, &error);
    g_assert_no_error(error);
    if (soup_message_get_status(msg) != 200)
        g_error("%s %s: HTTP %u: %.*s", method, url, soup_message_get_status(msg),
                (int)g_bytes_get_size(resp), (const char *)g_bytes_get_data(resp, NULL));
    g_object_unref(msg);
    return resp;
}

JsonObject *bench_parse_object(GBytes *bytes, JsonNode **root)
{
    GError *error = NULL;
    *root = json_from_string(g_bytes_get_data(bytes, NULL), &error);
    g_assert_no_error(error);
    return json_node_get_object(*root);
}

char *bench_login(SoupSession *session, int port, int user, const char *password)
{
    char *url = g_strdup_printf("http://127.0.0.1:%d/api/v1/auth/login", port);
    char *body = g_strdup_printf("{\"login\":\"u%d\",\"password\":\"%s\"}", user, password);
    GBytes *resp = bench_fetch(session, "POST", url, NULL, body);
    JsonNode *root = NULL;
    char *token =
        g_strdup(json_object_get_string_member(bench_parse_object(resp, &root), "access_token"));
    json_node_unref(root);
    g_bytes_unref(resp);
    g_free(body);
    g_free(url);
    return token;
}

/* libsoup alone (bench-soup-static) serving `file` on its own port: the
 * ceiling of a server on libsoup's one main loop. */
GSubprocess *bench_start_soup_static(const char *file, int *port)
{
    *port = bench_free_port();
    char *port_text = g_strdup_printf("%d", *port);
    GError *err = NULL;
    GSubprocess *p = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &err,
                                      harness_env("UCD_SOUP_STATIC_BIN"), port_text, file, NULL);
    g_assert_no_error(err);
    GDataInputStream *out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(p));
    char *line = g_data_input_stream_read_line_utf8(out, NULL, NULL, NULL);
    if (g_strcmp0(line, "ready") != 0)
        g_error("bench-soup-static did not start (it said \"%s\")", line ? line : "");
    g_free(line);
    g_object_unref(out);
    g_free(port_text);
    return p;
}
