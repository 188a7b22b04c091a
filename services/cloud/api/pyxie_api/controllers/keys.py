"""`px.cloudapi.APIKeyManager` (→ auth) and `VizierDeploymentKeyManager` (→ vzmgr).

Keys are stored hashed: the value is returned once, by Create. Get returns the metadata with
an empty `key`, and Lookup (which would need the stored value) is not offered. Read-only API
keys may list keys but not create or delete them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.empty_pb2 import Empty
from google.protobuf.timestamp_pb2 import Timestamp
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.cloud.authpb import auth_pb2
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2
from pyxie_proto.uuidpb import uuid_pb2
from pyxie_service import InvalidArgument, NotFound

from pyxie_api.controllers.backends import CloudBackends, call_backend
from pyxie_api.controllers.caller import Authenticator, Caller, current_caller
from pyxie_api.controllers.ids import uuid_from_pb, uuid_to_pb

__all__ = ["APIKeyManagerServicer", "DeploymentKeyManagerServicer"]

if TYPE_CHECKING:
    _Context = grpc.aio.ServicerContext[Any, Any]


def _timestamp(ns: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(ns)
    return stamp


def _optional_uuid(text: str) -> uuid_pb2.UUID | None:
    return uuid_to_pb(text) if text else None


class APIKeyManagerServicer(cpb_grpc.APIKeyManagerServicer):
    def __init__(self, backends: CloudBackends, authenticator: Authenticator) -> None:
        self._backends = backends
        self._authenticator = authenticator

    @staticmethod
    def _public(key: auth_pb2.APIKey) -> cpb.APIKey:
        return cpb.APIKey(
            id=uuid_to_pb(key.id),
            key=key.key,
            created_at=_timestamp(key.created_at_ns),
            desc=key.description,
            org_id=_optional_uuid(key.org_id),
            user_id=_optional_uuid(key.user_id),
        )

    async def _list(self, caller: Caller) -> list[auth_pb2.APIKey]:
        response = await call_backend(
            "auth",
            self._backends.api_keys.List(
                auth_pb2.ListAPIKeysRequest(org_id=caller.require_org()),
                metadata=self._backends.metadata(caller.token),
                timeout=self._backends.timeout,
            ),
        )
        return list(response.keys)

    async def Create(self, request: cpb.CreateAPIKeyRequest, context: _Context) -> cpb.APIKey:
        caller = current_caller()
        caller.require_admin("create API keys")
        key = await call_backend(
            "auth",
            self._backends.api_keys.Create(
                auth_pb2.CreateAPIKeyRequest(
                    org_id=caller.require_org(),
                    user_id=caller.user_id,
                    description=request.desc,
                ),
                metadata=self._backends.metadata(caller.token),
                timeout=self._backends.timeout,
            ),
        )
        return self._public(key)

    async def List(
        self, request: cpb.ListAPIKeyRequest, context: _Context
    ) -> cpb.ListAPIKeyResponse:
        keys = await self._list(current_caller())
        return cpb.ListAPIKeyResponse(
            keys=[
                cpb.APIKeyMetadata(
                    id=uuid_to_pb(k.id),
                    created_at=_timestamp(k.created_at_ns),
                    desc=k.description,
                    org_id=_optional_uuid(k.org_id),
                    user_id=_optional_uuid(k.user_id),
                )
                for k in keys
            ]
        )

    async def Get(self, request: cpb.GetAPIKeyRequest, context: _Context) -> cpb.GetAPIKeyResponse:
        key_id = uuid_from_pb(request.id, "key id")
        for key in await self._list(current_caller()):
            if key.id == key_id:
                return cpb.GetAPIKeyResponse(key=self._public(key))
        raise NotFound(f"no API key {key_id} in your organization")

    async def Delete(self, request: uuid_pb2.UUID, context: _Context) -> Empty:
        caller = current_caller()
        caller.require_admin("delete API keys")
        key_id = uuid_from_pb(request, "key id")
        await call_backend(
            "auth",
            self._backends.api_keys.Delete(
                auth_pb2.DeleteAPIKeyRequest(id=key_id, org_id=caller.require_org()),
                metadata=self._backends.metadata(caller.token),
                timeout=self._backends.timeout,
            ),
        )
        # The deleted key may be cached here; forget the org's callers so it stops at once.
        self._authenticator.forget_org(caller.org_id)
        return Empty()

    async def LookupAPIKey(
        self, request: cpb.LookupAPIKeyRequest, context: _Context
    ) -> cpb.LookupAPIKeyResponse:
        caller = current_caller()
        if not request.key.strip():
            raise InvalidArgument("missing key (the px-api-... value to look up)")
        # auth hashes the presented value and finds it within the caller's org only.
        key = await call_backend(
            "auth",
            self._backends.api_keys.Lookup(
                auth_pb2.LookupAPIKeyRequest(key=request.key, org_id=caller.require_org()),
                metadata=self._backends.metadata(caller.token),
                timeout=self._backends.timeout,
            ),
        )
        if key.org_id != caller.org_id:
            raise NotFound("no such API key in your organization")
        return cpb.LookupAPIKeyResponse(key=self._public(key))


class DeploymentKeyManagerServicer(cpb_grpc.VizierDeploymentKeyManagerServicer):
    def __init__(self, backends: CloudBackends) -> None:
        self._backends = backends

    @staticmethod
    def _public(key: vzmgr_pb2.DeploymentKey) -> cpb.DeploymentKey:
        return cpb.DeploymentKey(
            id=uuid_to_pb(key.id),
            key=key.key,
            created_at=_timestamp(key.created_at_ns),
            desc=key.description,
            org_id=_optional_uuid(key.org_id),
            user_id=_optional_uuid(key.user_id),
        )

    async def Create(
        self, request: cpb.CreateDeploymentKeyRequest, context: _Context
    ) -> cpb.DeploymentKey:
        caller = current_caller()
        caller.require_admin("create deploy keys")
        key = await call_backend(
            "vzmgr",
            self._backends.deploy_keys.Create(
                vzmgr_pb2.CreateDeploymentKeyRequest(
                    org_id=caller.require_org(), user_id=caller.user_id, description=request.desc
                ),
                metadata=self._backends.metadata(caller.token),
                timeout=self._backends.timeout,
            ),
        )
        return self._public(key)

    async def List(
        self, request: cpb.ListDeploymentKeyRequest, context: _Context
    ) -> cpb.ListDeploymentKeyResponse:
        caller = current_caller()
        response = await call_backend(
            "vzmgr",
            self._backends.deploy_keys.List(
                vzmgr_pb2.ListDeploymentKeysRequest(org_id=caller.require_org()),
                metadata=self._backends.metadata(caller.token),
                timeout=self._backends.timeout,
            ),
        )
        return cpb.ListDeploymentKeyResponse(
            keys=[
                cpb.DeploymentKeyMetadata(
                    id=uuid_to_pb(k.id),
                    created_at=_timestamp(k.created_at_ns),
                    desc=k.description,
                    org_id=_optional_uuid(k.org_id),
                    user_id=_optional_uuid(k.user_id),
                )
                for k in response.keys
            ]
        )

    async def Get(
        self, request: cpb.GetDeploymentKeyRequest, context: _Context
    ) -> cpb.GetDeploymentKeyResponse:
        caller = current_caller()
        key = await call_backend(
            "vzmgr",
            self._backends.deploy_keys.Get(
                vzmgr_pb2.GetDeploymentKeyRequest(
                    id=uuid_from_pb(request.id, "key id"), org_id=caller.require_org()
                ),
                metadata=self._backends.metadata(caller.token),
                timeout=self._backends.timeout,
            ),
        )
        if key.org_id != caller.org_id:
            raise NotFound("no such deploy key in your organization")
        return cpb.GetDeploymentKeyResponse(key=self._public(key))

    async def Delete(self, request: uuid_pb2.UUID, context: _Context) -> Empty:
        caller = current_caller()
        caller.require_admin("delete deploy keys")
        await call_backend(
            "vzmgr",
            self._backends.deploy_keys.Delete(
                vzmgr_pb2.DeleteDeploymentKeyRequest(
                    id=uuid_from_pb(request, "key id"), org_id=caller.require_org()
                ),
                metadata=self._backends.metadata(caller.token),
                timeout=self._backends.timeout,
            ),
        )
        return Empty()

    async def LookupDeploymentKey(
        self, request: cpb.LookupDeploymentKeyRequest, context: _Context
    ) -> cpb.LookupDeploymentKeyResponse:
        caller = current_caller()
        if not request.key.strip():
            raise InvalidArgument("missing key (the px-dep-... value to look up)")
        key = await call_backend(
            "vzmgr",
            self._backends.deploy_keys.Lookup(
                vzmgr_pb2.LookupDeploymentKeyRequest(key=request.key, org_id=caller.require_org()),
                metadata=self._backends.metadata(caller.token),
                timeout=self._backends.timeout,
            ),
        )
        if key.org_id != caller.org_id:
            raise NotFound("no such deploy key in your organization")
        return cpb.LookupDeploymentKeyResponse(key=self._public(key))
