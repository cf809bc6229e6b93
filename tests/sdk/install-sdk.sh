#!/bin/sh
# install-sdk.sh - installs ucd the two ways docs/sdk/tutorial.md tells an
# integrator to, proves nothing lands outside the prefix, builds plugins out
# of tree against that installed SDK with pkg-config, and loads them in the
# installed ucd.
#
#   install-sdk.sh destdir MESON BUILD_ROOT WORK_DIR PLUGIN_SRC...
#       `meson install --destdir WORK_DIR/dest` of an existing build (its
#       configured prefix, /usr/local by default, staged under WORK_DIR/dest)
#   install-sdk.sh prefix MESON SOURCE_ROOT WORK_DIR PLUGIN_SRC...
#       a new build of SOURCE_ROOT with --prefix=WORK_DIR/prefix (a private
#       prefix, as a developer without root installs), only the installed
#       targets built, then `meson install`
#
# Each PLUGIN_SRC is a directory with its own meson.build (sdk/examples/hello,
# tests/sdk/call-stats). Checks, each failing loudly:
#   - every installed file lies under the prefix (find), the systemd unit
#     included (it went to systemd's own /lib/systemd/system before);
#   - PKG_CONFIG_PATH=PREFIX/LIBDIR/pkgconfig pkg-config --cflags ucd-plugin
#     names the installed headers, also in a --destdir install (ucd-plugin.pc
#     is relocatable); plugindir is where the plugins were installed;
#   - each plugin builds with its own meson.build and exports exactly
#     ucd_plugin_entry;
#   - the installed ucd loads the installed pbx-sim and every built plugin,
#     and `ucctl modules` shows each running.
# Prints "installed: PREFIX_ON_DISK" and "built: NAME PATH" per plugin.
set -eu

if [ $# -lt 5 ]; then
    echo "usage: $0 destdir|prefix MESON BUILD_OR_SOURCE_ROOT WORK_DIR PLUGIN_SRC..." >&2
    exit 2
fi
mode=$1
meson=$2
root=$3
work=$4
shift 4

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
step() {
    echo "--- $*"
}
# Runs a command quietly into a log; on failure prints the log and fails.
logged() {
    what=$1
    log=$2
    shift 2
    "$@" >"$log" 2>&1 || {
        tail -n 60 "$log" >&2
        fail "$what failed (log: $log)"
    }
}

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd -P)

case $mode in
destdir)
    build=$root
    prefix=$(cd "$build" && "$meson" introspect --buildoptions | python3 -c \
        'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
    step "meson install --destdir $work/dest (prefix $prefix)"
    logged "meson install --destdir" "$work/install.log" \
        "$meson" install -C "$build" --no-rebuild --destdir "$work/dest"
    installed=$work/dest$prefix
    tree=$work/dest
    ;;
prefix)
    prefix=$work/prefix
    build=$work/build-ucd
    step "meson setup --prefix=$prefix, build what is installed, meson install"
    logged "meson setup" "$work/setup.log" \
        "$meson" setup "$build" "$root" --prefix="$prefix" -Dbuildtype=plain -Dplugin_tests=false
    # Only the installed targets: the tests and benchmarks are not needed here.
    targets=$("$meson" introspect "$build" --targets | python3 -c '
import json, os, sys
build = sys.argv[1]
for t in json.load(sys.stdin):
    if t["installed"]:
        for f in t["filename"]:
            print(os.path.relpath(f, build))' "$build")
    # shellcheck disable=SC2086 # one target per word
    logged "building the installed targets" "$work/build.log" ninja -C "$build" $targets
    logged "meson install" "$work/install.log" "$meson" install -C "$build" --no-rebuild
    installed=$prefix
    # Installed as root, a file outside WORK_DIR would not show in the find
    # below: meson's own list of what it wrote must name only the prefix.
    # (It lists the directories it created too, the prefix itself among them.)
    outside=$(grep -v -e '^#' -e "^$installed/" -e "^$installed\$" \
        "$build/meson-logs/install-log.txt" || true)
    [ -z "$outside" ] || fail "meson install wrote outside the prefix $installed:
$outside"
    tree=$work
    ;;
*)
    fail "mode must be destdir or prefix, not '$mode'"
    ;;
esac
echo "installed: $installed"

step "every installed file lies under $installed"
# The private-prefix build dir and logs live in WORK_DIR too: leave them out.
outside=$(find "$tree" \( -path "$work/build-ucd" -o -path "$work/*.log" \) -prune -o \
    \( -type f -o -type l \) -print | grep -v "^$installed/" || true)
[ -z "$outside" ] || fail "installed outside the prefix $installed:
$outside"
[ -f "$installed/lib/systemd/system/ucd.service" ] ||
    fail "no $installed/lib/systemd/system/ucd.service"
grep -q "^ExecStart=$prefix/sbin/ucd\$" "$installed/lib/systemd/system/ucd.service" ||
    fail "ucd.service does not start $prefix/sbin/ucd"

step "pkg-config finds the installed SDK"
pcfile=$(find "$installed" -name ucd-plugin.pc)
[ -n "$pcfile" ] || fail "no ucd-plugin.pc under $installed"
PKG_CONFIG_PATH=$(dirname "$pcfile")
export PKG_CONFIG_PATH
pkg-config --exists --print-errors ucd-plugin || fail "pkg-config does not find ucd-plugin"
# shellcheck disable=SC2046,SC2005 # echo without quotes drops pkg-config's trailing blank
cflags=$(echo $(pkg-config --cflags ucd-plugin))
case $cflags in
-I*) ;;
*) fail "Cflags are '$cflags', expected one -I" ;;
esac
incdir=$(cd "${cflags#-I}" 2>/dev/null && pwd -P) || fail "Cflags name '${cflags#-I}', which does not exist"
[ "$incdir" = "$installed/include" ] || fail "Cflags name $incdir, not $installed/include"
[ -f "$incdir/ucd/ucd.h" ] || fail "$incdir/ucd/ucd.h is missing"
plugindir=$(cd "$(pkg-config --variable=plugindir ucd-plugin)" 2>/dev/null && pwd -P) ||
    fail "plugindir '$(pkg-config --variable=plugindir ucd-plugin)' does not exist"
[ -f "$plugindir/pbx-sim.so" ] || fail "plugindir $plugindir has no pbx-sim.so"

# Checks one built plugin: exports exactly ucd_plugin_entry.
check_plugin() {
    exported=$(nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }')
    [ "$exported" = "ucd_plugin_entry" ] ||
        fail "$1 must export exactly ucd_plugin_entry, exports: $exported"
}

modules=""
for src in "$@"; do
    name=$(basename "$src")
    [ "$name" = hello ] && name=example-hello
    step "build $name out of tree with its own meson.build"
    cp -R "$src" "$work/src-$name"
    logged "meson setup of $name" "$work/setup-$name.log" \
        "$meson" setup "$work/build-$name" "$work/src-$name"
    logged "building $name" "$work/compile-$name.log" "$meson" compile -C "$work/build-$name"
    so=$work/build-$name/$name.so
    [ -f "$so" ] || fail "$so was not built"
    check_plugin "$so"
    modules="$modules
[module $name]
path = $so"
    echo "built: $name $so"
done

step "the installed ucd loads the installed pbx-sim and the built plugins"
run=$work/run
mkdir -p "$run"
cat >"$run/ucd.conf" <<CONF
[core]
state_dir = $run/state
control_socket = $run/ucd.sock
plugin_path = $plugindir
worker_threads = 2
[log]
target = stderr
level = info
[module pbx-sim:office]
$modules
CONF
"$installed/sbin/ucd" -c "$run/ucd.conf" 2>"$run/ucd.log" &
ucd_pid=$!
# shellcheck disable=SC2064 # the pid is known now
trap "kill $ucd_pid 2>/dev/null || true" EXIT
UCD_SOCKET=$run/ucd.sock
export UCD_SOCKET
# Up to 30 s for every module to run.
expected="pbx-sim:office $(echo "$modules" | sed -n 's/^\[module \(.*\)\]$/\1/p')"
tries=0
while :; do
    missing=""
    listing=$("$installed/bin/ucctl" modules 2>/dev/null || true)
    for m in $expected; do
        echo "$listing" | grep -E -q "^${m}[[:space:]].*running" || missing="$missing $m"
    done
    [ -z "$missing" ] && break
    kill -0 "$ucd_pid" 2>/dev/null || { cat "$run/ucd.log" >&2; fail "the installed ucd exited"; }
    tries=$((tries + 1))
    [ $tries -lt 300 ] || { echo "$listing" >&2; cat "$run/ucd.log" >&2; fail "not running:$missing"; }
    sleep 0.1
done
kill "$ucd_pid"
wait "$ucd_pid" || fail "the installed ucd did not stop cleanly (status $?)"
trap - EXIT
echo "ok: $mode install"
