import json

import numpy as np
import pytest
import torch

from lowdim_course import results
from lowdim_course.getting_started import Config


def test_to_jsonable_converts_tensors_arrays_and_dataclasses():
    obj = {
        "t": torch.arange(3),
        "a": np.ones((2, 2)),
        "s": np.float32(1.5),
        "c": Config.quick(),
        "tup": (1, 2),
    }
    out = results.to_jsonable(obj)
    assert out["t"] == [0, 1, 2] and out["a"] == [[1.0, 1.0], [1.0, 1.0]] and out["s"] == 1.5
    assert out["c"]["train"]["epochs"] == Config.quick().train.epochs
    json.dumps(out)  # plain JSON


def test_save_and_load_with_provenance(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWDIM_RESULTS", str(tmp_path))
    meta = results.provenance(Config.quick(), seed=3, device="cpu (2 threads)", wall_time=1.23456)
    for key in ("config", "seed", "git_commit", "torch", "lowdim_course", "device", "date"):
        assert key in meta
    assert meta["seed"] == 3 and meta["wall_time_s"] == 1.235
    folder = results.results_dir("demo", "quick")
    assert folder == tmp_path / "demo" / "quick"
    path = results.save_results(folder, "demo", "quick", {"acc": torch.tensor(0.5)}, meta)
    loaded = results.load_results("demo", "quick")
    assert path.exists() and loaded["metrics"]["acc"] == 0.5
    assert loaded["provenance"]["config"]["dataset"] == "digits"
    assert not list(folder.glob("*.tmp"))  # written atomically


def test_missing_results_say_how_to_make_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="lowdim-course run demo --profile full"):
        results.load_results("demo", "full", root=tmp_path)


def test_git_commit_is_a_hash_or_none():
    commit = results.git_commit()
    assert commit is None or len(commit.split("-")[0]) == 40
