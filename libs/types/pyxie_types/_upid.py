"""UPIDs: 128-bit unique process ids (agent short id, pid, process start time)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["UPID", "uint128_from_bytes", "uint128_to_bytes"]


def uint128_to_bytes(value: int) -> bytes:
    """The 16-byte big-endian form UINT128 columns use."""
    return value.to_bytes(16, "big")


def uint128_from_bytes(raw: bytes) -> int:
    if len(raw) != 16:
        raise ValueError(f"a UINT128 needs 16 bytes, got {len(raw)}")
    return int.from_bytes(raw, "big")


@dataclass(frozen=True, slots=True)
class UPID:
    """Pixie's layout: high = asid << 32 | pid, low = process start time in clock ticks."""

    asid: int
    pid: int
    start_time_ticks: int

    @property
    def value(self) -> int:
        return ((self.asid << 32 | self.pid) << 64) | self.start_time_ticks

    def to_bytes(self) -> bytes:
        return uint128_to_bytes(self.value)

    @classmethod
    def from_int(cls, value: int) -> UPID:
        high, low = value >> 64, value & (2**64 - 1)
        return cls(high >> 32, high & 0xFFFFFFFF, low)

    @classmethod
    def from_bytes(cls, raw: bytes) -> UPID:
        return cls.from_int(uint128_from_bytes(raw))

    def __str__(self) -> str:
        # Pixie prints UPIDs as asid:pid:start_time.
        return f"{self.asid}:{self.pid}:{self.start_time_ticks}"
