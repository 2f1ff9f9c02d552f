"""The repository's promises: CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Tests", 1)[1]
    command = re.search(r"```bash\n(.+?)\n```", section, re.S).group(1).strip()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines


def test_ci_installs_what_every_test_needs_and_fails_on_a_skip():
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    names = {re.split(r"[<>=!\[ ]", requirement, 1)[0] for requirement in extra}
    assert {"tqdm", "tensorboard"} <= names  # the progress-bar and TensorBoard tests import them
    assert "export GANZOO_NO_SKIPS=1" in (ROOT / ".ci" / "run").read_text()
