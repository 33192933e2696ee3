#!/usr/bin/env bash
# Puts libsgaps into the Unity package for an install from disk (Package Manager > Add
# package from disk): Plugins/Linux/x86_64/ with importer settings for Linux x86_64
# (Standalone and Editor), written by scripts/unity-meta.py. A package installed from a
# git URL cannot carry the libraries: use SGAPS > Install Native Library... there.
#
#   scripts/unity-stage.sh [LIB_DIR] [PACKAGE_DIR]
# LIB_DIR: dist/sgaps-*-linux-x86_64/lib (all of it: libsgaps finds libtorch beside it)
# or target/debug|release (libsgaps.so only, which finds libtorch through its build
# rpath: this machine only). Default: the newest dist, else target/debug.
# PACKAGE_DIR: default bindings/unity.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lib_dir=${1:-}
if [ -z "$lib_dir" ]; then
    lib_dir=$(ls -d "$root"/dist/sgaps-*-linux-x86_64/lib 2>/dev/null | tail -1)
    lib_dir=${lib_dir:-$root/target/debug}
fi
package=${2:-$root/bindings/unity}
[ -f "$lib_dir/libsgaps.so" ] || { echo "unity-stage: no libsgaps.so in $lib_dir" >&2; exit 1; }

plugins=$package/Plugins/Linux/x86_64
mkdir -p "$plugins"
if [ -f "$lib_dir/libtorch_cpu.so" ]; then
    cp -a "$lib_dir"/*.so* "$plugins/"   # a dist: libsgaps and libtorch
else
    cp "$lib_dir/libsgaps.so" "$plugins/"
fi
python3 "$root/scripts/unity-meta.py" "$package" >/dev/null
echo "unity-stage: $(ls "$plugins" | grep -vc '\.meta$') libraries from $lib_dir into $plugins, with importer settings"
