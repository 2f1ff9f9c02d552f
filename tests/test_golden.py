"""Golden test: training is bitwise the same as the code before the games refactor.

The reference is that code itself, run on this machine in a subprocess:
``tests/fixtures/ganzoo_before_games.tar.gz`` is ``git archive --format=tar.gz 5973ef0 src/ganzoo``,
the commit that took ``tests/fixtures/golden.json`` with ``tests/fixtures/make_golden.py``. Bitwise
results depend on the CPU's kernels (the stored fixtures were taken on an Intel Xeon with AMX; an
AVX2-only AMD EPYC gives other last bits), so both codes run on the same machine.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch

import ganzoo

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_spec = importlib.util.spec_from_file_location("make_golden", FIXTURES / "make_golden.py")
make_golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_golden)
CASES = sorted(f"{r}/{d}" for r in make_golden.RECIPES for d in make_golden.DATASETS)


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    """Every case's history and weight hashes from the code before games, on this machine."""
    folder = tmp_path_factory.mktemp("before")
    with tarfile.open(FIXTURES / "ganzoo_before_games.tar.gz") as tar:
        tar.extractall(folder, filter="data")
    env = {**os.environ, "PYTHONPATH": str(folder / "src"), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(FIXTURES / "make_golden.py"), "--stdout"], env=env,
                            capture_output=True, text=True, timeout=900, cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_the_reference_is_the_code_before_games(golden):
    assert sorted(golden) == CASES
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists() and "amx_bf16" in cpuinfo.read_text():
        # on the kind of machine the fixtures were taken on, the code before games reproduces them
        assert golden == json.loads((FIXTURES / "golden.json").read_text())


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


@pytest.mark.parametrize("case", CASES)
def test_training_is_bitwise_the_code_before_games(case, golden, one_thread):
    recipe, dataset = case.split("/")
    got = make_golden.run(recipe, dataset)
    want = golden[case]
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
