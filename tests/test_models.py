import numpy as np
import pytest
import torch

from lowdim_course import models


@pytest.mark.parametrize(
    ("model", "shape"),
    [
        (models.MLP(12, 3, width=16, depth=2), (5, 12)),
        (models.MLP(12, 3, width=16, depth=2, batchnorm=True), (5, 12)),
        (models.SmallCNN(num_classes=4, width=4), (2, 3, 16, 16)),
        (models.ResNet18(num_classes=10, width=8), (2, 3, 32, 32)),
        (models.DeepLinearNetwork([6, 5, 5, 3], init_scale=0.5), (4, 6)),
    ],
)
def test_classifier_of_features_is_the_model(model, shape):
    model.eval()
    x = torch.randn(*shape)
    with torch.no_grad():
        assert torch.allclose(model.classifier(model.features(x)), model(x), atol=1e-6)
    assert isinstance(model.classifier, torch.nn.Linear)


def test_resnet18_size_and_stem():
    net = models.ResNet18(num_classes=10)
    assert models.count_parameters(net) == 11_173_962  # the standard CIFAR ResNet18
    conv = net.stem[0]
    assert conv.kernel_size == (3, 3) and conv.stride == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in net.modules())
    assert net.stem(torch.randn(1, 3, 32, 32)).shape == (1, 64, 32, 32)
    assert net.features(torch.randn(2, 3, 32, 32)).shape == (2, 512)


@pytest.mark.parametrize("dims", [[4, 6, 6, 3], [8, 3, 5]])
def test_deep_linear_network_orthogonal_init_and_product(dims):
    eps = 0.3
    net = models.DeepLinearNetwork(dims, init_scale=eps)
    for W in net.weights:
        W = W.detach().double().numpy()
        gram = W.T @ W if W.shape[0] >= W.shape[1] else W @ W.T
        np.testing.assert_allclose(gram, eps**2 * np.eye(len(gram)), atol=1e-6)
    x = torch.randn(7, dims[0])
    product = np.eye(dims[0])
    for W in net.weights:
        product = W.detach().double().numpy() @ product
    np.testing.assert_allclose(
        net(x).detach().numpy(), x.double().numpy() @ product.T, rtol=1e-5, atol=1e-6
    )
    assert all(layer.bias is None for layer in [*net.hidden, net.classifier])


def test_mlp_shapes():
    net = models.MLP(64, 10, width=32, depth=3)
    assert net.features(torch.randn(4, 1, 8, 8)).shape == (4, 32)  # images are flattened
    assert sum(isinstance(m, torch.nn.Linear) for m in net.modules()) == 4
