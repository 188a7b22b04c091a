# ruff: noqa: RUF001, RUF002  (this module IS the confusables table)
"""Lookalike (confusable) skeletons of names: vizier names (vzmgr) and org names (auth).

Two names are *confusable* when their skeletons are equal. The skeleton follows Unicode TR39
§4 (map every character to its prototype, then compare), with a compact table instead of the
full confusables.txt, and it also folds case, since "Prod" beside "prod" misleads as well as
"prоd" with a Cyrillic "о" does. Callers NFKC-normalise a name before taking its skeleton.

Coverage of the table (documented because it is not the full TR39 data):
* Cyrillic and Greek letters that look like Latin letters, lower and upper case
  (а е о р с у х і ј ѕ һ ԁ ԛ ԝ ӏ ү / А В Е К М Н О Р С Т Х І Ј Ѕ, α ο ρ ν ι κ τ υ χ /
  Α Β Ε Ζ Η Ι Κ Μ Ν Ο Ρ Τ Υ Χ);
* digit and symbol lookalikes: 0 → o, 1 / I / | / ǀ / ℓ → l, 5 → s is NOT mapped (readable);
* "rn" → "m" and "vv" → "w", the classic multi-letter lookalikes;
* dashes and dots: hyphen-like characters → "-", and the Unicode dashes that NFKC keeps.
Letters with diacritics are distinct names (NFKC keeps them composed), as TR39 does too.
"""

from __future__ import annotations

import unicodedata
from typing import Final

__all__ = ["skeleton"]

_SINGLE: Final[dict[str, str]] = {
    # Cyrillic lower case
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "һ": "h", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ӏ": "l", "ү": "y", "ɡ": "g",
    # Cyrillic upper case
    "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p", "С": "c",
    "Т": "t", "Х": "x", "І": "l", "Ј": "j", "Ѕ": "s", "Ү": "y", "Ԛ": "q", "Ԝ": "w", "Ӏ": "l",
    # Greek lower case
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "τ": "t", "υ": "u", "χ": "x",
    "ϲ": "c", "ε": "e",
    # Greek upper case
    "Α": "a", "Β": "b", "Ε": "e", "Ζ": "z", "Η": "h", "Ι": "l", "Κ": "k", "Μ": "m", "Ν": "n",
    "Ο": "o", "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x",
    # Latin and symbol lookalikes (TR39 maps 0 → O and 1, I, | → l)
    "0": "o", "O": "o", "1": "l", "I": "l", "|": "l", "ǀ": "l", "ℓ": "l", "ı": "i",
    # Dashes and hyphens NFKC leaves alone
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "⁃": "-",
    "﹘": "-", "˗": "-",
}  # fmt: skip
_MULTI: Final = (("rn", "m"), ("vv", "w"))


def skeleton(name: str) -> str:
    """The lookalike key of a normalised name: equal skeletons = confusable names."""
    mapped = "".join(_SINGLE.get(char, char) for char in unicodedata.normalize("NFD", name))
    folded = unicodedata.normalize("NFC", mapped.casefold())
    for source, target in _MULTI:
        folded = folded.replace(source, target)
    return folded
