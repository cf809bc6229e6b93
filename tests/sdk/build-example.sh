#!/bin/sh
# build-example.sh - builds sdk/examples/hello out of tree, the way an
# integrator does, against an SDK "installed" into a scratch prefix.
#
#   build-example.sh MESON CONFIGURED_PC SDK_INCLUDE_DIR EXAMPLE_DIR WORK_DIR
#
# CONFIGURED_PC is the build's sdk/ucd-plugin.pc; its prefix (and includedir,
# libdir) are rewritten to WORK_DIR/prefix, where the headers are copied.
# Then the example is copied to WORK_DIR/src and built with its own
# meson.build (dependency('ucd-plugin') through PKG_CONFIG_PATH), installed
# with DESTDIR, and built once more with the plain compiler command line the
# tutorial shows. Every step fails the test loudly. The last line printed is
# "built: PATH" with the meson-built plugin, for the daemon tests to load.
set -eu

if [ $# -ne 5 ]; then
    echo "usage: $0 MESON CONFIGURED_PC SDK_INCLUDE_DIR EXAMPLE_DIR WORK_DIR" >&2
    exit 2
fi
meson=$1
configured_pc=$2
sdk_include=$3
example=$4
work=$5

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
step() {
    echo "--- $*"
}

rm -rf "$work"
prefix=$work/prefix
pcdir=$prefix/lib/pkgconfig
mkdir -p "$prefix/include" "$pcdir" "$work/src"

step "install the SDK into $prefix"
cp -R "$sdk_include/ucd" "$prefix/include/" || fail "cannot copy the SDK headers"
sed -e "s|^prefix=.*|prefix=$prefix|" \
    -e 's|^includedir=.*|includedir=${prefix}/include|' \
    -e 's|^libdir=.*|libdir=${prefix}/lib|' \
    "$configured_pc" >"$pcdir/ucd-plugin.pc" || fail "cannot write ucd-plugin.pc"
PKG_CONFIG_PATH=$pcdir
export PKG_CONFIG_PATH

step "check what pkg-config says"
pkg-config --exists --print-errors ucd-plugin || fail "pkg-config does not find ucd-plugin"
# echo without quotes drops the trailing blank pkg-config leaves.
# shellcheck disable=SC2046,SC2005
cflags=$(echo $(pkg-config --cflags ucd-plugin))
# shellcheck disable=SC2046,SC2005
libs=$(echo $(pkg-config --libs ucd-plugin))
plugindir=$(pkg-config --variable=plugindir ucd-plugin)
[ "$cflags" = "-I$prefix/include" ] || fail "Cflags are '$cflags', expected -I$prefix/include"
case " $libs " in
*" -Wl,-z,now "*) ;;
*) fail "Libs '$libs' lack -Wl,-z,now" ;;
esac
[ "$plugindir" = "$prefix/lib/ucd/plugins" ] || fail "plugindir is '$plugindir'"
[ -n "$(pkg-config --variable=abi_major ucd-plugin)" ] || fail "no abi_major variable"
[ -n "$(pkg-config --variable=abi_minor ucd-plugin)" ] || fail "no abi_minor variable"

step "copy the example and build it with its own meson.build"
cp "$example/hello.c" "$example/meson.build" "$work/src/" || fail "cannot copy the example"
"$meson" setup "$work/build" "$work/src" >"$work/setup.log" 2>&1 ||
    { cat "$work/setup.log" >&2; fail "meson setup of the example failed"; }
"$meson" compile -C "$work/build" >"$work/compile.log" 2>&1 ||
    { cat "$work/compile.log" >&2; fail "building the example failed"; }
so=$work/build/example-hello.so
[ -f "$so" ] || fail "$so was not built"

# Checks one built plugin: exports exactly ucd_plugin_entry, bound at load.
check_plugin() {
    exported=$(nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }')
    [ "$exported" = "ucd_plugin_entry" ] ||
        fail "$1 must export exactly ucd_plugin_entry, exports: $exported"
    readelf -d "$1" | grep -E -q '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW' ||
        fail "$1 is not linked with -z now (no BIND_NOW in readelf -d)"
}
check_plugin "$so"

step "meson install puts it into the SDK's plugindir"
DESTDIR=$work/dest "$meson" install -C "$work/build" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; fail "meson install failed"; }
[ -f "$work/dest$plugindir/example-hello.so" ] ||
    fail "not installed to plugindir: $work/dest$plugindir/example-hello.so missing"

step "build it with the plain compiler line of docs/sdk/tutorial.md"
# shellcheck disable=SC2046 # pkg-config output is meant to be split
${CC:-cc} -std=c11 -Wall -Wextra -Werror -O2 -fPIC -shared -fvisibility=hidden \
    $(pkg-config --cflags ucd-plugin) -o "$work/plain-example-hello.so" "$work/src/hello.c" \
    $(pkg-config --libs ucd-plugin) || fail "the plain compiler line failed"
check_plugin "$work/plain-example-hello.so"

echo "built: $so"
