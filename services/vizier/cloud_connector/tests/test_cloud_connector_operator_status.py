"""The operator's status file folded into the health the connector reports in heartbeats."""

from __future__ import annotations

import json
from pathlib import Path

from pyxie_cloud_connector.controllers.health import HealthReport
from pyxie_cloud_connector.controllers.operator_status import operator_note, with_operator_status
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs


def healthy() -> HealthReport:
    return HealthReport(cvmsgs.VZ_ST_HEALTHY, "")


def test_a_refused_update_shows_in_the_heartbeat_and_degrades_a_healthy_vizier(
    tmp_path: Path,
) -> None:
    path = tmp_path / "operator_status.json"
    path.write_text(
        json.dumps(
            {
                "phase": "Degraded",
                "reason": "UpdateRefused",
                "message": "refused 0.3.0: image pem is not signed",
                "version": "0.2.0",
            }
        )
    )
    report = with_operator_status(healthy, path)()
    assert report.status == cvmsgs.VZ_ST_DEGRADED
    assert report.message == (
        "operator: Degraded (UpdateRefused): refused 0.3.0: image pem is not signed"
    )


def test_the_broker_message_comes_first_and_an_unhealthy_status_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "operator_status.json"
    path.write_text(json.dumps({"phase": "Degraded", "reason": "CrashLoop", "message": "pem"}))
    report = with_operator_status(
        lambda: HealthReport(cvmsgs.VZ_ST_UNHEALTHY, "broker health check failed"), path
    )()
    assert report.status == cvmsgs.VZ_ST_UNHEALTHY
    assert report.message == "broker health check failed; operator: Degraded (CrashLoop): pem"


def test_no_file_a_healthy_operator_or_garbage_change_nothing(tmp_path: Path) -> None:
    path = tmp_path / "operator_status.json"
    assert with_operator_status(healthy, None)() == healthy()
    assert with_operator_status(healthy, path)() == healthy()
    path.write_text(json.dumps({"phase": "Healthy", "reason": "", "message": ""}))
    assert with_operator_status(healthy, path)() == healthy()
    path.write_text("{not json")
    assert operator_note(path) == ""
    path.write_text(json.dumps(["a", "list"]))
    assert operator_note(path) == ""
    path.write_text(json.dumps({"phase": "Degraded", "message": "x" * 1000}))
    assert len(operator_note(path)) == 400
