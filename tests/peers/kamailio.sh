#!/bin/bash
# A throw-away Kamailio 5.6 (registrar, proxy and presence server publishing
# RFC 4235 dialog state) with two real baresip phones, alice and bob.
#
#   eval "$(tests/peers/kamailio.sh start)"     # prints export lines, see the end
#   tests/peers/kamailio.sh ua DIR alice dial sip:bob@kamailio.test   # a ctrl_tcp command
#   tests/peers/kamailio.sh ua DIR bob accept                      # (bob answers by hand)
#   tests/peers/kamailio.sh ua DIR alice hangup
#   tests/peers/kamailio.sh call DIR [TALK_S [RING_S]]  # alice calls bob, bob answers, hang up
#   tests/peers/kamailio.sh halt DIR     # stop Kamailio alone (the link-loss case)
#   tests/peers/kamailio.sh resume DIR   # start it again on the same ports
#   tests/peers/kamailio.sh stop DIR     # stop everything and remove the temp dir
#
# Everything (Kamailio, its JSON-RPC, both phones and their control ports)
# listens on an address of its own, KAMAILIO_HOST (default: a fresh one in
# 127.56.0.0/16 for each start; any 127.0.0.0/8 address works on Linux
# without configuration), never on 127.0.0.1, on free ports between 20000 and 59999 that no listener uses on any
# address: a SIP server already running on the machine (5060 on 0.0.0.0 or
# 127.0.0.1) and suites running in parallel do not collide. The SIP domain of
# the accounts is the name kamailio.test (SIP_DOMAIN, RFC 2606; Kamailio's
# alias, never resolved: the phones and pua send through the outbound proxy,
# the watcher through its `server`). A domain that is an address would be
# wrong either way: 127.0.0.1 with any port as Kamailio's alias (pua_dialoginfo
# publishes only for its own domain) would make it take a watcher's Contact on
# 127.0.0.1 for itself and misroute in-dialog requests. Calls
# Kamailio proxies are tracked by its dialog module and pua_dialoginfo PUBLISHes
# their state to its own presence server (db_text tables in DIR/db, no SQL
# server), so SUBSCRIBE sip:alice@kamailio.test sent to SIP_HOST:SIP_PORT with Event: dialog gets NOTIFYs
# with application/dialog-info+xml: the caller's first state is "Trying"
# (capital T), then early, confirmed, terminated; the callee early, confirmed,
# terminated. Watchable users: alice, bob, carol (no phone); others get 404
# (KAMAILIO_WATCHABLE=REGEX widens it, e.g. 'alice|bob|carol|line[0-9]+').
# Subscriptions live in memory only: after halt/resume they are gone (a watcher
# must subscribe again); registrations are kept in DIR/db and survive.
# SIP_RPC is Kamailio's JSON-RPC over HTTP (dlg.list, dlg.end_dlg, ...).
# OPTIONS to the server itself get 200 (the keepalive a watcher may send).
#
# KAMAILIO_AUTH=USER:PASSWORD at start: initial SUBSCRIBE, INVITE and REFER
# requests From sip:USER@... (a watcher's own account) are challenged with
# 407 and need digest credentials with that password (module auth, realm
# kamailio.test, the password compared by pv_proxy_authenticate; no user table).
# As in Kamailio's own default configuration, in-dialog requests (refreshes,
# a REFER inside a call) are not challenged, nor are the phones. The setting is
# written into DIR/kamailio.cfg, so resume keeps it. "start --auth USER:PASSWORD"
# is the same (for a caller that cannot set the environment safely: a
# threaded test program). USER is a SIP user part;
# PASSWORD may not hold a double quote, backslash, slash or ampersand.
#
# Exit 3 when Kamailio, its presence modules, baresip or nc is missing (1 with
# CI=true: CI must have them), as tests/common/harness.c expects.
set -euo pipefail

missing() {
    echo "kamailio.sh: $1 missing; install: apt-get install --no-install-recommends" \
        "kamailio kamailio-presence-modules baresip-core netcat-openbsd" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 3
}

# Where everything listens (see the header); `ua`, `call`, `resume` read it
# back from DIR/host. Empty: start picks an address of this start's own.
HOST=${KAMAILIO_HOST:-}
DOMAIN=kamailio.test
if [ -n "${2:-}" ] && [ -s "${2:-}/host" ]; then HOST=$(cat "$2/host"); fi
case "$HOST" in
"" | 127.*.*.*) ;;
*) echo "kamailio.sh: KAMAILIO_HOST must be an IPv4 address in 127.0.0.0/8, not '$HOST'" >&2; exit 2 ;;
esac

port_taken() { # PORT: a TCP or UDP listener on it on any address (ss when present, else a TCP connect)
    if command -v ss >/dev/null; then
        ss -Hlntu "( sport = :$1 )" 2>/dev/null | grep -q .
    else
        (echo >"/dev/tcp/$HOST/$1") 2>/dev/null || (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# An even free port whose successor is free too (baresip also binds PORT+1 for TLS).
free_port_pair() {
    local port
    for _ in $(seq 100); do
        port=$(($(shuf -i 10000-29999 -n 1) * 2))
        port_taken "$port" || port_taken $((port + 1)) || { echo "$port"; return; }
    done
    echo "kamailio.sh: no free port" >&2
    exit 1
}

# baresip's ctrl_tcp speaks JSON in netstrings; prints the phone's answer
# (events the phone sends meanwhile come first) and fails when no answer came
# within UA_WAIT_S (30) seconds: a command that was lost must not pass
# unnoticed, and a loaded CI machine (valgrind beside it, load 10 on 2 cores)
# needs the margin (a dial is answered within 0.4 s even there: baresip sends
# the INVITE to the outbound proxy's address, no DNS, and answers at once).
# ctrl_tcp serves one connection at a time: a newer one closes the older,
# which is reported at once, not waited out.
UA_WAIT_S=30
ua_command() { # DIR NAME COMMAND [PARAMS]
    local port json reply="" chunk status deadline=$((SECONDS + UA_WAIT_S))
    port=$(cat "$1/$2/ctrl_port")
    json="{\"command\":\"$3\",\"params\":\"${4:-}\",\"token\":\"t\"}"
    exec 3<>"/dev/tcp/$HOST/$port" || return 1
    printf '%d:%s,' "${#json}" "$json" >&3
    while [ "$SECONDS" -lt "$deadline" ]; do
        chunk=""
        status=0
        IFS= read -r -t 1 -d , chunk <&3 || status=$?
        if [ "$status" = 0 ]; then
            reply+="$chunk,"
        elif [ "$status" -gt 128 ]; then
            reply+="$chunk" # a timeout keeps what came so far; the rest follows
        else
            reply+="$chunk"
            echo "kamailio.sh: phone $2 closed the control connection" >&2
            break
        fi
        case "$reply" in *'"response":true'*'"token"'*) break ;; esac
    done
    exec 3<&-
    echo "$reply"
    case "$reply" in *'"response":true'*) return 0 ;; esac
    echo "kamailio.sh: phone $2 did not answer '$3' within $UA_WAIT_S s" \
        "(process: $(ps -o stat=,etime=,time= -p "$(cat "$1/$2/pid")" 2>&1); its log:)" >&2
    tail -n 20 "$1/$2/log" >&2
    return 1
}

alive() { # PIDS...: zombies count as gone
    ps -o stat= -p "$(echo "$@" | tr ' ' ,)" 2>/dev/null | grep -qv Z
}

kamailio_start() { # DIR: up to 30 s for its PID file (a loaded machine)
    rm -f "$1/kamailio.pid"
    kamailio -f "$1/kamailio.cfg" -P "$1/kamailio.pid" -Y "$1" -m 64 -M 8 -E \
        >>"$1/kamailio.log" 2>&1 || return 1
    local deadline=$((SECONDS + 30))
    while [ "$SECONDS" -lt "$deadline" ]; do
        [ -s "$1/kamailio.pid" ] && return 0
        sleep 0.1
    done
    return 1
}

kamailio_halt() { # DIR: Kamailio deletes its PID file itself when it exits
    [ -s "$1/kamailio.pid" ] || return 0
    local pid
    pid=$(cat "$1/kamailio.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        alive "$pid" || break
        sleep 0.1
    done
    alive "$pid" && kill -9 "$pid" 2>/dev/null
    rm -f "$1/kamailio.pid"
}

registered_count() { # DIR
    kamcmd -s "unix:$1/kamailio_ctl" ul.dump brief 2>/dev/null | grep -c 'AoR:' || true
}

wait_registered() { # DIR: both phones in the location table (up to 30 s)
    local deadline=$((SECONDS + 30))
    while [ "$SECONDS" -lt "$deadline" ]; do
        [ "$(registered_count "$1")" -ge 2 ] && return 0
        sleep 0.1
    done
    return 1
}

phones_stop() { # DIR: on SIGTERM baresip un-REGISTERs and waits; a second one forces it
    local pids
    pids=$(cat "$1"/*/pid 2>/dev/null || true)
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086
    kill $pids 2>/dev/null || true
    for _ in $(seq 30); do
        # shellcheck disable=SC2086
        alive $pids || return 0
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null || true
}

case "${1:-}" in
stop)
    phones_stop "$2"
    kamailio_halt "$2"
    rm -rf "$2"
    exit 0
    ;;
halt) kamailio_halt "$2"; exit 0 ;;
resume)
    kamailio_start "$2" || { tail -n 20 "$2/kamailio.log" >&2; exit 1; }
    # The registrations come back from DIR/db (baresip 1.0 cannot be told to
    # register again now over ctrl_tcp).
    wait_registered "$2" || { echo "kamailio.sh: registrations not restored" >&2; exit 1; }
    exit 0
    ;;
ua) ua_command "$2" "$3" "$4" "${5:-}"; exit ;;
call)
    ua_command "$2" alice dial "sip:bob@$DOMAIN"
    sleep "${4:-1}"
    ua_command "$2" bob accept
    sleep "${3:-2}"
    ua_command "$2" alice hangup
    exit 0
    ;;
start)
    if [ "${2:-}" = --auth ]; then
        KAMAILIO_AUTH=${3:?--auth needs USER:PASSWORD}
    fi
    ;;
*)
    echo "usage: $0 start [--auth USER:PASSWORD] | ua DIR NAME COMMAND [PARAMS] | call DIR [TALK_S [RING_S]]" \
        "| halt DIR | resume DIR | stop DIR" >&2
    exit 2
    ;;
esac

command -v kamailio >/dev/null || missing "kamailio"
command -v kamcmd >/dev/null || missing "kamcmd (kamailio)"
MPATH=$(find /usr/lib -maxdepth 3 -type d -path "*/kamailio/modules" 2>/dev/null | head -n 1)
[ -n "$MPATH" ] || missing "Kamailio's modules"
[ -f "$MPATH/presence_dialoginfo.so" ] || missing "presence_dialoginfo.so (kamailio-presence-modules)"
[ -d /usr/share/kamailio/dbtext/kamailio ] || missing "Kamailio's db_text tables"
command -v baresip >/dev/null || missing "baresip"
[ -f /usr/lib/baresip/modules/ctrl_tcp.so ] || missing "baresip's ctrl_tcp module (baresip-core)"
command -v nc >/dev/null || missing "nc (netcat-openbsd)"

# Each start on an address of its own in 127.56.0.0/16 that no socket uses:
# its ports then collide only with wildcard listeners, not with the phones
# and servers of the other instances (a test with two servers, suites side by
# side, other people's runs on the same machine).
if [ -z "$HOST" ]; then
    for _ in $(seq 100); do
        HOST=127.56.$(shuf -i 0-255 -n 1).$(shuf -i 1-254 -n 1)
        command -v ss >/dev/null || break
        ss -Hantu "( src $HOST )" 2>/dev/null | grep -q . || break
    done
fi

D=$(mktemp -d /tmp/ucd-kamailio.XXXXXX)
trap 'phones_stop "$D"; kamailio_halt "$D"; rm -rf "$D"' ERR EXIT
echo "$HOST" >"$D/host"
cp -r /usr/share/kamailio/dbtext/kamailio "$D/db" # presentity, active_watchers, pua, ...

write_config() { # DIR SIP_PORT RPC_PORT
    local dir=$1 sip=$2 rpc=$3
    {
        echo '#!KAMAILIO'
        echo "debug=1
children=2
tcp_children=2
auto_aliases=no
listen=udp:$HOST:$sip
listen=tcp:$HOST:$sip
listen=tcp:$HOST:$rpc
alias=\"$HOST:$sip\"
alias=\"$DOMAIN\"
tcp_accept_no_cl=yes
mpath=\"$MPATH\""
        # The domain is an alias: pua_dialoginfo publishes only for local URIs.
        # pua PUBLISHes to the presentity URI (sip:alice@kamailio.test, unresolvable)
        # unless told where this Kamailio listens: outbound_proxy below.
        # Order matters: tm before pua, dialog and pua before pua_dialoginfo,
        # presence before presence_dialoginfo, xhttp before jsonrpcs.
        for m in kex corex tm tmx sl rr pv maxfwd usrloc registrar textops siputils xlog ctl \
            xhttp jsonrpcs dialog db_text presence presence_dialoginfo pua pua_dialoginfo auth; do
            echo "loadmodule \"$m.so\""
        done
        echo "modparam(\"ctl\", \"binrpc\", \"unix:$dir/kamailio_ctl\")
modparam(\"jsonrpcs\", \"transport\", 7)
modparam(\"jsonrpcs\", \"fifo_name\", \"$dir/kamailio_rpc.fifo\")
modparam(\"jsonrpcs\", \"dgram_socket\", \"$dir/kamailio_rpc.sock\")
modparam(\"presence\", \"db_url\", \"text://$dir/db\")
modparam(\"pua\", \"db_url\", \"text://$dir/db\")
modparam(\"usrloc\", \"db_url\", \"text://$dir/db\")
modparam(\"presence\", \"server_address\", \"sip:$HOST:$sip\")
modparam(\"pua\", \"outbound_proxy\", \"sip:$HOST:$sip\")"
        cat <<'CFG'
modparam("usrloc", "db_mode", 1)             # registrations survive halt/resume (write-through)
modparam("presence", "subs_db_mode", 0)          # subscriptions in memory only
modparam("presence", "publ_cache", 2)            # presentities in memory only
modparam("presence", "clean_period", 5)          # drop expired ones within 5 s
modparam("presence", "max_expires", 3600)
modparam("presence_dialoginfo", "force_dummy_dialog", 1)  # idle: a document, not an empty body
modparam("pua", "db_mode", 0)
modparam("pua_dialoginfo", "include_callid", 1)
modparam("pua_dialoginfo", "include_tags", 1)
modparam("pua_dialoginfo", "include_localremote", 1)
modparam("pua_dialoginfo", "caller_confirmed", 0)
modparam("pua_dialoginfo", "callee_trying", 0)
modparam("pua_dialoginfo", "publish_dialog_req_within", 0)
modparam("pua_dialoginfo", "override_lifetime", 300)
request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route() || is_method("ACK")) { t_relay(); exit; }
    if (is_method("SUBSCRIBE") && uri == myself) { route(PRESENCE); }
    sl_send_reply("404", "Not here"); exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
  if (is_method("REGISTER")) { if (!save("location")) sl_reply_error(); exit; }
  if (is_method("OPTIONS") && uri == myself && $rU == $null) { sl_send_reply("200", "Alive"); exit; }
  if (is_method("SUBSCRIBE|INVITE|REFER") && $fU == "@AUTH_USER@") { route(AUTH); }
  if (is_method("PUBLISH|SUBSCRIBE")) { route(PRESENCE); }
  # A call to a user with no phone is refused before it becomes a dialog: a
  # dialog made first would stay "Trying" (a stateless reply ends nothing).
  if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
  if (is_method("INVITE")) { dlg_manage(); record_route(); }
  t_relay();
}
route[AUTH] {
  if (!pv_proxy_authenticate("$fd", "@AUTH_PASSWORD@", "0")) {
    xlog("L_NOTICE", "auth: $rm from $fU refused\n");
    proxy_challenge("$fd", "0");
    exit;
  }
  consume_credentials();
}
route[PRESENCE] {
  if (is_method("SUBSCRIBE") && !has_totag() && !($rU =~ "^(@WATCHABLE@)$")) {
    sl_send_reply("404", "No such user"); exit;
  }
  if (!t_newtran()) { sl_reply_error(); exit; }
  if (is_method("PUBLISH")) { handle_publish(); } else { handle_subscribe(); }
  t_release();
  exit;
}
event_route[xhttp:request] {
  if ($hu =~ "^/RPC") { jsonrpc_dispatch(); exit; }
  xhttp_reply("404", "Not Found", "text/plain", "");
}
CFG
    } >"$dir/kamailio.cfg"
    # Who may be watched besides the phones: KAMAILIO_WATCHABLE, a regular
    # expression over user parts (the 2,000-line benchmark watches line0001...).
    local watchable=${KAMAILIO_WATCHABLE:-alice|bob|carol}
    sed -i "s/@WATCHABLE@/${watchable//\//\\/}/" "$dir/kamailio.cfg"
    # Without KAMAILIO_AUTH the AUTH route is kept but matches no user (a From
    # user part is never empty-with-a-space).
    local auth_user=" " auth_password=" "
    if [ -n "${KAMAILIO_AUTH:-}" ]; then
        auth_user=${KAMAILIO_AUTH%%:*}
        auth_password=${KAMAILIO_AUTH#*:}
        case "$auth_user$auth_password" in *[\"\\/\&]*)
            echo "kamailio.sh: KAMAILIO_AUTH may not hold a double quote, backslash, slash or ampersand" >&2
            exit 2
            ;;
        esac
    fi
    sed -i -e "s/@AUTH_USER@/$auth_user/" -e "s/@AUTH_PASSWORD@/$auth_password/" "$dir/kamailio.cfg"
}

# A port may be taken between the check and the start: try a few.
for attempt in 1 2 3 4 5; do
    SIP_PORT=$(free_port_pair)
    RPC_PORT=$((SIP_PORT + 1))
    write_config "$D" "$SIP_PORT" "$RPC_PORT"
    kamailio -c -f "$D/kamailio.cfg" >"$D/check.log" 2>&1 || { cat "$D/check.log" >&2; exit 1; }
    kamailio_start "$D" && break
    [ "$attempt" = 5 ] && { cat "$D/kamailio.log" >&2; exit 1; }
done
echo "$SIP_PORT" >"$D/sip_port"

phone_start() { # DIR NAME: a baresip phone on fresh free ports, registering
    local dir=$1 n=$2 ua_port ctrl_port mode=manual
    mkdir -p "$dir/$n"
    ua_port=$(free_port_pair)
    # KAMAILIO_ALICE_CTRL_PORT / KAMAILIO_BOB_CTRL_PORT: that phone's control
    # port at its first start, used as given (a test holds it first to see the
    # phone started again elsewhere); later starts take a free one.
    local given="KAMAILIO_${n^^}_CTRL_PORT"
    if [ -n "${!given:-}" ] && [ ! -e "$dir/$n/ctrl_port" ]; then
        ctrl_port=${!given}
    else
        ctrl_port=$(free_port_pair)
    fi
    echo "$ctrl_port" >"$dir/$n/ctrl_port"
    echo "$ua_port" >"$dir/$n/sip_port"
    # net_interface by address (by the name 'lo' failed); opus because ausine
    # makes 48 kHz only. bob answers by hand so a test sees him ring.
    printf '%s\n' "sip_listen $HOST:$ua_port" "net_interface $HOST" \
        "audio_source ausine,440" \
        "module_path /usr/lib/baresip/modules" "module opus.so" "module ausine.so" \
        "module menu.so" "module account.so" "module ctrl_tcp.so" \
        "ctrl_tcp_listen $HOST:$ctrl_port" >"$dir/$n/config"
    [ "$n" = alice ] && mode=auto
    echo "<sip:$n@$DOMAIN;transport=udp>;outbound=\"sip:$HOST:$SIP_PORT\";regint=300;answermode=$mode;audio_codecs=opus" \
        >"$dir/$n/accounts"
    # a fresh log per start (phone_ready reads it); an earlier one is kept
    if [ -f "$dir/$n/log" ]; then cat "$dir/$n/log" >>"$dir/$n/log.earlier"; fi
    nohup baresip -f "$dir/$n" >"$dir/$n/log" 2>&1 </dev/null &
    echo $! >"$dir/$n/pid"
}

# Up to 30 s until the phone is ready: registered (its own log shows the
# 200 OK; Kamailio's table may still hold an earlier start's binding) and its
# control port its own, answering as that phone. baresip runs on, registered
# but deaf, when ctrl_tcp cannot bind its port, and whatever holds the port
# (another suite's SIP listener or phone) may accept a connection and say
# nothing: an answering port was not proof (CI: "phone alice did not answer
# 'dial'" in sip-link's valgrind pass). Fails at once when baresip logged that
# ctrl_tcp failed or when it exited.
phone_ready() { # DIR NAME
    local log=$1/$2/log deadline=$((SECONDS + 30))
    while [ "$SECONDS" -lt "$deadline" ]; do
        grep -qE 'module ctrl_tcp\.so:|ctrl_tcp: failed' "$log" && return 1
        alive "$(cat "$1/$2/pid")" || return 1
        if grep -q "$2@$DOMAIN: .* 200 OK" "$log"; then
            ua_command "$1" "$2" reginfo 2>/dev/null | grep -q "sip:$2@$DOMAIN"
            return
        fi
        sleep 0.1
    done
    return 1
}

for n in alice bob; do phone_start "$D" "$n"; done
# A port free when chosen may be taken before baresip binds it (other suites
# start phones and SIP stacks at the same time): a phone that is not ready is
# started again on other ports, twice at most.
for n in alice bob; do
    for attempt in 1 2 3; do
        phone_ready "$D" "$n" && break
        if [ "$attempt" = 3 ]; then
            echo "kamailio.sh: phone $n did not get ready (registered, its control port answering)" >&2
            cat "$D/$n/log.earlier" "$D/$n/log" >&2
            exit 1
        fi
        echo "kamailio.sh: phone $n not ready (not registered, or its control port" \
            "$(cat "$D/$n/ctrl_port") not its own), starting it again" >&2
        kill -9 "$(cat "$D/$n/pid")" 2>/dev/null || true
        phone_start "$D" "$n"
    done
done
trap - ERR EXIT

echo "export SIP_DIR='$D'"
echo "export SIP_HOST='$HOST'"
echo "export SIP_PORT='$SIP_PORT'"
echo "export SIP_DOMAIN='$DOMAIN'"
echo "export SIP_RPC='http://$HOST:$RPC_PORT/RPC'"
echo "export SIP_ALICE_CTRL='$(cat "$D/alice/ctrl_port")'"
echo "export SIP_BOB_CTRL='$(cat "$D/bob/ctrl_port")'"
