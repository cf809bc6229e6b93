/*
 * ami-model.c - Asterisk channels, dials, bridges and device states turned
 * into ucd legs and line states (contract and rules in ami-model.h).
 *
 * How it works. Every event updates the channels it names (a record per
 * Uniqueid). A leg's ucd state is never stored as the result of one event: it
 * is derived again from everything known about its channel (own ChannelState,
 * the dial it makes or receives, bridge, hold, hangup) each time the channel
 * or a channel related to it changes, and a change is reported only when the
 * derived state (or what the far end looks like) differs from what was last
 * reported. That is what makes the model indifferent to the order of events
 * across channels and to repeated events: the same facts give the same state
 * whatever order they arrived in.
 *
 * Facts about a channel that come from another channel's event (the Dest*
 * snapshot of a DialBegin, the LocalOne* snapshot of a LocalBridge) only fill
 * in what is unknown: such a snapshot may be older than the channel's own
 * latest event.
 *
 * Conversation ids start as the Linkedid; a transfer, a pickup, a shared
 * bridge or a consultation call (a new call from a line that holds another)
 * merges two of them, keeping the older Linkedid (Asterisk's ids are
 * "epoch.sequence", both integers: .10 is newer than .9). Legs that already reported keep
 * reporting the merged id.
 */
#include "ami-model.h"
#include "line-state.h"

#include <stdlib.h>
#include <string.h>

#include <ucd/event.h>

/* Asterisk's channel states (ChannelState:), from its channel state enum. */
enum {
    AST_STATE_DOWN = 0,
    AST_STATE_DIALING = 3,
    AST_STATE_RING = 4,
    AST_STATE_RINGING = 5,
    AST_STATE_UP = 6,
    AST_STATE_BUSY = 7,
};

/* How far relations are followed (Local pairs, dial chains): real chains are
 * two or three hops; the bound stops a loop built from bad input. */
#define MAX_HOPS 8

/* How many ended Uniqueids are remembered so a late event cannot bring a
 * channel back (BridgeLeave or DialEnd published after the Hangup). */
#define ENDED_MEMORY 4096

typedef struct model_line {
    char *name;
    int device_state; /* ucd_line_state from DeviceStateChange; -1 = none yet */
    int hint_state;   /* ucd_line_state from ExtensionStatus; -1 = none yet */
    uint32_t shown;   /* last reported; UCD_LINE_UNKNOWN before the first report */
    guint live_legs;
} model_line;

typedef struct channel {
    char *uniqueid;
    char *name;
    char *linkedid;
    char *conv;       /* conversation id */
    model_line *line; /* NULL: not on a mapped device (followed, never reported) */
    gboolean is_local;
    int ast_state;
    char *cid_num, *cid_name;
    char *conn_num, *conn_name;
    gboolean cid_restricted;
    char *dialled;        /* the Exten it called, when it started a call */
    char *exten;          /* its Exten on its own latest event */
    char *answered_exten; /* an Originate's channel: its Exten when the Originate's dial was
                             answered; the next other Exten is where the Originate sent it */
    char *bridge;         /* BridgeUniqueid while in a bridge */
    gboolean held;
    char *partner;        /* the other half of a Local pair (Uniqueid) */
    char *dial_dest;      /* the channel it dials or dialled (Uniqueid) */
    gboolean dialling;    /* between its DialBegin as caller and DialEnd */
    gboolean dial_failed; /* its last dial as caller ended unanswered */
    gboolean dest_rang;   /* DialState RINGING for its dial */
    char *dialled_by;     /* the caller of the dial that targeted it (Uniqueid) */
    gboolean dial_target;
    gboolean originated; /* rung by an Originate (a DialBegin without a caller): click-to-dial */
    uint32_t dial_cause; /* from the DialEnd that targeted it; NONE = answered/unknown */
    uint32_t hangup_cause;
    gboolean hung_up;
    char *transferred_by;    /* on a transferee: the line that transferred it away */
    gboolean pickup_pending; /* a call to a pickup code or a pickup Originate: no leg
                                until the Pickup says which call it takes */

    /* What was reported for its leg. */
    char *leg_id;
    uint32_t state; /* ucd_call_state; IDLE = nothing reported yet */
    uint32_t start_cause;
    uint32_t direction; /* as reported; only ever refined to INTERNAL */
    char *related_line;
    char *remote_number, *remote_name;
    uint32_t flags;
    char *requested;   /* as reported first (a pickup leg: the line whose call it took) */
    gboolean leg_over; /* reached a final state (transfer, pickup, link lost) */
    gboolean seen;     /* listed in the current resync */
} channel;

struct pami_model {
    pami_model_callbacks cb;
    GHashTable *lines;              /* name -> model_line (owned) */
    GHashTable *devices;            /* lower-case device -> model_line */
    GHashTable *hints;              /* lower-case exten@context -> model_line */
    GHashTable *channels;           /* Uniqueid -> channel (owned) */
    GHashTable *by_name;            /* channel name -> channel */
    GHashTable *legs;               /* leg id -> channel */
    GHashTable *conv_of;            /* Linkedid -> conversation id (owned strings) */
    GHashTable *ended;              /* Uniqueids recently hung up */
    GQueue ended_order;             /* the same, oldest first (strings owned by `ended`) */
    GHashTable *dirty;              /* channels to re-derive after the current event */
    char **pickup_codes;            /* dialled-number prefixes of pickup feature codes */
    GHashTable *pickup_expected;    /* Uniqueids of pickup Originates not seen yet */
    GHashTable *originate_expected; /* Uniqueid of a dial Originate not seen yet -> number */
    gboolean link_down;
    gboolean resyncing;
    int64_t now_ms;
    int64_t link_lost_ms; /* when the link went down (0: it did not since the last resync) */
};

/* ---- small helpers ---------------------------------------------------------------- */

static void set_str(char **field, const char *value)
{
    if (g_strcmp0(*field, value) == 0)
        return;
    g_free(*field);
    *field = g_strdup(value);
}

/* A header's value with a prefix ("Dest" + "Uniqueid"), NULL when empty or a
 * placeholder. */
static const char *get_p(const pami_message *e, const char *prefix, const char *name)
{
    if (prefix == NULL || *prefix == '\0')
        return pami_message_get_known(e, name);
    /* Called a dozen times per event: joined by hand, not by printf. */
    char key[96];
    gsize prefix_len = strlen(prefix), name_len = strlen(name);
    if (prefix_len + name_len >= sizeof key)
        return NULL;
    memcpy(key, prefix, prefix_len);
    memcpy(key + prefix_len, name, name_len + 1);
    return pami_message_get_known(e, key);
}

static int get_int(const pami_message *e, const char *prefix, const char *name, int fallback)
{
    const char *v = get_p(e, prefix, name);
    char *end;
    if (v == NULL)
        return fallback;
    long n = strtol(v, &end, 10);
    return end != v ? (int)n : fallback;
}

/* "PJSIP/alice-0000001a" -> "pjsip/alice" (lower case, for lookups). */
static char *device_of(const char *channel_name)
{
    const char *dash = strrchr(channel_name, '-');
    gsize len = dash != NULL ? (gsize)(dash - channel_name) : strlen(channel_name);
    return g_ascii_strdown(channel_name, (gssize)len);
}

/* Whether a dialled number is a pickup feature code ("*8", "**202"). */
static gboolean is_pickup_code(const pami_model *m, const char *dialled)
{
    for (char **code = m->pickup_codes; code != NULL && *code != NULL; code++)
        if (**code != '\0' && g_str_has_prefix(dialled, *code))
            return TRUE;
    return FALSE;
}

static gboolean is_final(uint32_t state)
{
    return state == UCD_CALL_DISCONNECTED || state == UCD_CALL_TRANSFERRED;
}

/* A Uniqueid split as Asterisk makes it: an optional system-name prefix
 * (manager.conf's systemname gives "sysname-1795358381.10"), the epoch
 * seconds and a sequence number counted up since start. */
typedef struct uniqueid_parts {
    gsize prefix_len; /* the text before the epoch */
    guint64 epoch, sequence;
} uniqueid_parts;

/* Reads the digits of s[from, to) (at most 19, so no overflow); FALSE when
 * empty or too long. */
static gboolean read_digits(const char *s, gsize from, gsize to, guint64 *out)
{
    if (to <= from || to - from > 19)
        return FALSE;
    guint64 n = 0;
    for (gsize i = from; i < to; i++)
        n = n * 10 + (guint64)(s[i] - '0');
    *out = n;
    return TRUE;
}

/* FALSE when `id` does not end in "EPOCH.SEQUENCE". By hand, not by
 * GRegex or strtoull: this runs for every pair of channels sorted after
 * each event. */
static gboolean uniqueid_split(const char *id, uniqueid_parts *p)
{
    gsize len = strlen(id), dot = len, start;
    while (dot > 0 && g_ascii_isdigit(id[dot - 1]))
        dot--;
    if (dot == 0 || id[dot - 1] != '.' || !read_digits(id, dot, len, &p->sequence))
        return FALSE;
    dot--;
    start = dot;
    while (start > 0 && g_ascii_isdigit(id[start - 1]))
        start--;
    p->prefix_len = start;
    return read_digits(id, start, dot, &p->epoch);
}

/* Uniqueids and Linkedids are "EPOCH.SEQUENCE" with both parts integers:
 * TRUE when `a` was made before `b`. "1795358381.10" is newer than
 * "1795358381.9" (read as decimals it would be older). Ids of other shapes,
 * or with different prefixes, are ordered as strings: any stable order. */
static gboolean linkedid_older(const char *a, const char *b)
{
    uniqueid_parts pa, pb;
    if (uniqueid_split(a, &pa) && uniqueid_split(b, &pb) && pa.prefix_len == pb.prefix_len &&
        strncmp(a, b, pa.prefix_len) == 0) {
        if (pa.epoch != pb.epoch)
            return pa.epoch < pb.epoch;
        if (pa.sequence != pb.sequence)
            return pa.sequence < pb.sequence;
    }
    return strcmp(a, b) < 0;
}

/* ---- lines -------------------------------------------------------------------------- */

static void line_free(gpointer p)
{
    model_line *l = p;
    g_free(l->name);
    g_free(l);
}

static model_line *line_get(pami_model *m, const char *name)
{
    model_line *l = g_hash_table_lookup(m->lines, name);
    if (l != NULL)
        return l;
    l = g_new0(model_line, 1);
    l->name = g_strdup(name);
    l->device_state = l->hint_state = -1;
    l->shown = UCD_LINE_UNKNOWN;
    g_hash_table_insert(m->lines, l->name, l);
    return l;
}

static uint32_t line_state_from_legs(pami_model *m, const model_line *l)
{
    line_state_tally tally = {0};
    GHashTableIter it;
    gpointer value;

    if (l->live_legs == 0)
        return UCD_LINE_IDLE;
    g_hash_table_iter_init(&it, m->legs);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        const channel *ch = value;
        if (ch->line == l)
            line_state_tally_add(&tally, ch->state);
    }
    return line_state_of_tally(&tally);
}

/* The device's own state is the most direct word on a line; a hint is next
 * (it may combine several devices); the legs are the last resort (a device
 * Asterisk publishes no state for). UNKNOWN from the device defers to the rest. */
static uint32_t line_state_now(pami_model *m, const model_line *l)
{
    if (m->link_down)
        return UCD_LINE_OUT_OF_SERVICE;
    if (l->device_state >= 0 && l->device_state != UCD_LINE_UNKNOWN)
        return (uint32_t)l->device_state;
    if (l->hint_state >= 0 && l->hint_state != UCD_LINE_UNKNOWN)
        return (uint32_t)l->hint_state;
    if (l->device_state == UCD_LINE_UNKNOWN || l->hint_state == UCD_LINE_UNKNOWN)
        return l->live_legs > 0 ? line_state_from_legs(m, l) : UCD_LINE_UNKNOWN;
    return line_state_from_legs(m, l);
}

static void line_publish(pami_model *m, model_line *l)
{
    uint32_t state = line_state_now(m, l);
    if (state == l->shown)
        return;
    pami_line_change c = {.line = l->name, .state = state, .prev_state = l->shown};
    l->shown = state;
    if (m->cb.line != NULL)
        m->cb.line(&c, m->cb.user_data);
}

/* DeviceStateChange State: -> ucd_line_state. */
static int line_state_of_device(const char *s)
{
    static const struct {
        const char *name;
        int state;
    } map[] = {
        {"NOT_INUSE", UCD_LINE_IDLE},
        {"INUSE", UCD_LINE_BUSY},
        {"BUSY", UCD_LINE_BUSY},
        {"RINGING", UCD_LINE_RINGING},
        {"RINGINUSE", UCD_LINE_BUSY},
        {"ONHOLD", UCD_LINE_HELD},
        {"UNAVAILABLE", UCD_LINE_OUT_OF_SERVICE},
        {"INVALID", UCD_LINE_OUT_OF_SERVICE},
        {"UNKNOWN", UCD_LINE_UNKNOWN},
    };
    for (gsize i = 0; s != NULL && i < G_N_ELEMENTS(map); i++)
        if (g_ascii_strcasecmp(s, map[i].name) == 0)
            return map[i].state;
    return -1;
}

/* ExtensionStatus Status: is a bit set (1 in use, 2 busy, 4 unavailable,
 * 8 ringing, 16 on hold); -1 and -2 mean the hint went away. */
static int line_state_of_hint(int status)
{
    if (status < 0)
        return UCD_LINE_UNKNOWN;
    if (status & 4)
        return UCD_LINE_OUT_OF_SERVICE;
    if (status & 16)
        return UCD_LINE_HELD;
    if (status & 3)
        return UCD_LINE_BUSY;
    if (status & 8)
        return UCD_LINE_RINGING;
    return UCD_LINE_IDLE;
}

/* ---- conversations ------------------------------------------------------------------- */

/* The conversation of a Linkedid: the one it was merged into, else itself. */
static const char *conv_of_linkedid(pami_model *m, const char *linkedid)
{
    const char *conv = g_hash_table_lookup(m->conv_of, linkedid);
    if (conv != NULL)
        return conv;
    g_hash_table_insert(m->conv_of, g_strdup(linkedid), g_strdup(linkedid));
    return g_hash_table_lookup(m->conv_of, linkedid);
}

static void mark_dirty(pami_model *m, channel *ch);

/* Joins conversations `a` and `b` under the older id. */
static void conv_merge_ids(pami_model *m, const char *a, const char *b)
{
    if (a == NULL || b == NULL || strcmp(a, b) == 0)
        return;
    gboolean a_older = linkedid_older(a, b);
    char *keep = g_strdup(a_older ? a : b);
    char *drop = g_strdup(a_older ? b : a);
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, m->conv_of);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (strcmp(value, drop) == 0)
            g_hash_table_iter_replace(&it, g_strdup(keep));
    g_hash_table_iter_init(&it, m->channels);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        channel *ch = value;
        if (ch->conv != NULL && strcmp(ch->conv, drop) == 0) {
            set_str(&ch->conv, keep);
            mark_dirty(m, ch);
        }
    }
    g_free(keep);
    g_free(drop);
}

static void conv_merge(pami_model *m, const channel *a, const channel *b)
{
    if (a != NULL && b != NULL)
        conv_merge_ids(m, a->conv, b->conv);
}

/* Forgets Linkedids no channel carries any more (the map would grow forever). */
static void conv_forget_unused(pami_model *m, const char *linkedid)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, m->channels);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (g_strcmp0(((channel *)value)->linkedid, linkedid) == 0)
            return;
    g_hash_table_remove(m->conv_of, linkedid);
}

/* ---- channels ------------------------------------------------------------------------- */

static void channel_free(gpointer p)
{
    channel *ch = p;
    g_free(ch->uniqueid);
    g_free(ch->name);
    g_free(ch->linkedid);
    g_free(ch->conv);
    g_free(ch->cid_num);
    g_free(ch->cid_name);
    g_free(ch->conn_num);
    g_free(ch->conn_name);
    g_free(ch->dialled);
    g_free(ch->exten);
    g_free(ch->answered_exten);
    g_free(ch->bridge);
    g_free(ch->partner);
    g_free(ch->dial_dest);
    g_free(ch->dialled_by);
    g_free(ch->transferred_by);
    g_free(ch->leg_id);
    g_free(ch->related_line);
    g_free(ch->requested);
    g_free(ch->remote_number);
    g_free(ch->remote_name);
    g_free(ch);
}

static channel *channel_find(pami_model *m, const char *uniqueid)
{
    return uniqueid != NULL ? g_hash_table_lookup(m->channels, uniqueid) : NULL;
}

static void mark_dirty(pami_model *m, channel *ch)
{
    if (ch != NULL)
        g_hash_table_add(m->dirty, ch->uniqueid);
}

static void channel_set_name(pami_model *m, channel *ch, const char *name)
{
    if (name == NULL || g_strcmp0(ch->name, name) == 0)
        return;
    if (ch->name != NULL && g_hash_table_lookup(m->by_name, ch->name) == ch)
        g_hash_table_remove(m->by_name, ch->name);
    set_str(&ch->name, name);
    g_hash_table_insert(m->by_name, ch->name, ch);
    ch->is_local = g_str_has_prefix(name, "Local/");
}

static model_line *line_of_channel(pami_model *m, const char *name)
{
    char *device = device_of(name);
    model_line *l = g_hash_table_lookup(m->devices, device);
    g_free(device);
    return l;
}

/* A line that holds a call and starts another is consulting: the new call
 * belongs to the held one's conversation (consultation transfer). */
static channel *held_channel_on(pami_model *m, const model_line *l, const channel *except)
{
    GHashTableIter it;
    gpointer value;
    if (l == NULL)
        return NULL;
    g_hash_table_iter_init(&it, m->channels);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        channel *ch = value;
        if (ch != except && ch->line == l && ch->held && !ch->hung_up)
            return ch;
    }
    return NULL;
}

static channel *channel_new(pami_model *m, const char *uniqueid, const char *name,
                            const char *linkedid)
{
    channel *ch = g_new0(channel, 1);
    ch->uniqueid = g_strdup(uniqueid);
    ch->leg_id = g_strdup(uniqueid);
    ch->ast_state = -1;
    channel_set_name(m, ch, name);
    ch->linkedid = g_strdup(linkedid != NULL ? linkedid : uniqueid);
    ch->conv = g_strdup(conv_of_linkedid(m, ch->linkedid));
    ch->line = line_of_channel(m, name);
    ch->pickup_pending = g_hash_table_remove(m->pickup_expected, uniqueid);
    char *expected_id = NULL, *number = NULL;
    ch->originated = g_hash_table_steal_extended(m->originate_expected, uniqueid,
                                                 (gpointer *)&expected_id, (gpointer *)&number);
    g_free(expected_id);
    g_free(ch->dialled);
    ch->dialled = number; /* what the user asked for: internal when it is a line */
    g_hash_table_insert(m->channels, ch->uniqueid, ch);
    return ch;
}

static void remember_ended(pami_model *m, const char *uniqueid)
{
    if (g_hash_table_contains(m->ended, uniqueid))
        return;
    char *copy = g_strdup(uniqueid);
    g_hash_table_add(m->ended, copy);
    g_queue_push_tail(&m->ended_order, copy);
    if (g_queue_get_length(&m->ended_order) > ENDED_MEMORY)
        g_hash_table_remove(m->ended, g_queue_pop_head(&m->ended_order));
}

/* Drops a channel: pointers to it by Uniqueid elsewhere just stop resolving. */
static void channel_remove(pami_model *m, channel *ch)
{
    char *linkedid = g_strdup(ch->linkedid);
    remember_ended(m, ch->uniqueid);
    if (g_hash_table_lookup(m->legs, ch->leg_id) == ch) {
        g_hash_table_remove(m->legs, ch->leg_id);
        if (ch->line != NULL && ch->line->live_legs > 0)
            ch->line->live_legs--;
    }
    if (ch->name != NULL && g_hash_table_lookup(m->by_name, ch->name) == ch)
        g_hash_table_remove(m->by_name, ch->name);
    g_hash_table_remove(m->dirty, ch->uniqueid);
    g_hash_table_remove(m->channels, ch->uniqueid);
    conv_forget_unused(m, linkedid);
    g_free(linkedid);
}

/* The other half of a Local pair: from LocalBridge, else by name (";1" <-> ";2"),
 * which needs no particular event order. */
static channel *local_partner(pami_model *m, const channel *ch)
{
    channel *p = channel_find(m, ch->partner);
    if (p != NULL || !ch->is_local || ch->name == NULL)
        return p;
    gsize len = strlen(ch->name);
    if (len < 2 || ch->name[len - 2] != ';')
        return NULL;
    char *other = g_strdup(ch->name);
    other[len - 1] = other[len - 1] == '1' ? '2' : '1';
    p = g_hash_table_lookup(m->by_name, other);
    g_free(other);
    return p;
}

/* The channel it talks to directly: the other member of its bridge, else the
 * other end of its dial. */
static channel *direct_peer(pami_model *m, const channel *ch)
{
    if (ch->bridge != NULL) {
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, m->channels);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
            channel *o = value;
            if (o != ch && g_strcmp0(o->bridge, ch->bridge) == 0)
                return o;
        }
    }
    channel *d = channel_find(m, ch->dial_dest);
    if (d != NULL && !d->hung_up)
        return d;
    return channel_find(m, ch->dialled_by);
}

/* The far end, through Local pairs: a Local half stands for whatever its
 * other half talks to. */
static channel *far_end(pami_model *m, const channel *ch)
{
    channel *peer = direct_peer(m, ch);
    for (int hop = 0; peer != NULL && peer->is_local && hop < MAX_HOPS; hop++) {
        channel *half = local_partner(m, peer);
        channel *next = half != NULL ? direct_peer(m, half) : NULL;
        if (next == NULL || next == ch)
            break;
        peer = next;
    }
    return peer;
}

/* The channel that started the call reaching `ch`: up the dial chain,
 * through Local pairs (";1" was dialled by whoever dials the pair). */
static channel *origin_of(pami_model *m, const channel *ch)
{
    channel *cur = (channel *)ch;
    for (int hop = 0; hop < MAX_HOPS; hop++) {
        channel *up = channel_find(m, cur->dialled_by);
        if (up == NULL && cur->is_local) {
            channel *half = local_partner(m, cur);
            up = half != NULL ? channel_find(m, half->dialled_by) : NULL;
        }
        if (up == NULL)
            break;
        cur = up;
    }
    return cur != ch ? cur : NULL;
}

/* The channel at the end of `ch`'s dial, through Local pairs. */
static channel *dial_end_of(pami_model *m, const channel *ch)
{
    channel *cur = channel_find(m, ch->dial_dest);
    for (int hop = 0; cur != NULL && cur->is_local && hop < MAX_HOPS; hop++) {
        channel *half = local_partner(m, cur);
        channel *next = half != NULL ? channel_find(m, half->dial_dest) : NULL;
        if (next == NULL)
            break;
        cur = next;
    }
    return cur;
}

/* Whether the party `ch` dials is being alerted (through Local pairs). */
static gboolean dial_rings(pami_model *m, const channel *ch)
{
    if (ch->dest_rang)
        return TRUE;
    channel *cur = channel_find(m, ch->dial_dest);
    for (int hop = 0; cur != NULL && hop < MAX_HOPS; hop++) {
        if (cur->ast_state == AST_STATE_RINGING)
            return TRUE;
        channel *half = cur->is_local ? local_partner(m, cur) : NULL;
        if (half == NULL)
            break;
        if (half->dest_rang)
            return TRUE;
        cur = channel_find(m, half->dial_dest);
    }
    return FALSE;
}

static gboolean is_line_number(pami_model *m, const char *number, const model_line *own)
{
    model_line *l = number != NULL ? g_hash_table_lookup(m->lines, number) : NULL;
    return l != NULL && l != own;
}

/* ---- deriving a leg ------------------------------------------------------------------ */

/* Hangup Cause: (Q.850) -> ucd cause. */
static uint32_t cause_of_q850(int q850)
{
    switch (q850) {
    case 17:
        return UCD_CAUSE_BUSY;
    case 18:
    case 19:
        return UCD_CAUSE_NO_ANSWER;
    case 21:
        return UCD_CAUSE_REJECTED;
    case 26: /* answered elsewhere: a pickup or another phone of a group */
        return UCD_CAUSE_PICKED_UP;
    case 1:
    case 2:
    case 3:
    case 20:
    case 22:
    case 27:
    case 28:
    case 29:
    case 34:
    case 38:
    case 41:
    case 42:
    case 44:
    case 47:
    case 58:
    case 65:
    case 66:
    case 79:
    case 88:
    case 102:
    case 111:
    case 127:
        return UCD_CAUSE_FAILED;
    default:
        return UCD_CAUSE_NORMAL;
    }
}

/* DialEnd DialStatus: -> ucd cause of the dialled leg (NONE: it answered). */
static uint32_t cause_of_dial_status(const char *status)
{
    if (status == NULL || g_ascii_strcasecmp(status, "ANSWER") == 0)
        return UCD_CAUSE_NONE;
    if (g_ascii_strcasecmp(status, "BUSY") == 0)
        return UCD_CAUSE_BUSY;
    if (g_ascii_strcasecmp(status, "NOANSWER") == 0 || g_ascii_strcasecmp(status, "CANCEL") == 0)
        return UCD_CAUSE_NO_ANSWER;
    if (g_ascii_strcasecmp(status, "CONGESTION") == 0 ||
        g_ascii_strcasecmp(status, "CHANUNAVAIL") == 0 ||
        g_ascii_strcasecmp(status, "INVALIDARGS") == 0)
        return UCD_CAUSE_FAILED;
    return UCD_CAUSE_NONE;
}

static uint32_t end_cause(const channel *ch)
{
    /* A dial's outcome says more than the dialled channel's hangup cause,
     * except "answered elsewhere", which is more precise than CANCEL. */
    if (ch->dial_cause != UCD_CAUSE_NONE && ch->hangup_cause != UCD_CAUSE_PICKED_UP)
        return ch->dial_cause;
    return ch->hangup_cause != UCD_CAUSE_NONE ? ch->hangup_cause : UCD_CAUSE_NORMAL;
}

/* The ucd state of a live channel (see the rules in ami-model.h). */
/* The channel (or, for a Local channel, its other half) dialled someone or
 * joined a bridge: its call reached beyond the phone. */
static gboolean call_went_out(pami_model *m, const channel *ch)
{
    if (ch->dial_dest != NULL || ch->bridge != NULL)
        return TRUE;
    const channel *partner = ch->partner != NULL ? channel_find(m, ch->partner) : NULL;
    return partner != NULL && (partner->dial_dest != NULL || partner->bridge != NULL);
}

static uint32_t derive_state(pami_model *m, const channel *ch)
{
    if (ch->hung_up)
        return UCD_CALL_DISCONNECTED;
    gboolean calling = ch->dialling || ch->dial_dest != NULL;
    /* A click-to-dial's phone rings and answers before the call goes out:
     * for the user that is all dialling (the phone's own call, not one
     * offered to it), until it dials and someone answers or it is bridged. */
    gboolean own_setup = ch->originated && ch->dialled_by == NULL && !call_went_out(m, ch) &&
                         ch->state != UCD_CALL_CONNECTED;
    switch (ch->ast_state) {
    case AST_STATE_UP:
        if (ch->held)
            return UCD_CALL_HELD;
        /* Answered first, now calling out (click-to-dial); a dial that ended
         * unanswered leaves it where it was until it hangs up or the dialplan
         * bridges it elsewhere: the phone was never connected to anyone. */
        if (ch->dialling || (ch->dial_failed && ch->bridge == NULL))
            return dial_rings(m, ch) ? UCD_CALL_RINGBACK : UCD_CALL_DIALING;
        return own_setup ? UCD_CALL_DIALING : UCD_CALL_CONNECTED;
    case AST_STATE_RINGING:
        return own_setup ? UCD_CALL_DIALING : UCD_CALL_OFFERING;
    case AST_STATE_RING:
        return dial_rings(m, ch) ? UCD_CALL_RINGBACK : UCD_CALL_DIALING;
    default:
        /* Down, Dialing, Busy...: a dialled channel is not alerted yet;
         * a channel that dials out is setting up its call. */
        if (ch->dial_target || !calling)
            return UCD_CALL_IDLE;
        return dial_rings(m, ch) ? UCD_CALL_RINGBACK : UCD_CALL_DIALING;
    }
}

/* An Originate's channel is the user's outgoing call (click-to-dial), though
 * its phone rings first. A channel alerted (Ringing) is being called even
 * before the DialBegin that names it arrives: a real Asterisk sends the callee's Newstate Ringing
 * first at times (pjsip-attended-transfer: bob, then carol). */
static gboolean is_caller(const channel *ch)
{
    if (ch->originated && ch->dialled_by == NULL)
        return TRUE; /* the user's own call, made from ucd: the phone rings first */
    return !ch->dial_target && ch->dialled_by == NULL && ch->ast_state != AST_STATE_RINGING;
}

static uint32_t derive_direction(pami_model *m, const channel *ch)
{
    if (is_caller(ch)) {
        channel *end = dial_end_of(m, ch);
        gboolean internal = (end != NULL && end->line != NULL && end->line != ch->line) ||
                            is_line_number(m, ch->dialled, ch->line);
        return internal ? UCD_DIR_INTERNAL : UCD_DIR_OUTBOUND;
    }
    channel *origin = origin_of(m, ch);
    if (origin == NULL) { /* the call started where the Linkedid did */
        channel *first = channel_find(m, ch->linkedid);
        origin = first != ch ? first : NULL;
    }
    return origin != NULL && origin->line != NULL && origin->line != ch->line ? UCD_DIR_INTERNAL
                                                                              : UCD_DIR_INBOUND;
}

static gboolean is_anonymous(const char *s)
{
    return s != NULL &&
           (g_ascii_strcasecmp(s, "anonymous") == 0 || g_ascii_strcasecmp(s, "restricted") == 0);
}

typedef struct remote_view {
    const char *number, *name, *requested;
    uint32_t flags;
} remote_view;

/* What the line sees of the other party. A far end that went away (hung up
 * first) does not erase what was known: the last values stay. */
static remote_view derive_remote(pami_model *m, const channel *ch)
{
    remote_view r = {ch->conn_num, ch->conn_name, NULL, ch->flags};
    channel *far = far_end(m, ch);

    if (r.number == NULL && far != NULL) {
        r.number = far->cid_num;
        r.name = r.name != NULL ? r.name : far->cid_name;
    }
    if ((far != NULL && far->cid_restricted && !is_caller(ch)) || is_anonymous(r.number) ||
        is_anonymous(r.name)) {
        r.number = r.name = NULL;
        r.flags |= UCD_CALL_FLAG_PRIVATE;
    }
    if (r.number == NULL && !(r.flags & UCD_CALL_FLAG_PRIVATE)) {
        r.number = ch->remote_number;
        r.name = r.name != NULL ? r.name : ch->remote_name;
    }
    const char *own = ch->line != NULL ? ch->line->name : NULL;
    if (is_caller(ch)) {
        r.requested = ch->dialled;
        /* Both halves of a Local channel are one line's call, and the half
         * that runs the dialplan (";2") runs the line's own exten: when an
         * Originate rang the other half, what the call asked for is where
         * the Originate sent that half (capture.txt: Local/200 sent to 100). */
        channel *half = ch->is_local ? local_partner(m, ch) : NULL;
        if ((r.requested == NULL || g_strcmp0(r.requested, own) == 0) && half != NULL &&
            half->originated && half->dialled_by == NULL && half->dialled != NULL)
            r.requested = half->dialled;
    } else {
        channel *origin = origin_of(m, ch);
        r.requested = origin != NULL ? origin->dialled : NULL;
    }
    if (ch->requested != NULL)
        r.requested = ch->requested;
    if (g_strcmp0(r.requested, own) == 0)
        r.requested = NULL;
    return r;
}

/* A transfer target: a new call made by a channel that was transferred away. */
static const char *transferred_by_of(pami_model *m, const channel *ch)
{
    const channel *cur = ch;
    for (int hop = 0; hop < MAX_HOPS; hop++) {
        channel *up = channel_find(m, cur->dialled_by);
        if (up == NULL && cur->is_local) {
            channel *half = local_partner(m, cur);
            up = half != NULL ? channel_find(m, half->dialled_by) : NULL;
        }
        if (up == NULL)
            return NULL;
        if (up->transferred_by != NULL)
            return up->transferred_by;
        cur = up;
    }
    return NULL;
}

/* The direction once known stays (the channels that told it may be gone by
 * the hangup); it may only be refined to INTERNAL when the far end turns out
 * to be a line (a dial reached one). */
static uint32_t leg_direction(pami_model *m, channel *ch)
{
    uint32_t now = derive_direction(m, ch);
    if (ch->direction == UCD_DIR_UNKNOWN || now == UCD_DIR_INTERNAL)
        ch->direction = now;
    return ch->direction;
}

static void emit_leg(pami_model *m, channel *ch, uint32_t state, uint32_t cause)
{
    uint32_t prev = ch->state;
    remote_view r = derive_remote(m, ch);
    pami_leg_change c = {
        .line = ch->line->name,
        .leg_id = ch->leg_id,
        .channel = ch->name,
        .conversation_id = ch->conv,
        .state = state,
        .prev_state = prev,
        .direction = leg_direction(m, ch),
        .cause = cause,
        .flags = r.flags,
        .remote_number = r.number,
        .remote_name = r.name,
        .requested_number = r.requested,
        .related_line = ch->related_line,
        .time_ms = m->now_ms,
    };

    if (prev == UCD_CALL_IDLE && state != UCD_CALL_IDLE) {
        g_hash_table_insert(m->legs, ch->leg_id, ch);
        ch->line->live_legs++;
    }
    ch->state = state;
    set_str(&ch->remote_number, r.number);
    set_str(&ch->remote_name, r.name);
    if (ch->requested == NULL) /* the caller that told it may hang up first */
        ch->requested = g_strdup(r.requested);
    ch->flags = r.flags;
    if (is_final(state)) {
        ch->leg_over = TRUE;
        if (g_hash_table_lookup(m->legs, ch->leg_id) == ch) {
            g_hash_table_remove(m->legs, ch->leg_id);
            ch->line->live_legs--;
        }
    }
    if (m->cb.leg != NULL)
        m->cb.leg(&c, m->cb.user_data);
    line_publish(m, ch->line);
}

/* A call for another monitored line that rings here was forwarded by the
 * dialplan (pjsip-dnd-cf: alice dials 202, CF/202 sends it through
 * Local/203@internal to carol). AMI says nothing of the forward itself, so
 * the number the caller dialled tells it; the reason is not known. */
static gboolean on_line_named(const channel *ch, const char *line)
{
    return ch != NULL && ch->line != NULL && g_strcmp0(ch->line->name, line) == 0;
}

/* Whether a channel on `line` is in the dial chain above `ch` (up to its
 * origin): then that line took the call and dialled on, no forward. */
static gboolean chain_has_line(pami_model *m, const channel *ch, const char *line)
{
    const channel *cur = ch;
    for (int hop = 0; hop < MAX_HOPS; hop++) {
        channel *up = channel_find(m, cur->dialled_by);
        if (up == NULL && cur->is_local) {
            channel *half = local_partner(m, cur);
            if (on_line_named(half, line))
                return TRUE;
            up = half != NULL ? channel_find(m, half->dialled_by) : NULL;
        }
        if (up == NULL)
            return FALSE;
        if (on_line_named(up, line))
            return TRUE;
        cur = up;
    }
    return FALSE;
}

static void note_forwarded(pami_model *m, channel *ch)
{
    if (ch->start_cause != UCD_CAUSE_NONE || is_caller(ch))
        return;
    channel *origin = origin_of(m, ch);
    const char *dialled = origin != NULL ? origin->dialled : NULL;
    if (!is_line_number(m, dialled, ch->line) || chain_has_line(m, ch, dialled))
        return;
    ch->start_cause = UCD_CAUSE_FORWARDED;
    set_str(&ch->related_line, dialled);
}

/* Re-derives a leg and reports it when its state or its far end changed. */
static void leg_refresh(pami_model *m, channel *ch)
{
    if (ch->line == NULL || ch->leg_over)
        return;
    uint32_t state = derive_state(m, ch);
    if (state == UCD_CALL_IDLE || (ch->pickup_pending && ch->state == UCD_CALL_IDLE))
        return;
    /* Once the far end rang, the caller hears ringback until it is
     * connected: the far end answering first does not make it dial again. */
    if (state == UCD_CALL_RINGBACK)
        ch->dest_rang = TRUE;
    if (ch->state == UCD_CALL_IDLE) {
        const char *by = transferred_by_of(m, ch);
        if (by != NULL && ch->start_cause == UCD_CAUSE_NONE) {
            ch->start_cause = UCD_CAUSE_TRANSFERRED;
            set_str(&ch->related_line, by);
        }
        note_forwarded(m, ch);
        emit_leg(m, ch, state, state == UCD_CALL_DISCONNECTED ? end_cause(ch) : ch->start_cause);
        return;
    }
    if (state != ch->state) {
        emit_leg(m, ch, state, state == UCD_CALL_DISCONNECTED ? end_cause(ch) : UCD_CAUSE_NONE);
        return;
    }
    remote_view r = derive_remote(m, ch);
    /* What a caller asked for, learnt late (an Originate's channel shows
     * where it was sent only after it answered), is reported at once: the
     * channel that told it may be gone by the next change. */
    gboolean asked_late = ch->requested == NULL && r.requested != NULL && is_caller(ch);
    if (g_strcmp0(r.number, ch->remote_number) != 0 || g_strcmp0(r.name, ch->remote_name) != 0 ||
        r.flags != ch->flags || asked_late)
        emit_leg(m, ch, state, UCD_CAUSE_NONE);
}

/* Ends a leg now with `state` and `cause` (transfer, pickup, link lost). */
static void leg_finish(pami_model *m, channel *ch, uint32_t state, uint32_t cause,
                       const char *related)
{
    if (ch == NULL || ch->line == NULL || ch->leg_over)
        return;
    if (related != NULL)
        set_str(&ch->related_line, related);
    emit_leg(m, ch, state, cause);
}

/* Everything whose derived state may depend on `ch`: itself, its Local half,
 * and the chain of callers above it (their RINGBACK depends on it). */
static void touch(pami_model *m, channel *ch)
{
    channel *cur = ch;
    for (int hop = 0; cur != NULL && hop < MAX_HOPS; hop++) {
        mark_dirty(m, cur);
        channel *half = cur->is_local ? local_partner(m, cur) : NULL;
        mark_dirty(m, half);
        mark_dirty(m, channel_find(m, cur->dial_dest));
        channel *up = channel_find(m, cur->dialled_by);
        if (up == NULL && half != NULL)
            up = channel_find(m, half->dialled_by);
        cur = up;
    }
    /* Whoever shares its bridge sees a new far end. */
    channel *peer = ch->bridge != NULL ? direct_peer(m, ch) : NULL;
    mark_dirty(m, peer);
}

static int compare_uniqueids(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    if (strcmp(x, y) == 0)
        return 0;
    return linkedid_older(x, y) ? -1 : 1;
}

static int compare_channels(gconstpointer a, gconstpointer b)
{
    const channel *x = *(channel *const *)a, *y = *(channel *const *)b;
    return compare_uniqueids(&x->uniqueid, &y->uniqueid);
}

/* Refreshes the dirty legs in a stable order (by Uniqueid), so the report
 * order does not depend on hash order. */
static void flush_dirty(pami_model *m)
{
    while (g_hash_table_size(m->dirty) > 0) {
        guint n;
        gpointer *keys = g_hash_table_get_keys_as_array(m->dirty, &n);
        char **ids = g_new0(char *, n + 1);
        for (guint i = 0; i < n; i++)
            ids[i] = g_strdup(keys[i]);
        g_free(keys);
        g_hash_table_remove_all(m->dirty);
        qsort(ids, n, sizeof(char *), compare_uniqueids);
        for (guint i = 0; i < n; i++) {
            channel *ch = channel_find(m, ids[i]);
            if (ch != NULL)
                leg_refresh(m, ch);
        }
        g_strfreev(ids);
    }
}

/* ---- applying events ------------------------------------------------------------------ */

/* Caller id presentation: "32 (Presentation Restricted, Not Screened)";
 * 0x20 set = restricted, 0x40 = number unavailable. */
static gboolean presentation_restricted(const char *pres)
{
    return pres != NULL && (atoi(pres) & 0x60) == 0x20;
}

static void take_known(char **field, const char *value, gboolean overwrite)
{
    if (value != NULL && (overwrite || *field == NULL))
        set_str(field, value);
}

/* Updates what an event says about a channel. `own`: the event is the
 * channel's own (no prefix); otherwise it is another channel's snapshot of
 * it and only fills in. Creates the channel when allowed and it is not one
 * that already ended. */
static channel *apply_snapshot(pami_model *m, const pami_message *e, const char *prefix,
                               gboolean own, gboolean may_create)
{
    const char *uniqueid = get_p(e, prefix, "Uniqueid");
    const char *name = get_p(e, prefix, "Channel");
    channel *ch = uniqueid != NULL ? channel_find(m, uniqueid)
                                   : (name != NULL ? g_hash_table_lookup(m->by_name, name) : NULL);

    if (ch == NULL) {
        if (!may_create || uniqueid == NULL || name == NULL ||
            g_hash_table_contains(m->ended, uniqueid))
            return NULL;
        ch = channel_new(m, uniqueid, name, get_p(e, prefix, "Linkedid"));
    }
    int state = get_int(e, prefix, "ChannelState", -1);
    if (state >= 0 && (own || ch->ast_state < 0))
        ch->ast_state = state;
    take_known(&ch->cid_num, get_p(e, prefix, "CallerIDNum"), own);
    take_known(&ch->cid_name, get_p(e, prefix, "CallerIDName"), own);
    take_known(&ch->conn_num, get_p(e, prefix, "ConnectedLineNum"), own);
    take_known(&ch->conn_name, get_p(e, prefix, "ConnectedLineName"), own);
    if (own && get_p(e, prefix, "CID-CallingPres") != NULL)
        ch->cid_restricted = presentation_restricted(get_p(e, prefix, "CID-CallingPres"));
    /* What a caller dialled: its Exten while it is the ringing (calling)
     * side, before the dialplan moves it elsewhere. */
    const char *exten = get_p(e, prefix, "Exten");
    if (ch->dialled == NULL && exten != NULL && ch->ast_state == AST_STATE_RING && own) {
        ch->dialled = g_strdup(exten);
        ch->pickup_pending |= is_pickup_code(m, exten);
    }
    /* What an Originate's channel was sent to (another AMI client's
     * click-to-dial, Asterisk's CDR dst): Asterisk moves the answered channel
     * to the Originate's Exten only after the dial's DialEnd, so the first
     * other Exten on its own events after it. With Newexten filtered that is
     * its DialBegin when it dials on (pjsip-originate: 202) or its Hangup
     * (capture_filtered: 100). An Originate to an application leaves the
     * Exten as it was: no number. */
    if (own && exten != NULL) {
        if (ch->dialled == NULL && ch->answered_exten != NULL &&
            strcmp(exten, ch->answered_exten) != 0)
            ch->dialled = g_strdup(exten);
        set_str(&ch->exten, exten);
    }
    const char *linkedid = get_p(e, prefix, "Linkedid");
    if (own && linkedid != NULL && g_strcmp0(linkedid, ch->linkedid) != 0) {
        /* Asterisk moved it to another call (bridging gives every member the
         * oldest Linkedid): both calls are one conversation. */
        set_str(&ch->linkedid, linkedid);
        conv_merge_ids(m, ch->conv, conv_of_linkedid(m, linkedid));
    }
    return ch;
}

static void on_channel_event(pami_model *m, const pami_message *e)
{
    channel *ch = apply_snapshot(m, e, NULL, TRUE, TRUE);
    if (ch != NULL)
        touch(m, ch);
}

static void on_newchannel(pami_model *m, const pami_message *e)
{
    gboolean known = channel_find(m, get_p(e, NULL, "Uniqueid")) != NULL;
    channel *ch = apply_snapshot(m, e, NULL, TRUE, TRUE);
    if (ch == NULL)
        return;
    if (!known) /* a consultation call joins the call its line holds */
        conv_merge(m, held_channel_on(m, ch->line, ch), ch);
    touch(m, ch);
}

/* A bridge's members are one conversation. */
static void join_bridge(pami_model *m, channel *ch, const char *bridge)
{
    if (bridge == NULL)
        return;
    set_str(&ch->bridge, bridge);
    channel *peer = direct_peer(m, ch);
    conv_merge(m, peer, ch);
    mark_dirty(m, peer);
}

static void on_core_show_channel(pami_model *m, const pami_message *e)
{
    channel *ch = apply_snapshot(m, e, NULL, TRUE, TRUE);
    if (ch == NULL)
        return;
    ch->seen = TRUE;
    const char *app = get_p(e, NULL, "Application");
    if (g_strcmp0(app, "AppDial") == 0) /* Dial's outgoing channel: it was dialled */
        ch->dial_target = TRUE;
    /* A channel that runs Dial or Queue itself called its Exten (pjsip-resync:
     * alice's channel, Up, Exten 202): what it dialled, and whether the call
     * is internal, are known without its Newchannel. */
    const char *exten = get_p(e, NULL, "Exten");
    if (!ch->dial_target && ch->dialled == NULL && exten != NULL && *exten != '\0' &&
        (g_strcmp0(app, "Dial") == 0 || g_strcmp0(app, "Queue") == 0))
        ch->dialled = g_strdup(exten);
    join_bridge(m, ch, get_p(e, NULL, "BridgeId"));
    touch(m, ch);
}

static void on_dial_begin(pami_model *m, const pami_message *e)
{
    channel *caller = apply_snapshot(m, e, NULL, TRUE, TRUE); /* NULL: Originate */
    channel *dest = apply_snapshot(m, e, "Dest", caller == NULL, TRUE);
    if (dest == NULL)
        return;
    dest->dial_target = TRUE;
    dest->originated |= caller == NULL && dest->dialled_by == NULL;
    dest->dial_cause = UCD_CAUSE_NONE;
    if (caller != NULL) {
        set_str(&dest->dialled_by, caller->uniqueid);
        set_str(&caller->dial_dest, dest->uniqueid);
        caller->pickup_pending = FALSE; /* it dials: a call after all (*80 intercom) */
        caller->dialling = TRUE;
        caller->dial_failed = FALSE;
        caller->dest_rang = FALSE;
        touch(m, caller);
    }
    touch(m, dest);
}

static void on_dial_state(pami_model *m, const pami_message *e)
{
    channel *caller = apply_snapshot(m, e, NULL, TRUE, FALSE);
    const char *status = get_p(e, NULL, "DialStatus");
    if (caller == NULL)
        return;
    if (status != NULL && g_ascii_strcasecmp(status, "RINGING") == 0)
        caller->dest_rang = TRUE;
    touch(m, caller);
}

static void on_dial_end(pami_model *m, const pami_message *e)
{
    channel *caller = apply_snapshot(m, e, NULL, TRUE, FALSE);
    channel *dest = apply_snapshot(m, e, "Dest", caller == NULL, FALSE);
    const char *status = get_p(e, NULL, "DialStatus");
    if (dest != NULL) {
        dest->dial_cause = cause_of_dial_status(status);
        if (caller == NULL && dest->originated && dest->dialled_by == NULL &&
            g_strcmp0(status, "ANSWER") == 0 && dest->answered_exten == NULL)
            dest->answered_exten = g_strdup(dest->exten != NULL ? dest->exten : "");
        touch(m, dest);
    }
    /* An answer ends the caller's dial even from a channel it never dialled:
     * after a Pickup the DialEnd ANSWER names the picking channel
     * (pjsip-pickup: alice's dial of bob is answered by carol). */
    if (caller != NULL && dest != NULL && g_strcmp0(status, "ANSWER") == 0)
        set_str(&caller->dial_dest, dest->uniqueid);
    if (caller != NULL && (dest == NULL || g_strcmp0(caller->dial_dest, dest->uniqueid) == 0)) {
        caller->dialling = FALSE;
        caller->dial_failed = g_strcmp0(status, "ANSWER") != 0;
        touch(m, caller);
    }
}

static void on_local_bridge(pami_model *m, const pami_message *e)
{
    channel *one = apply_snapshot(m, e, "LocalOne", FALSE, TRUE);
    channel *two = apply_snapshot(m, e, "LocalTwo", FALSE, TRUE);
    if (one == NULL || two == NULL)
        return;
    set_str(&one->partner, two->uniqueid);
    set_str(&two->partner, one->uniqueid);
    conv_merge(m, one, two);
    touch(m, one);
    touch(m, two);
}

static void on_bridge_enter(pami_model *m, const pami_message *e)
{
    channel *ch = apply_snapshot(m, e, NULL, TRUE, TRUE);
    if (ch == NULL)
        return;
    join_bridge(m, ch, get_p(e, NULL, "BridgeUniqueid"));
    touch(m, ch);
}

static void on_bridge_leave(pami_model *m, const pami_message *e)
{
    channel *ch = apply_snapshot(m, e, NULL, TRUE, FALSE);
    if (ch == NULL)
        return;
    touch(m, ch); /* the peer first: it loses its far end */
    if (g_strcmp0(ch->bridge, get_p(e, NULL, "BridgeUniqueid")) == 0)
        set_str(&ch->bridge, NULL);
}

static void set_hold(pami_model *m, const pami_message *e, gboolean held)
{
    channel *ch = apply_snapshot(m, e, NULL, TRUE, FALSE);
    if (ch == NULL)
        return;
    ch->held = held;
    touch(m, ch);
}

static void on_hold(pami_model *m, const pami_message *e)
{
    set_hold(m, e, TRUE);
}

static void on_unhold(pami_model *m, const pami_message *e)
{
    set_hold(m, e, FALSE);
}

/* A Hangup's ucd cause. PJSIP reports a CANCEL as Cause 127 (Interworking)
 * on both channels; the caller's has TechCause 487 (its INVITE was
 * cancelled: it gave up), which is a normal end for it, not a failure. The
 * callee's end comes from DialStatus CANCEL (no answer). */
static uint32_t hangup_cause_of(const pami_message *e)
{
    int q850 = get_int(e, NULL, "Cause", 16);
    if (q850 == 127 && get_int(e, NULL, "TechCause", 0) == 487)
        return UCD_CAUSE_NORMAL;
    return cause_of_q850(q850);
}

static void on_hangup(pami_model *m, const pami_message *e)
{
    channel *ch = apply_snapshot(m, e, NULL, TRUE, FALSE);
    if (ch == NULL)
        return; /* never seen, or its end was already reported */
    ch->hung_up = TRUE;
    ch->hangup_cause = hangup_cause_of(e);
    touch(m, ch);
    flush_dirty(m);
    channel_remove(m, ch);
}

static void on_rename(pami_model *m, const pami_message *e)
{
    channel *ch = channel_find(m, get_p(e, NULL, "Uniqueid"));
    if (ch == NULL)
        ch = g_hash_table_lookup(m->by_name,
                                 get_p(e, NULL, "Channel") ? get_p(e, NULL, "Channel") : "");
    if (ch != NULL)
        channel_set_name(m, ch, get_p(e, NULL, "Newname"));
}

static const char *line_name(const channel *ch)
{
    return ch != NULL && ch->line != NULL ? ch->line->name : NULL;
}

static gboolean transfer_succeeded(const pami_message *e)
{
    const char *result = get_p(e, NULL, "Result");
    return result == NULL || g_ascii_strcasecmp(result, "Success") == 0;
}

/* The transferer leaves; whatever the transferee calls next is a transfer
 * target (the new leg carries cause TRANSFERRED and the transferer's line). */
static void on_blind_transfer(pami_model *m, const pami_message *e)
{
    if (!transfer_succeeded(e))
        return;
    channel *transferer = channel_find(m, get_p(e, "Transferer", "Uniqueid"));
    channel *transferee = channel_find(m, get_p(e, "Transferee", "Uniqueid"));
    if (transferer == NULL)
        return;
    if (transferee == NULL)
        transferee = direct_peer(m, transferer);
    if (transferee != NULL && line_name(transferer) != NULL) {
        set_str(&transferee->transferred_by, line_name(transferer));
        mark_dirty(m, transferee);
    }
    const char *exten = get_p(e, NULL, "Extension");
    model_line *target = exten != NULL ? g_hash_table_lookup(m->lines, exten) : NULL;
    leg_finish(m, transferer, UCD_CALL_TRANSFERRED, UCD_CAUSE_TRANSFERRED,
               target != NULL ? target->name : NULL);
}

/* A leg whose far end was changed by a transfer: one event, same state. */
static void note_transferred(pami_model *m, channel *ch, const char *by)
{
    if (ch == NULL || ch->line == NULL || ch->leg_over || ch->state == UCD_CALL_IDLE)
        return;
    if (by != NULL)
        set_str(&ch->related_line, by);
    emit_leg(m, ch, ch->state, UCD_CAUSE_TRANSFERRED);
}

static void on_attended_transfer(pami_model *m, const pami_message *e)
{
    if (!transfer_succeeded(e))
        return;
    channel *first = channel_find(m, get_p(e, "OrigTransferer", "Uniqueid"));
    channel *second = channel_find(m, get_p(e, "SecondTransferer", "Uniqueid"));
    channel *transferee = channel_find(m, get_p(e, "Transferee", "Uniqueid"));
    channel *target = channel_find(m, get_p(e, "TransferTarget", "Uniqueid"));
    if (transferee == NULL && first != NULL)
        transferee = direct_peer(m, first);
    if (target == NULL && second != NULL)
        target = direct_peer(m, second);
    conv_merge(m, first, second);
    conv_merge(m, first != NULL ? first : second, transferee);
    conv_merge(m, first != NULL ? first : second, target);
    const char *by = line_name(first) != NULL ? line_name(first) : line_name(second);
    note_transferred(m, target, by);
    note_transferred(m, transferee, by);
    leg_finish(m, first, UCD_CALL_TRANSFERRED, UCD_CAUSE_TRANSFERRED, line_name(target));
    leg_finish(m, second, UCD_CALL_TRANSFERRED, UCD_CAUSE_TRANSFERRED, line_name(target));
}

/* The end of a leg whose channel goes on as another leg (a pickup). */
static void emit_replaced_end(pami_model *m, const channel *ch, const char *leg_id,
                              const char *conv, uint32_t prev)
{
    pami_leg_change c = {
        .line = ch->line->name,
        .leg_id = leg_id,
        .channel = ch->name,
        .conversation_id = conv,
        .state = UCD_CALL_DISCONNECTED,
        .prev_state = prev,
        .direction = ch->direction,
        .cause = UCD_CAUSE_NORMAL,
        .flags = ch->flags,
        .remote_number = ch->remote_number,
        .remote_name = ch->remote_name,
        .time_ms = m->now_ms,
    };
    if (m->cb.leg != NULL)
        m->cb.leg(&c, m->cb.user_data);
}

/* The picking channel's leg is the picked call's: in its conversation,
 * cause picked_up; the ringing leg ends. Its call to the pickup code was held
 * back (pickup_pending), so the channel's own Uniqueid becomes the leg; only a
 * call already reported (a code not in the pickup codes) ends first and the
 * pickup is a new leg "UNIQUEID/pickup". */
static void on_pickup(pami_model *m, const pami_message *e)
{
    channel *picker = apply_snapshot(m, e, NULL, TRUE, TRUE);
    channel *target = channel_find(m, get_p(e, "Target", "Uniqueid"));
    if (picker == NULL || target == NULL || picker == target)
        return;
    char *old_conv = g_strdup(picker->conv); /* the call to the pickup code keeps its own */
    conv_merge(m, target, picker);
    picker->pickup_pending = FALSE;
    if (picker->line == NULL) {
        leg_finish(m, target, UCD_CALL_DISCONNECTED, UCD_CAUSE_PICKED_UP, NULL);
        g_free(old_conv);
        return;
    }
    char *old_leg = NULL;
    uint32_t old_state = picker->state;
    if (picker->state != UCD_CALL_IDLE) {
        if (!picker->leg_over) {
            old_leg = g_strdup(picker->leg_id);
            g_hash_table_remove(m->legs, old_leg);
            picker->line->live_legs--;
        }
        char *leg_id = g_strdup_printf("%s/pickup", picker->uniqueid);
        set_str(&picker->leg_id, leg_id);
        g_free(leg_id);
    }
    picker->state = UCD_CALL_IDLE;
    picker->leg_over = FALSE;
    picker->start_cause = UCD_CAUSE_PICKED_UP;
    set_str(&picker->related_line, line_name(target));
    set_str(&picker->requested, line_name(target));
    set_str(&picker->dial_dest, NULL);
    picker->dialling = FALSE;
    picker->dial_target = TRUE; /* it answers the picked call */
    set_str(&picker->dialled_by, target->dialled_by);
    if (derive_state(m, picker) == UCD_CALL_IDLE || derive_state(m, picker) == UCD_CALL_DIALING)
        picker->ast_state = AST_STATE_UP; /* Pickup answers the picking channel */
    leg_refresh(m, picker);
    leg_finish(m, target, UCD_CALL_DISCONNECTED, UCD_CAUSE_PICKED_UP, line_name(picker));
    if (old_leg != NULL)
        emit_replaced_end(m, picker, old_leg, old_conv, old_state);
    g_free(old_leg);
    g_free(old_conv);
}

static void on_device_state(pami_model *m, const pami_message *e)
{
    const char *device = get_p(e, NULL, "Device");
    if (device == NULL)
        return;
    char *key = g_ascii_strdown(device, -1);
    model_line *l = g_hash_table_lookup(m->devices, key);
    g_free(key);
    int state = line_state_of_device(get_p(e, NULL, "State"));
    if (l == NULL || state < 0)
        return;
    l->device_state = state;
    line_publish(m, l);
}

static void on_extension_status(pami_model *m, const pami_message *e)
{
    const char *exten = get_p(e, NULL, "Exten"), *context = get_p(e, NULL, "Context");
    if (exten == NULL || context == NULL)
        return;
    char *key = g_ascii_strdown(exten, -1);
    char *hint = g_strdup_printf("%s@%s", key, context);
    g_free(key);
    key = g_ascii_strdown(hint, -1);
    g_free(hint);
    model_line *l = g_hash_table_lookup(m->hints, key);
    g_free(key);
    int status = get_int(e, NULL, "Status", G_MININT);
    if (l == NULL || status == G_MININT)
        return;
    l->hint_state = line_state_of_hint(status);
    line_publish(m, l);
}

typedef void (*event_handler)(pami_model *m, const pami_message *e);

static const struct {
    const char *name;
    event_handler handler;
} handlers[] = {
    {"Newchannel", on_newchannel},
    {"Newstate", on_channel_event},
    {"NewCallerid", on_channel_event},
    {"NewConnectedLine", on_channel_event},
    {"CoreShowChannel", on_core_show_channel},
    {"DialBegin", on_dial_begin},
    {"DialState", on_dial_state},
    {"DialEnd", on_dial_end},
    {"LocalBridge", on_local_bridge},
    {"BridgeEnter", on_bridge_enter},
    {"BridgeLeave", on_bridge_leave},
    {"Hold", on_hold},
    {"Unhold", on_unhold},
    {"Hangup", on_hangup},
    {"Rename", on_rename},
    {"BlindTransfer", on_blind_transfer},
    {"AttendedTransfer", on_attended_transfer},
    {"Pickup", on_pickup},
    {"DeviceStateChange", on_device_state},
    {"ExtensionStatus", on_extension_status},
};

/* ---- public ---------------------------------------------------------------------------- */

pami_model *pami_model_new(const pami_model_callbacks *callbacks)
{
    pami_model *m = g_new0(pami_model, 1);
    if (callbacks != NULL)
        m->cb = *callbacks;
    m->lines = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, line_free);
    m->devices = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    m->hints = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    m->channels = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, channel_free);
    m->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    m->legs = g_hash_table_new(g_str_hash, g_str_equal);
    m->conv_of = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    m->ended = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_queue_init(&m->ended_order);
    m->dirty = g_hash_table_new(g_str_hash, g_str_equal);
    m->pickup_expected = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    m->originate_expected = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    static const char *const default_codes[] = {"*8", "**", NULL};
    pami_model_set_pickup_codes(m, default_codes);
    return m;
}

void pami_model_free(pami_model *m)
{
    if (m == NULL)
        return;
    g_hash_table_destroy(m->dirty);
    g_hash_table_destroy(m->pickup_expected);
    g_hash_table_destroy(m->originate_expected);
    g_strfreev(m->pickup_codes);
    g_hash_table_destroy(m->legs);
    g_hash_table_destroy(m->by_name);
    g_hash_table_destroy(m->channels);
    g_hash_table_destroy(m->conv_of);
    g_queue_clear(&m->ended_order);
    g_hash_table_destroy(m->ended);
    g_hash_table_destroy(m->hints);
    g_hash_table_destroy(m->devices);
    g_hash_table_destroy(m->lines);
    g_free(m);
}

static gboolean map_key(GHashTable *table, const char *key, model_line *l)
{
    char *lower = g_ascii_strdown(key, -1);
    model_line *owner = g_hash_table_lookup(table, lower);
    if (owner != NULL && owner != l) {
        g_free(lower);
        return FALSE;
    }
    g_hash_table_insert(table, lower, l);
    return TRUE;
}

gboolean pami_model_map_device(pami_model *m, const char *device, const char *line)
{
    g_return_val_if_fail(m != NULL && device != NULL && line != NULL, FALSE);
    return map_key(m->devices, device, line_get(m, line));
}

gboolean pami_model_map_hint(pami_model *m, const char *hint, const char *line)
{
    g_return_val_if_fail(m != NULL && hint != NULL && line != NULL, FALSE);
    return map_key(m->hints, hint, line_get(m, line));
}

void pami_model_set_pickup_codes(pami_model *m, const char *const *codes)
{
    g_return_if_fail(m != NULL);
    g_strfreev(m->pickup_codes);
    m->pickup_codes = g_strdupv((char **)codes);
}

/* Records an expectation for a channel not seen yet. Expectations are kept
 * for Originates whose channel never came only until the driver forgets them;
 * should many pile up anyway (failures the driver never heard of), the
 * table starts over rather than refusing new ones. */
static void expect(GHashTable *expected, const char *uniqueid, const char *value)
{
    if (g_hash_table_size(expected) >= ENDED_MEMORY)
        g_hash_table_remove_all(expected);
    g_hash_table_insert(expected, g_strdup(uniqueid), g_strdup(value));
}

void pami_model_forget_expectation(pami_model *m, const char *uniqueid)
{
    g_return_if_fail(m != NULL && uniqueid != NULL);
    g_hash_table_remove(m->pickup_expected, uniqueid);
    g_hash_table_remove(m->originate_expected, uniqueid);
}

void pami_model_expect_pickup(pami_model *m, const char *uniqueid)
{
    g_return_if_fail(m != NULL && uniqueid != NULL);
    channel *ch = channel_find(m, uniqueid);
    if (ch != NULL)
        ch->pickup_pending = ch->state == UCD_CALL_IDLE;
    else
        expect(m->pickup_expected, uniqueid, NULL);
}

void pami_model_expect_originate(pami_model *m, const char *uniqueid, const char *number)
{
    g_return_if_fail(m != NULL && uniqueid != NULL);
    channel *ch = channel_find(m, uniqueid);
    if (ch != NULL) {
        ch->originated = ch->dialled_by == NULL;
        if (ch->dialled == NULL)
            ch->dialled = g_strdup(number);
    } else {
        expect(m->originate_expected, uniqueid, number);
    }
}

void pami_model_event(pami_model *m, const pami_message *event, int64_t now_ms)
{
    const char *name = pami_message_event(event);
    if (m == NULL || name == NULL)
        return;
    m->now_ms = now_ms;
    for (gsize i = 0; i < G_N_ELEMENTS(handlers); i++) {
        /* The first letter rules out most names without a call. */
        if ((name[0] | 0x20) == (handlers[i].name[0] | 0x20) &&
            g_ascii_strcasecmp(name, handlers[i].name) == 0) {
            handlers[i].handler(m, event);
            break;
        }
    }
    flush_dirty(m);
}

static void publish_all_lines(pami_model *m)
{
    GHashTableIter it;
    gpointer value;
    GPtrArray *lines = g_ptr_array_new();
    g_hash_table_iter_init(&it, m->lines);
    while (g_hash_table_iter_next(&it, NULL, &value))
        g_ptr_array_add(lines, value);
    for (guint i = 0; i < lines->len; i++)
        line_publish(m, lines->pdata[i]);
    g_ptr_array_free(lines, TRUE);
}

void pami_model_link_down(pami_model *m, int64_t now_ms)
{
    GHashTableIter it;
    gpointer value;
    m->now_ms = now_ms;
    /* Reconnect attempts report the link down again: the first one is when
     * the calls we knew were last known alive. */
    if (!m->link_down)
        m->link_lost_ms = now_ms;
    m->link_down = TRUE;
    /* Device and hint states go stale while nobody tells us: after the
     * resync the line follows the hints (ExtensionStateList) and legs. */
    g_hash_table_iter_init(&it, m->lines);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        model_line *l = value;
        l->device_state = l->hint_state = -1;
    }
    publish_all_lines(m);
}

void pami_model_resync_begin(pami_model *m)
{
    GHashTableIter it;
    gpointer value;
    m->resyncing = TRUE;
    g_hash_table_iter_init(&it, m->channels);
    while (g_hash_table_iter_next(&it, NULL, &value))
        ((channel *)value)->seen = FALSE;
}

void pami_model_resync_end(pami_model *m, int64_t now_ms)
{
    GPtrArray *gone = g_ptr_array_new();
    GHashTableIter it;
    gpointer value;

    m->now_ms = now_ms;
    g_hash_table_iter_init(&it, m->channels);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (!((channel *)value)->seen)
            g_ptr_array_add(gone, value);
    g_ptr_array_sort(gone, compare_channels);
    /* A call that ended while nobody told us ends when the link was lost, not
     * now: the outage is no talk time. Without a link loss (a refused
     * CoreShowChannels on a live link) now is all we know. */
    m->now_ms = m->link_lost_ms > 0 && m->link_lost_ms < now_ms ? m->link_lost_ms : now_ms;
    for (guint i = 0; i < gone->len; i++) {
        channel *ch = gone->pdata[i];
        if (ch->state != UCD_CALL_IDLE)
            leg_finish(m, ch, UCD_CALL_DISCONNECTED, UCD_CAUSE_LINK_LOST, NULL);
        channel_remove(m, ch);
    }
    g_ptr_array_free(gone, TRUE);
    m->now_ms = now_ms;
    m->link_lost_ms = 0;
    m->resyncing = FALSE;
    m->link_down = FALSE;
    flush_dirty(m);
    publish_all_lines(m);
}

static channel *leg_on_line(const pami_model *m, const char *line, const char *leg_id)
{
    channel *ch = leg_id != NULL ? g_hash_table_lookup(m->legs, leg_id) : NULL;
    if (ch == NULL || line == NULL || g_strcmp0(line_name(ch), line) != 0)
        return NULL;
    return ch;
}

const char *pami_model_leg_channel(const pami_model *m, const char *line, const char *leg_id)
{
    channel *ch = leg_on_line(m, line, leg_id);
    return ch != NULL ? ch->name : NULL;
}

const char *pami_model_leg_peer_channel(const pami_model *m, const char *line, const char *leg_id)
{
    channel *ch = leg_on_line(m, line, leg_id);
    channel *peer = ch != NULL ? direct_peer((pami_model *)m, ch) : NULL;
    return peer != NULL ? peer->name : NULL;
}

const char *pami_model_ringing_channel(const pami_model *m, const char *line)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, m->legs);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        channel *ch = value;
        if (ch->state == UCD_CALL_OFFERING && g_strcmp0(line_name(ch), line) == 0)
            return ch->name;
    }
    return NULL;
}

uint32_t pami_model_line_state(const pami_model *m, const char *line)
{
    model_line *l = line != NULL ? g_hash_table_lookup(m->lines, line) : NULL;
    return l != NULL ? line_state_now((pami_model *)m, l) : UCD_LINE_UNKNOWN;
}

guint pami_model_leg_count(const pami_model *m)
{
    return g_hash_table_size(m->legs);
}
