#!/usr/bin/env bash
# Phase-2 fine-tuning of the committed default on the lent H200, then held-out evaluation.
set -u
export RUST_LOG=info NO_COLOR=1
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
SITE=$(python3 -c 'import torch,os;print(os.path.dirname(os.path.dirname(torch.__file__)))')
LD=$SITE/torch/lib; for d in $(find $SITE/nvidia -maxdepth 3 -name lib -type d); do LD=$LD:$d; done
export LD_LIBRARY_PATH=$LD
S=$PWD/.gpu/sgaps; W=/tmp/w; mkdir -p $W
exec > >(tee -a $OUT/log.txt) 2>&1
M="model=temporal sampling=space_time mask_update=every_frame"
DATA=$(ls data/capture/train-*.h5)
echo "== fine-tune t=$(el)"
timeout 215 $S train $M training=temporal training.phase=2 training.closed_loop=true training.learning_rate=3e-4 training.epochs=6 device=cuda checkpoint_dir=$W/ck --init checkpoints/default --checkpoint-key ft --run-dir $W/ft --data $DATA > $W/ft.log 2>&1; echo "ft rc=$?"
grep -E "epoch done" $W/ft.log | sed 's/.*epoch=/epoch=/'; cp $W/ft.log $OUT/gpu-finetune.log
cp $W/ck/ft/model.safetensors $W/ck/ft/config.json $OUT/ 2>/dev/null
echo "== evaluate t=$(el)"
H=""; for f in data/capture/heldout-*.h5; do H="$H --data $f"; done
timeout 70 $S evaluate $H --checkpoint-key ft --samples 250,500,1000 --max-frames 40 --jobs 16 --out $W/ev checkpoint_dir=$W/ck device=cuda $M > $W/ev.log 2>&1; echo "eval rc=$?"
cp $W/ev/report.md $OUT/eval-ft.md 2>/dev/null
echo "== done t=$(el)"
