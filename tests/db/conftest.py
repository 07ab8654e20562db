"""PostgreSQL fixtures for the tests of this folder that need it (OCOP_TEST_DATABASE_URL): a reset database and an
engine on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import normalise_database_url
from catalog.db import Database
from tests.conftest import PG_URL, opened_database


@pytest.fixture
def pg_url() -> str:
    from tests.conftest import _reset_postgres

    url = normalise_database_url(PG_URL)
    _reset_postgres(url)
    return url


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[Database]:
    async with opened_database(pg_url) as db:
        yield db
