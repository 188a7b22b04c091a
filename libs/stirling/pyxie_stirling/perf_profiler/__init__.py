"""The CPU profiler: perf-event stack samples with Python frames into stack_traces.beta."""

from .source import PerfProfilerConfig, PerfProfilerSource, fold_stack, stack_trace_id

__all__ = ["PerfProfilerConfig", "PerfProfilerSource", "fold_stack", "stack_trace_id"]
