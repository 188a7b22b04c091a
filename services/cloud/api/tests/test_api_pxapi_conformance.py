"""The official, unmodified pxapi 0.9.0 against the api over TLS (fake vizier on real NATS).

The same checks script runs against the whole real stack in testing/compat/pxapi/run; here it
pins down the api's half of the contract without needing a vizier.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from pyxie_api.testing import VZ_A1, ApiHarness
from pyxie_testing.pxapi_env import pxapi_python

_CHECKS = Path(__file__).parents[4] / "testing" / "compat" / "pxapi" / "checks.py"


@pytest.mark.slow
@pytest.mark.parametrize("api", [{"tls": True}], indirect=True)
async def test_pxapi_passes_every_check_through_the_api(api: ApiHarness, tmp_path: Path) -> None:
    python = await asyncio.to_thread(pxapi_python)
    query = tmp_path / "rows.pxl"
    query.write_text("import px\npx.display(px.DataFrame('http_events'), 'http')\n")
    assert api.ca_file is not None
    process = await asyncio.create_subprocess_exec(
        str(python),
        str(_CHECKS),
        "--addr",
        api.address,
        "--ca",
        str(api.ca_file),
        "--api-key",
        api.key_a,
        "--cluster-id",
        VZ_A1,
        "--query-file",
        str(query),
        "--table",
        "http",
        "--expect-columns",
        "req_path",
        "resp_status",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    output, errors = await asyncio.wait_for(process.communicate(), 240)
    text = output.decode()
    assert process.returncode == 0, text + errors.decode()
    assert text.strip().splitlines()[-1] == "pxapi checks: 10/10 passed", text
