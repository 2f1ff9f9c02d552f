"""mkdocs hook: show committed benchmark results on the guide's pages, or say they are missing.

A page marks where a result goes with an HTML comment on a line of its own::

    <!-- result: benchmarks/results/mode_collapse.md -->
    <!-- result: benchmarks/results/mode_collapse_grid.png "WGAN-GP and DCGAN samples on the grid" -->

If the file exists (paths are relative to the repository root), a Markdown file is
inserted in place of the marker (its headings moved two levels down, so its ``#`` title
becomes a ``###`` under the page's section; relative links and images pointed at the results
folder) and an image is shown with the caption as its alt text. If it does not exist, a
visible note names the file and how it is made, so the page builds, strictly, before the
results are committed and after.

Every file under ``benchmarks/results/`` (except run caches) is copied into the site at the
same path, so the inserted tables and images link to real files.

``mkdocs.yml`` loads this file with ``hooks: [docs/scripts/results_hook.py]``;
``tests/test_docs.py`` calls :func:`render` directly.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = "benchmarks/results"
MARKER = re.compile(r'^<!-- result: (?P<path>\S+)(?: "(?P<caption>[^"]*)")? -->[ \t]*$', re.M)
HEADING = re.compile(r"^(#{1,4}) ", re.M)
FENCE = re.compile(r"(^```.*?^```[ \t]*$)", re.M | re.S)
LINK = re.compile(r"(?P<label>!?\[[^\]]*\])\((?P<target>(?!https?://|/|#)[^)\s]+)\)")


def _script(path: str) -> str | None:
    """The benchmark script that writes ``path``: ``mode_collapse_grid.png`` -> ``mode_collapse.py``."""
    parts = Path(path).stem.split("_")
    for n in range(len(parts), 0, -1):
        script = f"benchmarks/{'_'.join(parts[:n])}.py"
        if (ROOT / script).is_file():
            return script
    return None


def _missing(path: str) -> str:
    script = _script(path)
    made_by = f" (made by `python {script}`)" if script else ""
    return (
        f'!!! note "Not committed yet: `{path}`"\n'
        f"    This place shows `{path}`{made_by} once it is committed to the repository.\n"
    )


def _markdown(path: str, page_dir: str) -> str:
    text = (ROOT / path).read_text(encoding="utf-8").strip() + "\n"
    pieces = FENCE.split(text)  # odd pieces are fenced code: their "#" lines are not headings
    text = "".join(p if i % 2 else HEADING.sub(lambda m: "#" * (len(m.group(1)) + 2) + " ", p)
                   for i, p in enumerate(pieces))
    folder = posixpath.dirname(path)

    def relink(m: re.Match[str]) -> str:
        target = posixpath.normpath(posixpath.join(folder, m["target"]))
        return f"{m['label']}({posixpath.relpath(target, page_dir or '.')})"

    return LINK.sub(relink, text)


def render(markdown: str, page_dir: str = "") -> str:
    """``markdown`` with every result marker replaced (``page_dir``: the page's folder
    inside the guide, for relative links)."""

    def replace(m: re.Match[str]) -> str:
        path = m["path"]
        if not path.startswith(RESULTS + "/"):
            raise ValueError(f"result markers may only name files under {RESULTS}/, not {path!r}")
        if not (ROOT / path).is_file():
            return _missing(path)
        if path.endswith(".md"):
            return _markdown(path, page_dir)
        caption = m["caption"] or Path(path).stem.replace("_", " ")
        return f"![{caption}]({posixpath.relpath(path, page_dir or '.')})"

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """mkdocs event: replace the result markers of every page."""
    return render(markdown, posixpath.dirname(page.file.src_uri))


def on_files(files: Any, config: Any) -> Any:
    """mkdocs event: copy the committed results (not their Markdown, which pages insert)
    into the site under ``benchmarks/results/``."""
    from mkdocs.structure.files import File

    results = ROOT / RESULTS
    if results.is_dir():
        for path in sorted(results.rglob("*")):
            relative = path.relative_to(ROOT).as_posix()
            skip = path.suffix == ".md" or "runs_cache" in path.parts or "quick" in path.parts
            if path.is_file() and not skip:
                files.append(File(relative, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files
