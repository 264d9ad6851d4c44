#!/usr/bin/python3
"""A training run in plain PyTorch, the way the paper's authors wrote theirs: the reference for
`mien-cli train --json` (bench-train.sh runs both). Run with the reference python
(/usr/bin/python3).

    bench_train_torch.py --data DIR [--val DIR] [--classes a,b,...] [--backbone resnet:18]
        [--input-size 224] [--mode finetune|dft|probe] [--epochs 10] [--batch 64] [--lr 0.001]
        [--smoothing 0] [--imbalance none|weighted] [--threads N] [--workers N] [--seed 0]
        [--device cpu|cuda[:N]] [--mean m,m,m --std s,s,s] [--out RUNDIR] [--json]

What it does, as a torchvision user would:
- data: torchvision.datasets.ImageFolder (DIR/train and DIR/val when DIR holds them, else --data
  and --val), restricted to --classes in that order; transforms Resize((S, S)), ToTensor(),
  Normalize(mean, std) with the training set's own mean and std, computed first by the usual
  loop over a DataLoader (Resize + ToTensor, per-channel sums over every pixel) unless --mean
  and --std are given; torch.utils.data.DataLoader(batch, shuffle=True, num_workers, drop_last=True,
  pin_memory on CUDA) for training, in order without drop_last for validation;
- model: the torchvision network with a plain Linear head (bench_torch.build: Mien's names,
  dropout before the head removed as in Mien) for finetune; for probe, the backbone frozen in
  eval mode under no_grad with a Linear head; for dft (the paper's eq. (2) and the authors'
  script) two copies of the backbone, g_f frozen (requires_grad False, run under
  torch.no_grad()), g_t trained, feature g_f(x) - g_t(x) + 1e-6, a Linear head; both copies in
  eval mode (batch norm with running statistics) throughout; only g_t and the head go to Adam;
- loss: nn.CrossEntropyLoss(label_smoothing, weight = normalised inverse frequency with
  --imbalance weighted); Adam(lr); torch.set_num_threads(threads); torch.manual_seed(seed);
- each epoch: the training loop (loss.item() and the running accuracy per step, as usual), then
  validation (loss, accuracy, per-class F1 and their mean), then, with --out, last.pt (model and
  optimiser state) and best.pt when the macro F1 improved — what Mien writes as safetensors.

With --json, one JSON line per epoch like Mien's log records:
    {"epoch": 1, "train_images": 1152, "train_seconds": 90.3, "images_per_s": 12.75,
     "train_cpu_seconds": 170.2, "train_loss": ..., "train_accuracy": ..., "val_loss": ...,
     "val_macro_f1": ..., "val_accuracy": ..., "val_seconds": ...}
images_per_s counts the training loop only, from creating the DataLoader iterator (which
starts its workers) to the last optimiser step; validation and checkpoints are left out.
train_cpu_seconds is this process's CPU time plus that of the epoch's (joined) workers.
A final line gives the whole process:
    {"final": true, "stats_seconds": ..., "mean": [...], "std": [...], "best_epoch": ...,
     "best_macro_f1": ..., "wall_seconds": ..., "cpu_seconds": ..., "peak_rss_kb": ...,
     "peak_rss_children_kb": ...}
wall_seconds runs from the interpreter's start (before importing torch) to the end;
peak_rss_kb is resource.getrusage's ru_maxrss of this process (the largest DataLoader worker
is in peak_rss_children_kb).
"""

import time

_T_START = time.perf_counter()

# pylint: disable=wrong-import-position
import argparse
import copy
import json
import os
import resource
import sys

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_pipeline_torch import Folder, cpu_seconds, mean_std  # noqa: E402
from bench_torch import build  # noqa: E402


def strip_head(model, family):
    """Replaces the classifier of a bench_torch.build () network by Identity; returns the
    feature dimension."""
    if family in ('resnet', 'googlenet'):
        dim = model.fc.in_features
        model.fc = nn.Identity()
    elif family == 'efficientnet':
        dim = model.classifier[1].in_features
        model.classifier = nn.Identity()
    elif family == 'vit':
        dim = model.heads.head.in_features
        model.heads = nn.Identity()
    else:
        raise SystemExit(f'unknown family {family!r}')
    return dim


class Probe(nn.Module):
    """Linear probe: the backbone frozen, in eval mode, without autograd."""

    def __init__(self, backbone, dim, classes):
        super().__init__()
        self.backbone = backbone
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        self.head = nn.Linear(dim, classes)

    def train(self, mode=True):
        super().train(mode)
        self.backbone.eval()
        return self

    def forward(self, x):
        with torch.no_grad():
            f = self.backbone(x)
        return self.head(f)


class DFT(nn.Module):
    """Deviation fine-tuning, eq. (2): g_f frozen (no autograd graph), g_t trained, both in
    eval mode, feature g_f(x) - g_t(x) + eps, Linear head."""

    def __init__(self, backbone, dim, classes, eps=1e-6):
        super().__init__()
        self.g_f = backbone
        self.g_t = copy.deepcopy(backbone)
        for p in self.g_f.parameters():
            p.requires_grad_(False)
        self.head = nn.Linear(dim, classes)
        self.eps = eps

    def train(self, mode=True):
        super().train(mode)
        self.g_f.eval()
        self.g_t.eval()
        return self

    def forward(self, x):
        with torch.no_grad():
            frozen = self.g_f(x)
        return self.head(frozen - self.g_t(x) + self.eps)


def make_model(spec, size, classes, mode):
    family = spec.partition(':')[0]
    model = build(spec, size, classes)
    if mode == 'finetune':
        return model
    dim = strip_head(model, family)
    if mode == 'probe':
        return Probe(model, dim, classes)
    return DFT(model, dim, classes)


def class_weights(targets, classes):
    """Mien's "auto": w_c = N / (K n_c), scaled so that sum_c w_c n_c / N = 1."""
    counts = torch.bincount(torch.tensor(targets), minlength=classes).double()
    n = counts.sum()
    w = torch.where(counts > 0, n / (classes * counts.clamp(min=1)), torch.zeros_like(counts))
    w = w / ((w * counts).sum() / n)
    return w.float()


def macro_f1(confusion):
    tp = confusion.diag().double()
    precision = tp / confusion.sum(0).double().clamp(min=1)
    recall = tp / confusion.sum(1).double().clamp(min=1)
    f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall),
                     torch.zeros_like(tp))
    return f1.mean().item()


def validate(model, loader, device, classes):
    model.eval()
    confusion = torch.zeros(classes, classes, dtype=torch.long)
    loss_sum = 0.0
    n = 0
    with torch.no_grad():
        for x, y in loader:
            x = x.to(device, non_blocking=True)
            y = y.to(device, non_blocking=True)
            out = model(x)
            loss_sum += nn.functional.cross_entropy(out, y).item() * x.size(0)
            n += x.size(0)
            pred = out.argmax(1).cpu()
            confusion += torch.bincount(y.cpu() * classes + pred,
                                        minlength=classes * classes).view(classes, classes)
    return loss_sum / max(n, 1), confusion.diag().sum().item() / max(n, 1), macro_f1(confusion)


def main():
    parser = argparse.ArgumentParser(description='A PyTorch training run, for comparison')
    parser.add_argument('--data', required=True)
    parser.add_argument('--val', default=None)
    parser.add_argument('--classes', default=None, help='a,b,... (default: every class)')
    parser.add_argument('--backbone', default='resnet:18')
    parser.add_argument('--input-size', type=int, default=224)
    parser.add_argument('--mode', choices=['finetune', 'dft', 'probe'], default='finetune')
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--smoothing', type=float, default=0.0)
    parser.add_argument('--imbalance', choices=['none', 'weighted'], default='none')
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--workers', type=int, default=os.cpu_count())
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    parser.add_argument('--mean', default=None, help='m,m,m (default: computed)')
    parser.add_argument('--std', default=None, help='s,s,s (default: computed)')
    parser.add_argument('--out', default=None, help='write last.pt and best.pt here')
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    cuda = device.type == 'cuda'
    classes = [c.strip() for c in args.classes.split(',')] if args.classes else None
    train_dir, val_dir = args.data, args.val
    if val_dir is None:
        if not os.path.isdir(os.path.join(args.data, 'train')):
            raise SystemExit('--data needs train/ and val/ inside, or give --val')
        train_dir = os.path.join(args.data, 'train')
        val_dir = os.path.join(args.data, 'val')
    size = args.input_size

    t0 = time.perf_counter()
    if args.mean and args.std:
        mean = [float(v) for v in args.mean.split(',')]
        std = [float(v) for v in args.std.split(',')]
    else:
        _, mean, std = mean_std(train_dir, classes, size, args.batch, args.workers)
    stats_s = time.perf_counter() - t0

    tf = transforms.Compose([transforms.Resize((size, size)), transforms.ToTensor(),
                             transforms.Normalize(mean, std)])
    train_set = Folder(train_dir, classes, transform=tf)
    val_set = Folder(val_dir, train_set.classes, transform=tf)
    k = len(train_set.classes)
    train_loader = DataLoader(train_set, batch_size=args.batch, shuffle=True,
                              num_workers=args.workers, drop_last=True, pin_memory=cuda)
    val_loader = DataLoader(val_set, batch_size=args.batch, shuffle=False,
                            num_workers=args.workers, pin_memory=cuda)

    model = make_model(args.backbone, size, k, args.mode).to(device)
    weight = class_weights(train_set.targets, k).to(device) if args.imbalance == 'weighted' \
        else None
    criterion = nn.CrossEntropyLoss(weight=weight, label_smoothing=args.smoothing)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=args.lr)
    if args.out:
        os.makedirs(args.out, exist_ok=True)

    best_f1, best_epoch = -1.0, 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        cpu0 = cpu_seconds()
        loss_sum, correct, n = 0.0, 0, 0
        for x, y in train_loader:
            x = x.to(device, non_blocking=True)
            y = y.to(device, non_blocking=True)
            optimizer.zero_grad()
            out = model(x)
            loss = criterion(out, y)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * x.size(0)
            correct += (out.argmax(1) == y).sum().item()
            n += x.size(0)
        if cuda:
            torch.cuda.synchronize(device)
        train_s = time.perf_counter() - t0
        train_cpu = cpu_seconds() - cpu0

        t0 = time.perf_counter()
        val_loss, val_acc, val_f1 = validate(model, val_loader, device, k)
        val_s = time.perf_counter() - t0
        is_best = val_f1 > best_f1
        if is_best:
            best_f1, best_epoch = val_f1, epoch
        if args.out:
            state = {'model': model.state_dict(), 'optimizer': optimizer.state_dict(),
                     'epoch': epoch}
            torch.save(state, os.path.join(args.out, 'last.pt'))
            if is_best:
                torch.save(model.state_dict(), os.path.join(args.out, 'best.pt'))
        record = {'epoch': epoch, 'train_images': n, 'train_seconds': train_s,
                  'images_per_s': n / max(train_s, 1e-9), 'train_cpu_seconds': train_cpu,
                  'train_loss': loss_sum / max(n, 1), 'train_accuracy': correct / max(n, 1),
                  'val_loss': val_loss, 'val_macro_f1': val_f1, 'val_accuracy': val_acc,
                  'val_seconds': val_s, 'best': is_best}
        if args.json:
            print(json.dumps(record), flush=True)
        else:
            print(f'epoch {epoch:3d}  train loss {record["train_loss"]:.4f}  '
                  f'acc {record["train_accuracy"]:.4f}  |  val loss {val_loss:.4f}  '
                  f'macro F1 {val_f1:.4f}  acc {val_acc:.4f}  |  '
                  f'{record["images_per_s"]:.1f} img/s', flush=True)

    final = {'final': True, 'stats_seconds': stats_s, 'mean': mean, 'std': std,
             'best_epoch': best_epoch, 'best_macro_f1': best_f1,
             'wall_seconds': time.perf_counter() - _T_START, 'cpu_seconds': cpu_seconds(),
             'peak_rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
             'peak_rss_children_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}
    print(json.dumps(final) if args.json else
          f'peak RSS {final["peak_rss_kb"] / 1024:.1f} MiB, '
          f'{final["wall_seconds"]:.1f} s', flush=True)


if __name__ == '__main__':
    sys.exit(main())
