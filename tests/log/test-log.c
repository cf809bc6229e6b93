/*
 * test-log.c - the logger: per-module levels, level and target names, the
 * ring of recent lines, escaping of control characters, the stderr format and
 * the detection of a journal stream.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Runs `fn` with stderr redirected to a temporary file; returns what it wrote. */
static char *capture_stderr(void (*fn)(void *), void *ud, gboolean journal_stream)
{
    char *path = NULL;
    int fd = g_file_open_tmp("ucd-log-XXXXXX", &path, NULL);
    g_assert_cmpint(fd, >=, 0);
    int saved = dup(STDERR_FILENO);
    g_assert_cmpint(dup2(fd, STDERR_FILENO), ==, STDERR_FILENO);
    if (journal_stream) {
        struct stat st;
        g_assert_cmpint(fstat(fd, &st), ==, 0);
        char *env = g_strdup_printf("%llu:%llu", (unsigned long long)st.st_dev,
                                    (unsigned long long)st.st_ino);
        g_setenv("JOURNAL_STREAM", env, TRUE);
        g_free(env);
    } else {
        g_unsetenv("JOURNAL_STREAM");
    }
    fn(ud);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    g_unsetenv("JOURNAL_STREAM");
    char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    unlink(path);
    g_free(path);
    return text;
}

static void test_levels_per_module(void)
{
    core_log_configure(CORE_LOG_STDERR, 5, 10);
    g_assert_cmpint(core_log_level("any"), ==, 5);
    g_assert_true(core_log_enabled("any", 5));
    g_assert_false(core_log_enabled("any", 6));

    core_log_set_level("pbx-sim:office", 7);
    g_assert_cmpint(core_log_level("pbx-sim:office"), ==, 7);
    g_assert_true(core_log_enabled("pbx-sim:office", 7));
    g_assert_false(core_log_enabled("pbx-sim", 6)); /* another module id */
    core_log_set_level("quiet", 3);
    g_assert_false(core_log_enabled("quiet", 4));
    g_assert_true(core_log_enabled("quiet", 3));

    core_log_set_level(NULL, 6); /* the default moves; own levels stay */
    g_assert_cmpint(core_log_level("any"), ==, 6);
    g_assert_cmpint(core_log_level("quiet"), ==, 3);
    core_log_set_level("quiet", -1); /* follows the default again */
    g_assert_cmpint(core_log_level("quiet"), ==, 6);
    core_log_set_level("pbx-sim:office", -1);
    g_assert_false(core_log_enabled("pbx-sim:office", 7));
    core_log_shutdown();
}

static void test_names(void)
{
    static const char *const names[] = {"error", "warning", "notice", "info", "debug"};
    for (int i = 0; i < 5; i++) {
        g_assert_cmpint(core_log_level_parse(names[i]), ==, 3 + i);
        g_assert_cmpstr(core_log_level_name(3 + i), ==, names[i]);
    }
    g_assert_cmpint(core_log_level_parse("DEBUG"), ==, 7);
    g_assert_cmpint(core_log_level_parse("verbose"), ==, -1);
    g_assert_cmpint(core_log_level_parse(NULL), ==, -1);
    g_assert_cmpint(core_log_target_parse("auto"), ==, CORE_LOG_AUTO);
    g_assert_cmpint(core_log_target_parse("stderr"), ==, CORE_LOG_STDERR);
    g_assert_cmpint(core_log_target_parse("journal"), ==, CORE_LOG_JOURNAL);
    g_assert_cmpint(core_log_target_parse("syslog"), ==, -1);
}

/* "2026-11-22T15:00:00.123Z " is 25 characters. */
static const char *after_stamp(const char *line)
{
    g_assert_cmpuint(strlen(line), >, 25);
    g_assert_true(g_ascii_isdigit(line[0]) && line[4] == '-' && line[10] == 'T');
    g_assert_true(line[19] == '.' && line[23] == 'Z' && line[24] == ' ');
    return line + 25;
}

static void test_ring(void)
{
    g_unsetenv("JOURNAL_STREAM");
    core_log_configure(CORE_LOG_STDERR, 6, 3);
    core_log("mod", 6, "one %d", 1);
    core_log("mod", 7, "filtered out");
    core_log("other", 3, "two");
    core_warn("three");
    core_log("mod", 4, "four");
    char **lines = core_log_recent();
    g_assert_cmpuint(g_strv_length(lines), ==, 3); /* the oldest fell out */
    g_assert_cmpstr(after_stamp(lines[0]), ==, "ERROR other: two");
    g_assert_cmpstr(after_stamp(lines[1]), ==, "WARNING core: three");
    g_assert_cmpstr(after_stamp(lines[2]), ==, "WARNING mod: four");
    g_assert_cmpint(strcmp(lines[0], lines[2]), <=, 0); /* time stamps in order */
    g_strfreev(lines);

    core_log_configure(CORE_LOG_STDERR, 6, 2); /* shrinking keeps the newest */
    lines = core_log_recent();
    g_assert_cmpuint(g_strv_length(lines), ==, 2);
    g_assert_cmpstr(after_stamp(lines[0]), ==, "WARNING core: three");
    g_assert_cmpstr(after_stamp(lines[1]), ==, "WARNING mod: four");
    g_strfreev(lines);

    core_log_configure(CORE_LOG_STDERR, 6, 5); /* growing keeps everything */
    core_log("mod", 5, "five");
    lines = core_log_recent();
    g_assert_cmpuint(g_strv_length(lines), ==, 3);
    g_assert_cmpstr(after_stamp(lines[2]), ==, "NOTICE mod: five");
    g_strfreev(lines);

    core_log_shutdown();
    lines = core_log_recent();
    g_assert_cmpuint(g_strv_length(lines), ==, 0);
    g_strfreev(lines);
}

static void test_escaping(void)
{
    core_log_configure(CORE_LOG_STDERR, 6, 8);
    core_log("peer", 6, "name=%s", "evil\nERROR core: forged\r\tend\x1b[31m\x7f");
    core_log("peer", 6, "bad utf8 \xff\xfe ok \xc3\xa9 c1 \xc2\x9b sep \xe2\x80\xa8.");
    core_log("mod\nule", 6, "x");
    char **lines = core_log_recent();
    g_assert_cmpuint(g_strv_length(lines), ==, 3);
    g_assert_cmpstr(after_stamp(lines[0]), ==,
                    "INFO peer: name=evil\\nERROR core: forged\\r\\tend\\x1b[31m\\x7f");
    g_assert_cmpstr(after_stamp(lines[1]), ==,
                    "INFO peer: bad utf8 \\xff\\xfe ok \xc3\xa9 c1 \\u009b sep \\u2028.");
    g_assert_cmpstr(after_stamp(lines[2]), ==, "INFO mod\\nule: x");
    for (int i = 0; lines[i]; i++)
        for (const char *p = lines[i]; *p; p++)
            g_assert_false((unsigned char)*p < 0x20);
    g_strfreev(lines);
    core_log_shutdown();
}

static void log_two_lines(void *ud)
{
    core_log_configure(CORE_LOG_AUTO, 6, 4);
    core_log("pbx-sim:office", 4, "link lost: %s", "peer\nclosed");
    core_log("core", 7, "not shown");
    core_log("core", 6, "done");
}

static void test_stderr_format(void)
{
    /* AUTO without a journal stream: stderr, time-stamped. */
    char *out = capture_stderr(log_two_lines, NULL, FALSE);
    char **lines = g_strsplit(out, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 3); /* two lines and the empty rest */
    g_assert_cmpstr(after_stamp(lines[0]), ==, "WARNING pbx-sim:office: link lost: peer\\nclosed");
    g_assert_cmpstr(after_stamp(lines[1]), ==, "INFO core: done");
    g_assert_cmpstr(lines[2], ==, "");
    g_strfreev(lines);
    g_free(out);
    core_log_shutdown();
}

static void log_to_stderr_target(void *ud)
{
    core_log_configure(CORE_LOG_STDERR, 6, 4);
    core_log("mod", 3, "bad");
    core_log("mod", 6, "fine");
}

static void test_journal_stream_detected(void)
{
    /* stderr IS the journal stream: no time stamp, the priority as "<N>". */
    char *out = capture_stderr(log_to_stderr_target, NULL, TRUE);
    g_assert_cmpstr(out, ==, "<3>ERROR mod: bad\n<6>INFO mod: fine\n");
    g_free(out);
    /* The ring keeps its time stamps whatever the target. */
    char **lines = core_log_recent();
    g_assert_cmpstr(after_stamp(lines[0]), ==, "ERROR mod: bad");
    g_strfreev(lines);
    core_log_shutdown();
}

typedef struct thread_arg {
    int index;
} thread_arg;

static gpointer log_many(gpointer data)
{
    thread_arg *arg = data;
    for (int i = 0; i < 200; i++)
        core_log("t", 6, "thread %d line %d", arg->index, i);
    return NULL;
}

static void test_threads(void)
{
    core_log_configure(CORE_LOG_STDERR, 6, 1000);
    core_log_set_level("t", 5); /* filtered: nothing written, no stderr noise */
    core_log_set_level("t", 6);
    int saved = dup(STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, STDERR_FILENO);
    thread_arg args[4];
    GThread *threads[4];
    for (int i = 0; i < 4; i++) {
        args[i].index = i;
        threads[i] = g_thread_new("logger", log_many, &args[i]);
    }
    for (int i = 0; i < 4; i++)
        g_thread_join(threads[i]);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(null);
    char **lines = core_log_recent();
    g_assert_cmpuint(g_strv_length(lines), ==, 800);
    int next[4] = {0};
    for (int i = 0; lines[i]; i++) {
        int t, n;
        g_assert_cmpint(sscanf(after_stamp(lines[i]), "INFO t: thread %d line %d", &t, &n), ==, 2);
        g_assert_cmpint(n, ==, next[t]); /* each thread's lines in its order */
        next[t]++;
    }
    g_strfreev(lines);
    core_log_shutdown();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/log/levels-per-module", test_levels_per_module);
    g_test_add_func("/log/names", test_names);
    g_test_add_func("/log/ring", test_ring);
    g_test_add_func("/log/escaping", test_escaping);
    g_test_add_func("/log/stderr-format", test_stderr_format);
    g_test_add_func("/log/journal-stream-detected", test_journal_stream_detected);
    g_test_add_func("/log/threads", test_threads);
    return g_test_run();
}
