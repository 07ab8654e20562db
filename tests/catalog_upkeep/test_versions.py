"""Catalogue versions: recorded with every applied change; `catalog history`; `catalog rollback` restores exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from catalog import versions
from catalog.db import Database
from catalog.importer import FORMAT_OCOPVIETNAM, import_file
from catalog.models import CatalogVersion
from catalog.repository import catalog_version
from catalog.rollback import rollback
from catalog.rows import read_tables

GOOD = Path(__file__).parent / "ocopvietnam_good.json"


async def tables_and_version(db: Database) -> tuple[dict, int]:
    async with db.session() as session:
        return await read_tables(session), await catalog_version(session)


async def test_seed_import_and_rollback_are_versions_and_rollback_restores_exactly(db: Database) -> None:
    seeded, seeded_state = await tables_and_version(db)
    async with db.session() as session:
        (first,) = await versions.history(session)
    assert first.action == "seed" and first.state_version == seeded_state
    assert first.counts["products"]["rows"] == len(seeded["products"])

    imported = await import_file(db, GOOD, fmt=FORMAT_OCOPVIETNAM, actor="tester")
    after_import, import_state = await tables_and_version(db)
    assert after_import != seeded and import_state == seeded_state + 1

    back = await rollback(db, first.id, actor="admin")
    restored, restored_state = await tables_and_version(db)
    assert restored == seeded  # every table, every column
    assert restored_state == import_state + 1  # every process reloads its search index
    assert back.version_id is not None and back.version_id > imported.version_id

    undo = await rollback(db, imported.version_id, actor="admin")  # the rollback itself undone
    assert (await tables_and_version(db))[0] == after_import
    async with db.session() as session:
        lines = await versions.history(session)
        stored = await session.get(CatalogVersion, undo.version_id)
    assert [v.action for v in lines] == ["rollback", "rollback", "import", "seed"]
    assert [v.source for v in lines[:2]] == [f"version {imported.version_id}", f"version {first.id}"]
    assert lines[2].actor == "tester" and lines[2].counts["products"]["added"] == 2
    # The snapshot is JSON: dates (a certificate's) are kept as ISO text, as an export writes them.
    as_json = json.loads(json.dumps(list(after_import["products"].values()), default=str))
    assert versions.snapshot_tables(stored.snapshot)["products"] == as_json


async def test_rollback_to_the_current_state_changes_nothing(db: Database) -> None:
    async with db.session() as session:
        (first,) = await versions.history(session)
    before = await tables_and_version(db)
    report = await rollback(db, first.id, actor="admin")
    assert report.version_id is None and report.empty
    assert await tables_and_version(db) == before


async def test_rollback_to_an_unknown_version(db: Database) -> None:
    with pytest.raises(versions.NoSuchVersion):
        await rollback(db, 999, actor="admin")


def test_history_and_rollback_commands(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCOP_DATABASE_URL", db_url)
    assert main(["catalog", "export", "seeded.json"]) == 0
    assert main(["catalog", "import", str(GOOD), "--format", "ocopvietnam"]) == 0
    capsys.readouterr()
    assert main(["catalog", "history"]) == 0
    out = capsys.readouterr().out
    assert "      2" in out and "import" in out and "ocopvietnam_good.json" in out and "seed" in out
    assert main(["catalog", "rollback", "1"]) == 0
    assert "Restored version 1 as new version 3" in capsys.readouterr().out
    assert main(["catalog", "export", "restored.json"]) == 0
    assert (tmp_path / "restored.json").read_bytes() == (tmp_path / "seeded.json").read_bytes()
    assert main(["catalog", "rollback", "3"]) == 0
    assert "already as it was at version 3" in capsys.readouterr().out
    assert main(["catalog", "rollback", "42"]) == 1
    assert "no catalogue version 42" in capsys.readouterr().err


async def test_an_upload_older_than_a_day_is_not_applied(db: Database) -> None:
    import datetime as dt

    from catalog import catalog_diff
    from catalog.exporter import write_json
    from catalog.models import CatalogUpload

    async with db.session() as session:
        tables = await read_tables(session)
        tables["contacts"] = {k: dict(v, name_en=(v["name_en"] or "") + "!") for k, v in tables["contacts"].items()}
        data = write_json({t: list(rows.values()) for t, rows in tables.items()})
        kept = await catalog_diff.keep_upload(session, data, "all.json", actor="admin", channel="console")
        assert kept.upload_id is not None
        upload = await session.get(CatalogUpload, kept.upload_id)
        upload.created_at -= dt.timedelta(hours=25)
    before = await tables_and_version(db)
    async with db.session() as session:  # the next upload drops what an old one kept
        again = await catalog_diff.keep_upload(session, data, "all.json", actor="admin", channel="console")
        old = await session.get(CatalogUpload, kept.upload_id)
        assert old.status == "expired" and old.data == b""
        (await session.get(CatalogUpload, again.upload_id)).created_at -= dt.timedelta(hours=25)
    async with db.session() as session:
        with pytest.raises(catalog_diff.UploadRefused) as refused:
            await catalog_diff.apply_upload(session, kept.upload_id, kept.sha256, actor="admin")
        assert refused.value.reason == "done"
        with pytest.raises(catalog_diff.UploadRefused) as refused:
            await catalog_diff.apply_upload(session, again.upload_id, again.sha256, actor="admin")
        assert refused.value.reason == "expired"
    assert await tables_and_version(db) == before
