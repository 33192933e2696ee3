#!/usr/bin/env bash
# Installs everything the build and the tests need, idempotently, into a cache outside
# the checkout (SGAPS_CACHE, default ~/.cache/sgaps), keyed by version:
#   - a Python venv with torch==$TORCH_VERSION (libtorch for tch) and scripts/requirements.txt
# A second run finds the stamps and returns in about a second.
set -euo pipefail

TORCH_VERSION=2.13.0   # tch 0.26 expects exactly this libtorch
here=$(cd "$(dirname "$0")" && pwd)
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
