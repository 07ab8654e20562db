"""A local fake of the Zalo OA API (messages, OAuth v4, user detail, uploads) and a signed webhook pusher.

It speaks the wire formats in CHANNELS.md §1: a bare ``access_token`` header; errors as HTTP 200 with a
non-zero ``error``; string ids and millisecond string timestamps; refresh tokens that rotate and work
once; ``expires_in`` as a string; ``-32`` with ``X-RateLimit-*`` headers past a configurable rate.

Usage::

    async with FakeZaloAPI() as zalo:
        settings = Settings(zalo_api_url=zalo.url, zalo_oauth_url=zalo.url, **zalo.settings_fields(), ...)
        zalo.webhook_url = "http://127.0.0.1:PORT/zalo/webhook"
        await zalo.send_text("2468", "mỳ chũ")            # a signed user_send_text event
        sent = await zalo.wait_for_messages("2468", 1)      # what the bot sent back

uvicorn + starlette run inside the test's event loop; call everything from that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import hashlib
import itertools
import json
import socket
import time
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MAX_TEXT = 2000
MAX_BUTTON_TITLE = 100
MAX_QUERY_PAYLOAD = 1000
BUTTON_TYPES = {"oa.open.url", "oa.query.show", "oa.query.hide", "oa.open.sms", "oa.open.phone"}
UPLOAD_TYPES = {"pdf", "doc", "docx"}
IMAGE_TYPES = {"jpg", "jpeg", "png"}
MAX_IMAGE_BYTES = 1024 * 1024  # /v2.0/oa/upload/image: jpg or png, at most 1 MB
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
DAY_MS = 86_400_000


def now_ms() -> int:
    return int(time.time() * 1000)


def sign(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The webhook signature as Zalo computes it (plain SHA-256, not HMAC)."""
    return "mac=" + hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode()).hexdigest()


@dataclass
class SentMessage:
    """One message the fake accepted from the bot."""

    user_id: str
    message: dict[str, Any]
    message_id: str
    access_token: str
    billable: bool = False  # sent between 48 h and 7 days after the user's last interaction

    @property
    def text(self) -> str:
        return str(self.message.get("text", ""))

    @property
    def buttons(self) -> list[dict[str, Any]]:
        payload = (self.message.get("attachment") or {}).get("payload") or {}
        return list(payload.get("buttons") or [])

    @property
    def template_type(self) -> str:
        payload = (self.message.get("attachment") or {}).get("payload") or {}
        return str(payload.get("template_type", ""))

    @property
    def media(self) -> list[dict[str, Any]]:
        """The elements of a `media` template (a photo: `url` or `attachment_id`)."""
        payload = (self.message.get("attachment") or {}).get("payload") or {}
        return list(payload.get("elements") or []) if payload.get("template_type") == "media" else []


@dataclass
class PushedEvent:
    """A webhook delivery as sent, so a test can replay exactly the same bytes."""

    event: dict[str, Any]
    body: bytes
    headers: dict[str, str]
    status_code: int = 0
    response: Any = None


@dataclass
class _Token:
    expires_at: float
    revoked: bool = False


@dataclass
class _User:
    display_name: str
    last_interaction_ms: int
    window_error: int = 0  # a forced error for every send to this user (-230, -213, …)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class FakeZaloAPI:
    """Plays both `openapi.zalo.me` and `oauth.zaloapp.com` on one local port, and pushes signed events."""

    def __init__(
        self,
        *,
        app_id: str = "3608465248940903967",
        app_secret: str = "fake-app-secret",
        oa_secret_key: str = "fake-oa-secret-key",
        oa_id: str = "388613280878808645",
        access_token: str = "fake-access-token-0",
        refresh_token: str = "fake-refresh-token-0",
        expires_in: int = 90_000,
        max_buttons: int = 5,
        refresh_delay: float = 0.0,
        revoke_old_access_token: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.oa_secret_key = oa_secret_key
        self.oa_id = oa_id
        self.expires_in = expires_in
        self.max_buttons = max_buttons
        self.refresh_delay = refresh_delay
        self.revoke_old_access_token = revoke_old_access_token
        self.host = host
        self.webhook_url: str | None = None

        self.tokens: dict[str, _Token] = {access_token: _Token(time.time() + expires_in)}
        self.current_access_token = access_token
        self.refresh_tokens: dict[str, bool] = {refresh_token: True}  # token -> still usable
        self.refresh_count = 0
        self.rejected_refreshes: list[dict[str, str]] = []
        self.users: dict[str, _User] = {}
        self.sent: list[SentMessage] = []
        self.rejected: list[tuple[str, int, dict[str, Any]]] = []  # (endpoint, error, body)
        self.api_calls = 0
        self.uploads: dict[str, tuple[str, bytes]] = {}
        self.images: dict[str, tuple[str, bytes]] = {}  # attachment_id -> (filename, bytes) from upload/image
        self.pushed: list[PushedEvent] = []

        self.refused_templates: dict[str, int] = {}  # template_type -> error code (see refuse_template)
        self._rate_limit: tuple[int, float] | None = None
        self._rate_window_start = 0.0
        self._rate_count = 0
        self._faults: list[int] = []  # error codes to answer to the next message sends, in order
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._port = 0
        self._http = httpx.AsyncClient(timeout=10)
        self.app = Starlette(routes=[
            Route("/v3.0/oa/message/cs", self._message_cs, methods=["POST"]),
            Route("/v3.0/oa/user/detail", self._user_detail, methods=["GET"]),
            Route("/v2.0/oa/upload/file", self._upload_file, methods=["POST"]),
            Route("/v2.0/oa/upload/image", self._upload_image, methods=["POST"]),
            Route("/v4/oa/access_token", self._access_token, methods=["POST"]),
        ])

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeZaloAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, lifespan="off", log_config=None, access_log=False, server_header=False)
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="FakeZaloAPI")
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("fake Zalo server did not start")
            await asyncio.sleep(0.005)

    async def aclose(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = self._task = None
        await self._http.aclose()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}"

    def settings_fields(self) -> dict[str, Any]:
        """The OCOP_ZALO_* settings that point a bot at this fake."""
        return {
            "zalo_app_id": self.app_id, "zalo_app_secret": self.app_secret,
            "zalo_oa_secret_key": self.oa_secret_key,
            "zalo_access_token": next(iter(self.tokens)), "zalo_refresh_token": next(iter(self.refresh_tokens)),
            "zalo_api_url": self.url, "zalo_oauth_url": self.url,
        }

    # ------------------------------------------------------------------ controls

    def add_user(self, user_id: str, display_name: str = "Khách Zalo", *, days_since_interaction: float = 0) -> None:
        """A follower who last interacted `days_since_interaction` days ago."""
        self.users[user_id] = _User(display_name, now_ms() - int(days_since_interaction * DAY_MS))

    def set_last_interaction(self, user_id: str, days_ago: float) -> None:
        self.users[user_id].last_interaction_ms = now_ms() - int(days_ago * DAY_MS)

    def set_window_error(self, user_id: str, code: int = -230) -> None:
        """Every send to this user fails with `code` (e.g. -232, -213, -234) until cleared with 0."""
        self.users[user_id].window_error = code

    def expire_access_token(self) -> None:
        """The current access token now answers -220 (expired)."""
        self.tokens[self.current_access_token].expires_at = time.time() - 1

    def revoke_access_token(self) -> None:
        """The current access token now answers -216 (invalid)."""
        self.tokens[self.current_access_token].revoked = True

    def set_rate_limit(self, calls: int | None, per_seconds: float = 60.0) -> None:
        """At most `calls` OA API calls per window; beyond that -32. None switches the limit off."""
        self._rate_limit = None if calls is None else (calls, per_seconds)
        self._rate_window_start, self._rate_count = time.monotonic(), 0

    def refuse_template(self, template_type: str, code: int = -201) -> None:
        """Refuse every message using this template type (e.g. a request_user_info without an image)."""
        self.refused_templates[template_type] = code

    def fail_next_sends(self, code: int, times: int = 1) -> None:
        """Answer the next `times` message sends with `code` (before any other check)."""
        self._faults.extend([code] * times)

    # ------------------------------------------------------------------ inspection

    def messages_to(self, user_id: str) -> list[SentMessage]:
        return [m for m in self.sent if m.user_id == user_id]

    def texts_to(self, user_id: str) -> list[str]:
        return [m.text for m in self.messages_to(user_id)]

    async def wait_for(self, predicate: Callable[[], Any], within: float = 15.0) -> Any:
        """Wait until `predicate()` is truthy (re-checked whenever a call reaches the fake); return it."""
        async def truthy() -> Any:
            while not (value := predicate()):
                self._changed.clear()
                await self._changed.wait()
            return value

        try:
            return await asyncio.wait_for(truthy(), within)
        except TimeoutError:
            raise AssertionError(f"condition not met within {within}s; sent: {self.sent[-5:]!r}") from None

    async def wait_for_messages(self, user_id: str, count: int, within: float = 15.0) -> list[SentMessage]:
        """Wait until `count` messages have reached the user; fails the test after `within` seconds."""
        async def enough() -> list[SentMessage]:
            while len(self.messages_to(user_id)) < count:
                self._changed.clear()
                await self._changed.wait()
            return self.messages_to(user_id)

        try:
            return await asyncio.wait_for(enough(), within)
        except TimeoutError:
            raise AssertionError(
                f"expected {count} messages to {user_id}, got {self.texts_to(user_id)!r}"
            ) from None

    # ------------------------------------------------------------------ webhook pusher

    def event(self, event_name: str, user_id: str, **fields: Any) -> dict[str, Any]:
        """A user → OA event shaped like Zalo's (string ids, millisecond string timestamp)."""
        base: dict[str, Any] = {"app_id": self.app_id, "user_id_by_app": f"55{user_id}"}
        if event_name in ("follow", "unfollow"):
            base.update(oa_id=self.oa_id, follower={"id": user_id}, source="oa_profile")
        else:
            base.update(sender={"id": user_id}, recipient={"id": self.oa_id})
        base.update(event_name=event_name, timestamp=str(now_ms()))
        base.update(fields)
        return base

    def _new_msg_id(self) -> str:
        return hashlib.md5(f"{time.time_ns()}:{next(self._ids)}".encode()).hexdigest()[:20]  # noqa: S324

    async def push(
        self,
        event: dict[str, Any],
        *,
        signature: str = "good",
        timestamp_ms: int | None = None,
        interaction: bool = True,
    ) -> PushedEvent:
        """Sign and POST one event to `webhook_url`. `signature`: good | bad | none | wrong-key | a literal."""
        if self.webhook_url is None:
            raise RuntimeError("set webhook_url first")
        if timestamp_ms is not None:
            event = {**event, "timestamp": str(timestamp_ms)}
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        app_id = str(event.get("app_id", ""))
        good = sign(app_id, body, event["timestamp"], self.oa_secret_key)
        value = {
            "good": good,
            "bad": "mac=" + "0" * 64,
            "wrong-key": sign(app_id, body, event["timestamp"], self.app_secret),
            "none": None,
        }.get(signature, signature)
        if value is not None:
            headers["X-ZEvent-Signature"] = value
        if interaction and signature == "good":
            self._interacted(event)
        pushed = PushedEvent(event, body, headers)
        return await self._post(pushed)

    async def replay(self, pushed: PushedEvent, url: str | None = None) -> PushedEvent:
        """Deliver the very same bytes and headers again (to `url`, or the webhook), as Zalo does when it retries."""
        again = PushedEvent(pushed.event, pushed.body, {**pushed.headers, "num_retry": "1"})
        return await self._post(again, url)

    async def _post(self, pushed: PushedEvent, url: str | None = None) -> PushedEvent:
        target = url or self.webhook_url
        assert target is not None
        resp = await self._http.post(target, content=pushed.body, headers=pushed.headers)
        pushed.status_code = resp.status_code
        with contextlib.suppress(ValueError):
            pushed.response = resp.json()
        self.pushed.append(pushed)
        return pushed

    def _interacted(self, event: dict[str, Any]) -> None:
        user = (event.get("follower") or event.get("sender") or {}).get("id")
        if user and event.get("event_name", "").startswith(("user_", "follow")):
            if user not in self.users:
                self.add_user(user, f"Người dùng {user[-4:]}")
            self.users[user].last_interaction_ms = now_ms()

    async def send_text(self, user_id: str, text: str, **kw: Any) -> PushedEvent:
        msg = {"text": text, "msg_id": self._new_msg_id()}
        return await self.push(self.event("user_send_text", user_id, message=msg), **kw)

    async def tap(self, user_id: str, button: dict[str, Any] | str, **kw: Any) -> PushedEvent:
        """Tap an `oa.query.*` button (or pass its payload): Zalo sends the payload as the user's text."""
        payload = button if isinstance(button, str) else button["payload"]
        if not isinstance(button, str) and button.get("type") not in ("oa.query.hide", "oa.query.show"):
            raise ValueError(f"not a query button: {button!r}")
        return await self.send_text(user_id, payload, **kw)

    async def share_location(self, user_id: str, latitude: float, longitude: float, **kw: Any) -> PushedEvent:
        coords = {"latitude": str(latitude), "longitude": str(longitude)}
        msg = {"msg_id": self._new_msg_id(), "text": "",
               "attachments": [{"type": "location", "payload": {"coordinates": coords}}]}
        return await self.push(self.event("user_send_location", user_id, message=msg), **kw)

    async def follow(self, user_id: str, **kw: Any) -> PushedEvent:
        return await self.push(self.event("follow", user_id), **kw)

    async def submit_info(self, user_id: str, phone: str, name: str, **kw: Any) -> PushedEvent:
        info = {"name": name, "phone": phone, "user_dob": "", "gender": "",
                "full_address": {"user_city": "Bắc Giang", "user_ward": "", "user_address": ""}}
        return await self.push(self.event("user_submit_info", user_id, info=info), **kw)

    # ------------------------------------------------------------------ endpoints

    @staticmethod
    def _error(code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"error": code, "message": message}, headers=headers)

    def _rate_headers(self) -> dict[str, str]:
        if self._rate_limit is None:
            return {}
        limit = self._rate_limit[0]
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remain": str(max(limit - self._rate_count, 0))}

    def _check_call(self, request: Request) -> JSONResponse | None:
        """Rate limit and access token, as every OA API call is checked."""
        self.api_calls += 1
        self._changed.set()
        if self._rate_limit is not None:
            limit, window = self._rate_limit
            if time.monotonic() - self._rate_window_start >= window:
                self._rate_window_start, self._rate_count = time.monotonic(), 0
            if self._rate_count >= limit:
                return self._error(-32, "Your application reached limit call api", self._rate_headers())
            self._rate_count += 1
        token = request.headers.get("access_token", "")
        info = self.tokens.get(token)
        if info is None or info.revoked:
            return self._error(-216, "Access token is invalid", self._rate_headers())
        if info.expires_at <= time.time():
            return self._error(-220, "Access token has expired", self._rate_headers())
        return None

    async def _message_cs(self, request: Request) -> Response:
        if self._faults:
            code = self._faults.pop(0)
            self.rejected.append(("message/cs", code, {}))
            self._changed.set()
            return self._error(code, f"injected error {code}", self._rate_headers())
        refused = self._check_call(request)
        if refused is not None:
            return refused
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self._error(-201, "body is invalid!")
        error = self._validate_message(body)
        if error is not None:
            self.rejected.append(("message/cs", error[0], body))
            self._changed.set()
            return self._error(*error, headers=self._rate_headers())
        user_id = body["recipient"]["user_id"]
        user = self.users[user_id]
        age = now_ms() - user.last_interaction_ms
        message_id = hashlib.md5(f"m{next(self._ids)}".encode()).hexdigest()[:20]  # noqa: S324
        token = request.headers["access_token"]
        self.sent.append(SentMessage(user_id, body["message"], message_id, token, billable=age > 2 * DAY_MS))
        self._changed.set()
        data = {"message_id": message_id, "user_id": user_id, "sent_time": str(now_ms()),
                "quota": {"quota_type": "reply", "remain": "8", "total": "8"}}
        return JSONResponse({"data": data, "error": 0, "message": "Success"}, headers=self._rate_headers())

    def _validate_message(self, body: Any) -> tuple[int, str] | None:
        if not isinstance(body, dict):
            return -201, "body is invalid!"
        recipient = body.get("recipient")
        user_id = recipient.get("user_id") if isinstance(recipient, dict) else None
        if not isinstance(user_id, str) or not user_id.isdigit():
            return -201, "user_id is invalid!"
        if user_id not in self.users:
            return -213, "User has not followed OA"
        user = self.users[user_id]
        if user.window_error:
            return user.window_error, "User cannot receive this message now"
        if now_ms() - user.last_interaction_ms > 7 * DAY_MS:
            return -230, "User has not interacted with the OA in the past 7 days"
        message = body.get("message")
        if not isinstance(message, dict) or not (message.get("text") or message.get("attachment")):
            return -201, "message is invalid!"
        text = message.get("text", "")
        if not isinstance(text, str):
            return -201, "text is invalid!"
        if len(unicodedata.normalize("NFC", text)) > MAX_TEXT:
            return -201, "text is invalid! (maximum 2000 characters)"
        attachment = message.get("attachment")
        return None if attachment is None else self._validate_attachment(attachment, text)

    def _validate_attachment(self, attachment: Any, text: str) -> tuple[int, str] | None:
        if not isinstance(attachment, dict) or not isinstance(attachment.get("payload"), dict):
            return -201, "attachment is invalid!"
        payload = attachment["payload"]
        if attachment.get("type") == "file":
            return None if payload.get("token") in self.uploads else (-201, "token is invalid!")
        if attachment.get("type") != "template":
            return -233, "message type is invalid"
        if payload.get("template_type") in self.refused_templates:
            return self.refused_templates[payload["template_type"]], "template is invalid!"
        if payload.get("template_type") == "media":
            elements = payload.get("elements")
            if not isinstance(elements, list) or len(elements) != 1 or not isinstance(elements[0], dict):
                return -201, "elements is invalid!"
            element = elements[0]
            if element.get("media_type") != "image":
                return -201, "media_type is invalid!"
            url, attachment_id = element.get("url"), element.get("attachment_id")
            if (url is None) == (attachment_id is None):
                return -201, "element needs either url or attachment_id"
            if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
                return -201, "url is invalid!"
            if attachment_id is not None and attachment_id not in self.images:
                return -201, "attachment_id is invalid!"
            return None
        if payload.get("template_type") == "request_user_info":
            elements = payload.get("elements")
            if not isinstance(elements, list) or len(elements) != 1:
                return -201, "elements is invalid!"
            element = elements[0]
            if not (0 < len(str(element.get("title", ""))) <= 100) or len(str(element.get("subtitle", ""))) > 500:
                return -201, "element is invalid!"
            return None
        buttons = payload.get("buttons")
        if not isinstance(buttons, list) or not 0 < len(buttons) <= self.max_buttons:
            return -201, "buttons is invalid!"
        if not text.strip():
            return -201, "text is invalid!"
        for button in buttons:
            if not isinstance(button, dict) or button.get("type") not in BUTTON_TYPES:
                return -201, "button type is invalid!"
            title = button.get("title")
            if not isinstance(title, str) or not 0 < len(title) <= MAX_BUTTON_TITLE:
                return -201, "button title is invalid!"
            value = button.get("payload")
            if button["type"].startswith("oa.query"):
                if not isinstance(value, str) or not 0 < len(value) <= MAX_QUERY_PAYLOAD:
                    return -201, "button payload is invalid!"
            elif button["type"] == "oa.open.url":
                url = value.get("url", "") if isinstance(value, dict) else ""
                if not url.startswith(("http://", "https://")):
                    return -201, "button url is invalid!"
        return None

    async def _user_detail(self, request: Request) -> Response:
        refused = self._check_call(request)
        if refused is not None:
            return refused
        try:
            user_id = str(json.loads(request.query_params.get("data", ""))["user_id"])
        except (ValueError, KeyError, TypeError):
            return self._error(-201, "data is invalid!")
        user = self.users.get(user_id)
        if user is None:
            return self._error(-201, "user_id is invalid!")
        data = {"user_id": user_id, "user_id_by_app": f"55{user_id}", "display_name": user.display_name,
                "user_alias": "", "user_is_follower": True, "avatar": "", "avatars": {},
                "shared_info": {}}
        return JSONResponse({"data": data, "error": 0, "message": "Success"}, headers=self._rate_headers())

    async def _upload_image(self, request: Request) -> Response:
        refused = self._check_call(request)
        if refused is not None:
            return refused
        parsed = await self._multipart(request)
        for part in parsed.iter_parts() if parsed is not None else ():
            filename = part.get_filename()
            if part.get_param("name", header="content-disposition") != "file" or not filename:
                continue
            data = part.get_payload(decode=True) or b""
            if (filename.rsplit(".", 1)[-1].lower() not in IMAGE_TYPES or len(data) > MAX_IMAGE_BYTES
                    or not data.startswith(_IMAGE_MAGIC)):
                return self._error(-210, "image type or size is not supported")
            attachment_id = hashlib.sha256(b"img" + data + filename.encode()).hexdigest()[:32]
            self.images[attachment_id] = (filename, data)
            return JSONResponse({"data": {"attachment_id": attachment_id}, "error": 0, "message": "Success"})
        return self._error(-201, "file is invalid!")

    async def _multipart(self, request: Request) -> Any:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return None
        raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + await request.body()
        return email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)

    async def _upload_file(self, request: Request) -> Response:
        refused = self._check_call(request)
        if refused is not None:
            return refused
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return self._error(-201, "file is invalid!")
        raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + await request.body()
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        for part in parsed.iter_parts():
            filename = part.get_filename()
            if part.get_param("name", header="content-disposition") != "file" or not filename:
                continue
            data = part.get_payload(decode=True) or b""
            if filename.rsplit(".", 1)[-1].lower() not in UPLOAD_TYPES or len(data) > 5 * 1024 * 1024:
                return self._error(-210, "file type or size is not supported")
            token = hashlib.sha256(data + filename.encode()).hexdigest()[:32]
            self.uploads[token] = (filename, data)
            return JSONResponse({"data": {"token": token}, "error": 0, "message": "Success"})
        return self._error(-201, "file is invalid!")

    async def _access_token(self, request: Request) -> Response:
        """OAuth v4 refresh: secret_key header, form body; the refresh token rotates and works once."""
        form = dict(urllib.parse.parse_qsl((await request.body()).decode()))
        def refuse(code: int, name: str) -> JSONResponse:
            self.rejected_refreshes.append(form)
            return JSONResponse({"error": code, "error_name": name, "error_reason": name,
                                 "ref_doc": "", "error_description": name})
        if request.headers.get("secret_key") != self.app_secret:
            return refuse(-14002, "Invalid secret key")
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return refuse(-14001, "Invalid request: expected a form body")
        if form.get("app_id") != self.app_id:
            return refuse(-14003, "Invalid app id")
        if form.get("grant_type") != "refresh_token":
            return refuse(-14004, "Invalid grant type")
        if not self.refresh_tokens.get(form.get("refresh_token", ""), False):
            return refuse(-14014, "Invalid refresh token")
        # Rotate at once, then (optionally) answer slowly: a second refresh with the same token must fail.
        self.refresh_tokens[form["refresh_token"]] = False
        self.refresh_count += 1
        old = self.current_access_token
        access = f"fake-access-token-{self.refresh_count}"
        refresh = f"fake-refresh-token-{self.refresh_count}"
        self.tokens[access] = _Token(time.time() + self.expires_in)
        self.refresh_tokens[refresh] = True
        self.current_access_token = access
        if self.revoke_old_access_token:
            self.tokens[old].revoked = True
        if self.refresh_delay:
            await asyncio.sleep(self.refresh_delay)
        return JSONResponse({"access_token": access, "refresh_token": refresh, "expires_in": str(self.expires_in)})


@dataclass
class Conversation:
    """What one Zalo user sees: convenience over a FakeZaloAPI for conversation tests."""

    zalo: FakeZaloAPI
    user_id: str
    seen: int = field(default=0)

    def new_messages(self) -> list[SentMessage]:
        messages = self.zalo.messages_to(self.user_id)[self.seen:]
        self.seen += len(messages)
        return messages
