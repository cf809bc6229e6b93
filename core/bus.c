/*
 * bus.c - the event bus.
 *
 * Design, driven by the throughput target (millions of events a second on one
 * core, publish to delivery):
 *
 *  - An event is copied once, into one allocation holding the header, the
 *    payload, the custom data and every string (an "event block"). The block is
 *    reference-counted and shared by every subscription it is queued on.
 *  - The bus mutex is held only while the block is matched against the
 *    subscriptions and its pointer pushed onto their rings: no allocation, no
 *    syscall under the lock.
 *  - Each subscription has a ring of block pointers. Producers push under the
 *    bus mutex (so seq order and queue order agree); the single consumer (the
 *    main loop, or the subscription's own thread) pops without any lock, using
 *    acquire/release on the ring indices.
 *  - The main loop is woken only when the bus goes from "nothing pending" to
 *    "something pending" (an atomic flag), so a burst of events costs one
 *    wakeup and is delivered in one batch.
 *  - An own-thread subscriber sleeps on a condition variable; a publisher
 *    signals it only when it is actually asleep.
 */
#include "bus.h"
#include "bus-record.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/*
 * The sizes of the 1.0 structs. A struct smaller than these is refused. When a
 * struct grows in a later minor version, its sizeof here is replaced by the end
 * of its last 1.0 member (frozen), or older plugins would be refused.
 * Frozen so far: ucd_call_state_event (1.1 added forward_reason),
 * ucd_presence_event (1.6 added party_name, party_company), and
 * ucd_event_filter (1.1 named its tail padding `reserved`; a 1.0 plugin's
 * sizeof is the same, but the minimum is where the 1.0 members end).
 */
#define EVENT_HEADER_SIZE_1_0 sizeof(ucd_event)
#define EVENT_FILTER_SIZE_1_0 (offsetof(ucd_event_filter, queue_size) + sizeof(uint32_t))
#define LINE_STATE_SIZE_1_0   sizeof(ucd_line_state_event)
#define CALL_STATE_SIZE_1_0   offsetof(ucd_call_state_event, forward_reason)
#define PRESENCE_SIZE_1_0     offsetof(ucd_presence_event, party_name)
#define USER_CHANGED_SIZE_1_0 sizeof(ucd_user_changed_event)
#define APPOINTMENT_SIZE_1_0  sizeof(ucd_appointment_event)
#define MODULE_STATE_SIZE_1_0 sizeof(ucd_module_state_event)
#define CUSTOM_SIZE_1_0       sizeof(ucd_custom_event)
/* Host 1.4 types: their first version is this one. */
#define CONVERSATION_SIZE_1_4 sizeof(ucd_conversation_event)
#define DIRECTORY_SIZE_1_4    sizeof(ucd_directory_event)
/* Host 1.6. */
#define CALL_PARTY_SIZE_1_6 sizeof(ucd_call_party_event)

/* Custom data is copied byte for byte; a bound keeps one careless publisher
 * from making every subscriber's queue hold gigabytes. */
#define CUSTOM_DATA_MAX ((uint64_t)16 * 1024 * 1024)

/* Used when both the filter and core_bus_new() leave the bound at 0. */
#define FALLBACK_QUEUE_SIZE 1024u
/* Larger bounds are clamped: the ring array is allocated up front. */
#define MAX_QUEUE_SIZE (1u << 22)

/* Events one main-loop subscription receives before the next one's turn. */
#define DELIVERY_CHUNK 64u

/* Ring checks an idle own-thread subscriber makes before it sleeps (a few
 * microseconds). */
#define OWN_THREAD_SPIN 2000

/* The most string members a payload has (ucd_call_party_event). */
#define MAX_PAYLOAD_STRINGS 10

/* What the copy needs to know about one payload type. */
typedef struct payload_kind {
    size_t min_size;       /* the 1.0 size: smaller is invalid */
    size_t size;           /* this core's size: larger is truncated to it */
    size_t subject_offset; /* the string member the subject defaults to */
    unsigned n_strings;
    size_t strings[MAX_PAYLOAD_STRINGS]; /* offsets of the const char * members */
} payload_kind;

#define OFF(type, member) offsetof(type, member)

static const payload_kind payload_kinds[UCD_EVENT_TYPE_COUNT_] = {
    [UCD_EVENT_LINE_STATE] = {LINE_STATE_SIZE_1_0,
                              sizeof(ucd_line_state_event),
                              OFF(ucd_line_state_event, line),
                              3,
                              {OFF(ucd_line_state_event, driver_instance),
                               OFF(ucd_line_state_event, line),
                               OFF(ucd_line_state_event, forward_to)}},
    [UCD_EVENT_CALL_STATE] =
        {CALL_STATE_SIZE_1_0,
         sizeof(ucd_call_state_event),
         OFF(ucd_call_state_event, line),
         8,
         {OFF(ucd_call_state_event, driver_instance), OFF(ucd_call_state_event, line),
          OFF(ucd_call_state_event, call_id), OFF(ucd_call_state_event, conversation_id),
          OFF(ucd_call_state_event, remote_number), OFF(ucd_call_state_event, remote_name),
          OFF(ucd_call_state_event, requested_number), OFF(ucd_call_state_event, related_line)}},
    [UCD_EVENT_PRESENCE] = {PRESENCE_SIZE_1_0,
                            sizeof(ucd_presence_event),
                            OFF(ucd_presence_event, user_id),
                            4,
                            {OFF(ucd_presence_event, user_id), OFF(ucd_presence_event, note),
                             OFF(ucd_presence_event, party_name),
                             OFF(ucd_presence_event, party_company)}},
    [UCD_EVENT_USER_CHANGED] = {USER_CHANGED_SIZE_1_0,
                                sizeof(ucd_user_changed_event),
                                OFF(ucd_user_changed_event, user_id),
                                2,
                                {OFF(ucd_user_changed_event, user_id),
                                 OFF(ucd_user_changed_event, backend)}},
    [UCD_EVENT_APPOINTMENT] = {APPOINTMENT_SIZE_1_0,
                               sizeof(ucd_appointment_event),
                               OFF(ucd_appointment_event, user_id),
                               4,
                               {OFF(ucd_appointment_event, user_id),
                                OFF(ucd_appointment_event, uid),
                                OFF(ucd_appointment_event, subject),
                                OFF(ucd_appointment_event, source)}},
    [UCD_EVENT_MODULE_STATE] = {MODULE_STATE_SIZE_1_0,
                                sizeof(ucd_module_state_event),
                                OFF(ucd_module_state_event, module),
                                2,
                                {OFF(ucd_module_state_event, module),
                                 OFF(ucd_module_state_event, message)}},
    [UCD_EVENT_CUSTOM] = {CUSTOM_SIZE_1_0,
                          sizeof(ucd_custom_event),
                          OFF(ucd_custom_event, name),
                          1,
                          {OFF(ucd_custom_event, name)}},
    /* The record and everything it reaches are copied by bus-record.c; the
     * subject is the copied record's uuid. */
    [UCD_EVENT_CONVERSATION_ENDED] =
        {CONVERSATION_SIZE_1_4, sizeof(ucd_conversation_event), 0, 0, {0}},
    [UCD_EVENT_DIRECTORY] = {DIRECTORY_SIZE_1_4,
                             sizeof(ucd_directory_event),
                             OFF(ucd_directory_event, id),
                             1,
                             {OFF(ucd_directory_event, id)}},
    [UCD_EVENT_CALL_PARTY] =
        {CALL_PARTY_SIZE_1_6,
         sizeof(ucd_call_party_event),
         OFF(ucd_call_party_event, line),
         10,
         {OFF(ucd_call_party_event, driver_instance), OFF(ucd_call_party_event, line),
          OFF(ucd_call_party_event, call_id), OFF(ucd_call_party_event, conversation_id),
          OFF(ucd_call_party_event, user_id), OFF(ucd_call_party_event, remote_number),
          OFF(ucd_call_party_event, party_name), OFF(ucd_call_party_event, party_company),
          OFF(ucd_call_party_event, party_source), OFF(ucd_call_party_event, party_user_id)}},
};

/* One published event and everything it points to, in one allocation:
 * [event_block][payload][custom data, or a journal record and its
 * participants][strings]. */
typedef struct event_block {
    /* One per own-thread subscription it is queued on, plus one shared by all
     * main-loop subscriptions when it is queued on any. */
    atomic_int refs;
    /* Main-loop subscriptions it is queued on: set by the publisher before
     * the block is pushed (the ring's release store publishes it), then
     * touched by the main loop thread only, so no atomic operation per
     * delivery. */
    uint32_t main_refs;
    ucd_event header;
    alignas(max_align_t) unsigned char payload[];
} event_block;

/* A bounded single-consumer FIFO of block pointers. Producers hold the bus
 * mutex; the consumer uses no lock. Indices run freely and wrap; the slot
 * array is a power of two at least `bound` long. */
typedef struct event_ring {
    event_block **slots;
    uint32_t mask;
    uint32_t bound;
    _Atomic uint32_t head; /* next to pop, written by the consumer */
    _Atomic uint32_t tail; /* next to push, written under the bus mutex */
} event_ring;

struct ucd_subscription {
    core_bus *bus;
    char *owner;
    uint64_t type_mask; /* 0 = every type */
    char *subject;      /* NULL = any */
    char *source;       /* NULL = any */
    gboolean own_thread;
    gboolean in_delivery; /* consumer only: guards against re-entrant delivery */
    uint32_t round_end;   /* consumer only: the tail when the delivery round began */
    ucd_event_cb cb;
    void *user_data;
    event_ring ring;
    atomic_bool dead; /* unsubscribed: deliver nothing more */
    _Atomic uint64_t delivered;
    _Atomic uint64_t dropped;

    /* Own-thread subscriptions only; sleeping and idle under the bus mutex. */
    GThread *thread;
    GCond wake;
    gboolean sleeping; /* waiting on `wake` for an event */
    gboolean idle;     /* queue empty and no callback running (for flush) */
};

struct core_bus {
    GMainContext *ctx;
    GSource *source;
    uint32_t default_queue_size;

    GMutex lock;
    GPtrArray *subs;            /* every live subscription; under lock */
    ucd_subscription **matched; /* scratch for publish; under lock */
    guint matched_capacity;     /* under lock */
    GPtrArray *reap;            /* own-thread subs that unsubscribed themselves */
    GCond idle_changed;         /* an own-thread sub went idle (flush waits) */
    guint flush_waiters;        /* under lock */
    _Atomic uint64_t seq;       /* written under lock */
    atomic_int main_pending;    /* main-loop work is queued: the source is ready */

    /* Main loop thread only. */
    GPtrArray *main_subs; /* live main-loop subscriptions, in subscription order */
    GPtrArray *graveyard; /* unsubscribed during delivery, freed afterwards */
    guint delivering;     /* depth of main-loop delivery in progress */
};

typedef struct bus_source {
    GSource base;
    core_bus *bus;
} bus_source;

/* ---- event blocks --------------------------------------------------------- */

static size_t align_up(size_t n)
{
    return (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
}

static const char *member_string(const void *payload, size_t offset)
{
    const char *s;
    memcpy(&s, (const unsigned char *)payload + offset, sizeof(s));
    return s;
}

static void set_member_string(void *payload, size_t offset, const char *s)
{
    memcpy((unsigned char *)payload + offset, &s, sizeof(s));
}

/* Copies `s` to *cursor and advances it; NULL stays NULL. */
static const char *copy_string(char **cursor, const char *s, size_t len)
{
    if (s == NULL)
        return NULL;
    char *copy = *cursor;
    memcpy(copy, s, len + 1);
    *cursor += len + 1;
    return copy;
}

/* The payload as the publisher sent it, cut or zero-extended to this core's
 * struct, in a stack buffer large enough for any kind. */
typedef union payload_image {
    ucd_line_state_event line;
    ucd_call_state_event call;
    ucd_presence_event presence;
    ucd_user_changed_event user;
    ucd_appointment_event appointment;
    ucd_module_state_event module;
    ucd_custom_event custom;
    ucd_conversation_event conversation;
    ucd_directory_event directory;
    ucd_call_party_event call_party;
} payload_image;

/* Types only the core may publish (event.h): a plugin's would be a lie. */
static gboolean core_only(uint32_t type)
{
    return type == UCD_EVENT_CONVERSATION_ENDED || type == UCD_EVENT_DIRECTORY ||
           type == UCD_EVENT_CALL_PARTY;
}

/* Checks the header and payload and brings the payload to this core's size.
 * Returns the kind, or NULL when the event is invalid. */
static const payload_kind *normalize_payload(const char *source, const ucd_event *event,
                                             payload_image *image)
{
    if (event == NULL || event->struct_size < EVENT_HEADER_SIZE_1_0 ||
        event->type >= UCD_EVENT_TYPE_COUNT_ || event->payload == NULL ||
        (core_only(event->type) && strcmp(source, "core") != 0))
        return NULL;
    const payload_kind *kind = &payload_kinds[event->type];
    uint32_t given;
    memcpy(&given, event->payload, sizeof(given));
    if (given < kind->min_size)
        return NULL;
    memset(image, 0, sizeof(*image));
    memcpy(image, event->payload, MIN((size_t)given, kind->size));
    /* Subscribers see this core's struct: every member exists, absent ones 0. */
    image->line.struct_size = (uint32_t)kind->size;
    if (event->type == UCD_EVENT_CUSTOM) {
        const ucd_custom_event *c = &image->custom;
        if (c->length > CUSTOM_DATA_MAX || (c->length > 0 && c->data == NULL))
            return NULL;
        if (c->length == 0)
            image->custom.data = NULL;
    }
    return kind;
}

/* Builds the one-allocation copy of `event`, or NULL when it is invalid. */
static event_block *event_block_new(const char *source, const ucd_event *event)
{
    payload_image image;
    const payload_kind *kind = normalize_payload(source, event, &image);
    if (kind == NULL)
        return NULL;
    size_t record_len = 0, record_strings = 0;
    if (event->type == UCD_EVENT_CONVERSATION_ENDED &&
        !core_bus_record_measure(&image.conversation, &record_len, &record_strings))
        return NULL;

    size_t lens[MAX_PAYLOAD_STRINGS];
    size_t strings = 0;
    for (unsigned i = 0; i < kind->n_strings; i++) {
        const char *s = member_string(&image, kind->strings[i]);
        lens[i] = s ? strlen(s) : 0;
        strings += s ? lens[i] + 1 : 0;
    }
    size_t source_len = strlen(source);
    size_t subject_len = event->subject ? strlen(event->subject) : 0;
    strings += source_len + 1 + (event->subject ? subject_len + 1 : 0) + record_strings;
    size_t data_len = event->type == UCD_EVENT_CUSTOM ? (size_t)image.custom.length : record_len;

    size_t payload_at = offsetof(event_block, payload);
    size_t data_at = payload_at + align_up(kind->size);
    size_t strings_at = data_at + align_up(data_len);
    event_block *block = g_malloc(strings_at + strings);
    unsigned char *base = (unsigned char *)block;
    char *cursor = (char *)base + strings_at;
    void *payload = block->payload;

    memcpy(payload, &image, kind->size);
    for (unsigned i = 0; i < kind->n_strings; i++) {
        const char *s = member_string(&image, kind->strings[i]);
        set_member_string(payload, kind->strings[i], copy_string(&cursor, s, lens[i]));
    }
    if (event->type == UCD_EVENT_CUSTOM && data_len > 0) {
        memcpy(base + data_at, image.custom.data, data_len);
        ((ucd_custom_event *)payload)->data = base + data_at;
    }
    if (event->type == UCD_EVENT_CONVERSATION_ENDED)
        core_bus_record_copy(payload, base + data_at, &cursor);

    atomic_init(&block->refs, 0);
    block->header = (ucd_event){
        .struct_size = sizeof(ucd_event),
        .type = event->type,
        .time_ms = event->time_ms,
        .source = copy_string(&cursor, source, source_len),
        .subject = event->subject ? copy_string(&cursor, event->subject, subject_len)
                   : event->type == UCD_EVENT_CONVERSATION_ENDED
                       ? ((ucd_conversation_event *)payload)->record->uuid
                       : member_string(payload, kind->subject_offset),
        .payload = payload,
    };
    return block;
}

static void event_block_unref(event_block *block)
{
    if (atomic_fetch_sub_explicit(&block->refs, 1, memory_order_acq_rel) == 1)
        g_free(block);
}

/* Drops a reference held by `sub`: main-loop subscriptions share one. */
static void event_block_release(event_block *block, const ucd_subscription *sub)
{
    if (sub->own_thread || --block->main_refs == 0)
        event_block_unref(block);
}

/* ---- rings ---------------------------------------------------------------- */

static void ring_init(event_ring *ring, uint32_t bound)
{
    uint32_t size = 1;
    while (size < bound)
        size <<= 1;
    ring->slots = g_new0(event_block *, size);
    ring->mask = size - 1;
    ring->bound = bound;
    atomic_init(&ring->head, 0);
    atomic_init(&ring->tail, 0);
}

static uint32_t ring_length(event_ring *ring)
{
    uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    return tail - atomic_load_explicit(&ring->head, memory_order_acquire);
}

/* Producer side, bus mutex held. */
static gboolean ring_full(event_ring *ring)
{
    return ring_length(ring) >= ring->bound;
}

/* Producer side, bus mutex held, after ring_full() said no. */
static void ring_push(event_ring *ring, event_block *block)
{
    uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    ring->slots[tail & ring->mask] = block;
    atomic_store_explicit(&ring->tail, tail + 1, memory_order_release);
}

/* Releases whatever `sub` has left queued; no producer may reach its ring
 * any more. */
static void ring_clear(event_ring *ring, const ucd_subscription *sub)
{
    uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    for (uint32_t i = atomic_load_explicit(&ring->head, memory_order_relaxed); i != tail; i++)
        event_block_release(ring->slots[i & ring->mask], sub);
    atomic_store_explicit(&ring->head, tail, memory_order_release);
    g_free(ring->slots);
    ring->slots = NULL;
}

/* ---- subscriptions -------------------------------------------------------- */

static gboolean sub_matches(const ucd_subscription *sub, const ucd_event *ev)
{
    if (sub->type_mask != 0 && !(sub->type_mask & UCD_EVENT_MASK(ev->type)))
        return FALSE;
    if (sub->subject != NULL && (ev->subject == NULL || strcmp(sub->subject, ev->subject) != 0))
        return FALSE;
    return sub->source == NULL || strcmp(sub->source, ev->source) == 0;
}

/* Marks what a delivery round covers: what is queued now. Events queued by
 * the callbacks themselves wait for the next round, so a subscriber that
 * republishes cannot starve the loop. Consumer side only. */
static void sub_begin_round(ucd_subscription *sub)
{
    if (!sub->in_delivery)
        sub->round_end = atomic_load_explicit(&sub->ring.tail, memory_order_acquire);
}

/* Calls the callback for up to `limit` events of the current round; stops
 * early when the subscription dies. Returns TRUE when the round has more for
 * this subscription. Consumer side only. */
static gboolean sub_deliver_some(ucd_subscription *sub, uint32_t limit)
{
    event_ring *ring = &sub->ring;
    if (sub->in_delivery)
        return FALSE; /* a callback of this very subscription flushed the bus */
    sub->in_delivery = TRUE;
    uint32_t end = sub->round_end;
    uint32_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    uint32_t count = 0;
    while (head != end && count < limit &&
           !atomic_load_explicit(&sub->dead, memory_order_relaxed)) {
        event_block *block = ring->slots[head & ring->mask];
        sub->cb(&block->header, sub->user_data);
        /* The slot is reused only after head moves past it, so it is read
         * before the store; the block lives on by its own reference. */
        atomic_store_explicit(&ring->head, ++head, memory_order_release);
        event_block_release(block, sub);
        count++;
    }
    atomic_fetch_add_explicit(&sub->delivered, count, memory_order_relaxed);
    sub->in_delivery = FALSE;
    return head != end && !atomic_load_explicit(&sub->dead, memory_order_relaxed);
}

/* Events queued and not delivered yet, for a live subscription. */
static gboolean sub_has_queued(ucd_subscription *sub)
{
    return !atomic_load_explicit(&sub->dead, memory_order_relaxed) && !sub->in_delivery &&
           ring_length(&sub->ring) > 0;
}

static void sub_free(ucd_subscription *sub)
{
    ring_clear(&sub->ring, sub);
    if (sub->own_thread)
        g_cond_clear(&sub->wake);
    g_free(sub->owner);
    g_free(sub->subject);
    g_free(sub->source);
    g_free(sub);
}

/* Watches the ring for a short while before the thread goes to sleep: under a
 * steady stream the next event usually comes within microseconds, and
 * sleeping would cost the publisher a futex wake per event. */
static gboolean await_briefly(ucd_subscription *sub)
{
    for (int i = 0; i < OWN_THREAD_SPIN; i++)
        if (ring_length(&sub->ring) > 0 || atomic_load_explicit(&sub->dead, memory_order_relaxed))
            return TRUE;
    return FALSE;
}

/* The body of an own-thread subscription: deliver, then sleep until a
 * publisher pushes something or the subscription is cancelled. */
static gpointer own_thread_main(gpointer data)
{
    ucd_subscription *sub = data;
    core_bus *bus = sub->bus;
    while (!atomic_load(&sub->dead)) {
        sub_begin_round(sub);
        while (sub_deliver_some(sub, UINT32_MAX))
            ;
        if (await_briefly(sub))
            continue;
        g_mutex_lock(&bus->lock);
        if (ring_length(&sub->ring) == 0 && !atomic_load(&sub->dead)) {
            sub->sleeping = TRUE;
            sub->idle = TRUE;
            if (bus->flush_waiters > 0)
                g_cond_broadcast(&bus->idle_changed);
            while (sub->sleeping && !atomic_load(&sub->dead))
                g_cond_wait(&sub->wake, &bus->lock);
        }
        g_mutex_unlock(&bus->lock);
    }
    return NULL;
}

/* Joins and frees own-thread subscriptions that unsubscribed from their own
 * callback (their thread could not join itself). Main loop thread. */
static void reap_finished(core_bus *bus)
{
    g_mutex_lock(&bus->lock);
    GPtrArray *done = bus->reap;
    bus->reap = g_ptr_array_new();
    g_mutex_unlock(&bus->lock);
    for (guint i = 0; i < done->len; i++) {
        ucd_subscription *sub = done->pdata[i];
        g_thread_join(sub->thread);
        sub_free(sub);
    }
    g_ptr_array_free(done, TRUE);
}

/* ---- the main-loop source ------------------------------------------------- */

static void graveyard_empty(core_bus *bus)
{
    for (guint i = 0; i < bus->graveyard->len; i++)
        sub_free(bus->graveyard->pdata[i]);
    g_ptr_array_set_size(bus->graveyard, 0);
}

/* One round over the main-loop subscriptions. Callbacks may subscribe and
 * unsubscribe, so the round walks a snapshot; unsubscribed ones are kept in
 * the graveyard until the outermost round ends. Returns TRUE when events
 * remain. */
static gboolean deliver_main_round(core_bus *bus)
{
    guint n = bus->main_subs->len;
    if (n == 0)
        return FALSE;
    ucd_subscription *local[16];
    ucd_subscription **snapshot = n <= G_N_ELEMENTS(local) ? local : g_new(ucd_subscription *, n);
    memcpy(snapshot, bus->main_subs->pdata, n * sizeof(*snapshot));

    bus->delivering++;
    for (guint i = 0; i < n; i++)
        sub_begin_round(snapshot[i]);
    /* Subscriptions take turns a chunk at a time, so an event is still in
     * the cache when the next subscriber receives it. */
    gboolean again;
    do {
        again = FALSE;
        for (guint i = 0; i < n; i++)
            again |= sub_deliver_some(snapshot[i], DELIVERY_CHUNK);
    } while (again);
    gboolean more = FALSE;
    for (guint i = 0; i < n && !more; i++)
        more = sub_has_queued(snapshot[i]);
    if (--bus->delivering == 0)
        graveyard_empty(bus);

    if (snapshot != local)
        g_free(snapshot);
    return more;
}

static gboolean bus_source_ready(GSource *source)
{
    core_bus *bus = ((bus_source *)source)->bus;
    return atomic_load_explicit(&bus->main_pending, memory_order_acquire) != 0;
}

static gboolean bus_source_prepare(GSource *source, gint *timeout)
{
    *timeout = -1;
    return bus_source_ready(source);
}

static gboolean bus_source_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
    core_bus *bus = ((bus_source *)source)->bus;
    /* Cleared before the rings are read: an event pushed from now on sets it
     * again and wakes the loop, so none is left behind. */
    atomic_exchange_explicit(&bus->main_pending, 0, memory_order_acq_rel);
    if (deliver_main_round(bus))
        atomic_store_explicit(&bus->main_pending, 1, memory_order_release);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs bus_source_funcs = {
    .prepare = bus_source_prepare,
    .check = bus_source_ready,
    .dispatch = bus_source_dispatch,
};

/* ---- public functions ----------------------------------------------------- */

core_bus *core_bus_new(GMainContext *ctx, uint32_t default_queue_size)
{
    core_bus *bus = g_new0(core_bus, 1);
    bus->ctx = ctx ? g_main_context_ref(ctx) : g_main_context_ref_thread_default();
    bus->default_queue_size = default_queue_size ? default_queue_size : FALLBACK_QUEUE_SIZE;
    g_mutex_init(&bus->lock);
    g_cond_init(&bus->idle_changed);
    bus->subs = g_ptr_array_new();
    bus->reap = g_ptr_array_new();
    bus->main_subs = g_ptr_array_new();
    bus->graveyard = g_ptr_array_new();
    atomic_init(&bus->seq, 0);
    atomic_init(&bus->main_pending, 0);

    bus->source = g_source_new(&bus_source_funcs, sizeof(bus_source));
    ((bus_source *)bus->source)->bus = bus;
    g_source_set_name(bus->source, "ucd event bus");
    g_source_attach(bus->source, bus->ctx);
    return bus;
}

void core_bus_free(core_bus *bus)
{
    if (bus == NULL)
        return;
    while (bus->subs->len > 0)
        core_bus_unsubscribe(bus, bus->subs->pdata[bus->subs->len - 1]);
    reap_finished(bus);
    graveyard_empty(bus);
    g_source_destroy(bus->source);
    g_source_unref(bus->source);
    g_main_context_unref(bus->ctx);
    g_ptr_array_free(bus->subs, TRUE);
    g_ptr_array_free(bus->reap, TRUE);
    g_ptr_array_free(bus->main_subs, TRUE);
    g_ptr_array_free(bus->graveyard, TRUE);
    g_free(bus->matched);
    g_cond_clear(&bus->idle_changed);
    g_mutex_clear(&bus->lock);
    g_free(bus);
}

/* Queues `block` on every matching subscription that has room; bus mutex held.
 * The reference counts are set before the first push, because a consumer may
 * pop and release the block as soon as it is on a ring. Returns whether a
 * main-loop subscription got it. */
static gboolean route_locked(core_bus *bus, event_block *block, guint *n_matched)
{
    guint n = 0, n_own = 0;
    for (guint i = 0; i < bus->subs->len; i++) {
        ucd_subscription *sub = bus->subs->pdata[i];
        if (!sub_matches(sub, &block->header))
            continue;
        if (ring_full(&sub->ring)) {
            atomic_fetch_add_explicit(&sub->dropped, 1, memory_order_relaxed);
            continue;
        }
        bus->matched[n++] = sub;
        n_own += sub->own_thread ? 1 : 0;
    }
    block->main_refs = n - n_own;
    atomic_store_explicit(&block->refs, (int)(n_own + (n > n_own ? 1 : 0)), memory_order_relaxed);

    for (guint i = 0; i < n; i++) {
        ucd_subscription *sub = bus->matched[i];
        ring_push(&sub->ring, block);
        if (sub->own_thread) {
            sub->idle = FALSE;
            if (sub->sleeping) {
                sub->sleeping = FALSE;
                g_cond_signal(&sub->wake);
            }
        }
    }
    *n_matched = n;
    return n > n_own;
}

int core_bus_publish(core_bus *bus, const char *source, const ucd_event *event)
{
    event_block *block = event_block_new(source ? source : "core", event);
    if (block == NULL)
        return UCD_E_INVALID;
    if (block->header.time_ms == 0)
        block->header.time_ms = g_get_real_time() / 1000;

    guint n;
    g_mutex_lock(&bus->lock);
    uint64_t seq = atomic_load_explicit(&bus->seq, memory_order_relaxed) + 1;
    block->header.seq = seq;
    atomic_store_explicit(&bus->seq, seq, memory_order_relaxed);
    gboolean to_main = route_locked(bus, block, &n);
    g_mutex_unlock(&bus->lock);

    if (n == 0)
        g_free(block);
    /* Only the transition to "pending" wakes the loop: a burst costs one write. */
    if (to_main && atomic_exchange_explicit(&bus->main_pending, 1, memory_order_seq_cst) == 0)
        g_main_context_wakeup(bus->ctx);
    return UCD_OK;
}

/* Copies the members of `filter` this core knows into `sub`; FALSE when the
 * filter is older than 1.0 allows. */
static gboolean sub_set_filter(ucd_subscription *sub, const ucd_event_filter *filter,
                               uint32_t default_queue_size)
{
    ucd_event_filter f = {0};
    if (filter != NULL) {
        if (filter->struct_size < EVENT_FILTER_SIZE_1_0)
            return FALSE;
        memcpy(&f, filter, MIN((size_t)filter->struct_size, sizeof(f)));
    }
    sub->type_mask = f.type_mask;
    sub->subject = g_strdup(f.subject);
    sub->source = g_strdup(f.source);
    sub->own_thread = (f.flags & UCD_SUBSCRIBE_OWN_THREAD) != 0;
    ring_init(&sub->ring, MIN(f.queue_size ? f.queue_size : default_queue_size, MAX_QUEUE_SIZE));
    return TRUE;
}

/* Grows the publish scratch array to hold every subscription; bus mutex held. */
static void reserve_matched_locked(core_bus *bus)
{
    if (bus->matched_capacity >= bus->subs->len)
        return;
    bus->matched_capacity = MAX(bus->subs->len, 2 * bus->matched_capacity);
    bus->matched = g_renew(ucd_subscription *, bus->matched, bus->matched_capacity);
}

ucd_subscription *core_bus_subscribe(core_bus *bus, const char *owner,
                                     const ucd_event_filter *filter, ucd_event_cb cb,
                                     void *user_data)
{
    if (cb == NULL)
        return NULL;
    reap_finished(bus);
    ucd_subscription *sub = g_new0(ucd_subscription, 1);
    sub->bus = bus;
    if (!sub_set_filter(sub, filter, bus->default_queue_size)) {
        g_free(sub);
        return NULL;
    }
    sub->owner = g_strdup(owner ? owner : "core");
    sub->cb = cb;
    sub->user_data = user_data;
    atomic_init(&sub->dead, false);
    atomic_init(&sub->delivered, 0);
    atomic_init(&sub->dropped, 0);

    if (sub->own_thread) {
        g_cond_init(&sub->wake);
        sub->thread = g_thread_try_new("ucd-bus-sub", own_thread_main, sub, NULL);
        if (sub->thread == NULL) {
            sub_free(sub);
            return NULL;
        }
    } else {
        g_ptr_array_add(bus->main_subs, sub);
    }
    g_mutex_lock(&bus->lock);
    g_ptr_array_add(bus->subs, sub);
    reserve_matched_locked(bus);
    g_mutex_unlock(&bus->lock);
    return sub;
}

void core_bus_unsubscribe(core_bus *bus, ucd_subscription *sub)
{
    if (sub == NULL)
        return;
    g_mutex_lock(&bus->lock);
    /* Checked under the lock: an own-thread callback may be unsubscribing
     * itself at this very moment. */
    if (atomic_load(&sub->dead)) {
        g_mutex_unlock(&bus->lock);
        return;
    }
    g_ptr_array_remove(bus->subs, sub);
    atomic_store(&sub->dead, true);
    gboolean from_own_thread = sub->own_thread && g_thread_self() == sub->thread;
    if (sub->own_thread) {
        sub->sleeping = FALSE;
        g_cond_signal(&sub->wake);
        if (bus->flush_waiters > 0)
            g_cond_broadcast(&bus->idle_changed);
    }
    if (from_own_thread)
        g_ptr_array_add(bus->reap, sub);
    g_mutex_unlock(&bus->lock);

    if (from_own_thread)
        return; /* the thread ends after this callback; the main loop joins it */
    if (sub->own_thread) {
        g_thread_join(sub->thread); /* the callback is not running after this */
        sub_free(sub);
        return;
    }
    g_ptr_array_remove(bus->main_subs, sub);
    if (bus->delivering > 0)
        g_ptr_array_add(bus->graveyard, sub);
    else
        sub_free(sub);
}

void core_bus_unsubscribe_owner(core_bus *bus, const char *owner)
{
    GPtrArray *mine = g_ptr_array_new();
    g_mutex_lock(&bus->lock);
    for (guint i = 0; i < bus->subs->len; i++) {
        ucd_subscription *sub = bus->subs->pdata[i];
        if (g_strcmp0(sub->owner, owner) == 0)
            g_ptr_array_add(mine, sub);
    }
    g_mutex_unlock(&bus->lock);
    for (guint i = 0; i < mine->len; i++)
        core_bus_unsubscribe(bus, mine->pdata[i]);
    g_ptr_array_free(mine, TRUE);
}

uint64_t core_bus_dropped(const ucd_subscription *sub)
{
    return atomic_load_explicit(&sub->dropped, memory_order_relaxed);
}

/* Waits until every live own-thread subscription has an empty queue and no
 * callback running. */
static void wait_own_threads_idle(core_bus *bus)
{
    g_mutex_lock(&bus->lock);
    bus->flush_waiters++;
    for (guint i = 0; i < bus->subs->len;) {
        ucd_subscription *sub = bus->subs->pdata[i];
        if (sub->own_thread && !sub->idle) {
            g_cond_wait(&bus->idle_changed, &bus->lock);
            i = 0; /* the list may have changed meanwhile */
            continue;
        }
        i++;
    }
    bus->flush_waiters--;
    g_mutex_unlock(&bus->lock);
}

static gboolean main_queues_empty(core_bus *bus)
{
    for (guint i = 0; i < bus->main_subs->len; i++) {
        /* One whose callback is running (it flushed) is delivered later. */
        if (sub_has_queued(bus->main_subs->pdata[i]))
            return FALSE;
    }
    return TRUE;
}

void core_bus_flush(core_bus *bus)
{
    reap_finished(bus);
    /* Own-thread callbacks may publish to main-loop subscribers and the other
     * way round, so repeat until both sides are quiet. */
    do {
        while (deliver_main_round(bus))
            ;
        wait_own_threads_idle(bus);
    } while (!main_queues_empty(bus));
}

void core_bus_foreach(core_bus *bus, void (*cb)(const core_bus_sub_stats *stats, void *ud),
                      void *ud)
{
    /* Collected under the lock, reported outside it, so `cb` may call the bus. */
    g_mutex_lock(&bus->lock);
    guint n = bus->subs->len;
    core_bus_sub_stats *all = g_new0(core_bus_sub_stats, n);
    for (guint i = 0; i < n; i++) {
        ucd_subscription *sub = bus->subs->pdata[i];
        all[i] = (core_bus_sub_stats){
            .owner = sub->owner,
            .delivered = atomic_load_explicit(&sub->delivered, memory_order_relaxed),
            .dropped = atomic_load_explicit(&sub->dropped, memory_order_relaxed),
            .queued = ring_length(&sub->ring),
            .capacity = sub->ring.bound,
            .own_thread = sub->own_thread,
        };
    }
    g_mutex_unlock(&bus->lock);
    for (guint i = 0; i < n; i++)
        cb(&all[i], ud);
    g_free(all);
}

uint64_t core_bus_published(core_bus *bus)
{
    return atomic_load_explicit(&bus->seq, memory_order_relaxed);
}
