"""A merging t-digest over many groups at once, vectorised with numpy.

Pixie's ``quantiles`` keeps a t-digest with compression 1000 per group. Here all groups are
handled together: centroids of every group live in three flat arrays (group id, mean, weight)
sorted by (group, mean). Building and merging are the same operation: sort the points, compute
each point's quantile position inside its group, map it through the k1 scale function
``k(q) = δ/(2π)·asin(2q-1)`` and merge the points that fall into the same unit of k. Each
centroid therefore spans at most one unit of k, the t-digest size invariant, which keeps the
tails accurate (few points per centroid near q=0 and q=1) and bounds a group to δ/2 centroids.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["COMPRESSION", "Digests", "build_digests", "merge_digests"]

# Pixie's quantiles UDA uses compression 1000 (pxl-language §5.5).
COMPRESSION = 1000.0
_BUCKETS = int(COMPRESSION / 2) + 1
# Stable sorting of small ints in numpy is a radix sort (linear); beyond this many groups the
# per-group loop costs more than one lexsort.
_MAX_GROUPS_FOR_SEGMENT_SORT = 4096
# Points sorted together before their digest is merged into the group's: 16 Ki float64 fit
# in L2 cache, which makes sorting them ~3x faster than sorting a whole 10M-row group.
_CHUNK = 1 << 14
# Below this many points, handing groups to threads costs more than it saves.
_PARALLEL_MIN_POINTS = 1 << 20

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass
class Digests:
    """Centroids of ``num_groups`` digests, sorted by (gid, mean); plus each group's min/max."""

    num_groups: int
    gid: I64
    mean: F64
    weight: F64
    min: F64
    max: F64

    def to_arrow(self) -> pa.Array:
        """One binary state per group: float64 [min, max, mean0, weight0, mean1, weight1, ...]."""
        counts = np.bincount(self.gid, minlength=self.num_groups)
        lengths = 2 + 2 * counts
        starts = np.zeros(self.num_groups + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        flat = np.empty(int(starts[-1]), dtype=np.float64)
        flat[starts[:-1]] = self.min
        flat[starts[:-1] + 1] = self.max
        # position of centroid j of group g = starts[g] + 2 + 2*(j - first centroid of g)
        first = np.zeros(self.num_groups + 1, dtype=np.int64)
        np.cumsum(counts, out=first[1:])
        rank = np.arange(len(self.gid), dtype=np.int64) - first[self.gid]
        position = starts[self.gid] + 2 + 2 * rank
        flat[position] = self.mean
        flat[position + 1] = self.weight
        offsets = starts * 8
        return pa.Array.from_buffers(
            pa.large_binary(),
            self.num_groups,
            [None, pa.py_buffer(offsets), pa.py_buffer(flat)],
        ).cast(pa.binary())

    @classmethod
    def from_arrow(cls, states: pa.Array) -> Digests:
        """Inverse of ``to_arrow``."""
        large = states.cast(pa.large_binary())
        num_groups = len(large)
        buffers = large.buffers()
        assert buffers[1] is not None
        offsets = np.frombuffer(buffers[1], dtype=np.int64)[
            large.offset : large.offset + num_groups + 1
        ]
        if np.any(offsets % 8) or np.any(np.diff(offsets) < 16):
            raise ValueError("a quantiles state is malformed")
        data = buffers[2]
        raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        flat = raw[offsets[0] : offsets[-1]].view(np.float64)
        starts = (offsets - offsets[0]) // 8
        counts = (np.diff(starts) - 2) // 2
        gid = np.repeat(np.arange(num_groups, dtype=np.int64), counts)
        first = np.zeros(num_groups + 1, dtype=np.int64)
        np.cumsum(counts, out=first[1:])
        rank = np.arange(len(gid), dtype=np.int64) - first[gid]
        position = starts[:-1][gid] + 2 + 2 * rank
        return cls(
            num_groups,
            gid,
            flat[position].copy(),
            flat[position + 1].copy(),
            flat[starts[:-1]].copy(),
            flat[starts[:-1] + 1].copy(),
        )

    def quantiles(self, ps: Sequence[float]) -> F64:
        """Estimated quantiles, shape (num_groups, len(ps)); 0 for a group with no points."""
        out = np.zeros((self.num_groups, len(ps)), dtype=np.float64)
        if len(self.gid) == 0:
            return out
        totals = np.bincount(self.gid, weights=self.weight, minlength=self.num_groups)
        before = np.cumsum(self.weight) - self.weight
        first = np.searchsorted(self.gid, np.arange(self.num_groups + 1, dtype=np.int64))
        group_base = before[np.minimum(first[:-1], len(before) - 1)]
        center = before - group_base[self.gid] + self.weight / 2
        safe_totals = np.where(totals > 0, totals, 1.0)
        # Every centroid center, normalised into [gid, gid+1): one global sorted axis.
        axis = self.gid + center / safe_totals[self.gid]
        groups = np.arange(self.num_groups, dtype=np.int64)
        has_points = first[1:] > first[:-1]
        lo_idx = first[:-1]
        hi_idx = first[1:] - 1
        for column, p in enumerate(ps):
            target = p * totals
            right = np.searchsorted(axis, groups + p, side="left")
            right = np.clip(right, lo_idx, first[1:])
            at_start = right == lo_idx
            at_end = right == first[1:]
            r = np.clip(right, 0, len(axis) - 1)
            left = np.clip(right - 1, 0, len(axis) - 1)
            # Interior: interpolate between the two centroid centers around the target.
            c_left, c_right = center[left], center[r]
            span = np.where(c_right > c_left, c_right - c_left, 1.0)
            frac = np.clip((target - c_left) / span, 0.0, 1.0)
            value = self.mean[left] + (self.mean[r] - self.mean[left]) * frac
            # Before the first center: between the group's min (at 0) and the first centroid.
            lo = np.clip(lo_idx, 0, len(axis) - 1)
            c0 = center[lo]
            frac0 = np.clip(target / np.where(c0 > 0, c0, 1.0), 0.0, 1.0)
            value = np.where(at_start, self.min + (self.mean[lo] - self.min) * frac0, value)
            # After the last center: between the last centroid and the group's max (at total).
            hi = np.clip(hi_idx, 0, len(axis) - 1)
            c1 = center[hi]
            tail = np.where(totals - c1 > 0, totals - c1, 1.0)
            frac1 = np.clip((target - c1) / tail, 0.0, 1.0)
            value = np.where(at_end, self.mean[hi] + (self.max - self.mean[hi]) * frac1, value)
            out[:, column] = np.where(has_points, value, 0.0)
        return out


@functools.cache
def _sort_pool() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(
        max_workers=os.cpu_count() or 1, thread_name_prefix="tdigest-sort"
    )


def _bucket(q: F64) -> I64:
    k = (COMPRESSION / (2 * np.pi)) * np.arcsin(np.clip(2 * q - 1, -1.0, 1.0)) + COMPRESSION / 4
    return np.clip(np.floor(k), 0, _BUCKETS - 1).astype(np.int64)


@functools.cache
def _chunk_template() -> tuple[I64, F64]:
    """Centroid starts and weights of the digest of one full sorted chunk of ``_CHUNK`` points.

    Every full chunk has the same quantile positions, hence the same centroid boundaries: they
    are computed once, and a chunk's centroids are one ``reduceat`` over its sorted values.
    """
    q = (np.arange(_CHUNK, dtype=np.float64) + 0.5) / _CHUNK
    key = _bucket(q)
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    weights = np.diff(np.append(starts, _CHUNK)).astype(np.float64)
    return starts, weights


def _group_rows(values: F64, gids: I64, num_groups: int) -> tuple[F64, I64]:
    """A copy of ``values`` ordered by group (stable), and each group's bounds in it."""
    if num_groups == 1:
        return values.copy(), np.array([0, len(values)], dtype=np.int64)
    # Arrow sorts small integers with a counting sort: several times faster than numpy's.
    order = pc.sort_indices(pa.array(gids.astype(np.uint16))).to_numpy()
    counts = np.bincount(gids, minlength=num_groups)
    bounds = np.zeros(num_groups + 1, dtype=np.int64)
    np.cumsum(counts, out=bounds[1:])
    return np.take(values, order), bounds


def _centroids_of_rows(values: F64, gids: I64, num_groups: int) -> Digests:
    """Unmerged centroids of every group: one digest per cache-sized sorted chunk.

    Sorting chunks of ``_CHUNK`` points is several times faster than sorting whole groups;
    the chunks' digests are merged afterwards, as a streaming t-digest merges its buffers.
    The result holds each group's centroids (not sorted by mean) and its min and max.
    """
    grouped, bounds = _group_rows(values, gids, num_groups)
    starts, weights = _chunk_template()
    means: list[F64] = []
    owner: list[I64] = []
    mins = np.zeros(num_groups, dtype=np.float64)
    maxs = np.zeros(num_groups, dtype=np.float64)
    tail_values: list[F64] = []
    tail_gids: list[I64] = []
    for g in range(num_groups):
        segment = grouped[bounds[g] : bounds[g + 1]]
        if not len(segment):
            continue
        full = len(segment) // _CHUNK * _CHUNK
        lo, hi = np.inf, -np.inf
        if full:
            block = segment[:full].reshape(-1, _CHUNK)
            block.sort(axis=1)
            lo, hi = float(block[:, 0].min()), float(block[:, -1].max())
            chunk_means = np.add.reduceat(block, starts, axis=1) / weights
            means.append(chunk_means.reshape(-1))
            owner.append(np.full(chunk_means.size, g, dtype=np.int64))
        rest = segment[full:]
        if len(rest):
            rest.sort()
            lo, hi = min(lo, float(rest[0])), max(hi, float(rest[-1]))
            tail_values.append(rest)
            tail_gids.append(np.full(len(rest), g, dtype=np.int64))
        mins[g], maxs[g] = lo, hi
    all_weights = [np.tile(weights, len(m) // len(weights)) for m in means]
    if tail_values:
        tails = _digests_of_sorted(
            np.concatenate(tail_values), np.concatenate(tail_gids), num_groups
        )
        means.append(tails.mean)
        owner.append(tails.gid)
        all_weights.append(tails.weight)
    return Digests(
        num_groups,
        np.concatenate(owner) if owner else np.zeros(0, np.int64),
        np.concatenate(means) if means else np.zeros(0),
        np.concatenate(all_weights) if all_weights else np.zeros(0),
        mins,
        maxs,
    )


def build_digests(values: F64, gids: I64, num_groups: int) -> Digests:
    """Digests of ``num_groups`` groups from raw points (weight 1 each)."""
    if len(values) == 0:
        empty_f = np.zeros(0, dtype=np.float64)
        zeros = np.zeros(num_groups, dtype=np.float64)
        return Digests(num_groups, np.zeros(0, np.int64), empty_f, empty_f, zeros, zeros.copy())
    if num_groups > _MAX_GROUPS_FOR_SEGMENT_SORT:
        order = np.lexsort((values, gids))
        return _digests_of_sorted(values[order], gids[order], num_groups)
    # As many threads as Arrow's CPU pool (pa.set_cpu_count bounds the engine's threads).
    workers = min(pa.cpu_count(), os.cpu_count() or 1, max(1, len(values) // _PARALLEL_MIN_POINTS))
    if workers > 1:
        # numpy releases the GIL while it sorts, gathers and reduces: each core builds the
        # chunk digests of one slice of the rows, and one merge combines them.
        cuts = np.linspace(0, len(values), workers + 1).astype(np.int64)
        pieces = list(
            _sort_pool().map(
                lambda i: _centroids_of_rows(
                    values[cuts[i] : cuts[i + 1]], gids[cuts[i] : cuts[i + 1]], num_groups
                ),
                range(workers),
            )
        )
        has = np.zeros((workers, num_groups), dtype=bool)
        for i, piece in enumerate(pieces):
            has[i, piece.gid] = True
        parts = Digests(
            workers * num_groups,
            np.concatenate([p.gid + i * num_groups for i, p in enumerate(pieces)]),
            np.concatenate([p.mean for p in pieces]),
            np.concatenate([p.weight for p in pieces]),
            np.concatenate([p.min for p in pieces]),
            np.concatenate([p.max for p in pieces]),
        )
        return merge_digests(
            parts, np.tile(np.arange(num_groups, dtype=np.int64), workers), num_groups
        )
    parts = _centroids_of_rows(values, gids, num_groups)
    return merge_digests(parts, np.arange(num_groups, dtype=np.int64), num_groups)


def _digests_of_sorted(sorted_values: F64, sorted_gids: I64, num_groups: int) -> Digests:
    """Digests from values sorted by (gid, value)."""
    first = np.searchsorted(sorted_gids, np.arange(num_groups + 1, dtype=np.int64))
    sizes = np.diff(first).astype(np.float64)
    rank = np.arange(len(sorted_values), dtype=np.float64) - first[:-1][sorted_gids]
    q = (rank + 0.5) / np.where(sizes > 0, sizes, 1.0)[sorted_gids]
    key = sorted_gids * _BUCKETS + _bucket(q)
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    weight = np.diff(np.append(starts, len(sorted_values))).astype(np.float64)
    mean = np.add.reduceat(sorted_values, starts) / weight
    has = sizes > 0
    mins = np.where(has, sorted_values[np.minimum(first[:-1], len(sorted_values) - 1)], 0.0)
    maxs = np.where(has, sorted_values[np.maximum(first[1:] - 1, 0)], 0.0)
    return Digests(num_groups, sorted_gids[starts], mean, weight, mins, maxs)


def merge_digests(parts: Digests, gids: I64, num_groups: int) -> Digests:
    """Merge the digests of ``parts`` (one per input state) into ``num_groups`` digests.

    ``gids[i]`` is the output group of input state ``i``.
    """
    centroid_gid = gids[parts.gid] if len(parts.gid) else np.zeros(0, np.int64)
    mins = np.full(num_groups, np.inf)
    maxs = np.full(num_groups, -np.inf)
    has_points = np.zeros(parts.num_groups, dtype=bool)
    has_points[parts.gid] = True
    np.minimum.at(mins, gids[has_points], parts.min[has_points])
    np.maximum.at(maxs, gids[has_points], parts.max[has_points])
    mins[~np.isfinite(mins)] = 0.0
    maxs[~np.isfinite(maxs)] = 0.0
    if len(centroid_gid) == 0:
        empty_f = np.zeros(0, dtype=np.float64)
        return Digests(num_groups, np.zeros(0, np.int64), empty_f, empty_f, mins, maxs)
    order = np.lexsort((parts.mean, centroid_gid))
    gid = centroid_gid[order]
    mean = parts.mean[order]
    weight = parts.weight[order]
    totals = np.bincount(gid, weights=weight, minlength=num_groups)
    before = np.cumsum(weight) - weight
    first = np.searchsorted(gid, np.arange(num_groups, dtype=np.int64))
    group_base = before[np.minimum(first, len(before) - 1)]
    q = (before - group_base[gid] + weight / 2) / totals[gid]
    key = gid * _BUCKETS + _bucket(q)
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    new_weight = np.add.reduceat(weight, starts)
    new_mean = np.add.reduceat(mean * weight, starts) / new_weight
    return Digests(num_groups, gid[starts], new_mean, new_weight, mins, maxs)
