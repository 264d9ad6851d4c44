#!/usr/bin/env bash
# Run ON a bare GPU machine (PyTorch wheel with CUDA, meson and ninja from pip, no GLib), from the
# repository root, with .gpu-debs/ carried from build-aux/gpu-fetch-debs.sh. Builds the headless
# engine (-Dgui=disabled) against the wheel's libtorch, runs the test suites on CUDA and the
# benchmarks, and writes logs under $OUT (or ./gpu-out).
#
#   device run:  bash build-aux/gpu-check.sh      (carry: .gpu-debs)
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${OUT:-$top/gpu-out}
mkdir -p "$out"
cd "$top"
exec > >(tee "$out/gpu-check.log") 2>&1

prefix=/tmp/mien-sysroot
mkdir -p "$prefix"
for deb in .gpu-debs/*.deb; do dpkg -x "$deb" "$prefix"; done
multiarch=x86_64-linux-gnu
export PATH="$prefix/usr/bin:$PATH"
export PKG_CONFIG="$prefix/usr/bin/pkgconf"
export PKG_CONFIG_SYSROOT_DIR="$prefix"
export PKG_CONFIG_LIBDIR="$prefix/usr/lib/$multiarch/pkgconfig:$prefix/usr/share/pkgconfig"
export LD_LIBRARY_PATH="$prefix/usr/lib/$multiarch:$prefix/lib/$multiarch:${LD_LIBRARY_PATH:-}"
# The .so symlinks of -dev packages are absolute (/lib/...): point the linker at the sysroot.
export LIBRARY_PATH="$prefix/usr/lib/$multiarch:$prefix/lib/$multiarch"

python=$(command -v python3)
torch_dir=$("$python" -c 'import torch, os; print(os.path.dirname(torch.__file__))')
echo "== GPU"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
echo "== torch $("$python" -c 'import torch; print(torch.__version__, torch.version.cuda)')"

set -e
meson setup build-gpu -Dlibtorch="$torch_dir" -Dgui=disabled -Dparity=auto \
  -Dreference_python="$python" --wipe 2>&1 || meson setup build-gpu -Dlibtorch="$torch_dir" \
  -Dgui=disabled -Dparity=auto -Dreference_python="$python"
ninja -C build-gpu
set +e

echo "== devices seen by mien"
MIEN_PLUGIN_PATH=build-gpu/plugins build-gpu/app/cli/mien-cli plugins | tee "$out/plugins.txt"

# test-torch and test-var-store run their CUDA checks when mien_torch_cuda_is_available ();
# the parity suite compares on the CPU of the wheel's libtorch.
echo "== tests"
meson test -C build-gpu --print-errorlogs --num-processes 4 \
  --suite unit --suite torch --suite plugins --suite parity
cp build-gpu/meson-logs/testlog.txt "$out/testlog.txt" 2>/dev/null

echo "== benchmarks (CUDA)"
bash tests/bench/run-bench.sh -B build-gpu -p "$python" -d cuda -n 5 -r 3 2>&1 | tee "$out/bench.txt"

echo "== training on CUDA (mien-cli end to end, and against PyTorch)"
demo=/tmp/mien-demo
rm -rf "$demo" /tmp/mien-run-cuda
MIEN_PLUGIN_PATH=build-gpu/plugins build-gpu/app/cli/mien-cli demo-data "$demo" --per-class 2000 \
  | tee "$out/demo-data.txt"
MIEN_PLUGIN_PATH=build-gpu/plugins build-gpu/app/cli/mien-cli train --data "$demo" \
  --backbone resnet:50 --input-size 112 --epochs 3 --batch 64 --device cuda --amp \
  --out /tmp/mien-run-cuda --json 2>&1 | tee "$out/train-cuda.jsonl"
bash tests/bench/bench-train.sh -C build-gpu -p "$python" -d cuda -D "$demo" -b resnet:50 \
  -s 112 -B 64 -e 3 -w 8 throughput 2>&1 | tee "$out/bench-train-cuda.txt"
bash tests/bench/bench-train.sh -C build-gpu -p "$python" -d cuda -D "$demo" -b vit:b_16 \
  -s 224 -B 32 -e 1 memory 2>&1 | tee "$out/bench-dft-memory-cuda.txt"

echo "== data-parallel training (c10d; --nproc over the GPUs against one GPU where there are several)"
if [ "$(nvidia-smi -L 2>/dev/null | wc -l)" -ge 2 ]; then
  bash tests/bench/bench-distributed.sh -C build-gpu -n 500 -b resnet:18 -s 112 -B 64 -e 2 -g \
    2>&1 | tee "$out/bench-distributed-cuda.txt"
else
  echo "one GPU: --nproc over GPUs needs two; test-distributed ran its Gloo cases above"
fi
