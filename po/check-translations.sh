#!/bin/sh
# check-translations.sh SRCDIR XGETTEXT MSGMERGE MSGFMT MSGATTRIB
#
# Fails when a translation listed in po/LINGUAS is not complete against the CURRENT sources:
# the template is extracted afresh from po/POTFILES.in (with the keywords and flags of meson's
# 'glib' gettext preset, as `ninja mien-pot` does), merged into a temporary copy of each LL.po
# without fuzzy matching, and every message still untranslated or fuzzy is listed. A string
# added or changed in the sources therefore fails this test until po/LL.po translates it. The
# source tree is never written to.
set -eu

if [ $# -ne 5 ]; then
  echo "usage: $0 SRCDIR XGETTEXT MSGMERGE MSGFMT MSGATTRIB" >&2
  exit 2
fi
srcdir=$1
xgettext=$2
msgmerge=$3
msgfmt=$4
msgattrib=$5

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# The arguments of meson's i18n.gettext (preset: 'glib'); keep them in step with it.
"$xgettext" --package-name=mien -f "$srcdir/po/POTFILES.in" -D "$srcdir" -k_ \
  -o "$tmp/mien.pot" \
  --from-code=UTF-8 --add-comments \
  --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 --keyword=g_dcgettext:2 \
  --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
  --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
  --flag=g_dngettext:2:pass-c-format --flag=g_strdup_printf:1:c-format \
  --flag=g_string_printf:2:c-format --flag=g_string_append_printf:2:c-format \
  --flag=g_error_new:3:c-format --flag=g_set_error:4:c-format \
  --flag=g_markup_printf_escaped:1:c-format --flag=g_log:3:c-format \
  --flag=g_print:1:c-format --flag=g_printerr:1:c-format --flag=g_printf:1:c-format \
  --flag=g_fprintf:2:c-format --flag=g_sprintf:2:c-format --flag=g_snprintf:3:c-format

# The messages of a PO file, one a line, as "  [context] "msgid"" (the header left out).
list_messages () {
  awk '
    function flush () {
      if (inid && id != "")
        print "  " (ctx != "" ? "[" ctx "] " : "") "\"" id "\""
      inid = 0; ctx = ""; id = ""
    }
    { sub(/^#~ /, "") }
    /^msgctxt "/ { flush(); ctx = substr($0, 10, length($0) - 10); next }
    /^msgid "/ { inid = 1; id = substr($0, 8, length($0) - 8); next }
    inid && /^"/ { id = id substr($0, 2, length($0) - 2); next }
    { flush() }
    END { flush() }
  ' "$1"
}

status=0
for lang in $(sed -e 's/#.*//' "$srcdir/po/LINGUAS"); do
  po="$srcdir/po/$lang.po"
  if [ ! -f "$po" ]; then
    echo "po/LINGUAS lists $lang but po/$lang.po does not exist" >&2
    status=1
    continue
  fi
  # The committed file itself must be valid (formats, plural forms, header).
  if ! "$msgfmt" --check -o /dev/null "$po"; then
    echo "po/$lang.po is not valid (msgfmt --check)" >&2
    status=1
    continue
  fi
  merged="$tmp/$lang.po"
  "$msgmerge" --quiet --no-fuzzy-matching -o "$merged" "$po" "$tmp/mien.pot"
  stats=$(LC_ALL=C "$msgfmt" --check --statistics -o /dev/null "$merged" 2>&1)
  echo "$lang: $stats"

  "$msgattrib" --force-po --untranslated --no-obsolete -o "$tmp/$lang.untranslated" "$merged"
  "$msgattrib" --force-po --only-fuzzy --no-obsolete -o "$tmp/$lang.fuzzy" "$merged"
  untranslated=$(list_messages "$tmp/$lang.untranslated")
  fuzzy=$(list_messages "$tmp/$lang.fuzzy")
  if [ -n "$untranslated" ] || [ -n "$fuzzy" ]; then
    status=1
    if [ -n "$untranslated" ]; then
      echo "po/$lang.po does not translate these messages of the current sources:" >&2
      printf '%s\n' "$untranslated" >&2
    fi
    if [ -n "$fuzzy" ]; then
      echo "po/$lang.po has fuzzy translations:" >&2
      printf '%s\n' "$fuzzy" >&2
    fi
    echo "Update it: ninja -C BUILDDIR mien-pot mien-update-po, then translate the messages" \
      "above in po/$lang.po (and remove their fuzzy flags)." >&2
  fi

  "$msgattrib" --force-po --only-obsolete -o "$tmp/$lang.obsolete" "$merged"
  obsolete=$(list_messages "$tmp/$lang.obsolete")
  if [ -n "$obsolete" ]; then
    echo "note: po/$lang.po still has translations of messages the sources no longer use:"
    printf '%s\n' "$obsolete"
  fi
done
exit $status
