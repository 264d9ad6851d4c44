#!/bin/bash
# bench-train.sh — Mien's whole training run against the same run in plain PyTorch: `mien-cli
# train --json` (C, libtorch through the shim, MienLoader's threaded decoding and cache) and
# bench_train_torch.py (ImageFolder + transforms + DataLoader workers, torchvision network,
# Adam), same dataset, backbone, input size, batch, epochs, threads and workers.
#
# Usage:
#   tests/bench/bench-train.sh [options] [PART...]
#
# Parts (default: throughput):
#   throughput  training images/s of each epoch (data pipeline included, validation excluded),
#               end-to-end wall and CPU time of the whole run (process start to exit: decoding
#               pass / mean+std, training, validation, checkpoints) and peak RSS
#   memory      peak RSS of --mode finetune and --mode dft, Mien and PyTorch; the DFT/finetune
#               ratio (the frozen copy runs without autograd, so DFT should cost far less than
#               2x). Meant for a large network on a small set, e.g.
#                 bench-train.sh -b resnet:50 -s 224 -B 16 -e 1 -n 40 memory
#   pipeline    the input pipeline alone: bench-pipeline (MienLoader: first decoding pass, then
#               epochs from its cache, and epochs with the cache off) against
#               bench_pipeline_torch.py (DataLoader over the same ImageFolder), on the training set
#
# Options (defaults in brackets):
#   -C DIR      meson build folder holding app/cli/mien-cli, plugins/ and tests/bench/ [build]
#   -p PYTHON   python with torch and torchvision [/usr/bin/python3]
#   -D DIR      dataset: a folder holding train/ and val/ (ImageFolder layout) [a synthetic set
#               made with `mien-cli demo-data` in a temporary folder, removed at exit]
#   -n N        images per class of the largest class of the synthetic set [800]
#   -c LIST     only these classes, in this order (mien-cli --classes; a restricted ImageFolder)
#   -b SPEC     backbone, FAMILY[:VARIANT] in Mien's names [resnet:18]
#   -s PX       input size [64]
#   -B N        batch size [64]
#   -e N        epochs (pipeline: epochs after the first pass) [3]
#   -m MODE     training mode of the throughput part: finetune, dft or probe [finetune]
#   -t N        libtorch threads, both sides [nproc]
#   -w N        decoding threads (Mien) = DataLoader workers (PyTorch) [nproc]
#   -d DEVICE   cpu, cuda or cuda:N, both sides [cpu]
#   -r N        repeats of the throughput pair (Mien, PyTorch, Mien, PyTorch...); the table
#               shows medians [1]
#   -k DIR      keep every run's JSON output, stderr and run folder in DIR
#   -o FILE     also append the raw RESULT lines to FILE
#
# Output: one RESULT line per run as it finishes, then a table per part. Steady state = the
# median of the epochs >= 2 (epoch 1 when there is only one). Ratios are written so that above 1
# means Mien is better: Mien img/s / PyTorch img/s, PyTorch seconds / Mien seconds, PyTorch
# MiB / Mien MiB. Targets: training throughput >= 1.3, DFT/finetune peak RSS <= 1.3.
# Wall time and peak RSS come from /usr/bin/time (Mien) and from the reference's own final
# JSON line (PyTorch: process start to exit; RSS of the main process, getrusage — its DataLoader
# workers are separate processes, see peak_rss_children_kb). Both sides share the same cores:
# run it on an otherwise idle machine, or trust the CPU-time rows more than the wall-clock ones.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
builddir=build
python=/usr/bin/python3
dataset=
per_class=800
classes=
backbone=resnet:18
size=64
batch=64
epochs=3
mode=finetune
threads=$(nproc)
workers=$(nproc)
device=cpu
repeats=1
keep=
rawfile=

while getopts "C:p:D:n:c:b:s:B:e:m:t:w:d:r:k:o:h" opt; do
  case $opt in
    C) builddir=$OPTARG ;;
    p) python=$OPTARG ;;
    D) dataset=$OPTARG ;;
    n) per_class=$OPTARG ;;
    c) classes=$OPTARG ;;
    b) backbone=$OPTARG ;;
    s) size=$OPTARG ;;
    B) batch=$OPTARG ;;
    e) epochs=$OPTARG ;;
    m) mode=$OPTARG ;;
    t) threads=$OPTARG ;;
    w) workers=$OPTARG ;;
    d) device=$OPTARG ;;
    r) repeats=$OPTARG ;;
    k) keep=$OPTARG ;;
    o) rawfile=$OPTARG ;;
    h) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
parts=("$@")
if [ ${#parts[@]} -eq 0 ]; then
  parts=(throughput)
fi
for part in "${parts[@]}"; do
  case $part in
    throughput | memory | pipeline) ;;
    *) echo "bench-train.sh: unknown part $part (throughput, memory, pipeline)" >&2; exit 2 ;;
  esac
done

builddir=$(cd "$builddir" && pwd)
cli="$builddir/app/cli/mien-cli"
pipeline="$builddir/tests/bench/bench-pipeline"
for exe in "$cli" "$pipeline"; do
  if [ ! -x "$exe" ]; then
    echo "bench-train.sh: $exe not found: build it first (ninja -C $builddir)" >&2
    exit 1
  fi
done
if [ ! -x /usr/bin/time ]; then
  echo "bench-train.sh: needs GNU time (/usr/bin/time, Debian package time)" >&2
  exit 1
fi
export MIEN_PLUGIN_PATH="$builddir/plugins"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "$keep" ]; then
  mkdir -p "$keep"
  keep=$(cd "$keep" && pwd)
  out=$keep
else
  out=$work
fi
results="$work/results"
: >"$results"

if [ -z "$dataset" ]; then
  dataset="$work/data"
  echo "# making the synthetic set: mien-cli demo-data --per-class $per_class $dataset" >&2
  "$cli" demo-data --per-class "$per_class" "$dataset" >/dev/null 2>"$work/demo-data.err" || {
    cat "$work/demo-data.err" >&2
    exit 1
  }
fi
dataset=$(cd "$dataset" && pwd)
train_dir=$dataset
if [ -d "$dataset/train" ]; then
  train_dir="$dataset/train"
fi

class_args=()
if [ -n "$classes" ]; then
  class_args=(--classes "$classes")
fi

record() {
  echo "$1"
  echo "$1" >>"$results"
  if [ -n "$rawfile" ]; then
    echo "$1" >>"$rawfile"
  fi
}

# summarize SIDE TAG JSONFILE [TIMEFILE] — the RESULT line of one training run.
summarize() {
  "$python" - "$@" <<'EOF'
import json, statistics, sys
side, tag, path = sys.argv[1:4]
epochs, final = [], {}
for line in open(path):
    line = line.strip()
    if not line.startswith('{'):
        continue
    d = json.loads(line)
    if 'images_per_s' in d:
        epochs.append(d)
    elif 'best_epoch' in d:
        final = d
if not epochs:
    sys.exit(f'{path}: no epoch record')
rates = [e['images_per_s'] for e in epochs]
steady = statistics.median(rates[1:] if len(rates) > 1 else rates)
if len(sys.argv) > 4:  # /usr/bin/time -f '%e %U %S %M'
    wall, user, system, rss = open(sys.argv[4]).read().split()[-4:]
    wall, cpu, rss = float(wall), float(user) + float(system), int(rss)
    if side == 'torch':  # the main process, not its largest DataLoader worker
        rss = final.get('peak_rss_kb', rss)
else:
    wall, cpu, rss = final['wall_seconds'], final['cpu_seconds'], final['peak_rss_kb']
print(f'RESULT {side} {tag} steady_img/s={steady:.4f} epoch1_img/s={rates[0]:.4f} '
      f'wall_s={wall:.2f} cpu_s={cpu:.2f} rss_mib={rss / 1024:.1f} '
      f'epochs_img/s={",".join(f"{r:.3f}" for r in rates)}')
EOF
}

# pipeline_summary WHICH JSONFILE — the RESULT line of one bench-pipeline(_torch) run.
pipeline_summary() {
  "$python" - "$@" <<'EOF'
import json, sys
which, path = sys.argv[1:3]
d = json.load(open(path))
cpu = sorted(e['cpu_seconds'] / e['images'] * 1e3 for e in d['epochs'])[len(d['epochs']) // 2]
rates = ','.join(f"{e['images_per_s']:.1f}" for e in d['epochs'])
print(f"RESULT pipeline {which} images={d['images']} first_img/s={d['prepare_images_per_s']:.1f} "
      f"epoch_img/s={d['epoch_images_per_s']:.1f} epoch_cpu_ms/img={cpu:.3f} "
      f"epochs_img/s={rates}")
EOF
}

# train_mien TAG MODE — one `mien-cli train` run, timed by /usr/bin/time.
train_mien() {
  local tag=$1 run_mode=$2 base="$out/mien-$1"
  rm -rf "$base.run"
  if ! /usr/bin/time -f '%e %U %S %M' -o "$base.time" \
      "$cli" train --data "$dataset" "${class_args[@]}" --backbone "$backbone" \
      --input-size "$size" --mode "$run_mode" --epochs "$epochs" --batch "$batch" \
      --threads "$threads" --workers "$workers" --device "$device" --seed 0 \
      --no-flip --crop none \
      --out "$base.run" --json >"$base.json" 2>"$base.err"; then
    echo "bench-train.sh: mien-cli train failed:" >&2
    tail -n 20 "$base.err" >&2
    exit 1
  fi
  record "$(summarize mien "$tag" "$base.json" "$base.time")"
}

# train_torch TAG MODE — the same run in PyTorch.
train_torch() {
  local tag=$1 run_mode=$2 base="$out/torch-$1"
  rm -rf "$base.run"
  if ! /usr/bin/time -f '%e %U %S %M' -o "$base.time" \
      "$python" "$here/bench_train_torch.py" --data "$dataset" "${class_args[@]}" \
      --backbone "$backbone" --input-size "$size" --mode "$run_mode" --epochs "$epochs" \
      --batch "$batch" --threads "$threads" --workers "$workers" --device "$device" --seed 0 \
      --out "$base.run" --json >"$base.json" 2>"$base.err"; then
    echo "bench-train.sh: bench_train_torch.py failed:" >&2
    tail -n 20 "$base.err" >&2
    exit 1
  fi
  record "$(summarize torch "$tag" "$base.json" "$base.time")"
}

# median SIDE TAG FIELD — the median of FIELD over the RESULT lines of SIDE and TAG.
median() {
  awk -v side="$1" -v tag="$2" -v field="$3=" '$2 == side && $3 == tag {
      for (i = 4; i <= NF; i++)
        if (index($i, field) == 1) { print substr($i, length(field) + 1) }
    }' "$results" | sort -g | awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "nan"; exit }
      if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# rule WIDTH... — a markdown table's rule: first column left, the others right-aligned.
rule() {
  local w line="|" first=1
  for w in "$@"; do
    if [ $first = 1 ]; then
      line+=$(printf '%*s|' $((w + 2)) '' | tr ' ' -)
      first=0
    else
      line+=$(printf '%*s:|' $((w + 1)) '' | tr ' ' -)
    fi
  done
  echo "$line"
}

ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }'
}

setup="$backbone, ${size} px, batch $batch, $epochs epochs, $threads threads, $workers workers,"
setup+=" $device; dataset $dataset${classes:+ (classes $classes)}"
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -n), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $setup"

for part in "${parts[@]}"; do
  case $part in
  throughput)
    for ((r = 1; r <= repeats; r++)); do
      train_mien "$mode" "$mode"
      train_torch "$mode" "$mode"
    done
    echo
    echo "Training run, --mode $mode ($repeats repeat(s), medians); above 1: Mien better"
    echo
    printf '| %-42s | %10s | %10s | %22s |\n' measure Mien PyTorch "Mien advantage"
    rule 42 10 10 22
    row() {  # LABEL FIELD DIRECTION (up: Mien/PyTorch, down: PyTorch/Mien)
      local m t
      m=$(median mien "$mode" "$2")
      t=$(median torch "$mode" "$2")
      if [ "$3" = up ]; then r=$(ratio "$m" "$t"); else r=$(ratio "$t" "$m"); fi
      printf '| %-42s | %10.2f | %10.2f | %22s |\n' "$1" "$m" "$t" "$r"
    }
    row "training img/s, steady state (epochs >= 2)" steady_img/s up
    row "training img/s, epoch 1" epoch1_img/s up
    row "end-to-end wall time, s" wall_s down
    row "end-to-end CPU time, s" cpu_s down
    row "peak RSS, MiB" rss_mib down
    ;;
  memory)
    train_mien mem-finetune finetune
    train_mien mem-dft dft
    train_torch mem-finetune finetune
    train_torch mem-dft dft
    echo
    echo "Peak RSS of DFT against plain fine-tuning (target: DFT/finetune <= 1.3)"
    echo
    printf '| %-8s | %18s | %13s | %13s | %14s | %10s |\n' side "finetune RSS, MiB" \
      "DFT RSS, MiB" "DFT/finetune" "finetune img/s" "DFT img/s"
    rule 8 18 13 13 14 10
    for side in mien torch; do
      f=$(median $side mem-finetune rss_mib)
      d=$(median $side mem-dft rss_mib)
      printf '| %-8s | %18.1f | %13.1f | %13s | %14.2f | %10.2f |\n' \
        "$([ $side = mien ] && echo Mien || echo PyTorch)" "$f" "$d" "$(ratio "$d" "$f")" \
        "$(median $side mem-finetune steady_img/s)" "$(median $side mem-dft steady_img/s)"
    done
    ;;
  pipeline)
    common=(-s "$size" -b "$batch" -w "$workers" -t "$threads" -e "$epochs")
    if [ -n "$classes" ]; then
      common+=(-c "$classes")
    fi
    "$pipeline" "${common[@]}" "$train_dir" >"$out/pipeline-mien.json"
    "$pipeline" "${common[@]}" --cache-bytes 1 "$train_dir" >"$out/pipeline-mien-nocache.json"
    "$python" "$here/bench_pipeline_torch.py" "${common[@]}" "$train_dir" \
      >"$out/pipeline-torch.json"
    for f in mien mien-nocache torch; do
      record "$(pipeline_summary "$f" "$out/pipeline-$f.json")"
    done
    pget() {  # WHICH FIELD
      awk -v which="$1" -v field="$2=" '$2 == "pipeline" && $3 == which {
          for (i = 4; i <= NF; i++)
            if (index($i, field) == 1) { print substr($i, length(field) + 1) } }' \
        "$results" | tail -n 1
    }
    echo
    echo "Input pipeline alone: $(pget torch images) images, ${size} px, batch $batch," \
      "$workers workers; decoded, resized and normalised float batches on both sides"
    echo
    printf '| %-46s | %10s | %10s | %13s |\n' measure Mien PyTorch "Mien/PyTorch"
    rule 46 10 10 13
    m=$(pget mien first_img/s); t=$(pget torch first_img/s)
    printf '| %-46s | %10.1f | %10.1f | %13s |\n' "first pass img/s (decode + mean/std)" \
      "$m" "$t" "$(ratio "$m" "$t")"
    m=$(pget mien epoch_img/s); t=$(pget torch epoch_img/s)
    printf '| %-46s | %10.1f | %10.1f | %13s |\n' "epoch img/s (Mien from its cache)" \
      "$m" "$t" "$(ratio "$m" "$t")"
    m=$(pget mien-nocache epoch_img/s)
    printf '| %-46s | %10.1f | %10.1f | %13s |\n' "epoch img/s (Mien decoding again, no cache)" \
      "$m" "$t" "$(ratio "$m" "$t")"
    m=$(pget mien epoch_cpu_ms/img); t=$(pget torch epoch_cpu_ms/img)
    printf '| %-46s | %10.3f | %10.3f | %13s |\n' "epoch CPU ms/img (cached; PyTorch/Mien)" \
      "$m" "$t" "$(ratio "$t" "$m")"
    ;;
  esac
done
