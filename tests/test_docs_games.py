"""The "Write your own game" how-to (docs/guide/how-to/custom-game.md) runs as printed.

Its first Python block is the complete example: under 40 lines, it defines a game, registers
it, trains it with the Trainer and samples. The page's later blocks (save and resume) run
after it in the same namespace. The page's blocks are marked ``docs-test: skip`` for
tests/test_docs.py, which does not restore the games registry: this test runs them instead,
removes the page's game names before and restores the registry after.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import torch

import ganzoo
from ganzoo.games import GAMES

PAGE = Path(__file__).resolve().parents[1] / "docs" / "guide" / "how-to" / "custom-game.md"
BLOCK = re.compile(r"(<!--[^>]*-->\s*)?```python\n(.*?)```", re.S)
MAX_LINES = 40  # the example must be shorter than this


def _blocks() -> list[str]:
    return [code for _, code in BLOCK.findall(PAGE.read_text(encoding="utf-8"))]


def _registered_names() -> list[str]:
    return re.findall(r"""GAMES\.register\(["'](\w+)["']\)""", PAGE.read_text(encoding="utf-8"))


@pytest.fixture
def games_registry():
    """The page's game names unregistered while it runs; the registry as it was afterwards."""
    saved = dict(GAMES._builders)
    for name in _registered_names():
        GAMES._builders.pop(name, None)
    yield
    GAMES._builders.clear()
    GAMES._builders.update(saved)


def test_the_example_is_complete_and_under_40_lines():
    blocks = _blocks()
    assert blocks, f"{PAGE.name} has no python block"
    example = blocks[0]
    lines = len(example.splitlines())
    assert lines < MAX_LINES, f"the example of {PAGE.name} has {lines} lines; keep it under {MAX_LINES}"
    for part in ("GAMES.register(", "(Game)", "phases", "def networks", "def losses", "def sample",
                 "ganzoo.Trainer(", ".fit(", ".sample("):
        assert part in example, f"the example of {PAGE.name} does not show {part!r}"
    assert _registered_names(), "the example registers no game"


def test_the_page_runs_trains_the_game_and_resumes(tmp_path, monkeypatch, games_registry, one_thread):
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    blocks = _blocks()
    exec(compile(blocks[0], f"{PAGE.name} (python block 1)", "exec"), namespace)

    trainer = namespace["trainer"]
    (name,) = _registered_names()
    assert name in ganzoo.list_games()
    assert type(trainer.game) is GAMES.get(name)
    steps = trainer.step
    assert steps > 0 and len(trainer.history) == steps
    assert "moment_loss" in trainer.history.columns
    moments = trainer.history.column("moment_loss")
    assert len(moments) == steps and all(math.isfinite(v) for v in moments)
    assert all(math.isfinite(v) for v in trainer.history.column("critic_loss"))
    samples = trainer.sample(7)
    assert samples.shape == (7, 2) and torch.isfinite(samples).all()

    for i, code in enumerate(blocks[1:], 2):  # save and resume
        exec(compile(code, f"{PAGE.name} (python block {i})", "exec"), namespace)
    resumed = namespace["resumed"]
    assert type(resumed.game) is type(trainer.game)
    assert resumed.game.config() == trainer.game.config()
    assert resumed.step > steps and len(resumed.history) == resumed.step
    assert "moment_loss" in resumed.history.columns
