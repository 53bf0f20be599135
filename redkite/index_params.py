"""``IndexParams`` as ``MilvusClient.prepare_index_params()`` returns it (a list subclass)."""

from __future__ import annotations

from typing import Any

from .errors import ParamError


class IndexParam(dict):
    """One index to build: field, type, name, metric and build parameters."""

    @property
    def field_name(self) -> str:
        return self["field_name"]

    @property
    def index_type(self) -> str:
        return self["index_type"]

    @property
    def index_name(self) -> str:
        return self["index_name"]

    @property
    def metric_type(self) -> str | None:
        return self.get("metric_type")

    @property
    def params(self) -> dict:
        return self["params"]


class IndexParams(list):
    def __init__(self, field_name: str = "", **kwargs: Any) -> None:
        super().__init__()
        if field_name:
            self.add_index(field_name, **kwargs)

    def add_index(self, field_name: str, index_type: str = "", index_name: str = "",
                  **kwargs: Any) -> None:
        if not isinstance(field_name, str) or not field_name:
            raise ParamError(f"add_index: field_name must be a non-empty string, got "
                             f"{field_name!r}")
        params = dict(kwargs.pop("params", None) or {})
        metric_type = kwargs.pop("metric_type", None) or params.pop("metric_type", None)
        params.update(kwargs)  # pymilvus flattens other keyword arguments into params
        self.append(IndexParam(field_name=field_name, index_type=index_type or "",
                               index_name=index_name or "", metric_type=metric_type,
                               params=params))

    def __repr__(self) -> str:
        return f"IndexParams({list.__repr__(self)})"
