#!/usr/bin/env bash
# Screenshots of every page of the studio, from the running app: the gui test drives it (demo
# set, a short training run, the evaluation, a prediction, the live test source) and saves the
# window at each page when MIEN_SCREENSHOT_DIR is set.
#
#   build-aux/screenshots.sh [OUTDIR]     (default docs/screenshots; BUILD_DIR, EPOCHS)
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$top/build}
out=$(realpath -m "${1:-$top/docs/screenshots}")
mkdir -p "$out"
ninja -C "$build"
MIEN_SCREENSHOT_DIR=$out MIEN_SCREENSHOT_EPOCHS=${EPOCHS:-4} \
  meson test -C "$build" --suite gui test-gui --print-errorlogs --timeout-multiplier 3
ls -l "$out"
