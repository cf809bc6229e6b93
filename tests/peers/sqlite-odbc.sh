#!/bin/bash
# The SQLite ODBC driver for tests: a private odbcinst.ini (ODBCSYSINI) naming
# it, and an empty database file, both in a temp dir. No server runs.
#
#   eval "$(tests/peers/sqlite-odbc.sh start)"  # prints export lines, see the end
#   tests/peers/sqlite-odbc.sh stop "$SQLITE_ODBC_DIR"
#
# Exit 77 when the driver or unixODBC is missing (1 with CI=true).
set -euo pipefail

missing() {
    echo "sqlite-odbc.sh: $1 missing; install: apt-get install libsqliteodbc unixodbc sqlite3" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 77
}

case "${1:-}" in
stop) rm -rf "$2"; exit 0 ;;
start) ;;
*) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac

DRV=$(ls /usr/lib/*/odbc/libsqlite3odbc.so 2>/dev/null | head -n 1)
[ -n "$DRV" ] || missing "the SQLite ODBC driver (libsqlite3odbc.so)"
command -v isql >/dev/null || missing "unixODBC (isql)"

D=$(mktemp -d /tmp/ucd-sqlite-odbc.XXXXXX)
printf '[SQLite3]\nDriver=%s\n' "$DRV" >"$D/odbcinst.ini"
: >"$D/odbc.ini"
CS="Driver=SQLite3;Database=$D/test.db"
# Proves that the driver loads and creates the file.
echo "CREATE TABLE peer_check(id INTEGER)" | ODBCSYSINI=$D isql -b -k "$CS" >/dev/null
echo "export SQLITE_ODBC_DIR='$D'"
echo "export ODBCSYSINI='$D'"
echo "export SQLITE_ODBC_FILE='$D/test.db'"
echo "export SQLITE_ODBC='$CS'"
