"""`BrokerSettings`: the query broker's `PL_*` settings, read once at start."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pyxie_pxl.compiler import DataAccess
from pyxie_service import ServiceSettings

__all__ = ["DEFAULT_GRPC_PORT", "BrokerSettings"]

# Pixie's query broker port; VizierService and ResultSinkService share it.
DEFAULT_GRPC_PORT = 50300

Seconds = Annotated[float, Field(gt=0)]


class BrokerSettings(ServiceSettings):
    """Env var = `PL_` + field name in upper case (e.g. `PL_METADATA_ADDRESS`)."""

    grpc_port: Annotated[int, Field(ge=0, le=65535)] = DEFAULT_GRPC_PORT
    # host:port agents dial back to deliver results (GRPCSink address in every plan). Empty:
    # 127.0.0.1 and the bound port; a bare host gets the bound port appended.
    advertised_address: str = ""
    # host:port of the metadata service (MetadataService.GetAgentUpdates).
    metadata_address: str = "127.0.0.1:50400"
    # Full, Restricted or PIIRestricted (Pixie's PL_DATA_ACCESS); anything else stops the start.
    data_access: str = "Full"
    # Default cap per result table; scripts may change it with `#px:set`.
    max_output_rows_per_table: Annotated[int, Field(ge=0)] = 10_000
    # Every result table must connect within this (Pixie's 30 s).
    result_sink_init_timeout_seconds: Seconds = 30.0
    # Cancel a query after this long without a message from any agent (Pixie's 180 s).
    producer_timeout_seconds: Seconds = 180.0
    # Cancel a query after a single write to the client has been blocked this long (180 s).
    consumer_timeout_seconds: Seconds = 180.0
    # Result messages buffered per query; a full buffer cancels it (Pixie's 1024).
    result_buffer_messages: Annotated[int, Field(gt=0)] = 1024
    # Bytes of row batches buffered for all running queries together; a query that would push
    # the total past it fails with RESOURCE_EXHAUSTED. 256 MiB fits a broker pod's usual limit.
    result_memory_budget_bytes: Annotated[int, Field(gt=0)] = 256 << 20
    # Wall-clock cap per query (0 = none). Streaming (df.stream()) queries are exempt.
    query_timeout_seconds: Annotated[float, Field(ge=0)] = 600.0
    # How often HealthCheck runs its internal query and reports (Pixie's 5 s).
    health_check_interval_seconds: Seconds = 5.0
    # How long a mutation (pxtrace) script waits for its tracepoints to run and their tables to
    # reach the schema (BPF compilation, then a PEM heartbeat and a tracker update: ~5-15 s).
    mutation_wait_seconds: Seconds = 60.0
    # Pause before re-opening a failed GetAgentUpdates stream (Pixie's 5 s).
    agent_tracker_retry_seconds: Seconds = 5.0

    # px.export: OTLP bytes one export may send (0 = the engine's default, 64 MiB); the org
    # key of Kelvin's per-minute export budget.
    otel_export_max_bytes: Annotated[int, Field(ge=0)] = 0
    org_id: str = ""
    # Cron scripts (plugins' retention scripts): run them here; how often to re-read the set
    # from metadata and compare it with the cloud's.
    cron_scripts_enabled: bool = True
    cron_script_poll_seconds: Seconds = 30.0

    @field_validator("data_access")
    @classmethod
    def _known_data_access(cls, value: str) -> str:
        return DataAccess.parse(value).value

    def data_access_mode(self) -> DataAccess:
        return DataAccess.parse(self.data_access)
