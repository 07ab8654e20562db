"""Product use and occasion tags (`uses`): the vocabulary, the demo tags, import/export, the migration."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from catalog.db import Database, alembic_config
from catalog.exporter import export_catalog
from catalog.importer import ImportFailed, demo_catalog_bytes, import_file
from catalog.models import Product
from catalog.repository import load_search_docs, product_doc
from catalog.rows import columns_of
from catalog.snapshot import load_catalog
from catalog.uses import use_codes, use_tags
from tests.db.test_import_export import PRODUCT, snapshot, write_csv

SOURCED = {"health", "joints", "liver"}
CURATED = {"gift", "keeps", "tet", "offering", "wedding", "party", "vegetarian", "cooking", "awake", "ready", "breakfast", "brew",
           "cool"}


def test_vocabulary_is_small_closed_and_labelled() -> None:
    tags = use_tags()
    assert set(use_codes()) == SOURCED | CURATED
    assert len(use_codes()) == len(set(use_codes()))
    for tag in tags:
        assert tag.code == tag.code.lower() and tag.code.isascii()
        assert tag.basis == ("sourced" if tag.code in SOURCED else "curated")
        assert tag.label_vi and tag.label_en and tag.rule


# --- the demo catalogue


async def test_demo_products_carry_their_tags(db: Database) -> None:
    products = (await snapshot(db))["products"]
    shipped = json.loads(demo_catalog_bytes())["products"]
    assert all(isinstance(p.get("uses"), list) for p in shipped)  # every product says, even if []
    assert {p["slug"]: p["uses"] for p in shipped} == {slug: row["uses"] for slug, row in products.items()}

    by_name = {row["name_vi"]: row for row in products.values()}
    assert "liver" in by_name["An Xoa giải độc gan Khánh Hoa"]["uses"]
    assert "joints" in by_name["Thanh Ngâm xương khớp Khánh Hoa"]["uses"]
    wines = [row for row in products.values() if row["category"] == "beverage" and "rượu" in row["name_vi"].lower()]
    assert len(wines) >= 10 and all("gift" in row["uses"] for row in wines)
    # Health claims only where the catalogue's own text makes them: these two products, nothing else.
    claimed = {row["name_vi"] for row in products.values() if SOURCED & set(row["uses"])}
    assert claimed == {"An Xoa giải độc gan Khánh Hoa", "Thanh Ngâm xương khớp Khánh Hoa"}
    for row in products.values():
        assert set(row["uses"]) <= set(use_codes())
        if {"joints", "liver"} & set(row["uses"]):
            assert "health" in row["uses"]
    # Fresh fruit keeps days, not weeks: never a gift by the rule.
    assert not any("gift" in row["uses"] for row in products.values() if row["name_vi"].startswith(("Vải", "Ổi")))


async def test_search_documents_and_snapshot_carry_the_tags(db: Database) -> None:
    tables = await snapshot(db)
    async with db.session() as session:
        docs = await load_search_docs(session)
        catalog = await load_catalog(session)
    assert {d.slug: list(d.uses) for d in docs} == {slug: row["uses"] for slug, row in tables["products"].items()}
    for product in catalog.products:
        assert list(product.uses) == tables["products"][product.slug]["uses"]
        assert product_doc(product).uses == tuple(tables["products"][product.slug]["uses"])


async def test_search_documents_read_as_plain_rows_are_those_of_the_products(db: Database) -> None:
    # load_search_docs reads only the columns the index needs (issue 14): the very documents product_doc
    # makes of the ORM products, in catalogue order, a product without a producer included.
    async with db.session() as session:
        first = await session.scalar(select(Product).order_by(Product.id).limit(1))
        assert first is not None and first.producer_id is not None
        first.producer_id = None
        first.name_en = ""
    async with db.session() as session:
        docs = await load_search_docs(session)
        products = (await session.scalars(select(Product).order_by(Product.id))).unique().all()
    assert docs == [product_doc(p) for p in products]
    assert len(docs) >= 80 and docs[0].producer == "" and any(d.producer for d in docs)
    assert any(d.aliases for d in docs) and any(d.uses for d in docs)
    # Each distinct producer and place text is one object, shared by its products (memory at national size).
    for field in ("producer", "district", "province"):
        texts = [getattr(d, field) for d in docs if getattr(d, field)]
        assert len(texts) > len(set(texts)) == len({id(t) for t in texts})


# --- import and export

TAGGED = dict(PRODUCT, uses="Party| gift|TET|gift")  # mixed case, spaces, a repeat, out of order
UNTAGGED = dict(PRODUCT, slug="mat-ong-khac", uses="")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".json"])
async def test_uses_round_trip_through_export_and_import(db: Database, tmp_path: Path, suffix: str) -> None:
    await import_file(db, write_csv(tmp_path / "in.csv", [TAGGED, UNTAGGED], columns_of("products")))
    tagged = await snapshot(db)
    # Lowercased, each once, in the vocabulary's order.
    assert tagged["products"]["mat-ong-thu"]["uses"] == ["gift", "tet", "party"]
    assert tagged["products"]["mat-ong-khac"]["uses"] == []

    path = tmp_path / f"out{suffix}"
    await export_catalog(db, path)
    if suffix == ".csv":
        rows = {r["slug"]: r for r in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))}
        assert rows["mat-ong-thu"]["uses"] == "gift|tet|party" and rows["mat-ong-khac"]["uses"] == ""
    elif suffix == ".xlsx":
        sheet = load_workbook(path)["products"]
        header = [c.value for c in sheet[1]]
        cells = {r[0]: r[header.index("uses")] for r in sheet.iter_rows(min_row=2, values_only=True)}
        assert cells["mat-ong-thu"] == "gift|tet|party" and cells["mat-ong-khac"] in ("", None)
    else:
        exported = {r["slug"]: r for r in json.loads(path.read_text(encoding="utf-8"))["products"]}
        assert exported["mat-ong-thu"]["uses"] == ["gift", "tet", "party"] and exported["mat-ong-khac"]["uses"] == []

    # Clear the tags, then bring them back from the export.
    cleared = [dict(TAGGED, uses=""), UNTAGGED]
    await import_file(db, write_csv(tmp_path / "cleared.csv", cleared, columns_of("products")))
    assert (await snapshot(db))["products"]["mat-ong-thu"]["uses"] == []
    report = await import_file(db, path)
    assert report.tables["products"].changed == {"mat-ong-thu": ["uses"]}
    assert await snapshot(db) == tagged


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    """The rows as a products file in the format named by the path's suffix."""
    header = columns_of("products")
    if path.suffix == ".csv":
        return write_csv(path, rows, header)
    if path.suffix == ".xlsx":
        book = Workbook()
        sheet = book.active
        sheet.title = "products"
        sheet.append(header)
        for row in rows:
            sheet.append([row.get(c, "") for c in header])
        book.save(path)
        return path
    as_lists = [dict(r, uses=[u for u in r.get("uses", "").split("|") if u]) for r in rows]
    path.write_text(json.dumps({"products": as_lists}, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(("suffix", "bad_row"), [(".csv", 3), (".xlsx", 3), (".json", 2)])
async def test_unknown_use_tag_is_a_row_error_and_changes_nothing(
    db: Database, tmp_path: Path, suffix: str, bad_row: int
) -> None:
    before = await snapshot(db)
    rows = [dict(PRODUCT, slug="good-one", uses="gift"), dict(PRODUCT, uses="gift|Xmas|quà biếu")]
    with pytest.raises(ImportFailed) as failed:
        await import_file(db, _write(tmp_path / f"bad{suffix}", rows))
    errors = failed.value.errors
    assert [(e.table, e.row, e.column) for e in errors] == [("products", bad_row, "uses")]
    message = str(errors[0])
    assert message.startswith(f"products row {bad_row}, column uses: unknown use tag")
    assert "'xmas'" in message and "'quà biếu'" in message
    assert "expected one of: " + ", ".join(use_codes()) in message
    assert await snapshot(db) == before


async def test_file_without_uses_column_imports_with_empty_tags(db: Database, tmp_path: Path) -> None:
    await import_file(db, write_csv(tmp_path / "tagged.csv", [TAGGED], columns_of("products")))
    assert (await snapshot(db))["products"]["mat-ong-thu"]["uses"] == ["gift", "tet", "party"]
    without = [k for k in columns_of("products") if k != "uses"]
    await import_file(db, write_csv(tmp_path / "old.csv", [PRODUCT], without))
    assert {slug: row["uses"] for slug, row in (await snapshot(db))["products"].items()} == {"mat-ong-thu": []}

    path = tmp_path / "old.json"
    path.write_text(json.dumps({"products": [dict(PRODUCT, slug="mat-ong-json")]}), encoding="utf-8")
    await import_file(db, path)
    assert (await snapshot(db))["products"]["mat-ong-json"]["uses"] == []


# --- the migration


async def _migrate(db: Database, direction: str, revision: str) -> None:
    cfg = alembic_config(db.url)

    def run(connection: Any) -> None:
        cfg.attributes["connection"] = connection
        getattr(command, direction)(cfg, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


async def _product_columns(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda c: {col["name"] for col in sa.inspect(c).get_columns("products")})


DEMO_TAGS = ['gift', 'keeps', 'tet', 'offering', 'wedding', 'party']  # 0003 copies the demo's list


async def test_migration_adds_uses_with_empty_lists_for_existing_products(db_url: str) -> None:
    db = Database(db_url)
    try:
        await _migrate(db, "upgrade", "0002")
        assert "uses" not in await _product_columns(db)
        old_products = sa.table(
            "products", *(sa.column(c) for c in ("slug", "name_vi", "name_en", "category", "commune", "district",
                                                 "province", "description_vi", "description_en")),
            sa.column("aliases", sa.JSON), sa.column("sources", sa.JSON), sa.column("updated_at", sa.DateTime),
        )
        texts = dict(name_en="", commune="", district="", province="", description_vi="", description_en="",
                     updated_at=dt.datetime(2026, 1, 1))
        async with db.engine.begin() as conn:
            await conn.execute(sa.insert(old_products), [
                dict(texts, slug="vai-cu", name_vi="Vải cũ", category="food", aliases=["vải"], sources=[]),
                dict(texts, slug="ruou-cu", name_vi="Rượu cũ", category="beverage", aliases=[], sources=[]),
                # The packaged demo's own products get its tags; a product that only shares a slug does not.
                dict(texts, slug="ruou-men-la-kien-thanh", name_vi="Rượu men lá Kiên Thành", category="beverage",
                     aliases=[], sources=[]),
                dict(texts, slug="mat-ong-yen-my", name_vi="Mật ong của một HTX khác", category="food",
                     aliases=[], sources=[]),
            ])

        assert await db.upgrade()
        assert await db.current_revision() == db.head_revision()
        async with db.session() as session:
            assert dict((await session.execute(select(Product.slug, Product.uses))).all()) == {
                "vai-cu": [], "ruou-cu": [], "ruou-men-la-kien-thanh": DEMO_TAGS, "mat-ong-yen-my": []
            }
            product = await session.scalar(select(Product).where(Product.slug == "ruou-cu"))
            product.uses = ["gift", "party"]
        async with db.session() as session:
            assert await session.scalar(select(Product.uses).where(Product.slug == "ruou-cu")) == ["gift", "party"]

        await _migrate(db, "downgrade", "0002")
        assert "uses" not in await _product_columns(db)
        await _migrate(db, "upgrade", "head")
        assert "uses" in await _product_columns(db)
    finally:
        await db.dispose()


async def test_migrations_add_the_curated_tags_to_demo_products_keeping_their_tags(db_url: str) -> None:
    db = Database(db_url)
    try:
        await _migrate(db, "upgrade", "0004_inbox")
        rows = sa.table("products", *(sa.column(c) for c in ("slug", "name_vi", "name_en", "category", "commune",
                                                             "district", "province", "description_vi",
                                                             "description_en")),
                        sa.column("aliases", sa.JSON), sa.column("sources", sa.JSON), sa.column("uses", sa.JSON),
                        sa.column("updated_at", sa.DateTime))
        texts = dict(name_en="", commune="", district="", province="", description_vi="", description_en="",
                     aliases=[], sources=[], updated_at=dt.datetime(2026, 1, 1))
        async with db.engine.begin() as conn:
            await conn.execute(sa.insert(rows), [
                # Seeded from an earlier demo: its tags then, one removed by the department since.
                dict(texts, slug="ruou-men-la-kien-thanh", name_vi="Rượu men lá Kiên Thành", category="beverage",
                     uses=["gift", "party"]),
                dict(texts, slug="huong-nen-bong-am", name_vi="Hương nến Bồng Am", category="handicraft",
                     uses=[]),
                # The department's own product under a demo slug, and one the demo never tags.
                dict(texts, slug="na-luc-nam", name_vi="Na của HTX khác", category="food", uses=["gift"]),
                dict(texts, slug="mat-ong-yen-my", name_vi="Mật ong Yên Mỹ", category="food", uses=["gift"]),
                dict(texts, slug="nam-rom-dong-thinh", name_vi="Nấm rơm Đông Thịnh", category="food", uses=[]),
                dict(texts, slug="che-xanh-ban-ven", name_vi="Chè xanh Bản Ven", category="food", uses=["gift"]),
                dict(texts, slug="oi-tan-yen", name_vi="Ổi Tân Yên", category="food", uses=[]),
                dict(texts, slug="nuoc-uong-long-nhan-vifoco", name_vi="Nước uống long nhãn Bắc Giang",
                     category="beverage", uses=[]),
            ])
        assert await db.upgrade()
        async with db.session() as session:
            assert dict((await session.execute(select(Product.slug, Product.uses))).all()) == {
                "ruou-men-la-kien-thanh": ["gift", "party", "offering", "keeps"],
                "huong-nen-bong-am": ["offering"],  # incense: a gift, but not food that keeps for a trip
                "na-luc-nam": ["gift"],
                "mat-ong-yen-my": ["gift", "keeps", "brew"],  # honey: stirred into warm water
                "nam-rom-dong-thinh": ["vegetarian", "cooking"],  # mushrooms: plant food, to cook a meal with
                "che-xanh-ban-ven": ["gift", "offering", "keeps", "awake", "brew"],  # green tea: to stay awake, brewed
                "oi-tan-yen": ["ready"],  # fresh fruit: eaten as it is
                "nuoc-uong-long-nhan-vifoco": ["ready", "cool"],  # a bottled drink: served cold
            }
        await _migrate(db, "downgrade", "0004_inbox")
        async with db.session() as session:
            assert (await session.scalar(select(Product.uses).where(Product.slug == "huong-nen-bong-am"))) == []
            assert (await session.scalar(select(Product.uses).where(Product.slug == "mat-ong-yen-my"))) == ["gift"]
            assert (await session.scalar(select(Product.uses).where(Product.slug == "nam-rom-dong-thinh"))) == []
            assert (await session.scalar(select(Product.uses).where(Product.slug == "che-xanh-ban-ven"))) == ["gift"]
            assert (await session.scalar(select(Product.uses).where(Product.slug == "oi-tan-yen"))) == []
            assert (await session.scalar(select(Product.uses).where(Product.slug == "nuoc-uong-long-nhan-vifoco"))) == []
    finally:
        await db.dispose()


def test_every_use_tag_has_a_name_the_bot_can_say() -> None:
    # A tag the replies cannot name would be dropped and the buyer shown the whole catalogue instead.
    from handlers.needs import NEED_NAMES

    assert set(NEED_NAMES) == set(use_codes())
