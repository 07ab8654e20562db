"""Database tables: the catalogue, chat sessions, wholesale leads with their outbox, channel state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CATEGORIES = ("food", "beverage", "herbal", "textile", "handicraft", "tourism")
PRODUCER_KINDS = ("cooperative", "company", "household", "other")
STORE_KINDS = ("ocop_store", "sales_point", "display_point", "supermarket", "fair")
LEAD_STATUSES = ("new", "claimed", "contacted", "won", "lost", "spam")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores naive UTC and returns aware UTC, so SQLite (which drops the zone) and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, dt.datetime: UTCDateTime()}


store_products = Table(
    "store_products",
    Base.metadata,
    Column("store_id", ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
)


class Producer(Base):
    """A cooperative, company or household that makes OCOP products."""

    __tablename__ = "producers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="other")
    address: Mapped[str] = mapped_column(String(500), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    website: Mapped[str] = mapped_column(String(500), default="")
    products: Mapped[list[Product]] = relationship(back_populates="producer")


class Product(Base):
    """One OCOP-certified product, as the department lists it."""

    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    # Use and occasion tags (gift, tet, health…), codes from catalog/data/uses.json; checked on import.
    uses: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'"))
    category: Mapped[str] = mapped_column(String(20), index=True)
    stars: Mapped[int | None] = mapped_column(Integer, index=True)
    year: Mapped[int | None] = mapped_column(Integer)
    # The OCOP recognition decision (catalog/certificates.py computes its state against today).
    certificate_no: Mapped[str] = mapped_column(String(100), default="", server_default="")
    certified_on: Mapped[dt.date | None] = mapped_column(Date)
    certificate_level: Mapped[str] = mapped_column(String(20), default="", server_default="")
    certificate_expires_on: Mapped[dt.date | None] = mapped_column(Date)
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producers.id", ondelete="SET NULL"))
    commune: Mapped[str] = mapped_column(String(200), default="")
    district: Mapped[str] = mapped_column(String(100), default="", index=True)
    province: Mapped[str] = mapped_column(String(100), default="")
    description_vi: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    season_vi: Mapped[str] = mapped_column(String(200), default="", server_default="")
    season_en: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # A photo the department supplies: an http(s) address or a file path on the bot's server.
    image: Mapped[str] = mapped_column(String(500), default="", server_default="")
    sources: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    producer: Mapped[Producer | None] = relationship(back_populates="products", lazy="joined")
    stores: Mapped[list[Store]] = relationship(secondary=store_products, back_populates="products")
    listings: Mapped[list[OnlineListing]] = relationship(back_populates="product")


class Store(Base):
    """A physical shop, sales point, display point or fair where OCOP products are sold."""

    __tablename__ = "stores"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(500), default="")
    commune: Mapped[str] = mapped_column(String(200), default="")
    district: Mapped[str] = mapped_column(String(100), default="")
    province: Mapped[str] = mapped_column(String(100), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    opening_hours: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    website: Mapped[str] = mapped_column(String(500), default="")
    description_vi: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    sources: Mapped[list[Any]] = mapped_column(default=list)

    products: Mapped[list[Product]] = relationship(secondary=store_products, back_populates="stores")


class OnlineListing(Base):
    """An online platform selling OCOP products (no product) or one product's listing on it."""

    __tablename__ = "online_listings"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    platform: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    description_vi: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    sources: Mapped[list[Any]] = mapped_column(default=list)

    product: Mapped[Product | None] = relationship(back_populates="listings")


class Contact(Base):
    """A public body buyers and producers can contact (trade department, promotion centre…)."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    role_vi: Mapped[str] = mapped_column(Text, default="")
    role_en: Mapped[str] = mapped_column(Text, default="")
    people: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    website: Mapped[str] = mapped_column(String(500), default="")
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    sources: Mapped[list[Any]] = mapped_column(default=list)


class CatalogState(Base):
    """Single-row version counter, bumped by every import so each process can rebuild its search index."""

    __tablename__ = "catalog_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ChatSession(Base):
    """Per-chat state that must outlive a process: language, last list shown, menu position, form."""

    __tablename__ = "chat_sessions"
    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_chat_sessions_channel_chat"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64), default="")
    language: Mapped[str | None] = mapped_column(String(5))
    last_results: Mapped[list[Any]] = mapped_column(default=list)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    form: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    form_updated_at: Mapped[dt.datetime | None] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Lead(Base):
    """A wholesale enquiry, worked by trade-department staff."""

    __tablename__ = "leads"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(5), default="vi")
    products: Mapped[list[Any]] = mapped_column(default=list)
    quantity: Mapped[str] = mapped_column(String(100), default="")
    delivery_place: Mapped[str] = mapped_column(String(300), default="")
    time_frame: Mapped[str] = mapped_column(String(200), default="")
    buyer_name: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    claimed_by: Mapped[str] = mapped_column(String(200), default="")
    staff_message_id: Mapped[int | None] = mapped_column(Integer)
    # The desk (catalog/desk.py): who has it, labels, and the moments its deadlines are measured by.
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_accounts.id", ondelete="SET NULL"), index=True
    )
    tags: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'"))
    product_group: Mapped[str] = mapped_column(String(20), default="", server_default="", index=True)
    district: Mapped[str] = mapped_column(String(100), default="", server_default="", index=True)
    staff_chat_id: Mapped[str] = mapped_column(
        String(64), default="", server_default=""
    )  # routed card's chat
    staff_thread_id: Mapped[int | None] = mapped_column(Integer)  # and its forum topic (message_thread_id)
    claimed_at: Mapped[dt.datetime | None] = mapped_column()
    first_reply_at: Mapped[dt.datetime | None] = mapped_column()
    closed_at: Mapped[dt.datetime | None] = mapped_column()
    consent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    anonymised_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    events: Mapped[list[LeadEvent]] = relationship(back_populates="lead", order_by="LeadEvent.id")


class LeadEvent(Base):
    """One change to a lead: who, when, from what to what, and any note relayed."""

    __tablename__ = "lead_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[str] = mapped_column(String(64), default="")
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    # The staff account behind the action, from the console or from a Telegram id linked to an account.
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str] = mapped_column(String(20), default="")
    to_status: Mapped[str] = mapped_column(String(20), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    lead: Mapped[Lead] = relationship(back_populates="events")


class OutboxMessage(Base):
    """A message that must reach a chat at least once, committed with the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_message_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    # Which delivery worker ("host:pid:token") holds a "sending" entry; its lease ends at next_attempt_at.
    lease_owner: Mapped[str] = mapped_column(String(100), default="", server_default="")


class ChannelToken(Base):
    """Rotating channel credentials (Zalo OA access/refresh tokens), stored before use."""

    __tablename__ = "channel_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), unique=True)
    access_token: Mapped[str] = mapped_column(Text, default="")
    refresh_token: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[dt.datetime | None] = mapped_column()
    generation: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProcessedEvent(Base):
    """Ids of inbound events already handled, so a channel's retried delivery is handled once."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("channel", "event_id", name="uq_processed_events_channel_event"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class InboxEntry(Base):
    """An update or event as received, committed before the channel is told it arrived (the durable inbox).

    pending ──handled (same transaction as the handler's changes; the replies stored)──► handled
    handled ──replies sent──► done (payload and replies blanked, the key kept to refuse a redelivery)
    pending/handled ──failed N times──► parked (kept for `ocop-bot doctor`)
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "key", name="uq_inbox_channel_key"),
        Index("ix_inbox_status", "status", "channel"),
        Index("ix_inbox_chat_order", "channel", "chat_key", "seq"),
        Index("ix_inbox_seq", "channel", "seq"),
        # A chat's look (catalog/inbox.py) reads its unfinished entries and counts its recent ones: without these it
        # walked every entry the chat had in the last two days (done ones are kept that long), twice. The first is
        # partial, `ix_inbox_unfinished` on (channel, chat_key, seq) WHERE status IN ('pending', 'handled'), made by
        # migration 0013 (the schema is built by the migrations only): declared here, its `postgresql_where` would
        # make SQLAlchemy import its PostgreSQL dialect in every process at import, SQLite ones included (≈30 ms).
        Index("ix_inbox_chat_time", "channel", "chat_key", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(128))  # Telegram update_id, Zalo message/event key
    chat_key: Mapped[str] = mapped_column(String(64), default="")  # whose updates must keep their order
    # the order within a chat: Telegram's update id, Zalo's event time (ms); a chat's lowest unfinished goes next
    seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str] = mapped_column(String(100), default="")  # "host:pid:token" of the process on it
    replies: Mapped[list[Any] | None] = mapped_column(nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ChatMigration(Base):
    """A chat that moved (a Telegram group upgraded to a supergroup gets a new id): old id → new id."""

    __tablename__ = "chat_migrations"
    __table_args__ = (UniqueConstraint("channel", "old_chat_id", name="uq_chat_migrations_channel_old"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    old_chat_id: Mapped[str] = mapped_column(String(64))
    new_chat_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ErasedCount(Base):
    """How many of a user's enquiries of one day /forget erased: only a keyed hash of the user, a day and a
    number, so that erasing (in any chat) does not reset the daily enquiry limit. Older days are deleted."""

    __tablename__ = "erased_counts"
    __table_args__ = (UniqueConstraint("user_key", "day", name="uq_erased_counts_user_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_key: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer, default=0)


class ProcessLease(Base):
    """A role only one process may hold at a time (e.g. long polling one bot token), renewed while held."""

    __tablename__ = "process_leases"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[dt.datetime] = mapped_column()


class Event(Base):
    """One thing a buyer did, for the department's demand insight (catalog/events.py). No user id, name, phone
    or chat id: `chat_key` is a keyed hash of the chat and the month (it changes every month), and becomes
    NULL when the chat sends /forget. Deleted after OCOP_EVENTS_RETENTION_MONTHS."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(24))
    chat_key: Mapped[str | None] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(20), default="")
    language: Mapped[str] = mapped_column(String(5), default="")
    query: Mapped[str] = mapped_column(String(200), default="")  # folded, personal data masked
    results: Mapped[int | None] = mapped_column(Integer)
    product: Mapped[str] = mapped_column(String(120), default="")  # slug: top result, product viewed
    step: Mapped[str] = mapped_column(String(30), default="")  # form step; how a form ended
    products: Mapped[list[Any]] = mapped_column(default=list)  # slugs of a confirmed enquiry


class DigestRun(Base):
    """A weekly digest claimed by one process: the row is inserted with the digest's outbox entry in one
    transaction, so the week's primary key makes it go out once however many processes try."""

    __tablename__ = "digest_runs"
    week: Mapped[str] = mapped_column(String(10), primary_key=True)  # ISO week, "2026-W49"
    owner: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StaffAccount(Base):
    """A member of the department's staff who signs in to the console; linked to their Telegram user id so a
    claim in the staff chat and one in the console are the same person's."""

    __tablename__ = "staff_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    language: Mapped[str] = mapped_column(String(5), default="vi")
    # Bumped on logout, password change or deactivation: every session cookie signed before is refused.
    session_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column()


class AuditEntry(Base):
    """Who did what in the console (and every refused or failed sign-in): never a password, never a message."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_subject", "action", "subject", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(100), default="")  # a lead's reference, an account's name…
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    address: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class CannedReply(Base):
    """A ready answer for staff replies, in both languages; `{buyer}`, `{product}`, `{quantity}` are filled in."""

    __tablename__ = "canned_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body_vi: Mapped[str] = mapped_column(Text, default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DeskSetting(Base):
    """The desk's configuration edited by admins (business hours and holidays, deadlines) as JSON by key."""

    __tablename__ = "desk_settings"
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RoutingRule(Base):
    """Leads of a product group and/or former district go to this staff chat (or forum topic), optionally
    assigned in turn among the rule's staff. Rules are tried by position; none matching → the staff chat."""

    __tablename__ = "routing_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    product_group: Mapped[str] = mapped_column(String(20), default="")  # "" = any
    district: Mapped[str] = mapped_column(String(100), default="")  # "" = any
    chat_id: Mapped[str] = mapped_column(String(64), default="")  # "" = the default staff chat
    thread_id: Mapped[int | None] = mapped_column(Integer)
    staff_ids: Mapped[list[Any]] = mapped_column(default=list)  # accounts assigned round-robin, in order
    next_index: Mapped[int] = mapped_column(Integer, default=0)


class DeadlineAlert(Base):
    """A reminder or escalation sent for one deadline of one lead: the unique key makes it exactly one,
    across restarts and processes (inserted in the transaction that queues the message)."""

    __tablename__ = "deadline_alerts"
    __table_args__ = (
        UniqueConstraint("lead_id", "deadline", "stage", name="uq_deadline_alerts_lead_deadline_stage"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    deadline: Mapped[str] = mapped_column(String(20))  # claim, first_reply
    stage: Mapped[str] = mapped_column(String(20))  # reminder, escalation
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CatalogVersion(Base):
    """One applied change of the catalogue (an import, a staff upload, a rollback): who, what, when, how many
    rows, and the whole catalogue as it was afterwards (gzip-compressed JSON in the import layout), so
    `ocop-bot catalog rollback VERSION` can restore it."""

    __tablename__ = "catalog_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(20))  # import, upload, rollback
    source: Mapped[str] = mapped_column(String(300), default="")  # the file's name, or "version N"
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {table: {added, changed, removed, rows}}
    state_version: Mapped[int] = mapped_column(Integer)  # catalog_state.version once applied
    snapshot: Mapped[bytes] = mapped_column(LargeBinary)
    snapshot_sha256: Mapped[str] = mapped_column(String(64))


class CatalogUpload(Base):
    """A file a staff member uploaded (console or Telegram staff chat), kept between its dry-run diff and Apply:
    Apply refuses if the catalogue changed since the diff (`base_version`) or the content is not the one diffed."""

    __tablename__ = "catalog_uploads"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(20))  # console, telegram
    file_name: Mapped[str] = mapped_column(String(300))
    content_sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    base_version: Mapped[int] = mapped_column(Integer)  # catalog_state.version when the diff was made
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, applied, cancelled, stale, expired, refused
    version_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_versions.id", ondelete="SET NULL"))
