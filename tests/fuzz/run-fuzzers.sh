#!/bin/sh
# Builds the libFuzzer harnesses with clang, ASan and UBSan in build-fuzz/ and runs each one for
# SECONDS (default 1800), then prints its exec count and coverage.
#
#   tests/fuzz/run-fuzzers.sh [SECONDS] [TARGET...]
#
# Environment: JOBS (fuzzers run at once, default 1), BUILD_DIR (default build-fuzz),
# RSS_LIMIT_MB (default 2048), FUZZ_ARGS (more libFuzzer flags, e.g. -detect_leaks=0 to look
# past a known leak). Each fuzzer starts from a copy of its seed corpus in
# BUILD_DIR/fuzz-corpus/TARGET (the seeds in the source tree stay small); a crash leaves its
# reproducer in BUILD_DIR/fuzz-artifacts/TARGET/ and its log in BUILD_DIR/fuzz-logs/TARGET.log.
# Fixed crashes' reproducers go to tests/fuzz/crashes/TARGET/, which the normal test run replays.
set -eu

seconds=${1:-1800}
[ $# -gt 0 ] && shift
targets=${*:-safetensors model-metadata train-config run-log csv-manifest plugin-key-file pth}
jobs=${JOBS:-1}
rss_limit=${RSS_LIMIT_MB:-2048}

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
source_root=$(cd "$fuzz_dir/../.." && pwd)
build_dir=${BUILD_DIR:-$source_root/build-fuzz}

if [ ! -f "$build_dir/build.ninja" ]; then
  # The library needs no GTK, camera, downloads or OpenCV for the parsers.
  CC=${CC:-clang-14} CXX=${CXX:-clang++-14} meson setup "$build_dir" "$source_root" \
    -Dfuzzing=enabled -Db_lundef=false -Dgui=disabled -Dcamera=disabled -Ddownload=disabled \
    -Dface_detection=disabled -Dparity=disabled
fi
ninja_targets=
for t in $targets; do
  ninja_targets="$ninja_targets tests/fuzz/fuzz-$t"
done
# shellcheck disable=SC2086
ninja -C "$build_dir" $ninja_targets

# Longest input worth trying: a few times the largest seed.
max_len () {
  case $1 in
    safetensors) echo 4096 ;;
    plugin-key-file|csv-manifest) echo 2048 ;;
    *) echo 8192 ;;
  esac
}

dict () {
  case $1 in
    safetensors) echo "-dict=$fuzz_dir/safetensors.dict" ;;
    plugin-key-file) echo "-dict=$fuzz_dir/plugin.dict" ;;
    pth) echo "-dict=$fuzz_dir/pth.dict" ;;
    csv-manifest) ;;
    *) echo "-dict=$fuzz_dir/json.dict" ;;
  esac
}

run_one () {
  t=$1
  corpus=$build_dir/fuzz-corpus/$t
  artifacts=$build_dir/fuzz-artifacts/$t/
  log=$build_dir/fuzz-logs/$t.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  # shellcheck disable=SC2046
  nice -n 10 "$build_dir/tests/fuzz/fuzz-$t" "$corpus" "$fuzz_dir/corpus/$t" \
    -max_total_time="$seconds" -rss_limit_mb="$rss_limit" -max_len="$(max_len "$t")" \
    -artifact_prefix="$artifacts" -print_final_stats=1 $(dict "$t") ${FUZZ_ARGS:-} > "$log" 2>&1 \
    && status=ok || status="FAILED (exit $?; see $log and $artifacts)"
  # "#123456 DONE cov: 812 ft: 2345 corp: ..." and "stat::number_of_executed_units: 123456"
  summary=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  echo "$t: $status; execs ${execs:-?}; last: $summary"
}

running=0
for t in $targets; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait
    running=0
  fi
done
wait
