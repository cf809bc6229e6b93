/*
 * daemon.c - start-up, reload and shutdown of ucd.
 *
 * Start-up order, and why:
 *   1. read and check the whole configuration: refuse to start on any error;
 *   2. logging as configured;
 *   3. state directory and control socket, created while still root, handed
 *      to the service user;
 *   4. drop root: no plugin code ever runs as root;
 *   5. bus and workers, then modules in dependency order;
 *   6. READY=1 to systemd.
 * SIGHUP re-runs step 1 on the new files and applies the result only when it
 * is clean (modules.c restarts only what changed). SIGTERM stops modules in
 * reverse order so they can flush, then frees everything.
 */
#include <glib-unix.h>
#include <stdatomic.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "commands/model-commands.h"
#include "commands/trace-command.h"
#include "control-service.h"
#include "daemon.h"
#include "log.h"
#include "model/model.h"
#include "model/permissions.h"
#include "service.h"

#define DEFAULT_CONFIG UCD_SYSCONFDIR "/ucd/ucd.conf"

char **core_daemon_plugin_path(core_config *cfg)
{
    GPtrArray *dirs = g_ptr_array_new();
    const char *env = g_getenv("UCD_PLUGIN_PATH");
    if (env && *env) {
        char **parts = g_strsplit(env, ":", -1);
        for (char **s = parts; *s; s++)
            if (**s)
                g_ptr_array_add(dirs, g_strdup(*s));
        g_strfreev(parts);
    }
    GPtrArray *ignored = g_ptr_array_new_with_free_func(g_free);
    core_section *core = cfg ? core_section_bind(cfg, "core", core_config_core_keys,
                                                 sizeof(ucd_config_key), NULL, ignored)
                             : NULL;
    const char *const *items = NULL;
    if (core && core_section_list(core, "plugin_path", &items, NULL) == UCD_OK)
        for (; items && *items; items++)
            if (**items)
                g_ptr_array_add(dirs, g_strdup(*items));
    if (core)
        core_section_free(core);
    g_ptr_array_free(ignored, TRUE);
    g_ptr_array_add(dirs, g_strdup(UCD_PLUGINDIR));
    g_ptr_array_add(dirs, NULL);
    return (char **)g_ptr_array_free(dirs, FALSE);
}

static core_config *load_checked(const char *file, const char *dir, GPtrArray *errors)
{
    core_config *cfg = core_config_load(file, dir, errors);
    if (!cfg)
        return NULL;
    if (core_config_check(cfg, errors) > 0) {
        core_config_free(cfg);
        return NULL;
    }
    return cfg;
}

static void declare_core_services(core_modules *mods, void *numbers, core_model *model,
                                  core_control *control);

int core_daemon_check(const char *config_file, const char *conf_dir, GPtrArray *errors)
{
    guint before = errors->len;
    core_config *cfg =
        core_config_load(config_file ? config_file : DEFAULT_CONFIG, conf_dir, errors);
    if (!cfg)
        return (int)(errors->len - before);
    core_config_check(cfg, errors);
    core_numbers *numbers = core_numbers_new(cfg, errors);
    if (numbers)
        core_numbers_free(numbers);
    core_permissions_check_config(cfg, errors);
    core_runtime rt = {.plugin_path = core_daemon_plugin_path(cfg)};
    core_loader_init();
    core_modules *mods = core_modules_new(&rt);
    /* The check runs no service, but a module that requires one of the
     * core's is only satisfied when the registry lists it. */
    declare_core_services(mods, NULL, NULL, NULL);
    core_modules_check(mods, cfg, errors);
    core_modules_free(mods);
    core_loader_shutdown();
    /* A wrong core key in a module section is found by both the core check
     * and the module's binding: say it once. */
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = before; i < errors->len;) {
        if (!g_hash_table_add(seen, errors->pdata[i]))
            g_ptr_array_remove_index(errors, i);
        else
            i++;
    }
    g_hash_table_destroy(seen);
    g_strfreev(rt.plugin_path);
    core_config_free(cfg);
    return (int)(errors->len - before);
}

/* [core] server_name, or the host name when it is unset or empty. */
static char *core_daemon_server_name(core_config *cfg)
{
    GPtrArray *ignored = g_ptr_array_new_with_free_func(g_free);
    core_section *core = core_section_bind(cfg, "core", core_config_core_keys,
                                           sizeof(ucd_config_key), NULL, ignored);
    const char *name = NULL;
    if (core)
        core_section_string(core, "server_name", &name);
    char *copy = g_strdup(name && *name ? name : g_get_host_name());
    if (core)
        core_section_free(core);
    g_ptr_array_free(ignored, TRUE);
    return copy;
}

static void log_errors(const char *what, GPtrArray *errors)
{
    for (guint i = 0; i < errors->len; i++)
        core_err("%s: %s", what, (const char *)errors->pdata[i]);
}

static const char *core_string(core_daemon *d, const char *key)
{
    const char *v = NULL;
    return core_section_string(d->core_sec, key, &v) == UCD_OK ? v : NULL;
}

/* [log] applies at start and at every reload. core_config_check() has
 * already refused a bad target or level, so the parses cannot fail here. */
static void apply_log_config(core_config *cfg)
{
    GPtrArray *ignored = g_ptr_array_new_with_free_func(g_free);
    core_section *log =
        core_section_bind(cfg, "log", core_config_log_keys, sizeof(ucd_config_key), NULL, ignored);
    const char *target = "auto", *level = "info";
    int64_t lines = 2000;
    if (log) {
        core_section_string(log, "target", &target);
        core_section_string(log, "level", &level);
        core_section_int(log, "recent_lines", &lines);
    }
    int t = core_log_target_parse(target);
    int l = core_log_level_parse(level);
    core_log_configure(t < 0 ? CORE_LOG_AUTO : (core_log_target)t, l < 0 ? UCD_LOG_INFO : l,
                       (size_t)lines);
    if (log)
        core_section_free(log);
    g_ptr_array_free(ignored, TRUE);
}

/* ---- the number service across reloads ---------------------------------- */

static int slot_normalize(void *impl, const char *context, const char *raw, ucd_number_info *out)
{
    core_numbers_slot *slot = impl;
    return core_numbers_normalize(atomic_load(&slot->current), context, raw, out);
}

static int slot_normalize_rules(void *impl, const char *context, const char *raw,
                                ucd_number_info *out)
{
    core_numbers_slot *slot = impl;
    return core_numbers_normalize_rules(atomic_load(&slot->current), context, raw, out);
}

static const ucd_numbers_v1 slot_iface = {
    .struct_size = sizeof(ucd_numbers_v1),
    .normalize = slot_normalize,
    .attach_plan = core_numbers_iface_attach_plan,
    .detach_plan = core_numbers_iface_detach_plan,
    .normalize_rules = slot_normalize_rules,
};

/* The services the core provides, in the registry under provider "core":
 * numbers, the model's four, control. The check of the configuration
 * declares them without implementations (it runs none). */
static void declare_core_services(core_modules *mods, void *numbers, core_model *model,
                                  core_control *control)
{
    core_modules_add_core_service(mods, UCD_NUMBERS_SERVICE, UCD_NUMBERS_MAJOR, UCD_NUMBERS_MINOR,
                                  &slot_iface, numbers);
    core_model_register_services(model, mods);
    core_control_register_service(control, mods);
}

static void slot_replace(core_numbers_slot *slot, core_numbers *next)
{
    core_numbers *old = atomic_exchange(&slot->current, next);
    if (old)
        g_ptr_array_add(slot->retired, old);
}

static void numbers_free(gpointer n)
{
    core_numbers_free(n);
}

static gboolean on_sighup(gpointer data)
{
    core_daemon *d = data;
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    core_daemon_reload(d, FALSE, errors);
    g_ptr_array_free(errors, TRUE);
    return G_SOURCE_CONTINUE;
}

static gboolean on_stop_signal(gpointer data)
{
    core_daemon *d = data;
    core_notice("stop requested");
    core_service_stopping();
    g_main_loop_quit(d->loop);
    return G_SOURCE_CONTINUE;
}

/* [core] keys that cannot change without a restart. */
static const char *const restart_keys[] = {"state_dir",      "control_socket", "user", "group",
                                           "worker_threads", "bus_queue_size", NULL};

static guint enabled_modules(core_config *cfg)
{
    GPtrArray *confs = core_config_modules(cfg);
    guint n = 0;

    for (guint i = 0; i < confs->len; i++)
        n += ((core_module_conf *)confs->pdata[i])->enabled;
    return n;
}

static void count_running(const core_module_info *m, void *ud)
{
    *(guint *)ud += m->state == UCD_MODULE_RUNNING;
}

static guint running_modules(core_daemon *d)
{
    guint n = 0;

    if (d->mods)
        core_modules_foreach(d->mods, count_running, &n);
    return n;
}

gboolean core_daemon_reload(core_daemon *d, gboolean force, GPtrArray *errors)
{
    core_service_reloading();
    core_notice("reloading configuration from %s", d->config_file);
    guint before = errors->len;
    core_config *cfg = load_checked(d->config_file, d->conf_dir, errors);
    core_numbers *numbers = cfg ? core_numbers_new(cfg, errors) : NULL;
    if (cfg && core_permissions_check_config(cfg, errors) > 0) {
        core_config_free(cfg);
        cfg = NULL;
    }
    if (cfg && !numbers) {
        core_config_free(cfg);
        cfg = NULL;
    }
    /* A file emptied by mistake (or every module commented out) would stop
     * the whole service: only on purpose. */
    if (cfg && !force && enabled_modules(cfg) == 0 && running_modules(d) > 0) {
        g_ptr_array_add(errors, g_strdup_printf("%s: the new configuration enables no module; "
                                                "applying it would stop all %u running "
                                                "(use `ucctl reload --force` to do that)",
                                                d->config_file, running_modules(d)));
        core_config_free(cfg);
        cfg = NULL;
    }
    if (cfg) {
        char **path = core_daemon_plugin_path(cfg);
        g_strfreev(d->rt.plugin_path);
        d->rt.plugin_path = path;
    }
    if (!cfg || !core_modules_reload(d->mods, cfg, errors)) {
        if (numbers)
            core_numbers_free(numbers);
        GPtrArray *mine = g_ptr_array_new();
        for (guint i = before; i < errors->len; i++)
            g_ptr_array_add(mine, errors->pdata[i]);
        log_errors("reload refused, the running configuration stays", mine);
        g_ptr_array_free(mine, TRUE);
        if (cfg)
            core_config_free(cfg);
        core_service_ready("running; last reload refused (see log)");
        return FALSE;
    }
    for (const char *const *k = restart_keys; *k; k++)
        if (g_strcmp0(core_config_raw(cfg, "core", *k), core_config_raw(d->cfg, "core", *k)))
            core_warn("reload: [core] %s changed; it takes effect at the next restart", *k);
    apply_log_config(cfg);
    slot_replace(&d->numbers, numbers);
    core_permissions_apply_config(d->perms, cfg, errors);
    /* Bound sections hold their own copies, so kept modules do not need the
     * old configuration any more. */
    core_config_free(d->cfg);
    d->cfg = cfg;
    /* The model reads it at every question, so a new name applies at once. */
    g_free(d->rt.server_name);
    d->rt.server_name = core_daemon_server_name(cfg);
    d->reloads++;
    core_notice("configuration reloaded");
    core_service_ready("running");
    return TRUE;
}

static gboolean setup_runtime(core_daemon *d, char **error)
{
    const char *user = core_string(d, "user");
    const char *group = core_string(d, "group");
    int64_t threads = 4, queue = 65536;
    core_section_int(d->core_sec, "worker_threads", &threads);
    core_section_int(d->core_sec, "bus_queue_size", &queue);

    d->rt.state_dir = g_strdup(core_string(d, "state_dir"));
    d->rt.server_name = core_daemon_server_name(d->cfg);
    if (!core_service_make_dir(d->rt.state_dir, 0750, user, group, error))
        return FALSE;

    const char *sock = core_string(d, "control_socket");
    char *sock_dir = g_path_get_dirname(sock);
    gboolean ok = core_service_make_dir(sock_dir, 0750, user, group, error);
    g_free(sock_dir);
    if (!ok)
        return FALSE;
    d->rt.ctx = g_main_context_default();
    GError *gerr = NULL;
    d->rt.control = core_control_new(d->rt.ctx, sock, &gerr);
    if (!d->rt.control) {
        *error = g_strdup_printf("control socket %s: %s", sock, gerr->message);
        g_error_free(gerr);
        return FALSE;
    }
    if (!core_service_drop_privileges(user, group, error))
        return FALSE;
    if (!user && geteuid() == 0)
        core_warn("running as root: set [core] user to drop privileges");

    d->rt.bus = core_bus_new(d->rt.ctx, (uint32_t)queue);
    d->rt.workers = core_workers_new(d->rt.ctx, (int)threads);
    d->rt.plugin_path = core_daemon_plugin_path(d->cfg);
    return TRUE;
}

/* ---- the core's own commands ------------------------------------------------ */

static gboolean commands_reload(void *user_data, gboolean force, GPtrArray *errors)
{
    return core_daemon_reload(user_data, force, errors);
}

static int commands_check(void *user_data, GPtrArray *errors)
{
    core_daemon *d = user_data;
    return core_daemon_check(d->config_file, d->conf_dir, errors);
}

/* commands.c gets the daemon's parts it reads and the two things it may ask
 * (reload, check) as data, so it does not depend on the daemon. */
static void register_core_commands(core_daemon *d)
{
    d->commands = (core_commands_ctx){
        .rt = &d->rt,
        .mods = d->mods,
        .started_us = d->started_us,
        .cfg = &d->cfg,
        .reloads = &d->reloads,
        .numbers = &d->numbers.current,
        .reload = commands_reload,
        .check = commands_check,
        .user_data = d,
    };
    core_commands_register(&d->commands);
}

static void teardown(core_daemon *d)
{
    /* The model stops first: it hands conversations still open to the
     * journals (as link lost), so they must still run; queued events are
     * delivered to it before that. Its services stay registered and answer
     * until it is freed, after the modules: their stop hooks may ask. */
    if (d->model) {
        core_control_unregister_owner(d->rt.control, "core");
        core_model_commands_free(d->model_commands);
        core_model_stop(d->model);
    }
    if (d->mods)
        core_modules_free(d->mods);
    if (d->model)
        core_model_free(d->model);
    if (d->rt.bus)
        core_bus_flush(d->rt.bus);
    if (d->rt.workers)
        core_workers_free(d->rt.workers);
    if (d->rt.control)
        core_control_free(d->rt.control);
    if (d->perms)
        core_permissions_free(d->perms);
    slot_replace(&d->numbers, NULL);
    if (d->numbers.retired)
        g_ptr_array_free(d->numbers.retired, TRUE);
    if (d->rt.bus)
        core_bus_free(d->rt.bus);
    g_strfreev(d->rt.plugin_path);
    g_free(d->rt.state_dir);
    g_free(d->rt.server_name);
    if (d->core_sec)
        core_section_free(d->core_sec);
    if (d->cfg)
        core_config_free(d->cfg);
    if (d->loop)
        g_main_loop_unref(d->loop);
    g_free(d->config_file);
    g_free(d->conf_dir);
}

int core_daemon_run(const char *config_file, const char *conf_dir)
{
    core_daemon d = {
        .config_file = g_strdup(config_file ? config_file : DEFAULT_CONFIG),
        .conf_dir = g_strdup(conf_dir),
        .started_us = g_get_monotonic_time(),
    };
    signal(SIGPIPE, SIG_IGN);

    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    d.cfg = load_checked(d.config_file, d.conf_dir, errors);
    if (d.cfg)
        d.core_sec = core_section_bind(d.cfg, "core", core_config_core_keys, sizeof(ucd_config_key),
                                       NULL, errors);
    if (!d.cfg || !d.core_sec) {
        log_errors("configuration", errors);
        g_ptr_array_free(errors, TRUE);
        teardown(&d);
        return 1;
    }
    apply_log_config(d.cfg);
    d.numbers.retired = g_ptr_array_new_with_free_func(numbers_free);
    core_numbers *numbers = core_numbers_new(d.cfg, errors);
    if (!numbers || core_permissions_check_config(d.cfg, errors) > 0) {
        log_errors("configuration", errors);
        g_ptr_array_free(errors, TRUE);
        if (numbers)
            core_numbers_free(numbers);
        teardown(&d);
        return 1;
    }
    slot_replace(&d.numbers, numbers);

    char *error = NULL;
    int rc = 0;
    guint signals[3] = {0};
    /* Only what was initialised is shut down: a start that fails before the
     * loader (a socket in use) must not unbalance it. */
    gboolean loader_up = FALSE;
    if (!setup_runtime(&d, &error)) {
        core_err("cannot start: %s", error);
        rc = 1;
        goto out;
    }
    d.loop = g_main_loop_new(d.rt.ctx, FALSE);
    signals[0] = g_unix_signal_add(SIGHUP, on_sighup, &d);
    signals[1] = g_unix_signal_add(SIGTERM, on_stop_signal, &d);
    signals[2] = g_unix_signal_add(SIGINT, on_stop_signal, &d);

    d.perms = core_permissions_new(d.cfg, d.rt.state_dir, errors);
    if (!d.perms) {
        log_errors("permissions", errors);
        rc = 1;
        goto out;
    }
    core_loader_init();
    loader_up = TRUE;
    if (enabled_modules(d.cfg) == 0)
        core_warn("the configuration (%s) enables no module: ucd runs, but does nothing",
                  d.config_file);
    d.mods = core_modules_new(&d.rt);
    d.model = core_model_new(&d.rt, d.mods);
    core_model_set_permissions(d.model, d.perms);
    declare_core_services(d.mods, &d.numbers, d.model, d.rt.control);
    register_core_commands(&d);
    d.model_commands = core_model_commands_register(d.rt.control, d.mods, d.rt.workers);
    core_model_register_trace_command(d.model, d.rt.control);
    core_permissions_register_commands(d.rt.control, d.perms, core_model_permissions_source,
                                       d.model);
    /* Subscribed before any plugin starts: the model sees every module come
     * up and pulls its users or lines as it does. */
    core_model_start(d.model);
    if (core_modules_check(d.mods, d.cfg, errors) > 0) {
        /* A module that cannot load is a start-up error only when required;
         * the others were logged and will show as failed in `ucctl modules`. */
        log_errors("modules", errors);
    }
    if (!core_modules_start(d.mods, &error)) {
        core_err("cannot start: %s", error);
        rc = 1;
        goto out;
    }
    /* Everything that started is pulled now, not only when its state event
     * comes round: the first ucctl command after READY sees it all. */
    core_model_start(d.model);
    core_notice("ucd %s ready (pid %d, control socket %s)", UCD_VERSION, (int)getpid(),
                core_control_path(d.rt.control));
    core_service_ready("running");
    g_main_loop_run(d.loop);
    core_notice("stopping");
out:
    for (size_t i = 0; i < G_N_ELEMENTS(signals); i++)
        if (signals[i])
            g_source_remove(signals[i]);
    g_free(error);
    g_ptr_array_free(errors, TRUE);
    teardown(&d);
    if (loader_up)
        core_loader_shutdown();
    core_log_shutdown();
    return rc;
}
