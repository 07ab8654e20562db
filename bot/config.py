"""Typed settings, read once from the environment (and an optional .env) and passed down."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENV_PREFIX = "OCOP_"

# Plain driver names people copy from docs, mapped to the async drivers we ship.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
_SUPPORTED = {"sqlite+aiosqlite", "postgresql+asyncpg", "postgresql+psycopg"}


class SettingsError(Exception):
    """A setting has a bad value; the message is one line naming the variable."""


def default_database_url() -> str:
    data_dir = Path(user_data_dir("ocop-bot", appauthor=False))
    return f"sqlite+aiosqlite:///{data_dir / 'ocop.db'}"


def normalise_database_url(value: str) -> str:
    """Accept the URL forms people paste and turn them into the async form SQLAlchemy needs."""
    try:
        url = make_url(value.strip())
    except ArgumentError as exc:
        raise ValueError("not a database URL (expected e.g. sqlite+aiosqlite:///path/ocop.db)") from exc
    driver = _ASYNC_DRIVERS.get(url.drivername, url.drivername)
    if driver not in _SUPPORTED:
        raise ValueError(f"unsupported database driver {url.drivername!r}; use sqlite or postgresql")
    return url.set(drivername=driver).render_as_string(hide_password=False)


class Settings(BaseSettings):
    """Everything the program can be told from outside. Build with `load_settings()`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(default_factory=default_database_url)
    default_language: Literal["vi", "en"] = "vi"

    telegram_token: SecretStr | None = None
    telegram_base_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    staff_chat_id: int | None = None
    staff_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    staff_language: Literal["vi", "en"] = "vi"
    # The department's name as buyers read it ("… has been sent to {name}"); unset, the bot names no
    # department (Bắc Giang merged into Bắc Ninh on 1 July 2025 and the new department's name has no source here)
    department_name_vi: str | None = None
    department_name_en: str | None = None

    # The staff console's address as people open it (https://desk.example.org): the weekly digest links to it
    web_public_url: str | None = None

    # Redis for one outbound rate limit shared by every process of a bot (bot/shared_rate.py); none = per process
    redis_url: str | None = None
    # Messages per second the bot sends at most, all chats together (Telegram's bulk limit is ~30); 0 = no limit,
    # for benchmarks against a local fake Bot API server only
    telegram_rate_limit: float = Field(default=30.0, ge=0)

    enquiry_expiry_hours: float = Field(default=24.0, gt=0)
    enquiries_per_day: int = Field(default=5, ge=1)

    # Demand insight (catalog/events.py, bot/insights.py): the key that hashes chats, how long events are
    # kept, and when the weekly digest goes to the staff chat ("mon 08:00" in `digest_timezone`; "off")
    events_secret: SecretStr | None = None
    events_retention_months: int = Field(default=13, ge=1, le=120)
    events_flush_seconds: float = Field(default=5.0, gt=0, le=3600)
    digest_schedule: str = "mon 08:00"
    digest_timezone: str = "Asia/Ho_Chi_Minh"
    # The staff console (bot/web/console.py): its cookie-signing secret; with it set, `ocop-bot run` serves the
    # console on its one web server (OCOP_WEB_HOST/OCOP_WEB_PORT)
    web_secret: SecretStr | None = None
    web_secure_cookies: bool = False  # set when the console is served over HTTPS (behind a proxy)

    zalo_app_id: str | None = None
    zalo_app_secret: SecretStr | None = None
    zalo_oa_secret_key: SecretStr | None = None
    zalo_access_token: SecretStr | None = None
    zalo_refresh_token: SecretStr | None = None
    zalo_api_url: str = "https://openapi.zalo.me"
    zalo_oauth_url: str = "https://oauth.zaloapp.com"
    zalo_webhook_host: str = "127.0.0.1"
    zalo_webhook_port: int = Field(default=8080, ge=1, le=65535)
    zalo_webhook_path: str = "/zalo/webhook"

    # The one web server of `ocop-bot run` (webhooks, /healthz): unset, the OCOP_ZALO_WEBHOOK_* values
    web_host: str | None = None
    web_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("telegram_base_url", "zalo_api_url", "zalo_oauth_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if not value.endswith("/bot") else value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("must be 1-256 characters: letters, digits, _ and -")
        return value

    @field_validator("staff_user_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError:
                raise ValueError("must be numeric Telegram user ids separated by commas") from None
        return value

    @field_validator("digest_schedule")
    @classmethod
    def _digest_schedule(cls, value: str) -> str:
        value = value.strip().lower()
        if value != "off" and not re.fullmatch(r"(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError('must be a weekday and a time, e.g. "mon 08:00", or "off"')
        return value

    @field_validator("digest_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a time zone name (e.g. Asia/Ho_Chi_Minh)") from None
        return value

    @field_validator("web_secret")
    @classmethod
    def _web_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
        return value

    @field_validator("department_name_vi", "department_name_en")
    @classmethod
    def _department_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = " ".join(value.split())
        if not value:
            return None
        if len(value) > 200 or any(ord(c) < 32 for c in value):
            raise ValueError("must be a name of at most 200 characters on one line")
        return value

    @field_validator("web_public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("must be the console's address, e.g. https://desk.example.org")
        return value

    def department_name(self, language: str) -> str | None:
        """OCOP_DEPARTMENT_NAME_VI / _EN in `language`, else the other one, else None (name no department)."""
        first, other = (
            (self.department_name_en, self.department_name_vi)
            if language == "en"
            else (self.department_name_vi, self.department_name_en)
        )
        return first or other

    @field_validator("zalo_webhook_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def is_staff(self, user_id: int | str | None) -> bool:
        try:
            return user_id is not None and int(user_id) in self.staff_user_ids
        except (TypeError, ValueError):
            return False

    @property
    def web_address(self) -> tuple[str, int]:
        """Where `ocop-bot run` serves its web application: OCOP_WEB_HOST/PORT, else the Zalo webhook's."""
        return self.web_host or self.zalo_webhook_host, self.web_port or self.zalo_webhook_port

    @property
    def zalo_configured(self) -> bool:
        return bool(self.zalo_app_id and self.zalo_oa_secret_key and self.zalo_access_token)


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment; a bad value raises SettingsError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ENV_PREFIX + "_".join(str(p) for p in first["loc"] if isinstance(p, str)).upper()
        reason = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {reason}") from None
