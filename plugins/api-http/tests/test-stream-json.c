/*
 * test-stream-json.c - each event kind as the stream's JSON message: the
 * envelope, every field of "data" with its word, and what the reduced view
 * leaves out or masks.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "stream-json.h"

/* The message parsed; the caller frees it with json_node_unref. */
static JsonNode *message(const ucd_event *event, guint64 seq, stream_view view)
{
    GBytes *bytes = stream_json_event(event, seq, view);
    g_assert_nonnull(bytes);
    gsize n = 0;
    const char *text = g_bytes_get_data(bytes, &n);
    JsonNode *node = json_from_string(text, NULL);
    g_assert_nonnull(node);
    g_assert_true(JSON_NODE_HOLDS_OBJECT(node));
    g_bytes_unref(bytes);
    return node;
}

static JsonObject *data_of(JsonNode *node)
{
    return json_object_get_object_member(json_node_get_object(node), "data");
}

static ucd_event bus_event(uint32_t type, const void *payload)
{
    return (ucd_event){.struct_size = sizeof(ucd_event),
                       .type = type,
                       .seq = 99,
                       .time_ms = 1700000000123,
                       .source = "core",
                       .payload = payload};
}

static void test_kinds(void)
{
    for (int k = 0; k < STREAM_KIND_COUNT_; k++)
        g_assert_cmpint(stream_kind_from_word(stream_kind_word(k)), ==, k);
    g_assert_cmpint(stream_kind_from_word("*"), ==, -1);
    g_assert_cmpint(stream_kind_from_word("Presence"), ==, -1);
    g_assert_cmpint(stream_kind_from_word(NULL), ==, -1);
    g_assert_cmpint(stream_kind_of_event(UCD_EVENT_PRESENCE), ==, STREAM_KIND_PRESENCE);
    g_assert_cmpint(stream_kind_of_event(UCD_EVENT_DIRECTORY), ==, STREAM_KIND_DIRECTORY);
    g_assert_cmpint(stream_kind_of_event(UCD_EVENT_USER_CHANGED), ==, -1);
    g_assert_cmpint(stream_kind_of_event(UCD_EVENT_CUSTOM), ==, -1);
    g_assert_cmpint(stream_kind_of_event(UCD_EVENT_TYPE_COUNT_), ==, -1);
}

static void test_presence(void)
{
    ucd_presence_event p = {.struct_size = sizeof p,
                            .state = UCD_PRESENCE_AWAY,
                            .prev_state = UCD_PRESENCE_AVAILABLE,
                            .manual_state = UCD_PRESENCE_AWAY,
                            .line_state = UCD_PRESENCE_AVAILABLE,
                            .user_id = "file:u1",
                            .note = "lunch \"downstairs\"",
                            .until_ms = 1700000999000};
    ucd_event e = bus_event(UCD_EVENT_PRESENCE, &p);
    g_assert_true(stream_json_reduces(&e));

    JsonNode *full = message(&e, 42, STREAM_VIEW_FULL);
    JsonObject *o = json_node_get_object(full);
    g_assert_cmpint(json_object_get_int_member(o, "seq"), ==, 42);
    g_assert_cmpstr(json_object_get_string_member(o, "kind"), ==, "presence");
    g_assert_cmpint(json_object_get_int_member(o, "time_ms"), ==, 1700000000123);
    JsonObject *d = data_of(full);
    g_assert_cmpstr(json_object_get_string_member(d, "user_id"), ==, "file:u1");
    g_assert_cmpstr(json_object_get_string_member(d, "state"), ==, "away");
    g_assert_cmpstr(json_object_get_string_member(d, "prev_state"), ==, "available");
    g_assert_cmpstr(json_object_get_string_member(d, "manual_state"), ==, "away");
    g_assert_cmpstr(json_object_get_string_member(d, "line_state"), ==, "available");
    g_assert_cmpstr(json_object_get_string_member(d, "calendar_state"), ==, "unknown");
    g_assert_cmpstr(json_object_get_string_member(d, "note"), ==, "lunch \"downstairs\"");
    g_assert_cmpint(json_object_get_int_member(d, "until_ms"), ==, 1700000999000);
    json_node_unref(full);

    JsonNode *reduced = message(&e, 42, STREAM_VIEW_REDUCED);
    d = data_of(reduced);
    g_assert_cmpstr(json_object_get_string_member(d, "state"), ==, "away");
    g_assert_cmpuint(json_object_get_size(d), ==, 3); /* user_id, state, prev_state */
    g_assert_false(json_object_has_member(d, "note"));
    g_assert_false(json_object_has_member(d, "until_ms"));
    g_assert_false(json_object_has_member(d, "manual_state"));
    json_node_unref(reduced);

    /* No note, open-ended: null, present. */
    p.note = NULL;
    p.until_ms = 0;
    full = message(&e, 43, STREAM_VIEW_FULL);
    d = data_of(full);
    g_assert_true(json_object_get_null_member(d, "note"));
    g_assert_true(json_object_get_null_member(d, "until_ms"));
    g_assert_true(json_object_get_null_member(d, "on_call_with"));
    json_node_unref(full);

    /* on the phone with someone ucd identified: business information,
     * absent from the reduced view */
    p.state = UCD_PRESENCE_ON_PHONE;
    p.party_name = "Hans M\xc3\xbcller";
    p.party_company = "M\xc3\xbcller GmbH";
    full = message(&e, 44, STREAM_VIEW_FULL);
    JsonObject *with = json_object_get_object_member(data_of(full), "on_call_with");
    g_assert_cmpstr(json_object_get_string_member(with, "name"), ==, "Hans M\xc3\xbcller");
    g_assert_cmpstr(json_object_get_string_member(with, "company"), ==, "M\xc3\xbcller GmbH");
    json_node_unref(full);
    reduced = message(&e, 44, STREAM_VIEW_REDUCED);
    g_assert_false(json_object_has_member(data_of(reduced), "on_call_with"));
    json_node_unref(reduced);

    /* a 1.0 publisher's event (no party members): null, not garbage */
    p.struct_size = G_STRUCT_OFFSET(ucd_presence_event, party_name);
    full = message(&e, 45, STREAM_VIEW_FULL);
    g_assert_true(json_object_get_null_member(data_of(full), "on_call_with"));
    json_node_unref(full);
}

static void test_call(void)
{
    ucd_call_state_event c = {.struct_size = sizeof c,
                              .state = UCD_CALL_CONNECTED,
                              .prev_state = UCD_CALL_OFFERING,
                              .direction = UCD_DIR_INBOUND,
                              .cause = UCD_CAUSE_FORWARDED,
                              .driver_instance = "pbx-sim:office",
                              .line = "201",
                              .call_id = "office-7",
                              .conversation_id = "office-6",
                              .remote_number = "+4930123",
                              .remote_name = "Ann",
                              .requested_number = "202",
                              .related_line = "202",
                              .forward_reason = UCD_FORWARD_REASON_BUSY};
    ucd_event e = bus_event(UCD_EVENT_CALL_STATE, &c);
    g_assert_false(stream_json_reduces(&e));
    JsonNode *full = message(&e, 1, STREAM_VIEW_FULL);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(full), "kind"), ==, "call");
    JsonObject *d = data_of(full);
    g_assert_cmpstr(json_object_get_string_member(d, "driver"), ==, "pbx-sim:office");
    g_assert_cmpstr(json_object_get_string_member(d, "line"), ==, "201");
    g_assert_cmpstr(json_object_get_string_member(d, "call_id"), ==, "office-7");
    g_assert_cmpstr(json_object_get_string_member(d, "conversation_id"), ==, "office-6");
    g_assert_cmpstr(json_object_get_string_member(d, "state"), ==, "connected");
    g_assert_cmpstr(json_object_get_string_member(d, "prev_state"), ==, "offering");
    g_assert_cmpstr(json_object_get_string_member(d, "direction"), ==, "inbound");
    g_assert_cmpstr(json_object_get_string_member(d, "cause"), ==, "forwarded");
    g_assert_false(json_object_get_boolean_member(d, "private"));
    g_assert_cmpstr(json_object_get_string_member(d, "remote_number"), ==, "+4930123");
    g_assert_cmpstr(json_object_get_string_member(d, "remote_name"), ==, "Ann");
    g_assert_cmpstr(json_object_get_string_member(d, "requested_number"), ==, "202");
    g_assert_cmpstr(json_object_get_string_member(d, "related_line"), ==, "202");
    g_assert_cmpstr(json_object_get_string_member(d, "forward_reason"), ==, "busy");
    json_node_unref(full);

    /* A withheld number: the reduced view masks it, the full one keeps it. */
    c.flags = UCD_CALL_FLAG_PRIVATE;
    g_assert_true(stream_json_reduces(&e));
    JsonNode *reduced = message(&e, 2, STREAM_VIEW_REDUCED);
    d = data_of(reduced);
    g_assert_true(json_object_get_boolean_member(d, "private"));
    g_assert_cmpstr(json_object_get_string_member(d, "remote_number"), ==, STREAM_MASKED_NUMBER);
    g_assert_true(json_object_get_null_member(d, "remote_name"));
    json_node_unref(reduced);
    full = message(&e, 2, STREAM_VIEW_FULL);
    g_assert_cmpstr(json_object_get_string_member(data_of(full), "remote_number"), ==, "+4930123");
    json_node_unref(full);

    /* A publisher of ABI 1.0 has no forward reason. */
    c.struct_size = G_STRUCT_OFFSET(ucd_call_state_event, forward_reason);
    full = message(&e, 3, STREAM_VIEW_FULL);
    g_assert_true(json_object_get_null_member(data_of(full), "forward_reason"));
    json_node_unref(full);
}

/* Who a call's remote party is: the leg's ids and "party" as GET /calls
 * writes it; a private leg's number masked in the reduced view, its party
 * null in both (the core names nobody for it anyway). */
static void test_party(void)
{
    ucd_call_party_event p = {.struct_size = sizeof p,
                              .driver_instance = "pbx-sim:office",
                              .line = "201",
                              .call_id = "office-7",
                              .conversation_id = "office-6",
                              .user_id = "file:alice",
                              .remote_number = "030 1234567",
                              .party_name = "Hans M\xc3\xbcller",
                              .party_company = "M\xc3\xbcller GmbH",
                              .party_source = "contacts-csv:crm"};
    ucd_event e = bus_event(UCD_EVENT_CALL_PARTY, &p);
    g_assert_false(stream_json_reduces(&e));
    JsonNode *full = message(&e, 5, STREAM_VIEW_FULL);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(full), "kind"), ==, "party");
    JsonObject *d = data_of(full);
    g_assert_cmpstr(json_object_get_string_member(d, "driver"), ==, "pbx-sim:office");
    g_assert_cmpstr(json_object_get_string_member(d, "line"), ==, "201");
    g_assert_cmpstr(json_object_get_string_member(d, "call_id"), ==, "office-7");
    g_assert_cmpstr(json_object_get_string_member(d, "conversation_id"), ==, "office-6");
    g_assert_cmpstr(json_object_get_string_member(d, "user_id"), ==, "file:alice");
    g_assert_cmpstr(json_object_get_string_member(d, "remote_number"), ==, "030 1234567");
    g_assert_false(json_object_get_boolean_member(d, "private"));
    JsonObject *party = json_object_get_object_member(d, "party");
    g_assert_cmpstr(json_object_get_string_member(party, "name"), ==, "Hans M\xc3\xbcller");
    g_assert_cmpstr(json_object_get_string_member(party, "company"), ==, "M\xc3\xbcller GmbH");
    g_assert_cmpstr(json_object_get_string_member(party, "source"), ==, "contacts-csv:crm");
    g_assert_true(json_object_get_null_member(party, "user_id"));
    json_node_unref(full);

    /* the party went (a transfer to a number nobody owns): null, present */
    p.party_name = p.party_company = p.party_source = NULL;
    full = message(&e, 6, STREAM_VIEW_FULL);
    g_assert_true(json_object_get_null_member(data_of(full), "party"));
    json_node_unref(full);

    p.flags = UCD_CALL_FLAG_PRIVATE;
    p.party_name = "leaked?";
    g_assert_true(stream_json_reduces(&e));
    JsonNode *reduced = message(&e, 7, STREAM_VIEW_REDUCED);
    d = data_of(reduced);
    g_assert_cmpstr(json_object_get_string_member(d, "remote_number"), ==, STREAM_MASKED_NUMBER);
    g_assert_true(json_object_get_null_member(d, "party"));
    json_node_unref(reduced);
    full = message(&e, 8, STREAM_VIEW_FULL);
    g_assert_cmpstr(json_object_get_string_member(data_of(full), "remote_number"), ==,
                    "030 1234567");
    g_assert_true(json_object_get_null_member(data_of(full), "party"));
    json_node_unref(full);
}

static void test_line(void)
{
    ucd_line_state_event l = {.struct_size = sizeof l,
                              .state = UCD_LINE_OUT_OF_SERVICE,
                              .driver_instance = "pbx-sim:office",
                              .line = "204",
                              .dnd = 1,
                              .forward_to = "+4989111"};
    ucd_event e = bus_event(UCD_EVENT_LINE_STATE, &l);
    g_assert_false(stream_json_reduces(&e));
    JsonNode *n = message(&e, 5, STREAM_VIEW_FULL);
    JsonObject *d = data_of(n);
    g_assert_cmpstr(json_object_get_string_member(d, "state"), ==, "out_of_service");
    g_assert_cmpstr(json_object_get_string_member(d, "line"), ==, "204");
    g_assert_true(json_object_get_boolean_member(d, "dnd"));
    g_assert_cmpstr(json_object_get_string_member(d, "forward_to"), ==, "+4989111");
    json_node_unref(n);
}

static void test_conversation(void)
{
    ucd_journal_participant parts[2] = {{.struct_size = sizeof parts[0],
                                         .role = UCD_ROLE_CALLEE,
                                         .user_id = "file:u1",
                                         .line = "201",
                                         .joined_ms = 10,
                                         .answered_ms = 20,
                                         .left_ms = 30},
                                        {.struct_size = sizeof parts[0],
                                         .role = UCD_ROLE_TRANSFER_TARGET,
                                         .user_id = NULL,
                                         .line = "209",
                                         .joined_ms = 25,
                                         .left_ms = 30}};
    ucd_journal_record r = {.struct_size = sizeof r,
                            .direction = UCD_DIR_INBOUND,
                            .outcome = UCD_OUTCOME_ANSWERED,
                            .flags = UCD_JOURNAL_FLAG_PRIVATE,
                            .uuid = "c0ffee",
                            .driver_instance = "pbx-sim:office",
                            .start_ms = 10,
                            .answer_ms = 20,
                            .end_ms = 30,
                            .source_number = "+4930999",
                            .source_e164 = "+4930999",
                            .source_name = "Secret",
                            .destination_number = "201",
                            .end_reason = "normal",
                            .participants = parts,
                            .participant_count = 2,
                            .participant_size = sizeof parts[0]};
    ucd_conversation_event c = {.struct_size = sizeof c, .record = &r};
    ucd_event e = bus_event(UCD_EVENT_CONVERSATION_ENDED, &c);
    g_assert_true(stream_json_reduces(&e));

    JsonNode *full = message(&e, 7, STREAM_VIEW_FULL);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(full), "kind"), ==,
                    "conversation");
    JsonObject *d = data_of(full);
    g_assert_cmpstr(json_object_get_string_member(d, "uuid"), ==, "c0ffee");
    g_assert_cmpstr(json_object_get_string_member(d, "outcome"), ==, "answered");
    g_assert_cmpstr(json_object_get_string_member(d, "direction"), ==, "inbound");
    g_assert_cmpstr(json_object_get_string_member(d, "source_number"), ==, "+4930999");
    g_assert_cmpstr(json_object_get_string_member(d, "end_reason"), ==, "normal");
    g_assert_cmpint(json_object_get_int_member(d, "answer_ms"), ==, 20);
    JsonArray *p = json_object_get_array_member(d, "participants");
    g_assert_cmpuint(json_array_get_length(p), ==, 2);
    JsonObject *p0 = json_array_get_object_element(p, 0);
    g_assert_cmpstr(json_object_get_string_member(p0, "user_id"), ==, "file:u1");
    g_assert_cmpstr(json_object_get_string_member(p0, "role"), ==, "callee");
    JsonObject *p1 = json_array_get_object_element(p, 1);
    g_assert_true(json_object_get_null_member(p1, "user_id"));
    g_assert_cmpstr(json_object_get_string_member(p1, "role"), ==, "transfer_target");
    g_assert_true(json_object_get_null_member(p1, "answered_ms"));
    json_node_unref(full);

    JsonNode *reduced = message(&e, 7, STREAM_VIEW_REDUCED);
    d = data_of(reduced);
    g_assert_cmpstr(json_object_get_string_member(d, "source_number"), ==, STREAM_MASKED_NUMBER);
    g_assert_true(json_object_get_null_member(d, "source_e164"));
    g_assert_true(json_object_get_null_member(d, "source_name"));
    g_assert_cmpstr(json_object_get_string_member(d, "destination_number"), ==, "201");
    json_node_unref(reduced);
}

static void test_directory_appointment_module(void)
{
    ucd_directory_event dir = {.struct_size = sizeof dir,
                               .change = UCD_CHANGE_REMOVED,
                               .kind = UCD_DIRECTORY_LINE,
                               .id = "pbx-sim:office/204"};
    ucd_event e = bus_event(UCD_EVENT_DIRECTORY, &dir);
    JsonNode *n = message(&e, 8, STREAM_VIEW_FULL);
    JsonObject *d = data_of(n);
    g_assert_cmpuint(json_object_get_size(d), ==, 3);
    g_assert_cmpstr(json_object_get_string_member(d, "change"), ==, "removed");
    g_assert_cmpstr(json_object_get_string_member(d, "kind"), ==, "line");
    g_assert_cmpstr(json_object_get_string_member(d, "id"), ==, "pbx-sim:office/204");
    json_node_unref(n);

    dir = (ucd_directory_event){.struct_size = sizeof dir, .change = UCD_CHANGE_RESYNCED};
    n = message(&e, 9, STREAM_VIEW_FULL);
    d = data_of(n);
    g_assert_cmpstr(json_object_get_string_member(d, "change"), ==, "resynced");
    g_assert_true(json_object_get_null_member(d, "kind"));
    g_assert_true(json_object_get_null_member(d, "id"));
    json_node_unref(n);

    ucd_appointment_event a = {.struct_size = sizeof a,
                               .change = UCD_CHANGE_ADDED,
                               .show_as = UCD_SHOW_OUT_OF_OFFICE,
                               .user_id = "file:u1",
                               .uid = "ev-1",
                               .subject = "Dentist",
                               .start_ms = 100,
                               .end_ms = 200,
                               .source = "calendar-ics"};
    e = bus_event(UCD_EVENT_APPOINTMENT, &a);
    n = message(&e, 10, STREAM_VIEW_FULL);
    d = data_of(n);
    g_assert_cmpstr(json_object_get_string_member(d, "show_as"), ==, "out_of_office");
    g_assert_cmpstr(json_object_get_string_member(d, "subject"), ==, "Dentist");
    g_assert_cmpstr(json_object_get_string_member(d, "change"), ==, "added");
    g_assert_cmpint(json_object_get_int_member(d, "end_ms"), ==, 200);
    json_node_unref(n);

    ucd_module_state_event m = {.struct_size = sizeof m,
                                .state = UCD_MODULE_FAILED,
                                .module = "pbx-ami:pbx1",
                                .message = "connection refused"};
    e = bus_event(UCD_EVENT_MODULE_STATE, &m);
    n = message(&e, 11, STREAM_VIEW_FULL);
    d = data_of(n);
    g_assert_cmpstr(json_object_get_string_member(d, "module"), ==, "pbx-ami:pbx1");
    g_assert_cmpstr(json_object_get_string_member(d, "state"), ==, "failed");
    g_assert_cmpstr(json_object_get_string_member(d, "message"), ==, "connection refused");
    json_node_unref(n);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/stream-json/kinds", test_kinds);
    g_test_add_func("/stream-json/presence", test_presence);
    g_test_add_func("/stream-json/call", test_call);
    g_test_add_func("/stream-json/party", test_party);
    g_test_add_func("/stream-json/line", test_line);
    g_test_add_func("/stream-json/conversation", test_conversation);
    g_test_add_func("/stream-json/directory-appointment-module", test_directory_appointment_module);
    return g_test_run();
}
