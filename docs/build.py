"""Build ganzoo's whole documentation site in one command, strictly and offline.

    python docs/build.py                 # -> site/ (the guide) with site/api/ (the API reference)

Steps, each failing the build on any warning:

1. the Sphinx API reference, ``sphinx-build -W --keep-going -b html docs/api docs/guide/api``
   (nitpicky: every cross reference must resolve; intersphinx reads the inventories shipped in
   ``docs/api/_inventories``, so no network is needed);
2. every ``>>>`` example of every docstring, ``sphinx-build -W --keep-going -b doctest``;
3. the user guide, ``mkdocs build --strict`` (mkdocs-material); the API HTML sits inside the
   guide's folder, so the guide's links into it are checked and it is copied to ``site/api/``;
0. a local MathJax copy into the guide (and, from ``docs/api/conf.py``, the API reference),
   so formulas typeset offline;
4. every ``api/...html#anchor`` link of the guide is checked against the built API pages.

``--skip-doctest`` leaves out step 2 (a quicker rebuild while writing).
"""

from __future__ import annotations

import argparse
import html.parser
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
API_SRC = ROOT / "docs" / "api"
GUIDE = ROOT / "docs" / "guide"
API_OUT = GUIDE / "api"
WORK = ROOT / "build" / "docs"
SITE = ROOT / "site"
API_LINK = re.compile(r"\]\(((?:\.\./)*api/[^)#\s]+\.html)(?:#([^)\s]+))?\)")


def run(step: str, *args: str) -> None:
    print(f"==> {step}: {' '.join(args)}", flush=True)
    start = time.time()
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's banner about its successor
    result = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env)
    if result.returncode != 0:
        raise SystemExit(f"docs build failed at: {step} (exit {result.returncode})")
    print(f"    {step} ok ({time.time() - start:.0f} s)", flush=True)


class _Ids(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key == "id" and value:
                self.ids.add(value)


def check_api_links() -> list[str]:
    """Every ``api/X.html#anchor`` link in the guide's Markdown must name a real page and anchor."""
    problems, ids_cache = [], {}
    for page in sorted(GUIDE.rglob("*.md")):
        for target, anchor in API_LINK.findall(page.read_text(encoding="utf-8")):
            path = (page.parent / target).resolve()
            where = f"{page.relative_to(ROOT)}: ({target}{'#' + anchor if anchor else ''})"
            if not path.is_file():
                problems.append(f"{where}: no such API page")
                continue
            if anchor:
                if path not in ids_cache:
                    parser = _Ids()
                    parser.feed(path.read_text(encoding="utf-8"))
                    ids_cache[path] = parser.ids
                if anchor not in ids_cache[path]:
                    problems.append(f"{where}: the page has no anchor {anchor!r}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-doctest", action="store_true", help="do not run the docstring examples")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "docs" / "scripts"))
    from vendor_mathjax import vendor_mathjax

    vendor_mathjax(GUIDE / "javascripts" / "mathjax")  # the guide's offline MathJax copy
    strict = ("-W", "--keep-going", "-q", "-d", str(WORK / "doctrees"))
    run("API reference (Sphinx, strict)", "sphinx", *strict, "-b", "html", str(API_SRC), str(API_OUT))
    if not args.skip_doctest:
        run("docstring examples (Sphinx doctest)", "sphinx", *strict, "-b", "doctest", str(API_SRC),
            str(WORK / "doctest"))
    run("user guide (mkdocs, strict)", "mkdocs", "build", "--strict", "--clean", "--config-file",
        str(ROOT / "mkdocs.yml"), "--site-dir", str(SITE))
    problems = check_api_links()
    if problems:
        raise SystemExit("broken links from the guide into the API reference:\n  " + "\n  ".join(problems))
    print(f"==> site built: {SITE.relative_to(ROOT)}/index.html (API reference: "
          f"{SITE.relative_to(ROOT)}/api/index.html)")


if __name__ == "__main__":
    main()
