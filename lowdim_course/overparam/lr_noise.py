"""Learning-rate noise and the order of learning (Li, Wei & Ma 2019): the two-pattern data set of
the lecture slide, its counterpart on real images (a class patch on CIFAR-10, as in their
public code), and `BatchedMLP` with `train_sweep`, which train the seeds of a learning-rate
comparison together."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from ..claims import claim
from ..train import progress_enabled
from .descent import GradientDescent

# Example types of the two-pattern data set (and of the patched images).
BOTH, P_ONLY, Q_ONLY = 0, 1, 2
KIND_NAMES = {BOTH: "both patterns", P_ONLY: "P only", Q_ONLY: "Q only"}


@dataclass(frozen=True)
class TwoPatternSpec:
    """The data set of the lecture slide (after Li, Wei & Ma 2019), x = (x1, x2) in R^{2p}:
    - P, in x1: x1 ~ N(0, p_scale^2 I_p), y = 1{<w, x1> >= 0}: a linear rule in p dimensions,
      easy to fit, but it needs many examples to generalise;
    - Q, in x2: x2 = z if y = 0 and z +- delta e if y = 1 (random sign): three points, no noise,
      but not linearly separable, so a network must build a nonlinear feature at scale delta;
    - an example carries both (fraction 1 - frac_p - frac_q), P only (x2 = 0), or Q only
      (x1 = 0, y a fair coin)."""

    p: int = 50  # dimension of each of x1 and x2
    frac_p: float = 0.2  # fraction of P-only examples
    frac_q: float = 0.2  # fraction of Q-only examples
    p_scale: float = 0.1  # standard deviation of each entry of x1
    z_norm: float = 2.0  # ||z||, the offset shared by every Q point
    delta: float = 0.5  # distance of the y = 1 Q points from z


def pattern_directions(spec: TwoPatternSpec, generator=None):
    """(w, z, e): unit w, z of norm z_norm, unit e orthogonal to z."""
    w = torch.randn(spec.p, generator=generator)
    z = torch.randn(spec.p, generator=generator)
    e = torch.randn(spec.p, generator=generator)
    e = e - (e @ z) / (z @ z) * z
    return w / w.norm(), spec.z_norm * z / z.norm(), e / e.norm()


def two_pattern_data(spec: TwoPatternSpec, n: int, directions, generator=None):
    """n examples of the two-pattern distribution: (x (n, 2p) float32, y (n,), kind (n,)).
    `directions` = (w, z, e) from `pattern_directions`: shared by train and test sets. The
    numbers of each kind are exact: round(frac_p n) P-only, round(frac_q n) Q-only."""
    w, z, e = directions
    kind = torch.full((n,), BOTH, dtype=torch.long)
    order = torch.randperm(n, generator=generator)
    n_p, n_q = round(spec.frac_p * n), round(spec.frac_q * n)
    kind[order[:n_p]] = P_ONLY
    kind[order[n_p : n_p + n_q]] = Q_ONLY
    x1 = torch.randn(n, spec.p, generator=generator)
    y = (x1 @ w >= 0).long()
    coin = torch.randint(0, 2, (n,), generator=generator)
    y = torch.where(kind == Q_ONLY, coin, y)
    sign = (2 * torch.randint(0, 2, (n,), generator=generator) - 1).float()
    x2 = z + (y.float() * sign)[:, None] * spec.delta * e
    x1[kind == Q_ONLY] = 0
    x2[kind == P_ONLY] = 0
    return torch.cat([spec.p_scale * x1, x2], 1), y, kind


def check_two_pattern_data(spec: TwoPatternSpec, x, y, kind, directions) -> list[str]:
    """What the lecture says of the data set before training on it, checked on a draw: the
    exact numbers of each kind, P's label the half-space of w wherever x1 is present, the
    other half zero on the single-pattern examples, and Q's points three, on the line z + t e
    at t = -delta, 0, +delta with labels 1, 0, 1, which no half-space separates."""
    w, z, e = directions
    n, p = len(y), spec.p
    x1, x2 = x[:, :p], x[:, p:]  # x1 scaled by p_scale > 0: the same half-space
    counts = {name: int((kind == k).sum()) for k, name in KIND_NAMES.items()}
    wanted = {"P only": round(spec.frac_p * n), "Q only": round(spec.frac_q * n)}
    has_p, has_q = kind != Q_ONLY, kind != P_ONLY
    zeros = bool((x2[kind == P_ONLY] == 0).all() and (x1[kind == Q_ONLY] == 0).all())
    offset = x2[has_q] - z
    t = offset @ e
    on_line = float((offset - t[:, None] * e).abs().max()) < 1e-4
    points = {}
    for value in (-spec.delta, 0.0, spec.delta):
        at = (t - value).abs() < 1e-4
        points[value] = sorted({int(label) for label in y[has_q][at]})
    three = bool(((t.abs() < 1e-4) | ((t.abs() - spec.delta).abs() < 1e-4)).all())
    return [
        claim(
            all(counts[k] == v for k, v in wanted.items()),
            f"exactly {wanted['P only']} P-only and {wanted['Q only']} Q-only examples of {n}",
            f"{counts}",
        ),
        claim(
            torch.equal(y[has_p], (x1[has_p] @ w >= 0).long()) and zeros,
            "the label is the half-space of w wherever P is present, and the missing half of "
            "a single-pattern example is zero",
            f"{int(has_p.sum())} examples with P, missing halves zero: {zeros}",
        ),
        claim(
            on_line and three and points == {-spec.delta: [1], 0.0: [0], spec.delta: [1]},
            "Q takes three points on one line, z - delta e, z and z + delta e, with labels 1, 0 "
            "and 1: along a line a half-space can only cut once, so none separates them",
            f"labels at t = -delta, 0, +delta: {list(points.values())}",
        ),
    ]


@dataclass(frozen=True)
class PatchSpec:
    """Li, Wei & Ma's patch experiment on CIFAR-10, with the defaults of their public code: a
    size x size patch in the centre of the image, written over the normalised pixels, equal to
    z + s v_c. z = z_scale N(0, I) is shared by every class (large, easy to see); v_c, uniform
    in [-separation, separation] per class c, is the class signal (small, easy to memorise,
    hard to pick up under noise); s = +-1 at random. A fraction `patched` of the images gets a
    patch; of those a fraction `patch_only` keeps only the patch (the rest of the image is set
    to 0), with v_c scaled by patch_only_scale U(0, 1). Image and patch play P and Q: a patched
    image carries both, a clean one P only, a patch alone Q only."""

    size: int = 7  # pixels a side
    z_scale: float = 1.25  # standard deviation of z's entries (normalised pixel units)
    separation: float = 0.1  # v_c's entries are uniform in [-separation, separation]
    patched: float = 0.8  # fraction of training images with a patch
    patch_only: float = 0.2  # fraction of the patched images that keep only the patch
    patch_only_scale: float = 1.75  # on a patch alone v_c is scaled by +- this times U(0, 1)


def patch_patterns(spec: PatchSpec, channels: int, num_classes: int, generator=None):
    """(z (C, size, size), v (classes, C, size, size)) for `add_patches`."""
    shape = (channels, spec.size, spec.size)
    z = spec.z_scale * torch.randn(shape, generator=generator)
    v = spec.separation * (2 * torch.rand((num_classes, *shape), generator=generator) - 1)
    return z, v


def add_patches(x: torch.Tensor, y: torch.Tensor, spec: PatchSpec, patterns, generator=None):
    """Patched copies of the normalised float images x (N, C, H, W) with labels y: (x', kind),
    kind BOTH (image and patch), P_ONLY (the image untouched) or Q_ONLY (patch alone). The
    patch, sign and scale are drawn once here (their code redraws the sign and the patch-only
    scale every epoch)."""
    z, v = patterns
    n, size = len(y), spec.size
    has_patch = torch.rand(n, generator=generator) < spec.patched
    only = has_patch & (torch.rand(n, generator=generator) < spec.patch_only)
    kind = torch.full((n,), P_ONLY, dtype=torch.long)
    kind[has_patch] = BOTH
    kind[only] = Q_ONLY
    sign = 2 * torch.randint(0, 2, (n,), generator=generator).float() - 1
    scale = spec.patch_only_scale * torch.rand(n, generator=generator)
    factor = torch.where(only, sign * scale, sign)
    out = x.clone()
    out[only] = 0
    top, left = (x.shape[2] - size) // 2, (x.shape[3] - size) // 2
    patch = z + factor[:, None, None, None] * v[y]
    out[has_patch, :, top : top + size, left : left + size] = patch[has_patch]
    return out, kind


class BatchedMLP(nn.Module):
    """S independent one-hidden-layer networks evaluated together by batched matrix products,
    so that the S runs of a seed sweep take their SGD steps in one Python step. Built from S
    `models.build("mlp", ..., depth=1)` networks, whose initial weights it copies.

    `split=k` cuts the hidden layer in two halves: the first reads only inputs [:k], the second
    only inputs [k:], and the output adds them, f(x) = g(x[:k]) + h(x[k:]): the decoupled
    network N_U(x1) + N_V(x2) of Li, Wei & Ma's analysis. The first layer is
    then held as its two blocks (`w1[0]`, `w1[1]`): the weights between a half and the other
    half's inputs do not exist, which halves the first layer's arithmetic. `negative_slope`
    makes the units leaky ReLUs (0 is the plain ReLU). `noise`, None unless set (`train_sweep`
    sets it), is the standard deviation of Gaussian noise added to every pre-activation in a
    training step (`noisy_preactivations`): a number, or one per network (S,)."""

    def __init__(self, nets: list, split: int | None = None, negative_slope: float = 0.0):
        super().__init__()

        def stack(get):
            return torch.stack([get(net).detach().clone() for net in nets])

        w1 = stack(lambda net: net.body[0].weight)  # (S, hidden, in)
        hidden, inputs = w1.shape[1:]
        # (first unit, last unit + 1, first input, last input + 1) of each block
        blocks = [(0, hidden, 0, inputs)]
        if split is not None:
            blocks = [(0, hidden // 2, 0, split), (hidden // 2, hidden, split, inputs)]
        self.inputs = [(c0, c1) for _, _, c0, c1 in blocks]
        # The copied initial weights are scaled for all inputs, so with a split each unit
        # starts 1/sqrt(2) smaller.
        self.w1 = nn.ParameterList(
            nn.Parameter(w1[:, r0:r1, c0:c1].clone()) for r0, r1, c0, c1 in blocks
        )  # each (S, units, inputs of the block)
        self.b1 = nn.Parameter(stack(lambda net: net.body[0].bias))  # (S, hidden)
        self.w2 = nn.Parameter(stack(lambda net: net.classifier.weight))  # (S, classes, hidden)
        self.b2 = nn.Parameter(stack(lambda net: net.classifier.bias))  # (S, classes)
        self.negative_slope = negative_slope
        self.noise = None

    def first_layer(self) -> torch.Tensor:
        """The whole first-layer weight (S, hidden, in), zero between a half and the other
        half's inputs."""
        s, hidden = self.b1.shape
        full = self.b1.new_zeros(s, hidden, self.inputs[-1][1])
        row = 0
        for w, (c0, c1) in zip(self.w1, self.inputs):
            full[:, row : row + w.shape[1], c0:c1] = w.detach()
            row += w.shape[1]
        return full

    def forward(self, x: torch.Tensor, noisy: bool = True) -> torch.Tensor:
        """(S, B, in) -> (S, B, classes); with `noise` set and `noisy`, noisy pre-activations."""
        # x W1^T + b1, (S, B, hidden): each block's product fills its own units
        pre = torch.cat([x[..., c0:c1] @ w.transpose(1, 2) for w, (c0, c1) in self._blocks()], -1)
        pre = pre + self.b1[:, None, :]
        if noisy and self.noise is not None:
            pre = noisy_preactivations(pre, self.noise)
        hidden = F.leaky_relu(pre, self.negative_slope)
        return torch.baddbmm(self.b2[:, None, :], hidden, self.w2.transpose(1, 2))

    def _blocks(self):
        return list(zip(self.w1, self.inputs))

    @torch.no_grad()
    def predict(self, x: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
        """The noiseless outputs (S, N, classes) for x (S, N, in), without gradients, for
        evaluation: `chunk` examples at a time (10,000 test examples on 10 networks of 2048
        units would otherwise need 0.8 GB of hidden activations), and network by network,
        block by block, on a contiguous copy of each block's inputs, the output summed over the
        blocks. The same function as `forward`, computed another way because evaluating every
        epoch was most of lecture 7's quick run: one matrix product per network and block on
        contiguous inputs is faster there than the batched product over strided ones (10
        networks of 512 units on 2000 examples, one core: 20-26 ms against 38)."""
        s_runs, n = x.shape[:2]
        out = x.new_empty(s_runs, n, self.b2.shape[1])
        for i in range(0, n, chunk):
            row = 0
            for block, (w, (c0, c1)) in enumerate(self._blocks()):
                units = w.shape[1]
                inputs = x[:, i : i + chunk, c0:c1].contiguous()
                for s in range(s_runs):
                    hidden = torch.addmm(self.b1[s, row : row + units], inputs[s], w[s].T)
                    hidden = F.leaky_relu(hidden, self.negative_slope)
                    # the first block starts from the output bias, the next ones add to it
                    start = self.b2[s] if block == 0 else out[s, i : i + chunk]
                    out[s, i : i + chunk] = torch.addmm(
                        start, hidden, self.w2[s, :, row : row + units].T
                    )
                row += units
        return out


def noisy_preactivations(pre: torch.Tensor, std) -> torch.Tensor:
    """Li, Wei & Ma's control for the large learning rate: a small rate, with Gaussian noise of
    standard deviation `std` (a number, or one per network) added to the pre-activations
    (S, B, hidden) of every training step, independently for each example and unit, and
    switched off when the large rate would decay. (Their code adds it before every ReLU of a
    WideResNet, one draw per pixel position shared by the batch and the channels.)"""
    std = torch.as_tensor(std, dtype=pre.dtype, device=pre.device).reshape(-1, 1, 1)
    return pre + std * torch.randn_like(pre)


def kind_accuracy(logits, y, kind) -> dict:
    """Accuracy on each kind of example (`KIND_NAMES`)."""
    correct = logits.argmax(1) == y
    return {name: float(correct[kind == k].float().mean()) for k, name in KIND_NAMES.items()}


def evaluated_epochs(epochs: int, every: int, decay_epoch: int) -> set[int]:
    """The epochs (1-based) after which `train_sweep` evaluates: every `every`-th, the first,
    the last one before the decay and the last."""
    return set(range(every, epochs + 1, every)) | {1, epochs} | ({decay_epoch} - {0})


def train_sweep(
    model: BatchedMLP,
    train_sets,
    test_sets,
    *,
    lrs: tuple,
    decay_epoch: int,
    epochs: int,
    batch_size: int,
    generators,
    eval_every: int = 1,
    progress=None,
    noise=None,
) -> list[list[dict]]:
    """Plain SGD (no momentum, no weight decay) on S runs at once, at rate lrs[0] for the first
    `decay_epoch` epochs and lrs[1] after, each a number or one per run (so that the schedules
    of a comparison train together): run s sees its own data train_sets[s] = (x, y, kind)
    in its own batch order (generators[s]); the loss summed over runs keeps their gradients
    apart. Per evaluated epoch and run (`evaluated_epochs`: every `eval_every`-th, the last
    before the decay and the last): the epoch (1-based), its rate, training loss, accuracy on
    each kind of training example, and test accuracy overall and by kind. `noise` = (before,
    after) sets `model.noise` (pre-activation noise, one number or one per run) before and
    after the decay epoch; None leaves the network noiseless.

    Its own loop, not `train.train`: the step size of plain SGD is what the lecture compares,
    and the seeds of the comparison train as one stack of weights (`BatchedMLP`), which a loop
    over one network and one data set cannot batch."""
    x, y, kind = (torch.stack(t) for t in zip(*train_sets))  # (S, n, D), (S, n), (S, n)
    x_te, y_te, kind_te = (torch.stack(t) for t in zip(*test_sets))
    runs, n, bs = x.shape[0], x.shape[1], batch_size
    # the rates per run, as numbers for the history and as one tensor for the update
    rates = [[float(r)] * runs if isinstance(r, numbers.Real) else list(map(float, r)) for r in lrs]
    if any(len(r) != runs for r in rates):
        raise ValueError(f"lrs: a number or one rate per run ({runs}) for each phase, not {lrs}")
    steps = [torch.tensor(r, dtype=x.dtype, device=x.device) for r in rates]
    optimizer = GradientDescent(model.parameters(), lr=steps[0])
    histories = [[] for _ in range(runs)]
    evaluated = evaluated_epochs(epochs, eval_every, decay_epoch)
    bar = tqdm(range(epochs), desc="sweep", disable=not progress_enabled(progress))
    for epoch in bar:
        phase = 0 if epoch < decay_epoch else 1
        optimizer.param_groups[0]["lr"] = steps[phase]
        if noise is not None:
            model.noise = noise[0] if epoch < decay_epoch else noise[1]
        perms = torch.stack([torch.randperm(n, generator=g) for g in generators]).to(x.device)
        for i in range(n // bs):
            idx = perms[:, i * bs : (i + 1) * bs]  # (S, B)
            xb = torch.gather(x, 1, idx[..., None].expand(-1, -1, x.shape[2]))  # (S, B, D)
            logits = model(xb)  # (S, B, classes)
            targets = torch.gather(y, 1, idx).reshape(-1)  # (S * B,)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets, reduction="sum")
            optimizer.zero_grad()
            (loss / bs).backward()
            optimizer.step()
        if epoch + 1 not in evaluated:
            continue
        out, out_te = model.predict(x), model.predict(x_te)
        for s in range(runs):
            histories[s].append(
                {
                    "epoch": epoch + 1,
                    "lr": rates[phase][s],
                    "loss": float(F.cross_entropy(out[s], y[s])),
                    "train_by_kind": kind_accuracy(out[s], y[s], kind[s]),
                    "test_acc": float((out_te[s].argmax(1) == y_te[s]).float().mean()),
                    "test_by_kind": kind_accuracy(out_te[s], y_te[s], kind_te[s]),
                }
            )
    return histories
