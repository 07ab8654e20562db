"""The buyer's wholesale enquiry form through the channel-neutral core, in Vietnamese and English."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.config import Settings
from catalog.db import Database
from catalog.models import ChatSession, ErasedCount, Lead, LeadEvent, OutboxMessage
from handlers import enquiry
from handlers.messages import Reply
from tests.fakes.telegram_api import parse_html
from tests.harness import ChatHarness
from tests.leads.helpers import ANSWERS, REF, confirm, count, fill_form, payloads, pick_first_product

QUESTION = {
    "vi": "Yêu cầu mua sỉ · câu {n}/10",
    "en": "Wholesale enquiry · question {n} of 10",
}


@pytest.fixture(params=["vi", "en"])
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def chat(db: Database, settings: Settings, lang: str) -> ChatHarness:
    return ChatHarness(db, settings, language_hint=lang)


async def stored_form(db: Database, chat: ChatHarness) -> dict | None:
    async with db.session() as session:
        row = await session.scalar(select(ChatSession).where(ChatSession.chat_id == chat.chat_id))
        return row.form if row else None


async def test_whole_form_one_question_at_a_time(db: Database, chat: ChatHarness, lang: str) -> None:
    text = chat.text
    replies = await chat.click("enq:start")
    assert QUESTION[lang].format(n=1) in text(replies)
    assert payloads(replies) == ["enq:cancel"]  # nothing to go back to yet

    replies = await chat.send(ANSWERS[lang]["product"])
    assert payloads(replies, "enq:p:"), "catalogue matches are offered as buttons"
    assert "enq:pt" in payloads(replies)  # …or the buyer's own words
    replies = await pick_first_product(chat, replies)
    assert QUESTION[lang].format(n=2) in text(replies)
    assert {"enq:back", "enq:cancel"} <= set(payloads(replies))

    replies = await chat.send(ANSWERS[lang]["quantity"])
    assert ("1,5 tấn" if lang == "vi" else "2 tonnes") in text(replies)
    assert QUESTION[lang].format(n=3) in text(replies)
    replies = await chat.send(ANSWERS[lang]["place"])
    assert QUESTION[lang].format(n=4) in text(replies)
    assert payloads(replies, "enq:tf:")
    replies = await chat.click("enq:tf:within_month")
    assert QUESTION[lang].format(n=5) in text(replies)
    assert "enq:name:me" in payloads(replies)  # the chat's display name, one tap away
    replies = await chat.send(ANSWERS[lang]["name"])
    assert QUESTION[lang].format(n=6) in text(replies)
    assert "enq:skip" in payloads(replies)  # organisation is optional
    replies = await chat.send(ANSWERS[lang]["organisation"])
    assert QUESTION[lang].format(n=7) in text(replies)
    contact_buttons = [b for r in replies for row in r.keyboard for b in row if b.kind == "contact"]
    assert contact_buttons, "the phone question offers Telegram's share-contact button"
    replies = await chat.send(ANSWERS[lang]["phone"])
    assert replies[0].remove_keyboard, "the contact keyboard goes away after the phone step"
    assert QUESTION[lang].format(n=8) in text(replies)
    replies = await chat.send(ANSWERS[lang]["email"])
    assert QUESTION[lang].format(n=9) in text(replies)
    replies = await chat.send(ANSWERS[lang]["notes"])
    assert QUESTION[lang].format(n=10) in text(replies)
    assert {"enq:consent:yes", "enq:consent:no"} <= set(payloads(replies))
    replies = await chat.send("đồng ý" if lang == "vi" else "I agree")

    summary = text(replies)
    for value in ("place", "name", "organisation", "email", "notes"):
        assert ANSWERS[lang][value] in summary
    assert ("+84 912 345 678" if lang == "vi" else "+44 20 7946 0958") in summary
    assert payloads(replies) == ["enq:confirm", "enq:edit", "enq:cancel"]
    assert await count(db, Lead) == 0, "nothing is stored before Confirm"

    ref = await confirm(chat)
    assert await stored_form(db, chat) is None
    async with db.session() as session:
        lead = await session.scalar(select(Lead).where(Lead.ref == ref))
        assert lead is not None
        assert ref == f"BG-{lead.created_at.year}-{lead.id:06d}"
        assert lead.language == lang and lead.status == "new" and lead.consent_at is not None
        assert lead.products[0]["slug"], "a catalogue product keeps its slug"
        assert lead.quantity == ("1.5 tonne" if lang == "vi" else "2 tonne")
        assert lead.phone == ("+84912345678" if lang == "vi" else "+442079460958")
        assert lead.time_frame == "within_month"
        card = await session.scalar(select(OutboxMessage).where(OutboxMessage.lead_id == lead.id))
        assert card is not None and card.kind == "lead_card" and card.channel == "telegram"
        assert card.chat_id == "-1000" and card.status == "pending"
        assert ref in card.payload["text"]
        assert "Yêu cầu mua sỉ" in card.payload["text"], "the card is in the staff's language (vi)"
        parse_html(card.payload["text"])  # valid Telegram HTML
        buttons = [b["payload"] for row in card.payload["buttons"] for b in row]
        assert buttons == [f"lead:{a}:{ref}" for a in ("claim", "contacted", "won", "lost", "spam")]


@pytest.mark.parametrize("lang", ["en"])
async def test_start_from_a_product_card_prefills_the_product(db: Database, chat: ChatHarness, lang: str) -> None:
    replies = await chat.click("enq:start:vai-thieu-hong-xuan")
    assert QUESTION[lang].format(n=2) in chat.text(replies)
    assert "Vải thiều" in chat.text(replies) or "lychee" in chat.text(replies)
    replies = await chat.click("enq:back")  # the product list can still be changed
    assert QUESTION[lang].format(n=1) in chat.text(replies) and "enq:next" in payloads(replies)


@pytest.mark.parametrize("words", ["mua sỉ", "Tôi muốn đặt hàng số lượng lớn", "bulk order", "wholesale please",
                                   "cho mình hỏi mua si"])
async def test_start_from_words(db: Database, settings: Settings, words: str) -> None:
    chat = ChatHarness(db, settings)
    replies = await chat.send(words)
    assert "1" in chat.text(replies) and "enq:cancel" in payloads(replies)
    assert (await stored_form(db, chat) or {}).get("step") == "products"


async def test_words_with_a_product_offer_matches_at_once(db: Database, settings: Settings) -> None:
    chat = ChatHarness(db, settings)
    replies = await chat.send("mua sỉ vải thiều")
    assert payloads(replies, "enq:p:"), chat.text(replies)


@pytest.mark.parametrize("lang", ["vi"])
async def test_unknown_product_is_kept_as_written(db: Database, chat: ChatHarness, lang: str) -> None:
    await chat.click("enq:start")
    replies = await chat.send("Xyzzqw Plumbus")
    assert "Xyzzqw Plumbus" in chat.text(replies) and "enq:next" in payloads(replies)
    replies = await chat.send("mỳ chũ")
    await chat.click("enq:pt")  # keep the typed words rather than a catalogue match
    form = await stored_form(db, chat)
    assert form is not None
    assert [p.get("text") for p in form["data"]["products"]] == ["Xyzzqw Plumbus", "mỳ chũ"]
    replies = await chat.click("enq:pclear")
    assert "enq:next" not in payloads(replies)
    replies = await chat.click("enq:next")  # continuing with an empty list is refused
    assert "⚠️" in chat.text(replies)


QUANTITY_ERRORS = [
    ("nhiều lắm", {"vi": "chưa thấy con số", "en": "could not find a number"}),
    ("500", {"vi": "thêm đơn vị", "en": "add the unit"}),
    ("0 kg", {"vi": "lớn hơn 0", "en": "more than zero"}),
    ("99999999 tấn", {"vi": "tối đa 10 triệu", "en": "at most 10 million"}),
    ("5-3 tấn", {"vi": "số nhỏ trước", "en": "smaller number first"}),
    ("2 tấn " + "rất " * 40, {"vi": "tối đa 100 ký tự", "en": "up to 100 characters"}),
]


async def test_bad_quantity_is_explained_and_asked_again(db: Database, chat: ChatHarness, lang: str) -> None:
    await chat.click("enq:start:vai-thieu-hong-xuan")
    for answer, message in QUANTITY_ERRORS:
        replies = await chat.send(answer)
        assert message[lang] in chat.text(replies), answer
        assert QUESTION[lang].format(n=2) in chat.text(replies)
    replies = await chat.send("300 thùng")
    assert QUESTION[lang].format(n=3) in chat.text(replies)
    assert (await stored_form(db, chat) or {})["data"]["quantity"] == "300 carton"


async def answer_until(chat: ChatHarness, step: str, lang: str = "vi") -> None:
    """Fill the form up to (not including) `step`."""
    order = ["quantity", "place", "time", "name", "organisation", "phone", "email", "notes", "consent"]
    await chat.click("enq:start:vai-thieu-hong-xuan")
    for name in order[: order.index(step)]:
        if name == "time":
            await chat.click("enq:tf:asap")
        else:
            await chat.send(ANSWERS[lang][name])


BAD_ANSWERS = {
    "place": [("!!", {"vi": "nơi giao hàng", "en": "delivery place"}),
              ("Hà Nội " * 60, {"vi": "quá dài", "en": "too long"})],
    "time": [("?", {"vi": "khi nào bạn cần hàng", "en": "when you need the goods"})],
    "name": [("1", {"vi": "họ tên", "en": "your name"}),
             ("0912345678", {"vi": "họ tên", "en": "your name"}),
             ("A" * 101, {"vi": "họ tên", "en": "your name"})],
    "organisation": [("x" * 201, {"vi": "quá dài", "en": "too long"}),
                     ("...", {"vi": "tên công ty", "en": "company or shop"})],
    "phone": [("123", {"vi": "không hợp lệ", "en": "valid phone number"}),
              ("call me", {"vi": "không hợp lệ", "en": "valid phone number"})],
    "email": [("an@", {"vi": "không phải e-mail", "en": "e-mail address"}),
              ("an@example", {"vi": "không phải e-mail", "en": "e-mail address"})],
    "notes": [("n" * 1001, {"vi": "quá dài", "en": "too long"})],
    "consent": [("maybe", {"vi": "Tôi đồng ý", "en": "I agree"})],
}


async def test_every_bad_answer_is_explained_and_asked_again(db: Database, chat: ChatHarness, lang: str) -> None:
    await answer_until(chat, "place", lang)
    for step, bad_answers in BAD_ANSWERS.items():
        before = await stored_form(db, chat)
        assert before is not None and before["step"] == step
        for bad, message in bad_answers:
            replies = await chat.send(bad)
            assert "⚠️" in chat.text(replies) and message[lang] in chat.text(replies), (step, bad)
            after = await stored_form(db, chat)
            assert after is not None and after["step"] == step and after["data"] == before["data"]
        if step == "time":
            await chat.click("enq:tf:asap")
        elif step == "consent":
            await chat.click("enq:consent:yes")
        else:
            await chat.send(ANSWERS[lang][step])
    assert (await stored_form(db, chat) or {})["step"] == "summary"


@pytest.mark.parametrize("lang", ["en"])
async def test_overlong_answer_is_refused_before_parsing(db: Database, chat: ChatHarness, lang: str) -> None:
    await answer_until(chat, "place", lang)
    replies = await chat.send("x" * 5000)
    assert "⚠️" in chat.text(replies)
    assert (await stored_form(db, chat) or {})["step"] == "place"


@pytest.mark.parametrize("lang", ["vi"])
async def test_phone_can_be_shared_or_international(db: Database, chat: ChatHarness, lang: str) -> None:
    await answer_until(chat, "phone", lang)
    replies = await chat.share_contact("84987654321", "An")
    assert "+84 987 654 321" in chat.text(replies)
    assert (await stored_form(db, chat) or {})["data"]["phone"] == "+84987654321"
    await chat.click("enq:back")
    await chat.share_contact("not a number", "An")
    assert (await stored_form(db, chat) or {})["step"] == "phone"
    await chat.send("+1 202 555 0143")
    assert (await stored_form(db, chat) or {})["data"]["phone"] == "+12025550143"


async def test_optional_steps_can_be_skipped_by_button_or_word(db: Database, chat: ChatHarness, lang: str) -> None:
    await answer_until(chat, "organisation", lang)
    await chat.send("không" if lang == "vi" else "skip")
    await chat.send(ANSWERS[lang]["phone"])
    await chat.click("enq:skip")
    await chat.send("bỏ qua" if lang == "vi" else "none")
    form = await stored_form(db, chat)
    assert form is not None and form["step"] == "consent"
    assert form["data"]["organisation"] == form["data"]["email"] == form["data"]["notes"] == ""


async def test_back_by_word_and_button(db: Database, chat: ChatHarness, lang: str) -> None:
    await answer_until(chat, "name", lang)
    replies = await chat.send("quay lại" if lang == "vi" else "back")
    assert QUESTION[lang].format(n=4) in chat.text(replies)
    replies = await chat.click("enq:back")
    assert QUESTION[lang].format(n=3) in chat.text(replies)
    replies = await chat.send("/back")
    assert QUESTION[lang].format(n=2) in chat.text(replies)
    form = await stored_form(db, chat)
    assert form is not None and form["data"]["place"]  # going back keeps the answers given
    replies = await chat.send("Hải Dương")  # not a quantity: asked again, not taken as the place
    assert "⚠️" in chat.text(replies)


async def test_cancel_discards_everything(db: Database, settings: Settings) -> None:
    chat = ChatHarness(db, settings)
    for how in ("hủy", "huỷ", "cancel", "/cancel", "button", "Thôi"):
        await answer_until(chat, "phone")
        replies = await (chat.click("enq:cancel") if how == "button" else chat.send(how))
        assert payloads(replies) == ["enq:cancel:yes", "enq:resume"], how  # asked first: answers would be lost
        assert await stored_form(db, chat) is not None
        replies = await chat.click("enq:cancel:yes")
        assert "enq:start" in payloads(replies), how
        assert await stored_form(db, chat) is None
        assert any(r.remove_keyboard for r in replies), "the share-contact keyboard is removed"
    await answer_until(chat, "quantity")
    await chat.click("enq:cancel")
    replies = await chat.send("hủy")  # a second cancel is a yes
    assert not any(r.remove_keyboard for r in replies)
    assert await stored_form(db, chat) is None
    assert await count(db, Lead) == 0


async def test_a_name_that_looks_like_a_command_word_is_a_name(db: Database, settings: Settings) -> None:
    chat = ChatHarness(db, settings)
    await answer_until(chat, "name")
    await chat.send("Huy")  # "hủy" means cancel, but the name Huy is just a name
    form = await stored_form(db, chat)
    assert form is not None and form["data"]["name"] == "Huy"


@pytest.mark.parametrize("lang", ["en"])
async def test_edit_a_field_from_the_summary(db: Database, chat: ChatHarness, lang: str) -> None:
    await fill_form(chat, lang)
    replies = await chat.click("enq:edit")
    assert len(payloads(replies, "enq:ed:")) == 9
    replies = await chat.click("enq:ed:quantity")
    assert QUESTION[lang].format(n=2) in chat.text(replies) and "enq:back" in payloads(replies)
    replies = await chat.send("7 tấn")
    assert "enq:confirm" in payloads(replies), "after the edit, straight back to the summary"
    assert "7" in chat.text(replies)
    await chat.click("enq:edit")
    await chat.click("enq:ed:phone")
    replies = await chat.send("0987 654 321")
    assert "+84 987 654 321" in chat.text(replies) and "enq:confirm" in payloads(replies)
    await chat.click("enq:edit")
    await chat.click("enq:ed:email")
    replies = await chat.click("enq:back")  # leave an edit without changing anything
    assert "enq:confirm" in payloads(replies) and ANSWERS[lang]["email"] in chat.text(replies)
    await chat.click("enq:edit")
    replies = await chat.click("enq:summary")
    assert "enq:confirm" in payloads(replies)
    ref = await confirm(chat)
    async with db.session() as session:
        lead = await session.scalar(select(Lead).where(Lead.ref == ref))
        assert lead is not None and lead.quantity == "7 tonne" and lead.phone == "+84987654321"


async def test_consent_refusal_stores_nothing(db: Database, chat: ChatHarness, lang: str) -> None:
    await answer_until(chat, "consent", lang)
    replies = await chat.send("không" if lang == "vi" else "no")
    assert {"enq:discard", "enq:resume"} <= set(payloads(replies)), "asked before ten answers are thrown away"
    assert (await stored_form(db, chat) or {}).get("step") == "consent"
    replies = await chat.send("có" if lang == "vi" else "yes")  # yes, discard it
    assert "enq:start" in payloads(replies)
    assert await stored_form(db, chat) is None
    assert await count(db, Lead) == 0 and await count(db, OutboxMessage) == 0 and await count(db, LeadEvent) == 0
    await answer_until(chat, "consent", lang)
    await chat.click("enq:consent:no")
    replies = await chat.click("enq:resume")  # changed their mind: back to the consent question
    assert "enq:consent:yes" in payloads(replies) and await stored_form(db, chat) is not None
    await chat.click("enq:consent:no")
    await chat.click("enq:discard")
    assert await stored_form(db, chat) is None and await count(db, Lead) == 0


async def test_form_continues_after_a_restart(db: Database, chat: ChatHarness, lang: str) -> None:
    await answer_until(chat, "name", lang)
    chat.restart()  # a new process on the same database
    replies = await chat.send(ANSWERS[lang]["name"])
    assert QUESTION[lang].format(n=6) in chat.text(replies)
    await chat.send(ANSWERS[lang]["organisation"])
    chat.restart()
    for answer in (ANSWERS[lang]["phone"], ANSWERS[lang]["email"], ANSWERS[lang]["notes"]):
        await chat.send(answer)
    await chat.click("enq:consent:yes")
    chat.restart()
    ref = await confirm(chat)
    assert REF.fullmatch(ref)
    async with db.session() as session:
        lead = await session.scalar(select(Lead).where(Lead.ref == ref))
        assert lead is not None and lead.buyer_name == ANSWERS[lang]["name"]


async def age_form(db: Database, chat: ChatHarness, hours: float) -> None:
    """Pretend the buyer's last answer was `hours` ago."""
    async with db.session() as session:
        row = await session.scalar(select(ChatSession).where(ChatSession.chat_id == chat.chat_id))
        assert row is not None and row.form_updated_at is not None
        row.form_updated_at = row.form_updated_at - dt.timedelta(hours=hours)


async def test_abandoned_form_expires(db: Database, chat: ChatHarness, lang: str, settings: Settings) -> None:
    await answer_until(chat, "place", lang)
    await age_form(db, chat, settings.enquiry_expiry_hours - 1)
    replies = await chat.send(ANSWERS[lang]["place"])  # not expired yet
    assert QUESTION[lang].format(n=4) in chat.text(replies)
    await age_form(db, chat, settings.enquiry_expiry_hours + 0.1)
    replies = await chat.click("enq:tf:asap")
    assert ("hết hạn" if lang == "vi" else "expired") in chat.text(replies)
    assert await stored_form(db, chat) is None
    replies = await chat.click("enq:tf:asap")  # the old buttons no longer do anything
    assert "enq:start" in payloads(replies) and await stored_form(db, chat) is None


@pytest.mark.parametrize("lang", ["en"])
async def test_expired_form_then_a_new_start(db: Database, chat: ChatHarness, lang: str, settings: Settings) -> None:
    await answer_until(chat, "name", lang)
    await age_form(db, chat, settings.enquiry_expiry_hours + 1)
    replies = await chat.click("enq:start")
    assert ("hết hạn" if lang == "vi" else "expired") in chat.text(replies)
    assert QUESTION[lang].format(n=1) in chat.text(replies)
    form = await stored_form(db, chat)
    assert form is not None and form["step"] == "products" and form["data"]["products"] == []


async def test_daily_limit(db: Database, settings: Settings) -> None:
    limited = settings.model_copy(update={"enquiries_per_day": 2})
    chat = ChatHarness(db, limited, language_hint="en")
    for _ in range(2):
        await fill_form(chat, "en")
        await confirm(chat)
    replies = await chat.click("enq:start")
    assert "most we accept" in chat.text(replies)
    assert await stored_form(db, chat) is None
    replies = await chat.send("wholesale")
    assert "most we accept" in chat.text(replies)
    other = chat.as_user("200", language_hint="en")  # another buyer is not affected
    replies = await other.click("enq:start")
    assert QUESTION["en"].format(n=1) in other.text(replies)
    assert await count(db, Lead) == 2
    # Erasing one's data does not reset the limit: only the count and the day stay behind.
    await chat.send("/forget")
    replies = await chat.click("enq:forget")
    assert "erased" in chat.text(replies)
    replies = await chat.click("enq:start")
    assert "most we accept" in chat.text(replies)
    async with db.session() as session:
        kept = (await session.scalars(select(ErasedCount))).all()
        assert [(len(k.user_key), k.count) for k in kept] == [(64, 2)]  # a keyed hash, a day, a number


async def test_daily_limit_is_per_user_whatever_chat_the_forget_came_from(db: Database, settings: Settings) -> None:
    """/forget sent in a group (a chat of its own) must not reset the limit in the user's private chat."""
    limited = settings.model_copy(update={"enquiries_per_day": 2})
    chat = ChatHarness(db, limited, channel="telegram", chat_id="300", user_id="300", language_hint="en")
    for _ in range(2):
        await fill_form(chat, "en")
        await confirm(chat)
    group = chat.as_user("-4242", "300", language_hint="en")
    for _ in range(3):
        await group.send("/forget")
        await group.click("enq:forget")
    replies = await chat.click("enq:start")
    assert "most we accept" in chat.text(replies)


async def test_user_text_is_escaped_in_every_reply_and_card(db: Database, settings: Settings) -> None:
    chat = ChatHarness(db, settings, language_hint="en")
    nasty = "<b>Bob</b> & <script>"
    await fill_form(chat, "en", name=nasty, notes="<i>&amp; 5 < 6", organisation="A&B <Co>")
    summary = chat.history[-1].text
    assert "&lt;b&gt;Bob&lt;/b&gt; &amp; &lt;script&gt;" in summary
    parse_html(summary)
    ref = await confirm(chat)
    async with db.session() as session:
        card = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "lead_card"))
        assert card is not None
    text, _ = parse_html(card.payload["text"])
    assert nasty in text and "<i>&amp; 5 < 6" in text and ref in text


async def test_form_keeps_its_language(db: Database, settings: Settings) -> None:
    chat = ChatHarness(db, settings, language_hint="en")
    await answer_until(chat, "name", "en")
    replies = await chat.send("Nguyễn Thị Hương")  # Vietnamese words do not switch an English form
    assert QUESTION["en"].format(n=6) in chat.text(replies)


@pytest.mark.parametrize("lang", ["vi"])
async def test_starting_again_while_a_form_is_open(db: Database, chat: ChatHarness, lang: str) -> None:
    await answer_until(chat, "place", lang)
    replies = await chat.click("enq:start:mat-ong-hoa-vai-hang-hieu")
    assert payloads(replies) == ["enq:resume", "enq:restart:mat-ong-hoa-vai-hang-hieu"]
    replies = await chat.click("enq:resume")
    assert QUESTION[lang].format(n=3) in chat.text(replies)
    await chat.click("enq:restart:mat-ong-hoa-vai-hang-hieu")
    form = await stored_form(db, chat)
    assert form is not None and form["step"] == "quantity"
    assert form["data"]["products"][0]["slug"] == "mat-ong-hoa-vai-hang-hieu"


@pytest.mark.parametrize("lang", ["en"])
async def test_stale_form_buttons_without_a_form(db: Database, chat: ChatHarness, lang: str) -> None:
    for payload in ("enq:confirm", "enq:back", "enq:skip", "enq:p:vai-thieu-hong-xuan"):
        replies = await chat.click(payload)
        assert "enq:start" in payloads(replies)
    assert await count(db, Lead) == 0


@pytest.mark.parametrize("lang", ["vi"])
async def test_other_features_still_answer_while_a_form_waits(db: Database, chat: ChatHarness, lang: str) -> None:
    await answer_until(chat, "place", lang)
    replies = await chat.send("/myenquiries")
    assert replies and "enq:" not in "".join(payloads(replies, "enq:ed"))
    form = await stored_form(db, chat)
    assert form is not None and form["step"] == "place", "the form waits for the next answer"


async def test_a_repeated_enquiry_is_asked_about_first(db: Database, chat: ChatHarness, lang: str) -> None:
    """The same products from the same phone within 24 hours: asked before it becomes a second lead."""
    await fill_form(chat, lang)
    first = await confirm(chat)
    await fill_form(chat, lang)
    replies = await chat.click("enq:confirm")
    assert first in chat.text(replies) and {"enq:confirm:again", "enq:cancel:yes"} <= set(payloads(replies))
    assert await count(db, Lead) == 1
    replies = await chat.send("xác nhận" if lang == "vi" else "confirm")  # typing confirm asks again
    assert "enq:confirm:again" in payloads(replies) and await count(db, Lead) == 1
    await chat.click("enq:cancel:yes")
    assert await count(db, Lead) == 1 and await stored_form(db, chat) is None
    await fill_form(chat, lang)
    await chat.click("enq:confirm")
    replies = await chat.click("enq:confirm:again")
    assert REF.search(chat.text(replies)) and await count(db, Lead) == 2
    await fill_form(chat, lang, phone="0987 111 222")  # another phone: not a repeat
    replies = await chat.click("enq:confirm")
    assert REF.search(chat.text(replies)) and await count(db, Lead) == 3


PER_PRODUCT = {
    # (products tapped, the one answer naming each product, what the summary and the staff card show)
    "vi": ("1,5 tấn vải và 500 kg mỳ",
           "Vải thiều Hồng Xuân Lục Ngạn: 1,5 tấn; Mỳ gạo Chũ Xuân Trường: 500 kg"),
    "en": ("1.5 tonnes of lychee and 500 kg of noodles",
           "Luc Ngan lychee (Hong Xuan): 1.5 tonnes; Xuan Truong Chu rice noodles: 500 kg"),
}


async def _two_products(chat: ChatHarness, first: str, second: str) -> list[Reply]:
    await chat.click("enq:start")
    await chat.click(f"enq:p:{first}")
    await chat.click(f"enq:p:{second}")
    return await chat.click("enq:next")


async def _finish(chat: ChatHarness, lang: str) -> str:
    await chat.send(ANSWERS[lang]["place"])
    await chat.click("enq:tf:within_month")
    await chat.send(ANSWERS[lang]["name"])
    await chat.click("enq:skip")
    await chat.send(ANSWERS[lang]["phone"])
    await chat.click("enq:skip")
    await chat.click("enq:skip")
    await chat.click("enq:consent:yes")
    return await confirm(chat)


async def staff_card(db: Database, ref: str) -> tuple[Lead, str]:
    async with db.session() as session:
        lead = await session.scalar(select(Lead).where(Lead.ref == ref))
        assert lead is not None
        card = await session.scalar(select(OutboxMessage).where(OutboxMessage.lead_id == lead.id))
        assert card is not None
        return lead, str(card.payload["text"])


async def test_one_answer_gives_each_product_its_own_quantity(db: Database, chat: ChatHarness, lang: str) -> None:
    replies = await _two_products(chat, "vai-thieu-hong-xuan", "my-gao-chu-xuan-truong")
    assert QUESTION[lang].format(n=2) in chat.text(replies)
    answer, shown = PER_PRODUCT[lang]
    replies = await chat.send(answer)
    assert shown in chat.text(replies), "each product is noted with its own quantity"
    assert QUESTION[lang].format(n=3) in chat.text(replies)
    ref = await _finish(chat, lang)
    lead, card = await staff_card(db, ref)
    assert [p.get("quantity") for p in lead.products] == ["1.5 tonne", "500 kg"]
    assert lead.quantity == "1.5 tonne; 500 kg"
    assert "Vải thiều Hồng Xuân Lục Ngạn: 1,5 tấn; Mỳ gạo Chũ Xuân Trường: 500 kg" in card  # staff read vi


async def test_one_quantity_for_several_products_is_asked_per_product(db: Database, chat: ChatHarness,
                                                                       lang: str) -> None:
    replies = await _two_products(chat, "ruou-men-la-kien-thanh", "ga-doi-yen-the")
    wine = "Rượu men lá Kiên Thành" if lang == "vi" else "Kien Thanh leaf-yeast rice wine"
    chicken = "Gà đồi Yên Thế" if lang == "vi" else "Yen The hill chicken"
    assert wine in chat.text(replies), "the question names the product it asks about"
    replies = await chat.send("300 chai" if lang == "vi" else "300 bottles")
    assert QUESTION[lang].format(n=2) in chat.text(replies) and chicken in chat.text(replies)
    replies = await chat.send("200 con" if lang == "vi" else "200 head")
    assert QUESTION[lang].format(n=3) in chat.text(replies)
    assert (f"{wine}: 300 chai; {chicken}: 200 con" if lang == "vi"
            else f"{wine}: 300 bottles; {chicken}: 200 head") in chat.text(replies)
    ref = await _finish(chat, lang)
    lead, card = await staff_card(db, ref)
    assert "Rượu men lá Kiên Thành: 300 chai; Gà đồi Yên Thế: 200 con" in card
    assert "Gà đồi Yên Thế: 300 chai" not in card


@pytest.mark.parametrize("lang", ["vi"])
async def test_an_amount_naming_no_listed_product_is_asked_again(db: Database, chat: ChatHarness,
                                                                 lang: str) -> None:
    await _two_products(chat, "vai-thieu-hong-xuan", "my-gao-chu-xuan-truong")
    replies = await chat.send("1,5 tấn vải")  # the lychee's amount; the noodles' is still to come
    assert "Vải thiều Hồng Xuân Lục Ngạn: 1,5 tấn" in chat.text(replies)
    assert QUESTION[lang].format(n=2) in chat.text(replies) and "Mỳ gạo Chũ Xuân Trường" in chat.text(replies)
    replies = await chat.send("2 tấn chè và 3 tấn mật ong")  # two amounts, neither for the noodles
    assert QUESTION[lang].format(n=2) in chat.text(replies) and "Mỳ gạo Chũ Xuân Trường" in chat.text(replies)
    form = await stored_form(db, chat)
    assert form is not None and "quantity" not in form["data"]["products"][1]


async def test_a_stored_version_2_form_still_loads(db: Database, chat: ChatHarness, lang: str) -> None:
    from handlers.state import FORM_VERSION, EnquiryForm

    old = {"kind": "enquiry", "version": 2, "step": "place", "lang": lang,
           "data": {"products": [{"slug": "vai-thieu-hong-xuan", "name_vi": "Vải thiều Hồng Xuân Lục Ngạn",
                                  "name_en": "Luc Ngan lychee (Hong Xuan)"}], "quantity": "1.5 tonne"}}
    form = EnquiryForm.from_json(old)
    assert form is not None and form.version == FORM_VERSION > 2
    assert form.data.products[0]["quantity"] == "1.5 tonne" and form.data.quantity == "1.5 tonne"
    shared = {**old, "data": {**old["data"], "products": old["data"]["products"] * 2}}
    shared["data"]["products"] = [dict(shared["data"]["products"][0]), {"slug": "", "text": "mỳ"}]
    legacy = EnquiryForm.from_json(shared)
    assert legacy is not None and legacy.data.quantity == "1.5 tonne", "one shared quantity of old is kept"
    assert all("quantity" not in p for p in legacy.data.products)


@pytest.mark.parametrize("lang", ["vi"])
async def test_editing_an_old_shared_quantity_asks_per_product(db: Database, chat: ChatHarness, lang: str) -> None:
    """A version 2 form kept one quantity for several products; editing it asks for each product's own."""
    await _two_products(chat, "vai-thieu-hong-xuan", "my-gao-chu-xuan-truong")
    async with db.session() as session:
        row = await session.scalar(select(ChatSession).where(ChatSession.chat_id == chat.chat_id))
        assert row is not None and row.form is not None
        old = dict(row.form)
        old["version"], old["step"] = 2, "edit"
        old["data"] = {**old["data"], "quantity": "2 tonne",
                       "products": [{k: v for k, v in p.items() if k != "quantity"} for p in old["data"]["products"]]}
        row.form = old
    replies = await chat.click("enq:ed:quantity")
    assert "Vải thiều Hồng Xuân Lục Ngạn" in chat.text(replies) and "enq:back" in payloads(replies)
    await chat.send("1,5 tấn vải và 500 kg mỳ")
    form = await stored_form(db, chat)
    assert form is not None and form["data"]["quantity"] == "1.5 tonne; 500 kg"

async def test_enquiries_are_refused_in_group_chats_with_a_hint(db: Database, settings: Settings) -> None:
    """In a group one form would take every member's answers (and show everyone the phone number)."""
    alice = ChatHarness(db, settings, channel="telegram", chat_id="-3030", user_id="31", language_hint="en")
    bob = alice.as_user("-3030", "32", language_hint="en")
    for replies in (await alice.click("enq:start"), await alice.send("wholesale lychee")):
        assert "private chat" in alice.text(replies)
    await bob.send("2 tonnes")
    assert await stored_form(db, alice) is None
    assert await count(db, Lead) == 0


async def test_a_double_tapped_confirm_at_two_processes_makes_one_lead(db: Database, settings: Settings) -> None:
    """Two processes on one database (webhooks behind a round-robin proxy) each get one of the two taps."""
    import asyncio

    other_db = Database(db.url)  # its own engine and pool, like another process
    try:
        chats = [ChatHarness(db, settings, channel="telegram", chat_id=str(7100 + n), user_id=str(7100 + n),
                             language_hint="en") for n in range(10)]
        for chat in chats:
            await fill_form(chat, "en", phone=f"09123456{chat.chat_id[-2:]}")
        twins = [ChatHarness(other_db, settings, channel="telegram", chat_id=c.chat_id, user_id=c.user_id,
                             language_hint="en") for c in chats]
        await asyncio.gather(*(tap for c, twin in zip(chats, twins, strict=True)
                               for tap in (c.click("enq:confirm"), twin.click("enq:confirm"))))
        assert await count(db, Lead) == len(chats)
    finally:
        await other_db.dispose()


@pytest.mark.parametrize("text", ["huỷ", "hủy", "Hủy nhé!", "HUỶ BỎ", "huy bo", "thôi", "thôi không mua nữa",
                                  "dừng lại", "/cancel", "cancel", "Cancel the enquiry", "stop please", "never mind",
                                  "forget it", "quit"])
def test_typed_cancels_are_read_in_general(text: str) -> None:
    assert enquiry.wants_to_cancel(text)


@pytest.mark.parametrize("text", ["Huy", "Nguyễn Văn Huy", "bỏ qua", "không", "huỷ vải thiều", "stop by the depot",
                                  "Hải Dương", "thôi thì 2 tấn", "cancel " + "please " * 10])
def test_answers_that_contain_a_cancel_word_are_answers(text: str) -> None:
    assert not enquiry.wants_to_cancel(text)
