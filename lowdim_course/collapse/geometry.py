"""The geometry of neural collapse: the simplex equiangular tight frame (ETF) that collapsed
class means and classifier rows form, and `nc_metrics`, the statistics NC1-NC4 that measure how
close features and a classifier are to it (Papyan, Han & Donoho 2020).

Everything here is a function of tensors (features, labels, weights), computed in float64: the
statistics become tiny late in training, where float32 loses them.
"""

from __future__ import annotations

import math

import torch

from .. import metrics

DTYPE = torch.float64


def _frame_stats(V: torch.Tensor, name: str) -> dict:
    """Equinorm and equiangularity of the K rows of V (K, d), as in Papyan et al. (2020)."""
    K = V.shape[0]
    norms = V.norm(dim=1)  # (K,)
    unit = V / norms.clamp_min(1e-300)[:, None]
    cosines = unit @ unit.T  # (K, K)
    off = cosines[~torch.eye(K, dtype=torch.bool, device=V.device)]  # (K(K-1),)
    error = (off + 1 / (K - 1)).abs()
    return {
        f"{name}_equinorm": (norms.std(correction=0) / norms.mean()).item(),
        f"{name}_equiangularity": off.std(correction=0).item(),
        f"{name}_angle_error": error.mean().item(),
        f"{name}_angle_error_max": error.max().item(),
    }


def _nc1(sigma_w: torch.Tensor, centred: torch.Tensor) -> float:
    """trace(Sigma_W Sigma_B^+) / K with Sigma_B = C^T C / K, C the centred means (K, d).

    With C = U S V^T, Sigma_B^+ = K sum_j v_j v_j^T / s_j^2 over the nonzero s_j, so the
    statistic is sum_j v_j^T Sigma_W v_j / s_j^2: a K x d SVD instead of a d x d
    pseudo-inverse, and the rank (at most K - 1) is decided on the small matrix.
    """
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)  # s (r,), vh (r, d)
    keep = s > s.max() * max(centred.shape) * torch.finfo(s.dtype).eps
    v = vh[keep]  # (rank, d)
    return (((v @ sigma_w) * v).sum(1) / s[keep] ** 2).sum().item()


def nc_metrics(
    features: torch.Tensor,
    labels: torch.Tensor,
    classifier_weight: torch.Tensor | None = None,
    classifier_bias: torch.Tensor | None = None,
    num_classes: int | None = None,
) -> dict:
    """The neural-collapse statistics of features h_i (N, d) with labels y_i, in float64.

    With class means mu_k, mu_G the mean of the class means, M (K, d) the centred means
    mu_k - mu_G, Sigma_W and Sigma_B the within- and between-class scatter (metrics.py):
    - `nc1` = trace(Sigma_W Sigma_B^+) / K  (NC1, variability collapse). Some code and the
      transfer papers omit the /K; multiply by K to compare with them.
    - `within_between` = trace(Sigma_W) / trace(Sigma_B).
    - `means_equinorm` = std_k ||M_k|| / mean_k ||M_k||  (NC2, equal lengths; std over k with
      denominator K).
    - `means_equiangularity` = std over k != k' of cos(M_k, M_k')  (NC2, equal angles).
    - `means_angle_error` = mean over k != k' of |cos(M_k, M_k') + 1/(K-1)|, and
      `means_angle_error_max` its maximum: the distance to the simplex angle.
    With the classifier weight W (K, d) (and bias b (K,)):
    - the same four statistics of the rows of W (`classifier_*`);
    - `nc3` = || W/||W||_F - M/||M||_F ||_F^2  (NC3, self-duality);
    - `nc4` = fraction of samples where argmax_k (W h + b)_k differs from the nearest class mean
      (NC4, the network behaves like the nearest-class-mean classifier);
    - `accuracy` = fraction where argmax_k (W h + b)_k = y.
    For a collapsed configuration every statistic but `accuracy` is 0 (`accuracy` is 1). All
    are scale-invariant and invariant to relabelling the classes (permuting the rows of W and b
    along with the labels).
    """
    h = features.detach().to(DTYPE)
    y = labels.to(h.device).long()
    if not torch.isfinite(h).all():
        raise ValueError("the features contain NaN or inf: did training diverge?")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if classifier_weight is None else classifier_weight.shape[0]
    K = num_classes
    if K < 2:
        raise ValueError("neural collapse needs at least two classes")
    means = metrics.class_means(h, y, K)  # (K, d)
    sigma_w, sigma_b = metrics.scatter_matrices(h, y, K)  # (d, d) each
    centred = means - means.mean(0)  # (K, d)
    out = {
        "nc1": _nc1(sigma_w, centred),
        "within_between": (torch.trace(sigma_w) / torch.trace(sigma_b)).item(),
    }
    out.update(_frame_stats(centred, "means"))
    if classifier_weight is None:
        return out
    W = classifier_weight.detach().to(DTYPE).to(h.device)  # (K, d)
    out.update(_frame_stats(W, "classifier"))
    out["nc3"] = ((W / W.norm() - centred / centred.norm()) ** 2).sum().item()
    logits = h @ W.T  # (N, K)
    if classifier_bias is not None:
        logits = logits + classifier_bias.detach().to(DTYPE).to(h.device)
    predicted = logits.argmax(1)
    nearest_mean = metrics.nearest_class_mean_predict(means, h)
    out["nc4"] = (predicted != nearest_mean).double().mean().item()
    out["accuracy"] = (predicted == y).double().mean().item()
    return out


def class_mean_cosines(features: torch.Tensor, labels: torch.Tensor, num_classes: int):
    """Cosines between the centred class means of `features` (N, d): (K, K) float64."""
    M = metrics.class_means(features.to(DTYPE), labels, num_classes)
    M = M - M.mean(0)
    M = M / M.norm(dim=1, keepdim=True)
    return M @ M.T  # (K, K)


def etf_gram(K: int) -> torch.Tensor:
    """The Gram matrix of a simplex ETF: K/(K-1) (I - 11^T/K), ones on the diagonal and
    -1/(K-1) off it; (K, K) float64, rank K - 1."""
    return K / (K - 1) * (torch.eye(K, dtype=DTYPE) - 1 / K)


def simplex_etf(K: int, d: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A d x K simplex equiangular tight frame: K unit columns with pairwise cosine -1/(K-1).

    M = sqrt(K/(K-1)) Q P^T, where the columns of P (K, K-1) are an orthonormal basis of the
    vectors orthogonal to 1 (so P P^T = I - 11^T/K) and Q (d, K-1) has orthonormal columns;
    then M^T M = `etf_gram(K)`. Without a generator and with d >= K, the frame is the centring
    matrix sqrt(K/(K-1)) (I - 11^T/K) in the first K coordinates: its columns are orthogonal
    to (1, ..., 1, 0, ...), so a common offset of non-negative (ReLU) features does not change
    the logits. With a generator, Q is a random orthonormal frame spread over all d coordinates
    (a random orthogonal embedding, as in Zhu et al. 2021); for d >= K it is drawn orthogonal
    to (1, ..., 1), which keeps that offset invariance.
    """
    if K < 2:
        raise ValueError(f"a simplex ETF needs K >= 2 vectors, got K={K}")
    if d < K - 1:
        raise ValueError(
            f"a simplex ETF of K={K} vectors needs d >= K-1 = {K - 1} dimensions, got d={d}: "
            "its Gram matrix K/(K-1)(I - 11^T/K) has rank K-1"
        )
    scale = math.sqrt(K / (K - 1))
    centring = torch.eye(K, dtype=DTYPE) - 1 / K  # (K, K)
    if generator is None and d >= K:
        M = torch.zeros(d, K, dtype=DTYPE)
        M[:K] = scale * centring
        return M
    P, _ = torch.linalg.qr(centring[:, : K - 1])  # (K, K-1), orthonormal basis of 1-perp
    if generator is None:
        Q = torch.eye(d, K - 1, dtype=DTYPE)
    else:
        G = torch.randn(d, K - 1, generator=generator, dtype=DTYPE)
        if d >= K:
            G = G - G.mean(dim=0)  # columns orthogonal to (1, ..., 1), hence so is Q
        Q, _ = torch.linalg.qr(G)
    return scale * Q @ P.T  # (d, K)
