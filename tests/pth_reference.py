#!/usr/bin/python3
"""Writes PyTorch checkpoints with torch.save for test-pth.c, and what Mien must read from them.

Run by MIEN_REFERENCE_PYTHON (Debian's /usr/bin/python3 with python3-torch and
python3-torchvision):

    pth_reference.py OUTDIR CASE...

CASE is MODEL:KIND with MODEL resnet18, efficientnet_b0 or vit_b_16 (torchvision, random
initialisation with fixed seeds, conditioned as export_torchvision.py does for the parity tests,
at 64 px) and KIND one of

  zip      torch.save (state_dict)                                  -> OUTDIR/MODEL-zip.pth
  legacy   the same with _use_new_zipfile_serialization=False       -> OUTDIR/MODEL-legacy.pth
  nested   torch.save ({"state_dict": state_dict, "epoch": 3})      -> OUTDIR/MODEL-nested.pth
  whole    torch.save (model), the pickled module, which must be refused -> OUTDIR/MODEL-whole.pth

and for every model OUTDIR/MODEL-io.safetensors holds "input" [1, 3, 64, 64] and torchvision's
"logits" for it (eval mode); its metadata names the Mien backbone ("mien_spec"), the head
("classifier") and the input size.

CASE "views" writes OUTDIR/views-zip.pth and OUTDIR/views-legacy.pth: a DataParallel-style
state dict ("module." on every key) of every dtype torch.save stores, with a transposed
(non-contiguous) view, a slice at a storage offset, two tensors sharing one storage (tied
weights), a 0-d and an empty tensor, an nn.Parameter; OUTDIR/views-expected.safetensors holds each as a contiguous
tensor under the key without "module." (bfloat16 as float32, which holds it exactly).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'parity'))
import export_torchvision as ref  # noqa: E402

SIZE = 64
INPUT_SEED = 5


def model_cases(outdir, model, kinds):
    torch.set_num_threads(1)
    net = ref.make_model(model, SIZE)
    net.eval()
    state = net.state_dict()
    for kind in kinds:
        path = os.path.join(outdir, f'{model}-{kind}.pth')
        if kind == 'zip':
            torch.save(state, path)
        elif kind == 'legacy':
            torch.save(state, path, _use_new_zipfile_serialization=False)
        elif kind == 'nested':
            torch.save({'state_dict': state, 'epoch': 3}, path)
        elif kind == 'whole':
            torch.save(net, path)
        else:
            raise SystemExit(f'unknown kind {kind}')
    gen = torch.Generator().manual_seed(INPUT_SEED)
    x = torch.randn(1, 3, SIZE, SIZE, generator=gen)
    with torch.no_grad():
        logits = net(x)
    _, _, classifier, spec = ref.MODELS[model]
    ref.write_safetensors(os.path.join(outdir, f'{model}-io.safetensors'),
                          {'input': x, 'logits': logits},
                          {'mien_spec': spec, 'classifier': classifier, 'input_size': SIZE})


def views_case(outdir):
    gen = torch.Generator().manual_seed(3)
    base = torch.randn(4, 6, generator=gen)
    shared = torch.randn(10, generator=gen)
    state = {
        'f32': torch.randn(2, 3, generator=gen),
        'transposed': base.t(),                     # stride (1, 6)
        'slice': base[1:3, 2:5],                    # offset 8, stride (6, 1)
        'tied.a': shared[:6].view(2, 3),
        'tied.b': shared[4:],                       # overlaps tied.a inside one storage
        'scalar': torch.tensor(2.5, dtype=torch.float64),
        'empty': torch.zeros(0, 3),
        'f16': torch.randn(3, 2, generator=gen).half().t(),
        'bf16': torch.randn(5, generator=gen).bfloat16(),
        'i64': torch.arange(-3, 3, dtype=torch.int64).view(2, 3),
        'i32': torch.arange(7, dtype=torch.int32)[::2],   # stride 2
        'i16': torch.tensor([-300, 2, 300], dtype=torch.int16),
        'i8': torch.tensor([-128, 0, 127], dtype=torch.int8),
        'u8': torch.tensor([0, 128, 255], dtype=torch.uint8),
        'bool': torch.tensor([True, False, True]),
        'param': torch.nn.Parameter(torch.randn(3, generator=gen)),
    }
    saved = {'module.' + k: v for k, v in state.items()}
    torch.save(saved, os.path.join(outdir, 'views-zip.pth'))
    torch.save(saved, os.path.join(outdir, 'views-legacy.pth'),
               _use_new_zipfile_serialization=False)
    expected = {k: (v.float() if v.dtype == torch.bfloat16 else v).detach().contiguous()
                for k, v in state.items()}
    ref.write_safetensors(os.path.join(outdir, 'views-expected.safetensors'), expected, {})


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    models = {}
    for case in sys.argv[2:]:
        if case == 'views':
            views_case(outdir)
            continue
        model, _, kind = case.partition(':')
        if model not in ref.MODELS:
            raise SystemExit(f'unknown model {model}')
        models.setdefault(model, []).append(kind)
    for model, kinds in models.items():
        model_cases(outdir, model, kinds)


if __name__ == '__main__':
    main()
