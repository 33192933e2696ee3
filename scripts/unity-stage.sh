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
. "$root/scripts/native-libs.sh"
lib_dir=$(native_lib_dir "${1:-}" unity-stage)
package=${2:-$root/bindings/unity}

plugins=$package/Plugins/Linux/x86_64
copy_native_libs "$lib_dir" "$plugins"
python3 "$root/scripts/unity-meta.py" "$package" >/dev/null
echo "unity-stage: $(ls "$plugins" | grep -vc '\.meta$') libraries from $lib_dir into $plugins, with importer settings"
