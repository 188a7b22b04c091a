"""Attacks on the running cloud (real auth, vzmgr, vzconn, api, PostgreSQL, NATS): each is tried
and must be rejected. The stack is the cloud devstack, started once for the module."""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf.any_pb2 import Any as AnyPb
from pyxie_devstack import load_settings
from pyxie_devstack.cloud import Bootstrap, CloudEndpoints, CloudStack, read_bootstrap
from pyxie_jwt import (
    VIZIER_AUDIENCE,
    AccessScope,
    SigningKey,
    cluster_claims,
    service_claims,
    sign_token,
    user_claims,
)
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb
from pyxie_proto.api.vizierpb import vizierapi_pb2_grpc as vpb_grpc
from pyxie_proto.cloud.authpb import auth_pb2, auth_pb2_grpc
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2
from pyxie_proto.cloud.vzconnpb import vzconn_pb2, vzconn_pb2_grpc

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@dataclass
class Cloud:
    endpoints: CloudEndpoints
    demo: Bootstrap
    ca: bytes
    jwt_key: SigningKey
    state_dir: Path

    def api(self) -> grpc.Channel:
        creds = grpc.ssl_channel_credentials(root_certificates=self.ca)
        return grpc.secure_channel(self.endpoints.api, creds)

    def vzconn(self) -> grpc.Channel:
        creds = grpc.ssl_channel_credentials(root_certificates=self.ca)
        return grpc.secure_channel(self.endpoints.vzconn, creds)


@pytest.fixture(scope="module")
def cloud() -> Iterator[Cloud]:
    state = Path(tempfile.mkdtemp(prefix="pyxie-e2e-cloud-"))
    os.chmod(state, 0o711)
    previous = os.environ.get("PL_STATE_DIR")
    os.environ["PL_STATE_DIR"] = str(state)
    stack = CloudStack(load_settings(), say=lambda _line: None)
    try:
        endpoints = stack.up()
        yield Cloud(
            endpoints,
            read_bootstrap(state),
            (state / "cloud" / "tls" / "ca.crt").read_bytes(),
            SigningKey((state / "cloud" / "jwt_signing_key").read_text().strip()),
            state,
        )
    finally:
        stack.down()
        if previous is None:
            os.environ.pop("PL_STATE_DIR", None)
        else:
            os.environ["PL_STATE_DIR"] = previous
        if not os.environ.get("PYXIE_E2E_KEEP_STATE"):  # keep logs for a post-mortem
            shutil.rmtree(state, ignore_errors=True)


def _code(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()  # type: ignore[operator]
    return info.value.code()  # type: ignore[no-any-return]


def _clusters(cloud: Cloud, metadata: list[tuple[str, str]]) -> cpb.GetClusterInfoResponse:
    with cloud.api() as channel:
        return cpb_grpc.VizierClusterInfoStub(channel).GetClusterInfo(
            cpb.GetClusterInfoRequest(), metadata=metadata, timeout=10
        )


def _service_md(cloud: Cloud) -> list[tuple[str, str]]:
    token = sign_token(
        service_claims(service_id="e2e", audience=cloud.endpoints.domain), cloud.jwt_key
    )
    return [("authorization", f"bearer {token}")]


def _new_org(cloud: Cloud) -> tuple[str, auth_pb2.LoginResponse]:
    """Another org with its own admin; returns (admin API key, login)."""
    suffix = uuid.uuid4().hex[:6]
    with grpc.insecure_channel(cloud.endpoints.auth) as channel:
        login = auth_pb2_grpc.AuthServiceStub(channel).Signup(
            auth_pb2.SignupRequest(
                email=f"b-{suffix}@x.test",
                password="a long enough password 42",
                name="B",
                org_name=f"org-b-{suffix}",
            ),
            metadata=_service_md(cloud),
            timeout=10,
        )
    with cloud.api() as channel:
        key = cpb_grpc.APIKeyManagerStub(channel).Create(
            cpb.CreateAPIKeyRequest(desc="b"),
            metadata=[("authorization", f"bearer {login.token}")],
            timeout=10,
        )
    return key.key, login


def _deploy_key(cloud: Cloud, api_key: str) -> str:
    with cloud.api() as channel:
        return str(
            cpb_grpc.VizierDeploymentKeyManagerStub(channel)
            .Create(
                cpb.CreateDeploymentKeyRequest(desc="e2e"),
                metadata=[("pixie-api-key", api_key)],
                timeout=10,
            )
            .key
        )


def _register(
    cloud: Cloud, deploy_key: str, uid: str, name: str
) -> vzconn_pb2.RegisterVizierDeploymentResponse:
    with cloud.vzconn() as channel:
        return vzconn_pb2_grpc.VZConnServiceStub(channel).RegisterVizierDeployment(
            vzconn_pb2.RegisterVizierDeploymentRequest(k8s_cluster_uid=uid, k8s_cluster_name=name),
            metadata=[("x-api-key", deploy_key)],
            timeout=10,
        )


def _bridge(cloud: Cloud, first: vzconn_pb2.V2CBridgeMessage) -> list[vzconn_pb2.C2VBridgeMessage]:
    """Open a bridge, send `first`, return what vzconn answered before ending the stream."""
    outgoing: queue.Queue[vzconn_pb2.V2CBridgeMessage | None] = queue.Queue()
    outgoing.put(first)

    def requests() -> Iterator[vzconn_pb2.V2CBridgeMessage]:
        while (item := outgoing.get(timeout=30)) is not None:
            yield item

    replies: list[vzconn_pb2.C2VBridgeMessage] = []
    with cloud.vzconn() as channel:
        stream = vzconn_pb2_grpc.VZConnServiceStub(channel).NATSBridge(requests(), timeout=20)
        try:
            for reply in stream:
                replies.append(reply)
                if reply.topic == "registerAck":
                    break
        finally:
            outgoing.put(None)
            stream.cancel()
    return replies


def _register_message(vizier_id: str, key: str, uid: str) -> vzconn_pb2.V2CBridgeMessage:
    proof = sign_token(
        cluster_claims(cluster_id=vizier_id, audience=VIZIER_AUDIENCE), SigningKey(key)
    )
    body = AnyPb()
    body.Pack(
        cvmsgs_pb2.RegisterVizierRequest(
            vizier_id=vizier_id, jwt_key_proof=proof, cluster_uid=uid, vizier_version="0.1.0"
        )
    )
    return vzconn_pb2.V2CBridgeMessage(topic="register", session_id="1", msg=body)


def _ack(replies: list[vzconn_pb2.C2VBridgeMessage]) -> cvmsgs_pb2.RegisterVizierAck:
    ack = cvmsgs_pb2.RegisterVizierAck()
    assert replies and replies[-1].topic == "registerAck", replies
    assert replies[-1].msg.Unpack(ack)
    return ack


# ---- credentials ----------------------------------------------------------------------------


def test_no_key_is_refused(cloud: Cloud) -> None:
    assert _code(lambda: _clusters(cloud, [])) is grpc.StatusCode.UNAUTHENTICATED


def test_wrong_key_is_refused(cloud: Cloud) -> None:
    forged = [("pixie-api-key", f"px-api-{uuid.uuid4()}")]
    assert _code(lambda: _clusters(cloud, forged)) is grpc.StatusCode.UNAUTHENTICATED


def test_deleted_key_stops_working(cloud: Cloud) -> None:
    admin = [("pixie-api-key", cloud.demo.api_key)]
    with cloud.api() as channel:
        stub = cpb_grpc.APIKeyManagerStub(channel)
        key = stub.Create(cpb.CreateAPIKeyRequest(desc="short-lived"), metadata=admin, timeout=10)
        assert _clusters(cloud, [("pixie-api-key", key.key)]) is not None
        stub.Delete(key.id, metadata=admin, timeout=10)
    revoked = [("pixie-api-key", key.key)]
    assert _code(lambda: _clusters(cloud, revoked)) is grpc.StatusCode.UNAUTHENTICATED


def test_expired_token_is_refused(cloud: Cloud) -> None:
    past = datetime.now(UTC) - timedelta(days=1)
    claims = user_claims(
        user_id=cloud.demo.user_id,
        org_id=cloud.demo.org_id,
        email=cloud.demo.email,
        audience=cloud.endpoints.domain,
        lifetime=timedelta(minutes=5),
        now=past,
    )
    expired = [("authorization", f"bearer {sign_token(claims, cloud.jwt_key)}")]
    assert _code(lambda: _clusters(cloud, expired)) is grpc.StatusCode.UNAUTHENTICATED


def test_token_signed_with_another_key_is_refused(cloud: Cloud) -> None:
    claims = user_claims(
        user_id=cloud.demo.user_id,
        org_id=cloud.demo.org_id,
        email=cloud.demo.email,
        audience=cloud.endpoints.domain,
    )
    forged = [("authorization", f"bearer {sign_token(claims, SigningKey.generate())}")]
    assert _code(lambda: _clusters(cloud, forged)) is grpc.StatusCode.UNAUTHENTICATED


def test_alg_none_token_is_refused(cloud: Cloud) -> None:
    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(datetime.now(UTC).timestamp())
    payload = {
        "aud": cloud.endpoints.domain,
        "exp": now + 600,
        "iat": now,
        "nbf": now,
        "iss": "PL",
        "jti": str(uuid.uuid4()),
        "sub": cloud.demo.user_id,
        "Scopes": "user",
        "UserID": cloud.demo.user_id,
        "OrgID": cloud.demo.org_id,
        "Email": cloud.demo.email,
        "IsAPIUser": False,
    }
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}."
    unsigned = [("authorization", f"bearer {token}")]
    assert _code(lambda: _clusters(cloud, unsigned)) is grpc.StatusCode.UNAUTHENTICATED


def test_deploy_key_is_no_api_credential(cloud: Cloud) -> None:
    for metadata in (
        [("pixie-api-key", cloud.demo.deploy_key)],
        [("authorization", f"bearer {cloud.demo.deploy_key}")],
    ):
        assert _code(lambda m=metadata: _clusters(cloud, m)) is grpc.StatusCode.UNAUTHENTICATED
        with cloud.api() as channel:
            stub = cpb_grpc.APIKeyManagerStub(channel)

            def create(
                m: list[tuple[str, str]] = metadata, s: cpb_grpc.APIKeyManagerStub = stub
            ) -> object:
                return s.Create(cpb.CreateAPIKeyRequest(desc="x"), metadata=m, timeout=10)

            assert _code(create) is grpc.StatusCode.UNAUTHENTICATED


def test_read_only_key_cannot_create_keys(cloud: Cloud) -> None:
    with grpc.insecure_channel(cloud.endpoints.auth) as channel:
        login = auth_pb2_grpc.AuthServiceStub(channel).PasswordLogin(
            auth_pb2.PasswordLoginRequest(email=cloud.demo.email, password=cloud.demo.password),
            metadata=_service_md(cloud),
            timeout=10,
        )
        augmented = auth_pb2_grpc.AuthServiceStub(channel).GetAugmentedToken(
            auth_pb2.GetAugmentedTokenRequest(token=login.token),
            metadata=_service_md(cloud),
            timeout=10,
        )
        read_only = auth_pb2_grpc.APIKeyServiceStub(channel).Create(
            auth_pb2.CreateAPIKeyRequest(
                org_id=cloud.demo.org_id,
                user_id=cloud.demo.user_id,
                description="viewer",
                scope=AccessScope.READ_ONLY.value,
            ),
            metadata=[*_service_md(cloud), ("x-pyxie-user-token", augmented.token)],
            timeout=10,
        )
    viewer = [("pixie-api-key", read_only.key)]
    assert _clusters(cloud, viewer) is not None  # reading is allowed
    with cloud.api() as channel:
        api_keys = cpb_grpc.APIKeyManagerStub(channel)
        deploy_keys = cpb_grpc.VizierDeploymentKeyManagerStub(channel)
        for attempt in (
            lambda: api_keys.Create(cpb.CreateAPIKeyRequest(desc="x"), metadata=viewer, timeout=10),
            lambda: deploy_keys.Create(
                cpb.CreateDeploymentKeyRequest(desc="x"), metadata=viewer, timeout=10
            ),
        ):
            assert _code(attempt) is grpc.StatusCode.PERMISSION_DENIED


# ---- org isolation and viziers ---------------------------------------------------------------


def test_one_orgs_key_cannot_reach_another_orgs_cluster(cloud: Cloud) -> None:
    key_b, _ = _new_org(cloud)
    vizier_b = _register(cloud, _deploy_key(cloud, key_b), f"uid-{uuid.uuid4()}", "b-cluster")
    a = [("pixie-api-key", cloud.demo.api_key)]
    assert vizier_b.vizier_id not in [
        str(uuid.UUID(int=(c.id.high_bits << 64) | c.id.low_bits))
        for c in _clusters(cloud, a).clusters
    ]
    number = uuid.UUID(vizier_b.vizier_id).int
    target = cpb.GetClusterInfoRequest()
    target.id.high_bits, target.id.low_bits = number >> 64, number & ((1 << 64) - 1)
    with cloud.api() as channel:
        info = cpb_grpc.VizierClusterInfoStub(channel)
        assert _code(lambda: info.GetClusterInfo(target, metadata=a, timeout=10)) is (
            grpc.StatusCode.NOT_FOUND
        )
        script = vpb_grpc.VizierServiceStub(channel).ExecuteScript(
            vpb.ExecuteScriptRequest(query_str="import px", cluster_id=vizier_b.vizier_id),
            metadata=a,
            timeout=10,
        )
        assert _code(lambda: list(script)) is grpc.StatusCode.NOT_FOUND


def test_second_vizier_with_a_connected_cluster_uid_is_refused(cloud: Cloud) -> None:
    uid = f"uid-{uuid.uuid4()}"
    first = _register(cloud, cloud.demo.deploy_key, uid, f"twin-{uid[-6:]}")
    ack = _ack(_bridge(cloud, _register_message(first.vizier_id, first.jwt_signing_key, uid)))
    assert ack.status == cvmsgs_pb2.RegisterVizierAck.ST_OK
    # While the first is not DISCONNECTED, the same UID cannot be claimed again.
    assert _code(lambda: _register(cloud, cloud.demo.deploy_key, uid, f"twin2-{uid[-6:]}")) in (
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.FAILED_PRECONDITION,
    )


def test_confusable_vizier_name_does_not_pass_for_the_original(cloud: Cloud) -> None:
    original = f"prod-{uuid.uuid4().hex[:6]}"
    first = _register(cloud, cloud.demo.deploy_key, f"uid-{uuid.uuid4()}", original)
    assert first.vizier_name == original
    lookalike = original.replace("o", "\u043e")  # Cyrillic small o
    try:
        second = _register(cloud, cloud.demo.deploy_key, f"uid-{uuid.uuid4()}", lookalike)
    except grpc.RpcError as err:
        assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
        return
    assert second.vizier_name not in (original, lookalike)
    assert second.vizier_name.isascii()


def test_bridge_traffic_before_register_is_refused(cloud: Cloud) -> None:
    heartbeat = AnyPb()
    heartbeat.Pack(cvmsgs_pb2.VizierHeartbeat(vizier_id=str(uuid.uuid4())))
    first = vzconn_pb2.V2CBridgeMessage(topic="heartbeat", session_id="1", msg=heartbeat)
    with pytest.raises(grpc.RpcError) as info:
        _bridge(cloud, first)
    assert info.value.code() in (  # type: ignore[attr-defined]
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.UNAUTHENTICATED,
    )


def test_one_viziers_key_cannot_register_another(cloud: Cloud) -> None:
    one = _register(cloud, cloud.demo.deploy_key, f"uid-{uuid.uuid4()}", "")
    uid_two = f"uid-{uuid.uuid4()}"
    two = _register(cloud, cloud.demo.deploy_key, uid_two, "")
    # Vizier two's bridge presents a proof made with vizier one's key.
    message = _register_message(two.vizier_id, one.jwt_signing_key, uid_two)
    try:
        replies = _bridge(cloud, message)
    except grpc.RpcError as err:
        assert err.code() is not grpc.StatusCode.OK
        return
    assert _ack(replies).status != cvmsgs_pb2.RegisterVizierAck.ST_OK
