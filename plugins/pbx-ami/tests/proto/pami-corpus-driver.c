/*
 * pami-corpus-driver.c - runs the fuzz harness over every file of a folder,
 * so the seed corpus is exercised by any compiler (gcc, sanitizers) in the
 * normal test suite. Usage: pami-corpus DIR. Fails when DIR holds no file.
 */
#include <glib.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gboolean run_file(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *body = NULL;
    gsize len = 0;
    GError *error = NULL;
    if (!g_file_get_contents(path, &body, &len, &error)) {
        g_printerr("%s\n", error->message);
        g_error_free(error);
        return FALSE;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)body, len);
    return TRUE;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        g_printerr("usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    GError *error = NULL;
    g_autoptr(GDir) dir = g_dir_open(argv[1], 0, &error);
    if (dir == NULL) {
        g_printerr("%s\n", error->message);
        g_error_free(error);
        return 1;
    }
    int count = 0;
    for (const char *name = g_dir_read_name(dir); name != NULL; name = g_dir_read_name(dir)) {
        if (!run_file(argv[1], name)) {
            return 1;
        }
        count++;
    }
    g_print("%d corpus files run through the harness\n", count);
    return count > 0 ? 0 : 1;
}
