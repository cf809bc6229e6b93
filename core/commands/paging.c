/*
 * paging.c - one page of a sorted listing (`users`, `presence`, `groups`,
 * `lines`, `calls`): at most --limit rows whose key comes after the cursor
 * given with --after, and the cursor of the page's last row in the reply
 * field "next" while more rows remain (ucctl follows it page by page).
 *
 * Why a key, not an offset: between two requests users come and go (a
 * directory sync, an import). A page that starts strictly after the last key
 * shown never repeats a row and never skips one that was there for both
 * requests, wherever the others were added or removed.
 *
 * A key may be shared by several rows (two users with one login, the legs of
 * one line). A page never ends inside such a run, so a cursor always names a
 * point between two keys; the page is then a little longer than --limit.
 */
#include <stdlib.h>
#include <string.h>

#include "command-args.h"
#include "control.h"
#include "paging.h"

gboolean core_page_check(const core_page *page, char **error)
{
    if (page->limit < 1 || page->limit > CORE_PAGE_MAX_LIMIT) {
        *error =
            g_strdup_printf("--limit must be 1 to %d (got %d)", CORE_PAGE_MAX_LIMIT, page->limit);
        return FALSE;
    }
    return TRUE;
}

/* The first index whose item comes after `cursor`: the items are sorted by
 * the order `cmp` compares in, so a binary search finds it. */
static guint first_after(const GPtrArray *items, const char *cursor, core_page_cmp cmp)
{
    guint low = 0, high = items->len;
    while (low < high) {
        guint mid = low + (high - low) / 2;
        if (cmp(items->pdata[mid], cursor) <= 0)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

void core_page_window(const GPtrArray *items, const core_page *page, core_page_cmp cmp,
                      core_page_key key, guint *start, guint *end, char **next)
{
    *next = NULL;
    *start = page->after ? first_after(items, page->after, cmp) : 0;
    *end = *start + MIN((guint)page->limit, items->len - *start);
    if (*end == *start || *end == items->len)
        return;
    /* Rows sharing the last row's key belong to this page too. */
    char *last = key(items->pdata[*end - 1]);
    while (*end < items->len && cmp(items->pdata[*end], last) == 0)
        (*end)++;
    if (*end < items->len)
        *next = last;
    else
        g_free(last);
}

int page_cmp_line(const char *driver, const char *address, const char *cursor)
{
    const char *slash = strchr(cursor, '/');
    size_t n = slash ? (size_t)(slash - cursor) : strlen(cursor);
    int c = strncmp(driver, cursor, n);
    if (c == 0 && driver[n])
        c = 1; /* the cursor's driver is a prefix of this one */
    return c ? c : strcmp(address, slash ? slash + 1 : "");
}

gboolean page_ok(const core_page *page, ucd_reply *r)
{
    char *error = NULL;
    if (core_page_check(page, &error))
        return TRUE;
    core_reply_error(r, "%s", error);
    g_free(error);
    return FALSE;
}

void page_reply_next(ucd_reply *r, char *next)
{
    if (next)
        core_reply_field(r, "next", next);
    g_free(next);
}

gboolean parse_page(int argc, const char *const *argv, core_page *page, const char *usage,
                    ucd_reply *r)
{
    char **args = NULL;
    GOptionEntry entries[] = {
        PAGE_ENTRIES(page),
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    if (!command_parse_options(argc, argv, entries, &args, r))
        return FALSE;
    gboolean ok = g_strv_length(args) == 1;
    if (!ok)
        core_reply_error(r, "usage: %s", usage);
    g_strfreev(args);
    if (ok && !page_ok(page, r))
        ok = FALSE;
    if (!ok) {
        g_free(page->after);
        page->after = NULL;
    }
    return ok;
}
