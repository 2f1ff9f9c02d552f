"""Golden test: training is bitwise the same as the code the fixtures were taken from
(tests/fixtures/make_golden.py, run on main before the games refactor)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

import ganzoo

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_spec = importlib.util.spec_from_file_location("make_golden", FIXTURES / "make_golden.py")
make_golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_golden)
GOLDEN = json.loads((FIXTURES / "golden.json").read_text())


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


@pytest.mark.parametrize("case", sorted(GOLDEN))
def test_training_is_bitwise_the_fixture(case, one_thread):
    recipe, dataset = case.split("/")
    got = make_golden.run(recipe, dataset)
    want = GOLDEN[case]
    assert len(got["history"]) == len(want["history"]) == make_golden.STEPS
    for step, (g, w) in enumerate(zip(got["history"], want["history"]), start=1):
        assert set(g) == set(w), (case, step)
        bad = {k: (g[k], w[k]) for k in w if not _same(g[k], w[k])}
        assert not bad, f"{case} step {step}: {bad}"
    assert got["weights"] == want["weights"]


def test_checkpoint_from_before_games_loads_and_continues(tmp_path):
    trainer = ganzoo.Trainer.load(FIXTURES / "golden_checkpoint.pt", device="cpu")
    assert trainer.step == 3 and len(trainer.history) == 3
    assert trainer.critic_updates == 15
    trainer.fit(ganzoo.data.grid().sampler(batch_size=64, seed=1), steps=1)
    assert trainer.step == 4
    assert torch.isfinite(trainer.sample(8)).all()
