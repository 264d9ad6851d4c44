#!/bin/bash
# fer2013-table.sh — an honest accuracy figure on real faces: the paper's comparisons (baseline,
# label smoothing, class weights, RandAugment upsampling, DFT, ensemble) trained on FER2013's
# six ABAW4 classes and evaluated on its validation split, printed in the paper's table format.
#
# FER2013 is research-use data: it is read from where it lies and never copied or committed.
#
# Usage: tests/bench/fer2013-table.sh [options]
#   -B DIR     meson build folder [build]
#   -D DIR     FER2013 root holding train/<class>/ and val/<class>/ [../shared/data/fer2013]
#   -O DIR     where the run folders go [/tmp/mien-fer2013]
#   -b SPEC    backbone [resnet:18]
#   -s PX      input size [48]
#   -e N       epochs per run [5]
#   -n N       batch size [64]
#   -t N       threads [nproc]
#   -d DEVICE  cpu or cuda[:N] [cpu]
#   -r LIST    runs to do, comma-separated, from: baseline ls0.1 ls0.2 ls0.4 weighted upsample
#              upsample+weighted dft [baseline,ls0.1,weighted,upsample,upsample+weighted,dft]
# "weighted" uses the paper's weights 1,3,5,1,1,1; "dft" starts from the baseline's best model
# (the paper pretrains on faces, then runs DFT from that model) at a tenth of its learning rate.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$(dirname "$here")")
builddir=$top/build
data=$top/../shared/data/fer2013
outdir=/tmp/mien-fer2013
backbone=resnet:18
size=48
epochs=5
batch=64
threads=$(nproc)
device=cpu
runs=baseline,ls0.1,weighted,upsample,upsample+weighted,dft
lr=1e-3
classes=anger,disgust,fear,happiness,sadness,surprise

while getopts "B:D:O:b:s:e:n:t:d:r:" opt; do
  case $opt in
    B) builddir=$(cd "$OPTARG" && pwd) ;;
    D) data=$OPTARG ;;
    O) outdir=$OPTARG ;;
    b) backbone=$OPTARG ;;
    s) size=$OPTARG ;;
    e) epochs=$OPTARG ;;
    n) batch=$OPTARG ;;
    t) threads=$OPTARG ;;
    d) device=$OPTARG ;;
    r) runs=$OPTARG ;;
    *) sed -n '2,20p' "$0" >&2; exit 2 ;;
  esac
done

if [ ! -d "$data/train" ] || [ ! -d "$data/val" ]; then
  echo "fer2013-table: no FER2013 at $data (train/ and val/ expected); nothing to do" >&2
  exit 77
fi
cli=$builddir/app/cli/mien-cli
export MIEN_PLUGIN_PATH=$builddir/plugins
mkdir -p "$outdir"
stamp=$(date +%Y%m%d-%H%M%S)

common=(--data "$data/train" --val "$data/val" --classes "$classes" --backbone "$backbone"
        --input-size "$size" --epochs "$epochs" --batch "$batch" --threads "$threads"
        --device "$device" --seed 1 --json)

train () {
  local name=$1; shift
  local run=$outdir/$stamp-$name
  echo "== $name: mien-cli train $* ($(date +%T))" >&2
  local t0=$SECONDS
  "$cli" train "${common[@]}" --out "$run" "$@" > "$run.jsonl"
  echo "   $((SECONDS - t0)) s" >&2
  echo "$name $run/best.safetensors" >> "$outdir/$stamp.models"
}

IFS=, read -ra wanted <<< "$runs"
for r in "${wanted[@]}"; do
  case $r in
    baseline) train baseline --lr "$lr" ;;
    ls*) train "$r" --lr "$lr" --smoothing "${r#ls}" ;;
    weighted) train weighted --lr "$lr" --imbalance weighted --class-weights 1,3,5,1,1,1 ;;
    upsample) train upsample --lr "$lr" --imbalance upsample ;;
    upsample+weighted) train upsample+weighted --lr "$lr" --imbalance upsample+weighted \
                         --class-weights 1,3,5,1,1,1 ;;
    dft)
      base=$outdir/$stamp-baseline/best.safetensors
      [ -f "$base" ] || { echo "dft needs the baseline run first" >&2; exit 2; }
      train dft --mode dft --pretrained "$base" --lr "$(awk "BEGIN{print $lr/10}")" ;;
    *) echo "unknown run $r" >&2; exit 2 ;;
  esac
done

# Each model on its own, then the ensemble of all of them, on FER2013's validation split.
rows=()
models=()
while read -r name path; do
  "$cli" eval --model "$path" --data "$data/val" --classes "$classes" --json > "$outdir/$stamp-$name.eval.json"
  rows+=("$name=$outdir/$stamp-$name.eval.json")
  models+=(--model "$path")
done < "$outdir/$stamp.models"
if [ ${#models[@]} -gt 2 ]; then
  "$cli" eval "${models[@]}" --data "$data/val" --classes "$classes" --json > "$outdir/$stamp-ensemble.eval.json"
  rows+=("ensemble=$outdir/$stamp-ensemble.eval.json")
fi

echo
echo "FER2013 validation, six classes, $backbone at ${size} px, $epochs epochs, $device ($threads threads)"
python3 - "${rows[@]}" <<'PY'
import json, sys
rows = [a.split("=", 1) for a in sys.argv[1:]]
classes = None
lines = []
for name, path in rows:
    m = json.load(open(path))
    classes = m["classes"]
    lines.append([name] + ["%.4f" % f for f in m["f1"]] + ["%.4f" % m["macro_f1"], "%.4f" % m["accuracy"]])
head = ["Method"] + [c.capitalize() for c in classes] + ["Avg.", "Acc."]
w = [max(len(r[i]) for r in [head] + lines) for i in range(len(head))]
for r in [head] + lines:
    print("  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r)))
PY
