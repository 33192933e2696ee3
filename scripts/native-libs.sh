# Sourced by scripts/unity-stage.sh and scripts/unreal-stage.sh: where the built libsgaps
# is, and how it is copied into an engine plugin.

# The library folder to stage from: $1 when given, else the newest `make dist` lib/,
# else target/debug. Fails, naming $2 (the caller), when it holds no libsgaps.so.
native_lib_dir() {
    local root lib_dir=${1:-}
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    if [ -z "$lib_dir" ]; then
        lib_dir=$(ls -d "$root"/dist/sgaps-*-linux-x86_64/lib 2>/dev/null | tail -1)
        lib_dir=${lib_dir:-$root/target/debug}
    fi
    [ -f "$lib_dir/libsgaps.so" ] || { echo "$2: no libsgaps.so in $lib_dir" >&2; return 1; }
    echo "$lib_dir"
}

# Copies the libraries of $1 into the folder $2: all of a dist (libsgaps finds libtorch
# beside itself), or libsgaps.so alone from a cargo build (it finds libtorch through its
# build rpath, so only on this machine).
copy_native_libs() {
    mkdir -p "$2"
    if [ -f "$1/libtorch_cpu.so" ]; then
        cp -a "$1"/*.so* "$2/"
    else
        cp "$1/libsgaps.so" "$2/"
    fi
}
