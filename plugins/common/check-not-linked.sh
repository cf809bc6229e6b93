#!/bin/sh
# check-not-linked.sh FILE PATTERN... - fails when the ELF file FILE names a
# library matching one of the grep patterns among its NEEDED entries: what a
# test uses to keep a library out of a binary that has no use for it (ODBC in
# journal-sqlite, libxml2 in the core; README.md).
file=$1
shift
needed=$(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p') || exit 2
[ -n "$needed" ] || { echo "no NEEDED entries read from $file" >&2; exit 2; }
status=0
for pattern in "$@"; do
    if echo "$needed" | grep -q -e "$pattern"; then
        echo "$file links $(echo "$needed" | grep -e "$pattern" | tr '\n' ' ')(matches '$pattern')" >&2
        status=1
    fi
done
[ $status -eq 0 ] && echo "$file: no library matching $*"
exit $status
