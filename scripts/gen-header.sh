#!/usr/bin/env bash
# Regenerates include/sgaps.h from sgaps-ffi with the pinned cbindgen (scripts/setup.sh
# installs it). With --check, writes nothing and fails when the committed header differs
# from a fresh one, showing the difference.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/versions.sh"
cbindgen=${SGAPS_CACHE:-$HOME/.cache/sgaps}/cbindgen-$CBINDGEN_VERSION/bin/cbindgen
header=$root/include/sgaps.h

generate() {
    "$cbindgen" --quiet --config "$root/sgaps-ffi/cbindgen.toml" --crate sgaps-ffi --output "$1" "$root/sgaps-ffi"
}

if [ "${1:-}" = "--check" ]; then
    fresh=$(mktemp)
    trap 'rm -f "$fresh"' EXIT
    generate "$fresh"
    if ! diff -u "$header" "$fresh"; then
        echo "include/sgaps.h is out of date: run scripts/gen-header.sh and commit it" >&2
        exit 1
    fi
    echo "include/sgaps.h matches the crate"
else
    generate "$header"
    echo "wrote include/sgaps.h"
fi
