"""Every bundled script on a live vizier: two netns nodes, the demo shop, real eBPF.

Each script runs through the query broker with its vis spec's default arguments, as `px run`
sends it; the test prints a table of rows per script and output, and fails for any script
that errors, or returns no rows although the demo feeds its tables. Scripts over tables the
demo cannot fill are listed in `EMPTY_ON_THE_DEMO` with the reason, so a silent gap fails.
Before that, a PxL query over each protocol table the demo speaks must return rows within
60 s of the demo's start. Run it alone (it starts its own stack): `make e2e-scripts`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
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
from pyxie_testing.demo._dns import dnsmasq_binary
from pyxie_testing.demo._events import RABBITMQ
from pyxie_testing.demo._inventory import mariadb_binaries

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

# Overridable so that several checkouts can run this at once on one machine.
_TAG = os.environ.get("PYXIE_E2E_NET_TAG", "pxscr")
_SUBNET = os.environ.get("PYXIE_E2E_SUBNET", "10.250.94")
_DATA_WAIT_S = 240.0

# The demo speaks these over its normal flow (see pyxie_testing.demo); a protocol whose server
# is an optional Debian package (tools/setup_bpf.sh installs them all) is only expected when the
# package is there, and its scripts are allowed to be empty otherwise.
_HAS_RABBITMQ = os.path.exists(RABBITMQ) and shutil.which("epmd") is not None
_HAS_MARIADB = mariadb_binaries() is not None
_HAS_REDIS = shutil.which("redis-server") is not None
_HAS_DNSMASQ = dnsmasq_binary() is not None
_OPTIONAL = {"amqp": _HAS_RABBITMQ, "mysql": _HAS_MARIADB, "redis": _HAS_REDIS, "dns": _HAS_DNSMASQ}
_MISSING_SERVER = {
    "amqp": "rabbitmq-server is not installed",
    "mysql": "mariadb-server is not installed",
    "redis": "redis-server is not installed",
    "dns": "dnsmasq is not installed",
}
# table -> protocol; every one must have rows within 60 s of the demo's start.
PROTOCOL_TABLES = {
    "http_events": "http",
    "pgsql_events": "pgsql",
    "mysql_events": "mysql",
    "redis_events": "redis",
    "dns_events": "dns",
    "nats_events.beta": "nats",
    "amqp_events": "amqp",
    "mux_events": "mux",
    "cql_events": "cql",
    "mongodb_events": "mongodb",
    "kafka_events.beta": "kafka",
}
_FIRST_ROWS_WITHIN_S = 60.0

# The explicit allow-list: scripts that cannot have rows on this demo, with the reason. Every
# other script, each protocol's data, stats and flow graph included, must return rows.
EMPTY_ON_THE_DEMO = {
    # Only errors appear there: a healthy collector writes none.
    "px/stirling_errors": "only errors appear there: a healthy collector writes none",
    # A protocol whose optional server package is missing here.
    **{
        f"px/{protocol}_{kind}": _MISSING_SERVER[protocol]
        for protocol, present in _OPTIONAL.items()
        if not present
        for kind in ("data", "flow_graph", "stats")
    },
    "px/kafka_consumer_rebalancing": "the demo's consumer group rebalances once, when it starts",
}
# Scripts over a table no collector of this build declares yet: the error must name it.
MISSING_TABLE: dict[str, str] = {}


@dataclass
class Stack:
    endpoints: VizierEndpoints
    state_dir: Path
    demo_started: float  # time.monotonic() when the demo app first answered

    def table_rows(self, table: str) -> int:
        """Rows a plain PxL query over ``table`` returns (the last 5 minutes, at most 10)."""
        pxl = (
            "import px\n"
            f"df = px.DataFrame(table='{table}', start_time='-5m')\n"
            "px.display(df.head(10), 'rows')\n"
        )
        client = VizierClient(self.endpoints.broker, token=mint_vizier_token(self.state_dir))
        result = asyncio.run(client.execute(pxl))
        return sum(t.num_rows for t in result.tables.values())

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
        endpoints = vizier.up()  # returns once the demo app answers
        yield Stack(endpoints, state, time.monotonic())
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


def test_each_protocol_table_has_rows_within_60s_of_the_demo_start(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = {t: p for t, p in PROTOCOL_TABLES.items() if _OPTIONAL.get(p, True)}
    first_rows: dict[str, float] = {}
    deadline = stack.demo_started + _FIRST_ROWS_WITHIN_S
    while True:
        for table in expected.keys() - first_rows.keys():
            try:
                if stack.table_rows(table):
                    first_rows[table] = time.monotonic() - stack.demo_started
            except ScriptError:
                pass
        if len(first_rows) == len(expected) or time.monotonic() > deadline:
            break
        time.sleep(2)
    with capsys.disabled():
        print("\nfirst rows after the demo started:")
        for table in PROTOCOL_TABLES:
            if table not in expected:
                print(f"  {table:18} skipped: {_MISSING_SERVER[PROTOCOL_TABLES[table]]}")
            elif table in first_rows:
                print(f"  {table:18} {first_rows[table]:5.1f} s")
            else:
                print(f"  {table:18} none within {_FIRST_ROWS_WITHIN_S:.0f} s")
    late = sorted(
        t for t in expected if first_rows.get(t, _FIRST_ROWS_WITHIN_S + 1) > _FIRST_ROWS_WITHIN_S
    )
    assert not late, f"no rows within {_FIRST_ROWS_WITHIN_S:.0f} s of the demo's start: {late}"


def test_every_bundled_script_runs_and_returns_rows_on_the_demo(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    _wait_for_traffic(stack)
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
