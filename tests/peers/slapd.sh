#!/bin/bash
# tests/peers/slapd.sh - an OpenLDAP slapd with an Active-Directory-like schema,
# for the users-ldap tests and benchmark. Any user, no root, loopback only.
#
#   eval "$(tests/peers/slapd.sh start [N_USERS])"   # prints shell exports
#   tests/peers/slapd.sh stop "$LDAP_DIR"             # stops it by PID, removes the dir
#
# What it gives: base dc=example,dc=test; ou=Users with N users cn=userI
# (sAMAccountName userI, userPrincipalName userI@example.test, objectGUID of
# 16 bytes, telephoneNumber "+1 555 000000I", homeServer pbx(I%3), memberOf
# cn=grp(I%10), password Passw0rd); ou=Groups with 10 groupOfNames grp0..grp9,
# nested three deep as in AD: grpG is a member of deptD (D = G%3), each dept
# of company; the nesting is in the parents' member lists and, AD-like, in
# the children's memberOf (14 groups in all).
# Like AD, plain searches are capped at 1,000 entries (paged ones are not).
# ldap:// (with StartTLS) and ldaps:// listen on two free ports; the server
# certificate is signed by a test CA (LDAP_CACERT); a second, unrelated CA
# (LDAP_OTHER_CACERT) is there to prove that verification refuses.
# LDAP_CERT_DAYS=-1 in the environment makes the server certificate expired
# (valid until yesterday), for the tests that it must be refused.
# LDAP_CERT_NAME=NAME makes it a certificate for NAME only (not localhost or
# 127.0.0.1): a name mismatch. LDAP_REQUIRE_TLS=1 makes slapd refuse simple
# binds without TLS (confidentialityRequired).
# Exports: LDAP_DIR LDAP_PID LDAP_URI LDAPS_URI LDAP_CACERT LDAP_OTHER_CACERT
#          LDAP_BASE LDAP_ADMIN_DN LDAP_ADMIN_PW
set -euo pipefail

BASE=dc=example,dc=test
ADMIN=cn=admin,dc=example,dc=test
ADMIN_PW=secret

if [ "${1:-}" = stop ]; then
    dir=${2:?usage: slapd.sh stop DIR}
    if [ -f "$dir/slapd.pid" ]; then
        pid=$(cat "$dir/slapd.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    fi
    rm -rf "$dir"
    exit 0
fi
[ "${1:-}" = start ] || { echo "usage: slapd.sh start [N] | stop DIR" >&2; exit 2; }
N=${2:-100}

for tool in slapd ldapadd slappasswd openssl python3; do
    command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin
    command -v "$tool" >/dev/null || { echo "slapd.sh: $tool not found (apt-get install slapd ldap-utils openssl python3)" >&2; exit 3; }
done

D=$(mktemp -d /tmp/ucd-slapd.XXXXXX)
mkdir "$D/db"
trap 'if [ -f "$D/slapd.pid" ]; then kill "$(cat "$D/slapd.pid")" 2>/dev/null; fi; rm -rf "$D"' ERR

# Two free TCP ports on 127.0.0.1 (the kernel picks them).
read -r PORT SPORT < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

# A test CA, the server certificate it signs, and an unrelated second CA.
make_ca() { openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$2" \
    -keyout "$D/$1-key.pem" -out "$D/$1.pem" 2>/dev/null; }
make_ca ca "ucd test CA"
make_ca other-ca "some other CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=${LDAP_CERT_NAME:-localhost}" -keyout "$D/key.pem" -out "$D/req.pem" 2>/dev/null
if [ -n "${LDAP_CERT_NAME:-}" ]; then
    printf 'subjectAltName=DNS:%s\n' "$LDAP_CERT_NAME" > "$D/ext.cnf"
else
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$D/ext.cnf"
fi
openssl x509 -req -in "$D/req.pem" -CA "$D/ca.pem" -CAkey "$D/ca-key.pem" -CAcreateserial \
    -days "${LDAP_CERT_DAYS:-30}" -extfile "$D/ext.cnf" -out "$D/cert.pem" 2>/dev/null

# The slice of the AD schema the plugin reads (AD's own OIDs), plus a plain
# homeServer attribute for sites that extend their schema.
cat > "$D/ad-lite.schema" <<'SCHEMA'
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch
  SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch
  SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.227 NAME 'extensionName' EQUALITY caseIgnoreMatch
  SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.2.840.113556.1.2.102 NAME 'memberOf' EQUALITY distinguishedNameMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )
attributetype ( 1.2.840.113556.1.4.2 NAME 'objectGUID' EQUALITY octetStringMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl' EQUALITY integerMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.141 NAME 'department' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.721 NAME 'ipPhone' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.3.6.1.4.1.99999.1.1.1 NAME 'homeServer' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.1.1.2 NAME 'blob' SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )
objectclass ( 1.3.6.1.4.1.99999.1.2.1 NAME 'adUser' AUXILIARY MAY ( sAMAccountName $
  userPrincipalName $ extensionName $ memberOf $ objectGUID $ homeServer $
  userAccountControl $ department $ ipPhone $ blob ) )
SCHEMA

cat > "$D/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include $D/ad-lite.schema
pidfile $D/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile $D/ca.pem
TLSCertificateFile $D/cert.pem
TLSCertificateKeyFile $D/key.pem
# like AD: plain searches capped at 1,000 entries, paged searches unlimited
sizelimit size.soft=1000 size.hard=1000 size.prtotal=unlimited
$([ "${LDAP_REQUIRE_TLS:-}" = 1 ] && echo "security simple_bind=128")
access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read
access to attrs=userPassword by anonymous auth by self =w by * none
access to * by users read by * none
database mdb
suffix "$BASE"
rootdn "$ADMIN"
rootpw $ADMIN_PW
directory $D/db
maxsize 4294967296
dbnosync
index objectClass,uid,cn,sAMAccountName,userPrincipalName,telephoneNumber,extensionName,memberOf eq
index modifyTimestamp,entryCSN eq
CONF

slapd -f "$D/slapd.conf" -h "ldap://127.0.0.1:$PORT/ ldaps://127.0.0.1:$SPORT/"
for _ in $(seq 100); do
    ldapsearch -x -H "ldap://127.0.0.1:$PORT" -b "" -s base >/dev/null 2>&1 && break
    sleep 0.1
done

HASH=$(slappasswd -s Passw0rd)
awk -v n="$N" -v b="$BASE" -v h="$HASH" 'BEGIN {
  a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  printf "dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: Example\n\n", b
  printf "dn: ou=Users,%s\nobjectClass: organizationalUnit\n\n", b
  printf "dn: ou=Groups,%s\nobjectClass: organizationalUnit\n\n", b
  printf "dn: cn=company,ou=Groups,%s\nobjectClass: groupOfNames\ndescription: everyone\n", b
  for (d = 0; d < 3; d++) printf "member: cn=dept%d,ou=Groups,%s\n", d, b
  print ""
  for (d = 0; d < 3; d++) {
    printf "dn: cn=dept%d,ou=Groups,%s\nobjectClass: groupOfNames\nobjectClass: adUser\n", d, b
    printf "description: department %d\nmemberOf: cn=company,ou=Groups,%s\n", d, b
    for (g = 0; g < 10; g++) if (g % 3 == d) printf "member: cn=grp%d,ou=Groups,%s\n", g, b
    print ""
  }
  for (g = 0; g < 10; g++) {
    printf "dn: cn=grp%d,ou=Groups,%s\nobjectClass: groupOfNames\nobjectClass: adUser\n", g, b
    printf "description: group %d\nmemberOf: cn=dept%d,ou=Groups,%s\n", g, g % 3, b
    for (i = 1; i <= n; i++) if (i % 10 == g) printf "member: cn=user%d,ou=Users,%s\n", i, b
    if (g * 10 > n) printf "member: %s\n", b   # groupOfNames needs one member
    print ""
  }
  for (i = 1; i <= n; i++) {
    guid = substr(a, int(i / 4096) % 64 + 1, 1) substr(a, int(i / 64) % 64 + 1, 1) substr(a, i % 64 + 1, 1)
    printf "dn: cn=user%d,ou=Users,%s\nobjectClass: inetOrgPerson\nobjectClass: adUser\n", i, b
    printf "sn: User%d\ngivenName: Test\ndisplayName: Test User%d\nmail: user%d@example.test\n", i, i, i
    printf "uid: user%d\nsAMAccountName: user%d\nuserPrincipalName: user%d@example.test\n", i, i, i
    printf "telephoneNumber: +1 555 %07d\nextensionName: %d\nhomeServer: pbx%d.example.test\n", i, 10000 + i, i % 3
    printf "userAccountControl: 512\ndepartment: Sales\ntitle: Agent\n"
    printf "memberOf: cn=grp%d,ou=Groups,%s\nobjectGUID:: q1OssqC1kUCrtq3Hus%sA==\nuserPassword: %s\n\n", i % 10, b, guid, h
  }
}' > "$D/data.ldif"
# With LDAP_REQUIRE_TLS the load itself needs StartTLS (the name need not match).
STARTTLS=()
[ "${LDAP_REQUIRE_TLS:-}" = 1 ] && STARTTLS=(-ZZ)
LDAPTLS_REQCERT=never ldapadd -x "${STARTTLS[@]}" -c -H "ldap://127.0.0.1:$PORT" -D "$ADMIN" \
    -w "$ADMIN_PW" -f "$D/data.ldif" >/dev/null
rm -f "$D/data.ldif"
trap - ERR

echo "export LDAP_DIR=$D LDAP_PID=$(cat "$D/slapd.pid") LDAP_URI=ldap://127.0.0.1:$PORT LDAPS_URI=ldaps://127.0.0.1:$SPORT LDAP_CACERT=$D/ca.pem LDAP_OTHER_CACERT=$D/other-ca.pem LDAP_BASE=$BASE LDAP_ADMIN_DN=$ADMIN LDAP_ADMIN_PW=$ADMIN_PW"
