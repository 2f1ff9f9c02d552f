"""Copy MathJax 3 into the built docs, so formulas typeset offline (no CDN).

MathJax comes from the ``django-static-mathjax`` wheel (the docs extra installs it; its
``mathjax`` package ships MathJax 3.2.2's ``es5`` build, no Django needed). Only what the
``tex-mml-chtml`` component loads is copied: the component itself, the CHTML fonts and the
TeX extensions it may autoload (about 4 MB); the speech-rule engine is left out.
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["mathjax_source", "vendor_mathjax"]

ENTRY = "tex-mml-chtml.js"
PARTS = (ENTRY, "input", "output", "ui", "a11y", "adaptors")


def mathjax_source() -> Path:
    """The installed MathJax ``es5`` folder; a clear error when the docs extra is missing."""
    try:
        import mathjax  # from django-static-mathjax
    except ImportError as error:
        raise SystemExit(
            "the docs need a local MathJax copy: pip install -e '.[docs]' "
            "(it installs django-static-mathjax, which ships MathJax 3)"
        ) from error
    es5 = Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"
    if not (es5 / ENTRY).is_file():
        raise SystemExit(f"no {ENTRY} under {es5}: reinstall django-static-mathjax")
    return es5


def vendor_mathjax(dest: Path) -> Path:
    """Copy MathJax into ``dest`` (replacing what is there); return the entry script's path."""
    src = mathjax_source()
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for part in PARTS:
        if (src / part).is_dir():
            shutil.copytree(src / part, dest / part)
        else:
            shutil.copy2(src / part, dest / part)
    return dest / ENTRY
