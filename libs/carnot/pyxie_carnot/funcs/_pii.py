"""``redact_pii_best_effort``: replace personal data in free text with ``<REDACTED_KIND>`` tokens.

Taggers run in Pixie's order (IBAN, EMAIL, IPv6, IPv4, MAC, IMEI, IMEISV, CC_NUMBER, SSN) and we
add PHONE last (Pixie has no phone tagger). Candidates are validated (IBAN mod-97 and country
length, Luhn for IMEI and cards, SSN area/group/serial rules, real IPv6 parsing); when matches
overlap the longest wins and, on a tie, the earlier tagger.

This is a per-value Python fallback (no Arrow kernel can validate checksums); values holding no
character any tagger could start from are passed through by a vectorised pre-filter, and each
distinct value is processed once.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import regex
from pyxie_types import DataType

from ..context import FunctionContext
from ..registry import Registry
from ._arrow import Arg, map_distinct, norm

__all__ = ["redact_pii", "register"]

# Characters every tagger's match contains at least one of; rows without them are left alone.
_PREFILTER = r"[0-9@:\-]|%40"

# IBAN length by ISO country code (SWIFT IBAN registry).
_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    token: str
    order: int

    @property
    def length(self) -> int:
        return self.end - self.start


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


# ------------------------------------------------------------------ taggers
# Each tagger yields (start, end) of validated matches in the text.

_IBAN = regex.compile(r"(?<![A-Za-z0-9])([A-Z]{2})([0-9]{2})((?: ?[A-Z0-9]){10,32})")


def _iban(text: str) -> Iterator[tuple[int, int]]:
    for m in _IBAN.finditer(text, overlapped=True):
        length = _IBAN_LENGTHS.get(m.group(1))
        if length is None:
            continue
        # Take exactly the country's number of characters (spaces allowed between them).
        needed = length - 4
        end = m.start(3)
        bban: list[str] = []
        for pos in range(m.start(3), m.end(3)):
            ch = text[pos]
            if ch == " ":
                continue
            bban.append(ch)
            end = pos + 1
            if len(bban) == needed:
                break
        if len(bban) != needed or (end < len(text) and text[end].isalnum()):
            continue
        rearranged = "".join(bban) + m.group(1) + m.group(2)
        number = "".join(str(int(ch, 36)) for ch in rearranged)
        if int(number) % 97 == 1:
            yield m.start(), end


_EMAIL = regex.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![A-Za-z0-9\-])"
)


def _regex_tagger(pattern: regex.Pattern[str]) -> Callable[[str], Iterator[tuple[int, int]]]:
    def tag(text: str) -> Iterator[tuple[int, int]]:
        for m in pattern.finditer(text):
            yield m.start(), m.end()

    return tag


_IPV6_CANDIDATE = regex.compile(r"(?<![0-9A-Za-z:.])[0-9A-Fa-f:][0-9A-Fa-f:.]*(?![0-9A-Za-z:])")


def _ipv6(text: str) -> Iterator[tuple[int, int]]:
    for m in _IPV6_CANDIDATE.finditer(text):
        candidate = m.group().rstrip(".")
        if candidate.count(":") < 2:
            continue
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        yield m.start(), m.start() + len(candidate)


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = regex.compile(rf"(?<![0-9.])(?:{_OCTET}\.){{3}}{_OCTET}(?![0-9]|\.[0-9])")
_MAC = regex.compile(
    r"(?<![0-9A-Fa-f:\-])[0-9A-Fa-f]{2}([:\-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}(?![0-9A-Fa-f:\-])"
)
_IMEI = regex.compile(r"(?<![0-9\-])[0-9]{2}([\- ])[0-9]{6}\1[0-9]{6}\1[0-9](?![0-9])")
_IMEISV = regex.compile(r"(?<![0-9\-])[0-9]{2}([\- ])[0-9]{6}\1[0-9]{6}\1[0-9]{2}(?![0-9])")


def _imei(text: str) -> Iterator[tuple[int, int]]:
    for m in _IMEI.finditer(text):
        if _luhn_ok(_digits(m.group())):
            yield m.start(), m.end()


_CARD = regex.compile(r"(?<![0-9])[0-9](?:[ \-]?[0-9]){12,18}(?![0-9])")


def _card(text: str) -> Iterator[tuple[int, int]]:
    for m in _CARD.finditer(text):
        if _luhn_ok(_digits(m.group())):
            yield m.start(), m.end()


_SSN = regex.compile(
    r"(?<![0-9])(?!000|666|9[0-9]{2})[0-9]{3}([\- ])(?!00)[0-9]{2}\1(?!0000)[0-9]{4}(?![0-9])"
)
_PHONE = regex.compile(
    r"(?<![0-9A-Za-z+])(?:"
    # International: +CC then 6-14 more digits in groups separated by space, dot or dash.
    r"\+[1-9][0-9]{0,2}(?:[ .\-]?\(?[0-9]{1,4}\)?)(?:[ .\-]?[0-9]{2,4}){2,4}"
    r"|"
    # North-American style: (555) 123-4567, 555-123-4567, 555.123.4567.
    r"(?:\([0-9]{3}\) ?|[0-9]{3}[ .\-])[0-9]{3}[ .\-][0-9]{4}"
    r")(?![0-9])"
)

# (replacement token, tagger) in Pixie's order; PHONE is ours and goes last.
_TAGGERS: tuple[tuple[str, Callable[[str], Iterator[tuple[int, int]]]], ...] = (
    ("<REDACTED_IBAN>", _iban),
    ("<REDACTED_EMAIL>", _regex_tagger(_EMAIL)),
    ("<REDACTED_IPV6>", _ipv6),
    ("<REDACTED_IPV4>", _regex_tagger(_IPV4)),
    ("<REDACTED_MAC_ADDR>", _regex_tagger(_MAC)),
    ("<REDACTED_IMEI>", _imei),
    ("<REDACTED_IMEI>", _regex_tagger(_IMEISV)),
    ("<REDACTED_CC_NUMBER>", _card),
    ("<REDACTED_SSN>", _regex_tagger(_SSN)),
    ("<REDACTED_PHONE>", _regex_tagger(_PHONE)),
)


def redact_pii(text: str) -> str:
    """Redact every recognised kind of personal data in ``text``."""
    spans = [
        _Span(start, end, token, order)
        for order, (token, tagger) in enumerate(_TAGGERS)
        for start, end in tagger(text)
    ]
    if not spans:
        return text
    spans.sort(key=lambda s: (-s.length, s.order, s.start))
    taken: list[_Span] = []
    for span in spans:
        if all(span.end <= t.start or span.start >= t.end for t in taken):
            taken.append(span)
    taken.sort(key=lambda s: s.start)
    out: list[str] = []
    cursor = 0
    for span in taken:
        out.append(text[cursor : span.start])
        out.append(span.token)
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out)


def _redact(_: FunctionContext, s: Any) -> Arg:
    s = norm(s)
    if isinstance(s, pa.Scalar):
        return pa.scalar(redact_pii(s.as_py()))
    if len(s) == 0:
        return s
    candidates = pc.match_substring_regex(s, pattern=_PREFILTER)
    if not pc.any(candidates).as_py():
        return s
    redacted = map_distinct(redact_pii, pc.filter(s, candidates), pa.string())
    return pc.replace_with_mask(s, candidates, redacted)


def register(registry: Registry) -> None:
    registry.register_scalar(
        "redact_pii_best_effort",
        (DataType.STRING,),
        DataType.STRING,
        _redact,
        "Replace emails, IPs, MACs, IMEIs, Luhn-valid card numbers, SSNs, IBANs and phone "
        "numbers with <REDACTED_...> tokens. "
        "Example: px.redact_pii_best_effort('mail bob@example.com') gives 'mail <REDACTED_EMAIL>'",
        per_row=True,
    )
