"""The agent core shared by PEM and Kelvin (Pixie's `agent/shared/manager`).

Lifecycle: a random UUID; after a short random jitter, `RegisterAgentRequest` on `UpdateAgent`,
answered by `RegisterAgentResponse{asid}` on `Agent/<id>` within 30 s (else the agent fails);
then `K8sUpdates/<selector>` is followed and a heartbeat goes out every 5 s. An unacked heartbeat
is re-sent unchanged. `HeartbeatNack{reregister: true}` registers again keeping the ASID;
`{reregister: false}` (the metadata service expired the agent) ends it. `ExecuteQueryRequest`
and `CancelQueryRequest` on `Agent/<id>` go to the query runner, `TracepointMessage`s to the
tracepoint handler (the PEM's dynamic tracer). The registry status the metadata service
broadcasts on `TracepointStatus` is kept for `px.GetTracepointStatus()`.

A fatal condition (registration timeout, expiry) resolves `Agent.fatal` and calls `on_fatal`;
the service then stops and exits non-zero, so that its supervisor restarts it with a new id.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import random
import signal
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import grpc
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from pyxie_proto.vizier.messagespb import messages_pb2
from pyxie_proto.vizier.metadatapb import metadata_pb2
from pyxie_proto.vizier.subjects import (
    COMPUTED_SCHEMA,
    MISSING_METADATA_REQUESTS,
    TRACEPOINT_STATUS,
    UPDATE_AGENT,
    agent_subject,
    k8s_updates_subject,
)
from pyxie_service import (
    BackgroundTask,
    Closer,
    Service,
    ServiceRegistration,
    ServiceSettings,
    get_logger,
)
from pyxie_service.natsbus import NatsBus

from ._errors import AgentError, AgentExpiredError, RegistrationTimeoutError
from ._heartbeat import HeartbeatTracker, SchemaSource
from ._metadata import MetadataApplier
from ._query import QueryRunner

__all__ = [
    "DEFAULT_HEARTBEAT_INTERVAL_S",
    "DEFAULT_REGISTRATION_JITTER_MAX_S",
    "DEFAULT_REGISTRATION_TIMEOUT_S",
    "EXIT_AGENT_FATAL",
    "Agent",
    "AgentConfig",
    "AgentService",
    "ExitOnFatal",
    "ProcessEventSource",
]

# Pixie's kAgentHeartbeatInterval.
DEFAULT_HEARTBEAT_INTERVAL_S: Final = 5.0
# Pixie's kRegistrationPeriod: no RegisterAgentResponse within this long ends the agent.
DEFAULT_REGISTRATION_TIMEOUT_S: Final = 30.0
# Within that period the request is published again this often: a metadata service that was
# still connecting to NATS (services of one vizier start together) never saw the first one.
DEFAULT_REGISTRATION_RESEND_S: Final = 5.0
# Pixie waits 10 ms - 60 s before registering so that a DaemonSet rollout of thousands of PEMs
# does not hit the metadata service at once. A standalone vizier has a handful of agents that
# should be queryable right away, so the default ceiling is 1 s (PL_REGISTRATION_JITTER_MAX_S
# raises it for large clusters).
DEFAULT_REGISTRATION_JITTER_MAX_S: Final = 1.0
_REGISTRATION_JITTER_MIN_S: Final = 0.01
# How long one MissingMetadataRequest may take before the agent gives up on that gap.
_MISSING_METADATA_REPLY_S: Final = 5.0
# Exit status of an agent process that ended on a fatal agent condition (not a signal).
EXIT_AGENT_FATAL: Final = 3

_log = get_logger("pyxie.agent")

TracepointHandler = Callable[[messages_pb2.TracepointMessage], Awaitable[None]]
TracepointStatusSink = Callable[[metadata_pb2.GetTracepointInfoResponse], None]
ComputedSchemaSink = Callable[[metadata_pb2.SchemaResponse], None]

ProcessEventSource = Callable[
    [], tuple[Sequence[messages_pb2.ProcessCreated], Sequence[messages_pb2.ProcessTerminated]]
]


def _new_agent_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """Identity and timing of one agent (what goes into AgentInfo, and the periods)."""

    agent_id: str = field(default_factory=_new_agent_id)
    hostname: str = field(default_factory=socket.gethostname)
    host_ip: str = ""
    kernel_version: str = field(default_factory=platform.release)
    kernel_headers_installed: bool = False
    netns_inode: int = 0
    pod_name: str = ""
    collects_data: bool = True
    # host:port of this agent's ResultSinkService (Kelvin); empty for PEMs.
    address: str = ""
    # K8sUpdates/<selector>: the PEM's host IP (or node name), "all" for Kelvin.
    k8s_selector: str = "all"
    heartbeat_interval_s: float = DEFAULT_HEARTBEAT_INTERVAL_S
    registration_timeout_s: float = DEFAULT_REGISTRATION_TIMEOUT_S
    registration_resend_s: float = DEFAULT_REGISTRATION_RESEND_S
    registration_jitter_max_s: float = DEFAULT_REGISTRATION_JITTER_MAX_S

    def agent_info(self) -> messages_pb2.AgentInfo:
        return messages_pb2.AgentInfo(
            agent_id=self.agent_id,
            host_info=messages_pb2.HostInfo(
                hostname=self.hostname,
                host_ip=self.host_ip,
                kernel_version=self.kernel_version,
                kernel_headers_installed=self.kernel_headers_installed,
                netns_inode=self.netns_inode,
            ),
            collects_data=self.collects_data,
            address=self.address,
            pod_name=self.pod_name,
        )


class Agent:
    """Registration, heartbeats, metadata updates and query dispatch of one PEM or Kelvin."""

    def __init__(
        self,
        bus: NatsBus,
        config: AgentConfig,
        *,
        runner: QueryRunner | None = None,
        metadata: MetadataApplier | None = None,
        schemas: SchemaSource | None = None,
        process_events: ProcessEventSource | None = None,
        on_fatal: Callable[[AgentError], None] | None = None,
        on_registered: Callable[[int], None] | None = None,
        on_tracepoint: TracepointHandler | None = None,
        tracepoint_status: TracepointStatusSink | None = None,
        computed_schema: ComputedSchemaSink | None = None,
    ) -> None:
        self.bus = bus
        self._computed_schema = computed_schema
        self._on_tracepoint = on_tracepoint
        self._tracepoint_status = tracepoint_status
        self.config = config
        self.runner = runner
        self.metadata = metadata
        self._process_events = process_events
        self._on_fatal = on_fatal
        self._on_registered = on_registered
        self.heartbeats = HeartbeatTracker(config.agent_id, schemas)
        self.asid = 0
        self.registrations = 0
        self.registered = asyncio.Event()
        self.fatal: asyncio.Future[AgentError] = asyncio.get_running_loop().create_future()
        self._registration_reply: asyncio.Future[int] | None = None
        self._subscriptions: list[Subscription] = []
        # Registration, then heartbeats until stopped; re-registration on a HeartbeatNack.
        self._lifecycle = BackgroundTask("agent-lifecycle", self._run)
        self._reregistration = BackgroundTask("agent-reregistration", self._reregister)
        self._started = False
        self._beat_now = asyncio.Event()
        self._stopped = False
        # Serialises applying live updates and gap fills, so versions apply in order.
        self._metadata_lock = asyncio.Lock()
        # The updates published before the K8sUpdates subscription (asked for once).
        self._metadata_sync = BackgroundTask("agent-metadata-sync", self._initial_metadata_sync)

    @property
    def agent_id(self) -> str:
        return self.config.agent_id

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Subscribe to `Agent/<id>` and start registering and heartbeating in the background."""
        if self._started:
            raise RuntimeError("agent already started")
        self._started = True
        # Subscribed before registering so that the RegisterAgentResponse cannot be missed.
        self._subscriptions.append(
            await self.bus.subscribe(
                agent_subject(self.agent_id), messages_pb2.VizierMessage, self._on_agent_message
            )
        )
        if self._tracepoint_status is not None:
            self._subscriptions.append(
                await self.bus.subscribe(
                    TRACEPOINT_STATUS,
                    metadata_pb2.GetTracepointInfoResponse,
                    self._on_tracepoint_status,
                )
            )
        if self._computed_schema is not None:
            self._subscriptions.append(
                await self.bus.subscribe(
                    COMPUTED_SCHEMA, metadata_pb2.SchemaResponse, self._on_computed_schema
                )
            )
        await self.bus.flush()
        self._lifecycle.start()

    async def stop(self) -> None:
        """Stop heartbeats and subscriptions, cancel running queries. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        for task in (self._lifecycle, self._reregistration, self._metadata_sync):
            await task.stop()
        for subscription in self._subscriptions:
            try:
                await subscription.unsubscribe()
            except Exception:  # the connection may already be closed; nothing to release
                _log.debug("unsubscribe failed", exc_info=True)
        self._subscriptions.clear()
        if self.runner is not None:
            await self.runner.stop()

    async def _run(self) -> None:
        try:
            jitter = random.uniform(
                min(_REGISTRATION_JITTER_MIN_S, self.config.registration_jitter_max_s),
                self.config.registration_jitter_max_s,
            )
            await asyncio.sleep(jitter)
            await self._register()
            self._subscriptions.append(
                await self.bus.subscribe(
                    k8s_updates_subject(self.config.k8s_selector),
                    messages_pb2.VizierMessage,
                    self._on_k8s_update,
                )
            )
            if self.metadata is not None:
                # Updates published before we subscribed: ask for them (off the beat path).
                self._metadata_sync.start()
            await self._heartbeat_loop()
        except AgentError as err:
            self._fail(err)

    def _fail(self, error: AgentError) -> None:
        if self.fatal.done():
            return
        _log.error("agent failed", agent_id=self.agent_id, error=str(error))
        self.fatal.set_result(error)
        if self._on_fatal is not None:
            self._on_fatal(error)

    # ------------------------------------------------------------ registration

    async def _register(self) -> None:
        """Publish RegisterAgentRequest (keeping the ASID when there is one) and wait for it."""
        self.registered.clear()
        self.heartbeats.reset_for_registration()
        reply: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._registration_reply = reply
        request = messages_pb2.VizierMessage(
            register_agent_request=messages_pb2.RegisterAgentRequest(
                info=self.config.agent_info(), asid=self.asid
            )
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.registration_timeout_s
        _log.info("registering", agent_id=self.agent_id, asid=self.asid)
        try:
            while True:
                await self.bus.publish(UPDATE_AGENT, request)
                wait = min(deadline - loop.time(), self.config.registration_resend_s)
                try:
                    # Shielded: a resend keeps waiting for the same reply.
                    asid = await asyncio.wait_for(asyncio.shield(reply), max(wait, 0.0))
                    break
                except TimeoutError:
                    if loop.time() >= deadline:
                        raise RegistrationTimeoutError(
                            f"agent {self.agent_id}: no RegisterAgentResponse within "
                            f"{self.config.registration_timeout_s:g} s "
                            "(is the metadata service up?)"
                        ) from None
                    _log.info("no RegisterAgentResponse yet; asking again", agent_id=self.agent_id)
        finally:
            self._registration_reply = None
        self.asid = asid
        self.registrations += 1
        if self.metadata is not None:
            self.metadata.state.agent_asid = asid
        if self._on_registered is not None:
            self._on_registered(asid)
        self.registered.set()
        self._beat_now.set()  # the first heartbeat (with the schema) goes out at once
        _log.info("registered", agent_id=self.agent_id, asid=asid)

    async def _reregister(self) -> None:
        try:
            await self._register()
        except AgentError as err:
            self._fail(err)

    # ------------------------------------------------------------ heartbeats

    async def _heartbeat_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._beat_now.wait(), self.config.heartbeat_interval_s)
            self._beat_now.clear()
            if not self.registered.is_set():
                continue  # re-registering: heartbeats resume once it is acked
            await self._send_heartbeat()

    async def _send_heartbeat(self) -> None:
        if not self.heartbeats.awaiting_ack and self._process_events is not None:
            try:
                created, terminated = await asyncio.to_thread(self._process_events)
            except Exception:
                _log.exception("collecting process events failed")
            else:
                self.heartbeats.add_process_events(created, terminated)
        beat = self.heartbeats.next_heartbeat(time.time_ns())
        await self.bus.publish(UPDATE_AGENT, messages_pb2.VizierMessage(heartbeat=beat))

    # ------------------------------------------------------------ inbound messages

    async def _on_agent_message(self, message: messages_pb2.VizierMessage) -> None:
        kind = message.WhichOneof("msg")
        if kind == "register_agent_response":
            reply = self._registration_reply
            if reply is not None and not reply.done():
                reply.set_result(int(message.register_agent_response.asid))
        elif kind == "heartbeat_ack":
            if not self.heartbeats.ack(message.heartbeat_ack.sequence_number):
                _log.debug(
                    "ignoring ack for another heartbeat",
                    sequence_number=message.heartbeat_ack.sequence_number,
                )
        elif kind == "heartbeat_nack":
            self._on_nack(message.heartbeat_nack)
        elif kind == "execute_query_request":
            self._on_execute(message.execute_query_request)
        elif kind == "cancel_query_request":
            if self.runner is not None:
                self.runner.cancel(message.cancel_query_request.query_id)
        elif kind == "tracepoint_message":
            if self._on_tracepoint is None:
                _log.warning("no dynamic tracer: ignoring a tracepoint message")
            else:
                await self._on_tracepoint(message.tracepoint_message)
        else:
            _log.debug("ignoring agent message", kind=kind)

    async def _on_tracepoint_status(self, status: metadata_pb2.GetTracepointInfoResponse) -> None:
        if self._tracepoint_status is not None:
            self._tracepoint_status(status)

    async def _on_computed_schema(self, response: metadata_pb2.SchemaResponse) -> None:
        if self._computed_schema is not None:
            self._computed_schema(response)

    def _on_nack(self, nack: messages_pb2.HeartbeatNack) -> None:
        if not nack.reregister:
            self._fail(
                AgentExpiredError(
                    f"agent {self.agent_id} was expired by the metadata service "
                    "(HeartbeatNack without reregister)"
                )
            )
            return
        if self._reregistration.running:
            return  # already re-registering
        _log.warning("metadata service asks to re-register", agent_id=self.agent_id)
        self.registered.clear()
        self._reregistration.start()

    def _on_execute(self, request: messages_pb2.ExecuteQueryRequest) -> None:
        if self.runner is None:
            _log.warning("no query runner: dropping query", query_id=request.query_id)
            return
        _log.info("executing query", query_id=request.query_id, agent_id=self.agent_id)
        self.runner.submit(request)

    async def _on_k8s_update(self, message: messages_pb2.VizierMessage) -> None:
        if message.WhichOneof("msg") != "metadata_update" or self.metadata is None:
            return
        update = message.metadata_update
        async with self._metadata_lock:
            last = self.metadata.last_version
            if update.version and update.version <= last:
                return  # already applied (a gap fill got it first)
            if update.prev_version > last:
                await self._fill_metadata_gap(last + 1, update.version)
            self.metadata.apply(update)

    async def _initial_metadata_sync(self) -> None:
        assert self.metadata is not None
        async with self._metadata_lock:
            await self._fill_metadata_gap(self.metadata.last_version + 1, 0)

    async def _fill_metadata_gap(self, from_version: int, to_version: int) -> None:
        """Apply the updates of this agent's selector in [from_version, to_version) (to 0 =
        up to the newest) that the metadata service still holds."""
        assert self.metadata is not None
        while True:
            request = metadata_pb2.MissingMetadataRequest(
                selector=self.config.k8s_selector,
                from_version=from_version,
                to_version=to_version,
            )
            try:
                response = await self.bus.request(
                    MISSING_METADATA_REQUESTS,
                    request,
                    metadata_pb2.MissingMetadataResponse,
                    reply_within=_MISSING_METADATA_REPLY_S,
                )
            except (NatsError, TimeoutError) as err:
                _log.warning(
                    "could not fetch missed metadata updates",
                    from_version=from_version,
                    to_version=to_version,
                    error=repr(err),
                )
                return
            for update in response.updates:
                if update.version > self.metadata.last_version:
                    self.metadata.apply(update)
            if not response.updates:
                return
            newest = response.updates[-1].version
            if newest >= response.last_update_available or (
                to_version and newest + 1 >= to_version
            ):
                return
            from_version = newest + 1


class ExitOnFatal:
    """`on_fatal` for a service process: remember a non-zero exit code, then stop gracefully.

    `__main__` returns `run_service(...) or exit_on_fatal.code`.
    """

    def __init__(self, code: int = EXIT_AGENT_FATAL) -> None:
        self._fatal_code = code
        self.code = 0

    def __call__(self, error: AgentError) -> None:
        self.code = self._fatal_code
        # The serving loop's SIGTERM handler runs the two-stage shutdown.
        os.kill(os.getpid(), signal.SIGTERM)


class AgentService(Service):
    """A Service whose agent starts once the gRPC server is up (so its address is known)."""

    def __init__(
        self,
        settings: ServiceSettings,
        registrations: Sequence[ServiceRegistration],
        *,
        name: str,
        agent_factory: Callable[[int], Awaitable[Agent]],
        server_credentials: grpc.ServerCredentials | None = None,
        resources: Sequence[tuple[str, Closer]] = (),
    ) -> None:
        super().__init__(settings, registrations, name=name, server_credentials=server_credentials)
        # The connections the agent uses (NATS): registered first, so they close last.
        for resource, closer in resources:
            self.add_closer(resource, closer)
        self._agent_factory = agent_factory
        self.agent: Agent | None = None

    async def start(self) -> None:
        await super().start()
        self.agent = await self._agent_factory(self.grpc_port)
        await self.agent.start()

    async def stop(self) -> None:
        if self.agent is not None:
            await self.agent.stop()
        await super().stop()
