"""What goes into each heartbeat: sequence numbers, resends, schema and process events.

Pure bookkeeping (no I/O) so that the rules are testable on their own:

* every new heartbeat gets the next sequence number;
* while the last one is unacked it is re-sent unchanged (same sequence number, time, payload);
* the schema rides on the first heartbeat after (re)registration and whenever it changes, and
  counts as reported only once a heartbeat carrying it is acked;
* process created/terminated events wait for the next new heartbeat and are dropped once acked
  (on re-registration, the events of an unacked heartbeat go back to the queue).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_types import TableSchema

__all__ = ["HeartbeatTracker", "SchemaSource", "schema_fingerprint"]

SchemaSource = Callable[[], Mapping[str, TableSchema]]
_Fingerprint = tuple[tuple[str, bytes], ...]


def schema_fingerprint(schemas: Mapping[str, TableSchema]) -> _Fingerprint:
    """A value that changes exactly when a table is added, removed or redefined."""
    return tuple(
        (name, schemas[name].to_proto().SerializeToString(deterministic=True))
        for name in sorted(schemas)
    )


class HeartbeatTracker:
    """Builds heartbeats for one agent and tracks which one awaits its ack."""

    def __init__(self, agent_id: str, schemas: SchemaSource | None = None) -> None:
        self.agent_id = agent_id
        self._schemas = schemas
        self._sequence = 0
        self._unacked: messages_pb2.Heartbeat | None = None
        self._unacked_fingerprint: _Fingerprint | None = None
        self._reported_fingerprint: _Fingerprint | None = None
        self._created: list[messages_pb2.ProcessCreated] = []
        self._terminated: list[messages_pb2.ProcessTerminated] = []
        self.resends = 0

    @property
    def last_sequence_number(self) -> int:
        return self._sequence

    @property
    def awaiting_ack(self) -> bool:
        return self._unacked is not None

    def add_process_events(
        self,
        created: Iterable[messages_pb2.ProcessCreated] = (),
        terminated: Iterable[messages_pb2.ProcessTerminated] = (),
    ) -> None:
        self._created.extend(created)
        self._terminated.extend(terminated)

    def next_heartbeat(self, now_ns: int) -> messages_pb2.Heartbeat:
        """The unacked heartbeat again, or a new one with the next sequence number."""
        if self._unacked is not None:
            self.resends += 1
            return self._unacked
        self._sequence += 1
        beat = messages_pb2.Heartbeat(
            agent_id=self.agent_id, time=now_ns, sequence_number=self._sequence
        )
        info = beat.update_info
        if self._schemas is not None:
            schemas = self._schemas()
            fingerprint = schema_fingerprint(schemas)
            if fingerprint != self._reported_fingerprint:
                info.does_update_schema = True
                info.schema.extend(schemas[name].to_proto() for name in sorted(schemas))
                self._unacked_fingerprint = fingerprint
        info.process_created.extend(self._created)
        info.process_terminated.extend(self._terminated)
        self._created, self._terminated = [], []
        self._unacked = beat
        return beat

    def ack(self, sequence_number: int) -> bool:
        """Record an ack; False (and nothing changes) when it is not for the unacked beat."""
        if self._unacked is None or sequence_number != self._unacked.sequence_number:
            return False
        if self._unacked_fingerprint is not None:
            self._reported_fingerprint = self._unacked_fingerprint
        self._unacked = None
        self._unacked_fingerprint = None
        return True

    def reset_for_registration(self) -> None:
        """After (re-)registering: nothing is acked any more, the schema must be sent again."""
        if self._unacked is not None:
            info = self._unacked.update_info
            self._created[:0] = list(info.process_created)
            self._terminated[:0] = list(info.process_terminated)
        self._unacked = None
        self._unacked_fingerprint = None
        self._reported_fingerprint = None
