"""Crash safety: SIGKILL a training process at random points and at every step of a checkpoint
write; every time, each checkpoint on disk is readable and training resumes from the newest one.
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


def check_folder(folder: Path) -> list[Path]:
    """Every checkpoint in the folder loads and holds the step its name says."""
    files = sorted(folder.glob("ckpt-*.pt"))
    for path in files:
        state = load_checkpoint(path)  # raises CheckpointError if truncated or corrupt
        assert state["counters"]["step"] == int(path.stem.split("-")[1])
    assert len(files) <= 4  # keep_last=3, plus the newest while pruning was cut short
    return files


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the fault server forks (POSIX)")
def test_sigkill_never_corrupts_checkpoints_and_resume_is_exact(tmp_path):
    rng = random.Random(20240607)
    modes = ["random"] * 20 + TARGETED * 2
    rng.shuffle(modes)
    folder = tmp_path / "run"
    folder.mkdir()
    server = Server()
    try:
        for trial, mode in enumerate(modes):
            expected_start = newest_step(folder)
            pid = server.request(folder=str(folder), target=10**6, mode=mode, at=rng.randint(1, 4))
            if mode == "random":
                time.sleep(rng.uniform(0.0, 0.4))  # anywhere: loading, training, writing, pruning
            else:
                assert server.expect("start") == ["start", str(pid), str(expected_start)]
                assert server.expect(mode)[1] == str(pid)  # paused exactly there
            os.kill(pid, signal.SIGKILL)
            words = server.line()
            if words[0] == "start":
                assert words[2] == str(expected_start), f"trial {trial}: resumed from the wrong checkpoint"
                words = server.line()
            assert words[:2] == ["exit", str(pid)], words
            status = int(words[2])
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            check_folder(folder)
            temporaries = list(folder.glob(".*.tmp"))
            assert len(temporaries) <= 1
            if mode == "in-write":
                assert len(temporaries) == 1  # the half-written file exists, hidden and ignored
        steps_done = newest_step(folder)
        assert steps_done >= 10, "the trials made too little progress to mean anything"

        # run to the end without a kill, then an uninterrupted reference of the same length
        final = steps_done + 7
        pid = server.request(folder=str(folder), target=final, mode="random")
        assert server.expect("start")[2] == str(steps_done)
        assert server.expect("done") == ["done", str(pid), str(final)]
        assert server.expect("exit")[2] == "0"
        reference_dir = tmp_path / "reference"
        reference_dir.mkdir()
        pid = server.request(folder=str(reference_dir), target=final, mode="random", save_every_step=False)
        server.expect("start"), server.expect("done"), server.expect("exit")
    finally:
        server.close()
    resumed = load_checkpoint(folder / f"ckpt-{final:06d}.pt")
    straight = load_checkpoint(reference_dir / f"ckpt-{final:06d}.pt")
    for name in ("generator", "critic"):
        for key, value in straight[name].items():
            assert torch.equal(resumed[name][key], value), f"{name}.{key} differs after {len(modes)} kills"
    assert resumed["history"]["critic_loss"].tolist() == straight["history"]["critic_loss"].tolist()
