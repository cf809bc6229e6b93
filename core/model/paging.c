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

#include "model-internal.h"

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
