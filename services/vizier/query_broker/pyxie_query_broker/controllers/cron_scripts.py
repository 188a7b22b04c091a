"""The cron-script runner (Pixie's `script_runner`): the vizier's scheduled PxL scripts.

Scripts live in the metadata service (`CronScriptStoreService`), so a restarted broker loads
them again and its schedules resume. The runner:

* loads the scripts at start (retrying until metadata answers) and re-reads them every
  `poll_seconds`, starting, restarting (changed script or frequency) or stopping schedules;
* with a bus, keeps the set in step with the cloud: a checksum request
  (`v2c.GetCronScriptsCheckSumRequest`), the full set on a mismatch (`SetScripts`), and the
  cloud's pushed changes (`c2v.CronScriptsUpdates`, acked on
  `v2c.CronScriptsUpdatesResponse:<request_id>`);
* runs each script every `frequency_s` through the broker's own executor with
  `configs.plugin_config{start = last run - 1 s, end = now}` and the script's OTel endpoint
  (its `configs` YAML: `otelEndpointConfig: {url, headers, insecure, timeout}`), then records
  the outcome (`RecordExecutionResult`): the error status (compile errors keep their line),
  or the execution stats.

Export headers (API keys) are only handed to the executor; they are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import grpc
import yaml
from google.protobuf.timestamp_pb2 import Timestamp
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.cloud import cronscripts
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2
from pyxie_proto.vizier.metadatapb import metadata_pb2 as mdpb
from pyxie_proto.vizier.metadatapb import metadata_pb2_grpc as mdpb_grpc
from pyxie_proto.vizier.subjects import c2v_subject, v2c_subject
from pyxie_service import BackgroundTask, NatsBus, ServiceError, get_logger

from pyxie_query_broker.controllers.executor import QueryExecutor

__all__ = ["CronScriptRunner", "parse_configs"]

_log = get_logger("pyxie.query_broker.cron_scripts")

_OK: Final = 0
_INVALID_ARGUMENT: Final = 3
_INTERNAL: Final = 13
_DEFAULT_EXPORT_TIMEOUT_S: Final = 5
_CLOUD_REPLY_TIMEOUT_S: Final = 10.0
_CLOUD_FULL_SET_TIMEOUT_S: Final = 120.0


def _uuid(value: Any) -> str:
    return str(uuid.UUID(int=(value.high_bits << 64) | value.low_bits))


def parse_configs(text: str) -> vpb.Configs.OTelEndpointConfig | None:
    """The OTel endpoint in a cron script's `configs` YAML (None when it names none).

    Raises ValueError with a message fit for the run history (no header values in it).
    """
    if not text.strip():
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ValueError("the script's configs are not valid YAML") from None
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("the script's configs must be a YAML mapping")
    endpoint = data.get("otelEndpointConfig")
    if endpoint is None:
        return None
    if not isinstance(endpoint, dict) or not isinstance(endpoint.get("url"), str):
        raise ValueError("configs.otelEndpointConfig needs a url string")
    headers = endpoint.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ValueError("configs.otelEndpointConfig.headers must map strings to strings")
    timeout = endpoint.get("timeout", _DEFAULT_EXPORT_TIMEOUT_S)
    if not isinstance(timeout, int) or timeout <= 0:
        raise ValueError("configs.otelEndpointConfig.timeout must be a positive integer")
    return vpb.Configs.OTelEndpointConfig(
        url=endpoint["url"],
        headers=headers,
        insecure=bool(endpoint.get("insecure", False)),
        timeout=timeout,
    )


@dataclass
class _Schedule:
    script: cvmsgs_pb2.CronScript
    task: asyncio.Task[None]


class CronScriptRunner:
    def __init__(
        self,
        executor: QueryExecutor,
        metadata_channel: grpc.aio.Channel,
        token: Callable[[], str],
        *,
        bus: NatsBus | None = None,
        poll_seconds: float = 30.0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._executor = executor
        self._store: Any = mdpb_grpc.CronScriptStoreServiceStub(metadata_channel)
        self._token = token
        self._bus = bus
        self._poll_seconds = poll_seconds
        self._clock = clock
        self._schedules: dict[str, _Schedule] = {}
        self._subscription: Subscription | None = None
        self._pending_acks: set[asyncio.Task[None]] = set()
        self.loaded = asyncio.Event()
        self.runs = 0
        self.task = BackgroundTask("cron-scripts", self._serve, restart=True)

    def _auth(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"bearer {self._token()}"),)

    # ------------------------------------------------------------ the set of scripts

    async def _load(self) -> dict[str, cvmsgs_pb2.CronScript]:
        response = await self._store.GetScripts(
            mdpb.GetScriptsRequest(), metadata=self._auth(), timeout=10
        )
        return dict(response.scripts)

    def scheduled(self) -> dict[str, cvmsgs_pb2.CronScript]:
        return {k: s.script for k, s in self._schedules.items()}

    def _apply(self, scripts: dict[str, cvmsgs_pb2.CronScript]) -> None:
        for script_id in list(self._schedules):
            if script_id not in scripts:
                self._schedules.pop(script_id).task.cancel()
                _log.info("cron script unscheduled", script_id=script_id)
        for script_id, script in scripts.items():
            current = self._schedules.get(script_id)
            if current is not None and current.script == script:
                continue
            if current is not None:
                current.task.cancel()
            task = asyncio.create_task(self._every(script_id, script), name=f"cron-{script_id}")
            self._schedules[script_id] = _Schedule(script, task)
            _log.info("cron script scheduled", script_id=script_id, frequency_s=script.frequency_s)

    async def _serve(self) -> None:
        try:
            while True:
                try:
                    self._apply(await self._load())
                    break
                except grpc.aio.AioRpcError as err:
                    _log.info("waiting for metadata's cron-script store", code=err.code().name)
                    await asyncio.sleep(1.0)
            self.loaded.set()
            if self._bus is not None:
                self._subscription = await self._bus.client.subscribe(
                    c2v_subject(cronscripts.UPDATES_TOPIC), cb=self._on_update
                )
            while True:
                if self._bus is not None:
                    try:
                        await self._sync_with_cloud()
                    except TimeoutError:
                        pass  # no cloud (a standalone vizier) or it is slow: next poll
                    except (grpc.aio.AioRpcError, NatsError, OSError, ValueError) as err:
                        _log.warning(
                            "cron script sync with the cloud failed", error=type(err).__name__
                        )
                await asyncio.sleep(self._poll_seconds)
                with contextlib.suppress(grpc.aio.AioRpcError):
                    self._apply(await self._load())
        finally:
            self.loaded.clear()
            if self._subscription is not None:
                with contextlib.suppress(Exception):
                    await self._subscription.unsubscribe()
                self._subscription = None
            for schedule in self._schedules.values():
                schedule.task.cancel()
            await asyncio.gather(
                *(s.task for s in self._schedules.values()), return_exceptions=True
            )
            self._schedules.clear()

    # ------------------------------------------------------------ cloud sync

    async def _ask_cloud(self, topic: str, message: Any, reply_topic: str, wait_s: float) -> Any:
        assert self._bus is not None
        client = self._bus.client
        reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def on_reply(msg: Msg) -> None:
            if not reply.done():
                reply.set_result(msg.data)

        subscription = await client.subscribe(c2v_subject(reply_topic), cb=on_reply)
        try:
            envelope = cvmsgs_pb2.V2CMessage()
            envelope.msg.Pack(message)
            await client.publish(v2c_subject(topic), envelope.SerializeToString())
            data = await asyncio.wait_for(reply, wait_s)
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        return cvmsgs_pb2.C2VMessage.FromString(data)

    async def _sync_with_cloud(self) -> None:
        topic = uuid.uuid4().hex
        answer = await self._ask_cloud(
            cronscripts.CHECKSUM_REQUEST_TOPIC,
            cvmsgs_pb2.GetCronScriptsChecksumRequest(topic=topic),
            cronscripts.checksum_response_topic(topic),
            _CLOUD_REPLY_TIMEOUT_S,
        )
        checksum = cvmsgs_pb2.GetCronScriptsChecksumResponse()
        if not answer.msg.Unpack(checksum):
            return
        local = await self._load()
        if checksum.checksum == cronscripts.cron_scripts_checksum(local):
            return
        topic = uuid.uuid4().hex
        answer = await self._ask_cloud(
            cronscripts.SCRIPTS_REQUEST_TOPIC,
            cvmsgs_pb2.GetCronScriptsRequest(topic=topic),
            cronscripts.scripts_response_topic(topic),
            _CLOUD_FULL_SET_TIMEOUT_S,
        )
        full = cvmsgs_pb2.GetCronScriptsResponse()
        if not answer.msg.Unpack(full):
            return
        await self._store.SetScripts(
            mdpb.SetScriptsRequest(scripts=dict(full.scripts)), metadata=self._auth(), timeout=10
        )
        self._apply(await self._load())
        _log.info("cron scripts synced from the cloud", count=len(full.scripts))

    async def _on_update(self, raw: Msg) -> None:
        update = cvmsgs_pb2.CronScriptUpdate()
        try:
            envelope = cvmsgs_pb2.C2VMessage.FromString(raw.data)
            if not envelope.msg.Unpack(update):
                raise ValueError("not a CronScriptUpdate")
        except Exception:
            _log.warning("dropping an undecodable cron script update")
            return
        response = cvmsgs_pb2.CronScriptUpdateResponse()
        try:
            if update.WhichOneof("msg") == "upsert_req":
                await self._store.AddOrUpdateScript(
                    mdpb.AddOrUpdateScriptRequest(script=update.upsert_req.script),
                    metadata=self._auth(),
                    timeout=10,
                )
                response.upsert_resp.SetInParent()
            elif update.WhichOneof("msg") == "delete_req":
                await self._store.DeleteScript(
                    mdpb.DeleteScriptRequest(script_id=update.delete_req.script_id),
                    metadata=self._auth(),
                    timeout=10,
                )
                response.delete_resp.SetInParent()
            else:
                return
            self._apply(await self._load())
        except grpc.aio.AioRpcError as err:
            _log.warning("cron script update not applied", code=err.code().name)
            return
        if self._bus is not None and update.request_id:
            ack = cvmsgs_pb2.V2CMessage()
            ack.msg.Pack(response)
            await self._bus.client.publish(
                v2c_subject(cronscripts.updates_response_topic(update.request_id)),
                ack.SerializeToString(),
            )

    # ------------------------------------------------------------ running

    async def _every(self, script_id: str, script: cvmsgs_pb2.CronScript) -> None:
        period_ns = script.frequency_s * 1_000_000_000
        last_run = self._clock() - period_ns
        while True:
            await asyncio.sleep(script.frequency_s)
            now = self._clock()
            try:
                await self.run_once(
                    script_id, script, start_ns=last_run - 1_000_000_000, end_ns=now
                )
            except asyncio.CancelledError:
                raise
            except Exception as err:  # one bad run must not end the schedule
                _log.warning(
                    "cron script run failed to record",
                    script_id=script_id,
                    error=type(err).__name__,
                )
            last_run = now

    async def run_once(
        self, script_id: str, script: cvmsgs_pb2.CronScript, *, start_ns: int, end_ns: int
    ) -> mdpb.RecordExecutionResultRequest:
        """Run the script once over [start_ns, end_ns] and record the outcome."""
        started = self._clock()
        record = mdpb.RecordExecutionResultRequest(
            script_id=script.id, timestamp=Timestamp(seconds=started // 1_000_000_000)
        )
        record.timestamp.FromNanoseconds(started)
        try:
            endpoint = parse_configs(script.configs)
        except ValueError as err:
            record.error.CopyFrom(vpb.Status(code=_INVALID_ARGUMENT, message=str(err)))
            endpoint = None
        if not record.HasField("error"):
            request = vpb.ExecuteScriptRequest(
                query_str=script.script,
                query_name=f"cron-script:{script_id}",
                configs=vpb.Configs(
                    plugin_config=vpb.Configs.PluginConfig(
                        start_time_ns=start_ns, end_time_ns=end_ns
                    )
                ),
            )
            if endpoint is not None:
                request.configs.otel_endpoint_config.CopyFrom(endpoint)
            await self._execute(request, record)
        self.runs += 1
        await self._store.RecordExecutionResult(record, metadata=self._auth(), timeout=10)
        outcome = record.error.message if record.HasField("error") else "ok"
        _log.info("cron script ran", script_id=script_id, outcome=outcome[:500])
        return record

    async def _execute(
        self, request: vpb.ExecuteScriptRequest, record: mdpb.RecordExecutionResultRequest
    ) -> None:
        stats = mdpb.CronScriptExecutionStats()
        try:
            async with contextlib.aclosing(self._executor.execute(request)) as responses:
                async for response in responses:
                    if response.status.code != _OK:
                        record.error.CopyFrom(response.status)
                        return
                    if response.HasField("data") and response.data.HasField("execution_stats"):
                        exec_stats = response.data.execution_stats
                        stats.execution_time_ns = exec_stats.timing.execution_time_ns
                        stats.compilation_time_ns = exec_stats.timing.compilation_time_ns
                        stats.bytes_processed = exec_stats.bytes_processed
                        stats.records_processed = exec_stats.records_processed
        except ServiceError as err:
            if not record.HasField("error"):
                record.error.CopyFrom(vpb.Status(code=err.code.value[0], message=err.message))
            return
        except Exception as err:
            record.error.CopyFrom(
                vpb.Status(code=_INTERNAL, message=f"the run failed: {type(err).__name__}")
            )
            return
        record.execution_stats.CopyFrom(stats)
