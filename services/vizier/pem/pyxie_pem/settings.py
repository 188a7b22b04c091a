"""PEM settings from `PL_*` variables (read once at start)."""

from __future__ import annotations

from pydantic import Field
from pyxie_agent import AgentSettings
from pyxie_table_store import (
    DEFAULT_DATA_LIMIT_MB,
    DEFAULT_HTTP_EVENTS_PERCENT,
    DEFAULT_PROC_EXIT_EVENTS_LIMIT_BYTES,
    DEFAULT_STIRLING_ERROR_LIMIT_BYTES,
    StoreBudget,
)

__all__ = ["PemSettings"]


class PemSettings(AgentSettings):
    """Env var = `PL_` + field name in upper case (e.g. PL_TABLE_STORE_DATA_LIMIT_MB)."""

    # K8sUpdates/<selector>: Pixie uses the PEM's host IP; simulated nodes on one host set a
    # node name here so that each gets its own updates. Empty = the host IP.
    k8s_selector: str = ""
    # Only observe processes of this network namespace (inode of /proc/<pid>/ns/net); 0 = all.
    netns_inode: int = Field(default=0, ge=0)
    # Only observe processes in this cgroup v2 subtree (e.g. /system.slice/foo.service).
    cgroup_path: str = ""
    # The eBPF socket tracer (needs root and bcc); the /proc collectors always run.
    ebpf_enabled: bool = True
    # The CPU profiler (with ebpf_enabled): samples per second per CPU (Pixie: every 11 ms),
    # and how often the samples are counted into stack_traces.beta rows.
    profiler_sampling_hz: int = Field(default=99, gt=0, le=1000)
    profiler_window_s: float = Field(default=10.0, gt=0)
    # Pixie's FLAGS_max_body_bytes: request/response bodies are truncated to this many bytes.
    max_body_bytes: int = Field(default=512, ge=0)
    # Report process created/terminated events in heartbeats (a /proc scan per beat).
    process_events_enabled: bool = True
    # Table store budget (Pixie's names and defaults, see pem_manager.cc).
    table_store_data_limit_mb: int = Field(default=DEFAULT_DATA_LIMIT_MB, gt=0)
    table_store_http_events_percent: int = Field(default=DEFAULT_HTTP_EVENTS_PERCENT, ge=0, le=100)
    table_store_stirling_error_limit_bytes: int = Field(
        default=DEFAULT_STIRLING_ERROR_LIMIT_BYTES, ge=0
    )
    table_store_proc_exit_events_limit_bytes: int = Field(
        default=DEFAULT_PROC_EXIT_EVENTS_LIMIT_BYTES, ge=0
    )
    # Benchmarks only (testing/bench/e2e_query.py): fill http_events with this many synthetic
    # rows at start, spread over the last 10 minutes (PL_PEM_SYNTHETIC_ROWS). 0 = off.
    pem_synthetic_rows: int = Field(default=0, ge=0)
    # Pixie compacts hot batches into cold ones every minute.
    table_compaction_interval_s: float = Field(default=60.0, gt=0)

    def store_budget(self) -> StoreBudget:
        return StoreBudget(
            data_limit_mb=self.table_store_data_limit_mb,
            http_events_percent=self.table_store_http_events_percent,
            stirling_error_limit_bytes=self.table_store_stirling_error_limit_bytes,
            proc_exit_events_limit_bytes=self.table_store_proc_exit_events_limit_bytes,
        )
