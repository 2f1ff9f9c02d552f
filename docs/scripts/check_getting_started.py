"""Run the Getting started page's commands, as written, in a fresh folder and a fresh venv.

    flock /tmp/ganzoo-heavy.lock python docs/scripts/check_getting_started.py --update

Collects every ```bash block that follows a ``<!-- getting-started: run -->`` marker in
``docs/guide/getting-started.md`` and runs them in order in one bash session inside a new
temporary folder. The one change: ``git clone <the project URL>`` clones this checkout's
committed HEAD instead (commit first), since the check must not depend on the network.
It then checks that the run wrote the files the page shows. With ``--update`` it copies
the pictures and the printed output of the commands named in ``OUTPUTS`` into
``docs/guide/images/getting-started/``, which the page displays (the outputs through
snippet includes), so the page always shows what its own commands produced.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "guide" / "getting-started.md"
IMAGES = ROOT / "docs" / "guide" / "images" / "getting-started"
BLOCK = re.compile(r"<!-- getting-started: run -->\s*```bash\n(.*?)```", re.S)
CLONE = re.compile(r"^git clone https://github\.com/\S+/(\S+?)\.git", re.M)
TRAIN = "python examples/toy_grid_wgan_gp.py"
# command (start of a line of the page) -> file its printed output is kept in
OUTPUTS = {
    'python -c "import ganzoo': "check_output.txt",
    TRAIN: "train_output.txt",
    "python examples/plot_history.py": "plot_history_output.txt",
}
EXPECTED = ("runs/grid/samples.png", "runs/grid/history.png", "runs/grid/checkpoint.pt")


def commands() -> list[str]:
    """The page's runnable bash blocks, in order."""
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    if not blocks:
        raise SystemExit(f"{PAGE}: no '<!-- getting-started: run -->' bash blocks found")
    return [block.strip() for block in blocks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="copy the outputs into the page's images folder")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    blocks = commands()
    script = "\n".join(blocks)
    script = CLONE.sub(lambda m: f"git clone {ROOT} {m.group(1)}", script, count=1)
    workdir = Path(tempfile.mkdtemp(prefix="ganzoo-getting-started-"))
    lines = ["set -euo pipefail"]
    for line in script.splitlines():
        lines.append(f"echo {shlex.quote('$ ' + line)} >&2")
        output = next((name for command, name in OUTPUTS.items() if line.startswith(command)), None)
        lines.append(line if output is None else f"{line} | tee {workdir}/{output}")
    print(f"running {len(blocks)} blocks from {PAGE.relative_to(ROOT)} in {workdir}", flush=True)
    start = time.time()
    result = subprocess.run(["bash", "-c", "\n".join(lines)], cwd=workdir)
    elapsed = time.time() - start
    if result.returncode != 0:
        raise SystemExit(f"the page's commands failed (exit {result.returncode}) after {elapsed:.0f} s; see {workdir}")
    project = workdir / "ganzoo"
    missing = [name for name in EXPECTED if not (project / name).is_file()]
    if missing:
        raise SystemExit(f"the commands ran but did not write {missing}; see {workdir}")
    missing = [name for name in OUTPUTS.values() if not (workdir / name).is_file()]
    if missing:
        raise SystemExit(f"no output captured for {missing}: the page no longer runs those commands")
    print(f"all commands passed in {elapsed:.0f} s and wrote {', '.join(EXPECTED)}")
    if args.update:
        IMAGES.mkdir(parents=True, exist_ok=True)
        for name in ("samples.png", "history.png"):
            shutil.copy2(project / "runs" / "grid" / name, IMAGES / name)
        for name in OUTPUTS.values():
            shutil.copy2(workdir / name, IMAGES / name)
        print(f"updated {IMAGES.relative_to(ROOT)}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
