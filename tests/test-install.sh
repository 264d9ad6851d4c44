#!/bin/bash
# test-install.sh — `meson install --destdir` into a temporary root, then what is installed, as
# a user's machine would run it: no devenv, no MIEN_PLUGIN_PATH, not even LD_LIBRARY_PATH (the
# installed programs find the private library, their plugins and their catalogue relative to
# themselves: the $ORIGIN run path and mien_installed_dir ()).
#
# Usage: test-install.sh BUILDDIR PREFIX LIBDIR DATADIR APP_ID GUI(true|false) SESSION_BUS_CONF
# TAP on stdout.
set -u
build=$1 prefix=$2 libdir=$3 datadir=$4 app_id=$5 gui=$6 session_bus=$7

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

if ! out=$(meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet 2>&1); then
  echo "1..1"; echo "not ok 1 - meson install --destdir"; echo "$out" | sed 's/^/# /'; exit 1
fi
root=$tmp/root
bin=$root$prefix/bin
share=$root$datadir
lib=$root$libdir/mien
# What a user's shell has: nothing of the build tree.
run() { env -i PATH=/usr/bin:/bin HOME="$tmp/home" "$@"; }
mkdir -p "$tmp/home"

# The private library the installed programs load is the root's own (not the build tree's, nor
# one installed on this machine).
programs="$bin/mien-cli"
[ "$gui" = true ] && programs="$programs $bin/mien"
for program in $programs; do
  resolved=$(run ldd "$program" | awk '$1 ~ /^libmien-/ { print $3 }')
  if [ "$resolved" = "$lib/libmien-1.so" ] || [ "$(readlink -f "$resolved")" = "$(readlink -f "$lib/libmien-1.so")" ]; then
    ok "installed ${program##*/} loads the root's libmien-1"
  else not_ok "installed ${program##*/} loads the root's libmien-1" "resolved: ${resolved:-nothing}" "$(run ldd "$program" 2>&1 | grep mien)"; fi
done

# The four backbone families and the face detectors, from the installed plugins folder.
plugins=$(run "$bin/mien-cli" plugins --json 2>"$tmp/err")
missing=
for family in resnet efficientnet googlenet vit; do
  echo "$plugins" | grep -q "\"$family\"" || missing="$missing $family"
done
if [ -z "$missing" ] && [ ! -s "$tmp/err" ]; then ok "installed mien-cli lists the four backbone families"
else not_ok "installed mien-cli lists the four backbone families" "missing:$missing" "$(cat "$tmp/err")"; fi
if run "$bin/mien-cli" detectors --json 2>"$tmp/err" | grep -q '"opencv:haar"'; then
  ok "installed mien-cli lists the OpenCV face detector"
else not_ok "installed mien-cli lists the OpenCV face detector" "$(cat "$tmp/err")"; fi

# Where GNOME looks: the desktop file, the metainfo, the icons, the schema (compiled as a
# package's post-install step would: meson leaves that to the packager under DESTDIR).
desktop=$share/applications/$app_id.desktop
metainfo=$share/metainfo/$app_id.metainfo.xml
schemas=$share/glib-2.0/schemas
for f in "$desktop" "$metainfo" "$share/icons/hicolor/scalable/apps/$app_id.svg" \
         "$share/icons/hicolor/symbolic/apps/$app_id-symbolic.svg" "$schemas/$app_id.gschema.xml"; do
  if [ -f "$f" ]; then ok "installed ${f#$root}"; else not_ok "installed ${f#$root}" "absent"; fi
done
if out=$(desktop-file-validate "$desktop" 2>&1); then ok "the desktop file validates"
else not_ok "the desktop file validates" "$out"; fi
if out=$(appstreamcli validate --no-net --explain "$metainfo" 2>&1); then ok "the metainfo validates"
else not_ok "the metainfo validates" "$out"; fi
if out=$(glib-compile-schemas --strict "$schemas" 2>&1) && [ -f "$schemas/gschemas.compiled" ]; then
  ok "the schema compiles where it is installed"
else not_ok "the schema compiles where it is installed" "$out"; fi

# French from the installed catalogue: a French locale made for the test (LOCPATH), since a
# build machine need not have one.
mkdir -p "$tmp/locales"
if localedef --no-archive -i fr_FR -f UTF-8 "$tmp/locales/fr_FR.UTF-8" >/dev/null 2>&1; then
  text=$(run env LOCPATH="$tmp/locales" LC_ALL=fr_FR.UTF-8 LANGUAGE=fr "$bin/mien-cli" detectors 2>&1)
  if echo "$text" | grep -q "Détecteur"; then ok "LANGUAGE=fr shows French from the installed catalogue"
  else not_ok "LANGUAGE=fr shows French from the installed catalogue" "$text"; fi
else
  skip "LANGUAGE=fr shows French from the installed catalogue" "no fr_FR locale data (Debian: locales)"
fi

# The installed studio starts under Xvfb, with the installed schema, and says nothing. Its
# session bus activates no services (SESSION_BUS_CONF): what a desktop portal or another service
# installed on the machine prints on the shared stderr is not the studio's.
if [ "$gui" = true ]; then
  run env GSETTINGS_SCHEMA_DIR="$schemas" GSETTINGS_BACKEND=memory GTK_A11Y=none \
    GSK_RENDERER=cairo xvfb-run --auto-servernum dbus-run-session --config-file="$session_bus" -- \
    timeout 8 "$bin/mien" >"$tmp/studio.out" 2>"$tmp/studio.err"
  status=$?
  # The private bus's own notes (dbus-daemon cannot raise its fd limit here) are not the studio's.
  grep -v '^dbus-daemon\[' "$tmp/studio.err" >"$tmp/studio.warnings"
  # timeout's 124: still running after 8 s, as it should be.
  if [ $status -eq 124 ] && [ ! -s "$tmp/studio.warnings" ]; then ok "the installed studio starts without a warning"
  else not_ok "the installed studio starts without a warning" "exit $status" "$(cat "$tmp/studio.warnings")"; fi
fi

echo "1..$n"
exit $failed
