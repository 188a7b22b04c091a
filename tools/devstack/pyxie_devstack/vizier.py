"""The standalone vizier: NATS, metadata, query broker, Kelvin and one PEM per simulated node.

Every service is a separate process, supervised in groups (see ``supervise``; a process that
exits is restarted alone, with backoff, on the same ports):

    infra         NATS (+ PostgreSQL for the demo app), via ``python -m pyxie_devstack serve``
    vizier        metadata, query broker, Kelvin
    pem-<node>    the PEM of one node (a group of its own, so one PEM can stop and come back)
    demo-<node>   the demo shop processes placed on that node

Nodes are network namespaces (``netns``) when we are root; otherwise one node, the host. PEMs,
Kelvin and the broker run in the host namespace (eBPF sees the whole host; each PEM's
``PL_NETNS_INODE`` filter keeps it to its node's processes) and reach each other on 127.0.0.1.

``up`` is idempotent: it starts only the groups that are not running and waits until each
stage is ready (gRPC health of metadata/broker/Kelvin, then every PEM and Kelvin registered and
healthy in GetAgentInfo, then the demo app answering). ``down`` stops every group and removes
the namespaces it created. Everything lives under ``<state_dir>/vizier/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import grpc
from pyxie_client.local import LocalStackError
from pyxie_jwt import VIZIER_AUDIENCE, SigningKey, service_claims, sign_token
from pyxie_proto.vizier.metadatapb import metadata_pb2

from pyxie_devstack._errors import DevstackError, StartError
from pyxie_devstack._http import PROBE_ERRORS, get_json
from pyxie_devstack._probes import agent_statuses, grpc_serving, http_answers
from pyxie_devstack._process import free_port, port_is_free
from pyxie_devstack.etcd_server import EtcdMember, plan_cluster
from pyxie_devstack.nats_server import NatsServer
from pyxie_devstack.netns import NodeNetwork, SimulatedNode, netns_inode, netns_supported
from pyxie_devstack.postgres_server import PostgresServer, create_database
from pyxie_devstack.settings import DevstackSettings
from pyxie_devstack.supervise import (
    GroupSpec,
    ProcessSpec,
    crash_looping,
    ensure_group,
    group_running,
    process_pid,
    process_restarts,
    stop_group,
)
from pyxie_devstack.vizier_state import (
    NodeRecord,
    VizierEndpoints,
    ensure_signing_key,
    read_endpoints,
    vizier_dir,
    write_endpoints,
)

__all__ = ["GroupStatus", "VizierOptions", "VizierStack"]

_READY_POLL_S = 0.25
_TRACER_POLL_S = 2.0
# One probe query is a few milliseconds on a healthy stack; a stuck one must not stall `up`.
_PROBE_QUERY_TIMEOUT_S = 20.0
# Pixie's default ports; a busy one is replaced by a free one (recorded in endpoints.json).
BROKER_PORT, METADATA_PORT, KELVIN_PORT = 50300, 50400, 59300
FRONTEND_PORT, ORDERS_PORT = 8080, 8081
_DEMO_DB = "shop"
# One row per PEM whose socket tracer started (Stirling reports status 0 once it is attached).
_TRACERS_READY_PXL = """
import px
df = px.DataFrame(table='stirling_error', start_time='-24h')
df = df[df.source_connector == 'socket_tracer']
df = df[df.status == 0]
df = df.groupby('upid').agg(n=('status', px.count))
px.display(df, 'tracers')
"""


# grpc.aio binds process-wide state to the first event loop that uses it: a second loop in the
# same process (a second VizierStack, as `cloud connect` makes when it restarts the vizier) hangs
# its calls. So every readiness probe of the process runs on this one loop, never closed.
_PROBE_LOOP: asyncio.AbstractEventLoop | None = None


def _probe_loop() -> asyncio.AbstractEventLoop:
    global _PROBE_LOOP
    if _PROBE_LOOP is None:
        _PROBE_LOOP = asyncio.new_event_loop()
    return _PROBE_LOOP


@dataclass(frozen=True)
class VizierOptions:
    """What the stack looks like; saved on the first ``up`` and reused by later ones."""

    nodes: int = 2
    # None: network namespaces when root, else one node in the host namespace.
    use_netns: bool | None = None
    net_tag: str = "pyxie"
    subnet: str = "10.250.77"
    demo_app: bool = True
    loadgen_rps: float = 10.0
    ebpf: bool = True
    # 0 = any free port (tests); otherwise this port if free, else any free one.
    broker_port: int = BROKER_PORT
    metadata_port: int = METADATA_PORT
    kelvin_port: int = KELVIN_PORT
    # Extra PL_* variables per process: keys are process names ("metadata", "query-broker",
    # "kelvin", "pem" for every PEM, "pem-<node>" for one).
    service_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    ready_timeout_s: float = 180.0
    # Metadata's KV store: "sqlite" (one file) or "etcd" (a cluster of `etcd_members` members
    # in the infra group, each supervised and restarted on its own ports, as Pixie runs it).
    kv_backend: str = "sqlite"
    etcd_members: int = 3

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> VizierOptions:
        raw = json.loads(text)
        raw["service_env"] = {k: dict(v) for k, v in raw.get("service_env", {}).items()}
        return cls(**raw)


@dataclass(frozen=True)
class GroupStatus:
    name: str
    running: bool
    processes: dict[str, int | None]
    restarts: dict[str, int] = field(default_factory=dict)


def _serving(address: str) -> Callable[[], bool]:
    return lambda: grpc_serving(address)


def etcd_cluster_plan_path(state: Path) -> Path:
    """Where the vizier's etcd members and their fixed ports are recorded."""
    return state / "etcd-cluster.json"


def _python_module(module: str, *args: str) -> tuple[str, ...]:
    return (sys.executable, "-m", module, *args)


class VizierStack:
    """One standalone vizier under ``settings.state_dir``."""

    def __init__(
        self,
        settings: DevstackSettings,
        options: VizierOptions | None = None,
        *,
        say: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.dir = vizier_dir(settings.state_dir)
        self.run_dir = self.dir / "run"
        self.log_dir = self.dir / "logs"
        self._say = say
        saved = self._load_options()
        self.options = options if options is not None else (saved or VizierOptions())
        self.network = NodeNetwork(
            self.dir, tag=self.options.net_tag, subnet=self.options.subnet, nodes=self.options.nodes
        )

    # -- configuration -----------------------------------------------------------------------

    @property
    def _options_path(self) -> Path:
        return self.dir / "options.json"

    def _load_options(self) -> VizierOptions | None:
        try:
            return VizierOptions.from_json(self._options_path.read_text())
        except (OSError, ValueError, TypeError):
            return None

    @property
    def isolated(self) -> bool:
        if self.options.use_netns is None:
            return netns_supported()
        return self.options.use_netns

    def nodes(self) -> list[SimulatedNode]:
        if self.isolated:
            return list(self.network.nodes)
        return [SimulatedNode(name=socket.gethostname(), ip="127.0.0.1", netns="")]

    def _component_dir(self) -> Path:
        # NATS/PostgreSQL of the vizier live apart from `python -m pyxie_devstack up`'s.
        return self.dir

    # -- groups ------------------------------------------------------------------------------

    def _group(self, name: str, processes: list[ProcessSpec]) -> GroupSpec:
        return GroupSpec(name, tuple(processes), self.run_dir, self.log_dir)

    def _env_for(self, process: str, *also: str) -> dict[str, str]:
        env: dict[str, str] = {}
        for key in (*also, process):
            env.update(self.options.service_env.get(key, {}))
        return env

    def _pg_host(self) -> str:
        return self.network.bridge_ip if self.isolated else "127.0.0.1"

    def infra_group(self) -> GroupSpec:
        env = {"PL_STATE_DIR": str(self.settings.state_dir), "PYTHONUNBUFFERED": "1"}
        processes = [
            ProcessSpec("nats", _python_module("pyxie_devstack", "serve", "nats"), env),
        ]
        if self.options.demo_app:
            serve_pg = _python_module("pyxie_devstack", "serve", "postgres")
            argv = (*serve_pg, "--host", self._pg_host())
            if self.isolated:
                argv = (*argv, "--allow", f"{self.options.subnet}.0/24")
            processes.append(ProcessSpec("postgres", argv, env))
        for member in self.etcd_members():
            serve_etcd = _python_module("pyxie_devstack", "serve", "etcd", "--member", member.name)
            processes.append(ProcessSpec(member.name, serve_etcd, env))
        return self._group("infra", processes)

    def etcd_members(self) -> list[EtcdMember]:
        """The etcd cluster metadata uses (none with the SQLite backend)."""
        if self.options.kv_backend != "etcd":
            return []
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return plan_cluster(etcd_cluster_plan_path(self.dir), self.options.etcd_members)

    def etcd_healthy(self) -> bool:
        """True when a majority of the etcd cluster is up and has a leader."""
        for member in self.etcd_members():
            try:
                health = get_json(f"http://127.0.0.1:{member.client_port}/health")
            except PROBE_ERRORS:
                continue
            if health.get("health") == "true":
                return True
        return False

    def etcd_endpoints(self) -> str:
        return ",".join(f"127.0.0.1:{m.client_port}" for m in self.etcd_members())

    def _service_env(self, key: str, nats_url: str) -> dict[str, str]:
        return {
            "PL_JWT_SIGNING_KEY": key,
            "PL_NATS_URL": nats_url,
            "PL_GRPC_HOST": "127.0.0.1",
            "PL_METRICS_HOST": "127.0.0.1",
            "PL_METRICS_PORT": "0",
            "PL_LOG_FORMAT": "console",
            "PYTHONUNBUFFERED": "1",
        }

    def vizier_group(self, endpoints: VizierEndpoints, key: str) -> GroupSpec:
        base = self._service_env(key, endpoints.nats)
        metadata_port = endpoints.metadata.rsplit(":", 1)[1]
        broker_port = endpoints.broker.rsplit(":", 1)[1]
        kelvin_port = endpoints.kelvin.rsplit(":", 1)[1]
        metadata_env = base | {
            "PL_GRPC_PORT": metadata_port,
            "PL_KV_PATH": str(self.dir / "metadata" / "kv.sqlite"),
        }
        if self.options.kv_backend == "etcd":
            metadata_env |= {"PL_KV_BACKEND": "etcd", "PL_ETCD_ENDPOINT": self.etcd_endpoints()}
        broker_env = base | {
            "PL_GRPC_PORT": broker_port,
            "PL_METADATA_ADDRESS": endpoints.metadata,
            # Where agents send results: the broker's own address, reachable from the host.
            "PL_ADVERTISED_ADDRESS": endpoints.broker,
        }
        kelvin_env = base | {
            "PL_GRPC_PORT": kelvin_port,
            "PL_ADVERTISE_HOST": "127.0.0.1",
            "PL_HOST_IP": "127.0.0.1",
            "PL_POD_NAME": "kelvin",
            "PL_REGISTRATION_JITTER_MAX_S": "0",
            # Kelvin's GetAgentStatus / GetSchemas / GetTables and px.GetCronScriptHistory() ask
            # the metadata service.
            "PL_METADATA_ADDRESS": endpoints.metadata,
        }
        return self._group(
            "vizier",
            [
                ProcessSpec(
                    "metadata",
                    _python_module("pyxie_metadata"),
                    metadata_env | self._env_for("metadata"),
                ),
                ProcessSpec(
                    "query-broker",
                    _python_module("pyxie_query_broker"),
                    broker_env | self._env_for("query-broker"),
                ),
                ProcessSpec(
                    "kelvin", _python_module("pyxie_kelvin"), kelvin_env | self._env_for("kelvin")
                ),
            ],
        )

    def pem_group_name(self, node: SimulatedNode) -> str:
        return f"pem-{node.name}"

    def pem_group(self, node: SimulatedNode, endpoints: VizierEndpoints, key: str) -> GroupSpec:
        env = self._service_env(key, endpoints.nats) | {
            "PL_POD_NAME": f"pem-{node.name}",
            "PL_HOSTNAME": node.name,
            "PL_HOST_IP": node.ip,
            "PL_K8S_SELECTOR": node.name if node.netns else "",
            "PL_NETNS_INODE": str(netns_inode(node.netns)) if node.netns else "0",
            "PL_EBPF_ENABLED": "true" if self.options.ebpf else "false",
            "PL_REGISTRATION_JITTER_MAX_S": "0",
        }
        env |= self._env_for(self.pem_group_name(node), "pem")
        name = self.pem_group_name(node)
        return self._group(name, [ProcessSpec(name, _python_module("pyxie_pem"), env)])

    def _demo_layout(self) -> dict[str, list[str]]:
        """Which demo processes run on which node (by node name)."""
        names = [node.name for node in self.nodes()]
        if len(names) == 1:
            return {names[0]: ["orders", "frontend", "loadgen"]}
        return {names[0]: ["frontend", "loadgen"], names[1]: ["orders"]}

    def demo_ports(self) -> tuple[int, int]:
        """frontend and orders ports (fixed inside namespaces, free ones on a shared host)."""
        if self.isolated:
            return FRONTEND_PORT, ORDERS_PORT
        record = self.dir / "demo_ports.json"
        try:
            frontend, orders = json.loads(record.read_text())
            return int(frontend), int(orders)
        except (OSError, ValueError, TypeError):
            pass
        frontend = FRONTEND_PORT if port_is_free("0.0.0.0", FRONTEND_PORT) else free_port()
        orders = ORDERS_PORT if port_is_free("0.0.0.0", ORDERS_PORT) else free_port()
        record.write_text(json.dumps([frontend, orders]))
        return frontend, orders

    def frontend_url(self) -> str:
        node = {n.name: n for n in self.nodes()}[next(iter(self._demo_layout()))]
        return f"http://{node.ip}:{self.demo_ports()[0]}"

    def demo_groups(self, postgres_dsn: str) -> list[GroupSpec]:
        nodes = {node.name: node for node in self.nodes()}
        layout = self._demo_layout()
        frontend_port, orders_port = self.demo_ports()
        orders_node = next(name for name, roles in layout.items() if "orders" in roles)
        orders_url = f"http://{nodes[orders_node].ip}:{orders_port}"
        env = {"PYTHONUNBUFFERED": "1"}
        groups = []
        for node_name, roles in layout.items():
            node = nodes[node_name]
            argv_of = {
                "frontend": _python_module(
                    "pyxie_testing.demo",
                    "frontend",
                    "--port",
                    str(frontend_port),
                    "--orders-url",
                    orders_url,
                ),
                "orders": _python_module(
                    "pyxie_testing.demo",
                    "orders",
                    "--port",
                    str(orders_port),
                ),
                "loadgen": _python_module(
                    "pyxie_testing.demo",
                    "loadgen",
                    "--frontend-url",
                    self.frontend_url(),
                    "--rps",
                    f"{self.options.loadgen_rps:g}",
                ),
            }
            # The DSN carries a password: pass it in the (0600) spec's environment, not argv.
            env_of = {"orders": {**env, "DEMO_ORDERS_DSN": postgres_dsn}}
            processes = [
                ProcessSpec(role, argv_of[role], env_of.get(role, env), netns=node.netns)
                for role in roles
            ]
            groups.append(self._group(f"demo-{node.name}", processes))
        return groups

    def all_groups(self) -> list[GroupSpec]:
        """Every group this stack has, as recorded (for status and down)."""
        specs = []
        for path in sorted(self.run_dir.glob("*.json")):
            try:
                specs.append(GroupSpec.from_json(path.read_text()))
            except (OSError, ValueError, KeyError):
                continue
        order = {"infra": 0, "vizier": 1}
        return sorted(specs, key=lambda s: (order.get(s.name, 2 if "pem" in s.name else 3), s.name))

    # -- ports and endpoints ------------------------------------------------------------------

    def _port(self, *candidates: int | None) -> int:
        for candidate in candidates:
            if candidate and port_is_free("127.0.0.1", candidate):
                return candidate
        return free_port()

    @property
    def _last_endpoints_path(self) -> Path:
        return self.dir / "endpoints.last.json"

    def _planned_endpoints(self, nats_url: str) -> VizierEndpoints:
        try:
            previous: VizierEndpoints | None = read_endpoints(self.settings.state_dir)
        except (DevstackError, LocalStackError):
            previous = None
        vizier_up = any(g.name == "vizier" and group_running(g) for g in self.all_groups())
        if previous is not None and vizier_up:
            return replace(previous, nats=nats_url)

        if previous is None:
            with contextlib.suppress(OSError, ValueError, TypeError):
                previous = VizierEndpoints.from_json(self._last_endpoints_path.read_text())

        def port(address: str | None, preferred: int) -> str:
            # The last run's port first: whoever kept its address (a connector, a client)
            # finds the restarted service there.
            last = int(address.rsplit(":", 1)[1]) if address else None
            return f"127.0.0.1:{self._port(last, preferred)}"

        return VizierEndpoints(
            broker=port(previous.broker if previous else None, self.options.broker_port),
            metadata=port(previous.metadata if previous else None, self.options.metadata_port),
            kelvin=port(previous.kelvin if previous else None, self.options.kelvin_port),
            nats=nats_url,
            nodes=tuple(NodeRecord(n.name, n.netns, n.ip) for n in self.nodes()),
            isolated_nodes=self.isolated,
        )

    # -- readiness ---------------------------------------------------------------------------

    def _wait(
        self,
        what: str,
        ready: Callable[[], bool],
        groups: list[GroupSpec],
        poll_s: float = _READY_POLL_S,
    ) -> None:
        deadline = time.monotonic() + self.options.ready_timeout_s
        while True:
            if ready():
                return
            for group in groups:
                dead = crash_looping(group)
                if dead:
                    logs = ", ".join(str(self.log_dir / f"{name}.log") for name in dead)
                    raise StartError(
                        f"{what}: {', '.join(dead)} keeps exiting; see {logs}. What else runs "
                        "keeps running: `vizier up` again restarts the missing groups, "
                        "`vizier down` stops everything"
                    )
            if time.monotonic() >= deadline:
                raise StartError(
                    f"{what}: not ready after {self.options.ready_timeout_s:.0f}s; "
                    f"logs under {self.log_dir}"
                )
            time.sleep(poll_s)

    def _nats_ready(self) -> str | None:
        component = NatsServer(self._component_dir())
        try:
            ports = json.loads((component.dir / "ports.json").read_text())
            endpoint = component.make_endpoint({k: int(v) for k, v in ports.items()})
        except (OSError, ValueError, KeyError):
            return None
        return endpoint.url if component.is_ready(endpoint) else None

    def _postgres_dsn(self) -> str | None:
        component = PostgresServer(self._component_dir(), host=self._pg_host())
        try:
            ports = json.loads((component.dir / "ports.json").read_text())
            endpoint = component.make_endpoint({k: int(v) for k, v in ports.items()})
        except (OSError, ValueError, KeyError):
            return None
        if not component.is_ready(endpoint):
            return None
        return create_database(endpoint, _DEMO_DB)

    def expected_agents(self) -> tuple[set[str], int]:
        """Hostnames of the PEMs that must be registered, and how many Kelvins."""
        return {node.name for node in self.nodes()}, 1

    def agents_ready(self, endpoints: VizierEndpoints, key: SigningKey) -> bool:
        try:
            statuses = agent_statuses(endpoints.metadata, key)
        except grpc.RpcError:
            return False
        healthy = [s for s in statuses if s.state == metadata_pb2.AGENT_STATE_HEALTHY]
        pems = {s.info.host_info.hostname for s in healthy if s.info.collects_data}
        kelvins = sum(1 for s in healthy if not s.info.collects_data)
        want_pems, want_kelvins = self.expected_agents()
        return want_pems <= pems and kelvins >= want_kelvins

    def tracers_ready(self, endpoints: VizierEndpoints, key: SigningKey) -> bool:
        """Every PEM's socket tracer reported OK (its probes are attached).

        Connections opened before the probes attach are never traced, so the demo app, whose
        clients keep their connections alive, must start only after this.
        """
        from pyxie_client import ClientError, VizierClient

        token = sign_token(service_claims(service_id="devstack", audience=VIZIER_AUDIENCE), key)
        client = VizierClient(endpoints.broker, token=token)
        query = asyncio.wait_for(client.execute(_TRACERS_READY_PXL), _PROBE_QUERY_TIMEOUT_S)
        try:
            result = _probe_loop().run_until_complete(query)
        except (ClientError, TimeoutError):
            return False
        table = result.tables.get("tracers")
        return table is not None and table.num_rows >= len(self.nodes())

    # -- lifecycle ---------------------------------------------------------------------------

    def up(self) -> VizierEndpoints:
        """Start whatever is not running and wait until the stack answers queries."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._options_path.write_text(self.options.to_json())
        key_text = ensure_signing_key(self.settings.state_dir)
        key = SigningKey(key_text)
        if self.isolated:
            self.network.up()
            self._say(
                f"nodes: {', '.join(f'{n.name} ({n.ip})' for n in self.network.nodes)} "
                f"on bridge {self.network.bridge}"
            )
        else:
            why = "not root" if os.geteuid() != 0 else "network namespaces disabled"
            self._say(f"nodes: one node, this host ({why}: no network namespaces)")

        infra = self.infra_group()
        self._start(infra)
        nats_url: list[str] = []

        def nats_ready() -> bool:
            url = self._nats_ready()
            if url:
                nats_url.append(url)
            return bool(url)

        self._wait("NATS", nats_ready, [infra])
        if self.etcd_members():
            self._wait("etcd quorum", self.etcd_healthy, [infra])
        endpoints = self._planned_endpoints(nats_url[-1])
        write_endpoints(self.settings.state_dir, endpoints)

        vizier = self.vizier_group(endpoints, key_text)
        self._start(vizier)
        for name, address in (
            ("metadata", endpoints.metadata),
            ("query broker", endpoints.broker),
            ("kelvin", endpoints.kelvin),
        ):
            self._wait(f"{name} health", _serving(address), [vizier])

        pems = [self.pem_group(node, endpoints, key_text) for node in self.nodes()]
        for pem in pems:
            self._start(pem)
        self._wait("agents registered", lambda: self.agents_ready(endpoints, key), [vizier, *pems])
        self._say(f"vizier ready: broker {endpoints.broker}, metadata {endpoints.metadata}")
        if self.options.ebpf:
            # A PxL query per poll: every 2 s is plenty while bcc compiles (tens of seconds).
            self._wait(
                "socket tracers attached",
                lambda: self.tracers_ready(endpoints, key),
                [vizier, *pems],
                poll_s=_TRACER_POLL_S,
            )

        if self.options.demo_app:
            dsn: list[str] = []

            def postgres_ready() -> bool:
                try:
                    found = self._postgres_dsn()
                except PROBE_ERRORS:
                    return False
                if found:
                    dsn.append(found)
                return bool(found)

            self._wait("PostgreSQL", postgres_ready, [infra])
            demos = self.demo_groups(dsn[-1])
            for demo in demos:
                self._start(demo)
            self._wait("demo app", lambda: http_answers(self.frontend_url() + "/"), demos)
            self._say(f"demo app: frontend {self.frontend_url()} (loadgen running)")
        return endpoints

    def _start(self, group: GroupSpec) -> None:
        # A running group's supervisor restarts its processes; only a changed spec restarts it.
        ensure_group(group)

    def stop_group_named(self, name: str) -> bool:
        for group in self.all_groups():
            if group.name == name:
                return stop_group(group)
        raise DevstackError(f"no group {name!r}; groups: {[g.name for g in self.all_groups()]}")

    def down(self) -> list[str]:
        """Stop every group (demo first, infra last) and remove the namespaces; say what."""
        stopped = [g.name for g in reversed(self.all_groups()) if stop_group(g)]
        removed = self.network.down() if self.network.record_path.exists() else []
        # Kept aside (not where `px` looks for a running vizier) so the next `up` reuses the ports.
        with contextlib.suppress(FileNotFoundError):
            (self.dir / "endpoints.json").replace(self._last_endpoints_path)
        return stopped + removed

    def status(self) -> list[GroupStatus]:
        return [
            GroupStatus(
                g.name,
                group_running(g),
                {p.name: process_pid(g, p.name) for p in g.processes},
                process_restarts(g),
            )
            for g in self.all_groups()
        ]
