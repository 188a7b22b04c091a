"""Hostile text from callers: NUL characters and overlong values are client errors.

PostgreSQL refuses NUL in text: a NUL in a deploy-key description or a cluster name used to
fail inside the driver (INTERNAL, or "unavailable, retry later" through vzconn).
"""

from __future__ import annotations

import uuid

import grpc
import psycopg
import pytest
from pyxie_proto.cloud.vzmgrpb import vzmgr_pb2 as pb
from pyxie_vzmgr.testing import Cloud


@pytest.mark.parametrize(
    ("description", "message"),
    [("ci\x00runner", "NUL"), ("x" * 257, "longer than 256")],
    ids=["nul", "too-long"],
)
async def test_a_bad_deploy_key_description_is_invalid_argument(
    cloud: Cloud, description: str, message: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await cloud.keys.Create(
            pb.CreateDeploymentKeyRequest(description=description),
            metadata=cloud.user_auth(str(uuid.uuid4())),
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (raised.value.details() or "")


async def test_a_description_of_256_characters_is_fine(cloud: Cloud) -> None:
    created = await cloud.keys.Create(
        pb.CreateDeploymentKeyRequest(description="d" * 256),
        metadata=cloud.user_auth(str(uuid.uuid4())),
    )
    assert created.description == "d" * 256


@pytest.mark.parametrize(
    ("uid", "name"),
    [("uid-nul", "prod\x00x"), ("uid\x00nul", "prod"), ("u" * 10_000, "prod")],
    ids=["nul-in-name", "nul-in-uid", "huge-uid"],
)
async def test_hostile_registration_text_is_invalid_argument_and_audited(
    cloud: Cloud, uid: str, name: str
) -> None:
    key = await cloud.new_deploy_key(str(uuid.uuid4()))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await cloud.register(key, uid, name)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with psycopg.connect(cloud.dsn) as conn:
        row = conn.execute(
            "SELECT cluster_uid, cluster_name, outcome FROM deploy_key_audit ORDER BY id DESC"
        ).fetchone()
    assert row is not None and row[2] == "rejected"
    # The attempt is on record, escaped and bounded.
    assert "\x00" not in row[0] + row[1] and len(row[0]) <= 257
