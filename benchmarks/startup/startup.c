/*
 * startup.c - start to READY and idle memory of a notify-type daemon.
 *
 *   ucd-bench-startup [--runs N] [--label TEXT] [--ready-line TEXT]
 *                     [--users N PATH] [--loaded-line TEXT] -- COMMAND [ARGS...]
 *
 * Runs COMMAND N times with NOTIFY_SOCKET pointing at a datagram socket of
 * ours, and measures the time from just before exec to the READY=1 datagram
 * (what systemd waits for), then VmRSS and Pss after the daemon has idled for
 * 300 ms. Prints median, min and max. Works for any daemon that speaks the
 * systemd notify protocol. A daemon that does not (Debian's collectd sends no
 * READY=1) is timed to the first output line containing --ready-line TEXT
 * instead, e.g. collectd's "Initialization complete".
 *
 * --users N PATH writes a users-file document of N generated users to PATH
 * first (the daemon's configuration names it). --loaded-line TEXT also waits,
 * after READY, for TEXT in what the daemon writes (ucd's "model: 50000 users"
 * at log level info): the time to it is reported as "start to users loaded",
 * and memory is measured 300 ms after it, so that a daemon that loads its
 * users after READY is measured with them.
 */
#include <poll.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-users.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* kB of a "Field:   123 kB" line in a /proc file. */
static long proc_kb(const char *file, const char *field)
{
    char *text = NULL;
    long kb = -1;
    if (!g_file_get_contents(file, &text, NULL, NULL))
        return -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (g_str_has_prefix(line, field))
            kb = strtol(line + strlen(field), NULL, 10);
    g_free(text);
    return kb;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Waits for READY=1 on the notify socket (`from_socket`), or for `line` in
 * what the child writes to `out_fd`, which collects in `seen`. */
static gboolean await_text(int sock, int out_fd, gboolean from_socket, const char *line,
                           GString *seen)
{
    char buf[4096];
    gboolean found = !from_socket && strstr(seen->str, line) != NULL;
    GString *datagrams = g_string_new(NULL);
    double deadline = now_ms() + 30000;
    while (!found && now_ms() < deadline) {
        struct pollfd pfd = {.fd = from_socket ? sock : out_fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t n =
            from_socket ? recv(sock, buf, sizeof buf - 1, 0) : read(out_fd, buf, sizeof buf - 1);
        if (n <= 0)
            break;
        buf[n] = 0;
        GString *into = from_socket ? datagrams : seen;
        g_string_append(into, buf);
        found = strstr(into->str, line) != NULL;
    }
    g_string_free(datagrams, TRUE);
    return found;
}

static gboolean one_run(char **argv, const char *sock_path, int sock, const char *ready_line,
                        const char *loaded_line, double *ready_ms, double *loaded_ms,
                        double *rss_kb, double *pss_kb)
{
    int out[2] = {-1, -1};
    gboolean piped = ready_line != NULL || loaded_line != NULL;
    if (piped && pipe(out) != 0)
        return FALSE;
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        setenv("NOTIFY_SOCKET", sock_path, 1);
        int sink = piped ? out[1] : open("/dev/null", O_WRONLY);
        dup2(sink, 1);
        dup2(sink, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (piped)
        close(out[1]);
    GString *seen = g_string_new(NULL);
    gboolean ready = ready_line != NULL ? await_text(sock, out[0], FALSE, ready_line, seen)
                                        : await_text(sock, out[0], TRUE, "READY=1", seen);
    *ready_ms = now_ms() - t0;
    if (ready && loaded_line != NULL) {
        ready = await_text(sock, out[0], FALSE, loaded_line, seen);
        *loaded_ms = now_ms() - t0;
    }
    g_string_free(seen, TRUE);
    if (ready) {
        g_usleep(300 * 1000);
        char *status = g_strdup_printf("/proc/%d/status", pid);
        char *rollup = g_strdup_printf("/proc/%d/smaps_rollup", pid);
        *rss_kb = proc_kb(status, "VmRSS:");
        *pss_kb = proc_kb(rollup, "Pss:");
        g_free(status);
        g_free(rollup);
    }
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    if (piped)
        close(out[0]);
    return ready;
}

static void report(const char *label, const char *what, double *v, int n, const char *unit)
{
    qsort(v, n, sizeof *v, cmp_double);
    printf("%s %s: median %.1f %s (min %.1f, max %.1f, %d runs)\n", label, what, v[n / 2], unit,
           v[0], v[n - 1], n);
}

int main(int argc, char **argv)
{
    int runs = 20;
    const char *label = "daemon";
    const char *ready_line = NULL, *loaded_line = NULL, *users_path = NULL;
    unsigned users = 0;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
            label = argv[++i];
        else if (strcmp(argv[i], "--ready-line") == 0 && i + 1 < argc)
            ready_line = argv[++i];
        else if (strcmp(argv[i], "--loaded-line") == 0 && i + 1 < argc)
            loaded_line = argv[++i];
        else if (strcmp(argv[i], "--users") == 0 && i + 2 < argc) {
            users = (unsigned)atoi(argv[++i]);
            users_path = argv[++i];
        }
    }
    if (i + 1 >= argc || runs < 1) {
        fprintf(stderr,
                "usage: %s [--runs N] [--label TEXT] [--ready-line TEXT] [--users N PATH] "
                "[--loaded-line TEXT] -- COMMAND [ARGS...]\n",
                argv[0]);
        return 2;
    }
    char **cmd = argv + i + 1;
    if (!g_find_program_in_path(cmd[0])) {
        printf("%s: %s is not installed; no figure\n", label, cmd[0]);
        return 0;
    }

    if (users_path != NULL) {
        char *parent = g_path_get_dirname(users_path);
        GError *error = NULL;
        g_mkdir_with_parents(parent, 0700);
        g_free(parent);
        if (!bench_write_users(users_path, users, &error)) {
            fprintf(stderr, "%s\n", error->message);
            return 1;
        }
    }
    char *dir = g_dir_make_tmp("ucd-startup-XXXXXX", NULL);
    char *sock_path = g_build_filename(dir, "notify", NULL);
    int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    g_strlcpy(sa.sun_path, sock_path, sizeof sa.sun_path);
    if (bind(sock, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("bind");
        return 1;
    }
    double *ready = g_new0(double, runs), *rss = g_new0(double, runs), *pss = g_new0(double, runs);
    double *loaded = g_new0(double, runs);
    int ok = 0;
    for (int r = 0; r < runs; r++)
        if (one_run(cmd, sock_path, sock, ready_line, loaded_line, &ready[ok], &loaded[ok],
                    &rss[ok], &pss[ok]))
            ok++;
    if (ok == 0) {
        printf("%s: never signalled READY=1%s\n", label,
               loaded_line ? " (or never loaded its users)" : "");
        return 1;
    }
    report(label, "start to READY", ready, ok, "ms");
    if (loaded_line != NULL)
        report(label, "start to users loaded", loaded, ok, "ms");
    report(label, "idle RSS", rss, ok, "kB");
    report(label, "idle PSS", pss, ok, "kB");
    unlink(sock_path);
    g_rmdir(dir);
    return 0;
}
