"""The demo org of a fresh cloud devstack: an admin user, an API key and a deploy key.

The admin signs up through auth (the only step without a public API: the devstack holds the
cloud key and calls auth as a service), then everything else goes through the public api, as a
user would.
"""

from __future__ import annotations

import uuid

import grpc
from pyxie_jwt import SigningKey, service_claims, sign_token
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.cloud.authpb import auth_pb2, auth_pb2_grpc

from pyxie_devstack._errors import DevstackError
from pyxie_devstack.cloud._state import Bootstrap, CloudEndpoints

__all__ = ["create_demo_org", "still_valid"]

_TIMEOUT_S = 10.0


def _api_channel(endpoints: CloudEndpoints, ca: bytes) -> grpc.Channel:
    return grpc.secure_channel(endpoints.api, grpc.ssl_channel_credentials(root_certificates=ca))


def still_valid(demo: Bootstrap, endpoints: CloudEndpoints, ca: bytes) -> bool:
    with _api_channel(endpoints, ca) as channel:
        try:
            cpb_grpc.VizierClusterInfoStub(channel).GetClusterInfo(
                cpb.GetClusterInfoRequest(),
                metadata=(("pixie-api-key", demo.api_key),),
                timeout=_TIMEOUT_S,
            )
        except grpc.RpcError:
            return False
    return True


def create_demo_org(
    endpoints: CloudEndpoints, ca: bytes, *, jwt_key: str, password: str
) -> Bootstrap:
    suffix = uuid.uuid4().hex[:6]
    org_name = f"demo-{suffix}"
    email = f"admin-{suffix}@pyxie.local"
    service_token = sign_token(
        service_claims(service_id="devstack", audience=endpoints.domain), SigningKey(jwt_key)
    )
    with grpc.insecure_channel(endpoints.auth) as channel:
        try:
            login = auth_pb2_grpc.AuthServiceStub(channel).Signup(
                auth_pb2.SignupRequest(
                    email=email, password=password, name="Demo Admin", org_name=org_name
                ),
                metadata=(("authorization", f"bearer {service_token}"),),
                timeout=_TIMEOUT_S,
            )
        except grpc.RpcError as err:
            raise DevstackError(f"demo signup failed: {err.details()}") from None
    bearer = (("authorization", f"bearer {login.token}"),)
    with _api_channel(endpoints, ca) as channel:
        try:
            api_key = cpb_grpc.APIKeyManagerStub(channel).Create(
                cpb.CreateAPIKeyRequest(desc="devstack demo"), metadata=bearer, timeout=_TIMEOUT_S
            )
            deploy_key = cpb_grpc.VizierDeploymentKeyManagerStub(channel).Create(
                cpb.CreateDeploymentKeyRequest(desc="devstack demo"),
                metadata=bearer,
                timeout=_TIMEOUT_S,
            )
        except grpc.RpcError as err:
            raise DevstackError(f"demo keys failed: {err.details()}") from None
    return Bootstrap(
        org_name=org_name,
        org_id=login.user.org_id,
        email=email,
        password=password,
        user_id=login.user.user_id,
        api_key=api_key.key,
        deploy_key=deploy_key.key,
    )
