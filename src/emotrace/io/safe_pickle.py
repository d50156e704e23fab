"""A restricted unpickler for community data files: plain containers, numbers and numpy arrays, never arbitrary code.

Community feature files (IEMOCAP/MELD pickles) hold numpy arrays, so besides builtin containers the allowlist
names exactly the numpy functions that rebuild a plain ndarray, a dtype or a numpy scalar, under both the
`numpy.core` spelling (numpy 1, and Python 2 files) and the `numpy._core` spelling numpy 2 writes. None of them
imports a module or calls anything beyond numpy's own constructors. Python 2 names (`__builtin__.set`) are mapped
the way `pickle` itself maps them, and the `_codecs.encode(text, "latin1")` that Python 3 writes for bytes at
protocol 2 is replaced by a latin-1-only stand-in.
"""

from __future__ import annotations

import _compat_pickle
import builtins
import collections
import pickle
from pathlib import Path
from typing import Any

from emotrace.errors import EmotraceError

_ALLOWED = {("builtins", name) for name in ("dict", "list", "tuple", "set", "frozenset", "str", "int", "float", "bool", "bytes")}
_ALLOWED |= {("collections", "OrderedDict")}

# (module, name) as written in a pickle → the numpy function it stands for (resolved lazily, see _numpy_object).
_NUMPY_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): "_reconstruct",
    ("numpy._core.multiarray", "_reconstruct"): "_reconstruct",
    ("numpy.core.multiarray", "scalar"): "scalar",
    ("numpy._core.multiarray", "scalar"): "scalar",
    ("numpy.core.numeric", "_frombuffer"): "_frombuffer",  # what ndarray writes at pickle protocol 5
    ("numpy._core.numeric", "_frombuffer"): "_frombuffer",
    ("numpy", "ndarray"): "ndarray",
    ("numpy", "dtype"): "dtype",
}
_LATIN1_NAMES = {"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1"}


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """Stand-in for `_codecs.encode`, which protocol-2 pickles from Python 3 use to carry bytes; latin-1 only."""
    if not isinstance(text, str) or encoding.lower() not in _LATIN1_NAMES:
        raise pickle.UnpicklingError(f"unexpected _codecs.encode call with encoding {encoding!r}")
    return text.encode("latin-1")


def _numpy_object(name: str) -> Any:
    """The numpy function `name` from whichever of numpy._core (numpy 2) / numpy.core (numpy 1) exists."""
    import numpy

    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]
    table = {
        "_reconstruct": multiarray._reconstruct,
        "scalar": multiarray.scalar,
        "_frombuffer": numeric._frombuffer,
        "ndarray": numpy.ndarray,
        "dtype": numpy.dtype,
    }
    return table[name]


def _python3_name(module: str, name: str) -> tuple[str, str]:
    """Map a Python 2 global (e.g. `__builtin__.set`) to its Python 3 name, as pickle's fix_imports does."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, path: Path, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_ALLOWED:
            return _numpy_object(_NUMPY_ALLOWED[(module, name)])
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        mapped = _python3_name(module, name)
        if mapped in _ALLOWED:
            return getattr(builtins if mapped[0] == "builtins" else collections, mapped[1])
        raise EmotraceError(
            f"refusing to load {module}.{name} from a pickle",
            path=str(self._path),
            hint="only plain Python containers, strings, numbers and numpy arrays are allowed; convert the file or use its official source",
        )


def load_restricted_pickle(path: Path) -> Any:
    """Load `path` allowing only builtin containers, scalars and plain numpy arrays (latin-1 for Python 2 pickles)."""
    try:
        with open(path, "rb") as handle:
            return _RestrictedUnpickler(handle, path, encoding="latin1").load()
    except EmotraceError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, OverflowError) as error:
        # A damaged or crafted file can make numpy's constructors or the unpickler fail in many ways; all mean the same.
        raise EmotraceError(f"not a readable pickle ({error})", path=str(path)) from None
    except MemoryError:
        raise EmotraceError("not a readable pickle (it asks for more memory than is available)", path=str(path)) from None
