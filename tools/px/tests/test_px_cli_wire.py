"""px against a VizierService over real gRPC (a hand-written fake broker): token, encryption."""

from __future__ import annotations

import asyncio
import io
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pyarrow as pa
import pytest
from pyxie_cli import main
from pyxie_cli._target import CLI_SERVICE_ID, TargetError, mint_vizier_token
from pyxie_crypto import encrypt_compact
from pyxie_devstack.vizier_state import (
    VizierEndpoints,
    ensure_signing_key,
    signing_key_path,
    write_endpoints,
)
from pyxie_jwt import VIZIER_AUDIENCE, ServiceClaims, SigningKey, verify_token
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_types import Column, DataType, Relation
from pyxie_types.rowbatch import relation_to_vizier, row_batch_to_vizier

_RELATION = Relation.of(Column("req_path", DataType.STRING), Column("n", DataType.INT64))


class _FakeBroker(vpb_grpc.VizierServiceServicer):
    """Checks the bearer token like the broker's auth interceptor, answers one table."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key
        self.requests: list[vpb.ExecuteScriptRequest] = []
        self.subjects: list[str] = []

    async def ExecuteScript(
        self, request: vpb.ExecuteScriptRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[vpb.ExecuteScriptResponse]:
        auth = dict(context.invocation_metadata() or ()).get("authorization", "")
        claims = verify_token(auth.removeprefix("bearer "), self.key, audience=VIZIER_AUDIENCE)
        assert isinstance(claims, ServiceClaims)
        self.subjects.append(claims.service_id)
        self.requests.append(request)
        yield vpb.ExecuteScriptResponse(
            query_id="q",
            meta_data=vpb.QueryMetadata(
                name="Table", id="t1", relation=relation_to_vizier(_RELATION)
            ),
        )
        batch = pa.record_batch({"req_path": ["/api/products"], "n": pa.array([3], pa.int64())})
        data = row_batch_to_vizier(batch, _RELATION, "t1", eow=True, eos=True)
        if request.HasField("encryption_options"):
            jwk = request.encryption_options.jwk_key
            sealed = encrypt_compact(data.SerializeToString(), jwk)
            yield vpb.ExecuteScriptResponse(
                query_id="q", data=vpb.QueryData(encrypted_batch=sealed)
            )
        else:
            yield vpb.ExecuteScriptResponse(query_id="q", data=vpb.QueryData(batch=data))
        if "max_output_rows_per_table" in request.query_str:
            # As the broker does: the final message's OK status carries the truncation note.
            note = "result table(s) 'Table' reached max_output_rows_per_table=1"
            yield vpb.ExecuteScriptResponse(query_id="q", status=vpb.Status(code=0, message=note))


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PL_STATE_DIR", str(tmp_path))
    ensure_signing_key(tmp_path)
    return tmp_path


@pytest.fixture
def broker(stack_dir: Path) -> Iterator[_FakeBroker]:
    """The fake on port 0, served from its own event loop thread (px runs asyncio.run)."""
    servicer = _FakeBroker(SigningKey(signing_key_path(stack_dir).read_text()))
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()
    port: list[int] = []

    async def serve() -> None:
        server = grpc.aio.server()
        vpb_grpc.add_VizierServiceServicer_to_server(servicer, server)
        port.append(server.add_insecure_port("127.0.0.1:0"))
        await server.start()
        started.set()
        await stop.wait()
        await server.stop(None)

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10)
    write_endpoints(
        stack_dir,
        VizierEndpoints(
            broker=f"127.0.0.1:{port[0]}", metadata="-", kelvin="-", nats="-", nodes=()
        ),
    )
    yield servicer
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()


def test_default_target_is_the_local_stack_with_a_minted_service_token(
    broker: _FakeBroker,
) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["run", "px/http_data", "-o", "json"], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    row = json.loads(out.getvalue())
    assert row == {"_tableName": "Table", "req_path": "/api/products", "n": 3}
    assert broker.subjects == [CLI_SERVICE_ID]
    request = broker.requests[0]
    assert not request.HasField("encryption_options")
    assert [f.func_name for f in request.exec_funcs] == ["http_data"]
    # Not a TTY: no spinner frames on stderr.
    assert err.getvalue() == ""


def test_e2e_flag_asks_for_encrypted_batches_and_decrypts_them(broker: _FakeBroker) -> None:
    out = io.StringIO()
    code = main(["run", "px/http_data", "-o", "csv", "-e"], stdout=out, stderr=io.StringIO())
    assert code == 0
    assert broker.requests[0].encryption_options.key_alg == "RSA-OAEP-256"
    assert out.getvalue().splitlines() == ["_tableName,req_path,n", "Table,/api/products,3"]


def test_minted_token_is_refused_for_a_world_readable_key(stack_dir: Path) -> None:
    signing_key_path(stack_dir).chmod(0o644)
    with pytest.raises(TargetError, match="readable by others"):
        mint_vizier_token(stack_dir)


def test_signing_key_is_created_private_and_kept(tmp_path: Path) -> None:
    first = ensure_signing_key(tmp_path)
    assert signing_key_path(tmp_path).stat().st_mode & 0o777 == 0o600
    assert ensure_signing_key(tmp_path) == first and len(first) == 64


def test_a_truncation_note_on_an_ok_status_is_reported_on_stderr(
    broker: _FakeBroker, tmp_path: Path
) -> None:
    script = tmp_path / "cut.pxl"
    script.write_text("#px:set max_output_rows_per_table=1\nimport px\n")
    out, err = io.StringIO(), io.StringIO()
    assert main(["run", "-f", str(script), "-o", "json"], stdout=out, stderr=err) == 0
    assert len(out.getvalue().splitlines()) == 1
    assert err.getvalue() == ("note: result table(s) 'Table' reached max_output_rows_per_table=1\n")
