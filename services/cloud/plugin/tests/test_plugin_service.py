"""PluginService through its generated stub against the real service on real PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import psycopg
import pytest
from google.protobuf import wrappers_pb2
from pyxie_crypto import AtRestCipher, DataKey
from pyxie_jwt import SigningKey
from pyxie_plugin.controllers import MASK, OPENTELEMETRY_PLUGIN_ID
from pyxie_plugin.testing import Credentials, PluginCloud, enable_otel_plugin, script_ids
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.uuidpb import uuid_pb2

SECRET = "sk-live-7f3a9c0e1d2b4a6f"
URL = "otel-collector.example.com:4317"


def _pb(text: str) -> uuid_pb2.UUID:
    value = uuid.UUID(text).int
    return uuid_pb2.UUID(high_bits=value >> 64, low_bits=value & ((1 << 64) - 1))


async def _code(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value.code()


async def _enable(cloud: PluginCloud, org: uuid.UUID) -> list[cpb.RetentionScript]:
    return await enable_otel_plugin(
        cloud.channel, cloud.creds.user(org), export_url=URL, headers={"api-key": SECRET}
    )


def _create(name: str = "custom", **fields: Any) -> cpb.CreateRetentionScriptRequest:
    values: dict[str, Any] = {
        "script_name": name,
        "description": "mine",
        "frequency_s": 30,
        "contents": "import px\npx.display(px.DataFrame('http_events'))\n",
        "plugin_id": OPENTELEMETRY_PLUGIN_ID,
    }
    values.update(fields)
    return cpb.CreateRetentionScriptRequest(**values)


async def test_get_plugins_lists_opentelemetry_and_shows_it_enabled_after_enable(
    cloud: PluginCloud,
) -> None:
    org = uuid.uuid4()
    listed = await cloud.stub.GetPlugins(cpb.GetPluginsRequest(), metadata=cloud.creds.user(org))
    (otel,) = [p for p in listed.plugins if p.id == OPENTELEMETRY_PLUGIN_ID]
    assert otel.name == "OpenTelemetry" and otel.retention_supported
    assert not otel.retention_enabled and otel.enabled_version == ""
    assert otel.latest_version == "1.0.0" and otel.logo.startswith("<svg")
    info = await cloud.stub.GetRetentionPluginInfo(
        cpb.GetRetentionPluginInfoRequest(plugin_id=OPENTELEMETRY_PLUGIN_ID),
        metadata=cloud.creds.user(org),
    )
    assert info.allow_custom_export_url and "api-key" in info.configs

    scripts = await _enable(cloud, org)
    assert sorted(s.script_name for s in scripts) == [
        "HTTP metrics",
        "HTTP spans",
        "Process metrics",
    ]
    assert all(s.is_preset and s.enabled and s.frequency_s == 10 for s in scripts)
    listed = await cloud.stub.GetPlugins(
        cpb.GetPluginsRequest(kind=cpb.PK_RETENTION), metadata=cloud.creds.user(org)
    )
    (otel,) = [p for p in listed.plugins if p.id == OPENTELEMETRY_PLUGIN_ID]
    assert otel.retention_enabled and otel.enabled_version == "1.0.0"


async def test_org_config_answers_masked_secrets_and_a_mask_sent_back_keeps_them(
    cloud: PluginCloud,
) -> None:
    org = uuid.uuid4()
    await _enable(cloud, org)
    config = await cloud.stub.GetOrgRetentionPluginConfig(
        cpb.GetOrgRetentionPluginConfigRequest(plugin_id=OPENTELEMETRY_PLUGIN_ID),
        metadata=cloud.creds.user(org),
    )
    assert dict(config.configs) == {"api-key": MASK}
    assert config.custom_export_url == URL and config.insecure_tls
    assert SECRET not in str(config)
    # Round-trip the masked config plus a new header: the stored secret stays.
    await cloud.stub.UpdateRetentionPluginConfig(
        cpb.UpdateRetentionPluginConfigRequest(
            plugin_id=OPENTELEMETRY_PLUGIN_ID, configs={"api-key": MASK, "x-team": "blue"}
        ),
        metadata=cloud.creds.user(org),
    )
    with psycopg.connect(cloud.dsn) as conn:
        row = conn.execute("SELECT configurations FROM org_retention_plugins").fetchone()
    assert row is not None
    envelope = row[0]

    cipher = AtRestCipher(DataKey.from_base64(cloud.plugin.database_key))
    aad = f"org_retention_plugins/{org}/{OPENTELEMETRY_PLUGIN_ID}/configurations".encode()
    assert cipher.decrypt(bytes(envelope), aad) == (
        b'{"api-key": "' + SECRET.encode() + b'", "x-team": "blue"}'
    )
    # A mask for a key that has no stored value is refused, not stored as the secret.
    assert (
        await _code(
            cloud.stub.UpdateRetentionPluginConfig(
                cpb.UpdateRetentionPluginConfigRequest(
                    plugin_id=OPENTELEMETRY_PLUGIN_ID, configs={"authorization": MASK}
                ),
                metadata=cloud.creds.user(org),
            )
        )
        == grpc.StatusCode.INVALID_ARGUMENT
    )


async def test_secrets_are_encrypted_at_rest_and_bound_to_their_row(cloud: PluginCloud) -> None:
    org_a, org_b = uuid.uuid4(), uuid.uuid4()
    await _enable(cloud, org_a)
    await _enable(cloud, org_b)
    await cloud.stub.CreateRetentionScript(
        _create(export_url="https://user:pw-9d8e7f@collector.example.com:4318"),
        metadata=cloud.creds.user(org_a),
    )
    with psycopg.connect(cloud.dsn) as conn:
        dump = b"".join(
            bytes(str(row), "utf-8")
            for table in ("org_retention_plugins", "retention_scripts")
            for row in conn.execute(f"SELECT * FROM {table}").fetchall()
        )
        assert SECRET.encode() not in dump and b"pw-9d8e7f" not in dump
        assert URL.encode() not in dump
        # Move org A's encrypted headers into org B's row: it must not open there.
        conn.execute(
            "UPDATE org_retention_plugins SET configurations = "
            "(SELECT configurations FROM org_retention_plugins WHERE org_id = %s) "
            "WHERE org_id = %s",
            (org_a, org_b),
        )
    assert (
        await _code(
            cloud.stub.GetOrgRetentionPluginConfig(
                cpb.GetOrgRetentionPluginConfigRequest(plugin_id=OPENTELEMETRY_PLUGIN_ID),
                metadata=cloud.creds.user(org_b),
            )
        )
        == grpc.StatusCode.INTERNAL
    )


async def test_secrets_never_appear_in_logs_or_answers(
    cloud: PluginCloud, capfd: pytest.CaptureFixture[str]
) -> None:
    org = uuid.uuid4()
    await _enable(cloud, org)
    created = await cloud.stub.CreateRetentionScript(
        _create(export_url="https://user:pw-9d8e7f@collector.example.com:4318"),
        metadata=cloud.creds.user(org),
    )
    answers = [
        await cloud.stub.GetRetentionScript(
            cpb.GetRetentionScriptRequest(id=created.id), metadata=cloud.creds.user(org)
        ),
        await cloud.stub.GetRetentionScripts(
            cpb.GetRetentionScriptsRequest(), metadata=cloud.creds.user(org)
        ),
        await cloud.stub.GetOrgRetentionPluginConfig(
            cpb.GetOrgRetentionPluginConfigRequest(plugin_id=OPENTELEMETRY_PLUGIN_ID),
            metadata=cloud.creds.user(org),
        ),
    ]
    assert answers[0].export_url == f"https://user:{MASK}@collector.example.com:4318"
    # A bad header value is refused without quoting it.
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await cloud.stub.UpdateRetentionPluginConfig(
            cpb.UpdateRetentionPluginConfigRequest(
                plugin_id=OPENTELEMETRY_PLUGIN_ID, configs={"api-key": SECRET + "\r\nx: y"}
            ),
            metadata=cloud.creds.user(org),
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    out, err = capfd.readouterr()
    for text in (out, err, info.value.details() or "", *map(str, answers)):
        assert SECRET not in text and "pw-9d8e7f" not in text
    assert "plugin.enable" in out + err  # the audit line was written (without the secret)


async def test_org_a_never_sees_or_touches_org_b_plugins_and_scripts(cloud: PluginCloud) -> None:
    org_a, org_b = uuid.uuid4(), uuid.uuid4()
    scripts_a = await _enable(cloud, org_a)
    a_id = scripts_a[0].script_id
    b = cloud.creds.user(org_b)
    listed = await cloud.stub.GetRetentionScripts(cpb.GetRetentionScriptsRequest(), metadata=b)
    assert list(listed.scripts) == []
    plugins = await cloud.stub.GetPlugins(cpb.GetPluginsRequest(), metadata=b)
    assert not any(p.retention_enabled for p in plugins.plugins)
    for call in (
        cloud.stub.GetRetentionScript(cpb.GetRetentionScriptRequest(id=a_id), metadata=b),
        cloud.stub.DeleteRetentionScript(cpb.DeleteRetentionScriptRequest(id=a_id), metadata=b),
        cloud.stub.UpdateRetentionScript(
            cpb.UpdateRetentionScriptRequest(id=a_id, enabled=wrappers_pb2.BoolValue(value=False)),
            metadata=b,
        ),
        cloud.stub.GetOrgRetentionPluginConfig(
            cpb.GetOrgRetentionPluginConfigRequest(plugin_id=OPENTELEMETRY_PLUGIN_ID), metadata=b
        ),
    ):
        assert await _code(call) == grpc.StatusCode.NOT_FOUND
    # Org B's API key through the gateway fares no better.
    gateway_b = cloud.creds.gateway(cloud.creds.api_key(org_b))
    assert (
        await _code(
            cloud.stub.GetRetentionScript(
                cpb.GetRetentionScriptRequest(id=a_id), metadata=gateway_b
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )
    # Org A's script is untouched.
    still = await cloud.stub.GetRetentionScript(
        cpb.GetRetentionScriptRequest(id=a_id), metadata=cloud.creds.user(org_a)
    )
    assert still.script.enabled


async def test_read_only_key_reads_but_cannot_change_anything(cloud: PluginCloud) -> None:
    org = uuid.uuid4()
    scripts = await _enable(cloud, org)
    reader = cloud.creds.gateway(cloud.creds.api_key(org, read_only=True))
    listed = await cloud.stub.GetRetentionScripts(cpb.GetRetentionScriptsRequest(), metadata=reader)
    assert len(listed.scripts) == 3
    target = scripts[0].script_id
    for call in (
        cloud.stub.UpdateRetentionPluginConfig(
            cpb.UpdateRetentionPluginConfigRequest(
                plugin_id=OPENTELEMETRY_PLUGIN_ID, enabled=wrappers_pb2.BoolValue(value=False)
            ),
            metadata=reader,
        ),
        cloud.stub.CreateRetentionScript(_create(), metadata=reader),
        cloud.stub.UpdateRetentionScript(
            cpb.UpdateRetentionScriptRequest(
                id=target, enabled=wrappers_pb2.BoolValue(value=False)
            ),
            metadata=reader,
        ),
        cloud.stub.DeleteRetentionScript(
            cpb.DeleteRetentionScriptRequest(id=target), metadata=reader
        ),
    ):
        assert await _code(call) == grpc.StatusCode.PERMISSION_DENIED
    after = await cloud.stub.GetRetentionScripts(
        cpb.GetRetentionScriptsRequest(), metadata=cloud.creds.user(org)
    )
    assert len(after.scripts) == 3 and all(s.enabled for s in after.scripts)


async def test_cluster_limited_key_sees_and_edits_only_its_clusters(cloud: PluginCloud) -> None:
    org, cluster, other = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4())
    await _enable(cloud, org)
    admin = cloud.creds.user(org)
    mine = await cloud.stub.CreateRetentionScript(
        _create("mine", cluster_ids=[_pb(cluster)]), metadata=admin
    )
    await cloud.stub.CreateRetentionScript(
        _create("theirs", cluster_ids=[_pb(other)]), metadata=admin
    )
    limited = cloud.creds.api_key(org, clusters=[cluster])
    listed = await cloud.stub.GetRetentionScripts(
        cpb.GetRetentionScriptsRequest(), metadata=limited
    )
    assert script_ids(listed.scripts) == script_ids([cpb.RetentionScript(script_id=mine.id)])
    # It cannot widen a script to every cluster, nor create one for all clusters.
    assert (
        await _code(cloud.stub.CreateRetentionScript(_create("all"), metadata=limited))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert (
        await _code(
            cloud.stub.UpdateRetentionScript(
                cpb.UpdateRetentionScriptRequest(id=mine.id), metadata=limited
            )
        )
        == grpc.StatusCode.PERMISSION_DENIED
    )


async def test_gateway_calls_need_a_valid_caller_token(cloud: PluginCloud) -> None:
    org = uuid.uuid4()
    ok = await cloud.stub.GetPlugins(
        cpb.GetPluginsRequest(), metadata=cloud.creds.gateway(cloud.creds.user(org))
    )
    assert ok.plugins
    assert (
        await _code(
            cloud.stub.GetPlugins(cpb.GetPluginsRequest(), metadata=cloud.creds.service_only())
        )
        == grpc.StatusCode.UNAUTHENTICATED
    )
    forged = Credentials(SigningKey.generate()).user(org)
    assert (
        await _code(
            cloud.stub.GetPlugins(
                cpb.GetPluginsRequest(),
                metadata=(cloud.creds.service_only()[0], ("x-pyxie-user-token", forged[0][1][7:])),
            )
        )
        == grpc.StatusCode.UNAUTHENTICATED
    )
    assert (
        await _code(cloud.stub.GetPlugins(cpb.GetPluginsRequest(), metadata=forged))
        == grpc.StatusCode.UNAUTHENTICATED
    )


async def test_bad_input_gets_client_errors(cloud: PluginCloud) -> None:
    org = uuid.uuid4()
    user = cloud.creds.user(org)
    assert (
        await _code(cloud.stub.CreateRetentionScript(_create(), metadata=user))
        == grpc.StatusCode.FAILED_PRECONDITION
    )
    assert (
        await _code(
            cloud.stub.UpdateRetentionPluginConfig(
                cpb.UpdateRetentionPluginConfigRequest(
                    plugin_id="nope", enabled=wrappers_pb2.BoolValue(value=True)
                ),
                metadata=user,
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )
    for url in ("not a url", "ftp://x.example.com", "https://", "host:99999999"):
        assert (
            await _code(enable_otel_plugin(cloud.channel, user, export_url=url))
            == grpc.StatusCode.INVALID_ARGUMENT
        ), url
    assert (
        await _code(
            enable_otel_plugin(cloud.channel, user, export_url=URL, headers={"Bad Header": "v"})
        )
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    scripts = await _enable(cloud, org)
    for bad in (
        _create(frequency_s=0),
        _create(script_name=""),
        _create(contents="   "),
        _create(export_url="no spaces allowed"),
        _create(cluster_ids=[uuid_pb2.UUID()]),
    ):
        assert (
            await _code(cloud.stub.CreateRetentionScript(bad, metadata=user))
            == grpc.StatusCode.INVALID_ARGUMENT
        )
    await cloud.stub.CreateRetentionScript(_create("dup"), metadata=user)
    assert (
        await _code(cloud.stub.CreateRetentionScript(_create("dup"), metadata=user))
        == grpc.StatusCode.ALREADY_EXISTS
    )
    preset = scripts[0].script_id
    assert (
        await _code(
            cloud.stub.UpdateRetentionScript(
                cpb.UpdateRetentionScriptRequest(
                    id=preset, contents=wrappers_pb2.StringValue(value="import px\n")
                ),
                metadata=user,
            )
        )
        == grpc.StatusCode.FAILED_PRECONDITION
    )
    assert (
        await _code(
            cloud.stub.GetRetentionScript(
                cpb.GetRetentionScriptRequest(id=_pb(str(uuid.uuid4()))), metadata=user
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )


async def test_update_edits_fields_and_disable_removes_the_plugins_scripts(
    cloud: PluginCloud,
) -> None:
    org = uuid.uuid4()
    user = cloud.creds.user(org)
    await _enable(cloud, org)
    created = await cloud.stub.CreateRetentionScript(_create(), metadata=user)
    await cloud.stub.UpdateRetentionScript(
        cpb.UpdateRetentionScriptRequest(
            id=created.id,
            script_name=wrappers_pb2.StringValue(value="renamed"),
            frequency_s=wrappers_pb2.Int64Value(value=120),
            enabled=wrappers_pb2.BoolValue(value=False),
            contents=wrappers_pb2.StringValue(value="import px\n# v2\n"),
        ),
        metadata=user,
    )
    got = await cloud.stub.GetRetentionScript(
        cpb.GetRetentionScriptRequest(id=created.id), metadata=user
    )
    assert (got.script.script_name, got.script.frequency_s, got.script.enabled) == (
        "renamed",
        120,
        False,
    )
    assert got.contents == "import px\n# v2\n" and got.script.description == "mine"
    await cloud.stub.UpdateRetentionPluginConfig(
        cpb.UpdateRetentionPluginConfigRequest(
            plugin_id=OPENTELEMETRY_PLUGIN_ID, enabled=wrappers_pb2.BoolValue(value=False)
        ),
        metadata=user,
    )
    listed = await cloud.stub.GetRetentionScripts(cpb.GetRetentionScriptsRequest(), metadata=user)
    assert list(listed.scripts) == []
    # Enabling again without presets installs none.
    again = await enable_otel_plugin(cloud.channel, user, export_url=URL, presets=False)
    assert again == []
