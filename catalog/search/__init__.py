"""Catalogue search: an in-memory index over names, aliases, producers and places, with fuzzy re-ranking.

The package, in the order a query goes through it:
- `model`     — the answer types (ProductDoc, SearchHit, SearchAnswer), the query model and the weights;
- `marks`     — whether the tones and letter marks a buyer typed fit a written word;
- `postings`  — the index proper, built once per catalogue: words, regional spellings, places, facets;
- `parser`    — a message read into units (product words, known phrases) and filters (stars, places, groups);
- `matching`  — which products each unit is found in, and which products cover enough of the query;
- `index`     — `SearchIndex.search`: readings under filters, ranking, slices and did-you-mean.
"""

from catalog.search.index import SearchIndex
from catalog.search.model import CONFIDENT, ProductDoc, SearchAnswer, SearchHit

__all__ = ["CONFIDENT", "ProductDoc", "SearchAnswer", "SearchHit", "SearchIndex"]
