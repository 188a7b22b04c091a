"""Pixie's official client (pxapi 0.9.0, in its own venv) against the broker directly.

pxapi normally reaches a vizier through a cloud (`GetClusterInfo`), so the test builds pxapi's
`Conn` itself with a channel hook that adds the broker's `authorization: bearer` header, then
runs scripts with pxapi's own executor: rows come back decrypted (pxapi asks for JWE), and a
compile error raises pxapi's `PxLError` with the caret rendered from our line/column.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest
from pyxie_query_broker.testing import (
    Vizier,
    service_token,
    start_demo_pem,
)
from pyxie_testing.pxapi_env import run_in_pxapi

StartVizier = Callable[..., Awaitable[Vizier]]

PXAPI_PROGRAM = """
import json
import sys

import grpc
from pxapi.client import Conn

ADDRESS, TOKEN, SCRIPT, BROKEN = json.loads(sys.stdin.read())


class BearerToken(grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation, details, request):
        metadata = details.metadata
        if metadata is None:
            metadata = grpc.aio.Metadata()
        elif not isinstance(metadata, grpc.aio.Metadata):
            metadata = grpc.aio.Metadata(*metadata)
        metadata.add("authorization", "bearer " + TOKEN)
        details = grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials,
            details.wait_for_ready,
        )
        return await continuation(details, request)


def channel(url):
    return grpc.aio.insecure_channel(url, interceptors=[BearerToken()])


conn = Conn("unused-api-key", ADDRESS, "c1", use_encryption=True, channel_fn=channel)
rows = [
    [row["service"].decode(), row["n"]]
    for row in conn.prepare_script(SCRIPT).results("per_service")
]
try:
    conn.prepare_script(BROKEN).run()
    error = None
except Exception as exc:
    error = [type(exc).__name__, str(exc)]
print(json.dumps({"rows": rows, "error": error}))
"""

SCRIPT = """import px
df = px.DataFrame('demo_events')
px.display(df.groupby('service').agg(n=('latency', px.count)), 'per_service')
"""
BROKEN = "import px\ndf = px.DataFrame('demo_events')\npx.display(nope)\n"


@pytest.mark.slow
async def test_pxapi_reads_encrypted_rows_and_renders_compile_errors_with_a_caret(
    start_vizier: StartVizier,
) -> None:
    vizier = await start_vizier()
    pem = await start_demo_pem(vizier, 12)
    stdin = json.dumps([vizier.address, service_token(vizier.key), SCRIPT, BROKEN]).encode()
    try:
        # The subprocess blocks; the broker and agent keep running on this event loop.
        output = await asyncio.to_thread(run_in_pxapi, PXAPI_PROGRAM, stdin, 240)
    finally:
        await pem.stop()
    result = json.loads(output)
    assert sorted(result["rows"]) == [["svc-0", 4], ["svc-1", 4], ["svc-2", 4]]
    kind, message = result["error"]
    assert kind == "PxLError"
    assert message == (
        "cluster: c1\n  PxL, line 3, name 'nope' is not defined\n    px.display(nope)\n"
        "               ^    "  # pxapi pads the caret line to the source line's length
    )
