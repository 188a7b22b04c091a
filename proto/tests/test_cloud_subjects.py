"""Cloud NATS subjects and the shard function, pinned to Pixie's wire names."""

from __future__ import annotations

import pytest
from pyxie_proto.cloud import subjects

VIZIER = "00112233-4455-6677-8899-aabbccddee0f"


def test_shard_is_the_last_byte_of_the_vizier_uuid_in_hex() -> None:
    assert subjects.shard_of(VIZIER) == "0f"
    assert subjects.shard_of(VIZIER.upper()) == "0f"
    with pytest.raises(ValueError):
        subjects.shard_of("not-a-uuid")


def test_subjects_follow_pixies_vzshard_scheme() -> None:
    assert subjects.v2c_subject(VIZIER, "heartbeat") == f"v2c.0f.{VIZIER}.heartbeat"
    assert subjects.c2v_subject(VIZIER, "X") == f"c2v.{VIZIER}.X"
    assert subjects.c2v_subscription(VIZIER) == f"c2v.{VIZIER}.*"
    assert subjects.passthrough_request_subject(VIZIER) == (
        f"c2v.{VIZIER}.VizierPassthroughRequest"
    )
    assert subjects.passthrough_reply_subject(VIZIER, "r1") == f"v2c.0f.{VIZIER}.reply-r1"


def test_c2v_topic_strips_only_the_own_viziers_prefix() -> None:
    assert subjects.c2v_topic(VIZIER, f"c2v.{VIZIER}.VizierPassthroughRequest") == (
        "VizierPassthroughRequest"
    )
    other = "ffffffff-4455-6677-8899-aabbccddee0f"
    with pytest.raises(ValueError):
        subjects.c2v_topic(VIZIER, f"c2v.{other}.X")


def test_v2c_subjects_parse_back_and_others_do_not() -> None:
    parsed = subjects.parse_v2c_subject(subjects.v2c_subject(VIZIER, "heartbeat"))
    assert parsed == subjects.V2CSubject("0f", VIZIER, "heartbeat")
    assert subjects.parse_v2c_subject(f"c2v.{VIZIER}.heartbeat") is None
    assert subjects.parse_v2c_subject("v2c.0f.heartbeat") is None
    assert subjects.parse_v2c_subject("v2c.0f.a.b.c") is None


def test_heartbeat_subjects_per_shard_or_one_wildcard_for_all() -> None:
    assert subjects.heartbeat_subjects([10, 1, 1]) == ["v2c.01.*.heartbeat", "v2c.0a.*.heartbeat"]
    assert subjects.heartbeat_subjects(range(256)) == ["v2c.*.*.heartbeat"]
    with pytest.raises(ValueError):
        subjects.heartbeat_subjects([256])


@pytest.mark.parametrize("topic", ["heartbeat", "reply-abc", "Metrics", "a:b_c-1"])
def test_single_token_topics_are_valid(topic: str) -> None:
    assert subjects.is_valid_topic(topic)


@pytest.mark.parametrize("topic", ["", "a.b", "*", ">", "a b", "x" * 257, "reply-\n"])
def test_topics_that_would_escape_the_viziers_namespace_are_refused(topic: str) -> None:
    assert not subjects.is_valid_topic(topic)


def test_v2c_topic_subscription_covers_every_vizier_and_refuses_a_wildcard_topic() -> None:
    assert (
        subjects.v2c_topic_subscription("GetCronScriptsRequest") == "v2c.*.*.GetCronScriptsRequest"
    )
    with pytest.raises(ValueError, match="not a bridge topic"):
        subjects.v2c_topic_subscription("a.>")
