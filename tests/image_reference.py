#!/usr/bin/python3
"""torchvision's answers for tests/test-image.c: the pixels a Python user gets from an image file.

  image_reference.py SPEC OUTPUT
      Every line of SPEC is "PATH SIZE GREY" (GREY 0 or 1). For each line, OUTPUT gets the uint8
      [3, SIZE, SIZE] image that README.md's "Preprocessing" section prescribes: PIL decodes the
      file, turns it upright by its EXIF orientation and converts it to "RGB" (or "L" when GREY);
      torchvision resizes the uint8 tensor to [SIZE, SIZE] with antialias=True; a grey plane is
      repeated three times.
  image_reference.py interpolate INPUT OUTPUT
      INPUT is a safetensors file holding "x" [N, C, H, W] (float32) and "cases" [K, 4]: output
      height, output width, mode (0 bilinear, 1 nearest, 2 bicubic) and antialias (0 or 1).
      OUTPUT gets "case.I" = torch.nn.functional.interpolate (x, size, mode, align_corners=False
      where the mode takes it, antialias) for each case I.
"""

import os
import sys

import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torchvision.transforms import functional as TF


def preprocess(path, size, grey):
    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img).convert("L" if grey else "RGB")
        t = TF.pil_to_tensor(img)
    t = TF.resize(t, [size, size], antialias=True)
    if grey:
        t = t.repeat(3, 1, 1)
    assert t.dtype == torch.uint8 and t.shape == (3, size, size)
    return t


def run_interpolate(input_path, output_path):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "parity"))
    from export_torchvision import read_safetensors, write_safetensors

    tensors, _ = read_safetensors(input_path)
    out = {}
    for i, (h, w, mode, antialias) in enumerate(tensors["cases"].long().tolist()):
        mode = ["bilinear", "nearest", "bicubic"][mode]
        align = None if mode == "nearest" else False
        out[f"case.{i}"] = F.interpolate(tensors["x"], size=(h, w), mode=mode,
                                         align_corners=align, antialias=bool(antialias))
    write_safetensors(output_path, out, {})


def run_images(spec_path, output_path):
    out = bytearray()
    with open(spec_path) as f:
        for line in f:
            fields = line.split()
            if not fields:
                continue
            path, size, grey = fields[0], int(fields[1]), fields[2] == "1"
            # Without numpy: a PyTorch wheel's python may lack it.
            out += bytes(preprocess(path, size, grey).flatten().tolist())
    with open(output_path, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    torch.set_num_threads(1)
    if sys.argv[1] == "interpolate":
        run_interpolate(*sys.argv[2:])
    else:
        run_images(*sys.argv[1:])
