"""The search index kept on disk: loaded for the catalogue it was built from, rebuilt when stale or damaged."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import catalog.snapshot as snapshot
from bot.cli import main
from catalog.db import Database
from catalog.importer import import_file
from catalog.rows import columns_of
from catalog.search import SearchIndex, stored
from catalog.snapshot import index_key, load_catalog, load_search_index
from tests.db.test_import_export import PRODUCT, write_csv

QUERIES = ["mỳ chũ", "mat ong rung", "vải thiều Lục Ngạn 5 sao", "chocolate", "rượu và trà", "chiken roll"]


@pytest.fixture
def index_dir(search_index_dir: Path) -> Path:
    return search_index_dir


def answers(index: SearchIndex) -> list[dict[str, object]]:
    return [index.search(q, limit=5).to_json() for q in QUERIES]


def forbid_building(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> SearchIndex:
        raise AssertionError("the index was built although a good one is stored")

    monkeypatch.setattr(snapshot, "SearchIndex", refuse)


async def current_key(db: Database) -> stored.IndexKey:
    async with db.session() as session:
        key = await index_key(session)
    assert key is not None
    return key


async def test_an_index_stored_for_this_catalogue_is_loaded_instead_of_built(
    db: Database, index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.session() as session:
        built = await load_search_index(session)
    key = await current_key(db)
    path = stored.index_path(key.database)
    assert path is not None and path.parent == index_dir and path.exists()
    assert path.stat().st_mode & 0o077 == 0  # the owner's alone: a pickle runs code when loaded
    assert key.database == make_url(db.url).render_as_string(hide_password=True)  # no password in the label

    forbid_building(monkeypatch)
    async with db.session() as session:
        loaded = await load_search_index(session)
        catalog = await load_catalog(session)  # the snapshot takes the stored index too
    assert loaded is not built and answers(loaded) == answers(built) == answers(catalog.index)
    assert [d.slug for d in catalog.index.docs] == [p.slug for p in catalog.products]


async def test_another_catalogue_version_or_other_code_is_not_used(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.session() as session:
        await load_search_index(session)
    old = await current_key(db)
    path = stored.index_path(old.database)
    assert path is not None and stored.load(path, old) is not None

    await import_file(db, write_csv(tmp_path / "p.csv", [PRODUCT], columns_of("products")))
    new = await current_key(db)
    assert new.version > old.version and stored.load(path, new) is None
    async with db.session() as session:
        index = await load_search_index(session)
    assert [d.slug for d in index.docs] == ["mat-ong-thu"]
    assert index.search("mật ong thử", limit=1).results[0].doc.slug == "mat-ong-thu"
    assert stored.load(path, new) is not None  # stored again, for the new version

    monkeypatch.setattr(stored, "code_fingerprint", lambda: "another version of the program")
    assert stored.load(path, new) is None


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "empty", "not an index", "bad header"])
async def test_a_damaged_file_is_ignored_and_replaced(db: Database, damage: str) -> None:
    async with db.session() as session:
        good = answers(await load_search_index(session))
    key = await current_key(db)
    path = stored.index_path(key.database)
    assert path is not None
    data = bytearray(path.read_bytes())
    if damage == "flipped byte":
        data[-100] ^= 0xFF
    elif damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "empty":
        data = bytearray()
    elif damage == "not an index":
        data = bytearray(b"PK\x03\x04 a spreadsheet, say")
    else:
        data = bytearray(stored.MAGIC + b"{not json\n" + bytes(data[len(stored.MAGIC) :]))
    path.write_bytes(bytes(data))

    assert stored.load(path, key) is None
    async with db.session() as session:
        assert answers(await load_search_index(session)) == good  # built again
    assert stored.load(path, key) is not None  # and the file is good again


async def test_a_verified_file_holding_something_else_is_not_used(db: Database) -> None:
    async with db.session() as session:
        index = await load_search_index(session)
    key = await current_key(db)
    path = stored.index_path(key.database)
    assert path is not None
    stored.save(index, path, key)
    assert stored.load(path, key) is not None
    other = pickle.dumps((0, [])) + pickle.dumps(["not", "an", "index"])  # a well-formed file of a list
    head = {
        "format": stored.FORMAT,
        "code": stored.code_fingerprint(),
        "key": dataclasses.asdict(key),
        "length": len(other),
        "sha256": hashlib.sha256(other).hexdigest(),
    }
    path.write_bytes(stored.MAGIC + json.dumps(head).encode() + b"\n" + other)
    assert stored.load(path, key) is None


def test_where_indexes_are_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OCOP_SEARCH_INDEX_DIR")
    assert stored.index_path("sqlite+aiosqlite://") is None
    assert stored.index_path("sqlite+aiosqlite:///:memory:") is None
    assert stored.index_path(f"sqlite+aiosqlite:///{tmp_path}/ocop.db") == tmp_path / "ocop.db.search-index"
    pg = stored.index_path("postgresql+asyncpg://bot:s3cret@db.example:5432/ocop")
    assert pg is not None and pg.name.startswith("search-index-") and "s3cret" not in str(pg)
    assert pg != stored.index_path("postgresql+asyncpg://bot:s3cret@db.example:5432/other")
    monkeypatch.setenv("OCOP_SEARCH_INDEX_DIR", str(tmp_path / "x"))
    assert stored.index_path(f"sqlite+aiosqlite:///{tmp_path}/ocop.db").parent == tmp_path / "x"  # type: ignore[union-attr]


async def test_an_unwritable_place_only_means_the_index_is_not_kept(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "a file, not a folder"
    blocker.write_text("x")
    monkeypatch.setenv("OCOP_SEARCH_INDEX_DIR", str(blocker / "indexes"))
    async with db.session() as session:
        index = await load_search_index(session)
    assert index.search("mỳ chũ", limit=1).results


def test_the_import_command_builds_the_index_the_search_command_loads(
    db_url: str,
    tmp_path: Path,
    index_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCOP_DATABASE_URL", db_url)
    assert main(["db", "upgrade"]) == 0
    source = write_csv(tmp_path / "p.csv", [PRODUCT], columns_of("products"))
    assert main(["catalog", "import", str(source)]) == 0
    assert len(list(index_dir.iterdir())) == 1  # built and kept by the import

    forbid_building(monkeypatch)
    capsys.readouterr()
    assert main(["search", "mật ong thử", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [r["slug"] for r in found["results"]] == ["mat-ong-thu"]


async def test_a_product_edited_by_hand_is_not_searched_under_its_old_name(db: Database) -> None:
    """An edit made in the database without an import keeps the version: the snapshot notices anyway."""
    from sqlalchemy import update

    from catalog.models import Product

    async with db.session() as session:
        await load_catalog(session)  # stores the index
    async with db.session() as session:
        await session.execute(
            update(Product)
            .where(Product.slug == "my-gao-luc-ngan-hang-hieu")
            .values(name_vi="Mỳ gạo Chũ Xanh Lam")
        )
    async with db.session() as session:
        catalog = await load_catalog(session)
    hit = catalog.index.search("Mỳ gạo Chũ Xanh Lam", limit=1).results[0].doc
    assert hit.name_vi == "Mỳ gạo Chũ Xanh Lam"
