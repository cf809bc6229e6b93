/*
 * bus.h - the event bus: publish from any thread, deliver on the main loop (or
 * on a subscriber's own thread), never block the publisher.
 *
 * Invariants:
 *  - publish() deep-copies the event (header, payload, every string and the
 *    custom data) into one reference-counted block, validated against the SDK's
 *    1.0 sizes of each payload (a payload whose struct_size is smaller than the
 *    1.0 struct is UCD_E_INVALID; a larger one from a newer minor is truncated to
 *    what this core knows). Members an older plugin lacked read as zero.
 *  - Each subscription has its own bounded FIFO. When it is full the new event
 *    is dropped for that subscription only and its drop counter grows; the
 *    publisher never waits for a subscriber.
 *  - Delivery to one subscription is in publication order (seq strictly
 *    increasing). Main-loop subscribers are served by a GSource on `ctx`;
 *    UCD_SUBSCRIBE_OWN_THREAD subscribers by a thread each.
 *  - After unsubscribe() returns, the callback is not running and will not run
 *    again (unsubscribing from inside the own callback is allowed).
 */
#ifndef CORE_BUS_H
#define CORE_BUS_H

#include <glib.h>
#include <ucd/event.h>
#include <ucd/host.h>

typedef struct core_bus core_bus;

/* Creates a bus whose main-loop subscribers are served on `ctx` (NULL: the
 * thread-default context). default_queue_size: queue bound for filters that
 * leave queue_size 0 (0: 1024). */
core_bus *core_bus_new(GMainContext *ctx, uint32_t default_queue_size);
/* Unsubscribes everything left and frees the bus. */
void core_bus_free(core_bus *bus);

/* Publishes a copy of `event` with `source` (a module id or "core"; NULL means
 * "core") as its source. Any thread. UCD_OK, or UCD_E_INVALID (unknown type,
 * NULL payload, header or payload struct_size smaller than 1.0, custom data
 * missing or over 16 MiB; a conversation-ended or directory event from any
 * source but "core"; a conversation's record missing or smaller than journal
 * 1.0's, or its participants so). A conversation-ended event's record, its
 * strings and its participants are copied too. */
int core_bus_publish(core_bus *bus, const char *source, const ucd_event *event);

/* Subscribes `owner` (module id, for statistics and cleanup). The filter is
 * copied; NULL matches everything. Main loop thread only. NULL when `cb` is
 * NULL, the filter's struct_size is below 1.0, or no thread could be started
 * for an own-thread subscriber. */
ucd_subscription *core_bus_subscribe(core_bus *bus, const char *owner,
                                     const ucd_event_filter *filter, ucd_event_cb cb,
                                     void *user_data);
/* Stops delivery to `sub` and discards what it has queued. Main loop thread,
 * or an own-thread subscriber's callback unsubscribing itself; for an
 * own-thread subscriber called from elsewhere it joins the thread, so it must
 * not be called while holding something that callback waits for. */
void core_bus_unsubscribe(core_bus *bus, ucd_subscription *sub);
/* Removes every subscription of `owner` (module stop). */
void core_bus_unsubscribe_owner(core_bus *bus, const char *owner);
/* Events `sub` lost because its queue was full. Any thread. */
uint64_t core_bus_dropped(const ucd_subscription *sub);

/* Delivers everything queued for main-loop subscribers now, and waits until
 * own-thread subscribers have drained their queues. For shutdown and tests. */
void core_bus_flush(core_bus *bus);

typedef struct core_bus_sub_stats {
    const char *owner;
    uint64_t delivered;
    uint64_t dropped;
    uint32_t queued;
    uint32_t capacity;
    gboolean own_thread;
} core_bus_sub_stats;

/* Calls `cb` with a snapshot of each live subscription's counters (collected
 * first, so `cb` may call the bus). Main loop thread. */
void core_bus_foreach(core_bus *bus, void (*cb)(const core_bus_sub_stats *stats, void *ud),
                      void *ud);
/* Events accepted by core_bus_publish() so far (the last seq). Any thread. */
uint64_t core_bus_published(core_bus *bus);

#endif /* CORE_BUS_H */
