"""GetProfilerSamplingPeriodMS (one row per PEM) and the kernel-headers check PEMs register."""

from __future__ import annotations

from pathlib import Path

from pyxie_carnot.builtins import new_registry
from pyxie_carnot.context import FunctionContext
from pyxie_carnot.metadata import InMemoryMetadataState
from pyxie_carnot.registry import UDTFExecutor
from pyxie_carnot.udtfs._host import PROFILER_PERIOD_EXTRA, kernel_headers_installed

REGISTRY = new_registry()


def _ctx(**extras: object) -> FunctionContext:
    return FunctionContext(REGISTRY, InMemoryMetadataState(agent_asid=5), extras=dict(extras))


def test_profiler_period_is_the_pems_setting_on_every_pem() -> None:
    udtf = REGISTRY.lookup_udtf("GetProfilerSamplingPeriodMS")
    assert udtf.executor is UDTFExecutor.ALL_PEM
    out = udtf.fn(_ctx(**{PROFILER_PERIOD_EXTRA: 20})).to_pylist()
    assert out == [{"asid": 5, "profiler_sampling_period_ms": 20}]


def test_profiler_period_defaults_to_99_hz() -> None:
    out = REGISTRY.lookup_udtf("GetProfilerSamplingPeriodMS").fn(_ctx()).to_pylist()
    assert out == [{"asid": 5, "profiler_sampling_period_ms": 10}]


def test_linux_headers_status_runs_on_kelvin_from_the_registrations() -> None:
    udtf = REGISTRY.lookup_udtf("GetLinuxHeadersStatus")
    assert udtf.executor is UDTFExecutor.ONE_KELVIN
    assert list(udtf.relation.names) == ["asid", "hostname", "kernel_headers_installed"]


def test_headers_found_only_with_an_include_dir(tmp_path: Path) -> None:
    assert not kernel_headers_installed("6.1.0", tmp_path)
    (tmp_path / "6.1.0" / "build").mkdir(parents=True)
    assert not kernel_headers_installed("6.1.0", tmp_path)
    (tmp_path / "6.1.0" / "build" / "include").mkdir()
    assert kernel_headers_installed("6.1.0", tmp_path)
