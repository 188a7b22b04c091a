import io
import json

from pyxie_service.audit import AuditEvent, add_audit_sink, audit, remove_audit_sink
from pyxie_service.log import configure_logging


def test_audit_event_reaches_the_log_and_every_sink() -> None:
    buffer = io.StringIO()
    configure_logging(stream=buffer)
    seen: list[AuditEvent] = []
    add_audit_sink(seen.append)
    try:
        event = audit(
            "update.apply",
            "refused",
            actor="operator",
            target="vz-1",
            reason="bad signature",
            digest="sha256:abc",
        )
    finally:
        remove_audit_sink(seen.append)
    assert seen == [event]
    line = json.loads(buffer.getvalue().strip().splitlines()[-1])
    assert line["logger"] == "pyxie.audit"
    assert (line["action"], line["outcome"], line["reason"], line["digest"]) == (
        "update.apply",
        "refused",
        "bad signature",
        "sha256:abc",
    )


def test_a_failing_sink_does_not_break_the_caller_or_other_sinks() -> None:
    configure_logging(stream=io.StringIO())
    seen: list[AuditEvent] = []

    def broken(event: AuditEvent) -> None:
        raise RuntimeError("database down")

    add_audit_sink(broken)
    add_audit_sink(seen.append)
    try:
        audit("apikey.create", "allowed", actor="user:1")
    finally:
        remove_audit_sink(broken)
        remove_audit_sink(seen.append)
    assert [e.action for e in seen] == ["apikey.create"]


async def test_publishing_sink_sends_the_event_as_json_that_reads_back() -> None:
    import asyncio

    from pyxie_service.audit import event_from_json, publishing_sink

    configure_logging(stream=io.StringIO())
    sent: list[bytes] = []

    async def publish(data: bytes) -> None:
        sent.append(data)

    sink = publishing_sink(publish, asyncio.get_running_loop())
    add_audit_sink(sink)
    try:
        event = audit("login", "refused", actor="10.0.0.7", target="ada@x.test", reason="wrong")
        await asyncio.sleep(0.05)
    finally:
        remove_audit_sink(sink)
    assert len(sent) == 1
    assert event_from_json(sent[0]) == event


def test_a_malformed_event_is_refused() -> None:
    import pytest
    from pyxie_service.audit import event_from_json

    for bad in (b"[]", b'{"action": "", "outcome": "allowed"}', b'{"action": "x", "outcome": "?"}'):
        with pytest.raises(ValueError):
            event_from_json(bad)
