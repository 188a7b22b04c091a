"""What a function sees of the agent executing it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyxie_types import TableSchema

from .metadata import MetadataState
from .registry import Registry

__all__ = ["FunctionContext"]


@dataclass
class FunctionContext:
    """Per-query context passed to every scalar function and UDTF call."""

    registry: Registry
    metadata: MetadataState
    agent_id: str = ""
    hostname: str = ""
    num_cpus: int = 1
    # Schemas of the tables this agent (PEM) stores, or the union the cluster has (Kelvin).
    table_schemas: Callable[[], Mapping[str, TableSchema]] = field(default=lambda: {})
    # Whatever else an agent provides to UDTFs (agent status from metadata, version, ...).
    extras: dict[str, Any] = field(default_factory=dict)
