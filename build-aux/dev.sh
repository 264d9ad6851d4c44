#!/usr/bin/env bash
# Sets up a Debian 12 machine for Mien and runs its main job or its tests.
#
#   build-aux/dev.sh run     install what is missing, build, run the main job
#   build-aux/dev.sh test    install what is missing, build, run every test suite
#   build-aux/dev.sh install install what is missing, build a release, install it under PREFIX
#
# Environment: BUILD_DIR (default: build; build-release for install), MESON_TEST_ARGS (extra
# arguments to meson test), PREFIX (default: /usr/local).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
build=${BUILD_DIR:-build}
cd "$top"

install_packages () {
  mapfile -t wanted < <(grep -v '^\s*\(#\|$\)' "$here/debian-packages.txt")
  missing=()
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing ${missing[*]}" >&2
  sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# configure_and_build [MESON SETUP OPTIONS...]: the development build unless options are given.
configure_and_build () {
  if [ ! -f "$build/build.ninja" ]; then
    if [ $# -eq 0 ]; then
      set -- -Dparity=enabled -Ddistributed=enabled
    fi
    meson setup "$build" "$@"
  fi
  ninja -C "$build"
}

case "${1:-}" in
  run)
    install_packages
    configure_and_build
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$build/app/ui/mien" ]; then
      # The studio: on first start it draws the demo dataset and opens it; press Train.
      exec meson devenv -C "$build" mien
    fi
    # Without a display: the same job through mien-cli — the demo set, its statistics, a
    # training run and the paper-style table.
    data_home=${XDG_DATA_HOME:-$HOME/.local/share}/mien
    demo=$data_home/datasets/demo
    run=$data_home/runs/resnet-finetune-$(date +%Y%m%d-%H%M%S)
    if [ ! -d "$demo/train" ]; then
      meson devenv -C "$build" mien-cli demo-data "$demo"
    fi
    meson devenv -C "$build" mien-cli stats "$demo/train"
    meson devenv -C "$build" mien-cli train --data "$demo" --backbone resnet:18 --input-size 64 \
      --epochs 8 --batch 32 --schedule cosine --imbalance weighted --smoothing 0.1 \
      --weight-decay 1e-4 --out "$run"
    meson devenv -C "$build" mien-cli eval --model "$run/best.safetensors" --data "$demo/val"
    echo "Model: $run/best.safetensors  (try: mien-cli predict --model $run/best.safetensors IMAGE…)"
    ;;
  test)
    install_packages
    configure_and_build
    # shellcheck disable=SC2086
    meson test -C "$build" --print-errorlogs --num-processes 2 ${MESON_TEST_ARGS:-}
    ;;
  install)
    install_packages
    build=${BUILD_DIR:-build-release}
    prefix=${PREFIX:-/usr/local}
    configure_and_build --prefix="$prefix" -Dbuildtype=release -Dtests=false -Ddistributed=enabled
    sudo=()
    [ "$(id -u)" -ne 0 ] && [ ! -w "$prefix" ] && sudo=(sudo)
    # meson install also compiles the settings schemas and refreshes the icon cache and the
    # desktop database under the prefix.
    "${sudo[@]}" meson install -C "$build" --no-rebuild
    echo "Installed under $prefix: start Mien from the applications menu, or run mien / mien-cli."
    ;;
  *)
    echo "usage: $0 run|test|install" >&2
    exit 2
    ;;
esac
