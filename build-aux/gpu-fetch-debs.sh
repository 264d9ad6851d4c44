#!/usr/bin/env bash
# Run HERE (a Debian 12 machine with network access to Debian's archive) before a GPU check:
# downloads the GLib / JSON-GLib / GdkPixbuf / Cairo development files (and pkgconf) with their library
# dependencies into .gpu-debs/, which build-aux/gpu-check.sh unpacks on a bare GPU machine that
# has a PyTorch wheel but no package registry. .gpu-debs/ is ignored by git; carry it.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$top/.gpu-debs"
mkdir -p "$out"
grep -qx '/.gpu-debs/' "$top/.git/info/exclude" 2>/dev/null || echo '/.gpu-debs/' >> "$top/.git/info/exclude"

roots=(libglib2.0-dev libjson-glib-dev libgdk-pixbuf-2.0-dev libcairo2-dev pkgconf)
# Present on any GPU image, or not needed to compile and link against GLib.
skip='^(libc6|libc6-dev|libc-dev-bin|linux-libc-dev|libgcc-s1|libstdc\+\+6|gcc-12-base|dpkg|tar|install-info|perl.*|libperl.*|python3.*|libpython3.*|readline-common|libreadline8|libncursesw6|libtinfo6|libssl3|libcrypt.*|libdb5.3|libgdbm.*|libsqlite3-0|mailcap|media-types|mime-support|shared-mime-info|libxml2|libicu72|gir1\.2-.*|libgirepository-1\.0-1|libglib2\.0-bin|libgdk-pixbuf2\.0-bin|libnsl.*|libtirpc.*|rpcsvc-proto|libkrb5.*|libk5crypto3|libgssapi-krb5-2|libcom-err2|libkeyutils1|libelf1|libexpat1|libbz2-1\.0|libmd0)$'
mapfile -t pkgs < <(for r in "${roots[@]}"; do
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
      --no-replaces --no-enhances "$r" | grep -v '^ ' | grep -v '^<'
  done | sort -u | grep -Ev "$skip")
(cd "$out" && apt-get download "${pkgs[@]}")
du -sh "$out"
