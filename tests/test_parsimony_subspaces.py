"""Lecture 4's subspace measurements and quick-profile studies (lowdim_course/parsimony/
subspaces.py, studies.py): principal angles against SciPy, the predicted subspaces, the kinds
of start, and each study's check holding on a small run and failing without its phenomenon."""

import copy
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import scipy.linalg
import torch

from lowdim_course import claims
from lowdim_course import parsimony as ps

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = ps.InvariantConfig(dim=12, rank=2, depth=3, eps=1e-2, lr=0.5, steps=1500)


def test_principal_angles_against_scipy_and_a_known_rotation():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(9, 3, generator=g, dtype=torch.float64)
    b = torch.randn(9, 2, generator=g, dtype=torch.float64)
    expected = np.sort(scipy.linalg.subspace_angles(a.numpy(), b.numpy()))[::-1]
    np.testing.assert_allclose(ps.principal_angles(a, b).numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(ps.principal_angles(b, a).numpy(), expected, atol=1e-12)
    # span(e1, e2) against span(e1, cos t e2 + sin t e3): angles t and 0, even for tiny t
    for t in (0.3, 1e-11):
        e = torch.eye(4, dtype=torch.float64)
        rotated = torch.stack([e[0], math.cos(t) * e[1] + math.sin(t) * e[2]], 1)
        angles = ps.principal_angles(e[:, :2], rotated)
        assert angles[0].item() == pytest.approx(t, rel=1e-6)
        assert abs(angles[1].item()) < 1e-15


def test_predicted_subspaces_have_dimension_2r_and_are_aligned():
    g = torch.Generator().manual_seed(1)
    phi = ps.low_rank_target(10, 2, g)
    start = ps.orthogonal_init([10] * 4, 0.1, g)
    right, left = ps.predicted_subspaces(start, phi, 2)
    assert all(tuple(b.shape) == (10, 4) for b in right + left)
    for l in range(2):  # U_l = V_l+1
        assert ps.principal_angles(left[l], right[l + 1]).max() < 1e-12
    # layer 1 sees row(Phi) on its right, layer L col(Phi) on its left
    u, _, vh = torch.linalg.svd(phi)
    assert ps.principal_angles(right[0], vh[:2].T).max() < 1e-12
    assert ps.principal_angles(left[-1], u[:, :2]).max() < 1e-12


def test_initial_weights_have_the_stated_scale():
    for kind in ps.INIT_KINDS:
        w = ps.initial_weights(kind, [200, 200], 0.3, torch.Generator().manual_seed(2))[0]
        # E ||W x||^2 = eps^2 ||x||^2: the mean squared singular value is eps^2
        assert (w.pow(2).sum() / 200).item() == pytest.approx(0.09, rel=0.05)
        s = torch.linalg.svdvals(w)
        if kind == "orthogonal":
            torch.testing.assert_close(s, torch.full_like(s, 0.3))
        else:  # the quarter-circle law: singular values spread over [0, 2 eps]
            assert s.max() > 1.8 * 0.3 and s.min() < 0.1 * 0.3
    with pytest.raises(ValueError):
        ps.initial_weights("xavier", [3, 3], 0.1, torch.Generator())


def test_subspace_study_holds_and_its_check_fails_on_a_leak():
    result = ps.subspace_study(SMALL, snapshot_every=100)
    claims.report(ps.check_subspaces, result, "quick")
    leaky = copy.deepcopy(result)
    leaky["leak"][3, 1] = 1e-3
    with pytest.raises(claims.ClaimFailed):
        ps.check_subspaces(leaky, "quick")
    misaligned = copy.deepcopy(result)
    misaligned["final_alignment"][0] = 0.2
    with pytest.raises(claims.ClaimFailed):
        ps.check_subspaces(misaligned, "quick")
    ps.plot_subspaces(result)
    plt.close("all")


def test_gaussian_start_leaves_the_predicted_subspace():
    """The check's contrast is real: the same measurement on a Gaussian start is far off."""
    g = torch.Generator().manual_seed(0)
    phi = ps.low_rank_target(SMALL.dim, SMALL.rank, g)
    start = ps.initial_weights("gaussian", [SMALL.dim] * 4, SMALL.eps, g)
    _, _, snapshots = ps.train_dln(start, None, phi, SMALL.steps, SMALL.lr, snapshot_every=300)
    dyn = ps.subspace_dynamics([w for _, w in snapshots], phi, SMALL.rank)
    assert dyn["leak"].max() > 1e-2 and dyn["final_alignment"].max() > 1e-2


def test_init_study_and_its_check():
    result = ps.init_study(SMALL, separation=(12, 2, 4, 0.3, 0.15, 800))
    claims.report(ps.check_init, result, "quick")
    swapped = copy.deepcopy(result)  # a Gaussian start that looks orthogonal breaks the claims
    swapped["gaussian"] = copy.deepcopy(result["orthogonal"])
    with pytest.raises(claims.ClaimFailed):
        ps.check_init(swapped, "quick")
    ps.plot_init(result)
    plt.close("all")


def test_tradeoff_study_and_its_check():
    result = ps.tradeoff_study((0.15, 0.2, 0.3), dim=12, classes=2, depth=5)
    claims.report(ps.check_tradeoff, result, "quick")
    reversed_steps = copy.deepcopy(result)
    reversed_steps["runs"][0]["steps"] = 10  # the smallest eps would be the fastest
    with pytest.raises(claims.ClaimFailed):
        ps.check_tradeoff(reversed_steps, "quick")
    ps.plot_tradeoff(result)
    plt.close("all")


def test_width_study_and_its_check():
    result = ps.width_study(steps=1300)
    claims.report(ps.check_width, result, "quick")
    slow = copy.deepcopy(result)
    name = next(n for n in slow["steps_to_tol"] if n.startswith("compressed"))
    slow["steps_to_tol"][name] = 5000
    with pytest.raises(claims.ClaimFailed):
        ps.check_width(slow, "quick")
    unreached = copy.deepcopy(result)  # a narrow network that never gets there is the slowest
    unreached["steps_to_tol"]["width 6"] = None
    ps.check_width(unreached, "quick")
    unreached["steps_to_tol"]["width 30"] = None  # but width d must get there
    with pytest.raises(claims.ClaimFailed):
        ps.check_width(unreached, "quick")
    flat = copy.deepcopy(result)
    flat["steps_to_tol"]["width 6"] = flat["steps_to_tol"]["width 30"]  # no gain from width
    with pytest.raises(claims.ClaimFailed):
        ps.check_width(flat, "quick")
    ps.plot_width(result)
    plt.close("all")
