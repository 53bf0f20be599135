"""Result containers shaped like pymilvus's: hits, search results, row lists."""

from __future__ import annotations

from typing import Any, Iterable


class OmitZeroDict(dict):
    """A dict whose ``str()`` hides zero values (pymilvus's insert/delete results)."""

    def __str__(self) -> str:
        return str({k: v for k, v in self.items() if v != 0})

    __repr__ = __str__


class ExtraList(list):
    """A list of rows with an ``extra`` dict (pymilvus's HybridExtraList)."""

    def __init__(self, rows: Iterable = (), extra: dict | None = None) -> None:
        super().__init__(rows)
        self.extra = extra or {}

    def __str__(self) -> str:
        return f"data: {list.__str__(self)}" + (f", extra_info: {self.extra}" if self.extra
                                                 else "")


class Hit(dict):
    """One search hit: ``hit["id"]`` (pk), ``hit["distance"]``, ``hit["entity"]["f"]``.

    Also ``hit.id``/``hit.pk``, ``hit.distance``/``hit.score``, ``hit.fields`` and
    ``hit["f"]``/``hit.f`` falling through to the entity.
    """

    def __init__(self, pk_name: str, pk: Any, distance: float, entity: dict) -> None:
        super().__init__({pk_name: pk, "distance": distance, "entity": entity})
        self._pk_name = pk_name

    def __getitem__(self, key: str) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        entity = dict.__getitem__(self, "entity")
        if key in entity:
            return entity[key]
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in ("id", "pk"):
            return dict.__getitem__(self, self._pk_name)
        if name in ("distance", "score"):
            return dict.__getitem__(self, "distance")
        if name == "fields":
            return dict.__getitem__(self, "entity")
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict:
        return dict(self)


class Hits(list):
    """The hits of one query vector, best first; ``.ids`` and ``.distances``."""

    def __init__(self, pk_name: str, ids: list, distances: list, entities: list) -> None:
        super().__init__(Hit(pk_name, pk, d, e) for pk, d, e in zip(ids, distances, entities))
        self.ids = ids
        self.distances = distances


class SearchResult(list):
    """One :class:`Hits` per query vector."""

    def __init__(self, hits: Iterable[Hits], extra: dict | None = None) -> None:
        super().__init__(hits)
        self.extra = extra or {}

    def __str__(self) -> str:
        return f"data: {[list(h) for h in self]}"


class SearchPage(list):
    """One page of ``search_iterator().next()``: its :class:`Hit` objects, best first
    (pymilvus's SearchPage: ``ids()`` and ``distances()`` are methods). Empty when the
    iterator is exhausted."""

    def __init__(self, hits: Iterable[Hit] = (), session_ts: int = 0) -> None:
        super().__init__(hits)
        self._session_ts = session_ts

    def ids(self) -> list:
        return [hit.id for hit in self]

    def distances(self) -> list[float]:
        return [hit.distance for hit in self]

    def get_res(self) -> list[list[Hit]]:
        return [list(self)] if self else []

    def get_session_ts(self) -> int:
        return self._session_ts

    def __str__(self) -> str:
        return str([str(hit) for hit in self[:10]])


class AnalyzeToken:
    """One token of ``run_analyzer(..., with_detail/with_hash=True)`` (pymilvus's
    AnalyzeToken): ``token["hash"]`` or ``token.hash``; ``.dict`` holds the fields. A
    field the call did not ask for raises KeyError, as in pymilvus."""

    FIELDS = ("token", "start_offset", "end_offset", "position", "position_length", "hash")

    def __init__(self, fields: dict) -> None:
        self.dict = dict(fields)

    def __getattr__(self, name: str) -> Any:
        if name in AnalyzeToken.FIELDS:
            return self.dict[name]
        raise AttributeError(name)

    def __getitem__(self, key: str) -> Any:
        return self.dict[key]

    def __str__(self) -> str:
        return str(self.dict)

    __repr__ = __str__


class AnalyzeResult:
    """The tokens of one text (pymilvus's AnalyzeResult): ``.tokens`` is a list of str, or
    of :class:`AnalyzeToken` when details or hashes were asked for."""

    def __init__(self, tokens: list) -> None:
        self.tokens = [AnalyzeToken(t) if isinstance(t, dict) else t for t in tokens]

    def __str__(self) -> str:
        return str(self.tokens)

    __repr__ = __str__
