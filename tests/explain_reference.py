#!/usr/bin/python3
"""PyTorch's Grad-CAM for tests/test-explain.c.

    explain_reference.py MODEL SIZE OUTDIR [dft]

MODEL is a torchvision model of tests/parity/export_torchvision.py (resnet18, efficientnet_b0,
googlenet, vit_ti_16, vit_b_16), built and conditioned as the parity tests do, with its
classifier replaced by a random head of N_CLASSES classes. Writes

  OUTDIR/model.safetensors  the weights under a Mien model's names ("backbone." + torchvision's
                            state_dict names, "head.weight", "head.bias"; with dft also
                            "frozen." + the frozen copy's)
  OUTDIR/io.safetensors     "input" [2, 3, SIZE, SIZE] (already normalised) and, for every class
                            c, "cam.c" [2, h, w]: Grad-CAM as pytorch-grad-cam computes it
                            (forward and backward hooks on the target layer, the gradient of
                            class c's logit, weights = spatial mean of the gradients,
                            map = ReLU (sum over channels of weights x activations)), before
                            any rescaling

The target layers are pytorch-grad-cam's usual ones: ResNet layer4, EfficientNet features[-1],
GoogLeNet inception5b, and for ViT the last block's norm1 (torchvision's ln_1) with its
reshape_transform: the class token dropped, the patch tokens [N, h*w, D] as [N, D, h, w].

With dft the model is deviation fine-tuning's (Mien's DESIGN.md, eq. 2): two copies of the
backbone, the frozen g_f (the conditioned weights) and the trained g_t (the same, perturbed as a
few steps of training would), and logits = head (g_f (x) - g_t (x) + 1e-6). The target layer is
hooked on both copies and the map sums their terms, ReLU (sum over copies and channels of
weights x activations): the Grad-CAM of the deviation the head reads.
"""

import copy
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "parity"))
from export_torchvision import MODELS, make_model, write_safetensors  # noqa: E402

N_CLASSES = 3
HEAD_SEED = 5
INPUT_SEED = 9
TARGET_LAYERS = {"resnet18": "layer4", "efficientnet_b0": "features.8", "googlenet": "inception5b",
                 "vit_ti_16": "encoder.layers.encoder_layer_11.ln_1",
                 "vit_b_16": "encoder.layers.encoder_layer_11.ln_1"}
TRAINED_SEED = 11
DFT_EPSILON = 1e-6


def vit_reshape(tokens):
    """pytorch-grad-cam's reshape_transform for ViT: [N, 1 + h*w, D] -> [N, D, h, w]."""
    n, length, d = tokens.shape
    side = int(round((length - 1) ** 0.5))
    return tokens[:, 1:, :].reshape(n, side, side, d).permute(0, 3, 1, 2)


class Deviation(torch.nn.Module):
    """DFT: head (g_f (x) - g_t (x) + epsilon), both copies without their classifier."""

    def __init__(self, frozen, trained, head):
        super().__init__()
        self.frozen, self.trained, self.head = frozen, trained, head

    def forward(self, x):
        return self.head(self.frozen(x) - self.trained(x) + DFT_EPSILON)


def grad_cam(model, layers, x, target, reshape):
    """Grad-CAM summed over the modules `layers` (one, or one per DFT copy)."""
    seen = []
    handles = []
    for layer in layers:
        entry = {}
        seen.append(entry)
        module = model.get_submodule(layer)
        handles.append(module.register_forward_hook(
            lambda m, i, o, entry=entry: entry.update(activation=reshape(o))))
        handles.append(module.register_full_backward_hook(
            lambda m, gi, go, entry=entry: entry.update(grad=reshape(go[0]))))
    model.zero_grad()
    logits = model(x)
    logits[:, target].sum().backward()
    for handle in handles:
        handle.remove()
    total = 0
    for entry in seen:
        weights = entry["grad"].mean(dim=(2, 3), keepdim=True)
        total = total + (weights * entry["activation"]).sum(dim=1)
    return torch.relu(total).detach()


def main():
    name, size, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    dft = sys.argv[4:] == ["dft"]
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
    layer = TARGET_LAYERS[name]
    reshape = vit_reshape if name.startswith("vit") else (lambda t: t)

    tensors = {}
    if dft:
        setattr(model.get_submodule(parent) if parent else model, leaf, torch.nn.Identity())
        frozen = model
        trained = copy.deepcopy(model)
        gen = torch.Generator().manual_seed(TRAINED_SEED)
        with torch.no_grad():
            for p in trained.parameters():
                p.mul_(1 + 0.1 * torch.randn(p.shape, generator=gen))
        for prefix, copy_ in (("frozen.", frozen), ("backbone.", trained)):
            tensors.update({prefix + k: v for k, v in copy_.state_dict().items()})
        tensors.update({"head." + k: v for k, v in new_head.state_dict().items()})
        model = Deviation(frozen, trained, new_head).eval()
        layers = ["frozen." + layer, "trained." + layer]
    else:
        for key, value in model.state_dict().items():
            if key.startswith(classifier + "."):
                tensors["head." + key[len(classifier) + 1:]] = value
            else:
                tensors["backbone." + key] = value
        layers = [layer]
    write_safetensors(os.path.join(outdir, "model.safetensors"), tensors, {})

    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(INPUT_SEED))
    io = {"input": x}
    for c in range(N_CLASSES):
        io[f"cam.{c}"] = grad_cam(model, layers, x, c, reshape)
    write_safetensors(os.path.join(outdir, "io.safetensors"), io, {"layer": layer})


if __name__ == "__main__":
    main()
