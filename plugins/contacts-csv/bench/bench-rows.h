/*
 * bench-rows.h - the export both contacts-csv benchmarks read: ROWS rows in
 * the shape of a CRM export (Id,Name,Company,Department,Email,Street,ZIP,
 * City,Phone,Mobile,Fax; CRLF), every 7th name quoted with a comma in it,
 * every 5th with an umlaut, three numbers a row, all distinct.
 */
#ifndef UCD_CSV_BENCH_ROWS_H
#define UCD_CSV_BENCH_ROWS_H

/* Writes the export to `path`, in Windows-1252 when `windows_1252`, else
 * UTF-8. Aborts the program when it cannot. */
void bench_rows_write(const char *path, unsigned rows, int windows_1252);

#endif /* UCD_CSV_BENCH_ROWS_H */
