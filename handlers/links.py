"""Link buttons that tell the bot they were tapped (demand insight), where the channel allows.

A URL button (an online platform's search, a store's map) opens without the bot ever knowing. On Telegram the
router therefore turns each link button of an answer into a callback button `go:<key>` (`LinkTap`; the key is
a short hash of the URL, the URL itself kept in the chat's memory), and a tap is recorded (`link_tap`: the
site's host and the product on screen) and answered with the link, one tap away. The same on Zalo (an `oa.query.hide` button: its payload comes back as a message
the chat does not show, answered with an `oa.open.url` button) and on the terminal (a numbered choice instead
of the printed link; picking it prints the link). The synthetic traffic's `synthetic-…` channels behave as
the channel they imitate.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from handlers import cards
from handlers.messages import Button, Reply, h
from handlers.payloads import LinkTap

if TYPE_CHECKING:
    from handlers.context import Context

TRACKED_CHANNELS = frozenset({"telegram", "zalo", "console"})
KEEP = 30  # links remembered per chat: the buttons of the last few answers keep working


def link_key(url: str) -> str:
    return hashlib.blake2b(url.encode(), digest_size=5).hexdigest()


def site_of(url: str) -> str:
    """The site a link leads to; for a web search restricted to one site (`site:postmart.vn …`, how a platform
    without a search address of its own is searched: handlers/stores.py), that site."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    if host.startswith("google.") and parts.path == "/search":
        words = parse_qs(parts.query).get("q", [""])[0].split()
        if words and words[0].startswith("site:") and len(words[0]) > 5:
            return words[0][5:].removeprefix("www.").lower()[:30]
    return host


def track(ctx: Context, replies: list[Reply]) -> None:
    """On a channel that allows it, make the answer's link buttons report their taps."""
    channel = ctx.incoming.channel.removeprefix("synthetic-")
    if channel not in TRACKED_CHANNELS or LinkTap.unpack(ctx.incoming.payload or "") is not None:
        return  # the answer to a tap is the link itself
    links = ctx.memory.links
    for reply in replies:
        for row in reply.buttons:
            for i, button in enumerate(row):
                if button.kind == "url" and button.url:
                    key = link_key(button.url)
                    links.pop(key, None)
                    links[key] = button.url
                    row[i] = Button(button.label, LinkTap(key).pack())
    for key in list(links)[:-KEEP]:
        del links[key]


async def on_link_tap(ctx: Context, data: LinkTap) -> list[Reply]:
    """A tracked link button: noted, then answered with the link."""
    t = ctx.t
    url = ctx.memory.links.get(data.key)
    if url is None:
        text = t._("This button is too old for me to open. Ask me again and I will show the links afresh.")
        return [Reply(h(text), cards.main_menu(t))]
    site = site_of(url)
    ctx.record("link_tap", product=ctx.memory.product or "", step=site)  # demand insight (catalog/events.py)
    text = t._("🔗 {site}: open it with the button below.", site=h(site))
    return [Reply(text, [[Button(cards.short_label(t._("↗ Open {site}", site=site)), url=url, kind="url")]])]
