"""API-user tokens carry the API key's scope and cluster limits (AccessScope, ClusterIDs)."""

from __future__ import annotations

import jwt
import pytest
from pyxie_jwt import (
    AccessScope,
    APIUserClaims,
    InvalidClaimsError,
    SigningKey,
    api_user_claims,
    sign_token,
    verify_token,
)

KEY = SigningKey("k" * 40)
AUDIENCE = "pyxie.test"


def _resign(token: str, **changes: object) -> str:
    payload = jwt.decode(token, options={"verify_signature": False})
    for name, value in changes.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return jwt.encode(payload, KEY.reveal_text(), algorithm="HS256")


def test_read_only_scope_and_clusters_survive_sign_and_verify() -> None:
    claims = api_user_claims(
        user_id="u",
        org_id="o",
        audience=AUDIENCE,
        access_scope=AccessScope.READ_ONLY,
        cluster_ids=("c-1", "c-2"),
    )
    verified = verify_token(sign_token(claims, KEY), KEY, audience=AUDIENCE)
    assert isinstance(verified, APIUserClaims)
    assert verified.access_scope is AccessScope.READ_ONLY
    assert verified.cluster_ids == ("c-1", "c-2")


def test_api_user_token_without_scope_claims_is_admin_on_every_cluster() -> None:
    token = sign_token(api_user_claims(user_id="u", org_id="o", audience=AUDIENCE), KEY)
    old_style = _resign(token, AccessScope=None, ClusterIDs=None)
    verified = verify_token(old_style, KEY, audience=AUDIENCE)
    assert isinstance(verified, APIUserClaims)
    assert (verified.access_scope, verified.cluster_ids) == (AccessScope.ADMIN, ())


def test_unknown_access_scope_is_rejected_not_widened() -> None:
    token = sign_token(api_user_claims(user_id="u", org_id="o", audience=AUDIENCE), KEY)
    with pytest.raises(InvalidClaimsError, match="AccessScope"):
        verify_token(_resign(token, AccessScope="superuser"), KEY, audience=AUDIENCE)


def test_cluster_ids_that_are_not_a_list_of_strings_are_rejected() -> None:
    token = sign_token(api_user_claims(user_id="u", org_id="o", audience=AUDIENCE), KEY)
    with pytest.raises(InvalidClaimsError, match="ClusterIDs"):
        verify_token(_resign(token, ClusterIDs="c-1"), KEY, audience=AUDIENCE)


def test_empty_cluster_id_is_refused_at_mint_time() -> None:
    with pytest.raises(ValueError, match="ClusterIDs"):
        api_user_claims(user_id="u", org_id="o", audience=AUDIENCE, cluster_ids=("",))
