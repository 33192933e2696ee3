#!/usr/bin/env bash
# Puts libsgaps into the Unreal plugin's ThirdParty folder, where Sgaps.Build.cs looks:
#   Source/ThirdParty/sgaps/include/sgaps.h
#   Source/ThirdParty/sgaps/lib/Linux/x86_64/libsgaps.so (+ libtorch from a `make dist` lib/)
#
#   scripts/unreal-stage.sh [LIB_DIR] [PLUGIN_DIR]
# LIB_DIR: dist/sgaps-*-linux-x86_64/lib (everything in it is copied: libsgaps finds
# libtorch beside itself) or target/debug|release (libsgaps.so only; it finds libtorch
# through its build rpath, so only on this machine). Default: the newest dist, else
# target/debug. PLUGIN_DIR: default bindings/unreal.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/native-libs.sh"
lib_dir=$(native_lib_dir "${1:-}" unreal-stage)
plugin=${2:-$root/bindings/unreal}

third_party=$plugin/Source/ThirdParty/sgaps
mkdir -p "$third_party/include" "$third_party/lib/Linux/x86_64"
cp "$root/include/sgaps.h" "$third_party/include/"
copy_native_libs "$lib_dir" "$third_party/lib/Linux/x86_64"
echo "unreal-stage: $(ls "$third_party/lib/Linux/x86_64" | wc -l) libraries from $lib_dir into $third_party"
