/*
 * host.c - the ucd_host function table: what plugins call.
 *
 * Every function attributes what it creates to the calling module instance,
 * so core_host_release() can take it all back when the module stops. That is
 * the difference between a plugin host that survives a sloppy plugin and one
 * that calls into unloaded code.
 */
#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <string.h>

#include "host.h"
#include "instance.h"
#include "log.h"

static core_runtime *rt_of(ucd_plugin *p)
{
    return p->mods->rt;
}

/* ---- identity --------------------------------------------------------------- */

static const char *host_module_id(ucd_plugin *p)
{
    return p->id;
}

static const char *host_instance(ucd_plugin *p)
{
    return p->instance;
}

static const char *host_state_dir(ucd_plugin *p)
{
    if (p->state_dir)
        return p->state_dir;
    char *dir = g_build_filename(rt_of(p)->state_dir, p->id, NULL);
    if (g_mkdir_with_parents(dir, 0700) != 0) {
        core_log(p->id, UCD_LOG_ERROR, "cannot create state directory %s: %s", dir,
                 g_strerror(errno));
        g_free(dir);
        return NULL;
    }
    p->state_dir = dir;
    return dir;
}

/* ---- logging ---------------------------------------------------------------- */

static void host_log(ucd_plugin *p, int level, const char *fmt, ...)
{
    if (!core_log_enabled(p->id, level))
        return;
    va_list ap;
    va_start(ap, fmt);
    core_logv(p->id, level, fmt, ap);
    va_end(ap);
}

static int host_log_enabled(ucd_plugin *p, int level)
{
    return core_log_enabled(p->id, level);
}

static void host_set_error(ucd_plugin *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_free(p->last_error);
    p->last_error = msg;
}

/* ---- configuration ---------------------------------------------------------- */

static int host_config_string(ucd_plugin *p, const char *key, const char **value)
{
    return p->cfg ? core_section_string(p->cfg, key, value) : UCD_E_NOT_FOUND;
}

static int host_config_int(ucd_plugin *p, const char *key, int64_t *value)
{
    return p->cfg ? core_section_int(p->cfg, key, value) : UCD_E_NOT_FOUND;
}

static int host_config_bool(ucd_plugin *p, const char *key, int *value)
{
    return p->cfg ? core_section_bool(p->cfg, key, value) : UCD_E_NOT_FOUND;
}

static int host_config_double(ucd_plugin *p, const char *key, double *value)
{
    return p->cfg ? core_section_double(p->cfg, key, value) : UCD_E_NOT_FOUND;
}

static int host_config_list(ucd_plugin *p, const char *key, const char *const **items,
                            size_t *count)
{
    return p->cfg ? core_section_list(p->cfg, key, items, count) : UCD_E_NOT_FOUND;
}

static int host_config_error(ucd_plugin *p, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    char *where = p->cfg ? core_section_where(p->cfg, key) : g_strdup(p->where);
    g_free(p->last_error);
    p->last_error = g_strdup_printf("%s: [module %s] %s: %s", where ? where : "?", p->id, key, msg);
    core_log(p->id, UCD_LOG_ERROR, "%s", p->last_error);
    g_free(where);
    g_free(msg);
    return UCD_FAIL;
}

/* ---- event bus ---------------------------------------------------------------- */

static int host_publish(ucd_plugin *p, const ucd_event *event)
{
    if (!event || event->struct_size < offsetof(ucd_event, payload) + sizeof(void *))
        return UCD_E_INVALID;
    return core_bus_publish(rt_of(p)->bus, p->id, event);
}

static int host_subscribe(ucd_plugin *p, const ucd_event_filter *filter, ucd_event_cb cb,
                          void *user_data, ucd_subscription **out)
{
    if (!cb)
        return UCD_E_INVALID;
    ucd_subscription *sub = core_bus_subscribe(rt_of(p)->bus, p->id, filter, cb, user_data);
    if (!sub)
        return UCD_E_INVALID;
    if (out)
        *out = sub;
    return UCD_OK;
}

static void host_unsubscribe(ucd_plugin *p, ucd_subscription *sub)
{
    if (sub)
        core_bus_unsubscribe(rt_of(p)->bus, sub);
}

static uint64_t host_subscription_dropped(ucd_subscription *sub)
{
    return sub ? core_bus_dropped(sub) : 0;
}

/* ---- timers ----------------------------------------------------------------- */

struct ucd_timer {
    ucd_plugin *owner;
    GSource *source;
    ucd_timer_cb cb;
    void *user_data;
    uint32_t flags;
};

static gboolean timer_fire(gpointer data)
{
    struct ucd_timer *t = data;
    gboolean repeat = (t->flags & UCD_TIMER_REPEAT) != 0;
    /* A one-shot timer is forgotten before its callback runs, so the callback
     * may free what it pointed to without racing core_host_release(). */
    if (!repeat)
        g_ptr_array_remove_fast(t->owner->timers, t);
    t->cb(t->user_data);
    return repeat ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void timer_free(gpointer data)
{
    struct ucd_timer *t = data;
    g_source_unref(t->source);
    g_free(t);
}

static ucd_timer *host_timer_add(ucd_plugin *p, uint64_t interval_ms, uint32_t flags,
                                 ucd_timer_cb cb, void *user_data)
{
    if (!cb || interval_ms > G_MAXUINT)
        return NULL;
    struct ucd_timer *t = g_new0(struct ucd_timer, 1);
    t->owner = p;
    t->cb = cb;
    t->user_data = user_data;
    t->flags = flags;
    t->source = g_timeout_source_new((guint)interval_ms);
    g_source_set_name(t->source, p->id);
    /* The source's callback data is the timer: GLib frees it (timer_free)
     * after the last dispatch, even when removed from inside the callback. */
    g_source_set_callback(t->source, timer_fire, t, timer_free);
    g_ptr_array_add(p->timers, t);
    g_source_attach(t->source, rt_of(p)->ctx);
    return t;
}

static void host_timer_remove(ucd_plugin *p, ucd_timer *t)
{
    if (!t || !g_ptr_array_remove_fast(p->timers, t))
        return;
    g_source_destroy(t->source);
}

/* ---- fd watches ------------------------------------------------------------- */

struct ucd_watch {
    GSource base; /* first: the watch is its own GSource */
    ucd_plugin *owner;
    gpointer tag;
    int fd;
    ucd_watch_cb cb;
    void *user_data;
};

static GIOCondition to_condition(uint32_t events)
{
    GIOCondition c = G_IO_ERR | G_IO_HUP | G_IO_NVAL;
    if (events & UCD_WATCH_READ)
        c |= G_IO_IN | G_IO_PRI;
    if (events & UCD_WATCH_WRITE)
        c |= G_IO_OUT;
    return c;
}

static gboolean watch_dispatch(GSource *source, GSourceFunc unused_cb, gpointer unused_data)
{
    struct ucd_watch *w = (struct ucd_watch *)source;
    GIOCondition got = g_source_query_unix_fd(source, w->tag);
    uint32_t revents = 0;
    if (got & (G_IO_IN | G_IO_PRI))
        revents |= UCD_WATCH_READ;
    if (got & G_IO_OUT)
        revents |= UCD_WATCH_WRITE;
    if (got & (G_IO_ERR | G_IO_HUP | G_IO_NVAL))
        revents |= UCD_WATCH_ERROR;
    if (revents)
        w->cb(w->fd, revents, w->user_data);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs watch_funcs = {.dispatch = watch_dispatch};

static ucd_watch *host_watch_add(ucd_plugin *p, int fd, uint32_t events, ucd_watch_cb cb,
                                 void *user_data)
{
    if (fd < 0 || !cb)
        return NULL;
    struct ucd_watch *w = (struct ucd_watch *)g_source_new(&watch_funcs, sizeof *w);
    w->owner = p;
    w->fd = fd;
    w->cb = cb;
    w->user_data = user_data;
    w->tag = g_source_add_unix_fd(&w->base, fd, to_condition(events));
    g_source_set_name(&w->base, p->id);
    g_ptr_array_add(p->watches, w);
    g_source_attach(&w->base, rt_of(p)->ctx);
    return w;
}

static void host_watch_update(ucd_plugin *p, ucd_watch *w, uint32_t events)
{
    if (w && !g_source_is_destroyed(&w->base))
        g_source_modify_unix_fd(&w->base, w->tag, to_condition(events));
}

static void watch_destroy(struct ucd_watch *w)
{
    g_source_destroy(&w->base);
    g_source_unref(&w->base);
}

static void host_watch_remove(ucd_plugin *p, ucd_watch *w)
{
    if (w && g_ptr_array_remove_fast(p->watches, w))
        watch_destroy(w);
}

/* ---- threads ------------------------------------------------------------------ */

static int host_work_submit(ucd_plugin *p, ucd_work_fn work, ucd_done_fn done, void *user_data)
{
    return core_workers_submit(rt_of(p)->workers, p->id, work, done, user_data);
}

static ucd_work_queue *host_work_queue_new(ucd_plugin *p, const char *name)
{
    if (!rt_of(p)->workers)
        return NULL; /* no pool in this process (tests) */
    core_work_queue *queue = core_work_queue_new(rt_of(p)->workers, p->id, name);
    g_ptr_array_add(p->queues, queue);
    return (ucd_work_queue *)queue;
}

static int host_work_queue_submit(ucd_work_queue *queue, ucd_work_fn work, ucd_done_fn done,
                                  void *user_data)
{
    return core_work_queue_submit((core_work_queue *)queue, work, done, user_data);
}

static void host_work_queue_free(ucd_plugin *p, ucd_work_queue *queue)
{
    if (queue == NULL)
        return;
    /* Only a queue of this module's that is not freed yet: anything else is
     * a plugin bug that must not free memory twice. */
    if (!g_ptr_array_remove_fast(p->queues, queue)) {
        core_log(p->id, UCD_LOG_ERROR, "work_queue_free: not a queue of this module (freed?)");
        return;
    }
    core_work_queue_free((core_work_queue *)queue);
}

/* The core frees the queues a module still holds after its stop hook; what
 * was submitted still runs, as the plugin asked for it. */
static void work_queues_release(ucd_plugin *p)
{
    while (p->queues->len > 0) {
        core_work_queue *queue = g_ptr_array_steal_index(p->queues, 0);
        g_autofree char *name = g_strdup(core_work_queue_name(queue));
        guint pending = core_work_queue_free(queue);
        core_log(p->id, UCD_LOG_DEBUG, "work queue '%s' freed after stop (%u pending item%s ran)",
                 name, pending, pending == 1 ? "" : "s");
    }
}

/* ---- services --------------------------------------------------------------- */

/* The module's `provides` entry for name/major, which says the minor it
 * implements, or NULL when it did not declare it. */
static const ucd_service_decl *provided_decl(const ucd_plugin *p, const char *name, uint32_t major)
{
    for (const ucd_service_decl *s = p->desc->provides; s && s->name; s++)
        if (strcmp(s->name, name) == 0 && s->major == major)
            return s;
    return NULL;
}

static int host_service_register(ucd_plugin *p, const char *name, uint32_t major, const void *iface,
                                 void *impl)
{
    if (!name || !iface || *(const uint32_t *)iface < sizeof(uint32_t))
        return UCD_E_INVALID;
    const ucd_service_decl *decl = provided_decl(p, name, major);
    if (decl == NULL) {
        core_log(p->id, UCD_LOG_ERROR,
                 "service_register('%s', %u): the plugin does not declare it in `provides`", name,
                 major);
        return UCD_E_INVALID;
    }
    core_service_entry *e = g_new0(core_service_entry, 1);
    e->provider = p;
    e->name = g_strdup(name);
    e->major = major;
    e->minor = decl->minor;
    e->iface = iface;
    e->impl = impl;
    g_ptr_array_add(p->mods->services, e);
    return UCD_OK;
}

static int host_service_get(ucd_plugin *p, const char *name, uint32_t major, const char *provider,
                            ucd_service *out)
{
    return p->mods->service_get_for(p->mods, p, name, major, provider, out);
}

static int host_service_foreach(ucd_plugin *p, const char *name, uint32_t major, ucd_service_cb cb,
                                void *user_data)
{
    if (!name || !cb)
        return UCD_E_INVALID;
    p->mods->service_foreach_for(p->mods, p, name, major, cb, user_data);
    return UCD_OK;
}

static void services_release(ucd_plugin *p)
{
    GPtrArray *all = p->mods->services;
    for (guint i = all->len; i-- > 0;) {
        core_service_entry *e = all->pdata[i];
        if (e->provider != p)
            continue;
        g_ptr_array_remove_index(all, i); /* keeps registration order */
        g_free(e->name);
        g_free(e);
    }
}

/* ---- counters ------------------------------------------------------------------ */

static void counter_free(gpointer data)
{
    struct ucd_counter *c = data;
    g_free(c->name);
    g_free(c->help);
    g_free(c);
}

static gboolean valid_counter_name(const char *name)
{
    if (!name || !*name)
        return FALSE;
    for (const char *c = name; *c; c++)
        if (!g_ascii_islower(*c) && !g_ascii_isdigit(*c) && *c != '_')
            return FALSE;
    return TRUE;
}

static ucd_counter *host_counter_new(ucd_plugin *p, const char *name, uint32_t kind,
                                     const char *help)
{
    if (!valid_counter_name(name) || kind > UCD_COUNTER_GAUGE) {
        core_log(p->id, UCD_LOG_ERROR, "counter_new: invalid counter name '%s' (use a-z, 0-9, _)",
                 name ? name : "(null)");
        return NULL;
    }
    if (!p->counters)
        p->counters = g_ptr_array_new_with_free_func(counter_free);
    for (guint i = 0; i < p->counters->len; i++) {
        struct ucd_counter *c = p->counters->pdata[i];
        if (strcmp(c->name, name) == 0)
            return c; /* the same name twice is the same counter */
    }
    struct ucd_counter *c = g_new0(struct ucd_counter, 1);
    c->owner = p;
    c->name = g_strdup(name);
    c->help = g_strdup(help ? help : "");
    c->kind = kind;
    atomic_init(&c->value, 0);
    g_ptr_array_add(p->counters, c);
    return c;
}

static void host_counter_add(ucd_counter *c, int64_t delta)
{
    if (c)
        atomic_fetch_add_explicit(&c->value, delta, memory_order_relaxed);
}

static void host_counter_set(ucd_counter *c, int64_t value)
{
    if (c)
        atomic_store_explicit(&c->value, value, memory_order_relaxed);
}

/* ---- control commands ---------------------------------------------------------- */

static int host_command_register(ucd_plugin *p, const char *name, const char *usage,
                                 const char *help, ucd_command_fn fn, void *user_data)
{
    if (!rt_of(p)->control)
        return UCD_OK; /* no control socket in this process (tests, checks) */
    return core_control_register(rt_of(p)->control, p->id, name, usage, help, fn, user_data);
}

static void host_reply_text(ucd_reply *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_reply_textv(r, fmt, ap);
    va_end(ap);
}

static void host_reply_error(ucd_reply *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_reply_errorv(r, fmt, ap);
    va_end(ap);
}

/* ---- release ------------------------------------------------------------------ */

/* Subscriptions, commands, timers, fd watches and services: what could call
 * into the module or be called through it. */
static void registrations_release(ucd_plugin *p)
{
    core_runtime *rt = rt_of(p);
    if (rt->bus)
        core_bus_unsubscribe_owner(rt->bus, p->id);
    if (rt->control)
        core_control_unregister_owner(rt->control, p->id);
    while (p->timers->len > 0) {
        struct ucd_timer *t = g_ptr_array_steal_index_fast(p->timers, p->timers->len - 1);
        g_source_destroy(t->source);
    }
    while (p->watches->len > 0)
        watch_destroy(g_ptr_array_steal_index_fast(p->watches, p->watches->len - 1));
    services_release(p);
}

void core_host_release(ucd_plugin *p)
{
    core_runtime *rt = rt_of(p);
    registrations_release(p);
    if (rt->workers) {
        /* A done callback that runs meanwhile may add a queue, a timer or a
         * subscription: those go too, before fini. */
        do {
            work_queues_release(p);
            core_workers_wait_owner(rt->workers, p->id);
        } while (p->queues->len > 0);
        registrations_release(p);
    }
}

static const ucd_host host_table = {
    .struct_size = sizeof(ucd_host),
    .abi_major = UCD_ABI_MAJOR,
    .abi_minor = UCD_HOST_MINOR,
    .core_version = UCD_VERSION,
    .module_id = host_module_id,
    .instance = host_instance,
    .state_dir = host_state_dir,
    .log = host_log,
    .log_enabled = host_log_enabled,
    .set_error = host_set_error,
    .config_string = host_config_string,
    .config_int = host_config_int,
    .config_bool = host_config_bool,
    .config_double = host_config_double,
    .config_list = host_config_list,
    .config_error = host_config_error,
    .publish = host_publish,
    .subscribe = host_subscribe,
    .unsubscribe = host_unsubscribe,
    .subscription_dropped = host_subscription_dropped,
    .timer_add = host_timer_add,
    .timer_remove = host_timer_remove,
    .watch_add = host_watch_add,
    .watch_update = host_watch_update,
    .watch_remove = host_watch_remove,
    .work_submit = host_work_submit,
    .service_register = host_service_register,
    .service_get = host_service_get,
    .service_foreach = host_service_foreach,
    .counter_new = host_counter_new,
    .counter_add = host_counter_add,
    .counter_set = host_counter_set,
    .command_register = host_command_register,
    .reply_columns = core_reply_columns,
    .reply_row = core_reply_row,
    .reply_field = core_reply_field,
    .reply_text = host_reply_text,
    .reply_error = host_reply_error,
    .reply_defer = core_reply_defer,
    .reply_complete = core_reply_complete,
    .work_queue_new = host_work_queue_new,
    .work_queue_submit = host_work_queue_submit,
    .work_queue_free = host_work_queue_free,
};

const ucd_host *core_host_table(void)
{
    return &host_table;
}
