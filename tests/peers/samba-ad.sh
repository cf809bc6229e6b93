#!/bin/bash
# tests/peers/samba-ad.sh - a real Samba Active Directory domain controller,
# for the users-ldap 'samba-ad' test suite and benchmark. NEEDS ROOT. Samba's
# LDAP server has fixed ports: 389 and 636 (LDAP, LDAPS) and 3268/3269 (the
# global catalog, which Samba always opens). So the DC gets loopback addresses
# of its own (SAMBA_ADDR, default a random one in 127.0.0.0/8, and the next
# one: "interfaces" + "bind interfaces only"): an LDAP server already on
# 127.0.0.1:389, or another DC of a parallel test, is no obstacle. Only the
# LDAP service runs: no KDC (88, 464), DNS, SMB or RPC, which simple binds do
# not need.
#
#   tests/peers/samba-ad.sh check                 # exit 0, or the reason on stderr
#   eval "$(tests/peers/samba-ad.sh start [N])"    # prints shell exports
#   tests/peers/samba-ad.sh guids "$SAMBA_DIR"     # "LOGIN GUID" of each user, as Samba writes GUIDs
#   tests/peers/samba-ad.sh stop "$SAMBA_DIR"      # stops it by PID, removes the dir
#
# What it gives: the domain EXAMPLE.TEST (base DC=example,DC=test), provisioned
# in a temp dir with an empty smb.conf (the machine's own /etc/samba is never
# read), only the LDAP service running, on SAMBA_ADDR and SAMBA_ADDR2. In it:
#   OU=Staff:  N users (default 50) userI: givenName Test, sn UserI,
#              telephoneNumber "+1 555 01I", mail, department Sales, title Agent,
#              password SAMBA_USER_PW;
#              user2 has extensionName "<16,pbx2>" (its home server) and "4711",
#              user3 has extensionName "<16,pbx1>";
#              the last user is disabled (userAccountControl 514).
#   OU=Groups: Agents (user1..user10), Sales (user11..user20) and Phones
#              (user41..user45 and the group Agents: a nested group);
#              three levels: Support (user21..user25) in All-Support, which
#              is in Company (with user26 directly).
#   CN=Users:  svc-ucd, an ordinary domain user, the service account.
#
# TLS: Samba makes its own certificate at first start, but it names only
# "DC1.example.test" (CN, no subjectAltName), a name nothing resolves here
# without editing /etc/hosts, which a test must not do. So the DC gets a
# certificate from a test CA of this script that names localhost and
# SAMBA_ADDR (not SAMBA_ADDR2: a name it does not cover, for the tests), and
# clients verify it, host name included, with SAMBA_CACERT.
# Samba's default "ldap server require strong auth = yes" is kept: a simple
# bind needs TLS (StartTLS or ldaps), as on a well-run AD.
#
# Exports: SAMBA_DIR SAMBA_PID SAMBA_ADDR SAMBA_URI SAMBA_LDAPS_URI
#          SAMBA_OTHER_LDAPS_URI (SAMBA_ADDR2, not in the certificate) SAMBA_CACERT
#          SAMBA_BASE SAMBA_USERS_DN SAMBA_GROUPS_DN SAMBA_USERS
#          SAMBA_ADMIN_DN SAMBA_ADMIN_PW SAMBA_BIND_DN SAMBA_BIND_PW SAMBA_USER_PW
set -euo pipefail

REALM=EXAMPLE.TEST
BASE=DC=example,DC=test
ADMIN_PW='Adm1n-Passw0rd'
BIND_PW='Svc-Passw0rd1'
USER_PW='Us3r-Passw0rd'
PORTS=(389 636 3268 3269)
# A loopback address of the DC's own, and the next one (see above).
if [ -z "${SAMBA_ADDR:-}" ]; then
    SAMBA_ADDR=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
fi
SAMBA_ADDR2=${SAMBA_ADDR%.*}.$(( ${SAMBA_ADDR##*.} % 254 + 1 ))
# samba-tool and Samba's python modules are Debian's: never a python3 of pyenv/venv.
PYTHON=/usr/bin/python3
PATH=$PATH:/usr/sbin:/sbin

# Prints why a DC cannot run here, or nothing.
why_not() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "Samba AD DC needs root (it runs as root and binds port 389)"
        return
    fi
    for tool in samba samba-tool ldapsearch openssl; do
        command -v "$tool" >/dev/null ||
            { echo "$tool not found (apt-get install samba-ad-dc samba-ad-provision python3-samba ldap-utils openssl)"; return; }
    done
    "$PYTHON" -c 'import samba.samdb' 2>/dev/null ||
        { echo "Samba's python modules are missing (apt-get install python3-samba)"; return; }
    local busy
    busy=$("$PYTHON" - "$SAMBA_ADDR" "$SAMBA_ADDR2" "${PORTS[@]}" <<'EOF'
import socket, sys
for address in sys.argv[1:3]:
    for port in sys.argv[3:]:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, int(port)))
        except OSError:
            print("%s:%s" % (address, port), end=" ")
        s.close()
EOF
)
    [ -z "$busy" ] || echo "${busy% } already in use (another DC on this address? set SAMBA_ADDR)"
}

stop_dc() {
    local dir=$1 pid
    if [ -f "$dir/samba.pid" ]; then
        pid=$(cat "$dir/samba.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
check)
    reason=$(why_not)
    [ -z "$reason" ] || { echo "$reason" >&2; exit 1; }
    exit 0 ;;
guids)
    dir=${2:?usage: samba-ad.sh guids DIR}
    exec "$PYTHON" - "$dir/etc/smb.conf" <<'EOF'
import sys
from samba.samdb import SamDB
from samba.param import LoadParm
from samba.auth import system_session
from samba.dcerpc import misc
from samba.ndr import ndr_unpack
lp = LoadParm()
lp.load(sys.argv[1])
db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
for user in db.search("OU=Staff," + str(db.domain_dn()), expression="(objectClass=user)",
                      attrs=["sAMAccountName", "objectGUID"]):
    print(user["sAMAccountName"][0].decode(), ndr_unpack(misc.GUID, user["objectGUID"][0]))
EOF
    ;;
stop)
    stop_dc "${2:?usage: samba-ad.sh stop DIR}"
    exit 0 ;;
start) ;;
*)  echo "usage: samba-ad.sh check | start [N] | guids DIR | stop DIR" >&2; exit 2 ;;
esac
N=${2:-50}
reason=$(why_not)
[ -z "$reason" ] || { echo "samba-ad.sh: $reason" >&2; exit 3; }

D=$(mktemp -d /tmp/ucd-samba.XXXXXX)
# Whatever fails from here on, samba does not stay behind.
trap 'stop_dc "$D"' EXIT

: > "$D/empty.conf"
samba-tool domain provision -s "$D/empty.conf" --targetdir="$D" --realm=$REALM --domain=EXAMPLE \
    --server-role=dc --dns-backend=NONE --host-name=dc1 --host-ip="$SAMBA_ADDR" \
    --adminpass="$ADMIN_PW" --option="interfaces=$SAMBA_ADDR/8 $SAMBA_ADDR2/8" \
    --option="bind interfaces only=yes" \
    --option="server services=ldap" >"$D/provision.log" 2>&1 || { cat "$D/provision.log" >&2; exit 1; }

# The test CA and the DC's certificate (see TLS above).
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=ucd samba test CA" \
    -keyout "$D/ca-key.pem" -out "$D/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout "$D/key.pem" \
    -out "$D/req.pem" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:%s\n' "$SAMBA_ADDR" > "$D/ext.cnf"
openssl x509 -req -in "$D/req.pem" -CA "$D/ca.pem" -CAkey "$D/ca-key.pem" -CAcreateserial \
    -days 30 -extfile "$D/ext.cnf" -out "$D/cert.pem" 2>/dev/null
chmod 600 "$D/key.pem"   # Samba refuses a key others can read

# Only the LDAP server (provision's "server services" above: no KDC, DNS,
# SMB, RPC), everything in the temp dir.
sed -i "/^\[global\]/a\\
\tpid directory = $D\n\tncalrpc dir = $D/ncalrpc\n\tlog file = $D/log.samba\n\ttls enabled = yes\n\ttls keyfile = $D/key.pem\n\ttls certfile = $D/cert.pem\n\ttls cafile = $D/ca.pem" \
    "$D/etc/smb.conf"

# The directory's content, written straight into sam.ldb before the DC starts
# (one python process: a samba-tool call per user takes a quarter second).
"$PYTHON" - "$D/etc/smb.conf" "$N" "$USER_PW" "$BIND_PW" <<'EOF'
import sys
import ldb
from samba.samdb import SamDB
from samba.param import LoadParm
from samba.auth import system_session

conf, n, user_pw, bind_pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lp = LoadParm()
lp.load(conf)
db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
base = str(db.domain_dn())

def set_values(login, attribute, values):
    dn = db.search(base, expression="(sAMAccountName=%s)" % login, attrs=[])[0].dn
    message = ldb.Message(dn)
    message[attribute] = ldb.MessageElement(values, ldb.FLAG_MOD_REPLACE, attribute)
    db.modify(message)

db.transaction_start()
for ou in ("Staff", "Groups"):
    db.add({"dn": "OU=%s,%s" % (ou, base), "objectClass": "organizationalUnit"})
db.newuser("svc-ucd", bind_pw)
for i in range(1, min(n, 50) + 1):
    db.newuser("user%d" % i, user_pw, userou="OU=Staff", givenname="Test",
               surname="User%d" % i, telephonenumber="+1 555 01%d" % i,
               mailaddress="user%d@example.test" % i, department="Sales", jobtitle="Agent")
# Beyond 50 (the benchmark's large sets): plain adds without a password
# (newuser hashes one per user, a quarter second each), straight into
# sam.ldb through Samba's module stack (objectSid, objectGUID, USNs as the DC
# makes them), each user a member of Support, Agents or Sales.
bulk = {"Support": [], "Agents": [], "Sales": []}
for i in range(51, n + 1):
    dn = "CN=user%d,OU=Staff,%s" % (i, base)
    db.add({"dn": dn, "objectClass": "user", "sAMAccountName": "user%d" % i,
            "givenName": "Test", "sn": "User%d" % i, "displayName": "Test User%d" % i,
            "telephoneNumber": "+1 555 %07d" % i, "mail": "user%d@example.test" % i,
            "department": "Sales", "title": "Agent", "userAccountControl": "544"})
    bulk[("Support", "Agents", "Sales")[i % 3]].append(dn)
for name in ("Agents", "Sales", "Phones"):
    db.newgroup(name, groupou="OU=Groups")
db.add_remove_group_members("Agents", ["user%d" % i for i in range(1, 11)])
db.add_remove_group_members("Sales", ["user%d" % i for i in range(11, 21)])
db.add_remove_group_members("Phones", ["user%d" % i for i in range(41, 46)] + ["Agents"])
for name in ("Support", "All-Support", "Company"):
    db.newgroup(name, groupou="OU=Groups")
db.add_remove_group_members("Support", ["user%d" % i for i in range(21, 26)])
db.add_remove_group_members("All-Support", ["Support"])
db.add_remove_group_members("Company", ["All-Support", "user26"])
for name, members in bulk.items():
    if members:
        group = db.search(base, expression="(sAMAccountName=%s)" % name, attrs=[])[0].dn
        message = ldb.Message(group)
        message["member"] = ldb.MessageElement(members, ldb.FLAG_MOD_ADD, "member")
        db.modify(message)
set_values("user2", "extensionName", [b"<16,pbx2>", b"4711"])
set_values("user3", "extensionName", [b"<16,pbx1>"])
set_values("user%d" % n, "userAccountControl", [b"514"])  # NORMAL_ACCOUNT | ACCOUNTDISABLE
db.transaction_commit()
EOF

samba -s "$D/etc/smb.conf" -M single -D
for _ in $(seq 300); do
    ldapsearch -x -H ldap://$SAMBA_ADDR -b "" -s base >/dev/null 2>&1 && break
    sleep 0.1
done
ldapsearch -x -H ldap://$SAMBA_ADDR -b "" -s base >/dev/null 2>&1 ||
    { echo "samba-ad.sh: the DC did not answer; its log:" >&2; tail -20 "$D/log.samba" >&2; exit 1; }
# Answering anonymously comes before being ready for what a client does
# first: StartTLS, verified, and a bind as the service account. Wait for that
# too, or a test's first sync can meet a DC that is still starting up.
ready=0
for _ in $(seq 300); do
    if LDAPTLS_CACERT="$D/ca.pem" ldapsearch -x -ZZ -H ldap://$SAMBA_ADDR \
        -D "CN=svc-ucd,CN=Users,$BASE" -w "$BIND_PW" -b "$BASE" -s base >/dev/null 2>&1; then
        ready=1
        break
    fi
    sleep 0.1
done
[ "$ready" = 1 ] ||
    { echo "samba-ad.sh: the DC refused StartTLS and bind; its log:" >&2; tail -20 "$D/log.samba" >&2; exit 1; }
trap - EXIT

echo "export SAMBA_DIR=$D SAMBA_PID=$(cat "$D/samba.pid") SAMBA_ADDR=$SAMBA_ADDR" \
    "SAMBA_URI=ldap://$SAMBA_ADDR SAMBA_LDAPS_URI=ldaps://$SAMBA_ADDR" \
    "SAMBA_OTHER_LDAPS_URI=ldaps://$SAMBA_ADDR2 SAMBA_CACERT=$D/ca.pem SAMBA_BASE=$BASE" \
    "SAMBA_USERS_DN=OU=Staff,$BASE SAMBA_GROUPS_DN=OU=Groups,$BASE SAMBA_USERS=$N" \
    "SAMBA_ADMIN_DN=CN=Administrator,CN=Users,$BASE SAMBA_ADMIN_PW=$ADMIN_PW" \
    "SAMBA_BIND_DN=CN=svc-ucd,CN=Users,$BASE SAMBA_BIND_PW=$BIND_PW SAMBA_USER_PW=$USER_PW"
