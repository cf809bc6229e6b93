#!/bin/sh
# check-abi.sh - compares the SDK's ABI with the committed baseline.
#
#   check-abi.sh ANCHOR_SO BASELINE            check (meson test --suite abi)
#   check-abi.sh --update ANCHOR_SO BASELINE   rewrite BASELINE
#                                              (ninja -C BUILD update-abi-baseline)
#
# ANCHOR_SO is the anchor library built from tests/abi/anchor.c, which exports
# one function per public SDK type so that abidw describes every type. The
# dump is made independent of where the tree and the build live, so that the
# committed baseline only changes when the ABI does.
set -eu

update=no
if [ "${1:-}" = "--update" ]; then
    update=yes
    shift
fi
if [ $# -ne 2 ]; then
    echo "usage: $0 [--update] ANCHOR_SO BASELINE" >&2
    exit 2
fi
anchor=$1
baseline=$2

if ! command -v abidw >/dev/null 2>&1 || ! command -v abidiff >/dev/null 2>&1; then
    # In CI a missing checker is a failure: the ABI guard must never pass by
    # not running. On a developer's machine it is a skip with the fix named.
    if [ "${CI:-}" = true ]; then
        echo "FAIL: abidw/abidiff not found (CI=true); ./dev installs abigail-tools"
        exit 1
    fi
    echo "SKIP: abidw/abidiff not found; install them (Debian: apt-get install abigail-tools)"
    exit 77
fi
if [ ! -f "$anchor" ]; then
    echo "FAIL: anchor library $anchor does not exist" >&2
    exit 1
fi

# abidw, without anything that depends on this machine: no paths of the
# binary or the build directory, no source locations (a comment edit must not
# change the baseline), no DT_NEEDED, hash type ids (stable when types are
# added). The translation unit path is the one thing abidw has no option for.
dump_abi() {
    abidw --no-corpus-path --no-comp-dir-path --no-show-locs --no-elf-needed \
        --drop-undefined-syms --type-id-style hash "$1" |
        sed "s|<abi-instr \(.*\) path='[^']*anchor\.c'|<abi-instr \1 path='tests/abi/anchor.c'|"
}

if [ "$update" = yes ]; then
    tmp="$baseline.tmp"
    dump_abi "$anchor" >"$tmp"
    mv "$tmp" "$baseline"
    echo "wrote $baseline"
    echo "Commit it together with the header change and the minor bump of the interface that grew."
    exit 0
fi

if [ ! -f "$baseline" ]; then
    cat >&2 <<MSG
FAIL: no ABI baseline $baseline.
The baseline is named after UCD_ABI_MAJOR.UCD_HOST_MINOR in sdk/include/ucd/plugin.h.
If you just bumped UCD_HOST_MINOR for an append-only change, create it with
    ninja -C BUILD_DIR update-abi-baseline
and commit it in the same commit (keep the older baselines: they are history).
MSG
    exit 1
fi

# The baselines of earlier minors of the same major stay committed; the
# current ABI must still be a compatible superset of each of them. abidiff's
# bit 8 (a removed anchor, hence a removed type; a changed function) is the
# part it can judge; appended members show as bit 4, which is expected here.
check_older_minors() {
    dir=$(dirname "$baseline")
    name=$(basename "$baseline")
    major=${name#ucd-sdk-}
    major=${major%%.*}
    for older in "$dir"/ucd-sdk-"$major".*.abi; do
        [ -f "$older" ] && [ "$older" != "$baseline" ] || continue
        set +e
        older_report=$(abidiff "$older" "$current" 2>&1)
        older_status=$?
        set -e
        if [ $((older_status & 11)) -ne 0 ]; then
            echo "$older_report" >&2
            echo "FAIL: the ABI is no longer compatible with $(basename "$older") (abidiff exit $older_status)" >&2
            exit 1
        fi
        echo "ABI is an extension of $(basename "$older")"
    done
}

current=$(mktemp "${TMPDIR:-/tmp}/ucd-abi.XXXXXX")
trap 'rm -f "$current"' EXIT
dump_abi "$anchor" >"$current"

set +e
report=$(abidiff --harmless "$baseline" "$current" 2>&1)
status=$?
set -e

if [ $((status & 3)) -ne 0 ]; then
    echo "$report" >&2
    echo "FAIL: abidiff itself failed (exit status $status)" >&2
    exit 1
fi
if [ $((status & 12)) -eq 0 ]; then
    echo "ABI matches $(basename "$baseline")"
    check_older_minors
    exit 0
fi

echo "$report" >&2
if [ $((status & 8)) -ne 0 ]; then
    cat >&2 <<MSG

FAIL: INCOMPATIBLE change of the plugin SDK ABI (abidiff exit bit 8) against
$(basename "$baseline"). Plugins built against the current ABI would break.
Either undo it, or make it a major release on purpose:
  - bump UCD_ABI_MAJOR (and reset UCD_HOST_MINOR to 0) in sdk/include/ucd/plugin.h,
  - describe the change and what plugin authors must do in docs/sdk/CHANGES.md,
  - add a frozen copy of the new headers (tests/abi/sdk-MAJOR.0/) for the old-plugin test,
  - write the new baseline: ninja -C BUILD_DIR update-abi-baseline
See docs/sdk/abi.md.
MSG
    exit 1
fi
cat >&2 <<MSG

FAIL: the plugin SDK ABI changed (abidiff exit bit 4) against $(basename "$baseline").
Read the report above.
  - Compatible change (only members appended at the END of size-prefixed structs,
    functions appended at the end of ucd_host, new enumerators / event types, a new
    type with its anchor in tests/abi/anchor.c): bump the minor of the interface
    that grew (UCD_HOST_MINOR in sdk/include/ucd/plugin.h for plugin.h, host.h and
    event.h; UCD_<SERVICE>_MINOR in a service's header), update the pins in
    tests/abi/layout.c, run
        ninja -C BUILD_DIR update-abi-baseline
    and commit sdk/abi/ucd-sdk-MAJOR.MINOR.abi (named after the host minor; a
    service-only change rewrites the current one) in the same commit; note the
    addition in docs/sdk/CHANGES.md.
  - Anything else (a member inserted, removed, reordered or retyped; a changed
    enumerator value; a changed function signature) is incompatible: undo it,
    or bump UCD_ABI_MAJOR with a note in docs/sdk/CHANGES.md.
See docs/sdk/abi.md.
MSG
exit 1
