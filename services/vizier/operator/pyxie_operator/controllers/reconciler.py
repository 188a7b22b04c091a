"""The backend-neutral reconciler: deploy, verified update, health, auto-repair, status.

One ``tick(spec)`` does, in order:

1. **update**: when the spec asks for a version other than the running one, the release is
   verified first (``pyxie_release.verify.verify_release``: TUF metadata, image signatures and
   digests, no rollback, nothing the cloud named outside the signed release). A refusal is
   audit-logged and shown on the resource and to the cloud; nothing that runs is touched, and
   the same request is not retried until the spec changes. A verified release is pulled first
   (by digest), then applied.
2. **health**: every component is observed. A component that exited is reported with its exit
   code and last log line and restarted after a backoff that doubles (10 s, 20 s, ... 5 min, as
   the kubelet's) unless the backend restarts it itself (Kubernetes), and the backoff resets
   once it has run for ``stable_seconds``.
3. **etcd**: metadata's etcd without a leader (quorum lost) for ``etcd_grace_seconds`` is
   recovered from its own data without user action.
4. **cloud**: an unreachable cloud address is reported (the connector keeps retrying).
5. **other viziers** in the same cluster are surfaced (reason and list; the phase is kept).

The phase is Deploying/Updating until every component runs, then Healthy, or Degraded with the
first problem as reason and message.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Callable
from typing import Any, Final

from packaging.version import InvalidVersion, Version
from pyxie_release.verify import UpdateRefused, VerifiedRelease
from pyxie_service import get_logger
from pyxie_service.audit import audit

from pyxie_operator.controllers.backend import Backend, ComponentState
from pyxie_operator.controllers.manifests import Renderer, vizier_objects
from pyxie_operator.controllers.resource import VizierSpec, VizierStatus

__all__ = ["ACTOR", "Reconciler", "Timing", "Verifier"]

ACTOR: Final = "pyxie-operator"
_MAX_REPAIRS: Final = 10
_log = get_logger("pyxie.operator")

Obj = dict[str, Any]


class Verifier:
    """Calls ``verify_release`` with the operator's trust settings; ``(version, running,
    requested) -> VerifiedRelease`` or ``UpdateRefused``."""

    def __init__(self, verify: Callable[..., VerifiedRelease], **trust: Any) -> None:
        self._verify = verify
        self._trust = trust

    def __call__(
        self, version: str, running: str | None, requested: dict[str, str] | None
    ) -> VerifiedRelease:
        return self._verify(
            version=version, running_version=running, requested_images=requested, **self._trust
        )


@dataclasses.dataclass(frozen=True)
class Timing:
    # The kubelet's crash-loop backoff: 10 s doubling to 5 min.
    backoff_initial_seconds: float = 10.0
    backoff_max_seconds: float = 300.0
    # A component that ran this long is no longer crash-looping: its backoff resets.
    stable_seconds: float = 120.0
    # etcd without a leader this long has lost quorum (an election takes about a second).
    etcd_grace_seconds: float = 15.0


@dataclasses.dataclass
class _Crash:
    count: int = 0
    restart_at: float = 0.0
    backoff: float = 0.0
    running_since: float | None = None
    seen_restarts: int = 0


class Reconciler:
    def __init__(
        self,
        backend: Backend,
        verifier: Callable[[str, str | None, dict[str, str] | None], VerifiedRelease],
        render: Renderer,
        *,
        namespace: str,
        target: str,
        timing: Timing | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self._verify = verifier
        self._render = render
        self._namespace = namespace
        self._target = target
        self._timing = timing or Timing()
        self._clock = clock
        self.status = backend.read_status()
        self._refused: tuple[str, tuple[tuple[str, str], ...]] | None = None
        self._crashes: dict[str, _Crash] = {}
        self._etcd_bad_since: float | None = None
        self._offer_seen = ""

    # -- one pass ---------------------------------------------------------------------------

    def tick(self, spec: VizierSpec) -> VizierStatus:
        status = self.status
        spec = self._with_offer(spec, status)
        problems: list[tuple[str, str]] = []  # (reason, message), first one wins
        updating = self._update(spec, status, problems)
        components = self.backend.observe() if self.backend.deployed() else []
        status.components = {}
        for state in components:
            self._health(state, status, problems)
        self._etcd(status, problems)
        unreachable = self.backend.cloud_reachable(spec)
        if unreachable:
            problems.append(
                (
                    "CloudUnreachable",
                    f"cannot reach the cloud at {spec.cloud_addr}: {unreachable}; retrying",
                )
            )
        # Surfaced, not a fault of this vizier: shown when nothing worse is, phase unchanged.
        warnings: list[tuple[str, str]] = []
        status.other_viziers = self.backend.other_viziers()
        if status.other_viziers:
            warnings.append(
                (
                    "SecondVizier",
                    "another vizier runs in this cluster: " + ", ".join(status.other_viziers),
                )
            )
        all_running = bool(components) and all(c.running for c in components)
        if not status.version:
            status.phase = "Failed" if problems and not components else "Pending"
        elif updating or (status.phase in ("Deploying", "Updating") and not all_running):
            status.phase = "Updating" if status.phase == "Updating" or updating else "Deploying"
        elif problems or not all_running:
            status.phase = "Degraded"
        else:
            status.phase = "Healthy"
        if problems or warnings:
            status.reason, status.message = (problems or warnings)[0]
        elif status.phase in ("Updating", "Deploying"):
            status.reason, status.message = "Rollout", f"starting release {status.version}"
        else:
            status.reason, status.message = "", ""
        self.backend.write_status(status)
        return status

    # -- update -----------------------------------------------------------------------------

    def _with_offer(self, spec: VizierSpec, status: VizierStatus) -> VizierSpec:
        """With ``autoUpdate``, the spec's version is a floor: the target is the newest of it,
        the running release and the cloud's offer (with no requested images: the signed release
        alone names them). An offer is verified like any spec change; a refused offer stays
        refused until the cloud offers another version. Never a rollback."""
        if not spec.auto_update:
            return spec
        target = spec.version
        for candidate in (status.version, self.backend.read_offer()):
            if candidate and _newer(candidate, target):
                target = candidate
        if target == spec.version:
            return spec
        if target != status.version and target != self._offer_seen:
            self._offer_seen = target
            _log.info("taking the cloud's update offer", version=target, spec=spec.version)
        return dataclasses.replace(spec, version=target, requested_images={})

    def _update(
        self, spec: VizierSpec, status: VizierStatus, problems: list[tuple[str, str]]
    ) -> bool:
        if spec.version == status.version and self.backend.deployed():
            if status.update_state.startswith("refused"):
                # The spec is back on the running release: the refused request is withdrawn.
                status.update_state = f"running {status.version}; withdrawn: {status.update_state}"
            self._refused = None
            return False
        request = (spec.version, tuple(sorted(spec.requested_images.items())))
        if request == self._refused:
            problems.append(("UpdateRefused", status.update_state))
            return False
        running = status.version or None
        try:
            release = self._verify(spec.version, running, spec.requested_images or None)
            objects = vizier_objects(
                spec,
                release,
                deploy_key=self.backend.deploy_key(spec),
                namespace=self._namespace,
                render=self._render,
                base_values=self.backend.base_values(),
            )
            self.backend.prepare(objects)
        except UpdateRefused as refused:
            self._refused = request
            status.update_state = f"refused {spec.version}: {refused.reason}"
            audit(
                "update.apply",
                "refused",
                actor=ACTOR,
                target=self._target,
                reason=refused.reason,
                version=spec.version,
                running_version=status.version,
            )
            _log.warning("update refused", version=spec.version, reason=refused.reason)
            problems.append(("UpdateRefused", status.update_state))
            return False
        except Exception as exc:  # a pull or render failure: nothing that runs was touched
            problems.append(("UpdateFailed", f"update to {spec.version} failed: {exc}"))
            status.update_state = f"failed {spec.version}: {exc}"
            audit(
                "update.apply",
                "failed",
                actor=ACTOR,
                target=self._target,
                reason=str(exc),
                version=spec.version,
                running_version=status.version,
            )
            return False
        first = not status.version
        self.backend.apply(objects)
        self._crashes.clear()
        audit(
            "update.apply",
            "applied",
            actor=ACTOR,
            target=self._target,
            version=release.version,
            running_version=status.version,
            images=",".join(sorted(release.images.values())),
        )
        _log.info("release applied", version=release.version, previous=status.version)
        status.version = release.version
        status.update_state = f"applied {release.version}"
        status.last_update = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        status.phase = "Deploying" if first else "Updating"
        return True

    # -- health -----------------------------------------------------------------------------

    def _health(
        self, state: ComponentState, status: VizierStatus, problems: list[tuple[str, str]]
    ) -> None:
        now = self._clock()
        crash = self._crashes.setdefault(state.name, _Crash(seen_restarts=state.restarts))
        cause = f"exit {state.exit_code}" if state.exit_code is not None else state.reason
        if state.reason and state.exit_code is not None:
            cause = f"{state.reason}, exit {state.exit_code}"
        log = f": {state.last_log}" if state.last_log else ""
        if state.running:
            if crash.running_since is None:
                crash.running_since = now
            if state.restarts > crash.seen_restarts and state.self_restarting:
                crash.count += state.restarts - crash.seen_restarts
            crash.seen_restarts = state.restarts
            if crash.count and now - crash.running_since >= self._timing.stable_seconds:
                crash.count, crash.backoff = 0, 0.0
            status.components[state.name] = "running" + (
                f" ({crash.count} crashes)" if crash.count else ""
            )
            return
        crash.running_since = None
        if state.self_restarting:
            status.components[state.name] = f"crash-looping ({cause}), restarted by the cluster"
            problems.append(
                (
                    "CrashLoop",
                    f"{state.name} is crash-looping ({cause}, {state.restarts} restarts){log}",
                )
            )
            return
        if crash.restart_at == 0.0:
            crash.count += 1
            crash.backoff = min(
                self._timing.backoff_initial_seconds * 2 ** (crash.count - 1),
                self._timing.backoff_max_seconds,
            )
            crash.restart_at = now + crash.backoff
            _log.warning(
                "component crashed", component=state.name, cause=cause, crashes=crash.count
            )
        if now >= crash.restart_at:
            self.backend.restart(state.name)
            crash.restart_at = 0.0
            self._repaired(status, f"restarted {state.name} after crash {crash.count} ({cause})")
            status.components[state.name] = "restarted"
        else:
            status.components[state.name] = (
                f"crashed ({cause}), restart {crash.count} in {crash.restart_at - now:.0f}s"
            )
        problems.append(
            (
                "CrashLoop",
                f"{state.name} crashed ({cause}; crash {crash.count}, backoff "
                f"{crash.backoff:.0f}s){log}",
            )
        )

    def _etcd(self, status: VizierStatus, problems: list[tuple[str, str]]) -> None:
        if not self.backend.deployed():
            return
        health = self.backend.etcd_health()
        if health is None or health.healthy:
            self._etcd_bad_since = None
            return
        now = self._clock()
        if self._etcd_bad_since is None:
            self._etcd_bad_since = now
        bad_for = now - self._etcd_bad_since
        if bad_for < self._timing.etcd_grace_seconds:
            problems.append(
                ("EtcdUnhealthy", f"etcd unhealthy for {bad_for:.0f}s: {health.reason}")
            )
            return
        what = self.backend.repair_etcd()
        self._etcd_bad_since = None
        self._repaired(status, f"etcd lost quorum ({health.reason}): {what}")
        audit("etcd.repair", "applied", actor=ACTOR, target=self._target, reason=health.reason)
        problems.append(("EtcdRepaired", f"etcd lost quorum ({health.reason}); {what}"))

    def _repaired(self, status: VizierStatus, what: str) -> None:
        stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        status.repairs = [*status.repairs, f"{stamp} {what}"][-_MAX_REPAIRS:]
        _log.info("repaired", what=what)


def _newer(candidate: str, than: str) -> bool:
    try:
        return Version(candidate) > Version(than)
    except InvalidVersion:
        return False
