#!/usr/bin/env bash
# Does the studio add overhead to training? The same run (demo set, resnet:18 at 32 px,
# batch 32, class weights, label smoothing 0.1) started from the GUI's Train page (driven by
# test-gui under Xvfb) and from mien-cli; prints both throughputs of the last epoch and their
# ratio. Run them one after the other on an otherwise idle machine.
#
#   tests/bench/bench-gui-train.sh [-e EPOCHS] [-r REPEATS]      (BUILD_DIR, default build)
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(realpath "${BUILD_DIR:-$top/build}")
epochs=2
repeats=1
while getopts "e:r:" opt; do
  case $opt in
    e) epochs=$OPTARG ;;
    r) repeats=$OPTARG ;;
    *) echo "usage: $0 [-e EPOCHS] [-r REPEATS]" >&2; exit 2 ;;
  esac
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export MIEN_PLUGIN_PATH=$build/plugins MIEN_CLI=$build/app/cli/mien-cli MIEN_APP=$build/app/ui/mien
export GSETTINGS_SCHEMA_DIR=$build/data GSETTINGS_BACKEND=memory GTK_A11Y=test GSK_RENDERER=cairo

"$MIEN_CLI" demo-data "$scratch/demo" >/dev/null 2>&1
last_rate () {
  /usr/bin/python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["images_per_s"])' "$1"
}

printf "%-4s %14s %14s %8s\n" run "GUI images/s" "CLI images/s" "GUI/CLI"
for r in $(seq 1 "$repeats"); do
  gui_log=$(MIEN_SCREENSHOT_EPOCHS=$epochs "$top/tests/gui-test-wrapper.sh" \
    "$build/tests/test-gui" --tap -p /gui/dataset -p /gui/train 2>&1)
  gui=$(printf '%s\n' "$gui_log" | sed -n 's/.*GUI training: \([0-9.]*\) images\/s.*/\1/p' | tail -1)
  if [ -z "$gui" ]; then
    printf '%s\n' "$gui_log" >&2
    echo "the GUI run did not report its throughput" >&2
    exit 1
  fi
  "$MIEN_CLI" train --data "$scratch/demo" --backbone resnet:18 --input-size 32 --epochs "$epochs" \
    --batch 32 --imbalance weighted --smoothing 0.1 --out "$scratch/cli-$r" >/dev/null 2>&1
  cli=$(last_rate "$scratch/cli-$r/log.jsonl")
  /usr/bin/python3 -c 'import sys; g,c=map(float,sys.argv[2:]); print("%-4s %14.1f %14.1f %8.3f" % (sys.argv[1], g, c, g/c))' "$r" "$gui" "$cli"
done
