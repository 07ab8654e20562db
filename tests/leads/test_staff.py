"""The staff desk: lead buttons, /leads /lead /reply /export /stats, refusals for outsiders, /forget, the CLI."""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.leads_cli import cmd_leads_export, cmd_leads_list
from catalog.db import Database
from catalog.models import ChatSession, Lead, LeadEvent, OutboxMessage
from tests.fakes.telegram_api import parse_html
from tests.harness import ChatHarness
from tests.leads.helpers import confirm, fill_form, payloads, snapshot

ACTIONS = ("claim", "contacted", "won", "lost", "spam")


@pytest.fixture
def buyer(db: Database, settings: Settings) -> ChatHarness:
    return ChatHarness(db, settings, channel="telegram", chat_id="5001", user_id="5001", language_hint="en",
                       display_name="Jane Smith")


@pytest.fixture
def staff(db: Database, settings: Settings) -> ChatHarness:
    return ChatHarness(db, settings, channel="telegram", chat_id="-1000", user_id="9001", display_name="Trần Thị Mai")


async def new_lead(buyer: ChatHarness, **override: str | None) -> str:
    await fill_form(buyer, "en", **override)
    return await confirm(buyer)


async def lead_by_ref(db: Database, ref: str) -> Lead:
    async with db.session() as session:
        lead = await session.scalar(select(Lead).where(Lead.ref == ref))
        assert lead is not None
        return lead


async def buyer_messages(db: Database, chat_id: str = "5001") -> list[OutboxMessage]:
    async with db.session() as session:
        return list((await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)
                                           .order_by(OutboxMessage.id))).all())


def outsiders(db: Database, settings: Settings) -> list[ChatHarness]:
    """A buyer in the staff group, a stranger in private, and a staff member's id arriving from Zalo."""
    return [
        ChatHarness(db, settings, channel="telegram", chat_id="-1000", user_id="5001", language_hint="en"),
        ChatHarness(db, settings, channel="telegram", chat_id="777", user_id="777", language_hint="en"),
        ChatHarness(db, settings, channel="zalo", chat_id="9001", user_id="9001", language_hint="en"),
    ]


async def test_outsiders_cannot_press_any_lead_button(db: Database, settings: Settings, buyer: ChatHarness) -> None:
    ref = await new_lead(buyer)
    before = await snapshot(db)
    for outsider in outsiders(db, settings):
        for action in (*ACTIONS, "view"):
            replies = await outsider.click(f"lead:{action}:{ref}")
            assert len(replies) == 1 and not replies[0].text and not replies[0].buttons
            assert "only trade-department staff" in replies[0].notice
    assert await snapshot(db) == before, "nothing changed"


async def test_outsiders_cannot_use_any_staff_command(db: Database, settings: Settings, buyer: ChatHarness) -> None:
    ref = await new_lead(buyer)
    before = await snapshot(db)
    for outsider in outsiders(db, settings):
        for command in ("/leads", "/leads new", f"/lead {ref}", f"/reply {ref} hello", "/export", "/stats",
                        "/leads@ocop_test_bot"):
            replies = await outsider.send(command)
            assert len(replies) == 1 and replies[0].document is None and not replies[0].buttons
            assert "only for trade-department staff" in outsider.text(replies)
            assert ref not in outsider.text(replies)
    assert await snapshot(db) == before, "nothing changed"


async def test_claim_edits_the_card_records_the_change_and_tells_the_buyer(
        db: Database, buyer: ChatHarness, staff: ChatHarness) -> None:
    ref = await new_lead(buyer)
    replies = await staff.click(f"lead:claim:{ref}", message_id="77")
    card = replies[0]
    assert card.edit and ref in card.notice
    assert "đã nhận xử lý" in card.text and "Trần Thị Mai" in card.text  # staff language: Vietnamese
    parse_html(card.text)
    assert payloads(replies) == [f"lead:{a}:{ref}" for a in ("contacted", "won", "lost", "spam")]
    lead = await lead_by_ref(db, ref)
    assert lead.status == "claimed" and lead.claimed_by == "Trần Thị Mai"
    async with db.session() as session:
        events = (await session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead.id)
                                        .order_by(LeadEvent.id))).all()
    change = events[-1]
    assert (change.actor_id, change.actor_name, change.action, change.from_status, change.to_status) == (
        "9001", "Trần Thị Mai", "claim", "new", "claimed")
    notices = await buyer_messages(db)
    assert [m.kind for m in notices] == ["buyer_notice"]
    assert notices[0].channel == "telegram" and notices[0].lead_id == lead.id
    assert "taken up your wholesale enquiry" in notices[0].payload["text"], "in the buyer's language (en)"


async def test_every_step_to_won_and_lost_and_spam(db: Database, settings: Settings, buyer: ChatHarness,
                                                   staff: ChatHarness) -> None:
    won = await new_lead(buyer)
    lost = await new_lead(buyer)
    spam = await new_lead(buyer)
    await staff.click(f"lead:claim:{won}")
    await staff.click(f"lead:contacted:{won}")
    replies = await staff.click(f"lead:won:{won}")
    assert payloads(replies) == [], "a closed lead has no buttons"
    await staff.click(f"lead:contacted:{lost}")  # straight from new: counts as taken up
    await staff.click(f"lead:lost:{lost}")
    await staff.click(f"lead:spam:{spam}")
    statuses = {ref: (await lead_by_ref(db, ref)).status for ref in (won, lost, spam)}
    assert statuses == {won: "won", lost: "lost", spam: "spam"}
    texts = [(m.lead_id, m.payload["text"]) for m in await buyer_messages(db)]
    by_lead = {ref: [t for lead_id, t in texts if lead_id == (await lead_by_ref(db, ref)).id]
               for ref in (won, lost, spam)}
    assert len(by_lead[won]) == 2 and "taken up" in by_lead[won][0] and "closed" in by_lead[won][1]
    assert len(by_lead[lost]) == 2 and "closed" in by_lead[lost][1]
    assert by_lead[spam] == [], "the buyer is not told about spam"
    async with db.session() as session:
        actions = [e.action for e in (await session.scalars(
            select(LeadEvent).where(LeadEvent.lead_id == (await lead_by_ref(db, won)).id)
            .order_by(LeadEvent.id))).all()]
    assert actions == ["created", "claim", "contacted", "won"]


async def test_steps_that_do_not_apply_change_nothing(db: Database, buyer: ChatHarness, staff: ChatHarness) -> None:
    ref = await new_lead(buyer)
    await staff.click(f"lead:claim:{ref}")
    before = await snapshot(db)
    replies = await staff.click(f"lead:claim:{ref}")  # a double tap
    assert "đã ở trạng thái" in replies[0].notice
    assert await snapshot(db) == before
    await staff.click(f"lead:won:{ref}")
    before = await snapshot(db)
    for action in ACTIONS:
        replies = await staff.click(f"lead:{action}:{ref}")
        assert replies[0].notice and replies[0].edit
    replies = await staff.click("lead:claim:BG-2026-999999")
    assert "Không tìm thấy" in replies[0].notice
    replies = await staff.click(f"lead:reopen:{ref}")
    assert replies[0].notice
    assert await snapshot(db) == before


async def test_leads_and_lead_commands(db: Database, buyer: ChatHarness, staff: ChatHarness) -> None:
    first = await new_lead(buyer, organisation="Fresh <Imports>")
    second = await new_lead(buyer)
    await staff.click(f"lead:claim:{first}")
    replies = await staff.send("/leads")
    text = staff.text(replies)
    assert text.index(second) < text.index(first), "newest first"
    assert "Fresh <Imports>" in text
    assert f"lead:view:{first}" in payloads(replies)
    parse_html(replies[0].text)
    replies = await staff.send("/leads claimed")
    assert first in staff.text(replies) and second not in staff.text(replies)
    replies = await staff.send("/leads won")
    assert "Không có yêu cầu nào" in staff.text(replies)
    replies = await staff.send("/leads bogus")
    assert "Không có trạng thái" in staff.text(replies)
    replies = await staff.send(f"/lead {first.lower()}")
    assert first in staff.text(replies) and "Lịch sử" in staff.text(replies) and "+44 20 7946 0958" in staff.text(replies)
    number = str(int(second.rsplit("-", 1)[1]))
    replies = await staff.send(f"/lead {number}")
    assert second in staff.text(replies)
    replies = await staff.click(f"lead:view:{second}")
    assert second in staff.text(replies) and not replies[0].edit
    replies = await staff.send("/lead")
    assert "/lead BG-" in staff.text(replies)


async def test_reply_is_relayed_to_the_buyer_and_logged(db: Database, buyer: ChatHarness, staff: ChatHarness) -> None:
    ref = await new_lead(buyer)
    replies = await staff.send(f"/reply {ref} Chào chị, giá <b>sỉ</b> là 30.000đ/kg & giao trong tuần.")
    assert ref in staff.text(replies)
    relayed = (await buyer_messages(db))[-1]
    assert relayed.kind == "staff_reply" and relayed.channel == "telegram" and relayed.status == "pending"
    text, _ = parse_html(relayed.payload["text"])
    assert "Message from the trade department's staff" in text  # the buyer's language
    assert "giá <b>sỉ</b> là 30.000đ/kg & giao trong tuần." in text  # staff words escaped, shown as typed
    lead = await lead_by_ref(db, ref)
    async with db.session() as session:
        logged = (await session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead.id,
                                                               LeadEvent.action == "reply"))).one()
    assert logged.actor_id == "9001" and "30.000đ/kg" in logged.note
    for bad in ("/reply", f"/reply {ref}", "/reply BG-2026-999999 hello", f"/reply {ref} " + "x" * 2001):
        replies = await staff.send(bad)
        assert replies[0].text
    assert len(await buyer_messages(db)) == 1


async def test_export_is_a_csv_with_formula_cells_neutralised(db: Database, buyer: ChatHarness,
                                                              staff: ChatHarness) -> None:
    ref = await new_lead(buyer, name="=HYPERLINK(\"http://evil\",\"x\")", organisation="@SUM(A1:A9)",
                         notes="-2+3", place="+cmd|' /C calc'!A0")
    replies = await staff.send("/export")
    document = replies[0].document
    assert document is not None and document.filename.endswith(".csv") and document.mime_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(document.data.decode("utf-8-sig"))))
    assert len(rows) == 1
    row = rows[0]
    assert row["ref"] == ref
    assert row["buyer_name"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert row["organisation"] == "'@SUM(A1:A9)"
    assert row["notes"] == "'-2+3"
    assert row["delivery_place"] == "'+cmd|' /C calc'!A0"
    assert row["phone"] == "'+44 20 7946 0958"
    assert row["quantity"] == "2 tấn" and row["time_frame"] == "Trong vòng một tháng"
    assert all(not value.startswith(("=", "+", "-", "@")) for value in row.values())


async def test_stats_by_status_product_and_week(db: Database, buyer: ChatHarness, staff: ChatHarness) -> None:
    refs = [await new_lead(buyer) for _ in range(3)]
    await staff.click(f"lead:spam:{refs[0]}")
    replies = await staff.send("/stats")
    text = staff.text(replies)
    assert "Tổng cộng 3 yêu cầu" in text
    assert "mới: 2" in text and "rác: 1" in text
    assert ": 3" in text.split("Theo sản phẩm")[1]
    assert "-W" in text.split("Theo tuần")[1]


async def test_myenquiries_lists_only_the_buyers_own(db: Database, settings: Settings, buyer: ChatHarness,
                                                     staff: ChatHarness) -> None:
    mine = await new_lead(buyer)
    other = buyer.as_user("5002", language_hint="en")
    other.channel = "telegram"
    theirs = await new_lead(other)
    await staff.click(f"lead:won:{mine}")
    replies = await buyer.send("/myenquiries")
    assert mine in buyer.text(replies) and theirs not in buyer.text(replies)
    assert "closed" in buyer.text(replies)


async def test_forget_erases_personal_data_but_keeps_the_lead(db: Database, settings: Settings,
                                                              buyer: ChatHarness, staff: ChatHarness) -> None:
    first = await new_lead(buyer, notes="call after 5pm")
    second = await new_lead(buyer)
    other = buyer.as_user("5002", language_hint="en")
    other.channel = "telegram"
    kept = await new_lead(other)
    await staff.click(f"lead:claim:{first}")
    await staff.send(f"/reply {first} Hello Jane")
    async with db.session() as session:  # pretend the first card was already posted to the staff chat
        card = await session.scalar(select(OutboxMessage).where(
            OutboxMessage.kind == "lead_card", OutboxMessage.lead_id == (await lead_by_ref(db, first)).id))
        assert card is not None
        card.status, card.sent_message_id = "sent", "314"
    await buyer.click("enq:start")  # and a form in progress
    await buyer.send("mật ong")

    replies = await buyer.send("/forget")
    assert "Erase them?" in buyer.text(replies) and "enq:forget" in buyer.payloads(replies)
    assert (await lead_by_ref(db, first)).anonymised_at is None, "nothing is erased before the buyer confirms"
    replies = await buyer.click("enq:forget")
    assert "erased" in buyer.text(replies) and "2 enquiries" in buyer.text(replies)
    for ref in (first, second):
        lead = await lead_by_ref(db, ref)
        assert lead.anonymised_at is not None
        assert (lead.buyer_name, lead.organisation, lead.phone, lead.email, lead.notes, lead.chat_id,
                lead.user_id) == ("", "", "", "", "", "", "")
        assert lead.products and lead.quantity and lead.status in ("new", "claimed"), "kept for statistics"
    assert (await lead_by_ref(db, kept)).buyer_name == "Jane Smith", "another buyer's lead is untouched"
    async with db.session() as session:
        chat = await session.scalar(select(ChatSession).where(ChatSession.chat_id == "5001"))
        assert chat is not None and chat.form is None
        everything = (await session.scalars(select(OutboxMessage))).all()
        events = (await session.scalars(select(LeadEvent).where(LeadEvent.action == "reply"))).all()
    for entry in everything:
        stored = str(entry.payload)
        if entry.lead_id != (await lead_by_ref(db, kept)).id:
            assert "Jane Smith" not in stored and "+44 20 7946 0958" not in stored and "Hello Jane" not in stored
    buyer_entries = [e for e in everything if e.kind in ("buyer_notice", "staff_reply")]
    assert buyer_entries and all(e.status == "cancelled" and e.chat_id == "" for e in buyer_entries)
    edits = [e for e in everything if e.kind == "lead_card_edit"]
    assert len(edits) == 1 and edits[0].chat_id == "-1000" and "xoá theo yêu cầu" in edits[0].payload["text"]
    assert all(e.note == "" for e in events)

    replies = await buyer.send("/myenquiries")
    assert first not in buyer.text(replies)
    replies = await staff.send(f"/reply {first} are you there?")
    assert "đã xoá thông tin" in staff.text(replies)
    replies = await staff.send(f"/lead {first}")
    assert "Jane Smith" not in staff.text(replies) and "xoá theo yêu cầu" in staff.text(replies)
    await buyer.send("/forget")
    replies = await buyer.click("enq:forget")
    assert "no enquiry details" in buyer.text(replies)
    replies = await staff.click(f"lead:won:{first}")  # still workable, but nobody to tell
    assert (await lead_by_ref(db, first)).status == "won"
    assert not [e for e in await buyer_messages(db, "") if e.status == "pending"]


async def test_cli_list_and_export(db: Database, settings: Settings, buyer: ChatHarness, staff: ChatHarness,
                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = await new_lead(buyer)
    second = await new_lead(buyer, organisation="=cmd")
    await staff.click(f"lead:claim:{first}")
    assert await cmd_leads_list(argparse.Namespace(status=None), settings) == 0
    out = capsys.readouterr().out
    assert first in out and second in out and "2 of 2" in out
    assert await cmd_leads_list(argparse.Namespace(status="claimed"), settings) == 0
    out = capsys.readouterr().out
    assert first in out and second not in out
    assert await cmd_leads_list(argparse.Namespace(status="nope"), settings) == 2
    target = tmp_path / "leads.csv"
    assert await cmd_leads_export(argparse.Namespace(file=str(target)), settings) == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert [r["ref"] for r in rows] == [first, second]
    assert rows[1]["organisation"] == "'=cmd"
    assert await cmd_leads_export(argparse.Namespace(file=str(tmp_path / "missing" / "x.csv")), settings) == 1



async def test_staff_commands_work_only_in_the_staff_chat_or_privately(
    db: Database, settings: Settings, buyer: ChatHarness, staff: ChatHarness
) -> None:
    """A staff member typing /export or /lead in some other group must not post leads there."""
    ref = await new_lead(buyer)
    elsewhere = staff.as_user("-555", "9001", display_name="Trần Thị Mai")
    for command in ("/export", f"/lead {ref}", "/leads", "/stats", f"/reply {ref} hello"):
        replies = await elsewhere.send(command)
        assert all(r.document is None for r in replies)
        shown = " ".join(r.text for r in replies)
        assert ref not in shown and "Jane" not in shown and "chỉ dành cho cán bộ" in shown  # the refusal
    privately = staff.as_user("9001", "9001", display_name="Trần Thị Mai")
    assert ref in " ".join(r.text for r in await privately.send(f"/lead {ref}"))
    assert any(r.document is not None for r in await staff.send("/export"))
