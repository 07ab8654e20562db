"""The Zalo webhook against the fake's signed pushes: signatures, staleness, replays, ordering, health."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import tracemalloc

import httpx
from sqlalchemy import func, select

from bot.channels.zalo import ZaloChannel
from bot.config import Settings
from catalog.db import Database
from catalog.models import ProcessedEvent
from handlers.context import Services
from handlers.messages import Incoming, Reply
from handlers.router import Finish, Router
from tests.fakes.zalo_api import FakeZaloAPI
from tests.zalo.conftest import free_port

USER = "246845883529197922"


async def processed_count(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(ProcessedEvent)) or 0)


class RecordingRouter(Router):
    """A router that echoes and notes what reached it (optionally slow on the first message), so these
    tests see exactly what the webhook let through, whatever the conversation handlers say."""

    def __init__(self, services: Services, first_delay: float = 0.0) -> None:
        self.services = services
        self.features = []
        self.seen: list[Incoming] = []
        self.first_delay = first_delay

    async def handle(self, incoming: Incoming, *, finish: Finish | None = None) -> list[Reply]:
        self.seen.append(incoming)
        if len(self.seen) == 1 and self.first_delay:
            await asyncio.sleep(self.first_delay)  # a slow first answer must not let later ones overtake it
        replies = [Reply(text=f"echo {incoming.text or incoming.payload}")]
        if finish is not None:  # the real router's contract: the inbox's mark commits with the answer
            async with self.services.db.session() as session:
                await finish(session, replies)
        return replies


async def recording_channel(db: Database, settings: Settings, zalo: FakeZaloAPI,
                            first_delay: float = 0.0) -> tuple[ZaloChannel, RecordingRouter]:
    services = Services(db, settings)
    router = RecordingRouter(services, first_delay)
    channel = ZaloChannel(services, router, settings, rate_limit_backoff=0.01)
    await channel.start()
    zalo.webhook_url = f"http://127.0.0.1:{channel.port}{settings.zalo_webhook_path}"
    return channel, router


async def test_health_check_answers_when_ready(db: Database, zalo_settings: Settings, zalo: FakeZaloAPI) -> None:
    channel, _ = await recording_channel(db, zalo_settings, zalo)
    url = f"http://127.0.0.1:{channel.port}/healthz"
    async with httpx.AsyncClient() as client:
        resp = await client.get(url)
        assert resp.status_code == 200 and resp.text == "ok"
        await channel.stop()
        try:
            await client.get(url)
        except httpx.ConnectError:
            pass
        else:
            raise AssertionError("still listening after stop()")


async def test_forged_signatures_are_rejected_with_nothing_processed(
    db: Database, zalo_settings: Settings, zalo: FakeZaloAPI
) -> None:
    channel, router = await recording_channel(db, zalo_settings, zalo)
    try:
        for how in ("bad", "none", "wrong-key", "mac=", "sha256=abc"):
            pushed = await zalo.send_text(USER, "mỳ chũ", signature=how)
            assert pushed.status_code == 401, how
        # A correctly signed body with one byte changed afterwards.
        good = await zalo.send_text(USER, "mỳ chũ")
        assert good.status_code == 200
        await channel.drain()
        tampered = good.body.replace("mỳ chũ".encode(), "mỳ chữ".encode())
        assert tampered != good.body
        async with httpx.AsyncClient() as client:
            resp = await client.post(zalo.webhook_url or "", content=tampered, headers=good.headers)
        assert resp.status_code == 401
        # An event for another app, signed with its own id.
        other = zalo.event("user_send_text", USER, app_id="999", message={"text": "x", "msg_id": "other-app"})
        assert (await zalo.push(other)).status_code == 401
        await channel.drain()
        assert [i.text for i in router.seen] == ["mỳ chũ"]  # only the genuine one
        assert await processed_count(db) == 1
        assert zalo.texts_to(USER) == ["echo mỳ chũ"]
    finally:
        await channel.stop()


async def test_a_replayed_event_is_handled_once_even_by_another_process(
    db: Database, zalo_settings: Settings, zalo: FakeZaloAPI
) -> None:
    channel, router = await recording_channel(db, zalo_settings, zalo)
    try:
        pushed = await zalo.send_text(USER, "xin chào")
        again = await zalo.replay(pushed)
        assert (pushed.status_code, again.status_code) == (200, 200)
        assert again.response == {"status": "duplicate"}
        await channel.drain()
        assert len(router.seen) == 1 and zalo.texts_to(USER) == ["echo xin chào"]
    finally:
        await channel.stop()
    # A second process on the same database (a restart, or another worker) refuses it too.
    other_db = Database(db.url)
    second, second_router = await recording_channel(other_db, zalo_settings, zalo)
    try:
        # This process has not seen it, but the inbox has: refused before the 200.
        assert (await zalo.replay(pushed)).response == {"status": "duplicate"}
        follow = await zalo.follow(USER)
        assert (await zalo.replay(follow)).response == {"status": "duplicate"}  # no msg_id: name+user+time
        await second.drain()
        assert [i.text for i in second_router.seen] == ["/start"]
        assert await processed_count(db) == 2
    finally:
        await second.stop()
        await other_db.dispose()


async def test_an_event_and_its_retry_at_two_processes_are_handled_once(
    db: Database, zalo_settings: Settings, zalo: FakeZaloAPI
) -> None:
    first, first_router = await recording_channel(db, zalo_settings, zalo)
    first_url = zalo.webhook_url
    other_db = Database(db.url)
    other_settings = zalo_settings.model_copy(update={"zalo_webhook_port": free_port()})
    second, second_router = await recording_channel(other_db, other_settings, zalo)
    try:
        for i in range(10):
            pushed = await zalo.send_text(USER, f"tin {i}")  # to the second process
            again = await zalo.replay(pushed, first_url)  # and its retry lands on the first
            assert (pushed.status_code, again.status_code) == (200, 200)
        await asyncio.gather(first.drain(), second.drain())
        seen = sorted(i.text or "" for i in first_router.seen + second_router.seen)
        assert seen == sorted(f"tin {i}" for i in range(10))
        assert await processed_count(db) == 10
    finally:
        await first.stop()
        await second.stop()
        await other_db.dispose()


async def test_stale_and_future_events_are_not_acted_on(
    db: Database, zalo_settings: Settings, zalo: FakeZaloAPI
) -> None:
    channel, router = await recording_channel(db, zalo_settings, zalo)
    try:
        now = int(time.time() * 1000)
        old = await zalo.send_text(USER, "cũ", timestamp_ms=now - 11 * 60_000)
        future = await zalo.send_text(USER, "tương lai", timestamp_ms=now + 6 * 60_000)
        garbage = await zalo.push(zalo.event("user_send_text", USER, timestamp="soon",
                                             message={"text": "x", "msg_id": "ts"}))
        for pushed in (old, future, garbage):
            assert pushed.status_code == 200 and pushed.response == {"status": "ignored", "reason": "stale"}
        recent = await zalo.send_text(USER, "mới", timestamp_ms=now - 60_000)
        assert recent.response == {"status": "ok"}
        await channel.drain()
        assert [i.text for i in router.seen] == ["mới"]
        assert await processed_count(db) == 1
    finally:
        await channel.stop()


async def test_other_events_and_bad_bodies_are_answered_without_effect(
    db: Database, zalo_settings: Settings, zalo: FakeZaloAPI
) -> None:
    channel, router = await recording_channel(db, zalo_settings, zalo)
    try:
        for event in (
            zalo.event("unfollow", USER),
            zalo.event("user_send_sticker", USER, message={"msg_id": "st1", "attachments": [{"type": "sticker"}]}),
            zalo.event("user_seen_message", USER, message={"msg_ids": ["1"]}),
            zalo.event("oa_send_text", USER, message={"msg_id": "echo1", "text": "from the OA"}),
            zalo.event("user_send_text", USER, message={"msg_id": "empty", "text": ""}),
        ):
            pushed = await zalo.push(event)
            assert pushed.status_code == 200 and pushed.response == {"status": "ignored"}
        async with httpx.AsyncClient() as client:
            url = zalo.webhook_url or ""
            assert (await client.post(url, content=b"{not json")).status_code == 400
            assert (await client.post(url, content=b"[1,2]")).status_code == 400
            assert (await client.post(url, content=b"x" * 300_000)).status_code == 413
            assert (await client.get(url)).status_code == 405
        await channel.drain()
        assert router.seen == [] and zalo.sent == [] and await processed_count(db) == 0
    finally:
        await channel.stop()


async def test_each_users_messages_are_answered_in_order(
    db: Database, zalo_settings: Settings, zalo: FakeZaloAPI
) -> None:
    channel, router = await recording_channel(db, zalo_settings, zalo, first_delay=0.3)
    try:
        other = "1234567890123456789"
        for i in range(5):
            assert (await zalo.send_text(USER, f"tin {i}")).response == {"status": "ok"}
        await zalo.send_text(other, "người khác")
        # The other user is not stuck behind the slow first answer.
        await zalo.wait_for_messages(other, 1)
        assert len(zalo.messages_to(USER)) == 0
        await channel.drain()
        assert zalo.texts_to(USER) == [f"echo tin {i}" for i in range(5)]
        assert zalo.texts_to(other) == ["echo người khác"]
    finally:
        await channel.stop()


async def test_old_processed_ids_are_pruned(db: Database, zalo_settings: Settings, zalo: FakeZaloAPI) -> None:
    month_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    async with db.session() as session:
        session.add(ProcessedEvent(channel="zalo", event_id="ancient", created_at=month_ago))
        session.add(ProcessedEvent(channel="telegram", event_id="ancient", created_at=month_ago))
    channel, _ = await recording_channel(db, zalo_settings, zalo)  # prunes on start
    try:
        await zalo.send_text(USER, "hôm nay")
        await channel.drain()
        async with db.session() as session:
            session.add(ProcessedEvent(channel="zalo", event_id="old", created_at=month_ago))
        assert await processed_count(db) == 3
        assert await channel.prune_processed_events() == 1
        async with db.session() as session:
            left = sorted(tuple(r) for r in (await session.execute(
                select(ProcessedEvent.channel, ProcessedEvent.event_id))).all())
        assert len(left) == 2 and left[0] == ("telegram", "ancient") and left[1][0] == "zalo"
    finally:
        await channel.stop()


async def test_the_display_name_comes_from_the_user_profile(
    db: Database, zalo_settings: Settings, zalo: FakeZaloAPI
) -> None:
    zalo.add_user(USER, "Nguyễn Thị Lan")
    channel, router = await recording_channel(db, zalo_settings, zalo)
    try:
        await zalo.send_text(USER, "chào")
        await zalo.send_text(USER, "chào lần nữa")
        await channel.drain()
        assert [i.display_name for i in router.seen] == ["Nguyễn Thị Lan", "Nguyễn Thị Lan"]
        assert zalo.api_calls == 3  # one profile look-up, two replies
    finally:
        await channel.stop()


async def test_start_refuses_a_port_in_use(db: Database, zalo: FakeZaloAPI, zalo_settings: Settings) -> None:
    channel, _ = await recording_channel(db, zalo_settings, zalo)
    try:
        await recording_channel(db, zalo_settings, zalo)
    except OSError as exc:
        assert f"127.0.0.1:{channel.port}" in str(exc)
    else:
        raise AssertionError("a second channel started on a port already in use")
    finally:
        await channel.stop()


async def test_an_endless_chunked_body_is_refused_before_it_is_read_whole(
    db: Database, zalo_settings: Settings, zalo: FakeZaloAPI
) -> None:
    channel, router = await recording_channel(db, zalo_settings, zalo)
    async def endless():  # type: ignore[no-untyped-def]
        for _ in range(2000):  # 128 MB, chunked (no Content-Length)
            yield b"[" * 65536

    try:
        async with httpx.AsyncClient() as client:
            url = zalo.webhook_url or ""
            tracemalloc.start()
            try:
                resp = await client.post(url, content=endless())
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert resp.status_code == 413
            assert peak < 16 * 1024 * 1024  # the server kept at most the cap, not the 128 MB sent
            deep = await client.post(url, content=b"[" * 100_000 + b"]" * 100_000)
            assert deep.status_code == 400
            nested = await client.post(url, content=b'{"a":' * 1000 + b"1" + b"}" * 1000)
            assert nested.status_code == 400
        assert router.seen == []
    finally:
        await channel.stop()
