"""Helpers for the auth tests: stubs, service-token metadata, the simulated browser."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

import grpc
import httpx2
from pyxie_auth import USER_TOKEN_METADATA_KEY
from pyxie_jwt import SigningKey, service_claims, sign_token
from pyxie_proto.cloud.authpb import auth_pb2 as apb
from pyxie_proto.cloud.authpb import auth_pb2_grpc as apb_grpc
from pyxie_service import Service

DOMAIN = "pyxie.test"
PASSWORD = "correct horse battery"


@dataclass
class Auth:
    service: Service
    key: SigningKey
    channel: grpc.aio.Channel
    dsn: str

    @property
    def auth(self) -> apb_grpc.AuthServiceStub:
        return apb_grpc.AuthServiceStub(self.channel)

    @property
    def keys(self) -> apb_grpc.APIKeyServiceStub:
        return apb_grpc.APIKeyServiceStub(self.channel)

    def service_metadata(self, user_token: str | None = None) -> tuple[tuple[str, str], ...]:
        token = sign_token(service_claims(service_id="api", audience=DOMAIN), self.key)
        metadata: tuple[tuple[str, str], ...] = (("authorization", f"bearer {token}"),)
        if user_token is not None:
            metadata += ((USER_TOKEN_METADATA_KEY, user_token),)
        return metadata

    async def signup(
        self, email: str, *, org_name: str = "", invite_token: str = ""
    ) -> apb.LoginResponse:
        response: apb.LoginResponse = await self.auth.Signup(
            apb.SignupRequest(
                email=email,
                password=PASSWORD,
                name=email.split("@")[0],
                org_name=org_name,
                invite_token=invite_token,
            ),
            metadata=self.service_metadata(),
        )
        return response

    async def augmented(self, login_token: str) -> str:
        response = await self.auth.GetAugmentedToken(
            apb.GetAugmentedTokenRequest(token=login_token), metadata=self.service_metadata()
        )
        token: str = response.token
        return token

    async def user_token(self, email: str, org_name: str) -> str:
        """Sign up a user creating `org_name`; return their augmented token."""
        return await self.augmented((await self.signup(email, org_name=org_name)).token)


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            self.action = dict(attrs).get("action") or ""


async def browser_sign_in(authorization_url: str, username: str, password: str) -> str:
    """Play the browser at the provider: open the login page, post the form, return the
    redirect back to the relying party."""
    async with httpx2.AsyncClient(follow_redirects=False) as browser:
        page = await browser.get(authorization_url)
        assert page.status_code == 200, page.text
        reader = _FormReader()
        reader.feed(page.text)
        response = await browser.post(
            urljoin(authorization_url, reader.action),
            data={"username": username, "password": password},
        )
    assert response.status_code == 302, response.text
    location: str = response.headers["location"]
    return location
