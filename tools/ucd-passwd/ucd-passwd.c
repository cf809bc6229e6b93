/*
 * ucd-passwd - prints a password hash for users-file's <password> and
 * users-sql's password column (plugins/common/password).
 *
 * From a terminal the password is read twice with echo off; from anything
 * else (a pipe, a file) one line is read, so scripts can make hashes too.
 * The password is never an argument: arguments are visible to every user of
 * the machine in ps and /proc.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <glib.h>

#include "pw-hash.h"

/* Longer input is refused rather than cut: a cut password would be a
 * different password. */
#define PASSWD_MAX_LENGTH 1024

static const char usage_text[] =
    "NAME\n"
    "    ucd-passwd - make a password hash for ucd's users backends\n"
    "\n"
    "SYNOPSIS\n"
    "    ucd-passwd [--iterations N]\n"
    "    ucd-passwd --verify HASH\n"
    "    ucd-passwd --help\n"
    "\n"
    "DESCRIPTION\n"
    "    Reads a password and prints its hash in the form users-file keeps in\n"
    "    <password> and users-sql reads from its password column:\n"
    "\n"
    "        pbkdf2-sha256$ITERATIONS$SALT$HASH\n"
    "\n"
    "    PBKDF2-HMAC-SHA256 with 16 random bytes of salt (OpenSSL), salt and\n"
    "    hash in base64. From a terminal the password is asked for twice with\n"
    "    echo off; otherwise one line is read from standard input (its newline\n"
    "    is not part of the password). The password is never taken from the\n"
    "    command line, where every user of the machine could read it.\n"
    "\n"
    "OPTIONS\n"
    "    -i, --iterations N\n"
    "        PBKDF2 iterations, 1000 to 10000000 (default 600000). More is\n"
    "        slower for an attacker and for every login alike.\n"
    "    --verify HASH\n"
    "        Read a password the same way and check it against HASH (any form\n"
    "        ucd accepts: pbkdf2-sha256, pbkdf2-sha512, scrypt) instead of\n"
    "        making one. Prints \"match\" or \"no match\".\n"
    "    -h, --help\n"
    "        This text.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 a hash was printed, or --verify matched; 1 the passwords typed\n"
    "    differ, the password is empty or too long, --verify did not match or\n"
    "    HASH is not usable; 2 a usage error.\n"
    "\n"
    "EXAMPLES\n"
    "    ucd-passwd                      # asks, prints the hash\n"
    "    printf '%s\\n' \"$PW\" | ucd-passwd  # from a script\n"
    "    ucd-passwd --verify 'pbkdf2-sha256$600000$...'\n"
    "\n"
    "SEE ALSO\n"
    "    plugins/users-file/README.md (Passwords), plugins/users-sql/README.md\n";

/* One line of at most PASSWD_MAX_LENGTH bytes from `in`, without its line
 * end; NULL at end of input or when the line is too long. */
static char *read_line(FILE *in, const char **error)
{
    char buffer[PASSWD_MAX_LENGTH + 3];
    if (fgets(buffer, sizeof(buffer), in) == NULL) {
        *error = "no password given (end of input)";
        return NULL;
    }
    size_t length = strlen(buffer);
    gboolean ended = length > 0 && buffer[length - 1] == '\n';
    if (ended)
        buffer[--length] = '\0';
    if (length > 0 && buffer[length - 1] == '\r')
        buffer[--length] = '\0';
    if (length > PASSWD_MAX_LENGTH || (!ended && !feof(in))) {
        explicit_bzero(buffer, sizeof(buffer));
        *error = "password longer than 1024 bytes";
        return NULL;
    }
    char *line = g_strdup(buffer);
    explicit_bzero(buffer, sizeof(buffer));
    return line;
}

static void forget(char *password)
{
    if (password != NULL) {
        explicit_bzero(password, strlen(password));
        g_free(password);
    }
}

/* Prompts on stderr and reads from the terminal on stdin with echo off; the
 * terminal's settings come back whatever happens (short of a kill). */
static char *read_hidden(const char *prompt, const char **error)
{
    struct termios saved, quiet;
    if (tcgetattr(STDIN_FILENO, &saved) != 0) {
        *error = "cannot read the terminal's settings";
        return NULL;
    }
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    quiet.c_lflag |= ICANON;
    /* Echo off before the prompt: TCSAFLUSH drops what was typed before it,
     * and what is typed after the prompt must not be shown. */
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
        *error = "cannot turn the terminal's echo off";
        return NULL;
    }
    fputs(prompt, stderr);
    fflush(stderr);
    char *line = read_line(stdin, error);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    fputc('\n', stderr);
    return line;
}

/* The password, asked twice on a terminal; NULL with `*error` set. */
static char *read_password(const char **error)
{
    if (!isatty(STDIN_FILENO))
        return read_line(stdin, error);
    char *first = read_hidden("Password: ", error);
    if (first == NULL)
        return NULL;
    char *again = read_hidden("Again: ", error);
    if (again == NULL) {
        forget(first);
        return NULL;
    }
    gboolean same = strcmp(first, again) == 0;
    forget(again);
    if (!same) {
        forget(first);
        *error = "the passwords differ";
        return NULL;
    }
    return first;
}

static int usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Says what is wrong with the command line, and how it goes; status 2. */
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ucd-passwd: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nusage: ucd-passwd [--iterations N] | --verify HASH | --help\n", stderr);
    return 2;
}

/* Options: what to do and with which parameter. */
typedef struct passwd_options {
    guint iterations;
    const char *verify;
} passwd_options;

/* 0 when the options parse, else the exit status (2, or 0 after --help). */
static int parse_options(int argc, char **argv, passwd_options *options, gboolean *done)
{
    *done = FALSE;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(usage_text, stdout);
            *done = TRUE;
            return 0;
        }
        if (strcmp(arg, "-i") == 0 || strcmp(arg, "--iterations") == 0 ||
            strcmp(arg, "--verify") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", arg);
            const char *value = argv[++i];
            if (strcmp(arg, "--verify") == 0) {
                options->verify = value;
                continue;
            }
            guint64 n = 0;
            if (!g_ascii_string_to_unsigned(value, 10, PW_HASH_MIN_ITERATIONS,
                                            PW_HASH_MAX_ITERATIONS, &n, NULL))
                return usage_error("--iterations %s: need a number from 1000 to 10000000", value);
            options->iterations = (guint)n;
            continue;
        }
        return usage_error("unknown argument \"%s\"", arg);
    }
    if (options->verify != NULL && options->iterations != 0)
        return usage_error("--verify and --iterations do not go together");
    return 0;
}

static int verify(const char *stored, const char *password)
{
    const char *reason = NULL;
    switch (pw_hash_verify(stored, password, &reason)) {
    case PW_HASH_MATCH:
        puts("match");
        return 0;
    case PW_HASH_MISMATCH:
        puts("no match");
        return 1;
    default:
        fprintf(stderr, "ucd-passwd: HASH is not usable: %s\n", reason);
        return 1;
    }
}

int main(int argc, char **argv)
{
    passwd_options options = {0};
    gboolean done = FALSE;
    int status = parse_options(argc, argv, &options, &done);
    if (status != 0 || done)
        return status;
    if (options.verify != NULL) {
        const char *reason = NULL;
        if (!pw_hash_is_usable(options.verify, &reason)) {
            fprintf(stderr, "ucd-passwd: HASH is not usable: %s\n", reason);
            return 1;
        }
    }

    const char *error = NULL;
    char *password = read_password(&error);
    if (password != NULL && *password == '\0')
        error = "the password is empty";
    if (error != NULL) {
        forget(password);
        fprintf(stderr, "ucd-passwd: %s\n", error);
        return 1;
    }
    if (options.verify != NULL) {
        status = verify(options.verify, password);
        forget(password);
        return status;
    }
    char *hash = pw_hash_make(password, options.iterations, &error);
    forget(password);
    if (hash == NULL) {
        fprintf(stderr, "ucd-passwd: %s\n", error);
        return 1;
    }
    puts(hash);
    g_free(hash);
    return fflush(stdout) == 0 ? 0 : 1;
}
