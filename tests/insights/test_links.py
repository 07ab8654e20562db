"""Platform buttons report their taps on Telegram, Zalo and the terminal: a button answered with the link, recorded."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.channels.zalo import event_to_incoming, render_button
from bot.config import Settings
from catalog.db import Database
from catalog.models import Event
from handlers.links import KEEP, link_key
from handlers.messages import Reply
from tests.harness import ChatHarness


def buttons(replies: list[Reply]) -> list[tuple[str, str, str]]:
    return [(b.kind, b.payload, b.url) for r in replies for row in r.buttons for b in row]


@pytest.mark.parametrize("channel", ["telegram", "zalo", "console", "synthetic-zalo"])
async def test_a_platform_button_reports_its_tap_then_gives_the_link(
    db: Database, settings: Settings, channel: str
) -> None:
    settings = settings.model_copy(update={"events_secret": SecretStr("links")})
    chat = ChatHarness(db, settings, channel=channel, chat_id="3001", user_id="3001")
    replies = await chat.click("where:vai-thieu-hong-xuan")
    taps = [
        (label, payload)
        for r in replies
        for row in r.buttons
        for b in row
        if (label := b.label, payload := b.payload) and payload.startswith("go:")
    ]
    assert taps and all(kind != "url" for kind, _, _ in buttons(replies))  # no link opens unseen
    shopee = next(payload for label, payload in taps if "Shopee" in label)

    answer = await chat.click(shopee)
    [(kind, payload, url)] = buttons(answer)  # the link itself, one tap away
    assert (
        kind == "url"
        and url.startswith("https://shopee.vn/search?keyword=")
        and shopee == f"go:{link_key(url)}"
    )
    assert "shopee.vn" in ChatHarness.text(answer)
    assert ChatHarness.text(await chat.click("go:0123456789")).startswith(
        "Nút này đã cũ"
    )  # forgotten or forged

    await chat.router.services.events.flush()
    async with db.session() as session:
        taps_recorded = (await session.scalars(select(Event).where(Event.kind == "link_tap"))).all()
    assert [(e.step, e.product, e.channel) for e in taps_recorded] == [
        ("shopee.vn", "vai-thieu-hong-xuan", channel)
    ]


async def test_on_zalo_the_tap_comes_back_as_a_hidden_message(db: Database, settings: Settings) -> None:
    """Through Zalo's wire format: the button is `oa.query.hide`, its message is read back as the tap."""
    chat = ChatHarness(db, settings, channel="zalo", chat_id="z9", user_id="z9")
    replies = await chat.click("where:vai-thieu-hong-xuan")
    shopee = next(b for r in replies for row in r.buttons for b in row if "Shopee" in b.label)
    wire = render_button(shopee)
    assert wire is not None and wire["type"] == "oa.query.hide"
    incoming = event_to_incoming(
        {"event_name": "user_send_text", "sender": {"id": "z9"}, "message": {"text": wire["payload"]}}
    )
    assert incoming is not None and incoming.payload == shopee.payload
    answer = await chat.click(incoming.payload)
    [(kind, _, url)] = buttons(answer)
    opened = render_button(answer[0].buttons[0][0])
    assert kind == "url" and opened is not None
    assert (opened["type"], opened["payload"]) == ("oa.open.url", {"url": url})


async def test_an_untracked_channel_keeps_its_links_and_memory_stays_small(
    db: Database, settings: Settings
) -> None:
    other = ChatHarness(db, settings, channel="test", chat_id="t1", user_id="t1")
    replies = await other.click("where:vai-thieu-hong-xuan")
    assert any(kind == "url" for kind, _, _ in buttons(replies))
    assert not any(payload.startswith("go:") for _, payload, _ in buttons(replies))
    telegram = ChatHarness(db, settings, channel="telegram", chat_id="3002", user_id="3002")
    for slug in (
        "vai-thieu-hong-xuan",
        "ga-doi-yen-the",
        "mat-ong-rung-son-dong",
        "na-luc-nam",
        "banh-chung-van",
        "my-gao-chu-xuan-truong",
        "che-xanh-ban-ven",
        "sam-nam-nui-danh-kho",
        "nem-nuong-lien-chung",
    ):
        await telegram.click(f"where:{slug}")
    async with db.session() as session:
        from catalog.models import ChatSession

        row = await session.scalar(select(ChatSession).where(ChatSession.chat_id == "3002"))
    assert len(row.state["links"]) == KEEP
