"""Every bundled script on a live vizier: two netns nodes, the demo shop, real eBPF.

Each script runs through the query broker with its vis spec's default arguments, as `px run`
sends it; the test prints a table of rows per script and output, and fails for any script
that errors, or returns no rows although the demo feeds its tables. Scripts over tables the
demo cannot fill are listed in `EMPTY_ON_THE_DEMO` with the reason, so a silent gap fails.
Run it alone (it starts its own stack): `make e2e-scripts`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyxie_cli._script import resolve_script
from pyxie_cli._target import mint_vizier_token
from pyxie_client import ScriptError, VizierClient
from pyxie_devstack import DevstackSettings
from pyxie_devstack.vizier import VizierOptions, VizierStack
from pyxie_devstack.vizier_state import VizierEndpoints
from pyxie_scripts import list_scripts

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.root,
    pytest.mark.bpf,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces and eBPF need root"),
    pytest.mark.skipif(
        importlib.util.find_spec("bcc") is None,
        reason="bcc is not importable: run `make setup-bpf` (as root) first",
    ),
    pytest.mark.timeout(1500),
]

_TAG, _SUBNET = "pxscr", "10.250.94"
_DATA_WAIT_S = 240.0

# Scripts whose tables the demo shop (HTTP and gRPC between two services, PostgreSQL, NATS,
# Kafka, AMQP when rabbitmq-server is installed) cannot fill.
EMPTY_ON_THE_DEMO = {
    "px/mux_data": "no Mux traffic in the demo",
    "px/mux_flow_graph": "no Mux traffic in the demo",
    "px/mux_stats": "no Mux traffic in the demo",
    "px/mysql_data": "no MySQL in the demo",
    "px/mysql_flow_graph": "no MySQL in the demo",
    "px/mysql_stats": "no MySQL in the demo",
    "px/redis_data": "no Redis in the demo",
    "px/redis_flow_graph": "no Redis in the demo",
    "px/redis_stats": "no Redis in the demo",
    "px/dns_data": "the demo resolves no names over DNS",
    "px/dns_flow_graph": "the demo resolves no names over DNS",
    "px/dns_stats": "the demo resolves no names over DNS",
    "px/stirling_errors": "only errors appear there: a healthy collector writes none",
    "px/amqp_data": "AMQP needs rabbitmq-server (optional) and a first shipment",
    "px/amqp_flow_graph": "AMQP needs rabbitmq-server (optional) and a first shipment",
    "px/amqp_stats": "AMQP needs rabbitmq-server (optional) and a first shipment",
    "px/kafka_consumer_rebalancing": "the demo's consumer group rebalances once, when it starts",
}
# Scripts over a table no collector of this build declares yet: the error must name it.
MISSING_TABLE: dict[str, str] = {}


@dataclass
class Stack:
    endpoints: VizierEndpoints
    state_dir: Path

    def rows(self, name: str) -> dict[str, int]:
        """Rows of each output of a bundled script, run with its vis defaults."""
        script = resolve_script(name, None, None)
        client = VizierClient(self.endpoints.broker, token=mint_vizier_token(self.state_dir))
        result = asyncio.run(client.execute(script.pxl, exec_funcs=script.exec_funcs({})))
        assert not result.incomplete, (name, result.incomplete)
        return {output: table.num_rows for output, table in result.tables.items()}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("vizier-scripts")
    os.chmod(state, 0o711)  # PostgreSQL may run as another account and must pass through
    options = VizierOptions(
        nodes=2,
        net_tag=_TAG,
        subnet=_SUBNET,
        broker_port=0,
        metadata_port=0,
        kelvin_port=0,
        loadgen_rps=5,
        ready_timeout_s=600,
    )
    vizier = VizierStack(DevstackSettings(state_dir=state), options, say=lambda _line: None)
    try:
        endpoints = vizier.up()
        stack = Stack(endpoints, state)
        _wait_for_traffic(stack)
        yield stack
    finally:
        vizier.down()


def _wait_for_traffic(stack: Stack) -> None:
    """Until traced HTTP and PostgreSQL rows of the demo are in (the BPF probes are up)."""
    deadline = time.monotonic() + _DATA_WAIT_S
    while time.monotonic() < deadline:
        try:
            http = sum(stack.rows("px/http_data").values())
            pgsql = sum(stack.rows("px/pgsql_data").values())
        except ScriptError:
            http = pgsql = 0
        if http and pgsql:
            time.sleep(15)  # let the counters (process, network, connections) see a window
            return
        time.sleep(5)
    pytest.fail(f"no demo HTTP and PostgreSQL rows within {_DATA_WAIT_S:.0f}s")


def test_every_bundled_script_runs_and_returns_rows_on_the_demo(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    results: dict[str, dict[str, int] | str] = {}
    for name in list_scripts():
        try:
            results[name] = stack.rows(name)
        except ScriptError as err:
            results[name] = f"ERROR {err}"
    width = max(len(n) for n in results)
    lines = [f"{'script'.ljust(width)}  rows  outputs"]
    for name, outcome in results.items():
        if isinstance(outcome, str):
            lines.append(f"{name.ljust(width)}  {outcome}")
            continue
        detail = ", ".join(f"{k}={v}" for k, v in outcome.items())
        note = f"  (expected empty: {EMPTY_ON_THE_DEMO[name]})" if name in EMPTY_ON_THE_DEMO else ""
        lines.append(f"{name.ljust(width)}  {sum(outcome.values()):>4}  {detail}{note}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    errors = {
        n: o
        for n, o in results.items()
        if isinstance(o, str)
        and not (n in MISSING_TABLE and f"table '{MISSING_TABLE[n]}' not found" in o)
    }
    assert not errors, errors
    empty = [
        n
        for n, o in results.items()
        if isinstance(o, dict) and sum(o.values()) == 0 and n not in EMPTY_ON_THE_DEMO
    ]
    assert not empty, f"no rows from {empty}"
