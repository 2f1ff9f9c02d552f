from __future__ import annotations

import os
import pickle

import pytest
import torch

import ganzoo
from ganzoo.checkpoint import load_checkpoint, save_checkpoint


def test_round_trip_and_no_temporary_files_left(tmp_path):
    path = save_checkpoint({"x": torch.arange(3), "meta": {"a": [1, 2]}}, tmp_path / "sub" / "c.pt")
    state = load_checkpoint(path)
    assert torch.equal(state["x"], torch.arange(3)) and state["meta"] == {"a": [1, 2]}
    assert os.listdir(tmp_path / "sub") == ["c.pt"]


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint({"v": 1}, path)

    class Unsaveable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError):
        save_checkpoint({"v": Unsaveable()}, path)
    assert load_checkpoint(path)["v"] == 1
    assert os.listdir(tmp_path) == ["c.pt"]


def test_missing_truncated_and_random_files(tmp_path):
    with pytest.raises(ganzoo.CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    good = save_checkpoint({"x": torch.randn(100)}, tmp_path / "good.pt")
    data = good.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ganzoo.CheckpointError, match="trunc.pt.*truncated or corrupt"):
        load_checkpoint(tmp_path / "trunc.pt")
    (tmp_path / "rand.pt").write_bytes(os.urandom(4096))
    with pytest.raises(ganzoo.CheckpointError, match="rand.pt"):
        load_checkpoint(tmp_path / "rand.pt")


def test_code_running_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"format": "ganzoo-checkpoint-v1", "x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(ganzoo.CheckpointError, match="refused.*could run code"):
        load_checkpoint(tmp_path / "evil.pt")
    with pytest.raises(ganzoo.CheckpointError):
        ganzoo.Trainer.load(tmp_path / "evil.pt")
    assert not marker.exists()
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps({"format": "ganzoo-checkpoint-v1"}))
    with pytest.raises(ganzoo.CheckpointError):
        load_checkpoint(tmp_path / "plain.pkl")


def test_foreign_torch_file_is_not_a_ganzoo_checkpoint(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(ganzoo.CheckpointError, match="not a ganzoo checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
