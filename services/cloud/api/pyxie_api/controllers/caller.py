"""Who is calling: the augmented token the auth service issued for the RPC's credential.

`Authenticator` turns the `pixie-api-key` header (checked first, as Pixie's
`GetAugmentedTokenGRPC`) or `authorization: bearer <token>` into a `Caller`, asking the auth
service and caching the answer briefly. `AuthMiddleware` does that for every RPC except the
public ones and makes the caller available to handlers through `current_caller()`.

Divergence from Pixie: a missing or bad key is UNAUTHENTICATED here. Pixie's middleware
answers INTERNAL "Auth middleware failed: …" for it; pxapi surfaces either code unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import grpc
from pyxie_jwt import AccessScope, APIUserClaims, InvalidTokenError, TokenVerifier, UserClaims
from pyxie_proto.cloud.authpb import auth_pb2
from pyxie_service import PermissionDenied, ServiceError, Unauthenticated, get_logger
from pyxie_service.audit import audit
from pyxie_service.ratelimit import FailureLimiter

from pyxie_api.controllers.backends import CloudBackends, call_backend

__all__ = [
    "API_KEY_METADATA_KEY",
    "AuthMiddleware",
    "Authenticator",
    "Caller",
    "acting_as",
    "current_caller",
]

if TYPE_CHECKING:
    _ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
    _Handler = grpc.RpcMethodHandler[Any, Any]
    _Context = grpc.aio.ServicerContext[Any, Any]
else:
    _ServerInterceptor = grpc.aio.ServerInterceptor

API_KEY_METADATA_KEY: Final = "pixie-api-key"
_DEPLOY_KEY_PREFIX: Final = "px-dep-"
# Bounds the cache's memory whatever the number of distinct keys a caller tries.
_CACHE_MAX_ENTRIES: Final = 10_000

# What auth answers for a credential it does not accept (unknown, revoked, expired, bad).
_REJECTIONS: Final = frozenset(
    {
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
    }
)

_log = get_logger("pyxie.api.auth")
_caller: ContextVar[Caller | None] = ContextVar("pyxie_api_caller", default=None)


@dataclass(frozen=True)
class Caller:
    """An authenticated user or API key, with what it may do."""

    org_id: str
    user_id: str
    # The augmented token: forwarded to internal services in `x-pyxie-user-token`.
    token: str
    scope: AccessScope
    # Clusters an API key is limited to; empty = every cluster of the org.
    cluster_ids: frozenset[str]
    is_api_key: bool
    expires_at: float  # time.time() seconds

    @property
    def is_admin(self) -> bool:
        return self.scope is AccessScope.ADMIN

    def require_admin(self, action: str) -> None:
        if not self.is_admin:
            raise PermissionDenied(f"a read-only API key cannot {action}")

    def require_org(self) -> str:
        if not self.org_id:
            raise PermissionDenied("you do not belong to an organization yet")
        return self.org_id

    def may_reach(self, cluster_id: str) -> bool:
        return not self.cluster_ids or cluster_id in self.cluster_ids


def current_caller() -> Caller:
    """The caller of the RPC being handled (Unauthenticated on a public method)."""
    caller = _caller.get()
    if caller is None:
        raise Unauthenticated("this call carries no credentials")
    return caller


@contextlib.contextmanager
def acting_as(caller: Caller) -> Iterator[None]:
    """Run servicer code for `caller` outside a gRPC call (the web UI's HTTP handlers)."""
    reset = _caller.set(caller)
    try:
        yield
    finally:
        _caller.reset(reset)


def _narrower_scope(a: str, b: AccessScope) -> AccessScope:
    try:
        first = AccessScope(a) if a else AccessScope.ADMIN
    except ValueError:
        # Fail closed on a scope this code does not know.
        return AccessScope.READ_ONLY
    return AccessScope.READ_ONLY if AccessScope.READ_ONLY in (first, b) else AccessScope.ADMIN


class Authenticator:
    """Credentials → Caller through the auth service, with a short per-credential cache."""

    def __init__(
        self,
        backends: CloudBackends,
        verifier: TokenVerifier,
        *,
        cache_seconds: float,
        clock: Callable[[], float] = time.time,
        limiter: FailureLimiter | None = None,
    ) -> None:
        self._backends = backends
        self._verifier = verifier
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: OrderedDict[bytes, Caller] = OrderedDict()
        # Failed credential checks per client address: a guesser is locked out for a while.
        self._limiter = limiter

    def forget_org(self, org_id: str) -> None:
        """Drop cached callers of an org (after one of its keys was deleted)."""
        for digest in [d for d, caller in self._cache.items() if caller.org_id == org_id]:
            del self._cache[digest]

    def forget_token(self, token: str) -> None:
        """Drop a bearer token's cached caller (after a logout revoked it)."""
        self._cache.pop(hashlib.sha256(b"t" + token.encode()).digest(), None)

    def token_expiry(self, token: str) -> float:
        """Expiry (Unix seconds) of a Pyxie token this api can verify."""
        try:
            return self._verifier.verify(token).expires_at.timestamp()
        except InvalidTokenError:
            raise Unauthenticated("invalid auth token") from None

    async def authenticate(self, metadata: Sequence[tuple[str, Any]], source: str = "") -> Caller:
        """The caller behind the credentials in `metadata`.

        `source` is the client's address: once it has failed too many checks, credentials it
        presents that are not already verified are refused unchecked (RESOURCE_EXHAUSTED).
        """
        try:
            return await self._authenticate(metadata, source)
        except Unauthenticated as exc:
            if self._limiter is not None and source and self._limiter.failed(source):
                audit(
                    "credential.check",
                    "refused",
                    actor=source,
                    reason=f"too many failed credential checks; last: {exc.message}",
                )
            raise

    async def _authenticate(self, metadata: Sequence[tuple[str, Any]], source: str) -> Caller:
        api_keys = [v for k, v in metadata if k == API_KEY_METADATA_KEY and isinstance(v, str)]
        bearers = [v for k, v in metadata if k == "authorization" and isinstance(v, str)]
        if len(api_keys) > 1 or len(bearers) > 1:
            raise Unauthenticated("send one credential: one pixie-api-key or one bearer token")
        if api_keys:
            key = api_keys[0].strip()
            if not key:
                raise Unauthenticated("empty pixie-api-key")
            if key.startswith(_DEPLOY_KEY_PREFIX):
                # Deploy keys only register viziers (with vzconn); never accepted here.
                _log.warning("deploy key presented to the api", prefix=key[:11])
                raise Unauthenticated("invalid API key")
            return await self._cached(b"k" + key.encode(), lambda: self._for_api_key(key), source)
        if bearers:
            scheme, _, token = bearers[0].strip().partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                raise Unauthenticated("send 'authorization: bearer <token>' or pixie-api-key")
            if token.startswith(_DEPLOY_KEY_PREFIX):
                raise Unauthenticated("invalid auth token")
            return await self._cached(b"t" + token.encode(), lambda: self._for_token(token), source)
        raise Unauthenticated("missing credentials: send pixie-api-key or a bearer token")

    async def _cached(
        self, credential: bytes, fetch: Callable[[], Awaitable[Caller]], source: str = ""
    ) -> Caller:
        digest = hashlib.sha256(credential).digest()
        now = self._clock()
        hit = self._cache.get(digest)
        if hit is not None and hit.expires_at > now:
            return hit
        if self._limiter is not None and source:
            self._limiter.check(source)
        caller = await fetch()
        if self._cache_seconds > 0:
            ttl_end = min(caller.expires_at, now + self._cache_seconds)
            self._cache[digest] = Caller(**{**caller.__dict__, "expires_at": ttl_end})
            self._cache.move_to_end(digest)
            while len(self._cache) > _CACHE_MAX_ENTRIES:
                self._cache.popitem(last=False)
        return caller

    async def _for_api_key(self, key: str) -> Caller:
        augmented = await self._exchange(
            self._backends.auth.GetAugmentedTokenForAPIKey(
                auth_pb2.GetAugmentedTokenForAPIKeyRequest(api_key=key),
                metadata=self._backends.metadata(),
                timeout=self._backends.timeout,
            ),
            "invalid API key",
        )
        return self._caller(augmented, api_key=True)

    async def _for_token(self, token: str) -> Caller:
        augmented = await self._exchange(
            self._backends.auth.GetAugmentedToken(
                auth_pb2.GetAugmentedTokenRequest(token=token),
                metadata=self._backends.metadata(),
                timeout=self._backends.timeout,
            ),
            "invalid auth token",
        )
        return self._caller(augmented, api_key=False)

    async def _exchange(
        self, call: Awaitable[auth_pb2.AugmentedToken], rejection: str
    ) -> auth_pb2.AugmentedToken:
        try:
            return await call_backend("auth", call)
        except ServiceError as exc:
            if exc.code not in _REJECTIONS:
                raise
            _log.info("credential rejected by auth", reason=exc.message)
            raise Unauthenticated(rejection) from None

    def _caller(self, augmented: auth_pb2.AugmentedToken, *, api_key: bool) -> Caller:
        try:
            claims = self._verifier.verify(augmented.token)
        except InvalidTokenError as exc:
            # The auth service signs with the same cloud key; this means misconfiguration.
            _log.error("auth returned a token the api cannot verify", error=str(exc))
            raise Unauthenticated("invalid auth token") from None
        if isinstance(claims, APIUserClaims):
            scope = _narrower_scope(augmented.scope, claims.access_scope)
            clusters = set(augmented.cluster_ids) | set(claims.cluster_ids)
            org_id, user_id = claims.org_id, claims.user_id
        elif isinstance(claims, UserClaims):
            scope = _narrower_scope(augmented.scope, AccessScope.ADMIN)
            clusters = set(augmented.cluster_ids)
            org_id, user_id = claims.org_id, claims.user_id
        else:
            # Service and cluster tokens are for services, never for the public API.
            raise Unauthenticated("this token is not a user or API-key token")
        if api_key != isinstance(claims, APIUserClaims):
            raise Unauthenticated("invalid auth token")
        return Caller(
            org_id=org_id,
            user_id=user_id,
            token=augmented.token,
            scope=scope,
            cluster_ids=frozenset(clusters),
            is_api_key=api_key,
            expires_at=claims.expires_at.timestamp(),
        )


def _full_method_names(service_names: Iterable[str]) -> frozenset[str]:
    from google.protobuf import descriptor_pool

    pool = descriptor_pool.Default()
    names: set[str] = set()
    for service_name in service_names:
        service = pool.FindServiceByName(service_name)
        names.update(f"/{service.full_name}/{method.name}" for method in service.methods)
    return frozenset(names)


class AuthMiddleware(_ServerInterceptor):
    """Authenticates every RPC of the given services except `public_methods`."""

    def __init__(
        self,
        authenticator: Authenticator,
        services: Iterable[str],
        public_methods: Iterable[str] = (),
    ) -> None:
        self._authenticator = authenticator
        self.methods = _full_method_names(services)
        self._public = frozenset(public_methods)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[_Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> _Handler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method not in self.methods or method in self._public:
            return handler  # type: ignore[return-value]
        metadata = tuple(handler_call_details.invocation_metadata or ())
        return _wrap(handler, lambda source: self._authenticator.authenticate(metadata, source))


def client_address(peer: str) -> str:
    """`ipv4:1.2.3.4:5678` / `ipv6:[::1]:5678` -> the address without the port."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6":
        return rest.rpartition("]")[0].lstrip("[") or rest
    if kind == "ipv4":
        return rest.rpartition(":")[0] or rest
    return peer


def _wrap(handler: _Handler, authenticate: Callable[[str], Awaitable[Caller]]) -> _Handler:
    """The handler with the caller authenticated first (unary-unary and unary-stream).

    The client's address is read from the context at the start of the call (never after).
    """
    if handler.unary_unary is not None:
        inner_unary: Any = handler.unary_unary

        async def unary(request: Any, context: _Context) -> Any:
            _caller.set(await authenticate(client_address(context.peer())))
            result = inner_unary(request, context)
            return await result if inspect.isawaitable(result) else result

        return grpc.unary_unary_rpc_method_handler(
            unary, handler.request_deserializer, handler.response_serializer
        )
    if handler.unary_stream is not None:
        inner_stream: Any = handler.unary_stream

        async def stream(request: Any, context: _Context) -> AsyncIterator[Any]:
            _caller.set(await authenticate(client_address(context.peer())))
            async for response in inner_stream(request, context):
                yield response

        return grpc.unary_stream_rpc_method_handler(
            stream, handler.request_deserializer, handler.response_serializer
        )
    raise TypeError("the api serves only unary and server-streaming methods")
