"""The compiler's errors: every one carries a 1-based line and column for the caret."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CompilerError", "ErrorDetail", "PxlError"]


class PxlError(Exception):
    """Root of everything pyxie_pxl raises on purpose."""


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    message: str
    line: int
    column: int

    def __str__(self) -> str:
        if self.line <= 0:
            return self.message
        return f"{self.line}:{self.column}: {self.message}"


class CompilerError(PxlError):
    """A script the compiler rejects.

    ``line``/``column`` are 1-based (0 when the error has no place in the source, e.g. a bad
    ``#px:set`` value passed by the caller). ``errors`` lists every problem found, this one first.
    """

    def __init__(
        self,
        message: str,
        line: int = 0,
        column: int = 0,
        *,
        more: Sequence[ErrorDetail] = (),
    ) -> None:
        self.message = message
        self.line = line
        self.column = column
        self.errors: tuple[ErrorDetail, ...] = (ErrorDetail(message, line, column), *more)
        super().__init__(str(self.errors[0]))

    @classmethod
    def from_details(cls, details: Sequence[ErrorDetail]) -> CompilerError:
        first, *rest = details
        return cls(first.message, first.line, first.column, more=rest)

    def render(self, source: str) -> str:
        """The errors with the offending source line and a caret under the column."""
        lines = source.splitlines()
        out: list[str] = []
        for detail in self.errors:
            out.append(f"error: {detail}")
            if 0 < detail.line <= len(lines):
                text = lines[detail.line - 1]
                out.append(f"  {text}")
                out.append("  " + " " * max(detail.column - 1, 0) + "^")
        return "\n".join(out)
