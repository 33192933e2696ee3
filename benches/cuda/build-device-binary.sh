#!/usr/bin/env bash
# Builds a stripped `sgaps` for a GPU machine whose Python has another torch than ours
# (the lent H200 has torch 2.11 + CUDA 13; we pin 2.13). Run here, carry the result:
#   benches/cuda/build-device-binary.sh 2.11.0 OUT_DIR
# tch's C++ wrapper is generated for 2.13: the few ops 2.11 lacks are stubbed (they
# throw if called; SGAPS calls none), the rest is compiled against 2.11's headers, and
# the binary is linked against 2.11's libraries, so it runs on that machine's torch.
set -euo pipefail
version=${1:?torch version}; out=${2:?output dir}
here=$(cd "$(dirname "$0")/../.." && pwd)
work=${SGAPS_CACHE:-$HOME/.cache/sgaps}/device-torch-$version
. "$here/scripts/versions.sh"
venv=${SGAPS_CACHE:-$HOME/.cache/sgaps}/torch-$TORCH_VERSION
mkdir -p "$work" "$out"
if [ ! -d "$work/torch/lib" ]; then
    "$venv/bin/python" -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --platform manylinux_2_28_x86_64 -d "$work" "torch==$version"
    unzip -q -o "$work"/torch-"$version"-*.whl 'torch/lib/*' 'torch/include/*' 'torch/share/*' -d "$work"
fi
# A private copy of torch-sys, its wrapper stubbed where this torch lacks an op.
sys=$(ls -d "$HOME"/.cargo/registry/src/*/torch-sys-0.26.0 | head -1)
rm -rf "$work/torch-sys" && cp -r "$sys" "$work/torch-sys"
missing=$("$venv/bin/python" - "$work" <<'PY'
import re, subprocess, sys
work = sys.argv[1]
cpp = f"{work}/torch-sys/libtch/torch_api_generated.cpp"
run = subprocess.run(["c++", "-std=c++17", "-fsyntax-only", "-w", "-D_GLIBCXX_USE_CXX11_ABI=1",
                      f"-I{work}/torch/include", f"-I{work}/torch/include/torch/csrc/api/include", cpp],
                     capture_output=True, text=True)
lines = sorted({int(n) for n in re.findall(r"torch_api_generated\.cpp:(\d+):\d+: error", run.stderr)})
src = open(cpp).read().split("\n")
starts = set()
for n in lines:
    i = n - 1
    while not re.match(r"^\w[\w\s\*]* atg_\w+\(", src[i]):
        i -= 1
    starts.add(i)
for i in sorted(starts, reverse=True):
    k = i
    while not src[k].rstrip().endswith("{"):
        k += 1
    j = k
    while src[j] != "}":
        j += 1
    src[k + 1:j] = ['  throw std::runtime_error("not in this libtorch");']
open(cpp, "w").write("\n".join(src))
print(len(starts))
PY
)
echo "stubbed $missing wrapper functions torch $version lacks"
# A worktree of HEAD builds with the private torch-sys, in its own target directory.
tree="$work/tree"; rm -rf "$tree"; git -C "$here" worktree add -f --detach "$tree" HEAD >/dev/null
trap 'git -C "$here" worktree remove --force "$tree"' EXIT
printf '\n[patch.crates-io]\ntorch-sys = { path = "%s" }\n' "$work/torch-sys" >> "$tree/Cargo.toml"
# Link against this torch's libraries; CUDA's come from ours (same sonames).
links=$(ls -d "$venv"/lib/python3*/site-packages/nvidia/*/lib | sed 's|^|-Wl,-rpath-link,|' | paste -sd' ')
sed -i "s|    println!(\"cargo:rustc-link-arg=-Wl,--no-as-needed\");|    for arg in \"$links\".split(' ') { println!(\"cargo:rustc-link-arg={arg}\"); }\n&|" "$tree/build/link_libtorch.rs"
(cd "$tree" && env -u LIBTORCH_USE_PYTORCH LIBTORCH="$work/torch" LIBTORCH_BYPASS_VERSION_CHECK=1 \
    CARGO_TARGET_DIR="$work/target" PATH="$venv/bin:$PATH" CMAKE="$venv/bin/cmake" \
    cargo build --release --bin sgaps)
strip -o "$out/sgaps" "$work/target/release/sgaps"
echo "wrote $out/sgaps (run it there with LD_LIBRARY_PATH set to that torch's lib and nvidia/*/lib)"
