"""`px.cloudapi.ConfigService` and `VizierImageAuthorization`: what a vizier or the operator
deploys with.

GetConfigForVizier answers the values of the `pyxie-vizier` Helm chart (`k8s/charts`) for the
requested `VizierSpec`, as `values.yaml`: `helm install -f values.yaml` (or the operator)
renders the vizier from them. Everything it is given is checked first: the deploy key must be
one of the caller's org (looked up by its hash), the vizier id the org's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import yaml
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2
from pyxie_service import FailedPrecondition, InvalidArgument

from pyxie_api.controllers.backends import CloudBackends, call_backend
from pyxie_api.controllers.caller import current_caller
from pyxie_api.controllers.clusters import ClusterDirectory
from pyxie_api.controllers.ids import uuid_from_pb

if TYPE_CHECKING:
    import grpc

    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = ["VALUES_FILE", "ConfigServicer", "DeployDefaults", "ImageAuthorizationServicer"]

VALUES_FILE: Final = "values.yaml"
_DATA_ACCESS: Final = ("Full", "Restricted", "PIIRestricted")
# Kubernetes names and quantities (what the chart puts them into).
_DNS_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_QUANTITY: Final = re.compile(r"[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?")
_VERSION: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,127}")
_REGISTRY: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z.:/_-]{0,255}")
_HOST_PORT: Final = re.compile(r"[0-9A-Za-z.\-\[\]:]{1,255}:[0-9]{1,5}")


@dataclass(frozen=True)
class DeployDefaults:
    """What the cloud tells viziers when their spec leaves it empty (api settings)."""

    cloud_addr: str
    image_registry: str
    image_tag: str
    image_credentials: str
    sentry_dsn: str = ""
    sentry_operator_dsn: str = ""


def _check(value: str, pattern: re.Pattern[str], what: str) -> str:
    if value and not pattern.fullmatch(value):
        raise InvalidArgument(f"{what} {value!r} is not valid")
    return value


class ConfigServicer(cpb_grpc.ConfigServiceServicer):
    def __init__(
        self, backends: CloudBackends, directory: ClusterDirectory, defaults: DeployDefaults
    ) -> None:
        self._backends = backends
        self._directory = directory
        self._defaults = defaults

    async def _check_deploy_key(self, key: str) -> None:
        caller = current_caller()
        await call_backend(
            "vzmgr",
            self._backends.deploy_keys.Lookup(
                vzmgr_pb2.LookupDeploymentKeyRequest(key=key, org_id=caller.require_org()),
                metadata=self._backends.metadata(caller.token),
                timeout=self._backends.timeout,
            ),
        )

    async def GetConfigForVizier(
        self, request: cpb.ConfigForVizierRequest, context: _Context
    ) -> cpb.ConfigForVizierResponse:
        caller = current_caller()
        caller.require_org()
        spec = request.vz_spec
        _check(request.namespace, _DNS_LABEL, "namespace")
        if request.HasField("vizier_id"):
            await self._directory.get(caller, uuid_from_pb(request.vizier_id, "vizier_id"))
        if spec.deploy_key:
            # NotFound for a key of another org: the config never carries a foreign key.
            await self._check_deploy_key(spec.deploy_key)
        if spec.data_access and spec.data_access not in _DATA_ACCESS:
            raise InvalidArgument(
                f"data_access {spec.data_access!r} is not one of {', '.join(_DATA_ACCESS)}"
            )
        cloud_addr = _check(spec.cloud_addr, _HOST_PORT, "cloud_addr") or self._defaults.cloud_addr
        if not cloud_addr:
            raise FailedPrecondition(
                "this cloud has no vizier address configured (PL_VIZIER_CLOUD_ADDR); pass "
                "vz_spec.cloud_addr (host:port of vzconn)"
            )
        values: dict[str, Any] = {
            "image": {
                "registry": _check(spec.registry, _REGISTRY, "registry")
                or self._defaults.image_registry,
                "tag": _check(spec.version, _VERSION, "version") or self._defaults.image_tag,
            },
            "deployKey": spec.deploy_key,
            "cloudAddr": cloud_addr,
            "clusterName": _check(spec.cluster_name, _DNS_LABEL, "cluster_name"),
            "dataAccess": spec.data_access or "Full",
            "metadata": {"store": "etcd" if spec.use_etcd_operator else "pvc"},
        }
        pem: dict[str, Any] = {}
        if spec.pem_memory_limit:
            _check(spec.pem_memory_limit, _QUANTITY, "pem_memory_limit")
            pem["limits"] = {"memory": spec.pem_memory_limit}
        if spec.pem_memory_request:
            _check(spec.pem_memory_request, _QUANTITY, "pem_memory_request")
            pem["requests"] = {"memory": spec.pem_memory_request}
        if pem:
            values["resources"] = {"pem": pem}
        rendered = yaml.safe_dump(values, sort_keys=True)
        return cpb.ConfigForVizierResponse(
            nameToYamlContent={VALUES_FILE: rendered}, sentry_dsn=self._defaults.sentry_dsn
        )

    async def GetConfigForOperator(
        self, request: cpb.ConfigForOperatorRequest, context: _Context
    ) -> cpb.ConfigForOperatorResponse:
        current_caller().require_org()
        return cpb.ConfigForOperatorResponse(sentry_operator_dsn=self._defaults.sentry_operator_dsn)


class ImageAuthorizationServicer(cpb_grpc.VizierImageAuthorizationServicer):
    def __init__(self, defaults: DeployDefaults) -> None:
        self._defaults = defaults

    async def GetImageCredentials(
        self, request: cpb.GetImageCredentialsRequest, context: _Context
    ) -> cpb.GetImageCredentialsResponse:
        caller = current_caller()
        caller.require_org()
        # Registry credentials are a secret: admins (and the operator's admin key) only.
        caller.require_admin("read image registry credentials")
        # Empty: the images are public (Pyxie's default registry needs no login).
        return cpb.GetImageCredentialsResponse(creds=self._defaults.image_credentials)
