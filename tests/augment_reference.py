#!/usr/bin/python3
"""torchvision's answers for tests/test-augment.c.

  augment_reference.py apply INPUT N H W SPEC OUTPUT
      INPUT holds N uint8 images [3, H, W] back to back. Every line of SPEC is an op name
      followed by N magnitudes in mien_augment_apply ()'s units (blend factors, not factor - 1);
      for each line, OUTPUT gets the N images with that op applied, image by image.
  augment_reference.py geometry INPUT N H W SPEC OUTPUT
      Line i of SPEC is image i's flip and crop, as mien_geometry_apply () takes them:
      "KIND PADDING TOP LEFT HEIGHT WIDTH FLIP" with KIND none, pad or resized; OUTPUT gets the
      N images: F.hflip (when FLIP is 1) of F.crop (F.pad (img, PADDING), TOP, LEFT, H, W) for
      pad, of F.resized_crop (img, TOP, LEFT, HEIGHT, WIDTH, [H, W]) (bilinear, torchvision's
      default antialias for tensors) for resized.
  augment_reference.py space BINS H W
      Prints, for each op, its magnitudes for every bin of RandAugment's table, one line each.

Plain torch without numpy: a PyTorch wheel's python may lack it.
"""

import sys

import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F
from torchvision.transforms.autoaugment import RandAugment, _apply_op

BLENDS = {
    "Brightness": F.adjust_brightness,
    "Color": F.adjust_saturation,
    "Contrast": F.adjust_contrast,
    "Sharpness": F.adjust_sharpness,
}


def apply_one(img, op, magnitude):
    # The blend factor goes in as it is: 1.0 + (factor - 1.0) need not give back the same double.
    if op in BLENDS:
        return BLENDS[op](img, magnitude)
    return _apply_op(img, op, magnitude, interpolation=InterpolationMode.NEAREST, fill=None)


def read_images(path, n, h, w):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    return torch.frombuffer(data, dtype=torch.uint8).reshape(n, 3, h, w)


def run_apply(input_path, n, h, w, spec_path, output_path):
    images = read_images(input_path, n, h, w)
    out = bytearray()
    with open(spec_path) as f:
        for line in f:
            fields = line.split()
            if not fields:
                continue
            op, magnitudes = fields[0], [float(x) for x in fields[1:]]
            assert len(magnitudes) == n, line
            for i in range(n):
                result = apply_one(images[i].clone(), op, magnitudes[i])
                assert result.dtype == torch.uint8 and result.shape == (3, h, w)
                out += bytes(result.contiguous().flatten().tolist())
    with open(output_path, "wb") as f:
        f.write(out)


def geometry_one(img, kind, padding, top, left, height, width, flip):
    _, h, w = img.shape
    if kind == "pad":
        img = F.crop(F.pad(img, [padding], fill=0, padding_mode="constant"), top, left, h, w)
    elif kind == "resized":
        img = F.resized_crop(img, top, left, height, width, [h, w],
                             interpolation=InterpolationMode.BILINEAR)
    else:
        assert kind == "none", kind
    return F.hflip(img) if flip else img


def run_geometry(input_path, n, h, w, spec_path, output_path):
    images = read_images(input_path, n, h, w)
    out = bytearray()
    with open(spec_path) as f:
        lines = [line.split() for line in f if line.strip()]
    assert len(lines) == n, spec_path
    for i, fields in enumerate(lines):
        kind, numbers = fields[0], [int(x) for x in fields[1:]]
        result = geometry_one(images[i].clone(), kind, *numbers[:5], numbers[5] != 0)
        assert result.dtype == torch.uint8 and result.shape == (3, h, w)
        out += bytes(result.contiguous().flatten().tolist())
    with open(output_path, "wb") as f:
        f.write(out)


def run_space(bins, h, w):
    space = RandAugment(num_magnitude_bins=bins)._augmentation_space(bins, (h, w))
    for op, (magnitudes, _signed) in space.items():
        if magnitudes.ndim == 0:
            values = [float(magnitudes.item())] * bins
        else:
            values = [float(v) for v in magnitudes.tolist()]
        print(op, " ".join(repr(v) for v in values))


def main(argv):
    if len(argv) == 8 and argv[1] == "apply":
        run_apply(argv[2], int(argv[3]), int(argv[4]), int(argv[5]), argv[6], argv[7])
    elif len(argv) == 8 and argv[1] == "geometry":
        run_geometry(argv[2], int(argv[3]), int(argv[4]), int(argv[5]), argv[6], argv[7])
    elif len(argv) == 5 and argv[1] == "space":
        run_space(int(argv[2]), int(argv[3]), int(argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
