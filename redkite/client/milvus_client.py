"""``MilvusClient``: pymilvus's synchronous client API over a redkite transport.

Each method is *prepare (``_base``) -> ``transport.call`` -> decode (``_base``)*. Keyword
arguments that do not apply raise :class:`~redkite.errors.ParamError` instead of being
silently ignored.
"""

from __future__ import annotations

from typing import Any

from ..errors import ParamError
from ..index_params import IndexParams
from ..results import AnalyzeResult
from ..schema import CollectionSchema, FieldSchema
from ..types import DataType
from ..transport import transport_for_uri
from . import _base as base
from ._data_methods import DataMethods

VERSION = "redkite-0.1.0"


class MilvusClient(DataMethods):
    """A Milvus client; ``MilvusClient("./app.db")`` opens an embedded database."""

    def __init__(self, uri: str = "http://localhost:19530", user: str = "",
                 password: str = "", db_name: str = "", token: str = "",
                 timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("MilvusClient", kwargs)
        self._transport = transport_for_uri(uri)
        self._db_name = db_name or ""
        if self._db_name:
            self._call("describe_database", db_name=self._db_name)

    def _call(self, operation: str, **arguments: Any) -> Any:
        return self._transport.call(operation, **arguments)

    def _db_call(self, operation: str, **arguments: Any) -> Any:
        return self._transport.call(operation, db_name=self._db_name or None, **arguments)

    # ---- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> MilvusClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def get_server_version(self, timeout: float | None = None, detail: bool = False,
                           **kwargs: Any) -> str | dict:
        base.reject_unknown("get_server_version", kwargs)
        if detail:
            return {"version": VERSION, "deploy_mode": "embedded"}
        return VERSION

    def get_server_type(self) -> str:
        return "milvus"

    # ---- schema helpers ------------------------------------------------------------------
    @staticmethod
    def create_schema(**kwargs: Any) -> CollectionSchema:
        return CollectionSchema([], **kwargs)

    @staticmethod
    def create_field_schema(name: str, data_type: DataType, desc: str = "",
                            **kwargs: Any) -> FieldSchema:
        return FieldSchema(name, data_type, desc, **kwargs)

    @staticmethod
    def prepare_index_params(field_name: str = "", **kwargs: Any) -> IndexParams:
        return IndexParams(field_name, **kwargs)

    # ---- collections ---------------------------------------------------------------------
    def create_collection(self, collection_name: str, dimension: int | None = None,
                          primary_field_name: str = "id", id_type: str = "int",
                          vector_field_name: str = "vector", metric_type: str = "COSINE",
                          auto_id: bool = False, timeout: float | None = None,
                          schema: CollectionSchema | None = None,
                          index_params: IndexParams | None = None, **kwargs: Any) -> None:
        base.check_name(collection_name)
        if schema is None:
            base.reject_unknown("create_collection", kwargs, base.QUICK_SETUP_KWARGS)
            if index_params is not None:
                raise ParamError("create_collection: index_params needs a schema; the quick "
                                 "setup (dimension=...) builds its own index")
            schema = base.quick_setup_schema(dimension, primary_field_name, id_type,
                                             vector_field_name, auto_id, kwargs)
            indexes = IndexParams(vector_field_name, index_type="AUTOINDEX",
                                  metric_type=metric_type)
        else:
            base.reject_unknown("create_collection", kwargs, base.SCHEMA_KWARGS)
            base.reject_quick_args_with_schema(dimension, primary_field_name, id_type,
                                               vector_field_name, metric_type, auto_id)
            if not isinstance(schema, CollectionSchema):
                raise ParamError(f"schema must be a CollectionSchema, got "
                                 f"{type(schema).__name__}")
            indexes = index_params if index_params else None
        specs = base.index_specs(indexes) if indexes is not None else []
        self._db_call("create_collection", name=collection_name, schema=schema,
                      index_params=specs, load=bool(specs), **base.collection_options(kwargs))

    def describe_collection(self, collection_name: str, timeout: float | None = None,
                            **kwargs: Any) -> dict:
        base.reject_unknown("describe_collection", kwargs)
        return self._db_call("describe_collection", name=base.check_name(collection_name))

    def has_collection(self, collection_name: str, timeout: float | None = None,
                       **kwargs: Any) -> bool:
        base.reject_unknown("has_collection", kwargs)
        return self._db_call("has_collection", name=base.check_name(collection_name))

    def list_collections(self, **kwargs: Any) -> list[str]:
        base.reject_unknown("list_collections", kwargs, ("timeout",))
        return self._db_call("list_collections")

    def drop_collection(self, collection_name: str, timeout: float | None = None,
                        **kwargs: Any) -> None:
        base.reject_unknown("drop_collection", kwargs)
        self._db_call("drop_collection", name=base.check_name(collection_name))

    def rename_collection(self, old_name: str, new_name: str, target_db: str | None = "",
                          timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("rename_collection", kwargs)
        self._db_call("rename_collection", old_name=base.check_name(old_name, "old_name"),
                      new_name=base.check_name(new_name, "new_name"),
                      new_db_name=target_db or None)

    def get_collection_stats(self, collection_name: str, timeout: float | None = None,
                             **kwargs: Any) -> dict:
        base.reject_unknown("get_collection_stats", kwargs)
        return self._db_call("get_collection_stats", name=base.check_name(collection_name))

    def truncate_collection(self, collection_name: str, timeout: float | None = None,
                            **kwargs: Any) -> None:
        base.reject_unknown("truncate_collection", kwargs)
        self._db_call("truncate_collection", name=base.check_name(collection_name))

    def load_collection(self, collection_name: str, timeout: float | None = None,
                        **kwargs: Any) -> None:
        base.reject_unknown("load_collection", kwargs, ("replica_number",))
        self._db_call("load_collection", name=base.check_name(collection_name))

    def release_collection(self, collection_name: str, timeout: float | None = None,
                           **kwargs: Any) -> None:
        base.reject_unknown("release_collection", kwargs)
        self._db_call("release_collection", name=base.check_name(collection_name))

    def get_load_state(self, collection_name: str, partition_name: str | None = "",
                       timeout: float | None = None, **kwargs: Any) -> dict:
        base.reject_unknown("get_load_state", kwargs)
        return self._db_call("get_load_state", name=base.check_name(collection_name),
                             partition_name=partition_name or "")

    def refresh_load(self, collection_name: str, timeout: float | None = None,
                     **kwargs: Any) -> None:
        base.reject_unknown("refresh_load", kwargs)
        state = self.get_load_state(collection_name)["state"]
        if state.name != "Loaded":
            raise ParamError(f"refresh_load: collection {collection_name!r} is not loaded")

    def flush(self, collection_name: str, timeout: float | None = None, **kwargs: Any) -> None:
        base.reject_unknown("flush", kwargs)
        self._db_call("flush", name=base.check_name(collection_name))

    def compact(self, collection_name: str, is_clustering: bool | None = False,
                is_l0: bool | None = False, target_size: int | None = None,
                target_size_unit: str = "mb", timeout: float | None = None,
                **kwargs: Any) -> int:
        base.reject_unknown("compact", kwargs)
        if is_clustering or is_l0 or target_size is not None:
            raise ParamError("compact: clustering, L0 and target-size compaction do not apply "
                             "to the embedded engine (it merges segments and drops deleted "
                             "rows)")
        return self._db_call("compact", name=base.check_name(collection_name))

    def get_compaction_state(self, job_id: int, timeout: float | None = None,
                             **kwargs: Any) -> str:
        base.reject_unknown("get_compaction_state", kwargs)
        return self._call("get_compaction_state", job_id=job_id)

    # ---- text ----------------------------------------------------------------------------
    def run_analyzer(self, texts: str | list[str], analyzer_params: str | dict | None = None,
                     with_hash: bool = False, with_detail: bool = False,
                     collection_name: str | None = None, field_name: str | None = None,
                     analyzer_names: str | list[str] | None = None,
                     timeout: float | None = None) -> AnalyzeResult | list[AnalyzeResult]:
        """Analyze ``texts`` with ``analyzer_params`` (default: the standard analyzer) or
        with the analyzer of ``field_name`` in ``collection_name``: one AnalyzeResult for
        a string, a list of them for a list of strings."""
        single = isinstance(texts, str)
        raw = self._db_call("run_analyzer", texts=[texts] if single else texts,
                            analyzer_params=analyzer_params, with_hash=with_hash,
                            with_detail=with_detail,
                            collection_name=(None if collection_name is None
                                             else base.check_name(collection_name)),
                            field_name=field_name, analyzer_names=analyzer_names)
        return base.analyze_results(raw, single)
