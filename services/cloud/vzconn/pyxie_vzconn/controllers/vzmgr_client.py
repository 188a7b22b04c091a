"""vzconn's client of vzmgr: every call carries a fresh service JWT of the cloud."""

from __future__ import annotations

from typing import Final, Protocol

import grpc
from pyxie_jwt import SigningKey, service_claims, sign_token
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2 as vzmgr_pb
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2_grpc as vzmgr_grpc
from pyxie_service import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ServiceError,
    Unauthenticated,
    Unavailable,
)

__all__ = ["GrpcVzmgrClient", "VzmgrClient"]

SERVICE_ID: Final = "vzconn"

# vzmgr's answers the vizier may see as they are; anything else means vzmgr is unwell.
_PASSED_ON: Final[dict[grpc.StatusCode, type[ServiceError]]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
}


class VzmgrClient(Protocol):
    async def register_deployment(
        self, *, deploy_key: str, cluster_uid: str, cluster_name: str, peer: str
    ) -> vzmgr_pb.RegisterVizierDeploymentResponse: ...

    async def vizier_connected(
        self, register: cvmsgs.RegisterVizierRequest
    ) -> cvmsgs.RegisterVizierAck: ...


class GrpcVzmgrClient:
    def __init__(
        self, channel: grpc.aio.Channel, key: SigningKey, *, audience: str, timeout: float
    ) -> None:
        self._mgr = vzmgr_grpc.VZMgrServiceStub(channel)
        self._deployment = vzmgr_grpc.VZDeploymentServiceStub(channel)
        self._key = key
        self._audience = audience
        self._timeout = timeout

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        token = sign_token(
            service_claims(service_id=SERVICE_ID, audience=self._audience), self._key
        )
        return (("authorization", f"bearer {token}"),)

    async def register_deployment(
        self, *, deploy_key: str, cluster_uid: str, cluster_name: str, peer: str
    ) -> vzmgr_pb.RegisterVizierDeploymentResponse:
        request = vzmgr_pb.RegisterVizierDeploymentRequest(
            deploy_key=deploy_key,
            k8s_cluster_uid=cluster_uid,
            k8s_cluster_name=cluster_name,
            peer=peer,
        )
        try:
            response: vzmgr_pb.RegisterVizierDeploymentResponse = (
                await self._deployment.RegisterVizierDeployment(
                    request, metadata=self._metadata(), timeout=self._timeout
                )
            )
        except grpc.aio.AioRpcError as err:
            raise _translate(err) from None
        return response

    async def vizier_connected(
        self, register: cvmsgs.RegisterVizierRequest
    ) -> cvmsgs.RegisterVizierAck:
        try:
            ack: cvmsgs.RegisterVizierAck = await self._mgr.VizierConnected(
                vzmgr_pb.VizierConnectedRequest(register=register),
                metadata=self._metadata(),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as err:
            raise _translate(err) from None
        return ack


def _translate(err: grpc.aio.AioRpcError) -> ServiceError:
    error_type = _PASSED_ON.get(err.code())
    if error_type is None:
        return Unavailable("the vizier registry is unavailable; retry later")
    return error_type(err.details() or err.code().name)
