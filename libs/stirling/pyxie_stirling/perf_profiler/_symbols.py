"""Native symbolisation: kernel addresses from /proc/kallsyms, user addresses through the
process's mappings to the ELF symbol tables of the mapped files.

Symbol tables are cached per file identity (GNU build id when the file has one, else device +
inode + size + mtime), so a library mapped by a hundred processes is read once.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ElfSymbols",
    "KernelSymbols",
    "Mapping",
    "ProcessMaps",
    "SymbolCache",
    "parse_maps",
]


class _SortedSymbols:
    """Function symbols sorted by start address; lookup by bisection."""

    def __init__(self, symbols: list[tuple[int, int, str]]) -> None:
        symbols.sort()
        self._starts = [s[0] for s in symbols]
        self._symbols = symbols

    def __len__(self) -> int:
        return len(self._symbols)

    def lookup(self, addr: int) -> str | None:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i < 0:
            return None
        start, size, name = self._symbols[i]
        # size 0 (hand-written assembly, kallsyms): accept up to the next symbol.
        if size and addr >= start + size:
            return None
        return name


class KernelSymbols:
    """/proc/kallsyms (needs root to see real addresses)."""

    def __init__(self, path: str = "/proc/kallsyms") -> None:
        symbols: list[tuple[int, int, str]] = []
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3 or parts[1] not in "tTwW":
                    continue
                addr = int(parts[0], 16)
                if addr:
                    symbols.append((addr, 0, parts[2]))
        self._table = _SortedSymbols(symbols)

    def __len__(self) -> int:
        return len(self._table)

    def symbol(self, addr: int) -> str:
        return self._table.lookup(addr) or f"{addr:#x}"


@dataclass(frozen=True, slots=True)
class Mapping:
    start: int
    end: int
    offset: int
    path: str


def parse_maps(text: str) -> list[Mapping]:
    """Executable file-backed mappings of /proc/<pid>/maps, sorted by start address."""
    out: list[Mapping] = []
    for line in text.splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) < 6 or "x" not in parts[1]:
            continue
        path = parts[5].strip()
        if not path.startswith("/"):
            continue  # [vdso], anonymous JIT code ...
        start, end = (int(x, 16) for x in parts[0].split("-"))
        out.append(Mapping(start, end, int(parts[2], 16), path.removesuffix(" (deleted)")))
    out.sort(key=lambda m: m.start)
    return out


class ElfSymbols:
    """The function symbols of one ELF file, by virtual address, plus its load segments."""

    def __init__(self, path: str) -> None:
        from elftools.elf.elffile import ELFFile

        symbols: dict[int, tuple[int, int, str]] = {}
        self.segments: list[tuple[int, int, int]] = []  # (file offset, size, vaddr)
        self.build_id: str | None = None
        self.runtime_symbols: dict[str, int] = {}
        with open(path, "rb") as f:
            elf = ELFFile(f)
            for segment in elf.iter_segments():
                if segment["p_type"] == "PT_LOAD":
                    self.segments.append(
                        (segment["p_offset"], segment["p_filesz"], segment["p_vaddr"])
                    )
                elif segment["p_type"] == "PT_NOTE":
                    for note in segment.iter_notes():  # type: ignore[attr-defined]
                        if note["n_type"] == "NT_GNU_BUILD_ID":
                            self.build_id = str(note["n_desc"])
            for section in elf.iter_sections():
                if section["sh_type"] not in ("SHT_SYMTAB", "SHT_DYNSYM"):
                    continue
                strtab = elf.get_section(section["sh_link"])
                f.seek(strtab["sh_offset"])
                names = f.read(strtab["sh_size"])
                f.seek(section["sh_offset"])
                raw = f.read(section["sh_size"])
                for value, size, name in _function_symbols(raw, names, wanted=("_PyRuntime",)):
                    if name == "_PyRuntime":
                        self.runtime_symbols[name] = value
                    elif value:
                        # .symtab and .dynsym overlap: keep one name per address.
                        symbols.setdefault(value, (value, size, name))
        self._table = _SortedSymbols(list(symbols.values()))

    def __len__(self) -> int:
        return len(self._table)

    def vaddr_of_offset(self, file_offset: int) -> int | None:
        for offset, size, vaddr in self.segments:
            if offset <= file_offset < offset + size:
                return file_offset - offset + vaddr
        return None

    def symbol(self, vaddr: int) -> str | None:
        return self._table.lookup(vaddr)

    def load_bias(self, mappings: list[Mapping], path: str) -> int | None:
        """Address the file's vaddr 0 has in a process, from its mappings of ``path``."""
        for m in mappings:
            if m.path != path:
                continue
            vaddr = self.vaddr_of_offset(m.offset)
            if vaddr is not None:
                return m.start - vaddr
        return None


# Elf64_Sym: st_name u32, st_info u8, st_other u8, st_shndx u16, st_value u64, st_size u64.
_ELF64_SYM = np.dtype(
    [
        ("name", "<u4"),
        ("info", "u1"),
        ("other", "u1"),
        ("shndx", "<u2"),
        ("value", "<u8"),
        ("size", "<u8"),
    ]
)
_STT_FUNC, _STT_GNU_IFUNC = 2, 10


def _function_symbols(
    raw: bytes, names: bytes, wanted: tuple[str, ...] = ()
) -> list[tuple[int, int, str]]:
    """(value, size, name) of the function symbols of one symbol table section, plus any
    symbol named in ``wanted`` whatever its type. Vectorised: pyelftools' per-symbol parsing
    takes seconds for a large library, this takes milliseconds."""
    table = np.frombuffer(raw, dtype=_ELF64_SYM, count=len(raw) // _ELF64_SYM.itemsize)
    kind = table["info"] & 0xF
    keep = (kind == _STT_FUNC) | (kind == _STT_GNU_IFUNC)
    funcs = table[keep]
    starts = funcs["name"].astype(np.int64)
    zeros = np.flatnonzero(np.frombuffer(names, dtype=np.uint8) == 0)
    ends = (
        zeros[np.minimum(np.searchsorted(zeros, starts), len(zeros) - 1)] if len(zeros) else starts
    )
    out: list[tuple[int, int, str]] = [
        (value, size, names[start:end].decode(errors="replace"))
        for value, size, start, end in zip(
            funcs["value"].tolist(),
            funcs["size"].tolist(),
            starts.tolist(),
            ends.tolist(),
            strict=True,
        )
    ]
    for symbol in wanted:  # found by its string table offset, whatever the symbol's type
        offset = names.find(b"\0" + symbol.encode() + b"\0")
        if offset >= 0:
            for entry in table[table["name"] == offset + 1][:1]:
                out.append((int(entry["value"]), int(entry["size"]), symbol))
    return out


def _file_key(path: str) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class SymbolCache:
    """ElfSymbols per file identity, shared by every process that maps the file."""

    # Distinct binaries kept; beyond this the cache starts over (hosts with endless new
    # binaries, e.g. CI runners, must not grow the collector without bound).
    MAX_FILES = 512

    def __init__(self) -> None:
        self._by_key: dict[tuple[int, int, int, int], ElfSymbols | None] = {}

    def get(self, path: str) -> ElfSymbols | None:
        try:
            key = _file_key(path)
        except OSError:
            return None
        if key not in self._by_key:
            if len(self._by_key) >= self.MAX_FILES:
                self._by_key.clear()
            try:
                self._by_key[key] = ElfSymbols(path)
            except Exception:  # not an ELF file, truncated, unreadable: no symbols
                self._by_key[key] = None
        return self._by_key[key]


class ProcessMaps:
    """One process's executable mappings, resolving addresses to 'symbol' strings."""

    def __init__(self, pid: int, cache: SymbolCache, proc: str = "/proc") -> None:
        self.pid = pid
        self._cache = cache
        self._proc = proc
        self.mappings: list[Mapping] = []
        self._starts: list[int] = []
        self.refresh()

    def refresh(self) -> None:
        try:
            with open(f"{self._proc}/{self.pid}/maps") as f:
                self.mappings = parse_maps(f.read())
        except OSError:
            self.mappings = []
        self._starts = [m.start for m in self.mappings]

    def file_path(self, path: str) -> str:
        """The path as seen from here (the process may live in another mount namespace)."""
        return f"{self._proc}/{self.pid}/root{path}"

    def mapping_of(self, addr: int) -> Mapping | None:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and addr < self.mappings[i].end:
            return self.mappings[i]
        return None

    def symbol(self, addr: int) -> str:
        mapping = self.mapping_of(addr)
        if mapping is None:
            return f"{addr:#x}"
        elf = self._cache.get(self.file_path(mapping.path))
        file_offset = addr - mapping.start + mapping.offset
        if elf is not None:
            vaddr = elf.vaddr_of_offset(file_offset)
            if vaddr is not None:
                name = elf.symbol(vaddr)
                if name is not None:
                    return name
        return f"{os.path.basename(mapping.path)}+{file_offset:#x}"
