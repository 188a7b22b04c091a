"""The connector's parts on their own: state file, lanes + sender ordering, backoff."""

from __future__ import annotations

import asyncio
import itertools
import os
from pathlib import Path

import pytest
from pyxie_cloud_connector import (
    CloudConnector,
    ConnectorSettings,
    MissingDeployKeyError,
    StateError,
    VizierIdentity,
    load_identity,
    save_identity,
)
from pyxie_cloud_connector.controllers import Backoff, PriorityLanes
from pyxie_cloud_connector.controllers.bridge import send_from_lanes
from pyxie_jwt import SigningKey
from pyxie_proto.cloud.vzconnpb import vzconn_pb2 as pb
from pyxie_service import NatsBus

BUFFER = 4096


async def test_a_bulk_flood_delays_a_reply_by_at_most_the_one_message_in_flight() -> None:
    """Bound in message counts: behind a full bulk lane (4096) the reply is written second."""
    lanes: PriorityLanes[pb.V2CBridgeMessage] = PriorityLanes(BUFFER)
    written: list[str] = []
    gate = asyncio.Event()
    all_written = asyncio.Event()
    expected = BUFFER + 2  # bulk-0 .. bulk-4096 and the reply

    async def slow_stream_write(message: pb.V2CBridgeMessage) -> None:
        await gate.wait()  # the stream is busy: nothing leaves until the gate opens
        written.append(message.topic)
        if len(written) == expected:
            all_written.set()

    for index in range(BUFFER):
        assert lanes.offer(pb.V2CBridgeMessage(topic=f"bulk-{index}"), priority=False)
    sender = asyncio.create_task(send_from_lanes(lanes, slow_stream_write))
    await asyncio.sleep(0)  # the sender takes bulk-0 and blocks writing it
    assert lanes.offer(pb.V2CBridgeMessage(topic=f"bulk-{BUFFER}"), priority=False)
    # The bulk lane is full again: more bulk is dropped, the reply still gets in.
    assert not lanes.offer(pb.V2CBridgeMessage(topic="bulk-overflow"), priority=False)
    assert lanes.offer(pb.V2CBridgeMessage(topic="reply-q1"), priority=True)
    gate.set()
    await asyncio.wait_for(all_written.wait(), 60)
    lanes.close()
    await sender
    assert written[:2] == ["bulk-0", "reply-q1"]
    assert "bulk-overflow" not in written
    assert written[2:] == [f"bulk-{index}" for index in range(1, BUFFER + 1)]


def test_state_round_trips_with_mode_0600_and_a_world_readable_file_is_refused(
    tmp_path: Path,
) -> None:
    identity = VizierIdentity("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "edge", SigningKey.generate())
    state, key_file = tmp_path / "state.json", tmp_path / "key"
    assert load_identity(state) is None
    save_identity(state, identity, key_file=key_file)
    assert load_identity(state) == identity
    assert (state.stat().st_mode & 0o777, key_file.stat().st_mode & 0o777) == (0o600, 0o600)
    os.chmod(state, 0o644)
    with pytest.raises(StateError, match="readable by others"):
        load_identity(state)
    os.chmod(state, 0o600)
    state.write_text("{}")
    with pytest.raises(StateError, match="not a usable"):
        load_identity(state)


async def test_without_state_or_deploy_key_the_connector_refuses_to_start(
    tmp_path: Path, nats_server: object
) -> None:
    settings = ConnectorSettings(state_file=tmp_path / "none.json", nats_url=nats_server.url)  # type: ignore[attr-defined]
    bus = await NatsBus.connect(settings.nats_url, name="connector-unit")
    try:
        with pytest.raises(MissingDeployKeyError, match="PL_DEPLOY_KEY"):
            CloudConnector(settings, bus=bus).begin()
    finally:
        await bus.drain()


def test_backoff_doubles_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(0.5, 30.0)
    delays = [backoff.next_delay() for _ in range(10)]
    assert 0.375 <= delays[0] <= 0.5
    assert all(later >= earlier * 1.4 for earlier, later in itertools.pairwise(delays[:6]))
    assert 22.5 <= delays[-1] <= 30.0
    backoff.reset()
    assert backoff.next_delay() <= 0.5
