/*
 * party.c - who the remote party of a call is (party.h).
 */
#include <ucd/contacts.h>

#include "modules.h"
#include "party.h"

void core_party_clear(core_party *p)
{
    g_clear_pointer(&p->name, g_free);
    g_clear_pointer(&p->company, g_free);
    g_clear_pointer(&p->source, g_free);
    g_clear_pointer(&p->user_id, g_free);
}

gboolean core_party_same(const core_party *a, const core_party *b)
{
    return g_strcmp0(a->name, b->name) == 0 && g_strcmp0(a->company, b->company) == 0 &&
           g_strcmp0(a->source, b->source) == 0 && g_strcmp0(a->user_id, b->user_id) == 0;
}

/* The first hit is the best: the store orders by exact match and source
 * priority before switchboard prefixes. */
static int take_first_hit(const ucd_contact_hit *hit, void *ud)
{
    core_party *out = ud;
    const ucd_contact *c = hit->contact;
    out->name = g_strdup(c->display_name);
    out->company = g_strdup(c->company);
    out->source = g_strdup(hit->source);
    return 1;
}

void core_party_identify(core_model *m, const char *driver, const char *raw, core_party *out)
{
    core_party_clear(out);
    if (!raw || !*raw)
        return;
    const core_user *u = core_directory_user_by_number(m, raw, driver);
    if (!u) {
        /* An internal call's remote number is the other line's address,
         * which no user stores as a phone number. */
        const core_line *line = core_model_line(m, driver, raw);
        u = line ? line->user : NULL;
    }
    if (u) {
        out->name = g_strdup(u->display_name ? u->display_name : u->login);
        out->source = g_strdup("directory");
        out->user_id = g_strdup(u->id);
        return;
    }
    ucd_service s = {.struct_size = sizeof s};
    if (core_modules_service_get(m->mods, UCD_CONTACTS_SERVICE, UCD_CONTACTS_MAJOR, NULL, &s) !=
        UCD_OK)
        return;
    const ucd_contacts_v1 *contacts = s.iface;
    contacts->lookup(s.impl, driver, raw, NULL, take_first_hit, out);
}
