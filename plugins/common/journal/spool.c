/*
 * spool.c - the durable queue of spool.h.
 */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define FRAME_MAGIC       "UcSp"
#define FRAME_HEADER      12
#define FRAME_MAX_PAYLOAD (64u << 20) /* a length beyond it is damage, not a record */
#define DEFAULT_SEGMENT   (16u << 20)
#define SCAN_CHUNK        65536

enum { LOG_WARNING = 4, LOG_NOTICE = 5, LOG_INFO = 6 };

typedef struct spool_pos {
    guint64 seq, off;
} spool_pos;

struct spool {
    char *dir;
    spool_options options;
    GArray *segments; /* guint64 sequence numbers of the segment files, ascending */
    guint64 next_seq;
    int write_fd; /* the last segment, -1 until the next append opens one */
    guint64 write_seq, write_size;
    spool_pos cursor; /* durable read position */
    guint64 depth, damaged;
    GArray *read_ends; /* spool_pos after each payload of the last spool_read */
    int read_fd;
    guint64 read_seq;
};

/* ---- CRC-32 ---- */

static guint32 crc_table[256];

static void crc_table_init(void)
{
    for (guint32 i = 0; i < 256; i++) {
        guint32 c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t spool_crc32(uint32_t crc, const void *data, size_t length)
{
    static gsize ready;
    if (g_once_init_enter(&ready)) {
        crc_table_init();
        g_once_init_leave(&ready, 1);
    }
    const guint8 *p = data;
    crc = ~crc;
    for (size_t i = 0; i < length; i++)
        crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- small file helpers ---- */

static void say(spool *s, int level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void say(spool *s, int level, const char *fmt, ...)
{
    if (s->options.log == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    s->options.log(s->options.log_data, level, text);
    g_free(text);
}

static char *segment_path(const spool *s, guint64 seq)
{
    return g_strdup_printf("%s/%016" G_GINT64_MODIFIER "x.seg", s->dir, seq);
}

static char *fail(const char *what, const char *path)
{
    return g_strdup_printf("%s %s: %s", what, path, g_strerror(errno));
}

/* Makes a new or renamed directory entry durable. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_all(int fd, const guint8 *data, size_t length)
{
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        length -= (size_t)n;
    }
    return 0;
}

static gboolean read_exact(int fd, void *buffer, size_t length, guint64 off)
{
    size_t done = 0;
    while (done < length) {
        ssize_t n = pread(fd, (char *)buffer + done, length - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FALSE;
        done += (size_t)n;
    }
    return TRUE;
}

static guint64 file_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (guint64)st.st_size : 0;
}

/* ---- frames ---- */

static guint32 get_le32(const guint8 *p)
{
    return (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16 | (guint32)p[3] << 24;
}

static void put_le32(guint8 *p, guint32 v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (guint8)(v >> (8 * i));
}

/* Reads the frame at `off` of a segment of `size` bytes: 1 and its payload
 * (when `payload` is not NULL) and end in `*next`; 0 at the end; -1 when the
 * bytes there are no whole, intact frame. */
static int read_frame_at(int fd, guint64 size, guint64 off, GBytes **payload, guint64 *next)
{
    if (off >= size)
        return 0;
    guint8 header[FRAME_HEADER];
    if (size - off < FRAME_HEADER || !read_exact(fd, header, sizeof(header), off) ||
        memcmp(header, FRAME_MAGIC, 4) != 0)
        return -1;
    guint32 length = get_le32(header + 4);
    if (length > FRAME_MAX_PAYLOAD || size - off - FRAME_HEADER < length)
        return -1;
    guint8 *data = g_malloc(length ? length : 1);
    if (!read_exact(fd, data, length, off + FRAME_HEADER) ||
        spool_crc32(spool_crc32(0, header + 4, 4), data, length) != get_le32(header + 8)) {
        g_free(data);
        return -1;
    }
    if (payload != NULL)
        *payload = g_bytes_new_take(data, length);
    else
        g_free(data);
    *next = off + FRAME_HEADER + length;
    return 1;
}

/* Looks for the next intact frame after the damaged one at `from`. */
static gboolean find_next_frame(int fd, guint64 size, guint64 from, guint64 *found)
{
    guint8 *chunk = g_malloc(SCAN_CHUNK);
    gboolean ok = FALSE;
    for (guint64 base = from + 1; base < size && !ok; base += SCAN_CHUNK - 3) {
        size_t n = (size_t)MIN((guint64)SCAN_CHUNK, size - base);
        if (!read_exact(fd, chunk, n, base))
            break;
        for (size_t i = 0; i + 4 <= n && !ok; i++) {
            guint64 next;
            if (memcmp(chunk + i, FRAME_MAGIC, 4) == 0 &&
                read_frame_at(fd, size, base + i, NULL, &next) == 1) {
                *found = base + i;
                ok = TRUE;
            }
        }
        if (n < SCAN_CHUNK)
            break;
    }
    g_free(chunk);
    return ok;
}

/* ---- segments ---- */

static gboolean is_last_segment(const spool *s, guint64 seq)
{
    return s->segments->len > 0 && g_array_index(s->segments, guint64, s->segments->len - 1) == seq;
}

static void close_reader(spool *s)
{
    if (s->read_fd >= 0)
        close(s->read_fd);
    s->read_fd = -1;
}

static void remove_segment_file(spool *s, guint64 seq)
{
    if (s->read_fd >= 0 && s->read_seq == seq)
        close_reader(s);
    char *path = segment_path(s, seq);
    g_unlink(path);
    g_free(path);
}

/* Removes the segments before the cursor's: everything in them was read. */
static void drop_read_segments(spool *s)
{
    while (s->segments->len > 0 && g_array_index(s->segments, guint64, 0) < s->cursor.seq) {
        remove_segment_file(s, g_array_index(s->segments, guint64, 0));
        g_array_remove_index(s->segments, 0);
    }
}

static int open_segment(spool *s, guint64 seq, int flags)
{
    char *path = segment_path(s, seq);
    int fd = open(path, flags | O_CLOEXEC, 0600);
    g_free(path);
    return fd;
}

static void list_segments(spool *s, GDir *dir)
{
    const char *name;
    while ((name = g_dir_read_name(dir)) != NULL) {
        guint64 seq;
        char *end = NULL;
        if (strlen(name) != 20 || !g_str_has_suffix(name, ".seg"))
            continue;
        seq = g_ascii_strtoull(name, &end, 16);
        if (end == name + 16)
            g_array_append_val(s->segments, seq);
    }
}

static gint compare_seq(gconstpointer a, gconstpointer b)
{
    guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;
    return x < y ? -1 : x > y;
}

/* ---- the cursor ---- */

static char *cursor_path(const spool *s)
{
    return g_build_filename(s->dir, "cursor", NULL);
}

static void load_cursor(spool *s)
{
    char *path = cursor_path(s), *text = NULL;
    s->cursor = (spool_pos){0, 0};
    if (g_file_get_contents(path, &text, NULL, NULL) &&
        sscanf(text, "%" G_GINT64_MODIFIER "x %" G_GUINT64_FORMAT, &s->cursor.seq,
               &s->cursor.off) != 2)
        s->cursor = (spool_pos){0, 0};
    g_free(text);
    g_free(path);
    gboolean present = FALSE;
    for (guint i = 0; i < s->segments->len; i++)
        present = present || g_array_index(s->segments, guint64, i) == s->cursor.seq;
    if (!present && s->segments->len > 0 && s->cursor.seq > g_array_index(s->segments, guint64, 0))
        drop_read_segments(s);
    if (!present)
        s->cursor = (spool_pos){s->segments->len ? g_array_index(s->segments, guint64, 0) : 0, 0};
}

static int save_cursor(spool *s, spool_pos pos, char **error)
{
    char *path = cursor_path(s);
    char *tmp = g_strconcat(path, ".tmp", NULL);
    char *text =
        g_strdup_printf("%016" G_GINT64_MODIFIER "x %" G_GUINT64_FORMAT "\n", pos.seq, pos.off);
    int rc = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_all(fd, (const guint8 *)text, strlen(text)) != 0 || fdatasync(fd) != 0)
        *error = fail("writing", tmp);
    else if (g_rename(tmp, path) != 0)
        *error = fail("renaming", tmp);
    else
        rc = sync_dir(s->dir) == 0 ? 0 : (*error = fail("syncing", s->dir), -1);
    if (fd >= 0)
        close(fd);
    g_free(text);
    g_free(tmp);
    g_free(path);
    return rc;
}

/* ---- opening: check every frame after the cursor ---- */

/* Counts the intact frames of segment `seq` from `off`, skipping damage and
 * cutting a torn tail of the last segment. */
static void scan_segment(spool *s, guint64 seq, guint64 off)
{
    int fd = open_segment(s, seq, O_RDWR);
    if (fd < 0)
        return;
    guint64 size = file_size(fd), next = 0;
    for (;;) {
        int r = read_frame_at(fd, size, off, NULL, &next);
        if (r == 1) {
            s->depth++;
            off = next;
            continue;
        }
        if (r == 0)
            break;
        guint64 found;
        if (find_next_frame(fd, size, off, &found)) {
            say(s, LOG_WARNING,
                "spool %s: damaged frame in segment %016" G_GINT64_MODIFIER
                "x at %" G_GUINT64_FORMAT ": skipped %" G_GUINT64_FORMAT
                " bytes to the next intact one",
                s->dir, seq, off, found - off);
            s->damaged += found - off;
            off = found;
        } else if (is_last_segment(s, seq)) {
            say(s, LOG_NOTICE,
                "spool %s: torn tail of %" G_GUINT64_FORMAT " bytes (a write a crash cut short, "
                "never acknowledged) cut off",
                s->dir, size - off);
            if (ftruncate(fd, (off_t)off) == 0)
                fdatasync(fd);
            break;
        } else {
            say(s, LOG_WARNING,
                "spool %s: last %" G_GUINT64_FORMAT " bytes of segment %016" G_GINT64_MODIFIER
                "x damaged, skipped",
                s->dir, size - off, seq);
            s->damaged += size - off;
            break;
        }
    }
    close(fd);
}

static void open_write_segment(spool *s)
{
    if (s->segments->len == 0)
        return;
    s->write_seq = g_array_index(s->segments, guint64, s->segments->len - 1);
    s->write_fd = open_segment(s, s->write_seq, O_WRONLY | O_APPEND);
    s->write_size = s->write_fd >= 0 ? file_size(s->write_fd) : 0;
}

spool *spool_open(const char *dir, const spool_options *options, char **error)
{
    if (g_mkdir_with_parents(dir, 0700) != 0) {
        *error = fail("creating", dir);
        return NULL;
    }
    GError *err = NULL;
    GDir *d = g_dir_open(dir, 0, &err);
    if (d == NULL) {
        *error = g_strdup(err->message);
        g_error_free(err);
        return NULL;
    }
    spool *s = g_new0(spool, 1);
    s->dir = g_strdup(dir);
    if (options != NULL)
        s->options = *options;
    if (s->options.segment_bytes == 0)
        s->options.segment_bytes = DEFAULT_SEGMENT;
    s->segments = g_array_new(FALSE, FALSE, sizeof(guint64));
    s->read_ends = g_array_new(FALSE, FALSE, sizeof(spool_pos));
    s->write_fd = s->read_fd = -1;
    list_segments(s, d);
    g_dir_close(d);
    g_array_sort(s->segments, compare_seq);
    load_cursor(s);
    drop_read_segments(s);
    for (guint i = 0; i < s->segments->len; i++) {
        guint64 seq = g_array_index(s->segments, guint64, i);
        scan_segment(s, seq, seq == s->cursor.seq ? s->cursor.off : 0);
    }
    s->next_seq =
        s->segments->len ? g_array_index(s->segments, guint64, s->segments->len - 1) + 1 : 1;
    open_write_segment(s);
    return s;
}

void spool_close(spool *s)
{
    if (s == NULL)
        return;
    if (s->write_fd >= 0)
        close(s->write_fd);
    close_reader(s);
    g_array_unref(s->segments);
    g_array_unref(s->read_ends);
    g_free(s->dir);
    g_free(s);
}

/* ---- appending ---- */

static int start_segment(spool *s, char **error)
{
    if (s->write_fd >= 0)
        close(s->write_fd);
    guint64 seq = s->next_seq++;
    s->write_fd = open_segment(s, seq, O_WRONLY | O_CREAT | O_EXCL | O_APPEND);
    if (s->write_fd < 0 || sync_dir(s->dir) != 0) {
        char *path = segment_path(s, seq);
        *error = fail("creating", path);
        g_free(path);
        return -1;
    }
    s->write_seq = seq;
    s->write_size = 0;
    if (s->segments->len == 0)
        s->cursor = (spool_pos){seq, 0};
    g_array_append_val(s->segments, seq);
    return 0;
}

int spool_append(spool *s, GBytes *const *payloads, unsigned count, char **error)
{
    if (count == 0)
        return 0;
    if ((s->write_fd < 0 || s->write_size >= s->options.segment_bytes) &&
        start_segment(s, error) != 0)
        return -1;
    GByteArray *buffer = g_byte_array_new();
    for (unsigned i = 0; i < count; i++) {
        gsize length = 0;
        const guint8 *data = g_bytes_get_data(payloads[i], &length);
        guint8 header[FRAME_HEADER];
        memcpy(header, FRAME_MAGIC, 4);
        put_le32(header + 4, (guint32)length);
        put_le32(header + 8, spool_crc32(spool_crc32(0, header + 4, 4), data, length));
        g_byte_array_append(buffer, header, sizeof(header));
        g_byte_array_append(buffer, data, (guint)length);
    }
    int rc = 0;
    if (write_all(s->write_fd, buffer->data, buffer->len) != 0 || fdatasync(s->write_fd) != 0) {
        char *path = segment_path(s, s->write_seq);
        *error = fail("writing", path);
        g_free(path);
        /* All or nothing: no half batch for the next open to find. */
        if (ftruncate(s->write_fd, (off_t)s->write_size) != 0)
            s->write_size = file_size(s->write_fd);
        rc = -1;
    } else {
        s->write_size += buffer->len;
        s->depth += count;
    }
    g_byte_array_unref(buffer);
    return rc;
}

/* ---- reading ---- */

/* The segment after `seq`, or FALSE at the last one. */
static gboolean next_segment(const spool *s, guint64 seq, guint64 *next)
{
    for (guint i = 0; i < s->segments->len; i++) {
        if (g_array_index(s->segments, guint64, i) > seq) {
            *next = g_array_index(s->segments, guint64, i);
            return TRUE;
        }
    }
    return FALSE;
}

static int reader_for(spool *s, guint64 seq, char **error)
{
    if (s->read_fd >= 0 && s->read_seq == seq)
        return s->read_fd;
    close_reader(s);
    s->read_fd = open_segment(s, seq, O_RDONLY);
    s->read_seq = seq;
    if (s->read_fd < 0) {
        char *path = segment_path(s, seq);
        *error = fail("opening", path);
        g_free(path);
    }
    return s->read_fd;
}

/* Past damage met while reading: the next intact frame, or the segment's end. */
static void skip_damage(spool *s, int fd, guint64 size, spool_pos *pos)
{
    guint64 found = size;
    find_next_frame(fd, size, pos->off, &found);
    say(s, LOG_WARNING,
        "spool %s: damaged frame in segment %016" G_GINT64_MODIFIER "x at %" G_GUINT64_FORMAT
        ": skipped %" G_GUINT64_FORMAT " bytes",
        s->dir, pos->seq, pos->off, found - pos->off);
    s->damaged += found - pos->off;
    pos->off = found;
}

int spool_read(spool *s, unsigned max, GPtrArray *out, char **error)
{
    g_array_set_size(s->read_ends, 0);
    spool_pos pos = s->cursor;
    unsigned n = 0;
    while (n < max && s->segments->len > 0) {
        int fd = reader_for(s, pos.seq, error);
        if (fd < 0)
            return -1;
        guint64 size = file_size(fd), next = 0;
        GBytes *payload = NULL;
        int r = read_frame_at(fd, size, pos.off, &payload, &next);
        if (r == 1) {
            g_ptr_array_add(out, payload);
            pos.off = next;
            g_array_append_val(s->read_ends, pos);
            n++;
        } else if (r < 0) {
            skip_damage(s, fd, size, &pos);
        } else if (!next_segment(s, pos.seq, &pos.seq)) {
            break;
        } else {
            pos.off = 0;
        }
    }
    /* Damage found only now means fewer frames than counted at open. */
    if (n < max && n < s->depth)
        s->depth = n;
    return (int)n;
}

/* Everything was read: start afresh, with no file left behind. */
static void reset_empty(spool *s)
{
    if (s->write_fd >= 0)
        close(s->write_fd);
    s->write_fd = -1;
    for (guint i = 0; i < s->segments->len; i++)
        remove_segment_file(s, g_array_index(s->segments, guint64, i));
    g_array_set_size(s->segments, 0);
    char *path = cursor_path(s);
    g_unlink(path);
    g_free(path);
    s->cursor = (spool_pos){0, 0};
}

int spool_consume(spool *s, unsigned count, char **error)
{
    if (count == 0)
        return 0;
    g_return_val_if_fail(count <= s->read_ends->len, -1);
    spool_pos pos = g_array_index(s->read_ends, spool_pos, count - 1);
    if (save_cursor(s, pos, error) != 0)
        return -1;
    s->cursor = pos;
    s->depth -= MIN(s->depth, count);
    g_array_remove_range(s->read_ends, 0, count);
    drop_read_segments(s);
    if (s->depth == 0 && s->write_fd >= 0 && pos.seq == s->write_seq && pos.off >= s->write_size)
        reset_empty(s);
    return 0;
}

uint64_t spool_depth(const spool *s)
{
    return s->depth;
}

uint64_t spool_damaged_bytes(const spool *s)
{
    return s->damaged;
}
