from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pyxie_cli._target import TargetError, resolve_target
from pyxie_cli.cloud._credentials import CloudCredentials, CredentialsError

CLUSTER = "6e3f3b90-2067-4bcf-8a5c-1c7a54986d0c"


def _cloud(**overrides: object) -> dict[str, object]:
    args: dict[str, object] = {
        "direct": None,
        "token": None,
        "cloud_addr": None,
        "cluster_id": CLUSTER,
        "api_key": None,
        "ca_cert": None,
        "encrypt": None,
    }
    args.update(overrides)
    return args


def _stored(creds: CloudCredentials) -> Callable[[], CloudCredentials]:
    return lambda: creds


def _not_logged_in() -> CloudCredentials:
    raise CredentialsError("not logged in: run `px auth login`")


def test_cluster_alone_uses_the_stored_api_key_address_and_ca(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\n")
    creds = CloudCredentials("cloud:51200", api_key="px-api-1", ca_cert=str(ca))
    target = resolve_target(**_cloud(), load_credentials=_stored(creds))
    assert (target.address, target.api_key, target.token) == ("cloud:51200", "px-api-1", None)
    assert target.root_ca == ca.read_bytes()
    assert target.cluster_id == CLUSTER and not target.direct and target.encrypt


def test_a_stored_login_token_is_sent_when_there_is_no_key() -> None:
    creds = CloudCredentials("cloud:51200", token="eyJ.login")
    target = resolve_target(**_cloud(), load_credentials=_stored(creds))
    assert (target.api_key, target.token) == (None, "eyJ.login")


def test_explicit_address_and_key_need_no_stored_credentials() -> None:
    target = resolve_target(
        **_cloud(cloud_addr="other:1", api_key="px-api-2"),
        load_credentials=_not_logged_in,
    )
    assert (target.address, target.api_key) == ("other:1", "px-api-2")


def test_without_credentials_the_error_says_how_to_log_in() -> None:
    with pytest.raises(TargetError, match="px auth login"):
        resolve_target(**_cloud(), load_credentials=_not_logged_in)


def test_a_cloud_address_without_a_cluster_is_refused() -> None:
    with pytest.raises(TargetError, match="--cluster"):
        resolve_target(**_cloud(cluster_id=None, cloud_addr="c:1", api_key="k"))


def test_direct_and_cloud_exclude_each_other() -> None:
    with pytest.raises(TargetError, match="exclude each other"):
        resolve_target(**_cloud(direct="broker:50300"))
