"""Scalar functions Pixie has and scripts rarely use: time parsing, UINT128 and UPID
constructors, URI parsing and recomposition, request-path clustering and k-means inference.

The clustering and k-means *models* come from the UDAs ``_build_request_path_clusters`` and
``_kmeans_fit`` (``udas/_ml.py``); the functions here apply a model (a JSON STRING) to rows.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
from pyxie_types import DataType, SemanticType

from ..context import FunctionContext
from ..registry import Registry
from ._arrow import Arg, FunctionArgumentError, map_rows, norm
from ._metadata import _upid_ctor_asid
from ._path_clusters import best_template, match_endpoint

__all__ = ["kmeans_nearest", "parse_uri", "register"]

S, I, B, T, U = (  # noqa: E741 (PxL type letters)
    DataType.STRING,
    DataType.INT64,
    DataType.BOOLEAN,
    DataType.TIME64NS,
    DataType.UINT128,
)


# ------------------------------------------------------------------ time and identifiers


def _parse_time(text: str, fmt: str) -> int:
    """``strptime`` in UTC unless the format carries an offset (%z); nanoseconds."""
    try:
        parsed = dt.datetime.strptime(text, fmt)
    except ValueError as err:
        raise FunctionArgumentError(f"strptime({text!r}, {fmt!r}): {err}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    delta = parsed - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _strptime(_: FunctionContext, text: Any, fmt: Any) -> Arg:
    return map_rows(_parse_time, [norm(text), norm(fmt)], pa.timestamp("ns"))


def _uuid_bytes(text: str) -> bytes:
    try:
        return uuid.UUID(text.strip()).bytes
    except ValueError:
        raise FunctionArgumentError(
            f"uint128({text!r}): not a UUID such as 00000000-0000-0000-0000-000000000001"
        ) from None


def _uint128(_: FunctionContext, text: Any) -> Arg:
    return map_rows(_uuid_bytes, [norm(text)], pa.binary(16))


# ------------------------------------------------------------------ URIs


def parse_uri(text: str) -> str:
    """The parts of a URI as a JSON object (empty strings and port 0 for missing parts)."""
    try:
        parts = urlsplit(text)
        port = parts.port or 0
    except ValueError:
        return "{}"
    return json.dumps(
        {
            "scheme": parts.scheme,
            "userinfo": parts.netloc.rpartition("@")[0] if "@" in parts.netloc else "",
            "host": parts.hostname or "",
            "port": port,
            "path": parts.path,
            "query": parts.query,
            "fragment": parts.fragment,
        },
        separators=(",", ":"),
    )


def _uri_parse(_: FunctionContext, text: Any) -> Arg:
    return map_rows(parse_uri, [norm(text)], pa.string())


def _recompose(
    scheme: str, userinfo: str, host: str, port: int, path: str, query: str, fragment: str
) -> str:
    netloc = host
    if ":" in host and not host.startswith("["):
        netloc = f"[{host}]"  # an IPv6 literal
    if port:
        netloc = f"{netloc}:{port}"
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    if netloc and path and not path.startswith("/"):
        path = "/" + path
    return urlunsplit((scheme, netloc, path, query, fragment))


def _uri_recompose(_: FunctionContext, *parts: Any) -> Arg:
    return map_rows(_recompose, [norm(p) for p in parts], pa.string())


# ------------------------------------------------------------------ request paths


@lru_cache(maxsize=32)
def _templates(model: str) -> tuple[str, ...]:
    try:
        parsed = json.loads(model)
    except json.JSONDecodeError:
        raise FunctionArgumentError(
            "request path cluster model is not JSON (build it with px._build_request_path_clusters)"
        ) from None
    clusters = parsed.get("clusters") if isinstance(parsed, dict) else None
    if not isinstance(clusters, list) or not all(isinstance(c, str) for c in clusters):
        raise FunctionArgumentError('request path cluster model needs {"clusters": [...]}')
    return tuple(clusters)


def _predict(path: str, model: str) -> str:
    return best_template(path, _templates(model))


def _predict_cluster(_: FunctionContext, path: Any, model: Any) -> Arg:
    return map_rows(_predict, [norm(path), norm(model)], pa.string())


def _match(_: FunctionContext, path: Any, endpoint: Any) -> Arg:
    return map_rows(match_endpoint, [norm(path), norm(endpoint)], pa.bool_())


# ------------------------------------------------------------------ k-means


@lru_cache(maxsize=32)
def _centroids(model: str) -> tuple[tuple[float, ...], ...]:
    try:
        parsed = json.loads(model)
        centroids = parsed["centroids"]
        return tuple(tuple(float(x) for x in c) for c in centroids)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise FunctionArgumentError(
            'k-means model needs {"centroids": [[...], ...]} (build it with px._kmeans_fit)'
        ) from None


def point_of(text: str) -> tuple[float, ...] | None:
    """A point from a row of `_kmeans_fit` / `_kmeans_inference` input: a JSON list of numbers
    or an object with a "point" list; None when the row is not one."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(value, dict):
        value = value.get("point")
    if not isinstance(value, list) or not value:
        return None
    try:
        point = tuple(float(x) for x in value)
    except (TypeError, ValueError):
        return None
    return point if all(math.isfinite(x) for x in point) else None


def kmeans_nearest(point_text: str, model: str) -> int:
    """Index of the centroid nearest to the point; -1 for a malformed point or other dims."""
    point = point_of(point_text)
    centroids = _centroids(model)
    if point is None or not centroids or len(point) != len(centroids[0]):
        return -1
    distances = [sum((a - b) ** 2 for a, b in zip(point, c, strict=True)) for c in centroids]
    return distances.index(min(distances))


def _kmeans_inference(_: FunctionContext, point: Any, model: Any) -> Arg:
    return map_rows(kmeans_nearest, [norm(point), norm(model)], pa.int64())


def register(registry: Registry) -> None:
    r = registry.register_scalar
    r(
        "strptime",
        (S, S),
        T,
        _strptime,
        "Parses a time string with a C strptime format (UTC unless it has %z). "
        "Example: px.strptime('2024-05-01 10:00:00', '%Y-%m-%d %H:%M:%S')",
        semantic=SemanticType.ST_TIME_NS,
        per_row=True,
    )
    r(
        "uint128",
        (S,),
        U,
        _uint128,
        "A UINT128 from its UUID spelling. "
        "Example: px.uint128('00000001-0000-0002-0000-000000000003')",
        per_row=True,
    )
    r(
        "make_upid",
        (I, I, I),
        U,
        _upid_ctor_asid,
        "A UPID from asid, pid and process start time (clock ticks). "
        "Example: px.make_upid(df.asid, df.pid, df.start_ticks)",
        semantic=SemanticType.ST_UPID,
    )
    r(
        "uri_parse",
        (S,),
        S,
        _uri_parse,
        "The parts of a URI as JSON (scheme, userinfo, host, port, path, query, fragment). "
        "Example: px.pluck(px.uri_parse(df.url), 'host')",
        per_row=True,
    )
    r(
        "uri_recompose",
        (S, S, S, I, S, S, S),
        S,
        _uri_recompose,
        "A URI from scheme, userinfo, host, port (0 = none), path, query and fragment. "
        "Example: px.uri_recompose('http', '', 'svc', 8080, '/a', 'x=1', '')",
        per_row=True,
    )
    r(
        "_predict_request_path_cluster",
        (S, S),
        S,
        _predict_cluster,
        "The most specific template of a _build_request_path_clusters model matching a path "
        "(the path with its ids masked when none does). "
        "Example: px._predict_request_path_cluster(df.req_path, model)",
        per_row=True,
    )
    r(
        "_match_endpoint",
        (S, S),
        B,
        _match,
        "Whether a request path matches an endpoint template ('*', ':id' or '{id}' match one "
        "segment). Example: px._match_endpoint(df.req_path, '/users/*/orders')",
        per_row=True,
    )
    r(
        "_kmeans_inference",
        (S, S),
        I,
        _kmeans_inference,
        "Index of the nearest centroid of a _kmeans_fit model to a JSON point; -1 if the point "
        "is malformed. Example: px._kmeans_inference(df.features, model)",
        per_row=True,
    )
