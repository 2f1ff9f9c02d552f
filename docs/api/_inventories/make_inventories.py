"""Write the small intersphinx inventories the offline API build links with.

The strict API build (``sphinx-build -W``, ``nitpicky``) must run without the network,
so it cannot download docs.python.org's and docs.pytorch.org's ``objects.inv``. These
two files hold just the names ganzoo's reference links to, each pointing at its page in
the official docs. When a docstring or type hint starts referring to a new Python or
PyTorch name, the build fails with "reference target not found": add the name below and
run ``python docs/api/_inventories/make_inventories.py``.

Entries are ``name: (role, page#anchor)``; ``$`` in the anchor stands for the name. An
alias (a private module path that type hints produce, e.g. ``torch.nn.modules.module.Module``)
points at the public name's page.
"""

from __future__ import annotations

import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

_STDTYPES = "library/stdtypes.html#$"
_FUNCTIONS = "library/functions.html#$"
_EXC = "library/exceptions.html#$"

PYTHON: dict[str, tuple[str, str]] = {
    **{name: ("class", _FUNCTIONS) for name in ("int", "float", "bool", "object", "type")},
    **{name: ("class", _STDTYPES) for name in ("str", "dict", "list", "tuple", "bytes")},
    "None": ("data", "library/constants.html#$"),
    **{
        name: ("exception", _EXC)
        for name in (
            "BaseException", "Exception", "ValueError", "KeyError", "RuntimeError",
            "FloatingPointError", "TypeError", "IndexError", "KeyboardInterrupt",
        )
    },
    "os.PathLike": ("class", "library/os.html#$"),
    "pathlib.Path": ("class", "library/pathlib.html#$"),
    "array.array": ("class", "library/array.html#$"),
    "fnmatch": ("module", "library/fnmatch.html#module-$"),
    "fnmatch.fnmatchcase": ("function", "library/fnmatch.html#$"),
    "difflib.get_close_matches": ("function", "library/difflib.html#$"),
    "json": ("module", "library/json.html#module-$"),
    "dataclasses.dataclass": ("function", "library/dataclasses.html#$"),
    "contextlib.AbstractContextManager": ("class", "library/contextlib.html#$"),
    "contextlib.nullcontext": ("function", "library/contextlib.html#$"),
    **{
        f"typing.{name}": ("class", "library/typing.html#$")
        for name in ("Generic", "TypeVar", "ContextManager", "Iterable", "Iterator", "Mapping", "Sequence", "Callable")
    },
    "typing.Any": ("data", "library/typing.html#$"),
    **{
        f"collections.abc.{name}": ("class", "library/collections.abc.html#$")
        for name in ("Iterable", "Iterator", "Mapping", "Sequence", "Callable")
    },
}

_GENERATED = "generated/{}.html#{}"


def _generated(name: str) -> str:
    return _GENERATED.format(name, name)


TORCH: dict[str, tuple[str, str]] = {
    "torch": ("module", "torch.html#module-torch"),
    "torch.Tensor": ("class", "tensors.html#torch.Tensor"),
    "torch.device": ("class", "tensor_attributes.html#torch.device"),
    "torch.dtype": ("class", "tensor_attributes.html#torch.dtype"),
    "torch.float16": ("data", "tensor_attributes.html#torch.dtype"),
    "torch.bfloat16": ("data", "tensor_attributes.html#torch.dtype"),
    "torch.channels_last": ("data", "tensor_attributes.html#torch.memory_format"),
    "torch.Generator": ("class", _generated("torch.Generator")),
    "torch.manual_seed": ("function", _generated("torch.manual_seed")),
    "torch.load": ("function", _generated("torch.load")),
    "torch.save": ("function", _generated("torch.save")),
    "torch.compile": ("function", _generated("torch.compile")),
    "torch.autocast": ("class", "amp.html#torch.autocast"),
    "torch.amp.GradScaler": ("class", "amp.html#gradient-scaling"),
    "torch.autograd.grad": ("function", _generated("torch.autograd.grad")),
    "torch.nn.Module": ("class", _generated("torch.nn.Module")),
    "torch.nn.Linear": ("class", _generated("torch.nn.Linear")),
    "torch.nn.Conv2d": ("class", _generated("torch.nn.Conv2d")),
    "torch.nn.ConvTranspose2d": ("class", _generated("torch.nn.ConvTranspose2d")),
    "torch.nn.BatchNorm2d": ("class", _generated("torch.nn.BatchNorm2d")),
    "torch.nn.SyncBatchNorm": ("class", _generated("torch.nn.SyncBatchNorm")),
    "torch.nn.parallel.DistributedDataParallel": ("class", _generated("torch.nn.parallel.DistributedDataParallel")),
    "torch.utils.data.DistributedSampler": ("class", "data.html#torch.utils.data.distributed.DistributedSampler"),
    "torch.nn.utils.parametrizations.spectral_norm": (
        "function", _generated("torch.nn.utils.parametrizations.spectral_norm")
    ),
    "torch.optim.Optimizer": ("class", "optim.html#torch.optim.Optimizer"),
    "torch.optim.Adam": ("class", _generated("torch.optim.Adam")),
    "torch.optim.RMSprop": ("class", _generated("torch.optim.RMSprop")),
    "torch.utils.data.DataLoader": ("class", "data.html#torch.utils.data.DataLoader"),
    "torch.utils.data.Dataset": ("class", "data.html#torch.utils.data.Dataset"),
    "torch.utils.data.TensorDataset": ("class", "data.html#torch.utils.data.TensorDataset"),
}

# Private paths that evaluated type hints and base-class lists produce.
TORCH_ALIASES = {
    "torch.nn.modules.module.Module": "torch.nn.Module",
    "torch.optim.optimizer.Optimizer": "torch.optim.Optimizer",
    "torch.utils.data.dataset.TensorDataset": "torch.utils.data.TensorDataset",
    "torch.utils.data.dataset.Dataset": "torch.utils.data.Dataset",
    "torch.utils.data.dataloader.DataLoader": "torch.utils.data.DataLoader",
    "torch.amp.grad_scaler.GradScaler": "torch.amp.GradScaler",
    "torch.amp.autocast_mode.autocast": "torch.autocast",
}


def _lines(entries: dict[str, tuple[str, str]], aliases: dict[str, str] | None = None) -> list[str]:
    lines = []
    for name, (role, uri) in sorted(entries.items()):
        lines.append(f"{name} py:{role} 1 {uri} -")
    for alias, target in sorted((aliases or {}).items()):
        role, uri = entries[target]
        lines.append(f"{alias} py:{role} 1 {uri.replace('$', target)} {target}")
    return lines


def write(path: Path, project: str, version: str, lines: list[str]) -> None:
    """Write an intersphinx inventory (format version 2) holding ``lines``."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = zlib.compress(("\n".join(lines) + "\n").encode("utf-8"), 9)
    path.write_bytes(header.encode("utf-8") + body)


def main() -> None:
    write(HERE / "python.inv", "Python", "3", _lines(PYTHON))
    write(HERE / "torch.inv", "PyTorch", "stable", _lines(TORCH, TORCH_ALIASES))
    print(f"wrote {HERE / 'python.inv'} ({len(PYTHON)} names) and {HERE / 'torch.inv'} "
          f"({len(TORCH) + len(TORCH_ALIASES)} names)")


if __name__ == "__main__":
    main()
