"""Fork server for tests/test_faults.py: pays torch's import once, then forks one training
child per request, which the test kills with SIGKILL.

Protocol (one JSON object per line on stdin): {"folder": str, "target": int, "mode": str, "at": int}.
Lines on stdout: "pid P" (child forked), "start P STEP" (child resumed at STEP), "saved P STEP" (a
checkpoint written completely), "pruned P" (a prune finished), "<mode> P" (child paused at the
instrumented point), "done P STEP", "exit P STATUS". The child saves a checkpoint after every step
to FOLDER/ckpt-<step>.pt and keeps the last 3 (with "save_every_step": false only once at the end:
the uninterrupted reference).
Modes: "none" (no pause), "train" (after the `at`-th training step, before its save), "in-write"
(half the bytes written), "before-rename" (file written and fsynced, not yet renamed),
"after-rename" (renamed, folder not yet fsynced), "in-prune" (while deleting an old checkpoint).
The pause happens at the `at`-th occurrence in the child and lasts until the test kills it: the
kill points are events, not wall-clock times, so what a trial tests does not shift with load.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import signal
import sys

import torch

import ganzoo
import ganzoo.checkpoint as ckpt

torch.set_num_threads(1)


def build() -> ganzoo.Trainer:
    torch.manual_seed(0)
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(48, 48))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(48, 48))
    return ganzoo.recipes.wgan_gp(generator=G, critic=D, seed=0, device="cpu", critic_steps=2, log_every=4)


def loader() -> torch.utils.data.DataLoader:
    points = ganzoo.data.grid().sample(200, torch.Generator().manual_seed(0))
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(points), batch_size=16, shuffle=True)


def say(*words: object) -> None:
    os.write(1, (" ".join(str(w) for w in words) + "\n").encode())


def pause_at(mode: str, at: int):
    """Instrument the checkpoint code so the `at`-th save stops at the point `mode` names."""
    saves = {"n": 0}

    def hold() -> None:
        say(mode, os.getpid())
        while True:  # a real pause: only the test's SIGKILL ends it
            signal.pause()

    if mode == "in-write":
        real_save = torch.save

        def half_save(obj, f, *args, **kwargs):
            saves["n"] += 1
            if saves["n"] < at:
                return real_save(obj, f, *args, **kwargs)
            buffer = io.BytesIO()
            real_save(obj, buffer, *args, **kwargs)
            data = buffer.getvalue()
            f.write(data[: len(data) // 2])
            f.flush()
            hold()

        torch.save = half_save
    elif mode == "before-rename":
        real_replace = os.replace

        def slow_replace(src, dst):
            saves["n"] += 1
            if saves["n"] >= at:
                hold()
            return real_replace(src, dst)

        os.replace = slow_replace
    elif mode == "after-rename":
        real_fsync_dir = ckpt._fsync_dir

        def slow_fsync_dir(folder):
            saves["n"] += 1
            if saves["n"] >= at:
                hold()
            return real_fsync_dir(folder)

        ckpt._fsync_dir = slow_fsync_dir
    elif mode == "in-prune":
        real_unlink = pathlib.Path.unlink

        def slow_unlink(self, *args, **kwargs):
            real_unlink(self, *args, **kwargs)
            if self.name.startswith("ckpt-"):
                saves["n"] += 1
                if saves["n"] >= at:
                    hold()

        pathlib.Path.unlink = slow_unlink
    elif mode != "none":
        if mode != "train":
            raise ValueError(f"unknown mode {mode!r}")
    return hold if mode == "train" else None


def train(folder: str, target: int, mode: str, at: int, save_every_step: bool = True) -> None:
    folder_path = pathlib.Path(folder)
    ckpt.remove_stale_temporaries(folder_path, min_age_s=0)  # nobody else writes here
    hold = pause_at(mode, at)
    latest = ckpt.latest_checkpoint(folder_path, "ckpt-*.pt")
    trainer = ganzoo.Trainer.load(latest) if latest else build()
    say("start", os.getpid(), trainer.step)

    steps = {"n": 0}

    class SaveEveryStep(ganzoo.Callback):
        def on_step_end(self, t: ganzoo.Trainer) -> None:
            steps["n"] += 1
            if hold is not None and steps["n"] == at:
                hold()
            t.save(folder_path / f"ckpt-{t.step:06d}.pt")
            say("saved", os.getpid(), t.step)
            ckpt.prune_checkpoints(folder_path, keep_last=3, pattern="ckpt-*.pt")
            say("pruned", os.getpid())

    trainer.fit(loader(), steps=target - trainer.step, callbacks=[SaveEveryStep()] if save_every_step else [])
    if not save_every_step:
        trainer.save(folder_path / f"ckpt-{trainer.step:06d}.pt")
    say("done", os.getpid(), trainer.step)


def warm_up() -> None:
    """Pay the one-time costs (torch's lazy imports on the first optimizer, first autograd
    pass, first save/load) here, so every forked child starts training at once."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        trainer = build()
        trainer.fit(loader(), steps=1)
        trainer.save(pathlib.Path(folder) / "warm.pt")
        ganzoo.Trainer.load(pathlib.Path(folder) / "warm.pt")


def main() -> None:
    warm_up()
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                train(request["folder"], request["target"], request["mode"], request.get("at", 1),
                      request.get("save_every_step", True))
            except BaseException as exc:  # report, then exit without running the parent's cleanup
                say("error", os.getpid(), repr(exc).replace("\n", " "))
                code = 1
            finally:
                os._exit(code)
        say("pid", pid)
        _, status = os.waitpid(pid, 0)
        say("exit", pid, status)


if __name__ == "__main__":
    main()
