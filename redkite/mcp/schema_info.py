"""What the tools need to know about a collection, read from ``describe_collection``:
field types, the primary key, vector fields, and the text-search targets (BM25 and
text-embedding functions, whatever their fields are called)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from ..types import VECTOR_TYPES, DataType, FunctionType

TEXT_FUNCTIONS = (FunctionType.BM25, FunctionType.TEXTEMBEDDING)


def data_type(raw: Any) -> DataType:
    """A DataType from a describe result's ``type`` (member, number or name)."""
    if isinstance(raw, str) and not raw.isdigit():
        return DataType[raw.upper()]
    return DataType(int(raw))


def function_type(raw: Any) -> FunctionType:
    if isinstance(raw, str) and not raw.isdigit():
        return FunctionType[raw.upper()]
    return FunctionType(int(raw))


@dataclass(frozen=True)
class TextTarget:
    """A field text search can use: ``output_field`` is searched with raw text."""

    function: str
    kind: str  # "BM25" or "TEXTEMBEDDING"
    input_field: str
    output_field: str

    def to_json(self) -> dict:
        return {"function": self.function, "kind": self.kind,
                "text_field": self.input_field, "searched_field": self.output_field}


class CollectionInfo:
    """A collection's schema as the tools use it."""

    def __init__(self, description: dict) -> None:
        self.raw = description
        self.name: str = description["collection_name"]
        self.fields: dict[str, DataType] = {
            f["name"]: data_type(f["type"]) for f in description["fields"]}
        self.primary = next(f["name"] for f in description["fields"] if f.get("is_primary"))
        self.dynamic = bool(description.get("enable_dynamic_field"))
        self.function_outputs = {f["name"] for f in description["fields"]
                                 if f.get("is_function_output")}
        self.function_outputs.update(name for fn in description.get("functions") or []
                                     for name in fn["output_field_names"])
        self.text_targets = [
            TextTarget(fn["name"], function_type(fn["type"]).name,
                       fn["input_field_names"][0], fn["output_field_names"][0])
            for fn in description.get("functions") or []
            if function_type(fn["type"]) in TEXT_FUNCTIONS]

    @property
    def vector_fields(self) -> list[str]:
        return [name for name, dtype in self.fields.items() if dtype in VECTOR_TYPES]

    def output_fields(self, requested: list[str] | None, include_vectors: bool) -> list[str]:
        """``requested`` as given; otherwise every field (``*``) with vectors, or every
        scalar field plus the dynamic keys without them."""
        if requested:
            return list(requested)
        if include_vectors:
            return ["*"]
        scalars = [n for n, t in self.fields.items() if t not in VECTOR_TYPES]
        return scalars + (["$meta"] if self.dynamic else [])

    def text_target(self, field: str | None) -> TextTarget:
        """The text-search target named by ``field`` (its text or its searched field),
        or the only one; a ToolError says what to do when there is none or several."""
        if not self.text_targets:
            raise ToolError(
                f"Collection {self.name!r} has no BM25 or text-embedding function, so it "
                "cannot be searched with text. Use vector_search with a query vector, or "
                "query with a filter such as text_match(<text field>, \"words\") on a "
                "VARCHAR field created with enable_match. To make a collection "
                "text-searchable, create it with a BM25 function (create_collection "
                "functions=[{type: BM25, input_field, output_field}]).")
        if field is None:
            if len(self.text_targets) == 1:
                return self.text_targets[0]
            raise ToolError(f"Collection {self.name!r} has several text-search fields: "
                            f"{self._target_names()}. Pass field=<one of them>.")
        for target in self.text_targets:
            if field in (target.input_field, target.output_field):
                return target
        raise ToolError(f"{field!r} is not a text-search field of {self.name!r}; use one "
                        f"of {self._target_names()}.")

    def _target_names(self) -> list[str]:
        return [t.input_field for t in self.text_targets]

    def check_vector_field(self, field: str | None) -> str:
        """``field`` if vector search can use it (None: the collection's only one); BM25
        outputs are searched with text_search."""
        bm25 = {t.output_field for t in self.text_targets if t.kind == "BM25"}
        vectors = [n for n in self.vector_fields if n not in bm25]
        if field in bm25:
            raise ToolError(f"{field!r} holds BM25 terms computed from text: search it with "
                            "text_search.")
        if field is None:
            if len(vectors) == 1:
                return vectors[0]
            if not vectors:
                raise ToolError(f"Collection {self.name!r} has no vector field to search "
                                "with a vector; use text_search or query_rows.")
            raise ToolError(f"Collection {self.name!r} has several vector fields "
                            f"{vectors}; name one (anns_field / field).")
        if field not in vectors:
            raise ToolError(f"{field!r} is not a vector field of {self.name!r}; its vector "
                            f"fields are {vectors}.")
        return field

    def schema_json(self) -> dict:
        """Fields and functions with type names (JSON-ready)."""
        fields = []
        for f in self.raw["fields"]:
            entry = {"name": f["name"], "type": self.fields[f["name"]].name}
            for key in ("is_primary", "auto_id", "nullable", "is_partition_key",
                        "is_function_output"):
                if f.get(key):
                    entry[key] = True
            if f.get("element_type") is not None:
                entry["element_type"] = data_type(f["element_type"]).name
            if "default_value" in f:
                entry["default_value"] = f["default_value"]
            if f.get("params"):
                entry["params"] = f["params"]
            if f.get("description"):
                entry["description"] = f["description"]
            fields.append(entry)
        functions = [{"name": fn["name"], "type": function_type(fn["type"]).name,
                      "input_fields": list(fn["input_field_names"]),
                      "output_fields": list(fn["output_field_names"])}
                     for fn in self.raw.get("functions") or []]
        return {"fields": fields, "functions": functions, "primary_field": self.primary,
                "auto_id": bool(self.raw.get("auto_id")), "dynamic_field": self.dynamic,
                "description": self.raw.get("description", "")}
