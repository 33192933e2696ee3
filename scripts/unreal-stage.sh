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
lib_dir=${1:-}
if [ -z "$lib_dir" ]; then
    lib_dir=$(ls -d "$root"/dist/sgaps-*-linux-x86_64/lib 2>/dev/null | tail -1)
    lib_dir=${lib_dir:-$root/target/debug}
fi
plugin=${2:-$root/bindings/unreal}
[ -f "$lib_dir/libsgaps.so" ] || { echo "unreal-stage: no libsgaps.so in $lib_dir" >&2; exit 1; }

third_party=$plugin/Source/ThirdParty/sgaps
mkdir -p "$third_party/include" "$third_party/lib/Linux/x86_64"
cp "$root/include/sgaps.h" "$third_party/include/"
if [ -f "$lib_dir/libtorch_cpu.so" ]; then
    cp -a "$lib_dir"/*.so* "$third_party/lib/Linux/x86_64/"   # a dist: libsgaps and libtorch
else
    cp "$lib_dir/libsgaps.so" "$third_party/lib/Linux/x86_64/"
fi
echo "unreal-stage: $(ls "$third_party/lib/Linux/x86_64" | wc -l) libraries from $lib_dir into $third_party"
