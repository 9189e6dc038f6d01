#!/usr/bin/env bash
# Collect (or resume) the run tables hasbench ships, one after the other, $WORKERS worker
# processes (default 1).
# Resumable: rerun this script after any interruption; every step skips the
# (config, seed) runs already in its table. Logs: data/logs/<table>.log.
# Usage (from anywhere):  nohup bash data/collect_all.sh > data/logs/collect_all.log 2>&1 &
# Only some steps:        bash data/collect_all.sh mnist-hia-cnn usps-hia-cnn
#                         (step names as below; no names = every step, in order)
set -u
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TQDM_MININTERVAL=60
PY=(${PYTHON:-python})  # e.g. PYTHON="python -P" with PYTHONPATH=<snapshot>
# 1 worker keeps epoch times comparable across the table (the shipped tables used 1)
W=${WORKERS:-1}
mkdir -p data/logs
ONLY=" $* "

step() {  # step NAME ARGS... ; stops the driver when a step fails
  local name=$1; shift
  if [ "$ONLY" != "  " ] && [[ "$ONLY" != *" $name "* ]]; then return 0; fi
  echo "$(date -u +%FT%TZ) start $name: hasbench collect $*" >> "data/logs/$name.log"
  "${PY[@]}" -m hasbench -v collect --processes "$W" "$@" >> "data/logs/$name.log" 2>&1
  local rc=$?
  echo "$(date -u +%FT%TZ) end $name (exit $rc)" >> "data/logs/$name.log"
  if [ $rc -ne 0 ]; then echo "step $name failed (exit $rc); rerun to resume" >&2; exit $rc; fi
}

# 1. the default benchmark: 4,096 Sobol configs x 2 seeds x 27 epochs (Sobol prefixes: the
#    first 1,024 / 2,048 are the same as a 1,024- / 2,048-config run)
step digits-hia-cnn --space hia-cnn --dataset digits --n-configs 4096 --seeds 2 --epochs 27 \
  --sampler sobol --sample-seed 0 --max-train-examples 800 --out data/digits-hia-cnn.h5
# 2. held-out configs (another Sobol seed, configs of table 1 excluded)
step digits-hia-cnn.heldout --space hia-cnn --dataset digits --n-configs 200 --seeds 2 \
  --epochs 27 --sampler sobol --sample-seed 1 --max-train-examples 800 \
  --exclude data/digits-hia-cnn.h5 --out data/digits-hia-cnn.heldout.h5
# 3. Fashion-MNIST subset at 14x14 (raw files from $HASBENCH_SHARED_DATA or ../shared/data)
step fmnist-hia-cnn --space hia-cnn --dataset fashion-mnist --resolution 0.5 \
  --max-train-examples 2000 --max-valid-examples 1000 --max-test-examples 1000 \
  --n-configs 300 --seeds 2 --epochs 27 --sampler sobol --sample-seed 0 \
  --out data/fmnist-hia-cnn.h5
# 4. the zela2018 joint ResNet space on digits
step digits-zela2018 --space zela2018 --dataset digits --n-configs 500 --seeds 2 --epochs 27 \
  --sampler sobol --sample-seed 0 --max-train-examples 800 --out data/digits-zela2018.h5
# 5-8. the cross-dataset hia-cnn benchmarks (issue 17): the same 300 Sobol configs (sampler
#    and sample seed of step 3, so every dataset is paired config by config), 2 seeds,
#    27 epochs, at the Fashion-MNIST budget of step 3 (14x14 images, 2,000 / 1,000 / 1,000
#    train / valid / test), which keeps a run near 10 s on one CPU core. These tables are
#    schema version 2: they record CPU time per epoch beside wall time.
HIA300=(--space hia-cnn --n-configs 300 --seeds 2 --epochs 27 --sampler sobol --sample-seed 0
  --max-train-examples 2000 --max-valid-examples 1000 --max-test-examples 1000)
step mnist-hia-cnn "${HIA300[@]}" --dataset mnist --resolution 0.5 --out data/mnist-hia-cnn.h5
# USPS is 16x16: 0.875 gives the same 14x14 input (same FLOPs per image, same architectures)
step usps-hia-cnn "${HIA300[@]}" --dataset usps --resolution 0.875 --out data/usps-hia-cnn.h5
# KMNIST and Kannada-MNIST: only their 10,000-image test releases exist in the shared data,
#    pooled and split 6,000 / 2,000 / 2,000 (hasbench.train.datasets); the first 2,000 /
#    1,000 / 1,000 of that split are used
step kmnist-hia-cnn "${HIA300[@]}" --dataset kmnist --resolution 0.5 \
  --out data/kmnist-hia-cnn.h5
step kannada-hia-cnn "${HIA300[@]}" --dataset kannada-mnist --resolution 0.5 \
  --out data/kannada-hia-cnn.h5
# 9-10. re-time the tables collected before tables recorded CPU time (their wall times carry
#    the shared machine's load): each run's first 4 epochs are trained again on one thread
#    and their CPU seconds stored, later epochs get the mean of epochs 2-4
#    (hasbench.train.retime; step names NAME.retime). Resumable like the steps above; then
#    re-split and refit the table's surrogate (data/README.md).
retime_step() {  # retime_step NAME
  local name=$1.retime
  if [ "$ONLY" != "  " ] && [[ "$ONLY" != *" $name "* ]]; then return 0; fi
  echo "$(date -u +%FT%TZ) start $name" >> "data/logs/$name.log"
  "${PY[@]}" -m hasbench -v table retime "data/$1.h5" --epochs 4 --processes "$W" \
    --allow-stale-surrogates >> "data/logs/$name.log" 2>&1
  local rc=$?
  echo "$(date -u +%FT%TZ) end $name (exit $rc)" >> "data/logs/$name.log"
  if [ $rc -ne 0 ]; then echo "step $name failed (exit $rc); rerun to resume" >&2; exit $rc; fi
}
retime_step digits-zela2018
retime_step fmnist-hia-cnn
# 11-12. the same for the main digits tables (2026-12-03, 1.1 + 21.4 min with two processes;
#    run on copies in data/digits-hia-cnn.partial/, then moved here with both digits
#    surrogates refitted on them: data/README.md, "Shipped surrogates and their validation")
retime_step digits-hia-cnn.heldout
retime_step digits-hia-cnn
echo "$(date -u +%FT%TZ) all requested tables complete"
