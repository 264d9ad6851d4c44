#!/usr/bin/python3
"""Images per second of the usual PyTorch input pipeline alone: the reference for bench-pipeline
(same options, same JSON line). Run with the reference python (/usr/bin/python3).

    bench_pipeline_torch.py [--size 64] [--batch 64] [--workers N] [--threads N] [--epochs 3]
                            [--classes a,b,...] [--seed 0] DATASET

DATASET is an ImageFolder (one sub-folder per class). First the mean and standard deviation are
computed the usual way — one pass of a DataLoader with Resize((S, S)) + ToTensor() over the
data, summing per channel — and timed as "prepare" (Mien's mien_loader_prepare () does the same
pass). Then `epochs` epochs of a DataLoader(ImageFolder(Resize((S, S)), ToTensor(),
Normalize(mean, std)), batch_size, shuffle=True, num_workers, drop_last=True), each timed from
creating the iterator (starting the workers) to the last batch. Nothing is cached between
epochs: every epoch decodes every image again, as with torchvision. Output, one JSON line:

    {"side": "torch", "images": 1160, ..., "prepare_seconds": 2.1, "prepare_images_per_s": 552.4,
     "epochs": [{"seconds": 1.9, "images": 1152, "images_per_s": 606.3, "cpu_seconds": 0.4}, ...],
     "epoch_images_per_s": 606.3, "mean": [...], "std": [...], "cpu_seconds": ...,
     "peak_rss_kb": ..., "peak_rss_children_kb": ...}

cpu_seconds of an epoch counts this process and the epoch's worker processes (they are joined at
the end of the epoch); peak_rss_children_kb is the largest worker.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


class Folder(datasets.ImageFolder):
    """An ImageFolder restricted to `classes`, in that order (label i = classes[i])."""

    def __init__(self, root, classes=None, **kwargs):
        self.wanted = list(classes) if classes else None
        super().__init__(root, **kwargs)

    def find_classes(self, directory):
        if self.wanted is None:
            return super().find_classes(directory)
        for c in self.wanted:
            if not os.path.isdir(os.path.join(directory, c)):
                raise FileNotFoundError(f'no class folder {c!r} in {directory}')
        return self.wanted, {c: i for i, c in enumerate(self.wanted)}


def cpu_seconds():
    """CPU time of this process and of its finished (joined) children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def mean_std(root, classes, size, batch, workers):
    """Per-channel mean and standard deviation in [0, 1] at the input size, over every pixel."""
    ds = Folder(root, classes, transform=transforms.Compose([
        transforms.Resize((size, size)), transforms.ToTensor()]))
    loader = DataLoader(ds, batch_size=batch, num_workers=workers)
    total = torch.zeros(3, dtype=torch.float64)
    total_sq = torch.zeros(3, dtype=torch.float64)
    n = 0
    for x, _ in loader:
        x = x.double()
        total += x.sum(dim=(0, 2, 3))
        total_sq += (x * x).sum(dim=(0, 2, 3))
        n += x.numel() // 3
    mean = total / n
    std = (total_sq / n - mean * mean).clamp(min=0).sqrt()
    return len(ds), mean.tolist(), std.tolist()


def main():
    parser = argparse.ArgumentParser(description='PyTorch input pipeline throughput')
    parser.add_argument('dataset')
    parser.add_argument('-s', '--size', type=int, default=64)
    parser.add_argument('-b', '--batch', type=int, default=64)
    parser.add_argument('-w', '--workers', type=int, default=os.cpu_count())
    parser.add_argument('-t', '--threads', type=int, default=os.cpu_count())
    parser.add_argument('-e', '--epochs', type=int, default=3)
    parser.add_argument('-c', '--classes', default=None, help='a,b,... (default: every class)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    classes = [c.strip() for c in args.classes.split(',')] if args.classes else None
    cpu_start = cpu_seconds()

    t0 = time.perf_counter()
    n, mean, std = mean_std(args.dataset, classes, args.size, args.batch, args.workers)
    prepare_s = time.perf_counter() - t0

    ds = Folder(args.dataset, classes, transform=transforms.Compose([
        transforms.Resize((args.size, args.size)), transforms.ToTensor(),
        transforms.Normalize(mean, std)]))
    loader = DataLoader(ds, batch_size=args.batch, shuffle=True, num_workers=args.workers,
                        drop_last=True)
    epochs = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        cpu0 = cpu_seconds()
        images = 0
        for x, _ in loader:
            images += x.size(0)
        s = time.perf_counter() - t0
        epochs.append({'seconds': s, 'images': images, 'images_per_s': images / max(s, 1e-9),
                       'cpu_seconds': cpu_seconds() - cpu0})

    print(json.dumps({
        'side': 'torch', 'images': n, 'classes': len(ds.classes), 'size': args.size,
        'batch': args.batch, 'workers': args.workers, 'threads': torch.get_num_threads(),
        'prepare_seconds': prepare_s, 'prepare_images_per_s': n / max(prepare_s, 1e-9),
        'epochs': epochs,
        'epoch_images_per_s': statistics.median(e['images_per_s'] for e in epochs),
        'mean': mean, 'std': std, 'cpu_seconds': cpu_seconds() - cpu_start,
        'peak_rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        'peak_rss_children_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }), flush=True)


if __name__ == '__main__':
    sys.exit(main())
