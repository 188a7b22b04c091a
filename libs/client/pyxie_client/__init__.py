"""Pyxie's Python client: run PxL on a vizier (directly or through the cloud), get Arrow."""

from ._client import ExecStats, ScriptResult, VizierClient
from ._errors import ClientError, CompilerErrorDetail, PxLError, ScriptError

__all__ = [
    "ClientError",
    "CompilerErrorDetail",
    "ExecStats",
    "PxLError",
    "ScriptError",
    "ScriptResult",
    "VizierClient",
]
