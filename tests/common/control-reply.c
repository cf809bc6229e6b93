/*
 * control-reply.c - control commands run in-process and their replies read
 * back (control-reply.h).
 */
#include "control-reply.h"

#include <string.h>

reply reply_run(core_control *control, const char *command)
{
    char **argv = g_strsplit(command, " ", -1);
    char *json = core_control_execute(control, (int)g_strv_length(argv), (const char *const *)argv);
    reply r = {.parser = json_parser_new()};
    g_assert_true(json_parser_load_from_data(r.parser, json, -1, NULL));
    r.root = json_node_get_object(json_parser_get_root(r.parser));
    g_free(json);
    g_strfreev(argv);
    return r;
}

gboolean reply_ok(const reply *r)
{
    return json_object_get_boolean_member(r->root, "ok");
}

const char *reply_error(const reply *r)
{
    return json_object_has_member(r->root, "error")
               ? json_object_get_string_member(r->root, "error")
               : NULL;
}

JsonArray *reply_rows(const reply *r)
{
    return json_object_has_member(r->root, "rows") ? json_object_get_array_member(r->root, "rows")
                                                   : NULL;
}

const char *reply_cell(JsonArray *rows, guint row, guint col)
{
    return json_array_get_string_element(json_array_get_array_element(rows, row), col);
}

const char *reply_field(const reply *r, const char *name)
{
    JsonArray *fields = json_object_has_member(r->root, "fields")
                            ? json_object_get_array_member(r->root, "fields")
                            : NULL;
    for (guint i = 0; fields && i < json_array_get_length(fields); i++) {
        JsonObject *o = json_array_get_object_element(fields, i);
        if (strcmp(json_object_get_string_member(o, "name"), name) == 0)
            return json_object_get_string_member(o, "value");
    }
    return NULL;
}

void reply_free(reply *r)
{
    g_object_unref(r->parser);
}
