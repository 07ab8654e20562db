"""The search index kept in step with the database: rebuilt when an import bumps the catalogue version."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from catalog.repository import catalog_version, load_search_docs
from catalog.search import SearchIndex


class LiveIndex:
    """One per process; every message asks it for the current index (one tiny query when unchanged)."""

    def __init__(self) -> None:
        self._index: SearchIndex | None = None
        self._version = -1
        self._lock = asyncio.Lock()

    async def get(self, session: AsyncSession) -> SearchIndex:
        version = await catalog_version(session)
        if self._index is not None and version == self._version:
            return self._index
        async with self._lock:
            if self._index is None or version != self._version:
                self._index = SearchIndex(await load_search_docs(session))
                self._version = version
        return self._index
