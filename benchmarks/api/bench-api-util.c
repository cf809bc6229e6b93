/*
 * bench-api-util.c - see bench-api-util.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench-api-util.h"

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
