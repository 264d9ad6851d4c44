#!/bin/bash
# run-bench.sh — Mien's shim overhead: training throughput of each backbone through Mien
# (bench-shim: C plugin → shim → libtorch) against the same torchvision network in PyTorch
# (bench_torch.py), same libtorch, threads, batch and input size.
#
# Usage:
#   tests/bench/run-bench.sh [options] [FAMILY[:VARIANT]...]
#   ninja -C BUILDDIR bench                # the defaults below, through meson
#
# Options (defaults in brackets):
#   -B DIR      meson build folder holding tests/bench/bench-shim and plugins/ [build]
#   -p PYTHON   python with torch and torchvision [/usr/bin/python3]
#   -b N        batch size [8]
#   -s PX       input size [224]
#   -t N        threads for both (torch.set_num_threads / mien_torch_set_num_threads) [nproc]
#   -n N        timed iterations per run [10]
#   -w N        untimed warm-up iterations per run [2]
#   -r N        repeats; runs alternate Mien, PyTorch, Mien, PyTorch... and the table shows the
#               median of each side [3]
#   -m MODE     train (forward + cross-entropy + backward) or eval (forward only) [train]
#   -d DEVICE   cpu, cuda or cuda:N, for both sides [cpu]
#   -o FILE     also append the raw RESULT lines to FILE
# Backbones [resnet:50 efficientnet:b0 googlenet vit:b_16 resnet:18 vit:ti_16].
#
# Output: one RESULT line per run as it finishes, then the table
#   backbone | Mien img/s | PyTorch img/s | ratio | CPU-time ratio
# ratio = Mien img/s / PyTorch img/s (wall clock, medians); CPU-time ratio = PyTorch's CPU time
# per iteration / Mien's (medians; process CPU time of all threads). 1 means no overhead, above 1
# Mien is faster; the target is >= 0.95. Run it on an otherwise idle machine: both sides share
# the same cores, so anything else running shows up as noise in the wall-clock ratio. The
# CPU-time ratio is much less sensitive to other load, in particular with -t 1 (with more threads,
# OpenMP's spin-waiting adds CPU time that grows with contention).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
builddir=build
python=/usr/bin/python3
batch=8
size=224
threads=$(nproc)
iters=10
warmup=2
repeats=3
mode=train
device=cpu
rawfile=

while getopts "B:p:b:s:t:n:w:r:m:d:o:h" opt; do
  case $opt in
    B) builddir=$OPTARG ;;
    p) python=$OPTARG ;;
    b) batch=$OPTARG ;;
    s) size=$OPTARG ;;
    t) threads=$OPTARG ;;
    n) iters=$OPTARG ;;
    w) warmup=$OPTARG ;;
    r) repeats=$OPTARG ;;
    m) mode=$OPTARG ;;
    d) device=$OPTARG ;;
    o) rawfile=$OPTARG ;;
    h) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
specs=("$@")
if [ ${#specs[@]} -eq 0 ]; then
  specs=(resnet:50 efficientnet:b0 googlenet vit:b_16 resnet:18 vit:ti_16)
fi

builddir=$(cd "$builddir" && pwd)
shim="$builddir/tests/bench/bench-shim"
if [ ! -x "$shim" ]; then
  echo "run-bench.sh: $shim not found: build it first (ninja -C $builddir)" >&2
  exit 1
fi
export MIEN_PLUGIN_PATH="$builddir/plugins"
common=(-b "$batch" -s "$size" -t "$threads" -n "$iters" -w "$warmup" -m "$mode" -d "$device")

results=$(mktemp)
trap 'rm -f "$results"' EXIT

run() {
  local line
  if ! line=$("$@" | grep '^RESULT '); then
    echo "run-bench.sh: failed: $*" >&2
    exit 1
  fi
  echo "$line"
  echo "$line" >>"$results"
  if [ -n "$rawfile" ]; then
    echo "$line" >>"$rawfile"
  fi
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -n), $(nproc) CPUs; batch $batch, ${size} px," \
     "$threads threads, $mode on $device, $warmup warm-up + $iters timed iterations," \
     "$repeats repeats"
for ((r = 1; r <= repeats; r++)); do
  for spec in "${specs[@]}"; do
    run "$shim" "${common[@]}" "$spec"
    run "$python" "$here/bench_torch.py" "${common[@]}" "$spec"
  done
done

# The median of field FIELD (img/s, cpu_ms/iter) of SIDE (mien|torch) for SPEC.
median() {
  awk -v side="$1" -v spec="$2" -v field="$3=" '$2 == side && $3 == spec {
      for (i = 4; i <= NF; i++)
        if (index($i, field) == 1) { print substr($i, length(field) + 1) }
    }' "$results" | sort -g | awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "nan"; exit }
      if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
printf '| %-16s | %12s | %14s | %21s | %15s |\n' backbone "Mien img/s" "PyTorch img/s" \
  "ratio (Mien/PyTorch)" "CPU-time ratio"
printf '|%s|%s|%s|%s|%s|\n' ------------------ -------------: ---------------: \
  ----------------------: ----------------:
for spec in "${specs[@]}"; do
  m=$(median mien "$spec" img/s)
  t=$(median torch "$spec" img/s)
  mc=$(median mien "$spec" cpu_ms/iter)
  tc=$(median torch "$spec" cpu_ms/iter)
  ratio=$(awk -v m="$m" -v t="$t" 'BEGIN { if (t > 0) printf "%.3f", m / t; else print "nan" }')
  cratio=$(awk -v m="$mc" -v t="$tc" 'BEGIN { if (m > 0) printf "%.3f", t / m; else print "nan" }')
  printf '| %-16s | %12.3f | %14.3f | %21s | %15s |\n' "$spec" "$m" "$t" "$ratio" "$cratio"
done
