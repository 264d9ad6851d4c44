#!/usr/bin/python3
"""PyTorch's Grad-CAM for tests/test-explain.c.

    explain_reference.py MODEL SIZE OUTDIR

MODEL is a torchvision model of tests/parity/export_torchvision.py (resnet18, efficientnet_b0,
googlenet), built and conditioned as the parity tests do, with its classifier replaced by a
random head of N_CLASSES classes. Writes

  OUTDIR/model.safetensors  the weights under a Mien model's names ("backbone." + torchvision's
                            state_dict names, "head.weight", "head.bias")
  OUTDIR/io.safetensors     "input" [2, 3, SIZE, SIZE] (already normalised) and, for every class
                            c, "cam.c" [2, h, w]: Grad-CAM as pytorch-grad-cam computes it
                            (forward and backward hooks on the target layer, the gradient of
                            class c's logit, weights = spatial mean of the gradients,
                            map = ReLU (sum over channels of weights x activations)), before
                            any rescaling

The target layers are pytorch-grad-cam's usual ones: ResNet layer4, EfficientNet features[-1],
GoogLeNet inception5b.
"""

import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "parity"))
from export_torchvision import MODELS, make_model, write_safetensors  # noqa: E402

N_CLASSES = 3
HEAD_SEED = 5
INPUT_SEED = 9
TARGET_LAYERS = {"resnet18": "layer4", "efficientnet_b0": "features.8", "googlenet": "inception5b"}


def grad_cam(model, layer, x, target):
    seen = {}
    module = model.get_submodule(layer)
    forward = module.register_forward_hook(lambda m, i, o: seen.update(activation=o))
    backward = module.register_full_backward_hook(lambda m, gi, go: seen.update(grad=go[0]))
    model.zero_grad()
    logits = model(x)
    logits[:, target].sum().backward()
    forward.remove()
    backward.remove()
    weights = seen["grad"].mean(dim=(2, 3), keepdim=True)
    return torch.relu((weights * seen["activation"]).sum(dim=1)).detach()


def main():
    name, size, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(1)
    _, _, classifier, _ = MODELS[name]
    model = make_model(name, size)
    if name == "googlenet":
        # Mien's plugin transforms the input only when asked (transform-input), torchvision's
        # pretrained GoogLeNet always.
        model.transform_input = False
    head = model.get_submodule(classifier)
    gen = torch.Generator().manual_seed(HEAD_SEED)
    new_head = torch.nn.Linear(head.in_features, N_CLASSES)
    with torch.no_grad():
        new_head.weight.copy_(0.05 * torch.randn(new_head.weight.shape, generator=gen))
        new_head.bias.copy_(0.05 * torch.randn(new_head.bias.shape, generator=gen))
    parent, _, leaf = classifier.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, leaf, new_head)
    model.eval()

    tensors = {}
    for key, value in model.state_dict().items():
        if key.startswith(classifier + "."):
            tensors["head." + key[len(classifier) + 1:]] = value
        else:
            tensors["backbone." + key] = value
    write_safetensors(os.path.join(outdir, "model.safetensors"), tensors, {})

    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(INPUT_SEED))
    io = {"input": x}
    for c in range(N_CLASSES):
        io[f"cam.{c}"] = grad_cam(model, TARGET_LAYERS[name], x, c)
    write_safetensors(os.path.join(outdir, "io.safetensors"), io, {"layer": TARGET_LAYERS[name]})


if __name__ == "__main__":
    main()
