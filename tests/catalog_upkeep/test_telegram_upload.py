"""A catalogue file sent in the staff Telegram chat, through the real PTB application and the fake Bot API:
the dry-run diff, Apply (admins only), Undo, a stale diff and a bad file refused, in both staff languages."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from bot.app import RunningBot, running_bot
from bot.config import Settings
from catalog import staff_accounts
from catalog.db import Database
from catalog.exporter import write_csv
from catalog.importer import import_raw
from catalog.repository import catalog_version
from catalog.rows import read_tables
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "171717:OCOP-UPLOAD-TOKEN"
WAIT = 15.0
STAFF_CHAT = -1000
ADMIN, CLERK = 9001, 9002  # both on OCOP_STAFF_USER_IDS; only the first one's account is an admin's
WORDS = {
    "en": {"dry": "Dry run of catalogue.csv", "applied": "This is catalogue version", "stale": "changed since",
           "errors": "Nothing was changed: ", "restored": "Restored version", "not_admin": "Only an administrator"},
    "vi": {"dry": "Chạy thử tệp catalogue.csv", "applied": "phiên bản danh mục số", "stale": "đã thay đổi kể từ",
           "errors": "Chưa thay đổi gì: ", "restored": "Đã khôi phục phiên bản",
           "not_admin": "Chỉ quản trị viên"},
}


@pytest.fixture(params=["vi", "en"])
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def bot(settings: Settings, api: FakeTelegramAPI, db: Database, lang: str) -> AsyncIterator[RunningBot]:
    async with db.session() as session:
        await staff_accounts.add_account(session, "mai", "a long enough password 1", admin=True, telegram_id=ADMIN)
        await staff_accounts.add_account(session, "nam", "a long enough password 2", telegram_id=CLERK)
    tg = settings.model_copy(update={"telegram_token": SecretStr(TOKEN), "telegram_base_url": api.base_url,
                                     "staff_language": lang})
    async with running_bot(tg, channel="telegram", db=db) as running:
        yield running


async def catalogue(db: Database) -> tuple[dict[str, Any], int]:
    async with db.session() as session:
        return await read_tables(session), await catalog_version(session)


async def edited_products_csv(db: Database) -> bytes:
    """The catalogue's products as CSV with one product's stars changed and one product removed."""
    tables, _ = await catalogue(db)
    rows = list(tables["products"].values())
    rows[0] = dict(rows[0], stars=5 if rows[0]["stars"] != 5 else 4)
    return write_csv(rows[:-1], "products")


def callback_data(message: dict[str, Any]) -> list[str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


async def send_file(api: FakeTelegramAPI, content: bytes, *, user: int = ADMIN, name: str = "catalogue.csv") -> dict:
    before = len(api.bot_messages(STAFF_CHAT))
    api.push_document(STAFF_CHAT, name, content, mime_type="text/csv", user_id=user)
    await api.wait_for(lambda: len(api.bot_messages(STAFF_CHAT)) > before, WAIT, message="the bot's answer")
    return api.bot_messages(STAFF_CHAT)[-1]


async def tap(api: FakeTelegramAPI, message: dict, data: str, *, user: int = ADMIN) -> dict[str, Any]:
    update = api.push_callback(STAFF_CHAT, message["message_id"], data, user_id=user)
    return await api.wait_for(lambda: api.callback_answer(update), WAIT, message="the tap answered")


async def test_upload_diff_apply_undo(bot: RunningBot, api: FakeTelegramAPI, db: Database, lang: str) -> None:
    words = WORDS[lang]
    before, before_state = await catalogue(db)
    first = next(iter(before["products"].values()))
    last = list(before["products"].values())[-1]

    diff = await send_file(api, await edited_products_csv(db))
    assert words["dry"] in diff["text"]
    assert f"stars: {first['stars'] or '—'} → " in diff["text"] and last["name_vi"] in diff["text"]
    apply, cancel = callback_data(diff)
    assert apply.startswith("cu:apply:") and cancel.startswith("cu:cancel:")
    assert (await catalogue(db)) == (before, before_state), "a dry run changes nothing"

    refused = await tap(api, diff, apply, user=CLERK)  # staff, but not an admin
    assert "administrator" in refused.get("text", "") or "quản trị viên" in refused.get("text", "")
    assert (await catalogue(db)) == (before, before_state)

    await tap(api, diff, apply)
    await api.wait_for(lambda: words["applied"] in api.message(STAFF_CHAT, diff["message_id"])["text"], WAIT)
    after, after_state = await catalogue(db)
    assert after_state == before_state + 1, "every process reloads its search index"
    assert last["slug"] not in after["products"] and after["products"][first["slug"]]["stars"] != first["stars"]

    again = await tap(api, diff, apply)  # a second tap on the same diff applies nothing
    assert again is not None and (await catalogue(db))[1] == after_state

    applied = api.message(STAFF_CHAT, diff["message_id"])
    (undo,) = callback_data(applied)
    assert undo.startswith("cu:undo:")
    await tap(api, applied, undo)
    await api.wait_for(lambda: words["restored"] in api.message(STAFF_CHAT, diff["message_id"])["text"], WAIT)
    restored, restored_state = await catalogue(db)
    assert restored == before and restored_state == after_state + 1


async def test_a_stale_diff_is_refused(bot: RunningBot, api: FakeTelegramAPI, db: Database, lang: str) -> None:
    diff = await send_file(api, await edited_products_csv(db))
    apply, _ = callback_data(diff)
    # Meanwhile someone else changes the catalogue (a contact's name, through the command-line importer).
    tables, _ = await catalogue(db)
    contacts = list(tables["contacts"].values())
    contacts[0] = dict(contacts[0], name_en=(contacts[0]["name_en"] or "") + " (renamed)")
    await import_raw(db, {"contacts": list(enumerate(contacts, start=1))}, actor="someone else")
    between = await catalogue(db)

    answer = await tap(api, diff, apply)
    assert WORDS[lang]["stale"] in answer.get("text", "")
    assert await catalogue(db) == between, "nothing applied"


async def test_a_bad_file_is_answered_with_row_errors(bot: RunningBot, api: FakeTelegramAPI, db: Database,
                                                      lang: str) -> None:
    before = await catalogue(db)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["slug", "name_vi", "category", "stars"])
    writer.writerow(["mat-ong-thu", "Mật ong <b>thử</b>", "food", "9"])
    writer.writerow(["Bad Slug", "", "toys", ""])
    answer = await send_file(api, buffer.getvalue().encode())
    text = answer["text"]
    assert WORDS[lang]["errors"] in text
    assert "stars" in text and "must be between 3 and 5" in text and "unknown value 'toys'" in text
    assert callback_data(answer) == []
    assert await catalogue(db) == before


async def test_non_admins_and_outsiders_cannot_upload(bot: RunningBot, api: FakeTelegramAPI, db: Database,
                                                      lang: str) -> None:
    before = await catalogue(db)
    content = await edited_products_csv(db)
    answer = await send_file(api, content, user=CLERK)
    assert WORDS[lang]["not_admin"] in answer["text"] and callback_data(answer) == []
    # A buyer who sends a file in a private chat is told what the bot reads.
    api.push_document(5005, "catalogue.csv", content, user_id=5005, language_code="en")
    await api.wait_for_messages(5005, 1, timeout=WAIT)
    assert "I can read text messages" in api.bot_messages(5005)[-1]["text"]
    assert api.calls("getFile") == []  # no file was even downloaded
    assert await catalogue(db) == before


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_long_diff_is_cut_politely_and_escaped(lang: str) -> None:
    from catalog.importer import ImportReport, TableChanges
    from handlers.catalog_upload import diff_text
    from locales import translator
    from tests.fakes.telegram_api import parse_html

    changes = TableChanges(
        added=[f"san-pham-{n}" for n in range(300)],
        labels={f"san-pham-{n}": f"Sản phẩm <b>{n}</b> & co" for n in range(300)},
    )
    text = diff_text(translator(lang), "<big>.csv", ImportReport({"products": changes}, applied=False))
    visible, _ = parse_html(text)  # the fake's strict parser: no stray tag gets through
    assert len(text) <= 3600 and "Sản phẩm <b>0</b> & co" in visible and "<big>.csv" in visible
    assert ("còn" in visible and "dòng không hiển thị" in visible) if lang == "vi" else "more lines not shown" in visible
