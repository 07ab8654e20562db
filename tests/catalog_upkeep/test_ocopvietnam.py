"""`ocop-bot catalog import FILE --format ocopvietnam`: the national OCOP system's JSON, mapped to our products."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from catalog import ocopvietnam
from catalog.db import Database
from catalog.importer import FORMAT_OCOPVIETNAM, ImportFailed, import_file
from catalog.rows import columns_of, read_tables

HERE = Path(__file__).parent
GOOD = HERE / "ocopvietnam_good.json"
BAD = HERE / "ocopvietnam_bad.json"
CONTRACT_KEYS = {"certificate_no", "certified_on", "certificate_level", "certificate_expires_on",
                 "season_vi", "season_en", "image"}


async def test_good_file_replaces_the_products_with_mapped_rows(db: Database) -> None:
    report = await import_file(db, GOOD, fmt=FORMAT_OCOPVIETNAM, actor="tester")
    async with db.session() as session:
        tables = await read_tables(session)
    products = tables["products"]
    assert sorted(products) == [
        "banh-khao-moc-son", "banh-khao-moc-son-2", "cao-ngua-bach-phong-van", "mat-ong-hoa-vai-hang-hieu",
        "my-gao-luc-ngan",
    ]
    noodles = products["my-gao-luc-ngan"]
    assert noodles["name_vi"] == "Mỳ gạo Lục Ngạn"
    assert noodles["category"] == "food" and noodles["stars"] == 4 and noodles["year"] == 2021
    assert noodles["producer"] == "HTX Dịch vụ nông nghiệp Hằng Hiếu"
    assert noodles["producer_address"] == "TT Chũ, Lục Ngạn, Bắc Giang"
    assert noodles["producer_phone"] == "" and noodles["producer_email"] == ""
    assert (noodles["commune"], noodles["district"], noodles["province"]) == ("TT Chũ", "Lục Ngạn", "Bắc Giang")
    assert products["cao-ngua-bach-phong-van"]["category"] == "herbal"  # "herbs"
    assert products["mat-ong-hoa-vai-hang-hieu"]["stars"] == 3  # "3" as text is accepted
    assert report.version_id is not None
    assert report.tables["products"].added == ["my-gao-luc-ngan", "banh-khao-moc-son-2"]  # the others were in the demo


@pytest.mark.parametrize("wrapper", ["list", "data", "items", "products", "data.items"])
def test_the_wrapper_is_tolerated(wrapper: str) -> None:
    records = json.loads(GOOD.read_text(encoding="utf-8"))["data"]
    doc: object = records
    for key in reversed(wrapper.split(".")) if wrapper != "list" else []:
        doc = {key: doc, "page": 1}
    rows, problems = ocopvietnam.read_ocopvietnam(json.dumps(doc).encode())
    assert problems == []
    assert [n for n, _ in rows] == [1, 2, 3, 4, 5]


def test_the_mapping_of_one_record() -> None:
    row, problems = ocopvietnam.map_product({
        "name": "Mỳ gạo Lục Ngạn", "type": "keepsake", "ocop_star": 4, "ocop_certificate_number": "1387/QĐ-UBND",
        "issued_on": "09/12/2021", "expiry_date": "2024-12-09T00:00:00+07:00", "certificate_level": "Tỉnh",
        "production_image1": "", "production_image2": "https://ocopbacgiang.vn/a.jpg",
        "manufacturer": {"name": "HTX Dịch vụ nông nghiệp Hằng Hiếu", "representative": "x", "address": "TT Chũ"},
    })
    assert problems == []
    assert row["category"] == "handicraft"
    assert row["certified_on"] == "2021-12-09" and row["year"] == 2021
    assert row["certificate_expires_on"] == "2024-12-09"
    assert row["certificate_no"] == "1387/QĐ-UBND" and row["certificate_level"] == "province"
    assert row["image"] == "https://ocopbacgiang.vn/a.jpg"
    assert row["producer"] == "HTX Dịch vụ nông nghiệp Hằng Hiếu" and row["producer_address"] == "TT Chũ"
    assert {ocopvietnam.TYPE_TO_CATEGORY[t] for t in ("food", "drink", "herbs", "cloth", "keepsake", "travel")} == {
        "food", "beverage", "herbal", "textile", "handicraft", "tourism"}


def test_slugs_are_deterministic_and_duplicates_disambiguated() -> None:
    same = {"type": "food", "manufacturer": {"name": "HTX Một"}}
    rows, _ = ocopvietnam.read_ocopvietnam(json.dumps([
        {"name": "Mật ong rừng", **same},
        {"name": "Mật ong rừng", "type": "food", "manufacturer": {"name": "HTX Hai"}},
        {"name": "Mật ong rừng", **same},
        {"name": "Đậu phụ Đông Hưng", **same},
    ]).encode())
    assert [r["slug"] for _, r in rows] == [
        "mat-ong-rung-htx-mot", "mat-ong-rung-htx-hai", "mat-ong-rung-htx-mot-2", "dau-phu-dong-hung"]
    again, _ = ocopvietnam.read_ocopvietnam(json.dumps([{"name": "Mật ong rừng", **same}] * 2).encode())
    assert [r["slug"] for _, r in again] == ["mat-ong-rung", "mat-ong-rung-2"]


def test_which_mapped_keys_the_layout_carries() -> None:
    """Mapped keys the product layout does not know are dropped in one place (`ocopvietnam.carried`); every
    other mapped key is carried."""
    kept, dropped = ocopvietnam.carried_keys()
    assert set(dropped) <= CONTRACT_KEYS
    assert set(kept) == set(ocopvietnam.MAPPED_KEYS) - set(dropped)
    assert set(kept) - CONTRACT_KEYS == set(ocopvietnam.MAPPED_KEYS) - CONTRACT_KEYS
    row = ocopvietnam.carried({"slug": "a", "certificate_no": "1387/QĐ-UBND", "image": "x"})
    assert row == {"slug": "a", **{k: v for k, v in (("certificate_no", "1387/QĐ-UBND"), ("image", "x"))
                                   if k in columns_of("products")}}


def test_every_mapped_key_is_carried() -> None:
    # The certificate, season and photo columns exist: the national format's fields all reach the catalogue.
    _, dropped = ocopvietnam.carried_keys()
    assert dropped == []


async def test_bad_file_is_refused_whole_with_row_errors(db: Database) -> None:
    async with db.session() as session:
        before = await read_tables(session)
    with pytest.raises(ImportFailed) as refused:
        await import_file(db, BAD, fmt=FORMAT_OCOPVIETNAM)
    found = {(e.row, e.column) for e in refused.value.errors}
    assert {
        (2, "type"),  # toys
        (3, "issued_on"),  # 31/02
        (3, "ocop_star"),  # 7 stars: the catalogue's own check, named by the national field
        (4, "colour"),  # unknown field
        (4, "name"),  # empty name
        (5, "manufacturer"),  # not an object
        (5, "expiry_date"),  # before issue
        (6, "manufacturer.email"),  # the catalogue's e-mail check
    } <= found
    assert all(e.row != 1 for e in refused.value.errors)  # the good row has none
    async with db.session() as session:
        assert await read_tables(session) == before


@pytest.mark.parametrize("content, reason", [
    (b"{\"stores\": []}", "expected a list of products"),
    (b"[]", "no products"),
    (b"[1", "not valid JSON"),
    (b"\xff\xfe", "not UTF-8"),
])
async def test_unreadable_files_are_refused(db: Database, tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "national.json"
    path.write_bytes(content)
    with pytest.raises(ImportFailed) as refused:
        await import_file(db, path, fmt=FORMAT_OCOPVIETNAM)
    assert reason in str(refused.value.errors[0])


def test_cli_format_flag(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCOP_DATABASE_URL", db_url)
    assert main(["catalog", "import", str(BAD), "--format", "ocopvietnam"]) == 1
    err = capsys.readouterr().err
    assert "Import refused, nothing was changed" in err and "products row 2, column type: unknown type 'toys'" in err
    assert main(["catalog", "import", str(GOOD), "--format", "ocopvietnam", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "products: 2 added, 1 changed, 85 removed" in out and "producer_address: — → TT Chũ, Lục Ngạn, Bắc Giang" in out  # old → new
    assert main(["catalog", "import", str(GOOD), "--format", "ocopvietnam"]) == 0
    out = capsys.readouterr().out
    assert "Imported:" in out and "Recorded as catalogue version" in out
    assert main(["catalog", "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["products"] == 5
