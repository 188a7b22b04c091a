"""The plugin service for tests: `running_plugin`, callers' credentials, a fake vizier on real
cloud NATS, and helpers other packages use to enable a retention plugin (the otel compat run).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import grpc
from google.protobuf import any_pb2, wrappers_pb2
from pydantic import SecretStr
from pyxie_crypto import DataKey
from pyxie_jwt import (
    AccessScope,
    SigningKey,
    api_user_claims,
    service_claims,
    sign_token,
    user_claims,
)
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.cloud import cronscripts
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.cloud.subjects import c2v_subject, v2c_subject
from pyxie_proto.uuidpb import uuid_pb2
from pyxie_service import Service

from pyxie_plugin.app import build
from pyxie_plugin.controllers import OPENTELEMETRY_PLUGIN_ID, USER_TOKEN_METADATA_KEY
from pyxie_plugin.settings import DEFAULT_JWT_AUDIENCE, PluginSettings

__all__ = [
    "CLOUD_AUDIENCE",
    "Credentials",
    "FakeVizier",
    "PluginCloud",
    "RunningPlugin",
    "StaticDirectory",
    "create_retention_script",
    "enable_otel_plugin",
    "eventually",
    "running_plugin",
    "script_ids",
]

CLOUD_AUDIENCE: Final = DEFAULT_JWT_AUDIENCE
Metadata = tuple[tuple[str, str], ...]


@dataclass
class StaticDirectory:
    """A fake vzmgr (a service boundary): vizier id -> org id, all of them connected."""

    viziers: dict[str, uuid.UUID] = field(default_factory=dict)

    async def viziers_of(self, org_id: uuid.UUID) -> list[str]:
        return sorted(v for v, org in self.viziers.items() if org == org_id)

    async def org_of(self, vizier_id: str) -> uuid.UUID | None:
        return self.viziers.get(vizier_id)


@dataclass(frozen=True)
class RunningPlugin:
    service: Service
    database_key: str

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.service.grpc_port}"


@asynccontextmanager
async def running_plugin(
    database_url: str,
    nats_url: str,
    *,
    cloud_key: SigningKey,
    directory: StaticDirectory | None = None,
    **overrides: Any,
) -> AsyncIterator[RunningPlugin]:
    """The plugin service built by `build` (which migrates `database_url`) on 127.0.0.1:0."""
    database_key = overrides.pop("database_key", DataKey.generate().to_base64())
    settings = PluginSettings(
        jwt_signing_key=SecretStr(cloud_key.reveal_text()),
        database_url=SecretStr(database_url),
        database_key=SecretStr(database_key),
        nats_url=nats_url,
        grpc_host="127.0.0.1",
        grpc_port=0,
        metrics_enabled=False,
        shutdown_grace_seconds=0.5,
        log_format="console",
        **overrides,
    )
    service = await build(settings, directory=directory)
    await service.start()
    try:
        yield RunningPlugin(service, database_key)
    finally:
        await service.stop()


@dataclass(frozen=True)
class Credentials:
    """Tokens signed with the cloud key, as the api gateway or a caller would send them."""

    key: SigningKey

    def user(self, org_id: uuid.UUID) -> Metadata:
        claims = user_claims(
            user_id=str(uuid.uuid4()),
            org_id=str(org_id),
            email="someone@example.com",
            audience=CLOUD_AUDIENCE,
        )
        return (("authorization", f"bearer {sign_token(claims, self.key)}"),)

    def api_key(
        self,
        org_id: uuid.UUID,
        *,
        read_only: bool = False,
        clusters: Sequence[str] = (),
    ) -> Metadata:
        claims = api_user_claims(
            user_id=str(uuid.uuid4()),
            org_id=str(org_id),
            audience=CLOUD_AUDIENCE,
            access_scope=AccessScope.READ_ONLY if read_only else AccessScope.ADMIN,
            cluster_ids=tuple(clusters),
        )
        return (("authorization", f"bearer {sign_token(claims, self.key)}"),)

    def gateway(self, caller: Metadata) -> Metadata:
        """What the api sends: its service token, the caller's token in x-pyxie-user-token."""
        user_token = caller[0][1].removeprefix("bearer ")
        service = sign_token(service_claims(service_id="api", audience=CLOUD_AUDIENCE), self.key)
        return (("authorization", f"bearer {service}"), (USER_TOKEN_METADATA_KEY, user_token))

    def service_only(self) -> Metadata:
        service = sign_token(service_claims(service_id="api", audience=CLOUD_AUDIENCE), self.key)
        return (("authorization", f"bearer {service}"),)


@dataclass
class PluginCloud:
    """A running plugin service, a channel to it and the credentials to call it with."""

    plugin: RunningPlugin
    creds: Credentials
    directory: StaticDirectory
    channel: grpc.aio.Channel
    dsn: str
    nats_url: str

    @property
    def stub(self) -> Any:
        return cpb_grpc.PluginServiceStub(self.channel)


class FakeVizier:
    """A vizier's cloud end of the bridge on real cloud NATS (what vzconn would publish).

    Acks each `CronScriptUpdate` (unless `ack` is False) and keeps the resulting script set;
    `sync()` runs the checksum-then-full-set exchange as a vizier's query broker does.
    """

    def __init__(self, nats: Any, vizier_id: str | None = None, *, ack: bool = True) -> None:
        self.nats = nats
        self.vizier_id = vizier_id or str(uuid.uuid4())
        self.ack = ack
        self.scripts: dict[str, cvmsgs.CronScript] = {}
        self.updates: list[cvmsgs.CronScriptUpdate] = []
        self._subscription: Any = None

    async def start(self) -> None:
        subject = c2v_subject(self.vizier_id, cronscripts.UPDATES_TOPIC)
        self._subscription = await self.nats.subscribe(subject, cb=self._on_update)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()

    async def _on_update(self, raw: Any) -> None:
        update = cvmsgs.CronScriptUpdate()
        cvmsgs.C2VMessage.FromString(raw.data).msg.Unpack(update)
        self.updates.append(update)
        key = ""
        if update.HasField("upsert_req"):
            script = update.upsert_req.script
            key = str(uuid.UUID(int=(script.id.high_bits << 64) | script.id.low_bits))
            self.scripts[key] = script
        else:
            sid = update.delete_req.script_id
            self.scripts.pop(str(uuid.UUID(int=(sid.high_bits << 64) | sid.low_bits)), None)
        if self.ack:
            reply = cvmsgs.CronScriptUpdateResponse()
            if update.HasField("upsert_req"):
                reply.upsert_resp.SetInParent()
            else:
                reply.delete_resp.SetInParent()
            await self.publish(cronscripts.updates_response_topic(update.request_id), reply)

    async def publish(self, topic: str, message: Any, *, as_vizier: str | None = None) -> None:
        packed = any_pb2.Any()
        packed.Pack(message)
        envelope = cvmsgs.V2CMessage(vizier_id=as_vizier or self.vizier_id, msg=packed)
        await self.nats.publish(v2c_subject(self.vizier_id, topic), envelope.SerializeToString())

    async def ask(self, request_topic: str, message: Any, reply_type: type[Any]) -> Any:
        reply_topic = f"{uuid.uuid4().hex}"
        message.topic = reply_topic
        prefix = (
            cronscripts.CHECKSUM_RESPONSE_TOPIC_PREFIX
            if request_topic == cronscripts.CHECKSUM_REQUEST_TOPIC
            else cronscripts.SCRIPTS_RESPONSE_TOPIC_PREFIX
        )
        subscription = await self.nats.subscribe(
            c2v_subject(self.vizier_id, prefix + reply_topic), max_msgs=1
        )
        await self.publish(request_topic, message)
        raw = await subscription.next_msg(timeout=20)
        reply = reply_type()
        cvmsgs.C2VMessage.FromString(raw.data).msg.Unpack(reply)
        return reply

    async def checksum(self) -> str:
        reply = await self.ask(
            cronscripts.CHECKSUM_REQUEST_TOPIC,
            cvmsgs.GetCronScriptsChecksumRequest(),
            cvmsgs.GetCronScriptsChecksumResponse,
        )
        return str(reply.checksum)

    async def sync(self) -> None:
        if await self.checksum() == cronscripts.cron_scripts_checksum(self.scripts):
            return
        reply = await self.ask(
            cronscripts.SCRIPTS_REQUEST_TOPIC,
            cvmsgs.GetCronScriptsRequest(),
            cvmsgs.GetCronScriptsResponse,
        )
        self.scripts = dict(reply.scripts)


async def enable_otel_plugin(
    channel: grpc.aio.Channel,
    metadata: Metadata,
    *,
    export_url: str,
    headers: Mapping[str, str] | None = None,
    insecure: bool = True,
    presets: bool = True,
) -> list[cpb.RetentionScript]:
    """Enable the OpenTelemetry retention plugin for the caller's org and return its scripts.

    `channel` reaches PluginService (the cloud api, or the plugin service itself) and
    `metadata` authenticates the caller (e.g. `(("pixie-api-key", key),)` through the api).
    """
    stub = cpb_grpc.PluginServiceStub(channel)
    await stub.UpdateRetentionPluginConfig(
        cpb.UpdateRetentionPluginConfigRequest(
            plugin_id=OPENTELEMETRY_PLUGIN_ID,
            configs=dict(headers or {}),
            enabled=wrappers_pb2.BoolValue(value=True),
            custom_export_url=wrappers_pb2.StringValue(value=export_url),
            insecure_tls=wrappers_pb2.BoolValue(value=insecure),
            disable_presets=wrappers_pb2.BoolValue(value=not presets),
        ),
        metadata=metadata,
    )
    listed = await stub.GetRetentionScripts(cpb.GetRetentionScriptsRequest(), metadata=metadata)
    return [s for s in listed.scripts if s.plugin_id == OPENTELEMETRY_PLUGIN_ID]


async def create_retention_script(
    channel: grpc.aio.Channel,
    metadata: Metadata,
    *,
    name: str,
    contents: str,
    frequency_s: int = 10,
    cluster_ids: Sequence[str] = (),
    plugin_id: str = OPENTELEMETRY_PLUGIN_ID,
) -> str:
    """Add a retention script (the plugin must be enabled); returns its id."""
    stub = cpb_grpc.PluginServiceStub(channel)
    created = await stub.CreateRetentionScript(
        cpb.CreateRetentionScriptRequest(
            script_name=name,
            contents=contents,
            frequency_s=frequency_s,
            plugin_id=plugin_id,
            cluster_ids=[_uuid_pb(c) for c in cluster_ids],
        ),
        metadata=metadata,
    )
    return str(uuid.UUID(int=(created.id.high_bits << 64) | created.id.low_bits))


def _uuid_pb(text: str) -> uuid_pb2.UUID:
    value = uuid.UUID(text).int
    return uuid_pb2.UUID(high_bits=value >> 64, low_bits=value & ((1 << 64) - 1))


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 30.0) -> None:
    """Poll `check` until it is true; fail after `within` seconds (a hang guard, not a bound)."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - polling another process's state
            await asyncio.sleep(0.05)


def script_ids(scripts: Iterable[cpb.RetentionScript]) -> list[str]:
    return [
        str(uuid.UUID(int=(s.script_id.high_bits << 64) | s.script_id.low_bits)) for s in scripts
    ]
