"""Crash safety: SIGKILL a training process at chosen events (after a training step, and at every
step of a checkpoint write); every time, each checkpoint on disk is readable and training resumes from the newest one.
Finally the resumed-many-times run must end bitwise identical to an uninterrupted run."""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo.checkpoint import load_checkpoint, load_latest_checkpoint

SERVER = Path(__file__).parent / "workers" / "fault_server.py"
SRC = Path(ganzoo.__file__).resolve().parents[1]
TARGETED = ["in-write", "before-rename", "after-rename", "in-prune"]


class Server:
    """The fork server (tests/workers/fault_server.py) and its line protocol."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
               "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, str(SERVER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)
        self._buffer = b""

    def request(self, **request) -> int:
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        self.proc.stdin.flush()
        return int(self.expect("pid")[1])

    def line(self, timeout: float = 120.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                raise TimeoutError(f"no reply from the fault server within {timeout} s")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise EOFError("the fault server exited")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        words = line.decode().split()
        if words[0] == "error":
            raise AssertionError("training child failed: " + " ".join(words[2:]))
        return words

    def expect(self, kind: str) -> list[str]:
        words = self.line()
        assert words[0] == kind, f"expected {kind!r}, got {words}"
        return words

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def newest_step(folder: Path) -> int:
    try:
        return load_latest_checkpoint(folder, "ckpt-*.pt")[1]["counters"]["step"]
    except ganzoo.CheckpointError:
        return 0


def check_folder(folder: Path, kills_since_prune: int) -> list[Path]:
    """Every checkpoint in the folder loads and holds the step its name says; there are at most
    keep_last=3 files plus one per kill since the last finished prune (each such kill may land
    between a file's rename and the prune that follows it)."""
    files = sorted(folder.glob("ckpt-*.pt"))
    for path in files:
        state = load_checkpoint(path)  # raises CheckpointError if truncated or corrupt
        assert state["counters"]["step"] == int(path.stem.split("-")[1])
    assert len(files) <= 3 + kills_since_prune, ([p.name for p in files], kills_since_prune)
    return files


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the fault server forks (POSIX)")
def test_sigkill_never_corrupts_checkpoints_and_resume_is_exact(tmp_path):
    rng = random.Random(20240607)
    modes = ["train", *TARGETED] * 4 + TARGETED * 2  # 28 kills, each at an event, never at a time
    rng.shuffle(modes)
    folder = tmp_path / "run"
    folder.mkdir()
    server = Server()
    kills_since_prune = 0
    expected = 0  # the newest step on disk, from what the children reported
    try:
        for trial, mode in enumerate(modes):
            assert newest_step(folder) == expected, f"trial {trial}: the newest checkpoint is not the one written last"
            at = rng.randint(1, 4)
            pid = server.request(folder=str(folder), target=10**6, mode=mode, at=at)
            assert server.expect("start") == ["start", str(pid), str(expected)], f"trial {trial}: wrong resume"
            pruned = False
            while (words := server.line())[0] != mode:  # until the child pauses exactly there
                assert words[0] in ("saved", "pruned") and words[1] == str(pid), words
                if words[0] == "saved":
                    expected = int(words[2])
                pruned = pruned or words[0] == "pruned"
            assert words[1] == str(pid)
            os.kill(pid, signal.SIGKILL)
            words = server.line()
            assert words[:2] == ["exit", str(pid)], words
            status = int(words[2])
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            kills_since_prune = 1 if pruned else kills_since_prune + 1
            if mode == "after-rename":
                expected += 1  # renamed (complete) but killed before it was reported
            check_folder(folder, kills_since_prune)
            temporaries = list(folder.glob(".*.tmp"))
            assert len(temporaries) <= 1
            if mode == "in-write":
                assert len(temporaries) == 1  # the half-written file exists, hidden and ignored
        steps_done = newest_step(folder)
        assert steps_done == expected >= 10, "the trials made too little progress to mean anything"

        # run to the end without a kill, then an uninterrupted reference of the same length
        final = steps_done + 7
        pid = server.request(folder=str(folder), target=final, mode="none")
        assert server.expect("start")[2] == str(steps_done)
        while (words := server.line())[0] in ("saved", "pruned"):
            pass
        assert words == ["done", str(pid), str(final)]
        assert server.expect("exit")[2] == "0"
        reference_dir = tmp_path / "reference"
        reference_dir.mkdir()
        pid = server.request(folder=str(reference_dir), target=final, mode="none", save_every_step=False)
        server.expect("start"), server.expect("done"), server.expect("exit")
    finally:
        server.close()
    resumed = load_checkpoint(folder / f"ckpt-{final:06d}.pt")
    straight = load_checkpoint(reference_dir / f"ckpt-{final:06d}.pt")
    for name in ("generator", "critic"):
        for key, value in straight["networks"][name].items():
            assert torch.equal(resumed["networks"][name][key], value), f"{name}.{key} differs after {len(modes)} kills"
    assert resumed["history"]["critic_loss"].tolist() == straight["history"]["critic_loss"].tolist()
