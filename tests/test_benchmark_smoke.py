"""Smoke test: ``python benchmarks/mode_collapse.py --quick`` runs end to end (issue 3, item 6)."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench(request):
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(ROOT / "benchmarks"))  # spawned workers import the script by name
    request.addfinalizer(mp.undo)
    return importlib.import_module("mode_collapse")


def test_quick_run_writes_every_result(bench, tmp_path):
    payload = bench.main(["--quick", "--out", str(tmp_path)])
    records = payload["records"]
    assert len(records) == 4 * 3 * 2  # recipes x datasets x seeds
    assert {(r["recipe"], r["dataset"]) for r in records} == {
        (v.name, d) for v in bench.MAIN for d in bench.DATASETS
    }
    for r in records:
        assert r["steps"] == bench.QUICK[r["dataset"]].steps
        assert 0 <= r["modes"] <= r["num_modes"] == bench.MODES[r["dataset"]]
        assert 0.0 <= r["hq_pct"] <= 100.0 and (r["reverse_kl"] >= 0 or math.isnan(r["reverse_kl"]))
        assert r["cpu_seconds"] > 0 and [p["step"] for p in r["curve"]][-1] == r["steps"]
        assert set(r["ema"]) >= {"modes", "hq_pct", "reverse_kl"}
        assert "generator_loss_std" in r["stability"]
    saved = json.loads((tmp_path / "mode_collapse.json").read_text())
    assert len(saved["records"]) == len(records) and saved["command"].endswith("--quick --out " + str(tmp_path))
    table = (tmp_path / "mode_collapse.md").read_text()
    assert "| PacGAN4 | 7.8±0.1 / 95.9±1.4 / 0.07±0.02 | 24.8±0.2 / 93.6±0.6 / 0.04±0.01 | - |" in table
    assert all(f"| **ganzoo {v.name}** |" in table for v in bench.MAIN)
    for name in ("ring", "grid", "faces", "budget"):
        assert (tmp_path / f"mode_collapse_{name}.png").stat().st_size > 1000

    again = bench.main(["--quick", "--out", str(tmp_path), "--datasets", "ring", "--workers", "1"])
    assert again["reused_runs"] == 4 * 2  # finished runs come from the cache
    assert [r["modes"] for r in again["records"]] == [r["modes"] for r in records if r["dataset"] == "ring"]


def test_mean_and_standard_error(bench):
    mean, se = bench._mean_se([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5 and se == pytest.approx(math.sqrt(5 / 3 / 4))
    assert bench._fmt([24.0, 25.0], 1) == "24.5±0.5"
    assert bench._fmt([7.0], 1) == "7.0" and bench._fmt([math.nan], 1) == "-"


def test_sample_quality_quick_run_scores_every_recipe_on_both_data_sets(capsys, monkeypatch):
    pytest.importorskip("torch_fidelity")
    pytest.importorskip("sklearn")
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    sample_quality = importlib.import_module("sample_quality")
    assert sample_quality.main(["--quick", "--seeds", "1", "--threads", "1"]) == 0
    table = capsys.readouterr().out
    for data in ("digits", "faces"):
        assert f"| {data} | real held-out (floor) | 0 |" in table
        for recipe in sample_quality.RECIPES:
            assert f"| {data} | {recipe} |" in table
    faces_floor = next(line for line in table.splitlines() if line.startswith("| faces | real held-out"))
    assert float(faces_floor.split("|")[8]) > 0  # the exact face readout finds modes among real faces
