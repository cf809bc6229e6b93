#!/bin/bash
# tests/peers/nginx.sh - a real nginx in front of ucd's api-http, running
# the admin recipe config/nginx/ucd-api.conf: TLS with a certificate made
# here by openssl (signed by a test CA), REST and the WebSocket event stream
# proxied to ucd's plain-HTTP listener. Any user, loopback only.
#
#   eval "$(tests/peers/nginx.sh start UPSTREAM [MAX_BODY [ADDR]])"  # prints exports
#   tests/peers/nginx.sh stop "$NGINX_DIR"     # stops it by PID, removes the dir
#
# UPSTREAM is api-http's http_listen, HOST:PORT (127.0.0.1:7224). MAX_BODY
# (bytes, default 1048576) becomes client_max_body_size, as the recipe asks.
# nginx listens on an address of its own in 127.0.0.0/8, free ports, and
# connects to ucd from that same address (proxy_bind), so ucd tells it apart
# from a client on 127.0.0.1 (the test of trusted_proxies). ADDR picks the
# address (the test puts it into trusted_proxies before nginx runs). A second, plain-HTTP server on NGINX_STATIC_URL serves
# the files in NGINX_STATIC_DIR (the REST benchmark's static JSON).
# NGINX_WORKERS sets worker_processes (default 1: one process, as ucd's
# HTTP runs on one main loop).
# Exports: NGINX_DIR NGINX_PID NGINX_ADDR NGINX_PORT NGINX_URL NGINX_CACERT
#          NGINX_STATIC_URL NGINX_STATIC_DIR
# Exit 77 when nginx or openssl is missing (1 with CI=true: CI must have it).
set -euo pipefail
RECIPE=$(cd "$(dirname "$0")/../../config/nginx" && pwd)/ucd-api.conf

if [ "${1:-}" = stop ]; then
    dir=${2:?usage: nginx.sh stop DIR}
    if [ -f "$dir/nginx.pid" ]; then
        pid=$(cat "$dir/nginx.pid")
        kill -QUIT "$pid" 2>/dev/null || true # graceful: workers finish, then exit
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
    exit 0
fi
[ "${1:-}" = start ] && [ -n "${2:-}" ] ||
    { echo "usage: nginx.sh start UPSTREAM_HOST:PORT [MAX_BODY [ADDR]] | stop DIR" >&2; exit 2; }
UPSTREAM=$2
MAX_BODY=${3:-1048576}
ADDR=${4:-}

missing() {
    echo "nginx.sh: $1 missing; install: ./dev deps (apt-get install nginx openssl)" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 77
}
NGINX=$(PATH=$PATH:/usr/sbin command -v nginx) || missing nginx
command -v openssl >/dev/null || missing openssl
[ -f "$RECIPE" ] || { echo "nginx.sh: $RECIPE not found" >&2; exit 1; }

# shellcheck source=tests/peers/loopback.sh
. "$(dirname "$0")/loopback.sh"

D=$(mktemp -d /tmp/ucd-nginx.XXXXXX)
# nginx's workers run as nobody when started by root: they must reach the
# static files (the master alone reads the key).
chmod 755 "$D"
mkdir -m 755 "$D/static"
trap 'if [ -f "$D/nginx.pid" ]; then kill -KILL "$(cat "$D/nginx.pid")" 2>/dev/null; fi; rm -rf "$D"' ERR
[ -n "$ADDR" ] || ADDR=$(own_address)

# A test CA and a server certificate for the address and localhost.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=ucd test CA (nginx.sh)" -keyout "$D/ca-key.pem" -out "$D/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=localhost" -keyout "$D/key.pem" -out "$D/req.pem" 2>/dev/null
printf 'subjectAltName=IP:%s,DNS:localhost\nextendedKeyUsage=serverAuth\n' "$ADDR" >"$D/ext.cnf"
openssl x509 -req -in "$D/req.pem" -CA "$D/ca.pem" -CAkey "$D/ca-key.pem" -CAcreateserial \
    -days 30 -extfile "$D/ext.cnf" -out "$D/cert.pem" 2>/dev/null
chmod 600 "$D/key.pem" "$D/ca-key.pem"

# The recipe with the test's values: each line replaced must be there, so a
# change of the recipe that the test would no longer follow fails here.
site() { # PORT
    local out=$D/ucd-api.conf
    cp "$RECIPE" "$out"
    replace() { # OLD NEW: literal strings
        grep -qF -- "$1" "$out" || { echo "nginx.sh: \"$1\" is no longer in $RECIPE" >&2; exit 1; }
        local old new
        old=$(printf '%s' "$1" | sed 's/[][\/.^$*]/\\&/g')
        new=$(printf '%s' "$2" | sed 's/[\/&]/\\&/g')
        sed -i "s/$old/$new/" "$out"
    }
    replace "server 127.0.0.1:7224;" "server $UPSTREAM;"
    replace "listen 443 ssl;" "listen $ADDR:$1 ssl;"
    replace "listen [::]:443 ssl;" ""
    replace "server_name ucd.example.com;" "server_name localhost $ADDR;"
    replace "ssl_certificate /etc/ssl/ucd/fullchain.pem;" "ssl_certificate $D/cert.pem;"
    replace "ssl_certificate_key /etc/ssl/ucd/privkey.pem;" "ssl_certificate_key $D/key.pem;"
    replace "client_max_body_size 1m;" "client_max_body_size $MAX_BODY;"
}

config() { # PORT STATIC_PORT
    local user=""
    [ "$(id -u)" = 0 ] && user="user nobody nogroup;"
    cat >"$D/nginx.conf" <<CONF
$user
worker_processes ${NGINX_WORKERS:-1};
daemon on;
pid $D/nginx.pid;
error_log $D/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $D/client_body;
    proxy_temp_path $D/proxy;
    fastcgi_temp_path $D/fastcgi;
    uwsgi_temp_path $D/uwsgi;
    scgi_temp_path $D/scgi;
    types { application/json json; }
    default_type application/octet-stream;
    # To ucd from nginx's own address (see the top of this script).
    proxy_bind $ADDR;
    include $D/ucd-api.conf;
    server {
        listen $ADDR:$2;
        root $D/static;
        keepalive_requests 1000000;
    }
}
CONF
}

# A port may be taken between the check and the start: try a few.
for attempt in 1 2 3 4 5; do
    PORT=$(free_port "$ADDR")
    STATIC_PORT=$(free_port "$ADDR")
    [ "$PORT" != "$STATIC_PORT" ] || continue
    site "$PORT"
    config "$PORT" "$STATIC_PORT"
    "$NGINX" -t -q -p "$D" -c "$D/nginx.conf" -e "$D/error.log" 2>"$D/check.log" ||
        { cat "$D/check.log" "$D/error.log" >&2 2>/dev/null; exit 1; }
    "$NGINX" -p "$D" -c "$D/nginx.conf" -e "$D/error.log" 2>>"$D/start.log" && break
    [ "$attempt" = 5 ] && { cat "$D/start.log" "$D/error.log" >&2 2>/dev/null; exit 1; }
done
for _ in $(seq 100); do [ -s "$D/nginx.pid" ] && break; sleep 0.05; done
[ -s "$D/nginx.pid" ] || { echo "nginx.sh: nginx wrote no pid file" >&2; cat "$D/error.log" >&2; exit 1; }
# Up when the TLS port answers.
for _ in $(seq 100); do (echo >"/dev/tcp/$ADDR/$PORT") 2>/dev/null && break; sleep 0.05; done
trap - ERR

echo "export NGINX_DIR=$D NGINX_PID=$(cat "$D/nginx.pid") NGINX_ADDR=$ADDR NGINX_PORT=$PORT"
echo "export NGINX_URL=https://$ADDR:$PORT NGINX_CACERT=$D/ca.pem"
echo "export NGINX_STATIC_URL=http://$ADDR:$STATIC_PORT NGINX_STATIC_DIR=$D/static"
