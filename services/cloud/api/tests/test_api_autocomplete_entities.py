"""Autocomplete reads a cluster's pods, services, namespaces and nodes by running its entity
query over the passthrough (a fake vizier at the NATS boundary answers it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pyxie_api.controllers.autocomplete import ENTITY_QUERY
from pyxie_api.testing import VZ_A1, ApiHarness
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.api.cloudpb import cloudapi_pb2_grpc as cpb_grpc
from pyxie_proto.api.vizierpb import vizierapi_pb2 as vpb

_ROWS = (
    (b"pl/front-end-7c9", b"pl/front-end", b"pl", b"node-1"),
    (b"pl/orders-55f", b'["pl/orders","pl/orders-v2"]', b"pl", b"node-2"),
    (b"kube-system/dns-1", b"kube-system/kube-dns", b"kube-system", b"node-1"),
)


async def _entities(request: vpb.ExecuteScriptRequest) -> AsyncIterator[Any]:
    assert request.query_str == ENTITY_QUERY
    names = ("pod", "service", "namespace", "node")
    relation = vpb.Relation(
        columns=[vpb.Relation.ColumnInfo(column_name=n, column_type=vpb.STRING) for n in names]
    )
    table_id = "t-entities"
    yield vpb.ExecuteScriptResponse(
        meta_data=vpb.QueryMetadata(name="autocomplete_entities", id=table_id, relation=relation)
    )
    cols = [
        vpb.Column(string_data=vpb.StringColumn(data=[row[i] for row in _ROWS])) for i in range(4)
    ]
    batch = vpb.RowBatchData(table_id=table_id, num_rows=len(_ROWS), cols=cols, eow=True, eos=True)
    yield vpb.ExecuteScriptResponse(data=vpb.QueryData(batch=batch))
    yield vpb.Status(code=0)


async def test_field_completion_lists_the_clusters_entities(api: ApiHarness) -> None:
    api.vizier.script = _entities
    async with api.channel() as channel:
        complete = cpb_grpc.AutocompleteServiceStub(channel)
        metadata = [("pixie-api-key", api.key_a)]
        pods = await complete.AutocompleteField(
            cpb.AutocompleteFieldRequest(
                input="front", field_type=cpb.AEK_POD, cluster_uid="uid-alpha"
            ),
            metadata=metadata,
        )
        assert [s.name for s in pods.suggestions] == ["pl/front-end-7c9"]
        services = await complete.AutocompleteField(
            cpb.AutocompleteFieldRequest(field_type=cpb.AEK_SVC, cluster_uid=VZ_A1),
            metadata=metadata,
        )
        assert [s.name for s in services.suggestions] == [
            "pl/orders",
            "pl/front-end",
            "pl/orders-v2",
            "kube-system/kube-dns",
        ]
        line = await complete.Autocomplete(
            cpb.AutocompleteRequest(
                input="px/pods ns:kube", cursor_pos=15, cluster_uid="uid-alpha"
            ),
            metadata=metadata,
        )
        assert line.is_executable
        assert line.formatted_input == "${1:px/pods} ${2:ns:kube}$0"
        assert [s.name for s in line.tabSuggestions[1].suggestions] == ["kube-system"]
    # One query served all three calls (entities are cached per cluster).
    assert len(api.vizier.requests) == 1


async def test_another_orgs_cluster_gives_no_entities(api: ApiHarness) -> None:
    api.vizier.script = _entities
    async with api.channel() as channel:
        complete = cpb_grpc.AutocompleteServiceStub(channel)
        pods = await complete.AutocompleteField(
            cpb.AutocompleteFieldRequest(field_type=cpb.AEK_POD, cluster_uid="uid-alpha"),
            metadata=[("pixie-api-key", api.key_b)],
        )
    assert not pods.suggestions and not api.vizier.requests
