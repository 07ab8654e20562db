"""A local fake of the Telegram Bot API for end-to-end tests.

The real python-telegram-bot (PTB) ``Bot`` / ``Application`` can poll this server and
send to it, because it speaks HTTP the way Telegram does:

* URL shape ``{base_url}{token}/{method}``, e.g. ``http://127.0.0.1:PORT/bot123:ABC/sendMessage``
  (PTB appends the token to ``base_url``; pass ``api.base_url`` which ends in ``/bot``).
* Bodies as PTB sends them: ``application/x-www-form-urlencoded`` (plain strings as-is,
  everything else JSON-dumped, e.g. ``reply_markup``), or ``multipart/form-data`` when a
  file is uploaded.  JSON bodies and query strings are accepted too.  Method names are
  case-insensitive, like Telegram's.
* Answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
  "description": "...", "parameters": {...}}`` with a real 4xx/5xx HTTP status.

Usage::

    async with FakeTelegramAPI(token="123:ABC") as api:
        app = ApplicationBuilder().token("123:ABC").base_url(api.base_url) \
            .base_file_url(api.base_file_url).build()
        ...
        api.push_command(111, "start")
        texts = await api.wait_for_messages(111, 1)

It runs uvicorn + starlette inside the *current* event loop.  Everything is
single-threaded: call the ``push_*`` helpers from the test's event loop.

Strictness: text/HTML/keyboard validation follows the Bot API documentation and
tdlib's error strings where they are known.  One deliberate difference: with
``strict_html=True`` (default) a bare ``&`` (or an unsupported named entity such as
``&nbsp;``) in HTML text is rejected, as the Bot API docs require ("All <, > and &
symbols that are not a part of a tag or an HTML entity must be replaced"), whereas
real Telegram tolerates it.  This catches missing ``html.escape`` calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import itertools
import json
import logging
import re
import socket
import time
import urllib.parse
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = [
    "Call",
    "EntityParseError",
    "FakeTelegramAPI",
    "UploadedFile",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
]


_ATOMS = (str, int, float, bool, type(None), bytes)


def _clone(value: Any) -> Any:
    """A deep copy of the JSON-shaped data this server keeps (dicts, lists, scalars): a plain recursion,
    several times faster than `copy.deepcopy`, which the server otherwise spent most of its time in."""
    if isinstance(value, dict):
        return {key: _clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clone(item) for item in value]
    if isinstance(value, _ATOMS):
        return value
    return copy.deepcopy(value)  # anything else (never expected): the safe, slow way

_LOGGER = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_TEXT = 200
MAX_INLINE_RESULTS = 50
MAX_INLINE_RESULT_ID_BYTES = 64
MAX_INLINE_NEXT_OFFSET_BYTES = 64
MAX_COMMANDS = 100

# Update types delivered when allowed_updates is empty / never set.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
# The first bytes of the image formats Telegram takes as a photo: PNG, JPEG, GIF, WebP (RIFF).
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF")


# --------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------


@dataclass
class UploadedFile:
    """A file the bot uploaded (multipart) or referenced by file_id / URL."""

    field: str
    filename: str
    content: bytes
    mime_type: str
    file_id: str = ""
    file_unique_id: str = ""
    file_path: str = ""
    chat_id: int | None = None
    url: str | None = None  # set when the bot sent an http(s) URL instead of bytes

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class Call:
    """One request the bot made.

    ``params`` are decoded: JSON-encoded fields (reply_markup, results, commands, ...)
    are parsed back into dicts/lists, numbers/booleans into Python values, and plain
    string fields (text, caption, query ids, ...) left as strings.
    """

    method: str
    params: dict[str, Any]
    chat_id: int | str | None
    time: float
    files: dict[str, UploadedFile] = field(default_factory=dict)
    status: int | None = None  # HTTP status returned; None = no response (dropped)
    result: Any = None
    description: str | None = None  # error description for failures
    fault: str | None = None  # injected fault kind ("429", "timeout", "disconnect", ...)
    response_lost: bool = False  # processed by the fake but the response never reached the bot

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def text(self) -> str | None:
        value = self.params.get("text")
        return value if isinstance(value, str) else None

    def __repr__(self) -> str:  # compact, for assertion messages
        extra = f" fault={self.fault}" if self.fault else ""
        desc = f" {self.description!r}" if self.description else ""
        return f"<Call {self.method} chat={self.chat_id} status={self.status}{extra}{desc}>"


@dataclass
class _Fault:
    kind: str  # "timeout" | "disconnect" | "<http status>"
    status: int | None = None
    retry_after: float = 1
    seconds: float | None = None
    description: str | None = None
    processed: bool = False
    parameters: dict[str, Any] | None = None


@dataclass
class _Stored:
    msg: dict[str, Any]
    from_bot: bool
    deleted: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)  # previous versions
    markup: dict[str, Any] | None = None  # full reply_markup as sent (also reply keyboards)


class _ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


class EntityParseError(ValueError):
    """Raised by the parse_* functions; str(exc) is tdlib's message, e.g.
    'Can't find end tag corresponding to start tag "b"'."""


# --------------------------------------------------------------------------------------
# Text parsing (HTML / MarkdownV2 / Markdown) — returns visible text + entities
# --------------------------------------------------------------------------------------


def _u16(text: str) -> int:
    """Length in UTF-16 code units (Telegram entity offsets/lengths use these)."""
    return len(text.encode("utf-16-le")) // 2


def _bo(src: str, index: int) -> int:
    """UTF-8 byte offset of character index (tdlib reports byte offsets)."""
    return len(src[:index].encode("utf-8"))


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.u16 = 0

    def add(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.u16 += _u16(text)

    def text(self) -> str:
        return "".join(self.parts)


_HTML_TAGS = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
_HTML_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));")
_HTML_TEXT_RUN_RE = re.compile(r"[^<&]+")


def _decode_html_entity(src: str, i: int) -> tuple[str | None, int]:
    match = _HTML_ENTITY_RE.match(src, i)
    if not match:
        return None, i
    if match.group(1):
        return _HTML_NAMED_ENTITIES[match.group(1)], match.end()
    code = int(match.group(2)) if match.group(2) else int(match.group(3), 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None, i
    return chr(code), match.end()


def _unescape_attr(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            char, j = _decode_html_entity(value, i)
            if char is not None:
                out.append(char)
                i = j
                continue
        out.append(value[i])
        i += 1
    return "".join(out)


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    start: int  # utf-16 offset in output
    byte_offset: int
    language: str | None = None


def parse_html(src: str, *, strict: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML like tdlib does; return (visible_text, entities).

    Raises EntityParseError with tdlib's wording for malformed markup.  ``strict``
    additionally rejects '&' that does not start a supported entity (see module doc).
    """
    out = _Builder()
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(src)
    while i < n:
        char = src[i]
        if char == "&":
            decoded, j = _decode_html_entity(src, i)
            if decoded is None:
                if strict:
                    raise EntityParseError(
                        f"Character '&' at byte offset {_bo(src, i)} is not part of a supported "
                        "HTML entity and must be replaced with &amp; (only &lt; &gt; &amp; &quot; "
                        "and numeric entities are supported)"
                    )
                decoded, j = "&", i + 1
            out.add(decoded)
            i = j
            continue
        if char != "<":
            match = _HTML_TEXT_RUN_RE.match(src, i)
            assert match is not None
            out.add(match.group(0))
            i = match.end()
            continue

        begin = i
        i += 1
        if i < n and src[i] == "/":  # end tag
            close = src.find(">", i)
            if close == -1:
                raise EntityParseError(f"Unclosed end tag at byte offset {_bo(src, begin)}")
            name = src[i + 1 : close].strip().lower()
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {_bo(src, begin)}")
            top = stack[-1]
            if name != top.name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {_bo(src, begin)}, expected "</{top.name}>",'
                    f' found "</{name}>"'
                )
            stack.pop()
            _close_html_tag(top, out.u16, stack, entities)
            i = close + 1
            continue

        # start tag
        j = i
        while j < n and not src[j].isspace() and src[j] != ">":
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_bo(src, begin)}")
        name = src[i:j].lower()
        if name not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {_bo(src, begin)}')
        attrs: dict[str, str] = {}
        i = j
        while True:
            while i < n and src[i].isspace():
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {_bo(src, begin)}")
            if src[i] == ">":
                i += 1
                break
            k = i
            while k < n and not src[k].isspace() and src[k] not in "=>":
                k += 1
            if k == i:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset {_bo(src, begin)}'
                )
            attr_name = src[i:k].lower()
            while k < n and src[k].isspace():
                k += 1
            if k >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {_bo(src, begin)}")
            if src[k] != "=":
                attrs[attr_name] = ""
                i = k
                continue
            k += 1
            while k < n and src[k].isspace():
                k += 1
            if k >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {_bo(src, begin)}")
            if src[k] in "\"'":
                end = src.find(src[k], k + 1)
                if end == -1:
                    raise EntityParseError(f"Unclosed start tag at byte offset {_bo(src, begin)}")
                raw_value = src[k + 1 : end]
                i = end + 1
            else:
                end = k
                while end < n and not src[end].isspace() and src[end] != ">":
                    end += 1
                if end >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {_bo(src, begin)}")
                raw_value = src[k:end]
                i = end
            attrs[attr_name] = _unescape_attr(raw_value)

        offset = _bo(src, begin)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise EntityParseError(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}')
        if name == "tg-time" and not attrs.get("unix", "").isdigit():
            raise EntityParseError(f'Tag "tg-time" must have attribute "unix" at byte offset {offset}')
        stack.append(_OpenTag(name, attrs, out.u16, offset))

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.text(), entities


def _close_html_tag(
    tag: _OpenTag, end_u16: int, stack: list[_OpenTag], entities: list[dict[str, Any]]
) -> None:
    length = end_u16 - tag.start
    entity: dict[str, Any] | None
    if tag.name == "a":
        href = tag.attrs.get("href")
        entity = {"type": "text_link", "url": href} if href else None
    elif tag.name == "code" and stack and stack[-1].name == "pre":
        css = tag.attrs.get("class", "")
        if css.startswith("language-"):
            stack[-1].language = css[len("language-") :]
            entity = None
        else:
            entity = {"type": "code"}
    elif tag.name == "pre":
        entity = {"type": "pre"}
        if tag.language:
            entity["language"] = tag.language
    elif tag.name == "blockquote":
        entity = {"type": "expandable_blockquote" if "expandable" in tag.attrs else "blockquote"}
    elif tag.name == "tg-emoji":
        entity = {"type": "custom_emoji", "custom_emoji_id": tag.attrs["emoji-id"]}
    elif tag.name == "tg-time":
        entity = {"type": "date_time", "unix_time": int(tag.attrs["unix"])}
        if tag.attrs.get("format"):
            entity["date_time_format"] = tag.attrs["format"]
    else:
        entity = {"type": _HTML_TAGS[tag.name]}
    if entity is not None and length > 0:
        entity["offset"] = tag.start
        entity["length"] = length
        entities.append(entity)


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_TYPE_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Approximation of tdlib's MarkdownV2 parser: enforces escaping of reserved
    characters and balanced entities; returns (visible_text, entities)."""
    out = _Builder()
    # open entities: (type, byte offset of the marker, utf-16 start, extra fields)
    stack: list[tuple[str, int, int, dict[str, Any]]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(src)

    def reserved(char: str) -> EntityParseError:
        return EntityParseError(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")

    def open_(etype: str, index: int, **extra: Any) -> None:
        stack.append((etype, _bo(src, index), out.u16, extra))

    def close(**extra: Any) -> None:
        etype, _offset, start, opened_extra = stack.pop()
        if out.u16 > start:
            entities.append(
                {"type": etype, "offset": start, "length": out.u16 - start, **opened_extra, **extra}
            )

    while i < n:
        char = src[i]
        top = stack[-1][0] if stack else None
        if char == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
            out.add(src[i + 1])
            i += 2
            continue
        if top in ("code", "pre"):
            if top == "pre" and src.startswith("```", i):
                close()
                i += 3
            elif top == "code" and char == "`":
                close()
                i += 1
            elif char == "\\":
                raise reserved(char)
            else:
                out.add(char)
                i += 1
            continue
        if char not in _MDV2_RESERVED:
            if char == "\\":
                raise reserved(char)
            out.add(char)
            i += 1
            continue
        if char == "_":
            if src.startswith("__", i) and top == "underline":
                close()
                i += 2
            elif top == "italic":
                close()
                i += 1
            elif src.startswith("__", i):
                open_("underline", i)
                i += 2
            else:
                open_("italic", i)
                i += 1
        elif char in "*~":
            etype = "bold" if char == "*" else "strikethrough"
            if top == etype:
                close()
            else:
                open_(etype, i)
            i += 1
        elif char == "|":
            if not src.startswith("||", i):
                raise reserved(char)
            if top == "spoiler":
                close()
            else:
                open_("spoiler", i)
            i += 2
        elif char == "`":
            if src.startswith("```", i):
                begin = i
                i += 3
                newline = src.find("\n", i)
                extra: dict[str, Any] = {}
                if newline != -1 and re.fullmatch(r"[\w+#.-]*", src[i:newline]):
                    if src[i:newline]:
                        extra["language"] = src[i:newline]
                    i = newline + 1
                open_("pre", begin, **extra)
            else:
                open_("code", i)
                i += 1
        elif char == "[" or (char == "!" and src.startswith("![", i)):
            open_("text_link" if char == "[" else "custom_emoji", i)
            i += 1 if char == "[" else 2
        elif char == "]" and top in ("text_link", "custom_emoji"):
            i += 1
            url = ""
            if i < n and src[i] == "(":
                j = i + 1
                url_chars: list[str] = []
                while j < n and src[j] != ")":
                    if src[j] == "\\" and j + 1 < n:
                        url_chars.append(src[j + 1])
                        j += 2
                        continue
                    url_chars.append(src[j])
                    j += 1
                if j >= n:
                    raise EntityParseError(f"Can't find end of a URL at byte offset {_bo(src, i)}")
                url = "".join(url_chars)
                i = j + 1
            if top == "custom_emoji":
                match = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
                if not match:
                    raise EntityParseError(
                        f"Custom emoji URL must have an emoji identifier at byte offset {stack[-1][1]}"
                    )
                close(custom_emoji_id=match.group(1))
            elif url:
                close(url=url)
            else:
                stack.pop()
        elif char == ">" and (i == 0 or src[i - 1] == "\n"):
            i += 1  # blockquote marker (the blockquote entity is not reproduced)
        else:
            raise reserved(char)

    if stack:
        etype, offset, _start, _extra = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_TYPE_NAMES.get(etype, etype)} entity at byte offset {offset}"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.text(), entities


def parse_markdown(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy 'Markdown' parse mode (no nesting): *bold* _italic_ `code` ```pre```
    [text](url).  Returns (visible_text, entities)."""
    out = _Builder()
    entities: list[dict[str, Any]] = []
    i, n = 0, len(src)
    while i < n:
        char = src[i]
        if char == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.add(src[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.add(char)
            i += 1
            continue
        begin = i
        if char == "[":
            end = src.find("]", i + 1)
            if end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_bo(src, begin)}"
                )
            label = src[i + 1 : end]
            i = end + 1
            url = ""
            if i < n and src[i] == "(":
                close = src.find(")", i + 1)
                if close == -1:
                    raise EntityParseError(
                        f"Can't find end of the entity starting at byte offset {_bo(src, begin)}"
                    )
                url = src[i + 1 : close]
                i = close + 1
            start = out.u16
            out.add(label)
            if url and label:
                entities.append({"type": "text_link", "offset": start, "length": out.u16 - start, "url": url})
            continue
        if char == "`" and src.startswith("```", i):
            end = src.find("```", i + 3)
            if end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_bo(src, begin)}"
                )
            body = src[i + 3 : end]
            language = ""
            if "\n" in body:
                first, rest = body.split("\n", 1)
                if re.fullmatch(r"[\w+#.-]+", first):
                    language, body = first, rest
            start = out.u16
            out.add(body)
            if body:
                entity: dict[str, Any] = {"type": "pre", "offset": start, "length": out.u16 - start}
                if language:
                    entity["language"] = language
                entities.append(entity)
            i = end + 3
            continue
        end = src.find(char, i + 1)
        if end == -1:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {_bo(src, begin)}")
        body = src[i + 1 : end]
        start = out.u16
        out.add(body)
        if body:
            etype = {"*": "bold", "_": "italic", "`": "code"}[char]
            entities.append({"type": etype, "offset": start, "length": out.u16 - start})
        i = end + 1
    return out.text(), entities


_TRIM_CHARS = " \t\r\n\x0b\x0c"


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram strips leading/trailing whitespace; shift/clip entities accordingly."""
    stripped = text.strip(_TRIM_CHARS)
    if stripped == text:
        return text, entities
    lead = len(text) - len(text.lstrip(_TRIM_CHARS))
    lead16 = _u16(text[:lead])
    total16 = _u16(stripped)
    result = []
    for entity in entities:
        start = max(entity["offset"] - lead16, 0)
        end = min(entity["offset"] + entity["length"] - lead16, total16)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


# --------------------------------------------------------------------------------------
# Request body decoding
# --------------------------------------------------------------------------------------

# Fields whose form values are plain strings (never JSON-decoded even if they look numeric).
_STRING_FIELDS = frozenset(
    {
        "text", "caption", "parse_mode", "query", "callback_query_id", "inline_query_id",
        "inline_message_id", "title", "address", "url", "secret_token", "language_code",
        "next_offset", "phone_number", "first_name", "last_name", "vcard", "foursquare_id",
        "foursquare_type", "google_place_id", "google_place_type", "action", "name",
        "description", "short_description", "document", "photo", "file_id", "emoji",
        "business_connection_id", "message_effect_id", "ip_address", "switch_pm_text",
        "switch_pm_parameter", "certificate", "thumbnail",
    }
)  # fmt: skip
# Fields that carry JSON-serialised structures.
_JSON_FIELDS = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "entities": "can't parse entities JSON object",
    "caption_entities": "can't parse entities JSON object",
    "allowed_updates": "can't parse allowed updates JSON array",
    "commands": "can't parse commands JSON object",
    "scope": "can't parse BotCommandScope JSON object",
    "results": "can't parse inline query results JSON object",
    "link_preview_options": "can't parse link preview options JSON object",
    "reply_parameters": "can't parse reply parameters JSON object",
    "button": "can't parse inline query results button JSON object",
    "menu_button": "can't parse menu button JSON object",
}


def _decode_param(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        if name in _STRING_FIELDS and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value
    if name in _STRING_FIELDS:
        return value
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError as exc:
            raise _bad(_JSON_FIELDS[name]) from exc
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return value if isinstance(decoded, str) else decoded


_HEADER_PARAM_RE = re.compile(r';\s*([\w*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _header_params(header: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, raw in _HEADER_PARAM_RE.findall(header):
        value = raw.strip()
        if value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
            # httpx escapes '"' as %22, '\' as '\\' and control chars as %XX
            value = re.sub(
                r"\\\\|%(2[2]|[01][0-9A-Fa-f])",
                lambda m: "\\" if m.group(0) == "\\\\" else chr(int(m.group(1), 16)),
                value,
            )
        params[key.lower()] = value
    if "filename*" in params:  # RFC 5987: utf-8''percent-encoded
        charset, _, encoded = params["filename*"].partition("''")
        params["filename"] = urllib.parse.unquote(encoded, encoding=charset or "utf-8")
    return params


def _parse_multipart(
    body: bytes, content_type: str
) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    boundary = _header_params(";" + content_type.split(";", 1)[-1]).get("boundary")
    if not boundary:
        raise _bad("can't parse multipart/form-data request: no boundary")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    chunks = (b"\r\n" + body).split(delimiter)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        line_end = chunk.find(b"\r\n")
        if line_end == -1:
            continue
        head, sep, content = chunk[line_end + 2 :].partition(b"\r\n\r\n")
        if not sep:
            raise _bad("can't parse multipart/form-data request")
        headers: dict[str, str] = {}
        for line in head.split(b"\r\n"):
            key, _, value = line.decode("utf-8", "replace").partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = _header_params(";" + headers.get("content-disposition", "").split(";", 1)[-1])
        name = disposition.get("name")
        if name is None:
            continue
        if "filename" in disposition:
            files[name] = (
                disposition["filename"],
                content,
                headers.get("content-type", "application/octet-stream"),
            )
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields, files


# --------------------------------------------------------------------------------------
# ASGI helpers
# --------------------------------------------------------------------------------------

_RAW_SEND_KEY = "fake_telegram.raw_send"


async def _wait_disconnect(receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


class _Ctx:
    """Per-request context: lets long polls / hangs notice client disconnects."""

    def __init__(self, receive: Any, closing: asyncio.Event) -> None:
        self.receive = receive
        self.closing = closing
        self._disconnect_task: asyncio.Task[None] | None = None

    def disconnected(self) -> asyncio.Task[None]:
        if self._disconnect_task is None:
            self._disconnect_task = asyncio.ensure_future(_wait_disconnect(self.receive))
        return self._disconnect_task

    async def aclose(self) -> None:
        task = self._disconnect_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class _AbortResponse(Response):
    """Close the TCP connection without sending any response bytes.

    uvicorn gives the ASGI app no "abort" message, so we reach the transport through
    uvicorn's bound ``send`` (``RequestResponseCycle.transport``) and abort it; then wait
    for uvicorn to register the disconnect, so it neither logs nor sends a 500.
    Fallback (other servers): announce a body and never deliver it.
    """

    def __init__(self) -> None:
        super().__init__(b"", status_code=200)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raw_send = scope.get(_RAW_SEND_KEY)
        transport = getattr(getattr(raw_send, "__self__", None), "transport", None)
        if transport is not None:
            transport.abort()
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(_wait_disconnect(receive), 2.0)
            return
        await send(  # pragma: no cover - only with non-uvicorn servers
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"ok":', "more_body": True})
        raise ConnectionAbortedError("fake Telegram API: deliberate disconnect")


class _UvicornServer(uvicorn.Server):
    """uvicorn.Server that leaves the process' signal handlers (pytest's) alone."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield

    def install_signal_handlers(self) -> None:  # older uvicorn versions
        return None


# --------------------------------------------------------------------------------------
# The fake server
# --------------------------------------------------------------------------------------

_INLINE_BUTTON_KINDS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip
_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
_INLINE_RESULT_TYPES = frozenset(
    {
        "article", "photo", "gif", "mpeg4_gif", "video", "audio", "voice", "document",
        "location", "venue", "contact", "game", "sticker",
    }
)  # fmt: skip
_SCOPE_TYPES = frozenset(
    {
        "default", "all_private_chats", "all_group_chats", "all_chat_administrators",
        "chat", "chat_administrators", "chat_member",
    }
)  # fmt: skip
# Methods subject to "bot was blocked by the user" (block_chat()).
_BLOCKABLE = frozenset(
    {"sendMessage", "sendVenue", "sendLocation", "sendDocument", "sendPhoto", "sendChatAction"}
)
_DEFAULT_ERROR_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class FakeTelegramAPI:
    """Local HTTP server emulating the Telegram Bot API (see module docstring).

    Recording:
      * ``sent``     – successful calls (HTTP 200), every method except getUpdates.
      * ``failed``   – attempts that did not succeed: injected faults and 4xx/403 errors
                       (getUpdates only when a fault was injected).
      * ``requests`` – every request received, including getUpdates, in order.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "ocop_test_bot",
        bot_first_name: str = "OCOP Bot",
        strict_html: bool = True,
    ) -> None:
        self.token = token
        self.host = host
        self._port = port
        self.strict_html = strict_html
        try:
            bot_id = int(token.split(":", 1)[0])
        except ValueError:
            bot_id = 123456
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

        # recording
        self.sent: list[Call] = []
        self.failed: list[Call] = []
        self.requests: list[Call] = []
        self.documents: list[UploadedFile] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}  # query id -> params
        self.inline_answers: dict[str, dict[str, Any]] = {}  # query id -> params
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.all_commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.bot_texts: dict[tuple[str, str], str] = {}  # (kind, language) -> text
        self.webhook: dict[str, Any] | None = None

        # updates
        self._update_ids = itertools.count(10001)
        self._pending: list[dict[str, Any]] = []
        self.updates: dict[int, dict[str, Any]] = {}  # every pushed update by id
        self._delivered: set[int] = set()
        self._confirmed: set[int] = set()
        self._allowed_updates: frozenset[str] | None = None  # None = default set
        self._active_poll: asyncio.Event | None = None

        # chats / messages
        self._chats: dict[int, dict[str, Any]] = {}
        self._usernames: dict[str, int] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._next_mid: dict[int, int] = {}
        self._messages: dict[tuple[int, int], _Stored] = {}
        self._chat_order: dict[int, list[int]] = {}
        self._reply_keyboards: dict[int, dict[str, Any]] = {}
        self._blocked: set[int] = set()
        self._callback_queries: dict[str, dict[str, Any]] = {}  # id -> {update_id, answered}
        self._inline_queries: dict[str, dict[str, Any]] = {}
        self._query_ids = itertools.count(1)
        self._files: dict[str, UploadedFile] = {}
        self._files_by_path: dict[str, UploadedFile] = {}
        self._file_ids = itertools.count(1)

        # faults
        self._faults: dict[str, deque[_Fault]] = {}

        # wake-ups
        self._updates_event = asyncio.Event()
        self._changed = asyncio.Event()

        # server
        self._server: _UvicornServer | None = None
        self._server_task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._methods: dict[str, Callable[..., Any]] = {
            name[3:].lower(): getattr(self, name) for name in dir(self) if name.startswith("_m_")
        }
        self._method_names: dict[str, str] = {
            name[3:].lower(): name[3:] for name in dir(self) if name.startswith("_m_")
        }
        self._app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._handle_bot, methods=["GET", "POST"]),
                Route("/file/bot{token}/{file_path:path}", self._handle_file, methods=["GET"]),
                Route(
                    "/{rest:path}",
                    self._handle_not_found,
                    methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"],
                ),
            ]
        )

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeTelegramAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start listening (binds a free port on first start)."""
        await self.start_listening()

    async def aclose(self) -> None:
        """Stop the server; in-flight long polls / hung requests are dropped."""
        await self.stop_listening()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def base_url(self) -> str:
        """Pass to ``ApplicationBuilder().base_url(...)`` / ``Bot(base_url=...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start_listening(self) -> None:
        """(Re)start accepting connections on the same port."""
        if self._server is not None:
            return
        # proto=IPPROTO_TCP matters: asyncio only enables TCP_NODELAY on accepted sockets whose
        # proto is IPPROTO_TCP; with proto 0, Nagle + delayed ACK add ~40 ms per keep-alive request.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._port))
        except OSError:
            sock.close()
            raise
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._asgi,
            interface="asgi3",  # auto-detection mistakes a bound method for ASGI2
            lifespan="off",
            log_config=None,
            access_log=False,
            http="h11",
            ws="none",
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=120,
            timeout_graceful_shutdown=3,
        )
        server = _UvicornServer(config)
        self._closing = asyncio.Event()
        task = asyncio.create_task(server.serve(sockets=[sock]), name="FakeTelegramAPI-uvicorn")
        while not server.started:
            if task.done():
                sock.close()
                task.result()
                raise RuntimeError("uvicorn stopped during startup")
            await asyncio.sleep(0.005)
        self._server, self._server_task = server, task

    async def stop_listening(self) -> None:
        """Stop accepting connections (clients get 'connection refused') and drop
        in-flight requests.  State (updates, messages, faults) is kept."""
        server, task = self._server, self._server_task
        if server is None or task is None:
            return
        self._server = self._server_task = None
        self._closing.set()
        server.should_exit = True
        await task

    # ------------------------------------------------------------------ change notification

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented test API
        *,
        message: str | None = None,
    ) -> Any:
        """Wait until ``predicate()`` (no arguments) is truthy; return its value.

        Re-evaluated whenever the fake records a request or an update is pushed/confirmed.
        Raises TimeoutError (with a summary of recent calls) after ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    (message or "condition not met")
                    + f" within {timeout}s; recent requests: {self.requests[-8:]!r}"
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def wait_for_calls(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented test API
        *,
        chat_id: int | str | None = None,
    ) -> list[Call]:
        """Wait until at least ``count`` successful calls of ``method`` were made;
        return all of them."""
        await self.wait_for(
            lambda: len(self.calls(method, chat_id=chat_id)) >= count,
            timeout,
            message=f"expected {count} successful {method} call(s)",
        )
        return self.calls(method, chat_id=chat_id)

    async def wait_for_messages(
        self,
        chat_id: int | str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented test API
    ) -> list[str]:
        """Wait until the bot has at least ``count`` (non-deleted) text/caption messages
        in the chat; return ``messages_to(chat_id)``."""
        await self.wait_for(
            lambda: len(self.messages_to(chat_id)) >= count,
            timeout,
            message=f"expected {count} bot message(s) in chat {chat_id}",
        )
        return self.messages_to(chat_id)

    # ------------------------------------------------------------------ inspection

    def calls(self, method: str | None = None, *, chat_id: int | str | None = None) -> list[Call]:
        """Successful calls, optionally filtered by method (case-insensitive) / chat."""
        wanted = method.lower() if method else None
        key = self._try_chat_key(chat_id) if chat_id is not None else None
        return [
            c
            for c in self.sent
            if (wanted is None or c.method.lower() == wanted)
            and (chat_id is None or self._try_chat_key(c.chat_id) == key)
        ]

    def failed_calls(self, method: str | None = None) -> list[Call]:
        wanted = method.lower() if method else None
        return [c for c in self.failed if wanted is None or c.method.lower() == wanted]

    def messages_to(self, chat_id: int | str) -> list[str]:
        """Current text (or caption) of each non-deleted bot message in the chat,
        in message order; edits are reflected."""
        texts = []
        for msg in self.bot_messages(chat_id):
            value = msg.get("text", msg.get("caption"))
            if value is not None:
                texts.append(value)
        return texts

    def bot_messages(self, chat_id: int | str, *, include_deleted: bool = False) -> list[dict]:
        """Current Message dicts the bot sent to the chat (deep copies)."""
        key = self._try_chat_key(chat_id)
        if key is None:
            return []
        result = []
        for mid in self._chat_order.get(key, []):
            stored = self._messages[(key, mid)]
            if stored.from_bot and (include_deleted or not stored.deleted):
                result.append(_clone(stored.msg))
        return result

    def latest_bot_message(
        self, chat_id: int | str, where: Callable[[dict[str, Any]], bool] = lambda message: True
    ) -> dict[str, Any] | None:
        """The newest message the bot sent to the chat (not deleted) for which `where` holds, as a deep
        copy; None if there is none. Cheaper than `bot_messages` on a long history: it copies one."""
        key = self._try_chat_key(chat_id)
        if key is None:
            return None
        for mid in reversed(self._chat_order.get(key, [])):
            stored = self._messages[(key, mid)]
            if stored.from_bot and not stored.deleted and where(stored.msg):
                return _clone(stored.msg)
        return None

    def last_message(self, chat_id: int | str) -> dict[str, Any] | None:
        messages = self.bot_messages(chat_id)
        return messages[-1] if messages else None

    def message(self, chat_id: int | str, message_id: int) -> dict[str, Any] | None:
        key = self._try_chat_key(chat_id)
        stored = self._messages.get((key, message_id)) if key is not None else None
        return _clone(stored.msg) if stored else None

    def message_history(self, chat_id: int | str, message_id: int) -> list[dict[str, Any]]:
        """All versions of a message, oldest first (current version last)."""
        key = self._try_chat_key(chat_id)
        stored = self._messages.get((key, message_id)) if key is not None else None
        if stored is None:
            return []
        return _clone([*stored.history, stored.msg])

    def is_deleted(self, chat_id: int | str, message_id: int) -> bool:
        key = self._try_chat_key(chat_id)
        stored = self._messages.get((key, message_id)) if key is not None else None
        return bool(stored and stored.deleted)

    def reply_keyboard(self, chat_id: int | str) -> dict[str, Any] | None:
        """The reply keyboard (``{"keyboard": ...}``) currently shown in the chat, if any."""
        key = self._try_chat_key(chat_id)
        markup = self._reply_keyboards.get(key) if key is not None else None
        return _clone(markup)

    def get_commands(
        self, language_code: str = "", scope: dict[str, Any] | None = None
    ) -> list[dict[str, str]]:
        """Commands stored by setMyCommands for exactly this scope + language."""
        return _clone(self.all_commands.get((self._scope_key(scope), language_code or ""), []))

    def callback_answer(self, update_id: int) -> dict[str, Any] | None:
        """answerCallbackQuery params for the callback pushed as ``update_id``."""
        query = self.updates.get(update_id, {}).get("callback_query")
        return self.callback_answers.get(query["id"]) if query else None

    def inline_answer(self, update_id: int) -> dict[str, Any] | None:
        """answerInlineQuery params for the inline query pushed as ``update_id``."""
        query = self.updates.get(update_id, {}).get("inline_query")
        return self.inline_answers.get(query["id"]) if query else None

    def is_confirmed(self, update_id: int) -> bool:
        """True once the bot called getUpdates with an offset above ``update_id``."""
        return update_id in self._confirmed

    def was_delivered(self, update_id: int) -> bool:
        """True once the update was returned by getUpdates at least once."""
        return update_id in self._delivered

    @property
    def pending_update_count(self) -> int:
        return len(self._pending)

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        kind: str | int = "429",
        times: int = 1,
        *,
        retry_after: float = 1,
        seconds: float | None = None,
        description: str | None = None,
        processed: bool = False,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        ``parameters``: the error's ResponseParameters, e.g. ``{"migrate_to_chat_id": -100…}``.

        kind:
          * ``"429"`` – HTTP 429 ``Too Many Requests: retry after N`` with
            ``parameters.retry_after = retry_after`` (Telegram sends ints; a float such
            as 0.2 keeps tests fast and PTB accepts it).
          * ``"500"``, ``"503"``, ``"403"``, ``"400"``, ... – JSON error with that status
            (``description`` overrides the default text).  ``"502"`` answers nginx's HTML
            "502 Bad Gateway" page like Telegram's front end does.
          * ``"timeout"`` – do not answer for ``seconds`` (``None`` = until the client
            gives up or the server stops).  The attempt is put in ``failed`` at once; if
            the client is still waiting when ``seconds`` run out, it is removed from
            ``failed`` and processed normally (a slow answer; ``call.fault == "timeout"``).
          * ``"disconnect"`` – close the TCP connection without any response.
        ``processed=True`` (timeout/disconnect only): the request *is* carried out
        (message stored, recorded in ``sent`` with ``response_lost=True``) but the bot
        never sees the answer — the classic duplicate-send trap.
        """
        canonical = self._canonical(method)
        if canonical is None:
            raise ValueError(f"unknown Bot API method {method!r}")
        kind = str(kind).lower()
        status: int | None = None
        if kind not in ("timeout", "disconnect"):
            if not kind.isdigit() or not 400 <= int(kind) <= 599:
                raise ValueError(f"unknown fault kind {kind!r}")
            status = int(kind)
        if processed and status is not None:
            raise ValueError("processed=True only applies to 'timeout' and 'disconnect'")
        queue = self._faults.setdefault(canonical.lower(), deque())
        for _ in range(times):
            queue.append(_Fault(kind, status, retry_after, seconds, description, processed, parameters))

    def clear_faults(self) -> None:
        self._faults.clear()

    def pending_faults(self, method: str) -> int:
        return len(self._faults.get(method.lower(), ()))

    def block_chat(self, chat_id: int | str) -> None:
        """Sends to this chat fail with 403 'Forbidden: bot was blocked by the user'."""
        self._blocked.add(self._chat_key(chat_id))

    def unblock_chat(self, chat_id: int | str) -> None:
        self._blocked.discard(self._chat_key(chat_id))

    # ------------------------------------------------------------------ pushing updates

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (without update_id); returns the assigned update_id."""
        update_id = next(self._update_ids)
        full = {"update_id": update_id, **_clone(update)}
        self.updates[update_id] = full
        self._pending.append(full)
        event, self._updates_event = self._updates_event, asyncio.Event()
        event.set()
        self._notify()
        return update_id

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        language_code: str | None = "vi",
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        chat_type: str | None = None,
        chat_title: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        """A user sends ``text``.  ``/commands`` get bot_command entities automatically
        (unless ``entities`` is given).  Returns the update_id."""
        if entities is None:
            entities = self._detect_commands(text)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        if reply_to_message_id is not None:
            replied = self.message(chat_id, reply_to_message_id)
            if replied is not None:
                replied.pop("reply_to_message", None)
                content["reply_to_message"] = replied
        return self._push_user_message(
            chat_id, content, user_id=user_id, language_code=language_code,
            first_name=first_name, last_name=last_name, username=username,
            chat_type=chat_type, chat_title=chat_title,
        )  # fmt: skip

    def push_document(
        self,
        chat_id: int,
        filename: str,
        content: bytes,
        *,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        **kwargs: Any,
    ) -> int:
        """A user sends a file: stored like a real upload, so getFile and the file download
        (``/file/bot<token>/<file_path>``) serve it.  kwargs as for push_message.  Returns the update_id."""
        number = next(self._file_ids)
        extension = "." + filename.rsplit(".", 1)[-1] if "." in filename else ""
        uploaded = UploadedFile(
            "document", filename, content, mime_type,
            file_id=f"BQACAgIAAxkBAAIB{number:06d}UserFileId", file_unique_id=f"AgADUser{number:04d}",
            file_path=f"documents/file_{number}{extension}", chat_id=self._chat_key(chat_id),
        )  # fmt: skip
        self._files[uploaded.file_id] = uploaded
        self._files_by_path[uploaded.file_path] = uploaded
        document = {
            "file_id": uploaded.file_id,
            "file_unique_id": uploaded.file_unique_id,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        message: dict[str, Any] = {"document": document}
        if caption is not None:
            message["caption"] = caption
        kwargs.pop("entities", None)
        kwargs.pop("reply_to_message_id", None)
        return self._push_user_message(chat_id, message, **kwargs)

    def push_command(
        self,
        chat_id: int,
        command: str = "start",
        args: str | None = None,
        *,
        mention_bot: bool = False,
        **kwargs: Any,
    ) -> int:
        """``/command[@bot] [args]`` with a bot_command entity at offset 0 (needed by
        PTB's CommandHandler).  kwargs as for push_message.  Returns the update_id."""
        text = "/" + command.lstrip("/")
        if mention_bot:
            text += "@" + self.bot_user["username"]
        if args:
            text += " " + args
        return self.push_message(chat_id, text, **kwargs)

    def push_callback(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        language_code: str | None = "vi",
        first_name: str = "Test",
        username: str | None = None,
    ) -> int:
        """A user presses an inline button with ``data`` on message ``message_id``.
        The callback carries the message's current state if the fake knows it,
        otherwise an inaccessible message (date 0).  Returns the update_id."""
        key = self._chat_key(chat_id)
        user = self._make_user(self._default_user_id(key, user_id), first_name, language_code, username)
        chat = self._ensure_chat(key)
        stored = self._messages.get((key, message_id))
        if stored is not None and not stored.deleted:
            message = _clone(stored.msg)
        else:
            message = {"chat": _clone(chat), "message_id": message_id, "date": 0}
        query_id = str(4_000_000_000_000_000 + next(self._query_ids))
        update_id = self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": message,
                    "chat_instance": str(abs(key) * 7919 + 17),
                    "data": data,
                }
            }
        )
        self._callback_queries[query_id] = {"update_id": update_id, "answered": False}
        return update_id

    def click_button(
        self,
        chat_id: int,
        text: str,
        *,
        message_id: int | None = None,
        **kwargs: Any,
    ) -> int:
        """Press the inline button labelled ``text`` (exact match) on the newest bot
        message in the chat that has it (or on ``message_id``).  Returns the update_id."""
        candidates = self.bot_messages(chat_id)
        if message_id is not None:
            candidates = [m for m in candidates if m["message_id"] == message_id]
        for msg in reversed(candidates):
            for row in msg.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if button.get("text") == text:
                        if "callback_data" not in button:
                            raise ValueError(f"button {text!r} has no callback_data: {button}")
                        return self.push_callback(
                            chat_id, msg["message_id"], button["callback_data"], **kwargs
                        )
        raise LookupError(f"no inline button {text!r} in chat {chat_id}")

    def push_inline_query(
        self,
        user_id: int,
        query: str,
        *,
        offset: str = "",
        language_code: str | None = "vi",
        first_name: str = "Test",
        username: str | None = None,
        chat_type: str | None = "private",
    ) -> int:
        """A user types ``@bot query``.  Returns the update_id (see inline_answer())."""
        user = self._make_user(user_id, first_name, language_code, username)
        query_id = str(5_000_000_000_000_000 + next(self._query_ids))
        inline_query: dict[str, Any] = {"id": query_id, "from": user, "query": query, "offset": offset}
        if chat_type:
            inline_query["chat_type"] = chat_type
        update_id = self.push_update({"inline_query": inline_query})
        self._inline_queries[query_id] = {"update_id": update_id, "answered": False}
        return update_id

    def push_location(
        self,
        chat_id: int,
        latitude: float,
        longitude: float,
        *,
        horizontal_accuracy: float | None = None,
        live_period: int | None = None,
        **kwargs: Any,
    ) -> int:
        """A user shares a location (e.g. via a request_location button)."""
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if horizontal_accuracy is not None:
            location["horizontal_accuracy"] = horizontal_accuracy
        if live_period is not None:
            location["live_period"] = live_period
        return self._push_user_message(chat_id, {"location": location}, **kwargs)

    def push_contact(
        self,
        chat_id: int,
        phone_number: str,
        first_name: str,
        *,
        last_name: str | None = None,
        user_id: int | None = None,
        contact_user_id: int | None = None,
        own_contact: bool = True,
        **kwargs: Any,
    ) -> int:
        """A user shares a contact.  With ``own_contact`` (request_contact button) the
        contact's user_id is the sender's id."""
        key = self._chat_key(chat_id)
        sender_id = self._default_user_id(key, user_id)
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name}
        if last_name:
            contact["last_name"] = last_name
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        elif own_contact:
            contact["user_id"] = sender_id
        kwargs.setdefault("first_name", first_name)
        return self._push_user_message(chat_id, {"contact": contact}, user_id=sender_id, **kwargs)

    # ------------------------------------------------------------------ internals: chats

    @staticmethod
    def _detect_commands(text: str) -> list[dict[str, Any]]:
        entities = []
        for match in re.finditer(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?", text):
            entities.append(
                {
                    "type": "bot_command",
                    "offset": _u16(text[: match.start()]),
                    "length": _u16(match.group(0)),
                }
            )
        return entities

    def _try_chat_key(self, chat_id: Any) -> int | None:
        try:
            return self._chat_key(chat_id, create=False)
        except _ApiError:
            return None

    def _chat_key(self, chat_id: Any, *, create: bool = True) -> int:
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if isinstance(chat_id, bool):
            raise _bad("chat not found")
        if isinstance(chat_id, int):
            return chat_id
        if isinstance(chat_id, float) and chat_id.is_integer():
            return int(chat_id)
        if isinstance(chat_id, str):
            value = chat_id.strip()
            if re.fullmatch(r"-?\d+", value):
                return int(value)
            if re.fullmatch(r"@[A-Za-z0-9_]{2,32}", value):
                name = value[1:].lower()
                if name not in self._usernames:
                    if not create:
                        raise _bad("chat not found")
                    chat_key = -1001000000000 - len(self._usernames) - 1
                    self._usernames[name] = chat_key
                    self._chats[chat_key] = {
                        "id": chat_key, "type": "channel", "title": value[1:], "username": value[1:],
                    }  # fmt: skip
                return self._usernames[name]
        raise _bad("chat not found")

    def _ensure_chat(self, key: int) -> dict[str, Any]:
        chat = self._chats.get(key)
        if chat is None:
            if key > 0:
                user = self._users.get(key)
                chat = {"id": key, "type": "private", "first_name": user["first_name"] if user else "User"}
            elif str(key).startswith("-100"):
                chat = {"id": key, "type": "supergroup", "title": f"Group {key}"}
            else:
                chat = {"id": key, "type": "group", "title": f"Group {key}"}
            self._chats[key] = chat
        return chat

    @staticmethod
    def _default_user_id(key: int, user_id: int | None) -> int:
        if user_id is not None:
            return user_id
        return key if key > 0 else 777000001

    def _make_user(
        self,
        user_id: int,
        first_name: str,
        language_code: str | None,
        username: str | None = None,
        last_name: str | None = None,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        return _clone(user)

    def _push_user_message(
        self,
        chat_id: int,
        content: dict[str, Any],
        *,
        user_id: int | None = None,
        language_code: str | None = "vi",
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        chat_type: str | None = None,
        chat_title: str | None = None,
    ) -> int:
        key = self._chat_key(chat_id)
        user = self._make_user(
            self._default_user_id(key, user_id), first_name, language_code, username, last_name
        )
        if chat_type is None:
            chat_type = "private" if key > 0 else ("supergroup" if str(key).startswith("-100") else "group")
        if chat_type == "private":
            chat: dict[str, Any] = {"id": key, "type": "private", "first_name": first_name}
            if last_name:
                chat["last_name"] = last_name
            if username:
                chat["username"] = username
        else:
            chat = {"id": key, "type": chat_type, "title": chat_title or f"Group {key}"}
        self._chats[key] = chat
        msg = {
            "message_id": self._new_message_id(key),
            "from": user,
            "chat": _clone(chat),
            "date": int(time.time()),
            **content,
        }
        self._store_message(key, msg, from_bot=False)
        return self.push_update({"message": msg})

    def _new_message_id(self, key: int) -> int:
        mid = self._next_mid.get(key, 1)
        self._next_mid[key] = mid + 1
        return mid

    def _store_message(
        self, key: int, msg: dict[str, Any], *, from_bot: bool, markup: dict | None = None
    ) -> _Stored:
        stored = _Stored(_clone(msg), from_bot, markup=_clone(markup))
        self._messages[(key, msg["message_id"])] = stored
        self._chat_order.setdefault(key, []).append(msg["message_id"])
        return stored

    def _bot_message(
        self, key: int, content: dict[str, Any], markup: dict[str, Any] | None
    ) -> dict[str, Any]:
        chat = self._ensure_chat(key)
        msg = {
            "message_id": self._new_message_id(key),
            "from": _clone(self.bot_user),
            "chat": _clone(chat),
            "date": int(time.time()),
            **content,
        }
        if markup is not None and "inline_keyboard" in markup:
            msg["reply_markup"] = _clone(markup)
        if markup is not None:
            if "keyboard" in markup:
                self._reply_keyboards[key] = _clone(markup)
            elif "remove_keyboard" in markup:
                self._reply_keyboards.pop(key, None)
        self._store_message(key, msg, from_bot=True, markup=markup)
        return _clone(msg)

    # ------------------------------------------------------------------ internals: validation

    def _parse_text(
        self,
        text: Any,
        parse_mode: Any,
        entities: Any,
        *,
        limit: int,
        caption: bool = False,
        edit: bool = False,
    ) -> tuple[str, list[dict[str, Any]]]:
        if text is None or text == "":
            if caption:
                return "", []
            raise _bad("message text is empty")
        if not isinstance(text, str):
            text = json.dumps(text) if isinstance(text, dict | list) else str(text)
        mode = (parse_mode or "").lower() if isinstance(parse_mode, str) else ""
        try:
            if mode == "html":
                visible, parsed = parse_html(text, strict=self.strict_html)
            elif mode == "markdownv2":
                visible, parsed = parse_markdown_v2(text)
            elif mode == "markdown":
                visible, parsed = parse_markdown(text)
            elif mode:
                raise _bad("unsupported parse_mode")
            else:
                visible, parsed = text, self._validate_entities(entities, text)
        except EntityParseError as exc:
            raise _bad(f"can't parse entities: {exc}") from exc
        visible, parsed = _trim(visible, parsed)
        if not visible:
            if caption:
                return "", []
            raise _bad("message text is empty")
        if len(visible) > limit:
            if caption:
                raise _bad("message caption is too long")
            raise _bad("MESSAGE_TOO_LONG" if edit else "message is too long")
        return visible, parsed

    @staticmethod
    def _validate_entities(entities: Any, text: str) -> list[dict[str, Any]]:
        if entities is None:
            return []
        if not isinstance(entities, list):
            raise _bad("can't parse entities JSON object")
        total = _u16(text)
        result = []
        for entity in entities:
            if not isinstance(entity, dict) or not isinstance(entity.get("type"), str):
                raise _bad("can't parse MessageEntity JSON object")
            offset, length = entity.get("offset"), entity.get("length")
            if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 0:
                raise _bad("can't parse MessageEntity JSON object")
            if offset + length <= total and length > 0:
                result.append(dict(entity))
        return result

    def _validate_markup(self, markup: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            self._validate_inline_keyboard(markup["inline_keyboard"])
            return markup
        if inline_only:
            raise _bad("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad('Field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
            for row in rows:
                for button in row:
                    label = (
                        button
                        if isinstance(button, str)
                        else (button.get("text") if isinstance(button, dict) else None)
                    )
                    if not isinstance(label, str) or not label.strip():
                        raise _bad("can't parse keyboard button: Text must be non-empty")
            return markup
        if "remove_keyboard" in markup:
            if markup["remove_keyboard"] is not True:
                raise _bad('Field "remove_keyboard" of the ReplyKeyboardRemove must be true')
            return markup
        if "force_reply" in markup:
            if markup["force_reply"] is not True:
                raise _bad('Field "force_reply" of the ForceReply must be true')
            return markup
        raise _bad("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _validate_inline_keyboard(rows: Any) -> None:
        if not isinstance(rows, list):
            raise _bad(
                'can\'t parse inline keyboard button: Field "inline_keyboard" of the '
                "InlineKeyboardMarkup must be an Array"
            )
        total = 0
        for row in rows:
            if not isinstance(row, list):
                raise _bad("can't parse inline keyboard button: InlineKeyboardButton row must be an Array")
            for button in row:
                total += 1
                if not isinstance(button, dict):
                    raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
                label = button.get("text")
                if not isinstance(label, str):
                    raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
                if not label.strip():
                    raise _bad("can't parse inline keyboard button: Text must be non-empty")
                if not any(kind in button for kind in _INLINE_BUTTON_KINDS):
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not (
                        1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                    ):
                        raise _bad("BUTTON_DATA_INVALID")
                if "url" in button:
                    url = button["url"]
                    if not isinstance(url, str) or not url or re.search(r"\s", url):
                        raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong URL")
                    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", url)
                    if scheme and scheme.group(1).lower() not in ("http", "https", "tg", "ton"):
                        raise _bad(f"inline keyboard button URL '{url}' is invalid: Unsupported URL protocol")
        if total > 100:
            raise _bad("reply markup is too long")

    def _reply_to(self, key: int, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        if reply is None and params.get("reply_to_message_id") is not None:
            reply = {"message_id": params["reply_to_message_id"]}
        if not isinstance(reply, dict) or reply.get("message_id") is None:
            return None
        stored = self._messages.get((key, reply.get("message_id")))
        if stored is None or stored.deleted:
            if reply.get("allow_sending_without_reply") or params.get("allow_sending_without_reply"):
                return None
            raise _bad("message to be replied not found")
        replied = _clone(stored.msg)
        replied.pop("reply_to_message", None)
        return replied

    def _canonical(self, method: str) -> str | None:
        return self._method_names.get(method.lower())

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if not scope:
            scope = {"type": "default"}
        return json.dumps(scope, sort_keys=True)

    # ------------------------------------------------------------------ HTTP layer

    async def _asgi(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope[_RAW_SEND_KEY] = send
        await self._app(scope, receive, send)

    @staticmethod
    def _error(status: int, description: str, parameters: dict | None = None) -> JSONResponse:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return JSONResponse(body, status_code=status)

    async def _handle_not_found(self, request: Request) -> Response:
        return self._error(404, "Not Found")

    async def _handle_file(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return self._error(401, "Unauthorized")
        uploaded = self._files_by_path.get(request.path_params["file_path"])
        if uploaded is None:
            return self._error(404, "Not Found")
        return Response(uploaded.content, media_type=uploaded.mime_type)

    async def _handle_bot(self, request: Request) -> Response:
        token = request.path_params["token"]
        method_name = request.path_params["method"]
        body = await request.body()
        if token != self.token:
            return self._error(401, "Unauthorized")
        canonical = self._canonical(method_name)
        if canonical is None:
            return self._error(404, "Not Found")

        parse_error: _ApiError | None = None
        params: dict[str, Any] = {}
        raw_files: dict[str, tuple[str, bytes, str]] = {}
        try:
            params, raw_files = self._read_params(request, body)
        except _ApiError as exc:
            parse_error = exc
        files = {
            name: UploadedFile(field=name, filename=fn, content=data, mime_type=mime)
            for name, (fn, data, mime) in raw_files.items()
        }
        call = Call(
            method=canonical,
            params=params,
            chat_id=params.get("chat_id"),
            time=time.time(),
            files=files,
        )
        self.requests.append(call)
        self._notify()
        ctx = _Ctx(request.receive, self._closing)
        try:
            if parse_error is not None:
                return self._fail(call, parse_error)
            queue = self._faults.get(canonical.lower())
            if queue:
                return await self._apply_fault(queue.popleft(), call, ctx)
            return await self._execute(call, ctx)
        finally:
            await ctx.aclose()

    @staticmethod
    def _read_params(
        request: Request, body: bytes
    ) -> tuple[dict[str, Any], dict[str, tuple[str, bytes, str]]]:
        raw: dict[str, Any] = dict(urllib.parse.parse_qsl(request.url.query, keep_blank_values=True))
        files: dict[str, tuple[str, bytes, str]] = {}
        content_type = request.headers.get("content-type", "")
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type == "application/json":
            if body.strip():
                try:
                    data = json.loads(body)
                except ValueError as exc:
                    raise _bad("can't parse JSON encoded request body") from exc
                if not isinstance(data, dict):
                    raise _bad("JSON request body must be an object")
                raw.update(data)
        elif media_type == "multipart/form-data":
            fields, files = _parse_multipart(body, content_type)
            raw.update(fields)
        elif body:
            raw.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return {name: _decode_param(name, value) for name, value in raw.items()}, files

    def _fail(self, call: Call, error: _ApiError, *, fault: str | None = None) -> JSONResponse:
        call.status = error.status
        call.description = error.description
        call.fault = fault
        if call.method != "getUpdates" or fault is not None:
            self.failed.append(call)
        self._notify()
        return self._error(error.status, error.description, error.parameters)

    async def _execute(self, call: Call, ctx: _Ctx) -> Response:
        handler = self._methods[call.method.lower()]
        try:
            if (
                call.method in _BLOCKABLE
                and call.params.get("chat_id") is not None
                and self._chat_key(call.params["chat_id"]) in self._blocked
            ):
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            result = handler(call, ctx)
            if inspect.isawaitable(result):
                result = await result
        except _ApiError as exc:
            return self._fail(call, exc)
        if isinstance(result, Response):
            return result
        call.status = 200
        call.result = result
        if call.method != "getUpdates":
            self.sent.append(call)
        self._notify()
        return JSONResponse({"ok": True, "result": result})

    async def _wait_any(
        self, ctx: _Ctx, limit: float | None, extra: dict[str, Awaitable[Any]] | None = None
    ) -> str:
        """Wait for the first of: server closing, client disconnect, extra awaitables,
        timeout.  Returns "closing" / "disconnected" / an extra label / "timeout"."""
        closing = asyncio.ensure_future(ctx.closing.wait())
        disconnected = ctx.disconnected()
        labelled: dict[asyncio.Future[Any], str] = {closing: "closing", disconnected: "disconnected"}
        own = [closing]
        for label, awaitable in (extra or {}).items():
            future = asyncio.ensure_future(awaitable)
            labelled[future] = label
            own.append(future)
        try:
            done, _ = await asyncio.wait(labelled, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in own:
                future.cancel()
            await asyncio.gather(*own, return_exceptions=True)
        for future in (closing, disconnected, *own[1:]):
            if future in done:
                return labelled[future]
        return "timeout"

    async def _apply_fault(self, fault: _Fault, call: Call, ctx: _Ctx) -> Response:
        if fault.kind == "timeout":
            processed: Response | None = None
            if fault.processed:
                processed = await self._execute(call, ctx)
            else:
                call.fault = "timeout"
                call.description = "no response (injected timeout)"
                self.failed.append(call)
                self._notify()
            outcome = await self._wait_any(ctx, fault.seconds)
            if outcome == "timeout":  # client still waiting: it was only a slow answer
                if processed is not None:
                    return processed
                with contextlib.suppress(ValueError):
                    self.failed.remove(call)
                call.description = None  # call.fault stays "timeout" to show it was delayed
                return await self._execute(call, ctx)
            if processed is not None:
                call.response_lost = True
                self._notify()
            return _AbortResponse()
        if fault.kind == "disconnect":
            if fault.processed:
                await self._execute(call, ctx)
                call.response_lost = True
            else:
                call.fault = "disconnect"
                call.description = "connection dropped (injected)"
                self.failed.append(call)
            self._notify()
            return _AbortResponse()

        status = fault.status or 500
        if status == 429:
            retry_after = fault.retry_after
            if isinstance(retry_after, float) and retry_after.is_integer():
                retry_after = int(retry_after)
            error = _ApiError(
                429,
                fault.description or f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
            return self._fail(call, error, fault="429")
        if status == 502 and fault.description is None:
            call.status = 502
            call.fault = "502"
            call.description = "502 Bad Gateway (HTML)"
            self.failed.append(call)
            self._notify()
            return Response(_BAD_GATEWAY_HTML, status_code=502, media_type="text/html")
        description = fault.description or _DEFAULT_ERROR_DESCRIPTIONS.get(status, "Error")
        return self._fail(call, _ApiError(status, description, fault.parameters), fault=str(status))

    # ------------------------------------------------------------------ Bot API methods
    # Each _m_<methodName>(call, ctx) returns the JSON "result" or raises _ApiError.

    def _m_getMe(self, call: Call, ctx: _Ctx) -> Any:
        return _clone(self.bot_user)

    async def _m_getUpdates(self, call: Call, ctx: _Ctx) -> Any:
        if self.webhook is not None:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        params = call.params
        offset = self._int_param(params, "offset", 0)
        limit = min(max(self._int_param(params, "limit", 100), 1), 100)
        try:
            timeout = max(float(params.get("timeout", 0) or 0), 0.0)
        except (TypeError, ValueError) as exc:
            raise _bad("wrong parameter timeout") from exc
        if "allowed_updates" in params:
            self._set_allowed_updates(params["allowed_updates"])
        self._confirm(offset)

        superseded = asyncio.Event()
        if self._active_poll is not None:
            self._active_poll.set()
        self._active_poll = superseded
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                updates = self._take_updates(limit)
                if updates or superseded.is_set():
                    break
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                outcome = await self._wait_any(
                    ctx,
                    remaining,
                    {"update": self._updates_event.wait(), "superseded": superseded.wait()},
                )
                if outcome in ("closing", "disconnected"):
                    return _AbortResponse()
                if outcome == "superseded":
                    break
            if superseded.is_set() and not updates:
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            return updates
        finally:
            if self._active_poll is superseded:
                self._active_poll = None

    def _set_allowed_updates(self, value: Any) -> None:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise _bad("can't parse allowed updates JSON array")
        self._allowed_updates = frozenset(value) if value else None

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        kind = next((k for k in update if k != "update_id"), "")
        if self._allowed_updates is None:
            return kind not in _DEFAULT_EXCLUDED_UPDATES
        return kind in self._allowed_updates

    def _confirm(self, offset: int) -> None:
        before = len(self._pending)
        if offset > 0:
            keep = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            keep = self._pending[offset:]
        else:
            return
        kept_ids = {u["update_id"] for u in keep}
        self._confirmed.update(u["update_id"] for u in self._pending if u["update_id"] not in kept_ids)
        self._pending = keep
        if len(keep) != before:
            self._notify()

    def _take_updates(self, limit: int) -> list[dict[str, Any]]:
        # Updates of types that are not allowed are never delivered (Telegram does not
        # even store them), so drop them from the queue.
        self._pending = [u for u in self._pending if self._is_allowed(u)]
        batch = _clone(self._pending[:limit])
        self._delivered.update(u["update_id"] for u in batch)
        return batch

    def _m_deleteWebhook(self, call: Call, ctx: _Ctx) -> Any:
        self.webhook = None
        if call.params.get("drop_pending_updates") is True:
            self._confirmed.update(u["update_id"] for u in self._pending)
            self._pending = []
        return True

    def _m_setWebhook(self, call: Call, ctx: _Ctx) -> Any:
        params = call.params
        url = params.get("url", "")
        if params.get("drop_pending_updates") is True:
            self._confirmed.update(u["update_id"] for u in self._pending)
            self._pending = []
        if not url:
            self.webhook = None
            return True
        parsed = urllib.parse.urlsplit(str(url))
        if parsed.scheme != "https":
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if (parsed.port or 443) not in (443, 80, 88, 8443):
            raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("bad webhook: secret token contains unallowed characters")
        max_connections = self._int_param(params, "max_connections", 40)
        if not 1 <= max_connections <= 100:
            raise _bad("bad webhook: max_connections must be between 1 and 100")
        if "allowed_updates" in params:
            self._set_allowed_updates(params["allowed_updates"])
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": max_connections,
            "ip_address": params.get("ip_address"),
        }
        return True

    def _m_getWebhookInfo(self, call: Call, ctx: _Ctx) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("ip_address"):
                info["ip_address"] = self.webhook["ip_address"]
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    def _m_close(self, call: Call, ctx: _Ctx) -> Any:
        return True

    def _m_logOut(self, call: Call, ctx: _Ctx) -> Any:
        return True

    # --- commands / profile

    def _m_setMyCommands(self, call: Call, ctx: _Ctx) -> Any:
        params = call.params
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name.lstrip("/")):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name.lstrip("/"), "description": description})
        key = self._command_key(params)
        if cleaned:
            self.all_commands[key] = cleaned
        else:
            self.all_commands.pop(key, None)
        return True

    def _command_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope")
        if scope is not None:
            if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
                raise _bad("can't parse BotCommandScope JSON object")
            if scope["type"] in ("chat", "chat_administrators", "chat_member"):
                scope = {**scope, "chat_id": self._chat_key(scope.get("chat_id"))}
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", str(language)):
            raise _bad("invalid language code specified")
        return self._scope_key(scope), str(language)

    def _m_getMyCommands(self, call: Call, ctx: _Ctx) -> Any:
        return _clone(self.all_commands.get(self._command_key(call.params), []))

    def _m_deleteMyCommands(self, call: Call, ctx: _Ctx) -> Any:
        self.all_commands.pop(self._command_key(call.params), None)
        return True

    def _set_bot_text(self, call: Call, kind: str, field_name: str, limit: int) -> Any:
        value = call.params.get(field_name) or ""
        if len(str(value)) > limit:
            raise _bad(f"{field_name} is too long")
        language = str(call.params.get("language_code") or "")
        self.bot_texts[(kind, language)] = str(value)
        return True

    def _get_bot_text(self, call: Call, kind: str) -> str:
        language = str(call.params.get("language_code") or "")
        return self.bot_texts.get((kind, language), self.bot_texts.get((kind, ""), ""))

    def _m_setMyDescription(self, call: Call, ctx: _Ctx) -> Any:
        return self._set_bot_text(call, "description", "description", 512)

    def _m_getMyDescription(self, call: Call, ctx: _Ctx) -> Any:
        return {"description": self._get_bot_text(call, "description")}

    def _m_setMyShortDescription(self, call: Call, ctx: _Ctx) -> Any:
        return self._set_bot_text(call, "short_description", "short_description", 120)

    def _m_getMyShortDescription(self, call: Call, ctx: _Ctx) -> Any:
        return {"short_description": self._get_bot_text(call, "short_description")}

    def _m_setMyName(self, call: Call, ctx: _Ctx) -> Any:
        return self._set_bot_text(call, "name", "name", 64)

    def _m_getMyName(self, call: Call, ctx: _Ctx) -> Any:
        return {"name": self._get_bot_text(call, "name") or self.bot_user["first_name"]}

    def _m_setChatMenuButton(self, call: Call, ctx: _Ctx) -> Any:
        params = call.params
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
            raise _bad("can't parse menu button JSON object")
        if button["type"] == "web_app" and (
            not button.get("text") or not isinstance(button.get("web_app"), dict)
        ):
            raise _bad("can't parse menu button JSON object")
        chat = params.get("chat_id")
        self.menu_buttons[self._chat_key(chat) if chat is not None else None] = button
        return True

    def _m_getChatMenuButton(self, call: Call, ctx: _Ctx) -> Any:
        chat = call.params.get("chat_id")
        key = self._chat_key(chat) if chat is not None else None
        return _clone(self.menu_buttons.get(key, self.menu_buttons.get(None, {"type": "default"})))

    def _m_getChat(self, call: Call, ctx: _Ctx) -> Any:
        key = self._chat_key(call.params.get("chat_id"), create=False)
        chat = self._chats.get(key)
        if chat is None:
            raise _bad("chat not found")
        info = _clone(chat)
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return info

    # --- sending

    @staticmethod
    def _int_param(params: dict[str, Any], name: str, default: int | None = None) -> int:
        value = params.get(name, default)
        if value is None:
            raise _bad(f"{name} is empty" if name != "message_id" else "message identifier is not specified")
        if isinstance(value, bool):
            raise _bad(f"wrong parameter {name}")
        if isinstance(value, int):
            return value
        try:
            return int(str(value))
        except ValueError as exc:
            raise _bad(f"wrong parameter {name}") from exc

    @staticmethod
    def _float_param(params: dict[str, Any], name: str, low: float, high: float) -> float:
        value = params.get(name)
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise _bad(f"wrong {name} specified") from exc
        if not low <= number <= high:
            raise _bad(f"wrong {name} specified")
        return number

    def _m_sendMessage(self, call: Call, ctx: _Ctx) -> Any:
        params = call.params
        key = self._chat_key(params.get("chat_id"))
        text, entities = self._parse_text(
            params.get("text"), params.get("parse_mode"), params.get("entities"), limit=MAX_TEXT_LENGTH
        )
        markup = self._validate_markup(params.get("reply_markup"))
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        reply_to = self._reply_to(key, params)
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        if isinstance(params.get("link_preview_options"), dict):
            content["link_preview_options"] = params["link_preview_options"]
        return self._bot_message(key, content, markup)

    def _locate_editable(self, params: dict[str, Any]) -> tuple[int, _Stored]:
        key = self._chat_key(params.get("chat_id"))
        message_id = self._int_param(params, "message_id", None)
        stored = self._messages.get((key, message_id))
        if stored is None or stored.deleted:
            raise _bad("message to edit not found")
        if not stored.from_bot:
            raise _bad("message can't be edited")
        return key, stored

    def _m_editMessageText(self, call: Call, ctx: _Ctx) -> Any:
        params = call.params
        text, entities = self._parse_text(
            params.get("text"), params.get("parse_mode"), params.get("entities"),
            limit=MAX_TEXT_LENGTH, edit=True,
        )  # fmt: skip
        markup = self._validate_markup(params.get("reply_markup"), inline_only=True)
        if params.get("inline_message_id"):
            return True
        _key, stored = self._locate_editable(params)
        msg = stored.msg
        if "text" not in msg:
            raise _bad("there is no text in the message to edit")
        if (
            msg.get("text") == text
            and msg.get("entities", []) == entities
            and msg.get("reply_markup") == markup
        ):
            raise _bad(_NOT_MODIFIED)
        stored.history.append(_clone(msg))
        msg["text"] = text
        msg.pop("entities", None)
        if entities:
            msg["entities"] = entities
        self._set_inline_markup(stored, markup)
        msg["edit_date"] = int(time.time())
        return _clone(msg)

    @staticmethod
    def _set_inline_markup(stored: _Stored, markup: dict[str, Any] | None) -> None:
        if markup is None:
            stored.msg.pop("reply_markup", None)
            stored.markup = None
        else:
            stored.msg["reply_markup"] = _clone(markup)
            stored.markup = _clone(markup)

    def _m_editMessageReplyMarkup(self, call: Call, ctx: _Ctx) -> Any:
        params = call.params
        markup = self._validate_markup(params.get("reply_markup"), inline_only=True)
        if params.get("inline_message_id"):
            return True
        _key, stored = self._locate_editable(params)
        if stored.msg.get("reply_markup") == markup:
            raise _bad(_NOT_MODIFIED)
        stored.history.append(_clone(stored.msg))
        self._set_inline_markup(stored, markup)
        stored.msg["edit_date"] = int(time.time())
        return _clone(stored.msg)

    def _m_deleteMessage(self, call: Call, ctx: _Ctx) -> Any:
        params = call.params
        key = self._chat_key(params.get("chat_id"))
        message_id = self._int_param(params, "message_id", None)
        stored = self._messages.get((key, message_id))
        if stored is None or stored.deleted:
            raise _bad("message to delete not found")
        stored.deleted = True
        return True

    def _m_answerCallbackQuery(self, call: Call, ctx: _Ctx) -> Any:
        params = call.params
        query_id = str(params.get("callback_query_id") or "")
        query = self._callback_queries.get(query_id)
        if query is None or query["answered"]:
            raise _bad(_QUERY_INVALID)
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_TEXT:
            raise _bad("MESSAGE_TOO_LONG")
        query["answered"] = True
        self.callback_answers[query_id] = dict(params)
        return True

    def _m_answerInlineQuery(self, call: Call, ctx: _Ctx) -> Any:
        params = call.params
        query_id = str(params.get("inline_query_id") or "")
        query = self._inline_queries.get(query_id)
        if query is None or query["answered"]:
            raise _bad(_QUERY_INVALID)
        results = params.get("results")
        if not isinstance(results, list):
            raise _bad("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            if not isinstance(result, dict):
                raise _bad("can't parse InlineQueryResult JSON object")
            result_id = result.get("id")
            if (
                not isinstance(result_id, str)
                or not 1 <= len(result_id.encode("utf-8")) <= MAX_INLINE_RESULT_ID_BYTES
            ):
                raise _bad("RESULT_ID_INVALID")
            if result_id in seen:
                raise _bad("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            if result.get("type") not in _INLINE_RESULT_TYPES:
                raise _bad("RESULT_TYPE_INVALID")
            if result["type"] == "article":
                if not isinstance(result.get("title"), str) or not result["title"].strip():
                    raise _bad("can't parse InlineQueryResultArticle: title is empty")
                if not isinstance(result.get("input_message_content"), dict):
                    raise _bad("can't parse InlineQueryResultArticle: input_message_content is empty")
            content = result.get("input_message_content")
            if isinstance(content, dict) and "message_text" in content:
                self._parse_text(
                    content.get("message_text"), content.get("parse_mode"),
                    content.get("entities"), limit=MAX_TEXT_LENGTH,
                )  # fmt: skip
            if "reply_markup" in result:
                self._validate_markup(result["reply_markup"], inline_only=True)
        next_offset = params.get("next_offset")
        if next_offset is not None and len(str(next_offset).encode("utf-8")) > MAX_INLINE_NEXT_OFFSET_BYTES:
            raise _bad("NEXT_OFFSET_INVALID")
        query["answered"] = True
        self.inline_answers[query_id] = dict(params)
        return True

    def _m_sendLocation(self, call: Call, ctx: _Ctx) -> Any:
        params = call.params
        key = self._chat_key(params.get("chat_id"))
        location: dict[str, Any] = {
            "latitude": self._float_param(params, "latitude", -90, 90),
            "longitude": self._float_param(params, "longitude", -180, 180),
        }
        if params.get("horizontal_accuracy") is not None:
            location["horizontal_accuracy"] = self._float_param(params, "horizontal_accuracy", 0, 1500)
        if params.get("live_period") is not None:
            location["live_period"] = self._int_param(params, "live_period")
        markup = self._validate_markup(params.get("reply_markup"))
        content: dict[str, Any] = {"location": location}
        reply_to = self._reply_to(key, params)
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        return self._bot_message(key, content, markup)

    def _m_sendVenue(self, call: Call, ctx: _Ctx) -> Any:
        params = call.params
        key = self._chat_key(params.get("chat_id"))
        location = {
            "latitude": self._float_param(params, "latitude", -90, 90),
            "longitude": self._float_param(params, "longitude", -180, 180),
        }
        title, address = params.get("title"), params.get("address")
        if not title or not str(title).strip():
            raise _bad("venue title must be non-empty")
        if not address or not str(address).strip():
            raise _bad("venue address must be non-empty")
        venue: dict[str, Any] = {"location": location, "title": str(title), "address": str(address)}
        for extra in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if params.get(extra):
                venue[extra] = params[extra]
        markup = self._validate_markup(params.get("reply_markup"))
        content: dict[str, Any] = {"location": location, "venue": venue}
        reply_to = self._reply_to(key, params)
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        return self._bot_message(key, content, markup)

    def _resolve_upload(self, call: Call, field_name: str, key: int) -> UploadedFile:
        value = call.params.get(field_name)
        uploaded: UploadedFile | None = None
        if isinstance(value, str) and value.startswith("attach://"):
            uploaded = call.files.get(value[len("attach://") :])
        elif field_name in call.files:
            uploaded = call.files[field_name]
        elif isinstance(value, str) and value:
            if value in self._files:
                return self._files[value]
            if re.match(r"https?://", value):
                name = urllib.parse.urlsplit(value).path.rsplit("/", 1)[-1] or "file"
                uploaded = UploadedFile(field_name, name, b"", "application/octet-stream", url=value)
            else:
                raise _bad("wrong file identifier/HTTP URL specified")
        if uploaded is None:
            raise _bad(f"there is no {field_name} in the request")
        if not uploaded.content and uploaded.url is None:
            raise _bad("file must be non-empty")
        if field_name == "photo" and uploaded.content and not uploaded.content.startswith(_IMAGE_MAGIC):
            raise _bad("IMAGE_PROCESS_FAILED")  # Telegram's answer to a photo that is not an image
        number = next(self._file_ids)
        uploaded.file_id = f"BQACAgIAAxkBAAIB{number:06d}FakeFileId"
        uploaded.file_unique_id = f"AgADFake{number:04d}"
        extension = ""
        if "." in uploaded.filename:
            extension = "." + uploaded.filename.rsplit(".", 1)[-1]
        folder = "photos" if field_name == "photo" else "documents"
        uploaded.file_path = f"{folder}/file_{number}{extension}"
        uploaded.chat_id = key
        self._files[uploaded.file_id] = uploaded
        self._files_by_path[uploaded.file_path] = uploaded
        return uploaded

    def _send_media(self, call: Call, field_name: str) -> Any:
        params = call.params
        key = self._chat_key(params.get("chat_id"))
        caption, caption_entities = self._parse_text(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities"),
            limit=MAX_CAPTION_LENGTH, caption=True,
        )  # fmt: skip
        markup = self._validate_markup(params.get("reply_markup"))
        reply_to = self._reply_to(key, params)
        uploaded = self._resolve_upload(call, field_name, key)
        content: dict[str, Any] = {}
        if field_name == "photo":
            content["photo"] = [
                {
                    "file_id": uploaded.file_id,
                    "file_unique_id": uploaded.file_unique_id,
                    "width": 90,
                    "height": 90,
                    "file_size": uploaded.size,
                }
            ]
        else:
            content["document"] = {
                "file_id": uploaded.file_id,
                "file_unique_id": uploaded.file_unique_id,
                "file_name": uploaded.filename,
                "mime_type": uploaded.mime_type,
                "file_size": uploaded.size,
            }
        if caption:
            content["caption"] = caption
            if caption_entities:
                content["caption_entities"] = caption_entities
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        message = self._bot_message(key, content, markup)
        if uploaded not in self.documents:
            self.documents.append(uploaded)
        return message

    def _m_sendDocument(self, call: Call, ctx: _Ctx) -> Any:
        return self._send_media(call, "document")

    def _m_sendPhoto(self, call: Call, ctx: _Ctx) -> Any:
        return self._send_media(call, "photo")

    def _m_getFile(self, call: Call, ctx: _Ctx) -> Any:
        file_id = str(call.params.get("file_id") or "")
        uploaded = self._files.get(file_id)
        if uploaded is None:
            raise _bad("invalid file_id")
        return {
            "file_id": uploaded.file_id,
            "file_unique_id": uploaded.file_unique_id,
            "file_size": uploaded.size,
            "file_path": uploaded.file_path,
        }

    def _m_sendChatAction(self, call: Call, ctx: _Ctx) -> Any:
        params = call.params
        self._chat_key(params.get("chat_id"))
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True
