"""Where ``px`` sends a script and with which credentials.

* Default: the local standalone vizier (``python -m pyxie_devstack vizier up`` / ``make demo``).
  The broker address comes from ``<state_dir>/vizier/endpoints.json`` and the token is a
  short-lived service JWT (audience ``vizier``) minted with the stack's signing key, read from
  ``<state_dir>/vizier/jwt_signing_key`` (mode 0600: only the user who started the stack can).
* ``--direct ADDRESS``: a query broker at ADDRESS (Pixie's ``--direct_vzr_addr``) with
  ``--token`` or, if none, a token minted from the local stack's signing key as above.
* ``--cluster ID``: through the cloud api. The address, credentials (API key or login token)
  and CA come from ``--cloud-addr``/``--api-key``/``--ca-cert`` or else from what
  ``px auth login`` stored.

End-to-end encryption defaults on through the cloud (as Pixie's CLI) and off in direct mode,
where results never leave the vizier's network; ``-e`` / ``--no-e2e-encryption`` override it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyxie_client.local import LocalStackError, read_signing_key, read_vizier_endpoints
from pyxie_client.local import state_dir as local_state_dir
from pyxie_jwt import VIZIER_AUDIENCE, SigningKey, service_claims, sign_token

from .cloud._credentials import CloudCredentials, CredentialsError, load

__all__ = ["CLI_SERVICE_ID", "Target", "TargetError", "mint_vizier_token", "resolve_target"]

# The subject of tokens the CLI mints; the broker logs it as the caller.
CLI_SERVICE_ID = "px-cli"


class TargetError(Exception):
    """No usable vizier address or credentials."""


@dataclass(frozen=True)
class Target:
    address: str
    direct: bool
    encrypt: bool
    token: str | None = None
    api_key: str | None = None
    cluster_id: str = ""
    root_ca: bytes | None = None

    def describe(self) -> str:
        via = "direct" if self.direct else "cloud"
        return f"{self.address} ({via}, e2e encryption {'on' if self.encrypt else 'off'})"


def mint_vizier_token(state_dir: Path) -> str:
    """A service token for the standalone vizier under ``state_dir``."""
    try:
        key = SigningKey(read_signing_key(state_dir))
    except LocalStackError as exc:
        raise TargetError(str(exc)) from None
    return sign_token(service_claims(service_id=CLI_SERVICE_ID, audience=VIZIER_AUDIENCE), key)


def _stored_credentials(load_credentials: Callable[[], CloudCredentials]) -> CloudCredentials:
    try:
        return load_credentials()
    except CredentialsError as exc:
        raise TargetError(f"{exc}, or pass --cloud-addr and --api-key") from None


def resolve_target(
    *,
    direct: str | None,
    token: str | None,
    cloud_addr: str | None,
    cluster_id: str | None,
    api_key: str | None,
    ca_cert: str | None,
    encrypt: bool | None,
    state_dir: Path | None = None,
    load_credentials: Callable[[], CloudCredentials] = load,
) -> Target:
    if direct and (cloud_addr or cluster_id):
        raise TargetError("--direct and --cloud-addr/--cluster exclude each other")
    if cloud_addr or cluster_id:
        if not cluster_id:
            raise TargetError("through the cloud, name the vizier with --cluster ID")
        cloud_token: str | None = None  # a `px auth login` token, used when there is no key
        if not (cloud_addr and api_key):
            stored = _stored_credentials(load_credentials)
            cloud_addr = cloud_addr or stored.cloud_addr
            ca_cert = ca_cert or stored.ca_cert or None
            if not api_key:
                api_key = stored.api_key or None
                cloud_token = None if api_key else stored.token or None
        if not api_key and not cloud_token:
            raise TargetError("no credentials: pass --api-key or run `px auth login`")
        root_ca = None
        if ca_cert:
            try:
                root_ca = Path(ca_cert).read_bytes()
            except OSError as exc:
                raise TargetError(f"cannot read --ca-cert {ca_cert}: {exc.strerror}") from None
        if not cloud_addr:
            raise TargetError("no cloud address: pass --cloud-addr or run `px auth login`")
        return Target(
            cloud_addr,
            direct=False,
            encrypt=True if encrypt is None else encrypt,
            api_key=api_key,
            token=cloud_token,
            cluster_id=cluster_id,
            root_ca=root_ca,
        )
    state = state_dir if state_dir is not None else local_state_dir()
    address = direct
    if address is None:
        try:
            address = read_vizier_endpoints(state).broker
        except LocalStackError as exc:
            raise TargetError(f"{exc}; or point px at a broker with --direct HOST:PORT") from None
    if token is None:
        token = mint_vizier_token(state)
    return Target(address, direct=True, encrypt=bool(encrypt), token=token)
