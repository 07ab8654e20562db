"""The Zalo messaging client and token manager against the fake: refresh once, rotation, -32, windows, limits."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from bot.channels.zalo import MAX_TEXT, ZaloChannel
from bot.channels.zalo_api import ZaloAPIError, ZaloAuthError, ZaloRateLimited, ZaloWindowError
from bot.config import Settings
from catalog.db import Database
from catalog.models import ChannelToken
from handlers.context import Services
from handlers.messages import Button, Document, Reply
from handlers.router import Router
from tests.fakes.zalo_api import FakeZaloAPI
from tests.zalo.conftest import zalo_settings_for

USER = "246845883529197922"


class Silent(Router):
    """No conversation: these tests only send."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.features = []


def sender(db: Database, settings: Settings, backoff: float = 0.01) -> ZaloChannel:
    """The channel's sending half (no webhook listening), as the delivery worker uses it."""
    services = Services(db, settings)
    return ZaloChannel(services, Silent(services), settings, rate_limit_backoff=backoff)


@pytest.fixture
async def out(db: Database, zalo_settings: Settings, zalo: FakeZaloAPI) -> AsyncIterator[ZaloChannel]:
    zalo.add_user(USER, "Chị Lan")
    channel = sender(db, zalo_settings)
    await channel.tokens.load()
    yield channel
    await channel.stop()


async def stored_token(db: Database) -> ChannelToken:
    async with db.session() as session:
        row = await session.scalar(select(ChannelToken).where(ChannelToken.channel == "zalo"))
        assert row is not None
        return row


async def test_first_start_seeds_the_pair_and_later_starts_keep_the_stored_one(
    db: Database, settings: Settings, zalo: FakeZaloAPI, out: ZaloChannel
) -> None:
    row = await stored_token(db)
    assert (row.access_token, row.refresh_token, row.generation) == (
        "fake-access-token-0", "fake-refresh-token-0", 0)
    other = sender(db, zalo_settings_for(settings, zalo, zalo_access_token="stale-from-env"))
    try:
        pair = await other.tokens.load()
        assert pair.access_token == "fake-access-token-0"  # the database wins over the environment
    finally:
        await other.stop()


async def test_an_expired_token_is_refreshed_exactly_once_under_20_concurrent_sends(
    db: Database, zalo: FakeZaloAPI, out: ZaloChannel
) -> None:
    zalo.refresh_delay = 0.2  # a slow OAuth server widens the window for a second refresh
    zalo.expire_access_token()
    results = await asyncio.gather(*(out.deliverer.deliver(USER, Reply(text=f"tin {i}")) for i in range(20)))
    assert zalo.refresh_count == 1 and zalo.rejected_refreshes == []
    assert sorted(zalo.texts_to(USER)) == sorted(f"tin {i}" for i in range(20))
    assert len(set(results)) == 20 and all(results)
    assert {m.access_token for m in zalo.sent} == {"fake-access-token-1"}
    row = await stored_token(db)
    assert (row.access_token, row.refresh_token, row.generation) == ("fake-access-token-1", "fake-refresh-token-1", 1)
    assert row.expires_at is not None and row.expires_at > dt.datetime.now(dt.UTC) + dt.timedelta(hours=24)


async def test_two_processes_share_one_refresh(
    db: Database, zalo_settings: Settings, zalo: FakeZaloAPI, out: ZaloChannel
) -> None:
    second_db = Database(db.url)  # another process: its own engine and connections
    second = sender(second_db, zalo_settings)
    try:
        await second.tokens.load()
        zalo.refresh_delay = 0.3
        zalo.revoke_access_token()  # -216 this time
        sends = [ch.deliverer.deliver(USER, Reply(text=f"{n}-{i}"))
                 for i in range(10) for n, ch in (("a", out), ("b", second))]
        await asyncio.gather(*sends)
        assert zalo.refresh_count == 1 and zalo.rejected_refreshes == []
        assert len(zalo.sent) == 20
        assert out.tokens.refreshes + second.tokens.refreshes == 1
        assert (await stored_token(db)).generation == 1
    finally:
        await second.stop()
        await second_db.dispose()


async def test_a_used_refresh_token_is_refused_so_a_double_refresh_would_fail(
    zalo: FakeZaloAPI, zalo_settings: Settings
) -> None:
    form = {"refresh_token": "fake-refresh-token-0", "app_id": zalo.app_id, "grant_type": "refresh_token"}
    async with httpx.AsyncClient() as client:
        url = f"{zalo.url}/v4/oa/access_token"
        first = (await client.post(url, data=form, headers={"secret_key": zalo.app_secret})).json()
        again = (await client.post(url, data=form, headers={"secret_key": zalo.app_secret})).json()
        no_key = (await client.post(url, data={**form, "refresh_token": first["refresh_token"]})).json()
        as_json = (await client.post(url, json={**form, "refresh_token": first["refresh_token"]},
                                     headers={"secret_key": zalo.app_secret})).json()
    assert first["refresh_token"] == "fake-refresh-token-1" and first["expires_in"] == "90000"
    assert again["error"] < 0 and "refresh token" in again["error_description"]
    assert no_key["error"] < 0 and as_json["error"] < 0
    assert zalo.refresh_count == 1 and len(zalo.rejected_refreshes) == 3


async def test_a_refused_refresh_is_an_auth_error_that_stays_retryable(
    db: Database, zalo: FakeZaloAPI, out: ZaloChannel
) -> None:
    zalo.refresh_tokens["fake-refresh-token-0"] = False  # someone else already spent it
    zalo.expire_access_token()
    with pytest.raises(ZaloAuthError) as caught:
        await out.deliverer.deliver(USER, Reply(text="xin chào"))
    assert caught.value.refused and not caught.value.permanent and caught.value.retry_after
    assert zalo.sent == [] and zalo.refresh_count == 0
    assert (await stored_token(db)).access_token == "fake-access-token-0"  # nothing half-stored


async def test_a_new_pair_from_the_operator_rescues_a_dead_stored_pair(
    db: Database, settings: Settings, zalo: FakeZaloAPI, out: ZaloChannel
) -> None:
    zalo.refresh_tokens["fake-refresh-token-0"] = False  # the stored refresh token is dead
    zalo.refresh_tokens["operator-new-refresh"] = True  # …and the operator got a new one from the console
    zalo.expire_access_token()
    rescued = sender(db, zalo_settings_for(settings, zalo, zalo_refresh_token="operator-new-refresh"))
    try:
        await rescued.deliverer.deliver(USER, Reply(text="đã kết nối lại"))
        assert zalo.texts_to(USER) == ["đã kết nối lại"] and zalo.refresh_count == 1
        assert (await stored_token(db)).refresh_token == "fake-refresh-token-1"
    finally:
        await rescued.stop()


async def test_the_token_is_refreshed_ahead_of_expiry_without_an_error(
    db: Database, zalo: FakeZaloAPI, out: ZaloChannel
) -> None:
    async with db.session() as session:
        row = await session.scalar(select(ChannelToken))
        assert row is not None
        row.expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=3)
    await out.tokens.load()
    await out.deliverer.deliver(USER, Reply(text="sắp hết hạn"))
    assert zalo.refresh_count == 1 and [m.access_token for m in zalo.sent] == ["fake-access-token-1"]
    assert zalo.rejected == []  # the old token was never refused: the refresh came first


async def test_rate_limit_is_retried_with_backoff(zalo: FakeZaloAPI, out: ZaloChannel) -> None:
    zalo.fail_next_sends(-32, times=2)
    await out.deliverer.deliver(USER, Reply(text="sau khi chờ"))
    assert zalo.texts_to(USER) == ["sau khi chờ"]
    assert [code for _, code, _ in zalo.rejected] == [-32, -32]


async def test_a_real_rate_window_is_waited_out(
    db: Database, zalo_settings: Settings, zalo: FakeZaloAPI
) -> None:
    zalo.add_user(USER)
    zalo.set_rate_limit(2, per_seconds=0.3)
    slow = sender(db, zalo_settings, backoff=0.1)  # 0.1 + 0.2 + 0.4 s of retries outlast the 0.3 s window
    try:
        for i in range(5):
            await slow.deliverer.deliver(USER, Reply(text=f"lượt {i}"))
        assert zalo.texts_to(USER) == [f"lượt {i}" for i in range(5)]
    finally:
        await slow.stop()
    async with httpx.AsyncClient() as client:
        resp = await client.post(f"{zalo.url}/v3.0/oa/message/cs", headers={"access_token": "x"}, json={})
    assert resp.status_code == 200 and resp.headers["X-RateLimit-Limit"] == "2"
    assert "X-RateLimit-Remain" in resp.headers


async def test_rate_limit_retries_are_bounded(zalo: FakeZaloAPI, out: ZaloChannel) -> None:
    zalo.fail_next_sends(-32, times=10)
    with pytest.raises(ZaloRateLimited) as caught:
        await out.deliverer.deliver(USER, Reply(text="quá tải"))
    assert not caught.value.permanent and caught.value.retry_after
    assert len(zalo.rejected) == 4 and zalo.sent == []  # the first try and three retries


@pytest.mark.parametrize("code", [-230, -232, -213, -217, -227, -234, -244])
async def test_window_errors_are_not_retried(zalo: FakeZaloAPI, out: ZaloChannel, code: int) -> None:
    zalo.set_window_error(USER, code)
    with pytest.raises(ZaloWindowError) as caught:
        await out.deliverer.deliver(USER, Reply(text="quá hạn", buttons=[[Button("Xem", "p:x")]]))
    assert caught.value.permanent and caught.value.code == code
    assert len(zalo.rejected) == 1 and zalo.sent == [] and zalo.refresh_count == 0


async def test_the_seven_day_window_and_billable_sends(zalo: FakeZaloAPI, out: ZaloChannel) -> None:
    zalo.set_last_interaction(USER, days_ago=3)
    await out.deliverer.deliver(USER, Reply(text="trong 7 ngày"))
    assert zalo.sent[-1].billable
    zalo.set_last_interaction(USER, days_ago=8)
    with pytest.raises(ZaloWindowError) as caught:
        await out.deliverer.deliver(USER, Reply(text="quá 7 ngày"))
    assert caught.value.code == -230
    with pytest.raises(ZaloWindowError) as unknown:
        await out.deliverer.deliver("1111111111", Reply(text="chưa quan tâm OA"))
    assert unknown.value.code == -213


async def test_text_over_2000_characters_is_split_and_the_fake_enforces_the_limit(
    zalo: FakeZaloAPI, out: ZaloChannel
) -> None:
    lines = [f"Dòng {i}: Vải thiều Lục Ngạn, mỳ Chũ, gà đồi Yên Thế." for i in range(120)]
    await out.deliverer.deliver(USER, Reply(text="\n".join(lines), buttons=[[Button("Thêm", "more:2")]]))
    texts = zalo.texts_to(USER)
    assert len(texts) >= 3 and all(len(t) <= MAX_TEXT for t in texts)
    assert "\n".join(texts).split("\n") == lines
    assert [bool(m.buttons) for m in zalo.messages_to(USER)] == [False] * (len(texts) - 1) + [True]
    with pytest.raises(ZaloAPIError) as caught:
        await out.api.send_message(USER, {"text": "x" * (MAX_TEXT + 1)})
    assert caught.value.code == -201 and caught.value.permanent


async def test_documents_are_uploaded_or_named(zalo: FakeZaloAPI, out: ZaloChannel) -> None:
    pdf = Document("bang-gia.pdf", b"%PDF-1.4 fake", "application/pdf", caption="Bảng giá")
    await out.deliverer.deliver(USER, Reply(text="Gửi bạn:", document=pdf))
    csv = Document("leads.csv", b"a,b\n1,2\n", "text/csv", caption="<b>Danh sách</b>")
    await out.deliverer.deliver(USER, Reply(document=csv))
    first, caption, attached, note = zalo.messages_to(USER)
    assert (first.text, caption.text) == ("Gửi bạn:", "Bảng giá")
    assert attached.message["attachment"]["type"] == "file"
    assert zalo.uploads[attached.message["attachment"]["payload"]["token"]] == ("bang-gia.pdf", b"%PDF-1.4 fake")
    assert note.text == "Danh sách\n📎 leads.csv"


async def test_a_refused_contact_form_does_not_swallow_the_question(zalo: FakeZaloAPI, out: ZaloChannel) -> None:
    reply = Reply(text="Số điện thoại của bạn?", keyboard=[[Button("📱 Chia sẻ số điện thoại", kind="contact")]])
    await out.deliverer.deliver(USER, reply)
    assert [m.template_type for m in zalo.messages_to(USER)] == ["", "request_user_info"]
    # Were Zalo to refuse the form (some docs say its image is required), the question still gets through.
    zalo.refuse_template("request_user_info", -201)
    await out.deliverer.deliver(USER, reply)
    await out.deliverer.deliver(USER, Reply(text="Cảm ơn"))
    assert zalo.texts_to(USER)[-2:] == ["Số điện thoại của bạn?", "Cảm ơn"]
    assert [code for _, code, _ in zalo.rejected] == [-201]


async def test_a_wrong_api_url_is_a_clear_permanent_error(
    db: Database, settings: Settings, zalo: FakeZaloAPI
) -> None:
    zalo.add_user(USER)
    lost = sender(db, zalo_settings_for(settings, zalo, zalo_api_url=zalo.url + "/proxy"))
    try:
        with pytest.raises(ZaloAPIError) as caught:
            await lost.deliverer.deliver(USER, Reply(text="xin chào"))
        assert caught.value.permanent and "HTTP 404" in str(caught.value)
    finally:
        await lost.stop()
