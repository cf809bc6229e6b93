#!/bin/sh
# Runs a libFuzzer binary briefly from its committed seed corpus (the psip-fuzz and
# pami-fuzz tests; by hand with more SECONDS).
# New inputs go to a temporary folder, so the committed corpus is never changed.
# A crash, leak or timeout exits 1: libFuzzer's own default (77) would read as
# "skipped" to meson.
#   run-fuzz.sh FUZZER CORPUS_DIR [SECONDS]
set -eu
fuzzer=$1 corpus=$2 seconds=${3:-20}
work=$(mktemp -d /tmp/ucd-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/new"
cd "$work"
"$fuzzer" -max_total_time="$seconds" -runs=2000000 -max_len=70000 -timeout=10 \
    -rss_limit_mb=2048 -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
    "$work/new" "$corpus"
