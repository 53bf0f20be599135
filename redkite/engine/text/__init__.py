"""Full-text search building blocks: analyzers, term ids, BM25 statistics and scoring,
and text_match / phrase_match over tokenized columns.

* :mod:`.analyzers` — Milvus ``analyzer_params`` -> :class:`Analyzer`;
  :func:`run_analyzer` returns what ``MilvusClient.run_analyzer`` shows.
* :mod:`.terms` — token -> uint32 term id (Milvus's CRC-32 hash).
* :mod:`.bm25` — texts -> term-frequency CSR rows (the BM25 function's sparse output),
  per-segment statistics that merge by summing, and an exact BM25 scorer.
* :mod:`.match` — a tokenized VARCHAR column and the vectorized text / phrase matchers
  the filter evaluator uses.
"""

from redkite.errors import ParamError

from .analyzers import Analyzer, get_analyzer, params_key, run_analyzer, validate_params
from .terms import term_id, term_ids

__all__ = ["Analyzer", "get_analyzer", "params_key", "run_analyzer", "validate_params",
           "validate_schema_analyzers", "term_id", "term_ids"]


def validate_schema_analyzers(schema) -> None:
    """Build the analyzer of every ``enable_analyzer`` field of a verified schema;
    raises ParamError naming the field whose ``analyzer_params`` are invalid."""
    for field in schema.fields:
        if field.params.get("enable_analyzer") is not True:
            continue
        try:
            get_analyzer(field.params.get("analyzer_params"))
        except ParamError as exc:
            raise ParamError(f"field {field.name!r}: {exc.message}") from None
