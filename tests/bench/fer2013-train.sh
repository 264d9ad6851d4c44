#!/bin/bash
# fer2013-train.sh — what flip and crop are worth on real faces, and what Mien's speed is worth:
# FER2013's six ABAW4 classes (neutral left out) trained from random weights for a wall-clock
# BUDGET, with and without the augmentations, by Mien (mien-cli train --time-limit) and by plain
# PyTorch (fer2013_torch.py: the same network, batch, learning rate and augmentations from
# torchvision), one run after another so that none shares the processors. Prints images/s,
# epochs done, the best validation macro F1 and the accuracy of that epoch for each run, and the
# Mien/PyTorch ratios of this same invocation.
#
# FER2013 is research-use data: it is read where it lies (a subset is made of symbolic links).
#
# Usage: tests/bench/fer2013-train.sh [options] [BUDGET]
#   BUDGET     minutes per run [30]; four runs take four times as long
#   -B DIR     meson build folder [build]
#   -D DIR     FER2013 root holding train/<class>/ and val/<class>/ [../shared/data/fer2013]
#   -O DIR     where runs and logs go [/tmp/mien-fer2013-train]
#   -p N       only the first N training images of each class (and N/4 validation images, at
#              least 8) — for a quick check of the script [all]
#   -b SPEC    backbone [resnet:18]
#   -s PX      input size [48]
#   -n N       batch size [64]
#   -l LR      Adam's learning rate [0.001]
#   -c CROP    the crop of the augmented runs: pad, pad:P, resized or resized:SMIN [pad]
#   -t N       threads (libtorch, and decoding / DataLoader workers) [nproc]
#   -r LIST    runs, comma-separated, from mien-plain mien-aug torch-plain torch-aug [all four]
# Exit status 77 (skipped) when FER2013 is not there.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$(dirname "$here")")
builddir=$top/build
data=$top/../shared/data/fer2013
outdir=/tmp/mien-fer2013-train
per_class=
backbone=resnet:18
size=48
batch=64
lr=0.001
crop=pad
threads=$(nproc)
runs=mien-plain,mien-aug,torch-plain,torch-aug
classes=anger,disgust,fear,happiness,sadness,surprise
python=/usr/bin/python3

usage () { sed -n '2,29p' "$0" >&2; exit 2; }
while getopts "B:D:O:p:b:s:n:l:c:t:r:h" opt; do
  case $opt in
    B) builddir=$(cd "$OPTARG" && pwd) ;;
    D) data=$OPTARG ;;
    O) outdir=$OPTARG ;;
    p) per_class=$OPTARG ;;
    b) backbone=$OPTARG ;;
    s) size=$OPTARG ;;
    n) batch=$OPTARG ;;
    l) lr=$OPTARG ;;
    c) crop=$OPTARG ;;
    t) threads=$OPTARG ;;
    r) runs=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
budget=${1:-30}
[ $# -le 1 ] || usage
[[ $budget =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "fer2013-train: BUDGET is minutes, not “$budget”" >&2; exit 2; }

if [ ! -d "$data/train" ] || [ ! -d "$data/val" ]; then
  echo "fer2013-train: no FER2013 at $data (train/ and val/ expected); skipped" >&2
  exit 77
fi
cli=$builddir/app/cli/mien-cli
[ -x "$cli" ] || { echo "fer2013-train: no $cli (build first, or give -B)" >&2; exit 2; }
export MIEN_PLUGIN_PATH=$builddir/plugins
stamp=$(date +%Y%m%d-%H%M%S)
work=$outdir/$stamp
mkdir -p "$work"

train_dir=$data/train
val_dir=$data/val
if [ -n "$per_class" ]; then
  # The first N (sorted) files of each class, as links into the data.
  val_n=$(( per_class / 4 > 8 ? per_class / 4 : 8 ))
  IFS=, read -ra wanted_classes <<< "$classes"
  for split in train val; do
    n=$per_class; [ $split = val ] && n=$val_n
    for c in "${wanted_classes[@]}"; do
      mkdir -p "$work/subset/$split/$c"
      src=$(cd "$data/$split/$c" && pwd)
      mapfile -t files < <(find "$src" -maxdepth 1 -type f -name '*.png' | LC_ALL=C sort)
      ln -s "${files[@]:0:$n}" "$work/subset/$split/$c/"
    done
  done
  train_dir=$work/subset/train
  val_dir=$work/subset/val
fi

mien () {
  local name=$1; shift
  "$cli" train --data "$train_dir" --val "$val_dir" --classes "$classes" \
    --backbone "$backbone" --input-size "$size" --batch "$batch" --lr "$lr" --epochs 100000 \
    --time-limit "$budget" --threads "$threads" --workers "$threads" --seed 1 --json \
    --out "$work/$name" "$@" > "$work/$name.jsonl" 2> "$work/$name.err" ||
    { tail -n 20 "$work/$name.err" >&2; exit 1; }
}
torch_run () {
  local name=$1; shift
  "$python" "$here/fer2013_torch.py" --train "$train_dir" --val "$val_dir" \
    --classes "$classes" --backbone "$backbone" --input-size "$size" --batch "$batch" \
    --lr "$lr" --budget "$budget" --threads "$threads" --workers "$threads" --seed 1 \
    "$@" > "$work/$name.jsonl" 2> "$work/$name.err" ||
    { tail -n 20 "$work/$name.err" >&2; exit 1; }
}

IFS=, read -ra wanted <<< "$runs"
for r in "${wanted[@]}"; do
  echo "== $r: $budget min ($(date +%T))" >&2
  case $r in
    mien-plain) mien "$r" --no-flip --crop none ;;
    mien-aug) mien "$r" --flip --crop "$crop" ;;
    torch-plain) torch_run "$r" --crop none ;;
    torch-aug) torch_run "$r" --flip --crop "$crop" ;;
    *) echo "fer2013-train: unknown run $r" >&2; exit 2 ;;
  esac
done

echo
echo "FER2013 six classes, $backbone at $size px from random weights, batch $batch, lr $lr," \
     "$budget min a run, $threads threads${per_class:+, $per_class images a class}; aug = flip + $crop"
"$python" - "$work" "${wanted[@]}" <<'PY'
import json, os, sys

work, names = sys.argv[1], sys.argv[2:]
rows = {}
for name in names:
    records = []
    with open(os.path.join(work, name + '.jsonl')) as f:
        for line in f:
            r = json.loads(line)
            if 'val_macro_f1' in r and 'epoch' in r:
                records.append(r)
    if not records:
        raise SystemExit(f'{name}: no epoch finished')
    images = sum(r['train_images'] for r in records)
    seconds = sum(r['train_seconds'] for r in records)
    best = max(records, key=lambda r: r['val_macro_f1'])
    rows[name] = (images / seconds, len(records), best['val_macro_f1'], best['val_accuracy'])

print(f"{'run':<18} {'images/s':>9} {'epochs':>7} {'macro F1':>9} {'accuracy':>9}")
for name, (speed, epochs, f1, acc) in rows.items():
    print(f'{name:<18} {speed:9.1f} {epochs:7d} {f1:9.4f} {acc:9.4f}')
for kind in ('plain', 'aug'):
    m, t = rows.get('mien-' + kind), rows.get('torch-' + kind)
    if m and t:
        print(f"{'Mien/PyTorch ' + kind:<18} {m[0] / t[0]:8.2f}x {m[1] / t[1]:6.2f}x "
              f"{m[2] / max(t[2], 1e-9):8.2f}x {m[3] / max(t[3], 1e-9):8.2f}x")
PY
echo "(runs and logs in $work)"
