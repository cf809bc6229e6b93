/*
 * bench-rows.c - the generated export of the contacts-csv benchmarks; see
 * the header.
 */
#include "bench-rows.h"

#include <stdio.h>

#include <glib.h>

/* Writes ROWS rows; every 7th name is quoted with a comma in it, every 5th
 * has an umlaut, so the quoted path and the conversion both run. */
void bench_rows_write(const char *path, unsigned rows, int windows_1252)
{
    FILE *f = fopen(path, "w");
    g_assert_nonnull(f);
    fputs("Id,Name,Company,Department,Email,Street,ZIP,City,Phone,Mobile,Fax\r\n", f);
    const char *u = windows_1252 ? "\xFC" : "\xC3\xBC";
    for (unsigned i = 1; i <= rows; i++) {
        if (i % 7 == 0)
            fprintf(f, "C%u,\"Berg, Anna %u\",", i, i);
        else
            fprintf(f, "C%u,%s%u,", i, i % 5 == 0 ? "J" : "Anna Berg ", i);
        if (i % 5 == 0)
            fprintf(f, "M%sller GmbH,", u);
        else
            fputs("Example Trading GmbH,", f);
        fprintf(f,
                "Sales,contact%u@example.com,Hauptstr. %u,%05u,M%snchen,"
                "+49 89 %07u,0171 %07u,+49 89 %07u-9\r\n",
                i, i % 300, 10000 + i % 90000, u, i, i, i);
    }
    g_assert_cmpint(fclose(f), ==, 0);
}
