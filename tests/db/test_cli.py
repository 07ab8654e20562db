"""The `ocop-bot` command on a real database file: upgrade, stats, import/export, exit codes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCOP_DATABASE_URL", db_url)
    return db_url


def test_db_upgrade_then_stats_shows_seeded_catalogue(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert "database at revision" in capsys.readouterr().out
    assert main(["catalog", "stats"]) == 0
    out = capsys.readouterr().out
    assert "By product group" in out and "Lục Ngạn" in out
    assert main(["catalog", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["products"] >= 70 and stats["stores"] >= 4 and stats["contacts"] >= 5
    assert sum(stats["by_category"].values()) == stats["products"]


def test_malformed_import_exits_non_zero_lists_errors_and_changes_nothing(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["catalog", "export", str(tmp_path / "before.json")]) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("slug,name_vi,category,stars\nok-one,Tên,food,4\nbad-one,,fruit,9\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["catalog", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "nothing was changed" in err
    assert "row 3, column name_vi" in err and "row 3, column category" in err and "row 3, column stars" in err
    assert main(["catalog", "export", str(tmp_path / "after.json")]) == 0
    assert (tmp_path / "before.json").read_bytes() == (tmp_path / "after.json").read_bytes()


def test_dry_run_prints_plan_and_writes_nothing(cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "all.csv"
    assert main(["catalog", "export", str(export)]) == 0
    lines = export.read_text(encoding="utf-8-sig").splitlines()
    export.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")  # drop the last product
    capsys.readouterr()
    assert main(["catalog", "import", str(export), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Dry run" in out and "0 added, 0 changed, 1 removed" in out
    assert main(["catalog", "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["products"] == len(lines) - 1


def test_a_missing_postgresql_database_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 5432)) != 0:
            pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update({"OCOP_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432/ocop_no_such_database",
                "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    result = subprocess.run([sys.executable, "-m", "bot.cli", "search", "mật ong"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not exist" in lines[0] and "Traceback" not in result.stderr, result.stderr
