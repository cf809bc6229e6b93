/*
 * test-bus-older-abi.c - built against a bus that believes the 1.0 presence
 * struct ended before `until_ms` (see tests/bus/meson.build), as a future core
 * would see a 1.0 plugin once the struct has grown: the missing member must
 * read as zero, and a struct shorter than 1.0 is still refused.
 */
#include <stddef.h>

#include "bus.h"

typedef struct seen {
    int calls;
    uint32_t struct_size;
    int64_t until_ms;
    char *note;
} seen;

static void presence_cb(const ucd_event *ev, void *user_data)
{
    seen *s = user_data;
    const ucd_presence_event *p = ev->payload;
    s->calls++;
    s->struct_size = p->struct_size;
    s->until_ms = p->until_ms;
    g_free(s->note);
    s->note = g_strdup(p->note);
    g_assert_cmpstr(ev->subject, ==, "alice");
}

static void test_older_payload_zero_filled(void)
{
    core_bus *bus = core_bus_new(NULL, 16);
    seen s = {0};
    core_bus_subscribe(bus, "t", NULL, presence_cb, &s);

    /* The memory past the old struct holds garbage the bus must not read. */
    ucd_presence_event old = {offsetof(ucd_presence_event, until_ms),
                              UCD_PRESENCE_AWAY,
                              0,
                              0,
                              0,
                              0,
                              "alice",
                              "note",
                              123456789};
    ucd_event ev = {.struct_size = sizeof(ev), .type = UCD_EVENT_PRESENCE, .payload = &old};
    g_assert_cmpint(core_bus_publish(bus, "x", &ev), ==, UCD_OK);
    core_bus_flush(bus);
    g_assert_cmpint(s.calls, ==, 1);
    g_assert_cmpuint(s.struct_size, ==, sizeof(ucd_presence_event));
    g_assert_cmpint(s.until_ms, ==, 0);
    g_assert_cmpstr(s.note, ==, "note");

    old.struct_size = offsetof(ucd_presence_event, note);
    g_assert_cmpint(core_bus_publish(bus, "x", &ev), ==, UCD_E_INVALID);
    core_bus_flush(bus);
    g_assert_cmpint(s.calls, ==, 1);
    g_free(s.note);
    core_bus_free(bus);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bus/older-payload-zero-filled", test_older_payload_zero_filled);
    return g_test_run();
}
