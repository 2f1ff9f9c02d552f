"""Safe loading through Trainer.load and the resume path: bad files are clear errors, a folder
falls back to the newest good checkpoint, crafted pickles never run, keep-last-k is safe."""

from __future__ import annotations

import os
import pickle
import time
import zipfile

import pytest
import torch

import ganzoo
from ganzoo.checkpoint import (
    checkpoint_files,
    is_intact,
    latest_checkpoint,
    load_checkpoint,
    load_latest_checkpoint,
    prune_checkpoints,
    remove_stale_temporaries,
    save_checkpoint,
)


def small_trainer() -> ganzoo.Trainer:
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(8,))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,))
    return ganzoo.Trainer(G, D, "hinge", seed=0, device="cpu")


@pytest.fixture
def run_folder(tmp_path):
    """ckpt-1 .. ckpt-3, one step apart, with increasing modification times."""
    trainer = small_trainer()
    data = ganzoo.data.ring().sampler(8, seed=0)
    for step in (1, 2, 3):
        trainer.fit(data, steps=1)
        path = trainer.save(tmp_path / f"ckpt-{step}.pt")
        os.utime(path, ns=(step * 10**9, step * 10**9))
    return tmp_path


def touch_newest(path, content: bytes) -> None:
    path.write_bytes(content)
    os.utime(path, ns=(9 * 10**9, 9 * 10**9))


class Evil:
    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def evil_checkpoint(path, marker) -> None:
    torch.save({"format": "ganzoo-checkpoint-v1", "generator": Evil(marker)}, path)


@pytest.mark.parametrize("damage", ["truncated", "random", "evil", "bitflip"])
def test_folder_resume_falls_back_past_a_bad_newest_file(run_folder, damage):
    marker = run_folder.parent / f"pwned-{damage}"
    good = (run_folder / "ckpt-3.pt").read_bytes()
    bad = run_folder / "ckpt-4.pt"
    if damage == "truncated":
        touch_newest(bad, good[: len(good) * 2 // 3])
    elif damage == "random":
        touch_newest(bad, os.urandom(len(good)))
    elif damage == "evil":
        evil_checkpoint(bad, marker)
        os.utime(bad, ns=(9 * 10**9, 9 * 10**9))
    else:  # one flipped bit in the middle of a tensor: torch.load alone would not notice
        with zipfile.ZipFile(run_folder / "ckpt-3.pt") as archive:
            info = next(i for i in archive.infolist() if "/data/" in i.filename and i.file_size > 64)
        data = bytearray(good)
        local = info.header_offset  # the local header's name and extra lengths locate the data
        start = local + 30 + int.from_bytes(good[local + 26:local + 28], "little") + int.from_bytes(good[local + 28:local + 30], "little")
        data[start + 40] ^= 0x10
        touch_newest(bad, bytes(data))
    with pytest.raises(ganzoo.CheckpointError, match="ckpt-4.pt") as caught:
        ganzoo.Trainer.load(bad)
    if damage == "bitflip":
        assert "fails the CRC-32 check" in str(caught.value)
        assert torch.load(bad, weights_only=True)  # what torch.load alone would have accepted
    with pytest.warns(RuntimeWarning, match=r"(?s)skipped 1 unreadable checkpoint.*ckpt-4.pt"):
        trainer = ganzoo.Trainer.load(run_folder)
    assert trainer.step == 3 and trainer.last_checkpoint == run_folder / "ckpt-3.pt"
    trainer.fit(ganzoo.data.ring().sampler(8, seed=0), steps=1)
    assert not marker.exists()


def test_each_bad_file_gets_its_own_clear_message(tmp_path):
    marker = tmp_path / "pwned"
    good = save_checkpoint({"x": torch.randn(256)}, tmp_path / "good.pt").read_bytes()
    (tmp_path / "trunc.pt").write_bytes(good[:100])
    (tmp_path / "noise.pt").write_bytes(os.urandom(2048))
    evil_checkpoint(tmp_path / "evil.pt", marker)
    torch.save({"format": "ganzoo-checkpoint-v1", "x": Evil(marker)}, tmp_path / "legacy.pt",
               _use_new_zipfile_serialization=False)
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps(Evil(marker)))
    cases = {
        "trunc.pt": "truncated or corrupt",
        "noise.pt": "truncated or corrupt",
        "evil.pt": r"refused: loading it would need arbitrary Python objects.*GLOBAL posix.system",
        "legacy.pt": "truncated or corrupt.*not a zip file",  # the CRC check refuses pre-zip files first
        "plain.pkl": "truncated or corrupt.*not a zip file",
    }
    for name, message in cases.items():
        with pytest.raises(ganzoo.CheckpointError, match=message) as caught:
            ganzoo.Trainer.load(tmp_path / name)
        assert name in str(caught.value)
    assert not marker.exists()


def test_no_readable_checkpoint_at_all(tmp_path):
    with pytest.raises(ganzoo.CheckpointError, match="no checkpoint matching"):
        ganzoo.Trainer.load(tmp_path)
    assert latest_checkpoint(tmp_path) is None and latest_checkpoint(tmp_path / "missing") is None
    (tmp_path / "a.pt").write_bytes(b"garbage")
    (tmp_path / "b.pt").write_bytes(b"")
    with pytest.raises(ganzoo.CheckpointError) as caught:
        latest_checkpoint(tmp_path)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("none of the 2 checkpoint(s)")  # both named, each with its own reason
    assert sorted(line.split(":")[0].strip() for line in lines[1:]) == ["a.pt", "b.pt"]


def test_newest_means_the_step_recorded_inside_then_the_name_then_the_time(tmp_path):
    for name, step in (("ckpt-9.pt", 9), ("ckpt-10.pt", 10), ("ckpt-2.pt", 2)):
        save_checkpoint({"name": name, "counters": {"step": step}}, tmp_path / name)
        os.utime(tmp_path / name, ns=(10**9, 10**9))
    (tmp_path / ".ckpt-11.pt.abc.tmp").write_bytes(b"in progress")
    assert [p.name for p in checkpoint_files(tmp_path)] == ["ckpt-10.pt", "ckpt-9.pt", "ckpt-2.pt"]
    os.utime(tmp_path / "ckpt-2.pt", ns=(2 * 10**9, 2 * 10**9))  # an old file copied back: newer time
    path, state = load_latest_checkpoint(tmp_path)
    assert path.name == "ckpt-10.pt" and state["name"] == "ckpt-10.pt"
    # the step inside wins over the name; files recording no step fall back to their name's number
    save_checkpoint({"name": "renamed", "counters": {"step": 50}}, tmp_path / "ckpt-1.pt")
    save_checkpoint({"name": "no step"}, tmp_path / "ckpt-20.pt")
    assert [p.name for p in checkpoint_files(tmp_path)] == ["ckpt-1.pt", "ckpt-20.pt", "ckpt-10.pt",
                                                            "ckpt-9.pt", "ckpt-2.pt"]


def test_prune_keeps_the_last_k_and_never_the_newest_good_one(run_folder):
    for step in (4, 5):  # two damaged files newer than every good one
        touch_newest(run_folder / f"ckpt-{step}.pt", b"damaged")
        os.utime(run_folder / f"ckpt-{step}.pt", ns=(step * 10**9, step * 10**9))
    save_checkpoint({"best": True}, run_folder / "best.pt")
    os.utime(run_folder / "best.pt", ns=(0, 0))
    deleted = prune_checkpoints(run_folder, keep_last=1, protect=[run_folder / "best.pt"])
    assert sorted(p.name for p in deleted) == ["ckpt-1.pt", "ckpt-2.pt"]
    assert sorted(p.name for p in run_folder.glob("*.pt")) == ["best.pt", "ckpt-3.pt", "ckpt-4.pt", "ckpt-5.pt"]
    assert is_intact(run_folder / "ckpt-3.pt") and not is_intact(run_folder / "ckpt-4.pt")
    assert prune_checkpoints(run_folder, keep_last=1, pattern="ckpt-*.pt") == []  # idempotent
    with pytest.raises(ganzoo.ConfigError, match="keep_last=0"):
        prune_checkpoints(run_folder, keep_last=0)


def test_stale_temporaries_are_removed_fresh_ones_kept(tmp_path):
    old, fresh = tmp_path / ".c.pt.old.tmp", tmp_path / ".c.pt.new.tmp"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert remove_stale_temporaries(tmp_path) == [old]
    assert fresh.exists() and not old.exists()


def test_checkpoint_records_versions_position_and_guard(tmp_path):
    trainer = small_trainer()
    trainer.fit(torch.utils.data.DataLoader(torch.randn(40, 2), batch_size=8, shuffle=True), steps=3)
    state = load_checkpoint(trainer.save(tmp_path / "c.pt"))
    assert state["ganzoo_version"] == ganzoo.__version__ and state["torch_version"] == torch.__version__
    assert state["data"]["pass"] == 0 and state["data"]["batches"] == 3 and state["world_size"] == 1
    assert state["guard"]["skipped"] == {"critic": 0, "generator": 0}


def test_old_checkpoints_without_a_data_position_still_load(tmp_path):
    trainer = small_trainer()
    trainer.fit(ganzoo.data.ring().sampler(8, seed=0), steps=2)
    state = trainer.state_dict()
    for key in ("data", "guard", "world_size"):
        del state[key]
    save_checkpoint(state, tmp_path / "old.pt")
    loaded = ganzoo.Trainer.load(tmp_path / "old.pt")
    loaded.fit(ganzoo.data.ring().sampler(8, seed=0), steps=1)
    assert loaded.step == 3
