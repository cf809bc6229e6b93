/*
 * legacy-paging.h - the paging declarations the old ucctl model commands
 * (core/model/commands.c) were written against, implemented now by
 * core/commands/paging.c. Only commands.c includes it, and it goes with that
 * file (issue 13 moves the commands to core/commands, over the services).
 */
#ifndef CORE_MODEL_LEGACY_PAGING_H
#define CORE_MODEL_LEGACY_PAGING_H

#include <glib.h>

#define CORE_PAGE_DEFAULT_LIMIT 1000
#define CORE_PAGE_MAX_LIMIT     10000

typedef struct core_page {
    int limit;   /* rows per page: 1 to CORE_PAGE_MAX_LIMIT */
    char *after; /* the previous page's "next"; NULL: from the start */
} core_page;

typedef int (*core_page_cmp)(gconstpointer item, const char *cursor);
typedef char *(*core_page_key)(gconstpointer item);

gboolean core_page_check(const core_page *page, char **error);
void core_page_window(const GPtrArray *items, const core_page *page, core_page_cmp cmp,
                      core_page_key key, guint *start, guint *end, char **next);

#endif /* CORE_MODEL_LEGACY_PAGING_H */
