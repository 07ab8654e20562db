"""Typed chat memory and enquiry form: rows stored by earlier releases (untyped dicts) still load and work."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select

from bot.config import Settings
from catalog.db import Database
from catalog.models import ChatSession, Lead, utcnow
from handlers.state import FORM_VERSION, MEMORY_VERSION, ChatMemory, EnquiryForm
from tests.harness import ChatHarness

# What the bot stored before issue 11: plain dicts with string keys, no version.
OLD_STATE = {
    "menu": None,
    "product": "vai-thieu-hong-xuan",
    "back": "l:0",
    "list": {"slugs": ["mat-ong-yen-my", "mat-ong-hoa-vai-hang-hieu"], "title": "Sản phẩm khớp “mật ong”:"},
    "erased_today": {"day": "2000-01-01", "count": 3},
}
OLD_FORM = {
    "kind": "enquiry", "step": "place", "lang": "vi", "editing": False,
    "data": {"products": [{"slug": "vai-thieu-hong-xuan", "name_vi": "Vải thiều Hồng Xuân Lục Ngạn",
                           "name_en": "Luc Ngan lychee (Hong Xuan)"}], "quantity": "1.5 tonne"},
    "candidates": [], "pending": "", "started": "2026-12-05T01:00:00+00:00", "keyboard": False,
}


async def old_row(db: Database, chat_id: str) -> None:
    async with db.session() as session:
        await session.execute(insert(ChatSession).values(
            channel="test", chat_id=chat_id, user_id=chat_id, language="vi", last_results=OLD_STATE["list"]["slugs"],
            state=OLD_STATE, form=OLD_FORM, form_updated_at=utcnow() - dt.timedelta(minutes=5), updated_at=utcnow(),
        ))


async def stored(db: Database, chat_id: str) -> ChatSession:
    async with db.session() as session:
        found = await session.scalar(select(ChatSession).where(ChatSession.chat_id == chat_id))
        assert found is not None
        return found


def test_old_shapes_read_into_the_typed_records() -> None:
    memory = ChatMemory.from_json(OLD_STATE, ["a", 3, "b"])
    assert (memory.product, memory.back, memory.menu) == ("vai-thieu-hong-xuan", "l:0", None)
    assert memory.saved_list is not None and memory.saved_list.slugs[0] == "mat-ong-yen-my"
    assert memory.erased_today is not None and memory.erased_today.count == 3
    assert memory.shown == ["a", "b"], "a value of the wrong type is dropped, not trusted"
    assert memory.to_json()["version"] == MEMORY_VERSION
    form = EnquiryForm.from_json(OLD_FORM)
    assert form is not None and form.step == "place" and form.data.quantity == "1.5 tonne"
    assert form.data.place == "" and not form.paused and form.to_json()["version"] == FORM_VERSION
    assert EnquiryForm.from_json({"kind": "something else"}) is None
    assert EnquiryForm.from_json(form.to_json()) == form, "a round trip keeps everything"


async def test_an_old_stored_row_continues_the_conversation(db: Database, settings: Settings) -> None:
    await old_row(db, "301")
    chat = ChatHarness(db, settings, chat_id="301", user_id="301", language_hint="vi")
    replies = await chat.send("Chợ Long Biên, Hà Nội")  # the old form was waiting for the delivery place
    assert "✓ Nơi giao hàng: Chợ Long Biên, Hà Nội" in chat.text(replies) and "câu 4/10" in chat.text(replies)
    row = await stored(db, "301")
    assert row.form is not None and row.form["version"] == FORM_VERSION
    assert row.form["data"]["quantity"] == "1.5 tonne" and row.form["data"]["place"] == "Chợ Long Biên, Hà Nội"
    assert row.state["version"] == MEMORY_VERSION and row.state["product"] == "vai-thieu-hong-xuan"

    replies = await chat.click("l:0")  # the list the old row remembered
    assert "Mật ong Yên Mỹ" in chat.text(replies)
    await chat.click("enq:resume")
    await chat.click("enq:tf:asap")
    await chat.send("Nguyễn Văn An")
    await chat.click("enq:skip")
    await chat.send("0912 345 678")
    await chat.click("enq:skip")
    await chat.click("enq:skip")
    await chat.click("enq:consent:yes")
    replies = await chat.click("enq:confirm")
    assert "BG-" in chat.text(replies)
    async with db.session() as session:
        lead = await session.scalar(select(Lead))
        assert lead is not None and lead.quantity == "1.5 tonne" and lead.products[0]["slug"] == "vai-thieu-hong-xuan"
