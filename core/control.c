/*
 * control.c - the control socket behind `ucctl`, and the command registry.
 *
 * One request per line, one response per line, in order. A connection is a
 * small state machine driven by asynchronous GIO calls on the server's
 * GMainContext: read until the buffer holds a full line, run that line's
 * command, write the response, and only then look at the next line. Never
 * reading ahead while a response is being written is what bounds memory: a
 * client that floods requests without reading replies stalls on its own
 * socket buffer, and the daemon holds at most one response for it.
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <json-glib/json-glib.h>

#define READ_CHUNK 16384
/* An answer goes out at most this much per write, so that a client taking a
 * big answer slowly but steadily shows progress (and restarts its idle clock)
 * at least every WRITE_CHUNK bytes. */
#define WRITE_CHUNK 65536
/* Connections are accepted at once (and the oldest idle one dropped when
 * full), so the backlog only has to absorb a burst of ucctl calls. */
#define LISTEN_BACKLOG 128
/* How much of an unknown command name is echoed back in the error. */
#define NAME_ECHO_MAX 64
/* Longest error text a reply keeps. */
#define ERROR_MAX 4096

typedef struct control_command {
    char *owner;
    char *name;
    char *usage;
    char *help;
    ucd_command_fn fn;
    void *user_data;
    gboolean builtin; /* survives unregister_owner("core") */
} control_command;

typedef struct control_client control_client;

struct core_control {
    GMainContext *ctx;
    char *path;
    GSocketService *service;
    /* Identity of the socket file we bound, so that free never removes a file
     * somebody else put at the path meanwhile. */
    dev_t sock_dev;
    ino_t sock_ino;
    GHashTable *commands; /* name -> control_command */
    GHashTable *clients;  /* set of control_client, each holding one reference */
    GPtrArray *runs;      /* GSource * of core_control_run() calls not yet dispatched */
    guint idle_ms;        /* CORE_CONTROL_IDLE_MS unless a test changes it */
    guint max_clients;    /* CORE_CONTROL_MAX_CLIENTS unless a test changes it */
};

struct control_client {
    int refs;          /* the server's, plus one per asynchronous call in flight */
    core_control *ctl; /* NULL once closed: late callbacks then only unref */
    GSocketConnection *conn;
    GCancellable *cancel;
    GByteArray *input; /* received bytes not yet consumed as requests */
    guint8 chunk[READ_CHUNK];
    char *output;       /* the response being written */
    size_t output_len;  /* its length with the newline */
    size_t output_done; /* how much of it the peer took so far */
    gboolean close_after_write;
    /* Armed while the connection waits for (the rest of) a request, or for
     * the peer to take its answer; it closes a connection that stays silent
     * (or does not read) for ctl->idle_ms. */
    GSource *idle;
    gint64 idle_since; /* monotonic; valid while `idle` is armed */
    gboolean writing;  /* an answer is being written: not idle, only stalled */
};

struct ucd_reply {
    /* Set by core_reply_defer(): the handler answers later, from the main
     * loop, with core_reply_complete(). `client` is the connection waiting
     * for it (NULL for core_control_execute); `done` is set on completion. */
    gboolean deferred, done;
    /* While the handler runs: a reply deferred and completed before it
     * returns is then answered as an immediate one, by call_handler. */
    gboolean in_handler;
    control_client *client;
    /* Set by core_control_run(): the reply goes to this callback instead of
     * a connection, now or when a deferred reply completes. */
    ucd_control_done_cb done_fn;
    void *done_data;
    GPtrArray *columns; /* char * */
    GPtrArray *rows;    /* char **, each with columns->len strings */
    GPtrArray *fields;  /* char *: name, value, name, value ... */
    GString *text;      /* NULL until reply_text */
    GString *error;     /* NULL until reply_error */
    size_t bytes;       /* content so far, against CORE_CONTROL_MAX_REPLY */
    gboolean overflow;
};

/* ---- replies ------------------------------------------------------------ */

static ucd_reply *reply_new(void)
{
    ucd_reply *reply = g_new0(ucd_reply, 1);

    reply->columns = g_ptr_array_new_with_free_func(g_free);
    reply->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    reply->fields = g_ptr_array_new_with_free_func(g_free);
    return reply;
}

static void reply_free(ucd_reply *reply)
{
    g_ptr_array_unref(reply->columns);
    g_ptr_array_unref(reply->rows);
    g_ptr_array_unref(reply->fields);
    if (reply->text)
        g_string_free(reply->text, TRUE);
    if (reply->error)
        g_string_free(reply->error, TRUE);
    g_free(reply);
}

/* Accounts `n` more bytes of content. Once the limit is passed the reply is
 * spoiled for good: later additions are refused, so a command looping on
 * reply_row stops growing memory right there. */
static gboolean reply_charge(ucd_reply *reply, size_t n)
{
    if (reply->overflow)
        return FALSE;
    if (n > CORE_CONTROL_MAX_REPLY - reply->bytes) {
        reply->overflow = TRUE;
        return FALSE;
    }
    reply->bytes += n;
    return TRUE;
}

static size_t strv_bytes(size_t count, const char *const *values)
{
    size_t total = 0;

    if (!values)
        return 0;
    for (size_t i = 0; i < count && values[i]; i++)
        total += strlen(values[i]) + 1;
    return total;
}

void core_reply_columns(ucd_reply *reply, size_t count, const char *const *names)
{
    g_return_if_fail(reply != NULL);
    g_return_if_fail(count == 0 || names != NULL);

    if (reply->rows->len > 0)
        return;
    if (!reply_charge(reply, strv_bytes(count, names) + count))
        return;
    g_ptr_array_set_size(reply->columns, 0);
    for (size_t i = 0; i < count; i++)
        g_ptr_array_add(reply->columns, g_strdup(names[i] ? names[i] : ""));
}

void core_reply_row(ucd_reply *reply, const char *const *values)
{
    guint ncolumns;
    char **row;
    gboolean ended = FALSE;

    g_return_if_fail(reply != NULL);
    ncolumns = reply->columns->len;
    if (ncolumns == 0 || !reply_charge(reply, strv_bytes(ncolumns, values) + ncolumns))
        return;
    row = g_new0(char *, ncolumns + 1);
    for (guint i = 0; i < ncolumns; i++) {
        /* A NULL ends the row early: pad, and read nothing past it. */
        if (!ended && (!values || !values[i]))
            ended = TRUE;
        row[i] = g_strdup(ended ? "" : values[i]);
    }
    g_ptr_array_add(reply->rows, row);
}

void core_reply_field(ucd_reply *reply, const char *name, const char *value)
{
    g_return_if_fail(reply != NULL);
    g_return_if_fail(name != NULL);

    if (!value)
        value = "";
    if (!reply_charge(reply, strlen(name) + strlen(value) + 2))
        return;
    g_ptr_array_add(reply->fields, g_strdup(name));
    g_ptr_array_add(reply->fields, g_strdup(value));
}

void core_reply_textv(ucd_reply *reply, const char *fmt, va_list ap)
{
    char *piece;

    g_return_if_fail(reply != NULL);
    g_return_if_fail(fmt != NULL);

    piece = g_strdup_vprintf(fmt, ap);
    if (reply_charge(reply, strlen(piece))) {
        if (!reply->text)
            reply->text = g_string_new(NULL);
        g_string_append(reply->text, piece);
    }
    g_free(piece);
}

void core_reply_text(ucd_reply *reply, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    core_reply_textv(reply, fmt, ap);
    va_end(ap);
}

void core_reply_errorv(ucd_reply *reply, const char *fmt, va_list ap)
{
    char *message;

    g_return_if_fail(reply != NULL);
    g_return_if_fail(fmt != NULL);

    message = g_strdup_vprintf(fmt, ap);
    /* Errors are kept even past the size limit, only clipped, so that the
     * reason a command failed is never lost. */
    if (!reply->error) {
        reply->error = g_string_new(NULL);
    } else if (reply->error->len < ERROR_MAX) {
        g_string_append(reply->error, "; ");
    }
    if (reply->error->len < ERROR_MAX)
        g_string_append_len(reply->error, message,
                            (gssize)MIN(strlen(message), ERROR_MAX - reply->error->len));
    g_free(message);
}

void core_reply_error(ucd_reply *reply, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    core_reply_errorv(reply, fmt, ap);
    va_end(ap);
}

/* JSON strings must be UTF-8; plugins may hand us anything. */
static void add_string(JsonBuilder *builder, const char *s)
{
    char *valid = g_utf8_make_valid(s, -1);

    json_builder_add_string_value(builder, valid);
    g_free(valid);
}

static void add_member_string(JsonBuilder *builder, const char *name, const char *s)
{
    json_builder_set_member_name(builder, name);
    add_string(builder, s);
}

static void build_table(JsonBuilder *builder, const ucd_reply *reply)
{
    json_builder_set_member_name(builder, "columns");
    json_builder_begin_array(builder);
    for (guint i = 0; i < reply->columns->len; i++)
        add_string(builder, g_ptr_array_index(reply->columns, i));
    json_builder_end_array(builder);

    json_builder_set_member_name(builder, "rows");
    json_builder_begin_array(builder);
    for (guint r = 0; r < reply->rows->len; r++) {
        char **row = g_ptr_array_index(reply->rows, r);

        json_builder_begin_array(builder);
        for (guint i = 0; row[i]; i++)
            add_string(builder, row[i]);
        json_builder_end_array(builder);
    }
    json_builder_end_array(builder);
}

static void build_fields(JsonBuilder *builder, const ucd_reply *reply)
{
    json_builder_set_member_name(builder, "fields");
    json_builder_begin_array(builder);
    for (guint i = 0; i + 1 < reply->fields->len; i += 2) {
        json_builder_begin_object(builder);
        add_member_string(builder, "name", g_ptr_array_index(reply->fields, i));
        add_member_string(builder, "value", g_ptr_array_index(reply->fields, i + 1));
        json_builder_end_object(builder);
    }
    json_builder_end_array(builder);
}

static char *builder_to_string(JsonBuilder *builder)
{
    JsonNode *root = json_builder_get_root(builder);
    JsonGenerator *generator = json_generator_new();
    char *out;

    json_generator_set_root(generator, root);
    out = json_generator_to_data(generator, NULL);
    g_object_unref(generator);
    json_node_unref(root);
    return out;
}

/* The response object: "ok" always, other members only when filled. An
 * overflowing reply is reduced to its error, since half a table is a lie. */
static char *reply_to_json(const ucd_reply *reply)
{
    JsonBuilder *builder = json_builder_new_immutable();
    gboolean ok = !reply->error && !reply->overflow;
    char *out;

    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "ok");
    json_builder_add_boolean_value(builder, ok);
    if (reply->overflow) {
        char *message =
            g_strdup_printf("reply larger than %d MiB%s%s", CORE_CONTROL_MAX_REPLY / (1024 * 1024),
                            reply->error ? ": " : "", reply->error ? reply->error->str : "");
        add_member_string(builder, "error", message);
        g_free(message);
    } else {
        if (reply->columns->len > 0)
            build_table(builder, reply);
        if (reply->fields->len > 0)
            build_fields(builder, reply);
        if (reply->text)
            add_member_string(builder, "text", reply->text->str);
        if (reply->error)
            add_member_string(builder, "error", reply->error->str);
    }
    json_builder_end_object(builder);
    out = builder_to_string(builder);
    g_object_unref(builder);
    return out;
}

static char *error_response(const char *message)
{
    ucd_reply *reply = reply_new();
    char *out;

    core_reply_error(reply, "%s", message);
    out = reply_to_json(reply);
    reply_free(reply);
    return out;
}

/* ---- commands ----------------------------------------------------------- */

static void command_free(control_command *cmd)
{
    g_free(cmd->owner);
    g_free(cmd->name);
    g_free(cmd->usage);
    g_free(cmd->help);
    g_free(cmd);
}

static gboolean command_name_valid(const char *name)
{
    if (!name || !*name)
        return FALSE;
    for (const char *p = name; *p; p++) {
        if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && *p != '-')
            return FALSE;
    }
    return TRUE;
}

static gint compare_command_names(gconstpointer a, gconstpointer b)
{
    const control_command *x = *(const control_command *const *)a;
    const control_command *y = *(const control_command *const *)b;

    return strcmp(x->name, y->name);
}

static void reply_command_table(core_control *ctl, ucd_reply *reply)
{
    static const char *const columns[] = {"command", "usage", "help", "owner"};
    GPtrArray *sorted = g_ptr_array_new();
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init(&iter, ctl->commands);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        g_ptr_array_add(sorted, value);
    g_ptr_array_sort(sorted, compare_command_names);

    core_reply_columns(reply, G_N_ELEMENTS(columns), columns);
    for (guint i = 0; i < sorted->len; i++) {
        const control_command *cmd = g_ptr_array_index(sorted, i);
        const char *row[] = {cmd->name, cmd->usage, cmd->help, cmd->owner};

        core_reply_row(reply, row);
    }
    g_ptr_array_unref(sorted);
}

/* The built-in "help": every command as a table, or one command as fields. */
static int help_command(int argc, const char *const *argv, ucd_reply *reply, void *user_data)
{
    core_control *ctl = user_data;
    const control_command *cmd;

    if (argc < 2) {
        reply_command_table(ctl, reply);
        return UCD_OK;
    }
    if (argc > 2) {
        core_reply_error(reply, "usage: help [COMMAND]");
        return UCD_E_INVALID;
    }
    cmd = g_hash_table_lookup(ctl->commands, argv[1]);
    if (!cmd) {
        core_reply_error(reply, "unknown command \"%.*s\"", NAME_ECHO_MAX, argv[1]);
        return UCD_E_NOT_FOUND;
    }
    core_reply_field(reply, "command", cmd->name);
    core_reply_field(reply, "usage", cmd->usage);
    core_reply_field(reply, "help", cmd->help);
    core_reply_field(reply, "owner", cmd->owner);
    return UCD_OK;
}

static void add_command(core_control *ctl, const char *owner, const char *name, const char *usage,
                        const char *help, ucd_command_fn fn, void *user_data, gboolean builtin)
{
    control_command *cmd = g_new0(control_command, 1);

    cmd->owner = g_strdup(owner);
    cmd->name = g_strdup(name);
    cmd->usage = g_strdup(usage ? usage : "");
    cmd->help = g_strdup(help ? help : "");
    cmd->fn = fn;
    cmd->user_data = user_data;
    cmd->builtin = builtin;
    g_hash_table_insert(ctl->commands, cmd->name, cmd);
}

int core_control_register(core_control *ctl, const char *owner, const char *name, const char *usage,
                          const char *help, ucd_command_fn fn, void *user_data)
{
    g_return_val_if_fail(ctl != NULL, UCD_E_INVALID);

    if (!owner || !*owner || !fn || !command_name_valid(name))
        return UCD_E_INVALID;
    if (g_hash_table_contains(ctl->commands, name))
        return UCD_E_BUSY;
    add_command(ctl, owner, name, usage, help, fn, user_data, FALSE);
    return UCD_OK;
}

void core_control_unregister_owner(core_control *ctl, const char *owner)
{
    GHashTableIter iter;
    gpointer value;

    g_return_if_fail(ctl != NULL);
    if (!owner)
        return;
    g_hash_table_iter_init(&iter, ctl->commands);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        const control_command *cmd = value;

        if (!cmd->builtin && strcmp(cmd->owner, owner) == 0)
            g_hash_table_iter_remove(&iter);
    }
}

/* Runs argv[0] and returns the response JSON. The handler is copied out
 * before the call because it may unregister its own owner (a reload stops
 * modules, which removes their commands, this one included). */
static control_client *client_ref(control_client *c);
static void client_unref(control_client *c);
static void client_respond(control_client *c, char *response, gboolean close_after);
static void client_process(control_client *c);

/* Calls `cmd`'s handler into `reply` and returns what it returned. A
 * handler that failed without saying why gets a reason, so that no failure
 * reaches a client as a bare ok:false. */
static int call_handler(const control_command *cmd, ucd_reply *reply, int argc,
                        const char *const *argv)
{
    ucd_command_fn fn = cmd->fn;
    void *user_data = cmd->user_data;

    reply->in_handler = TRUE;
    int rc = fn(argc, argv, reply, user_data);
    reply->in_handler = FALSE;
    if (reply->deferred && reply->done) {
        /* Deferred, then completed at once (its work could not even be
         * submitted): nothing is pending any more. The return value is
         * ignored, as for any deferred reply. */
        reply->deferred = FALSE;
        if (reply->client)
            client_unref(reply->client);
        rc = UCD_OK;
    }
    if (!reply->deferred && rc != UCD_OK && !reply->error)
        core_reply_error(reply, "%s failed: %s", argv[0], ucd_strerror(rc));
    return rc;
}

static char *run_command(core_control *ctl, control_client *client, int argc,
                         const char *const *argv)
{
    const control_command *cmd = g_hash_table_lookup(ctl->commands, argv[0]);
    ucd_reply *reply = reply_new();
    char *out;

    if (!cmd) {
        core_reply_error(reply, "unknown command \"%.*s\"; \"help\" lists the commands",
                         NAME_ECHO_MAX, argv[0]);
    } else {
        reply->client = client;
        call_handler(cmd, reply, argc, argv);
        if (reply->deferred) {
            /* The handler owns the reply now; core_reply_complete() answers.
             * Without a connection (core_control_execute) wait for it here. */
            if (client)
                return NULL;
            while (!reply->done)
                g_main_context_iteration(ctl->ctx, TRUE);
        }
    }
    out = reply_to_json(reply);
    reply_free(reply);
    return out;
}

/* Hands a finished reply to its callback and frees it. The result is the
 * handler's error code when it gave one, UCD_FAIL for any other reply that
 * is not ok (a deferred error, an overflow). */
static void reply_finish_callback(ucd_reply *reply, int rc)
{
    gboolean ok = !reply->error && !reply->overflow;
    char *json = reply_to_json(reply);

    reply->done_fn(ok ? UCD_OK : rc < 0 ? rc : UCD_FAIL, json, reply->done_data);
    g_free(json);
    reply_free(reply);
}

/* A core_control_run() waiting for its turn on the main loop. */
typedef struct pending_run {
    core_control *ctl;
    GSource *source;
    char **argv;
    ucd_control_done_cb done;
    void *user_data;
} pending_run;

static void pending_run_free(gpointer data)
{
    pending_run *run = data;

    g_strfreev(run->argv);
    g_free(run);
}

static gboolean pending_run_dispatch(gpointer data)
{
    pending_run *run = data;
    core_control *ctl = run->ctl;
    int argc = (int)g_strv_length(run->argv);
    const char *const *argv = (const char *const *)run->argv;
    const control_command *cmd = g_hash_table_lookup(ctl->commands, argv[0]);
    ucd_reply *reply = reply_new();

    g_ptr_array_remove_fast(ctl->runs, run->source);
    reply->done_fn = run->done;
    reply->done_data = run->user_data;
    if (!cmd) {
        /* Its module stopped since run() looked. */
        core_reply_error(reply, "unknown command \"%.*s\"; \"help\" lists the commands",
                         NAME_ECHO_MAX, argv[0]);
        reply_finish_callback(reply, UCD_E_NOT_FOUND);
    } else {
        int rc = call_handler(cmd, reply, argc, argv);

        if (!reply->deferred)
            reply_finish_callback(reply, rc);
    }
    return G_SOURCE_REMOVE;
}

int core_control_run(core_control *ctl, int argc, const char *const *argv, ucd_control_done_cb done,
                     void *user_data)
{
    pending_run *run;

    g_return_val_if_fail(ctl != NULL, UCD_E_INVALID);

    if (!done || argc < 1 || !argv)
        return UCD_E_INVALID;
    /* The same words a socket request may carry: present and UTF-8. */
    for (int i = 0; i < argc; i++)
        if (!argv[i] || !g_utf8_validate(argv[i], -1, NULL))
            return UCD_E_INVALID;
    if (!g_hash_table_contains(ctl->commands, argv[0]))
        return UCD_E_NOT_FOUND;
    run = g_new0(pending_run, 1);
    run->ctl = ctl;
    run->argv = g_new0(char *, (gsize)argc + 1);
    for (int i = 0; i < argc; i++)
        run->argv[i] = g_strdup(argv[i]);
    run->done = done;
    run->user_data = user_data;
    /* Never inside the caller's stack: a command may stop modules (reload),
     * the caller's own among them, and the caller must have returned by
     * then. */
    run->source = g_idle_source_new();
    g_source_set_callback(run->source, pending_run_dispatch, run, pending_run_free);
    g_ptr_array_add(ctl->runs, run->source);
    g_source_attach(run->source, ctl->ctx);
    g_source_unref(run->source);
    return UCD_OK;
}

void core_reply_defer(ucd_reply *reply)
{
    g_return_if_fail(reply != NULL && !reply->deferred);
    reply->deferred = TRUE;
    if (reply->client)
        client_ref(reply->client);
}

void core_reply_complete(ucd_reply *reply)
{
    g_return_if_fail(reply != NULL && reply->deferred && !reply->done);
    if (reply->in_handler) {
        reply->done = TRUE; /* call_handler answers when the handler returns */
        return;
    }
    if (reply->done_fn) {
        reply_finish_callback(reply, UCD_OK);
        return;
    }
    control_client *c = reply->client;
    if (!c) {
        reply->done = TRUE; /* run_command is waiting for it */
        return;
    }
    /* The client may have gone meanwhile: then the answer has nobody to go to. */
    if (c->ctl)
        client_respond(c, reply_to_json(reply), FALSE);
    client_unref(c);
    reply_free(reply);
}

char *core_control_execute(core_control *ctl, int argc, const char *const *argv)
{
    g_return_val_if_fail(ctl != NULL, NULL);

    if (argc < 1 || !argv || !argv[0])
        return error_response("\"argv\" is empty");
    return run_command(ctl, NULL, argc, argv);
}

/* ---- requests ----------------------------------------------------------- */

/* Extracts argv from a parsed request. NULL and *problem when the request
 * has the wrong shape; the JSON itself was fine, so the connection stays. */
static char **request_argv(JsonNode *root, char **problem)
{
    JsonObject *object;
    JsonNode *node;
    JsonArray *array;
    guint length;
    char **argv;

    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        *problem = g_strdup("request must be a JSON object");
        return NULL;
    }
    object = json_node_get_object(root);
    node = json_object_get_member(object, "argv");
    if (!node) {
        *problem = g_strdup("request has no \"argv\" member");
        return NULL;
    }
    if (!JSON_NODE_HOLDS_ARRAY(node)) {
        *problem = g_strdup("\"argv\" must be an array of strings");
        return NULL;
    }
    array = json_node_get_array(node);
    length = json_array_get_length(array);
    if (length == 0) {
        *problem = g_strdup("\"argv\" is empty");
        return NULL;
    }
    argv = g_new0(char *, length + 1);
    for (guint i = 0; i < length; i++) {
        JsonNode *item = json_array_get_element(array, i);

        if (!JSON_NODE_HOLDS_VALUE(item) || json_node_get_value_type(item) != G_TYPE_STRING) {
            *problem = g_strdup_printf("\"argv\" item %u is not a string", i);
            g_strfreev(argv);
            return NULL;
        }
        argv[i] = g_strdup(json_node_get_string(item));
    }
    return argv;
}

/* json-glib hands strings out NUL-terminated, so "st\u0000atus" reaches the
 * command table as "st" and the NUL itself is gone from the parsed string.
 * To see whether a NUL was in argv, the line is parsed a second time with
 * every escape \u0000 turned into \u0001: an argv string that held a NUL
 * then comes out different (longer), while a NUL elsewhere in the request
 * changes nothing argv holds. Returns that copy of the line, or NULL when it
 * has no such escape (the usual case: one parse). An escape is a 'u' after an
 * odd run of backslashes; "\\u0000" is a backslash and the text "u0000". */
static char *nul_escapes_replaced(const char *line, size_t len)
{
    static const char nul[] = "u0000";
    char *copy = NULL;

    for (size_t i = 0; i + sizeof nul - 1 <= len; i++) {
        size_t run = 0;

        if (memcmp(line + i, nul, sizeof nul - 1) != 0)
            continue;
        while (run < i && line[i - 1 - run] == '\\')
            run++;
        if (run % 2 == 0)
            continue;
        if (!copy)
            copy = g_strndup(line, len);
        copy[i + sizeof nul - 2] = '1';
    }
    return copy;
}

/* TRUE when a string of `argv` (parsed from `line`) held a NUL. */
static gboolean argv_had_nul(const char *line, size_t len, char **argv)
{
    char *replaced = nul_escapes_replaced(line, len);
    gboolean had = FALSE;

    if (replaced) {
        JsonParser *parser = json_parser_new_immutable();
        char *ignored = NULL;
        char **again = NULL;

        if (json_parser_load_from_data(parser, replaced, (gssize)len, NULL))
            again = request_argv(json_parser_get_root(parser), &ignored);
        had = !again || !g_strv_equal((const char *const *)argv, (const char *const *)again);
        g_strfreev(again);
        g_free(ignored);
        g_object_unref(parser);
        g_free(replaced);
    }
    return had;
}

/* Handles one request line (without its newline) and returns the response.
 * *fatal is set when the bytes were not JSON at all: such a peer is not
 * speaking our protocol, and what follows cannot be trusted to be framed. */
static char *handle_line(core_control *ctl, control_client *client, const char *line, size_t len,
                         gboolean *fatal)
{
    JsonParser *parser;
    GError *error = NULL;
    char *problem = NULL;
    char **argv;
    char *out;

    *fatal = FALSE;
    if (!g_utf8_validate(line, (gssize)len, NULL)) {
        *fatal = TRUE;
        return error_response("request is not valid UTF-8 text");
    }
    parser = json_parser_new_immutable();
    if (len == 0 || !json_parser_load_from_data(parser, line, (gssize)len, &error)) {
        problem =
            g_strdup_printf("request is not valid JSON: %s", error ? error->message : "empty line");
        *fatal = TRUE;
        g_clear_error(&error);
        g_object_unref(parser);
        out = error_response(problem);
        g_free(problem);
        return out;
    }
    argv = request_argv(json_parser_get_root(parser), &problem);
    g_object_unref(parser);
    if (argv && argv_had_nul(line, len, argv)) {
        g_strfreev(argv);
        argv = NULL;
        problem = g_strdup("\"argv\" holds a NUL character (\\u0000): commands and their "
                           "arguments are text without NUL");
    }
    if (!argv) {
        out = error_response(problem);
        g_free(problem);
        return out;
    }
    out = run_command(ctl, client, (int)g_strv_length(argv), (const char *const *)argv);
    g_strfreev(argv);
    return out;
}

/* ---- connections -------------------------------------------------------- */

static control_client *client_ref(control_client *c)
{
    c->refs++;
    return c;
}

static void client_unref(control_client *c)
{
    if (--c->refs > 0)
        return;
    g_object_unref(c->conn); /* closes the socket */
    g_object_unref(c->cancel);
    g_byte_array_unref(c->input);
    g_free(c->output);
    g_free(c);
}

static void client_idle_disarm(control_client *c)
{
    if (!c->idle)
        return;
    g_source_destroy(c->idle);
    g_source_unref(c->idle);
    c->idle = NULL;
}

static void client_close(control_client *c);

static gboolean on_idle_timeout(gpointer data)
{
    control_client *c = data;

    client_idle_disarm(c);
    client_close(c);
    return G_SOURCE_REMOVE;
}

/* Starts (or restarts) the idle clock: called whenever the connection waits
 * for request bytes, and while an answer is written (a peer that never reads
 * it would hold its place for ever). A client busy with a command is never
 * idle. */
static void client_idle_arm(control_client *c)
{
    client_idle_disarm(c);
    c->idle_since = g_get_monotonic_time();
    c->idle = g_timeout_source_new(c->ctl->idle_ms);
    g_source_set_callback(c->idle, on_idle_timeout, c, NULL);
    g_source_attach(c->idle, c->ctl->ctx);
}

/* Detaches the client from the server. The shutdown makes the peer see the
 * end at once; memory goes when the last callback in flight returns. */
static void client_close(control_client *c)
{
    core_control *ctl = c->ctl;

    if (!ctl)
        return;
    client_idle_disarm(c);
    c->ctl = NULL;
    g_cancellable_cancel(c->cancel);
    g_socket_shutdown(g_socket_connection_get_socket(c->conn), TRUE, TRUE, NULL);
    g_hash_table_remove(ctl->clients, c);
    client_unref(c);
}

static void on_written(GObject *source, GAsyncResult *result, gpointer data);

/* Writes the next piece of the answer. The idle clock restarts with every
 * piece: what it limits is a peer that stops reading, not a big answer that
 * a slow peer keeps taking. */
static void client_write_more(control_client *c)
{
    GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(c->conn));
    size_t left = c->output_len - c->output_done;

    client_idle_arm(c);
    g_output_stream_write_async(out, c->output + c->output_done, MIN(left, WRITE_CHUNK),
                                G_PRIORITY_DEFAULT, c->cancel, on_written, client_ref(c));
}

static void on_written(GObject *source, GAsyncResult *result, gpointer data)
{
    control_client *c = data;
    gssize n = g_output_stream_write_finish(G_OUTPUT_STREAM(source), result, NULL);

    if (c->ctl && n > 0 && c->output_done + (size_t)n < c->output_len) {
        c->output_done += (size_t)n;
        client_write_more(c);
        client_unref(c);
        return;
    }
    g_clear_pointer(&c->output, g_free);
    c->writing = FALSE;
    if (c->ctl) {
        client_idle_disarm(c);
        /* A write error is the peer gone (EPIPE, reset): nothing to tell it. */
        if (n <= 0 || c->close_after_write)
            client_close(c);
        else
            client_process(c);
    }
    client_unref(c);
}

static void client_respond(control_client *c, char *response, gboolean close_after)
{
    size_t len = strlen(response);

    c->output = g_realloc(response, len + 2);
    c->output[len] = '\n';
    c->output[len + 1] = '\0';
    c->output_len = len + 1;
    c->output_done = 0;
    c->close_after_write = close_after;
    c->writing = TRUE;
    client_write_more(c);
}

static void on_read(GObject *source, GAsyncResult *result, gpointer data)
{
    control_client *c = data;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, NULL);

    if (c->ctl) {
        client_idle_disarm(c);
        /* End of stream or an error: a partial line left behind is dropped. */
        if (n <= 0) {
            client_close(c);
        } else {
            g_byte_array_append(c->input, c->chunk, (guint)n);
            client_process(c);
        }
    }
    client_unref(c);
}

static void client_read_more(control_client *c)
{
    GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(c->conn));

    client_idle_arm(c);
    g_input_stream_read_async(in, c->chunk, sizeof(c->chunk), G_PRIORITY_DEFAULT, c->cancel,
                              on_read, client_ref(c));
}

static void client_reject_oversized(control_client *c)
{
    char *message = g_strdup_printf("request longer than %d bytes", CORE_CONTROL_MAX_REQUEST);

    client_respond(c, error_response(message), TRUE);
    g_free(message);
}

/* Serves the next complete line in the buffer, or reads more. Exactly one
 * asynchronous call is in flight per open client, which keeps responses in
 * request order. */
static void client_process(control_client *c)
{
    const guint8 *newline = memchr(c->input->data, '\n', c->input->len);
    size_t len;
    gboolean fatal;
    char *response;

    if (!newline) {
        if (c->input->len > CORE_CONTROL_MAX_REQUEST)
            client_reject_oversized(c);
        else
            client_read_more(c);
        return;
    }
    len = (size_t)(newline - c->input->data);
    if (len > CORE_CONTROL_MAX_REQUEST) {
        client_reject_oversized(c);
        return;
    }
    /* Tolerate CRLF from hand-typed sessions (socat, nc -C). */
    response = handle_line(c->ctl, c, (const char *)c->input->data,
                           len > 0 && c->input->data[len - 1] == '\r' ? len - 1 : len, &fatal);
    g_byte_array_remove_range(c->input, 0, (guint)len + 1);
    /* NULL: a deferred reply; core_reply_complete() responds, and the next
     * request is read only after that, so answers keep request order. */
    if (response)
        client_respond(c, response, fatal);
}

static void client_start(core_control *ctl, GSocketConnection *conn)
{
    control_client *c = g_new0(control_client, 1);

    c->refs = 1;
    c->ctl = ctl;
    c->conn = g_object_ref(conn);
    c->cancel = g_cancellable_new();
    c->input = g_byte_array_new();
    g_hash_table_add(ctl->clients, c);
    client_read_more(c);
}

/* One best-effort line, without waiting: the socket buffer of a fresh
 * connection always has room for it, and a peer that is already gone only
 * makes the send fail (GSocket sends with MSG_NOSIGNAL). */
static void refuse_connection(GSocketConnection *conn, const char *message)
{
    char *response = error_response(message);
    char *line = g_strconcat(response, "\n", NULL);
    GSocket *socket = g_socket_connection_get_socket(conn);

    g_socket_send_with_blocking(socket, line, strlen(line), FALSE, NULL, NULL);
    g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
    g_free(line);
    g_free(response);
}

/* The connection that has waited longest for a request, or NULL when every
 * connection is busy with a command. */
static control_client *oldest_idle(core_control *ctl)
{
    GHashTableIter iter;
    gpointer key;
    control_client *oldest = NULL;

    g_hash_table_iter_init(&iter, ctl->clients);
    while (g_hash_table_iter_next(&iter, &key, NULL)) {
        control_client *c = key;

        if (c->idle && !c->writing && (!oldest || c->idle_since < oldest->idle_since))
            oldest = c;
    }
    return oldest;
}

static gboolean on_incoming(GSocketService *service, GSocketConnection *conn, GObject *source,
                            gpointer data)
{
    core_control *ctl = data;

    /* Full: an idle connection gives way, so that a client hoarding silent
     * connections cannot lock the admin out. */
    if (g_hash_table_size(ctl->clients) >= ctl->max_clients) {
        control_client *idle = oldest_idle(ctl);

        if (idle)
            client_close(idle);
    }
    if (g_hash_table_size(ctl->clients) >= ctl->max_clients) {
        char *message = g_strdup_printf("too many control connections (limit %u), all busy; try "
                                        "again later",
                                        ctl->max_clients);

        refuse_connection(conn, message);
        g_free(message);
        return TRUE;
    }
    client_start(ctl, conn);
    return TRUE;
}

/* ---- the socket file ---------------------------------------------------- */

/* TRUE when a process still accepts connections on the socket at `path`.
 * Non-blocking, so a listener with a full backlog answers EAGAIN instead of
 * making us wait. */
static gboolean socket_in_use(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    gboolean in_use;

    if (fd < 0)
        return FALSE;
    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    in_use = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 || errno == EAGAIN ||
             errno == EINPROGRESS;
    close(fd);
    return in_use;
}

/* Makes room at `path`: nothing there, or a dead socket we remove. Anything
 * else is somebody's file or somebody's live daemon, and stays. */
static gboolean clear_path(const char *path, GError **err)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return TRUE;
        g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno), "control socket %s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    if (!S_ISSOCK(st.st_mode)) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
                    "control socket %s: the path exists and is not a socket; refusing to "
                    "replace it (remove it or choose another path)",
                    path);
        return FALSE;
    }
    if (socket_in_use(path)) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                    "control socket %s is in use by a running process (another ucd?)", path);
        return FALSE;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno),
                    "control socket %s: cannot remove the stale socket: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/* Gives the socket its directory's group, as a setgid directory would. The
 * daemon creates the socket as root and prepares the directory for its
 * configured group first; that group, not root's, is who ucctl is for. When
 * not permitted (not root, not a member), the socket keeps the group it got. */
static void adopt_directory_group(const char *path)
{
    char *dir = g_path_get_dirname(path);
    struct stat st;

    if (stat(dir, &st) == 0 && lchown(path, (uid_t)-1, st.st_gid) != 0)
        g_debug("control socket %s: keeping its group: %s", path, g_strerror(errno));
    g_free(dir);
}

/* Binds, sets the mode, and only then listens: no client can connect while
 * the file still has the umask's mode. */
static GSocket *bind_socket(core_control *ctl, GError **err)
{
    GSocket *socket =
        g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, err);
    GSocketAddress *address;
    struct stat st;
    gboolean bound;

    if (!socket)
        return NULL;
    address = g_unix_socket_address_new(ctl->path);
    bound = g_socket_bind(socket, address, FALSE, err);
    g_object_unref(address);
    if (!bound)
        goto fail;
    adopt_directory_group(ctl->path);
    if (chmod(ctl->path, 0660) != 0 || lstat(ctl->path, &st) != 0) {
        g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno), "control socket %s: %s",
                    ctl->path, g_strerror(errno));
        goto fail_unlink;
    }
    ctl->sock_dev = st.st_dev;
    ctl->sock_ino = st.st_ino;
    g_socket_set_listen_backlog(socket, LISTEN_BACKLOG);
    if (!g_socket_listen(socket, err))
        goto fail_unlink;
    return socket;

fail_unlink:
    unlink(ctl->path);
fail:
    g_object_unref(socket);
    return NULL;
}

static gboolean path_fits(const char *path, GError **err)
{
    struct sockaddr_un addr;

    if (!path || !*path) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "control socket: empty path");
        return FALSE;
    }
    if (strlen(path) >= sizeof(addr.sun_path)) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
                    "control socket %s: path longer than %zu bytes", path,
                    sizeof(addr.sun_path) - 1);
        return FALSE;
    }
    return TRUE;
}

static gboolean start_service(core_control *ctl, GError **err)
{
    GSocket *socket;
    gboolean added;

    if (!path_fits(ctl->path, err) || !clear_path(ctl->path, err))
        return FALSE;
    socket = bind_socket(ctl, err);
    if (!socket)
        return FALSE;
    /* A new GSocketService is active: adding the socket starts the first
     * accept, on the thread-default context the caller pushed. */
    ctl->service = g_socket_service_new();
    g_signal_connect(ctl->service, "incoming", G_CALLBACK(on_incoming), ctl);
    added = g_socket_listener_add_socket(G_SOCKET_LISTENER(ctl->service), socket, NULL, err);
    g_object_unref(socket);
    if (!added)
        unlink(ctl->path);
    return added;
}

static void stop_service(core_control *ctl)
{
    if (!ctl->service)
        return;
    g_signal_handlers_disconnect_by_data(ctl->service, ctl);
    g_socket_service_stop(ctl->service);
    g_socket_listener_close(G_SOCKET_LISTENER(ctl->service));
    g_clear_object(&ctl->service);
}

static void remove_socket_file(core_control *ctl)
{
    struct stat st;

    if (ctl->sock_ino == 0)
        return;
    if (lstat(ctl->path, &st) == 0 && st.st_dev == ctl->sock_dev && st.st_ino == ctl->sock_ino)
        unlink(ctl->path);
}

core_control *core_control_new(GMainContext *ctx, const char *path, GError **err)
{
    core_control *ctl;
    gboolean started;

    g_return_val_if_fail(ctx != NULL, NULL);
    g_return_val_if_fail(err == NULL || *err == NULL, NULL);

    ctl = g_new0(core_control, 1);
    ctl->ctx = g_main_context_ref(ctx);
    ctl->path = g_strdup(path);
    ctl->commands =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)command_free);
    ctl->clients = g_hash_table_new(g_direct_hash, g_direct_equal);
    ctl->runs = g_ptr_array_new();
    ctl->idle_ms = CORE_CONTROL_IDLE_MS;
    ctl->max_clients = CORE_CONTROL_MAX_CLIENTS;
    add_command(ctl, "core", "help", "[COMMAND]", "list the commands, or describe one",
                help_command, ctl, TRUE);

    g_main_context_push_thread_default(ctx);
    started = start_service(ctl, err);
    g_main_context_pop_thread_default(ctx);
    if (!started) {
        core_control_free(ctl);
        return NULL;
    }
    return ctl;
}

void core_control_free(core_control *ctl)
{
    GHashTableIter iter;
    gpointer client;

    if (!ctl)
        return;
    stop_service(ctl);
    /* client_close removes the client from the set: take the first until none is left. */
    while (g_hash_table_size(ctl->clients) > 0) {
        g_hash_table_iter_init(&iter, ctl->clients);
        g_hash_table_iter_next(&iter, &client, NULL);
        client_close(client);
    }
    /* Runs not dispatched yet die with the server, unanswered: whoever asked
     * (a module) was stopped before it. */
    while (ctl->runs->len > 0)
        g_source_destroy(g_ptr_array_steal_index_fast(ctl->runs, ctl->runs->len - 1));
    g_ptr_array_unref(ctl->runs);
    remove_socket_file(ctl);
    g_hash_table_unref(ctl->clients);
    g_hash_table_unref(ctl->commands);
    g_main_context_unref(ctl->ctx);
    g_free(ctl->path);
    g_free(ctl);
}

void core_control_set_limits(core_control *ctl, guint idle_ms, guint max_clients)
{
    g_return_if_fail(ctl != NULL);
    if (idle_ms > 0)
        ctl->idle_ms = idle_ms;
    if (max_clients > 0)
        ctl->max_clients = max_clients;
}

const char *core_control_path(core_control *ctl)
{
    g_return_val_if_fail(ctl != NULL, NULL);
    return ctl->path;
}
