"""Vietnam's provinces and districts as they were before the 2025 merger, which buyers still name: "miến dong
Bình Liêu", "cam Cao Phong", "lụa Hà Đông" ask for another place's goods. The lexicon lists the provinces and
a few famous places by hand (`elsewhere`); the districts come from the administrative units `underthesea`
ships (its address data, from vietnamadminunits, effective 1 July 2025; read as a data file, the package is
never imported). The same data gives the catalogue's own districts their towns ("Đồi Ngô" is Lục Nam's: see
`towns_of`) and its province's communes and wards, where buyers say they live ("công ty em ở Quang Châu": see
`wards_of`). It files old Yên Dũng under Bắc Giang city and Chũ under "Thị xã Chũ", so those towns are not read.
"""

from __future__ import annotations

import json
import logging
import re
from functools import cache
from pathlib import Path

from catalog.search.compounds import underthesea_file
from catalog.text import fold

log = logging.getLogger(__name__)

# A ward's record in the address data: its old province, then (other fields between) its old district and ward.
_STRING = r'("(?:[^"\\]|\\.)*")'
_UNIT = re.compile(
    rf'"old_province":\s*{_STRING}[^{{}}]*?"old_district":\s*{_STRING}[^{{}}]*?"old_ward":\s*{_STRING}'
)
_TOWN = re.compile(r"^thị trấn\s+", re.IGNORECASE)
_WARD = re.compile(r"^(xã|phường|thị trấn)\s+", re.IGNORECASE)
_PREFIX = re.compile(r"^(huyện|quận|thị xã|thành phố|tỉnh)\s+", re.IGNORECASE)


def units_path() -> Path | None:
    """Where `underthesea` keeps its address data, or None."""
    return underthesea_file("address", "data", "mapping.json")


@cache
def _admin() -> tuple[tuple[tuple[str, str], ...], dict[tuple[str, str], tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """The districts (province, district), the towns by folded (province, district), and every commune, ward and
    town's name by folded province, before the merger, without "Tỉnh", "Huyện", "Xã"…, read in one pass."""
    path = units_path()
    if path is None:
        log.warning(
            "Vietnam's administrative units (underthesea) are missing: other districts and towns go unrecognised"
        )
        return (), {}, {}
    # (Its 10,602 wards read as JSON objects would hold some 30 MB for a moment, and the process keeps that much:
    # the three names of each are all that is needed.)
    text = path.read_text(encoding="utf-8")
    raw = {m.groups() for m in _UNIT.finditer(text)}  # (a match at a time: a list of them all would stay too)
    pairs: set[tuple[str, str]] = set()
    towns: dict[tuple[str, str], set[str]] = {}
    wards: dict[str, set[str]] = {}
    for p, d, w in raw:
        province, district, ward = _PREFIX.sub("", json.loads(p)), _PREFIX.sub("", json.loads(d)), json.loads(w)
        pairs.add((province, district))
        wards.setdefault(fold(province), set()).add(_WARD.sub("", ward))
        if _TOWN.match(ward):
            towns.setdefault((fold(province), fold(district)), set()).add(_TOWN.sub("", ward))
    return (
        tuple(sorted(pairs)),
        {k: tuple(sorted(t)) for k, t in towns.items()},
        {p: tuple(sorted(w)) for p, w in wards.items()},
    )


def old_units() -> tuple[tuple[str, str], ...]:
    """(province, district) names before the merger, without "Tỉnh", "Huyện", "Quận"…: one pair per district."""
    return _admin()[0]


def wards_of(provinces: set[str]) -> list[str]:
    """The communes, wards and towns these provinces (folded names) had before the merger, without "Xã", "Phường",
    "Thị trấn": the places their people say they live in ("Quang Châu", "Dĩnh Kế")."""
    by_province = _admin()[2]
    return sorted({w for p in provinces for w in by_province.get(p, ())})


def towns_of(province: str, district: str) -> list[str]:
    """The towns ("thị trấn": a rural district's seat and market towns) a district had before the merger, which
    locals name for the district: "Đồi Ngô" is Lục Nam's, "Nhã Nam" Tân Yên's. Matched on folded names."""
    return list(_admin()[1].get((fold(province), fold(district)), ()))


def districts_outside(provinces: set[str]) -> list[str]:
    """The old districts' names (of two words or more, no number) of every province but these (folded names)."""
    return sorted(
        {
            district
            for province, district in old_units()
            if fold(province) not in provinces
            and len(district.split()) >= 2
            and not any(c.isdigit() for c in district)
        }
    )
