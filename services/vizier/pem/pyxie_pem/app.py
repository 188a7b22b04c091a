"""The PEM's composition root: `build(settings) -> Service`.

`pem_service` builds the table store from the collectors' schemas (its budget divided once, as
Pixie does), the `Pem` (collectors, engine, agent) and the `AgentService` that starts the agent
once the server is up; `build` connects NATS for it. Tests use the same function through
`pyxie_pem.testing`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyxie_agent import AgentError, AgentService, ExitOnFatal
from pyxie_carnot.udtfs._host import kernel_headers_installed
from pyxie_service import Closer, Service, get_logger
from pyxie_service.natsbus import NatsBus
from pyxie_stirling import Source, mypyc_status
from pyxie_table_store import TableStore
from pyxie_types.tables import HTTP_EVENTS

from pyxie_pem.controllers import (
    Pem,
    collector_schemas,
    process_filter_from_settings,
    sources_from_settings,
)
from pyxie_pem.settings import PemSettings

__all__ = ["build", "exit_on_fatal", "log_mypyc_status", "pem_service", "table_store_for"]

_log = get_logger("pyxie.pem")

# A fatal agent error (expired, registration timed out) stops the process with a non-zero code.
exit_on_fatal = ExitOnFatal()


def table_store_for(settings: PemSettings, sources: Sequence[Source]) -> TableStore:
    """The store for every table the collectors push (and the benchmarks' synthetic rows)."""
    schemas = collector_schemas(sources)
    if settings.pem_synthetic_rows and HTTP_EVENTS.name not in {t.name for t in schemas}:
        schemas.append(HTTP_EVENTS)
    store = TableStore.from_schemas(schemas, settings.store_budget())
    if settings.pem_synthetic_rows:
        from pyxie_pem.controllers.synthetic import fill_synthetic_http_events

        fill_synthetic_http_events(store, settings.pem_synthetic_rows)
    return store


def pem_service(
    settings: PemSettings,
    bus: NatsBus,
    *,
    on_fatal: Callable[[AgentError], None] | None = None,
    resources: Sequence[tuple[str, Closer]] = (),
) -> tuple[Pem, AgentService]:
    """The PEM and the service that runs it; `resources` close after the PEM stopped."""
    sources = sources_from_settings(settings)
    service = AgentService(
        settings,
        [],
        name="pem",
        agent_factory=lambda port: pem.prepare(port),
        resources=resources,
    )
    host_ip = settings.resolved_host_ip()
    pem = Pem(
        bus,
        settings.agent_config(
            collects_data=True,
            # Pixie's PEMs follow their host IP; simulated nodes on one host set a name.
            k8s_selector=settings.k8s_selector or host_ip,
            netns_inode=settings.netns_inode,
            # px.GetLinuxHeadersStatus() reports it from the registration (Pixie's HostInfo).
            kernel_headers_installed=kernel_headers_installed(),
        ),
        settings.engine_options(metrics_registry=service.metrics_registry),
        table_store=table_store_for(settings, sources),
        sources=sources,
        process_filter=process_filter_from_settings(settings),
        process_events=settings.process_events_enabled,
        compaction_interval_s=settings.table_compaction_interval_s,
        on_fatal=on_fatal,
    )
    service.add_closer("pem", pem.close)
    return pem, service


def log_mypyc_status() -> None:
    """Say once whether the socket tracer's hot modules run mypyc-compiled or pure Python."""
    status = mypyc_status()
    _log.info(
        f"socket tracer modules: {status.mode}",
        mode=status.mode,
        compiled=list(status.compiled),
        pure=list(status.pure),
    )


async def build(settings: PemSettings) -> Service:
    log_mypyc_status()
    bus = await NatsBus.connect(settings.nats_url, name="pem")
    _, service = pem_service(settings, bus, on_fatal=exit_on_fatal, resources=[("nats", bus.drain)])
    return service
