"""The networks the course trains, and `build`, the one factory every lecture uses for them.

Each network has `features(x)` (the penultimate representation, the input of the last linear
layer) and `classifier` (that last nn.Linear), so a lecture can measure features without
forward hooks: `logits == model.classifier(model.features(x))`.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    """Fully connected ReLU network: `depth` hidden layers of `width`, then a linear classifier."""

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        width: int = 256,
        depth: int = 3,
        batchnorm: bool = False,
        bias: bool = True,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        dims = [in_dim] + [width] * depth
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            layers.append(nn.Linear(d_in, d_out, bias=bias and not batchnorm))
            if batchnorm:
                layers.append(nn.BatchNorm1d(d_out))
            layers.append(nn.ReLU())
        self.body = nn.Sequential(*layers)
        self.classifier = nn.Linear(dims[-1], num_classes, bias=bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))  # (B, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class SmallCNN(nn.Module):
    """Three conv-BN-ReLU-pool stages; a CPU-sized image classifier (speed tests, smoke tests)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 32):
        super().__init__()

        def stage(c_in, c_out):
            return nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )

        self.body = nn.Sequential(
            stage(in_channels, width), stage(width, 2 * width), stage(2 * width, 4 * width)
        )
        self.classifier = nn.Linear(4 * width, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).amax(dim=(2, 3))  # global max pool -> (B, 4*width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU, conv3x3-BN, plus the shortcut (a 1x1 projection when the shape
    changes), then ReLU. `mid` channels between the two convolutions (default `c_out`)."""

    def __init__(self, c_in: int, c_out: int, stride: int, mid: int | None = None):
        super().__init__()
        mid = mid or c_out
        self.conv1 = nn.Conv2d(c_in, mid, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet18 for 32x32 inputs (He et al. 2016, CIFAR variant): a 3x3 stem, no max-pool,
    four stages of two basic blocks, global average pooling. 11.2 M parameters at width 64."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 64):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        stages, c_in = [], width
        for i, stride in enumerate([1, 2, 2, 2]):
            c_out = width * 2**i
            stages += [BasicBlock(c_in, c_out, stride), BasicBlock(c_out, c_out, 1)]
            c_in = c_out
        self.stages = nn.Sequential(*stages)
        self.classifier = nn.Linear(c_in, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x)).mean(dim=(2, 3))  # (B, 8*width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class WideBlock(nn.Module):
    """Pre-activation basic block of a wide ResNet: BN-ReLU-conv3x3, BN-ReLU-conv3x3, plus a
    1x1 projection on the shortcut when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Conv2d(c_in, c_out, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        # The projection sees the activated input, as in Zagoruyko & Komodakis's code.
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class WideResNet(nn.Module):
    """WRN-depth-k for 32x32 inputs (Zagoruyko & Komodakis 2016): three groups of
    (depth - 4) / 6 pre-activation blocks with 16k, 32k, 64k channels, no dropout.
    WRN-40-1, -2, -4, -8 have 0.6, 2.2, 8.9 and 35.7 M parameters."""

    def __init__(
        self, depth: int = 40, widen: int = 1, num_classes: int = 10, in_channels: int = 3
    ):
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError(f"WideResNet depth must be 6n + 4 (16, 22, 28, 40, ...), not {depth}")
        blocks = (depth - 4) // 6
        self.stem = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        layers, c_in = [], 16
        for i, stride in enumerate([1, 2, 2]):
            c_out = 16 * widen * 2**i
            for b in range(blocks):
                layers.append(WideBlock(c_in, c_out, stride if b == 0 else 1))
                c_in = c_out
        self.groups = nn.Sequential(*layers)
        self.bn = nn.BatchNorm2d(c_in)
        self.classifier = nn.Linear(c_in, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.groups(self.stem(x)))).mean(dim=(2, 3))  # (B, 64*widen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class DeepLinearNetwork(nn.Module):
    """x -> W_L ... W_2 W_1 x with no nonlinearity and no biases.

    `dims = [d_0, d_1, ..., d_L]`. With `init_scale=eps`, every W_l is eps times a (semi-)
    orthogonal matrix: W^T W = eps^2 I or W W^T = eps^2 I, whichever the shape allows, the
    initialisation of the law-of-parsimony analysis (Yaras et al. 2023). `init_scale=None`
    keeps PyTorch's default initialisation.
    """

    def __init__(self, dims: list[int], init_scale: float | None = None):
        super().__init__()
        if len(dims) < 2:
            raise ValueError("a deep linear network needs at least an input and an output size")
        layers = [nn.Linear(a, b, bias=False) for a, b in zip(dims[:-1], dims[1:])]
        if init_scale is not None:
            for layer in layers:
                nn.init.orthogonal_(layer.weight, gain=init_scale)
        self.hidden = nn.Sequential(*layers[:-1])
        self.classifier = layers[-1]

    @property
    def weights(self) -> list[torch.Tensor]:
        """[W_1, ..., W_L] in the order they act on the input."""
        return [layer.weight for layer in self.hidden] + [self.classifier.weight]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


ARCHITECTURES = ("mlp", "cnn", "resnet18", "wrn")


def build(
    arch: str,
    in_shape: tuple[int, ...],
    num_classes: int,
    *,
    width: int | None = None,
    depth: int | None = None,
    batchnorm: bool = False,
    feature_dim: int | None = None,
) -> nn.Module:
    """The network `arch` for inputs of shape `in_shape` (one example: (D,) or (C, H, W)).

    - 'mlp': `depth` hidden ReLU layers of `width` units (default 3 x 256) on the flattened
      input, BatchNorm after each linear map if `batchnorm`;
    - 'cnn': SmallCNN, `width` channels in its first stage (default 32);
    - 'resnet18': ResNet18 for 32x32 images, `width` stem channels (default 64);
    - 'wrn': WRN-depth-k, `depth` = 6n + 4 (default 16) and `width` = the widen factor k
      (default 1).

    `feature_dim` (mlp and resnet18) changes the dimension of `features(x)`: the last hidden
    layer, or ResNet18's last basic block, is rebuilt with that many outputs. In ResNet18 only
    the block's second convolution narrows (512 -> feature_dim channels, with a 1x1 projection
    on the shortcut); its first stays 512 -> 512, as in Zhu et al. (2021), where d = K removes
    about a fifth of ResNet18's parameters. The layer is rebuilt after the whole network, so
    every other layer draws the same initial weights whatever `feature_dim` is, and networks
    that differ only there start from the same point.
    """
    sizes = {k: v for k, v in (("width", width), ("depth", depth)) if v is not None}
    if arch == "mlp":
        in_dim = math.prod(in_shape)
        net = MLP(in_dim, num_classes, **sizes, batchnorm=batchnorm)
        if feature_dim is not None and feature_dim != net.classifier.in_features:
            # body = [Linear, (BatchNorm1d,) ReLU] * depth: rebuild the last layer's maps.
            last = [i for i, m in enumerate(net.body) if isinstance(m, nn.Linear)][-1]
            d_in = net.body[last].in_features
            net.body[last] = nn.Linear(d_in, feature_dim, bias=not batchnorm)
            if batchnorm:
                net.body[last + 1] = nn.BatchNorm1d(feature_dim)
            net.classifier = nn.Linear(feature_dim, num_classes)
        return net
    if feature_dim is not None and arch != "resnet18":
        raise ValueError(f"feature_dim is supported for 'mlp' and 'resnet18', not {arch!r}")
    if arch == "cnn":
        return SmallCNN(num_classes, in_shape[0], **sizes)
    if arch == "resnet18":
        net = ResNet18(num_classes, in_shape[0], **sizes)
        if feature_dim is not None and feature_dim != net.classifier.in_features:
            c_in = net.classifier.in_features
            net.stages[-1] = BasicBlock(c_in, feature_dim, 1, mid=c_in)
            net.classifier = nn.Linear(feature_dim, num_classes)
        return net
    if arch == "wrn":
        return WideResNet(sizes.get("depth", 16), sizes.get("width", 1), num_classes, in_shape[0])
    raise ValueError(f"unknown architecture {arch!r}: choose one of {', '.join(ARCHITECTURES)}")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
