"""The networks: the features/classifier split, ResNet18's CIFAR shape and size, and the deep
linear network's orthogonal initialisation, against NumPy references and hand counts."""

import numpy as np
import pytest
import torch

from lowdim_course import models

pytestmark = pytest.mark.usefixtures("one_thread", "seeded")


def build(name):
    torch.manual_seed(0)
    return {
        "mlp": lambda: models.MLP(12, 3, width=16, depth=2),
        "mlp-bn": lambda: models.MLP(12, 3, width=16, depth=2, batchnorm=True),
        "smallcnn": lambda: models.SmallCNN(num_classes=4, width=4),
        "resnet18": lambda: models.ResNet18(num_classes=10, width=8),
        "deep-linear": lambda: models.DeepLinearNetwork([6, 5, 5, 3], init_scale=0.5),
    }[name]()


CASES = [
    ("mlp", (5, 12), 16),
    ("mlp-bn", (5, 12), 16),
    ("smallcnn", (2, 3, 16, 16), 16),
    ("resnet18", (2, 3, 32, 32), 64),
    ("deep-linear", (4, 6), 5),
]


@pytest.mark.parametrize(("name", "shape", "feature_dim"), CASES)
def test_classifier_of_features_is_the_model(name, shape, feature_dim):
    model = build(name).eval()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        h = model.features(x)
        assert h.shape == (shape[0], feature_dim)
        logits = model(x)
        assert torch.allclose(model.classifier(h), logits, atol=1e-6)
    assert isinstance(model.classifier, torch.nn.Linear)
    assert model.classifier.in_features == feature_dim


def test_mlp_matches_a_numpy_forward_pass():
    net = models.MLP(5, 3, width=4, depth=2)
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(0))
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    h = x.double().numpy()
    for layer in linears[:-1]:
        W, b = (t.detach().double().numpy() for t in (layer.weight, layer.bias))
        h = np.maximum(h @ W.T + b, 0.0)
    W, b = (t.detach().double().numpy() for t in (net.classifier.weight, net.classifier.bias))
    with torch.no_grad():
        np.testing.assert_allclose(net.features(x).numpy(), h, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(net(x).numpy(), h @ W.T + b, rtol=1e-5, atol=1e-6)


def test_mlp_shapes_bias_and_batchnorm():
    net = models.MLP(64, 10, width=32, depth=3)
    assert net.features(torch.randn(4, 1, 8, 8)).shape == (4, 32)  # images are flattened
    assert sum(isinstance(m, torch.nn.Linear) for m in net.modules()) == 4
    assert models.count_parameters(net) == (64 * 32 + 32) + 2 * (32 * 32 + 32) + (32 * 10 + 10)

    bn = models.MLP(64, 10, width=32, depth=3, batchnorm=True)
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in bn.modules()) == 3
    assert all(layer.bias is None for layer in bn.body if isinstance(layer, torch.nn.Linear))
    assert bn.classifier.bias is not None

    nobias = models.MLP(64, 10, width=32, depth=3, bias=False)
    assert all(m.bias is None for m in nobias.modules() if isinstance(m, torch.nn.Linear))


def test_mlp_with_batchnorm_in_training_mode_still_splits():
    net = build("mlp-bn").train()
    x = torch.randn(8, 12)
    with torch.no_grad():
        h = net.features(x)
        out = net(x)
    # Training-mode BatchNorm normalises with batch statistics: each feature column is a ReLU
    # of a zero-mean, unit-variance column, so no column is positive everywhere.
    assert torch.allclose(net.classifier(h), out, atol=1e-6)
    assert bool(((h > 0).sum(0) < 8).all())


def test_smallcnn_shapes():
    net = models.SmallCNN(num_classes=10, in_channels=1, width=4).eval()
    assert net.features(torch.randn(3, 1, 28, 28)).shape == (3, 16)  # MNIST-sized input
    assert net(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    assert net.body(torch.randn(1, 1, 32, 32)).shape == (1, 16, 4, 4)  # three 2x pools


def resnet18_parameters(width, num_classes, in_channels=3):
    """Hand count for the CIFAR ResNet18: conv weights, BN (gamma, beta), linear head."""

    def block(c_in, c_out, downsample):
        n = 9 * c_in * c_out + 2 * c_out + 9 * c_out * c_out + 2 * c_out
        return n + (c_in * c_out + 2 * c_out if downsample else 0)

    total = 9 * in_channels * width + 2 * width  # stem
    total += 2 * block(width, width, False)
    for i in (1, 2, 3):
        c_in, c_out = width * 2 ** (i - 1), width * 2**i
        total += block(c_in, c_out, True) + block(c_out, c_out, False)
    return total + 8 * width * num_classes + num_classes


def test_resnet18_size_and_stem():
    net = models.ResNet18(num_classes=10)
    assert resnet18_parameters(64, 10) == 11_173_962  # the standard CIFAR ResNet18
    assert models.count_parameters(net) == 11_173_962
    conv = net.stem[0]
    assert conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.padding == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in net.modules())
    net.eval()
    with torch.no_grad():
        assert net.stem(torch.randn(1, 3, 32, 32)).shape == (1, 64, 32, 32)  # no downsampling
        assert net.features(torch.randn(2, 3, 32, 32)).shape == (2, 512)


@pytest.mark.parametrize(("width", "num_classes", "in_channels"), [(8, 7, 3), (4, 100, 1)])
def test_resnet18_parameter_count_by_hand(width, num_classes, in_channels):
    net = models.ResNet18(num_classes=num_classes, in_channels=in_channels, width=width)
    assert models.count_parameters(net) == resnet18_parameters(width, num_classes, in_channels)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in net.modules()) == 1 + 16 + 3


def test_resnet18_stage_resolutions():
    net = models.ResNet18(num_classes=10, width=8).eval()
    x = torch.randn(1, 3, 32, 32)
    sizes = []
    with torch.no_grad():
        h = net.stem(x)
        sizes.append(tuple(h.shape[1:]))
        for block in net.stages:
            h = block(h)
            sizes.append(tuple(h.shape[1:]))
    assert sizes == [
        (8, 32, 32),
        (8, 32, 32),
        (8, 32, 32),
        (16, 16, 16),
        (16, 16, 16),
        (32, 8, 8),
        (32, 8, 8),
        (64, 4, 4),
        (64, 4, 4),
    ]
    with torch.no_grad():
        assert torch.allclose(net.features(x), h.mean(dim=(2, 3)), atol=1e-6)  # average pool


@pytest.mark.parametrize("dims", [[4, 6, 6, 3], [8, 3, 5], [5, 2]])
def test_deep_linear_network_orthogonal_init_and_product(dims):
    eps = 0.3
    net = models.DeepLinearNetwork(dims, init_scale=eps)
    assert len(net.weights) == len(dims) - 1
    for W, (d_in, d_out) in zip(net.weights, zip(dims[:-1], dims[1:])):
        assert W.shape == (d_out, d_in)
        W = W.detach().double().numpy()
        gram = W.T @ W if W.shape[0] >= W.shape[1] else W @ W.T
        np.testing.assert_allclose(gram, eps**2 * np.eye(len(gram)), atol=1e-6)
        # every singular value is eps: the same statement without choosing a side
        np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), eps, atol=1e-6)
    x = torch.randn(7, dims[0])
    product = np.eye(dims[0])
    for W in net.weights:
        product = W.detach().double().numpy() @ product
    with torch.no_grad():
        np.testing.assert_allclose(
            net(x).numpy(), x.double().numpy() @ product.T, rtol=1e-5, atol=1e-6
        )
    assert all(layer.bias is None for layer in [*net.hidden, net.classifier])


def test_deep_linear_network_default_init_and_errors():
    torch.manual_seed(0)
    net = models.DeepLinearNetwork([10, 10, 4])  # PyTorch default init: not orthogonal
    W = net.weights[0].detach().double().numpy()
    assert not np.allclose(W @ W.T, (W @ W.T)[0, 0] * np.eye(10), atol=1e-3)
    assert net.features(torch.randn(2, 2, 5)).shape == (2, 10)  # inputs are flattened
    with pytest.raises(ValueError, match="at least an input and an output"):
        models.DeepLinearNetwork([3])


def test_count_parameters_skips_frozen():
    net = models.MLP(4, 2, width=3, depth=1)
    total = (4 * 3 + 3) + (3 * 2 + 2)
    assert models.count_parameters(net) == total
    net.classifier.requires_grad_(False)
    assert models.count_parameters(net) == 4 * 3 + 3


# -- the factory every lecture uses -------------------------------------------------------------


@pytest.mark.parametrize(
    ("arch", "in_shape", "kwargs", "cls", "feature_dim"),
    [
        ("mlp", (3, 4, 4), {"width": 16, "depth": 2}, models.MLP, 16),
        ("cnn", (3, 16, 16), {"width": 4}, models.SmallCNN, 16),
        ("resnet18", (1, 32, 32), {"width": 8}, models.ResNet18, 64),
        ("wrn", (3, 32, 32), {"depth": 10, "width": 2}, models.WideResNet, 128),
    ],
)
def test_build_gives_each_architecture_with_its_sizes(arch, in_shape, kwargs, cls, feature_dim):
    net = models.build(arch, in_shape, 5, **kwargs).eval()
    assert type(net) is cls
    with torch.no_grad():
        h = net.features(torch.randn(2, *in_shape))
    assert h.shape == (2, feature_dim)
    assert net.classifier.out_features == 5


@pytest.mark.parametrize(("arch", "in_shape"), [("mlp", (12,)), ("resnet18", (3, 32, 32))])
def test_build_feature_dim_changes_only_the_last_layers(arch, in_shape):
    """feature_dim rebuilds the last hidden layer (block) after the network, so every other
    layer starts from the weights it has without feature_dim."""
    kwargs = {"width": 16, "depth": 3} if arch == "mlp" else {"width": 8}
    torch.manual_seed(0)
    plain = models.build(arch, in_shape, 4, **kwargs)
    torch.manual_seed(0)
    narrow = models.build(arch, in_shape, 4, feature_dim=4, **kwargs).eval()
    with torch.no_grad():
        assert narrow.features(torch.randn(3, *in_shape)).shape == (3, 4)
    before = plain.state_dict()
    changed = {
        name
        for name, p in narrow.state_dict().items()
        if name not in before or p.shape != before[name].shape or not torch.equal(p, before[name])
    }
    last = "body.4" if arch == "mlp" else "stages.7"  # MLP body: (Linear, ReLU) x 3
    assert changed, "the last layer should have been rebuilt"
    assert all(n.startswith((last, "classifier")) for n in changed), changed


def test_build_mlp_with_batchnorm_keeps_bias_free_linear_maps():
    net = models.build("mlp", (12,), 3, width=16, depth=2, batchnorm=True, feature_dim=5)
    linears = [m for m in net.body if isinstance(m, torch.nn.Linear)]
    assert all(m.bias is None for m in linears)
    assert isinstance(net.body[-2], torch.nn.BatchNorm1d) and net.body[-2].num_features == 5


def test_build_rejects_what_it_cannot_build():
    with pytest.raises(ValueError, match="unknown architecture 'vgg'"):
        models.build("vgg", (3, 32, 32), 10)
    with pytest.raises(ValueError, match="feature_dim"):
        models.build("wrn", (3, 32, 32), 10, feature_dim=10)
