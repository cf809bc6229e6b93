# tests/peers/loopback.sh - sourced by peer scripts that listen on an
# address of their own in 127.0.0.0/8 (nginx.sh; postgres.sh and mariadb.sh
# have the same two functions inline).

# 127.A.B.C with A >= 1: never 127.0.0.1, rarely the same twice.
own_address() {
    echo "127.$(shuf -i 1-254 -n 1).$(shuf -i 0-255 -n 1).$(shuf -i 1-254 -n 1)"
}

# A port on ADDR that nothing answers on now (a start may still lose it to
# another process: retry the start).
free_port() { # ADDR
    local port
    for _ in $(seq 50); do
        port=$(shuf -i 20000-59999 -n 1)
        (echo >"/dev/tcp/$1/$port") 2>/dev/null || { echo "$port"; return; }
    done
    echo "$(basename "$0"): no free port on $1" >&2
    exit 1
}
