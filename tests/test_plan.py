"""`lowdim-course plan`: the GPU cost of the full profile, from counted FLOPs."""

import pytest

from lowdim_course import cli, models, plan


def test_resnet18_forward_flops_are_counted():
    # 0.556 G multiply-accumulates per 32 x 32 image (He et al.'s CIFAR ResNet18)
    assert plan.forward_flops("resnet18") / 2 == pytest.approx(0.556e9, rel=0.01)
    # WRN-40-k grows like k^2
    ratio = plan.forward_flops("wrn", 4, 40) / plan.forward_flops("wrn", 2, 40)
    assert 3.5 < ratio < 4.1


def test_feature_dim_changes_the_count():
    assert plan.forward_flops("resnet18", feature_dim=10) < plan.forward_flops("resnet18")
    models.build("resnet18", plan.CIFAR, 10, feature_dim=10)  # the same network plan counts


def test_every_experiment_that_needs_a_download_is_costed():
    names = plan.gpu_experiments()
    assert "robust_sop" in names and "sparse_rates" not in names
    assert set(names) <= set(plan.RUNS), f"no plan.RUNS entry for {set(names) - set(plan.RUNS)}"


def test_cost_of_one_epoch_of_resnet18_matches_the_yardstick():
    run = plan.Run("one epoch", "resnet18", epochs=1)
    # 3 passes x 50 000 training images + 10 000 test images, 1.11 GFLOP each: 0.18 PFLOP
    assert run.flops() / 1e15 == pytest.approx(0.178, rel=0.02)


def test_plan_prints_the_table_with_a_total(capsys):
    assert cli.main(["plan", "--utilisation", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "| `robust_sop` | 18 |" in out and "| **total** |" in out and "50%" in out
    sop = plan.cost("robust_sop", 0.25)
    assert sop["hours"]["A100"] > sop["hours"]["H100"] > 0
