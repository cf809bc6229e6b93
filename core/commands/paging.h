/*
 * paging.h - listings in pages (`users`, `presence`, `groups`, `lines`,
 * `calls`): --limit rows (default CORE_PAGE_DEFAULT_LIMIT) after the cursor
 * --after; the reply's field "next" is the cursor of the next page.
 */
#ifndef CORE_COMMANDS_PAGING_H
#define CORE_COMMANDS_PAGING_H

#include <glib.h>
#include <ucd/ucd.h>

#define CORE_PAGE_DEFAULT_LIMIT 1000
#define CORE_PAGE_MAX_LIMIT     10000

typedef struct core_page {
    int limit;   /* rows per page: 1 to CORE_PAGE_MAX_LIMIT */
    char *after; /* the previous page's "next"; NULL: from the start */
} core_page;

/* <0, 0, >0 as `item` sorts before, with, after `cursor`. */
typedef int (*core_page_cmp)(gconstpointer item, const char *cursor);
/* The cursor of `item` (g_free it). */
typedef char *(*core_page_key)(gconstpointer item);

/* Whether the page's limit is allowed; else *error says why (g_free it). */
gboolean core_page_check(const core_page *page, char **error);
/* The page of `items` (sorted by `cmp`'s order) the request asks for:
 * items[*start] to items[*end - 1], the first ones after page->after,
 * `limit` of them and the rest of a run of equal keys; *next is the cursor
 * of the page after it (g_free it), NULL when none remain. */
void core_page_window(const GPtrArray *items, const core_page *page, core_page_cmp cmp,
                      core_page_key key, guint *start, guint *end, char **next);

/* A core_page_cmp for rows keyed by line: compares (driver, address) with
 * a cursor "DRIVER/ADDRESS" (a driver id has no '/'; an address may). */
int page_cmp_line(const char *driver, const char *address, const char *cursor);

/* The GOption entries of a listing's --limit and --after. */
#define PAGE_ENTRIES(page)                                                                         \
    {"limit", 0, 0, G_OPTION_ARG_INT, &(page)->limit, "rows per page", "N"},                       \
    {                                                                                              \
        "after", 0, 0, G_OPTION_ARG_STRING, &(page)->after, "the previous page's next", "CURSOR"   \
    }

/* Checks the page asked for; FALSE after replying why not. */
gboolean page_ok(const core_page *page, ucd_reply *r);
/* Replies the cursor of the next page, if any, and frees it. */
void page_reply_next(ucd_reply *r, char *next);
/* Parses a listing that takes no other options and words than its page's;
 * FALSE after replying `usage` (or the bad option) when there are others. */
gboolean parse_page(int argc, const char *const *argv, core_page *page, const char *usage,
                    ucd_reply *r);

#endif /* CORE_COMMANDS_PAGING_H */
