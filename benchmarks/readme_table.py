"""Replace a generated block of README.md (between `<!-- results:NAME:start -->` and `...:end -->`)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from emotrace.io.atomic import write_text_atomic  # noqa: E402


def update_readme(name: str, block: str, readme: Path = ROOT / "README.md") -> None:
    start, end = f"<!-- results:{name}:start -->", f"<!-- results:{name}:end -->"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    if start not in text or end not in text:
        print(f"{readme} has no {start} … {end} block; table not inserted", file=sys.stderr)
        return
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    write_text_atomic(readme, f"{head}{start}\n{block}\n{end}{tail}")
