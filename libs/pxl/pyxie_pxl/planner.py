"""Stage 6, split: the logical plan to one ``planpb.Plan`` per agent.

Layout (Pixie's): data-collecting PEMs run sources and the row-wise operators after them, up to
the first blocking operator; one Kelvin runs the rest. Aggregates split into PARTIAL on the PEMs
and FINALIZE on Kelvin; a limit runs on both sides; each PEM ships over a GRPCSink to a Kelvin
GRPCSource whose ``expected_senders`` counts the PEMs feeding it. PEMs lacking a table are left
out. With a single PEM and no Kelvin, the whole plan runs on that agent.

Table functions run where their executor says (Pixie's): ONE_KELVIN ones on the Kelvin (they
read the metadata service's cluster-wide state), ALL_PEM ones on every PEM, and ALL_AGENTS ones
on every PEM and on the Kelvin too, whose own rows join the PEMs' in a union.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyxie_proto.carnot.planpb import plan_pb2
from pyxie_types import DataType

from ._lower import LoweringContext, NodeIds, lower_plan
from .errors import PxlError
from .ir import (
    AggExpr,
    AggOp,
    AggStage,
    ColumnExpr,
    EmptySourceOp,
    FilterOp,
    GRPCSinkOp,
    GRPCSourceOp,
    LimitOp,
    MapOp,
    MemorySourceOp,
    Operator,
    UDTFSourceOp,
    UnionOp,
    rebuild,
    rewrite,
    walk,
)

__all__ = ["AgentInfo", "PlanningError", "split_plan"]

# Where a UDTF with this executor runs when there is a Kelvin.
_KELVIN_UDTF_EXECUTORS = {"UDTF_ONE_KELVIN"}
# UDTFs that run on the PEMs and on the Kelvin as well.
_EVERY_AGENT_UDTF_EXECUTORS = {"UDTF_ALL_AGENTS"}


class PlanningError(PxlError):
    """No agent can run the query (e.g. no agents at all)."""


@dataclass(frozen=True, slots=True)
class AgentInfo:
    agent_id: str
    is_kelvin: bool
    tables: frozenset[str]
    # host:port of the agent's ResultSinkService (used for Kelvin; PEMs only send).
    address: str = ""


def _runs_on_pem(node: Operator, on_pem: dict[int, bool]) -> bool:
    if isinstance(node, MemorySourceOp):
        return True
    if isinstance(node, UDTFSourceOp):
        return node.executor not in _KELVIN_UDTF_EXECUTORS
    if isinstance(node, MapOp | FilterOp):
        return all(on_pem[id(p)] for p in node.parents)
    return False


def _runs_on_every_agent(node: Operator) -> bool:
    """A PEM-side subtree fed only by ALL_AGENTS table functions (Kelvin runs it as well)."""
    sources = [n for n in walk([node]) if not n.parents]
    return all(
        isinstance(n, UDTFSourceOp) and n.executor in _EVERY_AGENT_UDTF_EXECUTORS for n in sources
    )


def _source_tables(node: Operator) -> set[str]:
    return {n.table.name for n in walk([node]) if isinstance(n, MemorySourceOp)}


def _single_agent(
    sinks: Sequence[Operator],
    agent: AgentInfo,
    ctx: LoweringContext,
    query_id: str,
    options: plan_pb2.ExecutionOptions,
) -> plan_pb2.DistributedPlan:
    def localize(node: Operator, parents: tuple[Operator, ...]) -> Operator:
        if isinstance(node, MemorySourceOp) and node.table.name not in agent.tables:
            return EmptySourceOp((), output=node.relation)
        return rebuild(node, parents)

    local = rewrite(sinks, localize)
    plan = lower_plan(local, ctx, query_id=query_id, options=options)
    return plan_pb2.DistributedPlan(
        query_id=query_id,
        agent_plans=[
            plan_pb2.AgentPlan(agent_id=agent.agent_id, is_kelvin=agent.is_kelvin, plan=plan)
        ],
    )


def split_plan(
    sinks: Sequence[Operator],
    agents: Sequence[AgentInfo],
    *,
    result_address: str | None,
    query_id: str = "",
    options: plan_pb2.ExecutionOptions | None = None,
) -> plan_pb2.DistributedPlan:
    """Split the optimized logical plan across ``agents``."""
    options = options or plan_pb2.ExecutionOptions()
    ctx = LoweringContext(NodeIds(), result_address)
    kelvins = [a for a in agents if a.is_kelvin]
    pems = [a for a in agents if not a.is_kelvin]
    if not agents:
        raise PlanningError("no agents are available to run the query")
    if not kelvins:
        if len(pems) != 1:
            raise PlanningError(
                f"{len(pems)} data agents and no Kelvin: a multi-agent query needs a Kelvin"
            )
        return _single_agent(sinks, pems[0], ctx, query_id, options)
    kelvin = kelvins[0]
    if not pems:
        return _single_agent(sinks, kelvin, ctx, query_id, options)

    order = list(walk(sinks))
    on_pem: dict[int, bool] = {}
    for node in order:
        on_pem[id(node)] = _runs_on_pem(node, on_pem)

    # PEM-side nodes shipped to Kelvin, with what the PEMs send and the Kelvin source receiving it.
    exports: list[tuple[Operator, GRPCSourceOp, list[AgentInfo]]] = []
    kelvin_inputs: dict[tuple[int, str], Operator] = {}

    def senders_for(node: Operator) -> list[AgentInfo]:
        tables = _source_tables(node)
        return [p for p in pems if tables <= p.tables]

    def export(pem_node: Operator, key: str) -> Operator:
        """The Kelvin-side node receiving ``pem_node`` from every PEM that can produce it."""
        cache_key = (id(pem_node), key)
        if cache_key in kelvin_inputs:
            return kelvin_inputs[cache_key]
        senders = senders_for(pem_node)
        received: Operator
        if not senders:
            received = EmptySourceOp((), output=pem_node.relation)
        else:
            source = GRPCSourceOp((), output=pem_node.relation, expected_senders=len(senders))
            exports.append((pem_node, source, senders))
            received = source
        if _runs_on_every_agent(pem_node):
            # Kelvin runs the same fragment for its own row(s), beside what the PEMs send.
            received = pem_node if not senders else UnionOp((received, pem_node))
        kelvin_inputs[cache_key] = received
        return received

    def place(node: Operator, parents: tuple[Operator, ...]) -> Operator:
        if on_pem[id(node)]:
            return node  # PEM nodes stay as they are; Kelvin reaches them through exports
        pem_parents = [on_pem[id(p)] for p in node.parents]
        if (
            isinstance(node, AggOp)
            and pem_parents == [True]
            and node.stage is AggStage.FULL
            and all(v.splittable for _, v in node.values)
        ):
            partial = AggOp(
                node.parents, groups=node.groups, values=node.values, stage=AggStage.PARTIAL
            )
            received = export(partial, "partial")
            finalize_values = tuple(
                (
                    name,
                    AggExpr(
                        v.name,
                        (ColumnExpr(name, DataType.STRING),),
                        v.arg_types,
                        v.data_type,
                        v.semantic,
                    ),
                )
                for name, v in node.values
            )
            return AggOp(
                (received,), groups=node.groups, values=finalize_values, stage=AggStage.FINALIZE
            )
        if isinstance(node, LimitOp) and pem_parents == [True]:
            local = LimitOp(node.parents, limit=node.limit)
            return LimitOp((export(local, "limit"),), limit=node.limit)
        new_parents = tuple(
            export(orig, "rows") if is_pem else new
            for orig, new, is_pem in zip(node.parents, parents, pem_parents, strict=True)
        )
        return rebuild(node, new_parents)

    kelvin_sinks = rewrite(sinks, place)
    if any(on_pem[id(s)] for s in sinks):  # pragma: no cover - sinks are always blocking
        raise PlanningError("a result sink cannot run on a PEM")

    agent_plans = [
        plan_pb2.AgentPlan(
            agent_id=kelvin.agent_id,
            is_kelvin=True,
            plan=lower_plan(kelvin_sinks, ctx, query_id=query_id, options=options),
        )
    ]
    for pem in pems:
        pem_sinks = [
            GRPCSinkOp((node,), address=kelvin.address, destination=source)
            for node, source, senders in exports
            if pem in senders
        ]
        if pem_sinks:
            agent_plans.append(
                plan_pb2.AgentPlan(
                    agent_id=pem.agent_id,
                    is_kelvin=False,
                    plan=lower_plan(pem_sinks, ctx, query_id=query_id, options=options),
                )
            )
    return plan_pb2.DistributedPlan(query_id=query_id, agent_plans=agent_plans)
