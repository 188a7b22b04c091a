"""`CronScriptStoreService`: the vizier's cron scripts and their last results, in the KV store.

Keys (Pixie's): `/cronScript/<uuid>` holds a `cvmsgspb.CronScript`;
`/cronScriptResults/<uuid>/index` the next slot of a ring of `RESULTS_KEPT` results kept under
`/cronScriptResults/<uuid>/results/%04d`. The query broker's script runner is the client: it
loads the scripts at start (so schedules survive a broker restart), saves what the cloud sends
and records the outcome of every run.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Final

import grpc
from pyxie_jwt import ServiceClaims
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2
from pyxie_proto.uuidpb import uuid_pb2
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_proto.vizier.metadatapb import metadata_pb2_grpc as mdpb_grpc
from pyxie_service import InvalidArgument, ServiceRegistration, get_logger, require_claims

from pyxie_metadata.kvstore import KVStore

if TYPE_CHECKING:
    _Context = grpc.aio.ServicerContext[Any, Any]

__all__ = [
    "CRON_SCRIPT_PREFIX",
    "CRON_SCRIPT_RESULTS_PREFIX",
    "CRON_SCRIPT_STORE_SERVICE_NAME",
    "RESULTS_KEPT",
    "CronScriptStore",
    "CronScriptStoreServicer",
    "uuid_from_proto",
    "uuid_to_proto",
]

CRON_SCRIPT_STORE_SERVICE_NAME: Final = "pyxie.vizier.metadatapb.CronScriptStoreService"
CRON_SCRIPT_PREFIX: Final = "/cronScript/"
CRON_SCRIPT_RESULTS_PREFIX: Final = "/cronScriptResults/"
RESULTS_KEPT: Final = 10
# Bounds on what the store accepts (the cloud sends scripts; a bad one must not fill the KV).
MAX_SCRIPT_BYTES: Final = 256 * 1024
MAX_SCRIPTS: Final = 1000

_log = get_logger("pyxie.metadata.cron_scripts")


def uuid_to_proto(value: str) -> uuid_pb2.UUID:
    raw = uuid.UUID(value).int
    return uuid_pb2.UUID(high_bits=raw >> 64, low_bits=raw & ((1 << 64) - 1))


def uuid_from_proto(value: uuid_pb2.UUID) -> str:
    return str(uuid.UUID(int=(value.high_bits << 64) | value.low_bits))


def _script_id(script: cvmsgs_pb2.CronScript) -> str:
    if not script.HasField("id"):
        raise InvalidArgument("a cron script needs an id")
    script_id = uuid_from_proto(script.id)
    if script_id == str(uuid.UUID(int=0)):
        raise InvalidArgument("a cron script needs a non-nil id")
    if script.frequency_s <= 0:
        raise InvalidArgument(f"cron script {script_id}: frequency_s must be positive")
    if len(script.script.encode()) > MAX_SCRIPT_BYTES or len(script.configs) > MAX_SCRIPT_BYTES:
        raise InvalidArgument(f"cron script {script_id}: script or configs too large")
    return script_id


class CronScriptStore:
    """The scripts and the result rings, over the metadata KV store."""

    def __init__(self, kv: KVStore) -> None:
        self._kv = kv

    async def scripts(self) -> dict[str, cvmsgs_pb2.CronScript]:
        out: dict[str, cvmsgs_pb2.CronScript] = {}
        for key, value in await self._kv.get_with_prefix(CRON_SCRIPT_PREFIX):
            script = cvmsgs_pb2.CronScript()
            script.ParseFromString(value)
            out[key.removeprefix(CRON_SCRIPT_PREFIX)] = script
        return out

    async def upsert(self, script: cvmsgs_pb2.CronScript) -> str:
        script_id = _script_id(script)
        existing = await self._kv.get(CRON_SCRIPT_PREFIX + script_id)
        if existing is None and len(await self.scripts()) >= MAX_SCRIPTS:
            raise InvalidArgument(f"at most {MAX_SCRIPTS} cron scripts per vizier")
        await self._kv.set(CRON_SCRIPT_PREFIX + script_id, script.SerializeToString())
        return script_id

    async def delete(self, script_id: str) -> None:
        await self._kv.delete(CRON_SCRIPT_PREFIX + script_id)
        await self._kv.delete_with_prefix(f"{CRON_SCRIPT_RESULTS_PREFIX}{script_id}/")

    async def replace_all(self, scripts: dict[str, cvmsgs_pb2.CronScript]) -> None:
        if len(scripts) > MAX_SCRIPTS:
            raise InvalidArgument(f"at most {MAX_SCRIPTS} cron scripts per vizier")
        wanted = {}
        for key, script in scripts.items():
            script_id = _script_id(script)
            if key and key != script_id:
                raise InvalidArgument(f"script key {key!r} differs from its id {script_id}")
            wanted[script_id] = script
        for old in set(await self.scripts()) - set(wanted):
            await self.delete(old)
        for script in wanted.values():
            await self.upsert(script)

    async def record(self, result: mdpb.CronScriptExecutionResult) -> None:
        script_id = uuid_from_proto(result.script_id)
        base = f"{CRON_SCRIPT_RESULTS_PREFIX}{script_id}/"
        raw_index = await self._kv.get(base + "index")
        index = int(raw_index.decode()) if raw_index else 0
        await self._kv.set(f"{base}results/{index % RESULTS_KEPT:04d}", result.SerializeToString())
        await self._kv.set(base + "index", str(index + 1).encode())

    async def results(self) -> list[mdpb.CronScriptExecutionResult]:
        """Every kept result, per script oldest first."""
        by_script: dict[str, list[mdpb.CronScriptExecutionResult]] = {}
        for key, value in await self._kv.get_with_prefix(CRON_SCRIPT_RESULTS_PREFIX):
            if "/results/" not in key:
                continue
            result = mdpb.CronScriptExecutionResult()
            result.ParseFromString(value)
            by_script.setdefault(uuid_from_proto(result.script_id), []).append(result)
        out: list[mdpb.CronScriptExecutionResult] = []
        for script_id in sorted(by_script):
            out.extend(sorted(by_script[script_id], key=lambda r: r.timestamp.ToNanoseconds()))
        return out


class CronScriptStoreServicer(mdpb_grpc.CronScriptStoreServiceServicer):
    """The gRPC face of `CronScriptStore`; callers are vizier services (service JWT)."""

    def __init__(self, store: CronScriptStore) -> None:
        self.store = store

    def registration(self) -> ServiceRegistration:
        return ServiceRegistration(
            CRON_SCRIPT_STORE_SERVICE_NAME,
            lambda server: mdpb_grpc.add_CronScriptStoreServiceServicer_to_server(self, server),
        )

    async def GetScripts(
        self, request: mdpb.GetScriptsRequest, context: _Context
    ) -> mdpb.GetScriptsResponse:
        require_claims(ServiceClaims)
        return mdpb.GetScriptsResponse(scripts=await self.store.scripts())

    async def AddOrUpdateScript(
        self, request: mdpb.AddOrUpdateScriptRequest, context: _Context
    ) -> mdpb.AddOrUpdateScriptResponse:
        require_claims(ServiceClaims)
        script_id = await self.store.upsert(request.script)
        _log.info("cron script saved", script_id=script_id, frequency_s=request.script.frequency_s)
        return mdpb.AddOrUpdateScriptResponse()

    async def DeleteScript(
        self, request: mdpb.DeleteScriptRequest, context: _Context
    ) -> mdpb.DeleteScriptResponse:
        require_claims(ServiceClaims)
        script_id = uuid_from_proto(request.script_id)
        await self.store.delete(script_id)
        _log.info("cron script deleted", script_id=script_id)
        return mdpb.DeleteScriptResponse()

    async def SetScripts(
        self, request: mdpb.SetScriptsRequest, context: _Context
    ) -> mdpb.SetScriptsResponse:
        require_claims(ServiceClaims)
        await self.store.replace_all(dict(request.scripts))
        _log.info("cron scripts replaced", count=len(request.scripts))
        return mdpb.SetScriptsResponse()

    async def RecordExecutionResult(
        self, request: mdpb.RecordExecutionResultRequest, context: _Context
    ) -> mdpb.RecordExecutionResultResponse:
        require_claims(ServiceClaims)
        if not request.HasField("script_id"):
            raise InvalidArgument("a result needs its script_id")
        result = mdpb.CronScriptExecutionResult(
            script_id=request.script_id, timestamp=request.timestamp
        )
        if request.HasField("error"):
            result.error.CopyFrom(request.error)
        elif request.HasField("execution_stats"):
            result.execution_stats.CopyFrom(request.execution_stats)
        await self.store.record(result)
        return mdpb.RecordExecutionResultResponse()

    async def GetAllExecutionResults(
        self, request: mdpb.GetAllExecutionResultsRequest, context: _Context
    ) -> mdpb.GetAllExecutionResultsResponse:
        require_claims(ServiceClaims)
        return mdpb.GetAllExecutionResultsResponse(results=await self.store.results())
