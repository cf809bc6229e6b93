/*
 * bench-e2e.c - calls per second through the whole daemon: pbx-sim makes N
 * complete calls at once (`sim burst N`: every leg's events published on the
 * bus, 256 calls per main-loop turn as a real PBX link delivers), the model
 * turns them into conversations and presence, and journal-sqlite commits them.
 * The clock runs from the burst command until the journal's `stored` counter
 * reaches the number of calls the burst made, so the figure includes the
 * database. Events the bus dropped are reported: they would be lost calls.
 *
 *   bench-e2e [CALLS]       (default 100000; env as for the e2e tests)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static long counter(harness *h, const char *name)
{
    const char *argv[] = {"counters", NULL};
    JsonNode *r = harness_ok(h, argv);
    const char *v = harness_cell(r, name, "value");
    long n = v ? atol(v) : -1;
    json_node_free(r);
    return n;
}

static long sim_stat(harness *h, const char *name)
{
    const char *argv[] = {"sim-office", "stats", NULL};
    JsonNode *r = harness_ok(h, argv);
    JsonArray *fields = json_object_get_array_member(json_node_get_object(r), "fields");
    long n = -1;
    for (guint i = 0; i < json_array_get_length(fields); i++) {
        JsonObject *f = json_array_get_object_element(fields, i);
        if (strcmp(json_object_get_string_member(f, "name"), name) == 0)
            n = atol(json_object_get_string_member(f, "value"));
    }
    json_node_free(r);
    return n;
}

static double run(long calls, const char *users_xml)
{
    harness *h = harness_new(NULL);
    char *users = g_build_filename(h->dir, "users.xml", NULL);
    g_assert_true(g_file_set_contents(users, users_xml, -1, NULL));
    char *body = g_strdup_printf("[log]\nlevel = warning\n"
                                 "[location default]\ncountry_code = 49\narea_code = 89\n"
                                 "extension_lengths = 3\n"
                                 "[module pbx-sim:office]\n"
                                 "lines = 201;202;203;204;205;206;207;208;209;210\n"
                                 "[module users-file]\nfile = %s\n"
                                 "[module journal-sqlite]\n",
                                 users);
    harness_write_config(h, body);
    g_assert_true(harness_start(h));
    g_assert_true(harness_wait_state(h, "journal-sqlite", "running"));

    char n[32];
    g_snprintf(n, sizeof n, "%ld", calls);
    const char *burst[] = {"sim-office", "burst", n, NULL};
    gint64 t0 = g_get_monotonic_time();
    json_node_free(harness_ok(h, burst));
    while (sim_stat(h, "burst_remaining") > 0)
        g_usleep(2000);
    gint64 t_burst = g_get_monotonic_time();
    long made = sim_stat(h, "burst_calls");
    /* Bounded: give up when the journal stops moving for 10 s. */
    long stored = 0, last = -1;
    gint64 last_move = g_get_monotonic_time();
    while ((stored = counter(h, "journal-sqlite.stored")) < made) {
        if (stored != last) {
            last = stored;
            last_move = g_get_monotonic_time();
        } else if (g_get_monotonic_time() - last_move > 10 * G_USEC_PER_SEC) {
            break;
        }
        g_usleep(2000);
    }
    gint64 t1 = g_get_monotonic_time();
    long events = counter(h, "pbx-sim:office.events");
    const char *bus[] = {"bus", NULL};
    JsonNode *b = harness_ok(h, bus);
    const char *dropped = harness_cell(b, "core", "dropped");
    double secs = (t1 - t0) / 1e6;
    printf("e2e %ld calls made of %ld asked (%ld events): %ld journaled in %.2f s, %.0f calls/s "
           "(pbx-sim done after %.2f s; bus drops to the model: %s)\n",
           made, calls, events, stored, secs, stored / secs, (t_burst - t0) / 1e6,
           dropped ? dropped : "?");
    json_node_free(b);
    if (stored < made)
        printf("e2e: the journal stalled at %ld of %ld conversations\n", stored, made);
    harness_stop(h);
    harness_free(h);
    g_free(body);
    g_free(users);
    return stored < made ? 0 : stored / secs;
}

int main(int argc, char **argv)
{
    long calls = argc > 1 ? atol(argv[1]) : 100000;
    GString *xml = g_string_new("<?xml version='1.0' encoding='UTF-8'?>\n"
                                "<users xmlns='urn:ucd:users:1'>\n");
    for (int i = 201; i <= 210; i++)
        g_string_append_printf(xml,
                               "<user id='file:u%d'><login>u%d</login><displayName>User %d"
                               "</displayName><line>%d</line></user>\n",
                               i, i, i, i);
    g_string_append(xml, "</users>\n");
    double best = 0;
    for (int i = 0; i < 3; i++) {
        double r = run(calls, xml->str);
        best = r > best ? r : best;
    }
    printf("e2e best of 3: %.0f calls/s (target 20,000)\n", best);
    g_string_free(xml, TRUE);
    return 0;
}
