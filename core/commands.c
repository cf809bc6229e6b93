/*
 * commands.c - the core's own ucctl commands: status, modules, reload,
 * check-config, log (level, export), counters, bus.
 */
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "host.h"
#include "log.h"

static const ucd_host *H;

static const char *state_word(ucd_module_state s)
{
    static const char *const words[] = {"loaded",   "initialized", "running", "stopped",
                                        "declined", "failed",      "disabled"};
    return (unsigned)s < G_N_ELEMENTS(words) ? words[s] : "unknown";
}

/* ---- status ------------------------------------------------------------------ */

typedef struct {
    unsigned running, total, failed;
} module_tally;

static void tally_module(const core_module_info *m, void *ud)
{
    module_tally *t = ud;
    t->total++;
    t->running += m->state == UCD_MODULE_RUNNING;
    t->failed += m->state == UCD_MODULE_FAILED;
}

static void sum_drops(const core_bus_sub_stats *s, void *ud)
{
    *(uint64_t *)ud += s->dropped;
}

static int cmd_status(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_commands_ctx *d = ud;
    module_tally t = {0};
    core_modules_foreach(d->mods, tally_module, &t);
    uint64_t drops = 0;
    core_bus_foreach(d->rt->bus, sum_drops, &drops);
    char buf[64];

    H->reply_field(r, "version", UCD_VERSION);
    g_snprintf(buf, sizeof buf, "%d.%d", UCD_ABI_MAJOR, UCD_HOST_MINOR);
    H->reply_field(r, "plugin_abi", buf); /* before per-interface versions; kept for scripts */
    g_snprintf(buf, sizeof buf, "%d.%d", UCD_ABI_MAJOR, UCD_HOST_MINOR);
    H->reply_field(r, "host", buf); /* the host interface: table and events */
    g_snprintf(buf, sizeof buf, "%d", (int)getpid());
    H->reply_field(r, "pid", buf);
    g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT,
               (g_get_monotonic_time() - d->started_us) / G_USEC_PER_SEC);
    H->reply_field(r, "uptime_s", buf);
    char *files = g_strjoinv(", ", (char **)core_config_files(*d->cfg));
    H->reply_field(r, "config", files);
    g_free(files);
    g_snprintf(buf, sizeof buf, "%u", *d->reloads);
    H->reply_field(r, "reloads", buf);
    g_snprintf(buf, sizeof buf, "%u of %u running, %u failed", t.running, t.total, t.failed);
    H->reply_field(r, "modules", buf);
    g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT " published, %" G_GUINT64_FORMAT " dropped",
               core_bus_published(d->rt->bus), drops);
    H->reply_field(r, "events", buf);
    g_snprintf(buf, sizeof buf, "%u", core_workers_pending(d->rt->workers));
    H->reply_field(r, "work_pending", buf);
    H->reply_field(r, "state_dir", d->rt->state_dir);
    H->reply_field(r, "server_name", d->rt->server_name ? d->rt->server_name : "");
    return UCD_OK;
}

/* ---- modules ------------------------------------------------------------------ */

/* "pbx 1.0, journal 1.1": each declaration as NAME MAJOR.MINOR. */
static char *service_list(const ucd_service_decl *decls)
{
    GString *s = g_string_new(NULL);
    for (const ucd_service_decl *d = decls; d && d->name; d++)
        g_string_append_printf(s, "%s%s %u.%u", s->len ? ", " : "", d->name, d->major, d->minor);
    return g_string_free(s, FALSE);
}

/* The host interface a module needs, "host 1.4", or "" when its plugin did
 * not load. */
static void needed_host(const core_module_info *m, char *buf, size_t size)
{
    buf[0] = '\0';
    if (m->abi_major || m->abi_minor)
        g_snprintf(buf, size, "host %u.%u", m->abi_major, m->abi_minor);
}

static void module_row(const core_module_info *m, void *ud)
{
    ucd_reply *r = ud;
    char abi[32] = "", host[40];
    if (m->abi_major || m->abi_minor)
        g_snprintf(abi, sizeof abi, "%u.%u", m->abi_major, m->abi_minor);
    needed_host(m, host, sizeof host);
    g_autofree char *provides = service_list(m->provides);
    const char *row[] = {
        m->id,
        m->version ? m->version : "",
        abi,
        state_word(m->state),
        m->required ? "yes" : "no",
        m->path ? m->path : "",
        m->last_error ? m->last_error : "",
        host,
        provides,
    };
    H->reply_row(r, row);
}

typedef struct module_detail {
    const char *id;
    ucd_reply *reply;
    gboolean found;
} module_detail;

/* One module as fields: what the table has, and each service it provides,
 * requires and uses as NAME MAJOR.MINOR. */
static void module_fields(const core_module_info *m, void *ud)
{
    module_detail *d = ud;
    if (d->found || strcmp(m->id, d->id) != 0)
        return;
    d->found = TRUE;
    char host[40];
    needed_host(m, host, sizeof host);
    g_autofree char *provides = service_list(m->provides);
    g_autofree char *requires = service_list(m->requires);
    g_autofree char *uses = service_list(m->uses);
    H->reply_field(d->reply, "module", m->id);
    H->reply_field(d->reply, "version", m->version ? m->version : "");
    H->reply_field(d->reply, "state", state_word(m->state));
    H->reply_field(d->reply, "required", m->required ? "yes" : "no");
    H->reply_field(d->reply, "path", m->path ? m->path : "");
    H->reply_field(d->reply, "needs", host);
    H->reply_field(d->reply, "provides", provides);
    H->reply_field(d->reply, "requires", requires);
    H->reply_field(d->reply, "uses", uses);
    H->reply_field(d->reply, "error", m->last_error ? m->last_error : "");
}

static int cmd_modules(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_commands_ctx *d = ud;
    if (argc > 2) {
        H->reply_error(r, "usage: modules [MODULE]");
        return UCD_E_INVALID;
    }
    if (argc == 2 && strcmp(argv[1], "core") == 0) {
        /* The core is a module too (Kamailio's built-in modules): it has no
         * library, needs nothing, and provides its own services. */
        g_autofree char *provides = service_list(core_modules_core_provides(d->mods));
        H->reply_field(r, "module", "core");
        H->reply_field(r, "version", UCD_VERSION);
        H->reply_field(r, "state", "running");
        H->reply_field(r, "required", "yes");
        H->reply_field(r, "path", "built-in");
        H->reply_field(r, "needs", "");
        H->reply_field(r, "provides", provides);
        H->reply_field(r, "requires", "");
        H->reply_field(r, "uses", "");
        H->reply_field(r, "error", "");
        return UCD_OK;
    }
    if (argc == 2) {
        module_detail detail = {argv[1], r, FALSE};
        core_modules_foreach(d->mods, module_fields, &detail);
        if (!detail.found) {
            H->reply_error(r, "no module '%s' (ucctl modules lists them)", argv[1]);
            return UCD_E_NOT_FOUND;
        }
        return UCD_OK;
    }
    /* "abi" is the lowest host minor the module needs, as before; "host"
     * says the same in words, "provides" its services with their minors. */
    static const char *const cols[] = {"module", "version", "abi",  "state",   "required",
                                       "path",   "error",   "host", "provides"};
    H->reply_columns(r, G_N_ELEMENTS(cols), cols);
    core_modules_foreach(d->mods, module_row, r);
    return UCD_OK;
}

/* ---- reload and check-config ------------------------------------------------- */

static void reply_errors(ucd_reply *r, const char *what, GPtrArray *errors)
{
    GString *s = g_string_new(NULL);
    g_string_printf(s, "%s: %u error%s", what, errors->len, errors->len == 1 ? "" : "s");
    for (guint i = 0; i < errors->len; i++)
        g_string_append_printf(s, "\n  %s", (const char *)errors->pdata[i]);
    H->reply_error(r, "%s", s->str);
    g_string_free(s, TRUE);
}

static int cmd_reload(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_commands_ctx *d = ud;
    gboolean force = argc == 2 && strcmp(argv[1], "--force") == 0;
    if (argc > 2 || (argc == 2 && !force)) {
        H->reply_error(r, "usage: reload [--force]");
        return UCD_E_INVALID;
    }
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    gboolean ok = d->reload(d->user_data, force, errors);
    int rc = UCD_OK;
    if (!ok) {
        reply_errors(r, "reload refused, the running configuration stays", errors);
        rc = UCD_E_INVALID;
    } else if (errors->len > 0) {
        reply_errors(r, "reloaded, but", errors);
        rc = UCD_FAIL;
    } else {
        H->reply_text(r, "configuration reloaded");
    }
    g_ptr_array_free(errors, TRUE);
    return rc;
}

static int cmd_check_config(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_commands_ctx *d = ud;
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    int n = d->check(d->user_data, errors);
    if (n > 0)
        reply_errors(r, "configuration has errors", errors);
    else
        H->reply_text(r, "configuration OK");
    g_ptr_array_free(errors, TRUE);
    return n > 0 ? UCD_E_INVALID : UCD_OK;
}

/* ---- log ----------------------------------------------------------------------- */

static void level_row(const core_module_info *m, void *ud)
{
    const char *row[] = {m->id, core_log_level_name(core_log_level(m->id))};
    H->reply_row(ud, row);
}

static int log_level(core_commands_ctx *d, int argc, const char *const *argv, ucd_reply *r)
{
    if (argc == 2) {
        static const char *const cols[] = {"module", "level"};
        H->reply_columns(r, 2, cols);
        const char *row[] = {"(default)", core_log_level_name(core_log_level(NULL))};
        H->reply_row(r, row);
        const char *core_row[] = {"core", core_log_level_name(core_log_level("core"))};
        H->reply_row(r, core_row);
        core_modules_foreach(d->mods, level_row, r);
        return UCD_OK;
    }
    const char *module = argc >= 4 ? argv[2] : NULL;
    const char *name = argv[argc >= 4 ? 3 : 2];
    int level = core_log_level_parse(name);
    if (level < 0) {
        H->reply_error(r, "unknown log level '%s' (use error, warning, notice, info or debug)",
                       name);
        return UCD_E_INVALID;
    }
    core_log_set_level(module, level);
    H->reply_text(r, "log level of %s is now %s", module ? module : "every module without its own",
                  name);
    return UCD_OK;
}

/* One line per module: id, version, the host interface it needs, state,
 * what it provides, its error. */
static void bundle_module(const core_module_info *m, void *ud)
{
    char host[40];
    needed_host(m, host, sizeof host);
    g_autofree char *provides = service_list(m->provides);
    g_string_append_printf(ud, "%-28s %-10s %-9s %-11s %s%s%s\n", m->id,
                           m->version ? m->version : "-", host[0] ? host : "-",
                           state_word(m->state), provides, *provides && m->last_error ? "  " : "",
                           m->last_error ? m->last_error : "");
}

static int log_export(core_commands_ctx *d, ucd_reply *r)
{
    GString *b = g_string_new(NULL);
    GDateTime *now = g_date_time_new_now_utc();
    char *stamp = g_date_time_format_iso8601(now);
    g_string_append_printf(b,
                           "ucd support bundle\nversion: %s\nplugin ABI: %d (host %d.%d)\n"
                           "created: %s\n",
                           UCD_VERSION, UCD_ABI_MAJOR, UCD_ABI_MAJOR, UCD_HOST_MINOR, stamp);
    g_free(stamp);
    g_date_time_unref(now);

    g_string_append(b, "\n== modules ==\n");
    core_modules_foreach(d->mods, bundle_module, b);

    g_string_append(b, "\n== configuration (secrets redacted) ==\n");
    char *conf = core_config_dump_redacted(*d->cfg, core_modules_key_is_secret, d->mods);
    g_string_append(b, conf);
    g_free(conf);

    g_string_append(b, "\n== recent log ==\n");
    char **lines = core_log_recent();
    for (char **l = lines; l && *l; l++)
        g_string_append_printf(b, "%s\n", *l);
    g_strfreev(lines);

    H->reply_field(r, "bundle", b->str);
    g_string_free(b, TRUE);
    return UCD_OK;
}

static int cmd_log(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_commands_ctx *d = ud;
    if (argc >= 2 && strcmp(argv[1], "level") == 0 && argc <= 4)
        return log_level(d, argc, argv, r);
    if (argc == 2 && strcmp(argv[1], "export") == 0)
        return log_export(d, r);
    H->reply_error(r, "usage: log level [[MODULE] LEVEL] | log export [FILE]");
    return UCD_E_INVALID;
}

/* ---- number ------------------------------------------------------------------ */

/* `number RAW [--location NAME]`: what the number service makes of RAW, as a
 * PBX driver at that location would get it, so an admin can try location
 * rules without a PBX. Options may come before or after RAW. */
static int cmd_number(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_commands_ctx *d = ud;
    const char *raw = NULL, *location = NULL;
    gboolean bad = FALSE;
    for (int i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--location") == 0 && i + 1 < argc && !location)
            location = argv[++i];
        else if (g_str_has_prefix(argv[i], "--") || raw)
            bad = TRUE; /* an unknown option, or a second number */
        else
            raw = argv[i];
    }
    if (!raw || bad) {
        H->reply_error(r, "usage: number RAW [--location NAME]");
        return UCD_E_INVALID;
    }
    core_numbers *numbers = atomic_load(d->numbers);
    ucd_number_info info = {.struct_size = sizeof info};
    const char *used = NULL;
    int rc = core_numbers_normalize_in(numbers, location, raw, &info, &used);
    if (rc == UCD_E_NOT_FOUND) {
        char *names = core_numbers_location_names(numbers);
        H->reply_error(r, "no location \"%s\" (the locations: %s)", location, names);
        g_free(names);
        return rc;
    }
    if (rc != UCD_OK) {
        /* Not digits, +digits or a * / # code, even after the location's
         * rewrites: saying "kind unknown" would read as a success. */
        H->reply_error(r, "not a number: \"%s\" (digits, +digits or a * or # code)", raw);
        return UCD_E_INVALID;
    }
    H->reply_field(r, "number", raw);
    H->reply_field(r, "location", used ? used : "");
    H->reply_field(r, "kind", core_numbers_kind_name(info.kind));
    H->reply_field(r, "e164", info.e164);
    H->reply_field(r, "canonical", info.canonical);
    H->reply_field(r, "dialable", info.dialable);
    H->reply_field(r, "display", info.display);
    H->reply_field(r, "extension", info.extension);
    H->reply_field(r, "international", info.international);
    H->reply_field(r, "national", info.national);
    /* What only a numbering plan (numbers-phonenumber) knows: shown when
     * one is attached, so the output says nothing it did not check. */
    if (info.validity != UCD_NUMBER_UNCHECKED) {
        H->reply_field(r, "valid", core_numbers_validity_name(info.validity));
        H->reply_field(r, "type", core_numbers_type_name(info.type));
        H->reply_field(r, "region", info.region);
        H->reply_field(r, "place", info.place);
    }
    return UCD_OK;
}

/* ---- counters and bus ------------------------------------------------------------ */

static void counter_row(const char *name, ucd_counter_kind kind, int64_t value, const char *help,
                        void *ud)
{
    char v[32];
    g_snprintf(v, sizeof v, "%" G_GINT64_FORMAT, value);
    const char *row[] = {name, kind == UCD_COUNTER_GAUGE ? "gauge" : "counter", v, help};
    H->reply_row(ud, row);
}

static int cmd_counters(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_commands_ctx *d = ud;
    static const char *const cols[] = {"counter", "kind", "value", "help"};
    H->reply_columns(r, G_N_ELEMENTS(cols), cols);
    core_modules_foreach_counter(d->mods, counter_row, r);
    return UCD_OK;
}

static void bus_row(const core_bus_sub_stats *s, void *ud)
{
    char q[32], cap[32], del[32], drop[32];
    g_snprintf(q, sizeof q, "%u", s->queued);
    g_snprintf(cap, sizeof cap, "%u", s->capacity);
    g_snprintf(del, sizeof del, "%" G_GUINT64_FORMAT, s->delivered);
    g_snprintf(drop, sizeof drop, "%" G_GUINT64_FORMAT, s->dropped);
    const char *row[] = {s->owner, s->own_thread ? "own thread" : "main loop", q, cap, del, drop};
    H->reply_row(ud, row);
}

static int cmd_bus(int argc, const char *const *argv, ucd_reply *r, void *ud)
{
    core_commands_ctx *d = ud;
    static const char *const cols[] = {"subscriber", "delivery",  "queued",
                                       "capacity",   "delivered", "dropped"};
    H->reply_columns(r, G_N_ELEMENTS(cols), cols);
    core_bus_foreach(d->rt->bus, bus_row, r);
    return UCD_OK;
}

void core_commands_register(core_commands_ctx *d)
{
    static const struct {
        const char *name, *usage, *help;
        ucd_command_fn fn;
    } cmds[] = {
        {"status", "", "version, uptime, modules and event counts", cmd_status},
        {"modules", "[MODULE]",
         "every module: version, host interface it needs, state, services, last error; one "
         "module's services with their versions",
         cmd_modules},
        {"reload", "[--force]",
         "re-read the configuration; refused if it has errors, or if it enables no module "
         "while modules run (unless --force)",
         cmd_reload},
        {"check-config", "", "check the configuration files on disk without applying them",
         cmd_check_config},
        {"log", "level [[MODULE] LEVEL] | export [FILE]",
         "show or change log levels; write a support bundle", cmd_log},
        {"counters", "", "every module's counters", cmd_counters},
        {"number", "RAW [--location NAME]",
         "how the number service reads RAW: kind, E.164, canonical, dialable, display, "
         "extension (default location unless --location)",
         cmd_number},
        {"bus", "", "event bus subscribers: queue depth, deliveries, drops", cmd_bus},
    };
    H = core_host_table();
    for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++)
        core_control_register(d->rt->control, "core", cmds[i].name, cmds[i].usage, cmds[i].help,
                              cmds[i].fn, d);
}
