"""Fine-tuning a pretrained network on new classes, four ways (Li et al. 2022): linear probing
(a new head on frozen features), full fine-tuning, fine-tuning one intermediate layer (and the
head), and skip-connection layer fine-tuning (SCL-FT: the same layer, its output also fed to the
head through a skip connection). `FineTuned` wraps the pretrained network as a sequence of
layers, freezes what a method leaves alone, and can read the features of any layer, for the
layer-wise NC1.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .. import models

METHODS = ("linear", "layer", "scl", "full")
METHOD_NAMES = {
    "linear": "linear probe",
    "layer": "layer FT",
    "scl": "SCL FT",
    "full": "full model FT",
}


def layers_of(net: nn.Module) -> list[nn.Module]:
    """The pretrained network as a list of layers whose composition is `net.features`: an MLP's
    hidden layers (Linear, BatchNorm, ReLU each), or ResNet18's stem and its eight blocks."""
    if isinstance(net, models.MLP):
        body = list(net.body)
        step = len(body) // sum(isinstance(m, nn.Linear) for m in body)
        return [nn.Sequential(*body[i : i + step]) for i in range(0, len(body), step)]
    if isinstance(net, models.ResNet18):
        return [net.stem, *net.stages]
    raise TypeError(f"fine-tuning supports the MLP and ResNet18, not {type(net).__name__}")


def _pool(x: torch.Tensor) -> torch.Tensor:
    """A layer's output as one vector per sample: global average pooling of feature maps."""
    return x.mean(dim=(2, 3)) if x.dim() == 4 else x.flatten(1)


class FineTuned(nn.Module):
    """A copy of a pretrained network with a new head for `num_classes`, tuned by `method`.

    'linear' trains the head; 'layer' the head and layer `layer`; 'scl' the same, and the head
    reads [penultimate features, pooled output of layer `layer`] (the skip connection); 'full'
    everything. Frozen layers stay in eval mode (their BatchNorm statistics are not updated).
    `tap`, when set to a layer index, makes `features` return that layer's pooled output (for
    the layer-wise NC1); None returns what the head reads.
    """

    def __init__(self, pretrained: nn.Module, method: str, layer: int, num_classes: int,
                 example: torch.Tensor):  # fmt: skip
        """`example`: a batch of model inputs (sizes the head)."""
        super().__init__()
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
        net = copy.deepcopy(pretrained)
        self.layers = nn.ModuleList(layers_of(net))
        self.method, self.layer, self.tap = method, layer, None
        self.flatten = isinstance(net, models.MLP)
        self.layers.eval()
        with torch.no_grad():
            widths = [
                _pool(h).shape[1]
                for h in self._outputs(example[:2].to(next(net.parameters()).device))
            ]
        head_in = widths[-1] + (widths[layer] if method == "scl" else 0)
        self.classifier = nn.Linear(head_in, num_classes)
        for i, module in enumerate(self.layers):
            tuned = method == "full" or (method in ("layer", "scl") and i == layer)
            module.requires_grad_(tuned)

    def _outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        h, out = x.flatten(1) if self.flatten else x, []
        for module in self.layers:
            h = module(h)
            out.append(h)
        return out

    def features(self, x: torch.Tensor) -> torch.Tensor:
        out = self._outputs(x)
        if self.tap is not None:
            return _pool(out[self.tap])
        h = _pool(out[-1])
        return torch.cat([h, _pool(out[self.layer])], 1) if self.method == "scl" else h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

    def train(self, mode: bool = True):
        super().train(mode)
        for module in self.layers:
            if not any(p.requires_grad for p in module.parameters()):
                module.eval()  # frozen: BatchNorm keeps the pretrained statistics
        return self


def tuned_fraction(net: FineTuned) -> float:
    """The fraction of the fine-tuned model's parameters that the method trains."""
    total = sum(p.numel() for p in net.parameters())
    return sum(p.numel() for p in net.parameters() if p.requires_grad) / total
