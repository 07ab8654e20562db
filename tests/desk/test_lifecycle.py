"""The lead lifecycle shared by the staff chat and the console: events with who and when, the desk's times,
accounts linked to Telegram ids, notes, tags, assignment, and the 0005 migration's backfill."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from openpyxl import load_workbook
from sqlalchemy import select

from bot.config import Settings
from bot.leads_cli import cmd_leads_export, cmd_leads_list
from catalog import desk
from catalog import leads as lead_book
from catalog import staff_accounts as accounts
from catalog.db import Database, alembic_config
from catalog.models import Lead, LeadEvent
from tests.harness import ChatHarness
from tests.leads.helpers import confirm, fill_form, make_leads

PASSWORD = "correct horse battery"


@pytest.fixture
def buyer(db: Database, settings: Settings) -> ChatHarness:
    return ChatHarness(
        db,
        settings,
        channel="telegram",
        chat_id="5001",
        user_id="5001",
        language_hint="en",
        display_name="Jane Smith",
    )


@pytest.fixture
def staff(db: Database, settings: Settings) -> ChatHarness:
    return ChatHarness(
        db, settings, channel="telegram", chat_id="-1000", user_id="9001", display_name="Mai T."
    )


async def lead_by_ref(db: Database, ref: str) -> Lead:
    async with db.session() as session:
        lead = await session.scalar(select(Lead).where(Lead.ref == ref))
        assert lead is not None
        return lead


async def test_a_claim_in_the_staff_chat_is_the_linked_accounts_and_sets_the_desk_times(
    db: Database, buyer: ChatHarness, staff: ChatHarness
) -> None:
    async with db.session() as session:
        mai = await accounts.add_account(session, "mai", PASSWORD, telegram_id=9001)
        mai_id = mai.id
    await fill_form(buyer, "en")
    ref = await confirm(buyer)
    lead = await lead_by_ref(db, ref)
    assert lead.product_group == "food" and lead.district  # the catalogued lychee's group and former district
    assert lead.claimed_at is None and lead.assignee_id is None

    await staff.click(f"lead:claim:{ref}")
    lead = await lead_by_ref(db, ref)
    assert lead.claimed_at is not None and lead.assignee_id == mai_id and lead.claimed_by == "mai"
    await staff.send(f"/reply {ref} We can supply it in June.")
    await staff.send(f"/reply {ref} A second message.")
    await staff.click(f"lead:won:{ref}")
    lead = await lead_by_ref(db, ref)
    assert lead.first_reply_at is not None and lead.closed_at is not None
    assert lead.claimed_at <= lead.first_reply_at <= lead.closed_at
    async with db.session() as session:
        events = (
            await session.scalars(
                select(LeadEvent).where(LeadEvent.lead_id == lead.id).order_by(LeadEvent.id)
            )
        ).all()
    assert [(e.action, e.staff_id, e.actor_name) for e in events[1:]] == [
        ("claim", mai_id, "mai"),
        ("reply", mai_id, "mai"),
        ("reply", mai_id, "mai"),
        ("won", mai_id, "mai"),
    ]


async def test_notes_tags_and_assignment_are_on_the_timeline(db: Database, buyer: ChatHarness) -> None:
    await fill_form(buyer, "en")
    ref = await confirm(buyer)
    async with db.session() as session:
        admin = await accounts.add_account(session, "lan", PASSWORD, admin=True)
        other = await accounts.add_account(session, "hung", PASSWORD)
        lead = await desk.find_by_ref(session, ref)
        assert lead is not None
        actor = desk.Actor.of_account(admin)
        await desk.assign(session, lead, other, actor)
        with pytest.raises(desk.DeskRefused):
            await desk.assign(session, lead, other, actor)
        await desk.add_note(session, lead, "  Called: wants samples first  ", actor)
        with pytest.raises(desk.DeskRefused):
            await desk.add_note(session, lead, "   ", actor)
        assert await desk.change_tags(session, lead, actor, add="  Export  ")
        assert not await desk.change_tags(session, lead, actor, add="export")
        assert await desk.change_tags(session, lead, actor, add="samples", remove="export")
        other_id = other.id
    async with db.session() as session:
        lead = await desk.find_by_ref(session, ref)
        assert lead is not None and lead.assignee_id == other_id and lead.tags == ["samples"]
        events = await lead_book.lead_events(session, lead)
        assert [(e.action, e.note, e.actor_name) for e in events[1:]] == [
            ("assign", "hung", "lan"),
            ("note", "Called: wants samples first", "lan"),
            ("tag", "+export", "lan"),
            ("tag", "+samples -export", "lan"),
        ]
        page = await desk.inbox(session, desk.InboxFilter(assignee=str(other_id), product_group="food"))
        assert [x.ref for x in page.leads] == [ref]
        assert (await desk.inbox(session, desk.InboxFilter(assignee="none"))).total == 0


async def test_sign_in_checks_the_password_and_throttles_repeated_failures(db: Database) -> None:
    async with db.session() as session:
        with pytest.raises(accounts.AccountError):
            await accounts.add_account(session, "x", PASSWORD)
        with pytest.raises(accounts.AccountError):
            await accounts.add_account(session, "short", "12345")
        account = await accounts.add_account(session, "mai", PASSWORD)
        assert account.password_hash.startswith("$argon2id$") and PASSWORD not in account.password_hash
        with pytest.raises(accounts.AccountError):
            await accounts.add_account(session, "MAI", PASSWORD)
    async with db.session() as session:
        assert (await accounts.sign_in(session, "Mai", PASSWORD, "10.0.0.1")).account is not None
        for _ in range(accounts.MAX_FAILURES):
            result = await accounts.sign_in(session, "mai", "wrong password!", "10.0.0.1")
            assert result.account is None and not result.throttled
    async with db.session() as session:
        result = await accounts.sign_in(
            session, "mai", PASSWORD, "10.0.0.2"
        )  # right password, name throttled
        assert result.account is None and result.throttled
        result = await accounts.sign_in(session, "nobody", PASSWORD, "10.0.0.1")  # the address is throttled
        assert result.throttled


async def _migrate(db: Database, revision: str, direction: str = "upgrade") -> None:
    cfg = alembic_config(db.url)

    def run(connection: Any) -> None:
        cfg.attributes["connection"] = connection
        getattr(command, direction)(cfg, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


async def test_the_migration_fills_the_desk_times_of_earlier_leads(db_url: str) -> None:
    db = Database(db_url)
    try:
        await _migrate(db, "0004_inbox")
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO products (slug, name_vi, name_en, aliases, category, commune, district, province, "
                    "description_vi, description_en, sources, updated_at) VALUES ('vai', 'Vải', '', '[]', 'food', '', "
                    "'Lục Ngạn', '', '', '', '[]', '2026-01-01 00:00:00')"
                )
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO leads (id, ref, channel, chat_id, user_id, language, products, quantity, delivery_place, "
                    "time_frame, buyer_name, organisation, phone, email, notes, status, claimed_by, consent_at, "
                    "created_at, updated_at) VALUES (1, 'BG-2026-000001', 'telegram', '1', '1', 'vi', "
                    "'[{\"slug\": \"vai\"}]', '', '', '', '', '', '', '', '', 'won', 'Mai', '2026-01-01 00:00:00', "
                    "'2026-01-01 00:00:00', '2026-01-03 00:00:00')"
                )
            )
            for n, (action, to, when) in enumerate(
                [
                    ("created", "new", "01 00"),
                    ("claim", "claimed", "01 02"),
                    ("reply", "claimed", "01 03"),
                    ("reply", "claimed", "02 00"),
                    ("won", "won", "03 00"),
                ]
            ):
                day, hour = when.split()
                await conn.execute(
                    sa.text(
                        "INSERT INTO lead_events (id, lead_id, actor_id, actor_name, action, from_status, to_status, "
                        f"note, created_at) VALUES ({n + 1}, 1, '9', 'Mai', '{action}', '', '{to}', '', "
                        f"'2026-01-{day} {hour}:00:00')"
                    )
                )
            await conn.execute(
                sa.text(
                    "INSERT INTO outbox (id, kind, lead_id, channel, chat_id, payload, status, attempts, "
                    "next_attempt_at, last_error, sent_message_id, created_at, lease_owner) VALUES (1, 'lead_card', 1, "
                    "'telegram', '-1', '{}', 'sent', 1, '2026-01-01 00:00:00', '', '5', '2026-01-01 00:00:00', '')"
                )
            )
        assert await db.upgrade()
        async with db.engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT COUNT(*) FROM lead_events"))).scalar() == 5
            assert (await conn.execute(sa.text("SELECT COUNT(*) FROM outbox"))).scalar() == 1
        async with db.session() as session:
            lead = await session.get(Lead, 1)
            assert lead is not None
            assert (lead.claimed_at.day, lead.claimed_at.hour) == (1, 2)
            assert (lead.first_reply_at.day, lead.first_reply_at.hour) == (1, 3)
            assert lead.closed_at.day == 3 and lead.tags == [] and lead.assignee_id is None
            assert (lead.product_group, lead.district) == ("food", "Lục Ngạn")
        # And back: the desk's columns go, the lead's events and outbox entries stay (SQLite recreates tables).
        await _migrate(db, "0004_inbox", "downgrade")
        async with db.engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT COUNT(*) FROM lead_events"))).scalar() == 5
            assert (await conn.execute(sa.text("SELECT COUNT(*) FROM outbox"))).scalar() == 1
            columns = await conn.run_sync(lambda c: [x["name"] for x in sa.inspect(c).get_columns("leads")])
            tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        assert "assignee_id" not in columns and "claimed_at" not in columns and "staff_accounts" not in tables
        assert await db.upgrade()
    finally:
        await db.dispose()


async def test_the_assignee_column_refers_to_the_staff_accounts(db: Database) -> None:
    """Added in place on SQLite (not by recreating `leads`), with its foreign key all the same."""
    async with db.engine.connect() as conn:
        if db.url.startswith("sqlite"):
            keys = (await conn.execute(sa.text("PRAGMA foreign_key_list(leads)"))).all()
            assert [(k[2], k[3], k[6]) for k in keys] == [("staff_accounts", "assignee_id", "SET NULL")]


async def test_the_cli_lists_the_buyer_and_phone_and_exports_xlsx(
    db: Database, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [ref] = await make_leads(db, settings, 1)
    assert await cmd_leads_list(argparse.Namespace(status=None), settings) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if ref in x)
    assert "Người mua 0" in line and "+84 912 345 678" in line
    target = tmp_path / "leads.xlsx"
    assert await cmd_leads_export(argparse.Namespace(file=str(target)), settings) == 0
    rows = list(load_workbook(target).active.iter_rows(values_only=True))
    assert dict(zip(rows[0], rows[1], strict=True))["phone"] == "+84 912 345 678" and len(rows) == 2
