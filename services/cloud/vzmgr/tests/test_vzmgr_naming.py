from __future__ import annotations

import pytest
from pyxie_vzmgr.controllers.naming import (
    InvalidNameError,
    normalize_name,
    skeleton,
    suffixed_name,
)


def test_names_are_trimmed_and_nfkc_normalised() -> None:
    assert normalize_name("  prod  ") == "prod"
    # Full-width letters and the "ﬁ" ligature collapse to their plain forms.
    assert normalize_name("\uff50\uff52\uff4f\uff44") == "prod"
    assert normalize_name("\ufb01rst") == "first"


@pytest.mark.parametrize(
    ("lookalike", "original"),
    [
        ("pr\u043ed", "prod"),  # Cyrillic small o
        ("\u0430pi", "api"),  # Cyrillic small a
        ("\u0391PI", "API"),  # Greek capital alpha
        ("pr0d", "prod"),  # zero for o
        ("PROD", "pr0d"),
        ("c1uster", "cluster"),  # one for l
        ("Ilama", "llama"),  # capital i for l
        ("rnodel", "model"),  # r n for m
        ("prod\u2013eu", "prod-eu"),  # en dash for hyphen
    ],
)
def test_lookalike_names_share_a_skeleton(lookalike: str, original: str) -> None:
    assert skeleton(normalize_name(lookalike)) == skeleton(normalize_name(original))


@pytest.mark.parametrize(
    ("one", "other"), [("prod", "prd"), ("prod-eu", "prod-us"), ("ilk", "llk")]
)
def test_different_names_have_different_skeletons(one: str, other: str) -> None:
    assert skeleton(one) != skeleton(other)


@pytest.mark.parametrize(
    "bad", ["a" * 129, "two words", "tab\there", "zero\u200bwidth", "\u202eevil"]
)
def test_unusable_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidNameError):
        normalize_name(bad)


def test_suffixed_names_have_eight_hex_digits() -> None:
    name = suffixed_name("prod")
    base, _, suffix = name.rpartition("_")
    assert base == "prod"
    assert len(suffix) == 8
    int(suffix, 16)
