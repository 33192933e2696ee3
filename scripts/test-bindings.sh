#!/usr/bin/env bash
# Tests of the C ABI from outside Rust, after `cargo test --workspace` (make test): the
# header matches the crate and compiles as C99 and C++17, a pthreads C test, the C
# example, the C++ wrapper, the Python binding (pytest) and example, and the C# binding
# under Mono. Runs under scripts/with-env (the cached venv's python and pip).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lib_dir=$root/target/debug
strict=(-Wall -Wextra -Werror -pedantic)
link=(-Iinclude -L"$lib_dir" -lsgaps -Wl,-rpath,"$lib_dir")
passed=0
step() { printf '\n== %s\n' "$*"; }
ok() { passed=$((passed + 1)); echo "ok: $*"; }

step "build libsgaps (debug, shared with cargo test)"
cargo build --quiet -p sgaps-ffi
ok "target/debug/libsgaps.so"

step "include/sgaps.h matches a fresh cbindgen run"
scripts/gen-header.sh --check
ok "header up to date"

step "sgaps.h compiles as C99 and C++17"
cc -std=c99 "${strict[@]}" sgaps-ffi/tests/c/header.c "${link[@]}" -o "$work/header_c"
c++ -std=c++17 "${strict[@]}" -x c++ sgaps-ffi/tests/c/header.c -x none "${link[@]}" -o "$work/header_cpp"
"$work/header_c" && "$work/header_cpp"
ok "C99 and C++17 with -Wall -Wextra -Werror -pedantic"

step "C: pthreads, one engine, a session each"
cc -std=c99 "${strict[@]}" -pthread sgaps-ffi/tests/c/threads.c "${link[@]}" -o "$work/threads"
"$work/threads" "$work/threads-checkpoints"
ok "C threads"

step "C example (examples/c)"
make --quiet -C examples/c LIBDIR="$lib_dir"
examples/c/stream "$work/c-out" 12 "model.resolution=[64,48]" "checkpoint_dir=$work/c-checkpoints" | tail -4
for png in reconstruction importance; do
    head -c 8 "$work/c-out/$png.png" | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a' \
        || { echo "examples/c/stream did not write a PNG at $work/c-out/$png.png" >&2; exit 1; }
done
ok "C example wrote reconstruction.png and importance.png"

step "C++ wrapper (bindings/cpp)"
c++ -std=c++17 "${strict[@]}" -Ibindings/cpp bindings/cpp/tests/test_sgaps.cpp "${link[@]}" -o "$work/test_cpp"
"$work/test_cpp" "$work/cpp-checkpoints"
ok "C++ wrapper"

step "Python binding (bindings/python): install into the venv, pytest"
# Built from a copy, so the checkout gets no build/ or egg-info.
cp -r bindings/python "$work/python-src"
rm -rf "$work/python-src/build" "$work/python-src"/*.egg-info
pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation "$work/python-src"
export SGAPS_LIBRARY=$lib_dir/libsgaps.so
status=0
python -m pytest -q -p no:cacheprovider bindings/python/tests || status=$?
if [ "$status" -ne 0 ]; then
    # 5 means no test ran: a failure too.
    echo "pytest exited with $status" >&2
    exit 1
fi
ok "Python binding"

step "Python example (examples/python)"
python examples/python/stream.py "$work/py-out" --frames 12 "model.resolution=[64,48]" \
    "checkpoint_dir=$work/py-checkpoints" | tail -3
test -s "$work/py-out/reconstruction.png" && test -s "$work/py-out/importance.png"
ok "Python example"

step "C# binding (bindings/csharp) under Mono"
mcs -nologo -warnaserror -out:"$work/SgapsTest.exe" bindings/csharp/Runtime/*.cs bindings/csharp/Tests/SgapsTest.cs
LD_LIBRARY_PATH=$lib_dir mono "$work/SgapsTest.exe" "$work/cs-checkpoints"
ok "C# binding"

echo
echo "bindings: $passed passed, 0 failed"
