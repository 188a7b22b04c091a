"""The standalone vizier recovers by itself: a killed process is restarted alone, on its port.

Without root: one node (the host), no eBPF, no demo app. Each case kills a process with SIGKILL
(as a crash would) and checks that its group's other processes kept running, that it came back
on the same address, that queries work again and that `vizier status` counts the restart.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
from pyxie_client import ClientError, VizierClient
from pyxie_devstack import DevstackSettings
from pyxie_devstack._process import read_pid_file
from pyxie_devstack.supervise import process_pid, process_restarts
from pyxie_devstack.vizier import VizierOptions, VizierStack
from pyxie_devstack.vizier_state import read_endpoints, read_signing_key
from pyxie_jwt import VIZIER_AUDIENCE, SigningKey, service_claims, sign_token

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

_RECOVERY_S = 60.0
# grpc.aio binds to the first event loop of a process (calls from a second one hang): every
# query of this module runs on this one loop.
_LOOP = asyncio.new_event_loop()
# Data the PEM collected: answers only when broker, metadata, PEM and Kelvin all work together.
_PROCS = """
import px
df = px.DataFrame(table='process_stats', start_time='-5m')
df = df.groupby('upid').agg(samples=('rss_bytes', px.count))
px.display(df, 'procs')
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VizierStack]:
    state = tmp_path_factory.mktemp("vizier-recovery")
    os.chmod(state, 0o711)
    options = VizierOptions(
        nodes=1,
        use_netns=False,
        ebpf=False,
        demo_app=False,
        broker_port=0,
        metadata_port=0,
        kelvin_port=0,
        # Small per-query budgets so one query can blow its budget cheaply here.
        service_env={
            "kelvin": {"PL_QUERY_MEMORY_BUDGET_MB": "64"},
            "pem": {"PL_QUERY_MEMORY_BUDGET_MB": "64"},
        },
    )
    vizier = VizierStack(DevstackSettings(state_dir=state), options, say=lambda _line: None)
    try:
        vizier.up()
        yield vizier
    finally:
        vizier.down()


def _eventually(what: str, probe: Callable[[], bool]) -> None:
    deadline = time.monotonic() + _RECOVERY_S
    while not probe():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not recover within {_RECOVERY_S:.0f}s")
        time.sleep(0.5)


def _answers(stack: VizierStack) -> Callable[[], bool]:
    state = stack.settings.state_dir
    key = SigningKey(read_signing_key(state))

    def probe() -> bool:
        broker = read_endpoints(state).broker
        token = sign_token(service_claims(service_id="test", audience=VIZIER_AUDIENCE), key)
        client = VizierClient(broker, token=token)
        try:
            result = _LOOP.run_until_complete(asyncio.wait_for(client.execute(_PROCS), 20))
        except (ClientError, TimeoutError):
            return False
        table = result.tables.get("procs")
        return table is not None and table.num_rows > 0

    return probe


def _group(stack: VizierStack, name: str):  # type: ignore[no-untyped-def]
    return next(g for g in stack.all_groups() if g.name == name)


def test_a_killed_broker_comes_back_alone_on_its_port(stack: VizierStack) -> None:
    vizier = _group(stack, "vizier")
    broker_address = read_endpoints(stack.settings.state_dir).broker
    before = {p.name: process_pid(vizier, p.name) for p in vizier.processes}
    broker = before["query-broker"]
    assert broker is not None
    os.kill(broker, signal.SIGKILL)
    _eventually(
        "the broker process", lambda: process_pid(vizier, "query-broker") not in (None, broker)
    )
    # metadata and Kelvin were never stopped.
    assert process_pid(vizier, "metadata") == before["metadata"]
    assert process_pid(vizier, "kelvin") == before["kelvin"]
    assert read_endpoints(stack.settings.state_dir).broker == broker_address
    _eventually("queries through the restarted broker", _answers(stack))
    assert process_restarts(vizier)["query-broker"] == 1

    env = {**os.environ, "PL_STATE_DIR": str(stack.settings.state_dir)}
    status = subprocess.run(
        [sys.executable, "-m", "pyxie_devstack", "vizier", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "query-broker" in status.stdout
    line = next(part for part in status.stdout.split(",") if "query-broker" in part)
    assert "(restarts 1)" in line, status.stdout


def test_a_killed_nats_server_comes_back_on_its_port(stack: VizierStack) -> None:
    infra = _group(stack, "infra")
    vizier = _group(stack, "vizier")
    nats_url = read_endpoints(stack.settings.state_dir).nats
    services = {p.name: process_pid(vizier, p.name) for p in vizier.processes}
    wrapper = process_pid(infra, "nats")
    assert wrapper is not None
    # The nats-server binary itself (the serve wrapper's child), not the wrapper.
    server_pid = read_pid_file(stack.dir / "nats" / "nats.pid")
    assert server_pid is not None and server_pid != wrapper
    os.kill(server_pid, signal.SIGKILL)
    _eventually("the NATS wrapper", lambda: process_pid(infra, "nats") not in (None, wrapper))
    _eventually("NATS on its old address", lambda: stack._nats_ready() == nats_url)
    # The services reconnect to NATS by themselves: none of them was restarted.
    assert {p.name: process_pid(vizier, p.name) for p in vizier.processes} == services
    _eventually("queries after NATS restarted", _answers(stack))


def test_a_script_that_would_build_gigabytes_fails_alone(stack: VizierStack) -> None:
    """`s = s + s` thirty-two times once made the broker build 4 GiB while every other query
    failed; now it is a compile error and a concurrent query is answered."""
    _eventually("queries before the test", _answers(stack))
    state = stack.settings.state_dir
    key = SigningKey(read_signing_key(state))
    token = sign_token(service_claims(service_id="test", audience=VIZIER_AUDIENCE), key)
    client = VizierClient(read_endpoints(state).broker, token=token)
    bomb = (
        "import px\ns = 'ab'\n" + "s = s + s\n" * 32 + "px.display(px.DataFrame('process_stats'))\n"
    )

    async def both() -> list[object]:
        return await asyncio.gather(
            asyncio.wait_for(client.execute(bomb), 60),
            asyncio.wait_for(client.execute(_PROCS), 60),
            return_exceptions=True,
        )

    failed, answered = _LOOP.run_until_complete(both())
    assert isinstance(failed, ClientError), failed
    assert "constant string expression would be" in str(failed)
    assert not isinstance(answered, BaseException), answered
    assert answered.tables["procs"].num_rows > 0  # type: ignore[attr-defined]


def test_a_query_over_its_memory_budget_fails_alone_while_another_client_is_answered(
    stack: VizierStack,
) -> None:
    """A cross join of every process sample with every other one, twice, is far over the
    64 MiB budget even on a young vizier (hundreds of samples cubed): it fails with
    RESOURCE_EXHAUSTED and a message, and a second client's query running at the same time is
    answered."""
    _eventually("queries before the test", _answers(stack))
    state = stack.settings.state_dir
    key = SigningKey(read_signing_key(state))
    token = sign_token(service_claims(service_id="test", audience=VIZIER_AUDIENCE), key)
    hog = VizierClient(read_endpoints(state).broker, token=token)
    other = VizierClient(read_endpoints(state).broker, token=token)
    cross = """
import px
a = px.DataFrame(table='process_stats', start_time='-5m')
a.k = 1
b = px.DataFrame(table='process_stats', start_time='-5m')
b.k = 1
c = px.DataFrame(table='process_stats', start_time='-5m')
c.k = 1
j = a.merge(b, how='inner', left_on='k', right_on='k', suffixes=['', '_b'])
j = j.merge(c, how='inner', left_on='k', right_on='k', suffixes=['', '_c'])
px.display(j, 'everything_thrice')
"""

    async def both() -> list[object]:
        return await asyncio.gather(
            asyncio.wait_for(hog.execute(cross), 120),
            asyncio.wait_for(other.execute(_PROCS), 120),
            return_exceptions=True,
        )

    failed, answered = _LOOP.run_until_complete(both())
    assert isinstance(failed, ClientError), failed
    assert "memory" in str(failed) and "budget" in str(failed), str(failed)
    assert not isinstance(answered, BaseException), answered
    assert answered.tables["procs"].num_rows > 0  # type: ignore[attr-defined]
    # And the vizier keeps answering afterwards.
    _eventually("queries after the over-budget one", _answers(stack))


def test_down_then_up_keeps_the_service_ports(stack: VizierStack) -> None:
    before = read_endpoints(stack.settings.state_dir)
    stack.down()
    after = stack.up()
    assert (after.broker, after.metadata, after.kelvin) == (
        before.broker,
        before.metadata,
        before.kelvin,
    )
