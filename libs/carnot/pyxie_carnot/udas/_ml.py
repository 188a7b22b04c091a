"""Aggregates that build models or pick values: ``sample``, ``_build_request_path_clusters``
and ``_kmeans_fit``.

``sample`` keeps, per group, the value with the highest random priority: merging partial states
keeps the highest again, so the pick is uniform over every row of the group whatever the split.
The two model builders keep a bounded summary per group (distinct paths with counts; a
subsample of points) and fit in ``finalize``; their per-row work is Python (named as such: no
Arrow kernel tokenizes paths or parses JSON points).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from pyxie_types import DataType, arrow_type

from ..funcs._extras import point_of
from ..funcs._path_clusters import build_templates
from ._base import UDA, zero_scalar

__all__ = ["KMeansFitUDA", "RequestPathClustersUDA", "SampleUDA"]

# Distinct paths kept per group (the most frequent): enough for any real API's endpoints.
_MAX_PATHS: Final = 5000
# Points kept per group for a k-means fit; Lloyd's iterations stay cheap at this size.
_MAX_POINTS: Final = 2000
_DEFAULT_K: Final = 3
_MAX_ITERATIONS: Final = 50


def _best_per_group(
    priorities: npt.NDArray[np.float64], gids: npt.NDArray[np.int64], num_groups: int
) -> npt.NDArray[np.int64]:
    """Row index of the highest priority of each group; -1 for groups without rows."""
    best = np.full(num_groups, -1, dtype=np.int64)
    if len(gids) == 0:
        return best
    order = np.lexsort((-priorities, gids))  # by group, then priority descending
    first = np.ones(len(order), dtype=bool)
    first[1:] = gids[order][1:] != gids[order][:-1]
    best[gids[order][first]] = order[first]
    return best


class SampleUDA(UDA):
    """One value of the group, picked uniformly at random (any type).

    Example: ``df.groupby('req_path').agg(example=('req_body', px.sample))``.
    """

    def __init__(self, arg_types: Sequence[DataType], return_type: DataType) -> None:
        super().__init__(arg_types, return_type)
        self._rng = np.random.default_rng()

    @property
    def state_types(self) -> tuple[pa.DataType, ...]:
        return (arrow_type(self.return_type), pa.float64())

    def _pick(
        self,
        values: pa.Array,
        priorities: npt.NDArray[np.float64],
        gids: npt.NDArray[np.int64],
        num_groups: int,
    ) -> list[pa.Array]:
        best = _best_per_group(priorities, gids, num_groups)
        present = best >= 0
        taken = values.take(pa.array(np.maximum(best, 0))) if len(values) else None
        zeros = pa.repeat(zero_scalar(self.return_type), num_groups)
        if taken is None:
            return [zeros, pa.array(np.full(num_groups, -1.0))]
        chosen = taken if present.all() else pa.compute.if_else(pa.array(present), taken, zeros)
        return [chosen, pa.array(np.where(present, priorities[np.maximum(best, 0)], -1.0))]

    def update(
        self, args: Sequence[pa.Array], gids: npt.NDArray[np.int64], num_groups: int
    ) -> list[pa.Array]:
        return self._pick(args[0], self._rng.random(len(gids)), gids, num_groups)

    def merge(
        self, states: Sequence[pa.Array], gids: npt.NDArray[np.int64], num_groups: int
    ) -> list[pa.Array]:
        priorities = np.asarray(states[1].to_numpy(zero_copy_only=False), dtype=np.float64)
        return self._pick(states[0], priorities, gids, num_groups)

    def finalize(self, states: Sequence[pa.Array]) -> pa.Array:
        return states[0]

    def empty_states(self) -> list[pa.Array]:
        return [
            pa.array([zero_scalar(self.return_type).as_py()], self.state_types[0]),
            pa.array([-1.0]),
        ]


def _group_rows(
    values: Sequence[Any], gids: npt.NDArray[np.int64], num_groups: int
) -> list[list[Any]]:
    groups: list[list[Any]] = [[] for _ in range(num_groups)]
    for gid, value in zip(gids.tolist(), values, strict=True):
        groups[gid].append(value)
    return groups


class RequestPathClustersUDA(UDA):
    """A request-path clustering model of the group's paths: JSON ``{"clusters": [templates]}``
    where id-like or high-cardinality segments are ``*`` (per-row Python: path tokenizing).

    Example: ``df.agg(model=('req_path', px._build_request_path_clusters))`` then
    ``px._predict_request_path_cluster(df.req_path, model)``.
    """

    @property
    def state_types(self) -> tuple[pa.DataType, ...]:
        return (pa.string(),)

    @staticmethod
    def _state(counts: dict[str, int]) -> str:
        if len(counts) > _MAX_PATHS:
            kept = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:_MAX_PATHS]
            counts = dict(kept)
        return json.dumps(counts, separators=(",", ":"), sort_keys=True)

    def update(
        self, args: Sequence[pa.Array], gids: npt.NDArray[np.int64], num_groups: int
    ) -> list[pa.Array]:
        out = []
        for paths in _group_rows(args[0].to_pylist(), gids, num_groups):
            counts: dict[str, int] = {}
            for path in paths:
                counts[path] = counts.get(path, 0) + 1
            out.append(self._state(counts))
        return [pa.array(out, pa.string())]

    def merge(
        self, states: Sequence[pa.Array], gids: npt.NDArray[np.int64], num_groups: int
    ) -> list[pa.Array]:
        out = []
        for parts in _group_rows(states[0].to_pylist(), gids, num_groups):
            counts: dict[str, int] = {}
            for part in parts:
                for path, n in json.loads(part or "{}").items():
                    counts[path] = counts.get(path, 0) + int(n)
            out.append(self._state(counts))
        return [pa.array(out, pa.string())]

    def finalize(self, states: Sequence[pa.Array]) -> pa.Array:
        models = [
            json.dumps({"clusters": build_templates(json.loads(s or "{}"))})
            for s in states[0].to_pylist()
        ]
        return pa.array(models, pa.string())

    def empty_states(self) -> list[pa.Array]:
        return [pa.array(["{}"], pa.string())]


def _fit(points: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.float64]:
    """k-means++ seeding and Lloyd's iterations, seeded so a model is reproducible."""
    rng = np.random.default_rng(0)
    k = min(k, len(np.unique(points, axis=0)))
    centroids = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        d2 = np.min([((points - c) ** 2).sum(axis=1) for c in centroids], axis=0)
        total = d2.sum()
        probabilities = d2 / total if total > 0 else None
        centroids.append(points[rng.choice(len(points), p=probabilities)])
    center = np.array(centroids)
    for _ in range(_MAX_ITERATIONS):
        labels = ((points[:, None, :] - center[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        moved = np.array(
            [
                points[labels == i].mean(axis=0) if (labels == i).any() else center[i]
                for i in range(len(center))
            ]
        )
        if np.allclose(moved, center):
            break
        center = moved
    return center


class KMeansFitUDA(UDA):
    """A k-means model of the group's points: JSON ``{"k": k, "centroids": [[...], ...]}``.

    Each row is a JSON list of numbers, or ``{"point": [...], "k": n}`` to choose k (default
    3; at most the number of distinct points). Rows that are not points are skipped (per-row
    Python: JSON parsing). Example: ``df.agg(model=('features', px._kmeans_fit))`` then
    ``px._kmeans_inference(df.features, model)``.
    """

    @property
    def state_types(self) -> tuple[pa.DataType, ...]:
        return (pa.string(),)

    @staticmethod
    def _state(k: int, points: list[list[float]]) -> str:
        if len(points) > _MAX_POINTS:  # an even subsample keeps the shape of the data
            step = len(points) / _MAX_POINTS
            points = [points[int(i * step)] for i in range(_MAX_POINTS)]
        return json.dumps({"k": k, "points": points}, separators=(",", ":"))

    def update(
        self, args: Sequence[pa.Array], gids: npt.NDArray[np.int64], num_groups: int
    ) -> list[pa.Array]:
        out = []
        for rows in _group_rows(args[0].to_pylist(), gids, num_groups):
            k, points = _DEFAULT_K, []
            for row in rows:
                point = point_of(row)
                if point is None:
                    continue
                points.append(list(point))
                k = _k_of(row, k)
            out.append(self._state(k, points))
        return [pa.array(out, pa.string())]

    def merge(
        self, states: Sequence[pa.Array], gids: npt.NDArray[np.int64], num_groups: int
    ) -> list[pa.Array]:
        out = []
        for parts in _group_rows(states[0].to_pylist(), gids, num_groups):
            k, points = _DEFAULT_K, []
            for part in parts:
                state = json.loads(part)
                k = int(state["k"])
                points.extend(state["points"])
            out.append(self._state(k, points))
        return [pa.array(out, pa.string())]

    def finalize(self, states: Sequence[pa.Array]) -> pa.Array:
        models = []
        for text in states[0].to_pylist():
            state = json.loads(text)
            points = state["points"]
            dims = {len(p) for p in points}
            if not points or len(dims) != 1:
                models.append(json.dumps({"k": 0, "centroids": []}))
                continue
            center = _fit(np.array(points, dtype=np.float64), int(state["k"]))
            models.append(json.dumps({"k": len(center), "centroids": center.tolist()}))
        return pa.array(models, pa.string())

    def empty_states(self) -> list[pa.Array]:
        return [pa.array([self._state(_DEFAULT_K, [])], pa.string())]


def _k_of(row: str, default: int) -> int:
    if not row.lstrip().startswith("{"):
        return default
    k = json.loads(row).get("k", default)
    return int(k) if isinstance(k, int) and k > 0 else default
