#!/usr/bin/python3
"""PyTorch's answers for tests/test-pretrained.c.

  pretrained_reference.py posembed INPUT OUTPUT NEW_SIDE [INPUT OUTPUT NEW_SIDE...]
      INPUT is a safetensors file holding a ViT position embedding "pos" [1, 1 + S * S, D];
      OUTPUT gets "pos" resampled to a NEW_SIDE x NEW_SIDE grid as timm's
      resample_abs_pos_embed () does it (class token kept, the grid bicubic-interpolated with
      align_corners=False and antialias=True, in float32).
  pretrained_reference.py efficientnet OUTDIR SIZE
      A torchvision efficientnet_b0 (random weights, perturbed so that a swapped tensor shows)
      saved under timm's names (OUTDIR/timm.safetensors, the classifier left out) and, in
      OUTDIR/io.safetensors, an input [2, 3, SIZE, SIZE], torchvision's logits for it, and the
      classifier's "classifier.weight" and "classifier.bias".
  pretrained_reference.py predict MODEL IMAGE...
      Prints, one line per image, "PATH,p_0,p_1,..." : the probabilities of the Mien model file
      MODEL computed with torchvision alone, following README.md ("Preprocessing") step by step.

Plain torch without numpy: a PyTorch wheel's python may lack it.
"""

import json
import math
import os
import re
import sys

import torch
import torch.nn.functional as F
import torchvision
from PIL import Image, ImageOps
from torchvision.transforms import functional as TF

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "parity"))
from export_torchvision import read_safetensors, write_safetensors  # noqa: E402


def resample_abs_pos_embed(posemb, new_side):
    """timm.layers.pos_embed.resample_abs_pos_embed with one prefix token."""
    old_side = int(math.sqrt(posemb.shape[1] - 1))
    prefix, grid = posemb[:, :1], posemb[:, 1:]
    dim = posemb.shape[-1]
    grid = grid.float().reshape(1, old_side, old_side, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new_side, new_side), mode="bicubic", align_corners=False,
                         antialias=True)
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, dim).to(posemb.dtype)
    return torch.cat([prefix, grid], dim=1)


def run_posembed(input_path, output_path, new_side):
    tensors, _ = read_safetensors(input_path)
    write_safetensors(output_path, {"pos": resample_abs_pos_embed(tensors["pos"], new_side)}, {})


def timm_efficientnet_key(key):
    """torchvision's efficientnet_b0 state_dict key -> timm's efficientnet_b0 name, written from
    timm's model (conv_stem, bn1, blocks.i.j.*, conv_head, bn2, classifier), not from Mien's
    table."""
    top = {"features.0.0": "conv_stem", "features.0.1": "bn1", "features.8.0": "conv_head",
           "features.8.1": "bn2", "classifier.1": "classifier"}
    module, param = key.rsplit(".", 1)
    if module in top:
        return f"{top[module]}.{param}"
    m = re.fullmatch(r"features\.(\d+)\.(\d+)\.block\.(.+)", module)
    stage, block, rest = int(m.group(1)) - 1, int(m.group(2)), m.group(3)
    if stage == 0:
        # DepthwiseSeparableConv: no expansion.
        names = {"0.0": "conv_dw", "0.1": "bn1", "1.fc1": "se.conv_reduce",
                 "1.fc2": "se.conv_expand", "2.0": "conv_pw", "2.1": "bn2"}
    else:
        # InvertedResidual.
        names = {"0.0": "conv_pw", "0.1": "bn1", "1.0": "conv_dw", "1.1": "bn2",
                 "2.fc1": "se.conv_reduce", "2.fc2": "se.conv_expand", "3.0": "conv_pwl",
                 "3.1": "bn3"}
    return f"blocks.{stage}.{block}.{names[rest]}.{param}"


def run_efficientnet(outdir, size):
    torch.manual_seed(13)
    model = torchvision.models.efficientnet_b0()
    gen = torch.Generator().manual_seed(14)
    with torch.no_grad():
        # Constant-initialised tensors (norm weights, biases, running statistics) get noise:
        # otherwise two swapped ones would go unnoticed.
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.add_(0.05 * torch.randn(t.shape, generator=gen))
                if name.endswith("running_var"):
                    t.abs_().add_(0.5)
    model.eval()
    x = torch.randn(2, 3, size, size, generator=gen)
    with torch.no_grad():
        logits = model(x)
    state = model.state_dict()
    timm = {timm_efficientnet_key(k): v for k, v in state.items() if not k.startswith("classifier")}
    assert len(timm) == len(state) - 2
    write_safetensors(os.path.join(outdir, "timm.safetensors"), timm, {})
    write_safetensors(os.path.join(outdir, "io.safetensors"),
                      {"input": x, "logits": logits,
                       "classifier.weight": state["classifier.1.weight"],
                       "classifier.bias": state["classifier.1.bias"]}, {})


# family -> (torchvision constructor for a variant, the classifier the Mien head replaces)
FAMILIES = {
    "resnet": (lambda v: getattr(torchvision.models, f"resnet{v}")(), "fc"),
    "efficientnet": (lambda v: getattr(torchvision.models, f"efficientnet_{v}")(), "classifier.1"),
    "googlenet": (lambda v: torchvision.models.googlenet(aux_logits=False, init_weights=False),
                  "fc"),
    "vit": (lambda v: getattr(torchvision.models, f"vit_{v}")(), "heads.head"),
}


def load_network(tensors, meta, prefix):
    """The torchvision network holding the model file's `prefix` tensors and its linear head."""
    build, head = FAMILIES[meta["backbone"]]
    net = build(meta["variant"])
    k = len(meta["classes"])
    parent, _, leaf = head.rpartition(".")
    old = net.get_submodule(head)
    setattr(net.get_submodule(parent) if parent else net, leaf, torch.nn.Linear(old.in_features, k))
    state = {name[len(prefix):]: t for name, t in tensors.items() if name.startswith(prefix)}
    state[f"{head}.weight"] = tensors["head.weight"]
    state[f"{head}.bias"] = tensors["head.bias"]
    net.load_state_dict(state, strict=True)
    return net.eval()


def run_predict(model_path, images):
    tensors, metadata = read_safetensors(model_path)
    meta = json.loads(metadata["mien"])
    size, grey = meta["input_size"], meta["colour_mode"] == "grey"
    mean = torch.tensor(meta["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(meta["std"]).view(1, 3, 1, 1)

    # README.md, "Preprocessing": decode, EXIF, RGB or luminance, resize, /255, normalise.
    batch = []
    for path in images:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img).convert("L" if grey else "RGB")
            t = TF.pil_to_tensor(img)
        t = TF.resize(t, [size, size], antialias=True)
        batch.append(t.expand(3, -1, -1) if grey else t)
    x = (torch.stack(batch).float() / 255 - mean) / std

    trained = load_network(tensors, meta, "backbone.")
    with torch.no_grad():
        if meta["mode"] == "dft":
            frozen = load_network(tensors, meta, "frozen.")
            # The deviation, eq. (2): both copies' features, through the trained copy's head.
            head = FAMILIES[meta["backbone"]][1]
            features = []
            for net in (frozen, trained):
                net.get_submodule(head).register_forward_hook(
                    lambda m, i, o, out=features: out.append(i[0]))
                net(x)
            logits = trained.get_submodule(head)(features[0] - features[1] + meta["dft_epsilon"])
        else:
            logits = trained(x)
        probabilities = torch.softmax(logits, dim=1)
    for path, p in zip(images, probabilities):
        print(",".join([path] + [repr(float(v)) for v in p]))


def main():
    command, args = sys.argv[1], sys.argv[2:]
    torch.set_num_threads(1)
    if command == "posembed":
        for i in range(0, len(args), 3):
            run_posembed(args[i], args[i + 1], int(args[i + 2]))
    elif command == "efficientnet":
        run_efficientnet(args[0], int(args[1]))
    elif command == "predict":
        run_predict(args[0], args[1:])
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
