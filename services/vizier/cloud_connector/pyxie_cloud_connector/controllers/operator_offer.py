"""The cloud's update offers, handed to the operator.

vzmgr offers a newer release on the bridge topic `VizierUpdate` (Pixie's
`UpdateOrInstallVizierRequest`); the connector republishes it on the vizier's NATS like any
cloud message. When the operator runs beside this vizier (`PL_OPERATOR_OFFER_FILE` is set), the
connector also writes the offer to that file, on the identity volume the operator reads. It is
only an offer: an operator whose Vizier has `autoUpdate: true` verifies the release (TUF
metadata, image signatures and digests) exactly like a version a person put in the spec, and
refuses it otherwise. The cloud never chooses images: the file carries a version and nothing else.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Final

from nats.aio.subscription import Subscription
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.cloud.subjects import VIZIER_UPDATE_TOPIC
from pyxie_proto.vizier.subjects import c2v_subject
from pyxie_service import NatsBus, get_logger
from pyxie_service.audit import audit

__all__ = ["OFFER_SUBJECT", "OfferWriter", "subscribe_offers"]

_log = get_logger("pyxie.cloud_connector.offer")
OFFER_SUBJECT: Final = c2v_subject(VIZIER_UPDATE_TOPIC)
# A release version as the operator's spec takes it (0.2.0, 1.2.3-rc.1); anything else is dropped.
_VERSION_RE: Final = re.compile(r"^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]{1,64})?$")


class OfferWriter:
    """Writes each acceptable offer to ``path`` atomically (readable by the operator)."""

    def __init__(self, path: Path, vizier_id: str) -> None:
        self._path = path
        self._vizier_id = vizier_id

    async def handle(self, envelope: cvmsgs.C2VMessage) -> None:
        request = cvmsgs.UpdateOrInstallVizierRequest()
        if not envelope.msg.Unpack(request):
            _log.warning("update offer of an unexpected type", type_url=envelope.msg.type_url)
            return
        self.write(request)

    def write(self, request: cvmsgs.UpdateOrInstallVizierRequest) -> bool:
        version = request.version.removeprefix("v")
        if request.vizier_id and request.vizier_id != self._vizier_id:
            _log.warning("update offer for another vizier dropped", offered_to=request.vizier_id)
            return False
        if not _VERSION_RE.fullmatch(request.version):
            _log.warning("update offer with a malformed version dropped", version=version[:80])
            return False
        document = {"version": version, "offered_at": int(time.time())}
        tmp = self._path.with_name(self._path.name + ".tmp")
        tmp.write_text(json.dumps(document))
        os.chmod(tmp, 0o644)
        tmp.replace(self._path)
        audit(
            "update.offer",
            "allowed",
            actor="cloud",
            target=self._vizier_id,
            reason="handed to the operator, which verifies it before deploying",
            version=version,
        )
        _log.info("update offer handed to the operator", version=version)
        return True


async def subscribe_offers(bus: NatsBus, writer: OfferWriter) -> Subscription:
    """Feed the offers the bridge republishes on the vizier's NATS to ``writer``."""
    return await bus.subscribe(OFFER_SUBJECT, cvmsgs.C2VMessage, writer.handle)
