"""The operator's word on this vizier, folded into the heartbeats the cloud stores.

The operator (``pyxie_operator``) writes a small JSON file (``phase``, ``reason``, ``message``,
``version``) that the connector reads at each heartbeat: a refused or failed update, a
crash-looping PEM, a repaired etcd then show in ``px get viziers`` beside the health the broker
reports. No file (no operator) leaves the health report as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs

from pyxie_cloud_connector.controllers.health import HealthReport

__all__ = ["operator_note", "with_operator_status"]

# A status message longer than this is cut: it is shown in a table column.
_MAX_NOTE = 400


def operator_note(path: Path) -> str:
    """``operator: <phase> (<reason>): <message>``, or "" when there is nothing to say."""
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return ""
    if not isinstance(status, dict):
        return ""
    phase = str(status.get("phase", ""))
    reason = str(status.get("reason", ""))
    message = str(status.get("message", ""))
    if not phase or (phase == "Healthy" and not reason):
        return ""
    note = (
        f"operator: {phase}"
        + (f" ({reason})" if reason else "")
        + (f": {message}" if message else "")
    )
    return note[:_MAX_NOTE]


def with_operator_status(
    health: Callable[[], HealthReport], path: Path | None
) -> Callable[[], HealthReport]:
    """``health`` with the operator's note appended to its message (when ``path`` is set)."""
    if path is None:
        return health
    status_path = path

    def report() -> HealthReport:
        base = health()
        note = operator_note(status_path)
        if not note:
            return base
        message = f"{base.message}; {note}" if base.message else note
        status = base.status
        if status == cvmsgs.VZ_ST_HEALTHY and note.startswith("operator: Degraded"):
            status = cvmsgs.VZ_ST_DEGRADED
        return HealthReport(status, message)

    return report
