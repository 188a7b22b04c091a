"""Mutations at the broker: who may deploy, what is refused before any registration, and how
the MutationExecutor reports progress, failure and a wait that runs out (the tracepoint
registry is another service, so it is faked at its client here; the whole path with the real
registry and kernel is services/vizier/pem/tests/test_pem_pxtrace.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import grpc
import pytest
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_pxl.compiler import MutationPlan
from pyxie_query_broker.controllers.mutations import MutationExecutor, MutationOutcome
from pyxie_query_broker.testing import RunnerAgent, Vizier, service_token, start_demo_pem
from pyxie_service import FailedPrecondition, InvalidArgument
from pyxie_service.audit import AuditEvent, add_audit_sink, remove_audit_sink

S = msgs.TracepointState
SAFE = 'BEGIN { printf("n:%d\\\\n", 1); }'


@pytest.fixture
async def pem_vizier(start_vizier: Any) -> AsyncIterator[tuple[Vizier, RunnerAgent]]:
    vizier = await start_vizier()
    pem = await start_demo_pem(vizier, 5)
    yield vizier, pem
    await pem.stop()


@pytest.fixture
def audits() -> Iterator[list[AuditEvent]]:
    events: list[AuditEvent] = []
    add_audit_sink(events.append)
    yield events
    remove_audit_sink(events.append)


async def run_error(vizier: Vizier, script: str, *, mutation: bool) -> grpc.aio.AioRpcError:
    async with grpc.aio.insecure_channel(vizier.address) as channel:
        stub = vpb_grpc.VizierServiceStub(channel)
        call = stub.ExecuteScript(
            vpb.ExecuteScriptRequest(query_str=script, mutation=mutation),
            metadata=(("authorization", f"bearer {service_token(vizier.key)}"),),
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in call:
                pass
    return caught.value


def upsert(program: str) -> str:
    return f"import pxtrace\npxtrace.UpsertTracepoint('p', 't', '{program}', None, '1m')\n"


async def test_a_pxtrace_script_without_the_mutation_flag_is_refused(
    pem_vizier: tuple[Vizier, RunnerAgent], audits: list[AuditEvent]
) -> None:
    vizier, pem = pem_vizier
    error = await run_error(vizier, upsert(SAFE), mutation=False)
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "mutation=true" in (error.details() or "")
    assert [(e.action, e.outcome) for e in audits] == [("tracepoint.deploy", "refused")]
    assert pem.executes == []


@pytest.mark.parametrize(
    ("program", "attack"),
    [
        ('BEGIN { system(\\"id\\"); printf(\\"n:%d\\", 1); }', "system"),
        ('BEGIN { signal(9); printf(\\"n:%d\\", 1); }', "signal"),
        ('BEGIN { override(1); printf(\\"n:%d\\", 1); }', "override"),
        ('BEGIN { cat(\\"/etc/shadow\\"); printf(\\"n:%d\\", 1); }', "cat"),
        ('BEGIN { bpf_probe_write_user(1); printf(\\"n:%d\\", 1); }', "bpf_probe_write_user"),
    ],
)
async def test_unsafe_programs_are_refused_before_registration(
    pem_vizier: tuple[Vizier, RunnerAgent], audits: list[AuditEvent], program: str, attack: str
) -> None:
    vizier, _ = pem_vizier
    error = await run_error(vizier, upsert(program), mutation=True)
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    details = error.details() or ""
    assert "read-only" in details and attack in details
    (event,) = audits
    assert (event.action, event.outcome) == ("tracepoint.deploy", "refused")
    assert attack in event.reason


class FakeRegistry:
    """The tracepoint registry's client: states follow a script per poll."""

    def __init__(self, states: Sequence[int], *, failure: tuple[int, str] = (0, "")) -> None:
        self.states = list(states)
        self.failure = failure
        self.registered: list[msgs.TracepointDeployment] = []
        self.removed: list[str] = []

    async def register(
        self, deployments: Sequence[msgs.TracepointDeployment]
    ) -> list[mdpb.TracepointRegistration]:
        self.registered.extend(deployments)
        return [mdpb.TracepointRegistration(id=f"id-{d.name}", name=d.name) for d in deployments]

    async def info(self, ids: Sequence[str]) -> list[mdpb.TracepointInfo]:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        code, message = self.failure
        return [
            mdpb.TracepointInfo(
                id=tracepoint_id,
                name=tracepoint_id.removeprefix("id-"),
                state=state,  # type: ignore[arg-type]
                agents=[
                    mdpb.AgentTracepointStatus(
                        agent_id="pem",
                        state=state,
                        status_code=code,
                        status_message=message,  # type: ignore[arg-type]
                    )
                ],
            )
            for tracepoint_id in ids
        ]

    async def remove(self, names: Sequence[str]) -> list[str]:
        self.removed.extend(names)
        return [n for n in names if n == "old"]


class Tables:
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def table_names(self) -> set[str]:
        return self.names


def plan(*names: str, deletes: Sequence[str] = ()) -> MutationPlan:
    return MutationPlan(
        deployments=[
            msgs.TracepointDeployment(
                name=name,
                ttl_ns=10**9,
                programs=[msgs.TracepointProgram(table_name=f"{name}_table")],
            )
            for name in names
        ],
        deletes=list(deletes),
    )


async def apply(
    executor: MutationExecutor, mutation: MutationPlan
) -> tuple[list[vpb.MutationInfo], MutationOutcome]:
    outcome = MutationOutcome()
    infos = [
        r.mutation_info
        async for r in executor.apply(mutation, outcome, actor="service:test", query_id="q")
    ]
    return infos, outcome


async def test_progress_until_running_and_the_tables_are_known() -> None:
    registry = FakeRegistry([S.TRACEPOINT_STATE_PENDING, S.TRACEPOINT_STATE_RUNNING])
    executor = MutationExecutor(registry, Tables({"a_table"}), wait_seconds=10, poll_seconds=0.01)
    infos, outcome = await apply(executor, plan("a", deletes=["old", "gone"]))
    assert outcome.ready
    assert registry.removed == ["old", "gone"]
    assert [(i.status.code, [(s.name, s.state) for s in i.states]) for i in infos] == [
        (grpc.StatusCode.UNAVAILABLE.value[0], [("a", vpb.PENDING_STATE)]),
        (0, [("a", vpb.RUNNING_STATE)]),
    ]


async def test_a_wait_that_runs_out_ends_with_unavailable_and_no_query() -> None:
    registry = FakeRegistry([S.TRACEPOINT_STATE_RUNNING])
    # Running, but the PEM has not reported the table yet.
    executor = MutationExecutor(registry, Tables(set()), wait_seconds=0.05, poll_seconds=0.01)
    infos, outcome = await apply(executor, plan("a"))
    assert not outcome.ready
    assert infos[-1].status.code == grpc.StatusCode.UNAVAILABLE.value[0]
    assert "run the script again" in infos[-1].status.message


async def test_a_refusal_on_the_pem_is_invalid_argument_and_other_failures_a_precondition(
    audits: list[AuditEvent],
) -> None:
    refused = FakeRegistry([S.TRACEPOINT_STATE_FAILED], failure=(3, "probes are read-only"))
    executor = MutationExecutor(refused, Tables(set()), wait_seconds=5, poll_seconds=0.01)
    with pytest.raises(InvalidArgument, match="probes are read-only"):
        await apply(executor, plan("a"))
    missing = FakeRegistry([S.TRACEPOINT_STATE_FAILED], failure=(5, "no symbol 'f'"))
    executor = MutationExecutor(missing, Tables(set()), wait_seconds=5, poll_seconds=0.01)
    with pytest.raises(FailedPrecondition, match="no symbol 'f'"):
        await apply(executor, plan("b"))
    outcomes = [(e.target, e.outcome) for e in audits if e.action == "tracepoint.deploy"]
    assert outcomes == [("a", "allowed"), ("a", "refused"), ("b", "allowed"), ("b", "failed")]
