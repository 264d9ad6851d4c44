#!/usr/bin/env bash
# Tries mien-cli as a hostile user would and prints one Markdown row per input: what was given,
# the exit status, the first line of the message, and whether what existed before is intact
# (the run still loads with `mien-cli eval`, best.safetensors unchanged, the input untouched).
#
#   tests/bench/hostile-inputs.sh [BUILD_DIR]        (default: build)
#
# Run on demand (a few CPU minutes: it trains two tiny runs). Each command gets 60 s; a
# command that blocks (a FIFO read without O_NONBLOCK) shows up as exit 124.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
cli=$build/app/cli/mien-cli
export MIEN_PLUGIN_PATH=$build/plugins GSETTINGS_BACKEND=memory OPENBLAS_NUM_THREADS=1
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"

python=/usr/bin/python3
row () { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"; }
# run LABEL CHECK -- COMMAND...: CHECK is a shell snippet printing "intact" or what was lost.
run () {
  local label=$1 check=$2
  shift 3
  local out status first verdict
  out=$(timeout "${TIMEOUT:-60}" "$@" 2>&1 </dev/null)
  status=$?
  # The error when there is one (stderr and stdout interleave), else the last line.
  first=$(printf '%s\n' "$out" | grep -m 1 'mien-cli[ :]')
  [ -n "$first" ] || first=$(printf '%s\n' "$out" | grep -v '^\s*$' | tail -n 1)
  first=$(printf '%s' "$first" | cut -c1-150)
  first=${first//|/\\|}
  verdict=$(eval "$check" 2>&1)
  row "$label" "$status" "${first:-—}" "$verdict"
}

sha () { sha256sum "$1" | cut -c1-16; }

# ---- Fixtures: a tiny dataset, a trained run, a model ----------------------------------------
"$cli" demo-data demo --per-class 24 --size 32 >/dev/null 2>&1
"$cli" train --data demo --backbone resnet:18 --input-size 32 --epochs 2 --batch 8 \
  --threads 2 --out run >/dev/null 2>&1 || { echo "fixture training failed" >&2; exit 1; }
model=$work/run/best.safetensors
model_sha=$(sha "$model")
img=$(find demo/val -name '*.png' | sort | head -n 1)
run_ok='[ "$(sha "$model")" = "$model_sha" ] && "$cli" eval --model "$model" --data demo/val >/dev/null 2>&1 && echo "best.safetensors intact, loads" || echo "LOST: best.safetensors changed or no longer loads"'

echo "| input | exit | message | what existed before |"
echo "| --- | --- | --- | --- |"

# Model files
head -c 100 "$model" > truncated.safetensors
run "model file truncated to 100 bytes" "$run_ok" -- "$cli" predict --model truncated.safetensors "$img"
head -c $(( $(stat -c %s "$model") - 1000 )) "$model" > cut.safetensors
run "model file missing its last 1000 bytes" "$run_ok" -- "$cli" predict --model cut.safetensors "$img"
printf '\xff\xff\xff\xff\xff\xff\xff\x7f{}' > hugeheader.safetensors
run "model header length 2^63" "$run_ok" -- "$cli" predict --model hugeheader.safetensors "$img"
truncate -s 20G sparse.safetensors
run "20 GB sparse model file" "$run_ok" -- "$cli" predict --model sparse.safetensors "$img"
run "a PNG given as the model" "$run_ok" -- "$cli" predict --model "$img" "$img"
run "a folder given as the model" "$run_ok" -- "$cli" predict --model demo "$img"
mkfifo model.fifo
run "a FIFO given as the model" "$run_ok" -- "$cli" predict --model model.fifo "$img"
$python - "$model" hostile-meta.safetensors <<'EOF' 2>/dev/null
import json, struct, sys
data = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', data[:8])[0]
header = json.loads(data[8:8 + n])
mien = json.loads(header['__metadata__']['mien'])
mien['input_size'] = 'huge'; mien['classes'] = [1, None]; mien['mean'] = [1e308, -1e308]
header['__metadata__']['mien'] = json.dumps(mien)
h = json.dumps(header).encode()
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(h)) + h + data[8 + n:])
EOF
run "model metadata with wrong types" "$run_ok" -- "$cli" predict --model hostile-meta.safetensors "$img"
$python - "$model" nan.safetensors <<'EOF' 2>/dev/null
import json, struct, sys, array
data = bytearray(open(sys.argv[1], 'rb').read())
n = struct.unpack('<Q', data[:8])[0]
header = json.loads(data[8:8 + n])
for name, e in header.items():
    if name == 'head.weight':
        a, b = e['data_offsets']
        data[8 + n + a:8 + n + b] = array.array('f', [float('nan')] * ((b - a) // 4)).tobytes()
open(sys.argv[2], 'wb').write(data)
EOF
run "model whose weights are NaN" "$run_ok" -- "$cli" predict --model nan.safetensors "$img"

# Images
$python - <<'EOF' 2>/dev/null
import struct, zlib
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
w = h = 20000
raw = zlib.compressobj(9)
body = b''.join(raw.compress(b'\0' + b'\0' * w) for _ in range(h)) + raw.flush()
open('bomb.png', 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) + chunk(b'IDAT', body) + chunk(b'IEND', b''))
EOF
run "20000×20000 PNG (decompression bomb, $(du -k bomb.png | cut -f1) KiB)" "$run_ok" -- "$cli" predict --model "$model" bomb.png
head -c 300 "$img" > truncated.png
run "truncated PNG" "$run_ok" -- "$cli" predict --model "$model" truncated.png
: > empty.png
run "zero-byte PNG" "$run_ok" -- "$cli" predict --model "$model" empty.png
ln -s loop-b.png loop-a.png; ln -s loop-a.png loop-b.png
run "symlink loop as an image" "$run_ok" -- "$cli" predict --model "$model" loop-a.png
mkfifo image.fifo
run "FIFO as an image" "$run_ok" -- "$cli" predict --model "$model" image.fifo
run "/dev/zero as an image" "$run_ok" -- "$cli" predict --model "$model" /dev/zero
cp "$img" unreadable.png; chmod 000 unreadable.png
run "unreadable image (mode 000; root reads anyway)" "$run_ok" -- "$cli" predict --model "$model" unreadable.png

# Datasets
run "/dev/zero as a dataset" "$run_ok" -- "$cli" stats /dev/zero
mkfifo manifest.fifo
run "FIFO as a CSV manifest" "$run_ok" -- "$cli" stats manifest.fifo
ln -s loopdir-b loopdir-a; ln -s loopdir-a loopdir-b
run "symlink loop as a dataset" "$run_ok" -- "$cli" stats loopdir-a
abs_img=$(readlink -f "$img")
printf '\xef\xbb\xbfpath,label\r\n"%s",anger\r\n"%s",happiness\r\n' "$abs_img" "$abs_img" > bom.csv
run "manifest with BOM, CRLF and quotes" 'echo "—"' -- "$cli" stats bom.csv
printf 'label,path\nanger,%s\nhappiness,%s\n' "$abs_img" "$abs_img" > swapped.csv
run "manifest with a label,path header" 'echo "—"' -- "$cli" stats swapped.csv
printf 'path,label\n%s,"ang\ner"\n%s,happiness\n' "$abs_img" "$abs_img" > newline.csv
run "class name holding a newline" 'echo "—"' -- "$cli" stats newline.csv

# Output files: the model is put back before each try, so that one loss does not hide the next.
cp "$model" model.bak
cp model.bak "$model"; run "--csv is the --model file" "$run_ok" -- "$cli" predict --model "$model" "$img" --csv "$model"
ln "$model" hardlink.safetensors
cp model.bak "$model"; run "--csv is a hard link to the model" "$run_ok" -- "$cli" predict --model "$model" "$img" --csv hardlink.safetensors
ln -s "$model" symlink.csv
cp model.bak "$model"; run "--csv is a symlink to the model" "$run_ok" -- "$cli" predict --model "$model" "$img" --csv symlink.csv
mkfifo out.fifo
cp model.bak "$model"; run "--csv is a FIFO" "$run_ok" -- "$cli" predict --model "$model" "$img" --csv out.fifo
cp model.bak "$model"; run "--csv is /dev/full" "$run_ok" -- "$cli" predict --model "$model" "$img" --csv /dev/full
cp model.bak "$model"; run "--csv is a folder" "$run_ok" -- "$cli" predict --model "$model" "$img" --csv demo
mkdir ro && mount -t tmpfs -o ro,size=64k tmpfs ro 2>/dev/null && cp_ro=1 || cp_ro=0
if [ "$cp_ro" = 1 ]; then
  cp model.bak "$model"; run "--csv in a read-only file system" "$run_ok" -- "$cli" predict --model "$model" "$img" --csv ro/out.csv
  umount ro
fi

# Numbers
for args in "--epochs 0" "--epochs -1" "--threads 100000" "--batch 100000" "--val-split nan" \
            "--lr nan" "--smoothing 1" "--class-weights 0,0,0,0,0,0" "--input-size 99999"; do
  # shellcheck disable=SC2086
  run "train $args" 'echo "—"' -- "$cli" train --data demo --backbone resnet:18 --input-size 32 \
    --epochs 1 $args --out "num-$RANDOM"
done

# Run folders
mkdir -p user && echo precious > user/log.jsonl
run "train --out a folder holding only a user's log.jsonl" '[ "$(cat user/log.jsonl)" = precious ] && echo "log.jsonl intact" || echo LOST' -- \
  "$cli" train --data demo --backbone resnet:18 --input-size 32 --epochs 1 --out user
cp -r run nolast && rm nolast/last.safetensors
nolast_sha=$(sha nolast/best.safetensors)
run "--resume after last.safetensors was deleted" '[ "$(sha nolast/best.safetensors)" = "$nolast_sha" ] && echo "best.safetensors intact" || echo LOST' -- \
  "$cli" train --resume --out nolast --epochs 3
if [ -n "${MIEN_TEST_SMALL_FS_DIR:-}" ] || mount -t tmpfs -o size=2m tmpfs "$(mkdir -p small && echo small)" 2>/dev/null; then
  small=${MIEN_TEST_SMALL_FS_DIR:-small}
  run "train into a 2 MiB file system (disk full)" 'echo "—"' -- \
    "$cli" train --data demo --backbone resnet:18 --input-size 32 --epochs 1 --out "$small/run"
  [ -z "${MIEN_TEST_SMALL_FS_DIR:-}" ] && umount small
fi

# kill -9 at random moments, then resume: the run must finish and its best model load.
cp -r demo killdata
for attempt in 1 2 3 4 5 6; do
  rm -rf killrun
  "$cli" train --data killdata --backbone resnet:18 --input-size 32 --epochs 3 --batch 8 \
    --threads 2 --out killrun >/dev/null 2>&1 &
  pid=$!
  sleep "$(awk -v s="$attempt" 'BEGIN { srand(s); printf "%.2f", 2 + rand() * 10 }')"
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  TIMEOUT=600 run "kill -9 during training (try $attempt), then --resume" \
    '[ "$(grep -c . killrun/log.jsonl)" = 3 ] && "$cli" eval --model killrun/best.safetensors --data demo/val >/dev/null 2>&1 && echo "run finished (3 epochs logged), best loads" || echo "LOST: unfinished, or best does not load"' -- \
    "$cli" train --resume --out killrun
done
