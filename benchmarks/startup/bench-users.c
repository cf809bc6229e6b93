/*
 * bench-users.c - the generated users file of the start-up benchmark
 * (bench-users.h).
 */
#include "bench-users.h"

#define BENCH_GROUPS 50

gboolean bench_write_users(const char *path, unsigned count, GError **error)
{
    GString *xml = g_string_sized_new((gsize)count * 600);
    g_string_append(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                         "<users xmlns=\"urn:ucd:users:1\">\n");
    for (unsigned g = 0; g < BENCH_GROUPS; g++)
        g_string_append_printf(xml,
                               "  <group id=\"file:g%u\">\n    <name>Team %u</name>\n"
                               "    <description>Generated team %u</description>\n  </group>\n",
                               g, g, g);
    for (unsigned i = 0; i < count; i++)
        g_string_append_printf(xml,
                               "  <user id=\"file:u%06u\">\n"
                               "    <login>user.%06u</login>\n"
                               "    <displayName>Jürgen Müller-%06u</displayName>\n"
                               "    <givenName>Jürgen</givenName>\n"
                               "    <surname>Müller-%06u</surname>\n"
                               "    <email>user.%06u@example.com</email>\n"
                               "    <department>Department %u</department>\n"
                               "    <title>Clerk</title>\n"
                               "    <phone type=\"work\">+49 89 4521%06u</phone>\n"
                               "    <phone type=\"mobile\">+49 160 99%06u</phone>\n"
                               "    <memberOf>file:g%u</memberOf>\n"
                               "    <memberOf>file:g%u</memberOf>\n"
                               "    <line>%u</line>\n"
                               "  </user>\n",
                               i, i, i, i, i, i % 40, i, i, i % BENCH_GROUPS,
                               (i + 7) % BENCH_GROUPS, 100000 + i);
    g_string_append(xml, "</users>\n");
    gboolean ok = g_file_set_contents(path, xml->str, (gssize)xml->len, error);
    g_string_free(xml, TRUE);
    return ok;
}
