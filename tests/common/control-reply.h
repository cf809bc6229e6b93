/*
 * control-reply.h - a control command run in-process and its JSON reply
 * read back, for the tests of the model and of ucctl's commands: they ask
 * what ucctl would ask and look at the fields, rows and error it gets.
 */
#ifndef TEST_CONTROL_REPLY_H
#define TEST_CONTROL_REPLY_H

#include <json-glib/json-glib.h>

#include "control.h"

typedef struct reply {
    JsonParser *parser;
    JsonObject *root;
} reply;

/* Runs `command` (words split at single spaces) on `control` and parses the
 * reply, which must be JSON; release it with reply_free(). */
reply reply_run(core_control *control, const char *command);

/* The reply's "ok" member. */
gboolean reply_ok(const reply *r);

/* The reply's error message, or NULL when it has none. */
const char *reply_error(const reply *r);

/* The reply's table rows, or NULL when it has no "rows". */
JsonArray *reply_rows(const reply *r);

/* Column `col` of row `row` of `rows`, a string. */
const char *reply_cell(JsonArray *rows, guint row, guint col);

/* The value of the reply's field `name`, or NULL when there is no such
 * field (or no fields at all). */
const char *reply_field(const reply *r, const char *name);

/* Releases the parsed reply. */
void reply_free(reply *r);

#endif /* TEST_CONTROL_REPLY_H */
