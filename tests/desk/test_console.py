"""The staff console over HTTP (the real Starlette app, real database): sign-in, the inbox and a lead's page,
every action with its CSRF token and audit line, the export, and every refusal for an outsider."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from collections.abc import AsyncIterator

import httpx
import pytest
from openpyxl import load_workbook
from pydantic import SecretStr
from sqlalchemy import select

from bot.config import Settings
from bot.web.server import console_app
from catalog import deadlines
from catalog.db import Database
from catalog.models import AuditEntry, CannedReply, Lead, OutboxMessage, RoutingRule
from tests.desk.console_helpers import ALWAYS_OPEN, WEB_SECRET, add_account, csrf_of, sign_in
from tests.harness import ChatHarness
from tests.leads.helpers import confirm, fill_form, make_leads, snapshot


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"web_secret": SecretStr(WEB_SECRET)})


@pytest.fixture
async def client(db: Database, web_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=console_app(db, web_settings))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://desk.test", headers={"Accept-Language": "en"}
    ) as http:
        yield http


@pytest.fixture
async def ref(db: Database, settings: Settings) -> str:
    buyer = ChatHarness(
        db,
        settings,
        channel="telegram",
        chat_id="5001",
        user_id="5001",
        language_hint="en",
        display_name="Jane Smith",
    )
    await fill_form(buyer, "en", name="Jane <b>Smith</b>", organisation='=HYPERLINK("http://x")')
    return await confirm(buyer)


async def lead_of(db: Database, ref: str) -> Lead:
    async with db.session() as session:
        lead = await session.scalar(select(Lead).where(Lead.ref == ref))
        assert lead is not None
        return lead


async def test_healthz_and_the_sign_in_page(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    page = await client.get("/leads")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    login = await client.get("/login?lang=vi")
    assert 'name="username"' in login.text and 'name="password"' in login.text and "Đăng nhập" in login.text
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=28800" in cookie


async def test_staff_work_a_lead_from_the_console(db: Database, client: httpx.AsyncClient, ref: str) -> None:
    await add_account(db, "mai")
    assert (await sign_in(client, "mai", "wrong password")).status_code == 401
    signed = await sign_in(client, "mai")
    assert signed.status_code == 303 and signed.headers["location"] == "/leads"
    inbox = await client.get("/leads")
    assert ref in inbox.text and "Jane &lt;b&gt;Smith&lt;/b&gt;" in inbox.text  # escaped, never markup
    assert "+44 20 7946 0958" in inbox.text
    page = await client.get(f"/leads/{ref}")
    token = csrf_of(page.text)

    claimed = await client.post(f"/leads/{ref}/claim", data={"csrf_token": token})
    assert claimed.status_code == 303
    lead = await lead_of(db, ref)
    assert lead.status == "claimed" and lead.claimed_by == "mai" and lead.assignee_id is not None
    await client.post(f"/leads/{ref}/note", data={"csrf_token": token, "note": "Wants <samples> first"})
    await client.post(f"/leads/{ref}/tags", data={"csrf_token": token, "add": "Export"})
    replied = await client.post(
        f"/leads/{ref}/reply", data={"csrf_token": token, "text": "We can supply in June."}
    )
    assert replied.status_code == 303
    page = await client.get(replied.headers["location"])
    assert "Your reply is on its way to the buyer." in page.text
    assert "Wants &lt;samples&gt; first" in page.text and "We can supply in June." in page.text
    async with db.session() as session:
        to_buyer = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.chat_id == "5001").order_by(OutboxMessage.id)
            )
        ).all()
        edits = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "lead_card_edit"))
        ).all()
        audit = [
            (a.username, a.action, a.subject)
            for a in (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
        ]
    assert [m.kind for m in to_buyer][-2:] == ["buyer_notice", "staff_reply"]
    assert "We can supply in June." in to_buyer[-1].payload["text"] and ref in to_buyer[-1].payload["text"]
    assert edits and "mai" in edits[-1].payload["text"]  # the card in the staff chat shows the claim
    assert [e.status for e in edits].count("pending") == 1  # each change supersedes the previous edit
    assert ("", "login_failed", "mai") in audit and ("mai", "login", "mai") in audit
    assert [a for a in audit if a[0] == "mai"][1:] == [
        ("mai", "claim", ref),
        ("mai", "note", ref),
        ("mai", "tags", ref),
        ("mai", "reply", ref),
    ]
    lead = await lead_of(db, ref)
    assert lead.tags == ["export"] and lead.first_reply_at is not None

    done = await client.post(f"/leads/{ref}/status", data={"csrf_token": token, "action": "won"})
    assert (await lead_of(db, ref)).status == "won" and done.status_code == 303
    again = await client.post(f"/leads/{ref}/status", data={"csrf_token": token, "action": "won"})
    assert again.status_code == 409 and "already" in again.text


async def test_canned_replies_fill_the_buyers_details_in_their_language(
    db: Database, client: httpx.AsyncClient, ref: str
) -> None:
    await add_account(db, "lan", admin=True)
    await sign_in(client, "lan")
    token = csrf_of((await client.get("/admin/canned")).text)
    added = await client.post(
        "/admin/canned",
        data={
            "csrf_token": token,
            "title": "Price list",
            "body_vi": "Chào {buyer}, về {product} ({quantity})…",
            "body_en": "Dear {buyer}, about {product} ({quantity}): we will send our prices.",
        },
    )
    assert added.status_code == 303
    async with db.session() as session:
        canned = await session.scalar(select(CannedReply))
        assert canned is not None
    page = await client.get(f"/leads/{ref}")
    assert (
        "Dear Jane &lt;b&gt;Smith&lt;/b&gt;, about Lục Ngạn Lychee" in page.text or "Dear Jane" in page.text
    )
    sent = await client.post(f"/leads/{ref}/reply", data={"csrf_token": token, "canned": str(canned.id)})
    assert sent.status_code == 303
    async with db.session() as session:
        reply = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "staff_reply"))
    assert reply is not None
    text = reply.payload["text"]
    assert (
        "Dear Jane &lt;b&gt;Smith&lt;/b&gt;, about " in text
        and "(2 tonnes): we will send our prices." in text
    )
    assert "{buyer}" not in text and "{product}" not in text


async def test_export_is_one_row_per_lead_with_times_and_neutralised_formulas(
    db: Database, client: httpx.AsyncClient, ref: str
) -> None:
    await add_account(db, "mai")
    await sign_in(client, "mai")
    token = csrf_of((await client.get(f"/leads/{ref}")).text)
    await client.post(f"/leads/{ref}/claim", data={"csrf_token": token})
    await client.post(f"/leads/{ref}/reply", data={"csrf_token": token, "text": "Hello"})
    sheet = await client.get("/leads/export.xlsx")
    assert sheet.status_code == 200 and "attachment" in sheet.headers["content-disposition"]
    book = load_workbook(io.BytesIO(sheet.content))
    rows = list(book.active.iter_rows(values_only=True))
    header, row = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert len(rows) == 2 and "first_response_minutes" in header
    assert row["ref"] == ref and row["assignee"] == "mai" and row["claimed_at"] and row["first_reply_at"]
    assert row["phone"] == "+44 20 7946 0958"  # text as written: no apostrophe, no number
    cell = book.active.cell(row=2, column=header.index("organisation") + 1)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")  # a string, never a formula
    text = (await client.get("/leads/export.csv")).content.decode("utf-8-sig")
    [line] = list(csv.DictReader(io.StringIO(text)))
    assert line["organisation"].startswith("'=HYPERLINK") and line["ref"] == ref
    assert (await client.get("/leads/export.pdf")).status_code == 404


async def test_outsiders_are_refused_every_action_and_nothing_changes(
    db: Database, client: httpx.AsyncClient, web_settings: Settings, ref: str
) -> None:
    await add_account(db, "mai")
    await add_account(db, "old")
    before = await snapshot(db)
    actions = {
        "claim": {},
        "status": {"action": "spam"},
        "assign": {"assignee": "1"},
        "note": {"note": "x"},
        "tags": {"add": "x"},
        "reply": {"text": "x"},
    }
    # No session at all.
    for action, fields in actions.items():
        refused = await client.post(f"/leads/{ref}/{action}", data={"csrf_token": "anything", **fields})
        assert refused.status_code == 403 and "Please sign in first." in refused.text
    for path in ("/leads", f"/leads/{ref}", "/leads/export.csv", "/admin/accounts"):
        assert (await client.get(path)).status_code == 303
    # A buyer's Telegram id is not an account, and a forged cookie signs nobody in.
    assert (await sign_in(client, "5001", "5001")).status_code == 401
    client.cookies.set("ocop_desk", "eyJhIjoxLCJnIjowLCJjIjoieCJ9.forged.signature")
    assert (await client.post(f"/leads/{ref}/claim", data={"csrf_token": "x"})).status_code == 403
    client.cookies.clear()
    # A signed-in session, but a form posted without its token or from another site (a forged post).
    await sign_in(client, "mai")
    for action, fields in actions.items():
        for token in ("", "wrong-token"):
            refused = await client.post(f"/leads/{ref}/{action}", data={"csrf_token": token, **fields})
            assert refused.status_code == 403 and "did not come from the console" in refused.text
    # Staff who are not admins cannot open or post to the admin pages.
    token = csrf_of((await client.get("/leads")).text)
    assert (await client.get("/admin/accounts")).status_code == 403
    made = await client.post(
        "/admin/accounts",
        data={
            "csrf_token": token,
            "do": "add",
            "username": "evil",
            "password": "a long enough secret",
            "admin": "1",
        },
    )
    assert made.status_code == 403
    assert await snapshot(db) == before
    # Signing out ends the session: a copy of the old cookie no longer works.
    cookie = client.cookies.get("ocop_desk")
    await client.post("/logout", data={"csrf_token": token})
    client.cookies.set("ocop_desk", cookie)
    assert (await client.post(f"/leads/{ref}/claim", data={"csrf_token": token})).status_code == 403
    assert await snapshot(db) == before
    async with db.session() as session:
        refusals = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "refused"))).all()
    assert len(refusals) >= len(actions) * 3


async def test_sign_in_is_throttled_after_repeated_failures(db: Database, client: httpx.AsyncClient) -> None:
    await add_account(db, "mai")
    for _ in range(5):
        assert (await sign_in(client, "mai", "wrong password")).status_code == 401
    throttled = await sign_in(client, "mai")
    assert throttled.status_code == 429 and "Too many failed sign-ins" in throttled.text


async def test_the_event_loop_goes_on_while_a_password_is_checked(db: Database, client: httpx.AsyncClient) -> None:
    """Argon2 spends a few tenths of a second on each sign-in: the bot's webhooks, served by the same loop, must
    not wait for it (an unknown name, checked against the dummy hash, and a known one alike)."""
    await add_account(db, "mai")
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.002)
            ticks += 1

    for name in ("nobody", "mai"):
        page = await client.get("/login")
        ticker = asyncio.create_task(ticking())
        ticks = 0
        response = await client.post(
            "/login", data={"username": name, "password": "wrong password", "csrf_token": csrf_of(page.text)}
        )
        ticker.cancel()
        assert response.status_code == 401
        assert ticks >= 10, f"the loop stood still while {name!r}'s password was checked ({ticks} ticks)"


async def test_admins_manage_routing_rules_and_business_hours(
    db: Database, client: httpx.AsyncClient
) -> None:
    await add_account(db, "lan", admin=True)
    hung = await add_account(db, "hung")
    await sign_in(client, "lan")
    token = csrf_of((await client.get("/admin/routing")).text)
    bad = await client.post("/admin/routing", data={"csrf_token": token, "position": "1", "chat_id": "abc"})
    assert bad.status_code == 400 and "Not saved" in bad.text
    added = await client.post(
        "/admin/routing",
        data={
            "csrf_token": token,
            "position": "1",
            "product_group": "food",
            "district": "Lục Ngạn",
            "chat_id": "-2000",
            "staff": str(hung),
        },
    )
    assert added.status_code == 303
    page = await client.get("/admin/routing")
    assert "Lục Ngạn" in page.text and "-2000" in page.text and "hung" in page.text
    async with db.session() as session:
        [rule] = (await session.scalars(select(RoutingRule))).all()
        assert (rule.product_group, rule.chat_id, rule.staff_ids) == ("food", "-2000", [hung])
    # An id no database integer holds names no rule: nothing is deleted, and nothing fails.
    forged = await client.post("/admin/routing", data={"csrf_token": token, "do": "delete", "id": "9" * 20})
    assert forged.status_code == 303
    async with db.session() as session:
        assert len((await session.scalars(select(RoutingRule))).all()) == 1
    saved = await client.post(
        "/admin/hours",
        data={
            "csrf_token": token,
            "days": ["1", "2", "3", "4", "5", "6"],
            "opens": "07:30",
            "closes": "17:00",
            "public_holidays": "1",
            "holidays": "2026-12-31",
            "claim_hours": "1.5",
            "reply_hours": "4",
            "escalate_hours": "2",
        },
    )
    assert saved.status_code == 303
    async with db.session() as session:
        hours = await deadlines.load_hours(session)
    assert (hours.days, hours.opens, hours.holidays, hours.claim_hours) == (
        [1, 2, 3, 4, 5, 6],
        "07:30",
        ["2026-12-31"],
        1.5,
    )
    refused = await client.post(
        "/admin/hours",
        data={
            "csrf_token": token,
            "days": "1",
            "opens": "18:00",
            "closes": "08:00",
            "claim_hours": "1",
            "reply_hours": "1",
            "escalate_hours": "1",
        },
    )
    assert refused.status_code == 400 and "closes: must be after opens" in refused.text


async def test_the_overdue_filter_shows_leads_past_a_deadline(
    db: Database, client: httpx.AsyncClient, settings: Settings
) -> None:
    await add_account(db, "mai")
    [late, fresh] = await make_leads(db, settings, 2)
    async with db.session() as session:
        await deadlines.save_hours(
            session,
            ALWAYS_OPEN,
        )
        lead = await session.scalar(select(Lead).where(Lead.ref == late))
        assert lead is not None
        lead.created_at = lead.created_at - dt.timedelta(days=3)
    await sign_in(client, "mai")
    page = await client.get("/leads?overdue=1")
    assert late in page.text and fresh not in page.text and "claim overdue" in page.text
