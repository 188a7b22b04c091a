"""GetTracepointStatus: Pixie's columns, read from the board the agent keeps current."""

from __future__ import annotations

import json
import uuid

from pyxie_carnot import funcs, udtfs
from pyxie_carnot.context import FunctionContext
from pyxie_carnot.metadata import InMemoryMetadataState
from pyxie_carnot.registry import Registry, UDTFExecutor
from pyxie_carnot.udtfs import TRACEPOINT_STATUS_EXTRA, TracepointStatusBoard
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_types import DataType

REGISTRY = Registry()
funcs.register_all(REGISTRY)
udtfs.register_all(REGISTRY)
S = msgs.TracepointState


def _ctx(board: TracepointStatusBoard | None) -> FunctionContext:
    extras = {} if board is None else {TRACEPOINT_STATUS_EXTRA: board}
    return FunctionContext(REGISTRY, InMemoryMetadataState(), extras=extras)


def test_relation_and_executor_are_pixies() -> None:
    udtf = REGISTRY.lookup_udtf("GetTracepointStatus")
    assert [(c.name, c.data_type) for c in udtf.relation] == [
        ("tracepoint_id", DataType.UINT128),
        ("name", DataType.STRING),
        ("state", DataType.STRING),
        ("status", DataType.STRING),
        ("output_tables", DataType.STRING),
    ]
    assert udtf.executor is UDTFExecutor.ONE_KELVIN


def test_rows_come_from_the_newest_snapshot() -> None:
    board = TracepointStatusBoard()
    tracepoint_id = uuid.uuid4()
    board.update(
        mdpb.GetTracepointInfoResponse(
            tracepoints=[
                mdpb.TracepointInfo(
                    id=str(tracepoint_id),
                    name="probe",
                    state=S.TRACEPOINT_STATE_FAILED,
                    table_names=["t1", "t2"],
                    agents=[
                        mdpb.AgentTracepointStatus(
                            agent_id="pem-1",
                            state=S.TRACEPOINT_STATE_FAILED,
                            status_code=3,
                            status_message="probes are read-only",
                        )
                    ],
                )
            ]
        )
    )
    (row,) = REGISTRY.lookup_udtf("GetTracepointStatus").fn(_ctx(board)).to_pylist()
    assert row["tracepoint_id"] == tracepoint_id.bytes
    assert (row["name"], row["state"]) == ("probe", "FAILED_STATE")
    assert json.loads(row["output_tables"]) == ["t1", "t2"]
    assert json.loads(row["status"]) == [
        {"agent_id": "pem-1", "state": "FAILED_STATE", "code": 3, "message": "probes are read-only"}
    ]
    board.update(mdpb.GetTracepointInfoResponse())
    assert REGISTRY.lookup_udtf("GetTracepointStatus").fn(_ctx(board)).num_rows == 0


def test_without_a_board_there_are_no_rows() -> None:
    assert REGISTRY.lookup_udtf("GetTracepointStatus").fn(_ctx(None)).num_rows == 0
