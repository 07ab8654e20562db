"""What a start costs: `ocop-bot --help` loads only the standard library, and opening an up-to-date database
does not load Alembic (its revision is checked with one SELECT against the migration files' own lines)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import cli
from catalog.db import Database, _alembic_head_revision, quick_head_revision
from catalog.rows import TABLE_ORDER

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "sqlalchemy",
    "alembic",
    "pydantic",
    "pydantic_settings",
    "telegram",
    "asyncio",
    "babel",
    "phonenumbers",
)


def loaded_after(code: str, tmp_path: Path) -> list[str]:
    """The HEAVY packages loaded in a fresh interpreter after running `code`."""
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update(PYTHONPATH=str(ROOT), OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'ocop.db'}")
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_help_loads_only_the_standard_library(tmp_path: Path) -> None:
    code = "from bot import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass"
    assert loaded_after(code, tmp_path) == []


def test_the_cli_table_names_are_the_catalogues() -> None:
    assert cli.TABLES == TABLE_ORDER


def test_the_quick_head_is_alembics_head() -> None:
    assert quick_head_revision() is not None
    assert quick_head_revision() == _alembic_head_revision("sqlite://")


@pytest.mark.parametrize(
    "second",
    [
        'revision = "b"\ndown_revision = ("a", "x")\n',  # a merge: Alembic decides
        'revision = "b"\n',  # no down_revision line
        'REVISION = make_id()\ndown_revision = "a"\n',  # written in a way the reader does not know
    ],
)
def test_the_quick_head_gives_up_when_unsure(tmp_path: Path, second: str) -> None:
    one, other = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    other.mkdir()
    (one / "a.py").write_text('revision = "a"\ndown_revision = None\n', encoding="utf-8")
    assert quick_head_revision(one) == "a"
    (other / "a.py").write_text('revision = "a"\ndown_revision = None\n', encoding="utf-8")
    (other / "b.py").write_text(second, encoding="utf-8")
    assert quick_head_revision(other) is None


def test_the_quick_head_reads_annotated_lines(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        "revision: str = 'a'\ndown_revision: str | None = None\n", encoding="utf-8"
    )
    (tmp_path / "b.py").write_text(
        'revision: str = "b"  # next\ndown_revision: str | None = "a"\n', encoding="utf-8"
    )
    assert quick_head_revision(tmp_path) == "b"


def test_an_up_to_date_database_opens_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ocop.db'}"
    first = "import asyncio\nfrom catalog.db import Database\n"
    prepare = f"db = Database({url!r})\nasyncio.run(db.prepare())\n"
    assert "alembic" in loaded_after(first + prepare, tmp_path)  # a new database is migrated by Alembic
    assert "alembic" not in loaded_after(first + prepare, tmp_path)  # then it is recognised as up to date


async def test_upgrade_still_migrates_an_older_database(tmp_path: Path) -> None:
    from alembic import command

    from catalog.db import alembic_config

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'ocop.db'}")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(_with(alembic_config(db.url), c), "0002"))
        assert await db.current_revision() == "0002"
        assert await db.upgrade() is True
        assert await db.current_revision() == quick_head_revision()
        assert await db.upgrade() is False
    finally:
        await db.dispose()


def _with(cfg, connection):  # type: ignore[no-untyped-def]
    cfg.attributes["connection"] = connection
    return cfg


def test_the_models_load_no_database_dialect_but_sqlites(tmp_path: Path) -> None:
    """A dialect's keyword on a model (an index's `postgresql_where`) makes SQLAlchemy import that dialect at import:
    ≈30 ms in every process, the SQLite ones included. The models name none (the schema comes from the migrations)."""
    code = "import sys\nimport catalog.models, bot.channels.console"
    probe = (f"{code}\nprint(json.dumps(sorted(m for m in sys.modules if m.startswith('sqlalchemy.dialects.') "
             "and m.count('.') == 2 and not m.split('.')[2].startswith('_'))))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update(PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", "import json\n" + probe], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["sqlalchemy.dialects.sqlite"]
