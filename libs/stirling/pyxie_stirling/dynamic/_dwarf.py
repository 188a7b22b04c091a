"""Function signatures from an ELF binary: DWARF when present (pyelftools), symbols always.

Only what a probe needs: each formal parameter's name and how to read it (signed or unsigned
integer of some size, a C string, or an address), and the same for the return value.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ArgKind", "ArgType", "FunctionSignature", "has_symbol", "read_signature"]


class ArgKind(enum.Enum):
    SIGNED = "signed"
    UNSIGNED = "unsigned"
    STRING = "string"  # char * / const char *
    POINTER = "pointer"  # any other pointer: its address
    FLOAT = "float"  # passed in xmm registers, which a uprobe cannot read portably
    AGGREGATE = "aggregate"  # struct/union/array by value
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ArgType:
    kind: ArgKind
    size: int = 8
    name: str = ""


INT64 = ArgType(ArgKind.SIGNED, 8, "long")


@dataclass(frozen=True, slots=True)
class FunctionSignature:
    name: str
    # (name, type) in declaration order.
    params: tuple[tuple[str, ArgType], ...]
    # None for void.
    returns: ArgType | None
    from_dwarf: bool


def _attr(die: Any, name: str) -> Any:
    attr = die.attributes.get(name)
    return None if attr is None else attr.value


def _type_of(die: Any) -> ArgType | None:
    """The ArgType of the DIE's DW_AT_type (None = void)."""
    seen = 0
    target = die.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in die.attributes else None
    while target is not None and seen < 16:
        seen += 1
        tag = target.tag
        if tag in (
            "DW_TAG_typedef",
            "DW_TAG_const_type",
            "DW_TAG_volatile_type",
            "DW_TAG_restrict_type",
            "DW_TAG_atomic_type",
        ):
            if "DW_AT_type" not in target.attributes:
                return None
            target = target.get_DIE_from_attribute("DW_AT_type")
            continue
        name = (_attr(target, "DW_AT_name") or b"").decode(errors="replace")
        size = int(_attr(target, "DW_AT_byte_size") or 8)
        if tag == "DW_TAG_base_type":
            encoding = int(_attr(target, "DW_AT_encoding") or 0)
            # DW_ATE_float = 4, DW_ATE_signed = 5, DW_ATE_signed_char = 6, DW_ATE_boolean = 2.
            if encoding == 4:
                return ArgType(ArgKind.FLOAT, size, name)
            if encoding in (5, 6):
                return ArgType(ArgKind.SIGNED, size, name)
            return ArgType(ArgKind.UNSIGNED, size, name)
        if tag == "DW_TAG_enumeration_type":
            return ArgType(ArgKind.SIGNED, size or 4, name or "enum")
        if tag == "DW_TAG_pointer_type":
            pointee = _type_of(target)
            if pointee is not None and pointee.size == 1 and "char" in pointee.name:
                return ArgType(ArgKind.STRING, 8, "char *")
            return ArgType(ArgKind.POINTER, 8, "pointer")
        if tag in (
            "DW_TAG_structure_type",
            "DW_TAG_union_type",
            "DW_TAG_array_type",
            "DW_TAG_class_type",
        ):
            return ArgType(ArgKind.AGGREGATE, size, name)
        return ArgType(ArgKind.UNKNOWN, size, name)
    return None


def _dwarf_signature(elf: Any, symbol: str) -> FunctionSignature | None:
    if not elf.has_dwarf_info():
        return None
    dwarf = elf.get_dwarf_info()
    for cu in dwarf.iter_CUs():
        for die in cu.iter_DIEs():
            if die.tag != "DW_TAG_subprogram":
                continue
            names = {_attr(die, "DW_AT_name"), _attr(die, "DW_AT_linkage_name")}
            if symbol.encode() not in names:
                continue
            if "DW_AT_low_pc" not in die.attributes and "DW_AT_declaration" in die.attributes:
                continue  # a declaration; the definition comes elsewhere
            params = []
            for child in die.iter_children():
                if child.tag != "DW_TAG_formal_parameter":
                    continue
                name = (_attr(child, "DW_AT_name") or b"").decode(errors="replace")
                params.append((name, _type_of(child) or ArgType(ArgKind.UNKNOWN)))
            return FunctionSignature(symbol, tuple(params), _type_of(die), from_dwarf=True)
    return None


def has_symbol(path: Path, symbol: str) -> bool:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    with path.open("rb") as handle:
        elf = ELFFile(handle)
        for section in elf.iter_sections():
            if isinstance(section, SymbolTableSection) and section.get_symbol_by_name(symbol):
                return True
    return False


def read_signature(path: Path, symbol: str) -> FunctionSignature:
    """The function's signature from DWARF, or an untyped one when the binary has none."""
    from elftools.elf.elffile import ELFFile

    with path.open("rb") as handle:
        elf = ELFFile(handle)
        signature = _dwarf_signature(elf, symbol)
    if signature is not None:
        return signature
    return FunctionSignature(symbol, (), INT64, from_dwarf=False)
