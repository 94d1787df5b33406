#!/bin/sh
# config-doc.sh - puts the table of `kizuna config keys` into docs/configuration.md
# (between its header row and the first line after the table); `make docs`.
set -eu
cd "$(dirname "$0")/.."
KZ=${KZ:-build/kizuna}
tmp=$(mktemp)
"$KZ" config keys > "$tmp"
awk -v table="$tmp" '
    /^\| key \| default \| environment \| meaning \|$/ { while ((getline line < table) > 0) print line; skip = 1; next }
    skip && /^\|/ { next }
    { skip = 0; print }
' docs/configuration.md > docs/configuration.md.new
mv docs/configuration.md.new docs/configuration.md
rm -f "$tmp"
