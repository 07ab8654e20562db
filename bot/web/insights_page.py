"""The demand-insight report as a page of the staff console: `/insights?since=7d|30d|YYYY-MM-DD`.

The same report and charts as `ocop-bot insights --html` (catalog/insights.py, bot/insights_html.py), read from
the recorded events for the period chosen; signed-in staff only (the console's `page` wrapper checks the
session). Only aggregated figures are shown: events hold no user id, name or phone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.insights_html import render_body
from catalog.insights import Period, build_report, parse_since
from catalog.models import StaffAccount, utcnow
from catalog.snapshot import load_catalog
from locales import Translator

if TYPE_CHECKING:
    from bot.web.console import Console

PERIODS = ("7d", "30d", "90d")
DEFAULT_PERIOD = "7d"


def insights_url(public_url: str, since: str = DEFAULT_PERIOD) -> str:
    """The page's address for people (the weekly digest links to it)."""
    return f"{public_url.rstrip('/')}/insights?since={since}"


def insights_routes(console: Console, page: Callable[..., Any]) -> list[BaseRoute]:
    """The console's insights page, wrapped by the console's `page` (signed-in staff, audit of refusals)."""

    @page()
    async def insights(
        request: Request,
        session: AsyncSession,
        account: StaffAccount,
        t: Translator,
        data: dict[str, Any],
        form: FormData | None,
    ) -> Response:
        since = request.query_params.get("since", DEFAULT_PERIOD).strip()[:20] or DEFAULT_PERIOD
        now = utcnow()
        try:
            start = parse_since(since, now)
        except ValueError:
            start = None
        if start is not None and start > now:
            start = None  # a date in the future: nothing to show
        if start is None:
            return console.render(
                request, "insights.html", t, data, status=400, account=account, since=since, periods=PERIODS,
                day="", days="", error=t._("Choose 7 days, 30 days, 90 days or a date that is not in the future."),
                body="",
            )
        catalog = await load_catalog(session)
        report = await build_report(session, catalog, Period(start, now))
        day = since if _is_date(since) else ""
        days = "" if day else since.removesuffix("d")  # parse_since took it: a number of days
        return console.render(
            request, "insights.html", t, data, account=account, since=since, periods=PERIODS, day=day, days=days,
            error="", body=Markup(render_body(report, t)),  # noqa: S704 — render_body escapes every value
        )

    return [Route("/insights", insights, methods=["GET"])]


def _is_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True

