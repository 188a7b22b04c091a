"""Request-path clustering: templates such as ``/api/users/*/orders`` from observed paths.

Pure logic shared by the ``_build_request_path_clusters`` UDA (which builds the templates) and
the ``_predict_request_path_cluster`` / ``_match_endpoint`` scalar functions (which apply them).

A path is split on ``/`` after dropping its query and fragment. Segments that look like
identifiers (numbers, UUIDs, long hex strings, long tokens mixing letters and digits) are masked
as ``*`` first. Then, among paths of the same length and the same preceding template, a segment
position holding more than ``MAX_DISTINCT_SEGMENTS`` distinct values is collapsed to ``*`` too
(ids that do not look like ids, e.g. user names).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

__all__ = [
    "MAX_DISTINCT_SEGMENTS",
    "WILDCARD",
    "best_template",
    "build_templates",
    "mask_path",
    "match_endpoint",
    "split_path",
]

WILDCARD: Final = "*"
# More distinct values than this at one position (under one template prefix) make it a
# parameter: real APIs have few literal children under one node, ids have many.
MAX_DISTINCT_SEGMENTS: Final = 10

_ID_PATTERNS = (
    re.compile(r"^\d+$"),
    re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"),
    re.compile(r"^[0-9a-fA-F]{12,}$"),
    # Long tokens mixing letters and digits (base64-ish ids, hashes).
    re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-=]{16,}$"),
)
_PLACEHOLDER = re.compile(r"^(\*|:[^/]+|\{[^/]+\})$")


def split_path(path: str) -> list[str]:
    """Segments of a request path (query and fragment dropped, empty segments kept out)."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    return [s for s in path.split("/") if s]


def _looks_like_id(segment: str) -> bool:
    return any(p.match(segment) for p in _ID_PATTERNS)


def mask_path(path: str) -> str:
    """The path with id-looking segments replaced by ``*``."""
    return "/" + "/".join(WILDCARD if _looks_like_id(s) else s for s in split_path(path))


def _collapse(paths: list[list[str]], depth: int, prefix: list[str], out: set[str]) -> None:
    if not paths:
        return
    if depth == len(paths[0]):
        out.add("/" + "/".join(prefix))
        return
    values = {p[depth] for p in paths}
    if len(values) > MAX_DISTINCT_SEGMENTS:
        _collapse(paths, depth + 1, [*prefix, WILDCARD], out)
        return
    for value in sorted(values):
        _collapse([p for p in paths if p[depth] == value], depth + 1, [*prefix, value], out)


def build_templates(path_counts: Mapping[str, int] | Iterable[str]) -> list[str]:
    """Templates covering every path, sorted."""
    by_length: dict[int, list[list[str]]] = {}
    for path in set(path_counts):
        segments = split_path(mask_path(path))
        by_length.setdefault(len(segments), []).append(segments)
    out: set[str] = set()
    for paths in by_length.values():
        _collapse(paths, 0, [], out)
    return sorted(out)


def match_endpoint(path: str, endpoint: str) -> bool:
    """Whether ``path`` matches ``endpoint`` segment by segment; ``*``, ``:name`` and
    ``{name}`` segments of the endpoint match any one segment."""
    segments, pattern = split_path(path), split_path(endpoint)
    if len(segments) != len(pattern):
        return False
    return all(
        _PLACEHOLDER.match(p) is not None or p == s for s, p in zip(segments, pattern, strict=True)
    )


def best_template(path: str, templates: Sequence[str]) -> str:
    """The matching template with the fewest wildcards (then the first in order), else the
    path with its ids masked."""
    matching = [t for t in templates if match_endpoint(path, t)]
    if not matching:
        return mask_path(path)
    return min(matching, key=lambda t: (split_path(t).count(WILDCARD), t))
