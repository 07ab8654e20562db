"""The desk's rules around a new lead: the buyer told the truth when no staff chat is set, told when to
expect contact out of hours, routing rules with round-robin assignment; business hours; `ocop-bot doctor`."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.config import Settings
from bot.doctor import cmd_doctor
from catalog import deadlines
from catalog.db import Database
from catalog.leads import LOCAL_ZONE
from catalog.models import Lead, LeadEvent, OutboxMessage, RoutingRule, utcnow
from tests.desk.console_helpers import ALWAYS_OPEN, add_account
from tests.harness import ChatHarness
from tests.leads.helpers import fill_form


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LOCAL_ZONE)  # type: ignore[misc]


async def set_hours(db: Database, hours: deadlines.BusinessHours) -> None:
    async with db.session() as session:
        await deadlines.save_hours(session, hours)


async def enquire(db: Database, settings: Settings, user: str = "5001") -> tuple[str, str]:
    buyer = ChatHarness(db, settings, channel="telegram", chat_id=user, user_id=user, language_hint="en")
    await fill_form(buyer, "en")
    replies = await buyer.click("enq:confirm")
    if "enq:confirm:again" in ChatHarness.payloads(replies):
        replies = await buyer.click("enq:confirm:again")
    text = ChatHarness.text(replies)
    ref = text.split("enquiry ", 1)[1].split()[0]
    return ref, text


async def test_without_a_staff_chat_the_buyer_is_told_the_enquiry_is_recorded_not_sent(
    db: Database, settings: Settings
) -> None:
    await set_hours(db, ALWAYS_OPEN)
    unset = settings.model_copy(update={"staff_chat_id": None})
    ref, text = await enquire(db, unset)
    assert f"Your enquiry {ref} is recorded" in text and "has not reached the trade department" in text
    assert "has been sent" not in text and "closed now" not in text
    ref, text = await enquire(db, settings, "5002")
    assert f"Your enquiry {ref} has been sent" in text


async def test_out_of_hours_the_buyer_is_told_when_to_expect_contact(
    db: Database, settings: Settings
) -> None:
    today = utcnow().astimezone(LOCAL_ZONE).isoweekday()
    await set_hours(db, deadlines.BusinessHours(days=[today % 7 + 1], public_holidays=False))  # only tomorrow
    _, text = await enquire(db, settings)
    tomorrow = (utcnow().astimezone(LOCAL_ZONE) + dt.timedelta(days=1)).date()
    assert "The department is closed now; staff will see it from" in text
    assert f"{tomorrow.month}/{tomorrow.day}/{tomorrow.year % 100}, 8:00" in text  # opening, Vietnam time


def test_working_time_skips_nights_weekends_tet_and_the_departments_days_off() -> None:
    hours = deadlines.BusinessHours(holidays=["2026-03-02"])
    friday_late = local(2026, 2, 13, 16, 0)  # Friday before Tết 2026
    # 1 h on Friday, then Tết (16–20 Feb) and the weekends are skipped: Monday 23 Feb, 09:00.
    assert hours.add_working_time(friday_late, 2) == local(2026, 2, 23, 9, 0).astimezone(dt.UTC)
    assert hours.next_opening(local(2026, 2, 28, 10, 0)) == local(2026, 3, 3, 8, 0).astimezone(dt.UTC)
    assert hours.is_open(local(2026, 3, 3, 16, 59)) and not hours.is_open(local(2026, 3, 3, 17, 0))
    with pytest.raises(deadlines.HoursError):
        deadlines.BusinessHours(opens="18:00", closes="08:00")
    with pytest.raises(deadlines.HoursError):
        deadlines.BusinessHours(holidays=["2026-13-01"])


def test_a_desk_open_until_midnight_is_open_in_the_days_last_minute() -> None:
    # "23:59" left a minute a day closed: a test run then (16:59 UTC) saw the desk closed.
    hours = deadlines.BusinessHours(days=[1, 2, 3, 4, 5, 6, 7], opens="00:00", closes=deadlines.END_OF_DAY,
                                    public_holidays=False)
    assert hours.is_open(local(2026, 3, 3, 23, 59, 30)) and hours.is_open(local(2026, 3, 4, 0, 0))
    assert hours.add_working_time(local(2026, 3, 3, 23, 30), 1) == local(2026, 3, 4, 0, 30).astimezone(dt.UTC)
    with pytest.raises(deadlines.HoursError):
        deadlines.BusinessHours(opens="24:00", closes="24:00")


async def test_routing_rules_pick_the_staff_chat_and_assign_in_turn(db: Database, settings: Settings) -> None:
    await set_hours(db, ALWAYS_OPEN)
    first = await add_account(db, "mai")
    second = await add_account(db, "hung")
    async with db.session() as session:
        session.add(RoutingRule(position=2, product_group="", district="", chat_id="-3000", staff_ids=[]))
        session.add(
            RoutingRule(
                position=1, product_group="food", district="", chat_id="-2000", staff_ids=[first, second]
            )
        )
    refs = [(await enquire(db, settings, str(5001 + i)))[0] for i in range(3)]
    async with db.session() as session:
        leads = {x.ref: x for x in (await session.scalars(select(Lead))).all()}
        cards = {
            x.lead_id: x.chat_id
            for x in (
                await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "lead_card"))
            ).all()
        }
        assigned = (
            await session.scalars(
                select(LeadEvent).where(LeadEvent.action == "assign").order_by(LeadEvent.id)
            )
        ).all()
    assert [leads[r].assignee_id for r in refs] == [first, second, first]
    assert {cards[leads[r].id] for r in refs} == {"-2000"} and {leads[r].staff_chat_id for r in refs} == {
        "-2000"
    }
    assert [(e.actor_name, e.note) for e in assigned] == [
        ("routing", "mai"),
        ("routing", "hung"),
        ("routing", "mai"),
    ]


async def test_doctor_checks_the_web_secret_and_staff_accounts(
    db: Database, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = settings.model_copy(update={"staff_chat_id": None, "web_port": 8000})
    assert await cmd_doctor(argparse.Namespace(), bare) == 1
    out = capsys.readouterr().out
    assert "OCOP_WEB_SECRET is not set" in out and "`ocop-bot run` does not serve the console" in out
    assert "staff accounts: none" in out and "OCOP_STAFF_CHAT_ID is not set" in out
    await add_account(db, "mai", admin=True, telegram_id=9001)
    await add_account(db, "hung", telegram_id=4444)
    ready = settings.model_copy(update={"web_secret": SecretStr("s" * 40)})
    assert await cmd_doctor(argparse.Namespace(), ready) == 1
    out = capsys.readouterr().out
    assert "web console: secret set" in out and "staff accounts: 2 active, 1 admin(s)" in out
    assert "hung: Telegram user 4444 is not in OCOP_STAFF_USER_IDS" in out and "without an account" in out


async def test_staff_work_leads_in_a_routed_chat_and_nowhere_else(db: Database, settings: Settings) -> None:
    await set_hours(db, ALWAYS_OPEN)
    async with db.session() as session:
        session.add(RoutingRule(position=1, product_group="food", district="", chat_id="-2000", staff_ids=[]))
    ref, _ = await enquire(db, settings)
    elsewhere = ChatHarness(db, settings, channel="telegram", chat_id="-2999", user_id="9001")
    refused = await elsewhere.click(f"lead:claim:{ref}")
    assert "chỉ cán bộ" in refused[0].notice
    assert "chỉ dành cho cán bộ" in ChatHarness.text(await elsewhere.send("/leads"))
    routed = ChatHarness(
        db, settings, channel="telegram", chat_id="-2000", user_id="9001", display_name="Mai"
    )
    claimed = await routed.click(f"lead:claim:{ref}")
    assert claimed[0].edit and "Mai" in claimed[0].text
    stranger = ChatHarness(db, settings, channel="telegram", chat_id="-2000", user_id="4444")
    assert "chỉ cán bộ" in (await stranger.click(f"lead:won:{ref}"))[0].notice
    async with db.session() as session:
        lead = await session.scalar(select(Lead).where(Lead.ref == ref))
    assert lead is not None and lead.status == "claimed"
