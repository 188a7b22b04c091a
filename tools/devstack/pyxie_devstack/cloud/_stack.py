"""The cloud control plane on one host: NATS, PostgreSQL, auth, vzmgr, vzconn, plugin and api.

Two supervised groups (as the standalone vizier's; a process that exits is restarted alone, with
backoff, on the same ports): ``cloud-infra`` (NATS with JetStream, PostgreSQL) and
``cloud-services`` (the four services, started once the infra answers, so that they do not
crash-loop while it starts). Services share one PostgreSQL database; each keeps its own
migration table.
TLS everywhere the public and the vizier bridge meet (api, vzconn) from the local CA in
``<state>/cloud/tls``. ``connect_local_vizier`` adds a third group, the standalone vizier's
cloud_connector, registered with a deploy key (``px deploy --local``).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pyxie_client.local import LocalStackError
from pyxie_crypto import ensure_local_ca
from pyxie_jwt import SigningKey, service_claims, sign_token
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2, vzmgr_pb2_grpc

from pyxie_devstack._errors import DevstackError, StartError
from pyxie_devstack._process import free_port, port_is_free
from pyxie_devstack.cloud._state import (
    Bootstrap,
    CloudEndpoints,
    ca_cert_path,
    cloud_dir,
    ensure_secret,
    read_bootstrap,
    read_cloud_endpoints,
    tls_dir,
    write_private_json,
)
from pyxie_devstack.nats_server import NatsServer
from pyxie_devstack.postgres_server import PostgresServer
from pyxie_devstack.settings import DevstackSettings
from pyxie_devstack.supervise import (
    GroupSpec,
    ProcessSpec,
    crash_looping,
    ensure_group,
    group_running,
    process_pid,
    process_restarts,
    restart_process,
    stop_group,
)

__all__ = ["DEFAULT_DOMAIN", "CloudStack", "GroupStatus"]

DEFAULT_DOMAIN = "pyxie.local"
# Pixie's ports; a busy one (a second stack, tests) is replaced by a free one.
_PREFERRED_PORTS = {
    "auth": 50100,
    "plugin": 50600,
    "api": 51200,
    "api_http": 51280,
    "vzconn": 51600,
    "vzmgr": 51800,
    "artifact_tracker": 50750,
}
_READY_POLL_S = 0.2
_PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class GroupStatus:
    name: str
    running: bool
    pids: dict[str, int | None]
    restarts: dict[str, int] = field(default_factory=dict)


def _python_module(module: str, *args: str) -> tuple[str, ...]:
    return (sys.executable, "-m", module, *args)


def _health_serving(address: str, ca: Path | None) -> bool:
    try:
        if ca is None:
            channel = grpc.insecure_channel(address)
        else:
            creds = grpc.ssl_channel_credentials(root_certificates=ca.read_bytes())
            channel = grpc.secure_channel(address, creds)
        with channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=_PROBE_TIMEOUT_S
            )
    except (grpc.RpcError, OSError):
        return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


class CloudStack:
    """The cloud devstack under ``settings.state_dir/cloud``."""

    def __init__(
        self,
        settings: DevstackSettings,
        *,
        domain: str = DEFAULT_DOMAIN,
        ready_timeout_s: float = 120.0,
        extra_env: dict[str, dict[str, str]] | None = None,
        say: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.domain = domain
        self.ready_timeout_s = ready_timeout_s
        self.extra_env = extra_env or {}
        self._say = say
        self.dir = cloud_dir(settings.state_dir)
        self.run_dir = self.dir / "run"
        self.log_dir = self.dir / "logs"

    # -- groups ------------------------------------------------------------------------------

    def _group(self, name: str, processes: list[ProcessSpec]) -> GroupSpec:
        return GroupSpec(name, tuple(processes), self.run_dir, self.log_dir)

    def infra_group(self) -> GroupSpec:
        env = {
            "PL_STATE_DIR": str(self.settings.state_dir),
            "PL_PG_RUN_AS_USER": self.settings.pg_run_as_user,
            "PYTHONUNBUFFERED": "1",
        }
        serve = _python_module("pyxie_devstack.cloud", "serve")
        return self._group(
            "cloud-infra",
            [
                ProcessSpec("cloud-nats", (*serve, "nats", "--dir", str(self.dir)), env),
                ProcessSpec("cloud-postgres", (*serve, "postgres", "--dir", str(self.dir)), env),
            ],
        )

    def services_group(self, endpoints: CloudEndpoints, dsn: str) -> GroupSpec:
        jwt_key = ensure_secret(self.dir / "jwt_signing_key", "hex")
        database_key = ensure_secret(self.dir / "database_key", "base64")
        base = {
            "PL_JWT_SIGNING_KEY": jwt_key,
            "PL_JWT_AUDIENCE": self.domain,
            "PL_DOMAIN_NAME": self.domain,
            "PL_NATS_URL": endpoints.nats,
            "PL_GRPC_HOST": "127.0.0.1",
            "PL_METRICS_HOST": "127.0.0.1",
            "PL_METRICS_PORT": "0",
            "PL_LOG_FORMAT": "console",
            "PYTHONUNBUFFERED": "1",
        }

        def port(address: str) -> str:
            return address.rsplit(":", 1)[1]

        tls = str(tls_dir(self.settings.state_dir))
        specs = {
            "auth": base
            | {
                "PL_GRPC_PORT": port(endpoints.auth),
                "PL_POSTGRES_DSN": dsn,
                "PL_DATABASE_KEY": database_key,
            },
            "vzmgr": base
            | {
                "PL_GRPC_PORT": port(endpoints.vzmgr),
                "PL_DATABASE_URL": dsn,
                "PL_DATABASE_KEY": database_key,
                "PL_ARTIFACT_TRACKER_ADDR": endpoints.artifact_tracker,
            },
            # The release manifest to track: PL_ARTIFACT_MANIFEST_URL from the environment
            # (or `extra_env`); without one the tracker lists nothing.
            "artifact_tracker": base
            | {
                "PL_GRPC_PORT": port(endpoints.artifact_tracker),
                "PL_ARTIFACT_MANIFEST_URL": os.environ.get("PL_ARTIFACT_MANIFEST_URL", ""),
            },
            "plugin": base
            | {
                "PL_GRPC_PORT": port(endpoints.plugin),
                "PL_DATABASE_URL": dsn,
                "PL_DATABASE_KEY": database_key,
                "PL_VZMGR_ADDR": endpoints.vzmgr,
            },
            "vzconn": base
            | {
                "PL_GRPC_HOST": "0.0.0.0",
                "PL_GRPC_PORT": port(endpoints.vzconn),
                "PL_VZMGR_ADDR": endpoints.vzmgr,
                "PL_TLS_CA_DIR": tls,
            },
            "api": base
            | {
                "PL_GRPC_HOST": "0.0.0.0",
                "PL_GRPC_PORT": port(endpoints.api),
                "PL_HTTP_HOST": "127.0.0.1",
                "PL_HTTP_PORT": port(endpoints.api_http),
                "PL_AUTH_ADDR": endpoints.auth,
                "PL_VZMGR_ADDR": endpoints.vzmgr,
                "PL_ARTIFACT_TRACKER_ADDR": endpoints.artifact_tracker,
                "PL_PLUGIN_ADDR": endpoints.plugin,
                "PL_TLS_CA_DIR": tls,
                # What ConfigService tells viziers to dial: this host's vzconn.
                "PL_VIZIER_CLOUD_ADDR": endpoints.vzconn,
            },
        }
        module = {
            "auth": "pyxie_auth",
            "vzmgr": "pyxie_vzmgr",
            "vzconn": "pyxie_vzconn",
            "artifact_tracker": "pyxie_artifact_tracker",
            "plugin": "pyxie_plugin",
        }
        processes = [
            ProcessSpec(
                name,
                _python_module(module.get(name, "pyxie_api")),
                env | self.extra_env.get(name, {}),
            )
            for name, env in specs.items()
        ]
        return self._group("cloud-services", processes)

    def all_groups(self) -> list[GroupSpec]:
        groups = [self.infra_group()]
        spec = self.run_dir / "cloud-services.json"
        if spec.exists():
            groups.append(GroupSpec.from_json(spec.read_text()))
        connector = self.run_dir / "cloud-connector.json"
        if connector.exists():
            groups.append(GroupSpec.from_json(connector.read_text()))
        return groups

    # -- readiness ---------------------------------------------------------------------------

    def _wait(self, what: str, ready: Callable[[], bool], groups: list[GroupSpec]) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        while not ready():
            for group in groups:
                dead = crash_looping(group)
                if dead:
                    logs = ", ".join(str(self.log_dir / f"{name}.log") for name in dead)
                    raise StartError(f"{what}: {', '.join(dead)} keeps exiting; see {logs}")
            if time.monotonic() >= deadline:
                raise StartError(f"{what}: not ready after {self.ready_timeout_s:.0f}s")
            time.sleep(_READY_POLL_S)

    def _nats_url(self) -> str | None:
        component = NatsServer(self.dir)
        try:
            ports = json.loads((component.dir / "ports.json").read_text())
            endpoint = component.make_endpoint({k: int(v) for k, v in ports.items()})
        except (OSError, ValueError, KeyError):
            return None
        return endpoint.url if component.is_ready(endpoint) else None

    def _postgres_dsn(self) -> str | None:
        component = PostgresServer(self.dir)
        try:
            ports = json.loads((component.dir / "ports.json").read_text())
            endpoint = component.make_endpoint({k: int(v) for k, v in ports.items()})
        except (OSError, ValueError, KeyError):
            return None
        return endpoint.dsn if component.is_ready(endpoint) else None

    def _plan_endpoints(self, nats_url: str) -> CloudEndpoints:
        try:
            previous: CloudEndpoints | None = read_cloud_endpoints(self.settings.state_dir)
        except (DevstackError, LocalStackError):
            previous = None
        chosen: dict[str, int] = {}
        for name, preferred in _PREFERRED_PORTS.items():
            recorded = getattr(previous, name, "") if previous else ""
            old = int(recorded.rsplit(":", 1)[1]) if recorded else None
            for candidate in (old, preferred):
                if (
                    candidate
                    and candidate not in chosen.values()
                    and port_is_free("127.0.0.1", candidate)
                ):
                    chosen[name] = candidate
                    break
            else:
                port = free_port("127.0.0.1")
                while port in chosen.values():
                    port = free_port("127.0.0.1")
                chosen[name] = port
        return CloudEndpoints(
            api=f"localhost:{chosen['api']}",
            api_http=f"localhost:{chosen['api_http']}",
            auth=f"127.0.0.1:{chosen['auth']}",
            vzmgr=f"127.0.0.1:{chosen['vzmgr']}",
            plugin=f"127.0.0.1:{chosen['plugin']}",
            vzconn=f"localhost:{chosen['vzconn']}",
            nats=nats_url,
            domain=self.domain,
            artifact_tracker=f"127.0.0.1:{chosen['artifact_tracker']}",
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def _start(self, group: GroupSpec) -> None:
        # A running group's supervisor restarts its processes; only a changed spec restarts it.
        ensure_group(group)

    def up(self, *, bootstrap: bool = True) -> CloudEndpoints:
        """Start what is not running, wait until every service is SERVING, bootstrap the demo."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        infra = self.infra_group()
        self._start(infra)
        found: dict[str, str] = {}

        def probe(name: str, read: Callable[[], str | None]) -> Callable[[], bool]:
            def ready() -> bool:
                value = read()
                if value:
                    found[name] = value
                return bool(value)

            return ready

        self._wait("cloud NATS", probe("nats", self._nats_url), [infra])
        self._wait("cloud PostgreSQL", probe("dsn", self._postgres_dsn), [infra])
        services_spec = self.run_dir / "cloud-services.json"
        running = group_running(GroupSpec("cloud-services", (), self.run_dir, self.log_dir))
        if running and services_spec.exists():
            endpoints = read_cloud_endpoints(self.settings.state_dir)
            services = GroupSpec.from_json(services_spec.read_text())
        else:
            endpoints = self._plan_endpoints(found["nats"])
            services = self.services_group(endpoints, found["dsn"])
        write_private_json(self.dir / "endpoints.json", endpoints.__dict__)
        # Made here, before api and vzconn start: both would otherwise race to create it.
        ensure_local_ca(tls_dir(self.settings.state_dir))
        self._start(services)
        ca = ca_cert_path(self.settings.state_dir)
        for name, address, tls in (
            ("auth", endpoints.auth, False),
            ("vzmgr", endpoints.vzmgr, False),
            ("artifact tracker", endpoints.artifact_tracker, False),
            ("plugin", endpoints.plugin, False),
            ("vzconn", endpoints.vzconn, True),
            ("api", endpoints.api, True),
        ):
            if not address:
                continue  # a stack recorded before the service existed (restart it to add it)

            def serving(address: str = address, tls: bool = tls) -> bool:
                if tls and not ca.exists():
                    return False
                return _health_serving(address, ca if tls else None)

            self._wait(f"{name} health", serving, [infra, services])
        self._say(f"cloud ready: api {endpoints.api} (TLS, CA {ca}), vzconn {endpoints.vzconn}")
        if bootstrap:
            demo = self.bootstrap(endpoints)
            self._say(
                f"demo org {demo.org_name}: admin {demo.email} / {demo.password}\n"
                f"  API key    {demo.api_key}\n  deploy key {demo.deploy_key}\n"
                f"  (kept in {self.dir / 'bootstrap.json'}, mode 0600)"
            )
        return endpoints

    def bootstrap(self, endpoints: CloudEndpoints) -> Bootstrap:
        """The demo org + admin + API key + deploy key (reused when it still works)."""
        from pyxie_devstack.cloud._bootstrap import create_demo_org, still_valid

        try:
            existing = read_bootstrap(self.settings.state_dir)
        except (DevstackError, LocalStackError):
            existing = None
        ca = ca_cert_path(self.settings.state_dir).read_bytes()
        if existing is not None and still_valid(existing, endpoints, ca):
            return existing
        demo = create_demo_org(
            endpoints,
            ca,
            jwt_key=ensure_secret(self.dir / "jwt_signing_key", "hex"),
            password=secrets.token_urlsafe(18),
        )
        write_private_json(self.dir / "bootstrap.json", demo.to_dict())
        return demo

    def restart_service(self, name: str) -> None:
        """Stop one service process; its supervisor starts it again (the others keep running).

        Returns once the new process runs (not necessarily SERVING yet).
        """
        spec = GroupSpec.from_json((self.run_dir / "cloud-services.json").read_text())
        old = process_pid(spec, name)
        if old is None or not group_running(spec):
            ensure_group(spec)
            return
        # SIGTERM, then SIGKILL after the grace period for a process that ignores it.
        restart_process(spec, name, timeout_s=self.ready_timeout_s)

    def down(self) -> list[str]:
        stopped = [g.name for g in reversed(self.all_groups()) if stop_group(g)]
        return stopped

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

    # -- the standalone vizier joins ----------------------------------------------------------

    def connector_group(
        self, endpoints: CloudEndpoints, deploy_key: str, cluster_name: str
    ) -> GroupSpec:
        from pyxie_devstack.vizier_state import read_endpoints, signing_key_path

        vizier = read_endpoints(self.settings.state_dir)
        env = {
            "PL_CLOUD_ADDR": endpoints.vzconn,
            "PL_CLOUD_CA_CERT_FILE": str(ca_cert_path(self.settings.state_dir)),
            # Published by `cloud revoke-cert`; checked before each bridge connection.
            "PL_CLOUD_CRL_FILE": str(tls_dir(self.settings.state_dir) / "ca.crl"),
            "PL_DEPLOY_KEY": deploy_key,
            "PL_CLUSTER_NAME": cluster_name,
            "PL_STATE_FILE": str(self.dir / "connector" / "identity.json"),
            "PL_JWT_KEY_FILE": str(signing_key_path(self.settings.state_dir)),
            "PL_NATS_URL": vizier.nats,
            "PL_BROKER_ADDR": vizier.broker,
            "PL_GRPC_HOST": "127.0.0.1",
            "PL_GRPC_PORT": "0",
            "PL_METRICS_PORT": "0",
            "PL_LOG_FORMAT": "console",
            "PYTHONUNBUFFERED": "1",
        } | self.extra_env.get("cloud-connector", {})
        return self._group(
            "cloud-connector",
            [ProcessSpec("cloud-connector", _python_module("pyxie_cloud_connector"), env)],
        )

    def connect_local_vizier(self, deploy_key: str, cluster_name: str) -> str:
        """Register the standalone vizier with this cloud; returns its vizier id.

        The cloud issues the vizier its JWT key at registration; the connector writes it over
        the standalone vizier's key file, so the vizier's services are restarted to use it.
        """
        from pyxie_devstack.vizier import VizierStack

        endpoints = read_cloud_endpoints(self.settings.state_dir)
        identity_path = self.dir / "connector" / "identity.json"
        identity_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        group = self.connector_group(endpoints, deploy_key, cluster_name)
        fresh = not identity_path.exists()
        # Restarts a connector that runs with another broker address or NATS URL.
        self._start(group)
        self._wait("vizier registration", identity_path.exists, [group])
        identity = json.loads(identity_path.read_text())
        if fresh:
            self._say("vizier registered; restarting its services with the cloud-issued key")
            stack = VizierStack(self.settings)
            stack.down()
            stack.up()
            # The restarted vizier may listen elsewhere: point the connector at it afresh.
            stop_group(group)
            group = self.connector_group(endpoints, deploy_key, cluster_name)
            self._start(group)
        vizier_id = str(identity["vizier_id"])
        self.wait_vizier_healthy(endpoints, vizier_id, [group])
        return vizier_id

    def vizier_info(self, endpoints: CloudEndpoints, vizier_id: str) -> vzmgr_pb2.VizierInfo:
        """What the cloud (vzmgr) knows about a vizier: status and last heartbeat."""
        token = sign_token(
            service_claims(service_id="devstack", audience=endpoints.domain),
            SigningKey(ensure_secret(self.dir / "jwt_signing_key", "hex")),
        )
        with grpc.insecure_channel(endpoints.vzmgr) as channel:
            reply: vzmgr_pb2.VizierInfo = vzmgr_pb2_grpc.VZMgrServiceStub(channel).GetVizierInfo(
                vzmgr_pb2.GetVizierInfoRequest(vizier_id=vizier_id),
                metadata=(("authorization", f"bearer {token}"),),
                timeout=_PROBE_TIMEOUT_S,
            )
        return reply

    def wait_vizier_healthy(
        self, endpoints: CloudEndpoints, vizier_id: str, groups: list[GroupSpec]
    ) -> None:
        """Wait for a heartbeat, sent after now, that says HEALTHY.

        The connector's health checker reports HEALTHY only while the broker at the address it
        was given answers, and heartbeats reach the cloud only over a live bridge: so this
        proves both, where "registered" alone proved neither.
        """
        since_ns = time.time_ns()
        last: list[str] = ["no answer from vzmgr"]

        def healthy() -> bool:
            try:
                info = self.vizier_info(endpoints, vizier_id)
            except grpc.RpcError as err:
                last.append(f"vzmgr: {err.code().name} {err.details()}")
                return False
            status = cvmsgs_pb2.VizierStatus.Name(info.status)
            last.append(f"{status} {info.status_message}".strip())
            return info.last_heartbeat_ns > since_ns and info.status == cvmsgs_pb2.VZ_ST_HEALTHY

        try:
            self._wait("vizier healthy in the cloud", healthy, groups)
        except StartError as exc:
            raise StartError(f"{exc}; the cloud last saw: {last[-1]}") from None
