"""Zalo Official Account HTTP client: the v3 messaging API and the rotating token pair kept in the database."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbound import DeliveryError
from catalog.models import ChannelToken, utcnow

if TYPE_CHECKING:
    from bot.config import Settings
    from catalog.db import Database

log = logging.getLogger(__name__)

CHANNEL = "zalo"
RATE_LIMITED = -32
ATTACHMENT_EXPIRED = -100
OUT_OF_QUOTA = -211
TOKEN_ERRORS = frozenset({-216, -220})
# The user is outside the messaging window or refuses messages: retrying cannot help (hermes' grouping).
WINDOW_ERRORS = frozenset({-213, -217, -227, -230, -232, -234, -244})


class ZaloAPIError(DeliveryError):
    """Zalo answered with a non-zero `error` (or not at all). `code` is Zalo's error code, 0 if none."""

    def __init__(self, code: int, message: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(f"Zalo error {code}: {message}", retry_after=retry_after, permanent=permanent)
        self.code = code


class ZaloWindowError(ZaloAPIError):
    """The user cannot be messaged now (no interaction for 7 days, blocked, not a follower…)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message, permanent=True)

    @property
    def window_closed(self) -> bool:
        """The buyer cannot be reached on Zalo any more (not the night ban, which ends in the morning): the
        delivery worker tells the staff to call them instead (bot/delivery.py)."""
        return self.code != -234


class ZaloRateLimited(ZaloAPIError):
    """Still rate limited (-32) after the bounded retries."""


class ZaloAuthError(ZaloAPIError):
    """No working access token: the refresh failed or the new token was refused too.

    Never permanent for the delivery worker (messages wait until an operator fixes the tokens);
    `refused` says the OAuth server rejected the refresh token, as opposed to not answering.
    """

    def __init__(self, code: int, message: str, *, retry_after: float | None = 300, refused: bool = False):
        super().__init__(code, message, retry_after=retry_after)
        self.refused = refused


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: dt.datetime | None
    generation: int

    @classmethod
    def of(cls, row: ChannelToken) -> TokenPair:
        return cls(row.access_token, row.refresh_token, row.expires_at, row.generation)


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


class ZaloTokens:
    """The OA's access/refresh token pair, stored in `channel_tokens` and refreshed by one caller at a time.

    Zalo refresh tokens work once: every refresh returns a new pair and kills the old refresh token. So the
    refresh runs under an asyncio lock (one per process) while holding the database row (SELECT … FOR
    UPDATE on PostgreSQL; a write lock taken by a no-op UPDATE on SQLite), and the new pair is committed
    before anyone uses it. A caller that waited for the lock finds the row already moved on (its
    `generation` changed) and takes that pair instead of refreshing again.
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        http: httpx.AsyncClient,
        *,
        refresh_margin: dt.timedelta = dt.timedelta(minutes=10),
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.http = http
        self.refresh_margin = refresh_margin
        self.clock = clock
        self._pair: TokenPair | None = None
        self._lock = asyncio.Lock()
        self.refreshes = 0  # successful refreshes done by this process, for logs and tests

    async def load(self) -> TokenPair:
        """Read the stored pair, seeding it from the settings on the very first start."""
        async with self.db.session() as session:
            row = await session.scalar(select(ChannelToken).where(ChannelToken.channel == CHANNEL))
            if row is not None:
                self._pair = TokenPair.of(row)
                return self._pair
        access = _secret(self.settings.zalo_access_token)
        if not access:
            raise ZaloAuthError(0, "no Zalo access token: set OCOP_ZALO_ACCESS_TOKEN and OCOP_ZALO_REFRESH_TOKEN",
                                refused=True)
        try:
            async with self.db.session() as session:
                row = ChannelToken(
                    channel=CHANNEL, access_token=access,
                    refresh_token=_secret(self.settings.zalo_refresh_token), expires_at=None, generation=0,
                )
                session.add(row)
            log.info("Zalo token pair seeded from the settings")
        except IntegrityError:  # another process seeded it first
            async with self.db.session() as session:
                row = await session.scalar(select(ChannelToken).where(ChannelToken.channel == CHANNEL))
                assert row is not None
        self._pair = TokenPair.of(row)
        return self._pair

    def _near_expiry(self, pair: TokenPair) -> bool:
        return pair.expires_at is not None and self.clock() >= pair.expires_at - self.refresh_margin

    async def current(self) -> TokenPair:
        """The pair to use now, refreshed first when it is about to expire."""
        pair = self._pair or await self.load()
        if self._near_expiry(pair) and pair.refresh_token:
            try:
                pair = await self.refresh(pair)
            except ZaloAuthError as exc:
                # The old token may still work for a few minutes; the send itself will tell.
                log.warning("proactive Zalo token refresh failed: %s", exc)
        return pair

    async def ensure_fresh(self) -> None:
        """Refresh ahead of expiry even when idle, so the refresh token never lapses unused."""
        await self.current()

    async def _lock_row(self, session: AsyncSession) -> ChannelToken:
        # The no-op UPDATE comes first so SQLite takes its write lock before reading; on PostgreSQL the
        # row lock it takes is the same one FOR UPDATE takes.
        await session.execute(
            update(ChannelToken).where(ChannelToken.channel == CHANNEL)
            .values(generation=ChannelToken.generation)
        )
        row = await session.scalar(
            select(ChannelToken).where(ChannelToken.channel == CHANNEL).with_for_update()
            .execution_options(populate_existing=True)
        )
        if row is None:
            raise ZaloAuthError(0, "the Zalo token row is missing")
        return row

    async def refresh(self, stale: TokenPair) -> TokenPair:
        """Replace `stale` (refused or expiring) with a new pair, unless someone already did."""
        async with self._lock:
            if self._pair is not None and self._pair.generation != stale.generation:
                return self._pair  # refreshed by another task of this process while we waited
            async with self.db.session() as session:
                row = await self._lock_row(session)
                if row.generation != stale.generation:
                    log.info("Zalo token already refreshed by another process (generation %s)", row.generation)
                    self._pair = TokenPair.of(row)
                    return self._pair
                access, refresh, expires_in = await self._request_new_pair(row.refresh_token)
                row.access_token, row.refresh_token = access, refresh
                row.expires_at = self.clock() + dt.timedelta(seconds=expires_in)
                row.generation = stale.generation + 1
                await session.flush()
                pair = TokenPair.of(row)
            # Committed: only now is the new pair handed out.
            self._pair = pair
            self.refreshes += 1
            log.info("Zalo access token refreshed (generation %s, expires %s)", pair.generation, pair.expires_at)
            return pair

    async def _request_new_pair(self, refresh_token: str) -> tuple[str, str, int]:
        """Spend the stored refresh token; if Zalo refuses it, try a different one an operator put in the settings."""
        try:
            return await self._call_oauth(refresh_token)
        except ZaloAuthError as exc:
            fallback = _secret(self.settings.zalo_refresh_token)
            if not exc.refused or not fallback or fallback == refresh_token:
                raise
            log.warning("stored Zalo refresh token refused (%s); trying OCOP_ZALO_REFRESH_TOKEN", exc)
            return await self._call_oauth(fallback)

    async def _call_oauth(self, refresh_token: str) -> tuple[str, str, int]:
        if not refresh_token:
            raise ZaloAuthError(0, "no Zalo refresh token stored", refused=True)
        url = f"{self.settings.zalo_oauth_url}/v4/oa/access_token"
        try:
            resp = await self.http.post(
                url,
                headers={"secret_key": _secret(self.settings.zalo_app_secret)},
                data={"refresh_token": refresh_token, "app_id": self.settings.zalo_app_id or "",
                      "grant_type": "refresh_token"},
            )
            body = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ZaloAuthError(0, f"token refresh request failed: {exc!r}", retry_after=30) from exc
        if not isinstance(body, dict):
            raise ZaloAuthError(0, "token refresh answered with something other than a JSON object", retry_after=60)
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not access or not refresh:
            reason = body.get("error_description") or body.get("error_name") or body.get("message") or "refused"
            raise ZaloAuthError(_error_code(body), f"token refresh refused: {reason}", refused=True)
        try:
            expires_in = int(str(body.get("expires_in", "90000")))  # a string on the wire
        except ValueError:
            expires_in = 90000
        return str(access), str(refresh), expires_in


class ZaloAPI:
    """Calls to `openapi.zalo.me` with the stored token: one refresh on -216/-220, bounded backoff on -32."""

    def __init__(
        self,
        settings: Settings,
        tokens: ZaloTokens,
        http: httpx.AsyncClient,
        *,
        rate_limit_retries: int = 3,
        rate_limit_backoff: float = 1.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self.http = http
        self.rate_limit_retries = rate_limit_retries
        self.rate_limit_backoff = rate_limit_backoff
        self.sleep = sleep

    async def send_message(self, user_id: str, message: dict[str, Any]) -> str:
        """Send one consultation (`cs`) message and return Zalo's message id."""
        body = {"recipient": {"user_id": user_id}, "message": message}
        data = await self._call("POST", "/v3.0/oa/message/cs", json_body=body)
        return str(data.get("message_id", ""))

    async def user_detail(self, user_id: str) -> dict[str, Any]:
        """The user's profile (webhooks carry no name)."""
        return await self._call("GET", "/v3.0/oa/user/detail",
                                params={"data": json.dumps({"user_id": user_id}, separators=(",", ":"))})

    async def upload_file(self, filename: str, data: bytes, mime_type: str) -> str:
        """Upload a file for a `file` attachment and return its token."""
        result = await self._call("POST", "/v2.0/oa/upload/file", files={"file": (filename, data, mime_type)})
        token = result.get("token")
        if not token:
            raise ZaloAPIError(0, "upload answered without a token", permanent=True)
        return str(token)

    async def upload_image(self, filename: str, data: bytes, mime_type: str) -> str:
        """Upload a photo (jpg/png, at most 1 MB) for a `media` template and return its attachment id."""
        result = await self._call("POST", "/v2.0/oa/upload/image", files={"file": (filename, data, mime_type)})
        attachment_id = result.get("attachment_id")
        if not attachment_id:
            raise ZaloAPIError(0, "upload answered without an attachment id", permanent=True)
        return str(attachment_id)

    async def _call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        refreshed = False
        rate_tries = 0
        while True:
            pair = await self.tokens.current()
            body = await self._request(method, path, pair.access_token, **kw)
            code = _error_code(body)
            if code == 0:
                data = body.get("data")
                return data if isinstance(data, dict) else {}
            message = str(body.get("message", ""))
            if code in TOKEN_ERRORS and not refreshed:
                log.info("Zalo refused the access token (%s %s); refreshing once", code, message)
                refreshed = True
                await self.tokens.refresh(pair)
                continue
            if code == RATE_LIMITED and rate_tries < self.rate_limit_retries:
                delay = self.rate_limit_backoff * 2**rate_tries * (1 + random.random() / 4)
                rate_tries += 1
                log.warning("Zalo rate limit (-32); retry %s in %.2fs", rate_tries, delay)
                await self.sleep(delay)
                continue
            raise _classify(code, message)

    async def _request(self, method: str, path: str, token: str, *, json_body: Any = None,
                       params: dict[str, str] | None = None, files: Any = None) -> dict[str, Any]:
        url = f"{self.settings.zalo_api_url}{path}"
        try:
            resp = await self.http.request(method, url, headers={"access_token": token},
                                           json=json_body, params=params, files=files)
        except httpx.HTTPError as exc:
            raise ZaloAPIError(0, f"request failed: {exc!r}") from exc
        # Zalo answers 200 even for errors; any other status came from something in between.
        if resp.status_code >= 500 or resp.status_code in (408, 429):
            raise ZaloAPIError(0, f"HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise ZaloAPIError(0, f"HTTP {resp.status_code} from {path}", permanent=True)
        try:
            body = resp.json()
        except ValueError as exc:
            raise ZaloAPIError(0, "an answer that is not JSON") from exc
        if not isinstance(body, dict):
            raise ZaloAPIError(0, "answer is not a JSON object", permanent=True)
        return body


def _error_code(body: dict[str, Any]) -> int:
    try:
        return int(body.get("error", 0) or 0)
    except (TypeError, ValueError):
        return -1


def _classify(code: int, message: str) -> ZaloAPIError:
    """Turn a final Zalo error into the exception the delivery worker understands."""
    if code in WINDOW_ERRORS:
        return ZaloWindowError(code, message)
    if code in TOKEN_ERRORS:
        return ZaloAuthError(code, f"{message} (even after a token refresh)")
    if code == RATE_LIMITED:
        return ZaloRateLimited(code, message, retry_after=60)
    if code == OUT_OF_QUOTA:
        return ZaloAPIError(code, message, retry_after=3600)
    if code == ATTACHMENT_EXPIRED:
        return ZaloAPIError(code, message, retry_after=5)
    return ZaloAPIError(code, message, permanent=True)
