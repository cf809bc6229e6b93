/*
 * test-stream-filter.c - the event stream's permission check, kind by kind
 * and level by level, over a table of levels instead of the core: what a
 * viewer at BLOCKED, PUBLIC and BUSINESS on the subject gets, the subject
 * itself, an admin and an API key.
 *
 * Users: "anna" owns line 201 and is in a group led by "lea"; "bob" sees
 * anna at PUBLIC, "ben" at BUSINESS, "zed" at BLOCKED; lea sees anna at
 * BUSINESS, "lou" leads anna's group too but sees her at PUBLIC only.
 */
#include <string.h>

#include "stream-filter.h"

static guint level(gpointer data, const char *viewer, const char *subject)
{
    (void)data;
    static const struct {
        const char *viewer, *subject;
        guint level;
    } table[] = {{"bob", "anna", UCD_PERM_PUBLIC},
                 {"ben", "anna", UCD_PERM_BUSINESS},
                 {"lea", "anna", UCD_PERM_BUSINESS},
                 {"lou", "anna", UCD_PERM_PUBLIC},
                 {"zed", "anna", UCD_PERM_BLOCKED}};
    for (gsize i = 0; i < G_N_ELEMENTS(table); i++) {
        if (strcmp(table[i].viewer, viewer) == 0 && strcmp(table[i].subject, subject) == 0)
            return table[i].level;
    }
    return UCD_PERM_BLOCKED;
}

static const char *line_user(gpointer data, const char *driver, const char *line)
{
    (void)data;
    g_assert_cmpstr(driver, ==, "pbx-sim:office");
    return strcmp(line, "201") == 0 ? g_intern_string("anna") : NULL;
}

static void leaders_of(gpointer data, const char *user, GPtrArray *out)
{
    (void)data;
    if (strcmp(user, "anna") == 0) {
        g_ptr_array_add(out, (gpointer)g_intern_string("lea"));
        g_ptr_array_add(out, (gpointer)g_intern_string("lou"));
    }
}

static const stream_lookup LOOKUP = {level, line_user, leaders_of, NULL};

static const stream_viewer ANNA = {"anna", FALSE};
static const stream_viewer BOB = {"bob", FALSE}; /* PUBLIC */
static const stream_viewer BEN = {"ben", FALSE}; /* BUSINESS */
static const stream_viewer ZED = {"zed", FALSE}; /* BLOCKED */
static const stream_viewer LEA = {"lea", FALSE}; /* leader, BUSINESS */
static const stream_viewer LOU = {"lou", FALSE}; /* leader, PUBLIC */
static const stream_viewer ADMIN = {"root", TRUE};
static const stream_viewer KEY = {NULL, FALSE};

/* The stream event of `e` with what the filter found of it. */
static stream_event *prepared(const ucd_event *e)
{
    stream_event *se = stream_event_new(stream_kind_of_event(e->type), 1, 0,
                                        g_bytes_new_static("F", 1), g_bytes_new_static("R", 1));
    stream_filter_prepare(&LOOKUP, e, se);
    return se;
}

static stream_view view(const stream_viewer *v, const stream_event *e)
{
    return stream_filter_view(&LOOKUP, v, e);
}

static void test_presence(void)
{
    ucd_presence_event p = {.struct_size = sizeof p, .state = UCD_PRESENCE_AWAY, .user_id = "anna"};
    ucd_event e = {.struct_size = sizeof e, .type = UCD_EVENT_PRESENCE, .payload = &p};
    stream_event *se = prepared(&e);
    g_assert_true(se->user == g_intern_string("anna"));
    g_assert_cmpint(view(&ZED, se), ==, STREAM_VIEW_NONE);
    g_assert_cmpint(view(&BOB, se), ==, STREAM_VIEW_REDUCED);
    g_assert_cmpint(view(&BEN, se), ==, STREAM_VIEW_FULL);
    g_assert_cmpint(view(&ANNA, se), ==, STREAM_VIEW_FULL);
    g_assert_cmpint(view(&ADMIN, se), ==, STREAM_VIEW_FULL);
    g_assert_cmpint(view(&KEY, se), ==, STREAM_VIEW_FULL);
    stream_event_unref(se);
}

static void test_call(void)
{
    ucd_call_state_event c = {.struct_size = sizeof c,
                              .state = UCD_CALL_OFFERING,
                              .driver_instance = "pbx-sim:office",
                              .line = "201",
                              .call_id = "office-1",
                              .remote_number = "+4930"};
    ucd_event e = {.struct_size = sizeof e, .type = UCD_EVENT_CALL_STATE, .payload = &c};
    stream_event *se = prepared(&e);
    g_assert_true(se->user == g_intern_string("anna"));
    g_assert_false(se->is_private);
    g_assert_cmpint(view(&ZED, se), ==, STREAM_VIEW_NONE);
    g_assert_cmpint(view(&BOB, se), ==, STREAM_VIEW_NONE); /* PUBLIC: no calls */
    /* BUSINESS: the call, its number masked only when private (the reduced
     * view is the full one then). */
    g_assert_cmpint(view(&BEN, se), ==, STREAM_VIEW_REDUCED);
    g_assert_cmpint(view(&ANNA, se), ==, STREAM_VIEW_FULL);
    g_assert_cmpint(view(&ADMIN, se), ==, STREAM_VIEW_REDUCED);
    g_assert_cmpint(view(&KEY, se), ==, STREAM_VIEW_REDUCED);
    stream_event_unref(se);

    c.flags = UCD_CALL_FLAG_PRIVATE;
    se = prepared(&e);
    g_assert_true(se->is_private);
    stream_event_unref(se);

    /* A line nobody owns: only the system and admins see its calls. */
    c.line = "209";
    se = prepared(&e);
    g_assert_null(se->user);
    g_assert_cmpint(view(&BEN, se), ==, STREAM_VIEW_NONE);
    g_assert_cmpint(view(&ANNA, se), ==, STREAM_VIEW_NONE);
    g_assert_cmpint(view(&ADMIN, se), ==, STREAM_VIEW_REDUCED);
    g_assert_cmpint(view(&KEY, se), ==, STREAM_VIEW_REDUCED);
    stream_event_unref(se);
}

static void test_line(void)
{
    ucd_line_state_event l = {.struct_size = sizeof l,
                              .state = UCD_LINE_BUSY,
                              .driver_instance = "pbx-sim:office",
                              .line = "201"};
    ucd_event e = {.struct_size = sizeof e, .type = UCD_EVENT_LINE_STATE, .payload = &l};
    stream_event *se = prepared(&e);
    g_assert_cmpint(view(&BOB, se), ==, STREAM_VIEW_NONE);
    g_assert_cmpint(view(&BEN, se), ==, STREAM_VIEW_FULL);
    g_assert_cmpint(view(&ANNA, se), ==, STREAM_VIEW_FULL);
    g_assert_cmpint(view(&KEY, se), ==, STREAM_VIEW_FULL);
    stream_event_unref(se);
}

static void test_conversation(void)
{
    ucd_journal_participant parts[2] = {
        {.struct_size = sizeof parts[0], .user_id = "anna", .line = "201"},
        {.struct_size = sizeof parts[0], .user_id = "anna", .line = "201"}};
    ucd_journal_record r = {.struct_size = sizeof r,
                            .uuid = "u1",
                            .participants = parts,
                            .participant_count = 2,
                            .participant_size = sizeof parts[0]};
    ucd_conversation_event c = {.struct_size = sizeof c, .record = &r};
    ucd_event e = {.struct_size = sizeof e, .type = UCD_EVENT_CONVERSATION_ENDED, .payload = &c};
    stream_event *se = prepared(&e);
    /* Repeated participants are listed once. */
    g_assert_cmpuint(g_strv_length((char **)se->participants), ==, 1);
    g_assert_cmpuint(g_strv_length((char **)se->leaders), ==, 2);
    g_assert_cmpint(view(&ANNA, se), ==, STREAM_VIEW_FULL);
    g_assert_cmpint(view(&ADMIN, se), ==, STREAM_VIEW_FULL);
    g_assert_cmpint(view(&LEA, se), ==, STREAM_VIEW_REDUCED);
    g_assert_cmpint(view(&LOU, se), ==, STREAM_VIEW_NONE); /* leader without BUSINESS */
    g_assert_cmpint(view(&BEN, se), ==, STREAM_VIEW_NONE); /* BUSINESS but no leader */
    g_assert_cmpint(view(&ZED, se), ==, STREAM_VIEW_NONE);
    g_assert_cmpint(view(&KEY, se), ==, STREAM_VIEW_REDUCED);
    stream_event_unref(se);
}

static void test_appointment(void)
{
    ucd_appointment_event a = {.struct_size = sizeof a, .user_id = "anna", .subject = "x"};
    ucd_event e = {.struct_size = sizeof e, .type = UCD_EVENT_APPOINTMENT, .payload = &a};
    stream_event *se = prepared(&e);
    g_assert_cmpint(view(&BOB, se), ==, STREAM_VIEW_NONE); /* never a subject at PUBLIC */
    g_assert_cmpint(view(&BEN, se), ==, STREAM_VIEW_FULL);
    g_assert_cmpint(view(&ANNA, se), ==, STREAM_VIEW_FULL);
    stream_event_unref(se);
}

static void test_directory_and_module(void)
{
    ucd_directory_event d = {.struct_size = sizeof d,
                             .change = UCD_CHANGE_ADDED,
                             .kind = UCD_DIRECTORY_USER,
                             .id = "anna"};
    ucd_event e = {.struct_size = sizeof e, .type = UCD_EVENT_DIRECTORY, .payload = &d};
    stream_event *se = prepared(&e);
    g_assert_cmpint(view(&ZED, se), ==, STREAM_VIEW_FULL);
    g_assert_cmpint(view(&KEY, se), ==, STREAM_VIEW_FULL);
    stream_event_unref(se);

    ucd_module_state_event m = {.struct_size = sizeof m, .module = "pbx-sim:office"};
    e = (ucd_event){.struct_size = sizeof e, .type = UCD_EVENT_MODULE_STATE, .payload = &m};
    se = prepared(&e);
    g_assert_cmpint(view(&ADMIN, se), ==, STREAM_VIEW_FULL);
    g_assert_cmpint(view(&ANNA, se), ==, STREAM_VIEW_NONE);
    g_assert_cmpint(view(&BEN, se), ==, STREAM_VIEW_NONE);
    g_assert_cmpint(view(&KEY, se), ==, STREAM_VIEW_NONE);
    stream_event_unref(se);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/stream-filter/presence", test_presence);
    g_test_add_func("/stream-filter/call", test_call);
    g_test_add_func("/stream-filter/line", test_line);
    g_test_add_func("/stream-filter/conversation", test_conversation);
    g_test_add_func("/stream-filter/appointment", test_appointment);
    g_test_add_func("/stream-filter/directory-and-module", test_directory_and_module);
    return g_test_run();
}
