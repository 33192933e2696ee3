#!/usr/bin/env bash
# Builds the Python wheel of bindings/python with libsgaps.so inside (and so the trained
# default model, built into the library). libtorch is not copied: the wheel depends on
# the exact `torch` its libsgaps was built with (scripts/versions.sh), whose libraries
# the package loads first (sgaps._native.load_torch_libraries).
#
#   scripts/with-env scripts/build-wheel.sh [LIBRARY [OUT_DIR]]
#
# LIBRARY defaults to target/release/libsgaps.so, OUT_DIR to dist/. Prints the wheel's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
library=$(realpath "${1:-$root/target/release/libsgaps.so}")
out=$(mkdir -p "${2:-$root/dist}" && realpath "${2:-$root/dist}")
source "$root/scripts/versions.sh"
[ -f "$library" ] || { echo "no library at $library: build it (scripts/with-env cargo build --release -p sgaps-ffi)" >&2; exit 1; }

# The pins the package states must be the torch this build links.
for pin in "torch==$TORCH_VERSION\"" "TORCH_VERSION = \"$TORCH_VERSION\""; do
    grep -rqF "$pin" "$root/bindings/python/pyproject.toml" "$root/bindings/python/sgaps/_native.py" \
        || { echo "bindings/python does not pin torch $TORCH_VERSION ($pin)" >&2; exit 1; }
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$root/bindings/python/pyproject.toml" "$root/bindings/python/README.md" "$stage/"
mkdir "$stage/sgaps"
cp "$root"/bindings/python/sgaps/*.py "$stage/sgaps/"
# Debug information is most of a debug build's size; the rpath of the build machine
# means nothing elsewhere: torch's lib/ beside this package in site-packages is a
# fallback for when torch was not imported first.
strip --strip-debug -o "$stage/sgaps/libsgaps.so" "$library"
patchelf --set-rpath '$ORIGIN/../torch/lib' "$stage/sgaps/libsgaps.so"

# A platform wheel (it holds a Linux x86_64 library) for any Python 3 (ctypes, no extension).
pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation --wheel-dir "$out" \
    --config-settings=--build-option=--plat-name=linux_x86_64 --config-settings=--build-option=--python-tag=py3 \
    "$stage" >&2
wheel=$(ls -t "$out"/sgaps-*-py3-none-linux_x86_64.whl | head -1)
echo "$wheel"
