/*
 * pbx-sip-dial.c - click-to-dial in the driver (see pbx-sip.h, README.md).
 *
 * The driver's INVITE to the user's phone is itself a dialog the server
 * publishes on the line (the phone as recipient): without care it would show
 * as a short inbound call and could become a journal row of its own. Each dial
 * therefore remembers its INVITE's Call-ID, and dialogs under it are not the
 * user's calls: ignored while the dial runs and for a grace period after
 * (servers keep ended dialogs in their documents for a while; Kamailio ~15 s).
 * A dial that fails before the phone's own call exists (the phone refuses,
 * is busy, does not answer, cannot be reached, or refuses the REFER) would
 * otherwise leave no trace but a log line, so it is published as one leg on
 * the line, dialing -> disconnected, with the failure's cause. So is one
 * whose REFER the phone took but whose call failed at once (a sipfrag NOTIFY
 * >= 300: Asterisk's 400 for a REFER before the bridge), unless the server
 * shows that call on the line itself.
 */
#include <inttypes.h>
#include <string.h>

#include "pbx-sip.h"

/* How long dialogs under our INVITE's Call-ID are still ours once the dial
 * is over: well above the ~15 s Kamailio lists ended dialogs. */
#define OWN_DIAL_GRACE_US (60 * G_USEC_PER_SEC)

typedef struct sip_own_dial {
    char *line_address;
    char *number;           /* as dialled, for the failure leg's remote_number */
    gint64 forget_at;       /* monotonic time after which it is forgotten; 0 while it runs */
    uint64_t outgoing_legs; /* the line's outgoing legs when the dial started */
} sip_own_dial;

static void own_dial_free(gpointer data)
{
    sip_own_dial *own = data;
    g_free(own->line_address);
    g_free(own->number);
    g_free(own);
}

GHashTable *sip_own_dials_new(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, own_dial_free);
}

static gboolean own_dial_expired(gpointer key, gpointer value, gpointer now)
{
    (void)key;
    const sip_own_dial *own = value;
    return own->forget_at != 0 && own->forget_at <= *(const gint64 *)now;
}

/* Forgets the dials whose grace period is over (the table stays small: one
 * entry per click-to-dial of the last minute). */
static void forget_old_dials(sip_driver *d)
{
    gint64 now = g_get_monotonic_time();
    g_hash_table_foreach_remove(d->own_dials, own_dial_expired, &now);
}

gboolean sip_own_dial_is_ours(sip_driver *d, const char *sip_call_id)
{
    forget_old_dials(d);
    return sip_call_id != NULL && g_hash_table_contains(d->own_dials, sip_call_id);
}

/* One leg on the line for a click-to-dial that never became a call:
 * dialing, then disconnected with `cause`; the line shows it too. */
static void publish_failed_dial(sip_driver *d, sip_line *line, const char *sip_call_id,
                                const char *number, uint32_t cause)
{
    sip_leg *leg = g_new0(sip_leg, 1);
    leg->call_id = g_strdup_printf("%s-%" PRIu64, d->id_prefix, ++d->next_call);
    leg->conversation_id = g_strdup_printf("%s-%s", d->id_prefix, sip_call_id);
    leg->direction =
        g_hash_table_contains(d->line_by_address, number) ? UCD_DIR_INTERNAL : UCD_DIR_OUTBOUND;
    leg->remote_number = g_strdup(number);
    leg->state = UCD_CALL_DIALING;
    g_hash_table_insert(line->legs, g_strdup(sip_call_id), leg);
    sip_leg_publish(d, line, leg, UCD_CALL_IDLE, UCD_CAUSE_NONE);
    sip_line_publish(d, line);
    leg->state = UCD_CALL_DISCONNECTED;
    sip_leg_publish(d, line, leg, UCD_CALL_DIALING, cause);
    g_hash_table_remove(line->legs, sip_call_id);
    sip_line_publish(d, line);
}

/* The cause of a failed dial: what the SIP status says, else failed. */
static uint32_t dial_failure_cause(int sip_code)
{
    psip_end_cause cause = psip_end_cause_of_code(sip_code);
    return sip_ucd_cause(cause == PSIP_END_NONE ? PSIP_END_FAILED : cause);
}

/* What the warning says for each way a dial fails. */
static const char *dial_failure_text(psip_dial_result result)
{
    switch (result) {
    case PSIP_DIAL_REFER_FAILED:
        return "the phone refused the transfer (REFER)";
    case PSIP_DIAL_CALL_FAILED:
        return "the phone took the transfer (REFER) but reported its call failed";
    default:
        return "the phone did not take the call";
    }
}

void sip_on_dial_end(const char *sip_call_id, psip_dial_result result, int sip_code,
                     void *user_data)
{
    sip_driver *d = user_data;
    sip_own_dial *own = g_hash_table_lookup(d->own_dials, sip_call_id);

    if (own == NULL)
        return;
    own->forget_at = g_get_monotonic_time() + OWN_DIAL_GRACE_US;
    sip_line *line = g_hash_table_lookup(d->line_by_address, own->line_address);
    if (result == PSIP_DIAL_DONE || line == NULL || !d->running)
        return;
    ucd_warning(d->host, d->self, "dial from %s to %s failed: %s (SIP %d)", own->line_address,
                own->number, dial_failure_text(result), sip_code);
    /* A server that publishes real dialogs (Kamailio) already shows the
     * phone's own call to the number, and how it ended, as a leg of the
     * line: a second, failed leg would be a second journal row for one call.
     * With hint state only (Asterisk) nothing else shows the failure. */
    if (result == PSIP_DIAL_CALL_FAILED && line->outgoing_legs != own->outgoing_legs)
        return;
    publish_failed_dial(d, line, sip_call_id, own->number, dial_failure_cause(sip_code));
}

/* Click-to-dial: the line's phone is called and told to call `number` (as
 * the number service says to dial it, pbx-sip-numbers.c). The
 * legs come, as for any call, from the dialog subscriptions, so no call id is
 * known yet: an empty one is written. */
int sip_dial(void *impl, const char *address, const char *number, char *call_id,
             size_t call_id_size)
{
    sip_driver *d = impl;
    const sip_line *line =
        address != NULL ? g_hash_table_lookup(d->line_by_address, address) : NULL;

    if (call_id != NULL && call_id_size > 0)
        call_id[0] = '\0';
    if (line == NULL)
        return UCD_E_NOT_FOUND;
    char *user_part = NULL;
    int rc = sip_dial_user_part(d->host, d->self, d->module_id, number, &user_part);
    if (rc != UCD_OK)
        return rc;
    if (!d->running || !line->link_up) {
        g_free(user_part);
        return UCD_E_UNAVAILABLE;
    }
    char *target = g_strdup_printf("sip:%s@%s", user_part, d->domain);
    g_free(user_part);
    char *sip_call_id = NULL;
    gboolean started = psip_subscriber_dial(d->subscriber, line->uri, target, &sip_call_id);
    g_free(target);
    if (!started)
        return UCD_FAIL;
    forget_old_dials(d);
    sip_own_dial *own = g_new0(sip_own_dial, 1);
    own->line_address = g_strdup(line->address);
    own->number = g_strdup(number);
    own->outgoing_legs = line->outgoing_legs;
    g_hash_table_insert(d->own_dials, sip_call_id, own);
    ucd_info(d->host, d->self, "dial: calling %s to connect it to %s", line->address, number);
    return UCD_OK;
}
