"""The cloud connector's composition root: `build(settings) -> Service`.

`CloudConnector` is the vizier's link to the cloud, assembled from its parts. Start-up: load
the identity from the state file, or register with the deploy key (retrying with backoff until
the cloud answers) and save it first thing; then run the health checker and the bridge (vizier
NATS <-> the vzconn stream; the query broker serves the passthrough requests the bridge
brings). The gRPC server on port 50800 serves health and metrics.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
from pyxie_crypto import CertificateError
from pyxie_jwt import SigningKey, TokenVerifier
from pyxie_service import BackgroundTask, NatsBus, Service, get_logger

from pyxie_cloud_connector.controllers.bridge import Backoff, BridgeClient, BridgeTiming
from pyxie_cloud_connector.controllers.cloud import (
    cloud_channel,
    register_deployment,
    verify_cloud_certificate,
)
from pyxie_cloud_connector.controllers.health import HealthChecker
from pyxie_cloud_connector.controllers.operator_offer import OfferWriter, subscribe_offers
from pyxie_cloud_connector.controllers.operator_status import with_operator_status
from pyxie_cloud_connector.settings import ConnectorSettings
from pyxie_cloud_connector.state import VizierIdentity, load_identity, save_identity

__all__ = ["CloudConnector", "MissingDeployKeyError", "build"]

_log = get_logger("pyxie.cloud_connector")


def _holds_key(path: Path, identity: VizierIdentity) -> bool:
    try:
        return path.read_text().strip() == identity.signing_key.reveal_text()
    except OSError:
        return False


class MissingDeployKeyError(Exception):
    """No saved identity and no deploy key: the vizier cannot register."""


class CloudConnector:
    def __init__(self, settings: ConnectorSettings, *, bus: NatsBus) -> None:
        self._settings = settings
        self._bus = bus
        self._broker = grpc.aio.insecure_channel(settings.broker_addr)
        # The server carries only health and metrics: nothing needs a token, and the plane's
        # key is not known before registration, so a throwaway verifier keeps the kit happy.
        self.service = Service(
            settings,
            [],
            name="cloud_connector",
            verifier=TokenVerifier(SigningKey.generate(), audience=settings.jwt_audience),
        )
        self.identity: VizierIdentity | None = None
        self.health: HealthChecker | None = None
        self.bridge: BridgeClient | None = None
        self.ready = asyncio.Event()
        self._saved_identity: VizierIdentity | None = None
        self.service.add_closer("nats", bus.drain)
        self.service.add_closer("broker channel", lambda: self._broker.close(None))

    def begin(self) -> None:
        """Register (if needed) and bridge in the background; fails fast without credentials."""
        identity = load_identity(self._settings.state_file)
        if identity is None and not self._settings.deploy_key.get_secret_value().strip():
            raise MissingDeployKeyError(
                f"no state in {self._settings.state_file} and no PL_DEPLOY_KEY to register with"
            )
        self._saved_identity = identity
        # Registration then the health checker and the bridge, each a task of the service
        # (stopped, last started first, before NATS and the broker channel close).
        self.service.add_task(BackgroundTask("connector-startup", self._run))

    async def start(self) -> None:
        """`begin` and serve health and metrics."""
        self.begin()
        await self.service.start()

    async def stop(self) -> None:
        await self.service.stop()

    async def _run(self) -> None:
        identity = self._saved_identity
        if identity is None:
            identity = await self._register()
        self.identity = identity
        settings = self._settings
        if settings.jwt_key_file is not None and not _holds_key(settings.jwt_key_file, identity):
            # The state file is authoritative: the other services must sign with the key the
            # cloud knows, or passthrough tokens would not verify.
            save_identity(settings.state_file, identity, key_file=settings.jwt_key_file)
        self.health = HealthChecker(
            self._broker,
            identity.signing_key,
            watchdog_seconds=settings.health_watchdog_seconds,
            retry_seconds=settings.health_retry_seconds,
        )
        self.service.add_task(self.health.task)
        self.bridge = BridgeClient(
            channel_factory=lambda: cloud_channel(settings),
            identity=identity,
            bus=self._bus,
            cluster_uid=settings.effective_cluster_uid(),
            cluster_name=settings.effective_cluster_name(),
            vizier_version=settings.vizier_version,
            health=with_operator_status(self.health.report, settings.operator_status_file),
            timing=BridgeTiming(
                register_timeout_seconds=settings.register_timeout_seconds,
                heartbeat_interval_seconds=settings.heartbeat_interval_seconds,
                reconnect_initial_seconds=settings.reconnect_initial_seconds,
                reconnect_max_seconds=settings.reconnect_max_seconds,
            ),
            buffer_messages=settings.bridge_buffer_messages,
            verify_server=lambda: verify_cloud_certificate(settings),
        )
        if settings.operator_offer_file is not None:
            offers = await subscribe_offers(
                self._bus, OfferWriter(settings.operator_offer_file, identity.vizier_id)
            )
            self.service.add_closer("offer subscription", offers.unsubscribe)
        self.service.add_task(self.bridge.task)
        self.ready.set()

    async def _register(self) -> VizierIdentity:
        settings = self._settings
        backoff = Backoff(settings.reconnect_initial_seconds, settings.reconnect_max_seconds)
        while True:
            try:
                await verify_cloud_certificate(settings)
            except CertificateError as err:
                _log.error("the cloud's certificate was refused", reason=str(err))
                await asyncio.sleep(backoff.next_delay())
                continue
            channel = cloud_channel(settings)
            try:
                registered = await register_deployment(
                    channel,
                    deploy_key=settings.deploy_key.get_secret_value().strip(),
                    cluster_uid=settings.effective_cluster_uid(),
                    cluster_name=settings.effective_cluster_name(),
                )
                identity = VizierIdentity(
                    vizier_id=registered.vizier_id,
                    vizier_name=registered.vizier_name,
                    signing_key=SigningKey(registered.jwt_signing_key),
                )
                # The key is shown once: persist it before anything else can fail.
                save_identity(settings.state_file, identity, key_file=settings.jwt_key_file)
                _log.info(
                    "vizier registered with the cloud",
                    vizier_id=identity.vizier_id,
                    name=identity.vizier_name,
                )
                return identity
            except grpc.aio.AioRpcError as err:
                _log.error(
                    "registering with the cloud failed",
                    code=err.code().name,
                    details=err.details(),
                )
            finally:
                await channel.close(None)
            await asyncio.sleep(backoff.next_delay())


async def build(settings: ConnectorSettings) -> Service:
    """The connector from its settings: connects vizier NATS and starts registering/bridging."""
    bus = await NatsBus.connect(settings.nats_url, name="cloud_connector")
    connector = CloudConnector(settings, bus=bus)
    connector.begin()
    return connector.service
