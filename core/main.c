/*
 * main.c - the ucd command line.
 *
 *   ucd [-c FILE] [--conf-dir DIR]            run in the foreground (systemd Type=notify)
 *   ucd [-c FILE] [--conf-dir DIR] --check-config   check everything, list all errors
 *   ucd --version
 */
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "log.h"

int main(int argc, char **argv)
{
    char *config_file = NULL, *conf_dir = NULL;
    gboolean check = FALSE, version = FALSE;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
         "main configuration file (default " UCD_SYSCONFDIR "/ucd/ucd.conf)", "FILE"},
        {"conf-dir", 0, 0, G_OPTION_ARG_FILENAME, &conf_dir,
         "drop-in directory (default: conf.d beside the configuration file)", "DIR"},
        {"check-config", 0, 0, G_OPTION_ARG_NONE, &check,
         "check the configuration and every enabled plugin's keys, list all errors, exit", NULL},
        {"version", 'V', 0, G_OPTION_ARG_NONE, &version, "print the version and exit", NULL},
        {NULL},
    };
    GOptionContext *opts = g_option_context_new("- the ucd unified-communications server");
    g_option_context_add_main_entries(opts, entries, NULL);
    GError *err = NULL;
    if (!g_option_context_parse(opts, &argc, &argv, &err)) {
        fprintf(stderr, "ucd: %s (see ucd --help)\n", err->message);
        g_error_free(err);
        g_option_context_free(opts);
        return 2;
    }
    g_option_context_free(opts);

    int rc = 0;
    if (version) {
        printf("ucd %s (plugin ABI %d, host %d.%d)\n", UCD_VERSION, UCD_ABI_MAJOR, UCD_ABI_MAJOR,
               UCD_HOST_MINOR);
    } else if (check) {
        core_log_configure(CORE_LOG_STDERR, 4, 0);
        GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
        int n = core_daemon_check(config_file, conf_dir, errors);
        for (guint i = 0; i < errors->len; i++)
            fprintf(stderr, "%s\n", (const char *)errors->pdata[i]);
        if (n > 0)
            fprintf(stderr, "ucd: configuration has %d error%s\n", n, n == 1 ? "" : "s");
        else
            printf("ucd: configuration OK\n");
        g_ptr_array_free(errors, TRUE);
        core_log_shutdown();
        rc = n > 0 ? 1 : 0;
    } else {
        rc = core_daemon_run(config_file, conf_dir);
    }
    g_free(config_file);
    g_free(conf_dir);
    return rc;
}
