"""Lecture 2's B-number and certificate lemma: the covering count against counts by hand, the
B-number of pairs whose answer is known, its growth as a wavy curve folds back on itself, and
the certificate bound on the kernel flow (it holds, and it is tight)."""

import math

import numpy as np
import pytest
import torch

from lowdim_course import claims
from lowdim_course import manifolds as mf

pytestmark = pytest.mark.usefixtures("one_thread")


def test_covering_count_on_a_line_and_across_the_cut():
    arc = torch.linspace(0, 1, 1001, dtype=torch.float64)  # an arc of length 1: 1/(2 * 0.1) balls
    assert mf.covering_count(arc, 10.0, 0.1) == 5
    assert mf.covering_count(arc, 10.0, 0.5) == 1
    assert mf.covering_count(arc[:0], 10.0, 0.1) == 0
    # the same arc placed across the point s = 0 of a closed curve of length 10
    wrapped = torch.sort((arc - 0.5) % 10.0).values
    assert mf.covering_count(wrapped, 10.0, 0.1) == 5
    # two far pieces need a ball each
    two = torch.tensor([0.0, 0.05, 5.0, 5.05], dtype=torch.float64)
    assert mf.covering_count(two, 10.0, 0.1) == 2


def test_b_number_of_pairs_with_a_known_answer():
    # far-apart circles: nothing is extrinsically close but intrinsically far
    b, counts = mf.b_number(mf.circles(0.4), tau1=0.6, tau2=0.3, n=200)
    assert b == 0 and counts.shape == (400,) and counts.sum() == 0
    # circles 0.2 apart: from every point, one short arc of the other circle is within 0.3
    b, counts = mf.b_number(mf.circles(0.2), tau1=0.6, tau2=0.3, n=200)
    assert b == 1 and bool((counts == 1).all())
    # a circle's own points: with tau1 below tau2 the near points of its own curve count too
    b, _ = mf.b_number(mf.circles(0.4), tau1=0.1, tau2=0.3, n=200)
    assert b == 1


def test_b_number_grows_as_a_wavy_pair_folds_back():
    """At amplitude 0.3 the flanks of each wave come close while the curve between them is
    long: the B-number rises with the frequency, and it is counted on the flanks."""
    numbers = [mf.b_number(mf.wavy_pair(0.4, 0.3, k), 0.6, 0.3, n=300)[0] for k in (2, 4, 6)]
    assert numbers[0] == 0 < numbers[1] < numbers[2], numbers
    _, counts = mf.b_number(mf.wavy_pair(0.4, 0.3, 6), 0.6, 0.3, n=300)
    t = torch.arange(300, dtype=torch.float64) * (2 * math.pi / 300)
    slope = torch.cos(6 * t).abs()  # |d latitude / dt| up to a factor: large on the flanks
    plus = counts[:300].to(torch.float64)
    assert plus[slope > 0.7].mean() > plus[slope < 0.3].mean()


@pytest.fixture(scope="module")
def decay():
    pair = mf.winding_pair(0.3, 5)
    times = np.logspace(0, 4, 17)
    return {
        d: mf.certificate_decay(pair, d, 120, times, 1e-4, torch.Generator().manual_seed(0))
        for d in (1, 16)
    }


def test_certificate_bound_holds_and_is_tight(decay):
    lines = mf.check_certificate_decay(decay, "quick")
    assert len(lines) == 2 and all(line.startswith("held: ") for line in lines)
    for run in decay.values():  # the error starts at ||y|| = 1 and falls
        assert run["rms"][0] <= 1 and run["rms"][-1] < 0.05


def test_certificate_check_fails_on_a_loose_bound(decay):
    loose = {
        d: {**run, "certificate_norm": 10 * run["certificate_norm"]} for d, run in decay.items()
    }
    with pytest.raises(claims.ClaimFailed, match="the 1/t bound is attained"):
        mf.check_certificate_decay(loose, "quick")
    broken = {d: {**run, "bound": [b / 3 for b in run["bound"]]} for d, run in decay.items()}
    with pytest.raises(claims.ClaimFailed, match="stays below"):
        mf.check_certificate_decay(broken, "quick")


def test_first_layers_is_the_network_of_that_depth():
    """The truncated network shares the deep one's weights, and its exact NTK is the Jacobian's."""
    g = torch.Generator().manual_seed(2)
    deep = mf.ReLUNet(3, 16, 5, generator=g)
    x = torch.nn.functional.normalize(torch.randn(6, 3, generator=g, dtype=torch.float64), dim=1)
    sub = mf.first_layers(deep, 2)
    assert sub.depth == 2 and sub.width == 16 and sub.hidden[1] is deep.hidden[1]
    by_hand = torch.relu(torch.relu(x @ deep.hidden[0].T) @ deep.hidden[1].T) @ deep.output
    torch.testing.assert_close(sub(x), by_hand)
    torch.testing.assert_close(mf.empirical_ntk(sub, x), mf.empirical_ntk_jacobian(sub, x))
    assert mf.uniform_kernel_error(sub, x) >= 0
