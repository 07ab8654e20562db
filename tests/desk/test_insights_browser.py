"""The console's insights page in a real browser (headless Chromium through Selenium) beside the real bot: a
signed-out visit goes to the sign-in page and back, the nav leads to the page, the period is chosen from the
menu, and the figures are those of events the router recorded. Screenshots (the whole page) are saved under
the test's tmp dir; with DESK_DOCS_SCREENSHOT=1 the report over 3,000 SYNTHETIC chats is written to
docs/insights-report.png for the README."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import delete

from benchmarks.synthetic_traffic import replay
from bot.app import RunningBot
from bot.config import Settings
from catalog.db import Database
from catalog.models import Event, utcnow
from handlers.context import Services
from handlers.router import Router
from tests.desk.browser import Browser
from tests.desk.console_helpers import add_account
from tests.desk.test_browser import TOKEN as BROWSER_TOKEN
from tests.desk.test_browser import app, browser, downloads, driver, sign_in  # noqa: F401 (fixtures)
from tests.insights.traffic import replay_known_traffic

TOKEN = BROWSER_TOKEN  # the imported `app` fixture signs in with it
DOCS = Path(__file__).resolve().parents[2] / "docs"


async def whole_page_shot(window: Browser, name: str) -> Path:
    """A screenshot of the whole page, not only the window (the window is put back after)."""
    size = await window.script("return [window.outerWidth, window.outerHeight];")
    await window._run(window.driver.set_window_size, 1200, 900)
    height = await window.script("return document.documentElement.scrollHeight;")
    await window._run(window.driver.set_window_size, 1200, int(height) + 200)
    try:
        return await window.shot(name)
    finally:
        await window._run(window.driver.set_window_size, *size)


async def test_staff_read_the_insights_page_in_the_browser(
    app: RunningBot, db: Database, settings: Settings, browser: Browser  # noqa: F811
) -> None:
    await replay_known_traffic(db, settings)
    await add_account(db, "mai", language="vi")
    await browser.go("/insights?since=30d")
    assert browser.path.startswith("/login")  # signed out: the sign-in page, then back to the report
    await sign_in(browser, "mai")
    await browser.until(lambda: browser.path.startswith("/insights"), "back on the insights page after sign-in")
    await browser.go("/leads")
    await browser.click("header nav a[href='/insights']")
    await browser.until(lambda: browser.path.startswith("/insights"), "the nav's link to the report")
    report = await browser.text("#report")
    assert "OCOP Bot: người mua đang tìm gì" in report
    cards = await browser.text("#report .cards")
    assert "5\nCuộc trò chuyện" in cards and "12\nLượt tìm kiếm" in cards and "8\nKhông tìm thấy" in cards
    assert "cam bo ha" in report and "banhchungg" in report  # unmet demand, grouped
    assert await browser.exists("#report svg")  # the charts, drawn on the server
    await browser.choose("#period select[name=since]", value="30d")
    await browser.click("#period button")
    await browser.until(lambda: browser.path == "/insights?since=30d", "the 30-day report")
    assert "12\nLượt tìm kiếm" in await browser.text("#report .cards")
    yesterday = (utcnow() - dt.timedelta(days=1)).date().isoformat()
    await browser.go(f"/insights?since={yesterday}")
    assert "12\nLượt tìm kiếm" in await browser.text("#report .cards")
    await whole_page_shot(browser, "insights-vi")
    await browser.go("/insights?since=soon")
    assert "Hãy chọn 7 ngày, 30 ngày" in await browser.text("#error")

    if os.environ.get("DESK_DOCS_SCREENSHOT") == "1":
        async with db.session() as session:  # the picture shows the synthetic chats only
            await session.execute(delete(Event))
        synthetic = settings.model_copy(update={"events_secret": SecretStr("synthetic-traffic")})
        services = Services(db, synthetic)
        await replay(Router(services), chats=3000, weeks=8)
        await services.events.stop()
        await browser.go("/insights?since=60d")
        assert "GIẢ LẬP" in await browser.text("#report")
        shot = await whole_page_shot(browser, "insights-synthetic-vi")
        shutil.copy(shot, DOCS / "insights-report.png")
