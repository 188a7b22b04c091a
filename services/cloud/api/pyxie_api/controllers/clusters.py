"""`px.cloudapi.VizierClusterInfo`: the caller's viziers, as pxapi and the CLI read them."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Final, cast

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2
from pyxie_service import FailedPrecondition, NotFound, PermissionDenied, Unavailable

from pyxie_api.controllers.backends import CloudBackends, call_backend
from pyxie_api.controllers.caller import Caller, current_caller
from pyxie_api.controllers.ids import uuid_from_pb, uuid_to_pb

__all__ = ["ClusterDirectory", "ClusterInfoServicer", "cluster_info"]

if TYPE_CHECKING:
    _Context = grpc.aio.ServicerContext[Any, Any]

# Passthrough is allowed only to a vizier in one of these states (Pixie's rule).
_QUERYABLE: Final = frozenset({cvmsgs_pb2.VZ_ST_HEALTHY, cvmsgs_pb2.VZ_ST_DEGRADED})
# vzmgr may report the last heartbeat as a Unix time in ns; anything past this is one.
_EPOCH_NS_THRESHOLD: Final = 10**17


def _status(status: int) -> cpb.ClusterStatus:
    # VZ_ST_* and CS_* share their numbers one to one (Pixie maps them the same way).
    name = cvmsgs_pb2.VizierStatus.Name(status).replace("VZ_ST_", "CS_")
    try:
        return cast("cpb.ClusterStatus", cpb.ClusterStatus.Value(name))
    except ValueError:
        return cpb.CS_UNKNOWN


def _since_heartbeat_ns(value: int, now_ns: int) -> int:
    """Pixie's `lastHeartbeatNs` is the time since the last heartbeat, not a timestamp."""
    if value > _EPOCH_NS_THRESHOLD:
        return max(0, now_ns - value)
    return value


def _pretty(name: str) -> str:
    # Pixie trims cloud-provider prefixes (gke_project_zone_name → name); keep the last part.
    if name.startswith(("gke_", "arn:")):
        return name.replace("/", "_").rsplit("_", 1)[-1]
    return name


def cluster_info(info: vzmgr_pb2.VizierInfo, *, now_ns: int | None = None) -> cpb.ClusterInfo:
    now = time.time_ns() if now_ns is None else now_ns
    result = cpb.ClusterInfo(
        id=uuid_to_pb(info.vizier_id),
        status=_status(info.status),
        lastHeartbeatNs=_since_heartbeat_ns(info.last_heartbeat_ns, now),
        config=cpb.VizierConfig(passthrough_enabled=True),
        cluster_uid=info.cluster_uid,
        cluster_name=info.name,
        pretty_cluster_name=_pretty(info.name),
        vizier_version=info.vizier_version,
        num_nodes=info.num_nodes,
        num_instrumented_nodes=info.num_instrumented_nodes,
        status_message=info.status_message,
        previous_status=_status(info.previous_status),
    )
    if info.previous_status_time_ns:
        stamp = Timestamp()
        stamp.FromNanoseconds(info.previous_status_time_ns)
        result.previous_status_time.CopyFrom(stamp)
    return result


class ClusterDirectory:
    """The clusters a caller may see, checked against vzmgr (org ownership, key limits)."""

    def __init__(self, backends: CloudBackends) -> None:
        self._backends = backends

    async def list(self, caller: Caller) -> list[vzmgr_pb2.VizierInfo]:
        org_id = caller.require_org()
        response = await call_backend(
            "vzmgr",
            self._backends.vzmgr.GetViziersByOrg(
                vzmgr_pb2.GetViziersByOrgRequest(org_id=org_id),
                metadata=self._backends.metadata(caller.token),
                timeout=self._backends.timeout,
            ),
        )
        return [
            vz for vz in response.viziers if vz.org_id == org_id and caller.may_reach(vz.vizier_id)
        ]

    async def get(self, caller: Caller, vizier_id: str) -> vzmgr_pb2.VizierInfo:
        """The vizier if the caller's org owns it and the caller may reach it."""
        org_id = caller.require_org()
        not_found = NotFound(f"no cluster {vizier_id} in your organization")
        try:
            info = await call_backend(
                "vzmgr",
                self._backends.vzmgr.GetVizierInfo(
                    vzmgr_pb2.GetVizierInfoRequest(vizier_id=vizier_id),
                    metadata=self._backends.metadata(caller.token),
                    timeout=self._backends.timeout,
                ),
            )
        except (NotFound, PermissionDenied):
            raise not_found from None
        # Another org's cluster looks exactly like a missing one: existence is not leaked.
        if info.org_id != org_id:
            raise not_found
        if not caller.may_reach(vizier_id):
            raise PermissionDenied(f"this API key is not allowed on cluster {vizier_id}")
        return info

    async def get_queryable(self, caller: Caller, vizier_id: str) -> vzmgr_pb2.VizierInfo:
        info = await self.get(caller, vizier_id)
        if info.status not in _QUERYABLE:
            raise Unavailable("cluster is not in a healthy state")
        return info

    async def create_unclaimed(self, caller: Caller) -> str:
        """A vizier record of the org with no cluster yet; the first vizier deployed with any
        of the org's deploy keys claims it (Pixie's CreateCluster)."""
        org_id = caller.require_org()
        metadata = self._backends.metadata(caller.token)
        key = await call_backend(
            "vzmgr",
            self._backends.deploy_keys.Create(
                vzmgr_pb2.CreateDeploymentKeyRequest(
                    org_id=org_id, user_id=caller.user_id, description="CreateCluster (one use)"
                ),
                metadata=metadata,
                timeout=self._backends.timeout,
            ),
        )
        try:
            registered = await call_backend(
                "vzmgr",
                self._backends.deployments.RegisterVizierDeployment(
                    vzmgr_pb2.RegisterVizierDeploymentRequest(
                        deploy_key=key.key, k8s_cluster_uid="", peer="api CreateCluster"
                    ),
                    metadata=self._backends.metadata(),
                    timeout=self._backends.timeout,
                ),
            )
        finally:
            await call_backend(
                "vzmgr",
                self._backends.deploy_keys.Delete(
                    vzmgr_pb2.DeleteDeploymentKeyRequest(id=key.id, org_id=org_id),
                    metadata=metadata,
                    timeout=self._backends.timeout,
                ),
            )
        return registered.vizier_id

    async def passthrough_token(self, caller: Caller, vizier_id: str) -> str:
        """A cluster token for the vizier, signed by vzmgr with that vizier's own key."""
        response = await call_backend(
            "vzmgr",
            self._backends.vzmgr.GetVizierConnectionInfo(
                vzmgr_pb2.GetVizierConnectionInfoRequest(vizier_id=vizier_id),
                metadata=self._backends.metadata(caller.token),
                timeout=self._backends.timeout,
            ),
        )
        return response.token


class ClusterInfoServicer(cpb_grpc.VizierClusterInfoServicer):
    def __init__(self, directory: ClusterDirectory) -> None:
        self._directory = directory

    async def GetClusterInfo(
        self, request: cpb.GetClusterInfoRequest, context: _Context
    ) -> cpb.GetClusterInfoResponse:
        caller = current_caller()
        if request.HasField("id"):
            vizier_id = uuid_from_pb(request.id, "cluster id")
            viziers = [await self._directory.get(caller, vizier_id)]
        else:
            viziers = await self._directory.list(caller)
        now = time.time_ns()
        return cpb.GetClusterInfoResponse(clusters=[cluster_info(vz, now_ns=now) for vz in viziers])

    async def GetClusterConnectionInfo(
        self, request: cpb.GetClusterConnectionInfoRequest, context: _Context
    ) -> cpb.GetClusterConnectionInfoResponse:
        caller = current_caller()
        # A vizier token bypasses the cloud's checks: admins only.
        caller.require_admin("get a direct vizier token")
        vizier_id = uuid_from_pb(request.id, "cluster id")
        await self._directory.get_queryable(caller, vizier_id)
        token = await self._directory.passthrough_token(caller, vizier_id)
        return cpb.GetClusterConnectionInfoResponse(token=token)

    async def CreateCluster(
        self, request: cpb.CreateClusterRequest, context: _Context
    ) -> cpb.CreateClusterResponse:
        caller = current_caller()
        caller.require_admin("create clusters")
        vizier_id = await self._directory.create_unclaimed(caller)
        return cpb.CreateClusterResponse(cluster_id=uuid_to_pb(vizier_id))

    async def UpdateClusterVizierConfig(
        self, request: cpb.UpdateClusterVizierConfigRequest, context: _Context
    ) -> cpb.UpdateClusterVizierConfigResponse:
        caller = current_caller()
        caller.require_admin("change a cluster's config")
        await self._directory.get(caller, uuid_from_pb(request.id, "cluster id"))
        # Both settings VizierConfigUpdate once carried are retired: nothing is left to change.
        return cpb.UpdateClusterVizierConfigResponse()

    async def UpdateOrInstallCluster(
        self, request: cpb.UpdateOrInstallClusterRequest, context: _Context
    ) -> cpb.UpdateOrInstallClusterResponse:
        caller = current_caller()
        caller.require_admin("update clusters")
        await self._directory.get(caller, uuid_from_pb(request.cluster_id, "cluster_id"))
        raise FailedPrecondition(
            "cloud-driven vizier updates come with signed updates (issue 12); until then "
            "redeploy the vizier at the new version with `px deploy`"
        )
