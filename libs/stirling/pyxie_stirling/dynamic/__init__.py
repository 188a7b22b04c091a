"""Dynamic tracing on the PEM: pxtrace function probes (bcc uprobes typed from DWARF) and
bpftrace programs, each writing rows into its own table."""

from ._codegen import GeneratedProbe, generate_probe
from ._dwarf import ArgKind, ArgType, FunctionSignature, read_signature
from ._runners import BPFTraceRunner, UprobeRunner, bpftrace_binary
from .manager import DynamicTracer, TargetResolver, TracepointError

__all__ = [
    "ArgKind",
    "ArgType",
    "BPFTraceRunner",
    "DynamicTracer",
    "FunctionSignature",
    "GeneratedProbe",
    "TargetResolver",
    "TracepointError",
    "UprobeRunner",
    "bpftrace_binary",
    "generate_probe",
    "read_signature",
]
