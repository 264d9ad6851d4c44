#!/usr/bin/python3
"""Checks that Mien's synthetic demo dataset is learnable, but not trivially.

Trains torchvision's ResNet-18 from scratch on OUTDIR/train of a folder written by
mien_demo_data_generate () (or `mien-cli demo-data`) and prints validation macro-F1 on OUTDIR/val
after every epoch, with the per-class F1 (the minority classes fear and disgust matter most).
With 400 per class (64 px, seed 1) on 2 CPU threads it measured about 0.2 after epoch 1 and 0.7
after epoch 5 (fear, with 40 training images, the weakest); that led to the fear sweat drop and
the default of 800 per class. Mien itself (mien-cli train, 800 per class, batch 32, cosine
schedule, auto class weights, label smoothing 0.1) reaches 0.91 after 5 epochs; tests/test-cli.c
checks >= 0.9.

Usage: /usr/bin/python3 tests/bench/demo_learnability.py OUTDIR [--epochs 5] [--size 64]
Needs torch and torchvision (Debian: python3-torch, python3-torchvision) and numpy.
"""

import argparse
import time

import numpy as np
import torch
import torchvision
from torchvision import transforms


def load(folder, size):
    dataset = torchvision.datasets.ImageFolder(
        folder, transform=transforms.Compose([transforms.Resize((size, size)),
                                              transforms.ToTensor()]))
    xs = torch.stack([x for x, _ in dataset])
    ys = torch.tensor([y for _, y in dataset])
    return dataset.classes, xs, ys


def per_class_f1(pred, true, k):
    f1 = np.zeros(k)
    for c in range(k):
        tp = np.sum((pred == c) & (true == c))
        fp = np.sum((pred == c) & (true != c))
        fn = np.sum((pred != c) & (true == c))
        f1[c] = 2 * tp / max(2 * tp + fp + fn, 1)
    return f1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    classes, x_train, y_train = load(args.outdir + "/train", args.size)
    val_classes, x_val, y_val = load(args.outdir + "/val", args.size)
    assert classes == val_classes, (classes, val_classes)
    k = len(classes)
    print("classes:", " ".join(f"{c}={int((y_train == i).sum())}/{int((y_val == i).sum())}"
                               for i, c in enumerate(classes)))

    # The training set's own statistics, as Mien normalises.
    mean = x_train.mean(dim=(0, 2, 3), keepdim=True)
    std = x_train.std(dim=(0, 2, 3), keepdim=True)
    x_train = (x_train - mean) / std
    x_val = (x_val - mean) / std

    model = torchvision.models.resnet18(weights=None, num_classes=k)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    batch = 64

    for epoch in range(1, args.epochs + 1):
        start = time.time()
        model.train()
        order = torch.randperm(len(y_train))
        total_loss = 0.0
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            optimiser.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            optimiser.step()
            total_loss += loss.item() * len(idx)

        model.eval()
        with torch.no_grad():
            pred = torch.cat([model(x_val[i:i + 256]).argmax(1)
                              for i in range(0, len(y_val), 256)]).numpy()
        true = y_val.numpy()
        f1 = per_class_f1(pred, true, k)
        accuracy = float(np.mean(pred == true))
        print(f"epoch {epoch}: loss {total_loss / len(y_train):.3f}  val macro-F1 {f1.mean():.3f}  "
              f"accuracy {accuracy:.3f}  per class "
              + " ".join(f"{c[:4]} {v:.2f}" for c, v in zip(classes, f1))
              + f"  ({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
