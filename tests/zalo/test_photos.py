"""Product photos on Zalo: an image attachment (media template) before the card's text, a file uploaded through
/v2.0/oa/upload/image, a URL passed as is, and the text kept whenever the photo cannot be sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.channels.zalo import PAYLOAD_PREFIX, ZaloChannel
from bot.config import Settings
from catalog.db import Database
from catalog.models import CatalogState, Product
from handlers.messages import Button, Reply
from tests.fakes.images import tiny_png
from tests.fakes.zalo_api import FakeZaloAPI
from tests.zalo.conftest import start_channel
from tests.zalo.test_client import USER, sender

CARD = "<b>Dưa kim Hoàng Hậu</b>\nOCOP 4 sao &amp; ngon"
KEYS = [[Button("🏪 Nơi mua", "where:dua-kim-hoang-hau")]]


@pytest.fixture
async def out(db: Database, zalo_settings: Settings, zalo: FakeZaloAPI) -> AsyncIterator[ZaloChannel]:
    zalo.add_user(USER, "Chị Lan")
    channel = sender(db, zalo_settings)
    await channel.tokens.load()
    yield channel
    await channel.stop()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "dua-kim.png"
    path.write_bytes(tiny_png())
    return path


async def test_a_local_photo_is_uploaded_then_sent_as_an_image_before_the_text(
        zalo: FakeZaloAPI, out: ZaloChannel, photo: Path) -> None:
    await out.deliverer.deliver(USER, Reply(CARD, KEYS, image=str(photo)))
    image, text = zalo.messages_to(USER)
    [element] = image.media
    assert element["media_type"] == "image"
    assert zalo.images[element["attachment_id"]] == ("dua-kim.png", tiny_png())
    assert text.text == "Dưa kim Hoàng Hậu\nOCOP 4 sao & ngon"
    assert [b["payload"] for b in text.buttons] == [PAYLOAD_PREFIX + "where:dua-kim-hoang-hau"]


async def test_a_photo_url_is_passed_as_is(zalo: FakeZaloAPI, out: ZaloChannel) -> None:
    url = "https://ocop.example.org/anh/dua-kim.jpg"
    await out.deliverer.deliver(USER, Reply(CARD, KEYS, image=url))
    image, text = zalo.messages_to(USER)
    assert image.media == [{"media_type": "image", "url": url}] and not zalo.images
    assert text.text.startswith("Dưa kim Hoàng Hậu")


@pytest.mark.parametrize("trouble", ["missing file", "not an image", "refused template"])
async def test_when_the_photo_cannot_be_sent_the_text_still_arrives(
        zalo: FakeZaloAPI, out: ZaloChannel, tmp_path: Path, trouble: str) -> None:
    if trouble == "missing file":
        image = str(tmp_path / "gone.png")
    elif trouble == "not an image":
        (tmp_path / "notes.png").write_bytes(b"these are not pixels")
        image = str(tmp_path / "notes.png")
    else:
        zalo.refuse_template("media")
        image = "https://ocop.example.org/anh/dua-kim.jpg"
    await out.deliverer.deliver(USER, Reply(CARD, KEYS, image=image))
    [text] = zalo.messages_to(USER)
    assert text.text.startswith("Dưa kim Hoàng Hậu") and not text.media
    assert [b["payload"] for b in text.buttons] == [PAYLOAD_PREFIX + "where:dua-kim-hoang-hau"]


async def test_a_product_card_with_a_photo_through_the_webhook(
        db: Database, zalo_settings: Settings, zalo: FakeZaloAPI, photo: Path) -> None:
    async with db.session() as session:
        await session.execute(sa.update(Product).where(Product.slug == "dua-kim-hoang-hau").values(image=str(photo)))
        await session.execute(sa.update(CatalogState).values(version=CatalogState.version + 1))
    zalo.add_user(USER, "Chị Lan")
    channel = await start_channel(db, zalo_settings, zalo)
    try:
        pushed = await zalo.send_text(USER, "dưa kim hoàng hậu")
        assert pushed.status_code == 200
        await channel.drain()
        messages = zalo.messages_to(USER)
        assert messages[0].media and zalo.images[messages[0].media[0]["attachment_id"]][1] == tiny_png()
        text = "\n".join(m.text for m in messages[1:])
        assert "Dưa kim Hoàng Hậu" in text and "QĐ 1387/QĐ-UBND" in text
    finally:
        await channel.stop()
