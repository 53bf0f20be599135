"""Grouping search: the best rows per value of a scalar field.

Milvus semantics (``group_by_field``, ``group_size``, ``strict_group_size``): rows are
ranked by distance; each distinct value of the field is a group, ranked by its best row;
the answer is ``limit`` groups (after skipping ``offset`` groups), each with up to
``group_size`` of its best rows. Hits come group by group (best group first), each
group's rows best first. A null value is a group of its own.

``strict_group_size=True`` drops, from those ``limit`` groups, each group that has fewer
than ``group_size`` rows (as Milvus's reduce does; the dropped groups are not replaced).
Without it such a group returns all of its rows.

Computed exactly: every surviving row is scored and grouped with array operations
(stable sort by distance, rank within group by a stable sort on the group code), so no
group is missed or cut short because a candidate window was too small (Milvus's
non-strict mode may return groups with fewer rows than exist; redkite fills them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ...errors import ParamError
from ...types import INTEGER_TYPES, DataType
from ...vectors import VectorLayout
from ..storage.segments import SegmentView
from .exhaustive import ScoredRows, append_hits, best_first, score_surviving
from .range_search import DistanceRange
from .search import FLOAT32, Candidates

GROUPABLE_TYPES = frozenset({DataType.BOOL, DataType.VARCHAR, *INTEGER_TYPES})
MAX_GROUP_SIZE = 10  # Milvus's default quotaAndLimits.limits.maxGroupSize


@dataclass(frozen=True)
class Grouping:
    field: str
    group_size: int = 1
    strict: bool = False


def parse_grouping(schema, group_by_field: str | None, group_size: object,
                   strict_group_size: object) -> Grouping | None:
    """Check the grouping arguments against the collection schema."""
    if group_by_field in (None, ""):
        if group_size is not None or strict_group_size is not None:
            raise ParamError("group_size and strict_group_size need group_by_field")
        return None
    if not isinstance(group_by_field, str):
        raise ParamError(f"group_by_field must be a field name, got {group_by_field!r}")
    field = schema.field(group_by_field)
    if field is None:
        raise ParamError(f"group_by_field {group_by_field!r} is not a field of the collection "
                         "schema (grouping by dynamic keys is not supported)")
    if field.dtype not in GROUPABLE_TYPES:
        raise ParamError(f"group_by_field {group_by_field!r} has type {field.dtype.name}, which "
                         "cannot be grouped by: use a BOOL, INT8/16/32/64 or VARCHAR field")
    size = 1 if group_size is None else group_size
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not (
            1 <= size <= MAX_GROUP_SIZE):
        raise ParamError(f"group_size must be an int in [1, {MAX_GROUP_SIZE}], got "
                         f"{group_size!r}")
    strict = False if strict_group_size is None else strict_group_size
    if not isinstance(strict, bool):
        raise ParamError(f"strict_group_size must be a bool, got {strict_group_size!r}")
    return Grouping(group_by_field, int(size), strict)


def grouped_search_views(views: list[SegmentView], masks: list[np.ndarray], field: str,
                         queries: np.ndarray, metric: str, grouping: Grouping, limit: int,
                         offset: int, band: DistanceRange | None = None,
                         layout: VectorLayout = FLOAT32) -> Candidates:
    """Per query, the hits of groups ``offset .. offset + limit``, group by group."""
    scored = score_surviving(views, masks, field, queries, metric, layout)
    codes = group_codes(views, scored, grouping.field)
    out = Candidates([], [], [])
    for query in range(len(queries)):
        scores = scored.scores[query]
        # sparse rows sharing no term with the query score -inf: they are not hits
        candidates = np.flatnonzero(np.isfinite(scores) if band is None
                                    else band.keep(scores))
        picked = pick_groups(scores[candidates], codes[candidates], metric, limit, offset,
                             grouping.group_size, grouping.strict)
        append_hits(out, scored, query, candidates[picked])
    return out


def group_codes(views: list[SegmentView], scored: ScoredRows, field: str) -> np.ndarray:
    """A dense integer per distinct value of ``field`` for every candidate (nulls share one
    code)."""
    if scored.size == 0:
        return np.zeros(0, np.int64)
    parts = []
    boundaries = np.flatnonzero(np.diff(scored.view_index)) + 1
    for block in np.split(np.arange(scored.size), boundaries):
        view = views[int(scored.view_index[block[0]])]
        parts.append(view.column(field).take(pa.array(scored.row[block])))
    values = pa.chunked_array(parts).combine_chunks()
    encoded = values.dictionary_encode()
    return encoded.indices.fill_null(len(encoded.dictionary)).to_numpy(
        zero_copy_only=False).astype(np.int64)


def pick_groups(scores: np.ndarray, codes: np.ndarray, metric: str, limit: int, offset: int,
                group_size: int, strict: bool = False) -> np.ndarray:
    """Positions of the chosen hits, in output order (see the module docstring)."""
    if len(scores) == 0:
        return np.zeros(0, np.int64)
    order = best_first(scores, metric)
    ranked_codes = codes[order]
    by_group = np.argsort(ranked_codes, kind="stable")   # grouped, best first inside
    grouped = ranked_codes[by_group]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    run_lengths = np.diff(np.r_[starts, len(grouped)])
    rank_in_group = np.empty(len(order), np.int64)
    rank_in_group[by_group] = np.arange(len(order)) - np.repeat(starts, run_lengths)
    # a group's rank is the rank of its best row among the groups' best rows
    group_rank_by_code = np.empty(int(codes.max()) + 1, np.int64)
    group_rank_by_code[grouped[starts[np.argsort(by_group[starts])]]] = np.arange(len(starts))
    group_rank = group_rank_by_code[ranked_codes]
    chosen = (rank_in_group < group_size) & (group_rank >= offset) & (
        group_rank < offset + limit)
    if strict:
        rows_by_code = np.zeros(len(group_rank_by_code), np.int64)
        rows_by_code[grouped[starts]] = run_lengths
        chosen &= rows_by_code[ranked_codes] >= group_size
    keep = np.flatnonzero(chosen)
    final = keep[np.lexsort((rank_in_group[keep], group_rank[keep]))]
    return order[final]
