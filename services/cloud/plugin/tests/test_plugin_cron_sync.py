"""The cron-script sync over real cloud NATS: pushes on change, answers checksum/full-set asks.

The viziers are `FakeVizier`s: what vzconn would publish for a vizier on cloud NATS (the
service boundary); vzmgr is the `StaticDirectory` fake.
"""

from __future__ import annotations

import uuid
from typing import Any

import yaml
from google.protobuf import wrappers_pb2
from pyxie_plugin.controllers import OPENTELEMETRY_PLUGIN_ID
from pyxie_plugin.testing import (
    FakeVizier,
    PluginCloud,
    enable_otel_plugin,
    eventually,
    script_ids,
)
from pyxie_proto.api.cloudpb import cloudapi_pb2 as cpb
from pyxie_proto.cloud import cronscripts
from pyxie_proto.uuidpb import uuid_pb2

SECRET = "sk-live-0c1d2e3f4a5b"
URL = "collector.example.com:4317"


def _pb(text: str) -> uuid_pb2.UUID:
    value = uuid.UUID(text).int
    return uuid_pb2.UUID(high_bits=value >> 64, low_bits=value & ((1 << 64) - 1))


async def _vizier(cloud: PluginCloud, nats: Any, org: uuid.UUID, **kw: Any) -> FakeVizier:
    vizier = FakeVizier(nats, **kw)
    cloud.directory.viziers[vizier.vizier_id] = org
    await vizier.start()
    return vizier


async def test_enabling_the_plugin_pushes_its_scripts_with_the_endpoint_to_the_orgs_viziers_only(
    cloud: PluginCloud, cloud_nats: Any
) -> None:
    org, other_org = uuid.uuid4(), uuid.uuid4()
    mine = await _vizier(cloud, cloud_nats, org)
    theirs = await _vizier(cloud, cloud_nats, other_org)
    scripts = await enable_otel_plugin(
        cloud.channel, cloud.creds.user(org), export_url=URL, headers={"api-key": SECRET}
    )

    async def all_arrived() -> bool:
        return sorted(mine.scripts) == sorted(script_ids(scripts))

    await eventually(all_arrived)
    script = next(iter(mine.scripts.values()))
    assert "px.export" in script.script and script.frequency_s == 10
    configs = yaml.safe_load(script.configs)["otelEndpointConfig"]
    assert configs == {"url": URL, "headers": {"api-key": SECRET}, "insecure": True, "timeout": 5}
    assert theirs.updates == [] and theirs.scripts == {}
    # The other org's vizier asking for its set gets nothing of this org's.
    await theirs.sync()
    assert theirs.scripts == {}


async def test_a_vizier_syncs_by_checksum_then_full_set(
    cloud: PluginCloud, cloud_nats: Any
) -> None:
    org = uuid.uuid4()
    scripts = await enable_otel_plugin(cloud.channel, cloud.creds.user(org), export_url=URL)
    # A vizier that connects later (it missed the pushes) syncs.
    late = FakeVizier(cloud_nats)
    cloud.directory.viziers[late.vizier_id] = org
    assert await late.checksum() != cronscripts.cron_scripts_checksum({})
    await late.sync()
    assert sorted(late.scripts) == sorted(script_ids(scripts))
    assert await late.checksum() == cronscripts.cron_scripts_checksum(late.scripts)


async def test_changes_are_pushed_as_upserts_and_deletes(
    cloud: PluginCloud, cloud_nats: Any
) -> None:
    org = uuid.uuid4()
    user = cloud.creds.user(org)
    a = await _vizier(cloud, cloud_nats, org)
    b = await _vizier(cloud, cloud_nats, org)
    await enable_otel_plugin(cloud.channel, user, export_url=URL, presets=False)
    created = await cloud.stub.CreateRetentionScript(
        cpb.CreateRetentionScriptRequest(
            script_name="only on a",
            contents="import px\n",
            frequency_s=60,
            plugin_id=OPENTELEMETRY_PLUGIN_ID,
            cluster_ids=[_pb(a.vizier_id)],
        ),
        metadata=user,
    )
    (key,) = script_ids([cpb.RetentionScript(script_id=created.id)])

    async def only_a_runs_it() -> bool:
        return key in a.scripts and any(u.HasField("delete_req") for u in b.updates)

    await eventually(only_a_runs_it)
    assert key not in b.scripts
    # Moving it to b: a gets a delete, b an upsert.
    await cloud.stub.UpdateRetentionScript(
        cpb.UpdateRetentionScriptRequest(
            id=created.id,
            frequency_s=wrappers_pb2.Int64Value(value=5),
            cluster_ids=[_pb(b.vizier_id)],
        ),
        metadata=user,
    )

    async def moved() -> bool:
        return key not in a.scripts and key in b.scripts and b.scripts[key].frequency_s == 5

    await eventually(moved)
    # Disabling the script removes it everywhere; so does disabling the plugin.
    await cloud.stub.UpdateRetentionScript(
        cpb.UpdateRetentionScriptRequest(
            id=created.id,
            enabled=wrappers_pb2.BoolValue(value=False),
            cluster_ids=[_pb(b.vizier_id)],
        ),
        metadata=user,
    )

    async def gone() -> bool:
        return key not in b.scripts

    await eventually(gone)
    await cloud.stub.UpdateRetentionPluginConfig(
        cpb.UpdateRetentionPluginConfigRequest(
            plugin_id=OPENTELEMETRY_PLUGIN_ID, enabled=wrappers_pb2.BoolValue(value=False)
        ),
        metadata=user,
    )
    await enable_otel_plugin(cloud.channel, user, export_url=URL, headers={"api-key": SECRET})

    async def presets_arrived() -> bool:
        return len(a.scripts) == 3 and len(b.scripts) == 3

    await eventually(presets_arrived)
    await cloud.stub.UpdateRetentionPluginConfig(
        cpb.UpdateRetentionPluginConfigRequest(
            plugin_id=OPENTELEMETRY_PLUGIN_ID, enabled=wrappers_pb2.BoolValue(value=False)
        ),
        metadata=user,
    )

    async def all_gone() -> bool:
        return a.scripts == {} and b.scripts == {}

    await eventually(all_gone)
    await a.sync()
    assert a.scripts == {}


async def test_a_new_export_header_reaches_the_viziers(cloud: PluginCloud, cloud_nats: Any) -> None:
    org = uuid.uuid4()
    user = cloud.creds.user(org)
    vizier = await _vizier(cloud, cloud_nats, org)
    await enable_otel_plugin(cloud.channel, user, export_url=URL, headers={"api-key": "old"})
    await cloud.stub.UpdateRetentionPluginConfig(
        cpb.UpdateRetentionPluginConfigRequest(
            plugin_id=OPENTELEMETRY_PLUGIN_ID, configs={"api-key": "new"}
        ),
        metadata=user,
    )

    async def rotated() -> bool:
        return len(vizier.scripts) == 3 and all(
            yaml.safe_load(s.configs)["otelEndpointConfig"]["headers"] == {"api-key": "new"}
            for s in vizier.scripts.values()
        )

    await eventually(rotated)


async def test_an_unacked_update_is_sent_again_until_the_vizier_acks(
    cloud: PluginCloud, cloud_nats: Any
) -> None:
    org = uuid.uuid4()
    vizier = await _vizier(cloud, cloud_nats, org, ack=False)
    await enable_otel_plugin(cloud.channel, cloud.creds.user(org), export_url=URL)

    async def retried() -> bool:
        ids = [u.request_id for u in vizier.updates]
        return any(ids.count(i) >= 2 for i in ids)

    await eventually(retried)
    vizier.ack = True
    seen = len(vizier.updates)

    async def settled() -> bool:
        return len(vizier.scripts) == 3 and len(vizier.updates) > seen

    await eventually(settled)


async def test_a_request_whose_envelope_names_another_vizier_gets_no_scripts(
    cloud: PluginCloud, cloud_nats: Any
) -> None:
    org = uuid.uuid4()
    victim = await _vizier(cloud, cloud_nats, org)
    await enable_otel_plugin(cloud.channel, cloud.creds.user(org), export_url=URL)
    intruder = FakeVizier(cloud_nats)
    replies: list[Any] = []

    async def record(message: Any) -> None:
        replies.append(message)

    sub = await cloud_nats.subscribe("c2v.*.>", cb=record)
    # Forged: the envelope claims the victim while the subject is the intruder's; ignored.
    from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2 as cvmsgs

    await intruder.publish(
        cronscripts.SCRIPTS_REQUEST_TOPIC,
        cvmsgs.GetCronScriptsRequest(topic="x"),
        as_vizier=victim.vizier_id,
    )
    # A genuine request on the same subscription after it is answered, so the forged one was
    # handled before (and dropped): the only full-set answer is the genuine, empty one.
    genuine = await intruder.ask(
        cronscripts.SCRIPTS_REQUEST_TOPIC,
        cvmsgs.GetCronScriptsRequest(),
        cvmsgs.GetCronScriptsResponse,
    )
    await sub.unsubscribe()
    assert dict(genuine.scripts) == {}
    answers = [r.subject for r in replies if "GetCronScriptsResponse" in r.subject]
    assert len(answers) == 1 and answers[0].startswith(f"c2v.{intruder.vizier_id}.")
