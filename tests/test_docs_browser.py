"""The built docs typeset their formulas in a real browser, offline (headless Chromium).

Opens pages of the built site (``python docs/build.py`` -> ``site/``) from disk with every
network request sent to a closed port, lets the scripts run (``--virtual-time-budget``),
and reads the DOM Chromium dumps: typeset math (``<mjx-container>``) must be there and no raw
``\\(`` / ``\\[`` left in the text. Skipped, with the reason, when Chromium or the built site
is missing locally; under CI (``CI=true``, set by ``.ci/run``) a missing one fails instead.
"""

from __future__ import annotations

import html.parser
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "site"
PAGES = {
    "concepts": SITE / "concepts" / "lipschitz" / "index.html",
    "api": SITE / "api" / "ganzoo.regularizers.html",
}
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _need(ok: bool, reason: str) -> None:
    if not ok:
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the browser test must run in CI)")
        pytest.skip(reason)


def chromium() -> str:
    found = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    _need(found is not None, "no chromium on PATH (apt-get install chromium; .ci/run installs it)")
    _need(all(p.is_file() for p in PAGES.values()), "the docs site is not built (python docs/build.py)")
    return str(found)


def browser(*args: str) -> str:
    offline = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>", "--no-first-run",
               "--virtual-time-budget=20000"]
    result = subprocess.run([chromium(), *offline, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


class _Text(html.parser.HTMLParser):
    """The page's visible text, leaving out scripts, styles, code blocks and MathJax's output."""

    SKIP = {"script", "style", "pre", "code", "mjx-container", "textarea", "noscript"}

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.parts = 0, []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.parts.append(data)


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_math_is_typeset_offline(kind: str) -> None:
    page = PAGES[kind]
    raw = page.read_text(encoding="utf-8")
    assert "\\(" in raw or "\\[" in raw, f"{page} has no formula to typeset"
    assert "cdn.jsdelivr" not in raw and "mathjax@3" not in raw, "the page still loads MathJax from a CDN"
    dom = browser("--dump-dom", page.as_uri())
    assert dom.count("<mjx-container") >= 3, f"MathJax typeset nothing on {page}"
    parser = _Text()
    parser.feed(dom)
    text = "".join(parser.parts)
    for raw_tex in ("\\(", "\\[", "\\)", "\\]"):
        assert raw_tex not in text, f"raw TeX {raw_tex!r} left on {page}: ...{text[text.find(raw_tex) - 80:][:200]}..."
    assert "<mjx-merror" not in dom, f"a formula failed to typeset on {page}"


def test_screenshots(tmp_path: Path) -> None:
    """Screenshots of both pages (saved to $GANZOO_SCREENSHOTS when set, for a person to look at)."""
    out = Path(os.environ.get("GANZOO_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    for kind, page in PAGES.items():
        shot = out / f"docs_{kind}.png"
        browser(f"--screenshot={shot}", "--window-size=1280,2600", "--hide-scrollbars", page.as_uri())
        assert shot.is_file() and shot.stat().st_size > 10_000
