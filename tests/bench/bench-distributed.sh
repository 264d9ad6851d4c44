#!/bin/bash
# bench-distributed.sh — data-parallel training (issue 16) against one process using the same
# cores: where the time of a DDP step goes (compute, all-reduce, waiting), on a synthetic set.
#
# Usage:
#   tests/bench/bench-distributed.sh [options]
#
# CPU runs, each `mien-cli train` on the same set, backbone, seed and epochs (P = -P, 2 by
# default; B = the global batch, -B):
#   A  1 process  x P threads, batch B          (mien-cli train --threads P)
#   B  P processes x 1 thread, batch B/P a rank  (mien-cli train --nproc P --threads 1)
#   C  1 process  x 1 thread, batch B/P          (B's per-rank compute alone, no communication)
# Only the LAST epoch is reported (the first includes warm-up: decoding pass, allocator, oneDNN
# primitives). Figures come from the run's log (rank 0's): "images_per_s", "train_seconds" and the
# "time" split (data, forward, backward, optimizer, sync), divided by the epoch's steps.
# "all-reduce + waiting" per step is estimated as B.backward - C.backward: the same per-rank
# work on one thread, so the difference is DDP's bucketed all-reduce that is not hidden behind
# the backward pass plus the wait for the slower rank. Its share is of B's step time
# (train_seconds / steps); a second estimate scales C.backward by B.forward / C.forward first
# (forward has no communication, so that ratio is the compute slowdown of P processes running
# at once: shared caches, memory bandwidth, other load). A and B also compare the last epoch's
# validation macro F1 (equal global batches, so the same number of optimiser steps).
#
# With -g and a CUDA device visible (nvidia-smi -L, else the "torch"
# "devices" of `mien-cli plugins --json`):
#   G1  1 GPU, batch B                     (--device cuda)
#   GN  NGPU processes, batch B a rank      (--nproc NGPU --device cuda)
# and the images/s ratio GN/G1 (scaling; ideal = NGPU).
#
# Options (defaults in brackets):
#   -C DIR      meson build folder holding app/cli/mien-cli and plugins/ [build]
#   -p PYTHON   python 3 for reading the logs (standard library only) [/usr/bin/python3]
#   -D DIR      dataset: a folder holding train/ and val/ [a synthetic set made with
#               `mien-cli demo-data` in a temporary folder, removed at exit]
#   -n N        images per class of the largest class of the synthetic set [300]
#   -b SPEC     backbone, FAMILY[:VARIANT] in Mien's names, e.g. vit:ti_16 [resnet:18]
#   -s PX       input size [64]
#   -B N        global batch size (a multiple of -P) [32]
#   -e N        epochs; the last one is reported [2]
#   -P N        processes of run B = threads of run A [2]
#   -m HOW      --batch-norm: default, train or eval [default]
#   -O POLICY   OMP_WAIT_POLICY for every run: passive or active [unset: libgomp's default,
#               which spins; on an oversubscribed machine spinning threads slow run A down
#               several times, so compare with -O passive there]
#   -g          also the GPU part (skipped with a note when no CUDA device is visible)
#   -k DIR      keep every run's JSON output, stderr and run folder in DIR
#   -o FILE     also append the raw RESULT lines to FILE
#
# Output: one RESULT line per run as it finishes, then the tables (markdown). Absolute times on
# a shared CPU mean little: read the ratios, which are against runs of the same invocation.
# Run it on an otherwise idle machine, or note the load (printed at the start and the end).
set -euo pipefail

builddir=build
python=/usr/bin/python3
dataset=
per_class=300
backbone=resnet:18
size=64
batch=32
epochs=2
procs=2
batch_norm=default
omp_wait=
gpu=0
keep=
rawfile=

while getopts "C:p:D:n:b:s:B:e:P:m:O:gk:o:h" opt; do
  case $opt in
    C) builddir=$OPTARG ;;
    p) python=$OPTARG ;;
    D) dataset=$OPTARG ;;
    n) per_class=$OPTARG ;;
    b) backbone=$OPTARG ;;
    s) size=$OPTARG ;;
    B) batch=$OPTARG ;;
    e) epochs=$OPTARG ;;
    P) procs=$OPTARG ;;
    m) batch_norm=$OPTARG ;;
    O) omp_wait=$OPTARG ;;
    g) gpu=1 ;;
    k) keep=$OPTARG ;;
    o) rawfile=$OPTARG ;;
    h) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -gt 0 ]; then
  echo "bench-distributed.sh: no arguments expected (options only; -h for help)" >&2
  exit 2
fi
if [ "$procs" -lt 2 ] || [ $((batch % procs)) -ne 0 ] || [ $((batch / procs)) -lt 2 ]; then
  echo "bench-distributed.sh: -B $batch must be a multiple of -P $procs (>= 2), at least 2 a rank" >&2
  exit 2
fi
rank_batch=$((batch / procs))

builddir=$(cd "$builddir" && pwd)
cli="$builddir/app/cli/mien-cli"
if [ ! -x "$cli" ]; then
  echo "bench-distributed.sh: $cli not found: build it first (ninja -C $builddir)" >&2
  exit 1
fi
export MIEN_PLUGIN_PATH="$builddir/plugins"
# The ranks started by --nproc must not inherit a launcher's variables.
unset RANK WORLD_SIZE LOCAL_RANK MASTER_ADDR MASTER_PORT
if [ -n "$omp_wait" ]; then
  export OMP_WAIT_POLICY=$omp_wait
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "$keep" ]; then
  mkdir -p "$keep"
  keep=$(cd "$keep" && pwd)
  out=$keep
else
  out=$work
fi

if [ -z "$dataset" ]; then
  dataset="$work/data"
  echo "# making the synthetic set: mien-cli demo-data --per-class $per_class $dataset" >&2
  "$cli" demo-data --per-class "$per_class" "$dataset" >/dev/null 2>"$work/demo-data.err" || {
    cat "$work/demo-data.err" >&2
    exit 1
  }
fi
dataset=$(cd "$dataset" && pwd)

record() {
  echo "$1"
  if [ -n "$rawfile" ]; then
    echo "$1" >>"$rawfile"
  fi
}

# summarize TAG JSONFILE — the RESULT line of one run: its last epoch, per step.
summarize() {
  "$python" - "$@" <<'EOF'
import json, sys
tag, path = sys.argv[1:3]
epochs = []
for line in open(path):
    line = line.strip()
    if line.startswith('{'):
        d = json.loads(line)
        if 'images_per_s' in d:
            epochs.append(d)
if not epochs:
    sys.exit(f'{path}: no epoch record')
last = epochs[-1]
steps = last['step'] - (epochs[-2]['step'] if len(epochs) > 1 else 0)
t = last.get('time', {})
ms = {k: t.get(k, 0.0) / steps * 1e3 for k in ('data', 'forward', 'backward', 'optimizer', 'sync')}
fields = [f'epoch={last["epoch"]}', f'steps={steps}', f'images={last["train_images"]}',
          f'world={last.get("world_size", 1)}', f'img/s={last["images_per_s"]:.4f}',
          f'step_ms={last["train_seconds"] / steps * 1e3:.3f}']
fields += [f'{k}_ms={v:.3f}' for k, v in ms.items()]
fields += [f'val_f1={last["val_macro_f1"]:.4f}', f'val_acc={last["val_accuracy"]:.4f}',
           'epochs_img/s=' + ','.join('%.2f' % e['images_per_s'] for e in epochs)]
print(f'RESULT {tag} ' + ' '.join(fields))
EOF
}

# train TAG ARGS... — one `mien-cli train` run on the set; its RESULT line.
train() {
  local tag=$1 base="$out/$1"
  shift
  rm -rf "$base.run"
  echo "# $tag: mien-cli train $*" >&2
  if ! "$cli" train --data "$dataset" --backbone "$backbone" --input-size "$size" \
      --epochs "$epochs" --seed 0 --batch-norm "$batch_norm" --no-flip --crop none \
      --out "$base.run" --json "$@" >"$base.json" 2>"$base.err"; then
    echo "bench-distributed.sh: mien-cli train ($tag) failed:" >&2
    tail -n 20 "$base.err" >&2
    exit 1
  fi
  local line
  line=$(summarize "$tag" "$base.json")
  record "$line"
  echo "$line" >>"$work/results"
}
: >"$work/results"

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -n), $(nproc) CPUs, load $(load)"
echo "# $backbone, ${size} px, global batch $batch, $epochs epochs (last reported)," \
  "batch norm $batch_norm, $procs processes, OMP_WAIT_POLICY ${OMP_WAIT_POLICY:-unset};" \
  "dataset $dataset"

train A --threads "$procs" --workers "$procs" --batch "$batch"
train B --nproc "$procs" --threads 1 --workers 1 --batch "$rank_batch"
train C --threads 1 --workers 1 --batch "$rank_batch"

ngpu=0
if [ $gpu = 1 ]; then
  if command -v nvidia-smi >/dev/null 2>&1; then
    ngpu=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
  fi
  if [ "$ngpu" = 0 ]; then
    ngpu=$("$cli" plugins --json 2>/dev/null | "$python" -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    print(0); sys.exit()
print(sum(1 for x in d.get("torch", {}).get("devices", [])
          if str(x.get("device", "")).startswith("cuda")))' || echo 0)
  fi
  if [ "$ngpu" -gt 0 ]; then
    train G1 --device cuda --batch "$batch"
    train GN --nproc "$ngpu" --device cuda --batch "$batch"
  else
    echo "# -g: no CUDA device visible (nvidia-smi -L, mien-cli plugins --json); GPU part skipped"
  fi
fi
echo "# done $(date -u +%Y-%m-%dT%H:%MZ), load $(load)"

"$python" - "$work/results" "$procs" "$batch" "$rank_batch" "$ngpu" <<'EOF'
import sys
path, procs, batch, rank_batch, ngpu = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5])
runs = {}
for line in open(path):
    parts = line.split()
    runs[parts[1]] = {k: v for k, v in (p.split('=', 1) for p in parts[2:])}
f = lambda run, key: float(runs[run][key])
A, B, C = 'A', 'B', 'C'
print()
print(f'Throughput, last epoch: A = 1 process x {procs} threads, batch {batch}; '
      f'B = {procs} processes x 1 thread, batch {rank_batch} a rank')
print()
print(f'| {"measure":<34} | {"A":>9} | {"B":>9} | {"B/A":>7} |')
print(f'|{"-" * 36}|{"-" * 10}:|{"-" * 10}:|{"-" * 8}:|')
print(f'| {"training img/s":<34} | {f(A, "img/s"):9.2f} | {f(B, "img/s"):9.2f} | '
      f'{f(B, "img/s") / f(A, "img/s"):7.3f} |')
print(f'| {"validation macro F1 (last epoch)":<34} | {f(A, "val_f1"):9.4f} | '
      f'{f(B, "val_f1"):9.4f} | {f(B, "val_f1") - f(A, "val_f1"):+7.4f} |')
print(f'| {"validation accuracy (last epoch)":<34} | {f(A, "val_acc"):9.4f} | '
      f'{f(B, "val_acc"):9.4f} | {f(B, "val_acc") - f(A, "val_acc"):+7.4f} |')
print()
print('(the F1 and accuracy rows give B - A, not a ratio)')
print()
print(f'Per optimiser step, ms (rank 0 for B); C = 1 process x 1 thread, batch {rank_batch}: '
      "B's per-rank compute alone")
print()
print(f'| {"part":<28} | {"A":>9} | {"B":>9} | {"C":>9} | {"B/A":>7} | {"B/C":>7} |')
print(f'|{"-" * 30}|{"-" * 10}:|{"-" * 10}:|{"-" * 10}:|{"-" * 8}:|{"-" * 8}:|')
def row(label, key):
    a, b, c = f(A, key), f(B, key), f(C, key)
    r = lambda x, y: f'{x / y:7.3f}' if y > 0 else f'{"-":>7}'
    print(f'| {label:<28} | {a:9.1f} | {b:9.1f} | {c:9.1f} | {r(b, a)} | {r(b, c)} |')
row('data (waiting for loader)', 'data_ms')
row('forward (+ augment, loss)', 'forward_ms')
row('backward (+ all-reduce)', 'backward_ms')
row('optimizer', 'optimizer_ms')
row('sync (BN buffers)', 'sync_ms')
row('step (train_seconds/steps)', 'step_ms')
comm = f(B, 'backward_ms') - f(C, 'backward_ms')
step = f(B, 'step_ms')
print()
print(f'all-reduce + waiting per step = B.backward - C.backward = {comm:.1f} ms, '
      f'{comm / step * 100:.1f} % of B\'s step ({step:.1f} ms); '
      f'with sync: {(comm + f(B, "sync_ms")) / step * 100:.1f} %')
slow = f(B, 'forward_ms') / f(C, 'forward_ms') if f(C, 'forward_ms') > 0 else 1.0
adj = f(B, 'backward_ms') - f(C, 'backward_ms') * slow
print(f'the same with C\'s backward scaled by B.forward/C.forward = {slow:.2f} (the compute '
      f'slowdown of running {procs} processes at once, e.g. memory bandwidth or other load): '
      f'{adj:.1f} ms, {adj / step * 100:.1f} %')
print(f'steps in the last epoch: A {runs[A]["steps"]}, B {runs[B]["steps"]}, '
      f'C {runs[C]["steps"]}; images: A {runs[A]["images"]}, B {runs[B]["images"]}, '
      f'C {runs[C]["images"]}')
if 'G1' in runs and 'GN' in runs:
    g1, gn = f('G1', 'img/s'), f('GN', 'img/s')
    print()
    print(f'GPU: {ngpu} GPUs x batch {batch} a rank against 1 GPU x batch {batch}')
    print()
    print(f'| {"measure":<20} | {"1 GPU":>9} | {f"{ngpu} GPUs":>9} | {"ratio":>7} | '
          f'{"ratio/NGPU":>10} |')
    print(f'|{"-" * 22}|{"-" * 10}:|{"-" * 10}:|{"-" * 8}:|{"-" * 11}:|')
    print(f'| {"training img/s":<20} | {g1:9.1f} | {gn:9.1f} | {gn / g1:7.3f} | '
          f'{gn / g1 / ngpu:10.3f} |')
EOF
