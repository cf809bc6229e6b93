/*
 * stream-json.c - bus events as the stream's JSON messages.
 *
 * Field names are the REST API's (snake_case, enums as the words ucctl and
 * the journal write), so a client parses an event's "data" with the code it
 * has for the REST resource. Every member is always present, null when not
 * known, except those the reduced view leaves out: absent, not null, so a
 * client cannot mistake "hidden" for "not set".
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "stream-json.h"

static const char *const KIND_WORDS[STREAM_KIND_COUNT_] = {
    "line", "call", "presence", "conversation", "directory", "appointment", "module", "party"};

const char *stream_kind_word(stream_kind kind)
{
    return (guint)kind < STREAM_KIND_COUNT_ ? KIND_WORDS[kind] : "unknown";
}

int stream_kind_from_word(const char *word)
{
    for (int k = 0; word != NULL && k < STREAM_KIND_COUNT_; k++) {
        if (strcmp(KIND_WORDS[k], word) == 0)
            return k;
    }
    return -1;
}

int stream_kind_of_event(uint32_t type)
{
    switch (type) {
    case UCD_EVENT_LINE_STATE:
        return STREAM_KIND_LINE;
    case UCD_EVENT_CALL_STATE:
        return STREAM_KIND_CALL;
    case UCD_EVENT_PRESENCE:
        return STREAM_KIND_PRESENCE;
    case UCD_EVENT_CONVERSATION_ENDED:
        return STREAM_KIND_CONVERSATION;
    case UCD_EVENT_DIRECTORY:
        return STREAM_KIND_DIRECTORY;
    case UCD_EVENT_APPOINTMENT:
        return STREAM_KIND_APPOINTMENT;
    case UCD_EVENT_MODULE_STATE:
        return STREAM_KIND_MODULE;
    case UCD_EVENT_CALL_PARTY:
        return STREAM_KIND_PARTY;
    default:
        return -1;
    }
}

/* Words of enums the SDK has no word function for. */
static const char *word_of(const char *const *words, gsize count, guint32 value)
{
    return value < count ? words[value] : "unknown";
}
#define WORD(table, value) word_of(table, G_N_ELEMENTS(table), value)

static const char *const OUTCOME_WORDS[] = {"answered", "no_answer", "busy",
                                            "failed",   "voicemail", "blocked"};
static const char *const CHANGE_WORDS[] = {"unknown", "added", "modified", "removed", "resynced"};
static const char *const DIRECTORY_KIND_WORDS[] = {NULL, "user", "group", "line"};
static const char *const SHOW_AS_WORDS[] = {"free", "tentative", "busy", "out_of_office"};
static const char *const MODULE_STATE_WORDS[] = {"loaded",   "initialized", "running", "stopped",
                                                 "declined", "failed",      "disabled"};
static const char *const ROLE_WORDS[] = {"caller", "callee",         "transfer_target",
                                         "pickup", "forward_target", "conference"};

static void add_string(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

static void add_int(JsonBuilder *b, const char *name, gint64 value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, value);
}

static void add_bool(JsonBuilder *b, const char *name, gboolean value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_boolean_value(b, value);
}

/* A time in ms, null when not known (0). */
static void add_time(JsonBuilder *b, const char *name, gint64 ms)
{
    json_builder_set_member_name(b, name);
    if (ms)
        json_builder_add_int_value(b, ms);
    else
        json_builder_add_null_value(b);
}

static void line_data(JsonBuilder *b, const ucd_line_state_event *e)
{
    add_string(b, "driver", e->driver_instance);
    add_string(b, "line", e->line);
    add_string(b, "state", ucd_line_state_word(e->state));
    add_bool(b, "dnd", e->dnd != 0);
    add_string(b, "forward_to", e->forward_to);
}

static void call_data(JsonBuilder *b, const ucd_call_state_event *e, gboolean masked)
{
    gboolean private_number = (e->flags & UCD_CALL_FLAG_PRIVATE) != 0;
    add_string(b, "driver", e->driver_instance);
    add_string(b, "line", e->line);
    add_string(b, "call_id", e->call_id);
    add_string(b, "conversation_id", e->conversation_id);
    add_string(b, "state", ucd_call_state_word(e->state));
    add_string(b, "prev_state", ucd_call_state_word(e->prev_state));
    add_string(b, "direction", ucd_call_direction_word(e->direction));
    add_string(b, "cause", ucd_call_cause_word(e->cause));
    add_bool(b, "private", private_number);
    if (masked && private_number) {
        add_string(b, "remote_number", STREAM_MASKED_NUMBER);
        add_string(b, "remote_name", NULL);
    } else {
        add_string(b, "remote_number", e->remote_number);
        add_string(b, "remote_name", e->remote_name);
    }
    add_string(b, "requested_number", e->requested_number);
    add_string(b, "related_line", e->related_line);
    gboolean has_reason = e->struct_size >= G_STRUCT_OFFSET(ucd_call_state_event, forward_reason) +
                                                sizeof e->forward_reason;
    add_string(b, "forward_reason", has_reason ? ucd_forward_reason_word(e->forward_reason) : NULL);
}

/* The leg's ids and its "party" as GET /calls writes it: null when nobody
 * is known (the core never names a withheld number's party). */
static void party_data(JsonBuilder *b, const ucd_call_party_event *e, gboolean masked)
{
    add_string(b, "driver", e->driver_instance);
    add_string(b, "line", e->line);
    add_string(b, "call_id", e->call_id);
    add_string(b, "conversation_id", e->conversation_id);
    add_string(b, "user_id", e->user_id);
    gboolean private_number = (e->flags & UCD_CALL_FLAG_PRIVATE) != 0;
    add_bool(b, "private", private_number);
    add_string(b, "remote_number",
               masked && private_number ? STREAM_MASKED_NUMBER : e->remote_number);
    json_builder_set_member_name(b, "party");
    if (private_number || (e->party_name == NULL && e->party_company == NULL)) {
        json_builder_add_null_value(b);
        return;
    }
    json_builder_begin_object(b);
    add_string(b, "name", e->party_name);
    add_string(b, "company", e->party_company);
    add_string(b, "source", e->party_source);
    add_string(b, "user_id", e->party_user_id);
    json_builder_end_object(b);
}

static void presence_data(JsonBuilder *b, const ucd_presence_event *e, gboolean reduced)
{
    add_string(b, "user_id", e->user_id);
    add_string(b, "state", ucd_presence_word(e->state));
    add_string(b, "prev_state", ucd_presence_word(e->prev_state));
    if (reduced)
        return;
    add_string(b, "manual_state", ucd_presence_word(e->manual_state));
    add_string(b, "line_state", ucd_presence_word(e->line_state));
    add_string(b, "calendar_state", ucd_presence_word(e->calendar_state));
    add_string(b, "note", e->note);
    add_time(b, "until_ms", e->until_ms);
    gboolean has_party = e->struct_size >= G_STRUCT_OFFSET(ucd_presence_event, party_company) +
                                               sizeof e->party_company;
    json_builder_set_member_name(b, "on_call_with");
    if (!has_party || (!e->party_name && !e->party_company)) {
        json_builder_add_null_value(b);
        return;
    }
    json_builder_begin_object(b);
    add_string(b, "name", e->party_name);
    add_string(b, "company", e->party_company);
    json_builder_end_object(b);
}

static void participant_data(JsonBuilder *b, const ucd_journal_participant *p)
{
    json_builder_begin_object(b);
    add_string(b, "user_id", p->user_id);
    add_string(b, "line", p->line);
    add_string(b, "role", WORD(ROLE_WORDS, p->role));
    add_time(b, "joined_ms", p->joined_ms);
    add_time(b, "answered_ms", p->answered_ms);
    add_time(b, "left_ms", p->left_ms);
    json_builder_end_object(b);
}

/* A withheld number is the caller's (FLAG_PRIVATE: the remote number was
 * withheld, and only an inbound caller withholds one from us). */
static void conversation_data(JsonBuilder *b, const ucd_journal_record *r, gboolean masked)
{
    gboolean private_number = (r->flags & UCD_JOURNAL_FLAG_PRIVATE) != 0;
    gboolean hide = masked && private_number;
    add_string(b, "uuid", r->uuid);
    add_string(b, "driver", r->driver_instance);
    add_string(b, "direction", ucd_call_direction_word(r->direction));
    add_string(b, "outcome", WORD(OUTCOME_WORDS, r->outcome));
    add_bool(b, "private", private_number);
    add_time(b, "start_ms", r->start_ms);
    add_time(b, "answer_ms", r->answer_ms);
    add_time(b, "end_ms", r->end_ms);
    add_string(b, "source_number", hide ? STREAM_MASKED_NUMBER : r->source_number);
    add_string(b, "source_e164", hide ? NULL : r->source_e164);
    add_string(b, "source_name", hide ? NULL : r->source_name);
    add_string(b, "requested_number", r->requested_number);
    add_string(b, "destination_number", r->destination_number);
    add_string(b, "destination_name", r->destination_name);
    add_string(b, "transferred_by", r->transferred_by);
    add_string(b, "forward_reason", r->forward_reason);
    add_string(b, "picked_up_by", r->picked_up_by);
    add_string(b, "end_reason", r->end_reason);
    json_builder_set_member_name(b, "participants");
    json_builder_begin_array(b);
    for (guint32 i = 0; r->participants && i < r->participant_count; i++) {
        const ucd_journal_participant *p =
            (const ucd_journal_participant *)((const char *)r->participants +
                                              (gsize)i * r->participant_size);
        participant_data(b, p);
    }
    json_builder_end_array(b);
}

static void directory_data(JsonBuilder *b, const ucd_directory_event *e)
{
    add_string(b, "change", WORD(CHANGE_WORDS, e->change));
    add_string(b, "kind",
               e->kind < G_N_ELEMENTS(DIRECTORY_KIND_WORDS) ? DIRECTORY_KIND_WORDS[e->kind]
                                                            : "unknown");
    add_string(b, "id", e->id);
}

static void appointment_data(JsonBuilder *b, const ucd_appointment_event *e)
{
    add_string(b, "change", WORD(CHANGE_WORDS, e->change));
    add_string(b, "user_id", e->user_id);
    add_string(b, "uid", e->uid);
    add_string(b, "show_as", WORD(SHOW_AS_WORDS, e->show_as));
    add_string(b, "subject", e->subject);
    add_time(b, "start_ms", e->start_ms);
    add_time(b, "end_ms", e->end_ms);
    add_string(b, "source", e->source);
}

static void module_data(JsonBuilder *b, const ucd_module_state_event *e)
{
    add_string(b, "module", e->module);
    add_string(b, "state", WORD(MODULE_STATE_WORDS, e->state));
    add_string(b, "message", e->message);
}

gboolean stream_json_reduces(const ucd_event *event)
{
    switch (event->type) {
    case UCD_EVENT_PRESENCE:
        return TRUE;
    case UCD_EVENT_CALL_STATE:
        return (((const ucd_call_state_event *)event->payload)->flags & UCD_CALL_FLAG_PRIVATE) != 0;
    case UCD_EVENT_CALL_PARTY:
        return (((const ucd_call_party_event *)event->payload)->flags & UCD_CALL_FLAG_PRIVATE) != 0;
    case UCD_EVENT_CONVERSATION_ENDED: {
        const ucd_conversation_event *c = event->payload;
        return c->record && (c->record->flags & UCD_JOURNAL_FLAG_PRIVATE) != 0;
    }
    default:
        return FALSE;
    }
}

GBytes *stream_json_event(const ucd_event *event, guint64 seq, stream_view view)
{
    int kind = stream_kind_of_event(event->type);
    g_return_val_if_fail(kind >= 0 && event->payload != NULL, NULL);
    gboolean reduced = view != STREAM_VIEW_FULL;

    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    add_int(b, "seq", (gint64)seq);
    add_string(b, "kind", stream_kind_word(kind));
    add_int(b, "time_ms", event->time_ms);
    json_builder_set_member_name(b, "data");
    json_builder_begin_object(b);
    switch (kind) {
    case STREAM_KIND_LINE:
        line_data(b, event->payload);
        break;
    case STREAM_KIND_CALL:
        call_data(b, event->payload, reduced);
        break;
    case STREAM_KIND_PRESENCE:
        presence_data(b, event->payload, reduced);
        break;
    case STREAM_KIND_CONVERSATION: {
        const ucd_conversation_event *c = event->payload;
        if (c->record)
            conversation_data(b, c->record, reduced);
        break;
    }
    case STREAM_KIND_DIRECTORY:
        directory_data(b, event->payload);
        break;
    case STREAM_KIND_APPOINTMENT:
        appointment_data(b, event->payload);
        break;
    case STREAM_KIND_MODULE:
        module_data(b, event->payload);
        break;
    case STREAM_KIND_PARTY:
        party_data(b, event->payload, reduced);
        break;
    }
    json_builder_end_object(b);
    json_builder_end_object(b);

    JsonNode *root = json_builder_get_root(b);
    gsize length = 0;
    char *text = json_to_string(root, FALSE);
    length = strlen(text);
    json_node_unref(root);
    g_object_unref(b);
    return g_bytes_new_take(text, length);
}
