"""Cloud NATS subjects of the bridge (Pixie's vzshard scheme)."""

from __future__ import annotations

import re
import uuid
from typing import Final

__all__ = [
    "PASSTHROUGH_REQUEST_TOPIC",
    "REPLY_TOPIC_PREFIX",
    "c2v_subscription",
    "is_valid_topic",
    "shard_of",
    "v2c_subject",
]

PASSTHROUGH_REQUEST_TOPIC: Final = "VizierPassthroughRequest"
REPLY_TOPIC_PREFIX: Final = "reply-"
# One NATS token: no separators, wildcards or whitespace, so a vizier can publish only inside
# its own `v2c.<shard>.<id>.` namespace.
_TOPIC: Final = re.compile(r"[A-Za-z0-9_:\-]{1,256}")


def shard_of(vizier_id: str) -> str:
    """The last byte of the vizier UUID in hex (`00`-`ff`)."""
    return uuid.UUID(vizier_id).hex[-2:]


def v2c_subject(vizier_id: str, topic: str) -> str:
    return f"v2c.{shard_of(vizier_id)}.{vizier_id}.{topic}"


def c2v_subscription(vizier_id: str) -> str:
    return f"c2v.{vizier_id}.*"


def is_valid_topic(topic: str) -> bool:
    return _TOPIC.fullmatch(topic) is not None
