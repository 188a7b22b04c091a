"""gRPC servicers: VZMgrService, VZDeploymentService, VZDeploymentKeyService.

Who may call what:
* VZDeploymentService.RegisterVizierDeployment and VZMgrService.VizierConnected: only other
  cloud services (vzconn) with a service JWT. The deploy key travels in the request body and is
  checked here; it is never a credential for any other method (it is not a JWT).
* Org-scoped reads and deploy-key management: a user or API-user token acts in its own org
  (a request naming another org is refused); a service token (the api gateway acting for a
  caller it authenticated) must name the org.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Final

import grpc
from pyxie_jwt import APIUserClaims, ServiceClaims, UserClaims
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2 as pb
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2_grpc as pb_grpc
from pyxie_service import (
    InvalidArgument,
    PermissionDenied,
    ServiceRegistration,
    current_claims,
    require_claims,
)
from pyxie_service.text import MAX_DESCRIPTION_CHARS, check_text

from pyxie_vzmgr.controllers._time import from_ns, to_ns
from pyxie_vzmgr.controllers.deploy_keys import DeployKey, DeployKeyStore
from pyxie_vzmgr.controllers.registry import (
    VizierRecord,
    VizierRegistry,
    parse_uuid,
    status_to_proto,
)

if TYPE_CHECKING:
    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = [
    "DEPLOYMENT_KEY_SERVICE_NAME",
    "DEPLOYMENT_SERVICE_NAME",
    "VZMGR_SERVICE_NAME",
    "DeploymentKeyServicer",
    "DeploymentServicer",
    "VZMgrServicer",
]

VZMGR_SERVICE_NAME: Final = "pyxie.cloud.vzmgrpb.VZMgrService"
DEPLOYMENT_SERVICE_NAME: Final = "pyxie.cloud.vzmgrpb.VZDeploymentService"
DEPLOYMENT_KEY_SERVICE_NAME: Final = "pyxie.cloud.vzmgrpb.VZDeploymentKeyService"


def _caller_org(requested: str) -> uuid.UUID:
    """The org the caller acts in (see the module docstring)."""
    claims = current_claims()
    if not isinstance(claims, UserClaims | APIUserClaims | ServiceClaims):
        raise PermissionDenied("this method accepts only user, API-user or service tokens")
    if isinstance(claims, ServiceClaims):
        if not requested:
            raise InvalidArgument("org_id is required when a service calls")
        return parse_uuid(requested, "org_id")
    if not claims.org_id:
        raise PermissionDenied("the caller does not belong to an org")
    if requested and requested != claims.org_id:
        raise PermissionDenied("the caller may act only in its own org")
    return parse_uuid(claims.org_id, "org_id of the caller")


def _check_owner(record: VizierRecord) -> None:
    claims = current_claims()
    if not isinstance(claims, UserClaims | APIUserClaims | ServiceClaims):
        raise PermissionDenied("this method accepts only user, API-user or service tokens")
    if isinstance(claims, ServiceClaims):
        return
    if claims.org_id != str(record.org_id):
        raise PermissionDenied("the vizier does not belong to the caller's org")


def _vizier_info(record: VizierRecord) -> pb.VizierInfo:
    return pb.VizierInfo(
        vizier_id=str(record.id),
        org_id=str(record.org_id),
        name=record.name,
        cluster_uid=record.cluster_uid,
        status=status_to_proto(record.status),
        last_heartbeat_ns=to_ns(record.last_heartbeat),
        status_message=record.status_message,
        vizier_version=record.vizier_version,
        num_nodes=record.num_nodes,
        num_instrumented_nodes=record.num_instrumented_nodes,
        previous_status_time_ns=to_ns(record.prev_status_time),
        previous_status=status_to_proto(record.prev_status or "UNKNOWN"),
    )


def _deploy_key(key: DeployKey) -> pb.DeploymentKey:
    return pb.DeploymentKey(
        id=str(key.id),
        org_id=str(key.org_id),
        user_id=str(key.user_id),
        created_at_ns=to_ns(key.created_at),
        description=key.description,
        key=key.key,
        expires_at_ns=to_ns(key.expires_at),
        last_used_at_ns=to_ns(key.last_used_at),
    )


class VZMgrServicer(pb_grpc.VZMgrServiceServicer):
    def __init__(self, registry: VizierRegistry) -> None:
        self._registry = registry

    def registration(self) -> ServiceRegistration:
        return ServiceRegistration(
            VZMGR_SERVICE_NAME,
            lambda server: pb_grpc.add_VZMgrServiceServicer_to_server(self, server),
        )

    async def GetViziersByOrg(
        self, request: pb.GetViziersByOrgRequest, context: _Context
    ) -> pb.GetViziersByOrgResponse:
        org_id = _caller_org(request.org_id)
        records = await self._registry.by_org(org_id)
        return pb.GetViziersByOrgResponse(viziers=[_vizier_info(record) for record in records])

    async def GetVizierInfo(
        self, request: pb.GetVizierInfoRequest, context: _Context
    ) -> pb.VizierInfo:
        record = await self._registry.get(parse_uuid(request.vizier_id, "vizier_id"))
        _check_owner(record)
        return _vizier_info(record)

    async def GetVizierConnectionInfo(
        self, request: pb.GetVizierConnectionInfoRequest, context: _Context
    ) -> pb.VizierConnectionInfo:
        record = await self._registry.get(parse_uuid(request.vizier_id, "vizier_id"))
        _check_owner(record)
        return pb.VizierConnectionInfo(token=await self._registry.connection_token(record.id))

    async def VizierConnected(
        self, request: pb.VizierConnectedRequest, context: _Context
    ) -> cvmsgs.RegisterVizierAck:
        require_claims(ServiceClaims)
        return await self._registry.vizier_connected(request.register)


class DeploymentServicer(pb_grpc.VZDeploymentServiceServicer):
    def __init__(self, registry: VizierRegistry) -> None:
        self._registry = registry

    def registration(self) -> ServiceRegistration:
        return ServiceRegistration(
            DEPLOYMENT_SERVICE_NAME,
            lambda server: pb_grpc.add_VZDeploymentServiceServicer_to_server(self, server),
        )

    async def RegisterVizierDeployment(
        self, request: pb.RegisterVizierDeploymentRequest, context: _Context
    ) -> pb.RegisterVizierDeploymentResponse:
        require_claims(ServiceClaims)
        provisioned = await self._registry.provision(
            deploy_key=request.deploy_key,
            cluster_uid=request.k8s_cluster_uid,
            cluster_name=request.k8s_cluster_name,
            peer=request.peer or context.peer(),
        )
        return pb.RegisterVizierDeploymentResponse(
            vizier_id=str(provisioned.vizier_id),
            vizier_name=provisioned.name,
            jwt_signing_key=provisioned.signing_key.reveal_text(),
        )


class DeploymentKeyServicer(pb_grpc.VZDeploymentKeyServiceServicer):
    def __init__(self, store: DeployKeyStore) -> None:
        self._store = store

    def registration(self) -> ServiceRegistration:
        return ServiceRegistration(
            DEPLOYMENT_KEY_SERVICE_NAME,
            lambda server: pb_grpc.add_VZDeploymentKeyServiceServicer_to_server(self, server),
        )

    async def Create(
        self, request: pb.CreateDeploymentKeyRequest, context: _Context
    ) -> pb.DeploymentKey:
        org_id = _caller_org(request.org_id)
        claims = current_claims()
        if isinstance(claims, UserClaims | APIUserClaims):
            user_id = parse_uuid(claims.user_id, "user id of the caller")
        else:
            user_id = parse_uuid(request.user_id, "user_id")
        if request.expires_at_ns < 0:
            raise InvalidArgument("expires_at_ns must be 0 (never) or a time in the future")
        # The same rule as API-key descriptions (auth).
        description = check_text(
            request.description, field="description", max_chars=MAX_DESCRIPTION_CHARS
        )
        key = await self._store.create(
            org_id=org_id,
            user_id=user_id,
            description=description,
            expires_at=from_ns(request.expires_at_ns),
        )
        return _deploy_key(key)

    async def List(
        self, request: pb.ListDeploymentKeysRequest, context: _Context
    ) -> pb.ListDeploymentKeysResponse:
        keys = await self._store.list(_caller_org(request.org_id))
        return pb.ListDeploymentKeysResponse(keys=[_deploy_key(key) for key in keys])

    async def Get(self, request: pb.GetDeploymentKeyRequest, context: _Context) -> pb.DeploymentKey:
        org_id = _caller_org(request.org_id)
        return _deploy_key(await self._store.get(parse_uuid(request.id, "id"), org_id))

    async def Delete(
        self, request: pb.DeleteDeploymentKeyRequest, context: _Context
    ) -> pb.DeleteDeploymentKeyResponse:
        org_id = _caller_org(request.org_id)
        await self._store.delete(parse_uuid(request.id, "id"), org_id)
        return pb.DeleteDeploymentKeyResponse()

    async def Lookup(
        self, request: pb.LookupDeploymentKeyRequest, context: _Context
    ) -> pb.DeploymentKey:
        org_id = _caller_org(request.org_id)
        return _deploy_key(await self._store.lookup(request.key, org_id))
