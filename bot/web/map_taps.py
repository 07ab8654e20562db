"""`GET /go/map/<store>`: a store's map link that counts its taps (demand insight), then sends the buyer on.

A map link in an answer is text, not a button, so a tap on it never reaches the bot. When the console has a
public address (OCOP_WEB_PUBLIC_URL), handlers/stores.py points the links here instead: the tap is recorded
as a `link_tap` event with the step `map` (the product on screen and the channel, both checked against what
they may be; no chat key, so map taps count taps, not buyers), and the answer is a redirect to the store's map
(its coordinates or its printed address, as the direct link would have been). Link previews (a chat app
fetches a message's first link to draw one, under a user agent that names a bot) and HEAD requests are
redirected without being counted.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import insert, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from catalog import events
from catalog.db import Database
from catalog.models import Event, Store
from handlers import cards
from handlers.stores import MAP_TAP_PATH
from locales import N_, translator

log = logging.getLogger(__name__)

MAP_STEP = "map"  # the event's step: what was tapped
NOT_ON_THE_MAP = N_("This store is not in the catalogue any more, or has no map position. Ask the bot again.")
CHANNELS = frozenset({"telegram", "zalo", "console"})
SLUG = re.compile(r"[a-z0-9-]{1,120}")
# User agents of link-preview fetchers and crawlers: they open links nobody tapped.
PREVIEWERS = re.compile(r"bot|crawl|spider|preview|facebookexternalhit|slurp", re.IGNORECASE)


def map_tap_routes(db: Database) -> list[BaseRoute]:
    async def go_to_map(request: Request) -> Response:
        slug = request.path_params["slug"]
        store = None
        if SLUG.fullmatch(slug):
            async with db.session() as session:
                store = await session.scalar(select(Store).where(Store.slug == slug))
        url = cards.store_map_url(store) if store is not None else ""
        if not url:
            # The buyer's language is not in the link: both, Vietnamese first.
            text = "\n".join(translator(lang)._(NOT_ON_THE_MAP) for lang in ("vi", "en"))
            return PlainTextResponse(text, status_code=404)
        agent = request.headers.get("user-agent", "")
        if request.method == "GET" and not PREVIEWERS.search(agent):
            channel = request.query_params.get("c", "")
            product = request.query_params.get("p", "")
            row = events.row(
                events.LINK_TAP,
                channel=channel if channel in CHANNELS else "",
                product=product if SLUG.fullmatch(product) else "",
                step=MAP_STEP,
            )
            try:
                async with db.session() as session:
                    await session.execute(insert(Event), [row])
            except Exception:  # a tap not counted must not keep the buyer from the map
                log.exception("a map tap could not be recorded")
        return RedirectResponse(url, status_code=302)

    return [Route(MAP_TAP_PATH + "{slug}", go_to_map, methods=["GET", "HEAD"])]
