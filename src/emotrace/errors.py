"""User-facing errors: one line that names the file, the line or field, and what to do.

The CLI prints `str(error)` and exits non-zero; no traceback is shown for these.
"""

from __future__ import annotations


class EmotraceError(Exception):
    """A problem the user can fix (bad input, missing file, unknown model)."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None, hint: str | None = None):
        self.path = path
        self.line = line
        self.hint = hint
        where = path or ""
        if path and line is not None:
            where = f"{path}:{line}"
        text = f"{where}: {message}" if where else message
        if hint:
            text = f"{text} ({hint})"
        super().__init__(text)
