"""Hostile catalogue files: each problem is a row-level (or file-level) error, never a traceback, and the
database is left exactly as it was — on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.cli import main
from catalog.db import Database
from catalog.importer import ImportFailed, import_file
from catalog.rows import read_tables

ROOT = Path(__file__).resolve().parents[2]
GOOD = {"slug": "mat-ong-thu", "name_vi": "Mật ong thử", "category": "food"}


async def snapshot(db: Database) -> dict:
    async with db.session() as session:
        return await read_tables(session)


def json_file(path: Path, products: list[dict]) -> Path:
    path.write_text(json.dumps({"products": products}, ensure_ascii=False), encoding="utf-8")
    return path


async def refused(db: Database, path: Path) -> list[tuple[str, int, str, str]]:
    """Import `path`, expect a refusal that changed nothing; the errors as (table, row, column, reason)."""
    before = await snapshot(db)
    with pytest.raises(ImportFailed) as failed:
        await import_file(db, path)
    assert await snapshot(db) == before
    return [(e.table, e.row, e.column, e.reason) for e in failed.value.errors]


async def test_csv_cell_over_the_csv_field_limit(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(
        f'slug,name_vi,category\nok-one,Tên,food\nbig-one,"{"a" * 200_000}",food\n', encoding="utf-8"
    )
    errors = await refused(db, path)
    assert len(errors) == 1
    table, row, _column, reason = errors[0]
    assert (table, row) == ("products", 3) and "too long" in reason


async def test_json_nested_100000_deep(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"products": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    errors = await refused(db, path)
    assert len(errors) == 1 and errors[0][0] == "file" and "nested too deeply" in errors[0][3]


async def test_json_nested_values_deep_inside_a_cell(db: Database, tmp_path: Path) -> None:
    deep: list = []
    for _ in range(50):
        deep = [deep]
    errors = await refused(db, json_file(tmp_path / "cell.json", [dict(GOOD, aliases=deep)]))
    assert [(t, r, c) for t, r, c, _ in errors] == [("products", 1, "aliases")]


@pytest.mark.parametrize(
    ("stars", "reason"),
    [
        ("1" + "0" * 400, "between 3 and 5"),
        ("1e400", "whole number"),
        ("NaN", "whole number"),
        ("-Infinity", "whole number"),
        ("1" + "0" * 5000, "between 3 and 5"),
        ("true", "whole number"),
    ],
)
async def test_json_numbers_out_of_any_range(db: Database, tmp_path: Path, stars: str, reason: str) -> None:
    path = tmp_path / "stars.json"
    path.write_text(
        '{"products": [{"slug": "x-1", "name_vi": "X", "category": "food", "stars": ' + stars + "}]}",
        encoding="utf-8",
    )
    errors = await refused(db, path)
    assert [(t, r, c) for t, r, c, _ in errors] == [("products", 1, "stars")]
    assert reason in errors[0][3]


async def test_huge_coordinates_and_year(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "stores.json"
    path.write_text(
        '{"stores": [{"slug": "s-1", "name": "Shop", "kind": "fair", "latitude": 1' + "0" * 400 + ", "
        '"longitude": 1e999}], "products": [{"slug": "x-1", "name_vi": "X", "category": "food", "year": 1'
        + "0" * 400
        + "}]}",
        encoding="utf-8",
    )
    errors = await refused(db, path)
    assert sorted((t, c) for t, _, c, _ in errors) == [
        ("products", "year"),
        ("stores", "latitude"),
        ("stores", "longitude"),
    ]


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"name_vi": {"a": 1}}, "name_vi"),
        ({"name_vi": ["Mật", "ong"]}, "name_vi"),
        ({"producer": {"x": 1}}, "producer"),
        ({"aliases": [{"b": 2}]}, "aliases"),
        ({"aliases": {"b": 2}}, "aliases"),
        ({"slug": ["a"]}, "slug"),
        ({"category": ["food"]}, "category"),
        ({"uses": {"gift": True}}, "uses"),
        ({"sources": [["https://a.vn"]]}, "sources"),
        ({"name_en": True}, "name_en"),
        ({"stars": [4]}, "stars"),
        ({"stars": {"n": 4}}, "stars"),
    ],
)
async def test_json_objects_and_lists_where_text_is_expected(
    db: Database, tmp_path: Path, change: dict, column: str
) -> None:
    errors = await refused(
        db, json_file(tmp_path / "types.json", [dict(GOOD, slug="ok-one"), dict(GOOD, **change)])
    )
    assert [(t, r, c) for t, r, c, _ in errors] == [("products", 2, column)]


async def test_contact_flag_and_store_products_of_the_wrong_type(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps(
            {
                "contacts": [{"slug": "c-1", "name_vi": "Sở", "current": {"yes": 1}}],
                "stores": [{"slug": "s-1", "name": "Shop", "kind": "fair", "products": {"a": 1}}],
            }
        ),
        encoding="utf-8",
    )
    errors = await refused(db, path)
    assert sorted((t, c) for t, _, c, _ in errors) == [("contacts", "current"), ("stores", "products")]


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\ud800"])
async def test_control_characters_and_lone_surrogates_are_row_errors(
    db: Database, tmp_path: Path, char: str
) -> None:
    path = tmp_path / "nul.json"
    path.write_text(
        json.dumps({"products": [dict(GOOD, name_vi=f"Mật{char}ong", aliases=[f"a{char}"])]}),
        encoding="utf-8",
    )
    errors = await refused(db, path)
    assert sorted((t, r, c) for t, r, c, _ in errors) == [
        ("products", 1, "aliases"),
        ("products", 1, "name_vi"),
    ]


async def test_nul_byte_in_csv_is_a_row_error(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"slug,name_vi,category\nx-1,M\x00t,food\n")
    errors = await refused(db, path)
    assert [(t, r, c) for t, r, c, _ in errors] == [("products", 2, "name_vi")]
    assert "control character" in errors[0][3]


async def test_tabs_and_newlines_in_descriptions_are_kept(db: Database, tmp_path: Path) -> None:
    await import_file(db, json_file(tmp_path / "ok.json", [dict(GOOD, description_vi="Dòng 1\nDòng 2\tcột")]))
    assert (await snapshot(db))["products"]["mat-ong-thu"]["description_vi"] == "Dòng 1\nDòng 2\tcột"


async def test_xlsx_with_odd_cell_types(db: Database, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "products"
    sheet.append(["slug", "name_vi", "category", "stars", "year", "producer", "producer_phone", "name_en"])
    sheet.append(["ok-one", "Tên", "food", 4.0, 2024, "HTX", 912345678, 12.5])  # numbers where text is fine
    sheet.append(
        ["when", dt.datetime(2024, 1, 1), "food", True, dt.date(2024, 5, 1), None, None, dt.time(8, 30)]
    )
    sheet.append(["bad-stars", "Tên", "food", 4.5, 1e300, None, None, None])
    sheet.append(["bad-num", "Tên", "food", "=1/0", "#DIV/0!", None, None, None])
    path = tmp_path / "odd.xlsx"
    book.save(path)
    errors = await refused(db, path)
    found = sorted((r, c) for _, r, c, _ in errors)
    # "=1/0" is a formula openpyxl saved without a cached value: an empty cell to a reader
    assert found == [
        (3, "name_en"),
        (3, "name_vi"),
        (3, "stars"),
        (3, "year"),
        (4, "stars"),
        (4, "year"),
        (5, "year"),
    ]
    assert all("Traceback" not in reason for *_, reason in errors)


async def test_xlsx_numbers_in_text_columns_import_as_written(db: Database, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "products"
    sheet.append(["slug", "name_vi", "category", "stars", "year", "producer", "producer_phone"])
    sheet.append(["ok-one", 2024, "food", 4.0, 2024.0, "HTX Thử", 912345678])
    path = tmp_path / "nums.xlsx"
    book.save(path)
    await import_file(db, path)
    row = (await snapshot(db))["products"]["ok-one"]
    assert (row["name_vi"], row["stars"], row["year"], row["producer_phone"]) == (
        "2024",
        4,
        2024,
        "912345678",
    )


def test_cli_prints_row_errors_not_tracebacks(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCOP_DATABASE_URL", db_url)
    files = {
        "big.csv": f'slug,name_vi,category\nbig-one,"{"a" * 200_000}",food\n',
        "deep.json": '{"products": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "stars.json": '{"products": [{"slug": "x-1", "name_vi": "X", "category": "food", "stars": 1'
        + "0" * 400
        + "}]}",
        "dict.json": json.dumps({"products": [dict(GOOD, name_vi={"a": 1})]}),
        "nul.csv": "slug,name_vi,category\nx-1,M\x00t,food\n",
    }
    assert main(["catalog", "export", str(tmp_path / "before.json")]) == 0
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        capsys.readouterr()
        assert main(["catalog", "import", str(tmp_path / name)]) == 1, name
        err = capsys.readouterr().err
        assert "Import refused, nothing was changed" in err and "Traceback" not in err, (name, err[:500])
        assert "cannot use the database" not in err
    assert main(["catalog", "export", str(tmp_path / "after.json")]) == 0
    assert (tmp_path / "before.json").read_bytes() == (tmp_path / "after.json").read_bytes()


@pytest.mark.parametrize(
    "command",
    [
        ["--help"],
        ["catalog", "stats"],
        ["leads", "list"],
        ["search", "--batch", "queries.txt"],
        ["catalog", "stats", "--json"],
    ],
)
def test_a_closed_stdout_pipe_exits_quietly(db_url: str, tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "queries.txt").write_text("mật ong\n" * 400, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update(OCOP_DATABASE_URL=db_url, PYTHONPATH=str(ROOT))
    for reader_lines in (0, 1):  # the reader is gone before the first line, or after reading one
        with subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *command],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as process:
            assert process.stdout is not None and process.stderr is not None
            for _ in range(reader_lines):
                process.stdout.readline()
            process.stdout.close()
            err = process.stderr.read().decode()
            code = process.wait(timeout=120)
        assert code == 0 and err == "", (command, code, err[-800:])
