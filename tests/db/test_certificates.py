"""Certificates in the catalogue: import and export in every format, row errors, the migration that brings the
demo's new facts to a seeded database, the honest count, and every decision traceable to the facts file."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy import select

from catalog.certificates import CertificateStatus, certificate_of, today_in_vietnam
from catalog.db import Database
from catalog.exporter import export_catalog
from catalog.importer import ImportFailed, demo_catalog_bytes, import_file
from catalog.models import CatalogState, Product
from catalog.snapshot import load_catalog
from handlers.browse import certificate_breakdown
from handlers.cards import certificate_line, status_mark
from locales import translator
from tests.db.test_import_export import PRODUCT, snapshot, write_csv
from tests.db.test_product_uses import _migrate, _product_columns

ROOT = Path(__file__).resolve().parents[2]
FACTS = ROOT.parent / "shared" / "data" / "bacgiang_ocop_facts.md"  # the project's facts file, beside the checkout
EXCERPT = ROOT / "tests" / "data" / "facts_certificates.md"  # its lines the certificates rest on
CERTIFIED = dict(PRODUCT, certificate_no="1387/QĐ-UBND", certified_on="2021-12-09", certificate_level="Province",
                 season_vi="tháng 6–7", season_en="June–July", image="https://example.org/anh/mat-ong.jpg")


# --- import and export


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".json"])
async def test_certificate_season_and_image_round_trip(db: Database, tmp_path: Path, suffix: str) -> None:
    await import_file(db, write_csv(tmp_path / "in.csv", [CERTIFIED]))
    row = (await snapshot(db))["products"]["mat-ong-thu"]
    assert row["certificate_no"] == "1387/QĐ-UBND"
    assert row["certified_on"] == dt.date(2021, 12, 9)
    assert row["certificate_level"] == "province"  # lower-cased like other choices
    assert row["certificate_expires_on"] is None
    assert (row["season_vi"], row["season_en"]) == ("tháng 6–7", "June–July")
    assert row["image"] == "https://example.org/anh/mat-ong.jpg"

    out = tmp_path / f"out{suffix}"
    await export_catalog(db, out)
    if suffix == ".xlsx":  # a real date cell, not text
        sheet = load_workbook(out)["products"]
        header = [c.value for c in sheet[1]]
        cell = sheet.cell(row=2, column=header.index("certified_on") + 1)
        assert cell.is_date and cell.value.date() == dt.date(2021, 12, 9)
    elif suffix == ".json":
        exported = json.loads(out.read_text(encoding="utf-8"))["products"]
        assert exported[0]["certified_on"] == "2021-12-09" and exported[0]["certificate_expires_on"] is None
    else:
        assert "2021-12-09" in out.read_text(encoding="utf-8-sig")
    before = await snapshot(db)
    report = await import_file(db, out)
    assert all(ch.empty for ch in report.tables.values())  # the export reads back as the same catalogue
    assert await snapshot(db) == before


async def test_a_stated_expiry_and_vietnamese_dates_are_read(db: Database, tmp_path: Path) -> None:
    row = dict(CERTIFIED, certified_on="09/12/2021", certificate_expires_on="2025-06-30")
    await import_file(db, write_csv(tmp_path / "in.csv", [row]))  # header from the row itself
    async with db.session() as session:
        product = await session.scalar(select(Product).where(Product.slug == "mat-ong-thu"))
    assert product is not None
    cert = certificate_of(product)
    assert cert.certified_on == dt.date(2021, 12, 9) and cert.expires_on == dt.date(2025, 6, 30)


@pytest.mark.parametrize(("cells", "column", "reason"), [
    ({"certified_on": "2999-01-01"}, "certified_on", "in the future"),
    ({"certificate_expires_on": "2021-12-09"}, "certificate_expires_on", "not after the decision date"),
    ({"certificate_expires_on": "2020-01-01"}, "certificate_expires_on", "not after the decision date"),
    ({"certified_on": "2021-02-30"}, "certified_on", "no such date"),
    ({"certified_on": "9 Dec 2021"}, "certified_on", "not a date"),
    ({"certified_on": "1985-01-01"}, "certified_on", "before the OCOP programme"),
    ({"certificate_level": "commune"}, "certificate_level", "unknown value"),
    ({"image": "javascript:alert(1)"}, "image", "not a web address"),
    ({"image": "file:///etc/passwd"}, "image", "not a web address"),
])
async def test_bad_certificate_cells_are_row_errors_and_nothing_changes(
        db: Database, tmp_path: Path, cells: dict[str, str], column: str, reason: str) -> None:
    before = await snapshot(db)
    good = dict(CERTIFIED, slug="mat-ong-tot")
    with pytest.raises(ImportFailed) as failed:
        bad = dict(CERTIFIED, **cells)
        await import_file(db, write_csv(tmp_path / "in.csv", [good, bad], list(bad)))
    assert [(e.table, e.row, e.column) for e in failed.value.errors] == [("products", 3, column)]
    assert reason in failed.value.errors[0].reason
    assert await snapshot(db) == before


async def test_a_file_path_is_a_valid_image(db: Database, tmp_path: Path) -> None:
    for image in ("photos/mat-ong.jpg", "/srv/ocop/anh/mật ong.png", r"C:\anh\mat-ong.jpg"):
        await import_file(db, write_csv(tmp_path / "in.csv", [dict(CERTIFIED, image=image)]))
        assert (await snapshot(db))["products"]["mat-ong-thu"]["image"] == image


# --- the demo and the facts file


def facts_text() -> str:
    return EXCERPT.read_text(encoding="utf-8")


def test_the_excerpt_is_still_in_the_facts_file() -> None:
    if not FACTS.exists():
        pytest.skip(f"the facts file is not beside this checkout ({FACTS})")
    facts = FACTS.read_text(encoding="utf-8").splitlines()
    lines = [line for line in EXCERPT.read_text(encoding="utf-8").splitlines() if not line.startswith("# ")]
    assert lines and all(line in facts for line in lines)


def test_every_decision_in_the_demo_is_in_the_facts_file_with_its_date() -> None:
    facts = facts_text()
    products = json.loads(demo_catalog_bytes())["products"]
    certified = [p for p in products if p["certificate_no"]]
    assert {p["slug"] for p in certified} == {"sam-nam-nui-danh-kho", "dua-kim-hoang-hau"}
    for product in certified:
        number = product["certificate_no"]
        assert number in facts, f"{product['slug']}: {number} is not in the facts file"
        day = dt.date.fromisoformat(product["certified_on"])
        # the facts file writes the decision as "1387/QĐ-UBND of 09/12/2021"
        assert re.search(re.escape(number) + r" of 0?" + str(day.day) + "/" + f"{day.month:02d}" + f"/{day.year}",
                         facts), f"{number}'s date {day} is not the facts file's"
        assert product["certificate_level"] == "province"
        # the product's own source is the page the facts file cites for that decision (C8 = S2)
        assert "http://lmhtx.bacgiang.gov.vn/node/2620" in product["sources"]
        assert "lmhtx.bacgiang.gov.vn/node/2620" in facts
    # nothing else was given a decision, a season or a photo: no source gives one
    assert all(not p[c] for p in products for c in ("certified_on", "certificate_expires_on", "certificate_level",
                                                    "season_vi", "season_en", "image") if not p["certificate_no"])
    ban_ven = next(p for p in products if p["slug"] == "che-xanh-ban-ven")
    assert ban_ven["stars"] == 3  # S13; the 2024 "4★-level score" is not a 4★ decision


async def test_the_demo_reads_honestly_today(db: Database) -> None:
    async with db.session() as session:
        catalog = await load_catalog(session)
    today = today_in_vietnam()
    states = {p.slug: certificate_of(p).status(today) for p in catalog.products}
    assert today > dt.date(2024, 12, 9)  # the demo's two decisions expired then
    assert {s for s, st in states.items() if st is CertificateStatus.EXPIRED} == {"sam-nam-nui-danh-kho",
                                                                                 "dua-kim-hoang-hau"}
    # sold at OCOP points only, and Bắc Giang city's 2023 round without a decision: not confirmed
    for slug in ("banh-chung-van", "tram-den-hiep-hoa", "ngo-ngot-nguyen-hat-vifoco", "banh-khao-tien-loi"):
        assert states[slug] is CertificateStatus.UNCONFIRMED
    vi, en = translator("vi"), translator("en")
    melon = catalog.product("dua-kim-hoang-hau")
    assert melon is not None
    assert certificate_line(vi, melon) == "📜 OCOP 4★ · QĐ 1387/QĐ-UBND (cấp tỉnh) 09/12/2021 · hết hạn 12/2024"
    assert certificate_line(en, melon) == (
        "📜 OCOP 4★ · Decision 1387/QĐ-UBND (provincial level) 9 Dec 2021 · expired Dec 2024")
    assert status_mark(vi, melon) == "giấy chứng nhận hết hạn"


# --- the honest count, with certificates in every state


async def test_the_count_names_valid_expiring_expired_and_unconfirmed(db: Database, tmp_path: Path) -> None:
    today = today_in_vietnam()
    rows = [
        dict(PRODUCT, slug="hop-le", certificate_no="1/QĐ-UBND", certified_on=str(today - dt.timedelta(days=400))),
        dict(PRODUCT, slug="hop-le-2", certificate_no="2/QĐ-UBND", certified_on=str(today)),
        dict(PRODUCT, slug="sap-het", certificate_no="3/QĐ-UBND", certified_on="2020-01-01",
             certificate_expires_on=str(today + dt.timedelta(days=90))),
        dict(PRODUCT, slug="het-han", certificate_no="4/QĐ-UBND", certified_on="2021-12-09"),
        dict(PRODUCT, slug="chua-xac-nhan"),
        dict(PRODUCT, slug="chi-co-ngay", certified_on="2024-01-02"),  # a date without a number
    ]
    header = list(dict.fromkeys(k for row in rows for k in row))
    await import_file(db, write_csv(tmp_path / "products.csv", rows, header))
    async with db.session() as session:
        products = (await load_catalog(session)).products
    assert len(products) == 6
    assert certificate_breakdown(translator("vi"), products) == (
        ", trong đó: 2 sản phẩm có quyết định công nhận OCOP còn hiệu lực; "
        "1 sản phẩm có giấy chứng nhận sắp hết hạn (trong 90 ngày); "
        "1 sản phẩm có giấy chứng nhận đã hết hạn (vẫn hiển thị, có ghi rõ); "
        "2 sản phẩm chưa xác nhận: chưa có quyết định công nhận, chỉ có thông tin từ báo chí.")
    assert certificate_breakdown(translator("en"), products).startswith(
        ", of which: 2 with a valid OCOP recognition decision on record; 1 whose certificate expires within 90 days")
    by_slug = {p.slug: p for p in products}
    en = translator("en")
    assert certificate_line(en, by_slug["sap-het"]).endswith(
        f"expires on {(today + dt.timedelta(days=90)).strftime('%-d %b %Y')} (90 days left)")
    assert "valid until" in certificate_line(en, by_slug["hop-le-2"])
    assert status_mark(en, by_slug["hop-le"]) == "" and status_mark(en, by_slug["sap-het"]) == "certificate expiring"


# --- the migration


async def test_migration_brings_the_demo_facts_and_keeps_staff_edits(db_url: str) -> None:
    db = Database(db_url)
    try:
        await _migrate(db, "upgrade", "0005_desk")
        assert "certificate_no" not in await _product_columns(db)
        old = sa.table("products", *(sa.column(c) for c in ("slug", "name_vi", "name_en", "category", "stars",
                                                             "year", "commune", "district", "province",
                                                             "description_vi", "description_en")),
                       sa.column("aliases", sa.JSON), sa.column("sources", sa.JSON), sa.column("uses", sa.JSON),
                       sa.column("updated_at", sa.DateTime))
        blank = dict(name_en="", commune="", district="", province="", aliases=[], sources=[], uses=[],
                     updated_at=dt.datetime(2026, 1, 1), description_en="")
        earlier_ban_ven = ("Chè xanh của HTX Thân Trường, bản Ven, xã Xuân Lương. Một nguồn ghi OCOP 3 sao; năm "
                           "2024 sản phẩm đạt điểm mức 4 sao tại Hội đồng OCOP tỉnh và được báo chí gọi là “OCOP "
                           "4 sao”.")
        async with db.engine.begin() as conn:
            await conn.execute(sa.insert(old), [
                # seeded from the earlier demo, untouched since
                dict(blank, slug="che-xanh-ban-ven", name_vi="Chè xanh Bản Ven", category="food", stars=4,
                     year=2024, description_vi=earlier_ban_ven),
                # seeded from the earlier demo, its description since rewritten by staff
                dict(blank, slug="sam-nam-nui-danh-kho", name_vi="Sâm nam núi Dành khô", category="herbal", stars=4,
                     year=2021, description_vi="Mô tả do phòng nghiệp vụ viết lại."),
                dict(blank, slug="my-gao-ngu-sac-hang-hieu", name_vi="Mỳ gạo ngũ sắc Hằng Hiếu", category="food",
                     stars=4, year=2024, description_vi="Mỳ gạo ngũ sắc của HTX Dịch vụ nông nghiệp Hằng Hiếu (TT "
                     "Chũ), đạt điểm mức 4 sao tại Hội đồng đánh giá OCOP tỉnh năm 2024."),
                # a department's product that only shares a slug with the demo
                dict(blank, slug="dua-kim-hoang-hau", name_vi="Dưa kim của HTX khác", category="food", stars=3,
                     year=2023, description_vi="Khác."),
            ])

        assert await db.upgrade()
        assert await db.current_revision() == db.head_revision()
        async with db.session() as session:
            rows = {p.slug: p for p in await session.scalars(select(Product))}
        ban_ven, ginseng, melon = rows["che-xanh-ban-ven"], rows["sam-nam-nui-danh-kho"], rows["dua-kim-hoang-hau"]
        assert (ban_ven.stars, ban_ven.year) == (3, None)
        assert "chưa thấy quyết định công nhận 4 sao" in ban_ven.description_vi
        assert ban_ven.certificate_no == "" and ban_ven.certified_on is None
        noodles = rows["my-gao-ngu-sac-hang-hieu"]  # a 4★-level score, no 4★ decision (S5)
        assert (noodles.stars, noodles.year) == (None, None)
        assert "chưa thấy quyết định công nhận hạng sao" in noodles.description_vi
        assert (ginseng.certificate_no, ginseng.certified_on, ginseng.certificate_level) == (
            "1387/QĐ-UBND", dt.date(2021, 12, 9), "province")
        assert ginseng.description_vi == "Mô tả do phòng nghiệp vụ viết lại."  # staff's edit kept
        assert (melon.certificate_no, melon.certified_on, melon.stars) == ("", None, 3)  # not the demo's product
        assert melon.description_vi == "Khác."

        await _migrate(db, "downgrade", "0005_desk")
        assert "certificate_no" not in await _product_columns(db)
        await _migrate(db, "upgrade", "head")
        assert {"certificate_no", "certified_on", "certificate_level", "certificate_expires_on", "season_vi",
                "season_en", "image"} <= await _product_columns(db)
    finally:
        await db.dispose()


async def test_a_new_process_sees_the_certificate_after_an_import(db: Database, tmp_path: Path) -> None:
    await import_file(db, write_csv(tmp_path / "in.csv", [CERTIFIED]))
    async with db.session() as session:
        version = await session.scalar(select(CatalogState.version))
        product = (await load_catalog(session)).product("mat-ong-thu")
    assert version and product is not None and product.certificate_no == "1387/QĐ-UBND"


async def test_a_card_shows_the_season_in_the_readers_language(db: Database, tmp_path: Path) -> None:
    from handlers.cards import product_card

    await import_file(db, write_csv(tmp_path / "in.csv", [CERTIFIED]))
    async with db.session() as session:
        product = (await load_catalog(session)).product("mat-ong-thu")
    assert product is not None
    assert "🗓 Mùa vụ: tháng 6–7" in product_card(translator("vi"), product, [], [])
    assert "🗓 In season: June–July" in product_card(translator("en"), product, [], [])
