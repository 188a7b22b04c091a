"""The KV key layout (Pixie's prefixes where they apply)."""

from __future__ import annotations

from typing import Final

from pyxie_proto.vizier.messagespb import messages_pb2 as msgs

__all__ = [
    "AGENT_PREFIX",
    "ASID_KEY",
    "COMPUTED_SCHEMA_KEY",
    "FULL_RESOURCE_UPDATE_PREFIX",
    "HOSTNAME_IP_PREFIX",
    "METADATA_UPDATE_VERSION_KEY",
    "PROCESSES_PREFIX",
    "RESOURCE_UPDATE_PREFIX",
    "TOPIC_VERSION_PREFIX",
    "agent_key",
    "full_resource_update_key",
    "host_key",
    "process_key",
    "resource_update_key",
    "resource_update_prefix",
    "topic_version_key",
]

AGENT_PREFIX: Final = "/agent/"
ASID_KEY: Final = "/asid"
HOSTNAME_IP_PREFIX: Final = "/hostnameIP/"
COMPUTED_SCHEMA_KEY: Final = "/computedSchema"
PROCESSES_PREFIX: Final = "/processes/"
METADATA_UPDATE_VERSION_KEY: Final = "/metadataUpdateVersion"
TOPIC_VERSION_PREFIX: Final = "/topicVersion/"
RESOURCE_UPDATE_PREFIX: Final = "/resourceUpdate/"
FULL_RESOURCE_UPDATE_PREFIX: Final = "/fullResourceUpdate/"


def agent_key(agent_id: str) -> str:
    return f"{AGENT_PREFIX}{agent_id}"


def host_key(info: msgs.AgentInfo) -> str:
    """One agent per (hostname, host IP, netns, role): a new one from the same place evicts it.

    Pixie keys by `<hostname>-<ip>`. Pyxie adds the network namespace (simulated nodes share a
    hostname) and keeps Kelvins apart from the PEM of the same host (they share both).
    """
    host = info.host_info
    identity = f"{host.hostname}-{host.host_ip}"
    if host.netns_inode:
        identity += f"-{host.netns_inode}"
    if not info.collects_data:
        identity += "-kelvin"
    return f"{HOSTNAME_IP_PREFIX}{identity}/agent"


def process_key(upid: str) -> str:
    """`upid` in Pixie's printed form `asid:pid:start_time`."""
    return f"{PROCESSES_PREFIX}{upid}"


def topic_version_key(selector: str) -> str:
    return f"{TOPIC_VERSION_PREFIX}{selector}"


def resource_update_prefix(selector: str) -> str:
    return f"{RESOURCE_UPDATE_PREFIX}{selector}/"


def resource_update_key(selector: str, version: int) -> str:
    # Zero-padded so that key order is version order.
    return f"{resource_update_prefix(selector)}{version:020d}"


def full_resource_update_key(version: int) -> str:
    return f"{FULL_RESOURCE_UPDATE_PREFIX}{version:020d}"
