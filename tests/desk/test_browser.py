"""The console in a real browser (headless Chromium through Selenium) beside the real bot: a buyer's enquiry
made on Telegram (the local fake Bot API) shows in the inbox; staff sign in, filter, claim (the card in the
staff chat is edited), note, reply (the buyer receives it on Telegram) and export; a claim made in the staff
chat shows in the console; and the browser without a session or with a forged form is refused.

Screenshots of each step are saved under the test's tmp dir (and, with DESK_DOCS_SCREENSHOT=1, the
Vietnamese inbox into docs/desk-inbox.png for the README)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pydantic import SecretStr
from selenium import webdriver
from sqlalchemy import select

from bot.app import RunningBot, running_bot
from bot.config import Settings
from catalog.db import Database
from catalog.models import Lead, OutboxMessage
from tests.desk.browser import Browser, start_chromium
from tests.desk.console_helpers import PASSWORD, WEB_SECRET, add_account
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import ChatHarness
from tests.leads.helpers import REF, confirm, fill_form, make_leads
from tests.leads.test_end_to_end import STAFF_CHAT, STAFF_USER, answer, last_text, tap, until

TOKEN = "727272:DESK-BROWSER"
BUYER = 5001
DOCS = Path(__file__).resolve().parents[2] / "docs"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def driver(downloads: Path) -> Iterator[webdriver.Chrome]:
    chromium = start_chromium(downloads)
    yield chromium
    chromium.quit()


@pytest.fixture
async def app(settings: Settings, db: Database, api: FakeTelegramAPI) -> AsyncIterator[RunningBot]:
    running = settings.model_copy(
        update={
            "telegram_token": SecretStr(TOKEN),
            "telegram_base_url": api.base_url,
            "web_secret": SecretStr(WEB_SECRET),
            "web_port": free_port(),
        }
    )
    async with running_bot(running, channel="telegram", db=db) as bot:
        yield bot


@pytest.fixture
def browser(app: RunningBot, driver: webdriver.Chrome, tmp_path: Path) -> Browser:
    driver.delete_all_cookies()
    return Browser(driver, f"http://127.0.0.1:{app.services.settings.web_port}", tmp_path / "screenshots")


async def buyer_enquiry(api: FakeTelegramAPI) -> str:
    """A buyer on Telegram asks for honey, the way test_end_to_end does; returns the reference."""
    await answer(api, "I want to place a bulk order", "question 1 of 10")
    await answer(api, "honey", "Which product do you mean?")
    await tap(api, BUYER, "enq:p:", "Type another product")
    await tap(api, BUYER, "enq:next", "question 2 of 10")
    for text, expect in (
        ("300 cartons", "3 of 10"),
        ("Hanoi, Long Bien market", "4 of 10"),
        ("next month", "5 of 10"),
        ("Jane <Smith> & Co", "6 of 10"),
        ("Fresh Ltd", "7 of 10"),
        ("+84 912 345 678", "8 of 10"),
        ("jane@example.com", "9 of 10"),
        ("no", "10 of 10"),
        ("yes", "Please check"),
    ):
        await answer(api, text, expect)
    await tap(api, BUYER, "enq:confirm", "BG-")
    found = REF.search(last_text(api, BUYER))
    assert found
    return found.group(0)


async def sign_in(browser: Browser, name: str, password: str = PASSWORD) -> None:
    await browser.type("input[name=username]", name)
    await browser.type("input[name=password]", password)
    await browser.click("#sign-in")


async def test_staff_work_a_telegram_lead_in_the_browser(
    app: RunningBot, api: FakeTelegramAPI, db: Database, browser: Browser, downloads: Path
) -> None:
    await add_account(db, "mai", telegram_id=STAFF_USER)
    ref = await buyer_enquiry(api)
    card = await until(
        api,
        lambda: next((m for m in api.bot_messages(STAFF_CHAT) if ref in m.get("text", "")), None),
        "the lead card reached the staff chat",
    )

    await browser.go("/leads")
    assert browser.path.startswith("/login")
    await browser.shot("01-sign-in")
    await sign_in(browser, "mai", "not the password")
    assert "Wrong username or password." in await browser.text(".error")
    await sign_in(browser, "mai")
    await browser.until(lambda: browser.driver.find_element("css selector", "#leads"), "the inbox")
    row = await browser.text(f"tr[data-ref='{ref}']")
    assert "Jane <Smith> & Co" in row and "+84 912 345 678" in row and " new " in row
    await browser.shot("02-inbox")

    # Filters: by status and product group; a status with no lead shows the empty message.
    await browser.choose("select[name=status]", value="new")
    await browser.choose("select[name=group]", text="Food")
    await browser.click("#apply-filters")
    await browser.until(lambda: "status=new" in browser.driver.current_url, "the filtered inbox")
    assert await browser.exists(f"tr[data-ref='{ref}']")
    await browser.choose("select[name=status]", value="won")
    await browser.click("#apply-filters")
    await browser.until(lambda: browser.driver.find_elements("css selector", "#no-leads"), "an empty result")
    await browser.shot("03-filtered-empty")

    # The lead: claim (the staff chat's card is edited, the buyer is told), a private note, a reply.
    await browser.go(f"/leads/{ref}")
    assert "Jane <Smith> & Co" in await browser.text("#buyer")
    await browser.click("#claim")
    await browser.until(lambda: "You claimed this lead." in browser.driver.page_source, "the claim notice")
    assert await browser.text("#assignee") == "mai"
    await until(
        api,
        lambda: "đã nhận xử lý" in api.message(STAFF_CHAT, card["message_id"])["text"],
        "the card in the staff chat shows the console's claim",
    )
    assert "mai" in api.message(STAFF_CHAT, card["message_id"])["text"].splitlines()[1]  # "handled by mai"
    await until(api, lambda: "taken up your wholesale enquiry" in last_text(api, BUYER), "the buyer was told")
    await browser.type("#note", "Called her: wants samples <first>")
    await browser.click("#add-note")
    await browser.until(lambda: "Note added." in browser.driver.page_source, "the note notice")
    assert "Called her: wants samples <first>" in await browser.text("#timeline")
    await browser.type("#reply-text", "Hello Jane, we can deliver 300 cartons in June.")
    await browser.click("#send-reply")
    await browser.until(lambda: "on its way" in browser.driver.page_source, "the reply notice")
    await until(
        api, lambda: "we can deliver 300 cartons in June." in last_text(api, BUYER), "the reply arrived"
    )
    assert "Message from the trade department's staff" in last_text(api, BUYER)
    await browser.shot("04-lead")
    await browser.script("document.getElementById('timeline').scrollIntoView()")
    await browser.shot("04-lead-timeline")

    # Export: the XLSX the browser downloads has the lead with its times.
    await browser.go("/leads")
    # The download folder is the module's: other runs' files are there already.
    earlier = await asyncio.to_thread(lambda: set(downloads.glob("leads-*.xlsx")))
    await browser.click("#export-xlsx")
    sheet = await browser.until(
        lambda: next(iter(set(downloads.glob("leads-*.xlsx")) - earlier), None), "the XLSX download"
    )
    rows = list(load_workbook(sheet).active.iter_rows(values_only=True))
    row_of = dict(zip(rows[0], rows[1], strict=True))
    assert (
        row_of["ref"] == ref
        and row_of["assignee"] == "mai"
        and row_of["claimed_at"]
        and row_of["first_reply_at"]
    )
    assert row_of["phone"] == "+84 912 345 678"


async def test_a_claim_in_the_staff_chat_shows_in_the_console(
    app: RunningBot, api: FakeTelegramAPI, db: Database, settings: Settings, browser: Browser
) -> None:
    await add_account(db, "mai", telegram_id=STAFF_USER)
    await add_account(db, "hung")
    [ref] = await make_leads(db, settings, 1)
    app.worker.wake()  # type: ignore[union-attr]
    card = await until(
        api,
        lambda: next((m for m in api.bot_messages(STAFF_CHAT) if ref in m.get("text", "")), None),
        "the lead card reached the staff chat",
    )
    await browser.go(f"/leads/{ref}")
    await sign_in(browser, "hung")
    await browser.until(lambda: browser.driver.find_elements("css selector", "#claim"), "the lead page")
    api.push_callback(
        STAFF_CHAT, card["message_id"], f"lead:claim:{ref}", user_id=STAFF_USER, first_name="Mai"
    )
    await until(
        api, lambda: "đã nhận xử lý" in api.message(STAFF_CHAT, card["message_id"])["text"], "claimed in the chat"
    )
    assert "mai" in api.message(STAFF_CHAT, card["message_id"])["text"].splitlines()[1]
    await browser.go(f"/leads/{ref}")
    assert await browser.text("#assignee") == "mai"
    assert "mai claimed" in await browser.text("#timeline")
    assert not await browser.exists("#claim")
    await browser.shot("05-claimed-in-telegram")


async def test_the_browser_is_refused_without_a_session_or_with_a_forged_form(
    app: RunningBot, db: Database, settings: Settings, browser: Browser
) -> None:
    await add_account(db, "mai")
    [ref] = await make_leads(db, settings, 1)
    await browser.go(f"/leads/{ref}")
    assert browser.path.startswith("/login")  # no session: the sign-in page, nothing of the lead
    assert "Người mua" not in await browser.text()
    forge = """
        const form = document.createElement('form');
        form.method = 'post'; form.action = arguments[0];
        for (const [k, v] of Object.entries(arguments[1])) {
            const field = document.createElement('input'); field.name = k; field.value = v; form.appendChild(field);
        }
        document.body.appendChild(form); form.submit();"""
    await browser.script(forge, f"/leads/{ref}/claim", {"csrf_token": "forged"})
    await browser.until(lambda: browser.driver.find_elements("css selector", "#refused"), "the refusal page")
    assert "Please sign in first." in await browser.text("#refused")
    await browser.go("/login")
    await sign_in(browser, "mai")
    await browser.until(lambda: browser.driver.find_elements("css selector", "#leads"), "the inbox")
    await browser.script(forge, f"/leads/{ref}/claim", {"csrf_token": "forged"})
    await browser.until(lambda: browser.driver.find_elements("css selector", "#refused"), "the refusal page")
    assert "did not come from the console" in await browser.text("#refused")
    await browser.shot("06-forged-post")
    async with db.session() as session:
        lead = await session.scalar(select(Lead).where(Lead.ref == ref))
        edits = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "lead_card_edit"))
        ).all()
    assert lead is not None and lead.status == "new" and lead.claimed_at is None and not edits
    await asyncio.sleep(0)


async def test_the_inbox_in_vietnamese_with_several_leads(
    app: RunningBot, db: Database, settings: Settings, browser: Browser
) -> None:
    """A Vietnamese account's inbox (the README's screenshot, with DESK_DOCS_SCREENSHOT=1)."""
    await add_account(db, "lan", admin=True, language="vi")
    hung = await add_account(db, "hung", language="vi")
    refs = []
    for i, (product, quantity, name) in enumerate(
        (
            ("vải thiều", "1,5 tấn", "Nguyễn Văn An"),
            ("gà đồi", "300 con", "Trần Thị Bích"),
            ("mỳ chũ", "500 kg", "Lê Minh Châu"),
        )
    ):
        buyer = ChatHarness(
            db, settings, channel="telegram", chat_id=str(6001 + i), user_id=str(6001 + i), language_hint="vi"
        )
        await fill_form(buyer, "vi", product=product, quantity=quantity, name=name, email=None, notes=None)
        refs.append(await confirm(buyer))
    async with db.session() as session:
        lead = await session.scalar(select(Lead).where(Lead.ref == refs[0]))
        assert lead is not None
        lead.assignee_id, lead.tags = hung, ["xuất khẩu"]
    await browser.go("/login?lang=vi")
    await sign_in(browser, "lan")
    await browser.until(lambda: browser.driver.find_elements("css selector", "#leads"), "the inbox")
    page = await browser.text()
    assert "Yêu cầu mua sỉ" in page and "Người phụ trách" in page and "Trần Thị Bích" in page
    assert all(ref in page for ref in refs) and "xuất khẩu" in page and "Phân luồng" in page
    await browser.shot("07-inbox-vi")
    if os.environ.get("DESK_DOCS_SCREENSHOT") == "1":
        shutil.copy(browser.shots / "07-inbox-vi.png", DOCS / "desk-inbox.png")
