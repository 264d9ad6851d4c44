#!/usr/bin/python3
"""Images per second of a torchvision network + linear head in PyTorch: the reference for
bench-shim (same options, same output line). Run with the reference python (/usr/bin/python3).

    bench_torch.py [--batch 8] [--size 224] [--threads N] [--warmup 2] [--iters 10]
                   [--classes 7] [--mode train|eval] [--device cpu|cuda[:N]] FAMILY[:VARIANT]...

FAMILY[:VARIANT] uses Mien's names (resnet:50, efficientnet:b0, googlenet, vit:b_16, resnet:18,
vit:ti_16, ...). The head is a plain Linear, as Mien's: torchvision's dropout before it is removed.
Everything else keeps torchvision's defaults (EfficientNet's stochastic depth 0.2 included, as the
Mien plugin's default).

    RESULT torch resnet:50 mode=train batch=8 size=224 threads=2 iters=10 img/s=12.34 ms/iter=648.2
           cpu_ms/iter=1290.5  (process CPU time, all threads, per iteration)
"""

import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.vision_transformer import VisionTransformer

DEFAULT_VARIANT = {'resnet': '50', 'efficientnet': 'b0', 'vit': 'b_16', 'googlenet': ''}
# timm's dimensions for the ViT sizes torchvision lacks: (layers, heads, hidden, mlp)
VIT_EXTRA = {'ti_16': (12, 3, 192, 768), 's_16': (12, 6, 384, 1536)}


def build(spec, size, classes):
    family, _, variant = spec.partition(':')
    variant = variant or DEFAULT_VARIANT.get(family, '')
    if family == 'resnet':
        model = getattr(torchvision.models, 'resnet' + variant)(weights=None, num_classes=classes)
    elif family == 'efficientnet':
        model = getattr(torchvision.models, 'efficientnet_' + variant)(weights=None,
                                                                        num_classes=classes)
        model.classifier[0] = torch.nn.Identity()
    elif family == 'googlenet':
        model = torchvision.models.googlenet(weights=None, num_classes=classes, aux_logits=False,
                                             init_weights=True)
        model.dropout = torch.nn.Identity()
    elif family == 'vit':
        if variant in VIT_EXTRA:
            layers, heads, hidden, mlp = VIT_EXTRA[variant]
            patch = int(variant.split('_')[1])
            model = VisionTransformer(image_size=size, patch_size=patch, num_layers=layers,
                                      num_heads=heads, hidden_dim=hidden, mlp_dim=mlp,
                                      num_classes=classes)
        else:
            model = getattr(torchvision.models, 'vit_' + variant)(weights=None, image_size=size,
                                                                  num_classes=classes)
    else:
        raise SystemExit(f'unknown family {family!r}')
    return model


def run(spec, args):
    device = torch.device(args.device)
    model = build(spec, args.size, args.classes).to(device)
    train = args.mode == 'train'
    model.train(train)
    x = torch.randn(args.batch, 3, args.size, args.size, device=device)
    y = torch.randint(0, args.classes, (args.batch,), device=device)

    def synchronize():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
    params = [p for p in model.parameters() if p.requires_grad]

    def step():
        if not train:
            with torch.no_grad():
                model(x)
            return
        for p in params:  # optimizer.zero_grad (set_to_none=True)
            p.grad = None
        loss = F.cross_entropy(model(x), y)
        loss.backward()

    for _ in range(args.warmup):
        step()
    synchronize()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    for _ in range(args.iters):
        step()
    synchronize()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    print(f'RESULT torch {spec} mode={args.mode} batch={args.batch} size={args.size} '
          f'threads={torch.get_num_threads()} iters={args.iters} '
          f'img/s={args.batch * args.iters / elapsed:.4f} ms/iter={elapsed * 1e3 / args.iters:.2f} '
          f'cpu_ms/iter={cpu * 1e3 / args.iters:.2f} device={device}',
          flush=True)


def main():
    parser = argparse.ArgumentParser(description='PyTorch training throughput')
    parser.add_argument('specs', nargs='+', metavar='FAMILY[:VARIANT]')
    parser.add_argument('-b', '--batch', type=int, default=8)
    parser.add_argument('-s', '--size', type=int, default=224)
    parser.add_argument('-t', '--threads', type=int, default=os.cpu_count())
    parser.add_argument('-w', '--warmup', type=int, default=2)
    parser.add_argument('-n', '--iters', type=int, default=10)
    parser.add_argument('-c', '--classes', type=int, default=7)
    parser.add_argument('-m', '--mode', choices=['train', 'eval'], default='train')
    parser.add_argument('-d', '--device', default='cpu', help='cpu, cuda or cuda:N')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for spec in args.specs:
        run(spec, args)


if __name__ == '__main__':
    sys.exit(main())
