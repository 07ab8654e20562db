"""The national OCOP system's product JSON (ocopvietnam.gov.vn) turned into our catalogue's product rows.

The file is a list of products, or an object holding that list under `data`, `items` or `products` (tolerant of
the wrapper). Each product is checked strictly: an unknown field, a field of the wrong type, an unknown `type`
or a bad date is a row error naming the national field. The mapped row then goes through the same validation
as every other catalogue file (catalog/importer.py `validate`, catalog/rows.py `parse_row`), so the import is
all-or-nothing with the same rules. The field mapping is documented in docs/catalog-format.md.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from catalog.rows import columns_of
from catalog.text import fold

WRAPPER_KEYS = ("data", "items", "products")
# The national system's product types → our six product groups.
TYPE_TO_CATEGORY = {
    "food": "food",
    "drink": "beverage",
    "herbs": "herbal",
    "cloth": "textile",
    "keepsake": "handicraft",
    "travel": "tourism",
}
LEVELS = {"district": "district", "province": "province", "national": "national",
          "huyen": "district", "tinh": "province", "quoc gia": "national", "trung uong": "national"}
MANUFACTURER_FIELDS = {
    "name": "producer",
    "representative": None,  # accepted, not stored: our producers have no representative column
    "address": "producer_address",
    "phone_number": "producer_phone",
    "email": "producer_email",
    "website": "producer_website",
}
IMAGE_FIELDS = tuple(f"production_image{n}" for n in range(1, 5))
# Text fields copied to one of our columns as they are (their checks are the catalogue's own).
TEXT_FIELDS = {
    "name": "name_vi",
    "name_en": "name_en",
    "description": "description_vi",
    "description_en": "description_en",
    "ocop_certificate_number": "certificate_no",
    "season": "season_vi",
    "season_en": "season_en",
    "ward": "commune",
    "commune": "commune",
    "district": "district",
    "province": "province",
}
OTHER_FIELDS = {"type", "ocop_star", "issued_on", "expiry_date", "certificate_level", "manufacturer",
                "address", "url", *IMAGE_FIELDS}
IGNORED_FIELDS = {"id", "created_at", "updated_at"}  # the national system's bookkeeping, not catalogue facts
KNOWN_FIELDS = set(TEXT_FIELDS) | OTHER_FIELDS | IGNORED_FIELDS
# Every key the mapping can produce. The certificate, season and image keys are product columns added by
# issue 17a; until the catalogue layout has them they are dropped in `carried` below.
MAPPED_KEYS = (
    "slug", "name_vi", "name_en", "category", "stars", "year", "producer", "producer_address", "producer_phone",
    "producer_email", "producer_website", "commune", "district", "province", "description_vi",
    "description_en", "sources", "certificate_no", "certified_on", "certificate_level",
    "certificate_expires_on", "season_vi", "season_en", "image",
)
SLUG_LENGTH = 80  # a product slug's own part; room is left for the producer's part and a number

RawRows = list[tuple[int, dict[str, Any]]]
Problem = tuple[int, str, str]  # row number, national field name, reason


def carried(row: dict[str, Any]) -> dict[str, Any]:
    """THE place where mapped keys the current product layout does not know are dropped (see MAPPED_KEYS)."""
    layout = set(columns_of("products"))
    return {key: value for key, value in row.items() if key in layout}


def carried_keys() -> tuple[list[str], list[str]]:
    """(mapped keys the layout carries, mapped keys dropped), for the test and the lead's merge check."""
    layout = set(columns_of("products"))
    return [k for k in MAPPED_KEYS if k in layout], [k for k in MAPPED_KEYS if k not in layout]


def slugify(text: str) -> str:
    """'Mỳ Chũ Nam Tiến' → 'my-chu-nam-tien': lowercase ASCII words joined by hyphens."""
    return "-".join(fold(text).split())[:SLUG_LENGTH].strip("-")


def _date(value: Any, field: str, problems: list[tuple[str, str]]) -> dt.date | None:
    """An ISO date or date-time ('2023-05-12', '2023-05-12T00:00:00+07:00') or a Vietnamese dd/mm/yyyy."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        problems.append((field, "expected a date such as 2023-05-12"))
        return None
    text = value.strip()
    try:
        if "/" in text:
            return dt.datetime.strptime(text, "%d/%m/%Y").date()
        return dt.date.fromisoformat(text[:10]) if len(text) > 10 and text[10] in "T " else dt.date.fromisoformat(text)
    except ValueError:
        problems.append((field, f"not a date: {text[:40]!r}; expected YYYY-MM-DD or DD/MM/YYYY"))
        return None


def _text(value: Any, field: str, problems: list[tuple[str, str]]) -> str:
    if value is None:
        return ""
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value).strip()
    problems.append((field, "expected text"))
    return ""


def map_product(record: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """One national record → (our product row without a slug, problems as (national field, reason))."""
    problems: list[tuple[str, str]] = []
    row: dict[str, Any] = {}
    for key in record:
        if key not in KNOWN_FIELDS:
            problems.append((key, "unknown field"))
    for field, column in TEXT_FIELDS.items():
        if field in record:
            text = _text(record[field], field, problems)
            if text or column not in row:
                row[column] = text
    kind = _text(record.get("type"), "type", problems).lower()
    if not kind:
        problems.append(("type", "missing type"))
    elif kind not in TYPE_TO_CATEGORY:
        problems.append(("type", f"unknown type {kind[:40]!r}; expected one of: {', '.join(TYPE_TO_CATEGORY)}"))
    else:
        row["category"] = TYPE_TO_CATEGORY[kind]
    star = record.get("ocop_star")
    if isinstance(star, str) and star.strip().isdecimal():
        star = int(star.strip())
    if star is not None and (isinstance(star, bool) or not isinstance(star, int)):
        problems.append(("ocop_star", "expected a whole number of stars"))
    elif star is not None:
        row["stars"] = star
    issued = _date(record.get("issued_on"), "issued_on", problems)
    expires = _date(record.get("expiry_date"), "expiry_date", problems)
    if issued is not None:
        row["certified_on"] = issued.isoformat()
        row["year"] = issued.year
    if expires is not None:
        row["certificate_expires_on"] = expires.isoformat()
    if issued is not None and expires is not None and expires <= issued:
        problems.append(("expiry_date", "the certificate expires before it was issued"))
    level = fold(_text(record.get("certificate_level"), "certificate_level", problems))
    if level:
        if level not in LEVELS:
            problems.append(("certificate_level", "expected district, province or national"))
        else:
            row["certificate_level"] = LEVELS[level]
    maker = record.get("manufacturer")
    if maker is not None and not isinstance(maker, dict):
        problems.append(("manufacturer", "expected an object"))
    elif maker:
        for key, value in maker.items():
            if key not in MANUFACTURER_FIELDS:
                problems.append((f"manufacturer.{key}", "unknown field"))
                continue
            text = _text(value, f"manufacturer.{key}", problems)
            if MANUFACTURER_FIELDS[key]:
                row[MANUFACTURER_FIELDS[key]] = text
    address = _text(record.get("address"), "address", problems)
    if address and not row.get("producer_address"):
        row["producer_address"] = address
    images = [_text(record.get(f), f, problems) for f in IMAGE_FIELDS]
    image = next((i for i in images if i), "")
    if image:
        row["image"] = image
    url = _text(record.get("url"), "url", problems)
    if url:
        row["sources"] = [url]
    return row, problems


# Our column → the national field named in a row error about it.
NATIONAL_NAMES = {column: field for field, column in TEXT_FIELDS.items() if field not in ("commune",)} | {
    column: f"manufacturer.{field}" for field, column in MANUFACTURER_FIELDS.items() if column
} | {"category": "type", "stars": "ocop_star", "year": "issued_on", "certified_on": "issued_on",
     "certificate_expires_on": "expiry_date", "image": "production_image1", "sources": "url",
     "slug": "name"}


def products_in(doc: Any) -> tuple[list[Any] | None, str]:
    """The list of products in the document, or (None, why not)."""
    if isinstance(doc, list):
        return doc, ""
    if isinstance(doc, dict):
        for key in WRAPPER_KEYS:
            if isinstance(doc.get(key), list):
                return doc[key], ""
            if isinstance(doc.get(key), dict):  # {"data": {"items": [...]}}, as paged APIs answer
                inner, _ = products_in(doc[key])
                if inner is not None:
                    return inner, ""
        return None, f"expected a list of products, or an object with one under {', '.join(WRAPPER_KEYS)}"
    return None, "expected a list of products"


def read_ocopvietnam(data: bytes) -> tuple[RawRows, list[Problem]]:
    """The file's products as our raw product rows (numbered from 1, in file order) and the problems found."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        return [], [(0, "", f"not UTF-8 text (byte {exc.start}); save the file as UTF-8")]
    except json.JSONDecodeError as exc:
        return [], [(0, "", f"not valid JSON: {exc.msg} (line {exc.lineno})")]
    except RecursionError:
        return [], [(0, "", "arrays or objects nested too deeply")]
    records, why = products_in(doc)
    if records is None:
        return [], [(0, "", why)]
    if not records:
        return [], [(0, "", "the file has no products")]
    problems: list[Problem] = []
    rows: RawRows = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            problems.append((number, "", "expected an object"))
            continue
        row, found = map_product(record)
        problems += [(number, field, reason) for field, reason in found]
        rows.append((number, row))
    _give_slugs(rows)
    _share_producer_details(rows)
    return [(n, carried(r)) for n, r in rows], problems


def _share_producer_details(rows: RawRows) -> None:
    """A producer's address, phone, e-mail and website as any of its records gives them, on all of them: our
    importer keeps one set of details per producer, from the last row naming it, and a record listing only the
    manufacturer's name must not erase what another record gave."""
    fields = [c for c in MANUFACTURER_FIELDS.values() if c and c != "producer"]
    known: dict[str, dict[str, Any]] = {}
    for _, row in rows:
        if row.get("producer"):
            mine = known.setdefault(row["producer"], {})
            for name in fields:
                if row.get(name) and name not in mine:
                    mine[name] = row[name]
    for _, row in rows:
        for name, value in known.get(row.get("producer") or "", {}).items():
            if not row.get(name):
                row[name] = value


def _give_slugs(rows: RawRows) -> None:
    """Deterministic slugs from the names: a name several producers use gets its producer's name too, and a
    name still taken (one producer listing a product twice, e.g. re-assessed in another round) a number."""
    base = {n: slugify(r.get("name_vi", "")) for n, r in rows}
    makers: dict[str, set[str]] = {}
    for number, row in rows:
        makers.setdefault(base[number], set()).add(row.get("producer") or "")
    taken: set[str] = set()
    for number, row in rows:
        slug = base[number]
        if slug and len(makers[slug]) > 1 and row.get("producer"):  # one name, several producers
            slug = f"{slug}-{slugify(row['producer'])[:38]}".strip("-")
        candidate, n = slug, 2
        while candidate and candidate in taken:
            candidate, n = f"{slug}-{n}", n + 1
        if candidate:
            taken.add(candidate)
        row["slug"] = candidate


def keep_what_the_record_lacks(rows: RawRows, current: dict[str, dict[str, Any]]) -> RawRows:
    """For a product already in the catalogue, the columns the national record does not give (English name,
    aliases, uses, descriptions, sources…) keep their values; the producer's details only for the same producer.
    What the record gives replaces what we had; products the file does not list are removed, as with every
    catalogue file."""
    out: RawRows = []
    for number, row in rows:
        old = current.get(row.get("slug") or "")
        if old is None:
            out.append((number, row))
            continue
        kept = {k: v for k, v in old.items() if not k.startswith("producer") or old.get("producer") == row.get("producer")}
        out.append((number, kept | {k: v for k, v in row.items() if v not in ("", None) or k not in kept}))
    return out
