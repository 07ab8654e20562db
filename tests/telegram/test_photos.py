"""Product photos on Telegram: sendPhoto with the card as caption (or before a long card), a file uploaded as
multipart, a URL passed as is, and the text kept whenever the photo cannot be sent; through the fake Bot API."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Defaults, ExtBot

from bot.app import RunningBot, running_bot
from bot.channels.telegram import TelegramDeliverer
from bot.config import Settings
from catalog.db import Database
from catalog.models import CatalogState, Product
from handlers.messages import Button, Reply, h
from tests.fakes.images import tiny_png
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "616161:PHOTO-TEST"
CHAT = 888
WAIT = 15.0


def test_the_generated_png_is_a_valid_image() -> None:
    data = tiny_png(4, 3)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (4, 3)
    length = struct.unpack(">I", data[33:37])[0]
    assert data[37:41] == b"IDAT"
    assert zlib.decompress(data[41:41 + length]) == (b"\x00" + bytes((200, 30, 60)) * 4) * 3


@pytest.fixture
async def deliverer(api: FakeTelegramAPI) -> AsyncIterator[TelegramDeliverer]:
    bot = ExtBot(TOKEN, base_url=api.base_url, defaults=Defaults(parse_mode=ParseMode.HTML),
                 rate_limiter=AIORateLimiter(max_retries=3))
    async with bot:
        yield TelegramDeliverer(bot)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "dua-kim.png"
    path.write_bytes(tiny_png())
    return path


def buttons_of(message: dict) -> list[str]:
    return [b.get("callback_data") or b.get("url") for row in message.get("reply_markup", {}).get(
        "inline_keyboard", []) for b in row]


CARD = "<b>Dưa kim Hoàng Hậu</b>\n★★★★ OCOP 4 sao\n" + h("Dưa của HTX rau sạch Yên Dũng & bạn bè.")
KEYS = [[Button("🏪 Nơi mua", "where:dua-kim-hoang-hau")], [Button("Web", url="https://ocop.example.org", kind="url")]]


async def test_a_local_photo_is_uploaded_with_the_card_as_its_caption_and_the_keyboard(
        api: FakeTelegramAPI, deliverer: TelegramDeliverer, photo: Path) -> None:
    await deliverer.deliver(str(CHAT), Reply(CARD, KEYS, image=str(photo)))
    [call] = api.calls("sendPhoto")
    assert call.files["photo"].content == tiny_png()  # multipart upload of the file's bytes
    assert call.files["photo"].filename == "dua-kim.png"
    assert not api.calls("sendMessage")
    [message] = api.bot_messages(CHAT)
    assert message["caption"].startswith("Dưa kim Hoàng Hậu\n★★★★ OCOP 4 sao")
    assert "HTX rau sạch Yên Dũng & bạn bè." in message["caption"]  # escaped, shown as written
    assert any(e["type"] == "bold" for e in message["caption_entities"])
    assert buttons_of(message) == ["where:dua-kim-hoang-hau", "https://ocop.example.org"]


async def test_a_photo_url_is_passed_as_is(api: FakeTelegramAPI, deliverer: TelegramDeliverer) -> None:
    url = "https://ocop.example.org/anh/dua-kim.jpg"
    await deliverer.deliver(str(CHAT), Reply(CARD, KEYS, image=url))
    [call] = api.calls("sendPhoto")
    assert call.params["photo"] == url and not call.files
    assert buttons_of(api.bot_messages(CHAT)[0]) == ["where:dua-kim-hoang-hau", "https://ocop.example.org"]


async def test_a_card_longer_than_a_caption_follows_the_photo_with_its_keyboard(
        api: FakeTelegramAPI, deliverer: TelegramDeliverer, photo: Path) -> None:
    long_card = CARD + "\n" + h("Mô tả dài của sản phẩm. " * 60)  # > 1,024 characters
    assert len(long_card) > 1024
    message_id = await deliverer.deliver(str(CHAT), Reply(long_card, KEYS, image=str(photo)))
    messages = api.bot_messages(CHAT)
    assert [("photo" in m, "text" in m) for m in messages] == [(True, False), (False, True)]
    assert "caption" not in messages[0] and buttons_of(messages[0]) == []
    assert messages[1]["text"].startswith("Dưa kim Hoàng Hậu") and "Mô tả dài" in messages[1]["text"]
    assert buttons_of(messages[1]) == ["where:dua-kim-hoang-hau", "https://ocop.example.org"]
    assert message_id == f"{messages[0]['message_id']},{messages[1]['message_id']}"


@pytest.mark.parametrize("trouble", ["missing file", "not an image", "refused URL"])
async def test_when_the_photo_cannot_be_sent_the_card_still_arrives_as_text(
        api: FakeTelegramAPI, deliverer: TelegramDeliverer, tmp_path: Path, trouble: str) -> None:
    if trouble == "missing file":
        image = str(tmp_path / "gone.png")
    elif trouble == "not an image":
        (tmp_path / "notes.png").write_bytes(b"these are not pixels")
        image = str(tmp_path / "notes.png")
    else:
        image = "https://ocop.example.org/404.jpg"
        api.fail_next("sendPhoto", "400", description="Bad Request: wrong file identifier/HTTP URL specified")
    await deliverer.deliver(str(CHAT), Reply(CARD, KEYS, image=image))
    [message] = api.bot_messages(CHAT)
    assert message["text"].startswith("Dưa kim Hoàng Hậu")
    assert buttons_of(message) == ["where:dua-kim-hoang-hau", "https://ocop.example.org"]


# --- through the running bot: a product with a photo in the catalogue


@pytest.fixture
async def bot_with_photo(settings: Settings, db: Database, api: FakeTelegramAPI,
                         photo: Path) -> AsyncIterator[RunningBot]:
    async with db.session() as session:
        await session.execute(sa.update(Product).where(Product.slug == "dua-kim-hoang-hau").values(image=str(photo)))
        await session.execute(sa.update(CatalogState).values(version=CatalogState.version + 1))
    tg = settings.model_copy(update={"telegram_token": SecretStr(TOKEN), "telegram_base_url": api.base_url})
    async with running_bot(tg, channel="telegram", db=db) as running:
        yield running


async def test_a_product_card_with_a_photo_is_sent_as_a_photo(bot_with_photo: RunningBot, api: FakeTelegramAPI,
                                                              photo: Path) -> None:
    api.push_message(111, "dưa kim hoàng hậu")
    await api.wait_for(lambda: api.calls("sendPhoto"), WAIT, message="a photo sent")
    [call] = api.calls("sendPhoto")
    assert call.files["photo"].content == tiny_png()
    await api.wait_for(lambda: any("where:dua-kim-hoang-hau" in buttons_of(m) for m in api.bot_messages(111)),
                       WAIT, message="the card's keyboard")
    shown = "\n".join(m.get("caption") or m.get("text") or "" for m in api.bot_messages(111))
    assert "Dưa kim Hoàng Hậu" in shown
    assert "QĐ 1387/QĐ-UBND" in shown or "Decision 1387/QĐ-UBND" in shown
    # a product without a photo is still a text message
    api.push_message(111, "sâm nam núi dành khô")
    await api.wait_for(lambda: any("Sâm nam núi Dành khô" in (m.get("text") or "") for m in api.bot_messages(111)),
                       WAIT, message="a text card")
    assert len(api.calls("sendPhoto")) == 1
