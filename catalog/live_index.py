"""The search index kept in step with the database: rebuilt when an import bumps the catalogue version."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncSession

from catalog.repository import catalog_version, load_search_docs
from catalog.search import SearchIndex


class LiveIndex:
    """One per process; messages ask it for the current index.

    The catalogue version is read at most once per `recheck_seconds`, so an import made by another
    process shows up within that time while a busy bot does not pay a query on every message.
    """

    def __init__(self, recheck_seconds: float = 1.0) -> None:
        self._index: SearchIndex | None = None
        self._version = -1
        self._checked_at = float("-inf")
        self._recheck = recheck_seconds
        self._lock = asyncio.Lock()

    async def get(self, session: AsyncSession) -> SearchIndex:
        now = time.monotonic()
        if self._index is not None and now - self._checked_at < self._recheck:
            return self._index
        version = await catalog_version(session)
        self._checked_at = now
        if self._index is not None and version == self._version:
            return self._index
        async with self._lock:
            if self._index is None or version != self._version:
                self._index = SearchIndex(await load_search_docs(session))
                self._version = version
        return self._index
