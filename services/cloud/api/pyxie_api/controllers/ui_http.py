"""The web UI's HTTP surface on the api's sanic app (same origin as the built pages).

* Every response carries a strict Content-Security-Policy (no inline script, no eval) and the
  usual hardening headers.
* `GET /api/ui/config` (public): what the login page may offer (OIDC or not).
* `GET /api/ui/session`, `/api/ui/clusters`, `/api/ui/scripts`: the session's caller, its
  clusters, the bundled scripts with their vis specs.
* `POST /api/ui/execute` → an NDJSON stream of one query through the cloud passthrough. With
  `encryption.jwk` (the page's WebCrypto RSA-OAEP-256 public key) the rows travel only as the
  broker's JWE compact tokens, decrypted by the page; a plaintext batch on such a query ends the
  stream with an error instead of being forwarded.
* API keys and deploy keys: list / create (the value is shown once) / delete.
* Users and invites, org settings, the audit log and plugins: `controllers.ui_admin`.
* `POST /api/ui/logout`: revokes the session at auth, forgets it here, clears the cookie.

Authentication is the `__Host-pyxie-session` cookie of `controllers.http`. CSRF: every
state-changing `/api/ui/` call must echo the `__Host-pyxie-csrf` cookie (readable by the page,
SameSite=Strict) in `X-CSRF-Token` (double submit); a cross-site page can neither read the cookie
nor set that header without a CORS preflight, which is never granted.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import mimetypes
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import grpc
from pyxie_crypto import CryptoError, load_rsa_public_jwk
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.cloud.authpb import auth_pb2
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2
from pyxie_service import ServiceError, get_logger
from sanic import Request, Sanic
from sanic import json as json_response
from sanic.response import BaseHTTPResponse, HTTPResponse, raw

from pyxie_api.controllers.backends import CloudBackends, call_backend
from pyxie_api.controllers.caller import Authenticator, Caller, acting_as
from pyxie_api.controllers.clusters import ClusterDirectory, cluster_info
from pyxie_api.controllers.ids import parse_uuid, uuid_from_pb, uuid_to_pb
from pyxie_api.controllers.keys import APIKeyManagerServicer, DeploymentKeyManagerServicer
from pyxie_api.controllers.passthrough import PassthroughProxy
from pyxie_api.controllers.plugins import PluginProxyServicer
from pyxie_api.controllers.ui_admin import admin_routes
from pyxie_api.controllers.ui_admin import signup as invited_signup

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "UiDeps",
    "register_ui_routes",
]

CSRF_COOKIE: Final = "pyxie-csrf"
CSRF_HEADER: Final = "x-csrf-token"
_SESSION_COOKIE: Final = "pyxie-session"
# Styles: Monaco and Vega set element styles at run time, which needs 'unsafe-inline' for
# styles only; scripts come from 'self' and nothing is evaluated (Vega runs its interpreter).
CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)
_SECURITY_HEADERS: Final = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
# A page's script is a few kB; anything near this is not someone typing.
_MAX_SCRIPT_CHARS: Final = 1_000_000
_MAX_EXEC_FUNCS: Final = 64
_HTTP_STATUS: Final = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 412,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}

_log = get_logger("pyxie.api.ui")


@dataclass(frozen=True)
class UiDeps:
    """What the UI routes use: the api's own backends, authenticator and passthrough."""

    backends: CloudBackends
    authenticator: Authenticator
    directory: ClusterDirectory
    proxy: PassthroughProxy
    # The built UI (`ui/dist`); None serves the API only.
    ui_dir: Path | None
    oidc_enabled: bool
    # The bundled scripts: name → {"name", "short", "long", "pxl", "vis"}.
    scripts: Callable[[], list[dict[str, Any]]]
    # PluginService (the plugins page); None: the page says this cloud runs none.
    plugins: PluginProxyServicer | None = None


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _cookie(request: Request, name: str) -> str:
    value = request.cookies.get(f"__Host-{name}")
    return value if isinstance(value, str) else ""


def _error(status: int, message: str) -> HTTPResponse:
    return json_response({"error": message}, status=status)


def _status_of(error: ServiceError) -> int:
    return _HTTP_STATUS.get(error.code, 500)


def bundled_scripts() -> list[dict[str, Any]]:
    """The bundled `px/` scripts as the UI lists them."""
    from pyxie_scripts import list_scripts, load_script

    scripts = []
    for name in list_scripts():
        script = load_script(name)
        scripts.append(
            {
                "name": script.name,
                "short": script.short,
                "long": script.long,
                "pxl": script.pxl,
                "vis": script.vis,
            }
        )
    return scripts


def _body(request: Request) -> dict[str, Any]:
    if request.content_type.split(";")[0].strip() != "application/json":
        raise _HttpError(415, "send a JSON body (Content-Type: application/json)")
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise _HttpError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _HttpError(400, "send a JSON object")
    return body


def _execute_request(body: dict[str, Any]) -> vpb.ExecuteScriptRequest:
    pxl = body.get("pxl")
    if not isinstance(pxl, str) or not pxl.strip():
        raise _HttpError(400, "send the PxL script in 'pxl'")
    if len(pxl) > _MAX_SCRIPT_CHARS:
        raise _HttpError(413, "the script is too large")
    cluster_id = body.get("clusterId")
    if not isinstance(cluster_id, str):
        raise _HttpError(400, "send the cluster in 'clusterId'")
    request = vpb.ExecuteScriptRequest(
        query_str=pxl,
        cluster_id=parse_uuid(cluster_id, "clusterId"),
        query_name=str(body.get("queryName") or ""),
    )
    funcs = body.get("execFuncs") or []
    if not isinstance(funcs, list) or len(funcs) > _MAX_EXEC_FUNCS:
        raise _HttpError(400, f"'execFuncs' must be a list of at most {_MAX_EXEC_FUNCS}")
    for func in funcs:
        if not isinstance(func, dict) or not isinstance(func.get("funcName"), str):
            raise _HttpError(400, "each exec func needs a 'funcName'")
        args = func.get("args") or {}
        if not isinstance(args, dict):
            raise _HttpError(400, "exec func 'args' must be an object of strings")
        request.exec_funcs.append(
            vpb.ExecuteScriptRequest.FuncToExecute(
                func_name=func["funcName"],
                output_table_prefix=str(func.get("outputTablePrefix") or ""),
                arg_values=[
                    vpb.ExecuteScriptRequest.FuncToExecute.ArgValue(name=str(k), value=str(v))
                    for k, v in args.items()
                ],
            )
        )
    encryption = body.get("encryption")
    if encryption is not None:
        jwk = encryption.get("jwk") if isinstance(encryption, dict) else None
        if not isinstance(jwk, dict):
            raise _HttpError(400, "'encryption.jwk' must be the page's public JWK")
        try:
            load_rsa_public_jwk(jwk)
        except CryptoError as exc:
            raise _HttpError(400, f"unusable public key: {exc}") from None
        request.encryption_options.CopyFrom(
            vpb.ExecuteScriptRequest.EncryptionOptions(
                jwk_key=json.dumps(jwk),
                key_alg="RSA-OAEP-256",
                content_alg="A256GCM",
                compression_alg="DEF",
            )
        )
    return request


def _column_json(column: vpb.Column) -> list[Any]:
    kind = column.WhichOneof("col_data")
    if kind == "string_data":
        return [v.decode("utf-8", "replace") for v in column.string_data.data]
    if kind == "uint128_data":
        return [f"{(v.high << 64) | v.low:032x}" for v in column.uint128_data.data]
    if kind is None:
        return []
    return list(getattr(column, kind).data)


def _stream_line(response: vpb.ExecuteScriptResponse, encrypted: bool) -> dict[str, Any]:
    """One NDJSON record for a reply; raises _HttpError on plaintext rows of an E2E query."""
    if response.status.code != 0:
        return _status_line(response.status)
    kind = response.WhichOneof("result")
    if kind == "meta_data":
        meta = response.meta_data
        return {
            "type": "meta",
            "id": meta.id,
            "name": meta.name,
            "columns": [
                {
                    "name": c.column_name,
                    "type": vpb.DataType.Name(c.column_type),
                    "semanticType": vpb.SemanticType.Name(c.column_semantic_type),
                }
                for c in meta.relation.columns
            ],
        }
    if kind == "data":
        data = response.data
        if data.encrypted_batch:
            return {"type": "jwe", "jwe": data.encrypted_batch.decode("ascii")}
        if data.HasField("batch"):
            if encrypted:
                raise _HttpError(502, "the cluster sent unencrypted rows; refusing to forward")
            batch = data.batch
            return {
                "type": "batch",
                "tableId": batch.table_id,
                "numRows": batch.num_rows,
                "eos": batch.eos,
                "cols": [_column_json(c) for c in batch.cols],
            }
        if data.HasField("execution_stats"):
            stats = data.execution_stats
            return {
                "type": "stats",
                "executionNs": stats.timing.execution_time_ns,
                "compilationNs": stats.timing.compilation_time_ns,
                "bytesProcessed": stats.bytes_processed,
                "recordsProcessed": stats.records_processed,
            }
    return {"type": "other"}


def _status_line(status: vpb.Status) -> dict[str, Any]:
    return {
        "type": "error",
        "code": status.code,
        "message": status.message,
        "compilerErrors": [
            {
                "line": d.compiler_error.line,
                "column": d.compiler_error.column,
                "message": d.compiler_error.message,
            }
            for d in status.error_details
            if d.HasField("compiler_error")
        ],
    }


def _static_file(ui_dir: Path, path: str) -> Path | None:
    """The file under `ui_dir` for a URL path, never outside it."""
    root = ui_dir.resolve()
    candidate = (root / path.lstrip("/")).resolve()
    if candidate != root and root not in candidate.parents:
        return None
    return candidate if candidate.is_file() else None


def register_ui_routes(app: Sanic[Any, Any], deps: UiDeps) -> None:
    """Add the UI's routes, headers and CSRF check to the api's sanic app."""

    @app.on_request
    async def csrf_check(request: Request) -> HTTPResponse | None:
        if request.method in _SAFE_METHODS or not request.path.startswith("/api/ui/"):
            return None
        cookie = _cookie(request, CSRF_COOKIE)
        header = request.headers.get(CSRF_HEADER, "")
        if not cookie or not hmac.compare_digest(cookie.encode(), header.encode()):
            return _error(403, "missing or wrong CSRF token; reload the page")
        return None

    async def security_headers(request: Request, response: BaseHTTPResponse) -> None:
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api/"):
            response.headers.setdefault("cache-control", "no-store")
        if not _cookie(request, CSRF_COOKIE):
            response.add_cookie(
                CSRF_COOKIE,
                secrets.token_urlsafe(32),
                path="/",
                secure=True,
                httponly=False,  # the page echoes it in X-CSRF-Token
                samesite="Strict",
                host_prefix=True,
            )

    app.register_middleware(security_headers, "response")

    async def session(request: Request) -> Caller:
        token = _cookie(request, _SESSION_COOKIE)
        if not token:
            raise _HttpError(401, "not signed in")
        try:
            return await deps.authenticator.authenticate([("authorization", f"bearer {token}")])
        except ServiceError:
            raise _HttpError(401, "your session has ended; sign in again") from None

    def handler(
        route: Callable[[Request, Caller], Awaitable[HTTPResponse | None]],
    ) -> Callable[..., Coroutine[Any, Any, HTTPResponse | None]]:
        async def wrapped(request: Request, **_path_params: str) -> HTTPResponse | None:
            try:
                caller = await session(request)
                with acting_as(caller):
                    return await route(request, caller)
            except _HttpError as exc:
                return _error(exc.status, exc.message)
            except ServiceError as exc:
                return _error(_status_of(exc), exc.message)

        wrapped.__name__ = route.__name__
        return wrapped

    @app.get("/api/ui/config")
    async def config(request: Request) -> HTTPResponse:
        return json_response({"oidc": deps.oidc_enabled})

    async def whoami(request: Request, caller: Caller) -> HTTPResponse:
        return json_response(
            {"userID": caller.user_id, "orgID": caller.org_id, "admin": caller.is_admin}
        )

    async def clusters(request: Request, caller: Caller) -> HTTPResponse:
        infos = [cluster_info(vz) for vz in await deps.directory.list(caller)]
        return json_response(
            {
                "clusters": [
                    {
                        "id": uuid_from_pb(c.id, "cluster id"),
                        "name": c.pretty_cluster_name or c.cluster_name,
                        "status": cpb.ClusterStatus.Name(c.status).removeprefix("CS_"),
                        "statusMessage": c.status_message,
                        "version": c.vizier_version,
                        "numNodes": c.num_nodes,
                        "numInstrumentedNodes": c.num_instrumented_nodes,
                        "sinceHeartbeatNs": c.lastHeartbeatNs,
                    }
                    for c in infos
                ]
            }
        )

    async def scripts(request: Request, caller: Caller) -> HTTPResponse:
        return json_response({"scripts": deps.scripts()})

    async def logout(request: Request) -> HTTPResponse:
        token = _cookie(request, _SESSION_COOKIE)
        if token:
            deps.authenticator.forget_token(token)
            try:
                await call_backend(
                    "auth",
                    deps.backends.auth.Logout(
                        auth_pb2.LogoutRequest(token=token),
                        metadata=deps.backends.metadata(),
                        timeout=deps.backends.timeout,
                    ),
                )
            except ServiceError as exc:
                _log.info("logout of an invalid session", reason=exc.message)
        response = json_response({"loggedOut": True})
        response.add_cookie(
            _SESSION_COOKIE,
            "",
            path="/",
            max_age=0,
            secure=True,
            httponly=True,
            samesite="Strict",
            host_prefix=True,
        )
        return response

    api_keys = APIKeyManagerServicer(deps.backends, deps.authenticator)
    deploy_keys = DeploymentKeyManagerServicer(deps.backends)

    def _key_json(key: Any) -> dict[str, Any]:
        return {
            "id": uuid_from_pb(key.id, "key id"),
            "desc": key.desc,
            "createdAtNs": key.created_at.ToNanoseconds(),
        }

    def _key_id(request: Request) -> Any:
        return uuid_to_pb(parse_uuid(str(request.match_info.get("key_id", "")), "key id"))

    async def list_api_keys(request: Request, caller: Caller) -> HTTPResponse:
        listed = await api_keys.List(cpb.ListAPIKeyRequest(), None)  # type: ignore[arg-type]
        return json_response({"keys": [_key_json(k) for k in listed.keys]})

    async def create_api_key(request: Request, caller: Caller) -> HTTPResponse:
        desc = str(_body(request).get("desc") or "")
        key = await api_keys.Create(cpb.CreateAPIKeyRequest(desc=desc), None)  # type: ignore[arg-type]
        return json_response({**_key_json(key), "key": key.key}, status=201)

    async def delete_api_key(request: Request, caller: Caller) -> HTTPResponse:
        await api_keys.Delete(_key_id(request), None)  # type: ignore[arg-type]
        return json_response({"deleted": True})

    async def list_deploy_keys(request: Request, caller: Caller) -> HTTPResponse:
        listed = await deploy_keys.List(cpb.ListDeploymentKeyRequest(), None)  # type: ignore[arg-type]
        return json_response({"keys": [_key_json(k) for k in listed.keys]})

    async def create_deploy_key(request: Request, caller: Caller) -> HTTPResponse:
        desc = str(_body(request).get("desc") or "")
        key = await deploy_keys.Create(
            cpb.CreateDeploymentKeyRequest(desc=desc),
            None,  # type: ignore[arg-type]
        )
        return json_response({**_key_json(key), "key": key.key}, status=201)

    async def delete_deploy_key(request: Request, caller: Caller) -> HTTPResponse:
        await deploy_keys.Delete(_key_id(request), None)  # type: ignore[arg-type]
        return json_response({"deleted": True})

    async def execute(request: Request, caller: Caller) -> HTTPResponse | None:
        exec_request = _execute_request(_body(request))
        encrypted = exec_request.HasField("encryption_options")
        cluster_id = exec_request.cluster_id
        await deps.directory.get_queryable(caller, cluster_id)
        message = cvmsgs_pb2.C2VAPIStreamRequest(exec_req=exec_request)
        message.token = await deps.directory.passthrough_token(caller, cluster_id)
        replies = deps.proxy.stream(cluster_id, message)
        response = await request.respond(content_type="application/x-ndjson")
        assert response is not None

        async def send(line: dict[str, Any]) -> None:
            await response.send(json.dumps(line, separators=(",", ":")) + "\n")

        async with contextlib.aclosing(replies):
            try:
                async for reply in _exec_replies(replies):
                    line = _stream_line(reply, encrypted)
                    await send(line)
                    if line["type"] == "error":
                        break
                else:
                    await send({"type": "end"})
            except _HttpError as exc:
                _log.warning("refused a query stream", cluster=cluster_id, reason=exc.message)
                await send({"type": "error", "code": 13, "message": exc.message})
            except ServiceError as exc:
                await send({"type": "error", "code": exc.code.value[0], "message": exc.message})
            except asyncio.CancelledError:
                raise
        await response.eof()
        return None  # already answered by the stream above

    routes: list[tuple[str, str, Callable[[Request, Caller], Awaitable[HTTPResponse | None]]]] = [
        ("GET", "/api/ui/session", whoami),
        ("GET", "/api/ui/clusters", clusters),
        ("GET", "/api/ui/scripts", scripts),
        ("POST", "/api/ui/execute", execute),
        ("GET", "/api/ui/api-keys", list_api_keys),
        ("POST", "/api/ui/api-keys", create_api_key),
        ("DELETE", "/api/ui/api-keys/<key_id>", delete_api_key),
        ("GET", "/api/ui/deploy-keys", list_deploy_keys),
        ("POST", "/api/ui/deploy-keys", create_deploy_key),
        ("DELETE", "/api/ui/deploy-keys/<key_id>", delete_deploy_key),
    ]
    routes.extend(admin_routes(deps.backends, deps.plugins))
    for method, path, route in routes:
        app.add_route(handler(route), path, methods=[method], name=f"ui_{route.__name__}")
    app.add_route(logout, "/api/ui/logout", methods=["POST"], name="ui_logout")

    async def signup(request: Request) -> HTTPResponse:
        try:
            login = await invited_signup(deps.backends, request)
        except ServiceError as exc:
            return _error(_status_of(exc), exc.message)
        response = json_response({"userID": login.user.user_id, "orgID": login.user.org_id})
        max_age = max(0, login.expires_at_ns // 1_000_000_000 - int(time.time()))
        response.add_cookie(
            _SESSION_COOKIE,
            login.token,
            path="/",
            max_age=max_age,
            secure=True,
            httponly=True,
            samesite="Strict",
            host_prefix=True,
        )
        return response

    app.add_route(signup, "/api/ui/signup", methods=["POST"], name="ui_signup")

    if deps.ui_dir is not None:
        ui_dir = deps.ui_dir

        async def static(request: Request, path: str = "") -> HTTPResponse:
            if path.startswith("api/"):
                return _error(404, "no such API endpoint")
            file = _static_file(ui_dir, path) if path else None
            if file is None:
                # Client-side routes (/live, /admin, …) all load the single page.
                file = _static_file(ui_dir, "index.html")
                if file is None:
                    return _error(404, "the UI is not built (run `make ui`)")
            content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            headers = {}
            if path.startswith("assets/"):
                # Vite names built assets by content hash: safe to cache for good.
                headers["cache-control"] = "public, max-age=31536000, immutable"
            else:
                headers["cache-control"] = "no-cache"
            return raw(file.read_bytes(), content_type=content_type, headers=headers)

        app.add_route(static, "/", methods=["GET"], name="ui_index")
        app.add_route(static, "/<path:path>", methods=["GET"], name="ui_static")


async def _exec_replies(
    replies: AsyncIterator[cvmsgs_pb2.V2CAPIStreamResponse],
) -> AsyncIterator[vpb.ExecuteScriptResponse]:
    async for reply in replies:
        if reply.WhichOneof("msg") == "exec_resp":
            yield reply.exec_resp
