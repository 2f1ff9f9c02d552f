"""One generic :class:`Registry` and the four instances ganzoo uses.

A registry maps names to builders (classes or functions). Components built through a
registry, or from a registered class, remember their registry name and constructor
arguments, so :func:`get_config` can describe them as plain JSON and :func:`from_config`
can rebuild them (this is what makes checkpoints self-contained).

Example:
    >>> import ganzoo
    >>> ganzoo.list_losses()
    ['bce', 'hinge', 'least_squares', 'minimax', 'wasserstein']
    >>> loss = ganzoo.create_loss("hinge")
    >>> ganzoo.get_config(loss)
    {'kind': 'loss', 'name': 'hinge', 'kwargs': {}}
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import inspect
import json
import re
from typing import Any, Callable, Generic, Iterator, TypeVar

from .errors import ConfigError, DuplicateNameError, UnknownNameError

__all__ = [
    "Registry",
    "GENERATORS",
    "CRITICS",
    "LOSSES",
    "REGULARIZERS",
    "get_config",
    "from_config",
]

T = TypeVar("T")
_CONFIG_ATTR = "_ganzoo_config"


def _snake_case(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _jsonable(value: Any) -> Any:
    """Convert tuples to lists recursively and check that ``value`` is plain JSON."""
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    json.dumps(value)  # raises TypeError for anything that is not plain JSON
    return value


class Registry(Generic[T]):
    """A named collection of builders of one kind of component.

    Args:
        kind: What the registry holds, singular (``"generator"``); used in messages and
            in component configs.

    Example:
        >>> from ganzoo import Registry
        >>> blocks = Registry("block")
        >>> @blocks.register("double")
        ... def double(x: int = 1) -> int:
        ...     return 2 * x
        >>> blocks.create("double", x=3)
        6
        >>> blocks.list()
        ['double']
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._builders: dict[str, Callable[..., T]] = {}

    def register(self, name: str | Callable[..., T] | None = None) -> Any:
        """Register a class or function, as ``@reg.register``, ``@reg.register()`` or ``@reg.register("name")``.

        The name defaults to the builder's name in snake_case. A registered class also
        records its constructor arguments when instantiated directly.

        Raises:
            DuplicateNameError: If the name is already taken.
        """
        if callable(name):  # used bare: @reg.register
            return self.register(None)(name)

        def decorator(builder: Callable[..., T]) -> Callable[..., T]:
            key = name if name is not None else _snake_case(builder.__name__)
            if not isinstance(key, str) or not key:
                raise ConfigError(f"{self.kind} name must be a non-empty string, got {key!r}")
            if key in self._builders:
                raise DuplicateNameError(
                    f"{self.kind} name {key!r} is already registered "
                    f"(by {self._builders[key].__module__}.{self._builders[key].__qualname__}); "
                    "choose another name"
                )
            if inspect.isclass(builder):
                _record_init_arguments(builder, self.kind, key)
            self._builders[key] = builder
            return builder

        return decorator

    def get(self, name: str) -> Callable[..., T]:
        """Return the builder registered as ``name``.

        Raises:
            UnknownNameError: If no builder has that name; the message lists close
                matches and every available name.
        """
        try:
            return self._builders[name]
        except (KeyError, TypeError):
            raise self._unknown(name) from None

    def create(self, name: str, /, **kwargs: Any) -> T:
        """Build the component registered as ``name`` with keyword arguments ``kwargs``."""
        builder = self.get(name)
        try:
            inspect.signature(builder).bind(**kwargs)
        except TypeError as exc:
            raise ConfigError(
                f"{self.kind} {name!r} cannot take these arguments ({exc}); "
                f"its signature is {name}{inspect.signature(builder)}"
            ) from None
        except ValueError:  # builtins without a signature: let the call decide
            pass
        obj = builder(**kwargs)
        if getattr(obj, _CONFIG_ATTR, None) is None:
            _set_config(obj, self.kind, name, kwargs)
        return obj

    def name_of(self, builder: Any) -> str | None:
        """The name ``builder`` is registered under (None when it is not registered)."""
        return next((name for name, b in self._builders.items() if b is builder), None)

    def list(self, pattern: str | None = None) -> list[str]:
        """Sorted registered names, optionally filtered by an fnmatch pattern such as ``"dcgan*"``."""
        names = sorted(self._builders)
        return names if pattern is None else [n for n in names if fnmatch.fnmatchcase(n, pattern)]

    def __contains__(self, name: object) -> bool:
        return name in self._builders

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._builders)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, names={self.list()})"

    def _unknown(self, name: object) -> UnknownNameError:
        close = difflib.get_close_matches(str(name), self._builders, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return UnknownNameError(
            f"unknown {self.kind} {name!r}.{hint} Available {self.kind}s: "
            f"{', '.join(self.list()) or '(none)'}. Register your own with "
            f"@ganzoo.register_{self.kind}('name')."
        )


def _set_config(obj: Any, kind: str, name: str, kwargs: dict[str, Any]) -> None:
    try:
        object.__setattr__(obj, _CONFIG_ATTR, {"kind": kind, "name": name, "kwargs": dict(kwargs)})
    except (AttributeError, TypeError):  # objects without __dict__ (ints, tuples) keep no config
        pass


def _record_init_arguments(cls: type, kind: str, name: str) -> None:
    """Wrap ``cls.__init__`` so an instance of exactly ``cls`` records its arguments."""
    original = cls.__init__  # type: ignore[misc]  # the class attribute, wrapped below
    signature = inspect.signature(original)

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if type(self) is cls:
            bound = signature.bind(self, *args, **kwargs)
            arguments = dict(bound.arguments)
            arguments.pop(next(iter(signature.parameters)))  # self
            for pname, param in signature.parameters.items():
                if param.kind is inspect.Parameter.VAR_KEYWORD and pname in arguments:
                    arguments.update(arguments.pop(pname))
            _set_config(self, kind, name, arguments)

    cls.__init__ = __init__  # type: ignore[misc]


def get_config(component: Any) -> dict[str, Any]:
    """Describe a component built from a registry as plain JSON.

    Returns:
        ``{"kind": ..., "name": ..., "kwargs": {...}}`` with tuples turned into lists.

    Raises:
        ConfigError: If the component was not built from a registry, or one of its
            constructor arguments is not plain JSON (a module, a function...).
    """
    config = getattr(component, _CONFIG_ATTR, None)
    if config is None:
        raise ConfigError(
            f"{type(component).__name__} has no ganzoo config: it was not built from a "
            "registry. Register its class with @ganzoo.register_generator(...) (or "
            "register_critic/register_loss/register_regularizer) and build it through "
            "the registry or its class."
        )
    try:
        return {"kind": config["kind"], "name": config["name"], "kwargs": _jsonable(config["kwargs"])}
    except TypeError as exc:
        raise ConfigError(
            f"{config['kind']} {config['name']!r} was built with an argument that is not "
            f"plain JSON ({exc}); pass numbers, strings, lists or dicts so it can be saved"
        ) from None


def from_config(config: dict[str, Any]) -> Any:
    """Rebuild a component from the output of :func:`get_config`."""
    try:
        registry = _REGISTRIES[config["kind"]]
        name, kwargs = config["name"], config.get("kwargs", {})
    except (KeyError, TypeError):
        raise ConfigError(
            f"not a ganzoo component config: {config!r}; expected "
            f"{{'kind': one of {sorted(_REGISTRIES)}, 'name': ..., 'kwargs': {{...}}}}"
        ) from None
    return registry.create(name, **kwargs)


#: Generator builders (``ganzoo.create_generator`` / ``ganzoo.register_generator``).
GENERATORS: Registry[Any] = Registry("generator")
#: Critic builders (``ganzoo.create_critic`` / ``ganzoo.register_critic``).
CRITICS: Registry[Any] = Registry("critic")
#: Adversarial loss strategies (``ganzoo.create_loss`` / ``ganzoo.register_loss``).
LOSSES: Registry[Any] = Registry("loss")
#: Lipschitz regularizers (``ganzoo.create_regularizer`` / ``ganzoo.register_regularizer``).
REGULARIZERS: Registry[Any] = Registry("regularizer")
_REGISTRIES = {r.kind: r for r in (GENERATORS, CRITICS, LOSSES, REGULARIZERS)}
