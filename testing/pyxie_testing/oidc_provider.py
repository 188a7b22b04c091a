"""A real OpenID Connect provider for tests, built on Authlib's server side.

Authorization code flow with PKCE (S256, required for public clients), a discovery document,
JWKS, a userinfo endpoint and RS256 ID tokens, served by the stdlib WSGI server on a free
loopback port in a background thread. Users log in through an HTML form (username/password),
so a test can play the browser with any HTTP client::

    with OIDCTestProvider(users=[OIDCUser(...)], clients=[OIDCClient(...)]) as provider:
        provider.issuer   # http://127.0.0.1:<port>; discovery at /.well-known/openid-configuration

Extra claims the auth service cares about: `email_verified` and the hosted domain `hd`.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Error, OAuth2Payload
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from joserfc.jwk import KeySet, RSAKey

__all__ = ["OIDCClient", "OIDCTestProvider", "OIDCUser"]

# RFC 6749 §4.1.2 recommends at most 10 minutes for an authorization code.
_CODE_LIFETIME_SECONDS: Final = 600
_ACCESS_TOKEN_LIFETIME_SECONDS: Final = 3600
_RSA_KEY_BITS: Final = 2048
_SCOPES: Final = ("openid", "email", "profile")


@dataclass(frozen=True)
class OIDCUser:
    """An account at the provider; `subject` is its stable `sub`."""

    subject: str
    username: str
    password: str
    email: str
    email_verified: bool = True
    name: str = ""
    # Organisation domain the provider vouches for (Google's `hd`); "" for none.
    hosted_domain: str = ""


@dataclass(frozen=True)
class OIDCClient(ClientMixin):  # type: ignore[misc]
    """A registered relying party. No secret: a public client, which must use PKCE."""

    client_id: str
    redirect_uris: tuple[str, ...]
    client_secret: str = ""

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in _SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return bool(self.client_secret) and secrets.compare_digest(
            client_secret, self.client_secret
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.client_secret:
            return method in ("client_secret_basic", "client_secret_post")
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class _Code(AuthorizationCodeMixin):  # type: ignore[misc]
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    subject: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        return None


@dataclass
class _AccessToken:
    client_id: str
    subject: str
    scope: str
    expires_at: float


class _Headers(dict[str, str]):
    """HTTP headers with case-insensitive `get`, as Authlib expects."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._data: dict[str, str] = {}
        self._datalist: dict[str, list[str]] = {}
        for key, value in pairs:
            self._data.setdefault(key, value)
            self._datalist.setdefault(key, []).append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class _Request(OAuth2Request):  # type: ignore[misc]
    """A WSGI request as Authlib's OAuth2Request (query and form parameters together)."""

    def __init__(self, environ: Mapping[str, Any]) -> None:
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        query = environ.get("QUERY_STRING", "")
        uri = f"http://{host}{environ.get('PATH_INFO', '/')}" + (f"?{query}" if query else "")
        headers = _Headers()
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").lower()] = value
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        super().__init__(environ["REQUEST_METHOD"], uri, headers=headers)
        self.query_pairs = parse_qsl(query, keep_blank_values=True)
        self.form_pairs: list[tuple[str, str]] = []
        if environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length).decode("utf-8") if length else ""
            self.form_pairs = parse_qsl(body, keep_blank_values=True)
        self.payload = _Payload([*self.query_pairs, *self.form_pairs])

    @property
    def args(self) -> dict[str, str]:
        return dict(self.query_pairs)

    @property
    def form(self) -> dict[str, str]:
        return dict(self.form_pairs)


_Response = tuple[int, str | dict[str, Any], list[tuple[str, str]]]


class _CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    # Confidential clients authenticate; public clients ("none") rely on PKCE.
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    @property
    def _provider(self) -> OIDCTestProvider:
        provider: OIDCTestProvider = self.server.provider
        return provider

    def save_authorization_code(self, code: str, request: _Request) -> None:
        data = request.payload.data
        nonce = data.get("nonce")
        self._provider._save_code(
            _Code(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=data.get("redirect_uri", ""),
                scope=request.client.get_allowed_scope(data.get("scope", "")),
                subject=request.user.subject,
                nonce=nonce,
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=int(time.time()),
                expires_at=time.time() + _CODE_LIFETIME_SECONDS,
            )
        )

    def query_authorization_code(self, code: str, client: OIDCClient) -> _Code | None:
        return self._provider._live_code(code, client.client_id)

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        self._provider._delete_code(authorization_code.code)

    def authenticate_user(self, authorization_code: _Code) -> OIDCUser | None:
        return self._provider._user_by_subject(authorization_code.subject)


class _OpenIDCode(OpenIDCode):  # type: ignore[misc]
    def __init__(self, provider: OIDCTestProvider) -> None:
        super().__init__(require_nonce=True)
        self._provider = provider

    def exists_nonce(self, nonce: str, request: _Request) -> bool:
        return self._provider._nonce_used(nonce)

    def resolve_client_private_key(self, client: OIDCClient) -> RSAKey:
        return self._provider._signing_key

    def get_client_algorithm(self, client: OIDCClient) -> str:
        return "RS256"

    def get_client_claims(self, client: OIDCClient) -> dict[str, Any]:
        return {"iss": self._provider.issuer}

    def get_encode_header(self, client: OIDCClient) -> dict[str, str]:
        return {"alg": "RS256", "kid": self._provider.key_id}

    def generate_user_info(self, user: OIDCUser, scope: str) -> UserInfo:
        return UserInfo(self._provider.claims_for(user, scope))


class _Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, provider: OIDCTestProvider) -> None:
        super().__init__(scopes_supported=list(_SCOPES))
        self.provider = provider
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda *args, **kwargs: secrets.token_urlsafe(32),
                expires_generator=lambda client, grant_type: _ACCESS_TOKEN_LIFETIME_SECONDS,
            ),
        )
        self.register_grant(_CodeGrant, [CodeChallenge(required=True), _OpenIDCode(provider)])

    def query_client(self, client_id: str) -> OIDCClient | None:
        return self.provider._clients.get(client_id)

    def save_token(self, token: Mapping[str, Any], request: _Request) -> None:
        self.provider._save_access_token(
            token["access_token"],
            _AccessToken(
                client_id=request.client.client_id,
                subject=request.user.subject,
                scope=str(token.get("scope", "")),
                expires_at=time.time() + float(token["expires_in"]),
            ),
        )

    def create_oauth2_request(self, request: _Request) -> _Request:
        return request

    def create_json_request(self, request: _Request) -> _Request:
        return request

    def handle_response(
        self, status: int, body: str | dict[str, Any], headers: list[tuple[str, str]]
    ) -> _Response:
        return status, body, list(headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


@dataclass
class OIDCTestProvider:
    """The provider; use as a context manager (starts the server, stops it on exit)."""

    users: Iterable[OIDCUser]
    clients: Iterable[OIDCClient]
    host: str = "127.0.0.1"
    _users: dict[str, OIDCUser] = field(init=False)
    _clients: dict[str, OIDCClient] = field(init=False)

    def __post_init__(self) -> None:
        self._users = {user.username: user for user in self.users}
        self._clients = {client.client_id: client for client in self.clients}
        self.key_id = secrets.token_hex(8)
        self._signing_key = RSAKey.generate_key(
            _RSA_KEY_BITS, parameters={"kid": self.key_id, "use": "sig", "alg": "RS256"}
        )
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._tokens: dict[str, _AccessToken] = {}
        self._nonces: set[str] = set()
        self._server = _Server(self)
        self._http: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.issuer = ""

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        if self._http is not None:
            raise RuntimeError("provider already started")
        self._http = make_server(self.host, 0, self._app, handler_class=_QuietHandler)
        self.issuer = f"http://{self.host}:{self._http.server_port}"
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="oidc-test-provider", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._http is None:
            return
        self._http.shutdown()
        self._http.server_close()
        if self._thread is not None:
            self._thread.join()
        self._http = self._thread = None

    def __enter__(self) -> OIDCTestProvider:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- state (the grant classes call these) -------------------------------------------

    def _save_code(self, code: _Code) -> None:
        with self._lock:
            self._codes[code.code] = code
            if code.nonce:
                self._nonces.add(code.nonce)

    def _live_code(self, code: str, client_id: str) -> _Code | None:
        with self._lock:
            found = self._codes.get(code)
        if found is None or found.client_id != client_id or found.expires_at < time.time():
            return None
        return found

    def _delete_code(self, code: str) -> None:
        with self._lock:
            self._codes.pop(code, None)

    def _nonce_used(self, nonce: str) -> bool:
        with self._lock:
            return nonce in self._nonces

    def _user_by_subject(self, subject: str) -> OIDCUser | None:
        return next((user for user in self._users.values() if user.subject == subject), None)

    def _save_access_token(self, token: str, record: _AccessToken) -> None:
        with self._lock:
            self._tokens[token] = record

    def revoke_access_tokens(self) -> None:
        """Forget every issued access token (userinfo then answers 401)."""
        with self._lock:
            self._tokens.clear()

    def claims_for(self, user: OIDCUser, scope: str) -> dict[str, Any]:
        """Userinfo / ID-token claims of `user` for the granted `scope`."""
        scopes = set(scope.split())
        claims: dict[str, Any] = {"sub": user.subject}
        if "email" in scopes:
            claims |= {"email": user.email, "email_verified": user.email_verified}
        if "profile" in scopes and user.name:
            claims["name"] = user.name
        if user.hosted_domain:
            claims["hd"] = user.hosted_domain
        return claims

    # -- HTTP ---------------------------------------------------------------------------

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        request = _Request(environ)
        path = environ.get("PATH_INFO", "/")
        routes = {
            ("GET", "/.well-known/openid-configuration"): self._discovery,
            ("GET", "/jwks"): self._jwks,
            ("GET", "/authorize"): self._authorize_form,
            ("POST", "/authorize"): self._authorize_submit,
            ("POST", "/token"): self._token,
            ("GET", "/userinfo"): self._userinfo,
            ("POST", "/userinfo"): self._userinfo,
        }
        handler = routes.get((request.method, path))
        response: _Response = (
            (404, {"error": "not_found"}, []) if handler is None else handler(request)
        )
        status, body, headers = response
        if isinstance(body, dict):
            payload = json.dumps(body).encode("utf-8")
            headers = [*headers, ("Content-Type", "application/json")]
        else:
            payload = body.encode("utf-8")
            if not any(name.lower() == "content-type" for name, _ in headers):
                headers = [*headers, ("Content-Type", "text/html; charset=utf-8")]
        headers = [h for h in headers if h[0].lower() != "content-length"]
        headers.append(("Content-Length", str(len(payload))))
        start_response(f"{status} {_REASONS.get(status, 'Status')}", headers)
        return iter([payload])

    def _discovery(self, request: _Request) -> _Response:
        return (
            200,
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": list(_SCOPES),
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                    "none",
                ],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": ["sub", "email", "email_verified", "name", "hd"],
            },
            [],
        )

    def _jwks(self, request: _Request) -> _Response:
        return 200, dict(KeySet([self._signing_key]).as_dict(private=False)), []

    def _authorize_form(self, request: _Request, error: str = "") -> _Response:
        try:
            self._server.get_consent_grant(request)
        except OAuth2Error as exc:
            return 400, {"error": exc.error, "error_description": exc.description or ""}, []
        action = "/authorize?" + urlencode(request.query_pairs)
        message = f'<p class="error">{html.escape(error)}</p>' if error else ""
        page = (
            "<!doctype html><title>Sign in</title>"
            f"{message}"
            f'<form method="post" action="{html.escape(action)}">'
            '<input name="username" autocomplete="username">'
            '<input name="password" type="password" autocomplete="current-password">'
            '<button type="submit">Sign in</button></form>'
        )
        return (401 if error else 200), page, []

    def _authorize_submit(self, request: _Request) -> _Response:
        try:
            grant = self._server.get_consent_grant(request)
        except OAuth2Error as exc:
            return 400, {"error": exc.error, "error_description": exc.description or ""}, []
        form = request.form
        user = self._users.get(form.get("username", ""))
        if user is None or not secrets.compare_digest(
            form.get("password", "").encode(), user.password.encode()
        ):
            return self._authorize_form(request, error="wrong username or password")
        response: _Response = self._server.create_authorization_response(
            request, grant_user=user, grant=grant
        )
        return response

    def _token(self, request: _Request) -> _Response:
        response: _Response = self._server.create_token_response(request)
        return response

    def _userinfo(self, request: _Request) -> _Response:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        with self._lock:
            record = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if record is None or record.expires_at < time.time():
            return 401, {"error": "invalid_token"}, [("WWW-Authenticate", "Bearer")]
        if "openid" not in record.scope.split():
            return 403, {"error": "insufficient_scope"}, [("WWW-Authenticate", "Bearer")]
        user = self._user_by_subject(record.subject)
        if user is None:
            return 401, {"error": "invalid_token"}, [("WWW-Authenticate", "Bearer")]
        return 200, self.claims_for(user, record.scope), []


_REASONS: Final = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
}
