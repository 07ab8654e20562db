"""The terminal chat: `ocop-bot chat` scripted through a pipe, and its button numbering in process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.channels.console import ConsoleChat, banner
from bot.config import Settings
from catalog.db import Database
from handlers.context import Services
from handlers.router import Router

ROOT = Path(__file__).resolve().parents[2]


def chat(tmp_path: Path, script: str | bytes, *args: str, db_name: str = "chat.db") -> subprocess.CompletedProcess[bytes]:
    """Run `python -m bot.cli chat` with `script` on standard input, on a SQLite file in `tmp_path`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env["OCOP_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / db_name}"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    data = script.encode() if isinstance(script, str) else script
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", *args],
        input=data, capture_output=True, cwd=tmp_path, env=env, timeout=120, check=False,
    )


def test_scripted_conversation_in_vietnamese(tmp_path: Path) -> None:
    result = chat(tmp_path, "/start\nmỳ chũ\n1\n")
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err
    assert "Traceback" not in err
    assert "[1] 🔎 Tìm sản phẩm" in out and "[6] 🌐 Ngôn ngữ" in out  # the menu as numbered choices
    assert "Mình tìm thấy" in out and "Mỳ gạo Chũ Xuân Trường" in out  # the search list
    card = out.split("Bấm vào một sản phẩm")[-1]
    assert "sao OCOP" in card and "Nhà sản xuất:" in card and "Mỳ" in card  # "1" tapped the first product
    assert banner("vi") not in out and banner("en") not in out and "›" not in out.split("\n")[0]


def test_scripted_conversation_in_english_with_a_location(tmp_path: Path) -> None:
    first = chat(tmp_path, "where can I buy lychee\n", "--lang", "en").stdout.decode()
    assert "Where to buy" in first and "site%3Apostmart" not in first  # platform links: choices that count taps
    postmart = next(line for line in first.splitlines() if "Search Postmart" in line)
    number = postmart.split("[", 1)[1].split("]", 1)[0]
    result = chat(tmp_path, f"where can I buy lychee\n{number}\n21.273,106.194\n", "--lang", "en")
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "  ↗ Open postmart.vn: https://www.google.com/search?q=site%3Apostmart.vn" in out  # picked: the link
    assert "📍 Send my location — Type your location as lat,lon" in out
    assert "OCOP stores nearest to you" in out and "km" in out and "approximate" in out


def test_the_location_choice_asks_for_coordinates(tmp_path: Path) -> None:
    first = chat(tmp_path, "where can I buy lychee\n", "--lang", "en").stdout.decode()
    location_choice = next(line for line in first.splitlines() if "Send my location" in line)
    number = location_choice.split("[", 1)[1].split("]", 1)[0]
    out = chat(tmp_path, f"where can I buy lychee\n{number}\n21.37,106.57\n").stdout.decode()
    assert "Type your location as lat,lon" in out.split("Send my location")[-1]
    assert "OCOP stores nearest to you" in out


def test_state_survives_between_runs(tmp_path: Path) -> None:
    """Language and the last list are stored in the database, not in the process."""
    chat(tmp_path, "English please\nhoney\n")
    out = chat(tmp_path, "2\n").stdout.decode()
    assert "Product group: Food" in out and "honey" in out.lower()


def test_bad_bytes_and_quit(tmp_path: Path) -> None:
    result = chat(tmp_path, b"\xff\xfe m\xe1\n/quit\nmat ong\n")
    assert result.returncode == 0
    assert "Traceback" not in result.stderr.decode()
    assert "Mật ong" not in result.stdout.decode()  # nothing after /quit is read


async def test_numbers_tap_the_buttons_on_screen(db: Database, settings: Settings) -> None:
    console = ConsoleChat(Router(Services(db, settings)), chat_id="local:test")
    shown = console.render(await console.submit("/start"))
    assert "[5] 📦" in shown and len(console.choices) == 6
    browse = console.render(await console.submit("4"))  # "📚 Browse" is the fourth choice
    assert "88" in browse and any(b.payload == "b:c:food:0" for b in console.choices)
    food = next(i for i, b in enumerate(console.choices, 1) if b.payload == "b:c:food:0")
    page = console.render(await console.submit(str(food)))
    assert "(trang 1/8)" in page
    # A number beyond the choices on screen is ordinary text: a pick from the list, by its position.
    assert "chỉ có" in console.render(await console.submit("99"))
    # A superscript two passes str.isdigit() but is no number: ordinary text, not a crash.
    assert console.render(await console.submit("²"))


async def test_a_product_photo_is_named_by_its_path_or_address(db: Database, settings: Settings) -> None:
    import sqlalchemy as sa

    from catalog.models import CatalogState, Product

    async with db.session() as session:
        await session.execute(sa.update(Product).where(Product.slug == "dua-kim-hoang-hau")
                              .values(image="https://ocop.example.org/anh/dua-kim.jpg"))
        await session.execute(sa.update(CatalogState).values(version=CatalogState.version + 1))
    console = ConsoleChat(Router(Services(db, settings)), chat_id="local:photo")
    shown = console.render(await console.submit("dưa kim hoàng hậu"))
    assert shown.startswith("🖼 https://ocop.example.org/anh/dua-kim.jpg\nDưa kim Hoàng Hậu")
    assert "🖼" not in console.render(await console.submit("sâm nam núi dành khô"))
