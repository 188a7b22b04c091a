"""The cloud commands of ``px``: auth login, api-key, deploy-key, get viziers, deploy --local."""

from __future__ import annotations

import argparse
import http.server
import json
import threading
import time
import urllib.parse
import uuid
import webbrowser
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from pyxie_client.local import (
    LocalStackError,
    ca_cert_path,
    read_bootstrap,
    read_cloud_endpoints,
)
from pyxie_client.local import state_dir as local_state_dir
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.uuidpb import uuid_pb2

from pyxie_cli.cloud._credentials import CloudCredentials, CredentialsError, load, save
from pyxie_cli.cloud._plugins import (
    PLUGIN_COMMANDS,
    register_plugin_commands,
    run_plugin_command,
)

__all__ = ["COMMANDS", "CloudCommandError", "register", "run"]

COMMANDS = ("auth", "api-key", "deploy-key", "get", "deploy", "delete", *PLUGIN_COMMANDS)
_TIMEOUT_S = 15.0
# How long `px auth login` waits for the browser to come back.
_BROWSER_WAIT_S = 300.0


class CloudCommandError(Exception):
    """A cloud command failed in a way the user can act on."""


def _uuid_text(value: uuid_pb2.UUID) -> str:
    return str(uuid.UUID(int=(value.high_bits << 64) | value.low_bits))


def _uuid_pb(text: str) -> uuid_pb2.UUID:
    try:
        number = uuid.UUID(text).int
    except ValueError:
        raise CloudCommandError(f"{text!r} is not an id (a UUID)") from None
    return uuid_pb2.UUID(high_bits=number >> 64, low_bits=number & ((1 << 64) - 1))


def _when(stamp: Timestamp) -> str:
    if not stamp.seconds:
        return ""
    return datetime.fromtimestamp(stamp.seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _default_ca() -> str:
    """The cloud devstack's CA, when one runs on this host."""
    path = ca_cert_path(local_state_dir())
    return str(path) if path.exists() else ""


def _default_addr() -> str:
    try:
        return read_cloud_endpoints(local_state_dir()).api
    except LocalStackError:
        return "localhost:51200"


def _channel(addr: str, ca_cert: str) -> grpc.Channel:
    if ca_cert:
        roots = Path(ca_cert).read_bytes()
        return grpc.secure_channel(addr, grpc.ssl_channel_credentials(root_certificates=roots))
    return grpc.secure_channel(addr, grpc.ssl_channel_credentials())


def _describe(err: grpc.RpcError) -> str:
    code = err.code() if hasattr(err, "code") else None
    details = err.details() if hasattr(err, "details") else str(err)
    name = code.name if code is not None else "ERROR"
    return f"{name}: {details}"


class _Cloud:
    def __init__(self, args: argparse.Namespace) -> None:
        self.credentials = load(args.auth_file)
        addr = args.cloud_addr or self.credentials.cloud_addr
        ca = args.ca_cert or self.credentials.ca_cert
        self.channel = _channel(addr, ca)

    def call(self, method: Callable[..., Any], request: Any) -> Any:
        try:
            return method(request, metadata=self.credentials.metadata(), timeout=_TIMEOUT_S)
        except grpc.RpcError as err:
            raise CloudCommandError(_describe(err)) from None


# ---- output -------------------------------------------------------------------------------


def _print_rows(out: TextIO, rows: list[dict[str, Any]], fmt: str, columns: Sequence[str]) -> None:
    if fmt == "json":
        for row in rows:
            out.write(json.dumps(row) + "\n")
        return
    widths = {c: max([len(c), *(len(str(r.get(c, ""))) for r in rows)]) for c in columns}
    out.write("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip() + "\n")
    for row in rows:
        out.write("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns).rstrip() + "\n")


# ---- auth login -----------------------------------------------------------------------------


def _browser_token(http_addr: str, ca_cert: str, err: TextIO, open_browser: bool) -> str:
    """Run the OIDC login in a browser; the api hands the token to a loopback server here."""
    received: dict[str, str] = {}
    done = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            token = query.get("token", [""])[0]
            if token:
                received["token"] = token
                done.set()
            self.send_response(200 if token else 400)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(
                b"px is logged in; you may close this tab.\n" if token else b"no token\n"
            )

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        callback = f"http://127.0.0.1:{server.server_address[1]}/auth_complete"
        url = f"https://{http_addr}/api/auth/oidc/login?" + urllib.parse.urlencode(
            {"cli_redirect": callback}
        )
        err.write(f"Open this URL to log in (waiting for the browser):\n  {url}\n")
        if open_browser:
            webbrowser.open(url)
        if not done.wait(_BROWSER_WAIT_S):
            raise CloudCommandError("the browser login did not finish in time")
    finally:
        server.shutdown()
        server.server_close()
    return received["token"]


def _auth_login(args: argparse.Namespace, out: TextIO, err: TextIO, read: Callable[[], str]) -> int:
    addr = args.cloud_addr or _default_addr()
    ca = args.ca_cert or _default_ca()
    channel = _channel(addr, ca)
    stub = cpb_grpc.AuthServiceStub(channel)
    try:
        if args.api_key:
            reply = stub.Login(
                cpb.LoginRequest(),
                metadata=(("pixie-api-key", str(args.api_key)),),
                timeout=_TIMEOUT_S,
            )
            credentials = CloudCredentials(addr, api_key=args.api_key, ca_cert=ca)
        else:
            if args.manual:
                http_addr = args.http_addr or addr.rsplit(":", 1)[0] + ":51280"
                err.write(
                    f"Log in at https://{http_addr}/api/auth/oidc/login, then paste the token:\n"
                )
                token = read().strip()
            else:
                http_addr = args.http_addr or addr.rsplit(":", 1)[0] + ":51280"
                token = _browser_token(http_addr, ca, err, not args.no_browser)
            reply = stub.Login(cpb.LoginRequest(access_token=token), timeout=_TIMEOUT_S)
            credentials = CloudCredentials(
                addr, token=reply.token, expires_at=reply.expires_at, ca_cert=ca
            )
    except grpc.RpcError as error:
        raise CloudCommandError(f"login failed: {_describe(error)}") from None
    finally:
        channel.close()
    path = save(credentials, args.auth_file)
    out.write(f"Logged in to {addr}; credentials in {path}\n")
    del reply
    return 0


# ---- keys -----------------------------------------------------------------------------------


def _keys(args: argparse.Namespace, out: TextIO, *, deploy: bool) -> int:
    cloud = _Cloud(args)
    stub: Any = (
        cpb_grpc.VizierDeploymentKeyManagerStub(cloud.channel)
        if deploy
        else cpb_grpc.APIKeyManagerStub(cloud.channel)
    )
    if args.key_command == "create":
        request = (
            cpb.CreateDeploymentKeyRequest(desc=args.desc)
            if deploy
            else cpb.CreateAPIKeyRequest(desc=args.desc)
        )
        key = cloud.call(stub.Create, request)
        if args.short:
            out.write(key.key + "\n")
        else:
            out.write(f"Generated key {_uuid_text(key.id)}\nKey: {key.key}\n")
        return 0
    if args.key_command == "list":
        listing: Any = cpb.ListDeploymentKeyRequest() if deploy else cpb.ListAPIKeyRequest()
        listed = cloud.call(stub.List, listing)
        rows = [
            {
                "id": _uuid_text(k.id),
                "key": "<hidden>",
                "createdAt": _when(k.created_at),
                "description": k.desc,
            }
            for k in listed.keys
        ]
        _print_rows(out, rows, args.output, ("id", "key", "createdAt", "description"))
        return 0
    cloud.call(stub.Delete, _uuid_pb(args.id))
    out.write(f"Deleted key {args.id}\n")
    return 0


# ---- viziers ---------------------------------------------------------------------------------


def _get_viziers(args: argparse.Namespace, out: TextIO) -> int:
    cloud = _Cloud(args)
    response = cloud.call(
        cpb_grpc.VizierClusterInfoStub(cloud.channel).GetClusterInfo, cpb.GetClusterInfoRequest()
    )
    rows = [
        {
            "clusterName": c.cluster_name,
            "id": _uuid_text(c.id),
            "vizierVersion": c.vizier_version,
            "lastHeartbeat": f"{c.lastHeartbeatNs / 1e9:.0f}s ago" if c.lastHeartbeatNs else "",
            "status": cpb.ClusterStatus.Name(c.status).removeprefix("CS_"),
            "statusMessage": c.status_message,
        }
        for c in response.clusters
    ]
    columns = ("clusterName", "id", "vizierVersion", "lastHeartbeat", "status", "statusMessage")
    _print_rows(out, rows, args.output, columns)
    return 0


def _get_cluster(args: argparse.Namespace, out: TextIO) -> int:
    cloud = _Cloud(args)
    request = cpb.GetClusterInfoRequest(id=_uuid_pb(args.id)) if args.id else None
    response = cloud.call(
        cpb_grpc.VizierClusterInfoStub(cloud.channel).GetClusterInfo,
        request or cpb.GetClusterInfoRequest(),
    )
    clusters = list(response.clusters)
    if not clusters:
        raise CloudCommandError("your org has no vizier yet; deploy one with `px deploy`")
    if len(clusters) > 1:
        raise CloudCommandError(
            f"your org has {len(clusters)} viziers: pick one with --id (see `px get viziers`)"
        )
    c = clusters[0]
    row = {
        "id": _uuid_text(c.id),
        "clusterName": c.cluster_name,
        "prettyName": c.pretty_cluster_name,
        "clusterUID": c.cluster_uid,
        "status": cpb.ClusterStatus.Name(c.status).removeprefix("CS_"),
        "statusMessage": c.status_message,
        "vizierVersion": c.vizier_version,
        "nodes": c.num_nodes,
        "instrumentedNodes": c.num_instrumented_nodes,
        "lastHeartbeat": f"{c.lastHeartbeatNs / 1e9:.0f}s ago" if c.lastHeartbeatNs else "",
        "passthrough": c.config.passthrough_enabled,
    }
    if args.output == "json":
        out.write(json.dumps(row) + "\n")
        return 0
    width = max(len(key) for key in row)
    for key, value in row.items():
        out.write(f"{key.ljust(width)}  {value}\n")
    return 0


def _deploy_local(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not args.local:
        # The vizier chart onto the current kubectl context, or onto this host (--podman).
        from pyxie_cli.kube import KubeError
        from pyxie_cli.kube.deploy import deploy

        try:
            return deploy(args, out, err)
        except KubeError as exc:
            raise CloudCommandError(str(exc)) from None
    # The standalone vizier's processes are the devstack's: an optional extra of the CLI
    # (`pyxie-cli[devstack]`), so that installing `px` alone brings no database or broker.
    try:
        from pyxie_devstack import DevstackError, load_settings
        from pyxie_devstack.cloud import CloudStack
    except ModuleNotFoundError as exc:
        if exc.name != "pyxie_devstack":
            raise
        raise CloudCommandError(
            "`px deploy --local` runs the local devstack, which is not installed: "
            "install pyxie-cli[devstack] (a workspace checkout has it after `uv sync`)"
        ) from None

    settings = load_settings()
    try:
        key = args.deploy_key or read_bootstrap(settings.state_dir).deploy_key

        def say(line: str) -> None:
            err.write(line + "\n")

        vizier_id = CloudStack(settings, say=say).connect_local_vizier(
            key, args.cluster_name or "local"
        )
    except (DevstackError, LocalStackError) as exc:
        raise CloudCommandError(str(exc)) from None
    out.write(f"Vizier {vizier_id} registered; `px get viziers` shows its status\n")
    if args.wait:
        cloud = _Cloud(args)
        stub = cpb_grpc.VizierClusterInfoStub(cloud.channel)
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline:
            info = cloud.call(
                stub.GetClusterInfo, cpb.GetClusterInfoRequest(id=_uuid_pb(vizier_id))
            )
            if info.clusters and info.clusters[0].status == cpb.CS_HEALTHY:
                out.write("Vizier is HEALTHY\n")
                return 0
            time.sleep(1)
        raise CloudCommandError(f"vizier {vizier_id} is not HEALTHY after {args.wait:.0f}s")
    return 0


# ---- registration ----------------------------------------------------------------------------


def register(sub: Any) -> None:
    """Add the cloud commands to ``px``'s subparsers."""

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--cloud-addr", default="", help="cloud api host:port")
        parser.add_argument("--ca-cert", default="", help="PEM CA the cloud's certificate uses")
        parser.add_argument("--auth-file", type=Path, default=None, help=argparse.SUPPRESS)

    auth = sub.add_parser("auth", help="log in to a Pyxie cloud")
    auth_sub = auth.add_subparsers(dest="auth_command", required=True)
    login = auth_sub.add_parser("login", help="log in (browser, --manual or --api-key)")
    common(login)
    login.add_argument("--manual", action="store_true", help="paste a token instead")
    login.add_argument("--api-key", default="", help="log in with an API key")
    login.add_argument("--http-addr", default="", help="the cloud's HTTP (browser) host:port")
    login.add_argument("--no-browser", action="store_true", help="print the URL only")

    for name, noun in (("api-key", "API keys"), ("deploy-key", "deploy keys")):
        keys = sub.add_parser(name, help=f"manage {noun}")
        keys_sub = keys.add_subparsers(dest="key_command", required=True)
        create = keys_sub.add_parser("create", help=f"create one of your org's {noun}")
        common(create)
        create.add_argument("-d", "--desc", default="")
        create.add_argument("-s", "--short", action="store_true", help="print only the key")
        listing = keys_sub.add_parser("list", help=f"list your org's {noun}")
        common(listing)
        listing.add_argument("-o", "--output", choices=["table", "json"], default="table")
        delete = keys_sub.add_parser("delete", help="delete a key by id")
        common(delete)
        delete.add_argument("-i", "--id", required=True)

    get = sub.add_parser("get", help="show cloud resources")
    get_sub = get.add_subparsers(dest="get_command", required=True)
    for alias in ("viziers", "clusters"):
        viziers = get_sub.add_parser(alias, help="your org's viziers")
        common(viziers)
        viziers.add_argument("-o", "--output", choices=["table", "json"], default="table")
    cluster = get_sub.add_parser(
        "cluster",
        help="one vizier in detail (the only one, or --id)",
        epilog="examples:\n  px get cluster\n  px get cluster --id <cluster id> -o json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common(cluster)
    cluster.add_argument("-i", "--id", default="", help="cluster id (see px get viziers)")
    cluster.add_argument("-o", "--output", choices=["table", "json"], default="table")
    pems = get_sub.add_parser(
        "pems",
        help="the vizier's agents (PEMs and Kelvin) and their state",
        epilog="examples:\n  px get pems\n  px get pems -c <cluster id>\n  px get pems -o json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common(pems)
    pems.add_argument("-c", "--cluster", help="cluster id: through the cloud")
    pems.add_argument("--direct", metavar="ADDRESS", help="query broker host:port")
    pems.add_argument("--token", help="vizier token for --direct")
    pems.add_argument("--api-key", help="API key (default: $PX_API_KEY)")
    pems.add_argument(
        "-e", "--e2e-encryption", dest="encrypt", action=argparse.BooleanOptionalAction
    )
    pems.add_argument("--timeout", type=float, default=None, metavar="SECONDS")
    pems.add_argument("-o", "--output", choices=["table", "json", "csv"], default="table")

    deploy = sub.add_parser(
        "deploy", help="deploy a vizier (Kubernetes, --podman on this host, or --local)"
    )
    common(deploy)
    deploy.add_argument("--local", action="store_true", help="the standalone vizier here")
    deploy.add_argument("-k", "--deploy-key", default="")
    deploy.add_argument("-u", "--cluster-name", default="")
    delete = sub.add_parser("delete", help="remove the vizier `px deploy` made")
    from pyxie_cli.kube.deploy import add_arguments

    add_arguments(deploy, delete)
    deploy.add_argument("--wait", type=float, default=0.0, help="seconds to wait for HEALTHY")
    register_plugin_commands(sub, common)


class _Helpers:
    """What the plugin commands share with the others (output, ids)."""

    print_rows = staticmethod(_print_rows)
    uuid_text = staticmethod(_uuid_text)
    uuid_pb = staticmethod(_uuid_pb)


def run(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    read: Callable[[], str] = input,
) -> int:
    """Run a cloud command; 0 on success, 1 when it failed (the reason on ``err``)."""
    try:
        if args.command == "auth":
            return _auth_login(args, out, err, read)
        if args.command in ("api-key", "deploy-key"):
            return _keys(args, out, deploy=args.command == "deploy-key")
        if args.command == "get":
            if args.get_command == "cluster":
                return _get_cluster(args, out)
            return _get_viziers(args, out)
        if args.command == "deploy":
            return _deploy_local(args, out, err)
        if args.command in PLUGIN_COMMANDS:
            try:
                return run_plugin_command(args, out, _Cloud(args), _Helpers)
            except ValueError as exc:
                raise CloudCommandError(str(exc)) from None
        if args.command == "delete":
            from pyxie_cli.kube import KubeError
            from pyxie_cli.kube.deploy import delete

            try:
                return delete(args, out, err)
            except KubeError as exc:
                raise CloudCommandError(str(exc)) from None
    except (CloudCommandError, CredentialsError) as exc:
        err.write(f"px: {exc}\n")
        return 1
    raise ValueError(f"not a cloud command: {args.command}")
