"""A minimal record base for plain data classes on the startup path.

`dataclasses` generates and compiles code for every class at import time (about 0.3 ms each
here); with a dozen records on the `llmspell exec` path that was a measurable share of startup.
Records declare `__slots__` and `_defaults`; construction, equality and repr are generic.
"""

from __future__ import annotations

# Annotations only: typing is not imported at run time (see llmspell_cli/fast_path.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar


_MUTABLE = (list, dict, set)


class Record:
    """Positional-or-keyword construction from `__slots__`, with defaults copied per instance."""

    __slots__: tuple[str, ...] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = self.__slots__
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes at most {len(names)} arguments")
        for name, value in zip(names, args, strict=False):
            kwargs[name] = value
        for name in names:
            if name in kwargs:
                value = kwargs.pop(name)
            elif name in self._defaults:
                value = self._defaults[name]
                if type(value) in _MUTABLE:  # a fresh one per instance (copy: not at start-up)
                    value = value.copy()
            else:
                raise TypeError(f"{type(self).__name__} missing argument {name!r}")
            object.__setattr__(self, name, value)
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected arguments {sorted(kwargs)}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __hash__(self) -> int:
        return hash(tuple(repr(getattr(self, n)) for n in self.__slots__))

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({inner})"
