"""text_match / phrase_match over a whole VARCHAR column, vectorized.

A column is analyzed once into a :class:`TokenizedColumn`: every token of every row
laid end to end as an int32 id into the column's own vocabulary (exact strings, no
hash collisions), with the row and position of each token. The filter evaluator keeps
it in the column source's cache, so later filters on the same (immutable) segment only
run the matchers:

* :func:`text_match_rows`: rows holding ANY of the query's tokens (``np.isin`` over the
  token ids, then a scatter into a row mask).
* :func:`phrase_match_rows`: rows holding the query's tokens in order, each within
  ``slop`` extra positions of the previous one, as tantivy's phrase query: with query
  tokens at positions ``q_1 < q_2 < ...`` and document positions ``p_1, p_2, ...``,
  every step must satisfy ``0 <= (p_j+1 - q_j+1) - (p_j - q_j) <= slop``. Order is
  never swapped (``learning machine`` does not match ``machine learning`` at any
  slop). Matching walks the query tokens once, keeping the sorted
  ``(row, p - q)`` keys that end a valid partial phrase and extending them with
  ``np.searchsorted``; unlike tantivy's greedy merge it never misses a chain when a
  token repeats.

A query whose analysis yields no tokens matches no row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .analyzers import Analyzer, TokenBatch


@dataclass(frozen=True)
class TokenizedColumn:
    """The analyzed tokens of a column; null rows have none and are not ``valid``."""
    num_rows: int
    valid: np.ndarray | None      # None: no null rows
    vocabulary: dict[str, int]    # token -> id
    ids: np.ndarray               # int32 id of each token, rows ascending
    rows: np.ndarray              # int64 row of each token
    positions: np.ndarray         # int64 position of each token within its row


def tokenize_column(array: pa.Array | pa.ChunkedArray, analyzer: Analyzer) -> TokenizedColumn:
    """Analyze every value of a string column once."""
    valid = None
    if array.null_count:
        valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        array = array.fill_null("")
    batch = analyzer.analyze(array.to_pylist())
    encoded = pa.array(batch.tokens, type=pa.string()).dictionary_encode()
    ids = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    vocabulary = {token: index for index, token in enumerate(encoded.dictionary.to_pylist())}
    return TokenizedColumn(batch.num_rows, valid, vocabulary, ids, batch.rows, batch.positions)


def _row_mask(column: TokenizedColumn, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(column.num_rows, dtype=bool)
    mask[rows] = True
    return mask


def text_match_rows(column: TokenizedColumn, query: TokenBatch) -> np.ndarray:
    """Bool mask of the rows holding at least one token of ``query``."""
    wanted = [column.vocabulary[t] for t in dict.fromkeys(query.tokens) if t in column.vocabulary]
    if not wanted:
        return np.zeros(column.num_rows, dtype=bool)
    hit = np.isin(column.ids, np.array(wanted, dtype=np.int32))
    return _row_mask(column, column.rows[hit])


def phrase_match_rows(column: TokenizedColumn, query: TokenBatch, slop: int) -> np.ndarray:
    """Bool mask of the rows holding the ``query`` tokens in order within ``slop``."""
    none = np.zeros(column.num_rows, dtype=bool)
    ids = [column.vocabulary.get(token) for token in query.tokens]
    if not ids or any(i is None for i in ids):
        return none
    query_positions = query.positions - query.positions[0]
    max_query = int(query_positions[-1])
    max_position = int(column.positions.max()) if len(column.positions) else 0
    # a larger slop admits nothing more than this within one row
    slop = min(int(slop), max_position + max_query + 1)
    stride = np.int64(max_position + max_query + slop + 1)

    def keys(token_id: int, query_position: int) -> np.ndarray:
        at = column.ids == token_id
        shifted = column.positions[at] - query_position + max_query  # >= 0
        return column.rows[at] * stride + shifted

    ends = keys(ids[0], int(query_positions[0]))
    for token_id, query_position in zip(ids[1:], query_positions[1:].tolist()):
        if not len(ends):
            return none
        candidates = keys(token_id, query_position)
        before = np.searchsorted(ends, candidates, side="right") - 1
        reachable = before >= 0
        gap = candidates - ends[np.maximum(before, 0)]
        ends = candidates[reachable & (gap <= slop)]
    return _row_mask(column, ends // stride)
