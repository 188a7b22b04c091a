"""The result forwarder's state machine, driven directly with short timeouts."""

from __future__ import annotations

import asyncio

import pyarrow as pa
import pytest
from pyxie_proto.carnot.carnotpb import result_sink_pb2
from pyxie_query_broker.controllers.forwarder import (
    ActiveQuery,
    ExecStatsSummary,
    ForwarderSettings,
    MemoryBudget,
    QueryResultForwarder,
    ResultItem,
    ResultStreamError,
    ResultTable,
    TableBatch,
)
from pyxie_service import (
    Aborted,
    AlreadyExists,
    DeadlineExceeded,
    ResourceExhausted,
    ServiceError,
)
from pyxie_types import DataType, Relation

RELATION = Relation.of(("n", DataType.INT64))
TABLES = [ResultTable("a", "id-a", RELATION), ResultTable("b", "id-b", RELATION)]
# Long enough that only the timeout a test is about can fire.
LONG = 60.0


def rows(*values: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [pa.array(values, pa.int64())], schema=RELATION.arrow_schema()
    )


def stats(agent: str, records: int) -> result_sink_pb2.ExecutionAndTimingInfo:
    return result_sink_pb2.ExecutionAndTimingInfo(
        agent_stats=[
            result_sink_pb2.AgentExecutionStats(
                agent_id=agent, execution_time_ns=records * 100, records_processed=records
            )
        ]
    )


def make_query(
    *,
    init: float = LONG,
    producer: float = LONG,
    consumer: float = LONG,
    buffer: int = 1024,
    budget: MemoryBudget | None = None,
    timeout: float | None = None,
    senders: tuple[str, ...] = ("kelvin",),
) -> ActiveQuery:
    settings = ForwarderSettings(init, producer, consumer, buffer)
    return ActiveQuery(
        "q1",
        TABLES,
        senders,
        settings,
        budget or MemoryBudget(1 << 30),
        timeout_seconds=timeout,
    )


async def drain(query: ActiveQuery) -> list[ResultItem]:
    return [item async for item in query.results()]


async def failure_of(query: ActiveQuery) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        await asyncio.wait_for(drain(query), 10)
    return caught.value


async def test_query_completes_after_every_eos_and_the_final_stats_with_stats_last() -> None:
    query = make_query()
    query.initiate("a")
    query.initiate("b")
    query.push_batch("a", rows(1, 2), eow=False, eos=False)
    query.push_exec_stats("kelvin", stats("kelvin", 5))
    query.push_batch("b", rows(3), eow=True, eos=True)
    assert not query.complete
    query.push_batch("a", rows(), eow=True, eos=True)
    assert query.complete
    items = await asyncio.wait_for(drain(query), 10)
    assert [type(i).__name__ for i in items] == ["TableBatch"] * 3 + ["ExecStatsSummary"]
    final = items[-1]
    assert isinstance(final, ExecStatsSummary)
    assert final.records_processed == 5 and final.execution_time_ns == 500
    eos_tables = [i.table.name for i in items if isinstance(i, TableBatch) and i.eos]
    assert sorted(eos_tables) == ["a", "b"]
    query.close()


async def test_query_is_not_complete_without_the_final_stats() -> None:
    query = make_query(producer=0.2)
    query.push_batch("a", rows(1), eow=True, eos=True)
    query.push_batch("b", rows(1), eow=True, eos=True)
    assert not query.complete
    error = await failure_of(query)
    assert isinstance(error, DeadlineExceeded)
    query.close()


async def test_stats_of_several_result_agents_are_combined() -> None:
    query = make_query(senders=("pem-1", "pem-2"))
    query.push_batch("a", rows(1), eow=True, eos=True)
    query.push_batch("b", rows(1), eow=True, eos=True)
    query.push_exec_stats("pem-1", stats("pem-1", 3))
    assert not query.complete
    query.push_exec_stats("pem-2", stats("pem-2", 4))
    final = (await drain(query))[-1]
    assert isinstance(final, ExecStatsSummary) and final.records_processed == 7
    query.close()


async def test_a_second_eos_for_a_table_fails_the_query() -> None:
    query = make_query()
    query.push_batch("a", rows(1), eow=True, eos=True)
    with pytest.raises(ResultStreamError):
        query.push_batch("a", rows(2), eow=True, eos=True)
    error = await failure_of(query)
    assert isinstance(error, Aborted) and "after its eos" in error.message
    query.close()


async def test_second_stats_from_the_same_agent_fail_the_query() -> None:
    query = make_query()
    query.push_exec_stats("kelvin", stats("kelvin", 1))
    with pytest.raises(ResultStreamError):
        query.push_exec_stats("kelvin", stats("kelvin", 1))
    assert isinstance(await failure_of(query), Aborted)
    query.close()


async def test_a_table_stream_closing_before_eos_cancels_the_query() -> None:
    query = make_query()
    query.initiate("a")
    query.push_batch("a", rows(1), eow=False, eos=False)
    query.stream_closed("a", abrupt=False)
    error = await failure_of(query)
    assert isinstance(error, Aborted)
    assert "closed before its end of stream" in error.message


async def test_a_lost_table_stream_leaves_the_query_running_for_a_reconnect() -> None:
    query = make_query()
    query.initiate("a")
    query.stream_closed("a", abrupt=True)
    assert query.failure is None
    query.push_batch("a", rows(1), eow=True, eos=True)
    query.push_batch("b", rows(1), eow=True, eos=True)
    query.push_exec_stats("kelvin", stats("kelvin", 1))
    assert isinstance((await drain(query))[-1], ExecStatsSummary)
    query.close()


async def test_a_stream_closing_after_eos_is_fine() -> None:
    query = make_query()
    query.push_batch("a", rows(1), eow=True, eos=True)
    query.stream_closed("a", abrupt=False)
    assert query.failure is None
    query.close()


async def test_tables_that_never_connect_fail_initialization() -> None:
    query = make_query(init=0.1)
    query.initiate("a")
    error = await failure_of(query)
    assert isinstance(error, DeadlineExceeded)
    assert "failed to initialize all result tables" in error.message
    assert "missing: b" in error.message
    query.close()


async def test_producer_watchdog_cancels_a_query_whose_agents_went_silent() -> None:
    query = make_query(producer=0.1)
    query.initiate("a")
    query.initiate("b")
    error = await failure_of(query)
    assert isinstance(error, DeadlineExceeded) and "no results from any agent" in error.message
    query.close()


async def test_consumer_watchdog_cancels_a_consumer_stuck_in_a_write() -> None:
    query = make_query(consumer=0.1)
    query.push_batch("a", rows(1), eow=False, eos=False)
    stuck_in_write = asyncio.Event()

    async def consume() -> None:
        async for _ in query.results():
            stuck_in_write.set()
            await asyncio.Event().wait()  # a client that never reads

    consumer = asyncio.ensure_future(consume())
    await stuck_in_write.wait()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(consumer, 10)
    assert isinstance(query.failure, DeadlineExceeded)
    assert "read no results" in query.failure.message
    query.close()


async def test_overall_query_timeout_fails_the_query() -> None:
    query = make_query(timeout=0.1)

    async def keep_producing() -> None:
        while query.failure is None:
            query.initiate("a")
            await asyncio.sleep(0.01)

    producer = asyncio.ensure_future(keep_producing())
    error = await failure_of(query)
    await producer
    assert isinstance(error, DeadlineExceeded) and "ran past its timeout" in error.message
    query.close()


async def test_a_full_buffer_cancels_the_query_as_the_consumer_likely_died() -> None:
    query = make_query(buffer=3)
    for value in range(3):
        query.push_batch("a", rows(value), eow=False, eos=False)
    with pytest.raises(ResultStreamError):
        query.push_batch("a", rows(9), eow=False, eos=False)
    error = await failure_of(query)
    assert isinstance(error, Aborted) and "consumer likely died" in error.message
    query.close()


async def test_memory_budget_fails_the_query_with_resource_exhausted() -> None:
    big = rows(*range(1000))
    budget = MemoryBudget(big.nbytes * 2)
    query = make_query(budget=budget)
    query.push_batch("a", big, eow=False, eos=False)
    query.push_batch("a", big, eow=False, eos=False)
    assert budget.used_bytes == big.nbytes * 2
    with pytest.raises(ResultStreamError):
        query.push_batch("a", big, eow=False, eos=False)
    error = await failure_of(query)
    assert isinstance(error, ResourceExhausted) and "memory budget" in error.message
    assert budget.used_bytes == 0
    query.close()


async def test_consumed_batches_give_their_memory_back() -> None:
    budget = MemoryBudget(1 << 20)
    query = make_query(budget=budget)
    query.push_batch("a", rows(1, 2, 3), eow=True, eos=True)
    query.push_batch("b", rows(4), eow=True, eos=True)
    query.push_exec_stats("kelvin", stats("kelvin", 4))
    assert budget.used_bytes > 0
    await drain(query)
    assert budget.used_bytes == 0
    query.close()


async def test_closing_a_query_gives_buffered_memory_back() -> None:
    budget = MemoryBudget(1 << 20)
    query = make_query(budget=budget)
    query.push_batch("a", rows(1, 2, 3), eow=False, eos=False)
    query.close()
    assert budget.used_bytes == 0


async def test_agent_execution_error_fails_the_query_with_its_code() -> None:
    query = make_query()
    query.report_error(
        "pem-1", result_sink_pb2.ExecutionError(code=8, message="memory budget of 1 byte")
    )
    error = await failure_of(query)
    assert isinstance(error, ResourceExhausted) and error.message == "memory budget of 1 byte"
    query.close()


async def test_batches_for_an_unknown_table_are_refused() -> None:
    query = make_query()
    with pytest.raises(ResultStreamError, match="no result table 'nope'"):
        query.push_batch("nope", rows(1), eow=True, eos=True)
    assert query.failure is None
    query.close()


async def test_forwarder_refuses_a_query_id_already_running() -> None:
    forwarder = QueryResultForwarder(ForwarderSettings(), MemoryBudget(1 << 20))
    forwarder.register("q1", TABLES, ["kelvin"])
    with pytest.raises(AlreadyExists):
        forwarder.register("q1", TABLES, ["kelvin"])
    forwarder.unregister("q1")
    assert forwarder.get("q1") is None


async def test_queued_batches_of_a_table_are_merged_up_to_the_limit_and_the_eos() -> None:
    query = make_query()
    query.initiate("a")
    query.initiate("b")
    for n in range(4):
        query.push_batch("a", rows(2 * n, 2 * n + 1), eow=False, eos=False)
    query.push_batch("b", rows(100), eow=False, eos=False)  # another table ends a merge
    query.push_batch("a", rows(8), eow=False, eos=False)
    query.push_batch("a", rows(9), eow=True, eos=True)
    query.push_batch("b", rows(101), eow=True, eos=True)
    query.push_exec_stats("kelvin", stats("kelvin", 12))
    # Room for three 2-row batches (16 bytes each) but not four.
    items = [item async for item in query.results(coalesce_bytes=48)]
    batches = [
        (i.table.name, i.batch.column(0).to_pylist(), i.eos)
        for i in items
        if isinstance(i, TableBatch)
    ]
    assert isinstance(items[-1], ExecStatsSummary)
    assert batches == [
        ("a", [0, 1, 2, 3, 4, 5], False),
        ("a", [6, 7], False),
        ("b", [100], False),
        ("a", [8, 9], True),
        ("b", [101], True),
    ]
    query.close()


async def test_without_a_limit_every_batch_is_its_own_item() -> None:
    query = make_query()
    query.initiate("a")
    query.initiate("b")
    query.push_batch("a", rows(1), eow=False, eos=False)
    query.push_batch("a", rows(2), eow=True, eos=True)
    query.push_batch("b", rows(3), eow=True, eos=True)
    query.push_exec_stats("kelvin", stats("kelvin", 3))
    items = await asyncio.wait_for(drain(query), 10)
    assert [i.batch.num_rows for i in items if isinstance(i, TableBatch)] == [1, 1, 1]
    query.close()
