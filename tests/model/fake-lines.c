/*
 * fake-lines.c - a fake driver's lines (fake-lines.h).
 */
#include "fake-lines.h"

#include <string.h>

int fake_lines_list(const fake_line *lines, ucd_pbx_line_cb cb, void *ud)
{
    for (const fake_line *l = lines; l->address; l++) {
        ucd_pbx_line line = {.struct_size = sizeof line,
                             .state = UCD_LINE_IDLE,
                             .address = l->address,
                             .number = l->address,
                             .capabilities = l->caps};
        cb(&line, ud);
    }
    return UCD_OK;
}

uint64_t fake_lines_caps(const fake_line *lines, const char *address)
{
    for (const fake_line *l = lines; l->address; l++)
        if (strcmp(l->address, address) == 0)
            return l->caps;
    return 0;
}
