#!/usr/bin/env bash
# Packs the release libsgaps into dist/sgaps-VERSION-linux-x86_64/ (see `make dist`):
#   lib/      libsgaps.so and the libtorch libraries it loads, found through $ORIGIN
#   include/  sgaps.h, and sgaps.hpp (the C++ wrapper)
#   bin/      stream, the C example, built with an rpath to ../lib
#   examples/ stream.c
# so that bin/stream runs from the folder with no environment variables set.
#
# By default the package is CPU-only: libtorch_cuda and the CUDA libraries it pulls in
# are left out and libsgaps.so no longer asks for them; libtorch_cpu still needs the small
# libcudart and libcupti, which are shipped (about 500 MB in all). With CUDA=1 every
# library libsgaps.so loads is shipped, with the libraries beside them that cuDNN and
# NVRTC open at run time, into ...-linux-x86_64-cuda/ (about 3 GB).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
library=target/release/libsgaps.so
[ -f "$library" ] || { echo "$library is missing: cargo build --release -p sgaps-ffi" >&2; exit 1; }
cuda=${CUDA:-0}
name=sgaps-$version-linux-x86_64
[ "$cuda" = 1 ] && name=$name-cuda
out=dist/$name
log() { printf '[dist] %s\n' "$*" >&2; }

rm -rf "$out"
mkdir -p "$out/lib" "$out/include" "$out/bin" "$out/examples"
cp include/sgaps.h bindings/cpp/sgaps.hpp "$out/include/"
cp examples/c/stream.c examples/data/mario-1-2.pgm examples/data/mario-1-2.states.txt "$out/examples/"
cp "$library" "$out/lib/"
# Cargo's absolute rpath to the build machine's torch becomes the folder itself.
patchelf --set-rpath '$ORIGIN' "$out/lib/libsgaps.so"

# Where each library libsgaps.so loads lives here (name => path, as ldd resolves it).
declare -A found
while read -r soname _ path _; do
    [ -n "${path:-}" ] && [ -f "$path" ] && found[$soname]=$(readlink -f "$path")
done < <(ldd "$library" | grep '=>')
# site-packages/torch/lib/libtorch_cpu.so: torch's and NVIDIA's libraries are below site-packages.
torch_cpu=${found[libtorch_cpu.so]:?libsgaps.so does not load libtorch_cpu.so}
venv_site=$(dirname "$(dirname "$(dirname "$torch_cpu")")")

# CPU-only: libsgaps.so is linked with --no-as-needed against libtorch_cuda.so (so that
# CUDA works when present); the package leaves it and everything it pulls in out.
if [ "$cuda" != 1 ]; then
    patchelf --remove-needed libtorch_cuda.so "$out/lib/libsgaps.so"
fi

# Copy the closure of DT_NEEDED that lives in the venv (torch/lib, nvidia/*/lib); system
# libraries (libc, libstdc++, ...) stay out.
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
queue=("$out/lib/libsgaps.so")
while [ ${#queue[@]} -gt 0 ]; do
    current=${queue[0]}
    queue=("${queue[@]:1}")
    for soname in $(needed "$current"); do
        path=${found[$soname]:-}
        [[ -n "$path" && "$path" == "$venv_site"/* ]] || continue
        [ -e "$out/lib/$soname" ] && continue
        [ "$cuda" != 1 ] && [ "$soname" = libtorch_cuda.so ] && continue
        cp "$path" "$out/lib/$soname"
        chmod u+w "$out/lib/$soname"
        # libtorch.so is a stub that asks for both backends: drop the CUDA one.
        if [ "$cuda" != 1 ] && needed "$out/lib/$soname" | grep -qx libtorch_cuda.so; then
            patchelf --remove-needed libtorch_cuda.so "$out/lib/$soname"
        fi
        # torch's own libraries look in $ORIGIN already; give the others the same.
        readelf -d "$out/lib/$soname" | grep -q 'R.*PATH.*\$ORIGIN' || patchelf --set-rpath '$ORIGIN' "$out/lib/$soname"
        queue+=("$out/lib/$soname")
    done
done

# cuDNN, NVRTC and libtorch_cuda open more libraries at run time (dlopen) than they
# list: with CUDA, ship every library beside the ones shipped.
if [ "$cuda" = 1 ]; then
    for dir in $(for soname in $(ls "$out/lib"); do
                     [ -n "${found[$soname]:-}" ] && dirname "${found[$soname]}"
                 done | sort -u); do
        for sibling in "$dir"/*.so*; do
            case $(basename "$sibling") in libtorch_python.so | libshm*) continue ;; esac
            [ -e "$out/lib/$(basename "$sibling")" ] || cp "$sibling" "$out/lib/"
        done
    done
fi

cc -std=c99 -O2 -Wall -Wextra -Werror -I"$out/include" "$out/examples/stream.c" -L"$out/lib" -lsgaps \
    -Wl,-rpath,'$ORIGIN/../lib' -o "$out/bin/stream"

cat > "$out/README.md" <<EOF
# SGAPS $version for Linux x86_64 ($([ "$cuda" = 1 ] && echo "CPU and CUDA" || echo "CPU"))

- \`lib/libsgaps.so\`: the SGAPS engine (C API), with the libtorch libraries it loads.
  They find each other through \`\$ORIGIN\`: keep them in one folder.
- \`include/sgaps.h\`: the C API; \`include/sgaps.hpp\`: a header-only C++17 wrapper.
- \`bin/stream\`: the C example (\`examples/stream.c\`): \`bin/stream examples/mario-1-2 OUT_DIR\`
  streams a real game clip through the trained default model (built into libsgaps),
  prints its PSNR next to linear interpolation and writes PNGs into OUT_DIR.

Build against it:

    cc -Iinclude my_game.c -Llib -lsgaps -Wl,-rpath,'\$ORIGIN/../lib' -o my_game
EOF

# Check: nothing outside the folder but system libraries, and the example runs bare.
if env -i ldd "$out/lib/libsgaps.so" | grep -q 'not found'; then
    env -i ldd "$out/lib/libsgaps.so" >&2
    echo "libsgaps.so in $out misses libraries" >&2
    exit 1
fi
if env -i ldd "$out/lib/libsgaps.so" | grep '=>' | grep -v -e "$root/$out/lib/" -e ' => /lib' -e ' => /usr/lib' >&2; then
    echo "libsgaps.so in $out loads the libraries above from outside the folder" >&2
    exit 1
fi
log "$out: $(du -sh "$out" | cut -f1), $(ls "$out/lib" | wc -l) libraries"
