"""Approximate town centres of Bắc Giang's former districts, for ranking stores that have no coordinates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from catalog.text import fold


@dataclass(frozen=True, slots=True)
class DistrictCentre:
    """The seat town of a former district: an approximate point, never a store's own position."""

    district: str
    town: str
    latitude: float
    longitude: float


@cache
def _centres() -> dict[str, DistrictCentre]:
    raw = json.loads(resources.files("catalog").joinpath("data", "places.json").read_text(encoding="utf-8"))
    by_key: dict[str, DistrictCentre] = {}
    for row in raw["districts"]:
        centre = DistrictCentre(row["district"], row["town"], float(row["latitude"]), float(row["longitude"]))
        for name in (row["district"], *row.get("aliases", ())):
            by_key[_key(name)] = centre
    return by_key


def _key(name: str) -> str:
    # "huyện Lục Ngạn", "Luc Ngan" and "lục ngạn" all name the same district.
    words = fold(name).split()
    while words and words[0] in ("huyen", "thi", "xa", "tx", "h"):
        words = words[1:]
    return " ".join(words)


def district_centre(district: str | None) -> DistrictCentre | None:
    """The approximate centre of a former district by its name as written (any case or marks)."""
    if not district:
        return None
    return _centres().get(_key(district))

