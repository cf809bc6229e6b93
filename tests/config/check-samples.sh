#!/bin/sh
# The packaged sample configuration and every drop-in example (config/conf.d/
# *.conf.example, enabled as they would be by an admin copying them) must pass
# `ucd --check-config` with the plugins of this build: a renamed or removed key
# fails here, not on an admin's server.
#   check-samples.sh CONFIG_SRC_DIR UCD_BIN PLUGIN_PATH
set -eu
src=$1 ucd=$2 plugins=$3
work=$(mktemp -d /tmp/ucd-samples.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/conf.d"
cp "$src/ucd.conf" "$work/ucd.conf"
for example in "$src"/conf.d/*.conf.example; do
    [ -e "$example" ] || continue
    name=$(basename "$example" .example)
    cp "$example" "$work/conf.d/$name"
    echo "checking $name"
done
UCD_PLUGIN_PATH=$plugins "$ucd" --check-config -c "$work/ucd.conf" --conf-dir "$work/conf.d"
# README's first command runs the demo: its configuration must check too
# (a module that requires one of the core's services is declared by the check).
echo "checking demo.conf"
cd "$src/.." && UCD_PLUGIN_PATH=$plugins "$ucd" --check-config -c config/demo.conf
