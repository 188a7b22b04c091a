"""`px.cloudapi.AuthService.Login`: an identity provider's access token (or an API key in the
`pixie-api-key` header) → a Pyxie token for the CLI. Public: it is how callers get credentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import grpc
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.cloud.authpb import auth_pb2
from pyxie_service import InvalidArgument, ServiceError, Unauthenticated

from pyxie_api.controllers.backends import CloudBackends, call_backend
from pyxie_api.controllers.caller import API_KEY_METADATA_KEY, Authenticator, client_address

__all__ = ["LOGIN_METHOD", "LoginServicer"]

if TYPE_CHECKING:
    _Context = grpc.aio.ServicerContext[Any, Any]

LOGIN_METHOD: Final = "/px.cloudapi.AuthService/Login"
_NS_PER_SECOND: Final = 1_000_000_000


class LoginServicer(cpb_grpc.AuthServiceServicer):
    def __init__(self, backends: CloudBackends, authenticator: Authenticator) -> None:
        self._backends = backends
        self._authenticator = authenticator

    async def Login(self, request: cpb.LoginRequest, context: _Context) -> cpb.LoginReply:
        metadata = tuple(context.invocation_metadata() or ())
        source = client_address(context.peer())
        if not request.access_token:
            if not any(key == API_KEY_METADATA_KEY for key, _ in metadata):
                raise InvalidArgument("send an access_token or a pixie-api-key header")
            caller = await self._authenticator.authenticate(
                [(k, v) for k, v in metadata if k == API_KEY_METADATA_KEY], source
            )
            return cpb.LoginReply(token=caller.token, expires_at=int(caller.expires_at))
        if _looks_like_jwt(request.access_token):
            # A Pyxie login token pasted into `px auth login --manual`: valid if auth still
            # accepts it (user exists, not logged out); it is returned as is.
            await self._authenticator.authenticate(
                [("authorization", f"bearer {request.access_token}")], source
            )
            expires = self._authenticator.token_expiry(request.access_token)
            return cpb.LoginReply(token=request.access_token, expires_at=int(expires))
        try:
            response = await call_backend(
                "auth",
                self._backends.auth.OIDCLogin(
                    auth_pb2.OIDCLoginRequest(access_token=request.access_token),
                    metadata=self._backends.metadata(),
                    timeout=self._backends.timeout,
                ),
            )
        except ServiceError as exc:
            if exc.code is grpc.StatusCode.UNAVAILABLE:
                raise
            raise Unauthenticated(f"login failed: {exc.message}") from None
        return cpb.LoginReply(
            token=response.token, expires_at=response.expires_at_ns // _NS_PER_SECOND
        )


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")
