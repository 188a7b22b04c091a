"""Normalising what people type: org names and email addresses."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from pyxie_service import InvalidArgument
from pyxie_service.confusables import skeleton

__all__ = ["email_domain", "normalise_email", "normalise_org_name", "org_name_key"]

# Long enough for any real company name, short enough for a UI column.
MAX_ORG_NAME_CHARS: Final = 64
# RFC 5321 caps a forward path at 256 octets including the angle brackets.
MAX_EMAIL_CHARS: Final = 254
# A deliberately loose shape check: the identity provider or the invite proves the address.
_EMAIL_SHAPE: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_WHITESPACE_RUN: Final = re.compile(r"\s+")
# Control, format (zero-width joiners, bidi overrides), unassigned, private-use, surrogates:
# invisible or unrenderable, so two names differing only in them would look the same.
_INVISIBLE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cn", "Co", "Cs"})


def normalise_org_name(raw: str) -> str:
    """The stored display name: NFKC, trimmed, inner whitespace collapsed to one space.

    NFKC folds compatibility forms (full-width letters, ligatures, superscripts) into their
    plain letters, so full-width "Acme" and "Acme" are the same org.
    """
    name = _WHITESPACE_RUN.sub(" ", unicodedata.normalize("NFKC", raw)).strip()
    if not name:
        raise InvalidArgument("org name must not be empty")
    if len(name) > MAX_ORG_NAME_CHARS:
        raise InvalidArgument(f"org name is longer than {MAX_ORG_NAME_CHARS} characters")
    hidden = [ch for ch in name if unicodedata.category(ch) in _INVISIBLE_CATEGORIES]
    if hidden:
        codes = ", ".join(f"U+{ord(ch):04X}" for ch in hidden)
        raise InvalidArgument(f"org name contains invisible or control characters ({codes})")
    return name


def org_name_key(name: str) -> str:
    """What must be unique across orgs: the lookalike skeleton (Cyrillic/Greek lookalikes,
    0/O, 1/l, rn/m...) of the case-folded normalised name, as vizier names get; then NFKC
    again, since case folding can produce compatibility characters. Folded first, so that
    names differing only in case (also "ILLINOIS" and "illinois") stay the same org."""
    folded = unicodedata.normalize("NFKC", normalise_org_name(name).casefold())
    return unicodedata.normalize("NFKC", skeleton(folded))


def normalise_email(raw: str) -> str:
    """Trimmed and lower-cased; emails are unique case-insensitively."""
    email = unicodedata.normalize("NFKC", raw).strip().lower()
    if not email:
        raise InvalidArgument("email must not be empty")
    if len(email) > MAX_EMAIL_CHARS or not _EMAIL_SHAPE.fullmatch(email):
        raise InvalidArgument("email is not a valid address")
    return email


def email_domain(email: str) -> str:
    return email.rpartition("@")[2]
