"""The iterators ``query_iterator`` and ``search_iterator`` return.

Each runs the requests its pager (``client/_iterators.py``) asks for and nothing else.
``await it.next()`` is a page, empty once the walk is done (as in pymilvus);
``async for page in it`` stops there; ``await it.close()`` ends the walk. An iterator
reads the database it was made on, even after its client's ``use_database()``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ...transport import Transport
from .._iterators import Pager

_Iterator = TypeVar("_Iterator", bound="AsyncPageIterator")


class AsyncPageIterator:
    """Pages from a :class:`~redkite.client._iterators.Pager` over a transport."""

    def __init__(self, transport: Transport, db_name: str | None, pager: Pager) -> None:
        self._transport = transport
        self._db_name = db_name
        self._pager = pager

    @classmethod
    async def start(cls: type[_Iterator], transport: Transport, db_name: str | None,
                    pager: Pager) -> _Iterator:
        """An iterator with its first page fetched (errors in the request surface here)."""
        iterator = cls(transport, db_name, pager)
        described = await iterator._call("describe_collection", name=pager.collection_name)
        pager.start(described)
        await iterator._prepare()
        await iterator._fill()
        return iterator

    async def _prepare(self) -> None:
        """Whatever the pager needs to know before its first fetch (nothing by default)."""

    async def next(self) -> Any:
        """The next page; empty once every row was returned."""
        await self._fill()
        return self._pager.page()

    async def close(self) -> None:
        self._pager.close()

    def __aiter__(self) -> AsyncPageIterator:
        return self

    async def __anext__(self) -> Any:
        page = await self.next()
        if not page:
            raise StopAsyncIteration
        return page

    async def _fill(self) -> None:
        while self._pager.wants_fetch():
            operation, arguments = self._pager.fetch_request()
            self._pager.add(await self._call(operation, **arguments))

    async def _call(self, operation: str, **arguments: Any) -> Any:
        return await self._transport.acall(operation, db_name=self._db_name, **arguments)


class AsyncQueryIterator(AsyncPageIterator):
    """Rows matching a filter in primary-key order; each page a list of dicts."""


class AsyncSearchIterator(AsyncPageIterator):
    """One query vector's hits, closest first; each page a list of hits."""

    async def _prepare(self) -> None:
        """Look up the metric of the searched field's index when search_params name none:
        which way the pages advance depends on it (a server's search answer lacks it)."""
        field = self._pager.field_needing_metric()
        if field is None:
            return
        name = self._pager.collection_name
        indexes = await self._call("list_indexes", name=name, field_name=field)
        if indexes:
            info = await self._call("describe_index", name=name, index_name=indexes[0])
            if info:
                self._pager.use_metric(info["metric_type"])
