"""Sphinx configuration of ganzoo's API reference (``docs/api``).

Build it with ``python docs/build.py`` (the whole site) or on its own with
``sphinx-build -W --keep-going -b html docs/api docs/guide/api``.

The build is strict (``-W``: every warning is an error, ``nitpicky``: every cross
reference must resolve) and offline: intersphinx reads the small inventories shipped in
``_inventories/`` (the Python and PyTorch names ganzoo's docs link to, see
``_inventories/make_inventories.py``). Set ``GANZOO_DOCS_INTERSPHINX=online`` to use the
full inventories of docs.python.org and docs.pytorch.org instead (needs the network).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))  # document the checkout, installed or not

import ganzoo  # noqa: E402
from sphinx.ext.autodoc.typehints import record_typehints  # noqa: E402
from sphinx.util import logging  # noqa: E402

logger = logging.getLogger("ganzoo.docs")

project = "ganzoo"
author = "ganzoo developers"
copyright = "ganzoo developers, MIT license"  # noqa: A001 - Sphinx's name
release = ganzoo.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
]

exclude_patterns = ["_build", "_inventories"]
nitpicky = True
nitpick_ignore = [("py:class", "ganzoo.registry.T"), ("py:obj", "ganzoo.registry.T")]  # Registry's TypeVar
default_role = "py:obj"

# autodoc: members in source order, type hints in the parameter descriptions.
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_typehints_format = "short"
autodoc_default_options = {"show-inheritance": True}
autodoc_inherit_docstrings = False
autosummary_generate = False

# napoleon: Google style only; "Attributes:" become attribute entries that can be linked.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = False
napoleon_use_rtype = False

# intersphinx: offline by default (see the module docstring).
_ONLINE = os.environ.get("GANZOO_DOCS_INTERSPHINX", "offline").lower() == "online"
_INV = HERE / "_inventories"
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None if _ONLINE else str(_INV / "python.inv")),
    "torch": ("https://docs.pytorch.org/docs/stable", None if _ONLINE else str(_INV / "torch.inv")),
}

# doctest: every ">>>" block of every docstring runs (sphinx-build -b doctest).
doctest_global_setup = "import torch\ntorch.manual_seed(0)\nimport ganzoo"
doctest_test_doctest_blocks = "default"

# MathJax from a local copy (docs/scripts/vendor_mathjax.py), never a CDN: the site works offline.
sys.path.insert(0, str(ROOT / "docs" / "scripts"))
from vendor_mathjax import vendor_mathjax  # noqa: E402

_STATIC = ROOT / "build" / "docs" / "api_static"
vendor_mathjax(_STATIC / "mathjax")
mathjax_path = "mathjax/tex-mml-chtml.js"  # relative to _static/

# furo (maintained, light and dark) in the guide's Material indigo, with a link back to the guide.
html_theme = "furo"
html_title = f"ganzoo {release} API reference"
_INDIGO = {"color-brand-primary": "#3f51b5", "color-brand-content": "#3f51b5",
           "color-announcement-background": "#3f51b5", "color-announcement-text": "#ffffff"}
html_theme_options = {
    "light_css_variables": _INDIGO,
    "dark_css_variables": {"color-brand-primary": "#7986cb", "color-brand-content": "#7986cb"},
    "announcement": '<a href="../index.html">&larr; ganzoo user guide</a> &middot; API reference',
}
html_static_path: list[str] = [str(_STATIC)]
html_show_sourcelink = False
html_copy_source = False


def _canonical_target(target: str) -> str | None:
    """``ganzoo.Trainer.fit`` -> ``ganzoo.trainer.Trainer.fit``: where the object is documented."""
    parts = target.split(".")
    if parts[0] != "ganzoo":
        return None
    obj: Any = ganzoo
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:  # a submodule not imported by its package
                obj = importlib.import_module(".".join(parts[: i + 1]))
            except ImportError:
                return None
    if inspect.ismodule(obj):
        return obj.__name__
    owner = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not owner or not qualname or "<" in qualname:
        # a property or a plain attribute (``ganzoo.Trainer.history``): documented on its class
        prefix = ".".join(parts[:-1])
        canonical = f"{_canonical_target(prefix) or prefix}.{parts[-1]}"
        return canonical if canonical != target else None
    canonical = f"{owner}.{qualname}"
    return canonical if canonical != target else None


def _resolve_alias(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Let ``ganzoo.Trainer`` (the public alias) link to ``ganzoo.trainer.Trainer``.

    Also resolves a short name (``Trainer``) against the current module, so the
    package docstring's ``:class:`Trainer``` links too, and, for a package whose classes
    live in private submodules (``ganzoo.callbacks._checkpoint``), against those: an
    unevaluated annotation such as ``Path`` names what the defining module imported.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    module = node.get("py:module")
    candidates = [target]
    if not target.startswith("ganzoo.") and module and module.startswith("ganzoo"):
        private = sorted(name for name in sys.modules if name.startswith(f"{module}._"))
        candidates = [f"{module}.{target}"] + [f"{name}.{target}" for name in private]
    canonical = next((c for c in map(_canonical_target, candidates) if c is not None), None)
    if canonical is None:
        return None
    if not canonical.startswith("ganzoo"):  # a Python or PyTorch name imported by a ganzoo module
        from sphinx.ext.intersphinx import missing_reference

        external = node.deepcopy()
        external["reftarget"] = canonical
        return missing_reference(app, env, external, contnode)
    domain = env.get_domain("py")
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], canonical, node, contnode)


def _public_bases(app: Any, name: str, obj: Any, options: Any, bases: list[Any]) -> None:
    """Show a private base class (``_Periodic``) as the public classes it derives from."""
    public: list[Any] = []
    for base in bases:
        queue = [base]
        while queue:
            cls = queue.pop(0)
            if cls.__name__.startswith("_") and cls.__module__.startswith("ganzoo"):
                queue.extend(cls.__bases__)
            elif cls not in public:
                public.append(cls)
    bases[:] = public


def _record_init_typehints(app: Any, what: str, name: str, obj: Any, options: Any, signature: Any, return_annotation: Any) -> None:
    """Record a class's parameter types from its evaluated ``__init__`` hints.

    With ``from __future__ import annotations`` autodoc evaluates a class's hints against
    the class, not its ``__init__``, and keeps strings such as ``"nn.Module"``; this
    records the evaluated ones (``torch.nn.Module``) so they link.
    """
    if what == "class" and inspect.isfunction(getattr(obj, "__init__", None)):
        record_typehints(app, what, name, obj.__init__, options, signature, return_annotation)


def _check_public_names(app: Any, env: Any) -> None:
    """Fail the strict build when a name of ``ganzoo.__all__`` has no entry in the reference."""
    documented = env.get_domain("py").objects
    for name in ganzoo.__all__:
        target = f"ganzoo.{name}"
        canonical = _canonical_target(target) or target
        if target not in documented and canonical not in documented:
            logger.warning(
                "ganzoo.__all__ lists %r but the API reference does not document it (looked for %s); "
                "add it to the page of the module that defines it",
                name, canonical, type="ganzoo", subtype="undocumented",
            )


def setup(app: Any) -> dict[str, Any]:
    app.connect("env-check-consistency", _check_public_names)
    app.connect("autodoc-process-signature", _record_init_typehints, priority=600)
    app.connect("missing-reference", _resolve_alias)
    app.connect("autodoc-process-bases", _public_bases)
    return {"parallel_read_safe": True}
