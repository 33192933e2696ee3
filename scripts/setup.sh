#!/usr/bin/env bash
# Installs everything the build and the tests need, idempotently, into a cache outside
# the checkout (SGAPS_CACHE, default ~/.cache/sgaps), keyed by version:
#   - a Python venv with torch==$TORCH_VERSION (libtorch for tch) and scripts/requirements.txt
# A second run finds the stamps and returns in about a second.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
cache=${SGAPS_CACHE:-$HOME/.cache/sgaps}
venv=$cache/torch-$TORCH_VERSION
requirements=$here/requirements.txt

log() { printf '[setup] %s\n' "$*" >&2; }

if [ ! -x "$venv/bin/python" ]; then
    log "creating venv $venv"
    mkdir -p "$cache"
    python3 -m venv "$venv"
fi

torch_stamp=$venv/.torch-$TORCH_VERSION
if [ ! -f "$torch_stamp" ]; then
    log "installing torch==$TORCH_VERSION (about 4.7 GB, once)"
    "$venv/bin/pip" install --disable-pip-version-check -q "torch==$TORCH_VERSION"
    touch "$torch_stamp"
fi

req_stamp=$venv/.requirements-$(sha256sum "$requirements" | cut -c1-16)
if [ ! -f "$req_stamp" ]; then
    log "installing Python packages from scripts/requirements.txt"
    "$venv/bin/pip" install --disable-pip-version-check -q -r "$requirements" "torch==$TORCH_VERSION"
    rm -f "$venv"/.requirements-*
    touch "$req_stamp"
fi

log "ready: $venv"

# ---------------------------------------------------------------------------------------
# The pinned cbindgen that generates include/sgaps.h.
cbindgen_root=$cache/cbindgen-$CBINDGEN_VERSION
if [ ! -x "$cbindgen_root/bin/cbindgen" ]; then
    log "installing cbindgen $CBINDGEN_VERSION (once)"
    cargo install --quiet --locked cbindgen --version "$CBINDGEN_VERSION" --root "$cbindgen_root"
fi

# ---------------------------------------------------------------------------------------
# Debian packages the tests and `make dist` use: a C/C++ compiler, Mono (mcs, mono) for
# the C# binding, patchelf for rpaths, Chromium for the dashboard test.
debian_packages=(gcc g++ make mono-mcs mono-runtime patchelf chromium)
missing=()
for package in "${debian_packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
log "ready: cbindgen $CBINDGEN_VERSION, ${debian_packages[*]}"
