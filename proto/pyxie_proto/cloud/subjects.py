"""The cloud's NATS subjects, its shard function and the bridge topics (Pixie's names), once.

Cloud NATS carries what the vzconn bridge moves between viziers and cloud services; each message
is a `cvmsgspb` envelope:

* `c2v.<vizier_id>.<topic>`: cloud service -> one vizier, `C2VMessage`. vzconn subscribes to
  `c2v.<vizier_id>.*` for each registered vizier and sends `<topic>` down its bridge stream.
* `v2c.<shard>.<vizier_id>.<topic>`: one vizier -> cloud services, `V2CMessage` stamped by vzconn
  with the vizier id the bridge registered (a vizier cannot speak for another one). `<shard>` is
  the last byte of the vizier UUID in lower-case hex (`00`-`ff`), so a service can split the
  viziers between replicas by subscribing to some shards only (vzmgr's heartbeats).

Bridge topics (`vzconnpb` `topic` field): `register` / `registerAck` (the bridge handshake),
`heartbeat` (vizier -> vzmgr, `VizierHeartbeat`), `VizierPassthroughRequest` (api -> the vizier's
query broker, `C2VAPIStreamRequest`) and `reply-<request_id>` (its replies,
`V2CAPIStreamResponse`). The last two are also vizier-NATS topics, defined in
`pyxie_proto.vizier.subjects` and re-exported here.

The vizier side of the bridge (`c2v.<topic>`, `v2c.<topic>` on vizier NATS) is in
`pyxie_proto.vizier.subjects`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Final, NamedTuple

from pyxie_proto.vizier.subjects import PASSTHROUGH_REQUEST_TOPIC, REPLY_TOPIC_PREFIX, reply_topic

__all__ = [
    "AUDIT_EVENTS_SUBJECT",
    "HEARTBEAT_TOPIC",
    "PASSTHROUGH_REQUEST_TOPIC",
    "REGISTER_ACK_TOPIC",
    "REGISTER_TOPIC",
    "REPLY_TOPIC_PREFIX",
    "SHARD_COUNT",
    "VIZIER_UPDATE_TOPIC",
    "V2CSubject",
    "c2v_subject",
    "c2v_subscription",
    "c2v_topic",
    "heartbeat_subjects",
    "is_valid_topic",
    "parse_v2c_subject",
    "passthrough_reply_subject",
    "passthrough_request_subject",
    "reply_topic",
    "shard_of",
    "v2c_subject",
    "v2c_topic_subscription",
]

# Security audit events of every cloud service (JSON, see `pyxie_service.audit`), stored by auth.
AUDIT_EVENTS_SUBJECT: Final = "audit.events"

REGISTER_TOPIC: Final = "register"
REGISTER_ACK_TOPIC: Final = "registerAck"
HEARTBEAT_TOPIC: Final = "heartbeat"
# Cloud -> vizier: `UpdateOrInstallVizierRequest`, a newer release is offered (Pixie's topic).
VIZIER_UPDATE_TOPIC: Final = "VizierUpdate"

# Shards are one byte of the vizier id.
SHARD_COUNT: Final = 256

_C2V: Final = "c2v"
_V2C: Final = "v2c"

# One NATS token: no separators, wildcards or whitespace, so a vizier can publish only inside
# its own `v2c.<shard>.<id>.` namespace.
_TOPIC: Final = re.compile(r"[A-Za-z0-9_:\-]{1,256}")


def is_valid_topic(topic: str) -> bool:
    """Whether a vizier may use `topic` as the last token of a `v2c` subject."""
    return _TOPIC.fullmatch(topic) is not None


def shard_of(vizier_id: str) -> str:
    """The cloud NATS shard of a vizier: the last byte of its UUID in hex (`00`-`ff`)."""
    return uuid.UUID(vizier_id).hex[-2:]


def _shard_token(shard: int) -> str:
    if not 0 <= shard < SHARD_COUNT:
        raise ValueError(f"shard {shard} is not in 0..{SHARD_COUNT - 1}")
    return f"{shard:02x}"


def c2v_subject(vizier_id: str, topic: str) -> str:
    """Cloud -> vizier `vizier_id`: publish a `C2VMessage` of `topic` here."""
    return f"{_C2V}.{vizier_id}.{topic}"


def c2v_subscription(vizier_id: str) -> str:
    """Every cloud -> vizier subject of one vizier (vzconn's subscription for its bridge)."""
    return c2v_subject(vizier_id, "*")


def c2v_topic(vizier_id: str, subject: str) -> str:
    """The topic of a `c2v_subject(vizier_id, topic)`; ValueError for another vizier's subject."""
    prefix = c2v_subject(vizier_id, "")
    if not subject.startswith(prefix):
        raise ValueError(f"{subject!r} is not a c2v subject of vizier {vizier_id}")
    return subject[len(prefix) :]


def v2c_subject(vizier_id: str, topic: str) -> str:
    """Vizier `vizier_id` -> cloud: vzconn publishes the vizier's `V2CMessage`s here."""
    return f"{_V2C}.{shard_of(vizier_id)}.{vizier_id}.{topic}"


class V2CSubject(NamedTuple):
    shard: str
    vizier_id: str
    topic: str


def parse_v2c_subject(subject: str) -> V2CSubject | None:
    """The parts of a `v2c.<shard>.<vizier_id>.<topic>` subject, None for any other subject.

    Only the shape is checked; the caller checks the vizier id against the envelope.
    """
    parts = subject.split(".")
    if len(parts) != 4 or parts[0] != _V2C:
        return None
    return V2CSubject(parts[1], parts[2], parts[3])


def v2c_topic_subscription(topic: str) -> str:
    """Every vizier's messages of one `topic` (a cloud service's subscription)."""
    if not is_valid_topic(topic):
        raise ValueError(f"{topic!r} is not a bridge topic")
    return f"{_V2C}.*.*.{topic}"


def heartbeat_subjects(shards: Iterable[int]) -> list[str]:
    """`v2c.<shard>.*.heartbeat` for each shard, or one wildcard when all shards are wanted."""
    wanted = sorted(set(shards))
    if len(wanted) == SHARD_COUNT:
        return [f"{_V2C}.*.*.{HEARTBEAT_TOPIC}"]
    return [f"{_V2C}.{_shard_token(shard)}.*.{HEARTBEAT_TOPIC}" for shard in wanted]


def passthrough_request_subject(vizier_id: str) -> str:
    """Where the api publishes a `C2VAPIStreamRequest` for vizier `vizier_id`."""
    return c2v_subject(vizier_id, PASSTHROUGH_REQUEST_TOPIC)


def passthrough_reply_subject(vizier_id: str, request_id: str) -> str:
    """Where the api receives the replies of vizier `vizier_id` to request `request_id`."""
    return v2c_subject(vizier_id, reply_topic(request_id))
