#!/usr/bin/python3
"""Writes the seed corpus of fuzz-pth (tests/fuzz/corpus/pth/) with torch.save.

    /usr/bin/python3 tests/fuzz/make-pth-seeds.py [OUTDIR]

Tiny state dicts (a few elements each, so that the seeds stay under 4 KB) in the zip and the
legacy format: float tensors, a transposed view and a slice sharing one storage, every storage
dtype, a nested {"state_dict": ..., "epoch": 3} and a DataParallel "module." prefix.
"""
import os
import sys

import torch


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'corpus', 'pth')
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)
    base = torch.randn(2, 3)
    cases = {
        'plain': {'w': torch.randn(2, 2), 'b': torch.randn(2)},
        'views': {'t': base.t(), 'row': base[1], 'all': base},
        'dtypes': {
            'f16': torch.ones(2, dtype=torch.float16), 'bf16': torch.ones(2, dtype=torch.bfloat16),
            'f64': torch.ones(1, dtype=torch.float64), 'i64': torch.arange(2),
            'i32': torch.arange(2, dtype=torch.int32), 'i16': torch.arange(2, dtype=torch.int16),
            'i8': torch.arange(2, dtype=torch.int8), 'u8': torch.arange(2, dtype=torch.uint8),
            'bool': torch.tensor([True]), 'scalar': torch.tensor(1.0), 'empty': torch.zeros(0),
        },
        'nested': {'state_dict': {'w': torch.randn(2)}, 'epoch': 3},
        'module': {'module.conv.weight': torch.randn(1, 1, 1, 1)},
    }
    for name, obj in cases.items():
        torch.save(obj, os.path.join(outdir, f'{name}-zip.pth'))
        torch.save(obj, os.path.join(outdir, f'{name}-legacy.pth'),
                   _use_new_zipfile_serialization=False)


if __name__ == '__main__':
    main()
