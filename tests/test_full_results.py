"""Where full-profile results stand, how a lecture shows them, and `lowdim-course check`."""

import json
from dataclasses import dataclass

import pytest

from lowdim_course import cli, experiments, full_results, results


@dataclass(frozen=True)
class Inner:
    dataset: str = "cifar10"


@dataclass(frozen=True)
class Outer:
    samples: int = 10
    images: Inner | None = Inner()
    cifar10n_sets: tuple = ()


def test_downloads_needed_reads_nested_configs():
    assert full_results.downloads_needed(Outer()) == ["cifar10"]
    assert full_results.downloads_needed(Outer(images=None)) == []
    assert full_results.downloads_needed(Outer(cifar10n_sets=("worst",))) == ["cifar10", "cifar10n"]


@pytest.mark.parametrize("name", list(experiments.EXPERIMENTS))
def test_no_quick_profile_needs_a_download(name):
    assert full_results.downloads_needed(experiments.get(name).config.quick()) == []


@pytest.fixture
def sparse_rates_full(tmp_path, monkeypatch):
    """A real (tiny) run of sparse_rates written as its full-profile result under tmp_path."""
    from dataclasses import replace

    monkeypatch.setenv("LOWDIM_RESULTS", str(tmp_path))
    # Long enough (800 iterations) for the check's acceleration and linear-rate claims.
    tiny = replace(experiments.get("sparse_rates").config.full(), m=40, n=80, sparsity=4,
                   problems=6, iters=800, optimum_iters=4000, correlation=0.5)  # fmt: skip
    monkeypatch.setattr(experiments, "config_for", lambda exp, profile: tiny)
    experiments.run_experiment("sparse_rates", "full", "cpu", progress=False)
    return tmp_path / "sparse_rates" / "full" / "results.json"


def test_status_summary_and_table_of_a_committed_result(sparse_rates_full, capsys):
    row = full_results.status("sparse_rates")
    assert row["committed"] and row["device"].startswith("cpu") and row["wall_time_s"] > 0
    assert not row["current"]  # the tiny config is not today's full config: stale
    assert any("Beck-Teboulle" in line for line in row["claims_held"])
    text = full_results.summary("sparse_rates")
    assert "full profile" in text and "stale" in text and "Beck-Teboulle" in text
    table = full_results.status_table()
    assert "| `sparse_rates` | 01_sparse_recovery | committed: cpu" in table
    assert "| `collapse_tpt` | 03_neural_collapse | waiting for a GPU and CIFAR-10 |" in table
    full_results.show("sparse_rates")  # outside IPython: the summary and the figure paths
    out = capsys.readouterr().out
    assert "rates.png" in out and all(p.exists() for p in full_results.figures("sparse_rates"))


def test_summary_of_an_experiment_without_results(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWDIM_RESULTS", str(tmp_path))
    monkeypatch.setattr(results, "BUNDLED_DIR", tmp_path / "none")
    assert "waiting for a GPU and CIFAR-10" in full_results.summary("collapse_tpt")
    assert "lowdim-course run collapse_ufm --profile full" in full_results.summary("collapse_ufm")
    assert full_results.figures("collapse_ufm") == []


def test_check_reapplies_the_claims_and_records_them(sparse_rates_full, capsys):
    assert cli.main(["check", "sparse_rates"]) == 0
    stored = json.loads(sparse_rates_full.read_text())
    assert stored["provenance"]["claims"]["failed"] is None
    assert stored["provenance"]["claims"]["checked"]["date"]
    stored["metrics"]["max_gap_over_bound"]["fista"] = 2.0  # doctored: FISTA above its bound
    sparse_rates_full.write_text(json.dumps(stored))
    assert cli.main(["check"]) == 1  # every experiment with full results: here sparse_rates
    stored = json.loads(sparse_rates_full.read_text())
    assert "FISTA" in stored["provenance"]["claims"]["failed"]
    assert "claims failed for sparse_rates" in capsys.readouterr().out


def test_status_command_prints_the_table(capsys):
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n| `") == len(experiments.EXPERIMENTS)
