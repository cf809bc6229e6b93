#!/bin/bash
# A throw-away PostgreSQL 15 for tests, reached through psqlODBC.
#
#   eval "$(tests/peers/postgres.sh start)"   # prints export lines, see the end
#   tests/peers/postgres.sh halt "$PG_DIR"    # stop the server, keep its data
#   tests/peers/postgres.sh resume "$PG_DIR"  # start it again on the same port
#   tests/peers/postgres.sh freeze "$PG_DIR"  # SIGSTOP every server process:
#                                             # connections stay open, nothing answers
#   tests/peers/postgres.sh thaw "$PG_DIR"    # SIGCONT them
#   tests/peers/postgres.sh stop "$PG_DIR"    # stop it and remove everything
#
# Listens on an address of its own in 127.0.0.0/8 (not 127.0.0.1, so that a
# PostgreSQL already running on the machine is no obstacle) on a free port,
# and on a socket in its temp dir. Exit 77 when PostgreSQL or psqlODBC is
# missing (1 with CI=true: CI must have it).
set -euo pipefail
BIN=/usr/lib/postgresql/15/bin
RUN=()
[ "$(id -u)" = 0 ] && RUN=(runuser -u postgres --)

missing() {
    echo "postgres.sh: $1 missing; install: apt-get install postgresql-15 odbc-postgresql unixodbc" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 77
}

# 127.A.B.C with A >= 1: never 127.0.0.1, rarely the same twice.
own_address() {
    echo "127.$(shuf -i 1-254 -n 1).$(shuf -i 0-255 -n 1).$(shuf -i 1-254 -n 1)"
}

free_port() { # ADDR
    local port
    for _ in $(seq 50); do
        port=$(shuf -i 20000-59999 -n 1)
        (echo >"/dev/tcp/$1/$port") 2>/dev/null || { echo "$port"; return; }
    done
    echo "postgres.sh: no free port" >&2; exit 1
}

# No synchronous_commit=off: `halt` is an immediate stop (a crash), and with
# asynchronous commit it lost transactions the client had been told were
# committed (still in the WAL buffers), so a test found its rows gone after
# `resume` whenever the WAL writer had not run yet, as on a loaded machine.
# fsync=off keeps commits cheap and loses nothing while the OS stays up.
# The wait is generous: a loaded CI machine (sanitizers, suites in parallel)
# can take well over 30 s for crash recovery and start-up.
server_start() { # DIR PORT (the address is in DIR/addr)
    "${RUN[@]}" "$BIN/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 120 -o "-h $(cat "$1/addr") -p $2 -k $1 \
        -c fsync=off -c full_page_writes=off -c shared_buffers=16MB" \
        start >/dev/null
}

# Returns once the postmaster and all its children are gone, so that
# `resume` never meets a server still holding the lock file or the port.
server_halt() { # DIR: by the postmaster's PID, as pg_ctl reads it from postmaster.pid
    [ -f "$1/data/postmaster.pid" ] || return 0
    "${RUN[@]}" "$BIN/pg_ctl" -D "$1/data" -m immediate -w -t 120 stop >/dev/null 2>&1 && return 0
    # pg_ctl gave up: kill the children too, or one would keep the shared
    # memory, and wait until each is gone (or a zombie: dead, holding nothing).
    [ -f "$1/data/postmaster.pid" ] || return 0
    local pids p stat
    pids=$(server_pids "$1")
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    for p in $pids; do
        for _ in $(seq 600); do
            stat=$(cat "/proc/$p/stat" 2>/dev/null) || break
            stat=${stat##*) }
            [ "${stat%% *}" = Z ] && break
            sleep 0.1
        done
    done
    rm -f "$1/data/postmaster.pid" "$1"/.s.PGSQL.* # a killed postmaster leaves them
}

server_pids() { # DIR: the postmaster, then its children (from /proc: no procps needed)
    local pid p stat
    pid=$(head -n 1 "$1/data/postmaster.pid")
    echo "$pid"
    for p in /proc/[0-9]*; do
        stat=$(cat "$p/stat" 2>/dev/null) || continue
        stat=${stat##*) } # after the command name, which may hold spaces
        # shellcheck disable=SC2086
        set -- $stat
        if [ "$2" = "$pid" ]; then echo "${p#/proc/}"; fi
    done
}

# Children first on freeze (none of them sees the postmaster go first),
# the postmaster first on thaw.
server_signal() { # DIR SIGNAL
    # return, not exit: `stop` of a halted server goes on to remove its dir
    [ -f "$1/data/postmaster.pid" ] || { echo "postgres.sh: not running" >&2; return 1; }
    local pids
    pids=$(server_pids "$1")
    if [ "$2" = STOP ]; then
        # shellcheck disable=SC2086
        kill -STOP $(echo "$pids" | tac)
    else
        # shellcheck disable=SC2086
        kill -CONT $pids
    fi
}

case "${1:-}" in
stop) server_signal "$2" CONT 2>/dev/null || true; server_halt "$2"; rm -rf "$2"; exit 0 ;;
halt) server_halt "$2"; exit 0 ;;
resume) server_start "$2" "$(cat "$2/port")" || { cat "$2/server.log" >&2; exit 1; }; exit 0 ;;
freeze) server_signal "$2" STOP; exit 0 ;;
thaw) server_signal "$2" CONT; exit 0 ;;
start) ;;
*) echo "usage: $0 start | halt DIR | resume DIR | freeze DIR | thaw DIR | stop DIR" >&2; exit 2 ;;
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
    ADDR=$(own_address)
    echo "$ADDR" >"$D/addr"
    PORT=$(free_port "$ADDR")
    server_start "$D" "$PORT" && break
    [ "$attempt" = 5 ] && { cat "$D/server.log" >&2; exit 1; }
done
echo "$PORT" >"$D/port"
# -d postgres: a PGDATABASE left by an earlier eval of this script must not
# name the database that is about to be made.
PGPASSWORD=secret psql -h "$ADDR" -p "$PORT" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -c 'CREATE DATABASE test' >/dev/null
trap - ERR
echo "export PG_DIR='$D'"
echo "export PGHOST='$ADDR'"
echo "export PGPORT='$PORT'"
echo "export PGUSER='postgres'"
echo "export PGPASSWORD='secret'"
echo "export PGDATABASE='test'"
echo "export PG_ODBC='Driver=$DRV;Servername=$ADDR;Port=$PORT;Database=test;Uid=postgres;SSLmode=disable'"
