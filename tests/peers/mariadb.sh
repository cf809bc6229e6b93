#!/bin/bash
# A throw-away MariaDB for tests, reached through MariaDB Connector/ODBC.
#
#   eval "$(tests/peers/mariadb.sh start)"      # prints export lines, see the end
#   tests/peers/mariadb.sh halt "$MARIADB_DIR"   # stop the server, keep its data
#   tests/peers/mariadb.sh resume "$MARIADB_DIR" # start it again on the same port
#   tests/peers/mariadb.sh stop "$MARIADB_DIR"   # stop it and remove everything
#
# Listens on an address of its own in 127.0.0.0/8 (MARIADB_HOST; not
# 127.0.0.1, so that a MariaDB or MySQL already running on the machine is no
# obstacle) on a free port, and on a socket in its temp dir; user
# test/secret owns the database test. Exit 77 when MariaDB or its ODBC driver
# is missing (1 with CI=true).
set -euo pipefail

START_LIMIT_S=60 # seconds for mariadbd to answer after its start

missing() {
    echo "mariadb.sh: $1 missing; install: apt-get install mariadb-server mariadb-client odbc-mariadb unixodbc" >&2
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
    echo "mariadb.sh: no free port" >&2; exit 1
}

run_user() { if [ "$(id -u)" = 0 ]; then echo mysql; else id -un; fi; }

server_start() { # DIR PORT (the address is in DIR/addr): waits until the server answers
    rm -f "$1/mysqld.pid"
    nohup mariadbd --no-defaults --user="$(run_user)" --datadir="$1/data" \
        --socket="$1/mysqld.sock" --pid-file="$1/mysqld.pid" --log-error="$1/error.log" \
        --port="$2" --bind-address="$(cat "$1/addr")" --skip-name-resolve --skip-log-bin \
        --innodb-buffer-pool-size=32M --innodb-log-file-size=16M \
        --innodb-flush-log-at-trx-commit=0 --performance-schema=OFF \
        --character-set-server=utf8mb4 --init-file="$1/init.sql" >/dev/null 2>&1 &
    local pid=$!
    # A time limit, not a count of tries: on a loaded machine each ping
    # itself takes a while, and 300 of them said nothing about the time.
    local deadline=$((SECONDS + START_LIMIT_S))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if [ -s "$1/mysqld.pid" ] &&
            mariadb-admin --no-defaults -S "$1/mysqld.sock" -uroot ping >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    echo "mariadb.sh: no answer from mariadbd within ${START_LIMIT_S} s" >&2
    kill "$pid" 2>/dev/null || true
    return 1
}

# What went wrong, before the temp dir goes: a failing step (most likely
# mariadb-install-db, whose output is in install.log) prints nothing itself.
show_logs() { # DIR
    local f
    for f in "$1/install.log" "$1/error.log"; do
        [ -s "$f" ] || continue
        echo "mariadb.sh: --- $f ---" >&2
        tail -n 100 "$f" >&2
    done
}

server_halt() { # DIR: by the PID in its pid file
    [ -s "$1/mysqld.pid" ] || return 0
    local pid
    pid=$(cat "$1/mysqld.pid")
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    rm -f "$1/mysqld.pid"
}

case "${1:-}" in
stop) server_halt "$2"; rm -rf "$2"; exit 0 ;;
halt) server_halt "$2"; exit 0 ;;
resume) server_start "$2" "$(cat "$2/port")" || { show_logs "$2"; exit 1; }; exit 0 ;;
start) ;;
*) echo "usage: $0 start | halt DIR | resume DIR | stop DIR" >&2; exit 2 ;;
esac

command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || missing "mariadbd"
export PATH="$PATH:/usr/sbin"
command -v mariadb >/dev/null || missing "the mariadb client"
DRV=$(ls /usr/lib/*/odbc/libmaodbc.so 2>/dev/null | head -n 1)
[ -n "$DRV" ] || missing "MariaDB Connector/ODBC (libmaodbc.so)"

D=$(mktemp -d /tmp/ucd-mariadb.XXXXXX)
chmod 755 "$D"
[ "$(id -u)" = 0 ] && chown mysql: "$D"
trap 'echo "mariadb.sh: setup failed (line $LINENO)" >&2; show_logs "$D"; server_halt "$D"; rm -rf "$D"' ERR
mariadb-install-db --no-defaults --user="$(run_user)" --datadir="$D/data" \
    --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
    >"$D/install.log" 2>&1
cat >"$D/init.sql" <<SQL
CREATE DATABASE IF NOT EXISTS test CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'test'@'%' IDENTIFIED BY 'secret';
CREATE USER IF NOT EXISTS 'test'@'localhost' IDENTIFIED BY 'secret';
GRANT ALL ON test.* TO 'test'@'%';
GRANT ALL ON test.* TO 'test'@'localhost';
SQL
for attempt in 1 2 3 4 5; do
    ADDR=$(own_address)
    echo "$ADDR" >"$D/addr"
    PORT=$(free_port "$ADDR")
    server_start "$D" "$PORT" && break
    server_halt "$D"
    [ "$attempt" = 5 ] && { show_logs "$D"; rm -rf "$D"; exit 1; }
done
echo "$PORT" >"$D/port"
trap - ERR
echo "export MARIADB_DIR='$D'"
echo "export MARIADB_HOST='$ADDR'"
echo "export MARIADB_PORT='$PORT'"
echo "export MARIADB_SOCKET='$D/mysqld.sock'"
echo "export MARIADB_ODBC='Driver=$DRV;Server=$ADDR;Port=$PORT;Database=test;Uid=test;CharSet=utf8mb4'"
