"""The cron-script sync: an org's enabled retention scripts go to its viziers over the bridge.

Pixie's cron-script service, for retention scripts (`pyxie_proto.cloud.cronscripts` has the
topics and the checksum):

* A vizier asks for the checksum of its set (`GetCronScriptsCheckSumRequest`) and, on a
  mismatch, for the whole set (`GetCronScriptsRequest`); answers go back on
  `c2v.<vizier>.<...Response:topic>`. The asking vizier is the one vzconn stamped on the
  envelope and subject, so a vizier only ever learns its own org's scripts.
* After a change (plugin enabled, reconfigured or disabled; a script created, edited or
  deleted) each affected script is pushed to each vizier of the org as one `CronScriptUpdate`
  (upsert when the vizier should run it, else delete), retried with backoff until the vizier
  acks it on `CronScriptsUpdatesResponse:<request_id>`.

A vizier's set: the enabled scripts of the org's enabled plugins whose cluster list is empty
or names the vizier, each with `configs` = YAML `otelEndpointConfig{url, headers, insecure,
timeout}` (the export target and its secret headers, decrypted only here, only for the org's
own viziers).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, Protocol

import grpc
import yaml
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError
from pyxie_jwt import SigningKey, service_claims, sign_token
from pyxie_proto.cloud import cronscripts
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs
from pyxie_proto.cloud.subjects import (
    c2v_subject,
    parse_v2c_subject,
    v2c_subject,
    v2c_topic_subscription,
)
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2, vzmgr_pb2_grpc
from pyxie_service import NatsBus, get_logger

from pyxie_plugin.controllers.releases import ReleaseCatalog
from pyxie_plugin.controllers.store import OrgPluginConfig, PluginStore, RetentionScriptRecord
from pyxie_plugin.controllers.validation import uuid_to_pb

__all__ = [
    "PLUGIN_SERVICE_ID",
    "CronScriptSync",
    "SyncTimings",
    "VizierDirectory",
    "VzmgrDirectory",
    "cron_scripts_for",
    "endpoint_configs",
]

PLUGIN_SERVICE_ID: Final = "plugin"
# The queue group of the plugin replicas: each vizier request is answered once.
_QUEUE_GROUP: Final = "plugin-cron-scripts"
# Pixie's cron scripts give an export this long to reach the collector.
_EXPORT_TIMEOUT_SECONDS: Final = 5
_VZMGR_TIMEOUT_SECONDS: Final = 10.0

_log = get_logger("pyxie.plugin.cron_sync")


class VizierDirectory(Protocol):
    async def viziers_of(self, org_id: uuid.UUID) -> list[str]:
        """Connected viziers of the org (ids)."""
        ...

    async def org_of(self, vizier_id: str) -> uuid.UUID | None:
        """The org that owns the vizier, None for an unknown vizier."""
        ...


class VzmgrDirectory:
    """`VizierDirectory` through vzmgr, with the plugin service's own service token."""

    # Service tokens live 10 minutes; renew with a margin so none expires in flight.
    _RENEW_AFTER_SECONDS: Final = 300.0

    def __init__(
        self, stub: vzmgr_pb2_grpc.VZMgrServiceAsyncStub, key: SigningKey, audience: str
    ) -> None:
        self._stub = stub
        self._key = key
        self._audience = audience
        self._token = ""
        self._minted_at = float("-inf")

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        now = time.monotonic()
        if now - self._minted_at > self._RENEW_AFTER_SECONDS:
            claims = service_claims(service_id=PLUGIN_SERVICE_ID, audience=self._audience)
            self._token, self._minted_at = sign_token(claims, self._key), now
        return (("authorization", f"bearer {self._token}"),)

    async def viziers_of(self, org_id: uuid.UUID) -> list[str]:
        response = await self._stub.GetViziersByOrg(
            vzmgr_pb2.GetViziersByOrgRequest(org_id=str(org_id)),
            metadata=self._metadata(),
            timeout=_VZMGR_TIMEOUT_SECONDS,
        )
        return [v.vizier_id for v in response.viziers if v.status != cvmsgs.VZ_ST_DISCONNECTED]

    async def org_of(self, vizier_id: str) -> uuid.UUID | None:
        try:
            info = await self._stub.GetVizierInfo(
                vzmgr_pb2.GetVizierInfoRequest(vizier_id=vizier_id),
                metadata=self._metadata(),
                timeout=_VZMGR_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as err:
            if err.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            raise
        return uuid.UUID(info.org_id)


def endpoint_configs(
    release_default_url: str, config: OrgPluginConfig, script_url: str | None
) -> str:
    """The `configs` YAML of a cron script: where and how its `px.export` sends data."""
    url = script_url or config.custom_export_url or release_default_url
    document = {
        "otelEndpointConfig": {
            "url": url,
            "headers": dict(sorted(config.configs.items())),
            "insecure": config.insecure_tls,
            "timeout": _EXPORT_TIMEOUT_SECONDS,
        }
    }
    return yaml.safe_dump(document, sort_keys=True)


def _runs_on(script: RetentionScriptRecord, vizier_id: str) -> bool:
    return script.enabled and (not script.cluster_ids or uuid.UUID(vizier_id) in script.cluster_ids)


async def cron_scripts_for(
    store: PluginStore, catalog: ReleaseCatalog, org_id: uuid.UUID, vizier_id: str
) -> dict[str, cvmsgs.CronScript]:
    """The scripts vizier `vizier_id` of org `org_id` should run, keyed by id string."""
    plugins = {c.plugin_id: c for c in await store.org_plugins(org_id)}
    scripts: dict[str, cvmsgs.CronScript] = {}
    for script in await store.scripts(org_id):
        config = plugins.get(script.plugin_id)
        if config is None or not _runs_on(script, vizier_id):
            continue
        release = catalog.get(config.plugin_id, config.version) or catalog.latest(config.plugin_id)
        default_url = release.default_export_url if release else ""
        scripts[str(script.id)] = cvmsgs.CronScript(
            id=uuid_to_pb(script.id),
            script=script.contents,
            configs=endpoint_configs(default_url, config, script.export_url),
            frequency_s=script.frequency_s,
        )
    return scripts


@dataclass(frozen=True)
class SyncTimings:
    ack_seconds: float = 10.0
    retry_initial_seconds: float = 5.0
    retry_max_seconds: float = 180.0
    give_up_seconds: float = 900.0


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


class CronScriptSync:
    """Answers the viziers' sync requests and pushes changes (see the module docstring)."""

    def __init__(
        self,
        bus: NatsBus,
        store: PluginStore,
        catalog: ReleaseCatalog,
        directory: VizierDirectory,
        timings: SyncTimings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus = bus
        self._store = store
        self._catalog = catalog
        self._directory = directory
        self._timings = timings
        self._clock = clock
        self._subscriptions: list[Any] = []
        self._pushes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        client = self._bus.client
        for topic in (cronscripts.CHECKSUM_REQUEST_TOPIC, cronscripts.SCRIPTS_REQUEST_TOPIC):
            self._subscriptions.append(
                await client.subscribe(
                    v2c_topic_subscription(topic), queue=_QUEUE_GROUP, cb=self._on_request
                )
            )

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        self._subscriptions.clear()
        pushes = list(self._pushes)
        for task in pushes:
            task.cancel()
        await asyncio.gather(*pushes, return_exceptions=True)

    # -- requests from viziers -------------------------------------------------------------

    async def _on_request(self, raw: Any) -> None:
        subject: str = getattr(raw, "subject", "")
        try:
            await self.handle_request(subject, getattr(raw, "data", b""))
        except Exception:
            _log.exception("cron-script request failed", subject=subject)

    async def handle_request(self, subject: str, data: bytes) -> None:
        parsed = parse_v2c_subject(subject)
        if parsed is None:
            return
        try:
            envelope = cvmsgs.V2CMessage.FromString(data)
        except DecodeError:
            _log.warning("undecodable cron-script request", subject=subject)
            return
        # vzconn stamps the envelope from the bridge registration: a vizier asks only as itself.
        if envelope.vizier_id != parsed.vizier_id:
            _log.warning("cron-script request names another vizier", subject=subject)
            return
        vizier_id = parsed.vizier_id
        if parsed.topic == cronscripts.CHECKSUM_REQUEST_TOPIC:
            checksum_request = cvmsgs.GetCronScriptsChecksumRequest()
            if not envelope.msg.Unpack(checksum_request):
                return
            scripts = await self._scripts_of_vizier(vizier_id)
            reply: Any = cvmsgs.GetCronScriptsChecksumResponse(
                checksum=cronscripts.cron_scripts_checksum(scripts)
            )
            topic = cronscripts.checksum_response_topic(checksum_request.topic)
        elif parsed.topic == cronscripts.SCRIPTS_REQUEST_TOPIC:
            scripts_request = cvmsgs.GetCronScriptsRequest()
            if not envelope.msg.Unpack(scripts_request):
                return
            reply = cvmsgs.GetCronScriptsResponse(scripts=await self._scripts_of_vizier(vizier_id))
            topic = cronscripts.scripts_response_topic(scripts_request.topic)
        else:
            return
        if not topic or "." in topic or " " in topic:
            _log.warning("cron-script request with an unusable reply topic", subject=subject)
            return
        message = cvmsgs.C2VMessage(vizier_id=vizier_id, msg=_pack(reply))
        await self._bus.client.publish(c2v_subject(vizier_id, topic), message.SerializeToString())

    async def _scripts_of_vizier(self, vizier_id: str) -> dict[str, cvmsgs.CronScript]:
        org_id = await self._directory.org_of(vizier_id)
        if org_id is None:
            return {}
        return await cron_scripts_for(self._store, self._catalog, org_id, vizier_id)

    # -- pushes to viziers -----------------------------------------------------------------

    def scripts_changed(self, org_id: uuid.UUID, script_ids: Iterable[uuid.UUID]) -> None:
        ids = sorted(set(script_ids))
        if not ids:
            return
        task = asyncio.get_running_loop().create_task(self._push(org_id, ids, time.time_ns()))
        self._pushes.add(task)
        task.add_done_callback(self._pushes.discard)

    async def _push(self, org_id: uuid.UUID, script_ids: list[uuid.UUID], stamp: int) -> None:
        try:
            viziers = await self._directory.viziers_of(org_id)
        except Exception:
            # The viziers' own checksum sync repairs what this push would have sent.
            _log.exception("cannot list the org's viziers; the push is skipped", org=str(org_id))
            return
        await asyncio.gather(
            *(self._push_to(org_id, vizier, script_ids, stamp) for vizier in viziers),
            return_exceptions=True,
        )

    async def _push_to(
        self, org_id: uuid.UUID, vizier_id: str, script_ids: list[uuid.UUID], stamp: int
    ) -> None:
        wanted = await cron_scripts_for(self._store, self._catalog, org_id, vizier_id)
        for script_id in script_ids:
            key = str(script_id)
            update = cvmsgs.CronScriptUpdate(request_id=str(uuid.uuid4()), timestamp=stamp)
            if key in wanted:
                update.upsert_req.script.CopyFrom(wanted[key])
            else:
                update.delete_req.script_id.CopyFrom(uuid_to_pb(script_id))
            await self._send_until_acked(vizier_id, update)

    async def _send_until_acked(self, vizier_id: str, update: cvmsgs.CronScriptUpdate) -> None:
        timings = self._timings
        client = self._bus.client
        ack_subject = v2c_subject(vizier_id, cronscripts.updates_response_topic(update.request_id))
        payload = cvmsgs.C2VMessage(vizier_id=vizier_id, msg=_pack(update)).SerializeToString()
        deadline = self._clock() + timings.give_up_seconds
        delay = timings.retry_initial_seconds
        subscription = await client.subscribe(ack_subject, max_msgs=1)
        try:
            while True:
                await client.publish(c2v_subject(vizier_id, cronscripts.UPDATES_TOPIC), payload)
                try:
                    await subscription.next_msg(timeout=timings.ack_seconds)
                    return
                except TimeoutError:
                    pass
                if self._clock() + delay > deadline:
                    _log.warning(
                        "vizier never acked a cron-script update; its checksum sync will repair",
                        vizier=vizier_id,
                        request_id=update.request_id,
                    )
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, timings.retry_max_seconds)
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
