#!/usr/bin/python3
"""FER2013 in plain PyTorch for a wall-clock budget: the reference side of fer2013-train.sh.
Run with the reference python (/usr/bin/python3).

    fer2013_torch.py --train DIR --val DIR --classes a,b,... --budget MINUTES
        [--backbone resnet:18] [--input-size 48] [--batch 64] [--lr 0.001] [--threads N]
        [--workers N] [--seed 0] [--flip] [--crop none|pad|pad:P|resized|resized:SMIN]

What mien-cli train does, as a torchvision user writes it: ImageFolder restricted to the classes
(bench_pipeline_torch.Folder), decoded as RGB, Resize((S, S)), then for training only
RandomCrop(S, padding=P) (constant 0; "pad" is an eighth of S, rounded, as Mien's) or
RandomResizedCrop(S, scale=(SMIN, 1)) and RandomHorizontalFlip() with --flip, ToTensor(),
Normalize with the training set's mean and std (computed first, inside the budget, as Mien's
preparation is); the network of bench_torch.build from random weights; Adam(lr), cross entropy.
Epochs run until the one that passes the budget (counted from the interpreter's start), as
`mien-cli train --time-limit`. One JSON line per epoch (epoch, images_per_s of the training
loop, val_macro_f1, val_accuracy), then {"final": true, ...}.
"""

import time

_T_START = time.perf_counter()

# pylint: disable=wrong-import-position
import argparse
import json
import os
import sys

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_pipeline_torch import Folder, mean_std  # noqa: E402
from bench_torch import build  # noqa: E402
from bench_train_torch import validate  # noqa: E402


def crop_transform(spec, size):
    """Mien's --crop as torchvision's transform (None for "none")."""
    kind, _, arg = spec.partition(':')
    if kind == 'none':
        return None
    if kind == 'pad':
        padding = int(arg) if arg else max(1, (size + 4) // 8)
        return transforms.RandomCrop(size, padding=padding, fill=0, padding_mode='constant')
    if kind == 'resized':
        smin = float(arg) if arg else 0.8
        return transforms.RandomResizedCrop(size, scale=(smin, 1.0), ratio=(3 / 4, 4 / 3))
    raise SystemExit(f'unknown crop {spec!r}')


def main():
    parser = argparse.ArgumentParser(description='FER2013 in PyTorch for a time budget')
    parser.add_argument('--train', required=True)
    parser.add_argument('--val', required=True)
    parser.add_argument('--classes', required=True)
    parser.add_argument('--budget', type=float, required=True, help='minutes')
    parser.add_argument('--backbone', default='resnet:18')
    parser.add_argument('--input-size', type=int, default=48)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--workers', type=int, default=os.cpu_count())
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--flip', action='store_true')
    parser.add_argument('--crop', default='none')
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    size = args.input_size
    classes = [c.strip() for c in args.classes.split(',')]
    limit_s = args.budget * 60.0

    _, mean, std = mean_std(args.train, classes, size, args.batch, args.workers)
    augment = [t for t in (crop_transform(args.crop, size),
                           transforms.RandomHorizontalFlip() if args.flip else None) if t]
    tail = [transforms.ToTensor(), transforms.Normalize(mean, std)]
    train_tf = transforms.Compose([transforms.Resize((size, size))] + augment + tail)
    val_tf = transforms.Compose([transforms.Resize((size, size))] + tail)
    train_set = Folder(args.train, classes, transform=train_tf)
    val_set = Folder(args.val, classes, transform=val_tf)
    k = len(classes)
    train_loader = DataLoader(train_set, batch_size=args.batch, shuffle=True,
                              num_workers=args.workers, drop_last=True)
    val_loader = DataLoader(val_set, batch_size=args.batch, shuffle=False,
                            num_workers=args.workers)

    model = build(args.backbone, size, k)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    device = torch.device('cpu')

    best = {'val_macro_f1': -1.0}
    epoch = 0
    while True:
        epoch += 1
        model.train()
        t0 = time.perf_counter()
        n = 0
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            n += x.size(0)
        train_s = time.perf_counter() - t0
        _, val_acc, val_f1 = validate(model, val_loader, device, k)
        record = {'epoch': epoch, 'train_images': n, 'train_seconds': train_s,
                  'images_per_s': n / max(train_s, 1e-9),
                  'val_macro_f1': val_f1, 'val_accuracy': val_acc}
        print(json.dumps(record), flush=True)
        if val_f1 > best['val_macro_f1']:
            best = record
        if time.perf_counter() - _T_START >= limit_s:
            break

    print(json.dumps({'final': True, 'epochs': epoch, 'best_epoch': best['epoch'],
                      'best_macro_f1': best['val_macro_f1'],
                      'best_accuracy': best['val_accuracy'],
                      'wall_seconds': time.perf_counter() - _T_START}), flush=True)


if __name__ == '__main__':
    sys.exit(main())
