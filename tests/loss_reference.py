#!/usr/bin/python3
"""PyTorch's cross-entropy for test-model's loss cases.

Usage: loss_reference.py CASES.json
CASES.json: {"logits": [[...], ...], "targets": [...],
             "cases": [{"weight": [...] or null, "alpha": x}, ...]}
Prints one JSON array: the loss of each case, computed in float64 by
torch.nn.functional.cross_entropy (weight=..., label_smoothing=alpha, reduction="mean").
"""
import json
import sys

import torch
import torch.nn.functional as F


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    logits = torch.tensor(spec["logits"], dtype=torch.float64)
    targets = torch.tensor(spec["targets"], dtype=torch.int64)
    losses = []
    for case in spec["cases"]:
        weight = case["weight"]
        if weight is not None:
            weight = torch.tensor(weight, dtype=torch.float64)
        loss = F.cross_entropy(logits, targets, weight=weight,
                               label_smoothing=case["alpha"])
        losses.append(loss.item())
    json.dump(losses, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
