/*
 * test-ucd-passwd.c - the real ucd-passwd (argv[1]) from a pipe, as a
 * script runs it, and from a terminal (a pty), as an admin does: its output
 * is checked by pw-hash.c, the library the users backends use, and on the
 * terminal the password must never be echoed.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib.h>

#include "pw-hash.h"

static const char *tool;

/* Runs the tool with `input` on stdin; its exit status, stdout and stderr. */
static int run(const char *const *args, const char *input, char **out, char **err)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)tool);
    for (const char *const *a = args; *a != NULL; a++)
        g_ptr_array_add(argv, (gpointer)*a);
    g_ptr_array_add(argv, NULL);
    GError *error = NULL;
    GSubprocess *proc =
        g_subprocess_newv((const char *const *)argv->pdata,
                          G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                              G_SUBPROCESS_FLAGS_STDERR_PIPE,
                          &error);
    g_assert_no_error(error);
    g_subprocess_communicate_utf8(proc, input, NULL, out, err, &error);
    g_assert_no_error(error);
    int status = g_subprocess_get_exit_status(proc);
    g_object_unref(proc);
    g_ptr_array_free(argv, TRUE);
    return status;
}

/* A hash made from a pipe is one line in the documented form that the
 * library (and so users-file and users-sql) accepts, with a fresh salt
 * every time; --verify reads it back. */
static void test_pipe_makes_hash(void)
{
    const char *const args[] = {"--iterations", "1000", NULL};
    char *out = NULL, *err = NULL;
    g_assert_cmpint(run(args, "pw-alice\n", &out, &err), ==, 0);
    g_assert_cmpstr(err, ==, "");
    g_assert_true(g_str_has_suffix(out, "\n"));
    g_strchomp(out);
    g_assert_null(strchr(out, '\n'));
    g_assert_true(g_str_has_prefix(out, "pbkdf2-sha256$1000$"));
    const char *reason = NULL;
    g_assert_cmpint(pw_hash_verify(out, "pw-alice", &reason), ==, PW_HASH_MATCH);
    g_assert_cmpint(pw_hash_verify(out, "pw-alice\n", &reason), ==, PW_HASH_MISMATCH);

    char *again = NULL, *err2 = NULL;
    g_assert_cmpint(run(args, "pw-alice\r\n", &again, &err2), ==, 0); /* CRLF too */
    g_strchomp(again);
    g_assert_cmpstr(again, !=, out);
    g_assert_cmpint(pw_hash_verify(again, "pw-alice", &reason), ==, PW_HASH_MATCH);

    char *v_out = NULL, *v_err = NULL;
    const char *const verify[] = {"--verify", out, NULL};
    g_assert_cmpint(run(verify, "pw-alice", &v_out, &v_err), ==, 0); /* no newline at all */
    g_assert_cmpstr(v_out, ==, "match\n");
    g_free(v_out);
    g_free(v_err);
    g_assert_cmpint(run(verify, "pw-bob\n", &v_out, &v_err), ==, 1);
    g_assert_cmpstr(v_out, ==, "no match\n");
    g_free(v_out);
    g_free(v_err);

    /* Without --iterations: the default strength. */
    const char *const none[] = {NULL};
    g_free(out);
    g_free(err);
    g_assert_cmpint(run(none, "x\n", &out, &err), ==, 0);
    g_assert_true(g_str_has_prefix(out, "pbkdf2-sha256$600000$"));
    g_free(out);
    g_free(err);
    g_free(again);
    g_free(err2);
}

typedef struct refusal {
    const char *args[5]; /* NULL-terminated */
    const char *input;
    int status;
    const char *says; /* on stderr */
} refusal;

/* Bad input: a clear message and a status, never a hash, never the
 * password or the unusable value quoted back. */
static void test_refusals(void)
{
    char *long_password = g_strnfill(1025, 'a');
    char *long_input = g_strconcat(long_password, "\n", NULL);
    const refusal cases[] = {
        {{NULL}, "\n", 1, "the password is empty"},
        {{NULL}, "", 1, "end of input"},
        {{NULL}, long_input, 1, "longer than 1024 bytes"},
        {{"--iterations", "999", NULL}, "x\n", 2, "1000 to 10000000"},
        {{"--iterations", "lots", NULL}, "x\n", 2, "1000 to 10000000"},
        {{"--iterations", NULL}, "x\n", 2, "needs a value"},
        {{"--verify", "hunter2-clear", NULL}, "hunter2-clear\n", 1, "not usable"},
        {{"--verify", "x", "--iterations", "1000"}, "x\n", 2, "do not go together"},
        {{"hunter2", NULL}, "x\n", 2, "unknown argument"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *out = NULL, *err = NULL;
        g_assert_cmpint(run(cases[i].args, cases[i].input, &out, &err), ==, cases[i].status);
        g_assert_cmpstr(out, ==, "");
        if (strstr(err, cases[i].says) == NULL)
            g_error("case %zu: expected \"%s\" on stderr, got: %s", i, cases[i].says, err);
        g_assert_null(strstr(err, "hunter2-clear"));
        g_free(out);
        g_free(err);
    }
    /* A password of exactly the limit is fine. */
    long_password[1024] = '\0';
    char *ok_input = g_strconcat(long_password, "\n", NULL);
    const char *const args[] = {"-i", "1000", NULL};
    char *out = NULL, *err = NULL;
    g_assert_cmpint(run(args, ok_input, &out, &err), ==, 0);
    const char *reason = NULL;
    g_assert_cmpint(pw_hash_verify(g_strchomp(out), long_password, &reason), ==, PW_HASH_MATCH);
    g_free(out);
    g_free(err);
    g_free(ok_input);
    g_free(long_input);
    g_free(long_password);
}

static void test_help(void)
{
    const char *const args[] = {"--help", NULL};
    char *out = NULL, *err = NULL;
    g_assert_cmpint(run(args, "", &out, &err), ==, 0);
    g_assert_nonnull(strstr(out, "SYNOPSIS"));
    g_assert_nonnull(strstr(out, "--iterations"));
    g_assert_nonnull(strstr(out, "EXIT STATUS"));
    g_free(out);
    g_free(err);
}

/* Reads the pty master into `seen` until it holds `wanted`; FALSE after
 * the child closed the terminal or 30 s of silence (a hang, not a time
 * measurement). */
static gboolean read_until(int master, GString *seen, const char *wanted)
{
    while (strstr(seen->str, wanted) == NULL) {
        struct pollfd pfd = {master, POLLIN, 0};
        if (poll(&pfd, 1, 30000) <= 0)
            return FALSE;
        char buffer[256];
        ssize_t got = read(master, buffer, sizeof(buffer));
        if (got <= 0)
            return FALSE;
        g_string_append_len(seen, buffer, got);
    }
    return TRUE;
}

typedef struct pty_run {
    int status;
    char *out;
    GString *terminal; /* everything the terminal showed */
} pty_run;

/* Runs the tool on a pty as stdin and stderr (where it prompts), typing
 * `first` after "Password: " and `second` after "Again: ". */
static pty_run run_on_terminal(const char *first, const char *second)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    g_assert_cmpint(master, >=, 0);
    g_assert_cmpint(grantpt(master), ==, 0);
    g_assert_cmpint(unlockpt(master), ==, 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    g_assert_cmpint(slave, >=, 0);

    GError *error = NULL;
    GSubprocessLauncher *launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
    g_subprocess_launcher_take_stdin_fd(launcher, slave);
    g_subprocess_launcher_take_stderr_fd(launcher, dup(slave));
    const char *const argv[] = {tool, "-i", "1000", NULL};
    GSubprocess *proc = g_subprocess_launcher_spawnv(launcher, argv, &error);
    g_assert_no_error(error);
    g_object_unref(launcher); /* closes our copies of the slave */

    pty_run result = {0};
    result.terminal = g_string_new("");
    g_assert_true(read_until(master, result.terminal, "Password: "));
    g_assert_cmpint(write(master, first, strlen(first)), ==, (ssize_t)strlen(first));
    g_assert_cmpint(write(master, "\n", 1), ==, 1);
    g_assert_true(read_until(master, result.terminal, "Again: "));
    g_assert_cmpint(write(master, second, strlen(second)), ==, (ssize_t)strlen(second));
    g_assert_cmpint(write(master, "\n", 1), ==, 1);

    g_subprocess_communicate_utf8(proc, NULL, NULL, &result.out, NULL, &error);
    g_assert_no_error(error);
    result.status = g_subprocess_get_exit_status(proc);
    read_until(master, result.terminal, "\x01"); /* the rest, up to the hang-up */
    g_object_unref(proc);
    close(master);
    return result;
}

/* On a terminal: asked twice, nothing of the password shown, a hash of it
 * printed; two different passwords make no hash. */
static void test_terminal(void)
{
    pty_run ok = run_on_terminal("Sekret-7", "Sekret-7");
    g_assert_cmpint(ok.status, ==, 0);
    g_assert_null(strstr(ok.terminal->str, "Sekret"));
    const char *reason = NULL;
    g_assert_cmpint(pw_hash_verify(g_strchomp(ok.out), "Sekret-7", &reason), ==, PW_HASH_MATCH);
    g_free(ok.out);
    g_string_free(ok.terminal, TRUE);

    pty_run differ = run_on_terminal("Sekret-7", "Sekret-8");
    g_assert_cmpint(differ.status, ==, 1);
    g_assert_cmpstr(differ.out, ==, "");
    g_assert_nonnull(strstr(differ.terminal->str, "the passwords differ"));
    g_assert_null(strstr(differ.terminal->str, "Sekret"));
    g_free(differ.out);
    g_string_free(differ.terminal, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc < 2) {
        g_printerr("usage: %s PATH-OF-ucd-passwd\n", argv[0]);
        return 2;
    }
    tool = argv[1];
    g_test_add_func("/ucd-passwd/pipe", test_pipe_makes_hash);
    g_test_add_func("/ucd-passwd/refusals", test_refusals);
    g_test_add_func("/ucd-passwd/help", test_help);
    g_test_add_func("/ucd-passwd/terminal", test_terminal);
    return g_test_run();
}
