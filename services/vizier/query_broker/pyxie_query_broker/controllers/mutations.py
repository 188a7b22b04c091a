"""Mutations (pxtrace): register a script's tracepoints and wait for them (Pixie's
`MutationExecutor`).

`apply` removes the tracepoints the script deletes, registers the ones it upserts with the
metadata service's `MetadataTracepointService`, then polls their state and yields
`MutationInfo` progress messages. It is done when every tracepoint is RUNNING and its tables
are in the broker's schema (the PEMs report new tables with their next heartbeat). A FAILED
tracepoint ends the script with the agents' reason (INVALID_ARGUMENT for a refused program).
When the wait runs out, the last `MutationInfo` carries UNAVAILABLE and the caller stops there:
Pixie's clients run the script again, which then finds the tracepoints running.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import grpc
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_proto.vizier.metadatapb import metadata_pb2_grpc as mdpb_grpc
from pyxie_pxl.compiler import MutationPlan
from pyxie_service import (
    AUTHORIZATION_METADATA_KEY,
    FailedPrecondition,
    InvalidArgument,
    get_logger,
)
from pyxie_service.audit import audit

__all__ = [
    "GrpcTracepointClient",
    "MutationExecutor",
    "MutationOutcome",
    "SchemaSource",
    "TracepointClient",
]

_log = get_logger("pyxie.query_broker.mutations")

_OK: Final = grpc.StatusCode.OK.value[0]
_UNAVAILABLE: Final = grpc.StatusCode.UNAVAILABLE.value[0]
_INVALID_ARGUMENT: Final = grpc.StatusCode.INVALID_ARGUMENT.value[0]
_POLL_SECONDS: Final = 0.5
_S = msgs.TracepointState


class TracepointClient(Protocol):
    async def register(
        self, deployments: Sequence[msgs.TracepointDeployment]
    ) -> list[mdpb.TracepointRegistration]: ...

    async def info(self, ids: Sequence[str]) -> list[mdpb.TracepointInfo]: ...

    async def remove(self, names: Sequence[str]) -> list[str]: ...


class SchemaSource(Protocol):
    def table_names(self) -> set[str]: ...


class GrpcTracepointClient:
    """`MetadataTracepointService` over the broker's metadata channel, with a service JWT."""

    def __init__(self, channel: grpc.aio.Channel, token: Callable[[], str]) -> None:
        self._stub = mdpb_grpc.MetadataTracepointServiceStub(channel)
        self._token = token

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return ((AUTHORIZATION_METADATA_KEY, f"bearer {self._token()}"),)

    async def register(
        self, deployments: Sequence[msgs.TracepointDeployment]
    ) -> list[mdpb.TracepointRegistration]:
        response = await self._stub.RegisterTracepoint(
            mdpb.RegisterTracepointRequest(deployments=deployments), metadata=self._metadata()
        )
        return list(response.tracepoints)

    async def info(self, ids: Sequence[str]) -> list[mdpb.TracepointInfo]:
        response = await self._stub.GetTracepointInfo(
            mdpb.GetTracepointInfoRequest(ids=ids), metadata=self._metadata()
        )
        return list(response.tracepoints)

    async def remove(self, names: Sequence[str]) -> list[str]:
        response = await self._stub.RemoveTracepoint(
            mdpb.RemoveTracepointRequest(names=names), metadata=self._metadata()
        )
        return list(response.removed)


@dataclass
class MutationOutcome:
    """Set by `apply`: whether the script may go on to its queries."""

    ready: bool = False


def _life_cycle(state: int) -> vpb.LifeCycleState:
    # TracepointState is numbered as LifeCycleState.
    return vpb.LifeCycleState.Value(vpb.LifeCycleState.Name(state))  # type: ignore[return-value]


def _failure(info: mdpb.TracepointInfo) -> tuple[int, str]:
    reasons = [a for a in info.agents if a.state == _S.TRACEPOINT_STATE_FAILED]
    code = reasons[0].status_code if reasons else 0
    text = "; ".join(f"{a.status_message}" for a in reasons if a.status_message)
    return code, text or "every agent failed to deploy it"


class MutationExecutor:
    def __init__(
        self,
        client: TracepointClient,
        schemas: SchemaSource,
        *,
        wait_seconds: float,
        poll_seconds: float = _POLL_SECONDS,
    ) -> None:
        self._client = client
        self._schemas = schemas
        self._wait_seconds = wait_seconds
        self._poll_seconds = poll_seconds

    async def apply(
        self, plan: MutationPlan, outcome: MutationOutcome, *, actor: str, query_id: str
    ) -> AsyncIterator[vpb.ExecuteScriptResponse]:
        if plan.deletes:
            removed = await self._client.remove(plan.deletes)
            for name in plan.deletes:
                audit(
                    "tracepoint.delete",
                    "applied" if name in removed else "failed",
                    actor=actor,
                    target=name,
                    reason="" if name in removed else "no live tracepoint has this name",
                )
        if not plan.deployments:
            outcome.ready = True
            return
        for deployment in plan.deployments:
            audit(
                "tracepoint.deploy",
                "allowed",
                actor=actor,
                target=deployment.name,
                tables=",".join(p.table_name for p in deployment.programs),
                query_id=query_id,
            )
        registrations = await self._client.register(plan.deployments)
        ids = [r.id for r in registrations]
        tables = set(plan.table_names)
        deadline = time.monotonic() + self._wait_seconds
        last: list[tuple[str, int]] = []
        while True:
            infos = await self._client.info(ids)
            states = [(info.id, int(info.state)) for info in infos]
            for info in infos:
                if info.state == _S.TRACEPOINT_STATE_FAILED:
                    code, reason = _failure(info)
                    message = f"tracepoint {info.name!r} failed to deploy: {reason}"
                    audit(
                        "tracepoint.deploy",
                        "refused" if code == _INVALID_ARGUMENT else "failed",
                        actor=actor,
                        target=info.name,
                        reason=reason,
                        tracepoint_id=info.id,
                    )
                    if code == _INVALID_ARGUMENT:
                        raise InvalidArgument(message)
                    raise FailedPrecondition(message)
            running = all(state == _S.TRACEPOINT_STATE_RUNNING for _, state in states)
            ready = running and len(infos) == len(ids) and tables <= self._schemas.table_names()
            if states != last or ready:
                last = states
                yield self._info(query_id, infos, ready)
            if ready:
                outcome.ready = True
                _log.info("tracepoints running", query_id=query_id, tracepoints=ids)
                return
            if time.monotonic() >= deadline:
                yield self._info(query_id, infos, False, final=True)
                return
            await asyncio.sleep(self._poll_seconds)

    @staticmethod
    def _info(
        query_id: str, infos: Sequence[mdpb.TracepointInfo], ready: bool, *, final: bool = False
    ) -> vpb.ExecuteScriptResponse:
        if ready:
            status = vpb.Status(code=_OK)
        else:
            message = "tracepoints are deploying"
            if final:
                message += "; run the script again to query their tables once they run"
            status = vpb.Status(code=_UNAVAILABLE, message=message)
        return vpb.ExecuteScriptResponse(
            query_id=query_id,
            mutation_info=vpb.MutationInfo(
                status=status,
                states=[
                    vpb.MutationInfo.MutationState(
                        id=info.id, state=_life_cycle(info.state), name=info.name
                    )
                    for info in infos
                ],
            ),
        )
