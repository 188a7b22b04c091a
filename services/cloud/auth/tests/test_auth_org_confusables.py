"""Org names get the lookalike check vizier names get: "\u0410cme" (Cyrillic A) is not new."""

from __future__ import annotations

import grpc
import pytest
from pyxie_auth.controllers._names import org_name_key
from pyxie_auth.testing import Auth


@pytest.mark.parametrize(
    "lookalike",
    [
        "\u0410cme Corp",  # Cyrillic capital A
        "Acm\u0435 Corp",  # Cyrillic small ie
        "\u0391cme C\u03bfrp",  # Greek Alpha and omicron
        "Acme C0rp",  # zero for o
        "Acrne Corp",  # rn for m
    ],
)
async def test_a_lookalike_of_an_existing_org_name_is_refused(cloud: Auth, lookalike: str) -> None:
    await cloud.signup("alice@example.com", org_name="Acme Corp")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cloud.signup("mallory@example.com", org_name=lookalike)
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_case_still_does_not_make_a_new_org() -> None:
    assert org_name_key("ILLINOIS Tools") == org_name_key("illinois tools")
    assert org_name_key("Stra\u00dfe") == org_name_key("STRASSE")


def test_distinct_names_stay_distinct() -> None:
    assert org_name_key("Acme") != org_name_key("Acne")
    assert org_name_key("caf\u00e9") != org_name_key("cafe")  # diacritics are distinct (TR39)
