"""The pure parts: GenerateOTelScript's rewrite and the cron configs parser."""

from __future__ import annotations

import pytest
from pyxie_query_broker.controllers.cron_scripts import parse_configs
from pyxie_query_broker.controllers.otel_script import (
    ExportableTable,
    OTelScriptError,
    generate_otel_script,
)
from pyxie_types import DataType, Relation

EVENTS = Relation.of(
    ("time_", DataType.TIME64NS),
    ("service", DataType.STRING),
    ("pod", DataType.STRING),
    ("req_path", DataType.STRING),
    ("latency", DataType.INT64),
)


def test_display_becomes_export_and_window_comes_from_the_plugin() -> None:
    source = (
        "import px\ndf = px.DataFrame('http_events', start_time='-5m')\npx.display(df, 'events')\n"
    )
    script = generate_otel_script(source, [ExportableTable("events", EVENTS)])
    assert "px.display" not in script
    assert "_otel_export_0(df)" in script
    assert "start_time=px.plugin.start_time, end_time=px.plugin.end_time" in script
    assert "'-5m'" not in script
    assert "'service.name': df.service" in script and "'k8s.pod.name': df.pod" in script
    assert "'req_path': df.req_path" in script
    assert "name='events.latency', value=df.latency" in script


def test_tables_without_time_are_left_out_or_refused() -> None:
    no_time = Relation.of(("service", DataType.STRING), ("n", DataType.INT64))
    source = "import px\npx.display(px.DataFrame('t'), 'counts')\n"
    with pytest.raises(OTelScriptError, match="no displayed table can be exported"):
        generate_otel_script(source, [ExportableTable("counts", no_time)])


def test_configs_yaml() -> None:
    endpoint = parse_configs(
        "otelEndpointConfig:\n  url: c:4317\n  insecure: true\n  headers:\n    k: v\n"
    )
    assert endpoint is not None
    assert (endpoint.url, dict(endpoint.headers), endpoint.insecure, endpoint.timeout) == (
        "c:4317",
        {"k": "v"},
        True,
        5,
    )
    assert parse_configs("") is None
    for bad in ("otelEndpointConfig: [1]", "- a", "otelEndpointConfig:\n  url: 3\n", "{"):
        with pytest.raises(ValueError) as caught:
            parse_configs(bad)
        assert "v" not in str(caught.value).split()  # header values never echo back
