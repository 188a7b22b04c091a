"""Cron-script bridge topics and the checksum both ends compute (Pixie's topic names).

The vizier's query broker keeps its scripts in sync with the cloud's cron-script service:

* `v2c.GetCronScriptsCheckSumRequest` (`GetCronScriptsChecksumRequest{topic}`) -> the cloud
  answers on `c2v.GetCronScriptsCheckSumResponse:<topic>` (`GetCronScriptsChecksumResponse`);
* on a mismatch `v2c.GetCronScriptsRequest` (`GetCronScriptsRequest{topic}`) -> the cloud
  answers on `c2v.GetCronScriptsResponse:<topic>` (`GetCronScriptsResponse`);
* the cloud pushes each change on `c2v.CronScriptsUpdates` (`CronScriptUpdate`); the vizier acks
  on `v2c.CronScriptsUpdatesResponse:<request_id>` (`CronScriptUpdateResponse`).

Every payload rides in the `msg` Any of a `C2VMessage` / `V2CMessage`. Topics are bridge topics:
on cloud NATS they sit in `c2v.<vizier_id>.<topic>` / `v2c.<shard>.<vizier_id>.<topic>`, on
vizier NATS in `c2v.<topic>` / `v2c.<topic>`.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from typing import Final

from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2

__all__ = [
    "CHECKSUM_REQUEST_TOPIC",
    "CHECKSUM_RESPONSE_TOPIC_PREFIX",
    "SCRIPTS_REQUEST_TOPIC",
    "SCRIPTS_RESPONSE_TOPIC_PREFIX",
    "UPDATES_RESPONSE_TOPIC_PREFIX",
    "UPDATES_TOPIC",
    "checksum_response_topic",
    "cron_scripts_checksum",
    "scripts_response_topic",
    "updates_response_topic",
]

CHECKSUM_REQUEST_TOPIC: Final = "GetCronScriptsCheckSumRequest"
CHECKSUM_RESPONSE_TOPIC_PREFIX: Final = "GetCronScriptsCheckSumResponse:"
SCRIPTS_REQUEST_TOPIC: Final = "GetCronScriptsRequest"
SCRIPTS_RESPONSE_TOPIC_PREFIX: Final = "GetCronScriptsResponse:"
UPDATES_TOPIC: Final = "CronScriptsUpdates"
UPDATES_RESPONSE_TOPIC_PREFIX: Final = "CronScriptsUpdatesResponse:"


def checksum_response_topic(topic: str) -> str:
    """The topic the cloud answers a checksum request on."""
    return CHECKSUM_RESPONSE_TOPIC_PREFIX + topic


def scripts_response_topic(topic: str) -> str:
    """The topic the cloud answers a full-set request on."""
    return SCRIPTS_RESPONSE_TOPIC_PREFIX + topic


def updates_response_topic(request_id: str) -> str:
    """The topic the vizier acks one `CronScriptUpdate` on."""
    return UPDATES_RESPONSE_TOPIC_PREFIX + request_id


def cron_scripts_checksum(scripts: Mapping[str, cvmsgs_pb2.CronScript]) -> str:
    """Hex SHA-256 over the scripts in id order: per script the length-prefixed id key, script,
    configs, then frequency_s as a big-endian int64. Equal sets give equal checksums on both ends.
    """
    digest = hashlib.sha256()
    for key in sorted(scripts):
        script = scripts[key]
        for part in (key, script.script, script.configs):
            raw = part.encode("utf-8")
            digest.update(struct.pack(">Q", len(raw)))
            digest.update(raw)
        digest.update(struct.pack(">q", script.frequency_s))
    return digest.hexdigest()
