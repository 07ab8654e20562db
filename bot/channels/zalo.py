"""The Zalo Official Account channel: signed webhook events in, v3 consultation messages out, same handlers."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import time
import unicodedata
import urllib.parse
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.zalo_api import CHANNEL, ZaloAPI, ZaloAPIError, ZaloTokens, ZaloWindowError
from bot.inbox import InboxProcessor
from bot.outbound import DeliveryError
from bot.web.app import WebServer, build_app
from bot.webhooks import BadBody, BodyTooLarge, parse_object, read_body
from catalog import inbox, sessions
from catalog.db import Turn, orm_session
from catalog.inbox import Accepted
from catalog.models import ProcessedEvent, utcnow
from handlers.messages import (
    Button,
    Incoming,
    Location,
    Reply,
    SharedContact,
    h,
    reply_dump,
    reply_load,
    to_plain,
)
from locales import normalise_language, translator

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.config import Settings
    from handlers.context import Services
    from handlers.router import Router

log = logging.getLogger(__name__)

MAX_TEXT = 2000  # characters per message ("Giới hạn tối đa là 2.000 ký tự")
MAX_BUTTON_TITLE = 100
MAX_BUTTONS = 5  # per message; Zalo's real limit is not documented, so stay small
MAX_INFO_SUBTITLE = 500
MAX_BODY_BYTES = 256 * 1024
RECENT_KEYS = 10_000  # event keys remembered in memory for an instant answer to Zalo's retries
# A tapped `oa.query.hide` button comes back as a text message whose text is the button payload; this
# prefix tells it apart from anything a person types.
PAYLOAD_PREFIX = "#p "
MAP_URL = "https://www.google.com/maps/search/?api=1&query={lat},{lon}"
HANDLED_EVENTS = frozenset({"user_send_text", "user_send_location", "follow", "user_submit_info"})


# --------------------------------------------------------------------------- signatures and events


def event_signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """`mac=` + hex SHA-256 of app id + raw body + timestamp + OA secret key (plain hash, not HMAC)."""
    digest = hashlib.sha256(app_id.encode() + raw_body + timestamp.encode() + oa_secret_key.encode())
    return "mac=" + digest.hexdigest()


def signature_valid(header: str | None, app_id: str, raw_body: bytes, timestamp: str, secret: str) -> bool:
    """Constant-time check of the `X-ZEvent-Signature` header."""
    if not header or not app_id or not secret:
        return False
    expected = event_signature(app_id, raw_body, timestamp, secret)
    return hmac.compare_digest(header.strip().lower().encode(), expected.encode())


def event_user(event: dict[str, Any]) -> str:
    """The user an event is about: `follower.id` for follow events, `sender.id` for user messages."""
    holder = event.get("follower") if event.get("event_name") in ("follow", "unfollow") else event.get("sender")
    return str(holder.get("id", "")) if isinstance(holder, dict) else ""


def event_key(event: dict[str, Any]) -> str:
    """What identifies one delivery: the message id, or name + user + time for events without one."""
    message = event.get("message")
    msg_id = message.get("msg_id") if isinstance(message, dict) else None
    key = str(msg_id) if msg_id else f"{event.get('event_name')}:{event_user(event)}:{event.get('timestamp')}"
    return key if len(key) <= 128 else hashlib.sha256(key.encode()).hexdigest()


def _coordinate(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) <= 180 else None  # rejects NaN too


def _location(message: dict[str, Any]) -> Location | None:
    for attachment in message.get("attachments") or []:
        if not isinstance(attachment, dict) or attachment.get("type") != "location":
            continue
        payload = attachment.get("payload") or {}
        coords = (payload.get("coordinates") or payload) if isinstance(payload, dict) else {}
        if not isinstance(coords, dict):
            continue
        lat = _coordinate(coords.get("latitude", coords.get("lat")))
        lon = _coordinate(coords.get("longitude", coords.get("long", coords.get("lng"))))
        if lat is not None and lon is not None and abs(lat) <= 90:
            return Location(lat, lon)
    return None


def event_to_incoming(event: dict[str, Any]) -> Incoming | None:
    """The neutral message for a webhook event, or None for events the bot does not act on."""
    name = event.get("event_name")
    user = event_user(event)
    if name not in HANDLED_EVENTS or not user:
        return None
    base = {"channel": CHANNEL, "chat_id": user, "user_id": user}
    message = event.get("message") if isinstance(event.get("message"), dict) else {}
    if name == "follow":
        return Incoming(**base, text="/start")
    if name == "user_send_text":
        text = unicodedata.normalize("NFC", str(message.get("text") or ""))
        if text.startswith(PAYLOAD_PREFIX) and text[len(PAYLOAD_PREFIX):].strip():
            return Incoming(**base, payload=text[len(PAYLOAD_PREFIX):].strip())
        return Incoming(**base, text=text) if text.strip() else None
    if name == "user_send_location":
        location = _location(message)
        return Incoming(**base, location=location) if location else None
    info = event.get("info") if isinstance(event.get("info"), dict) else {}
    phone = str(info.get("phone") or "").strip()
    if not phone:
        return None
    return Incoming(**base, contact=SharedContact(phone, str(info.get("name") or "").strip(), user))


# --------------------------------------------------------------------------- rendering replies
def map_link(latitude: float, longitude: float) -> str:
    """A map link anyone can open from a Zalo message."""
    return MAP_URL.format(lat=urllib.parse.quote(str(latitude)), lon=urllib.parse.quote(str(longitude)))



def _units(text: str) -> int:
    # Count UTF-16 code units: never fewer than characters, so a JavaScript-counted limit is met too.
    return len(text.encode("utf-16-le")) // 2


def _hard_split(line: str, limit: int) -> Iterator[str]:
    """Split one over-long line at spaces, or anywhere when a word alone is too long."""
    piece = ""
    for word in line.split(" "):
        candidate = f"{piece} {word}" if piece else word
        if _units(candidate) <= limit:
            piece = candidate
            continue
        if piece:
            yield piece
        while _units(word) > limit:
            cut = limit
            while _units(word[:cut]) > limit:
                cut -= 1
            yield word[:cut]
            word = word[cut:]
        piece = word
    if piece:
        yield piece


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """NFC text in chunks of at most `limit` characters, cut at line ends where possible."""
    text = unicodedata.normalize("NFC", text).strip()
    if _units(text) <= limit:
        return [text] if text else []
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if _units(candidate) <= limit:
            current = candidate
            continue
        if current.strip():
            chunks.append(current.strip("\n"))
        if _units(line) <= limit:
            current = line
            continue
        *whole, current = list(_hard_split(line, limit)) or [""]
        chunks.extend(whole)
    if current.strip():
        chunks.append(current.strip("\n"))
    return chunks


def _title(label: str) -> str:
    label = unicodedata.normalize("NFC", to_plain(label)).strip() or "…"
    return label if len(label) <= MAX_BUTTON_TITLE else label[: MAX_BUTTON_TITLE - 1] + "…"


def render_button(button: Button) -> dict[str, Any] | None:
    """A Zalo button for a neutral one; None for kinds Zalo has no button for (location)."""
    if button.kind == "url" and button.url:
        return {"title": _title(button.label), "type": "oa.open.url", "payload": {"url": button.url}}
    if button.kind == "payload":
        return {"title": _title(button.label), "type": "oa.query.hide", "payload": PAYLOAD_PREFIX + button.payload}
    return None


def render_reply(reply: Reply) -> list[dict[str, Any]]:
    """The `message` objects that say `reply` on Zalo, in order (the document is handled by the sender).

    Text is plain (Zalo has no formatting) and split at 2,000 characters; buttons ride on the last text
    chunk as a template attachment, at most five to a message; a venue becomes text plus a map link; a
    contact request becomes Zalo's `request_user_info` template; location requests have no Zalo form
    (users share a location from the chat's attach menu).
    """
    parts = [to_plain(reply.text).strip()] if reply.text else []
    if reply.venue is not None:
        venue = reply.venue
        lines = [to_plain(venue.title), to_plain(venue.address), map_link(venue.latitude, venue.longitude)]
        parts.append("\n".join(line for line in lines if line))
    text = "\n\n".join(p for p in parts if p) or to_plain(reply.notice).strip()
    rows = [*reply.buttons, *reply.keyboard]
    zalo_buttons = [z for row in rows for b in row if (z := render_button(b)) is not None]
    contact = next((b for row in rows for b in row if b.kind == "contact"), None)

    chunks = split_text(text)
    messages: list[dict[str, Any]] = [{"text": chunk} for chunk in chunks]
    for start in range(0, len(zalo_buttons), MAX_BUTTONS):
        group = zalo_buttons[start:start + MAX_BUTTONS]
        attachment = {"type": "template", "payload": {"buttons": group}}
        if start == 0 and messages:
            messages[-1]["attachment"] = attachment
        else:
            messages.append({"text": "⋯", "attachment": attachment})  # a template needs some text
    if contact is not None:
        subtitle = (chunks[-1] if chunks else _title(contact.label))[:MAX_INFO_SUBTITLE]
        messages.append({"attachment": {"type": "template", "payload": {
            "template_type": "request_user_info",
            "elements": [{"title": _title(contact.label), "subtitle": subtitle}],
        }}})
    return messages


def _is_info_request(message: dict[str, Any]) -> bool:
    payload = (message.get("attachment") or {}).get("payload") or {}
    return payload.get("template_type") == "request_user_info"


class ZaloDeliverer:
    """Sends a neutral `Reply` to a Zalo user; the delivery worker's door to Zalo (channel "zalo")."""

    channel = CHANNEL

    def __init__(self, api: ZaloAPI) -> None:
        self.api = api

    async def deliver(self, chat_id: str, reply: Reply, *, edit_message_id: str | None = None) -> str:
        """Send every part of the reply in order (Zalo cannot edit, so an edit is a new message); a photo
        first, as an image attachment."""
        message_id = ""
        if reply.image and reply.text:
            message_id = await self._send_image(chat_id, reply.image)
        for message in render_reply(reply):
            try:
                message_id = await self.api.send_message(chat_id, message) or message_id
            except ZaloAPIError as exc:
                if not (_is_info_request(message) and exc.permanent and not isinstance(exc, ZaloWindowError)):
                    raise
                # The question above it already says the number can be typed; don't lose the rest.
                log.warning("Zalo refused the request-user-info form: %s", exc)
        if reply.document is not None:
            message_id = await self._send_document(chat_id, reply) or message_id
        return message_id

    async def _send_image(self, chat_id: str, image: str) -> str:
        """A product photo as a `media` template: a URL as is, a file on this server uploaded first. A photo
        that cannot be read, uploaded or sent is logged and left out ("" returned): the text still goes."""
        try:
            if image.startswith(("http://", "https://")):
                element: dict[str, Any] = {"media_type": "image", "url": image}
            else:
                path = Path(image)
                data = await asyncio.to_thread(path.read_bytes)
                mime = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
                element = {"media_type": "image", "attachment_id": await self.api.upload_image(path.name, data, mime)}
            message = {"attachment": {"type": "template", "payload": {"template_type": "media",
                                                                       "elements": [element]}}}
            return await self.api.send_message(chat_id, message)
        except OSError as exc:
            log.warning("product photo %r cannot be read (%s); sending the text alone", image, exc)
        except ZaloAPIError as exc:
            if not exc.permanent or isinstance(exc, ZaloWindowError):
                raise  # the text would meet the same trouble: the delivery is tried again as a whole
            log.warning("Zalo refused the product photo %r (%s); sending the text alone", image, exc)
        return ""

    async def _send_document(self, chat_id: str, reply: Reply) -> str:
        document = reply.document
        assert document is not None
        try:
            token = await self.api.upload_file(document.filename, document.data, document.mime_type)
        except ZaloAPIError as exc:
            if not exc.permanent:
                raise
            # Zalo only takes some file types (PDF, Word); name the file rather than fail the reply.
            log.warning("Zalo refused to upload %s: %s", document.filename, exc)
            note = "\n".join(p for p in (to_plain(document.caption).strip(), f"📎 {document.filename}") if p)
            return await self.api.send_message(chat_id, {"text": note})
        caption = to_plain(document.caption).strip()
        if caption:  # a file message carries no text of its own
            await self.api.send_message(chat_id, {"text": split_text(caption)[0]})
        return await self.api.send_message(chat_id, {"attachment": {"type": "file", "payload": {"token": token}}})


# --------------------------------------------------------------------------- the channel


class ZaloChannel:
    """The webhook server plus the API client. `await start()` / `await stop()`; `deliverer` for the outbox.

    Each event is checked (signature, age, not seen by this process) and answered 200 at once; then, in
    the background and one queue per user so a user's messages are answered in the order sent, its id is
    recorded in `processed_events` (so no process handles it twice, across restarts too) and it goes
    through the router.
    """

    def __init__(
        self,
        services: Services,
        router: Router,
        settings: Settings,
        *,
        max_event_age: dt.timedelta = dt.timedelta(minutes=10),
        max_clock_skew: dt.timedelta = dt.timedelta(minutes=5),
        processed_retention: dt.timedelta = dt.timedelta(days=2),
        maintenance_interval: float = 600.0,
        rate_limit_backoff: float = 1.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.services = services
        self.router = router
        self.settings = settings
        self.db = services.db
        self.max_event_age = max_event_age
        self.max_clock_skew = max_clock_skew
        self.processed_retention = max(processed_retention, max_event_age + max_clock_skew)
        self.maintenance_interval = maintenance_interval
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0))
        self.tokens = ZaloTokens(self.db, settings, self.http)
        self.api = ZaloAPI(settings, self.tokens, self.http, rate_limit_backoff=rate_limit_backoff)
        self.deliverer = ZaloDeliverer(self.api)
        self.ready = False
        self.port = settings.zalo_webhook_port
        self._queues: dict[str, deque[tuple[Incoming, str]]] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()  # event keys seen by this process
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._names: dict[str, str] = {}
        self._server: WebServer | None = None  # only when the channel serves its own app (start(serve=True))
        self._maintenance: asyncio.Task[None] | None = None
        self.handled = 0  # events handed to the router, for logs and tests
        # Accepted events are committed to the durable inbox before the 200, then handled from there.
        self.processor = InboxProcessor(self.db, CHANNEL, self._handle_entry, on_flood=self._on_flood)

    # ---------------------------------------------------------------- lifecycle

    def routes(self) -> list[BaseRoute]:
        """The Zalo webhook, for the bot's one web application (bot/web/app.py)."""
        return [Route(self.settings.zalo_webhook_path, self._webhook, methods=["POST"], name="zalo-webhook")]

    async def start(self, *, serve: bool = True) -> None:
        """Load the token pair, start handling from the inbox and the housekeeping loop.

        `ocop-bot run` passes serve=False and mounts `routes()` into its one web application; on its own
        (serve=True, as in tests) the channel serves them itself, with /healthz, on OCOP_ZALO_WEBHOOK_HOST/PORT.
        """
        try:
            await self.tokens.load()
            await self.prune_processed_events()
            await self.processor.start()
            if serve:
                server = WebServer(build_app([self], ready=lambda: self.ready))
                self.port = await server.start(self.settings.zalo_webhook_host, self.settings.zalo_webhook_port)
                self._server = server
        except BaseException:
            await self.processor.stop()
            if self._own_http:
                await self.http.aclose()
            raise
        self._maintenance = asyncio.create_task(self._housekeeping(), name="zalo-housekeeping")
        self.ready = True
        if serve:
            log.info("Zalo webhook listening on %s:%s%s", self.settings.zalo_webhook_host, self.port,
                     self.settings.zalo_webhook_path)

    async def stop(self) -> None:
        """Stop taking events, finish the ones already accepted, and close connections."""
        self.ready = False
        if self._server is not None:
            await self._server.stop()
            self._server = None
        await self.processor.stop()
        if self._maintenance is not None:
            self._maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintenance
            self._maintenance = None
        if self._own_http:
            await self.http.aclose()

    async def drain(self) -> None:
        """Wait until every accepted event has been handled and answered."""
        await self.processor.drain()

    async def _housekeeping(self) -> None:
        """Forget old processed-event ids and refresh the token ahead of expiry, every few minutes."""
        while True:
            await asyncio.sleep(self.maintenance_interval)
            try:
                await self.prune_processed_events()
                await self.tokens.ensure_fresh()
            except DeliveryError as exc:
                log.warning("Zalo token refresh ahead of expiry failed: %s", exc)
            except Exception:  # keep the loop alive whatever happened; it runs again later
                log.exception("Zalo housekeeping failed")

    async def prune_processed_events(self) -> int:
        """Delete remembered event ids older than the replay window; returns how many."""
        cutoff = utcnow() - self.processed_retention
        async with self.db.session() as session:
            result = await session.execute(
                delete(ProcessedEvent).where(ProcessedEvent.channel == CHANNEL, ProcessedEvent.created_at < cutoff)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    # ---------------------------------------------------------------- HTTP endpoints

    async def _webhook(self, request: Request) -> Response:
        """Check and accept one event; the handlers run after the 200 has gone back."""
        try:
            raw = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            return JSONResponse({"error": "too large"}, status_code=413)
        try:
            event = parse_object(raw)
        except BadBody:
            return JSONResponse({"error": "not a JSON event"}, status_code=400)
        timestamp = str(event.get("timestamp", ""))
        app_id = self.settings.zalo_app_id or ""
        secret = self.settings.zalo_oa_secret_key.get_secret_value() if self.settings.zalo_oa_secret_key else ""
        signed = signature_valid(request.headers.get("x-zevent-signature"), app_id, raw, timestamp, secret)
        if not signed or str(event.get("app_id", "")) != app_id:
            if str(event.get("app_id", "")) != app_id:
                log.warning("Zalo event for app %r, expected %r: rejected", event.get("app_id"), app_id)
            else:
                log.warning("Zalo event with a bad or missing signature rejected")
            return JSONResponse({"error": "bad signature"}, status_code=401)
        if not self._fresh(timestamp):
            # Signed but too old (or from the future): never acted on. Still 200, because an error
            # would only make Zalo retry the same stale event until it disables the webhook.
            log.warning("stale Zalo event %s (timestamp %s) ignored", event.get("event_name"), timestamp)
            return JSONResponse({"status": "ignored", "reason": "stale"})
        incoming = event_to_incoming(event)
        if incoming is None:
            log.debug("Zalo event %s ignored", event.get("event_name"))
            return JSONResponse({"status": "ignored"})
        key = event_key(event)
        if key in self._recent:
            log.info("repeated Zalo event %s ignored", key)
            return JSONResponse({"status": "duplicate"})
        # Committed before the 200: Zalo never resends an event it got a 200 for. The unique key makes a
        # retry (to this or any other process) a duplicate.
        try:
            accepted = await inbox.accept(self.db, CHANNEL, [(key, incoming.user_id, event, int(timestamp))],
                                          self.processor.owner)
        except Exception as exc:
            log.error("could not store a Zalo event (%s); answering 500 so that Zalo sends it again",
                      type(exc).__name__)
            return JSONResponse({"error": "try again"}, status_code=500)
        self._recent[key] = None
        while len(self._recent) > RECENT_KEYS:
            self._recent.popitem(last=False)
        if not accepted:
            log.info("repeated Zalo event %s ignored", key)
            return JSONResponse({"status": "duplicate"})
        for entry in accepted:
            self.processor.submit(entry)
        return JSONResponse({"status": "ok"})

    def _fresh(self, timestamp: str) -> bool:
        try:
            sent = int(timestamp) / 1000
        except ValueError:
            return False
        age = time.time() - sent
        return -self.max_clock_skew.total_seconds() <= age <= self.max_event_age.total_seconds()

    async def _remember(self, key: str) -> bool:
        """Record the event id; False when it was already recorded (by this or any other process)."""
        try:
            async with self.db.session() as session:
                session.add(ProcessedEvent(channel=CHANNEL, event_id=key))
        except IntegrityError:
            return False
        return True

    # ---------------------------------------------------------------- background handling

    async def _handle_entry(self, entry: Accepted) -> None:
        """Handle one accepted event (unless done already) and send its replies; the entry is then done."""
        event = entry.payload
        incoming = event_to_incoming(event)
        if incoming is None:
            await inbox.mark_done(self.db, entry.id)
            return
        key = event_key(event)
        if entry.replies is None:
            if not incoming.display_name:
                incoming = replace(incoming, display_name=await self._display_name(incoming.user_id))

            async def finish(session: AsyncSession | Turn, replies: list[Reply]) -> None:
                await inbox.mark_handled(session, entry.id, [reply_dump(r) for r in replies])
                orm_session(session).add(ProcessedEvent(channel=CHANNEL, event_id=key))
                await self.processor.mark_done_with(session, entry)

            replies = await self.router.handle(incoming, finish=finish)
            self.handled += 1
        else:
            replies = [reply_load(r) for r in entry.replies]
        note = ""
        try:
            for reply in replies:
                await self._deliver_patiently(incoming.chat_id, reply)
        except ZaloWindowError as exc:
            log.info("cannot message Zalo user %s now: %s", incoming.user_id, exc)
            note = str(exc)
        except DeliveryError as exc:
            if not exc.permanent:
                raise  # counted by the inbox, tried again, parked after a few failures
            log.warning("reply to Zalo user %s not delivered: %s", incoming.user_id, exc)
            note = str(exc)
        await inbox.mark_done(self.db, entry.id, note)

    async def _on_flood(self, entry: Accepted) -> None:
        """The user sends faster than a person: say once, politely, that every message will be answered, slowly."""
        incoming = event_to_incoming(entry.payload)
        if incoming is None:
            return
        async with self.db.session() as session:
            stored = await sessions.stored_language(session, CHANNEL, incoming.chat_id)
        t = translator(stored or normalise_language(incoming.language_hint) or self.settings.default_language)
        text = t._("You are sending messages faster than I can read them. I will answer every one, in order, "
                   "but more slowly: about one a second.")
        await self._deliver_patiently(incoming.chat_id, Reply(h(text)))

    async def _deliver_patiently(self, chat_id: str, reply: Reply, attempts: int = 5) -> None:
        """Send one reply, retrying transient failures with back-off (and Zalo's retry-after)."""
        for attempt in range(attempts):
            try:
                await self.deliverer.deliver(chat_id, reply)
                return
            except DeliveryError as exc:
                if exc.permanent or attempt == attempts - 1:
                    raise
                await asyncio.sleep(exc.retry_after if exc.retry_after is not None else 0.5 * 2 ** attempt)

    async def _display_name(self, user_id: str) -> str:
        """The user's Zalo name (webhooks carry none), fetched once per process; empty if unavailable."""
        if user_id not in self._names:
            try:
                detail = await self.api.user_detail(user_id)
                if len(self._names) > 10_000:
                    self._names.clear()
                self._names[user_id] = str(detail.get("display_name") or "")
            except DeliveryError as exc:
                log.debug("no Zalo profile for %s: %s", user_id, exc)
                return ""
        return self._names[user_id]

