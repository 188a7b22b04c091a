"""`build(settings) -> Operator`: the only composition root of the operator.

On podman, `Operator.run` reconciles the resource file every `interval_seconds` until stopped.
On Kubernetes, Kopf drives the loop (`pyxie_operator.kopf_handlers`); it calls
`reconciler_for` for each Vizier resource, built the same way.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from pyxie_cli.kube import render as render_chart
from pyxie_release.verify import VerifiedRelease, verify_release
from pyxie_service import get_logger

from pyxie_operator.backends.podman import PodmanBackend
from pyxie_operator.controllers.backend import Backend
from pyxie_operator.controllers.reconciler import Reconciler, Timing, Verifier
from pyxie_operator.controllers.resource import InvalidSpec, VizierSpec, VizierStatus
from pyxie_operator.settings import OperatorSettings

__all__ = ["Operator", "build", "chart_renderer", "verifier_for"]

_log = get_logger("pyxie.operator")
Obj = dict[str, Any]


def chart_renderer(chart: str, values: Obj, namespace: str) -> list[Obj]:
    return render_chart(chart, values, namespace=namespace)


def verifier_for(
    settings: OperatorSettings, verify: Callable[..., VerifiedRelease] = verify_release
) -> Verifier:
    return Verifier(
        verify,
        repository_url=settings.release_repository_url,
        trusted_root=settings.trusted_root_file,
        cache_dir=settings.release_cache_dir,
        registry=settings.registry,
        signing_public_key=settings.image_signing_key_file.read_bytes(),
    )


class Operator:
    """The podman operator loop: one resource file, one reconciler."""

    def __init__(self, backend: PodmanBackend, reconciler: Reconciler, interval: float) -> None:
        self.backend = backend
        self.reconciler = reconciler
        self._interval = interval
        self.stopping = threading.Event()

    def tick(self) -> VizierStatus:
        try:
            spec = VizierSpec.from_resource(self.backend.read_resource())
        except (OSError, ValueError, InvalidSpec) as exc:
            status = self.reconciler.status
            status.phase, status.reason, status.message = "Failed", "InvalidSpec", str(exc)
            self.backend.write_status(status)
            return status
        return self.reconciler.tick(spec)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                status = self.tick()
                _log.info(
                    "reconciled", phase=status.phase, reason=status.reason, version=status.version
                )
            except Exception:  # a failed pass is logged; the next one tries again
                _log.exception("reconcile failed")
            self.stopping.wait(self._interval)


def build(
    settings: OperatorSettings,
    *,
    verify: Callable[..., VerifiedRelease] = verify_release,
    timing: Timing | None = None,
    backend: Backend | None = None,
) -> Operator:
    if settings.backend != "podman":
        raise ValueError(
            "the Kubernetes backend runs under Kopf: kopf run -m pyxie_operator.kopf_handlers"
        )
    values: Obj = {}
    if settings.podman_values_file is not None:
        values = json.loads(settings.podman_values_file.read_text())
    podman = PodmanBackend(
        settings.state_dir,
        plane=settings.plane,
        values=values,
        tls_verify=settings.registry_tls_verify,
    )
    reconciler = Reconciler(
        backend or podman,
        verifier_for(settings, verify),
        chart_renderer,
        namespace="pyxie",
        target=f"podman:{settings.plane}",
        timing=timing,
    )
    return Operator(podman, reconciler, settings.interval_seconds)


def run_podman_operator(argv: list[str]) -> int:
    """Entry point of `python -m pyxie_operator` (podman): run, or `down` to remove the vizier."""
    import signal

    from pydantic import ValidationError
    from pyxie_service import configure_logging

    try:
        settings = OperatorSettings()  # type: ignore[call-arg]  # from PL_* variables
    except ValidationError as exc:
        print(f"pyxie_operator: bad settings: {exc}", file=__import__("sys").stderr)
        return 2
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    operator = build(settings)
    if argv[:1] == ["down"]:
        operator.backend.down()
        return 0
    signal.signal(signal.SIGTERM, lambda *_: operator.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: operator.stopping.set())
    operator.run()
    return 0
