"""Kopf wiring of the Kubernetes backend: ``kopf run -m pyxie_operator.kopf_handlers -A``.

Each Vizier resource gets its own reconciler (kept in Kopf's memo); a timer ticks it every
``PL_INTERVAL_SECONDS`` and on every spec change. Status is written by the backend (the status
subresource and the connector's ConfigMap), not through Kopf's handler results.
"""

from __future__ import annotations

from typing import Any

import kopf
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from pyxie_operator.app import chart_renderer, verifier_for
from pyxie_operator.backends.kubernetes import KubernetesBackend
from pyxie_operator.controllers.reconciler import Reconciler
from pyxie_operator.controllers.resource import GROUP, PLURAL, VERSION, InvalidSpec, VizierSpec
from pyxie_operator.settings import OperatorSettings

__all__ = ["reconcile"]

_settings = OperatorSettings(backend="kubernetes")  # type: ignore[call-arg]  # PL_* variables


def _client() -> k8s.ApiClient:
    try:
        k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
    except k8s_config.ConfigException:
        k8s_config.load_kube_config()  # type: ignore[no-untyped-call]
    return k8s.ApiClient()


def _reconciler(memo: Any, namespace: str, name: str) -> Reconciler:
    key = f"reconciler:{namespace}/{name}"
    if key not in memo:
        backend = KubernetesBackend(_client(), namespace=namespace, name=name)
        memo[key] = Reconciler(
            backend,
            verifier_for(_settings),
            chart_renderer,
            namespace=namespace,
            target=f"k8s:{namespace}/{name}",
        )
    reconciler: Reconciler = memo[key]
    return reconciler


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
@kopf.timer(GROUP, VERSION, PLURAL, interval=_settings.interval_seconds, idle=0)
def reconcile(*, body: kopf.Body, namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    try:
        spec = VizierSpec.from_resource(dict(body))
    except InvalidSpec as exc:
        raise kopf.PermanentError(str(exc)) from None
    _reconciler(memo, namespace or "default", name).tick(spec)
