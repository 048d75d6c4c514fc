import numpy as np
import torch

from lowdim_course import metrics


def _blobs(seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(3).repeat(40)
    feats = torch.randn(3, 4, generator=g)[labels] * 3 + torch.randn(120, 4, generator=g)
    return feats, labels


def test_class_means_match_numpy():
    feats, labels = _blobs()
    expected = np.stack([feats.numpy()[labels.numpy() == k].mean(0) for k in range(3)])
    np.testing.assert_allclose(metrics.class_means(feats, labels, 3).numpy(), expected, rtol=1e-6)


def test_scatter_matrices_match_numpy_definitions():
    feats, labels = _blobs(1)
    h, y = feats.double().numpy(), labels.numpy()
    mu = np.stack([h[y == k].mean(0) for k in range(3)])
    sw = sum(np.outer(h[i] - mu[y[i]], h[i] - mu[y[i]]) for i in range(len(h))) / len(h)
    mg = mu.mean(0)
    sb = sum(np.outer(m - mg, m - mg) for m in mu) / 3
    got_w, got_b = metrics.scatter_matrices(feats, labels, 3)
    np.testing.assert_allclose(got_w.numpy(), sw, rtol=1e-10)
    np.testing.assert_allclose(got_b.numpy(), sb, rtol=1e-10)
    ratio = metrics.within_between_ratio(feats, labels, 3)
    assert np.isclose(ratio, np.trace(sw) / np.trace(sb))


def test_ratio_is_zero_for_collapsed_features():
    labels = torch.arange(4).repeat(5)
    feats = torch.eye(4)[labels] * 2.0
    assert metrics.within_between_ratio(feats, labels, 4) == 0.0


def test_nearest_class_mean_by_hand():
    means = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    query = torch.tensor([[1.0, 1.0], [9.0, -1.0], [-1.0, 7.0], [6.0, 4.0]])
    assert metrics.nearest_class_mean_predict(means, query).tolist() == [0, 1, 2, 1]
