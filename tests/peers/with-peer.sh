#!/bin/bash
# tests/peers/with-peer.sh - runs a test program with a real peer around it.
#
#   with-peer.sh KIND PEERS_DIR PROGRAM [ARGS...]
#
# KIND is none, sqlite-odbc, postgres, mariadb, slapd or samba-ad. The peer's script
# (PEERS_DIR/KIND.sh) starts it, its export lines are evaluated, so PROGRAM
# finds the peer in its environment (PG_ODBC, MARIADB_ODBC, LDAP_URI, ...),
# and the peer is stopped when PROGRAM ends, however it ends. A peer the
# machine lacks makes its script exit 77 (slapd.sh: 3), which meson counts
# as a skip, or 1 with CI=true (the scripts decide), which fails the test.
set -uo pipefail
kind=${1:?usage: with-peer.sh KIND PEERS_DIR PROGRAM [ARGS...]}
peers=${2:?usage: with-peer.sh KIND PEERS_DIR PROGRAM [ARGS...]}
shift 2
case $kind in
none) exec "$@" ;;
sqlite-odbc) dir_var=SQLITE_ODBC_DIR ;;
postgres) dir_var=PG_DIR ;;
mariadb) dir_var=MARIADB_DIR ;;
slapd) dir_var=LDAP_DIR ;;
samba-ad) dir_var=SAMBA_DIR ;;
*) echo "with-peer.sh: unknown peer $kind" >&2; exit 2 ;;
esac
script="$peers/$kind.sh"
exports=$("$script" start ${WITH_PEER_ARGS:-}) || {
    rc=$?
    # slapd.sh says "missing" with 3: a skip too, unless in CI
    [ "$rc" = 3 ] && [ "${CI:-}" != true ] && exit 77
    exit "$rc"
}
eval "$exports"
export WITH_PEER_SCRIPT="$script" # for a test that stops its peer midway
trap '"$script" stop "${!dir_var}" >/dev/null 2>&1' EXIT
trap 'exit 143' TERM INT
"$@"
