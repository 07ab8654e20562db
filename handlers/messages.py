"""The neutral message model every channel speaks: `Incoming` from a user, `Reply` back to them."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from typing import Literal

# Replies are written in this small HTML subset; channels without formatting strip it with `to_plain`.
ALLOWED_TAGS = ("b", "i", "u", "code", "a")
MAX_PAYLOAD_BYTES = 64


def h(value: object) -> str:
    """Escape any catalogue or user text before it goes into a reply."""
    return html.escape("" if value is None else str(value), quote=True)


def link(url: str, label: str) -> str:
    return f'<a href="{h(url)}">{h(label)}</a>'


_TAG = re.compile(r"<(/?)(b|i|u|code|a)(?:\s+href=\"([^\"]*)\")?>")


def to_plain(text: str) -> str:
    """Render reply HTML as plain text (terminal, Zalo): links become 'label (url)'."""
    text = re.sub(r'<a href="([^"]*)">(.*?)</a>', lambda m: f"{m.group(2)} ({m.group(1)})", text, flags=re.S)
    text = _TAG.sub("", text)
    return html.unescape(text)


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class SharedContact:
    phone: str
    name: str = ""
    user_id: str = ""


@dataclass(frozen=True, slots=True)
class SharedDocument:
    """A file the user sent: the channel's id to fetch it by (Services.files), its name, size and type."""

    file_id: str
    file_name: str = ""
    size: int | None = None
    mime_type: str = ""


@dataclass(frozen=True, slots=True)
class Incoming:
    """One thing a user did: typed text, tapped a button, shared a location, a contact or a file."""

    channel: str
    chat_id: str
    user_id: str
    display_name: str = ""
    language_hint: str | None = None
    text: str | None = None
    payload: str | None = None
    location: Location | None = None
    contact: SharedContact | None = None
    document: SharedDocument | None = None
    message_id: str | None = None  # the bot message a button was on, so a reply can edit it

    @property
    def is_command(self) -> bool:
        return bool(self.text and self.text.startswith("/"))

    def command(self) -> tuple[str, str]:
        """('/start', 'rest of text') for '/start@OcopBot rest of text'."""
        head, _, rest = (self.text or "").strip().partition(" ")
        return head.split("@", 1)[0].lower(), rest.strip()


ButtonKind = Literal["payload", "url", "location", "contact"]


@dataclass(frozen=True, slots=True)
class Button:
    """A button with a short language-neutral payload (`p:<slug>`), a URL, or a share request."""

    label: str
    payload: str = ""
    url: str = ""
    kind: ButtonKind = "payload"

    def __post_init__(self) -> None:
        if self.kind == "payload" and not 0 < len(self.payload.encode()) <= MAX_PAYLOAD_BYTES:
            raise ValueError(f"button payload must be 1–{MAX_PAYLOAD_BYTES} bytes: {self.payload!r}")


@dataclass(frozen=True, slots=True)
class Venue:
    latitude: float
    longitude: float
    title: str
    address: str = ""


@dataclass(frozen=True, slots=True)
class Document:
    filename: str
    data: bytes
    mime_type: str = "text/csv"
    caption: str = ""


@dataclass(slots=True)
class Reply:
    """Something to say back: HTML-subset text, rows of buttons, and optionally a venue or a document.

    `edit=True` asks the channel to replace the message the button was on (pagination) when it can.
    `keyboard` rows are reply-keyboard buttons (share location / contact) where the channel has them.
    """

    text: str = ""
    buttons: list[list[Button]] = field(default_factory=list)
    keyboard: list[list[Button]] = field(default_factory=list)
    remove_keyboard: bool = False
    venue: Venue | None = None
    document: Document | None = None
    edit: bool = False
    notice: str = ""  # a short toast for a tapped button (Telegram answerCallbackQuery)
    # A photo shown with the text where the channel can (an http(s) address, or a file path on the bot's
    # server): the department's own product photos. The text never depends on it being shown.
    image: str = ""

    @property
    def image_is_url(self) -> bool:
        return self.image.startswith(("http://", "https://"))


def reply_to_json(reply: Reply) -> dict[str, object]:
    """A reply as JSON, for the outbox: text and buttons (venues and documents are not queued)."""
    return {
        "text": reply.text,
        "buttons": [[{"label": b.label, "payload": b.payload, "url": b.url, "kind": b.kind} for b in row]
                    for row in reply.buttons],
    }


def reply_from_json(data: dict[str, object]) -> Reply:
    rows = data.get("buttons") or []
    assert isinstance(rows, list)
    return Reply(
        text=str(data.get("text", "")),
        buttons=[[Button(b["label"], b.get("payload", ""), b.get("url", ""), b.get("kind", "payload"))
                  for b in row] for row in rows],
    )


def _rows(rows: list[list[Button]]) -> list[list[dict[str, str]]]:
    return [[{"label": b.label, "payload": b.payload, "url": b.url, "kind": b.kind} for b in row] for row in rows]


def _buttons(rows: object) -> list[list[Button]]:
    assert isinstance(rows, list)
    return [[Button(b["label"], b.get("payload", ""), b.get("url", ""), b.get("kind", "payload")) for b in row]
            for row in rows]


def reply_dump(reply: Reply) -> dict[str, object]:
    """Everything in a reply as JSON, for the durable inbox (replies owed for a handled update)."""
    data: dict[str, object] = {"text": reply.text, "buttons": _rows(reply.buttons)}
    if reply.keyboard:
        data["keyboard"] = _rows(reply.keyboard)
    if reply.remove_keyboard:
        data["remove_keyboard"] = True
    if reply.edit:
        data["edit"] = True
    if reply.notice:
        data["notice"] = reply.notice
    if reply.image:
        data["image"] = reply.image
    if reply.venue is not None:
        v = reply.venue
        data["venue"] = {"latitude": v.latitude, "longitude": v.longitude, "title": v.title, "address": v.address}
    if reply.document is not None:
        d = reply.document
        data["document"] = {"filename": d.filename, "data": base64.b64encode(d.data).decode(),
                            "mime_type": d.mime_type, "caption": d.caption}
    return data


def reply_load(data: dict[str, object]) -> Reply:
    venue = data.get("venue")
    document = data.get("document")
    return Reply(
        text=str(data.get("text", "")),
        buttons=_buttons(data.get("buttons") or []),
        keyboard=_buttons(data.get("keyboard") or []),
        remove_keyboard=bool(data.get("remove_keyboard")),
        edit=bool(data.get("edit")),
        notice=str(data.get("notice", "")),
        image=str(data.get("image", "")),
        venue=Venue(**venue) if isinstance(venue, dict) else None,
        document=(Document(document["filename"], base64.b64decode(document["data"]), document["mime_type"],
                           document["caption"]) if isinstance(document, dict) else None),
    )
