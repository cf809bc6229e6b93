/*
 * ucctl - talks to the ucd control socket: sends one command, prints the answer.
 *
 *   ucctl [--socket PATH] [--json] COMMAND [ARGS...]
 *
 * ucctl's options may stand anywhere on the line (`ucctl users --json`), as
 * people type them; after a `--` nothing more is taken as ucctl's own.
 *
 * The protocol (core/control.h) is one JSON object per line each way. ucctl
 * renders the response for people (fields, an aligned table, free text) or,
 * with --json, as JSON for scripts: a table becomes an array of objects keyed
 * by column, fields an object (json_output.md in docs/admin/ucctl.md).
 *
 * Listings page on the server: a reply carrying a field "next" has more rows,
 * fetched with `--after NEXT`. ucctl follows it (unless the user gave
 * --limit), printing each page's rows as it arrives, so no listing needs one
 * huge answer.
 *
 * A few commands get help on this side: `log export [FILE]` and `users-file
 * export [FILE|-]` write what the daemon sends to FILE, `users import FILE` sends FILE
 * as an absolute path, and `trace LINE` keeps polling the daemon for new
 * events of the line until interrupted (--once: print what there is and exit).
 *
 * Exit codes: 0 success; 1 the daemon answered with an error, or ucctl itself
 * was misused or could not write its output; 2 no answer from the daemon
 * (socket missing, connection refused, timeout, connection closed early).
 */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <json-glib/json-glib.h>

#define DEFAULT_SOCKET "/run/ucd/ucd.sock"
/* The daemon refuses longer requests (CORE_CONTROL_MAX_REQUEST). */
#define MAX_REQUEST (64 * 1024)
/* The daemon caps a reply's content at 16 MiB; JSON escaping can inflate
 * that, so accept a generous multiple before calling the answer bogus. */
#define MAX_RESPONSE    (64 * 1024 * 1024)
#define TIMEOUT_SECONDS 30

enum { EXIT_REPLY_ERROR = 1, EXIT_UNREACHABLE = 2 };

typedef struct options {
    char *socket_path;
    gboolean json;
} options;

static void fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* "ucctl: MESSAGE" on stderr, the one format for every complaint. */
static void fail(const char *fmt, ...)
{
    va_list ap;

    fputs("ucctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- building JSON objects ------------------------------------------------ */

/* Every JSON object ucctl writes (requests, --json output) is built between
 * these two: object_begin() opens it, object_text() closes it and returns its
 * compact text (g_free), freeing the builder. */
static JsonBuilder *object_begin(void)
{
    JsonBuilder *b = json_builder_new_immutable();

    json_builder_begin_object(b);
    return b;
}

static char *object_text(JsonBuilder *b)
{
    JsonGenerator *generator = json_generator_new();
    JsonNode *root;
    char *text;

    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(generator, root);
    text = json_generator_to_data(generator, NULL);
    json_node_unref(root);
    g_object_unref(generator);
    g_object_unref(b);
    return text;
}

/* ---- talking to the daemon ---------------------------------------------- */

static char *build_request(char **argv, gboolean json)
{
    JsonBuilder *builder = object_begin();

    json_builder_set_member_name(builder, "argv");
    json_builder_begin_array(builder);
    for (int i = 0; argv[i]; i++)
        json_builder_add_string_value(builder, argv[i]);
    json_builder_end_array(builder);
    json_builder_set_member_name(builder, "json");
    json_builder_add_boolean_value(builder, json);
    return object_text(builder);
}

static GSocket *connect_daemon(const char *path, GError **err)
{
    GSocket *socket =
        g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, err);
    GSocketAddress *address;
    gboolean connected;

    if (!socket)
        return NULL;
    g_socket_set_timeout(socket, TIMEOUT_SECONDS);
    address = g_unix_socket_address_new(path);
    connected = g_socket_connect(socket, address, NULL, err);
    g_object_unref(address);
    if (!connected)
        g_clear_object(&socket);
    return socket;
}

static gboolean send_all(GSocket *socket, const char *data, size_t len, GError **err)
{
    while (len > 0) {
        gssize n = g_socket_send(socket, data, len, NULL, err);

        if (n < 0)
            return FALSE;
        data += n;
        len -= (size_t)n;
    }
    return TRUE;
}

/* Reads up to the first newline, within one deadline for the whole answer
 * (a per-call timeout would let a trickling peer keep us forever). */
static char *receive_line(GSocket *socket, GError **err)
{
    gint64 deadline = g_get_monotonic_time() + TIMEOUT_SECONDS * G_USEC_PER_SEC;
    GString *line = g_string_new(NULL);
    char buf[65536];

    for (;;) {
        gint64 left = deadline - g_get_monotonic_time();
        gssize n;
        char *newline;

        if (left <= 0 || !g_socket_condition_timed_wait(socket, G_IO_IN, left, NULL, err)) {
            g_clear_error(err);
            g_set_error(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no answer within %d seconds",
                        TIMEOUT_SECONDS);
            break;
        }
        n = g_socket_receive_with_blocking(socket, buf, sizeof(buf), FALSE, NULL, err);
        if (n < 0) {
            if (g_error_matches(*err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
                g_clear_error(err);
                continue;
            }
            break;
        }
        if (n == 0) {
            g_set_error(err, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                        "the daemon closed the connection without an answer");
            break;
        }
        newline = memchr(buf, '\n', (size_t)n);
        g_string_append_len(line, buf, newline ? newline - buf : n);
        if (newline)
            return g_string_free(line, FALSE);
        if (line->len > MAX_RESPONSE) {
            g_set_error(err, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, "answer larger than %d MiB",
                        MAX_RESPONSE / (1024 * 1024));
            break;
        }
    }
    g_string_free(line, TRUE);
    return NULL;
}

/* Sends argv and returns the response line, or NULL with the exit code the
 * failure deserves in *status. */
static char *exchange(const options *opts, char **argv, int *status)
{
    char *request = build_request(argv, opts->json);
    char *line = NULL;
    GError *error = NULL;
    GSocket *socket;

    *status = EXIT_UNREACHABLE;
    if (strlen(request) >= MAX_REQUEST) {
        fail("the command line is too long (the daemon accepts %d bytes)", MAX_REQUEST);
        *status = EXIT_REPLY_ERROR;
        g_free(request);
        return NULL;
    }
    socket = connect_daemon(opts->socket_path, &error);
    if (!socket) {
        fail("cannot connect to %s: %s (is ucd running? see --socket)", opts->socket_path,
             error->message);
    } else {
        char *framed = g_strconcat(request, "\n", NULL);

        GError *send_error = NULL;

        /* Read even when sending failed: a daemon that turns us away (too
         * many connections) answers and closes before it reads anything. */
        send_all(socket, framed, strlen(framed), &send_error);
        line = receive_line(socket, &error);
        if (!line && send_error) {
            /* The send failure explains more than "closed without an answer". */
            g_clear_error(&error);
            error = g_steal_pointer(&send_error);
        }
        g_clear_error(&send_error);
        if (!line)
            fail("%s: %s", opts->socket_path, error->message);
        g_free(framed);
        g_object_unref(socket);
    }
    if (line)
        *status = 0;
    else if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
        *status = EXIT_REPLY_ERROR;
    g_clear_error(&error);
    g_free(request);
    return line;
}

/* ---- rendering for people ----------------------------------------------- */

static const char *member_string(JsonObject *object, const char *name)
{
    JsonNode *node = json_object_get_member(object, name);

    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(node);
}

static JsonArray *member_array(JsonObject *object, const char *name)
{
    JsonNode *node = json_object_get_member(object, name);

    return node && JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;
}

static const char *element_string(JsonArray *array, guint i)
{
    JsonNode *node = i < json_array_get_length(array) ? json_array_get_element(array, i) : NULL;

    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return "";
    return json_node_get_string(node);
}

/* A cell or field value on one line, with no control characters that could
 * break the layout or drive the terminal. Free text is printed as is. */
static char *printable(const char *s)
{
    GString *out = g_string_new(NULL);

    for (const char *p = s; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if (c == '\t' || c == '\n' || c == '\r')
            g_string_append_c(out, ' ');
        else if (g_unichar_iscntrl(c))
            g_string_append_c(out, '?');
        else
            g_string_append_unichar(out, c);
    }
    return g_string_free(out, FALSE);
}

/* Terminal columns: East Asian wide characters take two, combining marks none. */
static size_t display_width(const char *s)
{
    size_t width = 0;

    for (const char *p = s; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if (g_unichar_iszerowidth(c))
            continue;
        width += g_unichar_iswide(c) ? 2 : 1;
    }
    return width;
}

static void print_row(char **cells, const size_t *widths, guint ncolumns)
{
    for (guint i = 0; i < ncolumns; i++) {
        fputs(cells[i], stdout);
        /* No padding after the last column: no trailing blanks. */
        if (i + 1 < ncolumns) {
            for (size_t w = display_width(cells[i]); w < widths[i] + 2; w++)
                fputc(' ', stdout);
        }
    }
    fputc('\n', stdout);
}

/* Cells of row `r` (-1: the header), cleaned; free with g_strfreev. */
static char **table_cells(JsonArray *columns, JsonArray *rows, int r, guint ncolumns)
{
    JsonArray *source = columns;
    char **cells = g_new0(char *, ncolumns + 1);

    if (r >= 0) {
        JsonNode *node = json_array_get_element(rows, (guint)r);

        source = JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;
    }
    for (guint i = 0; i < ncolumns; i++)
        cells[i] = printable(source ? element_string(source, i) : "");
    return cells;
}

/* The name and value ("" when it has none) of fields[i]; FALSE when that is
 * no field or the field `skip` (NULL: none), which is never shown. */
static gboolean field_at(JsonArray *fields, guint i, const char *skip, const char **name,
                         const char **value)
{
    JsonNode *node = json_array_get_element(fields, i);

    if (!JSON_NODE_HOLDS_OBJECT(node))
        return FALSE;
    *name = member_string(json_node_get_object(node), "name");
    *value = member_string(json_node_get_object(node), "value");
    if (!*value)
        *value = "";
    return *name && !(skip && strcmp(*name, skip) == 0);
}

/* "name: value" per field but `skip`. */
static void print_fields(JsonArray *fields, const char *skip)
{
    for (guint i = 0; i < json_array_get_length(fields); i++) {
        const char *name, *value;
        char *clean_name, *clean_value;

        if (!field_at(fields, i, skip, &name, &value))
            continue;
        clean_name = printable(name);
        clean_value = printable(value);
        printf("%s: %s\n", clean_name, clean_value);
        g_free(clean_name);
        g_free(clean_value);
    }
}

static gboolean response_ok(JsonObject *response)
{
    JsonNode *node = json_object_get_member(response, "ok");

    return node && JSON_NODE_HOLDS_VALUE(node) &&
           json_node_get_value_type(node) == G_TYPE_BOOLEAN && json_node_get_boolean(node);
}

/* ---- JSON for scripts ------------------------------------------------------ */

/* One table row as an object keyed by column (its text, g_free). */
static char *row_object(JsonArray *columns, JsonNode *row)
{
    JsonBuilder *b = object_begin();
    JsonArray *cells = JSON_NODE_HOLDS_ARRAY(row) ? json_node_get_array(row) : NULL;

    for (guint i = 0; i < json_array_get_length(columns); i++) {
        json_builder_set_member_name(b, element_string(columns, i));
        json_builder_add_string_value(b, cells ? element_string(cells, i) : "");
    }
    return object_text(b);
}

/* The fields (all but `skip`) and text of a response as the members of an
 * object being built. */
static void add_fields_and_text(JsonBuilder *b, JsonObject *response, const char *skip)
{
    JsonArray *fields = member_array(response, "fields");
    const char *text = member_string(response, "text");

    for (guint i = 0; fields && i < json_array_get_length(fields); i++) {
        const char *name, *value;

        if (!field_at(fields, i, skip, &name, &value))
            continue;
        json_builder_set_member_name(b, name);
        json_builder_add_string_value(b, value);
    }
    if (text) {
        json_builder_set_member_name(b, "text");
        json_builder_add_string_value(b, text);
    }
}

/* The fields (all but `skip`) and text of a response as one object's text. */
static char *fields_object(JsonObject *response, const char *skip)
{
    JsonBuilder *b = object_begin();

    add_fields_and_text(b, response, skip);
    return object_text(b);
}

/* Whether the response has fields other than `skip`, or text. */
static gboolean has_more_than_table(JsonObject *response, const char *skip)
{
    JsonArray *fields = member_array(response, "fields");

    const char *name, *value;

    for (guint i = 0; fields && i < json_array_get_length(fields); i++)
        if (field_at(fields, i, skip, &name, &value))
            return TRUE;
    return member_string(response, "text") != NULL;
}

/* ---- printing a listing, page by page ---------------------------------------- */

/* A reply, or a listing of several pages, as it is printed. For people: the
 * fields and the header once, the rows of every page as they come (aligned by
 * the widest cell seen so far). For --json, a table alone is an array of row
 * objects, streamed one object per line; a table with fields or text is an
 * object of the fields with the rows in "rows"; fields alone an object. */
typedef struct printer {
    const options *opts;
    const char *skip_field; /* never shown: "next", an export's document */
    gboolean started;       /* the first page was printed */
    gboolean in_object;     /* JSON: the rows sit in an object's "rows" */
    guint rows_printed;
    gboolean table;
    size_t *widths;
    guint ncolumns;
} printer;

static void printer_json_rows(printer *p, JsonArray *columns, JsonArray *rows)
{
    for (guint r = 0; rows && r < json_array_get_length(rows); r++) {
        char *text = row_object(columns, json_array_get_element(rows, r));

        printf("%s%s", p->rows_printed++ ? ",\n" : "\n", text);
        g_free(text);
    }
}

static void printer_json_page(printer *p, JsonObject *response)
{
    JsonArray *columns = member_array(response, "columns");

    if (!p->started) {
        p->table = columns && json_array_get_length(columns) > 0;
        if (!p->table) {
            /* fields and text only: one object */
            char *text = fields_object(response, p->skip_field);

            fputs(text, stdout);
            g_free(text);
            p->started = TRUE;
            return;
        }
        p->in_object = has_more_than_table(response, p->skip_field);
        if (p->in_object) {
            char *text = fields_object(response, p->skip_field);

            /* "{...}" without its closing brace, then the rows member */
            text[strlen(text) - 1] = '\0';
            printf("%s%s\"rows\":[", text, strlen(text) > 1 ? "," : "");
            g_free(text);
        } else {
            fputc('[', stdout);
        }
        p->started = TRUE;
    }
    if (p->table && columns)
        printer_json_rows(p, columns, member_array(response, "rows"));
}

static void printer_table_page(printer *p, JsonArray *columns, JsonArray *rows)
{
    guint ncolumns = json_array_get_length(columns);
    int nrows = rows ? (int)json_array_get_length(rows) : 0;
    GPtrArray *lines = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);

    if (!p->widths) {
        p->ncolumns = ncolumns;
        p->widths = g_new0(size_t, ncolumns);
    }
    /* later pages keep the first page's columns */
    for (int r = p->rows_printed || p->table ? 0 : -1; r < nrows; r++) {
        char **cells = table_cells(columns, rows, r, p->ncolumns);

        for (guint i = 0; i < p->ncolumns; i++)
            p->widths[i] = MAX(p->widths[i], display_width(cells[i]));
        g_ptr_array_add(lines, cells);
    }
    p->table = TRUE;
    for (guint l = 0; l < lines->len; l++)
        print_row(g_ptr_array_index(lines, l), p->widths, p->ncolumns);
    p->rows_printed += (guint)nrows;
    g_ptr_array_unref(lines);
}

/* Prints one page; the error of a failed reply goes to stderr. Returns the
 * exit status so far. */
static int printer_page(printer *p, JsonObject *response)
{
    if (p->opts->json) {
        if (!response_ok(response) && !p->started) {
            /* an error answer for scripts: ok false and the reason */
            JsonBuilder *b = object_begin();
            char *text;

            json_builder_set_member_name(b, "ok");
            json_builder_add_boolean_value(b, FALSE);
            json_builder_set_member_name(b, "error");
            json_builder_add_string_value(b, member_string(response, "error")
                                                 ? member_string(response, "error")
                                                 : "the command failed (no reason given)");
            text = object_text(b);
            fputs(text, stdout);
            g_free(text);
            p->started = TRUE;
        } else if (response_ok(response)) {
            printer_json_page(p, response);
        }
    } else {
        JsonArray *fields = member_array(response, "fields");
        JsonArray *columns = member_array(response, "columns");
        const char *text = member_string(response, "text");

        if (fields && !p->started)
            print_fields(fields, p->skip_field);
        if (columns && json_array_get_length(columns) > 0)
            printer_table_page(p, columns, member_array(response, "rows"));
        if (text && *text) {
            fputs(text, stdout);
            if (text[strlen(text) - 1] != '\n')
                fputc('\n', stdout);
        }
        p->started = TRUE;
    }
    fflush(stdout);
    if (response_ok(response))
        return 0;
    const char *error = member_string(response, "error");
    fail("%s", error ? error : "the command failed (no reason given)");
    return EXIT_REPLY_ERROR;
}

/* Closes what the JSON output opened. */
static void printer_finish(printer *p)
{
    if (p->opts->json && p->started) {
        if (p->table)
            printf("%s%s", p->rows_printed ? "\n]" : "]", p->in_object ? "}" : "");
        fputc('\n', stdout);
    }
    fflush(stdout);
    g_free(p->widths);
}

/* ---- log export --------------------------------------------------------- */

static const char *find_field(JsonObject *response, const char *wanted)
{
    JsonArray *fields = member_array(response, "fields");

    for (guint i = 0; fields && i < json_array_get_length(fields); i++) {
        JsonNode *node = json_array_get_element(fields, i);
        const char *name;

        if (!JSON_NODE_HOLDS_OBJECT(node))
            continue;
        name = member_string(json_node_get_object(node), "name");
        if (name && strcmp(name, wanted) == 0)
            return member_string(json_node_get_object(node), "value");
    }
    return NULL;
}

static char *default_bundle_path(void)
{
    GDateTime *now = g_date_time_new_now_local();
    char *name = g_date_time_format(now, "./ucd-support-%Y%m%d-%H%M%S.txt");

    g_date_time_unref(now);
    return name;
}

/* Writes an export readable by its owner only: a support bundle holds logs
 * and configuration, a users export personal data; both are nobody else's
 * business. */
static int save_export(const char *what, const char *content, const char *path)
{
    GError *error = NULL;
    int status = 0;

    if (g_file_set_contents_full(path, content, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error)) {
        printf("%s\n", path);
    } else {
        fail("cannot write the %s: %s", what, error->message);
        g_error_free(error);
        status = EXIT_REPLY_ERROR;
    }
    return status;
}

/* ---- main --------------------------------------------------------------- */

/* Commands whose answer carries a document in one field, which ucctl writes
 * to a file (or, for a users export without FILE or with "-", to stdout). */
typedef struct export_kind {
    const char *command, *sub;
    const char *field;  /* the reply field holding the document */
    const char *what;   /* for messages */
    gboolean instances; /* also COMMAND-INSTANCE (a plugin's command per module) */
} export_kind;

static const export_kind export_kinds[] = {
    {"log", "export", "bundle", "support bundle", FALSE},
    {"users-file", "export", "xml", "users export", TRUE},
};

static gboolean is_export_command(const export_kind *kind, const char *word)
{
    size_t n = strlen(kind->command);
    return strcmp(word, kind->command) == 0 ||
           (kind->instances && strncmp(word, kind->command, n) == 0 && word[n] == '-');
}

static const export_kind *export_of(char **argv)
{
    for (size_t i = 0; argv[0] && argv[1] && i < G_N_ELEMENTS(export_kinds); i++)
        if (is_export_command(&export_kinds[i], argv[0]) &&
            strcmp(argv[1], export_kinds[i].sub) == 0)
            return &export_kinds[i];
    return NULL;
}

/* Saves the exported document: to `file`, to the default bundle path for a
 * support bundle, else to stdout. */
static int save_document(const export_kind *kind, const char *content, const char *file)
{
    /* "-" is standard output for every kind; without FILE a bundle (it holds
     * the configuration) goes to a private file rather than the terminal. */
    gboolean to_stdout = file ? strcmp(file, "-") == 0 : strcmp(kind->field, "bundle") != 0;
    if (to_stdout) {
        fputs(content, stdout);
        return fflush(stdout) == 0 ? 0 : EXIT_REPLY_ERROR;
    }
    char *path = file ? g_strdup(file) : default_bundle_path();
    int status = save_export(kind->what, content, path);
    g_free(path);
    return status;
}

static JsonParser *parse_reply(const char *line, JsonObject **response)
{
    JsonParser *parser = json_parser_new_immutable();
    GError *error = NULL;

    if (!json_parser_load_from_data(parser, line, -1, &error) ||
        !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
        fail("the daemon's answer is not a JSON object%s%s", error ? ": " : "",
             error ? error->message : "");
        g_clear_error(&error);
        g_object_unref(parser);
        return NULL;
    }
    *response = json_node_get_object(json_parser_get_root(parser));
    return parser;
}

/* Prints one answer (rendered, or as JSON with --json); for an export the
 * document goes to a file instead of the screen. */
static int handle_response(const options *opts, const char *line, const char *export_file,
                           const export_kind *export)
{
    JsonObject *response;
    JsonParser *parser = parse_reply(line, &response);
    printer p = {.opts = opts};
    const char *document;
    int status;

    if (!parser)
        return EXIT_REPLY_ERROR;
    document = export && !opts->json ? find_field(response, export->field) : NULL;
    p.skip_field = document ? export->field : NULL;
    status = printer_page(&p, response);
    printer_finish(&p);
    if (status == 0 && document)
        status = save_document(export, document, export_file);
    g_object_unref(parser);
    return status;
}

/* Takes ucctl's own options out of the command words, wherever they stand:
 * `ucctl users --json` is what people type. A `--` after the command ends
 * this (it is dropped; what follows goes to the daemon untouched). Options
 * before the command are left to GOption (--help and the like). FALSE after
 * a complaint when --socket lacks its path. */
static gboolean take_options_anywhere(int *argc, char **argv, options *opts)
{
    int out = 1, i = 1;
    gboolean command_seen = FALSE;

    for (; i < *argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--") == 0 && command_seen) {
            i++;
            break;
        }
        if (strcmp(a, "--json") == 0 || strcmp(a, "-j") == 0) {
            opts->json = TRUE;
        } else if (strcmp(a, "--socket") == 0 || strcmp(a, "-s") == 0) {
            if (i + 1 >= *argc) {
                fail("%s needs a path (see --help)", a);
                return FALSE;
            }
            g_free(opts->socket_path);
            opts->socket_path = g_strdup(argv[++i]);
        } else if (g_str_has_prefix(a, "--socket=")) {
            g_free(opts->socket_path);
            opts->socket_path = g_strdup(a + strlen("--socket="));
        } else {
            if (a[0] != '-' || command_seen)
                command_seen = TRUE;
            argv[out++] = argv[i];
            continue;
        }
    }
    for (; i < *argc; i++)
        argv[out++] = argv[i];
    argv[out] = NULL;
    *argc = out;
    return TRUE;
}

static gboolean parse_options(int *argc, char ***argv, options *opts)
{
    GOptionEntry entries[] = {
        {"socket", 's', 0, G_OPTION_ARG_FILENAME, &opts->socket_path,
         "Control socket (default: $UCD_SOCKET, else " DEFAULT_SOCKET ")", "PATH"},
        {"json", 'j', 0, G_OPTION_ARG_NONE, &opts->json,
         "Print the answer as JSON: a table as an array of objects", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *context = g_option_context_new("COMMAND [ARGS...]");
    GError *error = NULL;
    gboolean parsed;

    if (!take_options_anywhere(argc, *argv, opts))
        return FALSE;
    g_option_context_set_summary(context, "Sends one command to the ucd daemon and prints the "
                                          "answer. Options may stand anywhere on the line.");
    g_option_context_set_description(
        context, "Run `ucctl help` for the commands the daemon offers.\n"
                 "Listings that come in pages are followed to the end (unless --limit).\n"
                 "`ucctl log export [FILE]` saves the support bundle to FILE (mode 0600; - writes "
                 "it to standard output).\n"
                 "`ucctl users-file export [FILE|-]` saves every user and group as users-file\n"
                 "XML to FILE (mode 0600; else stdout).\n"
                 "`ucctl trace LINE [--once]` follows a line's events until interrupted.\n"
                 "`ucctl users sync [--full] --progress` shows a progress bar per backend.\n\n"
                 "Exit status: 0 success, 1 error, 2 the daemon did not answer.\n");
    g_option_context_add_main_entries(context, entries, NULL);
    /* Stop at COMMAND, so that its own options (`ucctl COMMAND --all`) are
     * passed to the daemon instead of being rejected here. */
    g_option_context_set_strict_posix(context, TRUE);
    parsed = g_option_context_parse(context, argc, argv, &error);
    if (!parsed) {
        fail("%s (see --help)", error->message);
        g_error_free(error);
    }
    g_option_context_free(context);
    return parsed;
}

static char *default_socket_path(void)
{
    const char *env = g_getenv("UCD_SOCKET");

    return g_strdup(env && *env ? env : DEFAULT_SOCKET);
}

/* ---- trace: polling ----------------------------------------------------- */

#define TRACE_POLL_US (250 * 1000)

static void print_trace_row(const options *opts, JsonArray *row)
{
    if (opts->json) {
        JsonBuilder *b = object_begin();
        static const char *const names[] = {"seq", "time", "event"};

        for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
            json_builder_set_member_name(b, names[i]);
            json_builder_add_string_value(b, element_string(row, i));
        }
        char *text = object_text(b);
        printf("%s\n", text);
        g_free(text);
        return;
    }
    char *event = printable(element_string(row, 2));
    printf("%s  %s  %s\n", element_string(row, 0), element_string(row, 1), event);
    g_free(event);
}

/* Prints the rows of one trace answer; returns the seq to poll after, or
 * -1 (with the error shown) when the daemon refused. */
static gint64 print_trace_page(const options *opts, const char *line, gint64 after)
{
    JsonParser *parser = json_parser_new_immutable();
    gint64 next = -1;

    if (!json_parser_load_from_data(parser, line, -1, NULL) ||
        !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
        fail("the daemon's answer is not a JSON object");
    } else {
        JsonObject *response = json_node_get_object(json_parser_get_root(parser));
        JsonArray *rows = member_array(response, "rows");
        const char *seq = find_field(response, "seq");
        guint n = rows ? json_array_get_length(rows) : 0;

        if (!response_ok(response)) {
            const char *error = member_string(response, "error");
            fail("%s", error ? error : "the command failed (no reason given)");
        } else {
            for (guint i = 0; i < n; i++) {
                JsonNode *node = json_array_get_element(rows, i);
                if (JSON_NODE_HOLDS_ARRAY(node))
                    print_trace_row(opts, json_node_get_array(node));
            }
            /* Everything up to the ring's newest seq was looked at, unless a
             * limit cut the page: then continue after its last row. */
            next = n ? g_ascii_strtoll(element_string(json_array_get_array_element(rows, n - 1), 0),
                                       NULL, 10)
                     : (seq ? g_ascii_strtoll(seq, NULL, 10) : after);
            fflush(stdout);
        }
    }
    g_object_unref(parser);
    return next;
}

/* The LINE word of a trace command line: the first that is no option and
 * no option's value. */
static const char *trace_line(char **argv)
{
    for (int i = 1; argv[i]; i++) {
        if (strcmp(argv[i], "--after") == 0 || strcmp(argv[i], "--limit") == 0) {
            if (!argv[++i])
                break;
        } else if (argv[i][0] != '-') {
            return argv[i];
        }
    }
    return NULL;
}

/* `trace LINE [--after SEQ] [--limit N] [--once]`: the first page as asked,
 * then every 250 ms what is new, until interrupted. */
static int run_trace(options *opts, char **argv)
{
    gboolean once = FALSE;
    GPtrArray *first = g_ptr_array_new();
    int status = 0;

    for (int i = 0; argv[i]; i++) {
        if (strcmp(argv[i], "--once") == 0)
            once = TRUE;
        else
            g_ptr_array_add(first, argv[i]);
    }
    g_ptr_array_add(first, NULL);
    char **args = (char **)first->pdata;
    const char *line_word = trace_line(args);
    gint64 after = 0;

    if (!line_word)
        once = TRUE; /* let the daemon explain the usage */

    for (gboolean first_page = TRUE;; first_page = FALSE) {
        char seq[24];
        char *poll[] = {"trace", (char *)line_word, "--after", seq, NULL};
        g_snprintf(seq, sizeof seq, "%" G_GINT64_FORMAT, after);
        char *line = exchange(opts, first_page ? args : poll, &status);

        if (!line)
            break;
        after = print_trace_page(opts, line, after);
        g_free(line);
        if (after < 0) {
            status = EXIT_REPLY_ERROR;
            break;
        }
        if (once)
            break;
        g_usleep(TRACE_POLL_US);
    }
    g_ptr_array_free(first, TRUE);
    return status;
}

static gboolean is_command(char **argv, const char *command, const char *sub)
{
    return argv[0] && strcmp(argv[0], command) == 0 &&
           (!sub || (argv[1] && strcmp(argv[1], sub) == 0));
}

/* ---- users sync --progress: polling -------------------------------------- */

static gboolean has_word(char **argv, const char *word)
{
    for (int i = 0; argv[i]; i++)
        if (strcmp(argv[i], word) == 0)
            return TRUE;
    return FALSE;
}

/* One progress line per backend: "users-ldap  [#######.....]  5200 of 9000". */
static void draw_progress(JsonObject *o, gboolean *running)
{
    JsonArray *rows = json_object_get_array_member(o, "rows");
    *running = FALSE;
    for (guint i = 0; i < json_array_get_length(rows); i++) {
        JsonArray *row = json_array_get_array_element(rows, i);
        const char *backend = json_array_get_string_element(row, 0);
        const char *state = json_array_get_string_element(row, 1);
        guint64 done = g_ascii_strtoull(json_array_get_string_element(row, 2), NULL, 10);
        guint64 total = g_ascii_strtoull(json_array_get_string_element(row, 3), NULL, 10);
        char bar[33];
        int filled = total ? (int)(MIN(done, total) * 32 / total) : 0;
        for (int k = 0; k < 32; k++)
            bar[k] = k < filled ? '#' : '.';
        bar[32] = '\0';
        if (strcmp(state, "running") == 0)
            *running = TRUE;
        if (total)
            fprintf(stderr, "\r%-20s [%s] %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " %s",
                    backend, bar, done, total, state);
        else
            fprintf(stderr, "\r%-20s %" G_GUINT64_FORMAT " entries read %s", backend, done, state);
        if (strcmp(state, "running") != 0) {
            const char *message = json_array_get_string_element(row, 4);
            fprintf(stderr, "%s%s\n", *message ? ": " : "", message);
        }
    }
    fflush(stderr);
}

/* `users sync [--full] --progress`: starts the sync as usual, then polls
 * `users sync-status` every 250 ms and redraws the bars until no backend runs. */
static int run_sync_progress(options *opts, char **argv)
{
    int status = 0;
    char *line = exchange(opts, argv, &status);
    if (!line)
        return status;
    status = handle_response(opts, line, NULL, NULL);
    g_free(line);
    if (status != 0 || opts->json)
        return status;
    char *poll[] = {"users", "sync-status", NULL};
    for (gboolean running = TRUE; running;) {
        g_usleep(TRACE_POLL_US);
        line = exchange(opts, poll, &status);
        if (!line)
            return status;
        JsonParser *parser = json_parser_new();
        if (json_parser_load_from_data(parser, line, -1, NULL) &&
            JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
            draw_progress(json_node_get_object(json_parser_get_root(parser)), &running);
        else
            running = FALSE;
        g_object_unref(parser);
        g_free(line);
    }
    return status;
}

/* ---- listings in pages --------------------------------------------------- */

/* The user chose a page size: then the page is what they asked for. */
static gboolean has_limit(char **argv)
{
    for (int i = 0; argv[i]; i++)
        if (strcmp(argv[i], "--limit") == 0 || g_str_has_prefix(argv[i], "--limit="))
            return TRUE;
    return FALSE;
}

/* argv with any --after CURSOR replaced by `--after next`. */
static char **with_after(char **argv, const char *next)
{
    GPtrArray *out = g_ptr_array_new();

    for (int i = 0; argv[i]; i++) {
        if (strcmp(argv[i], "--after") == 0) {
            if (argv[i + 1])
                i++;
            continue;
        }
        if (g_str_has_prefix(argv[i], "--after="))
            continue;
        g_ptr_array_add(out, argv[i]);
    }
    g_ptr_array_add(out, "--after");
    g_ptr_array_add(out, (char *)next);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

/* Sends the command and, while the reply carries a non-empty field "next",
 * asks for the page after it, printing each page as it arrives. A cursor
 * that does not move would loop forever: that is the daemon's error, said. */
static int run_listing(options *opts, char **argv)
{
    printer p = {.opts = opts, .skip_field = "next"};
    char *cursor = NULL;
    int status = 0;

    for (;;) {
        char **args = cursor ? with_after(argv, cursor) : NULL;
        char *line = exchange(opts, args ? args : argv, &status);
        JsonObject *response;
        JsonParser *parser;
        const char *next;

        g_free(args);
        if (!line)
            break;
        parser = parse_reply(line, &response);
        g_free(line);
        if (!parser) {
            status = EXIT_REPLY_ERROR;
            break;
        }
        status = printer_page(&p, response);
        next = status == 0 ? find_field(response, "next") : NULL;
        if (!next || !*next) {
            g_object_unref(parser);
            break;
        }
        if (cursor && strcmp(cursor, next) == 0) {
            fail("the daemon sent the same page cursor twice (%s); stopping", next);
            status = EXIT_REPLY_ERROR;
            g_object_unref(parser);
            break;
        }
        g_free(cursor);
        cursor = g_strdup(next);
        g_object_unref(parser);
    }
    printer_finish(&p);
    g_free(cursor);
    return status;
}

static int run(options *opts, char **argv)
{
    const export_kind *export = export_of(argv);
    const char *export_file = NULL;
    char *absolute = NULL;
    char *line;
    int status;

    if (is_command(argv, "trace", NULL))
        return run_trace(opts, argv);
    if (is_command(argv, "users", "sync") && has_word(argv, "--progress"))
        return run_sync_progress(opts, argv);
    if (export) {
        if (argv[2] && argv[3]) {
            fail("usage: ucctl %s %s [FILE]", argv[0], export->sub);
            return EXIT_REPLY_ERROR;
        }
        /* The file is ucctl's business: the daemon only sends the document. */
        export_file = argv[2];
        argv[2] = NULL;
    }
    if (is_command(argv, "users", "import") && argv[2]) {
        /* The daemon has another working directory. */
        absolute = g_canonicalize_filename(argv[2], NULL);
        argv[2] = absolute;
    }
    if (!export && !is_command(argv, "journal", NULL) && !has_limit(argv)) {
        status = run_listing(opts, argv);
        g_free(absolute);
        return status;
    }
    line = exchange(opts, argv, &status);
    g_free(absolute);
    if (!line)
        return status;
    status = handle_response(opts, line, export_file, export);
    g_free(line);
    return status;
}

int main(int argc, char **argv)
{
    options opts = {NULL, FALSE};
    int status;

    setlocale(LC_ALL, "");
    if (!parse_options(&argc, &argv, &opts))
        return EXIT_REPLY_ERROR;
    if (argc < 2) {
        fail("no command given; try `ucctl help` (daemon commands) or `ucctl --help`");
        g_free(opts.socket_path);
        return EXIT_REPLY_ERROR;
    }
    if (!opts.socket_path)
        opts.socket_path = default_socket_path();
    status = run(&opts, argv + 1);
    g_free(opts.socket_path);
    return status;
}
