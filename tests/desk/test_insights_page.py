"""The demand-insight report as a console page (/insights): staff only, the period chosen like the CLI's
--since, figures from events really recorded by the router; the weekly digest links to it when the console's
public address is known."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.digest import digest_text, lead_summary
from bot.insights_cli import load_report
from bot.web.server import console_app
from catalog.db import Database
from catalog.models import utcnow
from locales import translator
from tests.desk.console_helpers import WEB_SECRET, add_account, sign_in
from tests.insights.traffic import replay_known_traffic


@pytest.fixture
async def client(db: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    web = settings.model_copy(update={"web_secret": SecretStr(WEB_SECRET)})
    transport = httpx.ASGITransport(app=console_app(db, web))
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test",
                                 headers={"Accept-Language": "en"}) as http:
        yield http


def card(html: str, label: str) -> str:
    """The figure of a summary card: <div class="card"><b>12</b>Searches</div>."""
    head, _, _ = html.partition(f"</b>{label}</div>")
    return head.rsplit("<b>", 1)[1]


async def test_signed_out_the_page_is_refused(db: Database, client: httpx.AsyncClient) -> None:
    await replay_known_traffic(db, Settings(database_url=db.url))
    page = await client.get("/insights?since=30d")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Finsights"
    client.cookies.set("ocop_desk", "forged.cookie.value")
    forged = await client.get("/insights")
    assert forged.status_code == 303 and "cam bo ha" not in forged.text


async def test_staff_see_the_recorded_figures_for_the_period_chosen(
    db: Database, settings: Settings, client: httpx.AsyncClient
) -> None:
    await replay_known_traffic(db, settings)
    await add_account(db, "hung")  # not an admin: the report is for all staff
    await sign_in(client, "hung")
    leads = await client.get("/leads")
    assert 'href="/insights"' in leads.text and "Demand insight" in leads.text
    page = await client.get("/insights")  # 7 days by default, as in the digest
    assert page.status_code == 200
    assert (card(page.text, "Chats"), card(page.text, "Searches"), card(page.text, "Found nothing")) == ("5", "12", "8")
    assert (card(page.text, "Enquiries started"), card(page.text, "Enquiries confirmed")) == ("2", "1")
    assert "cam bo ha" in page.text and "banhchungg" in page.text and "<svg" in page.text  # unmet demand, charts
    assert '<option value="7d" selected>last 7 days</option>' in page.text
    report = await load_report(db, "30d")
    month = await client.get("/insights?since=30d")
    assert card(month.text, "Searches") == str(report["totals"]["searches"]) == "12"
    today = utcnow().date()
    since_yesterday = await client.get(f"/insights?since={today - dt.timedelta(days=1)}")
    assert since_yesterday.status_code == 200 and card(since_yesterday.text, "Searches") == "12"
    assert f'<option value="{today - dt.timedelta(days=1)}" selected>' in since_yesterday.text
    tomorrow = await client.get(f"/insights?since={today + dt.timedelta(days=1)}")
    assert tomorrow.status_code == 400 and "not in the future" in tomorrow.text
    for bad in ("yesterday", "0d", "<script>", "2026-02-30"):
        refused = await client.get("/insights", params={"since": bad})
        assert refused.status_code == 400 and "Choose 7 days, 30 days" in refused.text
        assert "<script>" not in refused.text


async def test_the_page_in_vietnamese(db: Database, settings: Settings, client: httpx.AsyncClient) -> None:
    await replay_known_traffic(db, settings)
    await add_account(db, "mai", language="vi")
    await sign_in(client, "mai")
    page = await client.get("/insights?since=7d")
    assert page.status_code == 200 and "Nhu cầu người mua" in page.text and "7 ngày qua" in page.text
    assert '<html lang="vi">' in page.text


async def test_the_digest_links_to_the_page_when_the_address_is_known(db: Database, settings: Settings) -> None:
    await replay_known_traffic(db, settings)
    report = await load_report(db, "7d")
    async with db.session() as session:
        leads = await lead_summary(session, utcnow())
    t = translator("en")
    linked = digest_text(report, leads, t, "https://desk.example.org/")
    assert ('in the staff console: <a href="https://desk.example.org/insights?since=7d">'
            "https://desk.example.org/insights?since=7d</a>") in linked
    assert "ocop-bot insights" not in linked
    assert "ocop-bot insights --since 7d --html" in digest_text(report, leads, t)
    with pytest.raises(ValueError, match="web_public_url"):
        Settings(web_public_url="desk.example.org")
    assert Settings(web_public_url="https://desk.example.org/ocop/").web_public_url == "https://desk.example.org/ocop"
