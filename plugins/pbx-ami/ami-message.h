/*
 * ami-message.h - one AMI message: an ordered list of "Name: value" headers.
 *
 * The Asterisk Manager Interface frames everything the same way: lines of
 * "Name: value" ended by CRLF, a message ended by an empty line. A response
 * starts with "Response:", an event with "Event:", an action (what we send)
 * with "Action:". Names repeat (Variable:, Output:), so headers stay a list in
 * the order they arrived; lookups are case-insensitive, as Asterisk's are.
 *
 * Values are always valid UTF-8: the parser converts anything else (Asterisk
 * passes caller names through byte for byte, and old phones send Latin-1), so
 * a message can be published or logged without another check.
 */
#ifndef AMI_MESSAGE_H
#define AMI_MESSAGE_H

#include <glib.h>

typedef enum pami_kind {
    PAMI_KIND_OTHER = 0, /* none of the three below comes first */
    PAMI_KIND_RESPONSE,  /* first header "Response:" */
    PAMI_KIND_EVENT,     /* first header "Event:" */
    PAMI_KIND_ACTION,    /* first header "Action:" (only in tests and the replay peer) */
} pami_kind;

typedef struct pami_message pami_message;

/* A new, empty message with reference count 1. */
pami_message *pami_message_new(void);

/* Takes one more reference / drops one; the last unref frees the message.
 * pami_message_unref(NULL) does nothing. */
pami_message *pami_message_ref(pami_message *m);
void pami_message_unref(pami_message *m);

/* Appends "name: value" (both copied). `value` may be empty, never NULL;
 * the caller guarantees valid UTF-8 (the parser does). */
void pami_message_add(pami_message *m, const char *name, const char *value);

/* The kind, from the first header's name. */
pami_kind pami_message_kind(const pami_message *m);

/* The value of the first header called `name` (case-insensitive), or NULL.
 * The string lives as long as the message. */
const char *pami_message_get(const pami_message *m, const char *name);

/* Like pami_message_get(), but NULL also for an empty value and for the
 * placeholders Asterisk writes for "nothing": "<unknown>" and "<none>". */
const char *pami_message_get_known(const pami_message *m, const char *name);

/* The number of headers, and the i-th one's name and value (0-based, in
 * arrival order); for repeated headers such as Output: or Variable:. */
guint pami_message_count(const pami_message *m);
const char *pami_message_name_at(const pami_message *m, guint i);
const char *pami_message_value_at(const pami_message *m, guint i);

/* Shortcuts: the value of Event:, Response: and ActionID:, or NULL. */
const char *pami_message_event(const pami_message *m);
const char *pami_message_response(const pami_message *m);
const char *pami_message_action_id(const pami_message *m);

/* The message in wire form ("Name: value\r\n" lines and the empty line), for
 * sending an action; a newly allocated string. CR and LF inside a value are
 * replaced by spaces so a value can never end the message early or inject a
 * header (a caller name or a dialled number comes from outside). */
char *pami_message_to_wire(const pami_message *m);

#endif /* AMI_MESSAGE_H */
