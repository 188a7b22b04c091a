"""ReplicaSet and Deployment updates reach the metadata functions through the applier."""

from __future__ import annotations

import json

import pyarrow as pa
from pyxie_agent import MetadataApplier
from pyxie_carnot.builtins import new_registry
from pyxie_carnot.context import FunctionContext
from pyxie_carnot.metadata import InMemoryMetadataState
from pyxie_proto.vizier.messagespb import messages_pb2 as msgs
from pyxie_types import DataType

POD, RS, DEP = "pod-uid", "rs-uid", "dep-uid"


def _apply(applier: MetadataApplier) -> None:
    owner = msgs.OwnerReference(kind="ReplicaSet", name="front-end-6f9d", uid=RS)
    applier.apply(
        msgs.MetadataUpdate(
            version=1,
            pod=msgs.PodUpdate(
                uid=POD, name="front-end-6f9d-x2", namespace="shop", owner_references=[owner]
            ),
        )
    )
    applier.apply(
        msgs.MetadataUpdate(
            version=2,
            replica_set=msgs.ReplicaSetUpdate(
                uid=RS,
                name="front-end-6f9d",
                namespace="shop",
                start_timestamp_ns=5,
                replicas=2,
                ready_replicas=1,
                owner_references=[
                    msgs.OwnerReference(kind="Deployment", name="front-end", uid=DEP)
                ],
            ),
        )
    )
    applier.apply(
        msgs.MetadataUpdate(
            version=3,
            deployment=msgs.DeploymentUpdate(
                uid=DEP, name="front-end", namespace="shop", replicas=2, ready_replicas=1
            ),
        )
    )


def _call(ctx: FunctionContext, name: str, value: str) -> str:
    udf = ctx.registry.lookup_scalar(name, (DataType.STRING,))
    out = udf.fn(ctx, pa.array([value]))
    return str(out.to_pylist()[0] if isinstance(out, pa.Array | pa.ChunkedArray) else out.as_py())


def test_pods_resolve_to_their_replica_set_and_deployment() -> None:
    state = InMemoryMetadataState()
    applier = MetadataApplier(state, start_time_ticks=None)
    _apply(applier)
    assert applier.updates_applied == 3
    ctx = FunctionContext(new_registry(), state)
    assert _call(ctx, "pod_id_to_replicaset_name", POD) == "shop/front-end-6f9d"
    assert _call(ctx, "pod_id_to_deployment_name", POD) == "shop/front-end"
    assert _call(ctx, "pod_name_to_deployment_id", "shop/front-end-6f9d-x2") == DEP
    assert _call(ctx, "replicaset_id_to_deployment_name", RS) == "shop/front-end"
    assert _call(ctx, "replicaset_name_to_replicaset_id", "shop/front-end-6f9d") == RS
    assert _call(ctx, "deployment_name_to_deployment_id", "shop/front-end") == DEP
    status = json.loads(_call(ctx, "replicaset_id_to_status", RS))
    assert status["replicas"] == 2 and status["ready_replicas"] == 1
    owners = json.loads(_call(ctx, "pod_id_to_owner_references", POD))
    assert "front-end-6f9d" in json.dumps(owners)
