#!/bin/sh
# Runs a GUI test program on its own X server (Xvfb) with its own session bus, so that GTK
# has a display and accessibility a bus, on machines that have neither (CI, servers).
# Usage: gui-test-wrapper.sh PROGRAM [ARGS...]
set -eu
exec xvfb-run --auto-servernum --server-args="-screen 0 1600x1000x24 -nolisten tcp" \
  dbus-run-session -- "$@"
