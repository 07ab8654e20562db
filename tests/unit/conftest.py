"""Fixtures shared by the search tests: the index over the packaged demo catalogue, built once per session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog.search import ProductDoc, SearchIndex

DEMO = Path(__file__).resolve().parents[2] / "catalog" / "data" / "demo_catalog.json"


@pytest.fixture(scope="session")
def demo() -> SearchIndex:
    with open(DEMO, encoding="utf-8") as fh:
        return SearchIndex(ProductDoc.from_row(r) for r in json.load(fh)["products"])
