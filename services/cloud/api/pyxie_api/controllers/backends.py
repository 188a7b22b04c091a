"""The api's clients of the internal cloud services (auth, vzmgr), and their error mapping.

Every outbound call carries a service JWT (`ServiceID=api`, cloud key, audience = the cloud
domain). Calls made on behalf of a caller also carry the caller's augmented token in
`x-pyxie-user-token`, so the callee can scope them to the caller's org itself (defence in
depth: the api checks org ownership too).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import grpc
from pyxie_jwt import SigningKey, service_claims, sign_token
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc
from pyxie_proto.cloud.auditpb import audit_pb2_grpc
from pyxie_proto.cloud.authpb import auth_pb2_grpc
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2_grpc
from pyxie_service import error_for_status

__all__ = [
    "API_SERVICE_ID",
    "USER_TOKEN_METADATA_KEY",
    "CloudBackends",
    "ServiceTokenSource",
    "call_backend",
]

API_SERVICE_ID: Final = "api"
USER_TOKEN_METADATA_KEY: Final = "x-pyxie-user-token"

# Internal calls are quick database look-ups; a hung dependency must not hang the caller.
_BACKEND_TIMEOUT_SECONDS: Final = 10.0

_T = TypeVar("_T")
Metadata = tuple[tuple[str, str], ...]


class ServiceTokenSource:
    """Mints the api's service JWT, reusing one until it is close to expiry."""

    # Service tokens live 10 minutes; renew with a margin so none expires in flight.
    _RENEW_AFTER_SECONDS: Final = 300.0

    def __init__(self, key: SigningKey, audience: str, clock: Callable[[], float]) -> None:
        self._key = key
        self._audience = audience
        self._clock = clock
        self._token = ""
        self._minted_at = float("-inf")

    def token(self) -> str:
        now = self._clock()
        if now - self._minted_at > self._RENEW_AFTER_SECONDS:
            claims = service_claims(service_id=API_SERVICE_ID, audience=self._audience)
            self._token, self._minted_at = sign_token(claims, self._key), now
        return self._token

    def metadata(self, user_token: str = "") -> Metadata:
        pairs = [("authorization", f"bearer {self.token()}")]
        if user_token:
            pairs.append((USER_TOKEN_METADATA_KEY, user_token))
        return tuple(pairs)


@dataclass(frozen=True)
class CloudBackends:
    """Stubs of the services the api calls, plus the credentials to call them with."""

    auth: auth_pb2_grpc.AuthServiceAsyncStub
    api_keys: auth_pb2_grpc.APIKeyServiceAsyncStub
    vzmgr: vzmgr_pb2_grpc.VZMgrServiceAsyncStub
    deploy_keys: vzmgr_pb2_grpc.VZDeploymentKeyServiceAsyncStub
    tokens: ServiceTokenSource
    # CreateCluster provisions an unclaimed vizier record, as a deploying vizier would.
    deployments: vzmgr_pb2_grpc.VZDeploymentServiceAsyncStub
    # auth also serves the profile half of the public API (users, orgs) with public messages.
    users: cloudapi_pb2_grpc.UserServiceAsyncStub
    orgs: cloudapi_pb2_grpc.OrganizationServiceAsyncStub
    audit: audit_pb2_grpc.AuditServiceAsyncStub | None = None

    @classmethod
    def from_channels(
        cls, auth: grpc.aio.Channel, vzmgr: grpc.aio.Channel, tokens: ServiceTokenSource
    ) -> CloudBackends:
        return cls(
            auth=auth_pb2_grpc.AuthServiceStub(auth),
            api_keys=auth_pb2_grpc.APIKeyServiceStub(auth),
            vzmgr=vzmgr_pb2_grpc.VZMgrServiceStub(vzmgr),
            deploy_keys=vzmgr_pb2_grpc.VZDeploymentKeyServiceStub(vzmgr),
            tokens=tokens,
            deployments=vzmgr_pb2_grpc.VZDeploymentServiceStub(vzmgr),
            users=cloudapi_pb2_grpc.UserServiceStub(auth),
            orgs=cloudapi_pb2_grpc.OrganizationServiceStub(auth),
            audit=audit_pb2_grpc.AuditServiceStub(auth),
        )

    def metadata(self, user_token: str = "") -> Metadata:
        return self.tokens.metadata(user_token)

    @property
    def timeout(self) -> float:
        return _BACKEND_TIMEOUT_SECONDS


async def call_backend(what: str, call: Awaitable[_T]) -> _T:
    """Await an internal RPC; its failure becomes the domain error the caller should see."""
    try:
        return await call
    except grpc.aio.AioRpcError as err:
        raise error_for_status(err.code(), err.details() or "", backend=what) from None
