from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ClientError", "CompilerErrorDetail", "PxLError", "ScriptError"]


class ClientError(Exception):
    """Root of the client's errors."""


class ScriptError(ClientError):
    """The vizier reported a non-OK status for the script."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CompilerErrorDetail:
    line: int
    column: int
    message: str


class PxLError(ScriptError):
    """A compile error with 1-based line/column positions."""

    def __init__(
        self, code: int, message: str, details: list[CompilerErrorDetail], query: str
    ) -> None:
        super().__init__(code, message)
        self.details = details
        self.query = query

    def render(self) -> str:
        """Each error with the PxL line and a caret under the column, as pxapi prints them."""
        lines = self.query.splitlines()
        out = []
        for d in self.details:
            if 1 <= d.line <= len(lines):
                src = lines[d.line - 1]
                caret = " " * max(d.column - 1, 0) + "^"
                out.append(f"PxL, line {d.line}, {d.message}\n    {src}\n    {caret}")
            else:
                out.append(f"PxL, line {d.line}, {d.message}")
        return "\n".join(out) if out else self.message

    def __str__(self) -> str:
        return self.render()
