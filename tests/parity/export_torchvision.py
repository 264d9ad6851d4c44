#!/usr/bin/python3
"""Exports a torchvision model and its reference outputs for Mien's parity tests.

Run it with a python that has torch and torchvision (Debian's /usr/bin/python3 with python3-torch
and python3-torchvision); no safetensors package is needed, the writer is below.

    export_torchvision.py MODEL OUTDIR [--size S] [--case CASE] [--no-train]

writes, for MODEL in MODELS (CASE defaults to MODEL):

  OUTDIR/CASE.safetensors      the full state_dict, torchvision's names (head and buffers
                               included, num_batches_tracked as int64)
  OUTDIR/CASE-io.safetensors   eval mode: "input" [2, 3, S, S], "features" (the pooled vector the
                               classifier reads) and "logits" = model (input);
                               one training step from the same weights (train mode, every random
                               part disabled): "targets", "train.features", "train.logits",
                               "loss" = cross_entropy (logits, targets, label_smoothing 0.1),
                               "grad.NAME" for every parameter after backward (), and after one
                               Adam (lr 1e-3) step over all parameters "updated.NAME" for every
                               state_dict entry (parameters and batch-norm running statistics);
                               --no-train leaves the training step out (Debian's torch multiplies
                               matrices with the reference BLAS: ViT-B/16 at 224 px would take
                               minutes)
  OUTDIR/CASE-timm.safetensors (vit_ti_16 only) the weights of CASE.safetensors under timm's
                               names

Both files carry in __metadata__ (strings) the parameter counts of the whole network and of its
classifier head, the head's name, the input size, the torch thread count, and the versions used.

The weights are torchvision's random initialisation with two changes that make the comparison
sharper: parameters initialised to a constant (norm weights 1, biases 0, ViT's class token and
zero head) get noise, so that a swapped or ignored weight shows; and batch-norm running statistics
are measured on a few random batches (as after training), so that eval-mode activations keep
their scale instead of vanishing or exploding through 50 layers.

torch runs with a fixed number of threads (1, recorded as "threads"), and the test uses the same:
the training step of a randomly initialised ResNet-50 is so ill-conditioned that torchvision at 1
and at 2 threads disagrees by 2% in its gradients.
"""

import argparse
import ctypes
import json
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.vision_transformer import VisionTransformer

SEED = 20240601
INPUT_SEED = 7
CONDITION_SEED = 11
CALIBRATION_BATCHES = 2
THREADS = 1
BATCH = 2
LR = 1e-3
LABEL_SMOOTHING = 0.1
TARGETS = [3, 417]


def _resnet(name):
    return lambda size: getattr(torchvision.models, name)(weights=None)


def _efficientnet_b0(size):
    # stochastic_depth_prob=0 and classifier dropout 0: the training step must be deterministic.
    # (torchvision 0.14's efficientnet_b0 () passes dropout itself, so it is no keyword here.)
    model = torchvision.models.efficientnet_b0(weights=None, stochastic_depth_prob=0.0)
    model.classifier[0].p = 0.0
    return model


def _googlenet(size):
    return torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True,
                                        transform_input=True, dropout=0.0)


def _vit_b_16(size):
    return torchvision.models.vit_b_16(weights=None, image_size=size)


def _vit_ti_16(size):
    # timm's ViT-Ti/16 dimensions.
    return VisionTransformer(image_size=size, patch_size=16, num_layers=12, num_heads=3,
                             hidden_dim=192, mlp_dim=768)


# name: (constructor, input size, classifier module name, Mien backbone spec)
MODELS = {
    'resnet50': (_resnet('resnet50'), 224, 'fc', 'resnet:50'),
    'efficientnet_b0': (_efficientnet_b0, 224, 'classifier.1', 'efficientnet:b0'),
    'googlenet': (_googlenet, 224, 'fc', 'googlenet'),
    'vit_b_16': (_vit_b_16, 224, 'heads.head', 'vit:b_16'),
    'resnet18': (_resnet('resnet18'), 64, 'fc', 'resnet:18'),
    'vit_ti_16': (_vit_ti_16, 64, 'heads.head', 'vit:ti_16'),
}

_DTYPES = {
    torch.float32: 'F32',
    torch.float64: 'F64',
    torch.float16: 'F16',
    torch.int64: 'I64',
    torch.int32: 'I32',
    torch.int16: 'I16',
    torch.int8: 'I8',
    torch.uint8: 'U8',
    torch.bool: 'BOOL',
}


def write_safetensors(path, tensors, metadata):
    """Writes `tensors` (an ordered dict name -> tensor) as safetensors, atomically."""
    if sys.byteorder != 'little':
        raise SystemExit('safetensors is little-endian; this writer copies memory as it is')
    header = {'__metadata__': {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name, tensor in tensors.items():
        tensor = tensor.detach().cpu().contiguous()
        if tensor.dtype not in _DTYPES:
            raise ValueError(f'{name}: unsupported dtype {tensor.dtype}')
        # The raw bytes, without numpy (a PyTorch wheel's python may lack it).
        data = ctypes.string_at(tensor.data_ptr(), tensor.numel() * tensor.element_size())
        header[name] = {
            'dtype': _DTYPES[tensor.dtype],
            'shape': list(tensor.shape),
            'data_offsets': [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    header_bytes = json.dumps(header, separators=(',', ':')).encode('utf-8')
    # The data buffer starts 8-aligned, as the reference writer does it.
    header_bytes += b' ' * (-len(header_bytes) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(header_bytes)))
        f.write(header_bytes)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def read_safetensors(path):
    """Reads a file written above (for the self-check): (tensors, metadata)."""
    inv = {v: k for k, v in _DTYPES.items()}
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    metadata = header.pop('__metadata__', {})
    out = {}
    for name, info in header.items():
        begin, end = info['data_offsets']
        dtype = inv[info['dtype']]
        data = bytearray(raw[8 + n + begin:8 + n + end])
        if data:
            out[name] = torch.frombuffer(data, dtype=dtype).reshape(info['shape'])
        else:
            out[name] = torch.empty(info['shape'], dtype=dtype)
    return out, metadata


def timm_key(key):
    """torchvision's ViT state_dict key -> timm's."""
    simple = {
        'class_token': 'cls_token',
        'encoder.pos_embedding': 'pos_embed',
        'conv_proj.weight': 'patch_embed.proj.weight',
        'conv_proj.bias': 'patch_embed.proj.bias',
        'encoder.ln.weight': 'norm.weight',
        'encoder.ln.bias': 'norm.bias',
        'heads.head.weight': 'head.weight',
        'heads.head.bias': 'head.bias',
    }
    if key in simple:
        return simple[key]
    prefix = 'encoder.layers.encoder_layer_'
    if not key.startswith(prefix):
        raise KeyError(key)
    index, rest = key[len(prefix):].split('.', 1)
    rest = {
        'ln_1.weight': 'norm1.weight',
        'ln_1.bias': 'norm1.bias',
        'self_attention.in_proj_weight': 'attn.qkv.weight',
        'self_attention.in_proj_bias': 'attn.qkv.bias',
        'self_attention.out_proj.weight': 'attn.proj.weight',
        'self_attention.out_proj.bias': 'attn.proj.bias',
        'ln_2.weight': 'norm2.weight',
        'ln_2.bias': 'norm2.bias',
        'mlp.0.weight': 'mlp.fc1.weight',
        'mlp.0.bias': 'mlp.fc1.bias',
        'mlp.3.weight': 'mlp.fc2.weight',
        'mlp.3.bias': 'mlp.fc2.bias',
    }[rest]
    return f'blocks.{index}.{rest}'


def feature_hook(model, name):
    """Registers a hook that records the pooled features the classifier reads, exactly as
    torchvision's forward () computes them; returns the list the hook appends to."""
    seen = []
    if name.startswith('vit'):
        # forward (): x = self.encoder (x); x = x[:, 0]; x = self.heads (x)
        model.encoder.register_forward_hook(lambda m, i, o: seen.append(o[:, 0]))
    else:
        # forward (): x = self.avgpool (x); x = torch.flatten (x, 1); [dropout]; classifier
        model.avgpool.register_forward_hook(lambda m, i, o: seen.append(torch.flatten(o, 1)))
    return seen


def make_model(name, size):
    build, _, classifier, _ = MODELS[name]
    torch.manual_seed(SEED)
    model = build(size)
    if name.startswith('vit'):
        # torchvision zero-initialises the ViT head: every gradient below it would be exactly 0
        # and the training step would test nothing.
        with torch.no_grad():
            torch.nn.init.normal_(model.get_submodule(classifier).weight, std=0.02)
    condition(model, size)
    return model


def condition(model, size):
    """Perturbs constant-initialised parameters, then measures batch-norm running statistics."""
    gen = torch.Generator().manual_seed(CONDITION_SEED)
    with torch.no_grad():
        for p in model.parameters():
            flat = p.detach().flatten()
            if torch.all(flat == flat[0]):
                p.add_(0.1 * torch.randn(p.shape, generator=gen))
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(CALIBRATION_BATCHES):
            model(torch.randn(BATCH, 3, size, size, generator=gen))
    for m, momentum in zip(bns, momenta):
        m.momentum = momentum


def export(name, outdir, size=None, case=None, train=True):
    build, default_size, classifier, spec = MODELS[name]
    size = size or default_size
    case = case or name
    t0 = time.monotonic()

    model = make_model(name, size)
    model.eval()

    head = model.get_submodule(classifier)
    n_params = sum(p.numel() for p in model.parameters())
    n_params_head = sum(p.numel() for p in head.parameters())
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    metadata = {
        'model': name,
        'case': case,
        'mien_spec': spec,
        'input_size': size,
        'batch': BATCH,
        'classifier': classifier,
        'n_params': n_params,
        'n_params_head': n_params_head,
        'torch': torch.__version__,
        'torchvision': torchvision.__version__,
        'seed': SEED,
        'threads': torch.get_num_threads(),
    }

    gen = torch.Generator().manual_seed(INPUT_SEED)
    x = torch.randn(BATCH, 3, size, size, generator=gen)
    targets = torch.tensor(TARGETS, dtype=torch.int64)

    io = {}
    io['input'] = x
    feats = feature_hook(model, name)
    with torch.no_grad():
        logits = model(x)
    assert len(feats) == 1
    io['features'] = feats.pop()
    io['logits'] = logits

    io_metadata = dict(metadata)
    os.makedirs(outdir, exist_ok=True)
    write_safetensors(os.path.join(outdir, case + '.safetensors'), state, metadata)
    if name.startswith('vit_ti'):
        timm_meta = dict(metadata, naming='timm', classifier='head')
        timm_state = {timm_key(k): v for k, v in state.items()}
        write_safetensors(os.path.join(outdir, case + '-timm.safetensors'), timm_state, timm_meta)
    if not train:
        io_metadata['train'] = 'false'
        write_safetensors(os.path.join(outdir, case + '-io.safetensors'), io, io_metadata)
        print(f'{case}: {name} at {size} px, {n_params} parameters ({n_params_head} in '
              f'{classifier}), eval only, {time.monotonic() - t0:.1f} s', file=sys.stderr)
        return

    # One training step. Every random part is off (dropout 0, stochastic depth 0), so train mode
    # only switches batch norm to batch statistics.
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    optimizer.zero_grad(set_to_none=True)
    logits = model(x)
    loss = F.cross_entropy(logits, targets, label_smoothing=LABEL_SMOOTHING)
    loss.backward()
    io['targets'] = targets
    io['train.features'] = feats.pop()
    io['train.logits'] = logits
    io['loss'] = loss.detach().reshape(())
    for pname, p in model.named_parameters():
        if p.grad is None:
            raise RuntimeError(f'{name}: {pname} got no gradient')
        io['grad.' + pname] = p.grad
    optimizer.step()
    for key, value in model.state_dict().items():
        io['updated.' + key] = value

    io_metadata.update({'train': 'true', 'lr': LR, 'label_smoothing': LABEL_SMOOTHING,
                        'optimizer': 'Adam'})
    write_safetensors(os.path.join(outdir, case + '-io.safetensors'), io, io_metadata)
    print(f'{case}: {name} at {size} px, {n_params} parameters ({n_params_head} in {classifier}), '
          f'loss {loss.item():.6f}, {time.monotonic() - t0:.1f} s', file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model', choices=sorted(MODELS))
    parser.add_argument('outdir')
    parser.add_argument('--size', type=int, default=None, help='input size (default: per model)')
    parser.add_argument('--case', default=None, help='base name of the files (default: MODEL)')
    parser.add_argument('--no-train', action='store_true', help='leave the training step out')
    parser.add_argument('--threads', type=int, default=THREADS,
                        help=f'torch threads (default {THREADS}; the test uses the same)')
    parser.add_argument('--check', action='store_true',
                        help='read the files back and compare with the model (self-test)')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    export(args.model, args.outdir, args.size, args.case, not args.no_train)
    if args.check:
        tensors, meta = read_safetensors(os.path.join(args.outdir,
                                                      (args.case or args.model) + '.safetensors'))
        ref = make_model(args.model, args.size or MODELS[args.model][1]).state_dict()
        assert list(tensors) == list(ref), 'key order differs'
        for k, v in ref.items():
            assert tensors[k].dtype == v.dtype and torch.equal(tensors[k], v), k
        print(f'check: {len(tensors)} tensors read back identical; metadata {meta}',
              file=sys.stderr)


if __name__ == '__main__':
    main()
