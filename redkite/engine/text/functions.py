"""BM25 functions of a schema at run time: computing output columns and query rows.

A BM25 function fills its SPARSE_FLOAT_VECTOR output field from its VARCHAR input
field: each text's analyzed tokens become term ids (:mod:`.terms`) with their counts
(:func:`.bm25.texts_to_term_frequencies`). The engine computes the output column when a
batch of rows is converted, before the batch reaches the write-ahead log, so a replay
reads stored vectors and never analyzes again. A null or empty text (or one whose tokens
are all filtered out) gives an empty sparse row, which matches no query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pyarrow as pa

from redkite.errors import ParamError
from redkite.types import FunctionType
from redkite.vectors.sparse import csr_to_arrow

from .analyzers import Analyzer, get_analyzer
from .bm25 import texts_to_term_frequencies

ColumnsFn = Callable[[dict[str, pa.Array]], dict[str, pa.Array]]


@dataclass(frozen=True)
class Bm25Function:
    """One BM25 function: ``input_field`` text -> ``output_field`` term frequencies."""

    name: str
    input_field: str
    output_field: str
    analyzer: Analyzer

    def output_column(self, texts: pa.Array | pa.ChunkedArray) -> pa.Array:
        """The ``map<uint32, float32>`` column of term counts of ``texts``."""
        return csr_to_arrow(*self.term_frequencies(texts))

    def term_frequencies(self, texts: pa.Array | pa.ChunkedArray | list) -> tuple:
        """CSR (indptr, indices, values) term counts of ``texts`` (nulls count as empty)."""
        if not isinstance(texts, list):
            texts = texts.to_pylist()
        return texts_to_term_frequencies(texts, self.analyzer)


def bm25_functions(schema) -> list[Bm25Function]:
    """The BM25 functions of a verified schema, with their input fields' analyzers."""
    found = []
    for function in schema.functions:
        if function.function_type != FunctionType.BM25:
            continue
        source = schema.field(function.input_field_names[0])
        analyzer = get_analyzer(source.params.get("analyzer_params"))
        found.append(Bm25Function(function.name, source.name,
                                  function.output_field_names[0], analyzer))
    return found


def bm25_function_for(schema, output_field: str) -> Bm25Function | None:
    """The BM25 function whose output is ``output_field``, if any."""
    return next((f for f in bm25_functions(schema) if f.output_field == output_field), None)


def function_outputs(schema) -> ColumnsFn | None:
    """For ``rows_to_batch``: a callable computing every function output column from the
    converted input columns, or None when the schema has no functions."""
    functions = bm25_functions(schema)
    if not functions:
        return None

    def compute(columns: dict[str, pa.Array]) -> dict[str, pa.Array]:
        return {f.output_field: f.output_column(columns[f.input_field]) for f in functions}
    return compute


def field_analyzer(schema, field_name: Any) -> Analyzer:
    """The analyzer of a VARCHAR field with ``enable_analyzer=True`` (ParamError else)."""
    field = schema.field(field_name) if isinstance(field_name, str) else None
    if field is None:
        raise ParamError(f"field {field_name!r} does not exist in the collection")
    if field.params.get("enable_analyzer") is not True:
        raise ParamError(f"field {field.name!r} has no analyzer: run_analyzer needs a VARCHAR "
                         "field with enable_analyzer=True")
    return get_analyzer(field.params.get("analyzer_params"))


def is_text_query(data: Any) -> bool:
    """Whether search ``data`` is raw text: a non-empty list or tuple of strings (a single
    string counts too, so that it can be rejected with a clear message)."""
    if isinstance(data, str):
        return True
    return (isinstance(data, (list, tuple)) and len(data) > 0
            and any(isinstance(item, str) for item in data))

