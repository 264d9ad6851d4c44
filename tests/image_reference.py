#!/usr/bin/python3
"""torchvision's answers for tests/test-image.c: the pixels a Python user gets from an image file.

  image_reference.py SPEC OUTPUT
      Every line of SPEC is "PATH SIZE GREY" (GREY 0 or 1). For each line, OUTPUT gets the uint8
      [3, SIZE, SIZE] image that README.md's "Preprocessing" section prescribes: PIL decodes the
      file, turns it upright by its EXIF orientation and converts it to "RGB" (or "L" when GREY);
      torchvision resizes the uint8 tensor to [SIZE, SIZE] with antialias=True; a grey plane is
      repeated three times.
"""

import sys

import torch
from PIL import Image, ImageOps
from torchvision.transforms import functional as F


def preprocess(path, size, grey):
    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img).convert("L" if grey else "RGB")
        t = F.pil_to_tensor(img)
    t = F.resize(t, [size, size], antialias=True)
    if grey:
        t = t.repeat(3, 1, 1)
    assert t.dtype == torch.uint8 and t.shape == (3, size, size)
    return t


def main(spec_path, output_path):
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
    main(*sys.argv[1:])
