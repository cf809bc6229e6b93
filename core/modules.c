/*
 * modules.c - module instances: prepare, init, start, stop, fini, reload.
 *
 * A module instance goes through these states (ucd_module_state):
 *
 *   (config) --prepare--> LOADED --init--> INITIALIZED --start--> RUNNING
 *       |                   |                 |                      |
 *    DISABLED         FAILED/DECLINED   FAILED/DECLINED          STOPPED (stop + fini)
 *
 * "prepared" means the file opened, the descriptor passed the ABI check, the
 * section matched the key table and the dependency order found providers for
 * every required service. Only prepared instances are ever initialized.
 */
#include <string.h>

#include "host.h"
#include "instance.h"
#include "log.h"

static const char *state_name(ucd_module_state s)
{
    switch (s) {
    case UCD_MODULE_LOADED:
        return "loaded";
    case UCD_MODULE_INITIALIZED:
        return "initialized";
    case UCD_MODULE_RUNNING:
        return "running";
    case UCD_MODULE_STOPPED:
        return "stopped";
    case UCD_MODULE_DECLINED:
        return "declined";
    case UCD_MODULE_FAILED:
        return "failed";
    case UCD_MODULE_DISABLED:
        return "disabled";
    }
    return "unknown";
}

/* Every transition is logged and published, so `ucctl trace`-style tools and
 * plugins watching their peers see modules come and go. */
static void set_state(ucd_plugin *p, ucd_module_state state)
{
    p->state = state;
    ucd_module_state_event ev = {
        .struct_size = sizeof ev,
        .state = state,
        .module = p->id,
        .message =
            (state == UCD_MODULE_FAILED || state == UCD_MODULE_DECLINED) ? p->last_error : NULL,
    };
    ucd_event e = {.struct_size = sizeof e, .type = UCD_EVENT_MODULE_STATE, .payload = &ev};
    if (p->mods->rt->bus)
        core_bus_publish(p->mods->rt->bus, "core", &e);
    core_debug("module %s: %s", p->id, state_name(state));
}

static ucd_plugin *instance_new(core_modules *mods, core_config *cfg, const core_module_conf *mc)
{
    ucd_plugin *p = g_new0(ucd_plugin, 1);
    p->mods = mods;
    p->id = g_strdup(mc->id);
    p->name = g_strdup(mc->name);
    p->instance = g_strdup(mc->instance);
    p->section = g_strdup(mc->section);
    p->where = core_config_where(cfg, mc->section, NULL);
    p->required = mc->required;
    p->conf_log_level = mc->log_level;
    p->timers = g_ptr_array_new();
    p->watches = g_ptr_array_new();
    p->queues = g_ptr_array_new();
    p->state = mc->enabled ? UCD_MODULE_LOADED : UCD_MODULE_DISABLED;
    return p;
}

static void instance_free(ucd_plugin *p)
{
    if (!p)
        return;
    if (p->cfg)
        core_section_free(p->cfg);
    if (p->lib)
        core_loader_close(p->lib);
    g_ptr_array_free(p->timers, TRUE);
    g_ptr_array_free(p->watches, TRUE);
    g_ptr_array_free(p->queues, TRUE);
    if (p->counters)
        g_ptr_array_free(p->counters, TRUE);
    g_free(p->id);
    g_free(p->name);
    g_free(p->instance);
    g_free(p->section);
    g_free(p->where);
    g_free(p->last_error);
    g_free(p->state_dir);
    g_free(p);
}

static int service_get_for(core_modules *mods, const ucd_plugin *caller, const char *name,
                           uint32_t major, const char *provider, ucd_service *out);
static void service_foreach_for(core_modules *mods, const ucd_plugin *caller, const char *name,
                                uint32_t major, ucd_service_cb cb, void *user_data);

core_modules *core_modules_new(core_runtime *rt)
{
    core_modules *mods = g_new0(core_modules, 1);
    mods->rt = rt;
    mods->all = g_ptr_array_new();
    mods->services = g_ptr_array_new();
    mods->core_provides = g_array_new(TRUE, TRUE, sizeof(ucd_service_decl));
    mods->service_get_for = service_get_for;
    mods->service_foreach_for = service_foreach_for;
    mods->core_desc.struct_size = sizeof mods->core_desc;
    mods->core_desc.name = "core";
    mods->core_desc.version = UCD_VERSION;
    mods->core_desc.provides = (const ucd_service_decl *)mods->core_provides->data;
    mods->core_self.mods = mods;
    mods->core_self.id = (char *)"core";
    mods->core_self.name = (char *)"core";
    mods->core_self.section = (char *)"core";
    mods->core_self.desc = &mods->core_desc;
    mods->core_self.state = UCD_MODULE_RUNNING;
    mods->core_self.prepared = TRUE;
    return mods;
}

void core_modules_add_core_service(core_modules *mods, const char *name, uint32_t major,
                                   uint32_t minor, const void *iface, void *impl)
{
    ucd_service_decl d = {.name = g_intern_string(name), .major = major, .minor = minor};
    g_array_append_val(mods->core_provides, d);
    mods->core_desc.provides = (const ucd_service_decl *)mods->core_provides->data;
    core_service_entry *e = g_new0(core_service_entry, 1);
    e->provider = &mods->core_self;
    e->name = g_strdup(name);
    e->major = major;
    e->minor = minor;
    e->iface = iface;
    e->impl = impl;
    g_ptr_array_insert(mods->services, 0, e);
}

const ucd_service_decl *core_modules_core_provides(core_modules *mods)
{
    return mods->core_desc.provides;
}

static gboolean provider_live(const ucd_plugin *p)
{
    return p->state == UCD_MODULE_RUNNING || p->state == UCD_MODULE_INITIALIZED;
}

static void fill_service(const core_service_entry *e, ucd_service *out)
{
    /* Callers built against 1.0 pass their own struct_size; never write more. */
    ucd_service s = {
        .struct_size = sizeof s,
        .major = e->major,
        .name = e->name,
        .provider = e->provider->id,
        .iface = e->iface,
        .impl = e->impl,
        .minor = e->minor,
    };
    size_t n = out->struct_size < sizeof s ? out->struct_size : sizeof s;
    uint32_t keep = out->struct_size;
    memcpy(out, &s, n);
    out->struct_size = keep;
}

/* The lowest minor `caller` declared for name/major in its requires or uses
 * (the higher one when it names the service in both), 0 when it declared
 * neither or the caller is the core. */
static uint32_t declared_minor(const ucd_plugin *caller, const char *name, uint32_t major)
{
    uint32_t minor = 0;
    if (caller == NULL || caller->desc == NULL)
        return 0;
    const ucd_service_decl *lists[] = {caller->desc->requires, caller->desc->uses};
    for (size_t l = 0; l < G_N_ELEMENTS(lists); l++)
        for (const ucd_service_decl *d = lists[l]; d && d->name; d++)
            if (d->major == major && strcmp(d->name, name) == 0)
                minor = MAX(minor, d->minor);
    return minor;
}

/* Whether `e` is a live provider of name/major at `min_minor` or newer,
 * from `provider` when that is not NULL. */
static gboolean entry_matches(const core_service_entry *e, const char *name, uint32_t major,
                              uint32_t min_minor, const char *provider)
{
    return e->major == major && e->minor >= min_minor && strcmp(e->name, name) == 0 &&
           provider_live(e->provider) && (!provider || strcmp(provider, e->provider->id) == 0);
}

static int service_get_for(core_modules *mods, const ucd_plugin *caller, const char *name,
                           uint32_t major, const char *provider, ucd_service *out)
{
    if (!name || !out || out->struct_size < sizeof(uint32_t))
        return UCD_E_INVALID;
    uint32_t min_minor = declared_minor(caller, name, major);
    for (guint i = 0; i < mods->services->len; i++) {
        core_service_entry *e = mods->services->pdata[i];
        if (!entry_matches(e, name, major, min_minor, provider))
            continue;
        fill_service(e, out);
        return UCD_OK;
    }
    return UCD_E_NOT_FOUND;
}

static void service_foreach_for(core_modules *mods, const ucd_plugin *caller, const char *name,
                                uint32_t major, ucd_service_cb cb, void *user_data)
{
    uint32_t min_minor = declared_minor(caller, name, major);
    for (guint i = 0; i < mods->services->len; i++) {
        core_service_entry *e = mods->services->pdata[i];
        if (!entry_matches(e, name, major, min_minor, NULL))
            continue;
        ucd_service s = {.struct_size = sizeof s};
        fill_service(e, &s);
        if (cb(&s, user_data))
            break;
    }
}

int core_modules_service_get(core_modules *mods, const char *name, uint32_t major,
                             const char *provider, ucd_service *out)
{
    return service_get_for(mods, NULL, name, major, provider, out);
}

void core_modules_service_foreach(core_modules *mods, const char *name, uint32_t major,
                                  ucd_service_cb cb, void *user_data)
{
    service_foreach_for(mods, NULL, name, major, cb, user_data);
}

void core_modules_free(core_modules *mods)
{
    if (!mods)
        return;
    core_modules_stop_all(mods);
    for (guint i = 0; i < mods->all->len; i++)
        instance_free(mods->all->pdata[i]);
    g_ptr_array_free(mods->all, TRUE);
    for (guint i = 0; i < mods->services->len; i++) {
        core_service_entry *e = mods->services->pdata[i];
        g_free(e->name);
        g_free(e);
    }
    g_ptr_array_free(mods->services, TRUE);
    g_array_free(mods->core_provides, TRUE);
    g_free(mods);
}

/* ---- prepare: open, bind, order ------------------------------------------ */

static void add_error(GPtrArray *errors, ucd_plugin *p, const char *msg)
{
    g_ptr_array_add(errors,
                    g_strdup_printf("%s: [module %s] %s", p->where ? p->where : "?", p->id, msg));
}

/* The plugin's key table as a contiguous array for core_section_bind, which
 * walks it with the plugin's own stride. */
static const ucd_config_key *key_table(const ucd_plugin *p, size_t *stride)
{
    *stride = p->desc->config_key_size ? p->desc->config_key_size : sizeof(ucd_config_key);
    return p->desc->config_keys;
}

static void open_and_bind(ucd_plugin *p, core_config *cfg, GPtrArray *errors)
{
    char *err = NULL;
    const core_module_conf *mc = NULL;
    GPtrArray *confs = core_config_modules(cfg);
    for (guint i = 0; i < confs->len; i++) {
        const core_module_conf *c = confs->pdata[i];
        if (g_strcmp0(c->id, p->id) == 0)
            mc = c;
    }
    p->lib = core_loader_open(p->name, mc ? mc->path : NULL,
                              (const char *const *)p->mods->rt->plugin_path, &err);
    if (!p->lib) {
        p->last_error = err ? err : g_strdup("cannot be loaded (no reason given)");
        p->state = UCD_MODULE_FAILED;
        add_error(errors, p, p->last_error);
        return;
    }
    p->desc = core_plugin_lib_descriptor(p->lib);
    size_t stride;
    const ucd_config_key *keys = key_table(p, &stride);
    guint before = errors->len;
    p->cfg = core_section_bind(cfg, p->section, keys, stride, core_config_module_keys, errors);
    if (!p->cfg) {
        p->state = UCD_MODULE_FAILED;
        p->last_error = g_strdup(errors->len > before ? (char *)errors->pdata[before]
                                                      : "configuration section is invalid");
    }
}

/* Builds a fresh, ordered set of instances for `cfg` without touching running
 * ones. Returns the number of errors appended. */
static int prepare_set(core_modules *mods, core_config *cfg, GPtrArray *set, GPtrArray *errors)
{
    guint before = errors->len;
    GPtrArray *confs = core_config_modules(cfg);
    for (guint i = 0; i < confs->len; i++) {
        const core_module_conf *mc = confs->pdata[i];
        ucd_plugin *p = instance_new(mods, cfg, mc);
        if (mc->enabled)
            open_and_bind(p, cfg, errors);
        g_ptr_array_add(set, p);
    }

    GPtrArray *items = g_ptr_array_new_with_free_func(g_free);
    /* The core provides its own services: plugins may require them. */
    core_order_item *core_item = g_new0(core_order_item, 1);
    core_item->id = "core";
    core_item->desc = &mods->core_desc;
    g_ptr_array_add(items, core_item);
    for (guint i = 0; i < set->len; i++) {
        ucd_plugin *p = set->pdata[i];
        if (p->state != UCD_MODULE_LOADED || !p->cfg)
            continue;
        core_order_item *it = g_new0(core_order_item, 1);
        it->id = p->id;
        it->desc = p->desc;
        it->user_data = p;
        g_ptr_array_add(items, it);
    }
    core_loader_order(items);

    /* Rebuild `set` in start order: ordered good ones, then everything else. */
    GPtrArray *ordered = g_ptr_array_new();
    for (guint i = 0; i < items->len; i++) {
        core_order_item *it = items->pdata[i];
        ucd_plugin *p = it->user_data;
        if (it == core_item)
            continue;
        if (it->error) {
            p->state = UCD_MODULE_FAILED;
            p->last_error = it->error;
            it->error = NULL;
            add_error(errors, p, p->last_error);
        } else {
            p->prepared = TRUE;
            g_ptr_array_add(ordered, p);
        }
    }
    for (guint i = 0; i < set->len; i++) {
        ucd_plugin *p = set->pdata[i];
        if (!p->prepared)
            g_ptr_array_add(ordered, p);
    }
    g_ptr_array_set_size(set, 0);
    for (guint i = 0; i < ordered->len; i++)
        g_ptr_array_add(set, ordered->pdata[i]);
    g_ptr_array_free(ordered, TRUE);
    g_ptr_array_free(items, TRUE);
    return (int)(errors->len - before);
}

int core_modules_check(core_modules *mods, core_config *cfg, GPtrArray *errors)
{
    for (guint i = 0; i < mods->all->len; i++)
        g_return_val_if_fail(((ucd_plugin *)mods->all->pdata[i])->state != UCD_MODULE_RUNNING, -1);
    for (guint i = 0; i < mods->all->len; i++)
        instance_free(mods->all->pdata[i]);
    g_ptr_array_set_size(mods->all, 0);
    mods->cfg = cfg;
    return prepare_set(mods, cfg, mods->all, errors);
}

/* ---- init, start, stop ---------------------------------------------------- */

static gboolean service_running(core_modules *mods, const ucd_service_decl *d,
                                const ucd_plugin **failed_provider)
{
    for (const ucd_service_decl *s = mods->core_desc.provides; s && s->name; s++)
        if (strcmp(s->name, d->name) == 0 && s->major == d->major && s->minor >= d->minor)
            return TRUE;
    for (guint i = 0; i < mods->all->len; i++) {
        const ucd_plugin *q = mods->all->pdata[i];
        if (!q->prepared || !q->desc->provides)
            continue;
        for (const ucd_service_decl *s = q->desc->provides; s->name; s++) {
            /* An older provider was named at prepare; only a usable one counts. */
            if (strcmp(s->name, d->name) != 0 || s->major != d->major || s->minor < d->minor)
                continue;
            if (q->state == UCD_MODULE_INITIALIZED || q->state == UCD_MODULE_RUNNING)
                return TRUE;
            *failed_provider = q;
        }
    }
    return FALSE;
}

/* A module whose required service has no live provider any more (it declined
 * or failed) is declined too, with the provider named. */
static gboolean dependencies_alive(ucd_plugin *p)
{
    if (!p->desc->requires)
        return TRUE;
    for (const ucd_service_decl *d = p->desc->requires; d->name; d++) {
        const ucd_plugin *failed = NULL;
        if (service_running(p->mods, d, &failed))
            continue;
        g_free(p->last_error);
        p->last_error =
            g_strdup_printf("declined: requires service '%s' (major %u), but its provider %s%s%s",
                            d->name, d->major, failed ? failed->id : "(none)", failed ? " is " : "",
                            failed ? state_name(failed->state) : "");
        return FALSE;
    }
    return TRUE;
}

static void finalize(ucd_plugin *p)
{
    core_host_release(p);
    if (p->desc->fini)
        p->desc->fini(p->pstate);
    p->pstate = NULL;
}

/* Logs, once per provider, each service `p` uses whose provider is older
 * than the minor `p` declared: `p` runs, but service_get will not hand that
 * provider to it (a required one refused `p` at prepare already). */
static void note_older_used_services(ucd_plugin *p)
{
    for (const ucd_service_decl *d = p->desc->uses; d && d->name; d++) {
        for (guint i = 0; i <= p->mods->all->len; i++) {
            const ucd_plugin *q = i == 0 ? &p->mods->core_self : p->mods->all->pdata[i - 1];
            if (q == p || !q->prepared || q->state == UCD_MODULE_FAILED ||
                q->state == UCD_MODULE_DECLINED)
                continue;
            for (const ucd_service_decl *s = q->desc->provides; s && s->name; s++)
                if (s->major == d->major && s->minor < d->minor && strcmp(s->name, d->name) == 0)
                    core_notice("module %s uses service '%s' %u.%u, but %s provides %u.%u: "
                                "not used (as if absent)",
                                p->id, d->name, d->major, d->minor, q->id, s->major, s->minor);
        }
    }
}

static gboolean init_one(ucd_plugin *p)
{
    if (!dependencies_alive(p)) {
        set_state(p, UCD_MODULE_DECLINED);
        core_notice("module %s %s", p->id, p->last_error);
        return FALSE;
    }
    note_older_used_services(p);
    if (p->conf_log_level >= 0)
        core_log_set_level(p->id, p->conf_log_level);
    int rc = p->desc->init ? p->desc->init(p, core_host_table(), &p->pstate) : UCD_OK;
    if (rc == UCD_OK) {
        set_state(p, UCD_MODULE_INITIALIZED);
        return TRUE;
    }
    if (rc == UCD_DECLINE) {
        char *why = p->last_error;
        p->last_error =
            g_strdup_printf("declined by the plugin%s%s", why ? ": " : "", why ? why : "");
        g_free(why);
        core_notice("module %s %s", p->id, p->last_error);
        core_host_release(p); /* no fini: init did not succeed (plugin.h) */
        set_state(p, UCD_MODULE_DECLINED);
    } else {
        char *why = p->last_error;
        p->last_error =
            g_strdup_printf("init failed: %s", why ? why
                                                   : "the plugin gave no reason (returned an "
                                                     "error without calling set_error)");
        g_free(why);
        core_err("module %s (%s): %s", p->id, core_plugin_lib_path(p->lib), p->last_error);
        core_host_release(p);
        set_state(p, UCD_MODULE_FAILED);
    }
    return FALSE;
}

static gboolean start_one(ucd_plugin *p)
{
    if (!dependencies_alive(p)) {
        finalize(p);
        set_state(p, UCD_MODULE_DECLINED);
        core_notice("module %s %s", p->id, p->last_error);
        return FALSE;
    }
    int rc = p->desc->start ? p->desc->start(p->pstate) : UCD_OK;
    if (rc != UCD_OK) {
        char *why = p->last_error;
        p->last_error = g_strdup_printf("start failed: %s", why ? why : ucd_strerror(rc));
        g_free(why);
        core_err("module %s: %s", p->id, p->last_error);
        finalize(p);
        set_state(p, UCD_MODULE_FAILED);
        return FALSE;
    }
    p->started = TRUE;
    set_state(p, UCD_MODULE_RUNNING);
    core_info("module %s %s running (%s)", p->id, p->desc->version ? p->desc->version : "",
              core_plugin_lib_path(p->lib));
    return TRUE;
}

static void stop_one(ucd_plugin *p)
{
    if (p->state != UCD_MODULE_RUNNING && p->state != UCD_MODULE_INITIALIZED)
        return;
    if (p->started && p->desc->stop)
        p->desc->stop(p->pstate);
    p->started = FALSE;
    finalize(p);
    set_state(p, UCD_MODULE_STOPPED);
    core_info("module %s stopped", p->id);
}

/* Inits then starts the prepared, not yet running instances of mods->all in
 * order. A required module that cannot start is reported through *error. */
static gboolean start_pending(core_modules *mods, char **error)
{
    gboolean ok = TRUE;
    for (guint i = 0; i < mods->all->len; i++) {
        ucd_plugin *p = mods->all->pdata[i];
        if (!p->prepared || p->state != UCD_MODULE_LOADED)
            continue;
        if (!init_one(p) && p->required && ok) {
            ok = FALSE;
            *error = g_strdup_printf("required module %s: %s", p->id, p->last_error);
        }
    }
    for (guint i = 0; ok && i < mods->all->len; i++) {
        ucd_plugin *p = mods->all->pdata[i];
        if (p->state != UCD_MODULE_INITIALIZED)
            continue;
        if (!start_one(p) && p->required) {
            ok = FALSE;
            *error = g_strdup_printf("required module %s: %s", p->id, p->last_error);
        }
    }
    return ok;
}

gboolean core_modules_start(core_modules *mods, char **error)
{
    for (guint i = 0; i < mods->all->len; i++) {
        ucd_plugin *p = mods->all->pdata[i];
        if (!p->prepared && p->state == UCD_MODULE_FAILED && p->required) {
            *error = g_strdup_printf("required module %s: %s", p->id, p->last_error);
            return FALSE;
        }
    }
    return start_pending(mods, error);
}

void core_modules_stop_all(core_modules *mods)
{
    /* Reverse start order: a journal stops after the drivers that feed it. All
     * fini hooks run before any library is unloaded (instance_free). */
    for (guint i = mods->all->len; i-- > 0;)
        stop_one(mods->all->pdata[i]);
}

/* ---- reload ---------------------------------------------------------------- */

static ucd_plugin *find_by_id(GPtrArray *set, const char *id)
{
    for (guint i = 0; i < set->len; i++) {
        ucd_plugin *p = set->pdata[i];
        if (strcmp(p->id, id) == 0)
            return p;
    }
    return NULL;
}

static gboolean provides_any_needed_by(const ucd_plugin *provider, const ucd_plugin *user)
{
    if (!provider->desc || !user->desc || !provider->desc->provides)
        return FALSE;
    const ucd_service_decl *lists[] = {user->desc->requires, user->desc->uses};
    for (int l = 0; l < 2; l++) {
        for (const ucd_service_decl *d = lists[l]; d && d->name; d++)
            for (const ucd_service_decl *s = provider->desc->provides; s->name; s++)
                if (strcmp(s->name, d->name) == 0 && s->major == d->major)
                    return TRUE;
    }
    return FALSE;
}

static gboolean is_live(const ucd_plugin *p)
{
    return p->state == UCD_MODULE_RUNNING || p->state == UCD_MODULE_INITIALIZED;
}

/* A kept module's reload hook (host 1.5): its section is unchanged, but the
 * files it names may not be (a renewed certificate). A failure leaves the
 * module running with what it had, and is the reload's error to report. */
static void reload_one(ucd_plugin *p, GPtrArray *errors)
{
    if (p->state != UCD_MODULE_RUNNING || !p->desc->reload)
        return;
    char *before = p->last_error;
    p->last_error = NULL;
    int rc = p->desc->reload(p->pstate);
    if (rc == UCD_OK) {
        /* What went wrong at an earlier reload is over; anything else stays. */
        if (before && g_str_has_prefix(before, "reload failed: "))
            g_clear_pointer(&before, g_free);
        g_free(p->last_error);
        p->last_error = before;
        return;
    }
    char *why = p->last_error;
    p->last_error = g_strdup_printf("reload failed: %s", why ? why : ucd_strerror(rc));
    g_free(why);
    g_free(before);
    core_err("module %s: %s (it runs on with what it had)", p->id, p->last_error);
    g_ptr_array_add(errors, g_strdup_printf("module %s: %s", p->id, p->last_error));
}

gboolean core_modules_reload(core_modules *mods, core_config *cfg, GPtrArray *errors)
{
    GPtrArray *next = g_ptr_array_new();
    if (prepare_set(mods, cfg, next, errors) > 0) {
        for (guint i = 0; i < next->len; i++)
            instance_free(next->pdata[i]);
        g_ptr_array_free(next, TRUE);
        return FALSE;
    }

    /* Which running instances must restart: those whose section changed or
     * vanished, then (to a fixed point) those that use a restarting one's
     * services, since they may hold its function tables. */
    GHashTable *restart = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint i = 0; i < mods->all->len; i++) {
        ucd_plugin *old = mods->all->pdata[i];
        if (!is_live(old))
            continue;
        ucd_plugin *nw = find_by_id(next, old->id);
        if (!nw || !nw->prepared || !core_config_section_equal(mods->cfg, cfg, old->section))
            g_hash_table_add(restart, old);
    }
    gboolean grew = TRUE;
    while (grew) {
        grew = FALSE;
        for (guint i = 0; i < mods->all->len; i++) {
            ucd_plugin *u = mods->all->pdata[i];
            if (!is_live(u) || g_hash_table_contains(restart, u))
                continue;
            for (guint j = 0; j < mods->all->len; j++) {
                ucd_plugin *prov = mods->all->pdata[j];
                if (g_hash_table_contains(restart, prov) && provides_any_needed_by(prov, u)) {
                    g_hash_table_add(restart, u);
                    grew = TRUE;
                    break;
                }
            }
        }
    }

    /* Stop what restarts or disappears, in reverse start order. */
    for (guint i = mods->all->len; i-- > 0;) {
        ucd_plugin *old = mods->all->pdata[i];
        if (g_hash_table_contains(restart, old)) {
            core_notice("reload: restarting module %s", old->id);
            stop_one(old);
        }
    }

    /* Keep the instances that go on running; take the new ones for the rest. */
    GPtrArray *kept = g_ptr_array_new();
    for (guint i = 0; i < next->len; i++) {
        ucd_plugin *nw = next->pdata[i];
        ucd_plugin *old = find_by_id(mods->all, nw->id);
        if (old && is_live(old) && !g_hash_table_contains(restart, old)) {
            /* The kept instance keeps its own bound section: its plugin may
             * hold strings from it, and the values are equal anyway. Only the
             * position of the section header may have moved. */
            g_free(old->where);
            old->where = nw->where;
            nw->where = NULL;
            old->required = nw->required;
            instance_free(nw);
            next->pdata[i] = old;
            g_ptr_array_add(kept, old);
        }
    }
    for (guint i = 0; i < mods->all->len; i++) {
        ucd_plugin *old = mods->all->pdata[i];
        if (!find_by_id(next, old->id) || find_by_id(next, old->id) != old)
            instance_free(old);
    }
    g_ptr_array_free(mods->all, TRUE);
    mods->all = next;
    mods->cfg = cfg;
    g_hash_table_destroy(restart);

    char *error = NULL;
    if (!start_pending(mods, &error)) {
        /* The new configuration checked, so this is a runtime failure of a
         * required module: report it, but a reload never stops the daemon. */
        g_ptr_array_add(errors, error);
        core_err("reload: %s", error);
    }
    for (guint i = 0; i < kept->len; i++)
        reload_one(kept->pdata[i], errors);
    g_ptr_array_free(kept, TRUE);
    return TRUE;
}

/* ---- introspection --------------------------------------------------------- */

void core_modules_foreach(core_modules *mods, void (*cb)(const core_module_info *, void *),
                          void *ud)
{
    for (guint i = 0; i < mods->all->len; i++) {
        ucd_plugin *p = mods->all->pdata[i];
        core_module_info info = {
            .id = p->id,
            .name = p->name,
            .instance = p->instance,
            .version = p->desc ? p->desc->version : NULL,
            .path = p->lib ? core_plugin_lib_path(p->lib) : NULL,
            .state = p->state,
            .last_error = p->last_error,
            .required = p->required,
            .provides = p->desc ? p->desc->provides : NULL,
            .requires = p->desc ? p->desc->requires : NULL,
            .uses = p->desc ? p->desc->uses : NULL,
        };
        if (p->lib)
            core_plugin_lib_abi(p->lib, &info.abi_major, &info.abi_minor);
        cb(&info, ud);
    }
}

void core_modules_foreach_counter(core_modules *mods,
                                  void (*cb)(const char *, ucd_counter_kind, int64_t, const char *,
                                             void *),
                                  void *ud)
{
    for (guint i = 0; i < mods->all->len; i++) {
        ucd_plugin *p = mods->all->pdata[i];
        for (guint j = 0; p->counters && j < p->counters->len; j++) {
            struct ucd_counter *c = p->counters->pdata[j];
            char *full = g_strdup_printf("%s.%s", p->id, c->name);
            cb(full, c->kind, atomic_load(&c->value), c->help, ud);
            g_free(full);
        }
    }
}

gboolean core_modules_key_is_secret(const char *section, const char *key, void *ud)
{
    core_modules *mods = ud;
    for (guint i = 0; mods && i < mods->all->len; i++) {
        ucd_plugin *p = mods->all->pdata[i];
        if (p->cfg && strcmp(p->section, section) == 0)
            return core_section_is_secret(p->cfg, key);
    }
    return FALSE;
}
