#!/usr/bin/env bash
# Streams a real game the default model never saw (Super Mario Bros 1-2) through
# `sgaps serve` at 10 fps, closed loop, with the dashboard open at
# http://127.0.0.1:$PORT/. Ctrl-C stops both.
#
#   scripts/demo.sh [GAME] [FRAMES]     e.g. scripts/demo.sh breakout 600
set -euo pipefail
cd "$(dirname "$0")/.."
GAME=${1:-mario-1-2}
FRAMES=${2:-3000}
PORT=${PORT:-8000}

target/release/sgaps serve server.port="$PORT" data_root="${DATA:-data/demo}" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.2
done
echo "dashboard: http://127.0.0.1:$PORT/  (streaming $GAME, $FRAMES frames at 10 fps)"
scripts/with-env python tools/capture.py --url "ws://127.0.0.1:$PORT/ws/stream" --game "$GAME" \
    --frames "$FRAMES" --fps 10 --checkpoint-key "demo-$GAME" --progress
