"""Catalogue import/export on a real database: all-or-nothing, row-level errors, round trips."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import event, select, text

from catalog.db import Database
from catalog.exporter import export_catalog
from catalog.importer import ImportFailed, import_file
from catalog.models import Product
from catalog.repository import catalog_version
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


async def catalog_version_of(db: Database) -> int:
    async with db.session() as session:
        return await catalog_version(session)


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


class WriteCounter:
    """Counts the statements that write (INSERT, UPDATE, DELETE) on a database's engine."""

    def __init__(self, db: Database) -> None:
        self.writes: list[str] = []
        self.engine = db.engine.sync_engine
        event.listen(self.engine, "before_cursor_execute", self.seen)

    def seen(self, conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.writes.append(statement)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self.seen)


async def updated_at(db: Database) -> dict[str, object]:
    async with db.session() as session:
        return dict((await session.execute(select(Product.slug, Product.updated_at))).tuples().all())


@pytest.mark.parametrize("suffix", [".json", ".csv"])
async def test_reimporting_an_unchanged_file_writes_nothing(db: Database, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"catalog{suffix}"
    await export_catalog(db, path)
    before, stamps, version = await snapshot(db), await updated_at(db), await catalog_version_of(db)
    counter = WriteCounter(db)
    try:
        report = await import_file(db, path)
    finally:
        counter.close()
    assert all(ch.empty for ch in report.tables.values())
    assert counter.writes == []
    assert await snapshot(db) == before and await updated_at(db) == stamps
    assert await catalog_version_of(db) == version  # no search index is rebuilt for nothing


async def test_an_edit_rewrites_only_the_rows_it_changes(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    await export_catalog(db, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    makers = [p["producer"] for p in doc["products"]]
    with_producer = next(i for i, name in enumerate(makers) if name and i > 0 and makers.count(name) == 1)
    first, second = doc["products"][0]["slug"], doc["products"][with_producer]["slug"]
    doc["products"][0]["name_en"] += " (new name)"
    doc["products"][with_producer]["producer_address"] = "Thôn Thử, xã Thử"  # a producer's detail, on its row
    referenced = {p for s in doc["stores"] for p in s["products"]} | {o["product"] for o in doc["online"]}
    removed = next(p["slug"] for p in reversed(doc["products"]) if p["slug"] not in referenced)
    doc["products"] = [p for p in doc["products"] if p["slug"] != removed]
    doc["products"].append(dict(PRODUCT, aliases=["a"], sources=["https://example.org/a"]))
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    stamps, version = await updated_at(db), await catalog_version_of(db)
    report = await import_file(db, path)
    products = report.tables["products"]
    assert products.added == ["mat-ong-thu"] and products.removed == [removed]
    assert set(products.changed) >= {first, second}
    after = await updated_at(db)
    untouched = set(stamps) - set(products.changed) - {removed}
    assert all(after[slug] == stamps[slug] for slug in untouched)
    assert all(after[slug] > stamps[slug] for slug in (first, second))
    tables = await snapshot(db)
    assert tables["products"][second]["producer_address"] == "Thôn Thử, xã Thử"
    assert tables["products"]["mat-ong-thu"]["producer"] == "HTX Thử"
    assert await catalog_version_of(db) == version + 1
    # export then import is still the identity after the edit
    again = tmp_path / "again.json"
    await export_catalog(db, again)
    assert all(ch.empty for ch in (await import_file(db, again)).tables.values())


async def test_a_database_refusal_halfway_leaves_everything_as_it_was(db: Database, tmp_path: Path) -> None:
    """The stores are refused by the database after the products were written: the products roll back too."""
    async with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            await conn.execute(text(
                "CREATE TRIGGER refuse_stores BEFORE INSERT ON stores BEGIN SELECT RAISE(ABORT, 'refused'); END"))
        else:
            await conn.execute(text(
                "CREATE FUNCTION refuse_stores() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END $$"))
            await conn.execute(text(
                "CREATE TRIGGER refuse_stores BEFORE INSERT ON stores FOR EACH ROW EXECUTE FUNCTION refuse_stores()"))
    path = tmp_path / "catalog.json"
    await export_catalog(db, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["products"].append(dict(PRODUCT, aliases=[], sources=[]))
    doc["products"][0]["name_vi"] += " (đổi tên)"
    doc["stores"].append({"slug": "cua-hang-moi", "name": "Cửa hàng mới", "kind": "fair", "products": ["mat-ong-thu"]})
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    before, stamps, version = await snapshot(db), await updated_at(db), await catalog_version_of(db)
    with pytest.raises(ImportFailed) as failed:
        await import_file(db, path)
    assert "the database refused the data" in failed.value.errors[0].reason
    assert await snapshot(db) == before and await updated_at(db) == stamps
    assert await catalog_version_of(db) == version
    if db.dialect != "sqlite":
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER refuse_stores ON stores"))
            await conn.execute(text("DROP FUNCTION refuse_stores()"))
