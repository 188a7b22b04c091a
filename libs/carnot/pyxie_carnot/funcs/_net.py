"""Network functions: reverse DNS (``nslookup``) and CIDR membership."""

from __future__ import annotations

import ipaddress
import json
import socket
from functools import lru_cache
from typing import Any

import pyarrow as pa
from pyxie_types import DataType

from ..context import FunctionContext
from ..registry import Registry
from ._arrow import Arg, map_rows, norm

__all__ = ["register", "reverse_lookup"]

# Distinct peer IPs seen by one agent stay in the low thousands; Pixie caches the same way.
_NSLOOKUP_CACHE_SIZE = 4096


@lru_cache(maxsize=_NSLOOKUP_CACHE_SIZE)
def reverse_lookup(ip: str) -> str:
    """``getnameinfo(NI_NAMEREQD)``: the host name, the IP itself when there is none, or the
    resolver's error text for any other failure."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    sockaddr: tuple[Any, ...] = (ip, 0) if address.version == 4 else (ip, 0, 0, 0)
    try:
        host, _ = socket.getnameinfo(sockaddr, socket.NI_NAMEREQD)
    except socket.gaierror as exc:
        if exc.errno == socket.EAI_NONAME:
            return ip
        return exc.strerror or str(exc)
    except OSError as exc:
        return exc.strerror or str(exc)
    return host


def _nslookup(_: FunctionContext, ip: Any) -> Arg:
    return map_rows(reverse_lookup, [norm(ip)], pa.string())


@lru_cache(maxsize=64)
def _parse_cidrs(cidrs_json: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        items = json.loads(cidrs_json)
    except json.JSONDecodeError:
        return ()
    if not isinstance(items, list):
        return ()
    networks = []
    for item in items:
        if isinstance(item, str):
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                continue
    return tuple(networks)


def _contains_ip(cidrs_json: str, ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in net for net in _parse_cidrs(cidrs_json) if net.version == address.version)


def _cidrs_contain_ip(_: FunctionContext, cidrs: Any, ip: Any) -> Arg:
    return map_rows(_contains_ip, [norm(cidrs), norm(ip)], pa.bool_())


def register(registry: Registry) -> None:
    s, b = DataType.STRING, DataType.BOOLEAN
    registry.register_scalar(
        "nslookup",
        (s,),
        s,
        _nslookup,
        "Reverse DNS name of an IP (the IP itself when it has none; cached). "
        "Example: df.host = px.nslookup(df.remote_addr)",
        per_row=True,
    )
    registry.register_scalar(
        "cidrs_contain_ip",
        (s, s),
        b,
        _cidrs_contain_ip,
        "Whether any CIDR of a JSON array contains the IP. "
        "Example: px.cidrs_contain_ip('[\"10.0.0.0/8\"]', df.remote_addr)",
    )
