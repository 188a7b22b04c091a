"""Conformance checks of Pyxie's cloud against Pixie's UNMODIFIED official client, pxapi 0.9.0.

Runs inside the pxapi virtualenv (``pyxie_testing.pxapi_env``), never in the workspace: pxapi
pins its own grpcio/protobuf. It talks to the cloud api over TLS, trusting our local CA through
pxapi's own ``channel_fn`` / ``conn_channel_fn`` hooks (pixie-api-contract §1).

    python checks.py --addr localhost:51200 --ca ca.crt --api-key px-api-… \
        --cluster-id <uuid> --query-file rows.pxl --table http

Each check prints ``PASS <name>`` or ``FAIL <name>: <why>``; the last line is
``pxapi checks: <passed>/<total> passed``. Exit status 0 only when all passed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import traceback
from collections.abc import Callable
from typing import Any

import grpc
import pxapi
from pxapi.proto import vizierapi_pb2 as vpb
from pxapi.proto import vizierapi_pb2_grpc as vpb_grpc
from pxapi.utils import CryptoOptions, decode_row_batch

# A PxL script whose only error is the undefined name `aa` on line 2, column 9.
ERROR_SCRIPT = "import px\nx = 1 + aa\npx.display(px.DataFrame('http_events'))\n"
ERROR_LINE, ERROR_COLUMN = 2, 9


class Checks:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        with open(args.ca, "rb") as handle:
            ca = handle.read()
        self.creds = grpc.ssl_channel_credentials(root_certificates=ca)
        options = [("grpc.ssl_target_name_override", args.tls_name)] if args.tls_name else []
        self.options = options
        with open(args.query_file) as handle:
            self.query = handle.read()
        self.results: list[tuple[str, bool, str]] = []

    # -- pxapi exactly as a user sets it up for a private CA (contract §1) -----------------
    def client(self, *, encrypt: bool = False, key: str | None = None) -> pxapi.Client:
        return pxapi.Client(
            token=self.args.api_key if key is None else key,
            server_url=self.args.addr,
            use_encryption=encrypt,
            channel_fn=lambda url: grpc.secure_channel(url, self.creds, options=self.options),
            conn_channel_fn=lambda url: grpc.aio.secure_channel(
                url, self.creds, options=self.options
            ),
        )

    def check(self, name: str, fn: Callable[[], None]) -> None:
        # pxapi's run() uses the thread's current loop; an earlier asyncio.run() closed it.
        asyncio.set_event_loop(asyncio.new_event_loop())
        try:
            fn()
        except Exception as exc:  # a check that raises failed; say why
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.results.append((name, False, detail))
            print(f"FAIL {name}: {detail}", flush=True)
            return
        self.results.append((name, True, ""))
        print(f"PASS {name}", flush=True)

    # -- the checks ---------------------------------------------------------------------------
    def healthy_clusters(self) -> None:
        clusters = self.client().list_healthy_clusters()
        ids = [c.id for c in clusters]
        assert self.args.cluster_id in ids, f"{self.args.cluster_id} not in {ids}"
        ours = next(c for c in clusters if c.id == self.args.cluster_id)
        assert ours.name(), "cluster has no name"
        assert ours.info.config.passthrough_enabled

    def rows(self, encrypt: bool) -> Callable[[], None]:
        def run() -> None:
            conn = self.client(encrypt=encrypt).connect_to_cluster(self.args.cluster_id)
            script = conn.prepare_script(self.query)
            rows = list(script.results(self.args.table))
            assert rows, f"no rows in table {self.args.table}"
            first = rows[0]
            for column in self.args.expect_columns:
                first[column]  # KeyError if the relation lacks it

        return run

    def pxl_error(self) -> None:
        conn = self.client().connect_to_cluster(self.args.cluster_id)
        script = conn.prepare_script(ERROR_SCRIPT)
        try:
            script.run()
        except pxapi.PxLError as exc:
            text = str(exc)
        else:
            raise AssertionError("no PxLError for an undefined name")
        lines = text.splitlines()
        assert any(f"PxL, line {ERROR_LINE}," in line for line in lines), text
        source = ERROR_SCRIPT.splitlines()[ERROR_LINE - 1]
        index = next(i for i, line in enumerate(lines) if line.strip() == source.strip())
        caret = lines[index + 1].index("^") - (len(lines[index]) - len(lines[index].lstrip()))
        assert caret == ERROR_COLUMN - 1, (
            f"caret at column {caret + 1}, not {ERROR_COLUMN}:\n{text}"
        )
        assert source[caret : caret + 2] == "aa", text

    def by_name_and_callbacks(self) -> None:
        conn = self.client().connect_to_cluster(self.args.cluster_id)
        script = conn.prepare_script(self.query)
        seen: list[Any] = []
        script.add_callback(self.args.table, seen.append)
        script.run()
        assert seen, "callback never called"
        try:
            script.run()
        except ValueError as exc:
            assert "already executed" in str(exc), exc
        else:
            raise AssertionError("a second run() did not fail")

    def all_tables(self) -> None:
        conn = self.client().connect_to_cluster(self.args.cluster_id)
        script = conn.prepare_script(self.query)
        tables = script.subscribe_all_tables()
        names: list[str] = []

        async def consume() -> None:
            async for table in tables():
                names.append(table.table_name)
                async for _row in table:
                    pass

        async def main() -> None:
            await asyncio.gather(script.run_async(), consume())

        asyncio.run(main())
        assert self.args.table in names, names

    def missing_table(self) -> None:
        conn = self.client().connect_to_cluster(self.args.cluster_id)
        script = conn.prepare_script(self.query)
        subscription = script.subscribe("no_such_table_xyz")

        async def consume() -> None:
            async for _row in subscription:
                pass

        async def main() -> None:
            await asyncio.gather(script.run_async(), consume())

        try:
            asyncio.run(main())
        except ValueError as exc:
            assert "not received" in str(exc), exc
        else:
            raise AssertionError("a table that never came did not fail the run")

    def bad_key(self) -> None:
        try:
            self.client(key="px-api-00000000-0000-0000-0000-000000000000").list_healthy_clusters()
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.UNAUTHENTICATED, err.code()
        else:
            raise AssertionError("a bad key was accepted")

    def raw_stream(self, encrypt: bool) -> Callable[[], None]:
        """Contract §5 on the raw stream pxapi consumes (pxapi's own generated stubs)."""

        def run() -> None:
            request = vpb.ExecuteScriptRequest(
                query_str=self.query, cluster_id=self.args.cluster_id
            )
            crypto = CryptoOptions() if encrypt else None
            if crypto is not None:
                request.encryption_options.CopyFrom(crypto.encrypt_options())
            responses = asyncio.run(self._collect(request))
            check_stream(responses, crypto)

        return run

    async def _collect(self, request: vpb.ExecuteScriptRequest) -> list[vpb.ExecuteScriptResponse]:
        async with grpc.aio.secure_channel(self.args.addr, self.creds, options=self.options) as ch:
            stub = vpb_grpc.VizierServiceStub(ch)
            metadata = [("pixie-api-key", self.args.api_key), ("pixie-api-client", "python")]
            return [r async for r in stub.ExecuteScript(request, metadata=metadata)]

    def run_all(self) -> int:
        self.check("list_healthy_clusters returns the vizier", self.healthy_clusters)
        self.check("rows arrive through the cloud", self.rows(encrypt=False))
        self.check("rows arrive end-to-end encrypted (use_encryption=True)", self.rows(True))
        self.check("PxL error raises PxLError with the caret at the column", self.pxl_error)
        self.check("callbacks per row; a second run fails", self.by_name_and_callbacks)
        self.check("subscribe_all_tables yields the table by name", self.all_tables)
        self.check("a table that never arrives fails the run", self.missing_table)
        self.check("a bad API key is refused", self.bad_key)
        self.check("stream order and flags (contract §5)", self.raw_stream(encrypt=False))
        self.check("encrypted stream: only batches sealed (contract §3/§5)", self.raw_stream(True))
        passed = sum(1 for _, ok, _ in self.results if ok)
        print(f"pxapi checks: {passed}/{len(self.results)} passed", flush=True)
        return 0 if passed == len(self.results) else 1


def check_stream(responses: list[vpb.ExecuteScriptResponse], crypto: CryptoOptions | None) -> None:
    """Metadata before data, one eos per table, one stats message after every eos, …"""
    assert responses, "empty stream"
    assert all(r.status.code == 0 for r in responses), "error status in a good query"
    query_ids = {r.query_id for r in responses}
    assert len(query_ids) == 1 and "" not in query_ids, f"query ids {query_ids}"
    tables: dict[str, vpb.Relation] = {}
    eos: dict[str, int] = {}
    stats = 0
    seen_data = False
    for response in responses:
        kind = response.WhichOneof("result")
        if kind == "meta_data":
            assert not seen_data, "metadata after data"
            assert response.meta_data.name and response.meta_data.id
            tables[response.meta_data.id] = response.meta_data.relation
            continue
        assert kind == "data", f"unexpected response {kind}"
        seen_data = True
        data = response.data
        if data.HasField("execution_stats"):
            assert not data.HasField("batch") and not data.encrypted_batch, "stats share a message"
            stats += 1
            assert set(eos) == set(tables), "stats before every table's eos"
            continue
        assert stats == 0, "data after the execution stats"
        if crypto is not None:
            assert data.encrypted_batch and not data.HasField("batch"), "plain batch when sealed"
            batch = decode_row_batch(crypto, data.encrypted_batch)
        else:
            assert not data.encrypted_batch, "encrypted data on an unencrypted request"
            batch = data.batch
        assert batch.table_id in tables, f"data for unknown table {batch.table_id}"
        relation = tables[batch.table_id]
        assert len(batch.cols) == len(relation.columns), "column count differs from relation"
        for column, info in zip(batch.cols, relation.columns, strict=True):
            variant = column.WhichOneof("col_data")
            assert variant == _VARIANT[info.column_type], f"{info.column_name}: {variant}"
            length = len(getattr(column, variant).data)
            assert length == batch.num_rows, f"{info.column_name}: {length} != {batch.num_rows}"
        if batch.eos:
            eos[batch.table_id] = eos.get(batch.table_id, 0) + 1
    assert tables, "no table metadata"
    assert stats == 1, f"{stats} execution stats messages"
    assert all(eos.get(t) == 1 for t in tables), f"eos per table {eos}"


_VARIANT = {
    vpb.BOOLEAN: "boolean_data",
    vpb.INT64: "int64_data",
    vpb.UINT128: "uint128_data",
    vpb.TIME64NS: "time64ns_data",
    vpb.FLOAT64: "float64_data",
    vpb.STRING: "string_data",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--tls-name", default="")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--cluster-id", required=True)
    parser.add_argument("--query-file", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--expect-columns", nargs="*", default=[])
    args = parser.parse_args()
    return Checks(args).run_all()


if __name__ == "__main__":
    sys.exit(main())
