"""A long-ish run keeps its resident anonymous memory flat after warm-up (the full 40,000-step
measurement is benchmarks/memory_long_run.py)."""

from __future__ import annotations

import sys

import pytest
import torch

import ganzoo

def anonymous_mib() -> float:
    """Resident anonymous memory (the heap: tensors, Python objects). File-backed pages (shared
    libraries, the page cache of the checkpoint file) are left out: another process's memory
    pressure evicts and reloads them, which would move a plain RSS reading."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("/proc/self/status has no RssAnon line")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_resident_memory_does_not_grow_after_warm_up(tmp_path, one_thread):
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(16,))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(16,))
    trainer = ganzoo.recipes.wgan_gp(generator=G, critic=D, seed=0, device="cpu", critic_steps=1, log_every=10)
    loader = torch.utils.data.DataLoader(torch.randn(512, 2), batch_size=32, shuffle=True)
    readings = {}

    class Measure(ganzoo.Callback):
        def on_step_end(self, t):
            if t.step % 100 == 0:
                t.save(tmp_path / "ckpt.pt")
            if t.step in (400, 1600):
                readings[t.step] = anonymous_mib()

    trainer.fit(loader, steps=1600, callbacks=[Measure()])
    # a leaked autograd graph or tensor per step would cost tens of KiB per step (> 30 MiB here);
    # the history grows by ~70 bytes per step (90 KiB here)
    assert readings[1600] - readings[400] < 6.0, readings
    assert len(trainer._pending) < trainer.log_every and len(trainer.history) == 1600
