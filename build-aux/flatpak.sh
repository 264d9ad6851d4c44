#!/usr/bin/env bash
# flatpak.sh — build Mien's Flatpak (flatpak/README.md), install it for this user and run it.
# Needs flatpak and flatpak-builder, and Flathub reachable for the GNOME runtime and SDK (fetched
# once, with --install-deps-from) and the sources the manifest pins.
#
#   build-aux/flatpak.sh                 build, install (--user) and run the studio
#   build-aux/flatpak.sh --build-only    build and install, do not run
#   build-aux/flatpak.sh --run [ARG...]  run what is installed (ARGs go to mien)
#   build-aux/flatpak.sh --cuda          the same with the CUDA manifest (libtorch for CUDA 12.8)
#   build-aux/flatpak.sh --bundle FILE   also write a single-file bundle (flatpak install FILE)
set -euo pipefail

app_id=io.github.mienapp.Mien
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
manifest=$top/flatpak/$app_id.json
work=${MIEN_FLATPAK_DIR:-$top/.flatpak}
build=true run=true bundle=

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case $1 in
    --build-only) run=false ;;
    --run) build=false; shift; break ;;
    --cuda) manifest=$top/flatpak/$app_id.Cuda.json ;;
    --bundle)
      [ $# -ge 2 ] || { echo "flatpak.sh: --bundle needs a file name" >&2; exit 2; }
      bundle=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "flatpak.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "flatpak.sh: $1 is not installed; $2" >&2
    exit 1
  fi
}
need flatpak "install it from your distribution (Debian: apt install flatpak)"

if $build; then
  need flatpak-builder "install it from your distribution (Debian: apt install flatpak-builder)"
  # --install-deps-from needs the remote: a user one is enough, and adding it twice is harmless.
  flatpak remote-add --user --if-not-exists flathub https://dl.flathub.org/repo/flathub.flatpakrepo
  mkdir -p "$work"
  flatpak-builder --user --install-deps-from=flathub --force-clean \
    --state-dir="$work/state" --repo="$work/repo" --install \
    "$work/build" "$manifest"
  if [ -n "$bundle" ]; then
    flatpak build-bundle --runtime-repo=https://dl.flathub.org/repo/flathub.flatpakrepo \
      "$work/repo" "$bundle" "$app_id"
    echo "flatpak.sh: wrote $bundle (install it with: flatpak install --user $bundle)"
  fi
fi

if $run; then
  exec flatpak run "$app_id" "$@"
fi
