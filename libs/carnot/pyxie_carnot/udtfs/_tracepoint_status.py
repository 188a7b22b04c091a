"""What ``GetTracepointStatus`` reads: the last tracepoint registry status an agent heard.

The metadata service broadcasts its registry (`GetTracepointInfoResponse`) on every change and
every few seconds; each agent keeps the newest copy on a board put in ``FunctionContext.extras``.
"""

from __future__ import annotations

import threading

from pyxie_proto.vizier.metadatapb import metadata_pb2

__all__ = ["TRACEPOINT_STATUS_EXTRA", "TracepointStatusBoard"]

# Key of the board in FunctionContext.extras.
TRACEPOINT_STATUS_EXTRA = "tracepoint_status"


class TracepointStatusBoard:
    """The newest tracepoint status snapshot (written by the agent, read by the UDTF)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot = metadata_pb2.GetTracepointInfoResponse()

    def update(self, snapshot: metadata_pb2.GetTracepointInfoResponse) -> None:
        with self._lock:
            self._snapshot = snapshot

    def tracepoints(self) -> list[metadata_pb2.TracepointInfo]:
        with self._lock:
            return list(self._snapshot.tracepoints)
