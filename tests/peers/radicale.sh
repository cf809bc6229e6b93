#!/bin/bash
# tests/peers/radicale.sh - a Radicale CardDAV/CalDAV server for the
# contacts-carddav tests. Any user, no root, loopback only, its own temp dir.
#
#   eval "$(tests/peers/radicale.sh start [tls])"   # prints shell exports
#   tests/peers/radicale.sh stop "$RADICALE_DIR"   # stops it by PID, removes the dir
#
# What it gives: Radicale on a free port of 127.0.0.1 with htpasswd
# authentication (users alice and bob, password "secret"; bcrypt hashes when
# htpasswd and python3-bcrypt are there, else the plain htpasswd form),
# owner_only rights and filesystem storage in the temp dir. No collection
# exists yet: the tests make theirs (MKCOL) and PUT their vCards.
# With "tls" (or RADICALE_TLS=1 in the environment) it speaks HTTPS with a
# server certificate for 127.0.0.1 and localhost signed by a test CA
# (RADICALE_CACERT).
# Exports: RADICALE_DIR RADICALE_PID RADICALE_URL RADICALE_USER
#          RADICALE_PASSWORD RADICALE_VERSION [RADICALE_CACERT]
# Exit 3 when radicale is not installed (with-peer.sh and the test harness
# count that as a skip, or a failure with CI=true).
set -euo pipefail

if [ "${1:-}" = stop ]; then
    dir=${2:?usage: radicale.sh stop DIR}
    if [ -f "$dir/pid" ]; then
        pid=$(cat "$dir/pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    fi
    rm -rf "$dir"
    exit 0
fi
[ "${1:-}" = start ] || { echo "usage: radicale.sh start [tls] | stop DIR" >&2; exit 2; }
[ "${2:-}" = tls ] && RADICALE_TLS=1

for tool in python3 curl openssl; do
    command -v "$tool" >/dev/null || { echo "radicale.sh: $tool not found (apt-get install radicale curl openssl)" >&2; exit 3; }
done
/usr/bin/python3 -c 'import radicale' 2>/dev/null || {
    echo "radicale.sh: radicale not found (apt-get install radicale)" >&2; exit 3; }
VERSION=$(/usr/bin/python3 -c 'import radicale; print(radicale.VERSION)')

D=$(mktemp -d /tmp/ucd-radicale.XXXXXX)
trap 'if [ -f "$D/pid" ]; then kill "$(cat "$D/pid")" 2>/dev/null; fi; rm -rf "$D"' ERR

PORT=$(/usr/bin/python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

ENC=plain
if command -v htpasswd >/dev/null && /usr/bin/python3 -c 'import bcrypt' 2>/dev/null; then
    ENC=bcrypt
    htpasswd -B -b -c "$D/users" alice secret 2>/dev/null
    htpasswd -B -b "$D/users" bob secret 2>/dev/null
else
    printf 'alice:secret\nbob:secret\n' > "$D/users"
fi

SCHEME=http TLS_CONF=""
if [ "${RADICALE_TLS:-}" = 1 ]; then
    SCHEME=https
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=ucd test CA" \
        -keyout "$D/ca-key.pem" -out "$D/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$D/key.pem" \
        -out "$D/req.pem" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$D/ext.cnf"
    openssl x509 -req -in "$D/req.pem" -CA "$D/ca.pem" -CAkey "$D/ca-key.pem" -CAcreateserial \
        -days 30 -extfile "$D/ext.cnf" -out "$D/cert.pem" 2>/dev/null
    TLS_CONF="ssl = True
certificate = $D/cert.pem
key = $D/key.pem"
fi

cat > "$D/config" <<INI
[server]
hosts = 127.0.0.1:$PORT
$TLS_CONF
[auth]
type = htpasswd
htpasswd_filename = $D/users
htpasswd_encryption = $ENC
# no 1 s penalty after a failed login
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = $D/collections
[web]
type = none
[logging]
level = warning
INI

URL=$SCHEME://127.0.0.1:$PORT
# A test server needs no fsync per write (slapd.sh's dbnosync): with it,
# the PUT of 2,000 cards took 42.7 s instead of 13.6 s (load 9.5-10.2).
# Radicale takes its internal _filesystem_fsync only as a default (not from
# a config file), so the default is changed before it starts, where this
# Radicale has it.
/usr/bin/python3 -c '
import sys
import radicale.config
try:
    radicale.config.DEFAULT_CONFIG_SCHEMA["storage"]["_filesystem_fsync"]["value"] = "False"
except (KeyError, TypeError):
    pass
from radicale.__main__ import run
sys.argv = ["radicale", "--config", sys.argv[1]]
run()' "$D/config" >"$D/log" 2>&1 </dev/null &
echo $! > "$D/pid"
CURL_CA=()
[ "$SCHEME" = https ] && CURL_CA=(--cacert "$D/ca.pem")
# (the ERR trap does not fire inside || lists: a failed start cleans up here)
gone() {
    echo "radicale.sh: $1" >&2
    cat "$D/log" >&2
    kill "$(cat "$D/pid")" 2>/dev/null || true
    rm -rf "$D"
    exit 1
}
for _ in $(seq 200); do
    curl -s "${CURL_CA[@]}" -o /dev/null "$URL/" && break
    kill -0 "$(cat "$D/pid")" 2>/dev/null || gone "radicale exited:"
    sleep 0.05
done
curl -s "${CURL_CA[@]}" -o /dev/null "$URL/" || gone "radicale does not answer on $URL"
trap - ERR

echo "export RADICALE_DIR=$D RADICALE_PID=$(cat "$D/pid") RADICALE_URL=$URL RADICALE_USER=alice RADICALE_PASSWORD=secret RADICALE_VERSION=$VERSION"
[ "$SCHEME" = https ] && echo "export RADICALE_CACERT=$D/ca.pem"
exit 0
