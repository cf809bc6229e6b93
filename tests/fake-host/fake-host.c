/*
 * fake-host.c - the fake ucd core of fake-host.h: a complete ucd_host table
 * whose functions record what a plugin asks in its fake_module.
 *
 * One lock guards what "any thread" functions touch (log lines, counters,
 * the publish hook); everything else runs on the test's thread, as the core
 * runs it on the main loop.
 */
#include "fake-host.h"

#include <dlfcn.h>
#include <glib-unix.h>
#include <stdarg.h>
#include <string.h>

struct ucd_counter {
    int64_t value;
};

struct ucd_reply {
    GPtrArray *lines; /* see fake_module_run_command */
    size_t columns;
    gboolean deferred, completed; /* reply_defer / reply_complete (ABI 1.3) */
};

typedef struct fake_command {
    char *name;
    ucd_command_fn fn;
    void *user_data;
} fake_command;

typedef struct fake_service {
    char *name;
    uint32_t major;
    const void *iface;
    void *impl;
    uint32_t minor; /* from the provider's `provides` entry */
} fake_service;

static GMutex fake_lock;

/* ---- identity and logging ---------------------------------------------------------- */

static const char *fake_module_id(ucd_plugin *self)
{
    return self->id;
}

static const char *fake_instance(ucd_plugin *self)
{
    return self->instance;
}

static const char *fake_state_dir(ucd_plugin *self)
{
    return self->state_dir;
}

/* Echoed lines carry the module id, as the daemon's log does. */
static void echo(ucd_plugin *self, int level, const char *what, const char *text)
{
    if (level <= self->log_echo_level)
        g_printerr("%s: %s%s\n", self->id, what, text);
}

static void fake_log(ucd_plugin *self, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    echo(self, level, "", text);
    g_mutex_lock(&fake_lock);
    g_ptr_array_add(self->log_lines, text);
    g_array_append_val(self->log_levels, level);
    g_mutex_unlock(&fake_lock);
}

/* Every level is enabled, so the plugin's debug formatting runs too. */
static int fake_log_enabled(ucd_plugin *self, int level)
{
    return 1;
}

/* Recorded only, not added to log_lines: a test that expects the plugin to
 * log its error as well must see the plugin's own line. */
static void fake_set_error(ucd_plugin *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_free(self->last_error);
    self->last_error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    echo(self, UCD_LOG_ERROR, "error: ", self->last_error);
}

/* ---- configuration ---------------------------------------------------------------------- */

static const ucd_config_key *find_key(ucd_plugin *self, const char *name)
{
    for (const ucd_config_key *key = self->descriptor->config_keys; key != NULL && key->name;
         key++) {
        if (strcmp(key->name, name) == 0)
            return key;
    }
    return NULL;
}

/* The text of `key` as the core would give it (the section's, else the
 * default) and the result code for a getter that reads `type` (or `type2`). */
static const char *value_of(ucd_plugin *self, const char *key, uint32_t type, uint32_t type2,
                            int *rc)
{
    const ucd_config_key *decl = find_key(self, key);
    if (decl == NULL || (decl->type != type && decl->type != type2)) {
        *rc = UCD_E_INVALID;
        return NULL;
    }
    const char *value = g_hash_table_lookup(self->config, key);
    if (value == NULL)
        value = decl->default_value;
    *rc = value != NULL ? UCD_OK : UCD_E_NOT_FOUND;
    return value;
}

/* A DURATION in milliseconds: an integer with unit ms, s, m, h or d (none: ms). */
static int64_t parse_duration(const char *text)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    char *end = NULL;
    int64_t n = g_ascii_strtoll(text, &end, 10);
    for (size_t i = 0; i < G_N_ELEMENTS(units); i++) {
        if (strcmp(end, units[i].unit) == 0)
            return n * units[i].ms;
    }
    g_error("fake host: \"%s\" is not a duration", text);
}

static int fake_config_string(ucd_plugin *self, const char *key, const char **value)
{
    int rc;
    *value = value_of(self, key, UCD_CONFIG_STRING, UCD_CONFIG_STRING, &rc);
    return rc;
}

static int fake_config_int(ucd_plugin *self, const char *key, int64_t *value)
{
    int rc;
    const char *text = value_of(self, key, UCD_CONFIG_INT, UCD_CONFIG_DURATION, &rc);
    if (rc == UCD_OK)
        *value = find_key(self, key)->type == UCD_CONFIG_DURATION ? parse_duration(text)
                                                                  : g_ascii_strtoll(text, NULL, 10);
    return rc;
}

static int fake_config_bool(ucd_plugin *self, const char *key, int *value)
{
    static const char *const truths[] = {"true", "yes", "on", "1", NULL};
    int rc;
    const char *text = value_of(self, key, UCD_CONFIG_BOOL, UCD_CONFIG_BOOL, &rc);
    if (rc == UCD_OK)
        *value = g_strv_contains(truths, text);
    return rc;
}

static int fake_config_double(ucd_plugin *self, const char *key, double *value)
{
    int rc;
    const char *text = value_of(self, key, UCD_CONFIG_DOUBLE, UCD_CONFIG_DOUBLE, &rc);
    if (rc == UCD_OK)
        *value = g_ascii_strtod(text, NULL);
    return rc;
}

/* The list is kept in the module until it is freed: the core's strings live
 * until fini. */
static int fake_config_list(ucd_plugin *self, const char *key, const char *const **items,
                            size_t *count)
{
    int rc;
    const char *text = value_of(self, key, UCD_CONFIG_LIST, UCD_CONFIG_LIST, &rc);
    if (rc != UCD_OK)
        return rc;
    char **list = g_strsplit(text, ";", -1);
    guint n = g_strv_length(list);
    if (n > 0 && *list[n - 1] == '\0') { /* a trailing ';' ends the list */
        g_free(list[n - 1]);
        list[--n] = NULL;
    }
    g_hash_table_replace(self->lists, g_strdup(key), list);
    *items = (const char *const *)list;
    if (count != NULL)
        *count = n;
    return UCD_OK;
}

static int fake_config_error(ucd_plugin *self, const char *key, const char *fmt, ...)
{
    g_free(self->config_error_key);
    self->config_error_key = g_strdup(key);
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    char *what = g_strdup_printf("config error on %s: ", key);
    echo(self, UCD_LOG_ERROR, what, text);
    g_free(what);
    g_free(text);
    return UCD_FAIL;
}

/* ---- event bus -------------------------------------------------------------------------- */

static int fake_publish(ucd_plugin *self, const ucd_event *event)
{
    g_mutex_lock(&fake_lock);
    self->published++;
    if (self->on_publish != NULL)
        self->on_publish(self, event, self->publish_data);
    g_mutex_unlock(&fake_lock);
    return UCD_OK;
}

static int fake_subscribe(ucd_plugin *self, const ucd_event_filter *filter, ucd_event_cb cb,
                          void *user_data, ucd_subscription **out)
{
    ucd_subscription *sub = g_new0(ucd_subscription, 1);
    sub->owner = self;
    if (filter != NULL) {
        /* An older plugin's filter may be shorter: copy only what it has. */
        memcpy(&sub->filter, filter, MIN(filter->struct_size, sizeof(sub->filter)));
        sub->filter.subject = g_strdup(filter->subject);
        sub->filter.source = g_strdup(filter->source);
    }
    sub->cb = cb;
    sub->user_data = user_data;
    g_ptr_array_add(self->subscriptions, sub);
    if (out != NULL)
        *out = sub;
    return UCD_OK;
}

static void subscription_free(gpointer data)
{
    ucd_subscription *sub = data;
    g_free((char *)sub->filter.subject);
    g_free((char *)sub->filter.source);
    g_free(sub);
}

static void fake_unsubscribe(ucd_plugin *self, ucd_subscription *sub)
{
    g_assert_true(g_ptr_array_remove(self->subscriptions, sub));
}

/* Nothing is queued, so nothing is ever dropped. */
static uint64_t fake_subscription_dropped(ucd_subscription *sub)
{
    return 0;
}

static gboolean same_or_any(const char *wanted, const char *actual)
{
    return wanted == NULL || g_strcmp0(wanted, actual) == 0;
}

static gboolean filter_takes(const ucd_event_filter *filter, const ucd_event *event)
{
    return (filter->type_mask == 0 || (filter->type_mask & UCD_EVENT_MASK(event->type)) != 0) &&
           same_or_any(filter->subject, event->subject) &&
           same_or_any(filter->source, event->source);
}

void fake_module_deliver(fake_module *module, const ucd_event *event)
{
    for (guint i = 0; i < module->subscriptions->len; i++) {
        ucd_subscription *sub = g_ptr_array_index(module->subscriptions, i);
        if (filter_takes(&sub->filter, event))
            sub->cb(event, sub->user_data);
    }
}

/* ---- main loop: timers and fd watches ----------------------------------------------------- */

static gboolean timer_dispatch(gpointer data)
{
    fake_timer_fire(data);
    return G_SOURCE_CONTINUE; /* a one-shot timer removed its source itself */
}

void fake_timer_fire(struct ucd_timer *timer)
{
    if (timer->flags & UCD_TIMER_REPEAT) {
        timer->cb(timer->user_data);
        return;
    }
    /* Forgotten before the callback, as the core does: the plugin must not
     * remove a one-shot timer that fired. */
    guint index;
    g_assert_true(g_ptr_array_find(timer->owner->timers, timer, &index));
    g_ptr_array_steal_index_fast(timer->owner->timers, index);
    g_source_remove(timer->source);
    timer->cb(timer->user_data);
    g_free(timer);
}

static ucd_timer *fake_timer_add(ucd_plugin *self, uint64_t interval_ms, uint32_t flags,
                                 ucd_timer_cb cb, void *user_data)
{
    ucd_timer *timer = g_new0(ucd_timer, 1);
    timer->owner = self;
    timer->interval_ms = interval_ms;
    timer->flags = flags;
    timer->cb = cb;
    timer->user_data = user_data;
    timer->source = g_timeout_add((guint)interval_ms, timer_dispatch, timer);
    g_ptr_array_add(self->timers, timer);
    return timer;
}

static void timer_free(gpointer data)
{
    ucd_timer *timer = data;
    g_source_remove(timer->source);
    g_free(timer);
}

static void fake_timer_remove(ucd_plugin *self, ucd_timer *timer)
{
    /* A fired one-shot timer is gone already and must not come here. */
    g_assert_true(g_ptr_array_remove_fast(self->timers, timer)); /* frees it */
}

static GIOCondition condition_of(uint32_t events)
{
    GIOCondition condition = G_IO_ERR | G_IO_HUP | G_IO_NVAL;
    if (events & UCD_WATCH_READ)
        condition |= G_IO_IN | G_IO_PRI;
    if (events & UCD_WATCH_WRITE)
        condition |= G_IO_OUT;
    return condition;
}

static uint32_t revents_of(unsigned condition)
{
    return ((condition & (G_IO_IN | G_IO_PRI)) ? UCD_WATCH_READ : 0) |
           ((condition & G_IO_OUT) ? UCD_WATCH_WRITE : 0) |
           ((condition & (G_IO_ERR | G_IO_HUP | G_IO_NVAL)) ? UCD_WATCH_ERROR : 0);
}

static gboolean watch_dispatch(int fd, GIOCondition condition, gpointer data)
{
    ucd_watch *watch = data;
    watch->cb(fd, revents_of(condition), watch->user_data);
    return G_SOURCE_CONTINUE; /* watch_remove, even from the callback, removes the source */
}

static void watch_attach(ucd_watch *watch)
{
    watch->source = g_unix_fd_add(watch->fd, condition_of(watch->events), watch_dispatch, watch);
}

static ucd_watch *fake_watch_add(ucd_plugin *self, int fd, uint32_t events, ucd_watch_cb cb,
                                 void *user_data)
{
    ucd_watch *watch = g_new0(ucd_watch, 1);
    watch->owner = self;
    watch->fd = fd;
    watch->events = events;
    watch->cb = cb;
    watch->user_data = user_data;
    watch_attach(watch);
    g_ptr_array_add(self->watches, watch);
    return watch;
}

static void fake_watch_update(ucd_plugin *self, ucd_watch *watch, uint32_t events)
{
    g_source_remove(watch->source);
    watch->events = events;
    watch_attach(watch);
}

static void watch_free(gpointer data)
{
    ucd_watch *watch = data;
    g_source_remove(watch->source);
    g_free(watch);
}

static void fake_watch_remove(ucd_plugin *self, ucd_watch *watch)
{
    g_assert_true(g_ptr_array_remove_fast(self->watches, watch)); /* frees it */
}

unsigned fake_module_poll_watches(fake_module *module, int timeout_ms)
{
    guint count = module->watches->len;
    GPollFD *fds = g_new0(GPollFD, count);
    ucd_watch **polled = g_new0(ucd_watch *, count);
    for (guint i = 0; i < count; i++) {
        polled[i] = g_ptr_array_index(module->watches, i);
        fds[i].fd = polled[i]->fd;
        fds[i].events = (gushort)condition_of(polled[i]->events);
    }
    unsigned called = 0;
    if (g_poll(fds, count, timeout_ms) > 0) {
        for (guint i = 0; i < count; i++) {
            /* An earlier callback may have removed this watch. */
            if (fds[i].revents == 0 || !g_ptr_array_find(module->watches, polled[i], NULL))
                continue;
            polled[i]->cb(fds[i].fd, revents_of(fds[i].revents), polled[i]->user_data);
            called++;
        }
    }
    g_free(polled);
    g_free(fds);
    return called;
}

/* ---- threads ------------------------------------------------------------------------------ */

/* At once, on this thread: a test sees the work done when the call returns. */
static int fake_work_submit(ucd_plugin *self, ucd_work_fn work, ucd_done_fn done, void *user_data)
{
    work(user_data);
    if (done != NULL)
        done(user_data);
    return UCD_OK;
}

/* Like work items, a queue's items run at once on the calling thread, which
 * is also their order. The live set lets a submit to a freed queue be refused
 * as the core refuses it. */
struct ucd_work_queue {
    fake_module *owner;
    char *name;
};

static GHashTable *live_queues; /* struct ucd_work_queue * set; under fake_lock */

static void work_queue_free(gpointer data)
{
    struct ucd_work_queue *queue = data;
    g_mutex_lock(&fake_lock);
    g_hash_table_remove(live_queues, queue);
    if (g_hash_table_size(live_queues) == 0)
        g_clear_pointer(&live_queues, g_hash_table_unref); /* leak-free at exit */
    g_mutex_unlock(&fake_lock);
    g_free(queue->name);
    g_free(queue);
}

static ucd_work_queue *fake_work_queue_new(ucd_plugin *self, const char *name)
{
    struct ucd_work_queue *queue = g_new0(struct ucd_work_queue, 1);
    queue->owner = self;
    queue->name = g_strdup(name);
    g_mutex_lock(&fake_lock);
    if (live_queues == NULL)
        live_queues = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_hash_table_add(live_queues, queue);
    g_mutex_unlock(&fake_lock);
    g_ptr_array_add(self->work_queues, queue);
    return queue;
}

static int fake_work_queue_submit(ucd_work_queue *queue, ucd_work_fn work, ucd_done_fn done,
                                  void *user_data)
{
    g_mutex_lock(&fake_lock);
    gboolean live = live_queues != NULL && g_hash_table_contains(live_queues, queue);
    g_mutex_unlock(&fake_lock);
    if (!live || work == NULL)
        return UCD_E_INVALID;
    work(user_data);
    if (done != NULL)
        done(user_data);
    return UCD_OK;
}

static void fake_work_queue_free(ucd_plugin *self, ucd_work_queue *queue)
{
    if (queue != NULL && !g_ptr_array_remove(self->work_queues, queue))
        g_error("%s: work_queue_free of a queue that is not this module's (freed twice?)",
                self->id);
}

/* ---- services ----------------------------------------------------------------------------- */

/* The minor the plugin declares for name/major in `provides`, walked at the
 * plugin's own stride (16 bytes and minor 0 before host 1.4), as the loader
 * reads it. */
static uint32_t provided_minor(const ucd_plugin_descriptor *descriptor, const char *name,
                               uint32_t major)
{
    size_t end = offsetof(ucd_plugin_descriptor, service_decl_size) + sizeof(uint32_t);
    size_t stride = descriptor->struct_size >= end ? descriptor->service_decl_size : 0;
    const char *table = (const char *)descriptor->provides;
    for (size_t i = 0; stride != 0 && table != NULL; i++) {
        const ucd_service_decl *decl = (const ucd_service_decl *)(table + i * stride);
        if (decl->name == NULL)
            break;
        if (decl->major == major && strcmp(decl->name, name) == 0)
            return decl->minor;
    }
    return 0;
}

static int fake_service_register(ucd_plugin *self, const char *name, uint32_t major,
                                 const void *iface, void *impl)
{
    fake_service *service = g_new0(fake_service, 1);
    service->name = g_strdup(name);
    service->major = major;
    service->iface = iface;
    service->impl = impl;
    service->minor = provided_minor(self->descriptor, name, major);
    g_ptr_array_add(self->services, service);
    return UCD_OK;
}

static void service_free(gpointer data)
{
    fake_service *service = data;
    g_free(service->name);
    g_free(service);
}

/* Services the test provides (fake_provide_service) and the live modules,
 * whose own registrations service_get also finds. Test thread only. */
typedef struct provided_service {
    char *provider;
    fake_service service;
} provided_service;

static GPtrArray *provided_services; /* provided_service * */
static GPtrArray *live_modules;      /* fake_module *, in creation order */

void fake_provide_service(const char *provider, const char *name, uint32_t major, const void *iface,
                          void *impl)
{
    if (provided_services == NULL)
        provided_services = g_ptr_array_new();
    provided_service *p = g_new0(provided_service, 1);
    p->provider = g_strdup(provider);
    p->service = (fake_service){g_strdup(name), major, iface, impl, 0};
    g_ptr_array_add(provided_services, p);
}

void fake_withdraw_services(void)
{
    for (guint i = 0; provided_services != NULL && i < provided_services->len; i++) {
        provided_service *p = g_ptr_array_index(provided_services, i);
        g_free(p->provider);
        g_free(p->service.name);
        g_free(p);
    }
    g_clear_pointer(&provided_services, g_ptr_array_unref);
}

static gboolean service_matches(const fake_service *service, const char *name, uint32_t major)
{
    return strcmp(service->name, name) == 0 && service->major == major;
}

/* Calls `cb` for each provider of name/major (narrowed to `provider` when not
 * NULL) until it returns non-zero; returns how many it was called for. */
static unsigned each_provider(const char *name, uint32_t major, const char *provider,
                              ucd_service_cb cb, void *user_data)
{
    unsigned found = 0;
    for (guint i = 0; provided_services != NULL && i < provided_services->len; i++) {
        const provided_service *p = g_ptr_array_index(provided_services, i);
        if (!service_matches(&p->service, name, major) ||
            (provider != NULL && strcmp(provider, p->provider) != 0))
            continue;
        ucd_service s = {.struct_size = sizeof(s),
                         .major = major,
                         .name = p->service.name,
                         .provider = p->provider,
                         .iface = p->service.iface,
                         .impl = p->service.impl,
                         .minor = p->service.minor};
        found++;
        if (cb(&s, user_data) != 0)
            return found;
    }
    for (guint m = 0; live_modules != NULL && m < live_modules->len; m++) {
        const fake_module *module = g_ptr_array_index(live_modules, m);
        for (guint i = 0; i < module->services->len; i++) {
            const fake_service *service = g_ptr_array_index(module->services, i);
            if (!service_matches(service, name, major) ||
                (provider != NULL && strcmp(provider, module->id) != 0))
                continue;
            ucd_service s = {.struct_size = sizeof(s),
                             .major = major,
                             .name = service->name,
                             .provider = module->id,
                             .iface = service->iface,
                             .impl = service->impl,
                             .minor = service->minor};
            found++;
            if (cb(&s, user_data) != 0)
                return found;
        }
    }
    return found;
}

static int copy_first(const ucd_service *service, void *out)
{
    *(ucd_service *)out = *service;
    return 1;
}

static int fake_service_get(ucd_plugin *self, const char *name, uint32_t major,
                            const char *provider, ucd_service *out)
{
    ucd_service found = {0};
    if (each_provider(name, major, provider, copy_first, &found) == 0)
        return UCD_E_NOT_FOUND;
    /* The caller's struct may be older (shorter) than ours. */
    uint32_t size = out->struct_size ? MIN(out->struct_size, sizeof(found)) : sizeof(found);
    memcpy(out, &found, size);
    out->struct_size = size;
    return UCD_OK;
}

static int fake_service_foreach(ucd_plugin *self, const char *name, uint32_t major,
                                ucd_service_cb cb, void *user_data)
{
    each_provider(name, major, NULL, cb, user_data);
    return UCD_OK;
}

const void *fake_module_service(fake_module *module, const char *name, uint32_t major, void **impl)
{
    for (guint i = 0; i < module->services->len; i++) {
        const fake_service *service = g_ptr_array_index(module->services, i);
        if (strcmp(service->name, name) == 0 && service->major == major) {
            if (impl != NULL)
                *impl = service->impl;
            return service->iface;
        }
    }
    return NULL;
}

/* ---- metrics ------------------------------------------------------------------------------ */

static ucd_counter *fake_counter_new(ucd_plugin *self, const char *name, uint32_t kind,
                                     const char *help)
{
    g_mutex_lock(&fake_lock);
    ucd_counter *counter = g_hash_table_lookup(self->counters, name);
    if (counter == NULL) {
        counter = g_new0(ucd_counter, 1);
        g_hash_table_insert(self->counters, g_strdup(name), counter);
    }
    g_mutex_unlock(&fake_lock);
    return counter;
}

static void fake_counter_add(ucd_counter *counter, int64_t delta)
{
    g_mutex_lock(&fake_lock);
    counter->value += delta;
    g_mutex_unlock(&fake_lock);
}

static void fake_counter_set(ucd_counter *counter, int64_t value)
{
    g_mutex_lock(&fake_lock);
    counter->value = value;
    g_mutex_unlock(&fake_lock);
}

int64_t fake_module_counter(fake_module *module, const char *name)
{
    g_mutex_lock(&fake_lock);
    const ucd_counter *counter = g_hash_table_lookup(module->counters, name);
    int64_t value = counter != NULL ? counter->value : -1;
    g_mutex_unlock(&fake_lock);
    return value;
}

/* ---- control commands --------------------------------------------------------------------- */

static int fake_command_register(ucd_plugin *self, const char *name, const char *usage,
                                 const char *help, ucd_command_fn fn, void *user_data)
{
    g_assert_true(g_regex_match_simple("^[a-z0-9][a-z0-9-]*$", name, 0, 0));
    fake_command *command = g_new0(fake_command, 1);
    command->name = g_strdup(name);
    command->fn = fn;
    command->user_data = user_data;
    g_ptr_array_add(self->commands, command);
    return UCD_OK;
}

static void command_free(gpointer data)
{
    fake_command *command = data;
    g_free(command->name);
    g_free(command);
}

static void fake_reply_columns(ucd_reply *reply, size_t count, const char *const *names)
{
    reply->columns = count;
    GString *line = g_string_new("columns:");
    for (size_t i = 0; i < count; i++)
        g_string_append_printf(line, "%s%s", i ? "," : "", names[i]);
    g_ptr_array_add(reply->lines, g_string_free(line, FALSE));
}

static void fake_reply_row(ucd_reply *reply, const char *const *values)
{
    GString *line = g_string_new("row:");
    for (size_t i = 0; i < reply->columns; i++)
        g_string_append_printf(line, "%s%s", i ? "," : "", values[i]);
    g_ptr_array_add(reply->lines, g_string_free(line, FALSE));
}

static void fake_reply_field(ucd_reply *reply, const char *name, const char *value)
{
    g_ptr_array_add(reply->lines, g_strdup_printf("%s=%s", name, value));
}

static void fake_reply_text(ucd_reply *reply, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(reply->lines, g_strconcat("text:", text, NULL));
    g_free(text);
}

/* Only that there was an error: tests compare the result code, not wording. */
static void fake_reply_error(ucd_reply *reply, const char *fmt, ...)
{
    g_ptr_array_add(reply->lines, g_strdup("error"));
}

/* Work items run synchronously here (fake_work_submit), so a deferred reply is
 * complete before the handler returns; fake_module_run_command checks that. */
static void fake_reply_defer(ucd_reply *reply)
{
    g_assert_false(reply->deferred);
    reply->deferred = TRUE;
}

static void fake_reply_complete(ucd_reply *reply)
{
    g_assert_true(reply->deferred);
    g_assert_false(reply->completed);
    reply->completed = TRUE;
}

const char *fake_module_command_name(fake_module *module)
{
    if (module->commands->len == 0)
        return NULL;
    return ((const fake_command *)g_ptr_array_index(module->commands, 0))->name;
}

char **fake_module_run_command(fake_module *module, int *rc, const char *const *args)
{
    g_assert_cmpuint(module->commands->len, >, 0);
    const fake_command *command = g_ptr_array_index(module->commands, 0);
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, command->name);
    for (const char *const *arg = args; arg != NULL && *arg != NULL; arg++)
        g_ptr_array_add(argv, (gpointer)*arg);
    ucd_reply reply = {g_ptr_array_new(), 0, FALSE, FALSE};
    *rc = command->fn((int)argv->len, (const char *const *)argv->pdata, &reply, command->user_data);
    if (reply.deferred)
        g_assert_true(reply.completed); /* a deferred reply must be sent */
    g_ptr_array_unref(argv);
    g_ptr_array_add(reply.lines, NULL);
    return (char **)g_ptr_array_free(reply.lines, FALSE);
}

/* Runs the command with the arguments in `ap` and joins its reply's lines. */
static char *run_joined(fake_module *module, int *rc, va_list ap)
{
    GPtrArray *args = g_ptr_array_new();
    for (const char *arg; (arg = va_arg(ap, const char *)) != NULL;)
        g_ptr_array_add(args, (gpointer)arg);
    g_ptr_array_add(args, NULL);
    char **lines = fake_module_run_command(module, rc, (const char *const *)args->pdata);
    g_ptr_array_unref(args);
    char *joined = g_strjoinv(", ", lines);
    g_strfreev(lines);
    return joined;
}

char *fake_module_command(fake_module *module, int expect_rc, ...)
{
    int rc;
    va_list ap;
    va_start(ap, expect_rc);
    char *joined = run_joined(module, &rc, ap);
    va_end(ap);
    g_assert_cmpint(rc, ==, expect_rc);
    return joined;
}

void fake_module_command_is(fake_module *module, const char *expected, ...)
{
    int rc;
    va_list ap;
    va_start(ap, expected);
    char *joined = run_joined(module, &rc, ap);
    va_end(ap);
    g_assert_cmpstr(joined, ==, expected);
    g_free(joined);
}

/* ---- the table ---------------------------------------------------------------------------- */

const ucd_host fake_host = {
    .struct_size = sizeof(ucd_host),
    .abi_major = UCD_ABI_MAJOR,
    .abi_minor = UCD_HOST_MINOR,
    .core_version = "test",
    .module_id = fake_module_id,
    .instance = fake_instance,
    .state_dir = fake_state_dir,
    .log = fake_log,
    .log_enabled = fake_log_enabled,
    .set_error = fake_set_error,
    .config_string = fake_config_string,
    .config_int = fake_config_int,
    .config_bool = fake_config_bool,
    .config_double = fake_config_double,
    .config_list = fake_config_list,
    .config_error = fake_config_error,
    .publish = fake_publish,
    .subscribe = fake_subscribe,
    .unsubscribe = fake_unsubscribe,
    .subscription_dropped = fake_subscription_dropped,
    .timer_add = fake_timer_add,
    .timer_remove = fake_timer_remove,
    .watch_add = fake_watch_add,
    .watch_update = fake_watch_update,
    .watch_remove = fake_watch_remove,
    .work_submit = fake_work_submit,
    .service_register = fake_service_register,
    .service_get = fake_service_get,
    .service_foreach = fake_service_foreach,
    .counter_new = fake_counter_new,
    .counter_add = fake_counter_add,
    .counter_set = fake_counter_set,
    .command_register = fake_command_register,
    .reply_columns = fake_reply_columns,
    .reply_row = fake_reply_row,
    .reply_field = fake_reply_field,
    .reply_text = fake_reply_text,
    .reply_error = fake_reply_error,
    .reply_defer = fake_reply_defer,
    .reply_complete = fake_reply_complete,
    .work_queue_new = fake_work_queue_new,
    .work_queue_submit = fake_work_queue_submit,
    .work_queue_free = fake_work_queue_free,
};

/* ---- modules ------------------------------------------------------------------------------ */

const ucd_plugin_descriptor *fake_load_plugin(const char *path, const char *name, void **handle)
{
    *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (*handle == NULL)
        g_error("dlopen %s: %s", path, dlerror());
    ucd_plugin_entry_fn entry = NULL;
    *(void **)&entry = dlsym(*handle, UCD_PLUGIN_ENTRY_SYMBOL);
    if (entry == NULL)
        g_error("%s: no %s", path, UCD_PLUGIN_ENTRY_SYMBOL);
    const ucd_plugin_descriptor *descriptor = entry();
    g_assert_nonnull(descriptor);
    g_assert_cmpstr(descriptor->name, ==, name);
    g_assert_cmpuint(descriptor->abi_major, ==, UCD_ABI_MAJOR);
    return descriptor;
}

fake_module *fake_module_new(const ucd_plugin_descriptor *descriptor, const char *id)
{
    fake_module *module = g_new0(fake_module, 1);
    module->descriptor = descriptor;
    module->id = g_strdup(id);
    const char *colon = strchr(id, ':');
    module->instance = colon != NULL ? g_strdup(colon + 1) : NULL;
    module->log_echo_level = g_test_verbose() ? UCD_LOG_DEBUG : 0;
    module->log_lines = g_ptr_array_new_with_free_func(g_free);
    module->log_levels = g_array_new(FALSE, FALSE, sizeof(int));
    module->timers = g_ptr_array_new_with_free_func(timer_free);
    module->watches = g_ptr_array_new_with_free_func(watch_free);
    module->subscriptions = g_ptr_array_new_with_free_func(subscription_free);
    module->config = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    module->lists =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_strfreev);
    module->counters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    module->commands = g_ptr_array_new_with_free_func(command_free);
    module->services = g_ptr_array_new_with_free_func(service_free);
    module->work_queues = g_ptr_array_new_with_free_func(work_queue_free);
    if (live_modules == NULL)
        live_modules = g_ptr_array_new();
    g_ptr_array_add(live_modules, module);
    return module;
}

void fake_module_free(fake_module *module)
{
    g_ptr_array_remove(live_modules, module);
    if (live_modules->len == 0)
        g_clear_pointer(&live_modules, g_ptr_array_unref); /* leak-free at exit */
    g_free(module->id);
    g_free(module->instance);
    g_free(module->state_dir);
    g_ptr_array_unref(module->log_lines);
    g_array_unref(module->log_levels);
    g_free(module->last_error);
    g_free(module->config_error_key);
    g_ptr_array_unref(module->timers);
    g_ptr_array_unref(module->watches);
    g_ptr_array_unref(module->subscriptions);
    g_hash_table_unref(module->config);
    g_hash_table_unref(module->lists);
    g_hash_table_unref(module->counters);
    g_ptr_array_unref(module->commands);
    g_ptr_array_unref(module->services);
    g_ptr_array_unref(module->work_queues);
    g_free(module);
}

void fake_module_set(fake_module *module, const char *key, const char *value)
{
    if (value == NULL)
        g_hash_table_remove(module->config, key);
    else
        g_hash_table_replace(module->config, g_strdup(key), g_strdup(value));
}

void fake_module_set_pairs(fake_module *module, const char *const *pairs)
{
    for (const char *const *kv = pairs; kv != NULL && kv[0] != NULL; kv += 2)
        fake_module_set(module, kv[0], kv[1]);
}

void fake_module_set_state_dir(fake_module *module, const char *dir)
{
    g_free(module->state_dir);
    module->state_dir = g_strdup(dir);
}

int fake_module_init(fake_module *module)
{
    module->state = NULL;
    return module->descriptor->init(module, &fake_host, &module->state);
}

void fake_module_start(fake_module *module)
{
    int rc = fake_module_init(module);
    if (rc != UCD_OK)
        g_error("%s: init failed (%s): %s / config key %s", module->id, ucd_strerror(rc),
                module->last_error ? module->last_error : "-",
                module->config_error_key ? module->config_error_key : "-");
    if (module->descriptor->start != NULL) {
        rc = module->descriptor->start(module->state);
        if (rc != UCD_OK)
            g_error("%s: start failed (%s): %s", module->id, ucd_strerror(rc),
                    module->last_error ? module->last_error : "-");
    }
}

void fake_module_stop(fake_module *module)
{
    if (module->descriptor->stop != NULL)
        module->descriptor->stop(module->state);
    module->leftover_timers = module->timers->len;
    module->leftover_watches = module->watches->len;
    g_ptr_array_set_size(module->timers, 0);
    g_ptr_array_set_size(module->watches, 0);
    g_ptr_array_set_size(module->subscriptions, 0);
    g_ptr_array_set_size(module->commands, 0);
    g_ptr_array_set_size(module->services, 0);
    g_ptr_array_set_size(module->work_queues, 0);
    if (module->descriptor->fini != NULL)
        module->descriptor->fini(module->state);
    module->state = NULL;
}

gboolean fake_module_log_has(fake_module *module, int level, const char *needle)
{
    gboolean found = FALSE;
    g_mutex_lock(&fake_lock);
    for (guint i = 0; i < module->log_lines->len && !found; i++) {
        found = (level == 0 || g_array_index(module->log_levels, int, i) == level) &&
                strstr(g_ptr_array_index(module->log_lines, i), needle) != NULL;
    }
    g_mutex_unlock(&fake_lock);
    return found;
}

void fake_module_log_clear(fake_module *module)
{
    g_mutex_lock(&fake_lock);
    g_ptr_array_set_size(module->log_lines, 0);
    g_array_set_size(module->log_levels, 0);
    g_mutex_unlock(&fake_lock);
}

/* ---- users backends ----------------------------------------------------- */

static void fake_user_free(gpointer data)
{
    fake_user *u = data;
    g_free(u->id);
    g_free(u->login);
    g_free(u->display_name);
    g_free(u->given_name);
    g_free(u->surname);
    g_free(u->email);
    g_free(u->department);
    g_free(u->title);
    g_free(u->home_server);
    g_strfreev(u->numbers);
    g_strfreev(u->groups);
    g_strfreev(u->lines);
    g_free(u);
}

static char **strv_or_empty(const char *const *v)
{
    return v != NULL ? g_strdupv((char **)v) : g_new0(char *, 1);
}

static int collect_user(const ucd_user *user, void *data)
{
    fake_user *u = g_new0(fake_user, 1);
    u->id = g_strdup(user->id);
    u->login = g_strdup(user->login);
    u->display_name = g_strdup(user->display_name);
    u->given_name = g_strdup(user->given_name);
    u->surname = g_strdup(user->surname);
    u->email = g_strdup(user->email);
    u->department = g_strdup(user->department);
    u->title = g_strdup(user->title);
    u->home_server = g_strdup(user->home_server);
    u->enabled = user->enabled != 0;
    u->numbers = strv_or_empty(user->numbers);
    u->groups = strv_or_empty(user->groups);
    u->lines = strv_or_empty(user->lines);
    g_assert_false(g_hash_table_contains(data, u->login));
    g_hash_table_insert(data, u->login, u);
    return 0;
}

GHashTable *fake_users_by_login(const ucd_users_v1 *iface, void *impl)
{
    GHashTable *users = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, fake_user_free);
    g_assert_cmpint(iface->foreach_user(impl, collect_user, users), ==, UCD_OK);
    return users;
}
