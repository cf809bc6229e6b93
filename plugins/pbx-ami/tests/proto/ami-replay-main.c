/*
 * ami-replay-main.c - the replay peer as a program, for end-to-end tests
 * through the daemon:
 *
 *   ami-replay --script FILE --port-file F [--port N] [--secret S]
 *              [--log-actions F] [--stall-after N] [--close-after N]
 *              [--banner TEXT] [--loop] [--strict] [--tls-cert F --tls-key F]
 *              [--hold-section NAME]
 *
 * It writes the port it listens on (127.0.0.1) to the port file once it
 * accepts connections, logs mismatches on stderr and runs until SIGTERM or
 * SIGINT. Exit status 0, or 1 when it could not start.
 *
 * --hold-section: connections stop before the script's section
 * "=== NAME ===" until the program gets SIGUSR1 (ami_replay_release). A
 * benchmark uses it to start the clock when the calls start, not at login.
 */
#include <glib-unix.h>
#include <stdlib.h>

#include "ami-replay.h"

static gboolean on_signal(gpointer user_data)
{
    gboolean *stop = user_data;
    *stop = TRUE;
    return G_SOURCE_CONTINUE; /* removed by run() */
}

static gboolean on_usr1(gpointer user_data)
{
    ami_replay_release(user_data);
    return G_SOURCE_CONTINUE; /* removed by run() */
}

typedef struct cli {
    char *script, *port_file, *secret, *log_actions, *banner, *tls_cert, *tls_key, *hold_section;
    int port, stall_after, close_after;
    gboolean loop, strict;
} cli;

static gboolean parse_cli(cli *o, int *argc, char ***argv, GError **error)
{
    GOptionEntry entries[] = {
        {"script", 0, 0, G_OPTION_ARG_FILENAME, &o->script, "capture-format script", "FILE"},
        {"port-file", 0, 0, G_OPTION_ARG_FILENAME, &o->port_file, "write the port here", "F"},
        {"port", 0, 0, G_OPTION_ARG_INT, &o->port, "port (default: any free one)", "N"},
        {"secret", 0, 0, G_OPTION_ARG_STRING, &o->secret, "Login secret to require", "S"},
        {"log-actions", 0, 0, G_OPTION_ARG_FILENAME, &o->log_actions, "append actions", "F"},
        {"stall-after", 0, 0, G_OPTION_ARG_INT, &o->stall_after, "stop answering after N", "N"},
        {"close-after", 0, 0, G_OPTION_ARG_INT, &o->close_after, "close mid-message", "N"},
        {"banner", 0, 0, G_OPTION_ARG_STRING, &o->banner, "banner line", "TEXT"},
        {"loop", 0, 0, G_OPTION_ARG_NONE, &o->loop, "replay the script again at its end", NULL},
        {"strict", 0, 0, G_OPTION_ARG_NONE, &o->strict, "close on an unexpected action", NULL},
        {"tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &o->tls_cert, "serve TLS: PEM cert", "F"},
        {"tls-key", 0, 0, G_OPTION_ARG_FILENAME, &o->tls_key, "PEM key", "F"},
        {"hold-section", 0, 0, G_OPTION_ARG_STRING, &o->hold_section,
         "wait before this section until SIGUSR1", "NAME"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new("- scripted AMI peer");
    g_option_context_add_main_entries(context, entries, NULL);
    if (!g_option_context_parse(context, argc, argv, error)) {
        return FALSE;
    }
    if (o->script == NULL || o->port_file == NULL || o->port < 0 || o->port > 65535 ||
        o->stall_after < 0 || o->close_after < 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--script and --port-file are required; numbers must be >= 0");
        return FALSE;
    }
    return TRUE;
}

static void print_mismatches(ami_replay *r, guint *shown)
{
    GPtrArray *mismatches = ami_replay_mismatches(r);
    for (; *shown < mismatches->len; (*shown)++) {
        g_printerr("ami-replay: mismatch: %s\n", (char *)g_ptr_array_index(mismatches, *shown));
    }
}

static int run(const cli *o)
{
    GError *error = NULL;
    g_autofree char *script = NULL;
    if (!g_file_get_contents(o->script, &script, NULL, &error)) {
        g_printerr("ami-replay: %s\n", error->message);
        g_error_free(error);
        return 1;
    }
    ami_replay_options options = {
        .port = (guint16)o->port,
        .secret = o->secret,
        .banner = o->banner,
        .strict = o->strict,
        .loop = o->loop,
        .stall_after = (guint)o->stall_after,
        .close_after = (guint)o->close_after,
        .tls_cert = o->tls_cert,
        .tls_key = o->tls_key,
        .log_actions = o->log_actions,
        .hold_section = o->hold_section,
    };
    ami_replay *r = ami_replay_new(script, &options, NULL, &error);
    g_autofree char *port = r != NULL ? g_strdup_printf("%u\n", ami_replay_port(r)) : NULL;
    if (r == NULL || !g_file_set_contents(o->port_file, port, -1, &error)) {
        g_printerr("ami-replay: %s\n", error->message);
        g_error_free(error);
        ami_replay_free(r);
        return 1;
    }
    gboolean stop = FALSE;
    guint term = g_unix_signal_add(SIGTERM, on_signal, &stop);
    guint intr = g_unix_signal_add(SIGINT, on_signal, &stop);
    guint usr1 = o->hold_section != NULL ? g_unix_signal_add(SIGUSR1, on_usr1, r) : 0;
    guint shown = 0;
    while (!stop) {
        g_main_context_iteration(NULL, TRUE);
        print_mismatches(r, &shown);
    }
    g_source_remove(term);
    g_source_remove(intr);
    if (usr1 != 0) {
        g_source_remove(usr1);
    }
    ami_replay_free(r);
    return 0;
}

int main(int argc, char **argv)
{
    cli o = {0};
    GError *error = NULL;
    int status = 1;
    if (!parse_cli(&o, &argc, &argv, &error)) {
        g_printerr("ami-replay: %s\n", error->message);
        g_error_free(error);
    } else {
        status = run(&o);
    }
    g_free(o.script);
    g_free(o.port_file);
    g_free(o.secret);
    g_free(o.log_actions);
    g_free(o.banner);
    g_free(o.tls_cert);
    g_free(o.tls_key);
    g_free(o.hold_section);
    return status;
}
