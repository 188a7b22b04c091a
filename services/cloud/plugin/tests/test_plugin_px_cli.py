"""`px plugin` and `px retention-script` against the real api (TLS) and plugin service."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
from pyxie_api.testing import DOMAIN, ORG_A, USER_A, running_api
from pyxie_cli.main import main as px
from pyxie_jwt import AccessScope, SigningKey
from pyxie_plugin.testing import running_plugin

SECRET = "sk-from-env-8e9f0a"


async def _px(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    # px's gRPC calls block; the servers run on this event loop.
    code = await asyncio.to_thread(px, list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


async def test_px_enables_the_plugin_and_manages_retention_scripts(
    fresh_database: str,
    nats_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = SigningKey.generate()
    monkeypatch.setenv("PX_CONFIG_DIR", str(tmp_path / "px"))
    monkeypatch.setenv("OTLP_KEY", SECRET)
    async with (
        running_plugin(
            fresh_database, nats_server.url, cloud_key=key, jwt_audience=DOMAIN
        ) as plugin,
        running_api(
            nats_server.url,
            key.reveal_text(),
            tls_ca_dir=tmp_path / "ca",
            plugin_addr=plugin.address,
        ) as api,
    ):
        ca = str(api.ca_file)
        where = ("--cloud-addr", api.address, "--ca-cert", ca)
        assert (await _px("auth", "login", "--api-key", api.key_a, *where))[0] == 0
        code, out, err = await _px("plugin", "list")
        assert code == 0, err
        assert out.splitlines()[1].split()[:4] == ["otel", "OpenTelemetry", "1.0.0", "no"]
        code, out, err = await _px(
            "plugin", "enable", "otel", "--export-url", "localhost:4317", "--insecure",
            "--header-env", "api-key=OTLP_KEY",
        )  # fmt: skip
        assert (code, out) == (0, "Plugin otel enabled; 3 retention script(s)\n"), err
        code, out, _ = await _px("plugin", "config", "otel")
        assert "header api-key: ********" in out and SECRET not in out
        pxl = tmp_path / "mine.pxl"
        pxl.write_text("import px\ndf = px.DataFrame('http_events')\n")
        code, out, err = await _px(
            "retention-script", "create", "--name", "mine", "-f", str(pxl), "--frequency", "30"
        )
        assert code == 0, err
        script_id = out.split()[-1]
        code, out, _ = await _px("retention-script", "list", "-o", "json")
        rows = {r["name"]: r for r in map(json.loads, out.splitlines())}
        assert set(rows) == {"HTTP metrics", "HTTP spans", "Process metrics", "mine"}
        assert rows["mine"]["frequencyS"] == 30 and rows["mine"]["preset"] == "no"
        code, _, err = await _px("retention-script", "update", script_id, "--disable")
        assert code == 0, err
        code, out, _ = await _px("retention-script", "show", script_id)
        assert "enabled: no" in out and "px.DataFrame('http_events')" in out
        # Bad input and unknown ids: a clear message, exit 1.
        code, _, err = await _px("retention-script", "update", script_id, "--frequency", "0")
        assert code == 1 and "INVALID_ARGUMENT: frequency_s" in err
        code, _, err = await _px("retention-script", "delete", "not-an-id")
        assert code == 1 and "is not an id" in err
        assert (await _px("retention-script", "delete", script_id))[0] == 0
        # A read-only key is refused on changes.
        reader = api.auth.add_api_key(ORG_A, USER_A, scope=AccessScope.READ_ONLY)
        assert (await _px("auth", "login", "--api-key", reader, *where))[0] == 0
        code, _, err = await _px("plugin", "disable", "otel")
        assert code == 1 and "PERMISSION_DENIED" in err
        assert (await _px("auth", "login", "--api-key", api.key_a, *where))[0] == 0
        code, out, _ = await _px("plugin", "disable", "otel")
        assert code == 0
        code, out, _ = await _px("retention-script", "list")
        assert out.splitlines()[1:] == []
