#!/usr/bin/env bash
# Tests of the C ABI from outside Rust, after `cargo test --workspace` (make test): the
# header matches the crate and compiles as C99 and C++17, a pthreads C test, a 60 Hz C
# game loop on non-blocking submission, the C, C++, Python and C# examples (each streams
# examples/data/mario-1-2 from an empty folder and must be served by the built-in
# trained default and beat linear interpolation), where libsgaps.so finds checkpoints,
# the C++ wrapper, the Python binding (pytest) and its wheel in a fresh venv, the C#
# binding under Mono, and the game-engine plugins without their engines: the Unity
# package (bindings/unity) against a Unity API stub under Mono, and the Unreal plugin
# (bindings/unreal) against stub engine headers. Runs under scripts/with-env (the cached
# venv's python and pip). Each step prints "ok: ..."; the first failure prints
# "FAILED: <step>" and exits non-zero. Either way the last line counts the steps that
# passed, failed and were not run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
server_pid=
passed=0
total=$(grep -c '^step "' "$0")
cleanup() {
    local status=$?
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
    # The script stops at the first failing step, so at most one has failed.
    local failed=$((status != 0))
    echo
    echo "bindings: $passed passed, $failed failed, $((total - passed - failed)) not run (of $total steps)"
    exit "$status"
}
trap cleanup EXIT
lib_dir=$root/target/debug
strict=(-Wall -Wextra -Werror -pedantic)
link=(-Iinclude -L"$lib_dir" -lsgaps -Wl,-rpath,"$lib_dir")
current=
step() { current=$*; printf '\n== %s\n' "$*"; }
trap 'echo "FAILED: $current" >&2' ERR
ok() { passed=$((passed + 1)); echo "ok: $*"; }
# An example's output ($1) says the trained default served and ends with "mean PSNR ...:
# model A dB, linear interpolation B dB"; fails unless A > B.
trained_default_beats_linear() {
    grep -q 'version default-embedded-[0-9a-f]* (trained)' "$1" \
        || { echo "$1: the built-in trained default did not serve" >&2; return 1; }
    grep '^mean PSNR' "$1" | awk '{
        found = 1
        for (i = 1; i < NF; i++) { if ($i == "model") model = $(i + 1); if ($i == "interpolation") linear = $(i + 1) }
        if (!(model + 0 > linear + 0)) { print "the model (" model " dB) does not beat linear interpolation (" linear " dB)" > "/dev/stderr"; exit 1 }
        print "model " model " dB > linear interpolation " linear " dB"
    } END { if (!found) { print "no mean PSNR line" > "/dev/stderr"; exit 1 } }'
}

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

step "C: a 60 Hz game loop, submit_async and poll(0) never wait, every frame answered once in order"
cc -std=c99 "${strict[@]}" sgaps-ffi/tests/c/game_loop.c "${link[@]}" -o "$work/game_loop"
"$work/game_loop" "$work/game-loop-checkpoints"
ok "C game loop"

step "C example (examples/c): a real clip through the built-in default model, from another folder"
make --quiet -C examples/c LIBDIR="$lib_dir"
mkdir -p "$work/elsewhere"
(cd "$work/elsewhere" && "$root/examples/c/stream" "$root/examples/data/mario-1-2" "$work/c-out") > "$work/c.txt"
tail -3 "$work/c.txt"
trained_default_beats_linear "$work/c.txt"
for png in truth reconstruction linear importance; do
    head -c 8 "$work/c-out/$png.png" | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a' \
        || { echo "examples/c/stream did not write a PNG at $work/c-out/$png.png" >&2; exit 1; }
done
ok "C example: the trained default from an empty folder beats linear interpolation"

step "Checkpoints beside libsgaps.so, then SGAPS_CHECKPOINT_DIR, then the checkpoint_dir setting"
# A libsgaps.so in a folder of its own (a link: dladdr names it where it was loaded
# from) with checkpoints/default beside it: that checkpoint serves, not the built-in one.
mkdir -p "$work/app/checkpoints" "$work/env-checkpoints" "$work/set-checkpoints"
ln -s "$lib_dir/libsgaps.so" "$work/app/libsgaps.so"
cp -r checkpoints/default "$work/app/checkpoints/default"
served_version() { grep -o 'version [^ ]*' "$1" | cut -d' ' -f2; }
# The clip's first 3 frames (each a 15-byte PGM header and 128x120 pixels) are enough.
head -c $((3 * (15 + 128 * 120))) examples/data/mario-1-2.pgm > "$work/short.pgm"
head -3 examples/data/mario-1-2.states.txt > "$work/short.states.txt"
(cd "$work/elsewhere" && LD_LIBRARY_PATH=$work/app "$root/examples/c/stream" "$work/short" "$work/c-beside") > "$work/beside.txt"
beside=$(served_version "$work/beside.txt")
case "$beside" in default-embedded-*|"") echo "checkpoints/ beside the library was not used: $beside" >&2; exit 1 ;; esac
cp -r checkpoints/default "$work/env-checkpoints/default"
(cd "$work/elsewhere" && SGAPS_CHECKPOINT_DIR=$work/env-checkpoints LD_LIBRARY_PATH=$work/app \
    "$root/examples/c/stream" "$work/short" "$work/c-env") > "$work/env.txt"
from_env=$(served_version "$work/env.txt")
case "$from_env" in default-embedded-*|"$beside") echo "SGAPS_CHECKPOINT_DIR was not used: $from_env" >&2; exit 1 ;; esac
cp -r checkpoints/default "$work/set-checkpoints/default"
(cd "$work/elsewhere" && SGAPS_CHECKPOINT_DIR=$work/env-checkpoints LD_LIBRARY_PATH=$work/app \
    "$root/examples/c/stream" "$work/short" "$work/c-set" "checkpoint_dir=$work/set-checkpoints") > "$work/set.txt"
from_setting=$(served_version "$work/set.txt")
case "$from_setting" in default-embedded-*|"$beside"|"$from_env") echo "checkpoint_dir was not used: $from_setting" >&2; exit 1 ;; esac
echo "beside the library: $beside; SGAPS_CHECKPOINT_DIR: $from_env; checkpoint_dir: $from_setting"
ok "checkpoint lookup order in libsgaps.so"

step "C++ example (examples/cpp): the real clip through the wrapper, from another folder"
make --quiet -C examples/cpp LIBDIR="$lib_dir"
(cd "$work/elsewhere" && "$root/examples/cpp/stream" "$root/examples/data/mario-1-2") > "$work/cpp.txt"
tail -2 "$work/cpp.txt"
trained_default_beats_linear "$work/cpp.txt"
ok "C++ example"

step "C++ wrapper (bindings/cpp)"
c++ -std=c++17 "${strict[@]}" -Ibindings/cpp bindings/cpp/tests/test_sgaps.cpp "${link[@]}" -o "$work/test_cpp"
"$work/test_cpp" "$work/cpp-checkpoints" checkpoints/default
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

step "Python wheel (scripts/build-wheel.sh): installed in a fresh venv, imported from another folder"
# The venv sees the cached torch (and numpy) through a .pth file, as an environment with
# `pip install torch==...` would; it has no pip or setuptools of its own to shadow them.
wheel=$(scripts/build-wheel.sh "$lib_dir/libsgaps.so" "$work/wheels")
python -m venv --without-pip "$work/wheel-venv"
wheel_python=$work/wheel-venv/bin/python
"$wheel_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' > "$work/venv-site"
python -c 'import pathlib, torch; print(pathlib.Path(torch.__file__).parent.parent)' > "$(cat "$work/venv-site")/cached-torch.pth"
# --ignore-installed: the cached venv holds the source install of the step above.
python -m pip --python "$wheel_python" install --quiet --disable-pip-version-check --no-index --no-deps \
    --ignore-installed "$wheel"
(cd "$work/elsewhere" && env -u SGAPS_LIBRARY -u LD_LIBRARY_PATH "$wheel_python" -c '
import importlib.metadata, pathlib, sgaps
assert pathlib.Path(sgaps.library_path()).parent == pathlib.Path(sgaps.__file__).parent, sgaps.library_path()
assert "torch==" + sgaps._native.TORCH_VERSION in importlib.metadata.requires("sgaps")
with sgaps.Engine() as engine, engine.session("default", 256, 240) as session:
    p = session.params
    assert p.checkpoint_loaded and p.model_version.startswith("default-embedded-"), p
    print(f"{sgaps.library_path()}: {p.model_version}, checkpoint_loaded {p.checkpoint_loaded}")
assert "checkpoint" in (sgaps.Engine.__doc__ or "") and "default" in (sgaps.Engine.__doc__ or "")
')
ok "wheel $(basename "$wheel"): the packaged library with the trained default, libtorch from torch"

step "Python example (examples/python) from the wheel: a real clip, the model beats linear interpolation"
(cd "$work/elsewhere" && env -u SGAPS_LIBRARY -u LD_LIBRARY_PATH "$wheel_python" "$root/examples/python/stream.py" \
    "$root/examples/data/mario-1-2" "$work/py-out") > "$work/python.txt"
tail -3 "$work/python.txt"
trained_default_beats_linear "$work/python.txt"
test -s "$work/py-out/reconstruction.png" && test -s "$work/py-out/linear.png"
ok "Python example"

step "C# binding (bindings/csharp) under Mono"
mcs -nologo -warnaserror -out:"$work/SgapsTest.exe" bindings/csharp/Runtime/*.cs bindings/csharp/Tests/SgapsTest.cs
LD_LIBRARY_PATH=$lib_dir mono "$work/SgapsTest.exe" "$work/cs-checkpoints" checkpoints/default
ok "C# binding"

step "C# example (examples/csharp) under Mono: the real clip, from another folder"
mcs -nologo -warnaserror -out:"$work/stream.exe" bindings/csharp/Runtime/*.cs examples/csharp/Stream.cs
(cd "$work/elsewhere" && LD_LIBRARY_PATH=$lib_dir mono "$work/stream.exe" "$root/examples/data/mario-1-2") > "$work/cs.txt"
tail -2 "$work/cs.txt"
trained_default_beats_linear "$work/cs.txt"
ok "C# example"

step "Unity package (bindings/unity): package.json, asmdefs, a stable unique GUID .meta for every file and folder"
python3 scripts/unity-meta.py --check
# Native plugin importer settings, on a copy with libsgaps staged (Linux x86_64) and
# stand-ins for the Windows and macOS layouts.
unity_copy=$work/unity-package
cp -r bindings/unity "$unity_copy"
scripts/unity-stage.sh "$lib_dir" "$unity_copy"
mkdir -p "$unity_copy/Plugins/Windows/x86_64" "$unity_copy/Plugins/macOS"
touch "$unity_copy/Plugins/Windows/x86_64/sgaps.dll" "$unity_copy/Plugins/macOS/libsgaps.dylib"
python3 scripts/unity-meta.py "$unity_copy" >/dev/null
python3 scripts/unity-meta.py --check "$unity_copy"
python3 - "$unity_copy/Plugins" <<'PY'
import re, sys
def enabled(meta, platform):
    block = re.search(r"Standalone: " + platform + r"\n    second:\n      enabled: (\d)", meta)
    return block and block.group(1) == "1"
for path, target, os_name in [("Linux/x86_64/libsgaps.so", "Linux64", "Linux"),
                              ("Windows/x86_64/sgaps.dll", "Win64", "Windows"), ("macOS/libsgaps.dylib", "OSXUniversal", "OSX")]:
    meta = open(f"{sys.argv[1]}/{path}.meta").read()
    others = [p for p in ("Linux64", "OSXUniversal", "Win", "Win64") if p != target]
    assert "PluginImporter:" in meta and enabled(meta, target), f"{path}: not enabled for {target}"
    assert not any(enabled(meta, p) for p in others), f"{path}: enabled for another platform"
    assert f"OS: {os_name}" in meta and "Editor: Editor\n    second:\n      enabled: 1" in meta, f"{path}: Editor settings"
print("plugin importer settings: Linux64, Win64 and OSXUniversal each only for their own platform and Editor")
PY
ok "Unity package metadata and plugin importer settings"

step "Unity package: each assembly compiled alone against the Unity API stub (Tests~/UnityStub)"
unity=bindings/unity
stub=$work/unity-stub
mkdir -p "$stub"
mcs -nologo -warnaserror -unsafe -target:library -out:"$stub/UnityEngine.dll" "$unity/Tests~/UnityStub/UnityEngine.cs"
mcs -nologo -warnaserror -target:library -r:"$stub/UnityEngine.dll" -out:"$stub/UnityEditor.dll" "$unity/Tests~/UnityStub/UnityEditor.cs"
# As the asmdefs say: Sgaps.Native and Sgaps.Driver without UnityEngine.
mcs -nologo -warnaserror -target:library -out:"$stub/Sgaps.Native.dll" "$unity"/Runtime/Native/*.cs
mcs -nologo -warnaserror -target:library -r:"$stub/Sgaps.Native.dll" -out:"$stub/Sgaps.Driver.dll" "$unity"/Runtime/Driver/*.cs
mcs -nologo -warnaserror -unsafe -target:library -r:"$stub/Sgaps.Native.dll" -r:"$stub/Sgaps.Driver.dll" \
    -r:"$stub/UnityEngine.dll" -out:"$stub/Sgaps.Unity.dll" "$unity"/Runtime/Unity/*.cs
mcs -nologo -warnaserror -target:library -r:"$stub/Sgaps.Native.dll" -r:"$stub/Sgaps.Driver.dll" -r:"$stub/Sgaps.Unity.dll" \
    -r:"$stub/UnityEngine.dll" -r:"$stub/UnityEditor.dll" -out:"$stub/Sgaps.Editor.dll" "$unity"/Editor/*.cs
mcs -nologo -warnaserror -target:library -r:"$stub/Sgaps.Driver.dll" -r:"$stub/Sgaps.Unity.dll" -r:"$stub/UnityEngine.dll" \
    -out:"$stub/Sample.dll" "$unity/Samples~/Recorder/"*.cs
ok "Sgaps.Native, Sgaps.Driver (no UnityEngine), Sgaps.Unity, Sgaps.Editor and the sample"

step "Unity package: headless tests under Mono against libsgaps, remote mode against sgaps serve"
python3 "$unity/Tests~/layout.py" include/sgaps.h > "$work/layout.c"
cc -std=c99 "${strict[@]}" -Iinclude "$work/layout.c" -o "$work/layout"
"$work/layout" > "$stub/layout.txt"
mcs -nologo -warnaserror -unsafe -r:"$stub/UnityEngine.dll" -out:"$stub/RecorderTests.exe" "$unity"/Runtime/Native/*.cs \
    "$unity"/Runtime/Driver/*.cs "$unity"/Runtime/Unity/*.cs "$unity/Tests~/Headless/"*.cs
cargo build --quiet -p sgaps-server
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUST_LOG=error target/debug/sgaps serve model=spt_small "model.resolution=[32,24]" sampling.default_sample_count=100 \
    device=cpu mask_update=fixed server.port="$port" data_root="$work/server-data" \
    checkpoint_dir="$work/server-checkpoints" &
server_pid=$!
for _ in $(seq 300); do
    (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
done
(cd "$stub" && LD_LIBRARY_PATH=$lib_dir mono RecorderTests.exe --layout layout.txt \
    --checkpoints "$work/unity-checkpoints" --server "ws://127.0.0.1:$port/ws/stream")
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=
ok "Unity package headless"

step "Unreal plugin (bindings/unreal): the module compiled against stub engine headers, -fno-exceptions -fno-rtti"
unreal=bindings/unreal
for source in "$unreal"/Source/Sgaps/Private/*.cpp; do
    c++ -std=c++17 "${strict[@]}" -fno-exceptions -fno-rtti -Iinclude -I"$unreal/Tests/EngineStub" \
        -I"$unreal/Source/Sgaps/Public" -c "$source" -o "$work/$(basename "$source").o"
done
python3 - "$unreal" <<'PY'
import json, sys
plugin = json.load(open(f"{sys.argv[1]}/Sgaps.uplugin"))
modules = [m["Name"] for m in plugin["Modules"]]
assert plugin["FileVersion"] == 3 and modules == ["Sgaps"], plugin
assert all(m["Type"] == "Runtime" for m in plugin["Modules"])
print("Sgaps.uplugin: one Runtime module, Sgaps")
PY
ok "SgapsModule.cpp and SgapsRecorderComponent.cpp"

step "Unreal plugin: Sgaps.Build.cs against a stub ModuleRules; every library it lists exists once staged"
unreal_copy=$work/unreal-plugin
cp -r "$unreal" "$unreal_copy"
scripts/unreal-stage.sh "$lib_dir" "$unreal_copy"
mcs -nologo -warnaserror -out:"$work/CheckBuildRules.exe" "$unreal/Tests/ModuleRulesStub.cs" \
    "$unreal/Source/Sgaps/Sgaps.Build.cs" "$unreal/Tests/CheckBuildRules.cs"
mono "$work/CheckBuildRules.exe" "$unreal_copy"
ok "Build.cs"

step "Unreal plugin: driver logic with std::thread against libsgaps, exceptions and RTTI off"
c++ -std=c++17 "${strict[@]}" -fno-exceptions -fno-rtti -pthread -I"$unreal/Source/Sgaps/Public" \
    "$unreal/Tests/driver_test.cpp" "${link[@]}" -o "$work/unreal_driver_test"
"$work/unreal_driver_test" "$work/unreal-checkpoints"
ok "Unreal driver"

if [ "$passed" -ne "$total" ]; then
    current="every step reports ok"
    echo "only $passed of $total steps reported ok" >&2
    exit 1
fi
