/*
 * contact-sink-recorder.c - the recording contact sink of the source tests.
 */
#include <stdlib.h>
#include <string.h>

#include "contact-sink-recorder.h"

#define OR_DASH(s) ((s) != NULL ? (s) : "-")

static int recorder_add(void *impl, const ucd_contact *c)
{
    contact_sink_recorder *r = impl;
    g_assert_cmpuint(c->struct_size, ==, sizeof(ucd_contact));
    if (r->fail_after > 0 && r->contacts->len >= r->fail_after)
        return r->fail_code;
    static const char *const kinds[] = {"other", "business", "mobile", "home", "fax"};
    GString *out = g_string_new(NULL);
    g_string_append_printf(out, "%s|%s|%s|%s|%s|%s|%s|%s|%s|", c->source_id,
                           OR_DASH(c->display_name), OR_DASH(c->given_name), OR_DASH(c->surname),
                           OR_DASH(c->company), OR_DASH(c->department), OR_DASH(c->email),
                           OR_DASH(c->address), OR_DASH(c->crm_link));
    for (uint32_t i = 0; i < c->n_numbers; i++) {
        g_assert_cmpuint(c->numbers[i].kind, <, G_N_ELEMENTS(kinds));
        g_string_append_printf(out, "%s%s:%s", i ? "," : "", kinds[c->numbers[i].kind],
                               c->numbers[i].raw);
    }
    g_ptr_array_add(r->contacts, g_string_free(out, FALSE));
    return UCD_OK;
}

static void recorder_skipped(void *impl, const char *where, const char *problem)
{
    contact_sink_recorder *r = impl;
    g_ptr_array_add(r->skipped, g_strdup_printf("%s: %s", where, problem));
}

static void recorder_progress(void *impl, uint64_t done, uint64_t total)
{
    contact_sink_recorder *r = impl;
    guint64 pair[2] = {done, total};
    g_array_append_vals(r->progress, pair, 2);
}

static int recorder_cancelled(void *impl)
{
    contact_sink_recorder *r = impl;
    r->checks++;
    return r->cancel_after > 0 && r->contacts->len >= r->cancel_after;
}

const ucd_contact_sink contact_sink_recorder_iface = {
    .struct_size = sizeof(ucd_contact_sink),
    .add = recorder_add,
    .skipped = recorder_skipped,
    .progress = recorder_progress,
    .cancelled = recorder_cancelled,
};

void contact_sink_recorder_init(contact_sink_recorder *r)
{
    memset(r, 0, sizeof(*r));
    r->contacts = g_ptr_array_new_with_free_func(g_free);
    r->skipped = g_ptr_array_new_with_free_func(g_free);
    r->progress = g_array_new(FALSE, FALSE, sizeof(guint64));
}

void contact_sink_recorder_clear(contact_sink_recorder *r)
{
    g_ptr_array_unref(r->contacts);
    g_ptr_array_unref(r->skipped);
    g_array_unref(r->progress);
}

int contact_sink_recorder_run(contact_sink_recorder *r, const ucd_contact_source_v1 *iface,
                              void *impl, char **error)
{
    g_assert_nonnull(iface);
    char *message = NULL;
    int result = iface->replicate(impl, &contact_sink_recorder_iface, r, &message);
    g_assert_true((result == UCD_OK) == (message == NULL));
    *error = g_strdup(message);
    free(message); /* the store frees it with free() */
    return result;
}

const char *contact_sink_recorder_find(GPtrArray *lines, const char *prefix)
{
    for (guint i = 0; i < lines->len; i++)
        if (g_str_has_prefix(lines->pdata[i], prefix))
            return lines->pdata[i];
    return NULL;
}

void contact_sink_recorder_assert_lines(GPtrArray *lines, const char *const *expected)
{
    guint n = g_strv_length((char **)expected);
    for (guint i = 0; i < lines->len && i < n; i++)
        g_assert_cmpstr(g_ptr_array_index(lines, i), ==, expected[i]);
    g_assert_cmpuint(lines->len, ==, n);
}
