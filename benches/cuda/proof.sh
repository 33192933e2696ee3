#!/usr/bin/env bash
# CUDA proof for issue 10: the committed sgaps binary (libtorch 2.13 ABI) on the
# device's torch libraries; bench, parity, training with resume, a longer training run.
set -u
export PYTHONUNBUFFERED=1 RUST_LOG=info NO_COLOR=1
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
SITE=$(python3 -c 'import torch,os;print(os.path.dirname(os.path.dirname(torch.__file__)))')
LD=$SITE/torch/lib; for d in $(find $SITE/nvidia -maxdepth 3 -name lib -type d); do LD=$LD:$d; done
export LD_LIBRARY_PATH=$LD
S=$PWD/.gpu/sgaps; W=/tmp/w; mkdir -p $W; L=$OUT/log.txt
exec > >(tee -a $L) 2>&1
nvidia-smi -L; python3 -c 'import torch;print(torch.__version__)'
ldd $S | grep -E "not found|torch_cuda|cudart"
M="model=temporal sampling=space_time mask_update=every_frame"
echo "== bench t=$(el)"
for b in 1 16 64; do timeout 60 $S bench frame --batch $b --iters 100 --warmup 10 --json device=cuda checkpoint_dir=checkpoints $M > $OUT/bench-cuda-b$b.json 2>$W/bench.err; echo "b$b rc=$?"; cat $OUT/bench-cuda-b$b.json; done
grep -v "session started" $W/bench.err | tail -5
DATA=$(ls data/capture/train-*.h5)
echo "== calibration: 1 epoch on cuda, then resume to 2 t=$(el)"
c0=$(date +%s)
timeout 120 $S train $M training=temporal training.epochs=1 device=cuda checkpoint_dir=$W/ck --checkpoint-key cal --run-dir $W/cal --data $DATA 2>&1 | grep -v "session started" | tail -5
T1=$(( $(date +%s) - c0 )); echo "T1=$T1"
if [ $T1 -lt 40 ]; then timeout 100 $S train $M training=temporal training.epochs=2 device=cuda checkpoint_dir=$W/ck --checkpoint-key cal --run-dir $W/cal --resume --data $DATA 2>&1 | grep -E "epoch done|resum|error|Error" | tail -5; fi
echo "== phase 1 t=$(el)"
N=$(( 150 / (T1 > 5 ? T1 : 5) )); [ $N -lt 2 ] && N=2; [ $N -gt 40 ] && N=40; echo "epochs=$N"
timeout 260 $S train $M training=temporal training.epochs=$N device=cuda checkpoint_dir=$W/ck --checkpoint-key gpu --run-dir $W/p1 --data $DATA > $W/p1.log 2>&1; echo "p1 rc=$?"
grep -E "epoch done|clips loaded" $W/p1.log | sed 's/.*epoch=/epoch=/' ; cp $W/p1.log $OUT/gpu-phase1.log
echo "== phase 2 t=$(el)"
N2=$(( N / 5 )); [ $N2 -lt 1 ] && N2=1
timeout 100 $S train $M training=temporal training.phase=2 training.closed_loop=true training.learning_rate=5e-4 training.epochs=$N2 device=cuda checkpoint_dir=$W/ck --init $W/ck/gpu --checkpoint-key gpu --run-dir $W/p2 --data $DATA > $W/p2.log 2>&1; echo "p2 rc=$?"
grep -E "epoch done" $W/p2.log | sed 's/.*epoch=/epoch=/'; cp $W/p2.log $OUT/gpu-phase2.log
mkdir -p $OUT/ck; cp $W/ck/gpu/* $OUT/ck/ 2>/dev/null; ls -la $OUT/ck
echo "== evaluate on cuda t=$(el)"
H=""; for f in data/capture/heldout-*.h5; do H="$H --data $f"; done
for key in default gpu; do
  dir=checkpoints; [ $key = gpu ] && dir=$W/ck
  timeout 110 $S evaluate $H --checkpoint-key $key --samples 500 --max-frames 40 --jobs 16 --out $W/ev-$key checkpoint_dir=$dir device=cuda $M > $W/ev-$key.log 2>&1; echo "eval $key rc=$?"
  cp $W/ev-$key/report.md $OUT/eval-$key.md 2>/dev/null; tail -2 $W/ev-$key.log
done
echo "== done t=$(el)"
