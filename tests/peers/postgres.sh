#!/bin/bash
# A throw-away PostgreSQL 15 for tests, reached through psqlODBC.
#
#   eval "$(tests/peers/postgres.sh start)"   # prints export lines, see the end
#   tests/peers/postgres.sh halt "$PG_DIR"    # stop the server, keep its data
#   tests/peers/postgres.sh resume "$PG_DIR"  # start it again on the same port
#   tests/peers/postgres.sh stop "$PG_DIR"    # stop it and remove everything
#
# Listens on 127.0.0.1 on a free port and on a socket in its temp dir. Exit
# 77 when PostgreSQL or psqlODBC is missing (1 with CI=true: CI must have it).
set -euo pipefail
BIN=/usr/lib/postgresql/15/bin
RUN=()
[ "$(id -u)" = 0 ] && RUN=(runuser -u postgres --)

missing() {
    echo "postgres.sh: $1 missing; install: apt-get install postgresql-15 odbc-postgresql unixodbc" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 77
}

free_port() {
    local port
    for _ in $(seq 50); do
        port=$(shuf -i 20000-59999 -n 1)
        (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
    echo "postgres.sh: no free port" >&2; exit 1
}

server_start() { # DIR PORT
    "${RUN[@]}" "$BIN/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 30 -o "-h 127.0.0.1 -p $2 -k $1 \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB" \
        start >/dev/null
}

server_halt() { # DIR: by the postmaster's PID, as pg_ctl reads it from postmaster.pid
    [ -f "$1/data/postmaster.pid" ] || return 0
    "${RUN[@]}" "$BIN/pg_ctl" -D "$1/data" -m immediate -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
stop) server_halt "$2"; rm -rf "$2"; exit 0 ;;
halt) server_halt "$2"; exit 0 ;;
resume) server_start "$2" "$(cat "$2/port")"; exit 0 ;;
start) ;;
*) echo "usage: $0 start | halt DIR | resume DIR | stop DIR" >&2; exit 2 ;;
esac

[ -x "$BIN/initdb" ] || missing "PostgreSQL 15 ($BIN/initdb)"
command -v psql >/dev/null || missing "psql"
DRV=$(ls /usr/lib/*/odbc/psqlodbcw.so 2>/dev/null | head -n 1)
[ -n "$DRV" ] || missing "psqlODBC (psqlodbcw.so)"

D=$(mktemp -d /tmp/ucd-pg.XXXXXX)
chmod 755 "$D"
trap 'server_halt "$D"; rm -rf "$D"' ERR
echo secret >"$D/pw"
[ "$(id -u)" = 0 ] && chown postgres: "$D" "$D/pw"
"${RUN[@]}" "$BIN/initdb" -D "$D/data" -U postgres --pwfile="$D/pw" -A scram-sha-256 \
    --auth-local=trust -E UTF8 --no-locale -N >"$D/initdb.log"
# A port may be taken between the check and the start: try a few.
for attempt in 1 2 3 4 5; do
    PORT=$(free_port)
    server_start "$D" "$PORT" && break
    [ "$attempt" = 5 ] && { cat "$D/server.log" >&2; exit 1; }
done
echo "$PORT" >"$D/port"
PGPASSWORD=secret psql -h 127.0.0.1 -p "$PORT" -U postgres -q -v ON_ERROR_STOP=1 \
    -c 'CREATE DATABASE test' >/dev/null
trap - ERR
echo "export PG_DIR='$D'"
echo "export PGHOST='127.0.0.1'"
echo "export PGPORT='$PORT'"
echo "export PGUSER='postgres'"
echo "export PGPASSWORD='secret'"
echo "export PGDATABASE='test'"
echo "export PG_ODBC='Driver=$DRV;Servername=127.0.0.1;Port=$PORT;Database=test;Uid=postgres;SSLmode=disable'"
