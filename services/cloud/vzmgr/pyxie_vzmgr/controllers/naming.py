"""Vizier names: normalisation, lookalike (confusable) skeletons and generated names.

A name is trimmed and NFKC-normalised (so full-width, ligature and compatibility forms collapse
to their plain form). Two names are *confusable* when their skeletons are equal; the skeleton
(Unicode TR39 §4 with a compact table, case folded) and its table live in
``pyxie_service.confusables``, which org names use too.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from typing import Final

from pyxie_service.confusables import skeleton

__all__ = [
    "MAX_NAME_LENGTH",
    "InvalidNameError",
    "normalize_name",
    "random_name",
    "skeleton",
    "suffixed_name",
]

# Longer names are never needed for a cluster and would bloat every listing.
MAX_NAME_LENGTH: Final = 128

_CONTROL_OR_SPACE: Final = re.compile(r"[\s\x00-\x1f\x7f]")


class InvalidNameError(ValueError):
    """A vizier name that cannot be used (empty, too long, control characters)."""


def normalize_name(name: str) -> str:
    """Trim and NFKC-normalise a requested name; raise InvalidNameError for unusable names."""
    normalized = unicodedata.normalize("NFKC", name).strip()
    if len(normalized) > MAX_NAME_LENGTH:
        raise InvalidNameError(f"vizier name is longer than {MAX_NAME_LENGTH} characters")
    if _CONTROL_OR_SPACE.search(normalized):
        raise InvalidNameError("vizier name must not contain whitespace or control characters")
    for char in normalized:
        category = unicodedata.category(char)
        # Format (Cf: zero-width joiners, bidi overrides), private-use and unassigned
        # characters make names that look like other names or like nothing at all.
        if category in ("Cf", "Co", "Cn", "Cs"):
            raise InvalidNameError(
                f"vizier name contains the invisible or unassigned character U+{ord(char):04X}"
            )
    return normalized


def suffixed_name(name: str) -> str:
    """`name_<8 hex>`: Pixie's answer to a name that is taken."""
    return f"{name}_{secrets.token_hex(4)}"


_ADJECTIVES: Final = (
    "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "kind", "lively", "merry",
    "nice", "proud", "quiet", "silly", "swift", "witty",
)  # fmt: skip
_NOUNS: Final = (
    "badger", "comet", "falcon", "gecko", "heron", "koala", "lynx", "marmot", "narwhal",
    "otter", "panda", "quokka", "raven", "tapir", "walrus", "yak",
)  # fmt: skip


def random_name() -> str:
    """A docker-style name for a vizier registered without one."""
    return f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}"
