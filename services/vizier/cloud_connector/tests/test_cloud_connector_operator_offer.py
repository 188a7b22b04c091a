"""The cloud's update offers reach the operator as a file, and nothing else does."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from google.protobuf import any_pb2
from pyxie_cloud_connector.controllers.operator_offer import (
    OFFER_SUBJECT,
    OfferWriter,
    subscribe_offers,
)
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_service import NatsBus

VIZIER = "3f1e2d4c-0000-4000-8000-00000000abcd"


def _envelope(message: Any) -> cvmsgs.C2VMessage:
    packed = any_pb2.Any()
    packed.Pack(message)
    return cvmsgs.C2VMessage(vizier_id=VIZIER, msg=packed)


def _written(path: Path) -> dict[str, Any] | None:
    return dict(json.loads(path.read_text())) if path.exists() else None


async def _wait_for(path: Path) -> dict[str, Any]:
    for _ in range(200):
        if (found := _written(path)) is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} was never written")


async def test_an_offer_on_the_vizier_bus_is_written_for_the_operator(
    tmp_path: Path, nats_server: Any
) -> None:
    path = tmp_path / "operator_offer.json"
    bus = await NatsBus.connect(nats_server.url, name="offer-test")
    try:
        subscription = await subscribe_offers(bus, OfferWriter(path, VIZIER))
        offer = cvmsgs.UpdateOrInstallVizierRequest(vizier_id=VIZIER, version="v0.2.0")
        await bus.publish(OFFER_SUBJECT, _envelope(offer))
        written = await _wait_for(path)
        await subscription.unsubscribe()
    finally:
        await bus.drain()
    assert written["version"] == "0.2.0"
    assert written["offered_at"] > 0
    assert set(written) == {"version", "offered_at"}, "the cloud must not choose images"
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_offers_for_another_vizier_or_with_a_hostile_version_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "operator_offer.json"
    writer = OfferWriter(path, VIZIER)
    hostile = [
        cvmsgs.UpdateOrInstallVizierRequest(vizier_id="someone-else", version="0.2.0"),
        cvmsgs.UpdateOrInstallVizierRequest(vizier_id=VIZIER, version="latest"),
        cvmsgs.UpdateOrInstallVizierRequest(vizier_id=VIZIER, version="0.2.0\n0.9.9"),
        cvmsgs.UpdateOrInstallVizierRequest(vizier_id=VIZIER, version="0.2.0\n"),
        cvmsgs.UpdateOrInstallVizierRequest(vizier_id=VIZIER, version="../../etc/passwd"),
        cvmsgs.UpdateOrInstallVizierRequest(vizier_id=VIZIER, version="1.2.3-" + "a" * 200),
        cvmsgs.UpdateOrInstallVizierRequest(vizier_id=VIZIER, version=""),
    ]
    for offer in hostile:
        assert not writer.write(offer), offer
    assert not path.exists()
    assert writer.write(cvmsgs.UpdateOrInstallVizierRequest(version="1.2.3-rc.1"))
    assert json.loads(path.read_text())["version"] == "1.2.3-rc.1"


async def test_a_message_of_another_type_on_the_subject_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "operator_offer.json"
    writer = OfferWriter(path, VIZIER)
    await writer.handle(_envelope(cvmsgs.VizierHeartbeat(vizier_id=VIZIER)))
    assert not path.exists()
