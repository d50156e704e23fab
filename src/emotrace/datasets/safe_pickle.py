"""A restricted unpickler for community data files: plain builtins only, never arbitrary code."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from emotrace.errors import EmotraceError

_ALLOWED = {("builtins", name) for name in ("dict", "list", "tuple", "set", "frozenset", "str", "int", "float", "bool", "bytes")}
_ALLOWED |= {("collections", "OrderedDict")}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, path: Path, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise EmotraceError(
            f"refusing to load {module}.{name} from a pickle",
            path=str(self._path),
            hint="only plain Python containers, strings and numbers are allowed; convert the file or use its official source",
        )


def load_restricted_pickle(path: Path) -> Any:
    """Load `path` allowing only builtin containers and scalars (latin-1 for Python 2 pickles)."""
    try:
        with open(path, "rb") as handle:
            return _RestrictedUnpickler(handle, path, encoding="latin1").load()
    except EmotraceError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError) as error:
        raise EmotraceError(f"not a readable pickle ({error})", path=str(path)) from None
