"""Translations: every message translated in vi and en, no fuzzy entries, same placeholders; Babel formatting."""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.pofile import read_po, write_po

from locales import Translator, translator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def i18n() -> ModuleType:
    """scripts/i18n.py, loaded from the repository (it is a developer tool, not part of the package)."""
    spec = importlib.util.spec_from_file_location("ocop_i18n_tool", ROOT / "scripts" / "i18n.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_message_is_translated_without_fuzzy_or_placeholder_problems(i18n: ModuleType) -> None:
    problems = i18n.problems()
    assert problems == [], "\n".join(problems)


def test_the_check_catches_missing_fuzzy_and_placeholder_problems(
    i18n: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Break a copy of the vi catalogue three ways; the check must report each one."""
    shutil.copytree(ROOT / "locales", tmp_path / "locales", ignore=shutil.ignore_patterns(".lock", "__pycache__"))
    monkeypatch.setattr(i18n, "LOCALES", tmp_path / "locales")
    po = tmp_path / "locales" / "vi" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale="vi")
    catalog["Hello {name}!"].string = "Xin chào {ten}!"  # placeholder renamed
    catalog["Choose your language:"].flags.add("fuzzy")
    catalog.delete("What would you like to do?")
    with po.open("wb") as fh:
        write_po(fh, catalog)
    found = "\n".join(i18n.problems())
    assert "placeholders differ in 'Hello {name}!'" in found
    assert "fuzzy 'Choose your language:'" in found
    assert "missing 'What would you like to do?'" in found


def test_both_catalogues_answer_in_their_language() -> None:
    assert Translator("vi")._("What would you like to do?") == "Bạn muốn làm gì?"
    assert Translator("en")._("What would you like to do?") == "What would you like to do?"
    assert translator("vi")._("Hello {name}!", name="Lan") == "Xin chào Lan!"


def test_numbers_are_formatted_per_locale() -> None:
    assert Translator("en").number(1234567.5) == "1,234,567.5"
    assert Translator("vi").number(1234567.5) == "1.234.567,5"
    assert Translator("vi").number(12.345, digits=1) == "12,3"
    assert Translator("en").number(12.345, digits=1) == "12.3"


def test_plurals_follow_the_locale() -> None:
    en, vi = Translator("en"), Translator("vi")
    assert en.n_("{n} product", "{n} products", 1) == "1 product"
    assert en.n_("{n} product", "{n} products", 1234) == "1,234 products"
    assert vi.n_("{n} product", "{n} products", 1234) == "1.234 sản phẩm"


def test_dates_are_formatted_per_locale() -> None:
    moment = dt.datetime(2025, 7, 1, 2, 30, tzinfo=dt.UTC)  # 09:30 in Hà Nội
    en, vi = Translator("en").datetime(moment), Translator("vi").datetime(moment)
    assert "7/1/25" in en and "9:30" in en and "AM" in en  # month first, 12-hour clock
    assert "1/7/25" in vi and "09:30" in vi  # day first, 24-hour clock
