"""Catalogue import/export on a real database: all-or-nothing, row-level errors, round trips."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from catalog.db import Database
from catalog.exporter import export_catalog
from catalog.importer import ImportFailed, import_file
from catalog.rows import columns_of, read_tables

PRODUCT = {
    "slug": "mat-ong-thu",
    "name_vi": "Mật ong thử",
    "name_en": "Test honey",
    "aliases": "honey|mat ong",
    "category": "food",
    "stars": "3",
    "year": "2024",
    "producer": "HTX Thử",
    "producer_kind": "cooperative",
    "commune": "xã Thử",
    "district": "Lục Ngạn",
    "province": "Bắc Giang",
    "sources": "https://example.org/a",
}


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None, *, bom: bool = False) -> Path:
    header = header or list(rows[0])
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8"))
    return path


async def snapshot(db: Database) -> dict:
    async with db.session() as session:
        return await read_tables(session)


async def test_seeded_demo_catalogue_has_products_stores_and_contacts(db: Database) -> None:
    tables = await snapshot(db)
    assert len(tables["products"]) >= 70
    assert len(tables["stores"]) >= 4
    assert len(tables["contacts"]) >= 5
    assert {p["category"] for p in tables["products"].values()} <= {
        "food", "beverage", "herbal", "textile", "handicraft", "tourism"
    }
    # Facts only: the sources publish no phone or e-mail for any body.
    assert all(not c["phone"] and not c["email"] for c in tables["contacts"].values())


async def test_csv_import_adds_updates_and_removes(db: Database, tmp_path: Path) -> None:
    before = await snapshot(db)
    keep_slug = next(iter(before["products"]))
    kept = dict(before["products"][keep_slug])
    kept.update(aliases="|".join(kept["aliases"]), uses="|".join(kept["uses"]), sources="|".join(kept["sources"]),
                name_en="Renamed")
    rows = [PRODUCT, {k: ("" if v is None else v) for k, v in kept.items()}]
    path = write_csv(tmp_path / "p.csv", rows, columns_of("products"), bom=True)

    report = await import_file(db, path, dry_run=True)
    assert report.tables["products"].added == ["mat-ong-thu"]
    assert report.tables["products"].changed == {keep_slug: ["name_en"]}
    assert len(report.tables["products"].removed) == len(before["products"]) - 1
    assert await snapshot(db) == before  # dry run wrote nothing

    await import_file(db, path)
    after = await snapshot(db)
    assert set(after["products"]) == {"mat-ong-thu", keep_slug}
    assert after["products"][keep_slug]["name_en"] == "Renamed"
    assert after["products"]["mat-ong-thu"]["aliases"] == ["honey", "mat ong"]
    assert after["products"]["mat-ong-thu"]["stars"] == 3
    # Stores keep only the products that still exist.
    assert all(set(s["products"]) <= {"mat-ong-thu", keep_slug} for s in after["stores"].values())


BAD_ROWS = [
    ({"name_vi": ""}, "name_vi", "missing name_vi"),
    ({"category": "electronics"}, "category", "unknown value"),
    ({"stars": "6"}, "stars", "between 3 and 5"),
    ({"stars": "two"}, "stars", "whole number"),
    ({"sources": "ftp://x|not a url"}, "sources", "not a web address"),
    ({"producer_website": "javascript:alert(1)"}, "producer_website", "not a web address"),
    ({"producer_email": "nobody"}, "producer_email", "not an e-mail"),
    ({"slug": "Bad Slug"}, "slug", "lowercase"),
]


@pytest.mark.parametrize(("change", "column", "reason"), BAD_ROWS)
async def test_bad_product_row_changes_nothing(
    db: Database, tmp_path: Path, change: dict, column: str, reason: str
) -> None:
    before = await snapshot(db)
    good = dict(PRODUCT, slug="good-one")
    bad = dict(PRODUCT, **change)
    path = write_csv(tmp_path / "bad.csv", [good, bad], columns_of("products"))
    with pytest.raises(ImportFailed) as failed:
        await import_file(db, path)
    assert [(e.row, e.column) for e in failed.value.errors] == [(3, column)]
    assert reason in failed.value.errors[0].reason
    assert await snapshot(db) == before


async def test_duplicate_slug_and_unknown_column_listed_with_rows(db: Database, tmp_path: Path) -> None:
    before = await snapshot(db)
    path = write_csv(tmp_path / "dup.csv", [PRODUCT, dict(PRODUCT), dict(PRODUCT, colour="red")],
                     [*PRODUCT, "colour"])
    with pytest.raises(ImportFailed) as failed:
        await import_file(db, path)
    found = {(e.row, e.column, e.reason.split(" ")[0]) for e in failed.value.errors}
    assert (1, "colour", "unknown") in found
    assert (3, "slug", "duplicate") in found and (4, "slug", "duplicate") in found
    assert await snapshot(db) == before


async def test_store_coordinates_out_of_range_and_unknown_product(db: Database, tmp_path: Path) -> None:
    before = await snapshot(db)
    rows = [
        {"slug": "s1", "name": "Shop", "kind": "ocop_store", "latitude": "91", "longitude": "106", "products": ""},
        {"slug": "s2", "name": "Shop", "kind": "ocop_store", "latitude": "21", "longitude": "-181", "products": ""},
        {"slug": "s3", "name": "Shop", "kind": "ocop_store", "latitude": "", "longitude": "", "products": "no-such"},
        {"slug": "s4", "name": "Shop", "kind": "kiosk", "latitude": "21", "longitude": "", "products": ""},
    ]
    with pytest.raises(ImportFailed) as failed:
        await import_file(db, write_csv(tmp_path / "stores.csv", rows))
    found = {(e.table, e.row, e.column) for e in failed.value.errors}
    assert found == {
        ("stores", 2, "latitude"), ("stores", 3, "longitude"), ("stores", 4, "products"),
        ("stores", 5, "kind"), ("stores", 5, "latitude"),
    }
    assert await snapshot(db) == before


async def test_wrong_encoding_and_empty_file(db: Database, tmp_path: Path) -> None:
    before = await snapshot(db)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("slug,name_vi,category\nmat-ong,M\u1eadt ong,food\n".encode("utf-16"))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header_only = write_csv(tmp_path / "header.csv", [], columns_of("products"))
    for path, reason in ((latin, "UTF-8"), (empty, "empty"), (header_only, "no rows")):
        with pytest.raises(ImportFailed) as failed:
            await import_file(db, path)
        assert reason in failed.value.errors[0].reason, path
    assert await snapshot(db) == before


@pytest.mark.parametrize("suffix", [".json", ".xlsx", ".csv"])
async def test_export_then_import_is_identity(db: Database, tmp_path: Path, suffix: str) -> None:
    before = await snapshot(db)
    path = tmp_path / f"catalog{suffix}"
    await export_catalog(db, path)
    report = await import_file(db, path)
    assert all(ch.empty for ch in report.tables.values()), report.lines()
    assert await snapshot(db) == before


async def test_export_neutralises_spreadsheet_formulas(db: Database, tmp_path: Path) -> None:
    evil = dict(PRODUCT, name_en="=HYPERLINK(\"http://evil\")", producer="@SUM(1)", commune="-2+3", aliases="+x")
    await import_file(db, write_csv(tmp_path / "evil.csv", [evil]))
    out = tmp_path / "out.csv"
    await export_catalog(db, out)
    row = next(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert row["name_en"].startswith("'=") and row["producer"] == "'@SUM(1)"
    assert row["commune"] == "'-2+3" and row["aliases"] == "'+x"
    xlsx = tmp_path / "out.xlsx"
    await export_catalog(db, xlsx)
    sheet = load_workbook(xlsx)["products"]
    values = [c.value for c in sheet[2]]
    assert "'=HYPERLINK(\"http://evil\")" in values
    # and importing the export gives back the original text
    await import_file(db, out)
    assert (await snapshot(db))["products"]["mat-ong-thu"]["name_en"] == evil["name_en"]


async def test_xlsx_and_json_multi_table_import(db: Database, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "products"
    sheet.append(list(PRODUCT))
    sheet.append(list(PRODUCT.values()))
    stores = book.create_sheet("stores")
    stores.append(["slug", "name", "kind", "products", "latitude", "longitude"])
    stores.append(["shop", "Cửa hàng OCOP", "ocop_store", "mat-ong-thu", 21.27, 106.19])
    path = tmp_path / "c.xlsx"
    book.save(path)
    await import_file(db, path)
    tables = await snapshot(db)
    assert list(tables["products"]) == ["mat-ong-thu"]
    assert tables["stores"]["shop"]["products"] == ["mat-ong-thu"]
    assert tables["stores"]["shop"]["latitude"] == pytest.approx(21.27)

    doc = {"products": [dict(PRODUCT, aliases=["a", "b"], stars=None)], "contacts": [
        {"slug": "so-cong-thuong", "name_vi": "Sở Công Thương", "current": "no"}]}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    await import_file(db, path)
    tables = await snapshot(db)
    assert tables["products"]["mat-ong-thu"]["stars"] is None
    assert tables["contacts"]["so-cong-thuong"]["current"] is False


async def test_broken_json_and_xlsx_are_refused(db: Database, tmp_path: Path) -> None:
    before = await snapshot(db)
    broken = tmp_path / "b.json"
    broken.write_text('{"products": [', encoding="utf-8")
    fake = tmp_path / "b.xlsx"
    fake.write_bytes(b"not a zip")
    for path in (broken, fake):
        with pytest.raises(ImportFailed):
            await import_file(db, path)
    assert await snapshot(db) == before
