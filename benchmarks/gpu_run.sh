#!/usr/bin/env bash
# One prepared GPU session, in at most about 10 minutes, on a CUDA machine with no network:
#   1. the GPU and the software (nvidia-smi, torch)                -> benchmarks/results/gpu_run/
#   2. benchmarks/train_speed.py on CUDA (ours vs a tutorial loop) -> benchmarks/results/
#   3. seconds per CIFAR-sized ResNet18 epoch in our loop, and the utilisation it implies
#      (feed it to `lowdim-course plan --utilisation U`)          -> benchmarks/results/
#   4. the no-download full experiments that gain from a GPU, each under its own time limit,
#      while the budget lasts                                       -> results/NAME/full/
# Everything it writes is small (json, csv, png) and meant to be committed; the log of each
# step goes to benchmarks/results/gpu_run/. Run from the repository root:
#   bash benchmarks/gpu_run.sh              # needs CUDA
#   bash benchmarks/gpu_run.sh --dry-run    # prints the steps (any machine)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
OUT=benchmarks/results/gpu_run
BUDGET_S=${GPU_RUN_BUDGET_S:-540}        # stop starting new steps after this many seconds
# Full experiments that need no download and gain from a GPU (their kernels, wide networks and
# many seeds), with a per-run limit in seconds; cheapest first.
EXPERIMENTS=(
  "manifolds_ntk 120" "overparam_lazy 120" "collapse_ufm 120" "manifolds_training 180"
  "overparam_compositional 180" "manifolds_resources 240" "overparam_lr_noise 300"
)
DRY=0; [ "${1:-}" = "--dry-run" ] && DRY=1

step() {  # step NAME LIMIT_S COMMAND...: run it (or print it), log it, respect the budget
  local name=$1 limit=$2; shift 2
  local used=$SECONDS
  if [ $DRY -eq 1 ]; then echo "[$name, <= ${limit}s] $*"; return 0; fi
  if [ $((used + limit)) -gt "$BUDGET_S" ]; then
    echo "skipped $name: ${used}s used of ${BUDGET_S}s" | tee -a "$OUT/steps.log"; return 0
  fi
  echo "$(date -u +%H:%M:%S) start $name" | tee -a "$OUT/steps.log"
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "$(date -u +%H:%M:%S) end $name rc=$rc ($((SECONDS - used)) s)" | tee -a "$OUT/steps.log"
}

if [ $DRY -eq 0 ]; then
  "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" || {
    echo "gpu_run.sh: no CUDA GPU here; run it on a GPU machine (or --dry-run to see the steps)"
    exit 2
  }
  mkdir -p "$OUT"; : > "$OUT/steps.log"
  { nvidia-smi; "$PY" -c "import torch; print(torch.__version__, torch.version.cuda)"; } \
    > "$OUT/machine.txt" 2>&1
fi
export LOWDIM_PROGRESS=0 MPLBACKEND=agg
step train_speed 150 "$PY" benchmarks/train_speed.py --device cuda
step epoch_time 120 "$PY" benchmarks/epoch_time.py --device cuda
for entry in "${EXPERIMENTS[@]}"; do
  read -r name limit <<< "$entry"
  step "$name" "$limit" "$PY" -m lowdim_course.cli run "$name" --profile full --device cuda --quiet
done
[ $DRY -eq 1 ] || echo "done in ${SECONDS}s; commit benchmarks/results/ and results/*/full/"
