"""The bundled preset scripts compile with the real PxL compiler and export with the plugin's
endpoint (what a vizier's cron runner does with them)."""

from __future__ import annotations

import pytest
from pyxie_carnot.builtins import new_registry
from pyxie_plugin.controllers import bundled_catalog
from pyxie_plugin.controllers.releases import PresetScript
from pyxie_pxl.compiler import CompileOptions, Compiler, OTelDefaults
from pyxie_types.tables import ALL_TABLES

NOW_NS = 1_700_000_000_000_000_000
PRESETS = [p for r in bundled_catalog().latest_releases() for p in r.presets]


@pytest.fixture(scope="module")
def compiler() -> Compiler:
    return Compiler(new_registry(), {t.name: t for t in ALL_TABLES})


@pytest.mark.parametrize("preset", PRESETS, ids=[p.name for p in PRESETS])
def test_preset_compiles_to_one_otel_export_to_the_plugin_endpoint(
    compiler: Compiler, preset: PresetScript
) -> None:
    options = CompileOptions(
        now_ns=NOW_NS,
        otel=OTelDefaults(
            url="collector:4317",
            headers=(("api-key", "k"),),
            insecure=True,
            plugin_start_ns=NOW_NS - 10_000_000_000,
            plugin_end_ns=NOW_NS,
        ),
    )
    plan = compiler.compile(preset.contents, options).to_plan()
    sinks = [n.op.otel_sink for f in plan.fragments for n in f.nodes if n.op.HasField("otel_sink")]
    assert len(sinks) == 1
    assert sinks[0].endpoint.url == "collector:4317"
    assert dict(sinks[0].endpoint.headers) == {"api-key": "k"}
    assert sinks[0].metrics or sinks[0].spans
    assert sinks[0].resource[0].name == "service.name"
