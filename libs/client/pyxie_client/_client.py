"""An asyncio client for ``px.api.vizierpb.VizierService`` (a query broker or the cloud api)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import grpc
import pyarrow as pa
from pyxie_crypto import decrypt_compact, generate_rsa_private_key, rsa_public_jwk
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_types import Relation
from pyxie_types.rowbatch import relation_from_vizier, row_batch_from_vizier

from ._errors import ClientError, CompilerErrorDetail, PxLError, ScriptError

__all__ = ["ExecStats", "ScriptResult", "VizierClient"]

# Result batches of wide tables can exceed gRPC's 4 MiB default; the broker caps its messages.
_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# A fresh key per run, as pxapi does; 2048 bits keeps the per-query cost low on a CLI.
_RSA_BITS = 2048


# Pause between runs of a pxtrace script whose tracepoints are still deploying.
_MUTATION_RETRY_S = 2.0


@dataclass
class ExecStats:
    execution_time_ns: int = 0
    compilation_time_ns: int = 0
    bytes_processed: int = 0
    records_processed: int = 0


@dataclass
class ScriptResult:
    query_id: str = ""
    tables: dict[str, pa.Table] = field(default_factory=dict)
    relations: dict[str, Relation] = field(default_factory=dict)
    stats: ExecStats = field(default_factory=ExecStats)
    wall_time_s: float = 0.0
    # Tables whose stream ended without eos (should not happen on a healthy vizier).
    incomplete: list[str] = field(default_factory=list)
    # The last progress report of a pxtrace script's tracepoints (None for other scripts).
    mutation: vpb.MutationInfo | None = None


def _raise_for_status(status: vpb.Status, query: str) -> None:
    if status.code == 0:
        return
    details = [
        CompilerErrorDetail(
            d.compiler_error.line, d.compiler_error.column, d.compiler_error.message
        )
        for d in status.error_details
        if d.HasField("compiler_error")
    ]
    if details:
        raise PxLError(status.code, status.message, details, query)
    raise ScriptError(status.code, status.message)


class VizierClient:
    """Runs PxL scripts and returns Arrow tables.

    ``address`` is host:port of a VizierService. Credentials: ``api_key`` (sent as
    ``pixie-api-key``, like pxapi) or ``token`` (``authorization: bearer``). ``root_ca`` turns on
    TLS. With ``encrypt`` every row batch travels JWE-encrypted to a fresh key of this run.
    """

    def __init__(
        self,
        address: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        root_ca: bytes | None = None,
        tls_server_name: str | None = None,
        cluster_id: str = "",
        encrypt: bool = False,
    ) -> None:
        self._address = address
        self._metadata: list[tuple[str, str]] = [("pixie-api-client", "pyxie")]
        if api_key:
            self._metadata.append(("pixie-api-key", api_key))
        if token:
            self._metadata.append(("authorization", f"bearer {token}"))
        self._root_ca = root_ca
        self._tls_server_name = tls_server_name
        self._cluster_id = cluster_id
        self._encrypt = encrypt

    def _channel(self) -> grpc.aio.Channel:
        options: list[tuple[str, int | str]] = [
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
        ]
        if self._root_ca is None:
            return grpc.aio.insecure_channel(self._address, options=options)
        if self._tls_server_name:
            options.append(("grpc.ssl_target_name_override", self._tls_server_name))
        creds = grpc.ssl_channel_credentials(root_certificates=self._root_ca)
        return grpc.aio.secure_channel(self._address, creds, options=options)

    async def stream(
        self,
        pxl: str,
        *,
        exec_funcs: Sequence[vpb.ExecuteScriptRequest.FuncToExecute] = (),
        query_name: str = "",
    ) -> AsyncIterator[vpb.ExecuteScriptResponse]:
        """The raw response stream, with batches decrypted; raises on a non-OK status."""
        request = vpb.ExecuteScriptRequest(
            query_str=pxl,
            cluster_id=self._cluster_id,
            exec_funcs=exec_funcs,
            query_name=query_name,
            # As Pixie's CLI: a script that uses pxtrace deploys tracepoints.
            mutation="pxtrace" in pxl,
        )
        private_key = None
        if self._encrypt:
            private_key = generate_rsa_private_key(_RSA_BITS)
            request.encryption_options.CopyFrom(
                vpb.ExecuteScriptRequest.EncryptionOptions(
                    jwk_key=rsa_public_jwk(private_key.public_key()),
                    key_alg="RSA-OAEP-256",
                    content_alg="A256GCM",
                    compression_alg="DEF",
                )
            )
        async with self._channel() as channel:
            stub = vpb_grpc.VizierServiceStub(channel)
            call = stub.ExecuteScript(request, metadata=self._metadata)
            try:
                async for response in call:
                    _raise_for_status(response.status, pxl)
                    if response.HasField("data") and response.data.encrypted_batch:
                        if private_key is None:
                            raise ClientError("received encrypted data on an unencrypted request")
                        plain = decrypt_compact(response.data.encrypted_batch, private_key)
                        response.data.batch.ParseFromString(plain)
                        response.data.encrypted_batch = b""
                    yield response
            except grpc.aio.AioRpcError as err:
                raise ScriptError(err.code().value[0], err.details() or str(err)) from err

    async def execute(
        self,
        pxl: str,
        *,
        exec_funcs: Sequence[vpb.ExecuteScriptRequest.FuncToExecute] = (),
        mutation_wait_s: float = 120.0,
    ) -> ScriptResult:
        """Run ``pxl`` to completion and collect every output table.

        A pxtrace script whose tracepoints are still deploying when the broker stops waiting
        (its last MutationInfo is UNAVAILABLE) is run again, as Pixie's CLI does, for up to
        ``mutation_wait_s`` seconds.
        """
        deadline = time.monotonic() + mutation_wait_s
        while True:
            result = await self._execute_once(pxl, exec_funcs)
            pending = result.mutation is not None and result.mutation.status.code != 0
            if not pending or time.monotonic() >= deadline:
                return result
            await asyncio.sleep(_MUTATION_RETRY_S)

    async def _execute_once(
        self, pxl: str, exec_funcs: Sequence[vpb.ExecuteScriptRequest.FuncToExecute]
    ) -> ScriptResult:
        started = time.perf_counter()
        result = ScriptResult()
        names: dict[str, str] = {}
        batches: dict[str, list[pa.RecordBatch]] = {}
        ended: set[str] = set()
        async for response in self.stream(pxl, exec_funcs=exec_funcs):
            result.query_id = response.query_id or result.query_id
            if response.HasField("mutation_info"):
                result.mutation = response.mutation_info
            if response.HasField("meta_data"):
                meta = response.meta_data
                names[meta.id] = meta.name
                result.relations[meta.name] = relation_from_vizier(meta.relation)
                batches[meta.name] = []
            elif response.HasField("data"):
                data = response.data
                if data.HasField("batch"):
                    name = names.get(data.batch.table_id)
                    if name is None:
                        raise ClientError(f"data for unknown table id {data.batch.table_id}")
                    batches[name].append(row_batch_from_vizier(data.batch, result.relations[name]))
                    if data.batch.eos:
                        ended.add(name)
                if data.HasField("execution_stats"):
                    s = data.execution_stats
                    result.stats = ExecStats(
                        s.timing.execution_time_ns,
                        s.timing.compilation_time_ns,
                        s.bytes_processed,
                        s.records_processed,
                    )
        for name, relation in result.relations.items():
            result.tables[name] = pa.Table.from_batches(
                batches[name], schema=relation.arrow_schema()
            )
            if name not in ended:
                result.incomplete.append(name)
        result.wall_time_s = time.perf_counter() - started
        return result

    async def health_check(self) -> vpb.Status:
        async with self._channel() as channel:
            stub = vpb_grpc.VizierServiceStub(channel)
            call = stub.HealthCheck(
                vpb.HealthCheckRequest(cluster_id=self._cluster_id), metadata=self._metadata
            )
            async for response in call:
                call.cancel()
                return response.status
        raise ClientError("health check stream ended without a status")
