"""The documentation's promises, checked without building it (Sphinx is not a test dependency).

* every name of ``ganzoo.__all__`` is documented in the API reference (``docs/api``) with a
  non-empty description, and every public module has its page;
* every Python block of the user guide (``docs/guide``) runs, unless marked
  ``<!-- docs-test: skip -->``;
* the concept pages cite the papers and show figures that ``docs/scripts/make_figures.py``
  makes; placeholders are visible to readers; CI builds the site with the README's command.

The strict builds themselves (``sphinx-build -W``, the doctests, ``mkdocs build --strict``)
run in CI through ``python docs/build.py``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import pkgutil
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

import ganzoo
from ganzoo.registry import CRITICS, GENERATORS, LOSSES, REGULARIZERS

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api"
GUIDE = ROOT / "docs" / "guide"
DIRECTIVE = re.compile(r"^\.\. (auto\w+|py:\w+|currentmodule|py:currentmodule)::\s*(\S+)(.*?)(?=^\S|\Z)", re.M | re.S)


# ------------------------------------------------------------------ API reference
def _rst_directives() -> list[tuple[str, str, str, str]]:
    """(file, directive, argument, body) of every autodoc/py directive in docs/api/*.rst."""
    found = []
    for path in sorted(API.glob("*.rst")):
        for kind, arg, body in DIRECTIVE.findall(path.read_text(encoding="utf-8")):
            found.append((path.name, kind, arg, body))
    return found


def _documented() -> dict[str, str]:
    """Fully qualified names the reference documents -> the page that documents them."""
    names: dict[str, str] = {}
    for page, kind, arg, body in _rst_directives():
        module = page.removesuffix(".rst")
        if kind == "automodule":
            names[arg] = page
            if ":members:" in body:
                for member in importlib.import_module(arg).__all__:
                    names[f"{arg}.{member}"] = page
        elif kind.startswith("auto") or kind.startswith("py:"):
            if kind.endswith("currentmodule"):
                continue
            qualified = arg if arg.startswith("ganzoo") else f"{module}.{arg}"
            text = [line for line in body.splitlines() if line.strip() and not line.strip().startswith(":")]
            if kind.startswith("py:") and not text:
                continue  # a hand-written entry without a description does not count
            names[qualified] = page
    return names


def _canonical(name: str, obj: Any) -> str:
    if isinstance(obj, ModuleType):
        return obj.__name__
    if inspect.isclass(obj) or inspect.isfunction(obj):
        return f"{obj.__module__}.{obj.__qualname__}"
    return f"ganzoo.{name}"


def _public_modules() -> list[str]:
    modules = ["ganzoo"]
    for info in pkgutil.walk_packages(ganzoo.__path__, "ganzoo."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            modules.append(info.name)
    return sorted(modules)


@pytest.mark.parametrize("name", ganzoo.__all__)
def test_every_public_name_is_in_the_api_reference_with_a_description(name):
    obj = getattr(ganzoo, name)
    target = _canonical(name, obj)
    documented = _documented()
    assert target in documented, (
        f"ganzoo.{name} ({target}) is not in the API reference: add it to docs/api/"
        f"{target.rsplit('.', 1)[0] if '.' in target else target}.rst (or the module's __all__)"
    )
    if isinstance(obj, (ModuleType, type)) or callable(obj):
        doc = inspect.getdoc(obj) or ""
        assert doc.strip(), f"ganzoo.{name} has no docstring, so its API entry would be empty"


@pytest.mark.parametrize("module", _public_modules())
def test_every_public_module_has_a_page_in_the_index(module):
    page = API / f"{module}.rst"
    assert page.is_file(), f"public module {module} has no API page: create docs/api/{module}.rst"
    index = (API / "index.rst").read_text(encoding="utf-8")
    assert re.search(rf"^\s+{re.escape(module)}$", index, re.M), f"add {module} to a toctree in docs/api/index.rst"
    assert (importlib.import_module(module).__doc__ or "").strip(), f"{module} has no module docstring"


def _doc_comment_names(module: ModuleType) -> set[str]:
    """Module-level names assigned right after a ``#:`` documentation comment."""
    source = inspect.getsource(module).splitlines()
    names = set()
    for node in ast.parse("\n".join(source)).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.lineno >= 2:
            if source[node.lineno - 2].lstrip().startswith("#:"):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


@pytest.mark.parametrize("module", [m for m in _public_modules() if m != "ganzoo"])
def test_every_name_of_a_module_all_has_documentation(module):
    """autodoc silently leaves out members without a docstring (or a ``#:`` comment)."""
    mod = importlib.import_module(module)
    commented = _doc_comment_names(mod)
    missing = []
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name)
        if inspect.isclass(obj) or inspect.isfunction(inspect.unwrap(obj)) or isinstance(obj, ModuleType):
            if not (inspect.getdoc(obj) or "").strip():
                missing.append(name)
        elif name not in commented:
            missing.append(name)
    assert not missing, f"{module}: no docstring or '#:' comment for {missing}; the API reference would skip them"


# ------------------------------------------------------------------ guide code blocks
BLOCK = re.compile(r"(<!--[^>]*-->\s*)?```python\n(.*?)```", re.S)


def _runnable_blocks(page: str) -> list[str]:
    text = (GUIDE / page).read_text(encoding="utf-8")
    return [code for marker, code in BLOCK.findall(text) if "docs-test: skip" not in (marker or "")]


def _guide_pages_with_code() -> list[str]:
    pages = sorted(str(p.relative_to(GUIDE)) for p in GUIDE.rglob("*.md"))
    return [page for page in pages if _runnable_blocks(page)]


def _make_image_folder(root: Path) -> None:
    from PIL import Image

    folder = root / "data" / "faces" / "all"
    folder.mkdir(parents=True)
    gen = torch.Generator().manual_seed(0)
    for i in range(4):
        pixels = (torch.rand(80, 72, 3, generator=gen) * 255).to(torch.uint8).numpy()
        Image.fromarray(pixels).save(folder / f"{i}.png")


def _make_anime_generator(root: Path) -> None:
    """What examples/anime_wgan_gp.py writes for a model: the generator's weights and config."""
    import json

    folder = root / "runs" / "anime" / "wgan_gp"
    folder.mkdir(parents=True)
    G = ganzoo.create_generator("dcgan", latent_dim=100, image_size=64, channels=3)
    torch.save(G.state_dict(), folder / "generator.pt")
    (folder / "generator.json").write_text(json.dumps(ganzoo.get_config(G)))


SETUP = {"how-to/image-folder.md": _make_image_folder, "walkthrough_anime.md": _make_anime_generator}


@pytest.fixture
def isolated_registries():
    saved = [(r, dict(r._builders)) for r in (GENERATORS, CRITICS, LOSSES, REGULARIZERS)]
    yield
    for registry, builders in saved:
        registry._builders.clear()
        registry._builders.update(builders)


@pytest.mark.parametrize("page", _guide_pages_with_code())
def test_guide_python_blocks_run(page, tmp_path, monkeypatch, isolated_registries, one_thread):
    blocks = _runnable_blocks(page)
    monkeypatch.chdir(tmp_path)
    if page in SETUP:
        SETUP[page](tmp_path)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for i, code in enumerate(blocks, 1):
        try:
            exec(compile(code, f"{page} (python block {i})", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"{page}: python block {i} failed: {type(exc).__name__}: {exc}\n{code}") from exc


# ------------------------------------------------------------------ concepts, placeholders, CI
PAPERS = {
    "Goodfellow et al. 2014": r"Goodfellow.*2014",
    "Radford et al. 2016": r"Radford.*2016",
    "Arjovsky et al. 2017": r"Arjovsky.*2017",
    "Gulrajani et al. 2017": r"Gulrajani.*2017",
    "Miyato et al. 2018": r"Miyato.*2018",
}


def test_concept_pages_cite_the_papers():
    text = " ".join(p.read_text(encoding="utf-8") for p in (GUIDE / "concepts").glob("*.md"))
    text = re.sub(r"\s+", " ", text)
    missing = [paper for paper, pattern in PAPERS.items() if not re.search(pattern, text)]
    assert not missing, f"the Concepts pages do not cite {missing}"


def test_concept_figures_exist_are_shown_and_come_from_the_figure_script():
    script = (ROOT / "docs" / "scripts" / "make_figures.py").read_text(encoding="utf-8")
    committed = {p.stem for p in (GUIDE / "images" / "concepts").glob("*.png")}
    pages = " ".join(p.read_text(encoding="utf-8") for p in GUIDE.rglob("*.md"))
    shown = set(re.findall(r"images/concepts/(\w+)\.png", pages))
    assert shown, "the guide shows no concept figures"
    assert shown <= committed, f"run docs/scripts/make_figures.py: missing {sorted(shown - committed)}"
    assert committed <= shown, f"figures committed but shown on no page: {sorted(committed - shown)}"
    not_made = [name for name in shown if f'"{name}"' not in script]
    assert not not_made, f"figures not made by docs/scripts/make_figures.py: {not_made}"


def test_placeholders_are_visible_to_readers():
    for page in GUIDE.rglob("*.md"):
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line.startswith("<!-- placeholder:"):
                near = "\n".join(lines[max(0, i - 6): i + 6])
                assert re.search(r"^!!! (note|warning)", near, re.M), (
                    f"{page.relative_to(ROOT)}:{i + 1}: a placeholder needs a visible admonition next to it"
                )


def test_getting_started_runs_the_examples_the_repository_ships():
    import runpy

    check = runpy.run_path(str(ROOT / "docs" / "scripts" / "check_getting_started.py"))
    commands = "\n".join(check["commands"]())
    for script in re.findall(r"python (examples/\S+\.py)", commands):
        assert (ROOT / script).is_file(), f"getting-started.md runs {script}, which does not exist"
    assert "pip install -e" in commands and "toy_grid_wgan_gp.py" in commands


def test_ci_builds_the_docs_with_the_readme_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Documentation", 1)[1]
    command = re.search(r"```bash\n(.+?)\n```", section, re.S).group(1).strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python docs/build.py" in command
    assert command in [line.strip() for line in ci.splitlines()], "CI must run the README's docs command"


def test_build_script_is_strict():
    source = (ROOT / "docs" / "build.py").read_text(encoding="utf-8")
    assert '"-W", "--keep-going"' in source and '"--strict"' in source and '"doctest"' in source
    conf = (API / "conf.py").read_text(encoding="utf-8")
    assert "nitpicky = True" in conf
    assert os.path.getsize(API / "_inventories" / "torch.inv") < 20_000  # small, shipped, offline


def test_benchmark_results_show_when_committed_and_a_note_while_absent(tmp_path, monkeypatch):
    import runpy

    hook = runpy.run_path(str(ROOT / "docs" / "scripts" / "results_hook.py"))
    page = (GUIDE / "benchmarks.md").read_text(encoding="utf-8")
    for name in ("mode_collapse.md", "throughput.md"):
        assert f"<!-- result: benchmarks/results/{name} -->" in page, f"the Benchmarks page has no place for {name}"

    render = hook["render"]
    root = tmp_path / "repo"
    (root / "benchmarks" / "results").mkdir(parents=True)
    (root / "benchmarks" / "mode_collapse.py").write_text("")
    render.__globals__["ROOT"] = root  # the hook's repository root, for this test only
    try:
        text = "## Results\n\n<!-- result: benchmarks/results/mode_collapse.md -->\n"
        absent = render(text)
        assert '!!! note "Not committed yet: `benchmarks/results/mode_collapse.md`"' in absent
        assert "python benchmarks/mode_collapse.py" in absent

        (root / "benchmarks" / "results" / "mode_collapse.md").write_text(
            "# Mode collapse\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n## Cost\n\n![plot](mode_collapse_grid.png)\n"
        )
        present = render(text, page_dir="")
        assert "### Mode collapse" in present and "#### Cost" in present and "| 1 | 2 |" in present
        assert "![plot](benchmarks/results/mode_collapse_grid.png)" in present
        assert "Not committed yet" not in present
        image = render('<!-- result: benchmarks/results/mode_collapse.md "x" -->\n<!-- result: benchmarks/results/a.png "A" -->\n')
        assert "Not committed yet: `benchmarks/results/a.png`" in image
        (root / "benchmarks" / "results" / "a.png").write_bytes(b"")
        assert "![A](../benchmarks/results/a.png)" in render('<!-- result: benchmarks/results/a.png "A" -->', page_dir="how-to")
    finally:
        render.__globals__["ROOT"] = ROOT
