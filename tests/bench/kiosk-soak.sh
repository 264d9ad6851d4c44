#!/usr/bin/env bash
# Kiosk mode left running: the real kiosk window (bench-kiosk-soak, under Xvfb: it needs a
# display) on a looped video of ../shared/photos/one-smiling.jpg and two-laughing.jpg at 640×480,
# YuNet when ../shared/models has it, one random resnet:18 at 64 px (or the -m models), the log
# on. Resident memory is sampled every few seconds; prints it after the warm-up and at the end,
# the growth in %, and the warnings printed (GLib's, GTK's, GStreamer's). Exits 1 when the
# growth reaches 5 % or anything was warned about. Single samples swing by a few MiB (malloc's
# per-thread arenas), so the driver compares medians of the first and last fifths of the samples.
#
#   tests/bench/kiosk-soak.sh [-n FRAMES] [-w WARMUP] [-i SECONDS] [-m MODEL]...
#                                         (BUILD_DIR, default build; defaults 10000, 1000, 5)
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(realpath "${BUILD_DIR:-$top/build}")
shared=$(realpath -m "$top/../shared")
frames=10000
warmup=1000
interval=5
models=()
while getopts "n:w:i:m:" opt; do
  case $opt in
    n) frames=$OPTARG ;;
    w) warmup=$OPTARG ;;
    i) interval=$OPTARG ;;
    m) models+=(--model "$(realpath "$OPTARG")") ;;
    *) echo "usage: $0 [-n FRAMES] [-w WARMUP] [-i SECONDS] [-m MODEL]..." >&2; exit 2 ;;
  esac
done
photos=("$shared/photos/one-smiling.jpg" "$shared/photos/two-laughing.jpg")
for photo in "${photos[@]}"; do
  [ -f "$photo" ] || { echo "kiosk-soak: $photo is missing (../shared beside the source)" >&2; exit 2; }
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export MIEN_PLUGIN_PATH=$build/plugins
export GSETTINGS_SCHEMA_DIR=$build/data GSETTINGS_BACKEND=memory GTK_A11Y=test GSK_RENDERER=cairo
export XDG_DATA_HOME=$scratch/data XDG_CONFIG_HOME=$scratch/config XDG_CACHE_HOME=$scratch/cache
yunet=$shared/models/face_detection_yunet_2022mar.onnx
[ -f "$yunet" ] && export MIEN_YUNET_MODEL=$yunet

status=0
xvfb-run --auto-servernum --server-args="-screen 0 1280x800x24 -nolisten tcp" \
  dbus-run-session -- "$build/tests/bench/bench-kiosk-soak" --frames "$frames" \
  --warmup "$warmup" --interval "$interval" "${models[@]}" "${photos[@]}" \
  >"$scratch/out" 2>"$scratch/err" || status=$?
cat "$scratch/out"
# dbus-daemon's note about its file limit is the wrapper's, not Mien's.
grep -v "dbus-daemon" "$scratch/err" >"$scratch/warnings" || true
if [ "$status" -ne 0 ] || ! grep -q '^RESULT' "$scratch/out"; then
  echo "kiosk-soak: the driver failed (status $status):" >&2
  cat "$scratch/err" >&2
  exit 1
fi
result=$(grep '^RESULT' "$scratch/out")
value () { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$result"; }
printed=$(grep -c . "$scratch/warnings" || true)
echo "frames shown:      $(value frames) ($(value classified) classified)"
echo "RSS after warm-up: $(value rss_warmup_mib) MiB (median of the first fifth of the samples)"
echo "RSS at the end:    $(value rss_end_mib) MiB (median of the last fifth; peak $(value max_mib) MiB)"
echo "growth:            $(value growth_pct) %"
echo "warnings:          $(value warnings) logged, $printed lines on stderr"
if [ "$printed" -gt 0 ]; then
  sed 's/^/  stderr: /' "$scratch/warnings" | head -20
fi
if [ "$(value warnings)" != 0 ] || [ "$printed" -gt 0 ] ||
   awk -v g="$(value growth_pct)" 'BEGIN { exit !(g >= 5) }'; then
  exit 1
fi
