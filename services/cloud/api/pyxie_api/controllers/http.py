"""Browser login over HTTP (sanic), answering JSON for the web UI.

* `POST /api/auth/login` `{"email", "password"}` → auth PasswordLogin; sets the session cookie.
* `GET /api/auth/oidc/login[?cli_redirect=http://127.0.0.1:PORT/…]` → 302 to the OpenID
  Connect provider (authorization code flow with `state` and PKCE S256, Authlib helpers).
* `GET /api/auth/oidc/callback?code&state` → code exchanged at the provider's token endpoint,
  the access token traded with auth OIDCLogin; sets the session cookie (or, for the CLI's
  loopback flow, redirects the login token to the CLI's local server).
* `POST /api/auth/logout` → auth Logout; clears the cookie.
* `GET /api/authorized` → 200 `{"authorized": true, …}` or 401.

The session cookie (`__Host-pyxie-session`: HttpOnly, Secure, SameSite=Strict, Path=/) holds
the login token. CSRF: a Strict cookie is never sent on cross-site requests, and the POST
endpoints also require a JSON body (a cross-site form cannot send one without a CORS preflight,
which is never granted) and, when the browser sends `Origin`, an allowed origin.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode, urlparse

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from pyxie_proto.cloud.authpb import auth_pb2
from pyxie_service import ServiceError, get_logger
from pyxie_service.audit import audit
from pyxie_service.ratelimit import FailureLimiter, TooManyFailures
from sanic import Request, Sanic, json, redirect
from sanic.response import HTTPResponse

from pyxie_api.controllers.backends import CloudBackends, call_backend
from pyxie_api.settings import ApiSettings

__all__ = [
    "OIDC_STATE_COOKIE",
    "SESSION_COOKIE",
    "HttpServer",
    "LoginRoutes",
    "OidcProvider",
    "build_http_app",
    "start_http_server",
]

# Sent as `__Host-<name>`: Secure, Path=/ and no Domain, so no subdomain can set or read it.
SESSION_COOKIE: Final = "pyxie-session"
OIDC_STATE_COOKIE: Final = "pyxie-oidc-state"
# A login round trip through the provider takes a person a minute or two at most.
_PENDING_LOGIN_SECONDS: Final = 600
# Bounds memory against someone opening many logins without finishing them.
_PENDING_LOGIN_MAX: Final = 10_000
_NS_PER_SECOND: Final = 1_000_000_000
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})

_log = get_logger("pyxie.api.http")


@dataclass(frozen=True)
class OidcProvider:
    """Endpoints and client credentials of the OpenID Connect provider."""

    authorization_endpoint: str
    token_endpoint: str
    client_id: str
    client_secret: str
    redirect_url: str
    scopes: str

    @classmethod
    async def discover(cls, settings: ApiSettings) -> OidcProvider:
        url = settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(url)
            response.raise_for_status()
            document = response.json()
        return cls(
            authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"],
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret.get_secret_value(),
            redirect_url=settings.oidc_redirect_url,
            scopes=settings.oidc_scopes,
        )


@dataclass(frozen=True)
class _PendingLogin:
    code_verifier: str
    cli_redirect: str
    expires_at: float


class _PendingLogins:
    """Logins sent to the provider and not yet back, by their `state`."""

    def __init__(self) -> None:
        self._pending: OrderedDict[str, _PendingLogin] = OrderedDict()

    def add(self, state: str, login: _PendingLogin) -> None:
        self._pending[state] = login
        while len(self._pending) > _PENDING_LOGIN_MAX:
            self._pending.popitem(last=False)

    def take(self, state: str) -> _PendingLogin | None:
        login = self._pending.pop(state, None)
        if login is None or login.expires_at < time.time():
            return None
        return login


def _cookie(request: Request, name: str) -> str:
    """Only the `__Host-` cookie counts: sanic would fall back to a plain one of that name,
    which any subdomain could have planted."""
    value = request.cookies.get(f"__Host-{name}")
    return value if isinstance(value, str) else ""


def _error(status: int, message: str) -> HTTPResponse:
    return json({"error": message}, status=status)


def _set_session(response: HTTPResponse, token: str, expires_at_ns: int) -> None:
    max_age = max(0, expires_at_ns // _NS_PER_SECOND - int(time.time()))
    response.add_cookie(
        SESSION_COOKIE,
        token,
        path="/",
        max_age=max_age,
        secure=True,
        httponly=True,
        samesite="Strict",
        host_prefix=True,
    )


def _clear_session(response: HTTPResponse) -> None:
    response.add_cookie(
        SESSION_COOKIE,
        "",
        path="/",
        max_age=0,
        secure=True,
        httponly=True,
        samesite="Strict",
        host_prefix=True,
    )


def _loopback(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme == "http" and parsed.hostname in _LOOPBACK_HOSTS


class LoginRoutes:
    """The browser login endpoints, one method each; `provider` None disables OIDC."""

    def __init__(
        self, settings: ApiSettings, backends: CloudBackends, provider: OidcProvider | None
    ) -> None:
        self._backends = backends
        self._provider = provider
        self._post_login_redirect = settings.http_post_login_redirect
        self._allowed_origins = frozenset(settings.http_allowed_origins)
        # Password guessing: per account (email) and per client address.
        self._email_limiter = FailureLimiter(
            "logins for this account",
            max_failures=settings.failed_logins_per_email,
            window_s=300.0,
            lockout_s=300.0,
        )
        self._address_limiter = FailureLimiter(
            "logins from this address",
            max_failures=settings.failed_logins_per_address,
            window_s=300.0,
            lockout_s=300.0,
        )
        self._pending = _PendingLogins()

    def add_to(self, app: Sanic[Any, Any]) -> None:
        app.add_route(self.password_login, "/api/auth/login", methods=["POST"])
        app.add_route(self.oidc_login, "/api/auth/oidc/login", methods=["GET"])
        app.add_route(self.oidc_callback, "/api/auth/oidc/callback", methods=["GET"])
        app.add_route(self.logout, "/api/auth/logout", methods=["POST"])
        app.add_route(self.authorized, "/api/authorized", methods=["GET"])

    # ---- endpoints

    async def password_login(self, request: Request) -> HTTPResponse:
        refusal = self._refusal(request)
        if refusal:
            return _error(403, refusal)
        body = request.json if isinstance(request.json, dict) else {}
        email, password = body.get("email"), body.get("password")
        if not isinstance(email, str) or not isinstance(password, str) or not email:
            return _error(400, "send email and password")
        account, address = email.strip().lower(), request.ip or ""
        try:
            self._email_limiter.check(account)
            self._address_limiter.check(address)
        except TooManyFailures as exc:
            audit("login", "refused", actor=address, target=account, reason=exc.message)
            response = _error(429, exc.message)
            response.headers["Retry-After"] = str(max(1, int(exc.retry_after_s)))
            return response
        try:
            login = await self._auth(
                "PasswordLogin", auth_pb2.PasswordLoginRequest(email=email, password=password)
            )
        except ServiceError as exc:
            _log.info("password login refused", reason=exc.message)
            self._email_limiter.failed(account)
            self._address_limiter.failed(address)
            audit("login", "refused", actor=address, target=account, reason=exc.message)
            return _error(401, "wrong email or password")
        self._email_limiter.succeeded(account)
        audit("login", "allowed", actor=address, target=account, user_id=login.user.user_id)
        response = json(_user_json(login))
        _set_session(response, login.token, login.expires_at_ns)
        return response

    async def oidc_login(self, request: Request) -> HTTPResponse:
        provider = self._provider
        if provider is None:
            return _error(404, "no identity provider is configured")
        cli_redirect = request.args.get("cli_redirect", "")
        if cli_redirect and not _loopback(cli_redirect):
            return _error(400, "cli_redirect must be an http://127.0.0.1 or localhost URL")
        state = generate_token(32)
        verifier = generate_token(64)
        self._pending.add(
            state, _PendingLogin(verifier, cli_redirect, time.time() + _PENDING_LOGIN_SECONDS)
        )
        response = redirect(_authorization_url(provider, state, verifier))
        _set_state_cookie(response, state)
        return response

    async def oidc_callback(self, request: Request) -> HTTPResponse:
        provider = self._provider
        if provider is None:
            return _error(404, "no identity provider is configured")
        state = request.args.get("state", "")
        code = request.args.get("code", "")
        # The state must match the cookie of the browser that started this login.
        if not state or _cookie(request, OIDC_STATE_COOKIE) != state:
            return _error(400, "login state mismatch; start the login again")
        login = self._pending.take(state)
        if login is None or not code:
            return _error(400, "unknown or expired login; start the login again")
        try:
            access_token = await _exchange_code(provider, code, login.code_verifier)
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            _log.warning("OIDC code exchange failed", error=repr(exc))
            return _error(502, "the identity provider refused the login")
        try:
            result = await self._auth(
                "OIDCLogin",
                auth_pb2.OIDCLoginRequest(
                    access_token=access_token, create_user_if_not_exists=True
                ),
            )
        except ServiceError as exc:
            return _error(401, f"login refused: {exc.message}")
        if login.cli_redirect:
            response = redirect(login.cli_redirect + "?" + urlencode({"token": result.token}))
        else:
            response = redirect(self._post_login_redirect)
            _set_session(response, result.token, result.expires_at_ns)
        response.delete_cookie(OIDC_STATE_COOKIE, path="/", host_prefix=True)
        return response

    async def logout(self, request: Request) -> HTTPResponse:
        refusal = self._refusal(request)
        if refusal:
            return _error(403, refusal)
        token = _cookie(request, SESSION_COOKIE)
        if token:
            try:
                await self._auth("Logout", auth_pb2.LogoutRequest(token=token))
            except ServiceError as exc:
                _log.info("logout of an invalid session", reason=exc.message)
        response = json({"loggedOut": True})
        _clear_session(response)
        return response

    async def authorized(self, request: Request) -> HTTPResponse:
        token = _cookie(request, SESSION_COOKIE)
        if not token:
            return json({"authorized": False}, status=401)
        try:
            augmented = await self._auth(
                "GetAugmentedToken", auth_pb2.GetAugmentedTokenRequest(token=token)
            )
        except ServiceError:
            response = json({"authorized": False}, status=401)
            _clear_session(response)
            return response
        return json({"authorized": True, "expiresAtNs": augmented.expires_at_ns})

    # ---- helpers

    def _refusal(self, request: Request) -> str | None:
        """Why a state-changing request is refused (CSRF defences), or None."""
        if request.content_type.split(";")[0].strip() != "application/json":
            return "send a JSON body (Content-Type: application/json)"
        origin = request.headers.get("origin")
        if origin and origin not in self._allowed_origins:
            own = f"{request.scheme}://{request.host}"
            if origin != own:
                return "cross-origin request refused"
        return None

    async def _auth(self, method: str, request: Any) -> Any:
        """Call the auth service's `method` as the api (errors mapped by `call_backend`)."""
        backends = self._backends
        call = getattr(backends.auth, method)
        return await call_backend(
            "auth", call(request, metadata=backends.metadata(), timeout=backends.timeout)
        )


def _authorization_url(provider: OidcProvider, state: str, verifier: str) -> str:
    """Where the browser starts the authorization code flow (with state and PKCE S256)."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": provider.redirect_url,
            "scope": provider.scopes,
            "state": state,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    return f"{provider.authorization_endpoint}?{query}"


def _set_state_cookie(response: HTTPResponse, state: str) -> None:
    # Lax: the browser must send it back on the provider's top-level redirect to us.
    response.add_cookie(
        OIDC_STATE_COOKIE,
        state,
        path="/",
        max_age=_PENDING_LOGIN_SECONDS,
        secure=True,
        httponly=True,
        samesite="Lax",
        host_prefix=True,
    )


async def _exchange_code(provider: OidcProvider, code: str, code_verifier: str) -> str:
    """The provider's access token for an authorization `code` (PKCE verifier attached)."""
    async with httpx.AsyncClient(timeout=10) as client:
        exchanged = await client.post(
            provider.token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": provider.redirect_url,
                "code_verifier": code_verifier,
            },
            auth=(provider.client_id, provider.client_secret),
        )
        exchanged.raise_for_status()
        access_token = exchanged.json()["access_token"]
    if not isinstance(access_token, str):
        raise ValueError("the provider's access_token is not a string")
    return access_token


def build_http_app(
    settings: ApiSettings,
    backends: CloudBackends,
    *,
    provider: OidcProvider | None = None,
    name: str = "pyxie-api",
) -> Sanic[Any, Any]:
    """The sanic app; `provider` None disables the OIDC endpoints (password login only)."""
    app: Sanic[Any, Any] = Sanic(name)
    app.config.KEEP_ALIVE_TIMEOUT = 5
    # Sanic's start-up source rewriting patches classes process-wide and breaks the second
    # app a process starts (tests); the banner would only clutter the service log.
    app.config.TOUCHUP = False
    app.config.MOTD = False
    LoginRoutes(settings, backends, provider).add_to(app)
    return app


def _user_json(login: auth_pb2.LoginResponse) -> dict[str, Any]:
    return {
        "userID": login.user.user_id,
        "orgID": login.user.org_id,
        "email": login.user.email,
        "name": login.user.name,
        "expiresAtNs": login.expires_at_ns,
    }


@dataclass
class HttpServer:
    """A running sanic server in the caller's event loop."""

    server: Any
    port: int

    async def close(self) -> None:
        await self.server.before_stop()
        self.server.close()
        await self.server.wait_closed()
        await self.server.after_stop()


async def start_http_server(
    app: Sanic[Any, Any], host: str, port: int, tls: ssl.SSLContext | None
) -> HttpServer:
    """Serve `app` in the running loop (port 0 = any free port) beside the gRPC server."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # the kernel's usual default backlog
    sock.setblocking(False)
    server = await app.create_server(
        sock=sock, ssl=tls, return_asyncio_server=True, access_log=False
    )
    if server is None:
        raise OSError(f"could not serve HTTP on {host}:{port}")
    await server.startup()  # type: ignore[no-untyped-call]
    await server.before_start()  # type: ignore[no-untyped-call]
    await server.after_start()  # type: ignore[no-untyped-call]
    await server.start_serving()  # type: ignore[no-untyped-call]
    return HttpServer(server, int(sock.getsockname()[1]))
