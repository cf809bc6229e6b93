/*
 * model-replay.c - captures through the AMI reader into the model, changes
 * recorded as text (see model-replay.h).
 */
#include "model-replay.h"

#include <string.h>

#include <ucd/event.h>

#include "ami-parse.h"
#include "ami-script.h"

/* "Local/200@test-00000004;2" -> "Local/200@test;2" when normalizing: two
 * runs of one scenario differ only in these numbers. */
static char *channel_text(const replay *r, const char *name)
{
    if (name == NULL)
        return g_strdup("-");
    if (!r->normalize)
        return g_strdup(name);
    const char *dash = strrchr(name, '-');
    if (dash == NULL)
        return g_strdup(name);
    const char *semi = strchr(dash, ';');
    return g_strdup_printf("%.*s%s", (int)(dash - name), name, semi != NULL ? semi : "");
}

static void on_leg(const pami_leg_change *c, void *user_data)
{
    replay *r = user_data;
    g_autofree char *chan = channel_text(r, c->channel);
    g_assert_true(g_utf8_validate(c->remote_name != NULL ? c->remote_name : "", -1, NULL));
    g_ptr_array_add(
        r->out,
        g_strdup_printf(
            "leg %s %s %s>%s dir=%s cause=%s remote=%s/%s req=%s rel=%s flags=%u conv=%s", c->line,
            chan, ucd_call_state_word(c->prev_state), ucd_call_state_word(c->state),
            ucd_call_direction_word(c->direction), ucd_call_cause_word(c->cause),
            c->remote_number ? c->remote_number : "-", c->remote_name ? c->remote_name : "-",
            c->requested_number ? c->requested_number : "-",
            c->related_line ? c->related_line : "-", c->flags,
            r->normalize ? "*" : c->conversation_id));
}

static void on_line(const pami_line_change *c, void *user_data)
{
    replay *r = user_data;
    g_assert_cmpuint(c->state, !=, c->prev_state);
    g_ptr_array_add(r->out,
                    g_strdup_printf("line %s %s>%s", c->line, ucd_line_state_word(c->prev_state),
                                    ucd_line_state_word(c->state)));
}

replay *replay_new(void)
{
    replay *r = g_new0(replay, 1);
    pami_model_callbacks cb = {.leg = on_leg, .line = on_line, .user_data = r};
    static const char *const devices[][2] = {
        {"Local/100@test", "100"}, {"Local/200@test", "200"}, {"Local/400@test", "400"},
        {"Local/500@test", "500"}, {"Custom:alice", "alice"}, {"PJSIP/alice", "201"},
        {"PJSIP/bob", "202"},      {"PJSIP/carol", "203"},
    };
    static const char *const hints[][2] = {
        {"300@test", "alice"},
        {"201@internal", "201"},
        {"202@internal", "202"},
        {"203@internal", "203"},
    };

    r->model = pami_model_new(&cb);
    r->out = g_ptr_array_new_with_free_func(g_free);
    r->messages = g_ptr_array_new_with_free_func((GDestroyNotify)pami_message_unref);
    for (gsize i = 0; i < G_N_ELEMENTS(devices); i++)
        g_assert_true(pami_model_map_device(r->model, devices[i][0], devices[i][1]));
    for (gsize i = 0; i < G_N_ELEMENTS(hints); i++)
        g_assert_true(pami_model_map_hint(r->model, hints[i][0], hints[i][1]));
    return r;
}

void replay_free(replay *r)
{
    pami_model_free(r->model);
    g_ptr_array_unref(r->out);
    g_ptr_array_unref(r->messages);
    g_free(r);
}

static void collect(pami_message *message, void *user_data)
{
    g_ptr_array_add(user_data, pami_message_ref(message));
}

void replay_load(replay *r, const char *name, char *(*rewrite)(const char *text))
{
    g_autofree char *path = g_build_filename(AMI_CAPTURES_DIR, name, NULL);
    g_autofree char *text = NULL;
    GError *error = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, &error));
    g_assert_no_error(error);
    if (rewrite != NULL) {
        char *changed = rewrite(text);
        g_free(text);
        text = changed;
    }
    GPtrArray *steps = ami_script_parse(text);
    pami_parse_callbacks cb = {.message = collect, .user_data = r->messages};
    pami_parser *p = pami_parser_new(&cb, FALSE, 0, 0);
    for (guint i = 0; i < steps->len; i++) {
        const ami_step *step = steps->pdata[i];
        if (step->kind == AMI_STEP_RECV)
            pami_parser_feed(p, step->text, strlen(step->text));
    }
    pami_parser_free(p);
    g_ptr_array_unref(steps);
}

void replay_feed(replay *r, GPtrArray *messages)
{
    for (guint i = 0; i < messages->len; i++) {
        const pami_message *msg = messages->pdata[i];
        const char *event = pami_message_event(msg);
        r->clock_ms += 10;
        if (event == NULL) {
            if (g_strcmp0(pami_message_get(msg, "Message"), "Channels will follow") == 0)
                pami_model_resync_begin(r->model);
            continue;
        }
        if (strcmp(event, "CoreShowChannelsComplete") == 0) {
            pami_model_resync_end(r->model, r->clock_ms);
            continue;
        }
        pami_model_event(r->model, msg, r->clock_ms);
    }
}

replay *replay_capture(const char *name, char *(*rewrite)(const char *text))
{
    replay *r = replay_new();
    replay_load(r, name, rewrite);
    replay_feed(r, r->messages);
    return r;
}

pami_message *replay_message(const char *fields)
{
    pami_message *m = pami_message_new();
    g_auto(GStrv) parts = g_strsplit(fields, "|", -1);
    for (guint i = 0; parts[i] != NULL; i++) {
        const char *colon = strchr(parts[i], ':');
        g_assert_nonnull(colon);
        g_autofree char *name = g_strndup(parts[i], (gsize)(colon - parts[i]));
        const char *value = colon[1] == ' ' ? colon + 2 : colon + 1;
        pami_message_add(m, g_strstrip(name), value);
    }
    return m;
}

void replay_dump(const replay *r)
{
    for (guint i = 0; i < r->out->len; i++)
        g_printerr("    \"%s\",\n", (const char *)r->out->pdata[i]);
}

void replay_assert(const replay *r, const char *const *expected)
{
    guint n = 0;
    while (expected[n] != NULL)
        n++;
    for (guint i = 0; i < MIN(n, r->out->len); i++) {
        if (strcmp(expected[i], r->out->pdata[i]) != 0) {
            replay_dump(r);
            g_printerr("change %u differs\n", i);
        }
        g_assert_cmpstr(r->out->pdata[i], ==, expected[i]);
    }
    if (n != r->out->len)
        replay_dump(r);
    g_assert_cmpuint(r->out->len, ==, n);
}

GPtrArray *replay_select(const replay *r, const char *prefix)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < r->out->len; i++)
        if (g_str_has_prefix(r->out->pdata[i], prefix))
            g_ptr_array_add(out, g_strdup(r->out->pdata[i]));
    return out;
}

guint replay_conversations(const replay *r)
{
    g_autoptr(GHashTable) ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < r->out->len; i++) {
        const char *conv = strstr(r->out->pdata[i], " conv=");
        if (conv != NULL)
            g_hash_table_add(ids, g_strdup(conv + 6));
    }
    return g_hash_table_size(ids);
}
