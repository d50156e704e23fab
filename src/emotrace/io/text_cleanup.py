"""Repair the punctuation that community ERC files carry (mis-decoded cp1252, typographic quotes)."""

from __future__ import annotations

_PUNCTUATION = str.maketrans(
    {
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "…": "...",
        "—": "-",
        "–": "-",
        "\x92": "'",
        "\x91": "'",
        "\x93": '"',
        "\x94": '"',
        "\x97": "-",
        "\x85": "...",
        "\xa0": " ",
    }
)


def normalize_text(text: str) -> str:
    """Undo UTF-8-read-as-cp1252 mojibake (e.g. `â€™`), then map typographic punctuation to ASCII."""
    if "â€" in text or "Ã" in text:
        try:
            text = text.encode("cp1252").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return " ".join(text.translate(_PUNCTUATION).split())
